"""The decision record: one household's decision with everything needed to read it later and to
evaluate it again. The shape is versioned and shipped as `decision_record.schema.json`.

A record is plain JSON data. It keeps the input as the engine read it, the pack's id, version and
file hash, the parameters that did not come from the pack (override files, call arguments), the
dates, each decision's answer, the whole trace and every rule's chain, so an auditor can read why
a household was (not) included without the pack that decided it, and `verify` can decide again.
"""
from __future__ import annotations

import copy
import datetime as dt
import functools
import hashlib
import json
import pathlib
import uuid
from collections.abc import Callable, Mapping
from importlib import resources
from typing import Any

import fastjsonschema
import jsonschema
import referencing

from rulekit.errors import AuditError, Problem
from rulekit.trace.result import Result, jsonable

RECORD_KIND = "rulekit-decision-record"
RECORD_SCHEMA_VERSION = "1"


def record_schema() -> dict:
    """The decision record's JSON Schema (draft 2020-12)."""
    return json.loads(resources.files("rulekit.audit").joinpath("decision_record.schema.json")
                      .read_text(encoding="utf-8"))


def _result_schema() -> dict:
    return json.loads(resources.files("rulekit.trace").joinpath("result.schema.json")
                      .read_text(encoding="utf-8"))


def canonical_json(data: Any) -> str:
    """JSON with sorted keys and no spaces: the form hashed by `input_sha256`."""
    return json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False)


def input_digest(data: Any) -> str:
    return hashlib.sha256(canonical_json(data).encode("utf-8")).hexdigest()


def make_record(result: Result, *, record_id: str | None = None,
                decided_at: dt.datetime | str | None = None) -> dict:
    """The decision record of an evaluation. `record_id` defaults to a new UUID and `decided_at`
    to now (UTC); give both to make the record reproducible byte for byte."""
    trace = result.to_dict()
    params = copy.deepcopy(trace["parameters"])   # the summary parts share nothing with the trace
    if decided_at is None:
        decided_at = dt.datetime.now(dt.UTC).replace(microsecond=0)
    if isinstance(decided_at, dt.datetime):
        decided_at = decided_at.isoformat()
    data = jsonable(result.record)
    return {
        "kind": RECORD_KIND,
        "schema_version": RECORD_SCHEMA_VERSION,
        "record_id": record_id or str(uuid.uuid4()),
        "decided_at": decided_at,
        "household_id": trace["record_id"],
        "input": data,
        "input_sha256": input_digest(data),
        "pack": copy.deepcopy(trace["pack"]),
        "parameter_overrides": {n: p for n, p in params.items()
                                if str(p.get("origin") or "").startswith("override:")},
        "arguments": {n: p["value"] for n, p in params.items() if p.get("origin") == "argument"},
        "engine_version": trace["engine_version"],
        "as_of": trace["as_of"],
        "reference_date": copy.deepcopy(trace["reference_date"]),
        "period": copy.deepcopy(trace["period"]),
        "decisions": {name: {"hit": d["hit"], "outcome": d["outcome"],
                             "outcomes": [o["id"] for o in d["outcomes"]], "status": d["status"],
                             "missing_facts": list(d["missing_facts"]), "review": list(d["review"])}
                      for name, d in trace["decisions"].items()},
        "fired": list(result.fired),
        "trace": trace,
        "rule_chains": {rid: result.rule(rid).to_dict() for rid in trace["rules"]},
    }


def is_record(data: Any) -> bool:
    """Whether `data` claims to be a decision record (as opposed to a household record)."""
    return isinstance(data, Mapping) and data.get("kind") == RECORD_KIND


# -- validation: fastjsonschema accepts valid records quickly; jsonschema says what is wrong ------------

def _draft7(schema: dict) -> dict:
    return {**schema, "$schema": "http://json-schema.org/draft-07/schema#"}


@functools.cache
def _fast() -> Callable[[Any], Any]:
    result = _draft7(_result_schema())
    return fastjsonschema.compile(_draft7(record_schema()), handlers={"https": lambda uri: result},
                                  formats={"date": r"^\d{4}-\d{2}-\d{2}$"})


@functools.cache
def _slow() -> jsonschema.protocols.Validator:
    result = _result_schema()
    registry = referencing.Registry().with_resource(
        result["$id"], referencing.Resource.from_contents(result))
    schema = record_schema()
    return jsonschema.Draft202012Validator(schema, registry=registry,
                                           format_checker=jsonschema.FormatChecker())


def record_problems(data: Any, where: str = "") -> list[Problem]:
    """Every way `data` is not a valid decision record (empty when it is one)."""
    prefix = f"{where} " if where else ""
    if not is_record(data):
        got = data.get("kind") if isinstance(data, Mapping) else type(data).__name__
        return [Problem(f"a decision record must have kind {RECORD_KIND!r} (got {got!r})",
                        path=f"{prefix}kind".strip())]
    if data.get("schema_version") != RECORD_SCHEMA_VERSION:
        return [Problem(f"this rulekit reads decision records of schema_version "
                        f"{RECORD_SCHEMA_VERSION!r} (got {data.get('schema_version')!r})",
                        path=f"{prefix}schema_version".strip())]
    try:
        _fast()(data)
        return []
    except fastjsonschema.JsonSchemaException:
        pass
    out = []
    for e in sorted(_slow().iter_errors(data), key=lambda e: list(map(str, e.absolute_path))):
        path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in e.absolute_path).lstrip(".")
        out.append(Problem(e.message if len(e.message) < 300 else e.message[:300] + " …",
                           path=f"{prefix}{path or '(record)'}"))
    return out or [Problem("is not a valid decision record", path=where or None)]


def check_record(data: Any, where: str = "") -> dict:
    """`data` if it is a valid decision record; otherwise AuditError listing every problem."""
    problems = record_problems(data, where)
    if problems:
        raise AuditError(problems, subject=where or "decision record")
    return dict(data)


def read_records(path: pathlib.Path | str) -> list[dict]:
    """The decision records in a JSON file (one record or a list), each checked."""
    path = pathlib.Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise AuditError([Problem(f"cannot read JSON: {e}", file=str(path))]) from None
    items = data if isinstance(data, list) else [data]
    problems = []
    for i, item in enumerate(items):
        problems += [Problem(p.message, file=str(path), path=p.path)
                     for p in record_problems(item, f"[{i}]" if isinstance(data, list) else "")]
    if problems:
        raise AuditError(problems, subject=str(path))
    return items
