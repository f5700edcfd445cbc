"""Evaluation semantics on the Yuxi pack: dated parameters, overrides, missing facts, errors."""
from __future__ import annotations

import copy

import pytest

import rulekit
from rulekit import RecordError


def test_example_is_an_unstable_alleviated_household(yuxi: rulekit.Pack, example: dict) -> None:
    """The README's example: D = (11600+10400+300+600-5000)/4 = 4475 < 6000, a 脱贫户 with risks."""
    r = yuxi.evaluate(example)
    d = r.decision("monitoring")
    assert (d.outcome, d.label, d.status) == ("unstable", "脱贫不稳定户", "decided")
    assert r.value("D") == pytest.approx(4475)
    assert {i for i, _ in r.decision("focus_categories").outcomes} == {"F2", "F4"}
    assert [i for i, _ in d.not_matched] == ["excluded", "exclusion_review"]


def test_parameter_argument_moves_the_line_and_is_traced(yuxi: rulekit.Pack, example: dict) -> None:
    """Lowering the line below D and D1 (2125) turns the decision; the trace names the call."""
    r = yuxi.evaluate(example, parameters={"monitoring_line": 4400})
    assert r.decision("monitoring").outcome == "sudden"       # D1 = 2125 < 4400, rigid F > 0
    r = yuxi.evaluate(example, parameters={"monitoring_line": 2000})
    assert r.decision("monitoring").outcome == "not_monitored"
    assert r.to_dict()["parameters"]["monitoring_line"]["origin"] == "argument"


def test_parameter_not_in_force_makes_the_decision_undetermined(yuxi: rulekit.Pack,
                                                               example: dict) -> None:
    """Before a parameter's first effective date there is no value: say so, do not guess."""
    r = yuxi.evaluate(example, as_of="2019-06-30")
    d = r.decision("monitoring")
    assert d.status == "undetermined"
    assert any("monitoring_line has no value in force on 2019-06-30" in f for f in d.missing_facts)


def test_override_cancels_x3_and_sends_to_review(yuxi: rulekit.Pack, example: dict) -> None:
    """Yuxi 2-5 override: a car bought but a major family change -> needs review, both in the trace."""
    rec = copy.deepcopy(example)
    rec["assets"]["vehicles"] = [{"price": 60000, "purchase_date": "2022-01-10", "use": "消费型"}]
    rec["risks"]["major_family_change"] = True
    r = yuxi.evaluate(rec)
    d = r.decision("monitoring")
    assert (d.outcome, d.status) == ("exclusion_review", "needs_review")
    assert d.review and "专门说明" in d.review[0]
    x3 = r.rule("X3")
    assert x3.status == "overridden" and x3.overridden_by == ("XO",)
    assert any(i.kind == "override" and i.name == "XO" and i.status == "applied" for i in x3.inputs)
    rec["risks"]["major_family_change"] = False
    assert yuxi.evaluate(rec).decision("monitoring").outcome == "excluded"


def test_override_does_not_lift_x1(yuxi: rulekit.Pack, example: dict) -> None:
    rec = copy.deepcopy(example)
    rec["members"][1]["是否国家公职人员"] = True
    rec["risks"]["major_family_change"] = True
    r = yuxi.evaluate(rec)
    assert r.decision("monitoring").outcome == "excluded"
    assert r.rule("X1").status == "fired"


def test_missing_income_fact_is_listed(yuxi: rulekit.Pack, example: dict) -> None:
    rec = copy.deepcopy(example)
    del rec["income"]["dividend"]
    d = yuxi.evaluate(rec).decision("monitoring")
    assert d.status == "undetermined" and d.outcome is None
    assert "dividend" in d.missing_facts


def test_exclusion_decides_despite_missing_income(yuxi: rulekit.Pack, example: dict) -> None:
    """A known exclusion decides the household even when its income cannot be computed."""
    rec = copy.deepcopy(example)
    del rec["income"]["dividend"]
    rec["assets"]["urban_property"] = True
    d = yuxi.evaluate(rec).decision("monitoring")
    assert (d.outcome, d.status) == ("excluded", "decided")


def test_deceased_member_is_removed_not_the_household(yuxi: rulekit.Pack, example: dict) -> None:
    rec = copy.deepcopy(example)
    rec["members"][3]["人员状态"] = "死亡"
    r = yuxi.evaluate(rec)
    assert r.value("household_size") == 3
    assert r.rule("X9").members == ("members[3]",)
    assert r.decision("persons_removed").outcomes == (
        ("persons_removed", "有死亡、服刑、失踪或不共享开支收入的人员，不计入家庭人口和收入"),)
    assert r.decision("monitoring").outcome != "excluded"


def test_evaluation_error_names_rule_expression_and_values(yuxi: rulekit.Pack, example: dict) -> None:
    """A division by zero makes only what depends on it undetermined, naming rule, expression and
    values; decisions that do not depend on it are still made."""
    rec = copy.deepcopy(example)
    for m in rec["members"]:
        m["是否与户主共享开支或收入"] = False
    r = yuxi.evaluate(rec)
    first = r.errors[0]
    assert first["node"] == "labour_coefficient"
    assert first["message"] == (
        "computed labour_coefficient (家庭劳动力系数（成员劳动力折算合计÷家庭人口数）): "
        "division by zero in 'sum(members, labour_weight) / household_size': household_size = 0")
    assert first["values"] == {"household_size": 0}
    d = r.decision("monitoring")
    assert d.status == "undetermined"
    assert d.missing_facts == ("cannot compute D: division by zero in 'C / household_size': "
                               "household_size = 0",)
    assert r.decision("persons_removed").outcome is None
    assert [i for i, _ in r.decision("persons_removed").outcomes] == ["persons_removed"]


def test_as_of_is_required_without_collected_on(yuxi: rulekit.Pack, example: dict) -> None:
    rec = copy.deepcopy(example)
    del rec["collected_on"]
    with pytest.raises(RecordError, match="give as_of="):
        yuxi.evaluate(rec)


def test_typed_household_evaluates_like_its_dict(yuxi: rulekit.Pack, example: dict) -> None:
    h = rulekit.parse_household(example)
    assert yuxi.evaluate(h).to_dict() == yuxi.evaluate(example).to_dict()


def test_evaluate_many_keeps_going_after_a_bad_record(yuxi: rulekit.Pack, example: dict) -> None:
    bad = {"id": "BAD", "members": [{"age": -1}]}
    out = list(yuxi.evaluate_many([example, bad, example]))
    assert [type(o).__name__ for o in out] == ["Result", "RecordError", "Result"]
    assert out[1].record_id == "BAD"


def test_unknown_parameter_argument(yuxi: rulekit.Pack, example: dict) -> None:
    with pytest.raises(KeyError, match="no parameter 'monitoring_lin'"):
        yuxi.evaluate(example, parameters={"monitoring_lin": 1})


def test_result_records_reproduction_data(yuxi: rulekit.Pack, example: dict) -> None:
    d = yuxi.evaluate(example).to_dict()
    assert d["pack"]["id"] == "yuxi" and d["pack"]["version"] == "1.0.0"
    assert len(d["pack"]["sha256"]) == 64
    assert d["pack"]["files"][0].endswith("national/pack.yaml")
    assert d["engine_version"] == rulekit.__version__
    assert (d["as_of"], d["reference_date"]) == ("2022-06-30", "2022-06-30")
    assert d["period"] == {"start": "2021-07-01", "end": "2022-06-30"}


def test_certain_override_cancels_a_rule_whose_condition_is_unknown(yuxi: rulekit.Pack,
                                                                   example: dict) -> None:
    """Regression (found by the Linzi pack): X4 unknown, XO certainly applies: X4 is cancelled
    whatever it would have been, so the exclusion group is known to be false. Whether the
    household goes to exclusion review still depends on X4 having held, so that one stays open,
    naming the fact."""
    rec = copy.deepcopy(example)
    del rec["assets"]["urban_property"]
    rec["risks"]["major_family_change"] = True
    r = yuxi.evaluate(rec)
    assert r.rule("X4").status == "overridden" and r.value("X4") is False
    assert r.value("exclusion") is False
    d = r.decision("monitoring")
    assert (d.status, d.missing_facts) == ("undetermined", ("urban_property",))
    assert [i for i, _ in d.pending] == ["exclusion_review"]
