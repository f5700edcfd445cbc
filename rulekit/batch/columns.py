"""Columns: the national form's headers mapped to record fields, and cells converted to their
field's kind without guessing.

The mapping is derived from the record model (rulekit/record/model.py), never retyped: a column of
a household table may be headed by the field's name (`wage_income`, `income.wage_income`), its
Chinese label as printed on the form with or without the unit (`工资性收入（元）`, `工资性收入`),
its form code (`A28`), or the code followed by the label (`A28 工资性收入`); half-width brackets,
case and surrounding spaces in a header do not matter. A pack's own facts (`facts:` of a flat pack,
`local_facts:`) are headed by their name or label. `rulekit columns --pack P` prints the mapping.

Tables of the form (members, crops, work, rigid expenses...) come as a second table keyed by the
household id column (`户编号`), as an XLSX sheet named after the table, or nested (a JSON list in a
cell, or nested in JSONL/Parquet). Child rows are indexed on disk (SQLite), so memory stays flat
whatever their order and size.

Conversion says *what* is wrong with a cell; the row adds *where* (`households.csv:7 A28`). Nothing
is coerced: an empty cell is unknown (never 0 or False), text where a number is required is an error
(`5,000`, `-`, `无` included), a yes/no is 是/否 or true/false, a date is YYYY-MM-DD (an XLSX date
cell at midnight is a date), and a spreadsheet number in a text field is accepted only when it is a
whole number that a spreadsheet stores exactly.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import json
import math
import pathlib
import pickle
import re
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import attrs

from rulekit.batch.readers import BatchError, Documents, Table
from rulekit.errors import Problem
from rulekit.record import model as M
from rulekit.trace.messages import t

ID_HEADERS = ("id", "户编号", "household_id", "household id", "户主编号")
KEY_HEADERS = ID_HEADERS            # the column of a child table naming its household
BOOLS = {"是": True, "否": False, "true": True, "false": False}
# ASCII digits only: full-width or other scripts' digits are not read as numbers
_INT = re.compile(r"[+-]?[0-9]+")
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_THOUSANDS = re.compile(r"[+-]?[0-9]{1,3}(?:[,，][0-9]{3})+(?:\.[0-9]*)?")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_LIST_SPLIT = re.compile(r"[、,，;；]")
MAX_EXACT = 10 ** 15                 # spreadsheets keep 15 significant digits

_KIND_OF_FACT = {M.MONEY: "number", M.NUMBER: "number", M.COUNT: "integer", M.BOOL: "bool",
                 M.DATE: "date", M.TEXT: "text"}
_KIND_OF_DECLARED = {"number": "number", "integer": "integer", "bool": "bool", "text": "text",
                     "date": "date"}
KIND_WORDS = {"number": ("数字", "a number"), "integer": ("整数", "a whole number"),
              "bool": ("是/否", "yes/no"), "date": ("日期 YYYY-MM-DD", "a date YYYY-MM-DD"),
              "text": ("文字", "text"), "enum": ("取值表中的值", "a value of the list"),
              "enum_list": ("取值列表（用、分隔）", "values separated by 、"),
              "items": ("表格（子表或 JSON 列表）", "a table (child table or JSON list)")}


@attrs.frozen
class Target:
    """Where a column's value goes in the record, and what kind of value it must be."""
    path: tuple[str, ...]
    kind: str                     # number | integer | bool | date | text | enum | enum_list | items
    label: str                    # the Chinese label (with the form code), for the mapping table
    enum: str | None = None
    item: type | None = None      # the row class of a table (items)

    @property
    def name(self) -> str:
        return ".".join(self.path)


@attrs.frozen
class ChildSpec:
    """A table of the record given as rows keyed by household id (members, crops...)."""
    name: str                     # canonical list name: members, crops...
    path: tuple[str, ...]         # where the list goes in the record
    label: str
    item: type


class CellError(Exception):
    """What is wrong with one cell (the row adds where)."""

    def __init__(self, key: str, **kw: Any) -> None:
        super().__init__(key)
        self.key = key
        self.kw = kw

    def problem(self, where: str) -> Problem:
        return Problem(t(self.key, "en", **self.kw), path=where, zh=t(self.key, "zh", **self.kw))


# -- the mapping, derived from the record model -----------------------------------------------------

def norm(header: Any) -> str:
    """A header as matched: no surrounding spaces, full-width brackets, lower case."""
    return str(header).strip().replace("(", "（").replace(")", "）").lower()


def _field_target(f: attrs.Attribute, path: tuple[str, ...]) -> Target | None:
    meta = f.metadata
    kind, enum = meta["kind"], meta.get("enum")
    label = meta["zh"] + (f"（{meta['code']}）" if meta.get("code") else "")
    if kind == "local":
        return None
    if kind == "list":
        if meta.get("item") is not None:
            return Target(path, "items", label, item=meta["item"])
        return Target(path, "enum_list", label, enum=enum)
    if enum:
        return Target(path, "enum", label, enum=enum)
    return Target(path, _KIND_OF_FACT[kind], label)


def _spellings(f: attrs.Attribute, path: tuple[str, ...]) -> list[str]:
    meta = f.metadata
    out = [f.name, ".".join(path)]
    for alias in (meta.get("zh"), meta.get("code")):
        if alias:
            out += [alias, alias.split("（")[0]]
    return out


@attrs.frozen
class Mapping:
    """Header spellings -> targets for one kind of table (households, or one child table)."""
    targets: dict[str, Target]            # normalised spelling -> target
    codes: dict[str, Target]              # form code (lower case) -> target
    fields: tuple[Target, ...]            # every target, in model order (the documented mapping)
    spellings: dict[str, tuple[str, ...]]  # target name -> its spellings as written
    is_child: bool = False

    def find(self, header: str) -> Target | None:
        h = norm(header)
        hit = self.targets.get(h)
        if hit is not None:
            return hit
        for code in sorted(self.codes, key=len, reverse=True):   # "A28 工资性收入（元）"
            if h.startswith(code):
                rest = h[len(code):].lstrip(" 、.．:：-_")
                target = self.codes[code]
                if rest and rest[0].isdigit():
                    continue
                if not rest or self.targets.get(rest) is target:
                    return target
        return None


def _no_unit(label: str) -> str:
    """A declared label without its trailing bracket (the unit): 上期年收入（元） -> 上期年收入."""
    return re.sub(r"（[^（）]*）$", "", label)


def _mapping(entries: Iterable[tuple[Target, list[str], str | None]], is_child: bool = False) -> Mapping:
    """Spellings of two different fields are accepted for neither (a header must name one field),
    except a field's own name, which always names it."""
    entries = list(entries)
    owners: dict[str, set[str]] = {}
    for target, names, _ in entries:
        for n in names:
            if n:
                owners.setdefault(norm(n), set()).add(target.name)
    own_names = {norm(target.name): target for target, _, _ in entries}
    targets: dict[str, Target] = {}
    codes: dict[str, Target] = {}
    fields = []
    spellings = {}
    for target, names, code in entries:
        fields.append(target)
        kept = [n for n in dict.fromkeys(n for n in names if n)
                if len(owners[norm(n)]) == 1 or own_names.get(norm(n)) is target]
        spellings[target.name] = tuple(kept)
        for n in kept:
            targets[norm(n)] = target
        if code:
            codes[code.lower()] = target
    return Mapping(targets, codes, tuple(fields), spellings, is_child)


def household_mapping(spec: Any) -> Mapping:
    """The columns of a household table for a pack (its `spec`): the record's fields and the pack's
    household-level local facts, or the pack's own facts for a flat pack."""
    entries: list[tuple[Target, list[str], str | None]] = []
    if spec.facts:
        entries.append((Target(("id",), "text", "户编号"), list(ID_HEADERS), None))
        for name, fact in spec.facts.items():
            kind = "enum" if fact.get("values") else _KIND_OF_DECLARED[fact["type"]]
            label = fact.get("label") or name
            entries.append((Target((name,), kind, label), [name, label, _no_unit(label)], None))
        return _mapping(entries)

    def walk(cls: type, prefix: tuple[str, ...]) -> None:
        for f in attrs.fields(cls):
            if "section" in f.metadata:
                walk(M.SECTIONS[f.name], prefix + (f.name,))
                continue
            path = prefix + (f.name,)
            target = _field_target(f, path)
            if target is None:
                continue
            names = _spellings(f, path) + (list(ID_HEADERS) if path == ("id",) else [])
            entries.append((target, names, f.metadata.get("code")))
    walk(M.Household, ())
    for name, fact in spec.local_facts.items():
        if fact.get("per") == "members":
            continue
        label = fact.get("label") or name
        kind = "enum" if fact.get("values") else _KIND_OF_DECLARED[fact["type"]]
        entries.append((Target(("local", name), kind, label),
                        [name, f"local.{name}", label, _no_unit(label)], None))
    return _mapping(entries)


def child_specs() -> dict[str, ChildSpec]:
    """Every table of the record that may come as rows keyed by household id, by any spelling of
    its name (members, income.crops, 家庭成员, 种植业、林业、渔业产品...)."""
    out: dict[str, ChildSpec] = {}

    def walk(cls: type, prefix: tuple[str, ...]) -> None:
        for f in attrs.fields(cls):
            if "section" in f.metadata:
                walk(M.SECTIONS[f.name], prefix + (f.name,))
            elif f.metadata.get("kind") == "list" and f.metadata.get("item") is not None:
                path = prefix + (f.name,)
                spec = ChildSpec(f.name, path, f.metadata["zh"], f.metadata["item"])
                for n in (f.name, ".".join(path), f.metadata["zh"]):
                    out.setdefault(norm(n), spec)
    walk(M.Household, ())
    return out


def find_child(name: str) -> ChildSpec | None:
    return child_specs().get(norm(name))


def child_mapping(spec: Any, child: ChildSpec) -> Mapping:
    """The columns of a child table: its row's fields, per-member local facts for members, and the
    household id column."""
    entries: list[tuple[Target, list[str], str | None]] = [
        (Target(("#household",), "text", "户编号（所属农户）"), list(KEY_HEADERS), None)]
    for f in attrs.fields(child.item):
        target = _field_target(f, (f.name,))
        if target is not None:
            entries.append((target, _spellings(f, (f.name,)), f.metadata.get("code")))
    if child.name == "members":
        for name, fact in spec.local_facts.items():
            if fact.get("per") != "members":
                continue
            label = fact.get("label") or name
            kind = "enum" if fact.get("values") else _KIND_OF_DECLARED[fact["type"]]
            entries.append((Target(("local", name), kind, label),
                            [name, f"local.{name}", label, _no_unit(label)], None))
    return _mapping(entries, is_child=True)


# -- a table's header, checked once -----------------------------------------------------------------

@attrs.frozen
class Plan:
    """How each column of one table lands in the record (None: left out on purpose or no header)."""
    source: str
    header: tuple[str, ...]
    targets: tuple[Target | None, ...]
    unheaded: tuple[int, ...]      # columns without a header: their cells must stay empty
    key: int | None = None         # child tables: the household id column
    # (index, header, path, kind, text converter) of each column read, for the per-row loop
    columns: tuple[tuple[int, str, tuple[str, ...], str, Any], ...] = ()

    def id_column(self) -> int | None:
        for i, target in enumerate(self.targets):
            if target is not None and target.path in (("id",), ("#household",)):
                return i
        return None


def plan_table(mapping: Mapping, header: Sequence[str], source: str,
               ignore: Iterable[str] = ()) -> Plan:
    """Check a header: every column maps to exactly one field, none twice, the id is there.
    Raises BatchError listing every problem (collect, then raise)."""
    ignored = {norm(i) for i in ignore}
    targets: list[Target | None] = []
    unheaded: list[int] = []
    problems_en: list[str] = []
    problems_zh: list[str] = []
    first: dict[str, str] = {}

    def problem(key: str, **kw: Any) -> None:
        problems_en.append(f"{source}: {t(key, 'en', **kw)}")
        problems_zh.append(f"{source}: {t(key, 'zh', **kw)}")

    for i, h in enumerate(header):
        if h is None or str(h).strip() == "":
            targets.append(None)
            unheaded.append(i)
            continue
        if norm(h) in ignored:
            targets.append(None)
            continue
        target = mapping.find(h)
        if target is None:
            import difflib
            close = difflib.get_close_matches(norm(h), list(mapping.targets), n=1, cutoff=0.6)
            problem("col_unknown", column=str(h),
                    hint=t("col_hint", "en", close=close[0]) if close else "")
            problems_zh[-1] = f"{source}: " + t("col_unknown", "zh", column=str(h),
                                                 hint=t("col_hint", "zh", close=close[0]) if close
                                                 else "")
            targets.append(None)
            continue
        if target.name in first:
            problem("col_twice", first=first[target.name], second=str(h), field=target.name)
        first.setdefault(target.name, str(h))
        targets.append(target)
    names = tuple(str(h) if h is not None else "" for h in header)
    plan = Plan(source, names, tuple(targets), tuple(unheaded),
                columns=tuple((i, names[i], tg.path, tg.kind, _from_text(tg))
                              for i, tg in enumerate(targets) if tg is not None))
    if plan.id_column() is None:
        problem("col_no_id", headers="、".join(KEY_HEADERS))
    if problems_en:
        raise BatchError("\n".join(problems_en), "\n".join(problems_zh))
    return attrs.evolve(plan, key=plan.id_column()) if mapping.is_child else plan


# -- cells ------------------------------------------------------------------------------------------

def _got(value: Any) -> str:
    return repr(value) if not isinstance(value, (dt.date, dt.datetime)) else value.isoformat(" ")


def convert(kind: str, value: Any) -> Any:
    """The value of one cell for a field of `kind`, or None when the cell is empty (unknown).
    Raises CellError saying what is wrong; nothing is converted silently."""
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None           # pandas/Arrow's marker of an empty cell
    if isinstance(value, str):
        return FROM_TEXT[kind](value)
    if kind in ("number", "integer"):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise CellError("cell_number" if kind == "number" else "cell_integer", got=_got(value))
        if isinstance(value, float) and not math.isfinite(value):
            raise CellError("cell_number", got=_got(value))
        if kind == "integer":
            if isinstance(value, float):
                if not value.is_integer():
                    raise CellError("cell_integer", got=_got(value))
                return int(value)
        return value
    if kind == "bool":
        if isinstance(value, bool):
            return value
        raise CellError("cell_bool", got=_got(value))
    if kind == "date":
        if isinstance(value, dt.datetime):
            if value.time() != dt.time(0):
                raise CellError("cell_datetime", got=_got(value))
            return value.date().isoformat()
        if isinstance(value, dt.date):
            return value.isoformat()
        raise CellError("cell_date", got=_got(value))
    if kind in ("text", "enum"):
        if isinstance(value, bool) or isinstance(value, (dt.date, dt.datetime)):
            raise CellError("cell_text", got=_got(value))
        if isinstance(value, int) or (isinstance(value, float) and value.is_integer()):
            if abs(value) >= MAX_EXACT:
                raise CellError("cell_text_digits", got=_got(value))
            return str(int(value))
        raise CellError("cell_text", got=_got(value))
    if kind == "enum_list":
        if isinstance(value, (list, tuple)):
            return list(value)
        raise CellError("cell_enum_list", got=_got(value))
    if kind == "items":
        if isinstance(value, (list, tuple)) and all(isinstance(v, dict) for v in value):
            return [dict(v) for v in value]
        if hasattr(value, "tolist"):      # a numpy array from a pandas/Arrow nested column
            return convert(kind, value.tolist())
        raise CellError("cell_items", got=_got(value))
    raise AssertionError(kind)


def _number_text(text: str, integer: bool = False) -> Any:
    s = text.strip()
    if not s:
        return None
    if _INT.fullmatch(s):
        return int(s)
    if _NUMBER.fullmatch(s):
        v = float(s)
        if integer:
            if not v.is_integer():
                raise CellError("cell_integer", got=repr(text))
            return int(v)
        if not math.isfinite(v):
            raise CellError("cell_number", got=repr(text))
        return v
    if _THOUSANDS.fullmatch(s):
        raise CellError("cell_thousands", got=repr(text))
    raise CellError("cell_integer" if integer else "cell_number", got=repr(text))


def _integer_text(text: str) -> Any:
    return _number_text(text, integer=True)


def _bool_text(text: str) -> Any:
    s = text.strip()
    if not s:
        return None
    v = BOOLS.get(s.lower())
    if v is None:
        raise CellError("cell_bool", got=repr(text))
    return v


def _date_text(text: str) -> Any:
    s = text.strip()
    if not s:
        return None
    if _DATE.fullmatch(s):
        try:
            return dt.date.fromisoformat(s).isoformat()
        except ValueError:
            pass
    raise CellError("cell_date", got=repr(text))


def _text_text(text: str) -> Any:
    return text if text.strip() else None


def _enum_text(text: str) -> Any:
    return text.strip() or None


def _enum_list_text(text: str) -> Any:
    s = text.strip()
    if not s:
        return None
    if s.startswith("["):
        return _json_list(text, objects=False)
    return [p.strip() for p in _LIST_SPLIT.split(s) if p.strip()]


def _items_text(text: str) -> Any:
    return _json_list(text, objects=True) if text.strip() else None


# the value of a text cell (CSV, or text typed into a spreadsheet) for a field of each kind
FROM_TEXT = {"number": _number_text, "integer": _integer_text, "bool": _bool_text,
             "date": _date_text, "text": _text_text, "enum": _enum_text,
             "enum_list": _enum_list_text, "items": _items_text}


def _from_text(target: Target) -> Callable[[str], Any]:
    """FROM_TEXT for a column; for a field with a value list, a Chinese value becomes its code
    here, as normalise would make it, so that the record is already canonical and takes
    normalise's quick way (a value that is neither is left for normalise to report)."""
    convert = FROM_TEXT[target.kind]
    if target.enum is None or target.kind not in ("enum", "enum_list"):
        return convert
    codes = {zh: code for code, zh in M.ENUMS[target.enum].items() if zh not in M.ENUMS[target.enum]}

    def coded(text: str) -> Any:
        value = convert(text)
        if value.__class__ is str:
            return codes.get(value, value)
        if value.__class__ is list:
            return [codes.get(v, v) if v.__class__ is str else v for v in value]
        return value
    return coded


def _json_list(text: str, objects: bool) -> list:
    try:
        v = json.loads(text)
    except json.JSONDecodeError:
        raise CellError("cell_items" if objects else "cell_enum_list", got=repr(text)) from None
    if not isinstance(v, list) or (objects and not all(isinstance(x, dict) for x in v)):
        raise CellError("cell_items" if objects else "cell_enum_list", got=repr(text))
    return v


# -- rows -> records --------------------------------------------------------------------------------

class RowError(Exception):
    """Every problem of one input row, each located (file:line column)."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = problems

    def text(self, lang: str) -> str:
        return "; ".join(f"{p.path}: {p.text(lang)}" if p.path else p.text(lang)
                         for p in self.problems)


def put(record: dict, path: tuple[str, ...], value: Any) -> None:
    d = record
    for p in path[:-1]:
        d = d.setdefault(p, {})
    d[path[-1]] = value


def row_record(plan: Plan, where: str, cells: tuple, problems: list[Problem]) -> dict:
    """The record a table row gives; cell problems are appended to `problems`."""
    record: dict = {}
    width = len(plan.header)
    if len(cells) != width:
        extra = cells[width:]
        if len(cells) < width or any(c is not None and str(c).strip() for c in extra):
            problems.append(Problem(t("row_width", "en", cells=len(cells), columns=width),
                                    path=where, zh=t("row_width", "zh", cells=len(cells),
                                                     columns=width)))
            key = plan.id_column()        # still name the household the broken row is about
            if key is not None and key < len(cells):
                with contextlib.suppress(CellError):
                    record[plan.targets[key].path[0]] = convert("text", cells[key])
            return record
    for i in plan.unheaded:
        if i < len(cells) and cells[i] is not None and str(cells[i]).strip():
            problems.append(Problem(t("cell_unheaded", "en", n=i + 1, got=_got(cells[i])),
                                    path=where, zh=t("cell_unheaded", "zh", n=i + 1,
                                                     got=_got(cells[i]))))
    for i, header, path, kind, from_text in plan.columns:
        value = cells[i]
        if value is None or value == "":
            continue
        try:
            v = from_text(value) if value.__class__ is str else convert(kind, value)
        except CellError as e:
            problems.append(e.problem(f"{where} {header}"))
            continue
        if v is None:
            continue
        if len(path) == 1:
            record[path[0]] = v
        elif len(path) == 2:
            sub = record.get(path[0])
            if sub is None:
                sub = record[path[0]] = {}
            sub[path[1]] = v
        else:
            put(record, path, v)
    return record


def document_record(where: str, payload: Any, problems: list[Problem]) -> dict:
    """The record of a JSONL line (its text) or a JSON list item."""
    if isinstance(payload, str):
        try:
            payload = json.loads(payload)
        except json.JSONDecodeError as e:
            problems.append(Problem(t("row_json", "en", error=str(e)), path=where,
                                    zh=t("row_json", "zh", error=str(e))))
            return {}
    if not isinstance(payload, dict):
        problems.append(Problem(t("row_object", "en", got=type(payload).__name__), path=where,
                                zh=t("row_object", "zh", got=type(payload).__name__)))
        return {}
    return payload


def record_id(record: dict) -> str | None:
    """The household id a record gives under any spelling of the id column."""
    for key in ID_HEADERS:
        v = record.get(key)
        if v is not None:
            try:
                return convert("text", v)
            except CellError:
                return None
    return None


# -- child tables, indexed on disk ------------------------------------------------------------------

@attrs.frozen
class ChildTable:
    spec: ChildSpec
    source: str
    plan: Plan | None              # None: JSON documents (each item an object with the id)


class ChildIndex:
    """Rows of child tables by household id, in a SQLite file so that memory does not grow with
    them; each table's rows for a household come back in file order."""

    def __init__(self, path: pathlib.Path, tables: dict[str, ChildTable], readonly: bool = True) -> None:
        self.path = pathlib.Path(path)
        self.tables = tables
        uri = f"file:{self.path}?mode=ro" if readonly else f"file:{self.path}"
        self.db = sqlite3.connect(uri, uri=True, check_same_thread=False)

    @classmethod
    def build(cls, path: pathlib.Path, sources: list[tuple[ChildSpec, Table | Documents]],
              mapping_for: Any, ignore: Iterable[str] = ()) -> ChildIndex:
        """Index every row of every child table (header problems are raised, all at once)."""
        path = pathlib.Path(path)
        path.unlink(missing_ok=True)
        tables: dict[str, ChildTable] = {}
        problems: list[BatchError] = []
        for spec, src in sources:
            if spec.name in tables:
                problems.append(BatchError.of("child_twice_table", table=spec.name,
                                              first=tables[spec.name].source, second=src.name))
                continue
            plan = None
            if isinstance(src, Table):
                try:
                    plan = plan_table(mapping_for(spec), src.header, src.name, ignore)
                except BatchError as e:
                    problems.append(e)
                    continue
            tables[spec.name] = ChildTable(spec, src.name, plan)
        if problems:
            raise BatchError("\n".join(p.message for p in problems),
                             "\n".join(p.zh for p in problems))
        index = cls(path, tables, readonly=False)
        db = index.db
        db.execute("CREATE TABLE child (seq INTEGER PRIMARY KEY, tbl TEXT, hid TEXT, "
                   "line TEXT, cells BLOB)")
        for spec, src in sources:
            plan = tables[spec.name].plan
            batch = []
            for where, payload in src.rows():
                if payload is None:
                    continue
                if plan is not None:
                    raw = payload[plan.key] if plan.key is not None and plan.key < len(payload) else None
                else:
                    doc = document_record(where, payload, [])
                    raw = record_id(doc) if doc else None
                    payload = doc or payload
                try:
                    hid = convert("text", raw)
                except CellError:
                    hid = None
                batch.append((spec.name, hid, where, pickle.dumps(payload, protocol=5)))
                if len(batch) >= 5000:
                    db.executemany("INSERT INTO child (tbl, hid, line, cells) VALUES (?,?,?,?)", batch)
                    batch.clear()
            db.executemany("INSERT INTO child (tbl, hid, line, cells) VALUES (?,?,?,?)", batch)
        db.execute("CREATE INDEX child_by_household ON child (tbl, hid, seq)")
        db.commit()
        return index

    def rows(self, table: str, hid: str) -> list[tuple[str, Any]]:
        cur = self.db.execute("SELECT line, cells FROM child WHERE tbl = ? AND hid = ? ORDER BY seq",
                              (table, hid))
        return [(line, pickle.loads(cells)) for line, cells in cur]

    def unattached(self, ids: Iterable[str], limit: int = 10) -> dict[str, tuple[int, list[str]]]:
        """Child rows whose household id is not among `ids` (or that have none): per table, how
        many and where the first few are."""
        db = self.db
        db.execute("CREATE TEMP TABLE seen (hid TEXT PRIMARY KEY)")
        it = iter(ids)
        while True:
            batch = [(i,) for _, i in zip(range(10000), it)]
            if not batch:
                break
            db.executemany("INSERT OR IGNORE INTO seen VALUES (?)", batch)
        out = {}
        for name in self.tables:
            q = ("FROM child WHERE tbl = ? AND (hid IS NULL OR hid NOT IN (SELECT hid FROM seen))")
            n = db.execute(f"SELECT COUNT(*) {q}", (name,)).fetchone()[0]
            if n:
                lines = [f"{line} ({hid or '—'})" for line, hid in
                         db.execute(f"SELECT line, hid {q} ORDER BY seq LIMIT ?", (name, limit))]
                out[self.tables[name].source] = (n, lines)
        db.execute("DROP TABLE seen")
        return out

    def close(self) -> None:
        self.db.close()


def attach_children(record: dict, hid: str | None, index: ChildIndex | None,
                    problems: list[Problem]) -> dict[str, list[str]]:
    """Put each child table's rows for household `hid` into the record (converted like any row).
    Returns, per list path, where each item came from (to locate a record problem in its file)."""
    origins: dict[str, list[str]] = {}
    if index is None or hid is None:
        return origins
    for name, table in index.tables.items():
        rows = index.rows(name, hid)
        if not rows:
            continue
        path = table.spec.path
        if _get(record, path) is not None:
            problems.append(Problem(t("child_twice", "en", field=".".join(path), table=table.source),
                                    path=rows[0][0], zh=t("child_twice", "zh", field=".".join(path),
                                                          table=table.source)))
            continue
        items = []
        for where, payload in rows:
            if table.plan is None:
                item = {k: v for k, v in payload.items() if k not in ID_HEADERS}
            else:
                item = row_record(table.plan, where, payload, problems)
                item.pop("#household", None)
            items.append(item)
        put(record, path, items)
        origins[".".join(path)] = [w for w, _ in rows]
    return origins


def _get(record: dict, path: tuple[str, ...]) -> Any:
    d: Any = record
    for p in path:
        if not isinstance(d, dict):
            return None
        d = d.get(p)
    return d


def locate(message_path: str | None, origins: dict[str, list[str]]) -> str | None:
    """`members[2].age` -> `members[2].age (members.csv:9)` when that member came from a table."""
    if not message_path or not origins:
        return message_path
    m = re.match(r"^((?:[a-z_]+\.)*[a-z_]+)\[(\d+)\]", message_path)
    if m and m.group(1) in origins and int(m.group(2)) < len(origins[m.group(1)]):
        return f"{message_path} ({origins[m.group(1)][int(m.group(2))]})"
    return message_path


# -- the documented mapping -------------------------------------------------------------------------

def mapping_rows(mapping: Mapping) -> Iterator[tuple[str, str, str, str]]:
    """(field, kind, Chinese label, accepted headers) for every column of a mapping."""
    for target in mapping.fields:
        zh, _ = KIND_WORDS[target.kind]
        kind = zh + (f"：{'、'.join(M.ENUMS[target.enum].values())}" if target.enum else "")
        yield (target.name if target.name != "#household" else "（所属农户）", kind, target.label,
               " · ".join(mapping.spellings[target.name]))


def mapping_markdown(mapping: Mapping) -> str:
    lines = ["| 字段 field | 类型 kind | 中文名 label | 可用的表头 accepted headers |",
             "| --- | --- | --- | --- |"]
    for row in mapping_rows(mapping):
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in row) + " |")
    return "\n".join(lines) + "\n"
