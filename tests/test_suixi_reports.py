"""Suixi town exit audit (SX-EXIT-AUDIT): the county spot-checks each town's exit list; a town whose
wrongly-exited / sampled is OVER 2% must have its exits re-reviewed (超过 excludes the bound, CN-1).

Every expected value below is worked out by hand from the source, not copied from the engine:
1/50 = 2% exactly (not over), 1/49 = 2.04% (over), 2/100 = 2% (not over), 3/149 = 2.01% (over).
"""
from __future__ import annotations

import datetime as dt
import json
import pathlib

import pytest

import rulekit
from rulekit.expr.values import Unknown

EXAMPLES = pathlib.Path(__file__).resolve().parent.parent / "policies" / "suixi" / "examples"


@pytest.fixture(scope="module")
def pack() -> rulekit.Pack:
    return rulekit.load_pack("suixi")


def town(name: str, sampled: int, wrong: int, *, size: int = 3, round_: str = "2021-12-31",
         unchecked: int = 0, prefix: str = "") -> list[dict]:
    """`sampled` spot-checked exited households of `name` (the first `wrong` judged 错退), plus
    `unchecked` exited households the county did not sample. Each household has `size` members who
    live in the home and share income and expenses."""
    out = []
    for i in range(sampled + unchecked):
        checked = i < sampled
        local = {"exit_round": round_, "exit_spot_checked": checked}
        if checked:
            local["exit_check_result"] = "错退" if i < wrong else "正确退出"
        out.append({"id": f"{prefix or name}-{round_}-{i}", "county": "濉溪县", "town": name,
                    "collected_on": "2022-01-15", "alleviated": True,
                    "monitoring_category": "非监测对象",
                    "members": [{"shares_income_expenses": True, "local": {"lives_in_home": True}}
                                for _ in range(size)],
                    "local": local})
    return out


def test_exactly_two_percent_is_not_rereviewed_just_above_is(pack: rulekit.Pack) -> None:
    records = (town("百善镇", 50, 1) + town("临涣镇", 49, 1) + town("韩村镇", 100, 2)
               + town("五沟镇", 149, 3))
    r = pack.report("exit_audit", records, as_of="2022-01-15")
    a, b = r.group(town="百善镇"), r.group(town="临涣镇")
    c, d = r.group(town="韩村镇"), r.group(town="五沟镇")
    # 1 ÷ 50 = 0.02: not over 2%, the town's exits stand
    assert (a.measures["sampled"], a.measures["wrong"]) == (50, 1)
    assert a.computed["wrong_rate"] == 0.02
    assert a.rules["REREVIEW"] is False
    # 1 ÷ 49 = 0.020408…: over 2%, re-review
    assert (b.measures["sampled"], b.measures["wrong"]) == (49, 1)
    assert b.computed["wrong_rate"] == pytest.approx(0.0204081632653)
    assert b.rules["REREVIEW"] is True
    # 2 ÷ 100 = 0.02 exactly: not over; 3 ÷ 149 = 0.020134…: over
    assert c.computed["wrong_rate"] == 0.02 and c.rules["REREVIEW"] is False
    assert d.computed["wrong_rate"] == pytest.approx(0.0201342281879)
    assert d.rules["REREVIEW"] is True
    # the wrongly exited households are named, so the county can re-review them
    assert b.measure_ids["wrong"] == ("临涣镇-2021-12-31-0",)
    assert r.params["wrong_exit_rate_limit"] == 0.02


def test_only_spot_checked_households_count_and_rounds_are_separate(pack: rulekit.Pack) -> None:
    """'where: exit_spot_checked' keeps the unsampled exits out of the denominator; exit rounds are
    half-yearly (SX-CYCLE), so each town's rounds are audited separately."""
    records = (town("百善镇", 50, 1, unchecked=30)
               + town("百善镇", 40, 1, round_="2021-06-30"))
    r = pack.report("exit_audit", records, as_of="2022-01-15")
    dec = r.group(town="百善镇", exit_round=dt.date(2021, 12, 31))
    jun = r.group(town="百善镇", exit_round=dt.date(2021, 6, 30))
    # December round: 30 unsampled households are not in the 50; 1 ÷ 50 = 2%, not over
    assert dec.households == 50 and dec.measures["sampled"] == 50
    assert dec.rules["REREVIEW"] is False
    # June round: 1 ÷ 40 = 2.5%, over
    assert jun.measures["sampled"] == 40 and jun.computed["wrong_rate"] == 0.025
    assert jun.rules["REREVIEW"] is True
    assert r.considered == 120


def test_people_are_household_members_only(pack: rulekit.Pack) -> None:
    """The people measure sums household_size, which leaves out a person who neither lives in the
    home nor shares income or expenses (SX-UNIT): 2 households x 3 members, one extra non-member."""
    records = town("百善镇", 2, 0)
    records[0]["members"].append({"shares_income_expenses": False,
                                  "local": {"lives_in_home": False, "member_income": 0}})
    g = pack.report("exit_audit", records, as_of="2022-01-15").group(town="百善镇")
    assert g.measures["people"] == 6


def test_unrecorded_check_result_is_counted_as_unknown(pack: rulekit.Pack) -> None:
    """A sampled household whose check result is missing is not guessed: the count of wrong exits
    is a range and the household is named."""
    records = town("百善镇", 50, 1)
    del records[7]["local"]["exit_check_result"]
    g = pack.report("exit_audit", records, as_of="2022-01-15").group(town="百善镇")
    assert g.measures["sampled"] == 50
    assert g.measures["wrong"].__class__ is Unknown
    assert g.measures["wrong"].bounds == (1, 2)
    assert g.unknown_ids["wrong"] == ("百善镇-2021-12-31-7",)
    # 1/50 = 2% (not over) or 2/50 = 4% (over): the engine must not decide
    assert g.rules["REREVIEW"].__class__ is Unknown


def test_a_higher_level_limit_can_be_passed(pack: rulekit.Pack) -> None:
    """The 2% limit is a parameter: with 3% the town at 1/49 = 2.04% is no longer re-reviewed."""
    r = pack.report("exit_audit", town("临涣镇", 49, 1), as_of="2022-01-15",
                    parameters={"wrong_exit_rate_limit": 0.03})
    assert r.group(town="临涣镇").rules["REREVIEW"] is False


def test_example_population_through_the_command(capsys: pytest.CaptureFixture) -> None:
    """examples/exit_audit_population.json: 百善镇 1/50 (2%), 临涣镇 1/49 (2.04%), 韩村镇 0/20 with
    5 exits not sampled."""
    from rulekit.cli import main
    path = EXAMPLES / "exit_audit_population.json"
    assert len(json.loads(path.read_text(encoding="utf-8"))) == 124
    assert main(["report", "--pack", "suixi", "--report", "exit_audit", str(path),
                 "--as-of", "2022-01-15", "--format", "csv"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "town,exit_round,sampled,wrong,people,wrong_rate,REREVIEW"
    assert "百善镇,2021-12-31,50,1,150,0.02,否" in lines
    assert "临涣镇,2021-12-31,49,1,98,0.0204,是" in lines
    assert "韩村镇,2021-12-31,20,0,80,0,否" in lines
    assert main(["report", "--pack", "suixi", "--report", "exit_audit", str(path),
                 "--as-of", "2022-01-15"]) == 0
    text = capsys.readouterr().out
    assert "规则 REREVIEW「对错退率超过2%的镇，需重新审核认定」: 成立" in text
    assert "“县级对退出名单进行抽查评估，对错退率超过2%的镇，需重新审核认定”" in text
