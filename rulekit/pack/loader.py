"""Read a YAML file into plain data plus the line and column of every key path.

PyYAML's composer gives nodes with marks; we build the data ourselves so that duplicate keys,
object-constructing tags and alias bombs are refused with a located error, and nothing but plain
data (dict, list, str, int, float, bool, None, date) can come out of a pack.
"""
from __future__ import annotations

import datetime as dt
import pathlib
from typing import Any

import yaml

from rulekit.errors import PackError, Problem

MAX_BYTES = 2_000_000       # a pack file larger than this is refused before parsing
MAX_NODES = 200_000         # nodes built from one file, aliases expanded (stops billion laughs)
MAX_DEPTH = 64              # nesting of mappings and sequences

Path = tuple  # key path: ("rules", "focus", "rules", "F1", "when")
_PLAIN_TAGS = {
    "tag:yaml.org,2002:str", "tag:yaml.org,2002:int", "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool", "tag:yaml.org,2002:null", "tag:yaml.org,2002:timestamp",
}


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """A safe loader subclass of our own, so nothing is registered on PyYAML's globals. libyaml's
    parser (CSafeLoader) when PyYAML was built with it: the same nodes and marks, parsed in C;
    we only compose nodes from it and build the data ourselves below."""




def path_text(path: Path) -> str:
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out


class YamlDoc:
    """Data read from one YAML file, with `mark(path)` -> (line, column), both 1-based."""

    def __init__(self, file: str, data: Any, marks: dict[Path, tuple[int, int]]) -> None:
        self.file = file
        self.data = data
        self.marks = marks
        self._children: dict[Path, list[Path]] | None = None

    def children(self, path: Path) -> list[Path]:
        """The key paths one level below `path` (indexed once per file)."""
        if self._children is None:
            self._children = {}
            for k in self.marks:
                if k and isinstance(k[-1], str):
                    self._children.setdefault(k[:-1], []).append(k)
        return self._children.get(tuple(path), [])

    def mark(self, path: Path) -> tuple[int | None, int | None]:
        path = tuple(path)
        while path not in self.marks and path:
            path = path[:-1]
        return self.marks.get(path, (None, None))

    def problem(self, path: Path, message: str, rule_id: str | None = None,
                severity: str = "error") -> Problem:
        line, col = self.mark(path)
        return Problem(message, file=self.file, line=line, column=col, path=path_text(path),
                       rule_id=rule_id, severity=severity)


def load_yaml(path: pathlib.Path | str, display: str | None = None) -> YamlDoc:
    """Parse one YAML file; raises PackError with file:line:col for every problem found."""
    path = pathlib.Path(path)
    name = display or str(path)
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise PackError([Problem(f"cannot read the file: {e.strerror}", file=name)]) from None
    return load_yaml_bytes(raw, name)


def load_yaml_bytes(raw: bytes, name: str) -> YamlDoc:
    if len(raw) > MAX_BYTES:
        raise PackError([Problem(f"file is {len(raw):,} bytes; a pack file may be at most "
                                 f"{MAX_BYTES:,} bytes (split it with extends)", file=name)])
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = raw[:e.start].count(b"\n") + 1
        raise PackError([Problem(f"the file is not UTF-8 text (byte {raw[e.start]:#04x} at offset "
                                 f"{e.start}); save it as UTF-8", file=name, line=line)]) from None
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        hint = ""
        if "\t" in (e.problem or "") or (mark and "\t" in text.splitlines()[mark.line][:mark.column + 1]
                                        if mark and mark.line < len(text.splitlines()) else False):
            hint = "; indent with spaces, not tabs"
        raise PackError([Problem(f"YAML syntax error: {e.problem}{hint}", file=name,
                                 line=mark.line + 1 if mark else None,
                                 column=mark.column + 1 if mark else None)]) from None
    except yaml.YAMLError as e:
        raise PackError([Problem(f"YAML error: {e}", file=name)]) from None
    finally:
        loader.dispose()
    if node is None:
        return YamlDoc(name, None, {})
    builder = _Builder(name, loader)
    data = builder.build(node, (), 0)
    if builder.problems:
        raise PackError(builder.problems)
    return YamlDoc(name, data, builder.marks)


class _Builder:
    def __init__(self, file: str, loader: _Loader) -> None:
        self.file = file
        self.loader = loader
        self.marks: dict[Path, tuple[int, int]] = {}
        self.problems: list[Problem] = []
        self.count = 0

    def fail(self, node: yaml.Node, message: str, path: Path) -> None:
        self.problems.append(Problem(message, file=self.file, line=node.start_mark.line + 1,
                                     column=node.start_mark.column + 1, path=path_text(path)))

    def build(self, node: yaml.Node, path: Path, depth: int) -> Any:
        self.count += 1
        if self.count > MAX_NODES:
            if self.count == MAX_NODES + 1:
                self.fail(node, f"the file expands to more than {MAX_NODES:,} values (anchors and "
                                f"aliases count each time they are used); this looks like an alias "
                                f"bomb", path)
            return None
        if depth > MAX_DEPTH:
            self.fail(node, f"nested more than {MAX_DEPTH} levels deep", path)
            return None
        self.marks.setdefault(path, (node.start_mark.line + 1, node.start_mark.column + 1))
        if isinstance(node, yaml.MappingNode):
            return self.mapping(node, path, depth)
        if isinstance(node, yaml.SequenceNode):
            if node.tag != "tag:yaml.org,2002:seq":
                self.fail(node, f"tag {node.tag!r} is not allowed in a pack; write plain data", path)
                return None
            return [self.build(n, path + (i,), depth + 1) for i, n in enumerate(node.value)]
        if node.tag not in _PLAIN_TAGS:
            self.fail(node, f"tag {node.tag!r} is not allowed in a pack; write plain data", path)
            return None
        try:
            value = self.loader.construct_scalar(node) if node.tag.endswith(":str") else \
                self.loader.construct_object(node, deep=True)
        except (yaml.YAMLError, ValueError) as e:
            if node.tag.endswith(":timestamp"):
                self.fail(node, f"{node.value!r} is not a real date ({e}); write a date as "
                                f"YYYY-MM-DD", path)
            else:
                self.fail(node, f"cannot read this value: {e}", path)
            return None
        if isinstance(value, dt.datetime):
            self.fail(node, "write a date as YYYY-MM-DD, without a time", path)
            return None
        return value

    def mapping(self, node: yaml.MappingNode, path: Path, depth: int) -> dict | None:
        if node.tag != "tag:yaml.org,2002:map":
            self.fail(node, f"tag {node.tag!r} is not allowed in a pack; write plain data", path)
            return None
        out: dict[str, Any] = {}
        first_line: dict[str, int] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                self.fail(key_node, "merge keys (<<) are not allowed in a pack; write the keys out",
                          path)
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                self.fail(key_node, "a key must be plain text", path)
                continue
            key = key_node.value
            if key in out or key in first_line:
                self.fail(key_node, f"duplicate key {key!r} (first written on line "
                                    f"{first_line[key]}); keep one of them", path + (key,))
                continue
            first_line[key] = key_node.start_mark.line + 1
            self.marks[path + (key,)] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            value = self.build(value_node, path + (key,), depth + 1)
            self.marks[path + (key,)] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            out[key] = value
        return out
