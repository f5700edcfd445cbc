"""The expression language: compile-time checks, three-valued logic, evaluation errors."""
from __future__ import annotations

import datetime as dt

import pytest

from rulekit import EvaluationError, ExpressionError
from rulekit.engine.compile import record_namespace
from rulekit.expr.compiler import ITEM_PATH, compile_expression
from rulekit.expr.values import Unknown

NS = record_namespace()


def ev(src: str, env: dict | None = None) -> object:
    return compile_expression(src, NS)(env or {})


def members(*ms: dict) -> list[dict]:
    return [{ITEM_PATH: f"members[{i}]", **m} for i, m in enumerate(ms)]


def test_missing_fact_is_unknown_and_named() -> None:
    """A fact the record does not give is Unknown naming it, never 0 or False."""
    assert ev("dividend > 0") == Unknown({"dividend"})
    assert ev("dividend + land_rent", {"land_rent": 5}) == Unknown({"dividend"})


def test_kleene_and_or() -> None:
    """A known False decides 'and', a known True decides 'or', whatever else is unknown."""
    assert ev("urban_property and dividend > 0", {"urban_property": False}) is False
    assert ev("urban_property or dividend > 0", {"urban_property": True}) is True
    assert ev("urban_property and dividend > 0", {"urban_property": True}) == Unknown({"dividend"})
    assert ev("not urban_property") == Unknown({"urban_property"})


def test_if_expression_with_unknown_condition() -> None:
    assert ev("1 if urban_property else 1") == 1
    assert ev("1 if urban_property else 2") == Unknown({"urban_property"})


def test_member_aggregates_with_chinese_values() -> None:
    env = {"members": members({"health": "serious_illness"}, {"health": "healthy"})}
    assert ev('count(members, health == "患有大病") >= 1', env) is True
    assert ev('any(members, health == "残疾")', env) is False
    assert ev('all(members, health == "健康")', env) is False


def test_any_is_decided_by_one_known_member() -> None:
    """any() is true when one member is known to qualify, even if another is unknown."""
    env = {"members": members({"health": "serious_illness"}, {})}
    assert ev('any(members, health == "患有大病")', env) is True
    assert ev('count(members, health == "患有大病")', env) == Unknown({"members[1].health"})


def test_age_on_uses_birth_date() -> None:
    env = {"members": members({"birth_date": dt.date(1960, 6, 30)})}
    assert ev('any(members, age_on(date("2020-06-30")) >= 60)', env) is True
    assert ev('any(members, age_on(date("2020-06-29")) >= 60)', env) is False


def test_division_by_zero_names_expression_and_value() -> None:
    with pytest.raises(EvaluationError, match=r"division by zero in 'dividend / land_rent': land_rent = 0"):
        ev("dividend / land_rent", {"dividend": 1, "land_rent": 0})


def test_safe_div_needs_an_explicit_fallback() -> None:
    assert ev("safe_div(dividend, land_rent, 0)", {"dividend": 1, "land_rent": 0}) == 0
    with pytest.raises(ExpressionError, match=r"safe_div\(\) takes 3 argument"):
        ev("safe_div(dividend, land_rent)")


@pytest.mark.parametrize("src, message", [
    ("dividnd > 0", "name 'dividnd' is not defined (did you mean 'dividend'?)"),
    ("urban_property > 1", "cannot compare a yes/no value"),
    ("dividend and urban_property", "and needs a yes/no value but 'dividend' is a number"),
    ('any(members, health == "大病")', "'大病' is not a value of health (did you mean '患有大病'?)"),
    ("collected_on > 5", "cannot compare a date (collected_on) with a number (5)"),
    ("dividend +", "syntax error"),
    ("frobnicate(1)", "function 'frobnicate' is not available"),
    ('"a" in dividend', "'in' needs a list on its right"),
    ("1 if urban_property else date(\"2020-01-01\")", "both branches"),
])
def test_compile_errors_say_what_and_how(src: str, message: str) -> None:
    with pytest.raises(ExpressionError) as e:
        ev(src)
    assert message in str(e.value)


def test_whole_tree_is_checked_not_only_the_branch_taken() -> None:
    """simpleeval only checks the branch it evaluates; the compiler refuses the whole expression."""
    with pytest.raises(ExpressionError):
        ev('True or __import__("os")')
    with pytest.raises(ExpressionError):
        ev("1 if True else members.__class__")


def test_working_days_counts_makeup_days_and_knows_its_calendar() -> None:
    """Mon-Fri less holidays, plus weekend days made working days; unknown past the calendar."""
    from rulekit.expr.functions import FUNCTIONS
    wd = FUNCTIONS["working_days"].fn
    d = dt.date
    # 2022-07-01 is a Friday: Fri + Mon..Thu = 5 working days to 2022-07-07
    assert wd(d(2022, 7, 1), d(2022, 7, 7), (), (), d(2025, 12, 31)) == 5
    assert wd(d(2022, 7, 1), d(2022, 7, 7), (d(2022, 7, 4),), (), d(2025, 12, 31)) == 4
    assert wd(d(2022, 7, 1), d(2022, 7, 7), (), (d(2022, 7, 2),), d(2025, 12, 31)) == 6
    assert wd(d(2026, 1, 5), d(2026, 1, 9), (), (), d(2025, 12, 31)) == Unknown(
        {"holiday calendar covers dates up to 2025-12-31 only (needed up to 2026-01-09)"})
    # a calendar listing holidays from 2021 does not know 2020's National Day
    assert wd(d(2020, 9, 28), d(2020, 10, 9), (d(2021, 1, 1),), (), d(2025, 12, 31)) == Unknown(
        {"holiday calendar covers dates from 2021-01-01 only (needed from 2020-09-28)"})
    with pytest.raises(ExpressionError, match="a list may hold only constants"):
        compile_expression('working_days(publicity_start, publicity_end, [date("2022-07-04")], [], '
                           'publicity_end)', NS)


def test_nested_aggregate_reads_the_enclosing_item() -> None:
    """Inside sum(work, ...), any(members, name == worker) compares a member with the work line."""
    env = {"members": members({"name": "甲", "health": "healthy"}, {"name": "乙"}),
           "work": [{ITEM_PATH: "income.work[0]", "worker": "乙", "in_kind": 5},
                    {ITEM_PATH: "income.work[1]", "worker": "丙", "in_kind": 7}]}
    src = 'sum(work, in_kind if any(members, name == worker) else 0)'
    assert ev(src, env) == 5
    assert ev('sum(work, 1 if any(members, name == worker and health == "健康") else 0)', env) \
        == Unknown({"members[1].health"})


def test_partly_known_count_decides_comparisons_its_bounds_settle() -> None:
    """One member known ill and one unknown: count >= 1 holds, count >= 3 fails, == 1 is open."""
    env = {"members": members({"health": "serious_illness"}, {})}
    assert ev('count(members, health == "患有大病") >= 1', env) is True
    assert ev('count(members, health == "患有大病") >= 3', env) is False
    assert ev('count(members, health == "患有大病") == 5', env) is False
    assert ev('count(members, health == "患有大病") != 5', env) is True
    assert ev('count(members, health == "患有大病") == 1', env) == Unknown({"members[1].health"})
    assert ev('count(members, health == "患有大病") + 1 >= 2', env) == Unknown({"members[1].health"})
