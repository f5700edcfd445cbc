"""Compile an expression once: parse, check the whole tree against an allow-list, resolve every name,
check types, then build a tree of closures that evaluates with three-valued logic.

Safety by construction: only the node types below exist in the language, names resolve only to
the pack's own facts, parameters, computed values and rules, and calls only to the functions in
`functions.py`. Nothing is looked up at run time by a name taken from the data, so a string such as
"__class__" in a record is just a string. simpleeval's limits (MAX_POWER, MAX_STRING_LENGTH) bound
the work, as do the limits on expression size below.
"""
from __future__ import annotations

import ast
import difflib
import operator
from collections.abc import Callable, Iterable
from typing import Any

import attrs
import simpleeval

from rulekit.errors import EvaluationError, ExpressionError
from rulekit.expr import functions as F
from rulekit.expr.values import Unknown, merge
from rulekit.record.model import ENUMS

MAX_SOURCE = 2000        # characters in one expression
MAX_NODES = 400          # AST nodes in one expression
MAX_DEPTH = 40           # nesting of the AST
MAX_POWER = simpleeval.MAX_POWER
MAX_AGGREGATE_NESTING = 2  # aggregates inside aggregates; with lists of at most 500 items (the
                           # record schema's maxItems) one expression visits at most 500 x 500 items
MAX_STRING = simpleeval.MAX_STRING_LENGTH

NUM, BOOL, STR, DATE, ANY = "num", "bool", "str", "date", "any"
Fn = Callable[[dict, Any], Any]
ITEM_PATH = "#path"      # key holding an item's JSON path (members[2]) inside item dicts
OUTER = "#outer"         # key linking an item to the enclosing aggregate's item while nested


@attrs.frozen
class Ref:
    """What a name means: where its value lives at run time and its type."""
    key: str
    type: str               # num | bool | str | date | enum:<name> | list:<list name> | list:date | any
    kind: str               # fact | parameter | computed | rule | group | builtin | item
    scope: str = "env"      # env (the household) or item (the current item of an aggregate)


@attrs.define
class Namespace:
    """Names an expression may use: household-level names and, per list, the fields of an item."""
    names: dict[str, Ref]
    lists: dict[str, dict[str, Ref]] = attrs.field(factory=dict)
    enums: dict[str, dict[str, str]] = attrs.field(factory=lambda: dict(ENUMS))

    def candidates(self, item_list: str | None) -> list[str]:
        out = list(self.names)
        if item_list:
            out += list(self.lists.get(item_list, {}))
        return out


@attrs.frozen
class Compiled:
    """A compiled expression: its source, type, the names it reads, and the function to call."""
    source: str
    type: str
    reads: frozenset[str]          # household-level names
    item_reads: frozenset[tuple[str, str]]   # (list, field) read inside aggregates
    fn: Fn = attrs.field(repr=False, eq=False)

    def __call__(self, env: dict, item: Any = None) -> Any:
        return self.fn(env, item)


_BINOPS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
    ast.Div: operator.truediv, ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_BINOP_TEXT = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.FloorDiv: "//",
               ast.Mod: "%", ast.Pow: "**"}
_CMPOPS: dict[type, Callable[[Any, Any], bool]] = {
    ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt, ast.LtE: operator.le,
    ast.Gt: operator.gt, ast.GtE: operator.ge,
    ast.In: lambda a, b: a in b, ast.NotIn: lambda a, b: a not in b,
}
_ALLOWED = (ast.Expression, ast.BoolOp, ast.And, ast.Or, ast.UnaryOp, ast.Not, ast.USub, ast.UAdd,
            ast.BinOp, ast.Compare, ast.IfExp, ast.Name, ast.Load, ast.Constant, ast.Call,
            ast.List, ast.Tuple, *_BINOPS, *_CMPOPS)
_REFUSED_WORDS = {
    ast.Attribute: "attribute access (a.b) is not part of the language; use the field's own name",
    ast.Subscript: "indexing (a[i]) is not part of the language; use count/any/sum over the list",
    ast.Lambda: "lambda is not part of the language",
    ast.NamedExpr: "assignment (:=) is not part of the language",
    ast.ListComp: "comprehensions are not part of the language; use count/any/sum over the list",
    ast.GeneratorExp: "comprehensions are not part of the language; use count/any/sum",
    ast.Dict: "dictionaries are not part of the language",
    ast.Set: "sets are not part of the language; use a list [a, b]",
    ast.JoinedStr: "f-strings are not part of the language",
    ast.Starred: "*args is not part of the language",
}


def _type_name(t: str) -> str:
    if t.startswith("list:"):
        return "a list"
    return {NUM: "a number", BOOL: "a yes/no value", STR: "text", DATE: "a date"}.get(
        t, "a value of " + t.split(":", 1)[-1] if ":" in t else t)


class _Compiler:
    def __init__(self, source: str, ns: Namespace) -> None:
        self.source = source
        self.ns = ns
        self.reads: set[str] = set()
        self.item_reads: set[tuple[str, str]] = set()
        self.outer: list[str] = []     # enclosing aggregates' lists, outermost first

    # -- errors --------------------------------------------------------------------------------
    def fail(self, node: ast.AST | None, message: str) -> ExpressionError:
        offset = getattr(node, "col_offset", None)
        return ExpressionError(message, source=self.source, offset=offset)

    def seg(self, node: ast.AST) -> str:
        return ast.get_source_segment(self.source, node) or ast.unparse(node)

    # -- entry ---------------------------------------------------------------------------------
    def compile(self) -> Compiled:
        tree = self.parse()
        fn, typ = self.node(tree.body, None)
        return Compiled(self.source, typ, frozenset(self.reads), frozenset(self.item_reads), fn)

    def parse(self) -> ast.Expression:
        if not isinstance(self.source, str) or not self.source.strip():
            raise ExpressionError("an expression must be non-empty text", source=str(self.source))
        if len(self.source) > MAX_SOURCE:
            raise ExpressionError(f"expression is {len(self.source)} characters long; at most "
                                  f"{MAX_SOURCE} are allowed (split it into computed values)",
                                  source=self.source[:80])
        try:
            tree = ast.parse(self.source.strip(), mode="eval")
        except SyntaxError as e:
            raise ExpressionError(f"syntax error: {e.msg} (at character {e.offset})",
                                  source=self.source, offset=e.offset) from None
        self.source = self.source.strip()
        count = 0
        stack = [(tree, 0)]
        while stack:
            node, depth = stack.pop()
            count += 1
            if count > MAX_NODES:
                raise self.fail(None, f"expression has more than {MAX_NODES} parts; split it into "
                                      f"computed values")
            if depth > MAX_DEPTH:
                raise self.fail(node, f"expression is nested more than {MAX_DEPTH} levels deep")
            if not isinstance(node, _ALLOWED):
                word = _REFUSED_WORDS.get(type(node), f"{type(node).__name__} is not part of the "
                                                      f"language")
                raise self.fail(node, f"{word}: {self.seg(node)!r}")
            stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))
        return tree

    # -- nodes ---------------------------------------------------------------------------------
    def node(self, n: ast.AST, item: str | None) -> tuple[Fn, str]:
        method = getattr(self, "n_" + type(n).__name__)
        return method(n, item)

    def n_Constant(self, n: ast.Constant, item: str | None) -> tuple[Fn, str]:
        v = n.value
        if isinstance(v, bool):
            typ = BOOL
        elif isinstance(v, (int, float)):
            typ = NUM
        elif isinstance(v, str):
            if len(v) > MAX_STRING:
                raise self.fail(n, f"text constant longer than {MAX_STRING} characters")
            typ = STR
        else:
            raise self.fail(n, f"constant {v!r} is not a number, text or true/false")
        return (lambda env, it, _v=v: _v), typ

    def n_Name(self, n: ast.Name, item: str | None) -> tuple[Fn, str]:
        name = n.id
        if name in ("True", "False", "None"):
            raise self.fail(n, f"{name} is not a name here")
        ref = None
        if item is not None:
            ref = self.ns.lists.get(item, {}).get(name)
        if ref is None:
            # a field of an enclosing aggregate's item, e.g. `worker` of a work line inside
            # sum(work, ... any(members, name == worker ...))
            for depth, outer in enumerate(reversed(self.outer), start=1):
                oref = self.ns.lists.get(outer, {}).get(name)
                if oref is not None:
                    return self._load_outer(outer, oref, depth)
        if ref is None:
            ref = self.ns.names.get(name)
        if ref is None:
            close = difflib.get_close_matches(name, self.ns.candidates(item), n=1, cutoff=0.6)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise self.fail(n, f"name {name!r} is not defined{hint}")
        if ref.scope == "item":
            self.item_reads.add((item, ref.key))
            key = ref.key

            def load_item(env: dict, it: Any, _k: str = key) -> Any:
                v = it.get(_k)
                if v is None:
                    return Unknown((f"{it[ITEM_PATH]}.{_k}",))
                return v
            return load_item, ref.type
        self.reads.add(ref.key)
        key = ref.key

        def load(env: dict, it: Any, _k: str = key) -> Any:
            v = env.get(_k)
            if v is None:
                return Unknown((_k,))
            return v
        return load, ref.type

    def _load_outer(self, outer: str, ref: Ref, depth: int) -> tuple[Fn, str]:
        self.item_reads.add((outer, ref.key))
        key = ref.key

        def load_outer(env: dict, it: Any, _k: str = key, _d: int = depth) -> Any:
            for _ in range(_d):
                it = it[OUTER]
            v = it.get(_k)
            if v is None:
                return Unknown((f"{it[ITEM_PATH]}.{_k}",))
            return v
        return load_outer, ref.type

    def n_List(self, n: ast.List | ast.Tuple, item: str | None) -> tuple[Fn, str]:
        if not all(isinstance(e, ast.Constant) for e in n.elts):
            raise self.fail(n, "a list may hold only constants, e.g. [\"高中\", \"中职\"]")
        values = tuple(e.value for e in n.elts)
        types = {self.n_Constant(e, item)[1] for e in n.elts}
        if len(types) > 1:
            raise self.fail(n, f"a list must hold values of one type (got {self.seg(n)})")
        return (lambda env, it, _v=values: _v), "list:" + (types.pop() if types else ANY)

    n_Tuple = n_List

    def n_UnaryOp(self, n: ast.UnaryOp, item: str | None) -> tuple[Fn, str]:
        f, t = self.node(n.operand, item)
        if isinstance(n.op, ast.Not):
            self.expect(n.operand, t, BOOL, "not")

            def not_(env: dict, it: Any) -> Any:
                v = f(env, it)
                return v if v.__class__ is Unknown else not v
            return not_, BOOL
        self.expect(n.operand, t, NUM, "-")
        sign = -1 if isinstance(n.op, ast.USub) else 1

        def neg(env: dict, it: Any) -> Any:
            v = f(env, it)
            return v if v.__class__ is Unknown else sign * v
        return neg, NUM

    def n_BoolOp(self, n: ast.BoolOp, item: str | None) -> tuple[Fn, str]:
        parts = []
        for v in n.values:
            f, t = self.node(v, item)
            self.expect(v, t, BOOL, "and" if isinstance(n.op, ast.And) else "or")
            parts.append(f)
        decisive = not isinstance(n.op, ast.And)   # False decides "and", True decides "or"

        def boolop(env: dict, it: Any) -> Any:
            unknown = None
            for f in parts:
                v = f(env, it)
                if v.__class__ is Unknown:
                    unknown = v if unknown is None else merge(unknown, v)
                elif v is decisive:
                    return decisive
            return unknown if unknown is not None else not decisive
        return boolop, BOOL

    def n_BinOp(self, n: ast.BinOp, item: str | None) -> tuple[Fn, str]:
        lf, lt = self.node(n.left, item)
        rf, rt = self.node(n.right, item)
        sym = _BINOP_TEXT[type(n.op)]
        self.expect(n.left, lt, NUM, sym)
        self.expect(n.right, rt, NUM, sym)
        op = _BINOPS[type(n.op)]
        text, right_text = self.seg(n), self.seg(n.right)
        is_div = isinstance(n.op, (ast.Div, ast.FloorDiv, ast.Mod))
        is_pow = isinstance(n.op, ast.Pow)

        def binop(env: dict, it: Any) -> Any:
            a = lf(env, it)
            b = rf(env, it)
            if a.__class__ is Unknown or b.__class__ is Unknown:
                return merge(a, b)
            if is_div and b == 0:
                raise EvaluationError(f"division by zero in {text!r}: {right_text} = 0",
                                      expression=text, values={right_text: b})
            if is_pow and (abs(b) > MAX_POWER or abs(a) > MAX_POWER):
                raise EvaluationError(f"power too large in {text!r}: at most {MAX_POWER} allowed",
                                      expression=text, values={"base": a, "exponent": b})
            return op(a, b)
        return binop, NUM

    def n_Compare(self, n: ast.Compare, item: str | None) -> tuple[Fn, str]:
        left_node = n.left
        lf, lt = self.node(left_node, item)
        steps = []
        for op, right_node in zip(n.ops, n.comparators):
            rf, rt = self.node(right_node, item)
            lf, rf = self.compare_types(n, op, left_node, lf, lt, right_node, rf, rt)
            steps.append((lf, _CMPOPS[type(op)], rf))
            left_node, lf, lt = right_node, rf, rt

        def compare(env: dict, it: Any) -> Any:
            unknown = None
            for lf, op, rf in steps:
                a, b = lf(env, it), rf(env, it)
                if a.__class__ is Unknown or b.__class__ is Unknown:
                    settled = _by_bounds(op, a, b)
                    if settled is False:
                        return False
                    if settled is None:
                        unknown = merge(a, b) if unknown is None else merge(unknown, a, b)
                elif not op(a, b):
                    return False
            return unknown if unknown is not None else True
        return compare, BOOL

    def compare_types(self, n: ast.AST, op: ast.cmpop, ln: ast.AST, lf: Fn, lt: str,
                      rn: ast.AST, rf: Fn, rt: str) -> tuple[Fn, Fn]:
        """Check the two sides can be compared; turn Chinese enum constants into their codes."""
        if isinstance(op, (ast.In, ast.NotIn)):
            if not rt.startswith("list:"):
                raise self.fail(rn, f"'in' needs a list on its right, e.g. [\"高中\", \"中职\"] "
                                    f"(got {self.seg(rn)!r})")
            elem = rt.split(":", 1)[1]
            if elem.startswith("enum:") and isinstance(ln, ast.Constant):
                code = self.enum_code(elem, ln)
                return (lambda env, it, _v=code: _v), rf
            if lt.startswith("enum:") and isinstance(rn, (ast.List, ast.Tuple)):
                codes = tuple(self.enum_code(lt, e) for e in rn.elts)
                return lf, (lambda env, it, _v=codes: _v)
            if lt.startswith("enum:") and elem == STR:
                # a text-list parameter holding the enum's values (Chinese or codes)
                to_code = {**{c: c for c in self.ns.enums[lt[5:]]},
                           **{zh: c for c, zh in self.ns.enums[lt[5:]].items()}}

                def codes_of(env: dict, it: Any, _f: Fn = rf, _m: dict = to_code) -> Any:
                    v = _f(env, it)
                    return v if v.__class__ is Unknown else tuple(_m.get(x, x) for x in v)
                return lf, codes_of
            if elem not in (lt, ANY) and lt != ANY:
                raise self.fail(n, f"cannot look for {_type_name(lt)} in a list of {_type_name(elem)}")
            return lf, rf
        if lt.startswith("enum:") and isinstance(rn, ast.Constant):
            code = self.enum_code(lt, rn)
            return lf, (lambda env, it, _v=code: _v)
        if rt.startswith("enum:") and isinstance(ln, ast.Constant):
            code = self.enum_code(rt, ln)
            return (lambda env, it, _v=code: _v), rf
        if ANY not in (lt, rt) and lt != rt:
            raise self.fail(n, f"cannot compare {_type_name(lt)} ({self.seg(ln)}) with "
                               f"{_type_name(rt)} ({self.seg(rn)})")
        if lt == BOOL and not isinstance(op, (ast.Eq, ast.NotEq)):
            raise self.fail(n, "yes/no values can only be compared with == or !=")
        return lf, rf

    def enum_code(self, typ: str, const: ast.AST) -> str:
        enum = typ.split(":", 1)[1]
        values = self.ns.enums[enum]
        v = getattr(const, "value", None)
        if v in values:
            return v
        for code, zh in values.items():
            if v == zh:
                return code
        allowed = "、".join(f"{zh} ({code})" for code, zh in values.items())
        close = difflib.get_close_matches(str(v), list(values.values()) + list(values), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise self.fail(const, f"{v!r} is not a value of {enum}{hint}; allowed: {allowed}")

    def n_IfExp(self, n: ast.IfExp, item: str | None) -> tuple[Fn, str]:
        tf, tt = self.node(n.test, item)
        self.expect(n.test, tt, BOOL, "if")
        af, at = self.node(n.body, item)
        bf, bt = self.node(n.orelse, item)
        if ANY not in (at, bt) and at != bt:
            raise self.fail(n, f"both branches of 'x if c else y' must have one type "
                               f"(got {_type_name(at)} and {_type_name(bt)})")

        def ifexp(env: dict, it: Any) -> Any:
            c = tf(env, it)
            if c.__class__ is Unknown:
                a, b = af(env, it), bf(env, it)
                if a.__class__ is not Unknown and b.__class__ is not Unknown and a == b:
                    return a
                return merge(c, a, b)
            return af(env, it) if c else bf(env, it)
        return ifexp, at if at != ANY else bt

    def n_Call(self, n: ast.Call, item: str | None) -> tuple[Fn, str]:
        if not isinstance(n.func, ast.Name):
            raise self.fail(n, f"only the language's own functions can be called (got "
                               f"{self.seg(n.func)!r})")
        if n.keywords:
            raise self.fail(n, "functions take positional arguments only")
        name = n.func.id
        first_is_list = bool(n.args) and isinstance(n.args[0], ast.Name) and \
            n.args[0].id in self.ns.lists and n.args[0].id != item and n.args[0].id not in self.outer
        if name in F.AGGREGATES and first_is_list:
            return self.aggregate(n, name, item)
        if name == "known":
            return self.known(n, item)
        if name == "age_on":
            return self.age_on(n, item)
        spec = F.FUNCTIONS.get(name)
        if spec is None:
            allowed = sorted(set(F.FUNCTIONS) | set(F.AGGREGATES) | set(F.SPECIAL))
            close = difflib.get_close_matches(name, allowed, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise self.fail(n, f"function {name!r} is not available{hint}; the functions are: "
                               f"{', '.join(allowed)}")
        args = [self.node(a, item) for a in n.args]
        self.check_args(n, name, spec, args)
        fns = [f for f, _ in args]
        call = spec.fn
        text = self.seg(n)

        def apply(env: dict, it: Any) -> Any:
            values = [f(env, it) for f in fns]
            for v in values:
                if v.__class__ is Unknown:
                    return merge(*values)
            try:
                return call(*values)
            except EvaluationError:
                raise
            except (ValueError, TypeError, OverflowError, ArithmeticError) as e:
                raise EvaluationError(f"{text!r} failed: {e}", expression=text) from None
        return apply, spec.result

    def check_args(self, n: ast.Call, name: str, spec: F.Function,
                   args: list[tuple[Fn, str]]) -> None:
        want = spec.args
        if want and want[0].startswith("*"):
            if not args:
                raise self.fail(n, f"{name}() needs at least one argument")
            want = tuple(want[0][1:] for _ in args)
        elif len(args) != len(want) and not (name == "round" and len(args) == 1):
            raise self.fail(n, f"{name}() takes {len(want)} argument(s) (got {len(args)}): "
                               f"{spec.doc}")
        for a, (_, t), w in zip(n.args, args, want):
            if w == "list:date" and t == "list:any":
                continue
            self.expect(a, t, w, f"{name}()")

    def aggregate(self, n: ast.Call, name: str, item: str | None) -> tuple[Fn, str]:
        list_name = n.args[0].id
        list_f, _ = self.n_Name(n.args[0], None)
        nested = item is not None
        if len(n.args) == 1:
            if name != "count":
                raise self.fail(n, f"{name}(list, expr) needs an expression to apply to each item")
            body, bt = None, BOOL
        elif len(n.args) == 2:
            if len(self.outer) + (1 if nested else 0) >= MAX_AGGREGATE_NESTING:
                raise self.fail(n, f"aggregates nest at most {MAX_AGGREGATE_NESTING} deep (this one "
                                   f"is inside {len(self.outer) + 1}); compute the inner part as a "
                                   f"member value (per: members) first")
            if nested:
                self.outer.append(item)
            try:
                body, bt = self.node(n.args[1], list_name)
            finally:
                if nested:
                    self.outer.pop()
        else:
            raise self.fail(n, f"{F.AGGREGATES[name]}")
        if name in ("count", "any", "all"):
            self.expect(n.args[1] if body else n, bt, BOOL, f"{name}()")
        else:
            self.expect(n.args[1], bt, NUM, f"{name}()")

        def agg(env: dict, it: Any) -> Any:
            items = list_f(env, it)
            if items.__class__ is Unknown:
                return items
            if body is None:
                return len(items)
            if nested:
                for x in items:
                    x[OUTER] = it
            values = [body(env, x) for x in items]
            unknown = [v for v in values if v.__class__ is Unknown]
            if name == "any":
                return True if any(v is True for v in values) else (merge(*unknown) if unknown else False)
            if name == "all":
                return False if any(v is False for v in values) else (merge(*unknown) if unknown else True)
            if name == "count":
                known_true = sum(1 for v in values if v is True)
                if unknown:
                    return Unknown(merge(*unknown).missing, (known_true, known_true + len(unknown)))
                return known_true
            if unknown:
                return merge(*unknown)
            if name == "sum":
                return sum(values)
            if not values:
                raise EvaluationError(f"{name}() over an empty list {list_name!r} has no value")
            return min(values) if name == "min" else max(values)
        return agg, (BOOL if name in ("any", "all") else NUM)

    def known(self, n: ast.Call, item: str | None) -> tuple[Fn, str]:
        if len(n.args) != 1:
            raise self.fail(n, F.SPECIAL["known"])
        f, _ = self.node(n.args[0], item)
        return (lambda env, it: f(env, it).__class__ is not Unknown), BOOL

    def age_on(self, n: ast.Call, item: str | None) -> tuple[Fn, str]:
        if item != "members" or len(n.args) != 1:
            raise self.fail(n, "age_on(d) is used inside a members aggregate, e.g. "
                               "count(members, age_on(date(\"2023-09-30\")) >= 60)")
        f, t = self.node(n.args[0], item)
        self.expect(n.args[0], t, DATE, "age_on()")
        self.item_reads.add(("members", "birth_date"))

        def age(env: dict, it: Any) -> Any:
            on = f(env, it)
            birth = it.get("birth_date")
            if on.__class__ is Unknown:
                return on
            if birth is None:
                return Unknown((f"{it[ITEM_PATH]}.birth_date",))
            return F.age_on(birth, on)
        return age, NUM

    def expect(self, node: ast.AST, got: str, want: str, where: str) -> None:
        if got == want or ANY in (got, want):
            return
        if want == STR and got.startswith("enum:"):
            return
        raise self.fail(node, f"{where} needs {_type_name(want)} but {self.seg(node)!r} is "
                              f"{_type_name(got)}")


def _by_bounds(op: Callable[[Any, Any], bool], a: Any, b: Any) -> bool | None:
    """Decide a comparison of a partly known count when both of its bounds agree."""
    if a.__class__ is Unknown and a.bounds is not None and b.__class__ is not Unknown:
        lo, hi = op(a.bounds[0], b), op(a.bounds[1], b)
    elif b.__class__ is Unknown and b.bounds is not None and a.__class__ is not Unknown:
        lo, hi = op(a, b.bounds[0]), op(a, b.bounds[1])
    else:
        return None
    if op in (operator.eq, operator.ne) and a.__class__ is Unknown and a.bounds[0] != a.bounds[1] \
            or op in (operator.eq, operator.ne) and b.__class__ is Unknown and b.bounds[0] != b.bounds[1]:
        # equality can only be settled when the value is outside the range
        lo_b, hi_b = (a.bounds if a.__class__ is Unknown else b.bounds)
        other = b if a.__class__ is Unknown else a
        if lo_b <= other <= hi_b:
            return None
        return op is operator.ne
    return lo if lo == hi else None


def compile_expression(source: str, ns: Namespace, *, want: str | None = None) -> Compiled:
    """Compile `source` against `ns`; raises ExpressionError naming what is wrong and the fix."""
    compiler = _Compiler(source, ns)
    compiled = compiler.compile()
    if want and compiled.type not in (want, ANY):
        raise ExpressionError(f"this expression must give {_type_name(want)} but gives "
                              f"{_type_name(compiled.type)}: {compiled.source!r}", source=source)
    return compiled


def names_in(source: str) -> Iterable[str]:
    """Names used in an expression (for dependency ordering before compilation)."""
    try:
        tree = ast.parse(source.strip(), mode="eval")
    except SyntaxError:
        return []
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
