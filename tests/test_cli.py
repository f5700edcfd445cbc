"""The `rulekit` command as users run it."""
from __future__ import annotations

import json
import pathlib
import subprocess
import sys

from rulekit.cli import main
from tests.conftest import EXAMPLE


def test_evaluate_text_zh(capsys) -> None:
    assert main(["evaluate", "--pack", "yuxi", str(EXAMPLE)]) == 0
    out = capsys.readouterr().out
    assert "【是否纳入防止返贫动态监测及监测对象类别】结果: 脱贫不稳定户 (unstable) — 已决定" in out


def test_evaluate_json_is_the_result_dict(capsys) -> None:
    assert main(["evaluate", "--pack", "yuxi", str(EXAMPLE), "--format", "json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["decisions"]["monitoring"]["outcome"] == "unstable"


def test_evaluate_with_override_file_and_as_of(capsys, tmp_path: pathlib.Path) -> None:
    over = tmp_path / "line-2022.yaml"
    over.write_text("overrides_for: yuxi\nparameters:\n  monitoring_line:\n    values:\n"
                    "      - {from: 2022-01-01, value: 2000, source: 测试}\n", encoding="utf-8")
    assert main(["evaluate", "--pack", "yuxi", str(EXAMPLE), "--overrides", str(over),
                 "--format", "json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["decisions"]["monitoring"]["outcome"] == "not_monitored"
    assert d["parameters"]["monitoring_line"]["origin"] == f"override:{over}"


def test_bad_record_in_a_list_does_not_lose_the_others(capsys, tmp_path: pathlib.Path) -> None:
    good = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    f = tmp_path / "batch.json"
    f.write_text(json.dumps([good, {"id": "BAD", "members": [{"age": -1}]}, good]), encoding="utf-8")
    assert main(["evaluate", "--pack", "yuxi", str(f), "--format", "json"]) == 1
    out = json.loads(capsys.readouterr().out)
    assert [o.get("record_id") or o.get("position") for o in out] == [
        "YX-530421-0001", 1, "YX-530421-0001"]
    assert "members[0].age: must be at least 0 (got -1)" in out[1]["error"]


def test_bad_pack_exits_1_with_location(capsys, tmp_path: pathlib.Path) -> None:
    d = tmp_path / "p"
    d.mkdir()
    (d / "pack.yaml").write_text("pack:\n  id: p\n  version: '1'\n  locality: x\n", encoding="utf-8")
    assert main(["evaluate", "--pack", str(d), str(EXAMPLE)]) == 1
    assert "pack.yaml:1:1 pack: 'title' is required here" in capsys.readouterr().err


def test_installed_console_script_runs() -> None:
    """The console script the README uses is installed and answers."""
    exe = pathlib.Path(sys.executable).parent / "rulekit"
    out = subprocess.run([str(exe), "evaluate", "--pack", "yuxi", str(EXAMPLE), "--lang", "en"],
                         capture_output=True, text=True, check=True).stdout
    assert "Outcome: unstable alleviated household (unstable) — decided" in out
