"""Editor support: the pack schema explains every key in Chinese (hover, completion), its examples
are valid, and every shipped pack file points its editor at the schema."""
from __future__ import annotations

import json
import pathlib
import re
from collections.abc import Iterator

import jsonschema
import pytest

from tests.conftest import ROOT

SCHEMA_FILE = ROOT / "rulekit" / "pack" / "pack.schema.json"
SCHEMA = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
CJK = re.compile(r"[\u4e00-\u9fff]")
MODELINE = re.compile(r"^# yaml-language-server: \$schema=(?P<path>\S+)$")


def keyed_nodes(node: dict = SCHEMA, pointer: str = "") -> Iterator[tuple[str, dict]]:
    """(JSON pointer, schema) of every key an author can write, every shared definition, and the
    schema of every entry of a name -> entry map or a list of objects."""
    yield pointer or "/", node
    for name, sub in node.get("properties", {}).items():
        yield from keyed_nodes(sub, f"{pointer}/properties/{name}")
    for name, sub in node.get("$defs", {}).items():
        yield from keyed_nodes(sub, f"{pointer}/$defs/{name}")
    for word in ("additionalProperties", "items"):
        sub = node.get(word)
        if isinstance(sub, dict) and set(sub) != {"$ref"}:
            yield from keyed_nodes(sub, f"{pointer}/{word}")


NODES = dict(keyed_nodes())


def test_the_walk_reaches_every_part_of_the_schema() -> None:
    """The walk sees the sections, the shared definitions and the nested entries (not a vacuous pass)."""
    assert {"/properties/pack/properties/income_period/properties/months", "/$defs/parameter",
            "/$defs/parameter/properties/values/items/properties/from",
            "/properties/local_facts/additionalProperties/properties/per",
            "/$defs/report/properties/table/properties/rows/items"} <= set(NODES)
    assert len(NODES) > 140


@pytest.mark.parametrize("pointer", sorted(NODES))
def test_every_key_has_a_chinese_title_and_description(pointer: str) -> None:
    """Hover in the editor shows the title and the description: both are there, in Chinese."""
    node = NODES[pointer]
    assert CJK.search(node.get("title", "")), f"{pointer}: no Chinese title"
    assert CJK.search(node.get("description", "")) or pointer.endswith(("/note", "/en")) \
        or "/table/" in pointer or len(node["title"]) >= 8, f"{pointer}: no Chinese description"


def _validator(schema: dict) -> jsonschema.Draft202012Validator:
    """A validator for one part of the schema; its #/$defs references still resolve."""
    return jsonschema.Draft202012Validator({"$defs": SCHEMA["$defs"], **schema},
                                           format_checker=jsonschema.FormatChecker())


EXAMPLES = [(p, i) for p, n in NODES.items() for i in range(len(n.get("examples", [])))]


def test_keys_people_type_have_examples() -> None:
    """Examples where they help: metadata, expressions, citations, units, dates, statuses."""
    for pointer in ("/properties/pack/properties/id", "/properties/pack/properties/reference_date",
                    "/$defs/expression", "/$defs/cites", "/$defs/parameter/properties/unit",
                    "/$defs/parameter/properties/values/items/properties/from",
                    "/$defs/outcome/properties/status", "/$defs/decision/properties/hit",
                    "/$defs/parameter", "/$defs/rule", "/$defs/outcome"):
        assert NODES[pointer].get("examples"), pointer
    assert len(EXAMPLES) > 120


@pytest.mark.parametrize(("pointer", "i"), EXAMPLES)
def test_every_example_is_valid_where_it_is_shown(pointer: str, i: int) -> None:
    example = NODES[pointer]["examples"][i]
    errors = [e.message for e in _validator(NODES[pointer]).iter_errors(example)]
    assert errors == [], f"{pointer} example {i}: {errors}"


def _snippet_keys(body: object) -> Iterator[str]:
    if isinstance(body, dict):
        yield from body


@pytest.mark.parametrize("pointer", sorted(p for p, n in NODES.items() if "defaultSnippets" in n))
def test_editor_snippets_only_write_keys_the_schema_allows(pointer: str) -> None:
    """Completion inserts a whole entry (defaultSnippets); it must not insert an unknown key, and
    it must write every required key."""
    node = NODES[pointer]
    for snippet in node["defaultSnippets"]:
        assert CJK.search(snippet["label"]) and CJK.search(snippet["description"])
        keys = set(_snippet_keys(snippet["body"]))
        assert keys <= set(node["properties"]), pointer
        assert set(node["required"]) <= keys, pointer


def test_the_schema_is_a_valid_json_schema_and_still_the_validator_s_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    from rulekit.pack.spec import pack_schema
    assert pack_schema() == SCHEMA


PACK_FILES = sorted(ROOT.glob("policies/*/pack.yaml"))


def test_there_are_pack_files_to_check() -> None:
    assert {p.parent.name for p in PACK_FILES} >= {"national", "yuxi"}


@pytest.mark.parametrize("pack_file", PACK_FILES, ids=lambda p: p.parent.name)
def test_every_shipped_pack_file_starts_with_the_schema_modeline(pack_file: pathlib.Path) -> None:
    """The first line tells the YAML language server which schema to use; the path is relative to
    the pack file and reaches the schema the engine validates with."""
    first = pack_file.read_text(encoding="utf-8").splitlines()[0]
    m = MODELINE.match(first)
    assert m, f"{pack_file}: first line is {first!r}"
    target = (pack_file.parent / m["path"]).resolve()
    assert target.is_file() and target.samefile(SCHEMA_FILE)
