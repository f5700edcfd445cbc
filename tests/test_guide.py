"""The authoring guides cannot drift from the engine: every YAML snippet of docs/编写指南.md and
docs/authoring-guide.md is extracted and checked as the HTML comment before it says.

    <!-- check: pack NAME -->             a whole pack: loads, and `rulekit check` finds nothing
    <!-- check: fragment NAME [BASE] -->  sections of a pack without `pack:`; put under a header
                                          extending BASE (default national), it loads
    <!-- check: case PACK -->             a test-case file; every case passes on PACK (a bundled
                                          pack, whose tests' bases are available, or a NAME above)
    <!-- check: override PACK -->         a parameter override file that PACK loads with
    <!-- check: catalogue -->             entries quoted from policies/catalogue.yaml, verbatim
    <!-- check: error -->                 a whole pack with a mistake; the next fenced block is
                                          exactly what `rulekit check` prints for it
"""
from __future__ import annotations

import argparse
import pathlib
import re

import attrs
import pytest
import yaml

import rulekit
from rulekit.cli import staff
from rulekit.expr import functions as F
from rulekit.pack.check import check_pack
from rulekit.pack.spec import catalogue, policies_root
from rulekit.testing import load_cases, run_case
from tests.conftest import ROOT

GUIDES = {"zh": ROOT / "docs" / "编写指南.md", "en": ROOT / "docs" / "authoring-guide.md"}
FENCE = re.compile(r"^```(?P<lang>[\w-]*)\s*$")
MARKER = re.compile(r"^<!--\s*check:\s*(?P<kind>[\w-]+)(?P<args>(?:\s+[\w.-]+)*)\s*-->\s*$")


@attrs.frozen
class Snippet:
    guide: str          # zh | en
    line: int           # 1-based line of the opening fence
    lang: str           # the fence's language
    text: str
    kind: str | None = None
    args: tuple[str, ...] = ()
    output: str | None = None     # the fenced block after an `error` snippet

    @property
    def id(self) -> str:
        return f"{self.guide}:{self.line}:{self.kind}"


def snippets(lang: str) -> list[Snippet]:
    """Every fenced block of a guide, with the marker written before it (blank lines between are
    allowed), in order."""
    lines = GUIDES[lang].read_text(encoding="utf-8").splitlines()
    blocks: list[Snippet] = []
    i = 0
    marker: re.Match | None = None
    while i < len(lines):
        m = MARKER.match(lines[i])
        if m:
            marker = m
            i += 1
            continue
        f = FENCE.match(lines[i])
        if f:
            start = i
            i += 1
            body = []
            while not lines[i].startswith("```"):
                body.append(lines[i])
                i += 1
            blocks.append(Snippet(lang, start + 1, f["lang"], "\n".join(body) + "\n",
                                  marker["kind"] if marker else None,
                                  tuple(marker["args"].split()) if marker else ()))
            marker = None
        elif lines[i].strip():
            marker = None
        i += 1
    out = []
    for k, b in enumerate(blocks):
        if b.kind == "error":
            nxt = blocks[k + 1] if k + 1 < len(blocks) else None
            assert nxt is not None and nxt.kind is None and nxt.lang == "text", \
                f"{b.id}: an error snippet is followed by the ```text block of what check prints"
            b = attrs.evolve(b, output=nxt.text)
        out.append(b)
    return out


ALL = {lang: snippets(lang) for lang in GUIDES}
CHECKED = [s for lang in GUIDES for s in ALL[lang] if s.kind]
KINDS = ("pack", "fragment", "case", "override", "catalogue", "error")


# -- the guides as a whole -------------------------------------------------------------------------

@pytest.mark.parametrize("lang", sorted(GUIDES))
def test_every_yaml_block_says_how_it_is_checked(lang: str) -> None:
    unmarked = [s.line for s in ALL[lang] if s.lang == "yaml" and s.kind not in KINDS]
    assert unmarked == [], f"{GUIDES[lang].name}: yaml blocks without a check marker at lines {unmarked}"


@pytest.mark.parametrize("lang", sorted(GUIDES))
def test_markers_only_stand_before_yaml_blocks(lang: str) -> None:
    assert [s.line for s in ALL[lang] if s.kind and s.lang != "yaml"] == []


@pytest.mark.parametrize("lang", sorted(GUIDES))
def test_each_guide_checks_every_kind_of_snippet(lang: str) -> None:
    """Not a vacuous pass: each guide has whole packs, fragments, cases, an override file,
    catalogue quotes and error examples."""
    kinds = {s.kind for s in ALL[lang]}
    assert set(KINDS) <= kinds
    assert sum(1 for s in ALL[lang] if s.kind) >= 20


def test_the_two_guides_show_the_same_snippets() -> None:
    """The English twin checks the same YAML (comments may be translated, and error output is in
    each guide's language)."""
    def shape(s: Snippet) -> tuple:
        data = yaml.safe_load(s.text)
        return s.kind, s.args, data
    assert [shape(s) for s in ALL["zh"] if s.kind] == [shape(s) for s in ALL["en"] if s.kind]


def _source_of_checked(lang: str) -> str:
    return "\n".join(s.text for s in ALL[lang] if s.kind in ("pack", "fragment", "case"))


@pytest.mark.parametrize("lang", sorted(GUIDES))
def test_every_function_and_operator_has_a_checked_example(lang: str) -> None:
    """The expression language in full: each function the compiler knows and each operator appears
    in a snippet that is compiled (so the guide's examples are valid expressions)."""
    text = _source_of_checked(lang)
    names = set(F.FUNCTIONS) | set(F.AGGREGATES) | set(F.SPECIAL)
    missing = sorted(n for n in names if not re.search(rf"\b{n}\(", text))
    assert missing == []
    for op in (" and ", " or ", "not ", " < ", " <= ", " > ", " >= ", " == ", " != ", " + ", " - ",
               " * ", " / ", " if ", " else ", " in [", " not in ", "age "):
        assert op in text, op


@pytest.mark.parametrize("lang", sorted(GUIDES))
def test_the_guide_names_every_top_level_section(lang: str) -> None:
    """Every section of the pack format is shown in a checked snippet."""
    from rulekit.pack.spec import pack_schema
    text = _source_of_checked(lang)
    for section in pack_schema()["properties"]:
        if section == "facts":      # flat records: for systems, not for locality packs
            continue
        assert re.search(rf"^{section}:", text, re.M), section


# -- one snippet at a time --------------------------------------------------------------------------

PACK_HEADER = 'pack: {{id: {id}, version: "1", locality: 示例县, title: 指南示例, extends: {base}}}\n'


def _write_pack(root: pathlib.Path, name: str, text: str) -> pathlib.Path:
    d = root / "policies" / name
    d.mkdir(parents=True, exist_ok=True)
    (d / "pack.yaml").write_text(text, encoding="utf-8")
    return d


def _named(lang: str) -> dict[str, Snippet]:
    return {s.args[0]: s for s in ALL[lang] if s.kind in ("pack", "fragment")}


def _pack_dir(lang: str, name: str, root: pathlib.Path) -> pathlib.Path:
    """A bundled pack, or a pack or fragment of the guide written under root/policies/."""
    named = _named(lang)
    if name in named:
        s = named[name]
        text = s.text if s.kind == "pack" else \
            PACK_HEADER.format(id=name, base=s.args[1] if len(s.args) > 1 else "national") + s.text
        return _write_pack(root, name, text)
    assert (policies_root() / name / "pack.yaml").is_file(), f"no pack {name!r}"
    return policies_root() / name


def test_snippet_names_are_unique() -> None:
    for lang in GUIDES:
        names = [s.args[0] for s in ALL[lang] if s.kind in ("pack", "fragment")]
        assert len(names) == len(set(names)), lang


def _run_check(pack: pathlib.Path, lang: str, capsys: pytest.CaptureFixture) -> str:
    capsys.readouterr()
    staff.check(argparse.Namespace(pack=str(pack), overrides=[], format="text", lang=lang))
    return capsys.readouterr().out


@pytest.mark.parametrize("s", CHECKED, ids=lambda s: s.id)
def test_snippet(s: Snippet, tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch,
                 capsys: pytest.CaptureFixture) -> None:
    monkeypatch.chdir(tmp_path)
    if s.kind == "pack":
        d = _write_pack(tmp_path, s.args[0], s.text)
        assert [p.text(s.guide) for p in check_pack(d)] == []
        assert rulekit.load_pack(d).id == s.args[0]
    elif s.kind == "fragment":
        d = _pack_dir(s.guide, s.args[0], tmp_path)
        errors = [str(p) for p in check_pack(d) if p.severity == "error"]
        assert errors == []
    elif s.kind == "case":
        _check_cases(s, tmp_path)
    elif s.kind == "override":
        f = tmp_path / "override.yaml"
        f.write_text(s.text, encoding="utf-8")
        d = _pack_dir(s.guide, s.args[0], tmp_path)
        pack = rulekit.load_pack(d, overrides=[f])
        assert pack.spec.files[-1].endswith("override.yaml")
        assert [str(p) for p in check_pack(d, [f]) if p.severity == "error"] == []
    elif s.kind == "catalogue":
        entries = yaml.safe_load(s.text)
        known = catalogue()
        for section, items in entries.items():
            for e in items:
                assert e["id"] in known and known[e["id"]]["section"] == section
                for key, value in e.items():
                    assert str(value).rstrip("…") in str(known[e["id"]][key]) if key == "quote" \
                        else value == known[e["id"]][key], (e["id"], key)
    elif s.kind == "error":
        d = _write_pack(tmp_path, "demo", s.text)
        assert _run_check(pathlib.Path("policies/demo"), s.guide, capsys) == s.output, \
            f"{s.id}: the guide shows a different message than rulekit check prints"
        assert d.is_dir()
    else:
        pytest.fail(f"{s.id}: unknown marker {s.kind!r}")


def _check_cases(s: Snippet, tmp_path: pathlib.Path) -> None:
    """Run the snippet's cases on its pack; bases come from the snippet and the pack's own tests."""
    pack_dir = _pack_dir(s.guide, s.args[0], tmp_path)
    tests = tmp_path / "cases"
    tests.mkdir()
    (tests / "snippet.yaml").write_text(s.text, encoding="utf-8")
    bases: dict = {}
    for f in sorted((pack_dir / "tests").glob("*.yaml")) if (pack_dir / "tests").is_dir() else ():
        bases.update((yaml.safe_load(f.read_text(encoding="utf-8")) or {}).get("bases") or {})
    own = (yaml.safe_load(s.text) or {}).get("bases") or {}
    bases = {k: v for k, v in bases.items() if k not in own}
    if bases:
        (tests / "bases.yaml").write_text(yaml.safe_dump({"bases": bases}, allow_unicode=True),
                                          encoding="utf-8")
    pack = rulekit.load_pack(pack_dir)
    cases = [c for c in load_cases(tests) if c.file.endswith("snippet.yaml")]
    assert cases, f"{s.id}: no cases"
    failures = {c.id: run_case(pack, c) for c in cases}
    assert {k: v for k, v in failures.items() if v} == {}
