"""YAML hazards: each gives a located error in bounded time and memory, never an object."""
from __future__ import annotations

import pytest

from rulekit import PackError
from rulekit.pack.loader import MAX_BYTES, load_yaml_bytes


def fails(raw: bytes) -> str:
    with pytest.raises(PackError) as e:
        load_yaml_bytes(raw, "p.yaml")
    return str(e.value)


def test_billion_laughs_is_stopped() -> None:
    lines = ["a: &a [x, x, x, x, x, x, x, x, x]"]
    for i, name in enumerate("bcdefghij"):
        prev = "abcdefghij"[i]
        lines.append(f"{name}: &{name} [" + ", ".join(f"*{prev}" for _ in range(9)) + "]")
    assert "alias bomb" in fails("\n".join(lines).encode())


def test_object_tags_are_refused() -> None:
    assert "p.yaml:1:4 a: tag 'tag:yaml.org,2002:python/object/apply:os.system' is not allowed" in \
        fails(b"a: !!python/object/apply:os.system [id]\n")


def test_duplicate_keys() -> None:
    assert "p.yaml:3:3 b.c: duplicate key 'c' (first written on line 2)" in fails(b"b:\n  c: 1\n  c: 2\n")


def test_tabs_say_use_spaces() -> None:
    assert "p.yaml:2:1: YAML syntax error" in fails(b"a:\n\tb: 1\n")
    assert "indent with spaces, not tabs" in fails(b"a:\n\tb: 1\n")


def test_not_utf8() -> None:
    assert "not UTF-8" in fails("a: 监测".encode("gbk"))


def test_bom_is_accepted() -> None:
    assert load_yaml_bytes(b"\xef\xbb\xbfa: 1\n", "p.yaml").data == {"a": 1}


def test_deep_nesting() -> None:
    assert "nested more than" in fails(b"a: " + b"[" * 100 + b"]" * 100)


def test_too_large() -> None:
    assert "at most" in fails(b"#" * (MAX_BYTES + 1))


def test_merge_keys_are_refused() -> None:
    assert "merge keys (<<) are not allowed" in fails(b"a: &x {b: 1}\nc:\n  <<: *x\n")


def test_marks_point_at_keys() -> None:
    doc = load_yaml_bytes(b"pack:\n  id: x\n  rules:\n    R1: {when: a}\n", "p.yaml")
    assert doc.mark(("pack", "rules", "R1", "when")) == (4, 10)
    assert doc.mark(("pack", "rules", "R1")) == (4, 5)
