"""Hypothesis strategies for household records: complete Yuxi-shaped ones, and arbitrary partial
ones generated from the record model (any subset of fields, values within their declared types)."""
from __future__ import annotations

import datetime as dt

import attrs
from hypothesis import strategies as st

from rulekit.record import model as M

money = st.one_of(st.just(0), st.integers(0, 60000), st.floats(0, 60000, allow_nan=False).map(
    lambda x: round(x, 2)))
dates = st.dates(dt.date(1930, 1, 1), dt.date(2022, 6, 30))


def _enum(name: str) -> st.SearchStrategy[str]:
    values = M.ENUMS[name]
    return st.sampled_from(list(values) + list(values.values()))


@st.composite
def member(draw: st.DrawFn) -> dict:
    birth = draw(dates)
    return {
        "name": draw(st.text(min_size=1, max_size=4)),
        "birth_date": birth.isoformat(),
        "health": draw(_enum("health")),
        "disability_grade": draw(st.integers(1, 4)),
        "labour_skill": draw(_enum("labour_skill")),
        "student_status": draw(_enum("student_status")),
        "work_months": draw(st.integers(0, 12)),
        "basic_medical_insurance": draw(st.booleans()),
        "public_servant": draw(st.booleans().filter(lambda b: True) if draw(st.integers(0, 20)) == 0
                               else st.just(False)),
        "village_cadre_paid": draw(st.booleans()) if draw(st.integers(0, 20)) == 0 else False,
        "disabled_elderly": draw(st.booleans()),
        "has_legal_guardian": draw(st.booleans()),
        "has_legal_supporter": draw(st.booleans()),
    }


def _lines(keys: tuple[str, ...]) -> st.SearchStrategy[list[dict]]:
    return st.lists(st.fixed_dictionaries({k: money for k in keys}), max_size=3)


@st.composite
def yuxi_record(draw: st.DrawFn) -> dict:
    """A complete record: every fact the Yuxi pack reads is given, so it decides."""
    flags = lambda: st.booleans()  # noqa: E731
    return {
        "id": f"H{draw(st.integers(0, 10**6))}",
        "collected_on": "2022-06-30",
        "alleviated": draw(flags()),
        "monitoring_category": draw(_enum("monitoring_category")),
        "members": draw(st.lists(member(), min_size=1, max_size=6)),
        "guarantees": {"housing_unsafe": draw(flags()), "dropout": draw(flags()),
                       "water_unsafe": draw(flags())},
        "risks": {"risk_types": draw(st.lists(_enum("risk_type"), max_size=2, unique=True)),
                  **{k: draw(flags()) for k in (
                      "sudden_event", "industry_failure", "major_family_change", "weak_economic_base",
                      "income_declining", "only_house_earthen", "has_industry_coverage",
                      "lacks_internal_drive")}},
        "income": {
            "crops": draw(_lines(("sales", "self_consumed", "cost"))),
            "livestock": draw(_lines(("sales", "self_consumed", "cost"))),
            "business": draw(_lines(("sales", "services", "cost"))),
            "work": draw(st.lists(st.fixed_dictionaries({
                "local_days": st.integers(0, 300), "local_daily_wage": st.integers(0, 200),
                "outside_months": st.integers(0, 12), "outside_monthly_wage": st.integers(0, 5000),
                "in_kind": money}), max_size=2)),
            **{k: draw(money) for k in (
                "dividend", "land_rent", "house_rent", "other_property", "family_planning",
                "dibao_income", "tekun_income", "pension_income", "eco_compensation",
                "other_transfer", "claims_income", "previous_net_income")},
        },
        "expenses": {"rigid_expenses": draw(st.lists(st.fixed_dictionaries({
            "kind": _enum("rigid_kind"), "amount": money}), max_size=3))},
        "assets": {
            "fixed_assets": draw(st.lists(st.fixed_dictionaries({
                "original_value": money, "usable": st.booleans()}), max_size=2)),
            "vehicles": draw(st.lists(st.fixed_dictionaries({
                "price": money, "purchase_date": dates.map(dt.date.isoformat),
                "use": _enum("vehicle_use")}), max_size=1)),
            **{k: draw(st.booleans()) if draw(st.integers(0, 10)) == 0 else False for k in (
                "urban_property", "registered_company_operating", "large_grower_or_employer")},
        },
        "conduct": {k: False for k in ("head_relatives_public_servant", "deliberate_split_merge",
                                       "empty_registered_household", "misconduct")},
        "elimination": {k: draw(flags()) for k in (
            "risk_stably_eliminated", "income_stable", "guarantees_consolidated",
            "consents_elimination")},
        "system_entry_date": draw(st.dates(dt.date(2021, 1, 1), dt.date(2023, 12, 31))).isoformat(),
        "procedure": _procedure(draw),
    }


def _procedure(draw: st.DrawFn) -> dict:
    start = draw(st.dates(dt.date(2021, 11, 1), dt.date(2025, 12, 1)))
    steps = [start + dt.timedelta(days=sum(draw(st.lists(st.integers(0, 6), min_size=i, max_size=i))))
             for i in range(5)]
    return {"village_review_date": steps[0].isoformat(), "publicity_start": steps[1].isoformat(),
            "publicity_end": steps[2].isoformat(), "town_review_date": steps[3].isoformat(),
            "county_review_date": steps[4].isoformat(), "publicity_offline": draw(st.booleans()),
            "publicity_online": draw(st.booleans()), "objections": draw(st.booleans())}


def _field_value(f: attrs.Attribute, depth: int) -> st.SearchStrategy:
    meta = f.metadata
    if "section" in meta:
        return partial_object(M.SECTIONS[f.name], depth + 1)
    kind, enum = meta["kind"], meta.get("enum")
    if kind == "local":
        return st.one_of(st.none(), st.just({}))
    if kind == "list":
        inner = partial_object(meta["item"], depth + 1) if meta.get("item") else _enum(enum)
        return st.lists(inner, max_size=3)
    if enum:
        return _enum(enum)
    lo, hi = meta.get("min"), meta.get("max")
    base = {
        M.MONEY: st.floats(0, 1e7, allow_nan=False),
        M.NUMBER: st.floats(lo or 0, hi or 1e6, allow_nan=False),
        M.COUNT: st.integers(int(lo or 0), int(hi or 100)),
        M.BOOL: st.booleans(),
        M.DATE: dates.map(dt.date.isoformat),
        M.TEXT: st.text(max_size=20),
    }[kind]
    return st.one_of(st.none(), base)


def partial_object(cls: type, depth: int = 0) -> st.SearchStrategy[dict]:
    """Any subset of the fields of `cls`, each with a value its schema allows."""
    fields = [f for f in attrs.fields(cls) if not f.metadata.get("required")]
    optional = {f.name: _field_value(f, depth) for f in fields
                if not (f.name == "age" and cls is M.Member)}
    required = {}
    if cls is M.Household:
        required = {"id": st.text(min_size=1, max_size=8),
                    "members": st.lists(partial_object(M.Member, depth + 1), min_size=1, max_size=4)}
    return st.fixed_dictionaries(required, optional=optional)
