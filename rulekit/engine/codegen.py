"""The whole pack compiled into one generated Python function: the fast path.

The function is generated from the same validated expression trees as the interpreter, the way
attrs generates `__init__`. It is optimistic: it assumes every fact it touches is given and every
parameter is in force. When that is not so (a missing key, an Unknown value, a division by zero,
an empty min/max), it raises, and `evaluate` runs the three-valued interpreter for that household
instead; so the fast path can only be faster, never different. It fills the same State the
interpreter fills, so reason chains are built from it the same way. A differential property test
keeps the two equal.
"""
from __future__ import annotations

import ast
from collections.abc import Callable
from typing import Any

from rulekit.engine.compile import CompiledPack
from rulekit.engine.evaluate import DecisionState, RuleState
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


def generate(cp: CompiledPack) -> Callable[[Any], None] | None:
    """The fast function for a compiled pack, or None when some construct is not translated."""
    try:
        source = _source(cp)
    except _NoFastPath:
        return None
    namespace: dict[str, Any] = {
        "RuleState": RuleState, "DecisionState": DecisionState, "_pow": _pow, "_known": _known,
        "_age_on": F.age_on, "_link": _link, "__builtins__": {
            "sum": sum, "any": any, "all": all, "len": len, "min": min, "max": max,
            "tuple": tuple, "bool": bool, "True": True, "False": False, "None": None}}
    namespace.update({f"_f_{k}": f.fn for k, f in F.FUNCTIONS.items()})
    code = compile(source, f"<rulekit fast path: {cp.spec.id}>", "exec")
    exec(code, namespace)   # source generated from allow-listed, validated trees only
    fn = namespace["_fast"]
    fn.source = source
    return fn


def _source(cp: CompiledPack) -> str:
    spec = cp.spec
    ns = cp.namespace
    bound: set[str] = set()
    lines = ["def _fast(st):", "    env = st.env", "    members = st.members", "    rules = st.rules",
             "    ovr = st.overrides", "    decs = st.decisions", "    ow = {}"]

    def expr(text: str, item: str | None = None) -> str:
        e = _Expr(ns, bound)
        if item:
            e.scopes.append(item)
        return e.source(text)

    def override_cond(oid: str) -> str:
        return f"(ow[{oid!r}] if {oid!r} in ow else ow.setdefault({oid!r}, " \
               f"{expr(spec.overrides[oid].when)}))"

    for node in cp.nodes:
        n = node.name
        if node.kind == "computed":
            c = spec.computed[n]
            if c.per:
                lines.append(f"    for x0 in members: x0[{n!r}] = {expr(c.formula, 'members')}")
            else:
                lines.append(f"    env[{n!r}] = _n_{n} = {expr(c.formula)}")
                bound.add(n)
        elif node.kind == "rule":
            r = spec.rules[n]
            if r.per:
                lines.append(f"    mv = tuple((x0[{ITEM_PATH!r}], {expr(r.when, 'members')}) "
                             f"for x0 in members)")
                lines.append("    raw = any(v for _, v in mv)")
            else:
                lines.append(f"    raw = {expr(r.when)}")
                lines.append("    mv = ()")
            if node.overrides:
                lines.append("    eff, by = raw, []")
                lines.append("    if raw is True:")
                for oid in node.overrides:
                    lines.append(f"        if {override_cond(oid)}: by.append({oid!r})")
                lines.append("        if by: eff = False")
                lines.append(f"    rules[{n!r}] = RuleState(raw, eff, tuple(by), mv)")
                lines.append(f"    env[{n!r}] = _n_{n} = eff")
            else:
                lines.append(f"    rules[{n!r}] = RuleState(raw, raw, (), mv)")
                lines.append(f"    env[{n!r}] = _n_{n} = raw")
            bound.add(n)
        elif node.kind == "override":
            raws = " or ".join(f"rules[{r!r}].raw" for r in node.cancels if r in spec.rules) or "False"
            lines.append(f"    cond = {override_cond(n)}")
            lines.append(f"    applied = bool({raws}) if cond else False")
            lines.append(f"    ovr[{n!r}] = (cond, applied)")
            lines.append(f"    env[{n!r}] = _n_{n} = applied")
            bound.add(n)
        elif node.kind == "group":
            members = [r for r in node.members if r in spec.rules]
            value = "any((" + "".join(f"_n_{r}, " for r in members) + "))"
            lines.append(f"    env[{n!r}] = _n_{n} = {value}")
            bound.add(n)
        elif node.kind == "decision":
            lines += _decision_lines(spec.decisions[n], node, expr)
            if spec.decisions[n].hit == "first":
                bound.add(n)
    return "\n".join(lines) + "\n"


def _decision_lines(d: Any, node: Any, expr: Callable[[str], str]) -> list[str]:
    n = d.name
    statuses = {o.id: o.status for o in d.outcomes}
    out = []
    if d.hit == "first":
        tried: list[str] = []
        for i, (oid, e) in enumerate(node.outcomes):
            cond = "True" if e is None else expr(d.outcomes[i].when)
            word = "if" if i == 0 else "elif"
            out.append(f"    {word} {cond}:")
            out.append(f"        decs[{n!r}] = DecisionState({n!r}, {statuses[oid]!r}, {oid!r}, "
                       f"({oid!r},), (), not_matched={tuple(tried)!r})")
            out.append(f"        env[{n!r}] = _n_{n} = {oid!r}")
            tried.append(oid)
        out.append("    else:")
        out.append("        raise LookupError('no outcome applies')")   # rare: the interpreter says so
        return out
    out.append("    hits = []")
    for i, (oid, _) in enumerate(node.outcomes):
        out.append(f"    if {expr(d.outcomes[i].when)}: hits.append({oid!r})")
    review = [o.id for o in d.outcomes if o.status == "needs_review"]
    undetermined = [o.id for o in d.outcomes if o.status == "undetermined"]
    out.append(f"    status = ('undetermined' if any(h in {tuple(undetermined)!r} for h in hits) else "
               f"'needs_review' if any(h in {tuple(review)!r} for h in hits) else 'decided')")
    out.append(f"    decs[{n!r}] = DecisionState({n!r}, status, None, tuple(hits), ())")
    return out
