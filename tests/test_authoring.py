"""`rulekit new`: the scaffold passes `rulekit check` and `rulekit test` as it is written, its
commented examples pass once enabled, and it never overwrites anything."""
from __future__ import annotations

import argparse
import pathlib
import re
import sys

import pytest
import yaml

import rulekit
from rulekit.cli import authoring, staff
from rulekit.errors import PackError
from rulekit.pack.check import check_pack
from rulekit.testing import iter_pack_cases, run_case
from tests.conftest import ROOT

DOCUMENT = "蒙自市防止返贫动态监测和帮扶工作实施方案"


def run(argv: list[str]) -> int:
    """The rulekit command with `new`, `check` and `test`, as `rulekit.cli.main` runs it."""
    from rulekit import cli
    if authoring in cli.COMMAND_MODULES:
        return cli.main(argv)
    p = argparse.ArgumentParser(prog="rulekit")
    sub = p.add_subparsers(dest="command", required=True)
    for module in (authoring, staff):
        module.register(sub)
    args = p.parse_args(argv)
    try:
        return args.handler(args)
    except PackError as e:
        print(str(e), file=sys.stderr)
        return 1


def new(tmp_path: pathlib.Path, pack_id: str = "mengzi", *extra: str) -> list[str]:
    return ["new", pack_id, "--locality", "蒙自市", "--document", DOCUMENT, "--dir",
            str(tmp_path / "policies"), *extra]


def cases_pass(pack_dir: pathlib.Path) -> dict[str, list[str]]:
    pack = rulekit.load_pack(pack_dir)
    return {c.id: run_case(pack, c) for c in iter_pack_cases(pack_dir)}


def write(d: pathlib.Path, files: dict[str, str]) -> pathlib.Path:
    for rel, text in files.items():
        (d / rel).parent.mkdir(parents=True, exist_ok=True)
        (d / rel).write_text(text, encoding="utf-8")
    return d


def test_new_pack_passes_check_and_test(tmp_path: pathlib.Path, capsys: pytest.CaptureFixture) -> None:
    """The three files are written, and the staff commands accept them as they are."""
    assert run(new(tmp_path, "mengzi", "--lang", "zh")) == 0
    d = tmp_path / "policies" / "mengzi"
    assert sorted(str(p.relative_to(d)) for p in d.rglob("*") if p.is_file()) == \
        ["README.md", "pack.yaml", "tests/example.yaml"]
    out = capsys.readouterr().out
    assert "检查：0 个错误，0 个警告；测试：1 个通过，0 个失败" in out
    assert run(["check", str(d), "--lang", "zh"]) == 0
    assert capsys.readouterr().out == "0 个错误，0 个警告\n"
    assert run(["test", str(d)]) == 0
    assert capsys.readouterr().out in ("1 passed, 0 failed\n", "1 个通过，0 个失败\n")


def test_new_pack_holds_what_was_asked(tmp_path: pathlib.Path) -> None:
    """Metadata from the arguments; a base, a decision with a review outcome; a README naming the
    document; the example case decides the example household as the pack should."""
    assert run(new(tmp_path)) == 0
    d = tmp_path / "policies" / "mengzi"
    pack = rulekit.load_pack(d)
    assert (pack.id, pack.spec.meta["locality"], pack.spec.meta["title"]) == ("mengzi", "蒙自市", DOCUMENT)
    assert pack.spec.meta["extends"] == "national" and pack.version == "0.1.0"
    statuses = {o.status for o in pack.spec.decisions["monitoring"].outcomes}
    assert statuses == {"decided", "needs_review"}
    assert {c for e in pack.spec.rules.values() for c in e.cites} <= {"NAT-LINE", "NAT-CATS", "NAT-FORM"}
    readme = (d / "README.md").read_text(encoding="utf-8")
    assert readme.startswith("# 蒙自市政策包 `mengzi`") and f"《{DOCUMENT}》" in readme
    [case] = iter_pack_cases(d)
    result = pack.evaluate(case.record)
    assert result.decision("monitoring").outcome == "edge"
    assert result.value("per_capita_net") == 5000


def test_modeline_points_at_the_schema(tmp_path: pathlib.Path) -> None:
    """The editor finds the schema from the generated file, wherever the pack is created."""
    assert run(new(tmp_path)) == 0
    pack_file = tmp_path / "policies" / "mengzi" / "pack.yaml"
    first = pack_file.read_text(encoding="utf-8").splitlines()[0]
    m = re.fullmatch(r"# yaml-language-server: \$schema=(\S+)", first)
    assert m
    assert (pack_file.parent / m[1]).resolve().samefile(ROOT / "rulekit" / "pack" / "pack.schema.json")


def test_in_a_checkout_the_modeline_is_the_one_shipped_packs_have() -> None:
    files = authoring.scaffold(ROOT / "policies" / "mengzi", "mengzi", "蒙自市", DOCUMENT, "national")
    shipped = (ROOT / "policies" / "yuxi" / "pack.yaml").read_text(encoding="utf-8").splitlines()[0]
    assert files["pack.yaml"].splitlines()[0] == shipped


def test_every_commented_example_works_once_enabled(tmp_path: pathlib.Path) -> None:
    """The examples staff enable with Ctrl+/ (exclusions with an exception, focus categories,
    local facts, an input check, a report, a second case) load, check clean and pass."""
    d = tmp_path / "policies" / "mengzi"
    write(d, authoring.scaffold(d, "mengzi", "蒙自市", DOCUMENT, "national", examples=True))
    assert [str(p) for p in check_pack(d)] == []
    pack = rulekit.load_pack(d)
    assert {"exclusion", "focus"} <= set(pack.spec.groups) and set(pack.spec.overrides) == {"X_EXCEPT"}
    assert set(pack.spec.reports) == {"by_town"} and set(pack.spec.checks) == {"TRANSFER_SUB_ITEMS"}
    assert set(pack.spec.local_facts) == {"farmer_signed"}
    assert cases_pass(d) == {"example-edge": [], "example-at-line": []}


def test_commenting_is_what_ctrl_slash_undoes(tmp_path: pathlib.Path) -> None:
    """Removing the `# ` that starts each example line gives the file with the examples enabled."""
    d = tmp_path / "x"
    plain = authoring.scaffold(d, "mengzi", "蒙自市", DOCUMENT, "national")
    enabled = authoring.scaffold(d, "mengzi", "蒙自市", DOCUMENT, "national", examples=True)
    for rel in ("pack.yaml", "tests/example.yaml"):
        a, b = plain[rel].splitlines(), enabled[rel].splitlines()
        assert len(a) == len(b)
        for x, y in zip(a, b):
            if x != y:
                indent = len(y) - len(y.lstrip(" "))
                assert x.replace("# ", "", 1) == y or (not y.strip() and x.strip() == "#"), (x, y)
                assert x.index("#") <= indent       # the mark stands in the indentation


def test_text_with_yaml_characters_is_kept_verbatim(tmp_path: pathlib.Path) -> None:
    """A title with a colon, a hash or quotes is written so that it reads back unchanged."""
    title = '关于印发《某县方案》的通知: 第1号 #2 "试行"'
    assert run(["new", "odd", "--locality", "某县: 城关镇", "--document", title, "--dir",
                str(tmp_path), "--lang", "en"]) == 0
    meta = rulekit.load_pack(tmp_path / "odd").spec.meta
    assert (meta["locality"], meta["title"]) == ("某县: 城关镇", title)


def test_without_a_base(tmp_path: pathlib.Path) -> None:
    assert run(new(tmp_path, "alone", "--extends", "none")) == 0
    d = tmp_path / "policies" / "alone"
    assert "extends" not in rulekit.load_pack(d).spec.meta
    assert check_pack(d) == [] and cases_pass(d) == {"example-edge": []}


def test_a_new_year_s_notice_extends_last_year_s_pack(tmp_path: pathlib.Path,
                                                      capsys: pytest.CaptureFixture) -> None:
    """Extending a locality pack: the pack starts empty; its case is a base household of that pack
    with the answers it gives; the commented example (the line with one more dated value) works."""
    assert run(new(tmp_path, "yuxi_2025", "--extends", "yuxi", "--lang", "en")) == 0
    assert "check: 0 error(s), 0 warning(s); test: 1 passed, 0 failed" in capsys.readouterr().out
    d = tmp_path / "policies" / "yuxi_2025"
    pack = rulekit.load_pack(d)
    assert pack.spec.meta["extends"] == "yuxi" and set(pack.spec.decisions) == set(rulekit.load_pack("yuxi").spec.decisions)
    case = yaml.safe_load((d / "tests" / "example.yaml").read_text(encoding="utf-8"))["cases"][0]
    assert case["expect"]["decisions"]["monitoring"] == {"outcome": "not_monitored", "status": "decided"}
    enabled = tmp_path / "enabled" / "yuxi_2025"
    write(enabled, authoring.scaffold(enabled, "yuxi_2025", "玉溪市", "通知", "yuxi", examples=True,
                                      base=rulekit.load_pack("yuxi")))
    assert check_pack(enabled) == []
    line = rulekit.load_pack(enabled).spec.parameters["monitoring_line"]
    assert line.where.pack_id == "yuxi_2025" and len(line.values) == 2


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_refuses_to_overwrite(tmp_path: pathlib.Path, capsys: pytest.CaptureFixture, lang: str) -> None:
    d = tmp_path / "policies" / "mengzi"
    d.mkdir(parents=True)
    (d / "pack.yaml").write_text("# mine\n", encoding="utf-8")
    assert run(new(tmp_path, "mengzi", "--lang", lang)) == 2
    err = capsys.readouterr().err
    assert str(d) in err and ("已存在" in err if lang == "zh" else "already exists" in err)
    assert [p.name for p in d.iterdir()] == ["pack.yaml"]
    assert (d / "pack.yaml").read_text(encoding="utf-8") == "# mine\n"


@pytest.mark.parametrize(("argv", "zh", "en"), [
    (["new", "Meng-Zi", "--locality", "蒙自市", "--document", "方案"], "政策包编号必须", "PACK_ID must be"),
    (["new", "mengzi", "--locality", " ", "--document", "方案"], "不能为空", "must not be empty"),
    (["new", "mengzi", "--locality", "蒙自市", "--document", "方案", "--extends", "nowhere"],
     "没有这个政策包", "is not a pack"),
])
def test_refuses_bad_arguments_in_both_languages(tmp_path: pathlib.Path, capsys: pytest.CaptureFixture,
                                                 argv: list[str], zh: str, en: str) -> None:
    for lang, text in (("zh", zh), ("en", en)):
        assert run([*argv, "--dir", str(tmp_path), "--lang", lang]) == 2
        assert text in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_the_language_follows_the_locale(tmp_path: pathlib.Path, capsys: pytest.CaptureFixture,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("LC_ALL", "LC_MESSAGES"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("LANG", "zh_CN.UTF-8")
    assert run(new(tmp_path, "a")) == 0
    assert "已创建政策包 a" in capsys.readouterr().out
    monkeypatch.setenv("LANG", "en_US.UTF-8")
    assert run(new(tmp_path, "b")) == 0
    assert "created pack b" in capsys.readouterr().out


def test_the_guide_shows_what_rulekit_new_prints(tmp_path: pathlib.Path, capsys: pytest.CaptureFixture,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Section 3 of each guide quotes the output of its example command."""
    monkeypatch.chdir(tmp_path)
    for guide, lang in (("编写指南.md", "zh"), ("authoring-guide.md", "en")):
        text = (ROOT / "docs" / guide).read_text(encoding="utf-8")
        shown = re.search(r"```text\n(.*?)```", text[text.index("rulekit new mengzi"):], re.S)[1]
        assert run(["new", "mengzi", "--locality", "蒙自市", "--document", DOCUMENT, "--lang", lang]) == 0
        printed = capsys.readouterr().out.splitlines()
        assert shown.splitlines() == printed[:len(shown.splitlines())]
        import shutil
        shutil.rmtree(tmp_path / "policies")


def test_refuses_a_base_that_does_not_load_or_reads_flat_records(tmp_path: pathlib.Path,
                                                                  capsys: pytest.CaptureFixture) -> None:
    policies = tmp_path / "policies"
    write(policies / "broken", {"pack.yaml": "pack: {id: broken, version: '1', locality: 某县}\n"})
    write(policies / "flat", {"pack.yaml": (
        "pack: {id: flat, version: '1', locality: 某县, title: 方案}\n"
        "facts:\n  income: {label: 收入, type: number}\n"
        "rules:\n  g:\n    label: 组\n    rules:\n      LOW: {label: 低收入, when: income < 6000, cites: [NAT-LINE]}\n")})
    assert run(["new", "x", "--locality", "某县", "--document", "方案", "--dir", str(policies),
                "--extends", "broken", "--lang", "zh"]) == 2
    err = capsys.readouterr().err
    assert "--extends broken：这个政策包本身有错误" in err and "此处必须写 title" in err
    assert run(["new", "x", "--locality", "某县", "--document", "方案", "--dir", str(policies),
                "--extends", "flat", "--lang", "en"]) == 2
    assert "reads flat records (facts:)" in capsys.readouterr().err
    assert not (policies / "x").exists()


def test_a_scaffold_that_fails_its_own_check_says_so(tmp_path: pathlib.Path, capsys: pytest.CaptureFixture,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """The command checks and tests what it wrote; were a template ever wrong, it says so (exit 1)."""
    monkeypatch.setattr(authoring, "PACK_TEMPLATE", authoring.PACK_TEMPLATE.replace(
        "when: per_capita_net < monitoring_line", "when: per_capta_net < monitoring_line"))
    assert run(new(tmp_path, "mengzi", "--lang", "zh")) == 1
    cap = capsys.readouterr()
    assert "检查：1 个错误，0 个警告；测试：0 个通过，0 个失败" in cap.out
    assert "新政策包未通过检查或测试" in cap.err and "名称 per_capta_net 未定义" in cap.err
