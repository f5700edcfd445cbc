"""Household records: aliases -> canonical keys, JSON Schema validation, typed objects, facts.

The JSON Schema is generated from the attrs model (one source of truth) and shipped as
`household.schema.json`; a test keeps the shipped file equal to the generated one.
Validation collects every problem of a record before raising, each naming its JSON path.
"""
from __future__ import annotations

import datetime as dt
import difflib
import functools
import json
import math
from collections.abc import Callable, Iterator
from importlib import resources
from typing import Any

import attrs
import fastjsonschema
import jsonschema

from rulekit.errors import Problem, RecordError
from rulekit.record import model
from rulekit.record.flat import INT_LIMIT, too_large

SCHEMA_ID = "https://rulekit.example/schemas/household-1.json"
MAX_TEXT = 2000
MAX_ITEMS = 500


# -- schema generation -----------------------------------------------------------------------------

def _field_schema(f: attrs.Attribute) -> dict:
    meta = f.metadata
    if "section" in meta:
        return _class_schema(f.type if isinstance(f.type, type) else model.SECTIONS[f.name],
                             title=meta["section"])
    kind, enum = meta["kind"], meta.get("enum")
    title = meta["zh"] + (f" ({meta['code']})" if meta.get("code") else "")
    if kind == "local":
        return {"title": title, "type": "object", "maxProperties": 200,
                "description": "facts a pack declares in local_facts; checked against that pack",
                "additionalProperties": {"type": ["number", "boolean", "string", "null"]}}
    if kind == "list":
        if meta.get("item") is not None:
            items = _class_schema(meta["item"])
        else:
            items = {"type": "string", "enum": list(model.ENUMS[enum])}
        return {"title": title, "type": "array", "items": items, "maxItems": MAX_ITEMS}
    if enum:
        values = model.ENUMS[enum]
        return {"title": title, "type": "string", "enum": list(values),
                "description": "、".join(f"{code} = {zh}" for code, zh in values.items())}
    out: dict[str, Any] = {"title": title}
    if kind in (model.MONEY, model.NUMBER):
        out["type"] = "number"
    elif kind == model.COUNT:
        out["type"] = "integer"
    elif kind == model.BOOL:
        out["type"] = "boolean"
    elif kind == model.DATE:
        out.update(type="string", format="date", pattern=r"^\d{4}-\d{2}-\d{2}$")
    else:
        out.update(type="string", maxLength=MAX_TEXT)
    if meta.get("min") is not None:
        out["minimum"] = meta["min"]
    if meta.get("max") is not None:
        out["maximum"] = meta["max"]
    if kind == model.MONEY:
        out["description"] = "元/年（CN-4），不得为负数"
    return out


def _class_schema(cls: type, title: str | None = None) -> dict:
    props = {}
    required = []
    for f in attrs.fields(cls):
        schema = _field_schema(f)
        if f.metadata.get("kind") not in ("list", "local") and "section" not in f.metadata \
                and not f.metadata.get("required"):
            schema = {"anyOf": [schema, {"type": "null"}], "title": schema["title"]}
        props[f.name] = schema
        if f.metadata.get("required"):
            required.append(f.name)
    out: dict[str, Any] = {"type": "object", "properties": props, "additionalProperties": False}
    if title or cls.__doc__:
        out["title"] = title or cls.__doc__.splitlines()[0]
    if required:
        out["required"] = required
    return out


def household_schema() -> dict:
    """The JSON Schema of a household record (canonical field names)."""
    schema = _class_schema(model.Household, title="农户家庭信息 / household record")
    schema["properties"]["members"]["minItems"] = 1
    schema["properties"]["id"]["minLength"] = 1
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_ID, **schema}


def shipped_schema() -> dict:
    return json.loads(resources.files("rulekit.record").joinpath("household.schema.json")
                      .read_text(encoding="utf-8"))


@functools.cache
def _validator() -> jsonschema.protocols.Validator:
    return jsonschema.Draft202012Validator(household_schema())


@functools.cache
def _fast_validator() -> Callable[[Any], Any]:
    """The same schema compiled to Python by fastjsonschema: it accepts a valid record ~25x faster
    than jsonschema; a record it rejects goes to jsonschema, which reports every problem.
    (The schema uses only keywords that mean the same in draft 7 and 2020-12; a property test
    keeps the two validators in agreement.)"""
    schema = {**household_schema(), "$schema": "http://json-schema.org/draft-07/schema#"}
    return fastjsonschema.compile(schema, formats={"date": r"^\d{4}-\d{2}-\d{2}$"})


def schema_accepts(canonical: Any) -> bool:
    """Whether the fast validator accepts a canonical record (exposed for the agreement test)."""
    try:
        _fast_validator()(canonical)
    except fastjsonschema.JsonSchemaException:
        return False
    return True


# -- aliases ---------------------------------------------------------------------------------------

@functools.cache
def _aliases(cls: type) -> dict[str, str]:
    """Every accepted spelling of a field of `cls` -> its canonical name."""
    out: dict[str, str] = {}
    for f in attrs.fields(cls):
        out[f.name] = f.name
        for alias in (f.metadata.get("zh"), f.metadata.get("code"), f.metadata.get("section")):
            if alias:
                out[alias] = f.name
                out[alias.lower()] = f.name
                # labels are printed with units: accept them with or without the unit
                out[alias.split("（")[0]] = f.name
    return out


@functools.cache
def _section_fields() -> dict[str, tuple[str, str]]:
    """Fields of sections that a flat export may give at the top level: alias -> (section, name)."""
    out: dict[str, tuple[str, str]] = {}
    for section, cls in model.SECTIONS.items():
        for alias, name in _aliases(cls).items():
            out.setdefault(alias, (section, name))
    return out


def _suggest(key: str, choices: Iterator[str]) -> str:
    close = difflib.get_close_matches(key, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _path(parts: tuple) -> str:
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or "(record)"


def _enum_label(enum: str) -> str:
    return "、".join(f"{zh} ({code})" for code, zh in model.ENUMS[enum].items())


# -- normalisation: aliases, Chinese values, dates ------------------------------------------------

def _normalise_value(f: attrs.Attribute, value: Any, where: tuple,
                     problems: list[Problem]) -> Any:
    meta = f.metadata
    if "section" in meta:
        return _normalise_object(f.type if isinstance(f.type, type) else model.SECTIONS[f.name],
                                 value, where, problems)
    if value is None:
        return None
    kind, enum = meta["kind"], meta.get("enum")
    if kind == "local":
        if isinstance(value, dict):
            return {k: v.isoformat() if isinstance(v, dt.date) else v for k, v in value.items()}
        return value
    if kind == "list":
        if not isinstance(value, (list, tuple)):
            return value   # the schema reports the type
        if meta.get("item") is not None:
            return [_normalise_object(meta["item"], v, where + (i,), problems)
                    for i, v in enumerate(value)]
        return [_enum_code(enum, v) for v in value]
    if enum:
        return _enum_code(enum, value)
    if isinstance(value, float) and not math.isfinite(value):
        problems.append(Problem(f"must be a finite number (got {value!r})", path=_path(where)))
        return 0
    if (big := too_large(value)) is not None:
        problems.append(attrs.evolve(big, path=_path(where)))
        return 0
    if kind == model.DATE and isinstance(value, dt.date):
        return value.isoformat()
    if kind == model.DATE and isinstance(value, str):
        try:
            dt.date.fromisoformat(value)
        except ValueError:
            problems.append(Problem(f"must be a date written YYYY-MM-DD (got {value!r})",
                                    path=_path(where)))
    return value


def _enum_code(enum: str, value: Any) -> Any:
    if isinstance(value, str):
        values = model.ENUMS[enum]
        if value in values:
            return value
        for code, zh in values.items():
            if value == zh:
                return code
    return value


def _normalise_object(cls: type, raw: Any, where: tuple, problems: list[Problem]) -> Any:
    if not isinstance(raw, dict):
        return raw   # the schema reports the type
    aliases = _aliases(cls)
    own: dict[str, Any] = {}
    given_as: dict[str, str] = {}
    lifted: dict[str, dict[str, Any]] = {}
    for key, value in raw.items():
        if not isinstance(key, str):
            problems.append(Problem(f"field names must be text (got {key!r})", path=_path(where)))
            continue
        name = aliases.get(key) or aliases.get(key.strip().lower())
        if name is None and cls is model.Household:
            hit = _section_fields().get(key) or _section_fields().get(key.strip().lower())
            if hit:   # a flat export: a section's field given at the top level
                lifted.setdefault(hit[0], {})[key] = value
                continue
        if name is None:
            if key.upper() == "A26" or key.startswith("是否有家庭成员未参加"):
                problems.append(Problem(
                    "A26 is derived from the members' A17 (basic medical insurance) and must not be "
                    "entered; give basic_medical_insurance for each member instead",
                    path=_path(where + (key,))))
                continue
            problems.append(Problem(
                f"{key!r} is not a field of {cls.__name__}{_suggest(key, iter(aliases))}; "
                f"unknown fields are not ignored", path=_path(where + (key,))))
            continue
        if name in given_as:
            problems.append(Problem(
                f"{key!r} gives {name!r} a second time (already given as {given_as[name]!r}); "
                f"keep one of them", path=_path(where + (name,))))
            continue
        given_as[name] = key
        own[name] = value
    for section, extra in lifted.items():
        if own.get(section) is None:
            own[section] = extra
        elif isinstance(own[section], dict):
            own[section] = {**own[section], **extra}
    fields, plain = _field_table(cls)
    out = {}
    for name, value in own.items():
        if name in plain and (value.__class__ is not float or math.isfinite(value)) \
                and (value.__class__ is not int or -INT_LIMIT <= value <= INT_LIMIT):
            out[name] = value          # the common case: a plain value, nothing to map
        else:
            out[name] = _normalise_value(fields[name], value, where + (name,), problems)
    return out


@functools.cache
def _field_table(cls: type) -> tuple[dict[str, attrs.Attribute], frozenset[str]]:
    """A class's fields, and the names whose values pass through unchanged (numbers, yes/no and
    free text: no Chinese value to map, no date to read, no nested object)."""
    fields = attrs.fields_dict(cls)
    plain = frozenset(n for n, f in fields.items()
                      if "section" not in f.metadata and f.metadata.get("kind") in (
                          model.MONEY, model.NUMBER, model.COUNT, model.BOOL, model.TEXT)
                      and not f.metadata.get("enum"))
    return fields, plain


# -- jsonschema errors -> one sentence each --------------------------------------------------------

def _schema_problem(error: jsonschema.ValidationError) -> Problem:
    where = _path(tuple(error.absolute_path))
    v = error.validator
    got = error.instance
    if v == "anyOf" and error.context:
        # a nullable field: report the branch that is not "null"
        inner = [e for e in error.context if e.validator != "type" or e.validator_value != "null"]
        if inner:
            return _schema_problem(min(inner, key=lambda e: len(e.relative_schema_path)))
    if v == "required":
        missing = error.message.split("'")[1]
        return Problem(f"{missing!r} is required", path=where)
    if v == "enum":
        enum = next((k for k, vals in model.ENUMS.items() if list(vals) == list(error.validator_value)),
                    None)
        allowed = _enum_label(enum) if enum else ", ".join(map(repr, error.validator_value))
        return Problem(f"must be one of {allowed} (got {got!r})", path=where)
    if v == "type":
        want = {"number": "a number", "integer": "a whole number", "boolean": "true or false",
                "string": "text", "array": "a list", "object": "an object (key: value)"}
        wanted = error.validator_value
        names = " or ".join(want.get(t, t) for t in (wanted if isinstance(wanted, list) else [wanted])
                            if t != "null")
        return Problem(f"must be {names} (got {got!r}, {_type_name(got)}); no value is converted "
                       f"silently", path=where)
    if v in ("minimum", "maximum"):
        word = "at least" if v == "minimum" else "at most"
        return Problem(f"must be {word} {error.validator_value} (got {got!r})", path=where)
    if v == "minItems":
        return Problem(f"must have at least {error.validator_value} item(s) (got none)", path=where)
    if v in ("maxItems", "maxLength"):
        return Problem(f"is too long: at most {error.validator_value} allowed", path=where)
    if v == "pattern":
        return Problem(f"must be a date written YYYY-MM-DD (got {got!r})", path=where)
    if v == "additionalProperties":
        return Problem(error.message, path=where)
    return Problem(error.message, path=where)


def _type_name(value: Any) -> str:
    return {bool: "true/false", int: "a number", float: "a number", str: "text",
            list: "a list", dict: "an object", type(None): "null"}.get(type(value), type(value).__name__)


# -- public ----------------------------------------------------------------------------------------

class _NotPlain(Exception):
    """A value the quick copy leaves to the full normalisation."""


def _plain_copy(data: dict) -> dict:
    """A copy of a dict of JSON values, or _NotPlain when a value may be something the full
    normalisation changes or reports: a NaN or an infinity, an integer no float can hold, a text
    written like a date that is no date (2023-02-30), a date object, a tuple, a key that is not
    text."""
    out = {}
    for key, value in data.items():
        c = value.__class__
        if c is str:
            if len(value) == 10 and value[4] == "-" and value[7] == "-":
                try:
                    dt.date.fromisoformat(value)
                except ValueError:
                    raise _NotPlain from None
        elif c is float:
            if value - value != 0:
                raise _NotPlain
        elif c is int:
            if not -INT_LIMIT <= value <= INT_LIMIT:
                raise _NotPlain
        elif c is dict:
            value = _plain_copy(value)
        elif c is list:
            value = [_plain_copy(v) if v.__class__ is dict else _plain_copy({"": v})[""] for v in value]
        elif c is not bool and value is not None:
            raise _NotPlain
        if key.__class__ is not str:
            raise _NotPlain
        out[key] = value
    return out


def _already_canonical(raw: dict) -> dict | None:
    """The record itself (copied) when it is already canonical and valid, as records built from
    a table's columns (batch/columns.py) and JSON written by other systems usually are: the
    schema accepts it as it is, and nothing in it is what the full normalisation changes or
    reports (see _plain_copy). Then normalise(raw) would return an equal dict; this takes a
    quarter of the time. Else None."""
    try:
        _fast_validator()(raw)
        copy = _plain_copy(raw)
    except (fastjsonschema.JsonSchemaException, _NotPlain):
        return None
    return None if _semantic_problems(copy) else copy


def normalise(raw: Any) -> dict:
    """Canonical, validated dict of a record; raises RecordError listing every problem."""
    if raw.__class__ is dict and (canonical := _already_canonical(raw)) is not None:
        return canonical
    return _normalise_full(raw)


def _normalise_full(raw: Any) -> dict:
    """normalise, every step: aliases, Chinese values, dates, then the schema, reporting all."""
    problems: list[Problem] = []
    if not isinstance(raw, dict):
        raise RecordError([Problem(f"a household record must be an object (got {_type_name(raw)})",
                                   path="(record)")])
    canonical = _normalise_object(model.Household, raw, (), problems)
    if problems or not schema_accepts(canonical):
        seen = {p.path for p in problems}
        for error in _validator().iter_errors(canonical):
            problem = _schema_problem(error)
            if problem.path not in seen:
                problems.append(problem)
                seen.add(problem.path)
    problems.extend(_semantic_problems(canonical))
    record_id = raw.get("id") if isinstance(raw.get("id"), str) else None
    if problems:
        raise RecordError(problems, subject=f"household {record_id!r}" if record_id else "record",
                          record_id=record_id)
    return canonical


def _semantic_problems(rec: dict) -> list[Problem]:
    """Checks the schema cannot express: facts that contradict each other."""
    out = []
    members = rec.get("members")
    for i, m in enumerate(members if isinstance(members, list) else []):   # else: the schema says
        if not isinstance(m, dict):
            continue
        if m.get("age") is not None and isinstance(m.get("birth_date"), str):
            out.append(Problem("give either birth_date or age, not both (the engine takes age at "
                               "the reference date from birth_date)", path=f"members[{i}].age"))
    return out


def parse_household(raw: Any) -> model.Household:
    """A typed `Household` from a JSON-shaped dict (aliases and Chinese values accepted)."""
    return _structure(model.Household, normalise(raw))


def _structure(cls: type, data: dict) -> Any:
    kwargs = {}
    for f in attrs.fields(cls):
        if f.name not in data:
            continue
        value = data[f.name]
        meta = f.metadata
        if "section" in meta:
            value = _structure(model.SECTIONS[f.name], value or {})
        elif value is not None and meta["kind"] == "list":
            value = tuple(_structure(meta["item"], v) if meta.get("item") else v for v in value)
        elif value is not None and meta["kind"] == model.DATE:
            value = dt.date.fromisoformat(value)
        kwargs[f.name] = value
    return cls(**kwargs)


def to_canonical(household: model.Household) -> dict:
    """The canonical dict of a typed household (the inverse of `parse_household`)."""
    def conv(obj: Any) -> Any:
        if attrs.has(type(obj)):
            return {k: conv(v) for k, v in attrs.asdict(obj, recurse=False).items() if v is not None}
        if isinstance(obj, (list, tuple)):
            return [conv(v) for v in obj]
        if isinstance(obj, dt.date):
            return obj.isoformat()
        return obj
    return conv(household)


if __name__ == "__main__":   # regenerate the shipped schema: python -m rulekit.record.schema
    target = resources.files("rulekit.record").joinpath("household.schema.json")
    pathlib_target = __import__("pathlib").Path(str(target))
    pathlib_target.write_text(json.dumps(household_schema(), ensure_ascii=False, indent=1) + "\n",
                              encoding="utf-8")
    print(f"wrote {pathlib_target}")
