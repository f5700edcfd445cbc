"""A pack's own test cases: YAML files under policies/<pack>/tests/, run by pytest and by staff.

A case starts from a named base record (or a full record), changes a few fields by path, and
states what the pack must say: outcomes, statuses, which rules hold, values, missing facts.
Paths look like `income.other_transfer` or `members[0].health`; keys may be aliases. Inside a
YAML flow collection ([...] or {...}) quote a path with brackets: `unset: ["members[2]"]`.
"""
from __future__ import annotations

import copy
import datetime as dt
import math
import pathlib
import re
from collections.abc import Iterator
from typing import Any

import attrs

from rulekit.engine.pack import Pack
from rulekit.errors import EvaluationError, PackError, Problem, RecordError
from rulekit.expr.values import Unknown
from rulekit.pack.loader import load_yaml
from rulekit.trace.result import jsonable

CASE_KEYS = {"id", "title", "cites", "base", "record", "set", "unset", "as_of", "parameters",
             "expect", "note"}
EXPECT_KEYS = {"decisions", "fired", "not_fired", "unknown", "overridden", "values",
               "record_error", "evaluation_error"}
_STEP = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


@attrs.frozen
class Case:
    id: str
    file: str
    line: int | None
    data: dict
    record: dict


def _parse_path(path: str) -> list[str | int]:
    return [int(i) if i else k for k, i in _STEP.findall(path)]


def set_path(record: dict, path: str, value: Any) -> None:
    steps = _parse_path(path)
    node: Any = record
    for step, nxt in zip(steps, steps[1:]):
        if isinstance(step, int):
            node = node[step]
        else:
            if node.get(step) is None:
                node[step] = [] if isinstance(nxt, int) else {}
            node = node[step]
    last = steps[-1]
    if isinstance(last, int):
        while len(node) <= last:
            node.append({})
        node[last] = value
    else:
        node[last] = value


def unset_path(record: dict, path: str) -> None:
    steps = _parse_path(path)
    node: Any = record
    for step in steps[:-1]:
        node = node[step]
    if isinstance(steps[-1], int):
        del node[steps[-1]]
    else:
        node.pop(steps[-1], None)


def _dates(v: Any) -> Any:
    if isinstance(v, dict):
        return {k: _dates(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_dates(x) for x in v]
    return v.isoformat() if isinstance(v, dt.date) else v


def load_cases(tests_dir: pathlib.Path) -> list[Case]:
    """Every case in every YAML file of `tests_dir`; bases may live in any of those files."""
    docs = [load_yaml(p) for p in sorted(tests_dir.glob("*.yaml"))]
    bases: dict[str, dict] = {}
    problems: list[Problem] = []
    for doc in docs:
        for name, rec in ((doc.data or {}).get("bases") or {}).items():
            if name in bases:
                problems.append(doc.problem(("bases", name), f"base {name!r} is defined twice"))
            bases[name] = _dates(rec)
    cases: list[Case] = []
    seen: set[str] = set()
    for doc in docs:
        for i, c in enumerate((doc.data or {}).get("cases") or []):
            where = ("cases", i)
            if not isinstance(c, dict) or "id" not in c:
                problems.append(doc.problem(where, "a case needs an 'id'"))
                continue
            extra = set(c) - CASE_KEYS
            if extra:
                problems.append(doc.problem(where + (sorted(extra)[0],),
                                            f"unknown case key {sorted(extra)[0]!r}; allowed: "
                                            f"{', '.join(sorted(CASE_KEYS))}"))
            extra = set(c.get("expect") or {}) - EXPECT_KEYS
            if extra:
                problems.append(doc.problem(where + ("expect",),
                                            f"unknown expect key {sorted(extra)[0]!r}; allowed: "
                                            f"{', '.join(sorted(EXPECT_KEYS))}"))
            if not c.get("cites"):
                problems.append(doc.problem(where, f"case {c['id']!r} must name the catalogue "
                                                   f"ids it exercises in 'cites'"))
            if c["id"] in seen:
                problems.append(doc.problem(where, f"case id {c['id']!r} is used twice"))
            seen.add(c["id"])
            if "record" in c:
                record = copy.deepcopy(_dates(c["record"]))
            elif c.get("base") in bases:
                record = copy.deepcopy(bases[c["base"]])
            else:
                problems.append(doc.problem(where, f"case {c['id']!r} needs 'record' or a known "
                                                   f"'base' (got {c.get('base')!r}; bases: "
                                                   f"{', '.join(bases)})"))
                continue
            try:
                for path, value in (c.get("set") or {}).items():
                    set_path(record, path, _dates(value))
                for path in c.get("unset") or []:
                    unset_path(record, path)
            except (KeyError, IndexError, TypeError) as e:
                problems.append(doc.problem(where, f"case {c['id']!r}: cannot apply set/unset "
                                                   f"({e})"))
                continue
            line, _ = doc.mark(where)
            cases.append(Case(c["id"], doc.file, line, c, record))
    if problems:
        raise PackError(problems)
    return cases


def _same(expected: Any, actual: Any) -> bool:
    if isinstance(expected, float) or isinstance(actual, float):
        try:
            return math.isclose(float(expected), float(actual), rel_tol=1e-9, abs_tol=1e-6)
        except (TypeError, ValueError):
            return False
    if isinstance(expected, dt.date):
        expected = expected.isoformat()
    return expected == actual


def run_case(pack: Pack, case: Case) -> list[str]:
    """What differs between the case's expectations and the pack's answer (empty: it passes)."""
    c = case.data
    expect = c.get("expect") or {}
    try:
        result = pack.evaluate(case.record, as_of=c.get("as_of"), parameters=c.get("parameters"))
    except RecordError as e:
        want = expect.get("record_error")
        if want and want in str(e):
            return []
        return [f"record error: {e}" if not want else f"expected record error containing "
                f"{want!r}, got: {e}"]
    except EvaluationError as e:
        want = expect.get("evaluation_error")
        if want and want in str(e):
            return []
        return [f"evaluation error: {e}"]
    if "record_error" in expect or "evaluation_error" in expect:
        return ["expected an error, but the record was evaluated"]
    out: list[str] = []
    for name, want in (expect.get("decisions") or {}).items():
        out += _check_decision(result, name, want)
    for status in ("fired", "not_fired", "unknown", "overridden"):
        for rid in expect.get(status) or []:
            got = result._rule_status(rid) if rid in pack.spec.rules else None
            if got is None:
                out.append(f"{status}: the pack has no rule {rid!r}")
            elif got != status:
                out.append(f"rule {rid}: expected {status}, got {got} "
                           f"({_brief(result.rule(rid))})")
    for name, want in (expect.get("values") or {}).items():
        got = result.value(name)
        if got.__class__ is Unknown:
            if want != "unknown":
                out.append(f"value {name}: expected {want!r}, got unknown "
                           f"(missing {', '.join(sorted(got.missing))})")
        elif not _same(want, jsonable(got)):
            out.append(f"value {name}: expected {want!r}, got {jsonable(got)!r}")
    return out


def _brief(reason: Any) -> str:
    parts = []
    for r in reason.inputs:
        parts.append(f"{r.name}={jsonable(r.value)!r}")
    return f"{reason.expression}: " + ", ".join(parts[:6])


def _check_decision(result: Any, name: str, want: Any) -> list[str]:
    try:
        d = result.decision(name)
    except KeyError as e:
        return [str(e)]
    if isinstance(want, str):
        want = {"outcome": want}
    elif isinstance(want, list):
        want = {"outcomes": want}
    out = []
    if "outcome" in want and d.outcome != want["outcome"]:
        out.append(f"decision {name}: expected outcome {want['outcome']!r}, got {d.outcome!r} "
                   f"({d.status}; missing {', '.join(d.missing_facts) or '-'}; "
                   f"tried before: {', '.join(i for i, _ in d.not_matched) or '-'})")
        out += _divergence(result, name, want["outcome"], d.outcome)
    if "outcomes" in want and sorted(i for i, _ in d.outcomes) != sorted(want["outcomes"]):
        out.append(f"decision {name}: expected outcomes {sorted(want['outcomes'])}, got "
                   f"{sorted(i for i, _ in d.outcomes)} ({d.status}; pending "
                   f"{', '.join(i for i, _ in d.pending) or '-'})")
    if "status" in want and d.status != want["status"]:
        out.append(f"decision {name}: expected status {want['status']!r}, got {d.status!r}")
    for fact in want.get("missing", []):
        if fact not in d.missing_facts:
            out.append(f"decision {name}: expected {fact!r} among the missing facts, got "
                       f"{list(d.missing_facts)}")
    return out


def _divergence(result: Any, decision: str, expected: str, actual: str | None) -> list[str]:
    """Where the trace departs from the expectation: the expected outcome's condition with the
    values it read, and the condition of the outcome that was chosen instead."""
    node = next(n for n in result.pack.compiled.nodes if n.name == decision)
    exprs = dict(node.outcomes)
    lines = []
    for oid, word in ((expected, "expected"), (actual, "chosen")):
        expr = exprs.get(oid) if oid else None
        if expr is None:
            continue
        value = expr(result.values())
        shown = "unknown" if value.__class__ is Unknown else value
        reads = ", ".join(f"{r.name}={_short(r)}" for r in result._inputs(expr, set()))
        lines.append(f"    {word} {oid}: {expr.source} -> {shown}  [{reads}]")
    return lines


def _short(r: Any) -> str:
    if r.kind in ("rule", "group", "override"):
        return r.status or "?"
    v = jsonable(r.value)
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, (list, dict)):
        return "[...]"
    return repr(v)


def iter_pack_cases(pack_dir: pathlib.Path) -> Iterator[Case]:
    tests = pack_dir / "tests"
    if tests.is_dir():
        yield from load_cases(tests)
