"""Jinxian 附件2 statistics table (JX-STATS, JX-PERIOD): every cell of the table, households AND people,
checked against counts worked out by hand from the population below, with the bounds of the quarter
and of risk elimination; the table rendered in its own layout (Chinese row labels) as CSV and text.

Statistics date (as_of) 2021-06-18, the last month of Q2 before the 20th (附件2 填报说明):
quarter_start = next_month_start(add_months(2021-06-18, -3)) = next_month_start(2021-03-18) = 2021-04-01.
"新增" = identified_on in [2021-04-01, 2021-06-18]; "截至目前未消除风险" = identified_on <= 2021-06-18 and not
(risk_stably_eliminated and elimination_date <= 2021-06-18). 人数 = the members of the households counted.
"""
from __future__ import annotations

import json
import pathlib

import pytest

import rulekit

AS_OF = "2021-06-18"
EXAMPLE = pathlib.Path(__file__).resolve().parent.parent / "policies" / "jinxian" / "examples" / "population.json"


def household(hid: str, category: str, size: int, *, alleviated: bool = False,
              identified: str | None = None, eliminated: str | None = None, food: bool = False,
              water: bool = False, housing: bool = False, dropout: bool = False,
              uninsured: bool = False) -> dict:
    members = [{"name": f"{hid}-{i}", "basic_medical_insurance": not (uninsured and i == 0)}
               for i in range(size)]
    local: dict = {"food_clothing_worry": food}
    if identified:
        local["identified_on"] = identified
    elimination = ({"risk_stably_eliminated": True, "elimination_date": eliminated} if eliminated
                   else {"risk_stably_eliminated": False})
    return {"id": hid, "county": "进贤县", "collected_on": "2021-06-10", "alleviated": alleviated,
            "monitoring_category": category, "members": members,
            "guarantees": {"housing_unsafe": housing, "dropout": dropout, "water_unsafe": water},
            "elimination": elimination, "local": local}


# id, what it is, and where it lands (hand-worked):
POPULATION = [
    # 边缘易致贫户
    household("P01", "边缘易致贫户", 3, identified="2021-04-01"),       # quarter's first day: new + open
    household("P02", "边缘易致贫户", 4, identified="2021-03-31", food=True),  # day before: open only
    household("P03", "边缘易致贫户", 2, identified="2021-06-18"),       # statistics day: new + open
    household("P04", "边缘易致贫户", 5, identified="2021-06-19"),       # after the statistics day: neither
    household("P05", "边缘易致贫户", 3, identified="2020-12-01", eliminated="2021-05-10"),  # eliminated
    household("P06", "边缘易致贫户", 1, identified="2021-01-15", eliminated="2021-06-19"),  # open (later)
    # 脱贫不稳定户
    household("P07", "脱贫不稳定户", 4, alleviated=True, identified="2021-05-05", water=True),  # new + open
    household("P08", "脱贫不稳定户", 3, alleviated=True, identified="2020-11-11", uninsured=True),  # open
    household("P09", "脱贫不稳定户", 2, alleviated=True, identified="2021-04-20",
              eliminated="2021-06-18"),                                 # new, eliminated on the day
    # 非监测对象 and a category the Jinxian table does not count
    household("P10", "非监测对象", 3, alleviated=True, water=True, housing=True),
    household("P11", "非监测对象", 4, food=True, dropout=True, uninsured=True),
    household("P12", "非监测对象", 2),
    household("P13", "突发严重困难户", 3, identified="2021-05-01"),
]

# cell -> (value, households counted), by hand:
EXPECTED = {
    "new_edge_h": (2, ("P01", "P03")), "new_edge_p": (3 + 2, None),
    "open_edge_h": (4, ("P01", "P02", "P03", "P06")), "open_edge_p": (3 + 4 + 2 + 1, None),
    "new_unstable_h": (2, ("P07", "P09")), "new_unstable_p": (4 + 2, None),
    "open_unstable_h": (2, ("P07", "P08")), "open_unstable_p": (4 + 3, None),
    "food_h": (2, ("P02", "P11")), "food_p": (4 + 4, None),
    "water_h": (2, ("P07", "P10")), "water_p": (4 + 3, None),
    "housing_h": (1, ("P10",)), "housing_p": (3, None),
    "medical_h": (2, ("P08", "P11")), "medical_p": (3 + 4, None),
    "education_h": (1, ("P11",)), "education_p": (4, None),
}

LABEL_NEW_EDGE = "边缘易致贫户、脱贫不稳定户摸排情况｜边缘易致贫户｜本期新增边缘易致贫户户数人数（包括正在走程序，待录入系统）"
LABEL_OPEN_EDGE = "边缘易致贫户、脱贫不稳定户摸排情况｜边缘易致贫户｜截至目前未消除风险的边缘易致贫户户数人数"
LABEL_NEW_UNST = "边缘易致贫户、脱贫不稳定户摸排情况｜脱贫不稳定户｜本期新增脱贫不稳定户户数人数（包括正在走程序，待录入系统）"
LABEL_OPEN_UNST = "边缘易致贫户、脱贫不稳定户摸排情况｜脱贫不稳定户｜截至目前未消除风险的脱贫不稳定户户数人数"

EXPECTED_CSV = [
    "2021年度巩固脱贫攻坚成果信息统计监测表",
    ",数值",
    "统计期起,2021-04-01",
    "统计截止日,2021-06-18",
    f"{LABEL_NEW_EDGE}｜户数,2",
    f"{LABEL_NEW_EDGE}｜人数,5",
    f"{LABEL_OPEN_EDGE}｜户数,4",
    f"{LABEL_OPEN_EDGE}｜人数,10",
    f"{LABEL_NEW_UNST}｜户数,2",
    f"{LABEL_NEW_UNST}｜人数,6",
    f"{LABEL_OPEN_UNST}｜户数,2",
    f"{LABEL_OPEN_UNST}｜人数,7",
    "两不愁三保障情况｜两不愁｜有愁吃穿等问题的农村人口｜户数,2",
    "两不愁三保障情况｜两不愁｜有愁吃穿等问题的农村人口｜人数,8",
    "两不愁三保障情况｜三保障｜有饮水安全问题的农村人口｜户数,2",
    "两不愁三保障情况｜三保障｜有饮水安全问题的农村人口｜人数,7",
    "两不愁三保障情况｜三保障｜有安全住房问题的农村人口｜户数,1",
    "两不愁三保障情况｜三保障｜有安全住房问题的农村人口｜人数,3",
    "两不愁三保障情况｜三保障｜有基本医疗问题的农村人口｜户数,2",
    "两不愁三保障情况｜三保障｜有基本医疗问题的农村人口｜人数,7",
    "两不愁三保障情况｜三保障｜有义务教育问题的农村人口｜户数,1",
    "两不愁三保障情况｜三保障｜有义务教育问题的农村人口｜人数,4",
]


@pytest.fixture(scope="module")
def pack() -> rulekit.Pack:
    return rulekit.load_pack("jinxian")


@pytest.fixture(scope="module")
def table(pack: rulekit.Pack):
    return pack.report("stats_table", POPULATION, as_of=AS_OF)


def test_every_cell_households_and_people(table) -> None:
    assert table.considered == 13 and not table.invalid and not table.unplaced
    assert len(table.groups) == 1                      # one county table, no grouping
    g = table.groups[0]
    assert g.households == 13
    for cell, (value, ids) in EXPECTED.items():
        assert g.measures[cell] == value, cell
        if ids is not None:
            assert g.measure_ids[cell] == ids, cell
    assert set(g.measures) == set(EXPECTED)            # no cell left unchecked


def test_statistics_period_is_the_quarter(table) -> None:
    import datetime as dt
    g = table.groups[0]
    assert g.computed["period_from"] == dt.date(2021, 4, 1)
    assert g.computed["period_to"] == dt.date(2021, 6, 18)


def test_quarter_bounds_for_new_households(pack: rulekit.Pack) -> None:
    """identified_on 2021-04-01 (first day) and 2021-06-18 (statistics day) are new; 2021-03-31 and
    2021-06-19 are not. The same records at the end of Q3 (2021-09-17): only identified_on in
    [2021-07-01, 2021-09-17] is new, so none of them."""
    recs = [household("A", "边缘易致贫户", 2, identified="2021-03-31"),
            household("B", "边缘易致贫户", 3, identified="2021-04-01"),
            household("C", "边缘易致贫户", 4, identified="2021-06-18"),
            household("D", "边缘易致贫户", 5, identified="2021-06-19")]
    g = pack.report("stats_table", recs, as_of=AS_OF).groups[0]
    assert (g.measures["new_edge_h"], g.measures["new_edge_p"]) == (2, 7)        # B + C = 3 + 4
    assert g.measure_ids["new_edge_h"] == ("B", "C")
    assert (g.measures["open_edge_h"], g.measures["open_edge_p"]) == (3, 9)      # A + B + C
    q3 = pack.report("stats_table", recs, as_of="2021-09-17").groups[0]
    assert q3.measures["new_edge_h"] == 0 and q3.measures["new_edge_p"] == 0
    assert (q3.measures["open_edge_h"], q3.measures["open_edge_p"]) == (4, 14)   # all four by then


def test_elimination_bounds(pack: rulekit.Pack) -> None:
    """Eliminated on the statistics day: no longer open; eliminated the day after: still open;
    assessed as not eliminated: open."""
    recs = [household("E1", "脱贫不稳定户", 2, alleviated=True, identified="2020-11-01", eliminated="2021-06-18"),
            household("E2", "脱贫不稳定户", 3, alleviated=True, identified="2020-11-01", eliminated="2021-06-19"),
            household("E3", "脱贫不稳定户", 4, alleviated=True, identified="2020-11-01")]
    g = pack.report("stats_table", recs, as_of=AS_OF).groups[0]
    assert g.measure_ids["open_unstable_h"] == ("E2", "E3")
    assert (g.measures["open_unstable_h"], g.measures["open_unstable_p"]) == (2, 7)
    assert g.measures["new_unstable_h"] == 0


def test_missing_identification_date_is_counted_as_unknown(pack: rulekit.Pack) -> None:
    """A 边缘易致贫户 without identified_on cannot be placed in 新增 or 截至目前: the count is a range,
    the household is named, nothing is guessed. A general household needs no such date."""
    recs = [household("K", "边缘易致贫户", 3, identified="2021-05-01"),
            household("U", "边缘易致贫户", 2),
            household("G", "非监测对象", 5)]
    g = pack.report("stats_table", recs, as_of=AS_OF).groups[0]
    assert g.measures["new_edge_h"].bounds == (1, 2)
    assert g.unknown_ids["new_edge_h"] == ("U",)
    assert g.unknown_ids["new_edge_p"] == ("U",)
    assert g.measures["food_h"] == 0                  # the other rows stay known
    assert g.unknown_ids["food_h"] == ()


def test_invalid_record_is_listed_not_dropped(pack: rulekit.Pack) -> None:
    bad = household("BAD", "边缘易致贫户", 2, identified="2021-05-01")
    bad["local"]["food_clothing_worry"] = "否"
    r = pack.report("stats_table", [household("OK", "边缘易致贫户", 2, identified="2021-05-01"), bad],
                    as_of=AS_OF)
    assert r.considered == 1 and r.groups[0].measures["new_edge_h"] == 1
    assert [(i["position"], i["record_id"]) for i in r.invalid] == [(1, "BAD")]
    assert "local.food_clothing_worry: must be true or false" in r.invalid[0]["error"]


def test_table_as_csv_in_its_own_layout(table) -> None:
    assert table.to_csv().splitlines() == EXPECTED_CSV


def test_table_as_text(table) -> None:
    text = table.explain("zh")
    assert text.startswith("【2021年度巩固脱贫攻坚成果信息统计监测表（附件2）】 评估日期 2021-06-18 · 13 户")
    assert "[JX-STATS 附件2] “2021年度巩固脱贫攻坚成果信息统计监测表”" in text
    lines = [line.split() for line in text.splitlines()]
    assert ["统计期起", "2021-04-01"] in lines
    assert [f"{LABEL_OPEN_EDGE}｜人数", "10"] in lines
    assert ["两不愁三保障情况｜三保障｜有基本医疗问题的农村人口｜人数", "7"] in lines
    assert ["两不愁三保障情况｜三保障｜有义务教育问题的农村人口｜户数", "1"] in lines


def test_example_population_and_report_command(capsys) -> None:
    """The shipped example population is the same population; the CLI prints the same table."""
    from rulekit.cli import main
    ids = [r["id"] for r in json.loads(EXAMPLE.read_text(encoding="utf-8"))]
    assert len(ids) == 13
    assert main(["report", "--pack", "jinxian", "--report", "stats_table", str(EXAMPLE),
                 "--as-of", AS_OF, "--format", "csv"]) == 0
    assert capsys.readouterr().out.splitlines() == EXPECTED_CSV


def test_example_household_is_the_tested_base_and_explains_in_chinese(capsys) -> None:
    """examples/household.json is the `example` base of tests/examples.yaml (whose hand-worked case
    EX-household fixes its outcomes); `rulekit evaluate` prints its reasons in Chinese."""
    import yaml

    from rulekit.cli import main
    pack_dir = EXAMPLE.parent.parent
    shipped = json.loads((pack_dir / "examples" / "household.json").read_text(encoding="utf-8"))
    base = yaml.safe_load((pack_dir / "tests" / "examples.yaml").read_text(encoding="utf-8"))["bases"]["example"]
    assert shipped == base
    mismatch = json.loads((pack_dir / "examples" / "sub_item_mismatch.json").read_text(encoding="utf-8"))
    assert mismatch["income"]["property_income"] == 800
    assert {k: v for k, v in mismatch.items() if k not in ("id", "income")} == \
        {k: v for k, v in shipped.items() if k not in ("id", "income")}
    assert main(["evaluate", "--pack", "jinxian", str(pack_dir / "examples" / "household.json")]) == 0
    out = capsys.readouterr().out
    assert "【是否纳入“两类人群”（脱贫不稳定户、边缘易致贫户）】结果: 拟纳入脱贫不稳定户（应纳尽纳）" in out
    assert "人工研判要点: 入户核实低收入、收入骤减或支出骤增的情况和原因" in out
    assert "计算值 per_capita_net「人均纯收入（元）（自动计算）：年纯收入÷家庭人口数」 = 4700" in out
    # sub-items that do not add up to their item: an input error naming both figures (JX-INC-ITEMS)
    assert main(["evaluate", "--pack", "jinxian", str(pack_dir / "examples" / "sub_item_mismatch.json")]) == 1
    err = capsys.readouterr().err
    assert "checks.PROPERTY_SUB_ITEMS: 财产性收入（其中资产收益扶贫分红收入、其他财产性收入）：分项之和应等于财产性收入" in err
    assert "property_income=800, property_sub_total=500" in err


def test_tallies_of_parts_merge_into_the_one_pass_report(pack: rulekit.Pack) -> None:
    """Worker processes and cluster partitions each add up their part of the population; merged
    in input order, the parts give the report one pass gives, cell for cell (and the invalid
    record keeps its position)."""
    from rulekit.engine.report import ReportTally, contribution
    population = [*POPULATION[:3], {"id": "BAD", "members": "not a list"}, *POPULATION[3:]]
    whole = pack.report("stats_table", population, as_of=AS_OF)
    parts = []
    for start in range(0, len(population), 4):
        tally = ReportTally()
        for position in range(start, min(start + 4, len(population))):
            try:
                result = pack.evaluate(population[position], as_of=AS_OF)
            except rulekit.RecordError as e:
                tally.add(contribution(pack, "stats_table", position, None, "BAD", str(e)))
                continue
            tally.add(contribution(pack, "stats_table", position, result))
        parts.append(tally)
    merged = parts[0]
    for part in parts[1:]:
        merged.merge(part)
    assert len(parts) > 2 and whole.invalid and whole.invalid[0]["position"] == 3
    assert merged.finish(pack, "stats_table").to_dict() == whole.to_dict()
