"""Yingjiang income band report (YJ-BANDS): households AND people per band 7000-8000, 8000-9000,
9000-10000, with the edge values 8000, 9000 and 10000 assigned by the pack's documented rule
([7000,8000), [8000,9000), [9000,10000]) and every cell worked out by hand."""
from __future__ import annotations

import json
import pathlib

import pytest

import rulekit
from rulekit.expr.values import Unknown

ROOT = pathlib.Path(__file__).resolve().parents[1]
POPULATION = ROOT / "policies" / "yingjiang" / "examples" / "population.json"
AS_OF = "2022-05-10"
BANDS = ("7k", "8k", "9k")


@pytest.fixture(scope="module")
def pack() -> rulekit.Pack:
    return rulekit.load_pack("yingjiang")


def household(hid: str, size: int, net: float, kind: str = "general", departed: int = 0) -> dict:
    """A household whose per-capita net income is net / size: all income is wage income (A28) and
    there is no production expense (A32), so net income = A28. `departed` extra members are listed
    as deceased and do not count in the household size."""
    members = [{"name": f"{hid}-{i}", "relation": "户主" if i == 0 else "子女", "status": "在户",
                "local": {"natural_change": "无"}} for i in range(size)]
    members += [{"name": f"{hid}-d{i}", "relation": "父母", "status": "死亡",
                 "local": {"natural_change": "死亡"}} for i in range(departed)]
    return {"id": hid, "collected_on": AS_OF, "county": "盈江县",
            "alleviated": kind == "alleviated",
            "monitoring_category": "边缘易致贫户" if kind == "monitored" else "非监测对象",
            "members": members,
            "income": {"wage_income": net, "production_income": 0, "property_income": 0,
                       "transfer_income": 0, "production_expense": 0}}


def cells(report) -> dict[str, object]:
    g = report.group()
    return {**g.measures, **g.computed}


def test_edge_values_land_in_the_band_they_open(pack: rulekit.Pack) -> None:
    """8000 and 9000 go to the higher band (each band includes its lower bound); 10000 stays in
    9000-10000 (the last band includes both ends, as 7000-10000 does); 6999.99 and 10000.01 are
    outside. Sizes differ so that people are not households."""
    records = [
        household("below-7000", 1, 6999.99),        # outside
        household("at-7000", 2, 14000),             # 7000      -> 7k, 2 people
        household("just-below-8000", 3, 23999.97),  # 7999.99   -> 7k, 3 people
        household("at-8000", 4, 32000),             # 8000      -> 8k, 4 people
        household("just-below-9000", 5, 44999.95),  # 8999.99   -> 8k, 5 people
        household("at-9000", 6, 54000),             # 9000      -> 9k, 6 people
        household("at-10000", 7, 70000),            # 10000     -> 9k, 7 people
        household("above-10000", 1, 10000.01),      # outside
    ]
    r = pack.report("income_bands", records, as_of=AS_OF)
    c = cells(r)
    assert (c["h_7k"], c["p_7k"]) == (2, 5)       # at-7000 (2) + just-below-8000 (3)
    assert (c["h_8k"], c["p_8k"]) == (2, 9)       # at-8000 (4) + just-below-9000 (5)
    assert (c["h_9k"], c["p_9k"]) == (2, 13)      # at-9000 (6) + at-10000 (7)
    assert (c["h_total"], c["p_total"]) == (6, 27)
    g = r.group()
    assert g.measure_ids["h_7k"] == ("at-7000", "just-below-8000")
    assert g.measure_ids["h_8k"] == ("at-8000", "just-below-9000")
    assert g.measure_ids["h_9k"] == ("at-9000", "at-10000")
    assert g.households == 8 and r.considered == 8


@pytest.mark.parametrize("per_capita, band", [
    (6999, "7000-10000元以外"), (7000, "7000-8000元"), (7001, "7000-8000元"),
    (7999, "7000-8000元"), (8000, "8000-9000元"), (8001, "8000-9000元"),
    (8999, "8000-9000元"), (9000, "9000-10000元"), (9001, "9000-10000元"),
    (9999, "9000-10000元"), (10000, "9000-10000元"), (10001, "7000-10000元以外"),
])
def test_band_of_one_household_at_and_around_each_edge(pack: rulekit.Pack, per_capita: int,
                                                        band: str) -> None:
    """YJ-BANDS: every edge at, just below and just above (CN-1), one household of 2 people."""
    result = pack.evaluate(household("h", 2, 2 * per_capita))
    assert result.value("per_capita_income") == per_capita
    assert result.value("income_band") == band
    c = cells(pack.report("income_bands", [household("h", 2, 2 * per_capita)], as_of=AS_OF))
    counted = {b: (c[f"h_{b}"], c[f"p_{b}"]) for b in BANDS}
    expected = {"7000-8000元": "7k", "8000-9000元": "8k", "9000-10000元": "9k"}.get(band)
    assert counted == {b: ((1, 2) if b == expected else (0, 0)) for b in BANDS}


def population() -> list[dict]:
    """The same twelve households as policies/yingjiang/examples/population.json, by per-capita
    net income, household size and kind (general / alleviated / monitored)."""
    return [
        household("P01", 4, 28000),                  # 7000  7k  general    4
        household("P02", 3, 23997),                  # 7999  7k  general    3
        household("P03", 2, 16000),                  # 8000  8k  general    2
        household("P04", 5, 44995, "alleviated"),    # 8999  8k  alleviated 5
        household("P05", 1, 9000),                   # 9000  9k  general    1
        household("P06", 3, 30000, "monitored"),     # 10000 9k  monitored  3
        household("P07", 4, 40004),                  # 10001 outside
        household("P08", 4, 27996),                  # 6999  outside
        household("P09", 2, 15000, "alleviated"),    # 7500  7k  alleviated 2
        household("P10", 6, 57000),                  # 9500  9k  general    6
        household("P11", 4, 20000, "monitored"),     # 5000  outside
        household("P12", 3, 27000, departed=1),      # 9000  9k  general    3 (4 listed, 1 died)
    ]


# band: (households, people, general households, general people, alleviated+monitored h, p)
HAND = {
    "7k": (3, 9, 2, 7, 1, 2),     # P01 4 + P02 3 general; P09 2 alleviated
    "8k": (2, 7, 1, 2, 1, 5),     # P03 2 general; P04 5 alleviated
    "9k": (4, 13, 3, 10, 1, 3),   # P05 1 + P10 6 + P12 3 general; P06 3 monitored
    "total": (9, 29, 6, 19, 3, 10),
}


def _row(c: dict, b: str) -> tuple:
    return (c[f"h_{b}"], c[f"p_{b}"], c[f"gh_{b}"], c[f"gp_{b}"], c[f"kh_{b}"], c[f"kp_{b}"])


def test_households_and_people_split_by_kind(pack: rulekit.Pack) -> None:
    """Each band counts households and people, and splits general households from 脱贫户 and
    monitored households; a deceased member (P12) is not a person of the household."""
    c = cells(pack.report("income_bands", population(), as_of=AS_OF))
    for b, want in HAND.items():
        assert _row(c, b) == want, b


def test_table_layout(pack: rulekit.Pack) -> None:
    csv = pack.report("income_bands", population(), as_of=AS_OF).to_csv().splitlines()
    assert csv[1] == ",户数,人数,其中一般农户户数,其中一般农户人数,其中脱贫户和监测对象户数,其中脱贫户和监测对象人数"
    assert csv[2:] == ["7000-8000元（含7000，不含8000）,3,9,2,7,1,2",
                       "8000-9000元（含8000，不含9000）,2,7,1,2,1,5",
                       "9000-10000元（含9000和10000）,4,13,3,10,1,3",
                       "合计,9,29,6,19,3,10"]


def test_example_population_file_gives_the_hand_table(pack: rulekit.Pack) -> None:
    """The shipped example population is the population above with complete records."""
    records = json.loads(POPULATION.read_text(encoding="utf-8"))
    r = pack.report("income_bands", records, as_of=AS_OF)
    assert not r.invalid and not r.unplaced and r.considered == 12
    c = cells(r)
    for b, want in HAND.items():
        assert _row(c, b) == want, b


def test_household_with_unknown_income_makes_counts_ranges(pack: rulekit.Pack) -> None:
    """A household whose income is unknown could be in any band: each band's count becomes a range
    naming it, the people sums are unknown, and nothing is guessed."""
    records = population()
    records.append(household("X", 2, 0))
    del records[-1]["income"]["wage_income"]
    r = pack.report("income_bands", records, as_of=AS_OF)
    g = r.group()
    for b in BANDS:
        h = g.measures[f"h_{b}"]
        assert h.__class__ is Unknown and h.bounds == (HAND[b][0], HAND[b][0] + 1)
        assert g.unknown_ids[f"h_{b}"] == ("X",)
        assert g.measures[f"p_{b}"].__class__ is Unknown
    assert g.computed["h_total"].__class__ is Unknown


def test_report_command_prints_the_table(pack: rulekit.Pack, capsys) -> None:
    from rulekit.cli import main
    assert main(["report", "--pack", "yingjiang", "--report", "income_bands", str(POPULATION),
                 "--as-of", AS_OF, "--format", "csv"]) == 0
    out = capsys.readouterr().out
    assert "合计,9,29,6,19,3,10" in out
