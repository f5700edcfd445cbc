"""Flat records for packs that declare their own input facts (`facts:` in the pack).

The same promises as the household record: unknown keys are errors with a did-you-mean, values of
the wrong type are errors (a yes/no is not a number, text is not converted), every problem of a
record is reported at once, and a fact left out is unknown, never 0 or False.
"""
from __future__ import annotations

import datetime as dt
import difflib
import math
from collections.abc import Mapping
from typing import Any

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


def flat_env(facts: Mapping[str, dict], raw: Any) -> dict[str, Any]:
    """The facts of a flat record, checked against the pack's declarations."""
    if not isinstance(raw, Mapping):
        raise RecordError([Problem(f"a record must be an object (got {type(raw).__name__})",
                                   path="(record)")])
    problems: list[Problem] = []
    rid = raw.get("id")
    if not isinstance(rid, str) or not rid:
        problems.append(Problem(f"'id' is required and must be text (got {rid!r})", path="id"))
    env: dict[str, Any] = {}
    for key, value in raw.items():
        if key == "id":
            continue
        spec = facts.get(key)
        if spec is None:
            close = difflib.get_close_matches(str(key), list(facts), n=1)
            problems.append(Problem(f"{key!r} is not a fact of this pack"
                                    + (f" (did you mean {close[0]!r}?)" if close else "")
                                    + "; unknown fields are not ignored", path=str(key)))
            continue
        if value is None:
            continue
        kind = spec["type"]
        if not _CHECK[kind](value):
            problems.append(Problem(f"must be {_WORDS[kind]} (got {value!r}); no value is "
                                    f"converted silently", path=key))
            continue
        if isinstance(value, float) and not math.isfinite(value):
            problems.append(Problem(f"must be a finite number (got {value!r})", path=key))
            continue
        if kind == "date" and isinstance(value, str):
            try:
                value = dt.date.fromisoformat(value)
            except ValueError:
                problems.append(Problem(f"must be {_WORDS[kind]} (got {value!r})", path=key))
                continue
        if "minimum" in spec and kind in ("number", "integer") and value < spec["minimum"]:
            problems.append(Problem(f"must be at least {spec['minimum']} (got {value!r})", path=key))
            continue
        env[key] = value
    if problems:
        raise RecordError(problems, subject=f"record {rid!r}" if isinstance(rid, str) else "record",
                          record_id=rid if isinstance(rid, str) else None)
    return env
