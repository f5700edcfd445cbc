"""object_memory reads records' values from CPython's memory exactly as the plain way would, and
declines, for the whole batch, anything it does not handle."""
from __future__ import annotations

import json
import math
import os
import platform
import subprocess
import sys
import sysconfig

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rulekit.engine import object_memory
from rulekit.engine.object_memory import read_records

pytestmark = pytest.mark.skipif(
    platform.python_implementation() != "CPython" or bool(sysconfig.get_config_var("Py_GIL_DISABLED")),
    reason="object memory is read on CPython's default build only")

NAMES = ["id", "wage", "size", "weak", "dibao"]
KINDS = ["text", "number", "integer", "bool", "number"]


def _plain(records: list[dict], names=NAMES, kinds=KINDS) -> list | None:
    """What read_records must give, computed the plain way; None where it must decline."""
    allowed = {"text": {str}, "number": {int, float}, "integer": {int}, "bool": {bool}}
    if any(type(r) is not dict or list(r) != list(records[0]) or sorted(r) != sorted(names)
           for r in records):
        return None
    columns = []
    for name, kind in zip(names, kinds):
        values = [r[name] for r in records]
        if any(type(v) not in allowed[kind] or type(v) is int and abs(v) >= 2**30 for v in values):
            return None
        columns.append(None if kind == "text" else np.array(values, dtype=bool if kind == "bool" else float))
    return columns


def _same(got: list | None, want: list | None) -> bool:
    if got is None or want is None:
        return got is want
    return all(g is w is None or g.dtype == w.dtype and np.array_equal(g, w, equal_nan=True)
               and [math.copysign(1, x) for x in g.tolist()] == [math.copysign(1, x) for x in w.tolist()]
               for g, w in zip(got, want))


def test_the_layout_is_confirmed_here() -> None:
    """On this interpreter the layout check passes, so the fast way is really taken."""
    assert object_memory._memory() is not None


def test_values_come_back_as_they_were() -> None:
    records = [{"id": "户1", "wage": 1234.5, "size": 3, "weak": True, "dibao": 3600},
               {"id": "户2", "wage": -0.0, "size": 2**30 - 1, "weak": False, "dibao": 0.25},
               {"id": "户3", "wage": float("nan"), "size": -7, "weak": True, "dibao": -(2**30 - 1)}]
    got = read_records(records, NAMES, KINDS)
    assert got[0] is None
    assert got[1].tolist()[:2] == [1234.5, -0.0] and math.copysign(1, got[1][1]) == -1
    assert math.isnan(got[1][2])            # NaN is read as it is; the columnar path's check refuses it
    assert got[2].tolist() == [3, 2**30 - 1, -7]
    assert got[3].dtype == bool and got[3].tolist() == [True, False, True]
    assert got[4].tolist() == [3600, 0.25, -(2**30 - 1)]


def test_records_from_json_share_their_keys() -> None:
    """json.loads shares key objects within one document, so a JSON list is read the fast way."""
    text = json.dumps([{"id": f"H{i}", "wage": i * 1.5, "size": i % 7 + 1, "weak": i % 2 == 0,
                        "dibao": i} for i in range(5000)])
    records = json.loads(text)
    assert _same(read_records(records, NAMES, KINDS), _plain(records))
    assert read_records(records, NAMES, KINDS) is not None


def _record(**changes) -> dict:
    base = {"id": "户", "wage": 1.5, "size": 2, "weak": False, "dibao": 0}
    base.update(changes)
    return base


class _Dict(dict):
    pass


def _deleted() -> dict:
    r = _record(extra=1)
    del r["extra"]
    return r


def _reordered() -> dict:
    r = _record()
    return {k: r[k] for k in reversed(list(r))}


def _other_key_objects() -> dict:
    return {"".join(list(k)): v for k, v in _record().items()}


@pytest.mark.parametrize("odd", [
    _record(size=2**30), _record(size=-(2**30)), _record(dibao=10**400), _record(size=2.0),
    _record(wage=True), _record(weak=1), _record(weak=None), _record(id=7), _record(wage="1.5"),
    _record(wage=np.float64(1.5)), _record(size=np.int64(2)), _record(extra=1), _deleted(),
    _reordered(), _other_key_objects(), _Dict(_record()), {k: v for k, v in _record().items() if k != "weak"},
], ids=["int 2**30", "int -2**30", "10**400", "2.0 as a count", "yes/no as money", "1 as yes/no",
        "None", "number id", "text as money", "numpy float", "numpy int", "extra key", "deleted key",
        "other key order", "equal but other key objects", "dict subclass", "missing key"])
def test_anything_else_declines_the_whole_batch(odd) -> None:
    """One record it does not handle, anywhere in the batch, and the batch is left to the plain way."""
    records = [_record() for _ in range(3000)]
    records[2500] = odd
    assert read_records(records, NAMES, KINDS) is None


_VALUE = st.one_of(st.integers(-(2**31), 2**31), st.floats(allow_nan=True), st.booleans(),
                   st.none(), st.text(max_size=2), st.sampled_from([2**30, 10**400, 2**62]))


@settings(max_examples=150, deadline=None)
@given(st.lists(st.fixed_dictionaries({name: _VALUE for name in NAMES[1:]}), min_size=1, max_size=30),
       st.booleans())
def test_equal_to_the_plain_way(rows, plain_values) -> None:
    """Whatever the values, read_records gives what the plain way gives, or declines; it never
    declines records the plain way reads without question."""
    records = [{"id": f"H{i}", **row} for i, row in enumerate(rows)]
    if plain_values:
        for r in records:
            r.update(wage=float(len(r["id"])), size=3, weak=True, dibao=-5)
    want = _plain(records)
    got = read_records(records, NAMES, KINDS)
    assert _same(got, want), (got, want)


def test_switched_off_by_the_environment() -> None:
    """RULEKIT_OBJECT_MEMORY=0 makes every caller take the plain way."""
    code = ("from rulekit.engine.object_memory import read_records; "
            "print(read_records([{'a': 1.5}], ['a'], ['number']))")
    env = {**os.environ, "RULEKIT_OBJECT_MEMORY": "0"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "None"


def test_a_first_record_with_keys_that_are_not_text_is_declined() -> None:
    """Keys of mixed types cannot even be sorted; the batch is simply left to the plain way."""
    assert read_records([{1: "x", "id": "户"}], ["id", "wage"], ["text", "number"]) is None
