"""`rulekit check`: each finding comes from a deliberately broken pack, with its location and a
sentence in Chinese and English."""
from __future__ import annotations

import json
import pathlib

import pytest

from rulekit.cli import main
from rulekit.pack.check import check_pack
from rulekit.trace.messages import problem_zh
from tests.test_pack_errors import GOOD, LOCAL, write


def findings(tmp_path: pathlib.Path, text: str) -> list:
    return check_pack(write(tmp_path, text))


def test_good_pack_has_no_findings(tmp_path: pathlib.Path) -> None:
    assert findings(tmp_path, GOOD) == []


def test_bundled_yuxi_pack_is_clean() -> None:
    assert [str(p) for p in check_pack("yuxi")] == []


def test_unit_mismatch(tmp_path: pathlib.Path) -> None:
    """A monthly standard compared with a yearly income is flagged at the comparison."""
    bad = GOOD.replace("    unit: 元/人/年\n", "    unit: 元/人/月\n").replace(
        "    formula: wage_income / count(members)\n",
        "    formula: wage_income / count(members)\n    unit: 元/人/年\n")
    [p] = findings(tmp_path, bad)
    assert (p.line, p.path, p.severity) == (25, "rules.income.rules.LOW.when", "error")
    assert p.text("en").startswith("per_capita (元/人/年) is combined with line (元/人/月): the units differ")
    assert p.text("zh").startswith("per_capita（元/人/年）与 line（元/人/月）单位不同")


def test_unused_parameter(tmp_path: pathlib.Path) -> None:
    bad = GOOD.replace("computed:\n", """  spare:
    label: 备用
    unit: 元
    cites: [NAT-LINE]
    values: [{from: 2020-01-01, value: 1}]
computed:
""")
    [p] = findings(tmp_path, bad)
    assert (p.line, p.severity, p.rule_id) == (13, "warning", "spare")
    assert p.text("zh") == "参数 spare 没有被任何公式、规则或结果使用；请使用或删除"


def test_shadowed_outcome(tmp_path: pathlib.Path) -> None:
    bad = GOOD.replace(
        "      - {id: not_monitored,",
        "      - {id: also, label: 也纳入, when: LOW and per_capita > 0, status: decided, cites: [NAT-LINE]}\n"
        "      - {id: not_monitored,")
    [p] = findings(tmp_path, bad)
    assert p.rule_id == "monitoring.also" and p.path.endswith("outcomes[1].when")
    assert "can never be chosen" in p.text("en") and "永远不会被选中" in p.text("zh")


def test_values_out_of_date_order(tmp_path: pathlib.Path) -> None:
    bad = GOOD.replace("      - {from: 2020-01-01, value: 6000}\n",
                       "      - {from: 2021-01-01, value: 6500}\n      - {from: 2020-01-01, value: 6000}\n")
    [p] = findings(tmp_path, bad)
    assert p.severity == "warning" and "not written in date order" in p.text("en")


def test_load_errors_are_findings_too(tmp_path: pathlib.Path) -> None:
    bad = GOOD.replace("per_capita < line", "per_capta < line").replace("cites: [NAT-FORM]", "cites: [NAT-FROM]")
    problems = findings(tmp_path, bad)
    assert [p.severity for p in problems] == ["error", "error"]
    assert problems[1].text("zh") == "名称 per_capta 未定义（是否想写 per_capita？）"


BROKEN = {
    "unknown name": GOOD.replace("per_capita < line", "per_capta < line"),
    "duplicate key": GOOD.replace("    unit: 元/人/年\n", "    unit: 元/人/年\n    unit: 元\n"),
    "misspelt key": GOOD.replace("        when: per_capita", "        wehn: per_capita"),
    "unknown citation": GOOD.replace("cites: [NAT-FORM]", "cites: [NAT-FROM]"),
    "cycle": GOOD.replace("formula: wage_income / count(members)",
                          "formula: wage_income / count(members) if LOW else 0"),
    "type mismatch": GOOD.replace("per_capita < line", "per_capita < urban_property"),
    "not yes/no": GOOD.replace("when: per_capita < line", "when: per_capita"),
    "bad enum value": LOCAL.replace("work_stability == '不稳定'", "work_stability == '不稳'"),
    "refused construct": GOOD.replace("per_capita < line", "per_capita.real < line"),
    "unknown function": GOOD.replace("per_capita < line", "frob(per_capita) < line"),
    "review missing": GOOD.replace("when: LOW, status: decided,", "when: LOW, status: needs_review,"),
    "same date twice": GOOD.replace("      - {from: 2020-01-01, value: 6000}\n",
                                    "      - {from: 2020-01-01, value: 6000}\n      - {from: 2020-01-01, value: 1}\n"),
    "name clash": GOOD.replace("  per_capita:\n", "  dividend:\n").replace("per_capita < line", "dividend < line"),
    "tab": GOOD.replace("  id: demo", "\tid: demo"),
    "bad date": GOOD.replace("from: 2020-01-01", "from: 2020-13-01"),
    "bad name": GOOD.replace("  per_capita:\n", "  per-capita:\n"),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_every_message_has_chinese_and_english(case: str, tmp_path: pathlib.Path) -> None:
    problems = findings(tmp_path, BROKEN[case])
    assert problems, case
    for p in problems:
        assert p.text("en") and p.location()
        assert p.zh or problem_zh(p.message), f"no Chinese text for: {p.message}"


def test_check_command_text_json_and_exit_status(tmp_path: pathlib.Path, capsys) -> None:
    d = write(tmp_path, BROKEN["unknown name"])
    assert main(["check", str(d), "--lang", "zh"]) == 1
    out = capsys.readouterr().out
    assert "pack.yaml:24:9 rules.income.rules.LOW.when: 错误 [LOW]: 名称 per_capta 未定义" in out
    assert out.rstrip().endswith("1 个错误，0 个警告")
    assert main(["check", str(d), "--format", "json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["errors"] == 1
    f = data["findings"][0]
    assert (f["line"], f["column"], f["severity"]) == (24, 9, "error")
    assert f["message_en"].startswith("name 'per_capta' is not defined")
    assert f["message_zh"].startswith("名称 per_capta 未定义")
    assert main(["check", "yuxi", "--lang", "en"]) == 0
