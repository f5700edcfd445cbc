"""The compiled expression language against a reference interpreter (simpleeval): on random
well-formed expressions over random known values they agree on the value, or both fail."""
from __future__ import annotations

import math
import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from simpleeval import NumberTooHigh, SimpleEval

from rulekit.engine.compile import record_namespace
from rulekit.errors import EvaluationError
from rulekit.expr.compiler import compile_expression

NS = record_namespace()
NUMS = ["dividend", "land_rent", "house_rent", "other_property"]     # money facts
BOOLS = ["urban_property", "registered_company_operating", "large_grower_or_employer"]
EXAMPLES = int(os.environ.get("RULEKIT_FUZZ_EXAMPLES", "3000"))

number = st.one_of(st.integers(-50, 50).map(str), st.sampled_from(NUMS),
                   st.floats(-100, 100, allow_nan=False).map(lambda x: repr(round(x, 3))))


def _num(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.tuples(children, st.sampled_from(["+", "-", "*", "/", "//", "%"]), children)
          .map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        st.tuples(children, st.integers(0, 3)).map(lambda t: f"({t[0]} ** {t[1]})"),
        children.map(lambda a: f"(-{a})"),
        children.map(lambda a: f"abs({a})"),
        st.tuples(children, children).map(lambda t: f"max({t[0]}, {t[1]})"),
        st.tuples(children, children).map(lambda t: f"min({t[0]}, {t[1]})"),
    )


numeric = st.recursive(number, _num, max_leaves=8)
boolean = st.recursive(
    st.one_of(st.sampled_from(BOOLS), st.sampled_from(["True", "False"]),
              st.tuples(numeric, st.sampled_from(["<", "<=", ">", ">=", "==", "!="]), numeric)
                .map(lambda t: f"({t[0]} {t[1]} {t[2]})")),
    lambda c: st.one_of(
        st.tuples(c, st.sampled_from(["and", "or"]), c).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        c.map(lambda a: f"(not {a})"),
    ),
    max_leaves=6)
expression = st.one_of(
    numeric, boolean,
    st.tuples(numeric, boolean, numeric).map(lambda t: f"({t[0]} if {t[1]} else {t[2]})"))
environment = st.fixed_dictionaries(
    {**{n: st.one_of(st.integers(0, 1000), st.floats(0, 1000, allow_nan=False)) for n in NUMS},
     **{b: st.booleans() for b in BOOLS}})


def _outcome(fn, *args):
    try:
        return "value", fn(*args)
    except (ZeroDivisionError, EvaluationError, OverflowError, NumberTooHigh):
        return "error", None


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(expression, environment)
def test_compiled_expressions_agree_with_simpleeval(src: str, env: dict) -> None:
    ours = _outcome(compile_expression(src, NS), env)
    reference = _outcome(SimpleEval(names=env, functions={"abs": abs, "max": max, "min": min}).eval, src)
    assert ours[0] == reference[0], (src, env, ours, reference)
    if ours[0] == "value":
        a, b = ours[1], reference[1]
        if isinstance(a, float) or isinstance(b, float):
            assert math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12) or (math.isnan(a) and math.isnan(b))
        else:
            assert a == b and type(a) is type(b), (src, env, a, b)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(expression, environment)
def test_fast_path_translation_agrees_with_the_interpreter(src: str, env: dict) -> None:
    """The generated source for the same expression (the fast path) gives the same value, or an
    error where the interpreter gives one (the household then goes to the interpreter)."""
    from rulekit.engine.codegen import _Expr, _pow
    from rulekit.expr.functions import FUNCTIONS
    code = _Expr(NS, set()).source(src)
    names = {"env": env, "_pow": _pow, **{f"_f_{k}": f.fn for k, f in FUNCTIONS.items()},
             "__builtins__": {"abs": abs, "max": max, "min": min}}
    fast = _outcome(lambda: eval(code, names))           # noqa: S307 - generated from a checked tree
    ours = _outcome(compile_expression(src, NS), env)
    assert fast[0] == ours[0], (src, code, env, fast, ours)
    if ours[0] == "value":
        a, b = fast[1], ours[1]
        assert a == b or (isinstance(a, float) and math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12))
