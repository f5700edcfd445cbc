"""The columnar path: a flat-fact pack evaluated over whole columns with numpy.

Generated, like the fast path, from the validated expression trees: `and`/`or`/`not` become
`&`/`|`/`~`, `x if c else y` becomes `where`, first-hit decisions become `select`. It decides only
rows it can decide exactly as the per-row engine would: a row with a missing fact, or whose
evaluation divides by zero or overflows a power, is marked and left to the per-row engine
(`Columns.fallback`). A differential test keeps the two equal. numpy is optional (extra
`columnar`); packs with lists, dates or text go per row.
"""
from __future__ import annotations

import ast
import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from rulekit.engine.codegen import _BIN, _CMP, _Expr, _NoFastPath
from rulekit.expr.compiler import MAX_POWER


class _Vec(_Expr):
    """numpy source for an expression over columns (names are columns or scalar parameters)."""

    def ref(self, name: str) -> tuple[str, Any]:
        r = self.ns.names.get(name)
        if r is None or r.type not in ("num", "bool") and not r.type.startswith("enum:decision."):
            raise _NoFastPath(name)
        return f"col[{name!r}]", r

    def node(self, n: ast.AST) -> str:
        if isinstance(n, ast.Constant):
            if isinstance(n.value, str):
                raise _NoFastPath("text")
            return repr(n.value)
        if isinstance(n, ast.Name):
            return self.ref(n.id)[0]
        if isinstance(n, ast.BoolOp):
            op = " & " if isinstance(n.op, ast.And) else " | "
            return "(" + op.join(f"_b({self.node(v)})" for v in n.values) + ")"
        if isinstance(n, ast.UnaryOp):
            if isinstance(n.op, ast.Not):
                return f"(~_b({self.node(n.operand)}))"
            return f"({'-' if isinstance(n.op, ast.USub) else '+'}{self.node(n.operand)})"
        if isinstance(n, ast.BinOp):
            if isinstance(n.op, (ast.Div, ast.FloorDiv, ast.Mod)):
                return f"_div({self.node(n.left)}, {self.node(n.right)}, {_BIN[type(n.op)]!r})"
            if isinstance(n.op, ast.Pow):
                return f"_pow({self.node(n.left)}, {self.node(n.right)})"
            return f"({self.node(n.left)} {_BIN[type(n.op)]} {self.node(n.right)})"
        if isinstance(n, ast.IfExp):
            return f"_np.where(_b({self.node(n.test)}), {self.node(n.body)}, {self.node(n.orelse)})"
        if isinstance(n, ast.Compare):
            parts, left = [], n.left
            for op, right in zip(n.ops, n.comparators):
                if isinstance(op, (ast.In, ast.NotIn)):
                    raise _NoFastPath("in")
                parts.append(f"({self.side(left, right)} {_CMP[type(op)]} {self.side(right, left)})")
                left = right
            return "(" + " & ".join(parts) + ")"
        if isinstance(n, ast.Call):
            name = n.func.id
            args = [self.node(a) for a in n.args]
            if name == "safe_div":
                return f"_safe_div({', '.join(args)})"
            if name == "abs":
                return f"_np.abs({args[0]})"
            if name in ("min", "max") and len(args) >= 2:
                fn = "_np.minimum" if name == "min" else "_np.maximum"
                out = args[0]
                for a in args[1:]:
                    out = f"{fn}({out}, {a})"
                return out
            raise _NoFastPath(name)
        raise _NoFastPath(type(n).__name__)


@attrs.frozen
class Columns:
    """Decisions over n rows: outcome codes (first-hit) or hit masks (collect), rule results,
    computed values; `fallback` marks the rows the per-row engine must decide instead."""
    n: int
    outcomes: dict[str, Any]          # first-hit decision -> array of codes into outcome_ids
    outcome_ids: dict[str, tuple[str, ...]]
    hits: dict[str, dict[str, Any]]   # collect decision -> outcome id -> bool array
    rules: dict[str, Any]
    computed: dict[str, Any]
    fallback: Any                     # bool array

    def outcome(self, decision: str, row: int) -> str | None:
        """The outcome id of a first-hit decision for one row (None: no outcome applies)."""
        code = int(self.outcomes[decision][row])
        return self.outcome_ids[decision][code] if code >= 0 else None


def compile_columnar(cp: Any) -> Any:
    """The columnar function of a flat-fact pack, or None when the pack needs the per-row path."""
    spec = cp.spec
    if not spec.facts or spec.checks or any(f["type"] not in ("number", "integer", "bool")
                                           for f in spec.facts.values()):
        return None
    try:
        source = _source(cp)
    except (_NoFastPath, KeyError, AttributeError):
        return None
    import numpy as np
    env: dict[str, Any] = {"_np": np, "__builtins__": {"repr": repr, "len": len, "bool": bool,
                                                          "float": float}}
    exec(compile(source, f"<rulekit columnar: {spec.id}>", "exec"), env)   # from checked trees
    fn = env["_columns"]
    fn.source = source
    return fn


def _source(cp: Any) -> str:
    spec, ns = cp.spec, cp.namespace
    lines = ["def _columns(col, n):",
             "    bad = _np.zeros(n, dtype=bool)",
             "    def _b(x):",
             "        return _np.broadcast_to(_np.asarray(x, dtype=bool), (n,))",
             "    def _div(a, b, op):",
             "        nonlocal bad",
             "        b = _np.broadcast_to(_np.asarray(b, dtype=float), (n,))",
             "        zero = b == 0",
             "        bad = bad | zero",
             "        safe = _np.where(zero, 1, b)",
             "        return a / safe if op == '/' else (a // safe if op == '//' else a % safe)",
             "    def _pow(a, b):",
             "        nonlocal bad",
             f"        bad = bad | (_np.abs(b) > {MAX_POWER}) | (_np.abs(a) > {MAX_POWER})",
             "        return _np.power(_np.asarray(a, dtype=float), _np.minimum(b, 64))",
             "    def _safe_div(a, b, z):",
             "        b = _np.broadcast_to(_np.asarray(b, dtype=float), (n,))",
             "        return _np.where(b == 0, z, a / _np.where(b == 0, 1, b))",
             "    rules = {}", "    computed = {}", "    outcomes = {}", "    hits = {}"]

    def vec(text: str) -> str:
        return _Vec(ns, set()).source(text)

    for node in cp.nodes:
        n = node.name
        if node.kind == "computed":
            if node.per:
                raise _NoFastPath("per member")
            lines.append(f"    col[{n!r}] = computed[{n!r}] = {vec(spec.computed[n].formula)}")
        elif node.kind == "rule":
            r = spec.rules[n]
            if r.per:
                raise _NoFastPath("per member")
            lines.append(f"    raw = _b({vec(r.when)})")
            for oid in node.overrides:
                lines.append(f"    raw = raw & ~_b({vec(spec.overrides[oid].when)})")
            lines.append(f"    col[{n!r}] = rules[{n!r}] = raw")
        elif node.kind == "override":
            o = spec.overrides[n]
            cancelled = " | ".join(f"rules[{r!r}]" for r in o.cancels) or "False"
            # applied when its condition holds and a cancelled rule held (before cancelling)
            raws = " | ".join(f"_b({vec(spec.rules[r].when)})" for r in o.cancels)
            lines.append(f"    col[{n!r}] = _b({vec(o.when)}) & ({raws or cancelled})")
        elif node.kind == "group":
            members = [r for r in node.members if r in spec.rules]
            lines.append(f"    col[{n!r}] = " + (" | ".join(f"rules[{r!r}]" for r in members) or
                                               "_np.zeros(n, dtype=bool)"))
        elif node.kind == "decision":
            d = spec.decisions[n]
            if d.hit == "first":
                conds, ids = [], []
                for o in d.outcomes:
                    conds.append(f"_b({vec(o.when)})" if o.when else "_np.ones(n, dtype=bool)")
                    ids.append(repr(o.id))
                # outcome codes (0, 1, ... in the order written; -1 none): integers, not text
                codes = ", ".join(str(i) for i in range(len(ids)))
                lines.append(f"    outcomes[{n!r}] = _np.select([{', '.join(conds)}], [{codes}], "
                             f"default=-1)")
                lines.append(f"    col[{n!r}] = outcomes[{n!r}]")
            else:
                lines.append(f"    hits[{n!r}] = {{" + ", ".join(
                    f"{o.id!r}: _b({vec(o.when)})" for o in d.outcomes) + "}")
    lines.append("    return rules, computed, outcomes, hits, bad")
    return "\n".join(lines) + "\n"


_ALLOWED = {"number": {int, float}, "integer": {int}, "bool": {bool}}
EXACT = 1e15        # from here on float and integer arithmetic may differ: the per-row engine decides


def _fits(value: Any) -> bool:
    """A Python int a float can hold (10**400 cannot)."""
    try:
        float(value)
    except OverflowError:
        return False
    return True


def _typed(values: Any, spec: dict, n: int) -> tuple[Any, Any]:
    """A column as numbers (or booleans) with nothing converted silently, and the rows the
    per-row engine must take instead: a missing value, a value of another type (text in a money
    column, a yes/no in a count), a non-finite number, a value of 10**15 or more (integer and
    float arithmetic may differ), a value below the declared minimum."""
    import numpy as np
    is_bool = spec["type"] == "bool"
    dtype = bool if is_bool else float
    wrong = np.zeros(n, dtype=bool)
    if isinstance(values, np.ndarray):
        if values.dtype.kind != ("b" if is_bool else values.dtype.kind) or \
                (not is_bool and values.dtype.kind not in "iuf"):
            raise ValueError(f"column {spec.get('label', '')!r} has numpy dtype {values.dtype}; "
                             f"give {'booleans' if is_bool else 'numbers'}")
        arr = values.astype(dtype, copy=False)
    else:
        allowed = _ALLOWED[spec["type"]]
        try:
            if not set(map(type, values)) <= allowed:
                raise TypeError
            arr = np.asarray(values, dtype=dtype)      # the common case, checked at C speed
        except (TypeError, OverflowError):             # another type, or an int beyond floats
            wrong = np.fromiter((type(v) not in allowed or not _fits(v) for v in values),
                                dtype=bool, count=n)
            arr = np.asarray([0 if bad else v for v, bad in zip(values, wrong)], dtype=dtype)
    if not is_bool:
        with np.errstate(invalid="ignore"):
            wrong = wrong | ~(np.abs(arr) < EXACT)      # NaN, infinities, beyond exact arithmetic
        if "minimum" in spec:
            wrong = wrong | (arr < spec["minimum"])
        if wrong.any():
            arr = np.where(wrong, 0.0, arr)
    return arr, wrong


def columns_from_records(pack: Any, records: Sequence[Mapping[str, Any]]) -> tuple[dict, Any]:
    """Columns from flat records, and a mask of the rows the per-row engine must take (a key the
    pack does not declare, an id that is not text). The common case (every record has exactly
    the declared facts and a text id) is read, checked and converted at C speed by
    `object_memory.read_records`; where that cannot be used, or declines a value, by one
    itemgetter per record into one numpy object array of every value (no per-column zip, which
    cost twice as much), one look at the types of each group of facts of one type, and one
    conversion per group. A group holding a value of another type goes to `_typed` column by
    column, which marks those rows."""
    import itertools
    import operator

    import numpy as np

    from rulekit.engine.object_memory import read_records
    groups: dict[str, list[str]] = {}
    for name, spec in pack.spec.facts.items():
        groups.setdefault(spec["type"], []).append(name)
    names = [name for group in groups.values() for name in group]
    n, width = len(records), len(names) + 1
    read = read_records(records, ["id", *names], ["text", *(pack.spec.facts[k]["type"] for k in names)])
    if read is not None:
        return dict(zip(names, read[1:])), np.zeros(n, dtype=bool)
    try:
        complete = set(map(len, records)) <= {width}      # with every key read below: exactly
        if complete:
            values = np.fromiter(itertools.chain.from_iterable(
                map(operator.itemgetter("id", *names), records)), dtype=object,
                count=n * width).reshape(n, width)
    except (KeyError, TypeError):
        complete = False
    if complete:
        if set(map(type, values[:, 0])) <= {str}:
            columns: dict[str, Any] = {}
            start = 1
            for kind, group in groups.items():
                block = values[:, start:start + len(group)]
                start += len(group)
                try:
                    if not set(map(type, block.ravel())) <= _ALLOWED[kind]:
                        raise TypeError
                    converted = block.astype(bool if kind == "bool" else float)
                    columns.update(zip(group, np.ascontiguousarray(converted.T)))
                except (TypeError, OverflowError):       # _typed marks the rows, column by column
                    columns.update(zip(group, (list(c) for c in block.T)))
            return columns, np.zeros(n, dtype=bool)
    declared = set(names) | {"id"}
    odd = np.fromiter((not (r.keys() <= declared) or r.get("id").__class__ is not str
                       for r in records), dtype=bool, count=n)
    return {k: [r.get(k) for r in records] for k in names}, odd


def evaluate_columns(pack: Any, columns: Mapping[str, Sequence[Any]], as_of: Any) -> Columns:
    """Decide every row of `columns` (name -> values, one per row) with the pack's columnar
    function; rows with a missing value, or that divide by zero, are marked `fallback`."""
    import numpy as np

    from rulekit.engine.evaluate import _parameters
    fn = pack.compiled_columnar
    if fn is None:
        raise ValueError(f"pack {pack.id!r} has no columnar path (it reads lists, dates or text, "
                         f"or declares checks); evaluate its rows one by one")
    n = len(next(iter(columns.values()))) if columns else 0
    col: dict[str, Any] = {}
    missing = np.zeros(n, dtype=bool)
    for name, spec in pack.spec.facts.items():
        values = columns.get(name)
        if values is None:
            missing[:] = True
            col[name] = np.zeros(n)
            continue
        arr, wrong = _typed(values, spec, n)
        missing |= wrong
        col[name] = arr
    day = as_of if not isinstance(as_of, str) else dt.date.fromisoformat(as_of)
    _, values = _parameters(pack.compiled, day, None)
    if any(v.__class__.__name__ == "Unknown" for v in values.values()):
        raise ValueError("a parameter has no value in force on as_of: evaluate per row")
    col.update(values)
    with np.errstate(all="ignore"):
        rules, computed, outcomes, hits, bad = fn(col, n)
    ids = {d: tuple(o.id for o in pack.spec.decisions[d].outcomes) for d in outcomes}
    return Columns(n, outcomes, ids, hits, rules, computed, missing | bad)
