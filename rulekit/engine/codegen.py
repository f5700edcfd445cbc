"""The whole pack compiled into generated Python functions: the fast path.

The functions are generated from the same validated expression trees as the interpreter, the way
attrs generates `__init__`. They are optimistic: they assume every fact they touch is given and
every parameter is in force. When that is not so (a missing key, an Unknown value, a division by
zero, an empty min/max), they raise or return None, and the three-valued interpreter decides that
household instead; so the fast path can only be faster, never different.

They return the vector of every value the pack computes: one tuple per household. A result keeps
only that tuple; `FastPath.fill` turns it into the State the interpreter would have filled when a
reason chain is asked for, so retaining the trace costs one tuple. For a flat pack a second
function takes the raw record itself, checking it the way `record.flat` does and binding every
fact, parameter and date to a local variable. Differential tests keep all of this equal to the
interpreter.
"""
from __future__ import annotations

import ast
import datetime as dt
import itertools
import operator
from collections.abc import Callable
from typing import Any

import attrs

from rulekit.engine.compile import CompiledPack
from rulekit.engine.evaluate import DecisionState, RuleState, collect_status
from rulekit.expr import functions as F
from rulekit.expr.compiler import ITEM_PATH, MAX_POWER, Namespace

FALLBACK = (KeyError, TypeError, ValueError, ZeroDivisionError, ArithmeticError, AttributeError,
            IndexError, RecursionError, LookupError)


class _NoFastPath(Exception):
    """This pack uses a construct the generator does not translate: the interpreter is used."""


def _pow(a: Any, b: Any) -> Any:
    if abs(b) > MAX_POWER or abs(a) > MAX_POWER:
        raise OverflowError("power too large")
    return a ** b


def _known(thunk: Callable[[], Any]) -> bool:
    try:
        v = thunk()
    except (KeyError, TypeError):
        return False
    return v.__class__.__name__ != "Unknown"


_BIN = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.FloorDiv: "//", ast.Mod: "%"}
_CMP = {ast.Eq: "==", ast.NotEq: "!=", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=",
        ast.In: "in", ast.NotIn: "not in"}


class _Expr:
    """Python source for one validated expression, names resolved as the compiler resolves them."""

    def __init__(self, ns: Namespace, locals_: set[str]) -> None:
        self.ns = ns
        self.locals = locals_       # household names already bound to a local variable
        self.scopes: list[str] = []  # lists of the enclosing aggregates, outermost first

    def source(self, text: str) -> str:
        return self.node(ast.parse(text.strip(), mode="eval").body)

    def ref(self, name: str) -> tuple[str, Any]:
        for depth in range(len(self.scopes) - 1, -1, -1):
            r = self.ns.lists.get(self.scopes[depth], {}).get(name)
            if r is not None:
                return f"x{depth}[{name!r}]", r
        r = self.ns.names.get(name)
        if r is None:
            raise _NoFastPath(name)
        if name in self.locals:
            return f"_n_{name}", r
        return f"env[{name!r}]", r

    def enum_of(self, n: ast.AST) -> str | None:
        if isinstance(n, ast.Name):
            try:
                _, r = self.ref(n.id)
            except _NoFastPath:
                return None
            if r.type.startswith("enum:"):
                return r.type[5:]
            if r.type.startswith("list:enum:"):
                return r.type[10:]
        return None

    def const(self, n: ast.AST, enum: str | None) -> str:
        v = n.value
        if enum and isinstance(v, str):
            values = self.ns.enums[enum]
            if v not in values:
                v = next(code for code, zh in values.items() if zh == v)
        return repr(v)

    def node(self, n: ast.AST) -> str:
        if isinstance(n, ast.Constant):
            if isinstance(n.value, str):
                raise _NoFastPath("a text constant outside a comparison")
            return repr(n.value)
        if isinstance(n, ast.Name):
            return self.ref(n.id)[0]
        if isinstance(n, ast.BoolOp):
            op = " and " if isinstance(n.op, ast.And) else " or "
            return "(" + op.join(self.node(v) for v in n.values) + ")"
        if isinstance(n, ast.UnaryOp):
            op = {ast.Not: "not ", ast.USub: "-", ast.UAdd: "+"}[type(n.op)]
            return f"({op}{self.node(n.operand)})"
        if isinstance(n, ast.BinOp):
            if isinstance(n.op, ast.Pow):
                return f"_pow({self.node(n.left)}, {self.node(n.right)})"
            return f"({self.node(n.left)} {_BIN[type(n.op)]} {self.node(n.right)})"
        if isinstance(n, ast.IfExp):
            return f"({self.node(n.body)} if {self.node(n.test)} else {self.node(n.orelse)})"
        if isinstance(n, ast.Compare):
            return self.compare(n)
        if isinstance(n, ast.Call):
            return self.call(n)
        raise _NoFastPath(type(n).__name__)

    def side(self, n: ast.AST, other: ast.AST) -> str:
        if isinstance(n, ast.Constant) and isinstance(n.value, str):
            enum = self.enum_of(other)
            if enum is None and not (isinstance(other, ast.Constant)):
                # a text constant compared with something whose type is not a plain name
                if not isinstance(other, ast.Name):
                    raise _NoFastPath("text compared with an expression")
            return self.const(n, enum)
        if isinstance(n, (ast.List, ast.Tuple)):
            enum = self.enum_of(other)
            return "(" + "".join(self.const(e, enum) + ", " for e in n.elts) + ")"
        return self.node(n)

    def compare(self, n: ast.Compare) -> str:
        parts = []
        left = n.left
        for op, right in zip(n.ops, n.comparators):
            a = self.side(left, right)
            b = self.side(right, left)
            enum = self.enum_of(left)
            if isinstance(op, (ast.In, ast.NotIn)) and enum and isinstance(right, ast.Name) \
                    and self.ref(right.id)[1].type == "list:str":
                # a text-list parameter of the enum's values: compare as codes, as the compiler does
                values = self.ns.enums[enum]
                to_code = {**{c: c for c in values}, **{zh: c for c, zh in values.items()}}
                b = f"tuple({to_code!r}.get(x, x) for x in {b})"
            parts.append(f"({a} {_CMP[type(op)]} {b})")
            left = right
        return "(" + " and ".join(parts) + ")"

    def call(self, n: ast.Call) -> str:
        name = n.func.id
        first = n.args[0] if n.args else None
        if (name in F.AGGREGATES and isinstance(first, ast.Name) and first.id in self.ns.lists
                and first.id not in self.scopes):
            return self.aggregate(n, name)
        if name == "known":
            return f"_known(lambda: {self.node(n.args[0])})"
        if name == "age_on":
            depth = len(self.scopes) - 1
            return f"_age_on(x{depth}['birth_date'], {self.node(n.args[0])})"
        args = []
        for a in n.args:
            if isinstance(a, ast.Constant) and isinstance(a.value, str):
                args.append(repr(a.value))
            elif isinstance(a, (ast.List, ast.Tuple)):
                args.append("(" + "".join(repr(e.value) + ", " for e in a.elts) + ")")
            else:
                args.append(self.node(a))
        return f"_f_{name}({', '.join(args)})"

    def aggregate(self, n: ast.Call, name: str) -> str:
        items = self.node(n.args[0])
        depth = len(self.scopes)
        var = f"x{depth}"
        if len(n.args) == 1:
            return f"len({items})"
        self.scopes.append(n.args[0].id)
        try:
            body = self.node(n.args[1])
        finally:
            self.scopes.pop()
        link = ""
        if depth > 0:   # nested: the inner item reaches the enclosing one, as the interpreter does
            link = f" if _link({var}, x{depth - 1})"
        gen = f"for {var} in {items}{link}"
        if name == "count":
            return f"sum(1 {gen} if {body})"
        if name == "any":
            return f"any({body} {gen})"
        if name == "all":
            return f"all({body} {gen})"
        if name == "sum":
            return f"sum({body} {gen})"
        return f"{name}([{body} {gen}])"   # min / max: empty raises ValueError -> interpreter


def _link(inner: dict, outer: dict) -> bool:
    inner["#outer"] = outer
    return True


_UNSET = object()   # an override condition not evaluated yet (evaluated at most once)


@attrs.frozen
class FastPath:
    """The generated functions of one pack and the layout of the vector they return.

    The vector is one flat tuple per household: a flat record's facts (raw route), then one slot
    per value the pack computes (see `plan`); one tracked object, so keeping millions of results
    costs the garbage collector little. It is all a retained result costs; `fill` turns it into
    the State the interpreter would have produced, from which reason chains are built.
    """
    on_env: Callable[[dict, list], tuple]     # facts already in a State's env (records, arguments)
    on_raw: Callable[[Any, tuple], tuple | None] | None   # flat packs: the raw record, see below
    plan: tuple[tuple, ...]                   # per node: (kind, name, slot indexes...)
    facts: tuple[str, ...]                    # the names of the vector's first slots (raw route)
    inputs: tuple[str, ...]                   # the names of on_raw's second argument
    values: dict[str, int]                    # fact or computed value -> its slot
    decisions: dict[str, tuple]               # decision -> its step of `plan`
    rules: tuple[tuple[str, int, int | None], ...]   # (rule id, raw slot, overridden-by slot),
    #                                                  in the pack's order of rules
    source: str

    def decided(self, vector: tuple, decision: str) -> tuple[str, str | None, tuple[str, ...]]:
        """(status, outcome, outcomes that hold) of a decision, read from the vector."""
        step = self.decisions[decision]
        if step[0] == "first":
            i = vector[step[2]]
            return step[4][i], step[3][i], (step[3][i],)
        ids, statuses = step[3], step[4]
        hits = tuple(itertools.compress(ids, vector[step[2]:step[2] + len(ids)]))
        return collect_status(hits, statuses), None, hits

    def fired(self, vector: tuple) -> tuple[str, ...]:
        """Rule ids that hold after overrides, in the order the pack writes them."""
        return tuple([rid for rid, raw, by in self.rules
                      if vector[raw] is True and (by is None or not vector[by])])

    def fill(self, st: Any, vector: tuple) -> None:
        """Write what the vector holds into `st` exactly as the interpreter writes it."""
        env, rules, decs = st.env, st.rules, st.decisions
        for step in self.plan:
            kind, name = step[0], step[1]
            if kind == "computed":
                env[name] = vector[step[2]]
            elif kind == "rule":
                raw = vector[step[2]]
                by = vector[step[3]] if step[3] is not None else ()
                mv = vector[step[4]] if step[4] is not None else ()
                eff = False if by else raw
                rules[name] = RuleState(raw, eff, by, mv)
                env[name] = eff
            elif kind == "override":
                cond, applied = vector[step[2]], vector[step[3]]
                st.overrides[name] = (cond, applied)
                env[name] = applied
            elif kind == "group":
                env[name] = vector[step[2]]
            elif kind == "first":
                i = vector[step[2]]
                decs[name] = DecisionState(name, step[4][i], step[3][i], (step[3][i],), (),
                                           not_matched=step[3][:i])
                env[name] = step[3][i]
            elif kind == "collect":
                status, _, hits = self.decided(vector, name)
                decs[name] = DecisionState(name, status, None, hits, ())


def generate(cp: CompiledPack) -> FastPath | None:
    """The fast functions for a compiled pack, or None when some construct is not translated."""
    namespace: dict[str, Any] = {
        "_pow": _pow, "_known": _known, "_age_on": F.age_on, "_link": _link, "_UNSET": _UNSET,
        "__builtins__": {
            "sum": sum, "any": any, "all": all, "len": len, "min": min, "max": max, "map": map,
            "type": type, "str": str, "tuple": tuple, "bool": bool, "True": True, "False": False,
            "None": None}}
    namespace.update({f"_f_{k}": f.fn for k, f in F.FUNCTIONS.items()})
    raw = _raw_prologue(cp, namespace)
    base = len(raw[1]) if raw else 0          # the flat record's facts come first in the vector
    try:
        body, ret, plan = _body(cp, set(), base)
    except _NoFastPath:
        return None
    namespace["_PAD"] = (None,) * base
    pad = "_PAD + " if base else ""           # a flat pack's facts, when not given raw
    env_src = "def _on_env(env, members):\n" + body + f"    return {pad}({ret})\n"
    raw_src = ""
    if raw is not None:
        prologue, facts, inputs, groups = raw
        try:
            raw_body, raw_ret, _ = _body(cp, {*facts, *inputs}, base, checks=True)
        except _NoFastPath:
            raw = None
        else:
            given = "".join(f"*{g}, " for g in groups)
            raw_src = "def _on_raw(raw, P):\n" + prologue + raw_body + f"    return ({given}{raw_ret})\n"
    source = env_src + "\n" + raw_src
    exec(compile(source, f"<rulekit fast path: {cp.spec.id}>", "exec"), namespace)
    # the source is generated from allow-listed, validated expression trees only
    values = {**{n: i for i, n in enumerate(raw[1] if raw else ())},
              **{s[1]: s[2] for s in plan if s[0] == "computed"}}
    decisions = {s[1]: s for s in plan if s[0] in ("first", "collect")}
    slot_of = {s[1]: (s[1], s[2], s[3]) for s in plan if s[0] == "rule"}
    rules = tuple(slot_of[r] for r in cp.spec.rules if r in slot_of)
    return FastPath(namespace["_on_env"], namespace.get("_on_raw"), tuple(plan),
                    raw[1] if raw else (), raw[2] if raw else (), values, decisions, rules, source)


def _raw_prologue(cp: CompiledPack, namespace: dict) -> tuple[str, tuple, tuple, list] | None:
    """For a flat pack: check the raw record the way record.flat's checker does (every declared
    fact given, each a plain value of its type, nothing else) and bind facts, parameters and dates
    to locals. Anything unusual returns None, and the record takes the checked, interpreted route,
    which reports what is wrong or decides it three-valued.

    Facts are read in groups of one type (one C-level itemgetter each) so each group is checked
    by one C-level pass over its types; the vector starts with the facts in that order."""
    spec = cp.spec
    facts = spec.facts
    if not facts or not (spec.meta.get("reference_date") is None
                         or isinstance(spec.meta.get("reference_date"), dt.date)):
        return None
    if any(f.get("values") or f["type"] not in FACT_KINDS for f in facts.values()):
        return None
    lines = [f"    if len(raw) != {len(facts) + 1}: return None",
             "    rid = raw['id']", "    if rid.__class__ is not str or not rid: return None"]
    order: list[str] = []
    groups = []
    for kind, allowed in FACT_KINDS.items():
        names = [n for n, f in facts.items() if f["type"] == kind]
        order += names
        if not names:
            continue
        namespace[f"_g_{kind}"] = (operator.itemgetter(*names) if len(names) > 1
                                   else (lambda r, n=names[0]: (r[n],)))
        namespace[f"_t_{kind}"] = frozenset(allowed)
        lines.append(f"    v_{kind} = _g_{kind}(raw)")
        lines.append(f"    if not _t_{kind}.issuperset(map(type, v_{kind})): return None")
        if kind in ("number", "integer"):
            # NaN and infinities: the sum is then not finite; an int no float can hold: the
            # float sum raises OverflowError (the caller then takes the checked route)
            lines += [f"    s = sum(v_{kind}, 0.0)", "    if s - s != 0: return None"]
        lines.append("    (" + "".join(f"_n_{n}, " for n in names) + f") = v_{kind}")
        groups.append(f"v_{kind}")
    for n, f in facts.items():
        if "minimum" in f and f["type"] in ("number", "integer"):
            lines.append(f"    if _n_{n} < {float(f['minimum'])!r}: return None")
    inputs = (*spec.parameters, "as_of", "reference_date", "period_start", "period_end")
    lines.append("    (" + "".join(f"_n_{n}, " for n in inputs) + ") = P")
    return "\n".join(lines) + "\n", tuple(order), inputs, groups


FACT_KINDS = {"number": (int, float), "integer": (int,), "bool": (bool,), "text": (str,)}


def _body(cp: CompiledPack, bound: set[str], base: int, checks: bool = False
          ) -> tuple[str, str, list]:
    """The statements that evaluate every node, the vector they return (as source) and its plan.
    `bound`: names already in local variables (`_n_<name>`); others are read from `env`. The
    vector's slots start at `base` (after a flat record's facts)."""
    spec, ns = cp.spec, cp.namespace
    lines = [f"    _oc_{o} = _UNSET" for o in spec.overrides]
    out: list[str] = []        # the vector's slots from `base` on, as local variable names
    plan: list[tuple] = []

    def slot(var: str) -> int:
        out.append(var)
        return base + len(out) - 1

    def expr(text: str, item: str | None = None) -> str:
        e = _Expr(ns, bound)
        if item:
            e.scopes.append(item)
        return e.source(text)

    def override_cond(oid: str) -> str:
        return f"(_oc_{oid} if _oc_{oid} is not _UNSET else (_oc_{oid} := {expr(spec.overrides[oid].when)}))"

    for node in cp.nodes:
        n = node.name
        if node.kind == "computed":
            c = spec.computed[n]
            if c.per:
                lines.append(f"    for x0 in members: x0[{n!r}] = {expr(c.formula, 'members')}")
                continue
            lines.append(f"    _n_{n} = {expr(c.formula)}")
            plan.append(("computed", n, slot(f"_n_{n}")))
        elif node.kind == "rule":
            r = spec.rules[n]
            mv = None
            if r.per:
                lines.append(f"    _m_{n} = tuple((x0[{ITEM_PATH!r}], {expr(r.when, 'members')}) "
                             f"for x0 in members)")
                lines.append(f"    _r_{n} = any(v for _, v in _m_{n})")
            else:
                lines.append(f"    _r_{n} = {expr(r.when)}")
            by = None
            if node.overrides:
                lines.append(f"    _b_{n} = ()")
                lines.append(f"    if _r_{n} is True:")
                for oid in node.overrides:
                    lines.append(f"        if {override_cond(oid)}: _b_{n} += ({oid!r},)")
                lines.append(f"    _n_{n} = False if _b_{n} else _r_{n}")
            else:
                lines.append(f"    _n_{n} = _r_{n}")
            raw = slot(f"_r_{n}")
            if node.overrides:
                by = slot(f"_b_{n}")
            if r.per:
                mv = slot(f"_m_{n}")
            plan.append(("rule", n, raw, by, mv))
        elif node.kind == "override":
            raws = " or ".join(f"_r_{r}" for r in node.cancels if r in spec.rules) or "False"
            lines.append(f"    _c_{n} = {override_cond(n)}")
            lines.append(f"    _n_{n} = bool({raws}) if _c_{n} else False")
            plan.append(("override", n, slot(f"_c_{n}"), slot(f"_n_{n}")))
        elif node.kind == "group":
            members = [r for r in node.members if r in spec.rules]
            # every rule value is True or False here, so `or` gives True or False, as any() does
            lines.append(f"    _n_{n} = {' or '.join(f'_n_{r}' for r in members) or 'False'}")
            plan.append(("group", n, slot(f"_n_{n}")))
        elif node.kind == "decision":
            d = spec.decisions[n]
            ids = tuple(oid for oid, _ in node.outcomes)
            statuses = {o.id: o.status for o in d.outcomes}
            if d.hit == "first":
                for i, (_, e) in enumerate(node.outcomes):
                    cond = "True" if e is None else expr(d.outcomes[i].when)
                    lines.append(f"    {'if' if i == 0 else 'elif'} {cond}: _d_{n} = {i}")
                lines.append("    else: raise LookupError('no outcome applies')")  # the interpreter says so
                lines.append(f"    _n_{n} = {ids!r}[_d_{n}]")
                plan.append(("first", n, slot(f"_d_{n}"), ids,
                             tuple(statuses[i] for i in ids)))
            else:
                for i in range(len(ids)):      # which outcomes hold, one slot each
                    lines.append(f"    _h_{n}_{i} = {expr(d.outcomes[i].when)}")
                start = [slot(f"_h_{n}_{i}") for i in range(len(ids))][0] if ids else base + len(out)
                plan.append(("collect", n, start, ids, statuses))
        if node.kind != "decision" or spec.decisions[n].hit == "first":
            bound.add(n)
    if checks:
        for c, _ in cp.checks:
            lines.append(f"    if ({expr(c.when)}) is False: return None")
    return "\n".join(lines) + "\n", "".join(v + ", " for v in out), plan
