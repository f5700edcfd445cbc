"""Reading the values of many records at once from CPython's object memory, for the columnar path.

Why: deciding a list of household dicts with the columnar path is mostly not deciding. Each of a
household's ~44 values must be looked up, its type looked at (a yes/no in a money column is an
error, not a 1) and converted to a float; done with Python calls that is ~2 µs per household, half
of what a hand-written function takes to decide it. numpy can do the same work at C speed if it
is given the objects' addresses: a dict keeps its keys and values in insertion order in one array,
every object keeps a pointer to its type, a float keeps its value and a small int its one 30-bit
digit, each at a fixed offset. `read_records` gathers those words for a whole batch with numpy
fancy indexing over a read-only view of the address space.

Safety, by construction rather than by care:
- It only reads, and only memory of objects the caller holds for the whole call: the dicts it
  passed (each first checked, from its header, to be exactly a dict with no deleted entry, text
  keys and the expected number of them) and the objects those dicts hold. A value's payload is
  read only after its type pointer says it is exactly a float or exactly an int; True and False
  are recognised by address alone.
- A dict is read only when its keys are the very key objects of the first record, in the same
  order (Python interns the keys written in code; json.loads shares them within one document):
  no key is compared by value, so nothing can be read under the wrong name.
- The layout is taken from the interpreter (`__basicsize__`) and CPython's dict structure, and
  confirmed on known objects when first needed. On any other interpreter (PyPy, free-threaded
  CPython, a 32-bit or big-endian machine) or layout, or with RULEKIT_OBJECT_MEMORY=0 in the
  environment, `read_records` returns None and callers read the values the plain way.
- Anything it does not handle (a subclass, text in a number column, None, an int of 2**30 or
  more, a record with other keys) makes it return None for the whole batch: the caller then reads
  the batch the plain way, so a result never depends on which way was taken. A property test
  keeps the two equal.
"""
from __future__ import annotations

import functools
import os
import platform
import struct
import sys
import sysconfig
from collections.abc import Sequence
from typing import Any

import attrs

CHUNK = 1024           # rows per gather: the gathered words stay in the CPU caches
_BASE = 8              # the view starts at address 8, not at the null address
_WORDS = 1 << 53       # 2**56 bytes: every user-space address on x86-64 and arm64


@attrs.frozen
class Layout:
    """Where this interpreter keeps what `read_records` reads, as byte offsets into an object."""
    type_at: int            # the type pointer, in every object
    dict_used_at: int       # a dict's number of keys
    dict_keys_at: int       # a dict's keys object (ma_keys)
    dict_split_at: int      # a split dict's values array (ma_values), null for a plain dict
    keys_shape_at: int      # a keys object's log2 size, log2 index bytes, kind: one byte each
    keys_entries_at: int    # a keys object's number of entries, deleted ones included
    keys_indices_at: int    # its index table, then its entries (key, value) for text keys
    float_value_at: int     # a float's double
    int_size_at: int        # an int's digit count and sign (3.11) or tag (3.12 on)
    int_digit_at: int       # an int's lowest 30-bit digit
    int_tagged: bool        # 3.12 on: size word = digits << 3 | sign (0 positive, 1 zero, 2 negative)


def _view(typestr: str, itemsize: int) -> Any:
    """A read-only numpy view of the address space, in items of `itemsize` bytes from _BASE."""
    import numpy as np

    class _Memory:
        __array_interface__ = {"data": (_BASE, True), "shape": (_WORDS * 8 // itemsize,),
                               "typestr": typestr, "version": 3}
    return np.asarray(_Memory())


@functools.cache
def _memory() -> tuple[Layout, Any, Any, Any] | None:
    """This interpreter's layout and the views to read it with, or None when it cannot be used."""
    if os.environ.get("RULEKIT_OBJECT_MEMORY", "1") == "0":
        return None
    if platform.python_implementation() != "CPython" or sysconfig.get_config_var("Py_GIL_DISABLED") \
            or struct.calcsize("P") != 8 or sys.int_info.bits_per_digit != 30 \
            or sys.byteorder != "little" or dict.__basicsize__ != 48:
        return None
    layout = Layout(type_at=8, dict_used_at=16, dict_keys_at=32, dict_split_at=40, keys_shape_at=8,
                    keys_entries_at=24, keys_indices_at=32,
                    float_value_at=float.__basicsize__ - 8, int_size_at=int.__basicsize__ - 8,
                    int_digit_at=int.__basicsize__, int_tagged=sys.version_info >= (3, 12))
    words, floats, digits = _view("=i8", 8), _view("=f8", 8), _view("=u4", 4)
    return (layout, words, floats, digits) if _confirmed(layout, words, floats, digits) else None


_SAMPLES = (0, 1, -1, 7, 256, 257, -6, 1000, -1000, 2**30 - 1, -(2**30 - 1), 0.0, -0.0, 1.5,
            -2.25e300, float("inf"), True, False, "户", None)
_REFUSED = ((2**30, "integer"), (-(2**30), "integer"), (2**62, "number"), (1.5, "integer"),
            (True, "number"), (1, "bool"), (None, "number"), ("1", "number"), (b"x", "text"))


class _Subclass(dict):
    """A dict subclass, which the layout check expects to be refused."""


def _confirmed(layout: Layout, words: Any, floats: Any, digits: Any) -> bool:
    """True when reading known objects the way read_records does gives back what they are, and
    what it must refuse is refused."""
    import json

    import numpy as np
    memory = (layout, words, floats, digits)
    names = [f"k{j}" for j in range(len(_SAMPLES))]
    try:
        out = np.empty((len(names), 1))
        items = _items(layout, words, [dict(zip(names, _SAMPLES))], np.array(list(map(id, names))),
                       np.arange(len(names)))
        types = words[(items + layout.type_at - _BASE) >> 3]
        _values(*memory, items, ["number"] * len(names), out, relaxed=True)
        if list(map(int, types[:, 0])) != [id(type(v)) for v in _SAMPLES]:
            return False
        for got, want in zip(out[:, 0], _SAMPLES):
            if type(want) in (int, float) and repr(float(got)) != repr(float(want)):
                return False
        kinds = ["text", "number", "integer", "bool", "bool"]
        given = json.loads('[{"id": "户", "a": -1.5, "b": 42, "c": true, "d": false},'
                           ' {"id": "x", "a": 2.5, "b": 1, "c": false, "d": true}]')
        read = read_records(given, ["id", "a", "b", "c", "d"], kinds, memory)
        if read is None or [list(c) for c in read[1:]] != [[-1.5, 2.5], [42, 1], [1, 0], [0, 1]]:
            return False
        deleted = {"id": "x", "a": 1.0, "b": 1, "c": True, "gone": 1, "d": False}
        del deleted["gone"]
        renamed = {("".join(["i", "d"]) if k == "id" else k): v for k, v in given[0].items()}
        others = (deleted, _Subclass(given[0]), {**given[0], "e": 1}, renamed)
        return all(read_records([given[0], other], ["id", "a", "b", "c", "d"], kinds, memory) is None
                   for other in others) \
            and all(read_records([{"v": value}], ["v"], [kind], memory) is None for value, kind in _REFUSED)
    except (IndexError, ValueError, TypeError, OverflowError):
        return False


def read_records(records: Sequence[Any], names: Sequence[str], kinds: Sequence[str],
                 memory: Any = None) -> list[Any] | None:
    """One column per name, read from `records` (dicts with exactly those keys): float64 for a
    "number" or "integer" name, bool for "bool", None for "text" (only checked to be str).

    Returns None, and the caller reads the records the plain way, when this interpreter's memory
    cannot be read (see the module docstring) or any record or value is not what this way
    handles: exactly a dict whose keys are the first record's key objects in the same order;
    exactly a float or an int below 2**30 in size for "number", such an int for "integer", True
    or False for "bool", exactly a str for "text". NaN, infinities and minimums are the caller's
    to check, as they are for any column."""
    memory = memory or _memory()
    if memory is None or not records or type(records[0]) is not dict \
            or records[0].keys() != set(names) or len(names) != len(kinds):
        return None
    import numpy as np
    layout, words = memory[0], memory[1]
    keys = list(records[0])
    key_ids = np.array([id(k) for k in keys], dtype=np.int64)
    order = np.array([keys.index(name) for name in names])
    n = len(records)
    values = np.empty((len(names), n))
    for start in range(0, n, CHUNK):
        items = _items(layout, words, records[start:start + CHUNK], key_ids, order)
        if items is None or not _values(*memory, items, kinds, values[:, start:start + CHUNK]):
            return None
    return [None if kind == "text" else values[j] if kind != "bool" else values[j] != 0
            for j, kind in enumerate(kinds)]


def _items(layout: Layout, words: Any, records: Sequence[Any], key_ids: Any, order: Any) -> Any:
    """The value pointers of a few thousand dicts (one row per name, in `order`), or None when a
    record is not exactly a dict holding the keys `key_ids` in that order and nothing else."""
    import numpy as np

    def word(addresses: Any) -> Any:
        return words[(addresses - _BASE) >> 3]

    width = len(key_ids)
    at = np.fromiter(map(id, records), dtype=np.int64, count=len(records))
    if not (word(at + layout.type_at) == id(dict)).all():
        return None                                  # not all dicts: read nothing more
    if not ((word(at + layout.dict_used_at) == width) & (word(at + layout.dict_split_at) == 0)).all():
        return None
    keys = word(at + layout.dict_keys_at)
    shape = word(keys + layout.keys_shape_at)
    if not ((((shape >> 16) & 0xFF) == 1) & (word(keys + layout.keys_entries_at) == width)).all():
        return None                                  # keys not all text, or an entry deleted
    entries = (keys + layout.keys_indices_at + (1 << ((shape >> 8) & 0xFF)) - _BASE) >> 3
    if not (words[entries[:, None] + 2 * np.arange(width)] == key_ids).all():
        return None
    return words[entries[None, :] + (2 * order + 1)[:, None]]


def _runs(kinds: Sequence[str]) -> list[tuple[str, slice]]:
    """Consecutive positions of one kind, so each is checked and read as one block."""
    runs: list[tuple[str, slice]] = []
    for j, kind in enumerate(kinds):
        if runs and runs[-1][0] == kind:
            runs[-1] = (kind, slice(runs[-1][1].start, j + 1))
        else:
            runs.append((kind, slice(j, j + 1)))
    return runs


def _values(layout: Layout, words: Any, floats: Any, digits: Any, items: Any, kinds: Sequence[str],
            out: Any, relaxed: bool = False) -> bool:
    """Write the values of the objects at `items` (one row per name) into `out` (float64; bools
    as 0/1); False when a value is not what read_records handles. `relaxed` (the layout check
    only) writes 0 where a value is not a number it reads, and goes on."""
    types = words[(items + layout.type_at - _BASE) >> 3]
    for kind, at in _runs(kinds):
        block = items[at]
        if kind == "bool":
            out[at] = is_true = block == id(True)
            if not relaxed and not (is_true | (block == id(False))).all():
                return False
        elif kind == "text":
            out[at] = 0.0
            if not relaxed and not (types[at] == id(str)).all():
                return False
        elif not _numbers(layout, words, floats, digits, block, types[at], kind == "number",
                          out[at]) and not relaxed:
            return False
    return True


def _numbers(layout: Layout, words: Any, floats: Any, digits: Any, items: Any, types: Any,
             floats_allowed: bool, out: Any) -> bool:
    """Write the values of exact floats (where allowed) and of exact ints of one digit into
    `out`, 0 for anything else; True when there was nothing else. A payload is read only from
    an object whose type was read first; any other object's address is replaced by that of 0,
    whose words are harmless to read."""
    import numpy as np
    is_float = types == id(float) if floats_allowed else np.zeros(items.shape, dtype=bool)
    is_int = types == id(int)
    every = bool((is_float | is_int).all())
    if is_float.any():
        at = items if every else np.where(is_float, items, id(0))
        np.copyto(out, floats[(at + layout.float_value_at - _BASE) >> 3], where=is_float)
    if not is_int.any():
        out[~is_float] = 0.0
        return every
    int_at = np.where(is_int, items, id(0))
    size = words[(int_at + layout.int_size_at - _BASE) >> 3]
    digit = digits[(int_at + layout.int_digit_at - _BASE) >> 2]
    if layout.int_tagged:
        one_digit, sign = (size >> 3) <= 1, 1 - (size & 3)
    else:
        one_digit, sign = (size >= -1) & (size <= 1), size
    np.copyto(out, sign * digit, where=~is_float)
    return every and bool((one_digit | is_float).all())
