"""The functions an expression may call, besides the member/list aggregates.

Each takes plain values (the compiler short-circuits Unknown arguments before the call) and is
pure. Signatures are declared for the compiler's type check: argument types and result type.
"""
from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Callable
from typing import Any

import attrs

from rulekit.errors import EvaluationError
from rulekit.expr.values import Unknown

NUM, BOOL, STR, DATE, ANY, DATES = "num", "bool", "str", "date", "any", "list:date"


@attrs.frozen
class Function:
    fn: Callable[..., Any]
    args: tuple[str, ...]           # types of the arguments; "*num" = any number of numbers
    result: str
    doc: str


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except (TypeError, ValueError):
        raise EvaluationError(f"date() needs text written YYYY-MM-DD (got {text!r})") from None


def _safe_div(a: float, b: float, if_zero: float) -> float:
    return if_zero if b == 0 else a / b


def _add_months(d: dt.date, months: float) -> dt.date:
    if months != int(months):
        raise EvaluationError(f"add_months() needs a whole number of months (got {months!r})")
    total = d.year * 12 + d.month - 1 + int(months)
    year, month = divmod(total, 12)
    day = min(d.day, calendar.monthrange(year, month + 1)[1])
    return dt.date(year, month + 1, day)


def _next_month_start(d: dt.date) -> dt.date:
    return dt.date(d.year + (d.month == 12), d.month % 12 + 1, 1)


def _quarter_start(d: dt.date) -> dt.date:
    return dt.date(d.year, 3 * ((d.month - 1) // 3) + 1, 1)


def _days_between(a: dt.date, b: dt.date) -> int:
    return (b - a).days


def _working_days(start: dt.date, end: dt.date, holidays: tuple, workdays: tuple,
                  covered_until: dt.date) -> int | Unknown:
    """Working days from start to end inclusive: Monday to Friday less the public holidays, plus
    the weekend days declared working days (调休). Unknown outside the calendar's coverage (from 1
    January of the first year it lists to covered_until), since a holiday there cannot be known."""
    if end < start:
        return 0
    if (end - start).days > 3660:
        raise EvaluationError("working_days() spans more than ten years; check the dates")
    if end > covered_until:
        return Unknown((f"holiday calendar covers dates up to {covered_until.isoformat()} only "
                        f"(needed up to {end.isoformat()})",))
    if holidays:
        # the calendar starts with the first year it lists: earlier holidays are not known
        covered_from = dt.date(min(holidays).year, 1, 1)
        if start < covered_from:
            return Unknown((f"holiday calendar covers dates from {covered_from.isoformat()} only "
                            f"(needed from {start.isoformat()})",))
    off, on = set(holidays), set(workdays)
    days = 0
    d = start
    while d <= end:
        if d in on or (d.weekday() < 5 and d not in off):
            days += 1
        d += dt.timedelta(days=1)
    return days


def age_on(birth: dt.date, on: dt.date) -> int:
    """Whole years completed on `on` (a birthday counts on its own day)."""
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


FUNCTIONS: dict[str, Function] = {
    "abs": Function(abs, (NUM,), NUM, "absolute value"),
    "round": Function(lambda x, n=0: round(x, int(n)), (NUM, NUM), NUM,
                      "round(x, digits): rounded half to even"),
    "min": Function(min, ("*num",), NUM, "min(a, b, ...): the smallest; min(list, expr) over a list"),
    "max": Function(max, ("*num",), NUM, "max(a, b, ...): the largest; max(list, expr) over a list"),
    "safe_div": Function(_safe_div, (NUM, NUM, NUM), NUM,
                         "safe_div(a, b, if_zero): a / b, or if_zero when b is 0"),
    "date": Function(_date, (STR,), DATE, 'date("2020-10-01"): a date'),
    "add_months": Function(_add_months, (DATE, NUM), DATE, "add_months(d, n): n months after d"),
    "add_years": Function(lambda d, n: _add_months(d, n * 12), (DATE, NUM), DATE,
                          "add_years(d, n): n years after d"),
    "next_month_start": Function(_next_month_start, (DATE,), DATE,
                                 "next_month_start(d): the first day of the month after d"),
    "month_start": Function(lambda d: d.replace(day=1), (DATE,), DATE,
                            "month_start(d): the first day of d's month"),
    "quarter_start": Function(_quarter_start, (DATE,), DATE,
                              "quarter_start(d): the first day of d's calendar quarter"),
    "year_start": Function(lambda d: dt.date(d.year, 1, 1), (DATE,), DATE,
                           "year_start(d): 1 January of d's year"),
    "days_between": Function(_days_between, (DATE, DATE), NUM,
                             "days_between(a, b): days from a to b (b - a)"),
    "working_days": Function(_working_days, (DATE, DATE, DATES, DATES, DATE), NUM,
                             "working_days(start, end, holidays, workdays, covered_until): "
                             "Mon-Fri from start to end inclusive, less the holidays, plus the "
                             "weekend days made working days; unknown past covered_until"),
}

# functions whose first argument is a list and whose second is evaluated once per item
AGGREGATES = {
    "count": "count(list) or count(list, condition): how many items (that meet the condition)",
    "any": "any(list, condition): some item meets the condition",
    "all": "all(list, condition): every item meets the condition",
    "sum": "sum(list, expr): the total of expr over the items",
    "min": "min(list, expr): the smallest value of expr over the items",
    "max": "max(list, expr): the largest value of expr over the items",
}

# functions that look at a value without needing it to be known
SPECIAL = {
    "known": "known(x): true when x is known (a given fact or a value computed from given facts)",
    "age_on": "age_on(d): inside a members aggregate, the member's age in whole years on date d",
}
