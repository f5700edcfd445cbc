"""Linzi's village screening report (LZ-VILLAGE): per-village counts, shares and the three group
rules at their bounds, worked out by hand from populations built here, plus the shipped examples."""
from __future__ import annotations

import json
import pathlib

import pytest

import rulekit
from rulekit.cli import main

EXAMPLES = pathlib.Path(__file__).resolve().parent.parent / "policies" / "linzi" / "examples"
AS_OF = "2023-11-15"


@pytest.fixture(scope="module")
def pack() -> rulekit.Pack:
    return rulekit.load_pack("linzi")


def household(hid: str, village: str, *, monitored: bool = True, eliminated: bool = False,
              entry: str | None = "2021-05-10", fell: bool = False, enjoying: bool = True) -> dict:
    """A household with exactly the facts the report counts. A33 = 10000 + 0 + 0 + 0 - 0 = 10000;
    the previous year's net income is 10001 when its income fell, 10000 (equal: not fallen) when not."""
    rec = {
        "id": hid, "county": "临淄区", "town": "稷下街道", "village": village, "collected_on": AS_OF,
        "alleviated": enjoying, "monitoring_category": "脱贫不稳定户" if monitored else "非监测对象",
        "members": [{"name": "成员", "status": "在户", "local": {"natural_change": "无"}}],
        "income": {"A28": 10000, "A29": 0, "A30": 0, "A31": 0, "A32": 0,
                   "previous_net_income": 10001 if fell else 10000},
        "local": {"enjoys_policy": enjoying},
    }
    if entry is not None:
        rec["system_entry_date"] = entry
    if eliminated:
        rec["elimination"] = {"elimination_date": "2023-06-30"}
    return rec


def village(name: str, n: int, *, not_eliminated: int, fell: int, recent_entries: list[str]) -> list[dict]:
    """n monitored, policy-enjoying households; the first `not_eliminated` have no A54, the first
    `fell` had a higher income last year, and the first len(recent_entries) were entered on those
    dates (the others on 2021-05-10, long before the window)."""
    out = []
    for i in range(n):
        entry = recent_entries[i] if i < len(recent_entries) else "2021-05-10"
        out.append(household(f"{name}-{i}", name, eliminated=i >= not_eliminated, fell=i < fell,
                             entry=entry))
    return out


def test_shares_at_just_above_and_just_below_their_limits(pack: rulekit.Pack) -> None:
    """未消除占比“超过50%”、收入不增反降占比“超过20%”（不含本数）：
    at 50/100 and 20/100 nothing fires; 51/100 and 21/100 fire; 49/100 and 19/100 do not."""
    records = (village("at", 100, not_eliminated=50, fell=20, recent_entries=[])
               + village("above", 100, not_eliminated=51, fell=21, recent_entries=["2023-02-01"])
               + village("below", 100, not_eliminated=49, fell=19, recent_entries=["2023-02-01"]))
    r = pack.report("village_screening", records, as_of=AS_OF)
    at, above, below = r.group(village="at"), r.group(village="above"), r.group(village="below")
    assert (at.measures["households"], at.measures["monitored"], at.measures["not_eliminated"],
            at.measures["enjoying"], at.measures["income_fell"]) == (100, 100, 50, 100, 20)
    assert at.computed["uneliminated_share"] == 0.5 and at.computed["income_fell_share"] == 0.2
    assert at.rules["HIGH_UNELIMINATED"] is False and at.rules["HIGH_INCOME_FALL"] is False
    assert above.computed["uneliminated_share"] == 0.51 and above.computed["income_fell_share"] == 0.21
    assert above.rules["HIGH_UNELIMINATED"] is True and above.rules["HIGH_INCOME_FALL"] is True
    assert below.computed["uneliminated_share"] == 0.49 and below.computed["income_fell_share"] == 0.19
    assert below.rules["HIGH_UNELIMINATED"] is False and below.rules["HIGH_INCOME_FALL"] is False
    assert above.measure_ids["income_fell"] == tuple(f"above-{i}" for i in range(21))


def test_long_unidentified_window_is_the_twelve_months_before_the_instant(pack: rulekit.Pack) -> None:
    """“长期未认定”：状态时点2023-09-30前12个月内（晚于2022-09-30）无新录入。
    2022-09-30 is outside the window, 2022-10-01 inside, 2023-10-15 (after the instant) counts too."""
    records = (village("old", 3, not_eliminated=0, fell=0, recent_entries=["2022-09-30"])
               + village("new", 3, not_eliminated=0, fell=0, recent_entries=["2022-10-01"])
               + village("late", 3, not_eliminated=0, fell=0, recent_entries=["2023-10-15"]))
    r = pack.report("village_screening", records, as_of=AS_OF)
    assert r.group(village="old").measures["recent_identified"] == 0
    assert r.group(village="old").rules["LONG_UNIDENTIFIED"] is True
    assert r.group(village="new").measures["recent_identified"] == 1
    assert r.group(village="new").rules["LONG_UNIDENTIFIED"] is False
    assert r.group(village="late").rules["LONG_UNIDENTIFIED"] is False


def test_village_without_monitored_households(pack: rulekit.Pack) -> None:
    """No monitored household: the share is 0 by definition (not a division by zero), and the
    village has identified nobody for a long time. General households are not policy-enjoying."""
    records = [household(f"g-{i}", "无监测村", monitored=False, enjoying=False, fell=True)
               for i in range(4)]
    g = pack.report("village_screening", records, as_of=AS_OF).group(village="无监测村")
    assert (g.measures["monitored"], g.measures["enjoying"], g.measures["income_fell"]) == (0, 0, 0)
    assert g.computed["uneliminated_share"] == 0 and g.computed["income_fell_share"] == 0
    assert g.rules["LONG_UNIDENTIFIED"] is True
    assert g.rules["HIGH_UNELIMINATED"] is False and g.rules["HIGH_INCOME_FALL"] is False


def test_missing_entry_date_makes_the_count_a_range(pack: rulekit.Pack) -> None:
    """A monitored household without its system entry date may or may not be recent: the count is
    0–1 and "identified nobody for a long time" is unknown, naming the household."""
    records = village("v", 2, not_eliminated=0, fell=0, recent_entries=[])
    del records[0]["system_entry_date"]
    g = pack.report("village_screening", records, as_of=AS_OF).group(village="v")
    assert g.measures["recent_identified"].bounds == (0, 1)
    assert g.unknown_ids["recent_identified"] == ("v-0",)
    assert g.rules["LONG_UNIDENTIFIED"].__class__.__name__ == "Unknown"


def test_shipped_population_example(pack: rulekit.Pack) -> None:
    """examples/population.json, by hand:
    甲村 5 households: monitored 1001 (A54 filled), 1002, 1003 → 3, not eliminated 1002, 1003 → 2/3 > 50%;
      1003 entered 2023-03-02 → recent 1; policy-enjoying 1001, 1002, 1004, 1005 → 4, income fell
      only 1004 (16000 < 16500) → 1/4 = 25% > 20%.
    乙村: monitored 1006, 1007 (A54 filled) → 1/2 = 50%, not above; latest entry 2022-09-30 → no
      recent identification; enjoying 1006, 1007, 1008, 1010 → 4, none fell (A33 16000 ≥ 15000, 14000, 15200).
    丙村: no monitored household → long unidentified; enjoying 5, fell 1011 → 1/5 = 20%, not above."""
    records = json.loads((EXAMPLES / "population.json").read_text(encoding="utf-8"))
    r = pack.report("village_screening", records, as_of="2023-11-20")
    jia, yi, bing = r.group(village="甲村"), r.group(village="乙村"), r.group(village="丙村")
    assert (jia.measures["monitored"], jia.measures["not_eliminated"], jia.measures["recent_identified"],
            jia.measures["enjoying"], jia.measures["income_fell"]) == (3, 2, 1, 4, 1)
    assert jia.rules == {"HIGH_UNELIMINATED": True, "LONG_UNIDENTIFIED": False, "HIGH_INCOME_FALL": True}
    assert (yi.measures["monitored"], yi.measures["not_eliminated"], yi.measures["recent_identified"]) == (2, 1, 0)
    assert yi.rules == {"HIGH_UNELIMINATED": False, "LONG_UNIDENTIFIED": True, "HIGH_INCOME_FALL": False}
    assert (bing.measures["enjoying"], bing.measures["income_fell"]) == (5, 1)
    assert bing.rules == {"HIGH_UNELIMINATED": False, "LONG_UNIDENTIFIED": True, "HIGH_INCOME_FALL": False}
    assert r.invalid == [] and r.unplaced == []


def test_report_command_on_the_example(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", "--pack", "linzi", "--report", "village_screening",
                 str(EXAMPLES / "population.json"), "--as-of", "2023-11-20", "--format", "text"]) == 0
    out = capsys.readouterr().out
    assert "重点排查村 · " in out and "甲村" in out
    assert "规则 HIGH_UNELIMINATED「未消除风险监测帮扶对象占比较高的村」: 成立" in out


@pytest.mark.parametrize(("name", "expected"), [
    ("household.json", {"monitoring": "sudden", "depolicy": "stays_by_keep"}),
    ("depolicy.json", {"monitoring": "not_monitored", "depolicy": "propose_stop"}),
    ("review.json", {"monitoring": "not_monitored", "depolicy": "review_criteria",
                     "risk_elimination": "eliminate_assisted"}),
])
def test_shipped_household_examples(pack: rulekit.Pack, name: str, expected: dict) -> None:
    """The examples the README walks through. household.json: A33 = 42000+3000+500+2500−1000 = 47000,
    3 people in household at 2023-09-30 (the father died 2023-02-10), A34 = 15666.67 ≥ 6000,
    A37 = 47000+8000−40000 = 15000, A38 = 5000 < 6000 → 突发严重困难户; bought urban housing (criterion 4)
    but the wife's serious illness with large self-paid costs keeps the household in policy.
    depolicy.json: A33 = 60000+8000+1000+2000−3000 = 68000, A34 = 22666.67 ≥ 22110 (criterion 1),
    cause vanished (criterion 2), son publicly funded (criterion 6), procedure complete."""
    record = json.loads((EXAMPLES / name).read_text(encoding="utf-8"))
    result = pack.evaluate(record)
    for decision, outcome in expected.items():
        assert result.decision(decision).outcome == outcome
    if name == "household.json":
        assert result.value("A38") == 5000
        assert [i for i, _ in result.decision("depolicy_grounds").outcomes] == ["DEP4", "K2"]
    if name == "depolicy.json":
        assert [i for i, _ in result.decision("depolicy_grounds").outcomes] == ["DEP1", "DEP2", "DEP6"]
        assert [i for i, _ in result.decision("depolicy_procedure").outcomes] == ["procedure_complete"]
