"""`rulekit test`: a pack's YAML cases, and what a failing case shows staff."""
from __future__ import annotations

import json
import pathlib
import shutil

import yaml

from rulekit.cli import main
from tests.conftest import EXAMPLE, ROOT


def _pack_with_cases(tmp_path: pathlib.Path, cases: list[dict]) -> pathlib.Path:
    d = tmp_path / "yuxi"
    shutil.copytree(ROOT / "policies" / "yuxi", d, ignore=shutil.ignore_patterns("tests"))
    (d / "tests").mkdir()
    (d / "tests" / "cases.yaml").write_text(yaml.safe_dump({"cases": cases}, allow_unicode=True),
                                            encoding="utf-8")
    return d


def test_failing_case_shows_expected_actual_and_where_they_diverge(tmp_path, capsys) -> None:
    record = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    d = _pack_with_cases(tmp_path, [
        {"id": "wrong", "cites": ["YX-CATS"], "record": record,
         "expect": {"decisions": {"monitoring": "edge"}, "fired": ["F1"]}},
        {"id": "right", "cites": ["YX-CATS"], "record": record,
         "expect": {"decisions": {"monitoring": "unstable"}, "fired": ["F2", "F4"]}},
    ])
    assert main(["test", str(d)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("FAIL wrong (") and out[0].endswith("cases.yaml:2)")
    assert "decision monitoring: expected outcome 'edge', got 'unstable'" in out[1]
    assert out[2].strip() == ("expected edge: not alleviated and D < monitoring_line and D > poverty_standard "
                              "and RISK -> False  [alleviated=True, D=4475, monitoring_line=6000, "
                              "poverty_standard=4000, RISK=fired]")
    assert out[3].strip().startswith("chosen unstable: alleviated and (ALL_IN or")
    assert "rule F1: expected fired, got not_fired (transfer_share > transfer_share_limit" in out[4]
    assert out[-1] == "1 passed, 1 failed"


def test_k_selects_cases(tmp_path, capsys) -> None:
    record = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    d = _pack_with_cases(tmp_path, [
        {"id": "a-wrong", "cites": ["YX-CATS"], "record": record, "expect": {"decisions": {"monitoring": "edge"}}},
        {"id": "b-right", "cites": ["YX-CATS"], "record": record, "expect": {"decisions": {"monitoring": "unstable"}}},
    ])
    assert main(["test", str(d), "-k", "b-"]) == 0
    assert capsys.readouterr().out.strip() == "1 passed, 0 failed"


def test_case_without_cites_is_refused(tmp_path, capsys) -> None:
    d = _pack_with_cases(tmp_path, [{"id": "x", "record": {}, "expect": {}}])
    assert main(["test", str(d)]) == 1
    assert "case 'x' must name the catalogue ids it exercises in 'cites'" in capsys.readouterr().err
