"""Mistakes policy staff can make in a pack: each gives file:line:col, the key path and the fix."""
from __future__ import annotations

import pathlib
import textwrap

import pytest

import rulekit
from rulekit import PackError

GOOD = """\
pack:
  id: demo
  version: "1"
  locality: 测试县
  title: 测试方案
parameters:
  line:
    label: 监测底线
    unit: 元/人/年
    cites: [NAT-LINE]
    values:
      - {from: 2020-01-01, value: 6000}
computed:
  per_capita:
    label: 人均纯收入
    formula: wage_income / count(members)
    cites: [NAT-FORM]
rules:
  income:
    label: 收入
    rules:
      LOW:
        label: 人均纯收入低于监测底线
        when: per_capita < line
        cites: [NAT-LINE]
decisions:
  monitoring:
    label: 是否纳入监测
    hit: first
    outcomes:
      - {id: monitored, label: 纳入监测, when: LOW, status: decided, cites: [NAT-LINE]}
      - {id: not_monitored, label: 不纳入监测, status: decided, cites: [NAT-LINE]}
"""


def write(tmp_path: pathlib.Path, text: str) -> pathlib.Path:
    d = tmp_path / "demo"
    d.mkdir(exist_ok=True)
    (d / "pack.yaml").write_text(textwrap.dedent(text), encoding="utf-8")
    return d


def errors(tmp_path: pathlib.Path, text: str) -> str:
    with pytest.raises(PackError) as e:
        rulekit.load_pack(write(tmp_path, text))
    assert str(e.value) == e.value.message
    return str(e.value)


def test_good_pack_loads_and_decides(tmp_path: pathlib.Path) -> None:
    pack = rulekit.load_pack(write(tmp_path, GOOD))
    r = pack.evaluate({"id": "H", "members": [{"age": 30}], "A28": 5000}, as_of="2021-01-01")
    assert r.decision("monitoring").outcome == "monitored"


def test_unknown_name_has_line_rule_and_did_you_mean(tmp_path: pathlib.Path) -> None:
    text = errors(tmp_path, GOOD.replace("per_capita < line", "per_capta < line"))
    assert "pack.yaml:24:9 rules.income.rules.LOW.when: name 'per_capta' is not defined " \
           "(did you mean 'per_capita'?)" in text


def test_duplicate_key_is_an_error(tmp_path: pathlib.Path) -> None:
    text = errors(tmp_path, GOOD.replace("    unit: 元/人/年\n", "    unit: 元/人/年\n    unit: 元\n"))
    assert "pack.yaml:10:5 parameters.line.unit: duplicate key 'unit' (first written on line 9)" in text


def test_misspelt_key_suggests_the_right_one(tmp_path: pathlib.Path) -> None:
    text = errors(tmp_path, GOOD.replace("        when: per_capita", "        wehn: per_capita"))
    assert "rules.income.rules.LOW.wehn: unknown key 'wehn' (did you mean 'when'?)" in text
    assert "'when' is required here" in text


def test_citation_must_be_in_the_catalogue(tmp_path: pathlib.Path) -> None:
    text = errors(tmp_path, GOOD.replace("cites: [NAT-FORM]", "cites: [NAT-FROM]"))
    assert "computed.per_capita: cites 'NAT-FROM', which is not in the requirements catalogue " \
           "(did you mean 'NAT-FORM'?)" in text


def test_rule_without_citation_is_an_error(tmp_path: pathlib.Path) -> None:
    text = errors(tmp_path, GOOD.replace("        cites: [NAT-LINE]\ndecisions", "decisions"))
    assert "rules.income.rules.LOW: 'cites' is required here" in text


def test_cycle_is_named(tmp_path: pathlib.Path) -> None:
    text = errors(tmp_path, GOOD.replace("formula: wage_income / count(members)",
                                         "formula: wage_income / count(members) if LOW else 0"))
    assert "depend on each other in a cycle" in text
    assert "per_capita" in text and "LOW" in text


def test_type_mismatch_is_refused(tmp_path: pathlib.Path) -> None:
    text = errors(tmp_path, GOOD.replace("per_capita < line", "per_capita < urban_property"))
    assert "cannot compare a number (per_capita) with a yes/no value (urban_property)" in text


def test_unreachable_outcome_after_a_catch_all(tmp_path: pathlib.Path) -> None:
    line = "      - {id: monitored, label: 纳入监测, when: LOW, status: decided, cites: [NAT-LINE]}\n"
    bad = GOOD.replace(line, "") + line
    assert "always matches and the outcomes after it can never be reached" in errors(tmp_path, bad)


def test_needs_review_must_say_what_to_review(tmp_path: pathlib.Path) -> None:
    bad = GOOD.replace("when: LOW, status: decided,", "when: LOW, status: needs_review,")
    assert "say what a person must look at in 'review:'" in errors(tmp_path, bad)


def test_same_start_date_twice(tmp_path: pathlib.Path) -> None:
    bad = GOOD.replace("      - {from: 2020-01-01, value: 6000}\n",
                       "      - {from: 2020-01-01, value: 6000}\n      - {from: 2020-01-01, value: 6500}\n")
    assert "two values from the same date" in errors(tmp_path, bad)


def test_name_clash_with_a_record_fact(tmp_path: pathlib.Path) -> None:
    bad = GOOD.replace("  per_capita:\n", "  dividend:\n").replace("per_capita < line", "dividend < line")
    assert "computed value 'dividend' has the name of an existing fact" in errors(tmp_path, bad)


def test_many_mistakes_reported_together(tmp_path: pathlib.Path) -> None:
    bad = GOOD.replace("per_capita < line", "per_capta < line").replace("cites: [NAT-FORM]",
                                                                        "cites: [NAT-FROM]")
    assert errors(tmp_path, bad).startswith("2 problem(s)")


def test_unknown_pack_lists_the_bundled_ones() -> None:
    with pytest.raises(PackError, match="no pack 'yuxx': give a bundled pack id .*yuxi"):
        rulekit.load_pack("yuxx")


def test_override_file_adds_a_dated_value(tmp_path: pathlib.Path) -> None:
    """An override file changes a parameter from a date on, without editing the pack."""
    over = tmp_path / "over.yaml"
    over.write_text("overrides_for: demo\nparameters:\n  line:\n    values:\n"
                    "      - {from: 2023-01-01, value: 7000, source: 2023年底线通知}\n", encoding="utf-8")
    pack = rulekit.load_pack(write(tmp_path, GOOD), overrides=over)
    rec = {"id": "H", "members": [{"age": 30}], "A28": 6500}
    assert pack.evaluate(rec, as_of="2022-12-31").decision("monitoring").outcome == "not_monitored"
    r = pack.evaluate(rec, as_of="2023-01-01")
    assert r.decision("monitoring").outcome == "monitored"
    assert r.to_dict()["parameters"]["line"] == {
        "value": 7000, "from": "2023-01-01", "origin": f"override:{over}", "source": "2023年底线通知",
        "unit": "元/人/年"}


def test_override_file_for_unknown_parameter(tmp_path: pathlib.Path) -> None:
    over = tmp_path / "over.yaml"
    over.write_text("parameters:\n  lin:\n    values:\n      - {from: 2023-01-01, value: 1}\n",
                    encoding="utf-8")
    with pytest.raises(PackError, match=r"over.yaml:2:3 parameters.lin: pack 'demo' has no parameter "
                                        r"'lin' \(did you mean 'line'\?\)"):
        rulekit.load_pack(write(tmp_path, GOOD), overrides=over)


LOCAL = GOOD.replace("computed:\n", """local_facts:
  screened:
    label: 是否已入户排查
    type: bool
    cites: [NAT-FORM]
  work_stability:
    label: 务工稳定性
    type: text
    per: members
    values: [稳定, 不稳定]
    cites: [NAT-FORM]
computed:
""").replace("when: per_capita < line",
          "when: per_capita < line and screened and any(members, work_stability == '不稳定')")


def test_local_facts_are_read_and_checked(tmp_path: pathlib.Path) -> None:
    """A pack's own facts come from local: and are checked like the rest of the record."""
    pack = rulekit.load_pack(write(tmp_path, LOCAL))
    rec = {"id": "H", "A28": 5000, "local": {"screened": True},
           "members": [{"age": 30, "local": {"work_stability": "不稳定"}}]}
    assert pack.evaluate(rec, as_of="2021-01-01").decision("monitoring").outcome == "monitored"
    rec["members"][0]["local"] = {"work_stability": "很稳定", "extra": 1}
    rec["local"] = {"screened": "yes"}
    with pytest.raises(rulekit.RecordError) as e:
        pack.evaluate(rec, as_of="2021-01-01")
    text = str(e.value)
    assert "local.screened: must be true or false (got 'yes')" in text
    assert "members[0].local.work_stability: must be one of 稳定、不稳定 (got '很稳定')" in text
    assert "members[0].local.extra: 'extra' is not a fact this pack declares" in text


def test_local_fact_values_are_checked_in_expressions(tmp_path: pathlib.Path) -> None:
    bad = LOCAL.replace("work_stability == '不稳定'", "work_stability == '不稳'")
    assert "'不稳' is not a value of local.work_stability (did you mean '不稳定'?)" in errors(tmp_path, bad)


def test_flat_fast_checker_agrees_with_the_full_check() -> None:
    """The generated check of flat records accepts exactly the plain, valid records and leaves
    everything else to the field-by-field check that reports every problem."""
    from rulekit.record.flat import compile_checker, flat_env
    facts = {"size": {"type": "integer", "minimum": 1}, "wage": {"type": "number"},
             "flag": {"type": "bool"}, "kind": {"type": "text", "values": ["a", "b"]}}
    fast = compile_checker(facts)
    good = {"id": "H", "size": 2, "wage": 10.5, "flag": False}
    assert fast(good) == {"size": 2, "wage": 10.5, "flag": False}
    for bad in ({**good, "size": 0}, {**good, "size": True}, {**good, "wage": float("nan")},
                {**good, "wage": "1"}, {**good, "extra": 1}, {**good, "kind": "a"}, {"size": 2}):
        assert fast(bad) is None
    assert flat_env(facts, {**good, "kind": "a"}, fast)["kind"] == "a"
    with pytest.raises(rulekit.RecordError, match="size: must be at least 1"):
        flat_env(facts, {**good, "size": 0}, fast)


def test_text_list_parameter_with_enum_values(tmp_path: pathlib.Path) -> None:
    """A parameter may list text values (e.g. the causes that count); compared with an enum field,
    its Chinese values mean their codes."""
    text = GOOD.replace("computed:\n", """  causes:
    label: 计入的刚性支出原因
    unit: 原因列表
    cites: [NAT-FORM]
    values: [{from: 2020-01-01, value: [因病, 因学]}]
computed:
""").replace("when: per_capita < line", "when: per_capita < line and any(rigid_expenses, cause in causes)")
    pack = rulekit.load_pack(write(tmp_path, text))
    rec = {"id": "H", "A28": 5000, "members": [{"age": 30}],
           "expenses": {"rigid_expenses": [{"cause": "因灾", "amount": 1}]}}
    assert pack.evaluate(rec, as_of="2021-01-01").decision("monitoring").outcome == "not_monitored"
    rec["expenses"]["rigid_expenses"].append({"cause": "因学", "amount": 1})
    assert pack.evaluate(rec, as_of="2021-01-01").decision("monitoring").outcome == "monitored"


def test_input_checks_reject_a_record_naming_the_figures(tmp_path: pathlib.Path) -> None:
    """A pack's checks: a condition known to fail makes the record invalid with the figures it
    read (and those they were computed from); one whose facts are missing cannot fail."""
    text = GOOD.replace("computed:\n", """checks:
  SUB_ITEMS:
    label: 财产性收入的分项之和应等于财产性收入
    must: round(property_gap, 2) == 0
    cites: [NAT-FORM]
computed:
  property_gap:
    label: 财产性收入与分项之差
    formula: property_income - (dividend + other_property)
    cites: [NAT-FORM]
""")
    pack = rulekit.load_pack(write(tmp_path, text))
    rec = {"id": "H", "A28": 5000, "A30": 800, "members": [{"age": 30}],
           "income": {"dividend": 300, "other_property": 200}}
    with pytest.raises(rulekit.RecordError) as e:
        pack.evaluate(rec, as_of="2021-01-01")
    [p] = e.value.problems
    assert (p.path, p.rule_id) == ("checks.SUB_ITEMS", "SUB_ITEMS")
    assert "(property_gap=300, dividend=300, other_property=200, property_income=800)" in p.message
    assert p.text("zh").startswith("录入错误：财产性收入的分项之和应等于财产性收入")
    rec["income"]["other_property"] = 500
    assert pack.evaluate(rec, as_of="2021-01-01").decision("monitoring").outcome == "monitored"
    del rec["income"]["dividend"]
    assert pack.evaluate(rec, as_of="2021-01-01").decision("monitoring").outcome == "monitored"


LOCAL_CATALOGUE = """\
newcounty:
  - id: NC-LINE
    where: 三(一)
    quote: 家庭年人均纯收入低于本县监测标准的农户纳入监测
    kind: criterion
"""


def test_a_new_county_brings_its_own_catalogue(tmp_path: pathlib.Path) -> None:
    """A pack for a locality the shipped catalogue does not cover cites its own clauses, kept in
    catalogue.yaml beside pack.yaml: checked, quoted in traces, part of the pack's hash."""
    d = write(tmp_path, GOOD.replace("cites: [NAT-LINE]\ndecisions", "cites: [NC-LINE]\ndecisions"))
    with pytest.raises(PackError, match="cites 'NC-LINE', which is not in the requirements catalogue"):
        rulekit.load_pack(d)
    (d / "catalogue.yaml").write_text(LOCAL_CATALOGUE, encoding="utf-8")
    pack = rulekit.load_pack(d)
    r = pack.evaluate({"id": "H", "members": [{"age": 30}], "A28": 5000}, as_of="2021-01-01")
    assert r.rule("LOW").cites[0].quote == "家庭年人均纯收入低于本县监测标准的农户纳入监测"
    assert str(d / "catalogue.yaml") in pack.spec.catalogue_files
    (d / "catalogue.yaml").write_text(LOCAL_CATALOGUE.replace("农户纳入监测", "农户"), encoding="utf-8")
    assert rulekit.load_pack(d).digest != pack.digest


def test_a_local_catalogue_cannot_redefine_or_omit(tmp_path: pathlib.Path) -> None:
    d = write(tmp_path, GOOD)
    (d / "catalogue.yaml").write_text("x:\n  - id: NAT-LINE\n    where: a\n    quote: b\n"
                                      "  - id: NC-X\n    where: a\n", encoding="utf-8")
    with pytest.raises(PackError) as e:
        rulekit.load_pack(d)
    text = str(e.value)
    assert "catalogue.yaml:2:" in text and "x[0].id: 'NAT-LINE' is already in the shipped catalogue" in text
    assert "x[1]: each entry needs id, where and quote" in text
