"""Staff tools: the policy book (doc), the impact of a change (diff) and sample populations."""
from __future__ import annotations

import argparse
import html
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
from collections import Counter

import jsonschema
import pytest

import rulekit
from rulekit.cli import staff_tools
from rulekit.errors import PackError
from rulekit.pack import spec as S
from rulekit.record.schema import household_schema
from rulekit.staff.diff import impact, impact_of_setting
from rulekit.staff.doc import policy_book
from rulekit.staff.sample import generate, sample
from tests.conftest import ROOT

YUXI = ROOT / "policies" / "yuxi"


def run(argv: list[str]) -> int:
    """The rulekit command with the staff tools registered, as `rulekit.cli.main` runs it."""
    from rulekit import cli
    if staff_tools in cli.COMMAND_MODULES:
        return cli.main(argv)
    p = argparse.ArgumentParser(prog="rulekit")
    staff_tools.register(p.add_subparsers(dest="command", required=True))
    args = p.parse_args(argv)
    try:
        return args.handler(args)
    except PackError as e:
        print(str(e), file=sys.stderr)
        return 1


@pytest.fixture(scope="module")
def population(yuxi: rulekit.Pack) -> list[dict]:
    return sample(yuxi, 150, seed=11)


@pytest.fixture(scope="module")
def raised_line(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    """A copy of the Yuxi pack whose monitoring line is 6500 instead of 6000, as staff make it."""
    d = tmp_path_factory.mktemp("packs") / "yuxi-2023"
    shutil.copytree(YUXI, d)
    text = (d / "pack.yaml").read_text(encoding="utf-8")
    assert text.count("        value: 6000\n") == 1
    (d / "pack.yaml").write_text(text.replace("        value: 6000\n", "        value: 6500\n"), encoding="utf-8")
    return d


def cited_ids(spec: S.PackSpec) -> set[str]:
    ids = set()
    for table in (spec.parameters, spec.computed, spec.rules, spec.groups, spec.overrides, spec.decisions):
        for e in table.values():
            ids |= set(e.cites)
    for d in spec.decisions.values():
        for o in d.outcomes:
            ids |= set(o.cites)
    return ids | set((spec.meta.get("income_period") or {}).get("cites", ()))


# -- doc ---------------------------------------------------------------------------------------------

def test_doc_has_every_rule_id_and_quote_of_the_pack(yuxi: rulekit.Pack) -> None:
    """Every parameter, computed value, rule, exception, decision and outcome is named, and every
    catalogue quote the pack cites is there verbatim, in both languages and both formats."""
    spec = yuxi.spec
    names = [*spec.parameters, *spec.computed, *spec.rules, *spec.groups, *spec.overrides, *spec.decisions]
    names += [o.id for d in spec.decisions.values() for o in d.outcomes]
    quotes = [S.catalogue()[c]["quote"] for c in sorted(cited_ids(spec))]
    assert len(names) > 100 and len(quotes) == 40
    for lang in ("zh", "en"):
        md = policy_book(yuxi, lang)
        page = html.unescape(re.sub(r"<[^>]+>", "", policy_book(yuxi, lang, "html")))
        for text in (md, page):
            assert [n for n in names if n not in text] == []
            assert [q for q in quotes if q not in text] == []
        assert all(f"`{n}`" in md for n in names)


def test_doc_says_each_condition_in_words_beside_the_expression(yuxi: rulekit.Pack) -> None:
    md = policy_book(yuxi)
    assert "- **条件**：`transfer_share > transfer_share_limit`\n" \
           "- **文字表述**：「转移性收入占比」大于「转移性收入占比上限」\n" in md
    assert "「脱贫户」为是，且（规则`ALL_IN`成立，或（「D.农民家庭年人均纯收入」小于「全市监测底线」" \
           "且规则`RISK`成立））" in md
    assert "「家庭成员」中满足〔「死亡人员、服刑人员、失踪人员、与户主不共享开支或收入的人员」为否且" \
           "「健康状况」为“患有大病”〕的个数大于或等于「大病重病病人人数下限」" in md
    assert "决定`monitoring`的结果为`unstable`（脱贫不稳定户）、`edge`（边缘易致贫户）、" in md
    assert "| `transfer_share_limit` | 参数 | 转移性收入占比上限（超过40%）（比例） |" in md
    en = policy_book(yuxi, "en")
    assert "`transfer_share` is greater than share of transfer income in total income (over 40%)" in en


def test_doc_shows_parameter_values_by_date_and_where_each_entry_is(yuxi: rulekit.Pack) -> None:
    md = policy_book(yuxi)
    assert "| 2020-01-01 | 6000 | 三(二) 以脱贫攻坚期国定扶贫标准的1.5倍(2020年为6000元)为底线 | `pack:yuxi` |" in md
    assert "- **定义位置**：`policies/national/pack.yaml:21`（继承自政策包 national）" in md
    assert "- **本地确定（原文未规定）**：原文“负担过重”无数值。" in md
    assert "| SHA-256（全部文件） | `" + yuxi.digest + "` |" in md
    # as the pack is written: the rules of the focus group in the file's order, F1 first
    positions = [md.index(f"#### `{r}` ") for r in yuxi.spec.groups["focus"].rules]
    assert positions == sorted(positions)


def test_doc_html_is_one_printable_page_with_a_language_toggle(yuxi: rulekit.Pack) -> None:
    page = policy_book(yuxi, "zh", "html")
    assert page.startswith("<!DOCTYPE html>") and "<script" not in page
    assert not re.search(r"""(src|href)=["'](?!#)""", page) and "http" not in page
    assert 'id="rk-zh" checked' in page and 'id="rk-en">' in page and "@media print" in page
    assert '<article class="book-zh" lang="zh-CN">' in page and '<article class="book-en" lang="en">' in page
    assert 'href="#zh-parameter-transfer_share_limit"' in page and 'id="zh-parameter-transfer_share_limit"' in page


def test_doc_covers_reports_local_facts_and_override_files(tmp_path: pathlib.Path) -> None:
    from tests.test_pack_errors import LOCAL
    from tests.test_report import PACK
    for name, text in (("demo", PACK), ("local", LOCAL.replace("id: demo", "id: local"))):
        (tmp_path / name).mkdir()
        (tmp_path / name / "pack.yaml").write_text(text, encoding="utf-8")
    md = policy_book(rulekit.load_pack(tmp_path / "demo"))
    assert "### `exit_audit` 乡镇退出抽查" in md and "- **分组**：`town`" in md
    assert "| `wrong` | 错退户数 | 计数 | `monitoring_category == \"脱贫不稳定户\"` — 「监测对象类别」为“脱贫不稳定户”" in md
    over = tmp_path / "over.yaml"
    over.write_text("overrides_for: local\nparameters:\n  line:\n    values:\n"
                    "      - {from: 2023-01-01, value: 6500, source: 2023年通知}\n", encoding="utf-8")
    md = policy_book(rulekit.load_pack(tmp_path / "local", overrides=[over]))
    assert "- **记录中的位置**：`members[i].local.work_stability`" in md
    assert "- **允许取值**：稳定、不稳定" in md
    assert f"| 2023-01-01 | 6500 | 2023年通知 | `override:{over}` |" in md
    assert "「家庭成员」中有任一满足〔「务工稳定性」为“不稳定”〕" in md


# -- diff --------------------------------------------------------------------------------------------

def independent_matrix(pack: rulekit.Pack, records: list[dict], other: rulekit.Pack | None = None,
                       parameters: dict | None = None) -> Counter:
    """(before, after) -> [households, people] counted here, from two plain evaluations."""
    out: Counter = Counter()
    for rec in records:
        a = pack.evaluate(rec).decision("monitoring").outcome
        b = (other or pack).evaluate(rec, parameters=parameters).decision("monitoring").outcome
        out[(a, b, "households")] += 1
        out[(a, b, "people")] += len(rec["members"])
    return out


def test_diff_of_a_raised_line_gives_exactly_the_transitions_counted_independently(
        yuxi: rulekit.Pack, population: list[dict], raised_line: pathlib.Path) -> None:
    """monitoring_line 6000 -> 6500: the matrix equals a plain count, whether the change is a
    copy of the pack or a parameter set for the run; the pack difference is that one value."""
    expected = independent_matrix(yuxi, population, parameters={"monitoring_line": 6500})
    moves = {k: v for k, v in expected.items() if k[0] != k[1]}
    assert moves, "the sample must contain households near the line"
    for result in (impact_of_setting(yuxi, {"monitoring_line": 6500}, population),
                   impact(yuxi, rulekit.load_pack(raised_line), population)):
        got = result.matrix("monitoring")
        assert {(b, a, "households"): h for (b, a), (h, _) in got.items()} | \
               {(b, a, "people"): p for (b, a), (_, p) in got.items()} == dict(expected)
        assert result.records == result.evaluated == 150 and result.invalid == ()
    two = impact(yuxi, rulekit.load_pack(raised_line), population, as_of="2022-06-30")
    assert [(c.kind, c.name, c.field, c.before, c.after) for c in two.changes] == [
        ("parameter", "monitoring_line", "value", 6000, 6500)]


def test_diff_lists_each_moved_household_with_what_made_the_difference(
        yuxi: rulekit.Pack, population: list[dict]) -> None:
    result = impact_of_setting(yuxi, {"monitoring_line": 6500}, population)
    moved_ids = {r["id"] for r in population
                 if yuxi.evaluate(r).decision("monitoring").outcome
                 != yuxi.evaluate(r, parameters={"monitoring_line": 6500}).decision("monitoring").outcome}
    listed = {m.record_id: m for m in result.moved}
    assert moved_ids <= set(listed)
    for m in listed.values():
        assert ("parameter", "monitoring_line", 6000, 6500) in [(v.kind, v.name, v.before, v.after)
                                                                for v in m.values]
        assert m.people == len(population[m.position]["members"])
    edge = next(m for m in result.moved if ("monitoring", "not_monitored", "edge") in m.decisions)
    first = edge.conditions[0]
    assert (first.decision, first.outcome, first.before, first.after) == ("monitoring", "edge", False, True)
    assert first.when == "not alleviated and D < monitoring_line and D > poverty_standard and RISK"
    values = {n: (b, a) for n, b, a in first.values}
    assert values["monitoring_line"] == (6000, 6500) and 6000 <= values["D"][0] < 6500
    text = result.explain("zh")
    assert f"记录 150 条：可评估 150 条，无法评估 0 条；结果有变化的户 {len(result.moved)} 户" in text
    assert "  - 修改 参数 monitoring_line「全市监测底线" in text
    assert "起决定作用的条件：monitoring的结果边缘易致贫户 (edge)的条件由不成立变为成立\n" \
           "        not alleviated and D < monitoring_line and D > poverty_standard and RISK  [alleviated=否, D=" in text
    assert "monitoring_line=6000→6500, poverty_standard=4000, RISK=是]" in text
    assert "not monitored (not_monitored) → marginal household at risk (edge)" in result.explain("en")


def test_diff_of_a_rule_change_names_the_rule_and_its_condition(
        yuxi: rulekit.Pack, population: list[dict], tmp_path: pathlib.Path) -> None:
    d = tmp_path / "yuxi-f1"
    shutil.copytree(YUXI, d)
    text = (d / "pack.yaml").read_text(encoding="utf-8")
    (d / "pack.yaml").write_text(text.replace("when: transfer_share > transfer_share_limit",
                                              "when: transfer_share >= 0.3"), encoding="utf-8")
    result = impact(yuxi, rulekit.load_pack(d), population)
    assert [(c.kind, c.name, c.field, c.before, c.after) for c in result.changes] == [
        ("rule", "F1", "when", "transfer_share > transfer_share_limit", "transfer_share >= 0.3")]
    f1 = {(x.before, x.after): x.households for x in result.transitions
          if x.decision == "focus_categories" and x.outcome == "F1"}
    gained = sum(1 for r in population if 0.3 <= yuxi.evaluate(r).value("transfer_share") <= 0.4)
    assert f1.get(("not_fired", "fired")) == gained > 0
    assert all(any(r.name == "F1" and (r.before, r.after) == ("not_fired", "fired") for r in m.rules)
               for m in result.moved)


def test_diff_counts_invalid_records_and_never_drops_them(yuxi: rulekit.Pack, population: list[dict]) -> None:
    records = population[:5] + [{"id": "BAD", "members": [{"age": -1}]}] + population[5:10]
    result = impact_of_setting(yuxi, {"monitoring_line": 6500}, records)
    assert (result.records, result.evaluated) == (11, 10)
    bad = result.invalid[0]
    assert (bad.position, bad.record_id) == (5, "BAD") and "members[0].age: must be at least 0" in bad.before
    assert sum(h for h, _ in result.matrix("monitoring").values()) == 10
    assert "[record 5] BAD (变化前): " in result.explain()
    data = result.to_dict()
    assert data["invalid"][0]["position"] == 5 and data["records"] == 11
    json.dumps(data, ensure_ascii=False)


def test_parameter_settings_are_checked(yuxi: rulekit.Pack) -> None:
    with pytest.raises(KeyError, match=r"pack 'yuxi' has no parameter 'monitoring_lin' \(did you mean 'monitoring_line'\?\)"):
        impact_of_setting(yuxi, {"monitoring_lin": 6500}, [])
    with pytest.raises(ValueError, match=r"parameter monitoring_line: the value must be a number like the pack's "
                                         r"values \(got True\)"):
        impact_of_setting(yuxi, {"monitoring_line": True}, [])


# -- sample ------------------------------------------------------------------------------------------

def test_sample_reaches_every_outcome_with_schema_valid_records(yuxi: rulekit.Pack) -> None:
    made = generate(yuxi, 40, seed=5)
    assert made.unreached == () and made.invalid == ()
    assert all(count > 0 for outcomes in made.reached.values() for count in outcomes.values())
    assert set(made.reached["monitoring"]) == {o.id for o in yuxi.spec.decisions["monitoring"].outcomes}
    validator = jsonschema.Draft202012Validator(household_schema())
    assert [list(validator.iter_errors(r)) for r in made.records] == [[]] * 40
    assert len({r["id"] for r in made.records}) == 40
    for r in made.records:
        result = yuxi.evaluate(r)
        assert result.errors == [] and result.decision("monitoring").status != "undetermined"


def test_sample_is_reproducible_and_the_seed_matters(yuxi: rulekit.Pack) -> None:
    assert sample(yuxi, 25, seed=9) == sample(yuxi, 25, seed=9)
    assert sample(yuxi, 25, seed=9) != sample(yuxi, 25, seed=10)


def test_sample_is_the_same_in_another_process(tmp_path: pathlib.Path) -> None:
    """No set or hash order leaks into the records: other hash seeds give the same file."""
    code = ("import json, rulekit; from rulekit.staff.sample import sample; "
            "print(json.dumps(sample(rulekit.load_pack('yuxi'), 12, seed=3), ensure_ascii=False))")
    outs = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                           env={**os.environ, "PYTHONHASHSEED": h}).stdout for h in ("1", "2")}
    assert len(outs) == 1


def test_sample_reports_outcomes_it_cannot_reach(tmp_path: pathlib.Path) -> None:
    from tests.test_pack_errors import GOOD
    d = tmp_path / "demo"
    d.mkdir()
    (d / "pack.yaml").write_text(GOOD.replace(
        "      - {id: monitored,",
        "      - {id: never, label: 不可能, when: alleviated and not alleviated, status: decided, "
        "cites: [NAT-LINE]}\n      - {id: monitored,"), encoding="utf-8")
    made = generate(rulekit.load_pack(d), 10, seed=1, max_tries=200)
    assert made.unreached == (("monitoring", "never"),) and made.tries == 200
    assert made.reached["monitoring"]["monitored"] > 0 and made.reached["monitoring"]["not_monitored"] > 0


def test_sample_meets_the_packs_input_checks(tmp_path: pathlib.Path) -> None:
    """A pack that checks sub-items add up to their item gets records that do."""
    from tests.test_pack_errors import GOOD
    d = tmp_path / "checked"
    d.mkdir()
    (d / "pack.yaml").write_text(GOOD.replace("rules:\n", (
        "checks:\n  PROPERTY_ITEMS:\n    label: 财产性收入分项之和应等于财产性收入\n"
        "    must: round(property_income - dividend - other_property, 2) == 0\n    cites: [NAT-FORM]\n"
        "rules:\n"), 1), encoding="utf-8")
    pack = rulekit.load_pack(d)
    made = generate(pack, 30, seed=3)
    assert made.invalid == () and made.unreached == ()
    for r in made.records:
        pack.evaluate(r)      # raises a RecordError naming the check when it is not met
        assert r["income"]["property_income"] == r["income"]["dividend"] + r["income"]["other_property"]


def test_sample_gives_local_facts_and_flat_records(tmp_path: pathlib.Path) -> None:
    from tests.test_pack_errors import LOCAL
    d = tmp_path / "local"
    d.mkdir()
    (d / "pack.yaml").write_text(LOCAL, encoding="utf-8")
    pack = rulekit.load_pack(d)
    made = generate(pack, 10, seed=2)
    assert made.unreached == ()
    assert all(isinstance(r["local"]["screened"], bool) for r in made.records)
    assert all(m["local"]["work_stability"] in ("稳定", "不稳定") for r in made.records for m in r["members"])


# -- the command line ----------------------------------------------------------------------------------

def test_cli_sample_then_diff_then_doc(tmp_path: pathlib.Path, capsys: pytest.CaptureFixture,
                                       raised_line: pathlib.Path) -> None:
    records = tmp_path / "households.json"
    assert run(["sample", "--pack", "yuxi", "-n", "60", "--seed", "4", "-o", str(records)]) == 0
    out = capsys.readouterr().out
    assert f"已生成 60 户样本记录（种子 4），写入 {records}" in out and "覆盖全部 34 个结果" in out
    data = json.loads(records.read_text(encoding="utf-8"))
    assert data == sample(rulekit.load_pack("yuxi"), 60, seed=4)

    assert run(["diff", "yuxi", "--set", "monitoring_line=6500", "--records", str(records)]) == 0
    text = capsys.readouterr().out
    assert text.startswith("影响分析：yuxi 1.0.0")
    assert "  - 修改 参数 monitoring_line「全市监测底线（以国定扶贫标准的1.5倍为底线，市级每年年初动态确定）」 " \
           "取值：6000（自2020-01-01起） → 6500（本次运行的全部日期）" in text

    assert run(["diff", "yuxi", str(raised_line), "--records", str(records), "--format", "json",
                "--as-of", "2022-06-30"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["records"] == 60 and d["changes"][0]["name"] == "monitoring_line"
    expected = independent_matrix(rulekit.load_pack("yuxi"), data, rulekit.load_pack(raised_line))
    got = Counter()
    for x in d["decisions"]["monitoring"]["transitions"]:
        got[(x["before"], x["after"], "households")] += x["households"]
        got[(x["before"], x["after"], "people")] += x["people"]
    # --as-of 2022-06-30 and each record's collected_on give the same line (6000 since 2020)
    assert got == expected

    book = tmp_path / "book.html"
    assert run(["doc", "yuxi", "-o", str(book)]) == 0
    assert book.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert run(["doc", "yuxi", "--lang", "en"]) == 0
    assert capsys.readouterr().out.startswith("# Policy book: 玉溪市关于进一步健全防止返贫动态监测和帮扶机制的实施方案")


def test_cli_diff_says_what_is_wrong(tmp_path: pathlib.Path, capsys: pytest.CaptureFixture) -> None:
    records = tmp_path / "r.json"
    records.write_text("[]", encoding="utf-8")
    assert run(["diff", "yuxi", "--records", str(records)]) == 2
    assert "say what changes: a second pack, --set name=value or --overrides FILE" in capsys.readouterr().err
    assert run(["diff", "yuxi", "--set", "monitoring_line", "--records", str(records)]) == 1
    assert "--set must be written name=value, e.g. monitoring_line=6500 (got 'monitoring_line')" \
        in capsys.readouterr().err
    assert run(["diff", "yuxi", "--set", "monitoring_lin=1", "--records", str(records)]) == 1
    assert "did you mean 'monitoring_line'?" in capsys.readouterr().err
    assert run(["diff", "yuxi", "nowhere", "--records", str(records)]) == 1
    assert "no pack 'nowhere'" in capsys.readouterr().err
