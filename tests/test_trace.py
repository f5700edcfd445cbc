"""The reason chain: JSON shape (shipped schema), citations with quotes, readable zh/en text."""
from __future__ import annotations

import json
from importlib import resources

import jsonschema

import rulekit
from rulekit.pack.spec import catalogue


def result_schema() -> dict:
    return json.loads(resources.files("rulekit.trace").joinpath("result.schema.json").read_text("utf-8"))


def test_to_dict_matches_the_shipped_schema_and_round_trips(yuxi: rulekit.Pack, example: dict) -> None:
    d = yuxi.evaluate(example).to_dict()
    jsonschema.validate(d, result_schema())
    assert json.loads(json.dumps(d, ensure_ascii=False)) == d


def test_reasons_cite_catalogue_quotes(yuxi: rulekit.Pack, example: dict) -> None:
    """Every rule in a chain cites catalogue ids, each with the verbatim quote."""
    r = yuxi.evaluate(example)
    cat = catalogue()
    rules = [x for d in r.decisions.values() for reason in d.reasons for x in reason.walk()
             if x.kind in ("rule", "override", "outcome")]
    assert rules
    for x in rules:
        assert x.cites, x.name
        for c in x.cites:
            assert c.quote == cat[c.id]["quote"]


def test_chain_shows_parameter_with_date_and_origin(yuxi: rulekit.Pack, example: dict) -> None:
    r = yuxi.evaluate(example)
    chain = [x for reason in r.decision("monitoring").reasons for x in reason.walk()]
    line = next(x for x in chain if x.name == "monitoring_line")
    assert line.parameter == {"value": 6000, "from": "2020-01-01", "origin": "pack:yuxi",
                              "source": "三(二) 以脱贫攻坚期国定扶贫标准的1.5倍(2020年为6000元)为底线",
                              "unit": "元/人/年"}
    d = next(x for x in chain if x.name == "D")
    assert d.expression == "C / household_size"
    assert {i.name for i in d.inputs} == {"C", "household_size"}


def test_rule_that_did_not_fire_is_explained(yuxi: rulekit.Pack, example: dict) -> None:
    """An auditor asks why F1 was not hit: the rule, its condition and the values it read."""
    f1 = yuxi.evaluate(example).rule("F1")
    assert f1.status == "not_fired" and f1.expression == "transfer_share > transfer_share_limit"
    values = {i.name: i.value for i in f1.inputs}
    assert values["transfer_share_limit"] == 0.4
    assert abs(values["transfer_share"] - 600 / 22900) < 1e-12


def test_explain_in_chinese_and_english(yuxi: rulekit.Pack, example: dict) -> None:
    r = yuxi.evaluate(example)
    zh = r.explain("zh")
    assert "【是否纳入防止返贫动态监测及监测对象类别】结果: 脱贫不稳定户 (unstable) — 已决定" in zh
    assert "[YX-F4 三(一)4] “家中有1个或以上大病重病病人" in zh
    assert "自2020-01-01起施行" in zh
    en = r.explain("en")
    assert "【monitoring category】Outcome: unstable alleviated household (unstable) — decided" in en
    assert "in force from 2020-01-01" in en


def test_explain_undetermined_lists_missing_facts(yuxi: rulekit.Pack, example: dict) -> None:
    del example["income"]["dividend"]
    text = yuxi.evaluate(example).explain("en")
    assert "undetermined (facts missing)" in text
    assert "Missing facts that would decide it: dividend" in text


def test_evaluation_is_deterministic(yuxi: rulekit.Pack, example: dict) -> None:
    a = json.dumps(yuxi.evaluate(example).to_dict(), ensure_ascii=False)
    b = json.dumps(rulekit.load_pack("yuxi").evaluate(example).to_dict(), ensure_ascii=False)
    assert a == b


def test_fired_is_in_pack_order_and_flat_facts_keep_their_labels() -> None:
    """Regression: fired came back in evaluation order; flat packs' traces showed fact names
    instead of the labels declared under facts:."""
    import pathlib
    import sys
    bench = pathlib.Path(__file__).resolve().parents[2] / "shared" / "bench"
    if not (bench / "workload.py").is_file():
        import pytest
        pytest.skip("../shared/bench is not beside this checkout")
    sys.path.insert(0, str(bench))
    import workload
    pack = rulekit.load_pack(pathlib.Path(__file__).resolve().parents[1] / "benchmarks" / "workload_pack")
    h = workload.households(3)[2]
    r = pack.evaluate(h, as_of="2021-01-01")
    order = list(pack.spec.rules)
    assert list(r.fired) == sorted(r.fired, key=order.index)
    assert r.rule("F3").inputs[0].label == pack.spec.facts[r.rule("F3").inputs[0].name]["label"]
