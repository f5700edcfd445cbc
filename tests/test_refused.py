"""What the expression language deliberately refuses: known escapes from Python sandboxes and
from simpleeval, each refused at compile time with a sentence that says why."""
from __future__ import annotations

import pytest

from rulekit import EvaluationError, ExpressionError
from rulekit.engine.compile import record_namespace
from rulekit.expr.compiler import MAX_NODES, MAX_SOURCE, compile_expression

NS = record_namespace()

ESCAPES = [
    '__import__("os").system("id")',
    "().__class__.__bases__[0].__subclasses__()",
    "dividend.__class__",
    '"".__class__.__mro__[1].__subclasses__()',
    'getattr(dividend, "__class__")',
    'eval("1")',
    'exec("x=1")',
    'open("/etc/passwd")',
    "(lambda: 1)()",
    "[x for x in members]",
    "{}.keys()",
    "members[0]",
    "(x := 1)",
    'f"{dividend}"',
    "type(dividend)",
    "globals()",
    "__builtins__",
    "dividend.real",
    "{1, 2}",
    "sum.__self__",
    "max(*members)",
    'format("{0.__class__}", dividend)',
    # simpleeval issue #138: reaching frames through a generator or coroutine of a given object
    "members.gi_frame.f_globals",
    "x.bar().gi_frame.f_globals['__builtins__']",
    "x.cr_frame",
    '"{0.__class__}".format(dividend)',
    "().__class__.__base__.__subclasses__()",
    "[].__class__.__mro__[-1]",
    "(1).__class__",
    '__import__("subprocess").run("id")',
    "breakpoint()",
    "vars()",
    "dir()",
    "compile('1', 'x', 'eval')",
]


@pytest.mark.parametrize("src, message", [
    ('"a" * 100000000', "needs a number"),
    ("[1] * 1000000", "a list"),
    ('"a" + "b"', "needs a number"),
])
def test_growth_of_text_and_lists_is_refused(src: str, message: str) -> None:
    """Text and lists cannot be multiplied or concatenated: nothing in the language grows them."""
    with pytest.raises(ExpressionError, match=message):
        compile_expression(src, NS)


def test_exponent_towers_are_stopped_at_run_time() -> None:
    f = compile_expression("dividend ** dividend ** dividend", NS)
    with pytest.raises(EvaluationError, match="power too large"):
        f({"dividend": 9})


@pytest.mark.parametrize("src", ESCAPES)
def test_escape_is_refused_at_compile_time(src: str) -> None:
    with pytest.raises(ExpressionError) as e:
        compile_expression(src, NS)
    assert str(e.value)   # a sentence, not an empty error


def test_data_strings_are_only_strings() -> None:
    """A record field holding '__class__' is compared as text, never looked up."""
    f = compile_expression('any(vehicles, use == "消费型")', NS)
    assert f({"vehicles": [{"#path": "vehicles[0]", "use": "__class__"}]}) is False


def test_power_is_bounded() -> None:
    f = compile_expression("dividend ** land_rent", NS)
    with pytest.raises(EvaluationError, match="power too large"):
        f({"dividend": 10, "land_rent": 10_000_000})


def test_expression_size_is_bounded() -> None:
    with pytest.raises(ExpressionError, match=f"at most {MAX_SOURCE}"):
        compile_expression("1 + " * 600 + "1", NS)
    deep = "(" * 60 + "1" + ")" * 60
    compile_expression(deep, NS)   # parentheses alone do not nest the tree
    with pytest.raises(ExpressionError, match="parts|nested"):
        compile_expression("1 + " * (MAX_NODES // 2 + 10) + "1", NS)


def test_aggregates_nest_at_most_two_deep() -> None:
    """With lists capped at 500 items by the record schema, one expression visits at most
    500 x 500 items."""
    compile_expression("sum(work, 1 if any(members, name == worker) else 0)", NS)
    with pytest.raises(ExpressionError, match="aggregates nest at most 2 deep"):
        compile_expression("sum(work, 1 if any(members, any(vehicles, price > 0)) else 0)", NS)


def test_largest_record_evaluates_in_bounded_time(example: dict) -> None:
    """A record at the schema's limits (500 members, 500 work lines) is evaluated, not refused
    for size, and the nested aggregate over both finishes."""
    import rulekit
    big = dict(example)
    big["members"] = [dict(example["members"][1], **{"姓名": f"成员{i}"}) for i in range(500)]
    big["income"] = dict(example["income"], work=[
        {"worker": f"成员{i}", "local_days": 0, "local_daily_wage": 0, "outside_months": 1,
         "outside_monthly_wage": 100, "in_kind": 0} for i in range(500)])
    r = rulekit.load_pack("yuxi").evaluate(big)
    assert r.value("A2") == 500 * 100
