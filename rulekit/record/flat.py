"""Facts a pack declares itself: whole flat records (`facts:`) and local facts (`local_facts:`)
that records give under `local:` (household) or `members[i].local`.

The same promises as the household record: unknown keys are errors with a did-you-mean, values of
the wrong type are errors (a yes/no is not a number, text is not converted), values outside the
declared list are errors, every problem of a record is reported at once, and a fact left out is
unknown, never 0 or False.
"""
from __future__ import annotations

import datetime as dt
import difflib
import math
import sys
from collections.abc import Callable, Mapping
from typing import Any

import attrs

from rulekit.errors import Problem, RecordError

_CHECK = {
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "bool": lambda v: isinstance(v, bool),
    "text": lambda v: isinstance(v, str),
    "date": lambda v: isinstance(v, (str, dt.date)),
}
_WORDS = {"number": "a number", "integer": "a whole number", "bool": "true or false",
          "text": "text", "date": "a date written YYYY-MM-DD"}


_FAST_TYPES = {"number": (int, float), "integer": (int,), "bool": (bool,), "text": (str,)}


INT_LIMIT = int(sys.float_info.max)       # an int beyond this cannot meet a float in arithmetic


def too_large(value: Any) -> Problem | None:
    """The problem of an integer no float can hold (10**400 made the arithmetic raise)."""
    if value.__class__ is int and not -INT_LIMIT <= value <= INT_LIMIT:
        return Problem(f"must be a number a float can hold, at most ±1.8e308 (got an integer of "
                       f"{len(str(abs(value)))} digits)")
    return None


def check_facts(facts: Mapping[str, dict], raw: Mapping[str, Any], prefix: str,
                problems: list[Problem], skip: tuple[str, ...] = ()) -> dict[str, Any]:
    """The values of `raw` checked against the declarations in `facts` (problems appended)."""
    out: dict[str, Any] = {}
    for key, value in raw.items():
        spec = facts.get(key)
        if spec is not None and value.__class__ in _FAST_TYPES.get(spec["type"], ()) \
                and not spec.get("values") and "minimum" not in spec \
                and (value.__class__ is not float or math.isfinite(value)) \
                and (value.__class__ is not int or -INT_LIMIT <= value <= INT_LIMIT):
            out[key] = value      # the common case: a plain value of the declared type
            continue
        if key in skip:
            continue
        path = f"{prefix}.{key}" if prefix else str(key)
        if spec is None:
            close = difflib.get_close_matches(str(key), list(facts), n=1)
            problems.append(Problem(f"{key!r} is not a fact this pack declares"
                                    + (f" (did you mean {close[0]!r}?)" if close else "")
                                    + "; unknown fields are not ignored", path=path))
            continue
        if value is None:
            continue
        kind = spec["type"]
        if not _CHECK[kind](value):
            problems.append(Problem(f"must be {_WORDS[kind]} (got {value!r}); no value is "
                                    f"converted silently", path=path))
            continue
        if isinstance(value, float) and not math.isfinite(value):
            problems.append(Problem(f"must be a finite number (got {value!r})", path=path))
            continue
        if (big := too_large(value)) is not None:
            problems.append(attrs.evolve(big, path=path))
            continue
        if kind == "date" and isinstance(value, str):
            try:
                value = dt.date.fromisoformat(value)
            except ValueError:
                problems.append(Problem(f"must be {_WORDS[kind]} (got {value!r})", path=path))
                continue
        if "minimum" in spec and kind in ("number", "integer") and value < spec["minimum"]:
            problems.append(Problem(f"must be at least {spec['minimum']} (got {value!r})", path=path))
            continue
        if spec.get("values") and value not in spec["values"]:
            problems.append(Problem(f"must be one of {'、'.join(spec['values'])} (got {value!r})",
                                    path=path))
            continue
        out[key] = value
    return out


def compile_checker(facts: Mapping[str, dict]) -> Callable[[Mapping[str, Any]], dict | None]:
    """A generated, straight-line check of a flat record for the common case (every key declared,
    every value a plain value of its declared type). It returns the facts, or None for anything
    unusual, which `flat_env` then examines field by field to report every problem."""
    lines = ["def check(raw):", "    env = {}", "    n = 1 if 'id' in raw else 0",
             "    rid = raw.get('id')",
             "    if rid.__class__ is not str or not rid: return None"]
    for name, spec in facts.items():
        kind = spec["type"]
        if spec.get("values") or kind == "date":
            lines.append(f"    if {name!r} in raw: return None")
            continue
        test = {"number": "(c is int and -L <= v <= L) or (c is float and v - v == 0)",
                "integer": "c is int and -L <= v <= L",
                "bool": "c is bool", "text": "c is str"}[kind]
        if "minimum" in spec and kind in ("number", "integer"):
            test = f"({test}) and v >= {float(spec['minimum'])!r}"
        lines += [f"    v = raw.get({name!r})",
                  "    if v is not None:",
                  "        c = v.__class__",
                  f"        if not ({test}): return None",
                  f"        env[{name!r}] = v",
                  "        n += 1",
                  f"    elif {name!r} in raw: n += 1"]
    lines.append("    return env if n == len(raw) else None")
    namespace: dict[str, Any] = {"__builtins__": {"len": len, "str": str, "int": int,
                                                  "float": float, "bool": bool}, "L": INT_LIMIT}
    exec(compile("\n".join(lines), "<rulekit flat facts check>", "exec"), namespace)
    return namespace["check"]


def flat_env(facts: Mapping[str, dict], raw: Any,
             fast: Callable[[Mapping[str, Any]], dict | None] | None = None) -> dict[str, Any]:
    """The facts of a flat record, checked against the pack's declarations."""
    if fast is not None and isinstance(raw, Mapping):
        env = fast(raw)
        if env is not None:
            return env
    if not isinstance(raw, Mapping):
        raise RecordError([Problem(f"a record must be an object (got {type(raw).__name__})",
                                   path="(record)")])
    problems: list[Problem] = []
    rid = raw.get("id")
    if not isinstance(rid, str) or not rid:
        problems.append(Problem(f"'id' is required and must be text (got {rid!r})", path="id"))
    env = check_facts(facts, raw, "", problems, skip=("id",))
    if problems:
        raise RecordError(problems, subject=f"record {rid!r}" if isinstance(rid, str) else "record",
                          record_id=rid if isinstance(rid, str) else None)
    return env


def apply_local_facts(local_facts: Mapping[str, dict], env: dict, members: list[dict],
                      record_id: str | None) -> None:
    """Move the record's `local:` values into the household and member facts, checked."""
    household = {n: f for n, f in local_facts.items() if f.get("per") != "members"}
    per_member = {n: f for n, f in local_facts.items() if f.get("per") == "members"}
    problems: list[Problem] = []
    env.update(check_facts(household, env.pop("local", None) or {}, "local", problems))
    for i, m in enumerate(members):
        m.update(check_facts(per_member, m.pop("local", None) or {}, f"members[{i}].local",
                             problems))
    if problems:
        raise RecordError(problems, subject=f"household {record_id!r}", record_id=record_id)
