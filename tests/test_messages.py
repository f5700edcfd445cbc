"""The message catalogue: every engine phrase has Chinese and English text with the same blanks,
and what staff-facing commands print comes from it."""
from __future__ import annotations

import argparse
import pathlib
import re
import string
import sys

import pytest

from rulekit.cli import authoring
from rulekit.trace.messages import MESSAGES, PROBLEM_ZH, t
from tests.conftest import ROOT

CJK = re.compile(r"[\u4e00-\u9fff]")


def fields(text: str) -> set[str]:
    return {re.split(r"[.\[!:]", name)[0] for _, name, _, _ in string.Formatter().parse(text)
            if name is not None}


@pytest.mark.parametrize("key", sorted(MESSAGES))
def test_every_message_has_chinese_and_english_with_the_same_blanks(key: str) -> None:
    entry = MESSAGES[key]
    assert set(entry) == {"zh", "en"}, key
    assert entry["zh"].strip() and entry["en"].strip(), key
    assert fields(entry["zh"]) == fields(entry["en"]), key
    words = re.sub(r"\{[^}]*\}", "", entry["zh"])
    assert CJK.search(words) or not re.search(r"[A-Za-z]{3,}", words) or entry["zh"] == entry["en"], \
        f"{key}: zh text is not Chinese"     # the same in both: a language's own name, a layout
    blanks = {f: f"<{f}>" for f in fields(entry["en"])}
    for lang in ("zh", "en"):     # each formats: no stray braces
        assert t(key, lang, **blanks) if blanks else t(key, lang)


def test_every_problem_pattern_has_a_chinese_text() -> None:
    assert all(CJK.search(zh) for _, zh in PROBLEM_ZH)


def test_every_message_key_used_in_the_code_exists() -> None:
    """A misspelt key would fail only when that message is shown; find it now."""
    used = {}
    for path in (ROOT / "rulekit").rglob("*.py"):
        for m in re.finditer(r"\bt\(\s*[\"']([a-z0-9_]+)[\"']\s*[,)]", path.read_text(encoding="utf-8")):
            used.setdefault(m[1], path.name)
    assert used, "no t() calls found"
    assert {k: f for k, f in used.items() if k not in MESSAGES} == {}


def _pattern(template: str) -> re.Pattern:
    """A message as a regular expression: its blanks match anything."""
    parts = []
    for literal, name, _, _ in string.Formatter().parse(template):
        parts.append(re.escape(literal))
        if name is not None:
            parts.append(".+?")
    return re.compile("^" + "".join(parts) + "$")


def _new_lines(tmp_path: pathlib.Path, lang: str, capsys: pytest.CaptureFixture) -> list[str]:
    """Everything `rulekit new` prints: a pack made, each refusal, with a base pack."""
    p = argparse.ArgumentParser()
    authoring.register(p.add_subparsers(dest="command"))
    runs = [["new", "a", "--locality", "某县", "--document", "方案"],
            ["new", "a", "--locality", "某县", "--document", "方案"],                  # exists
            ["new", "A", "--locality", "某县", "--document", "方案"],                  # bad id
            ["new", "b", "--locality", " ", "--document", "方案"],                     # empty
            ["new", "b", "--locality", "某县", "--document", "方案", "--extends", "nowhere"],
            ["new", "c", "--locality", "某县", "--document", "方案", "--extends", "yuxi"]]
    lines = []
    for argv in runs:
        args = p.parse_args([*argv, "--dir", str(tmp_path / lang), "--lang", lang])
        args.handler(args)
        cap = capsys.readouterr()
        lines += (cap.out + cap.err).splitlines()
    return lines


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_rulekit_new_prints_only_catalogue_messages(tmp_path: pathlib.Path, lang: str,
                                                     capsys: pytest.CaptureFixture) -> None:
    """Each line `rulekit new` prints is a `new_*` message of the catalogue in the language asked
    for: no message of the command is written outside the catalogue."""
    patterns = [_pattern(v[lang]) for k, v in MESSAGES.items() if k.startswith("new_")]
    lines = _new_lines(tmp_path, lang, capsys)
    assert len(lines) >= 12
    assert [x for x in lines if not any(p.match(x) for p in patterns)] == []
    other = "en" if lang == "zh" else "zh"
    assert not any(MESSAGES[k][other] in x for k in ("new_file_pack", "new_exists") for x in lines)


def test_authoring_module_writes_no_text_outside_the_catalogue() -> None:
    """print() in the command module only prints t(...) or lines built from catalogue text."""
    source = (ROOT / "rulekit" / "cli" / "authoring.py").read_text(encoding="utf-8")
    for m in re.finditer(r"print\((.*)", source):
        call = m[1]
        assert call.startswith(("t(", "problem", "_problem_lines(", "\"\\n\".join(failures)")), call
    assert sys.modules["rulekit.cli.authoring"]
