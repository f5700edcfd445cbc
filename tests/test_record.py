"""The household record: aliases, Chinese values, located errors, nothing coerced or ignored."""
from __future__ import annotations

import copy
import datetime as dt
import json
import math
import pathlib

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rulekit import RecordError, parse_household
from rulekit.record import model as M
from rulekit.record import schema
from tests.strategies import partial_object, yuxi_record


def _minimal(**extra: object) -> dict:
    return {"id": "H1", "members": [{"name": "甲", "age": 40}], **extra}


def test_form_codes_and_chinese_labels_are_aliases() -> None:
    """A13 and 健康状况 both mean health; Chinese values map to their codes."""
    h = parse_household({"id": "H1", "members": [{"A5": "甲", "A13": "患有大病", "age": 40},
                                                  {"姓名": "乙", "健康状况": "长期慢性病", "age": 3}]})
    assert [m.health for m in h.members] == ["serious_illness", "chronic"]
    assert h.members[0].name == "甲"


def test_flat_export_fields_are_lifted_into_their_section() -> None:
    """A national-system export gives A28 at the top level; it lands in income.wage_income."""
    h = parse_household(_minimal(A28=5000, 收入={"dividend": 300}))
    assert h.income.wage_income == 5000
    assert h.income.dividend == 300


def test_a_number_too_large_for_arithmetic_is_an_error_not_a_crash() -> None:
    """An integer no float can hold (JSON allows 400 digits) is reported where it is, in both
    languages, as NaN is; before, the arithmetic raised OverflowError."""
    with pytest.raises(RecordError) as e:
        parse_household({"id": "H1", "income": {"wage_income": 10 ** 400, "claims_income": float("nan")}})
    by_path = {p.path: p for p in e.value.problems}
    assert by_path["income.wage_income"].text("en") == \
        "must be a number a float can hold, at most ±1.8e308 (got an integer of 401 digits)"
    assert by_path["income.wage_income"].text("zh") == "数值过大：必须在 ±1.8e308 以内（现在是 401 位的整数）；请更正"
    assert by_path["income.claims_income"].text("zh") == "必须是有限的数（现在是 nan）；请更正"


def test_unknown_field_is_an_error_with_did_you_mean() -> None:
    with pytest.raises(RecordError) as e:
        parse_household({"id": "H1", "members": [{"helth": "健康", "age": 3}]})
    assert "members[0].helth: 'helth' is not a field of Member (did you mean 'health'?)" in str(e.value)


def test_all_problems_reported_at_once_with_paths() -> None:
    """Every problem of a record is reported in one error, each with its JSON path and value."""
    with pytest.raises(RecordError) as e:
        parse_household({"id": "H1", "A28": "5000",
                         "members": [{"age": -3, "A13": "大病"}],
                         "income": {"claims_income": float("nan")}})
    paths = {p.path for p in e.value.problems}
    assert paths == {"income.wage_income", "members[0].age", "members[0].health",
                     "income.claims_income"}
    text = str(e.value)
    assert "income.wage_income: must be a number (got '5000', text); no value is converted silently" in text
    assert "members[0].age: must be at least 0 (got -3)" in text
    assert "got '大病'" in text and "患有大病 (serious_illness)" in text
    assert "must be a finite number (got nan)" in text


def test_negative_money_is_refused() -> None:
    with pytest.raises(RecordError, match=r"income.dividend: must be at least 0 \(got -1\)"):
        parse_household(_minimal(income={"dividend": -1}))


def test_boolean_is_not_a_number_and_text_is_not_a_boolean() -> None:
    with pytest.raises(RecordError) as e:
        parse_household(_minimal(income={"dividend": True}, alleviated="是"))
    assert {p.path for p in e.value.problems} == {"income.dividend", "alleviated"}


def test_a26_is_derived_never_entered() -> None:
    with pytest.raises(RecordError, match="A26 is derived from the members' A17"):
        parse_household(_minimal(A26=True))


def test_same_field_twice_through_an_alias_is_an_error() -> None:
    with pytest.raises(RecordError, match="gives 'health' a second time"):
        parse_household({"id": "H1", "members": [{"health": "健康", "A13": "健康", "age": 3}]})


def test_household_needs_members_and_id() -> None:
    with pytest.raises(RecordError) as e:
        parse_household({"members": []})
    text = str(e.value)
    assert "'id' is required" in text and "members: must have at least 1 item(s)" in text


def test_date_must_be_a_real_date() -> None:
    with pytest.raises(RecordError, match=r"members\[0\].birth_date: must be a date written YYYY-MM-DD"):
        parse_household({"id": "H1", "members": [{"birth_date": "1990-13-01"}]})


def test_record_error_str_equals_message() -> None:
    with pytest.raises(RecordError) as e:
        parse_household({"id": "H1", "members": [{"age": "x"}]})
    assert str(e.value) == e.value.message
    assert isinstance(e.value, ValueError)


def test_round_trip_typed_household(example: dict) -> None:
    """parse -> canonical -> parse gives the same typed household."""
    h = parse_household(example)
    assert parse_household(schema.to_canonical(h)) == h


def test_shipped_schema_equals_generated() -> None:
    """The JSON Schema file in the package is the one generated from the attrs model."""
    assert schema.shipped_schema() == json.loads(json.dumps(schema.household_schema()))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(partial_object(M.Household), st.data())
def test_fast_validator_agrees_with_jsonschema(rec: dict, data: st.DataObject) -> None:
    """fastjsonschema (the fast path) accepts exactly what jsonschema (the error reporter) accepts,
    on valid records and on records with one field replaced by a value of another type."""
    canonical = schema._normalise_object(M.Household, rec, (), [])
    if data.draw(st.booleans()) and canonical.get("members"):
        key = data.draw(st.sampled_from(sorted(attrs.fields_dict(M.Member))))
        canonical["members"][0][key] = data.draw(st.sampled_from([-1, "x", True, 1.5, [], {}]))
    expected = not any(True for _ in schema._validator().iter_errors(canonical))
    assert schema.schema_accepts(canonical) is expected


def _objects(value: object) -> list[dict]:
    """Every object (dict) in a record, the record first."""
    found = []
    if isinstance(value, dict):
        found.append(value)
        for v in value.values():
            found += _objects(v)
    elif isinstance(value, list):
        for v in value:
            found += _objects(v)
    return found


_HOSTILE = [math.nan, math.inf, 10 ** 400, -(10 ** 400), "2023-02-30", "2023-02-28", dt.date(2023, 1, 5),
            (1, 2), "患有大病", "serious_illness", True, None, 1.5, -3, "", [], {}]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(partial_object(M.Household), yuxi_record()), st.data())
def test_the_quick_way_for_canonical_records_equals_the_full_normalisation(
        rec: dict, data: st.DataObject) -> None:
    """A record already canonical and valid skips the alias walk (schema._already_canonical): on
    generated records, with a value replaced by a hostile one or a key by an alias, the quick way
    either declines or gives exactly what the full normalisation gives, and normalise() raises
    exactly when the full one does, with the same problems."""
    rec = copy.deepcopy(rec)
    if data.draw(st.booleans()):               # already canonical (codes, not Chinese labels)
        try:
            rec = schema._normalise_full(rec)
        except RecordError:
            pass
    for _ in range(data.draw(st.integers(0, 2))):
        target = data.draw(st.sampled_from(_objects(rec)))      # the record, a section, a member...
        key = data.draw(st.sampled_from(sorted(target) or ["id"]))
        if data.draw(st.integers(0, 4)) == 0:               # the same field under an alias
            alias = {"health": "A13", "name": "姓名", "wage_income": "A28"}.get(key, key + "_x")
            target[alias] = target.pop(key, None)
        else:
            target[key] = data.draw(st.sampled_from(_HOSTILE))
    before = copy.deepcopy(rec)
    quick = schema._already_canonical(rec)
    try:
        full = schema._normalise_full(copy.deepcopy(rec))
    except RecordError as e:
        assert quick is None
        with pytest.raises(RecordError) as again:
            schema.normalise(rec)
        assert [p.text("en") for p in again.value.problems] == [p.text("en") for p in e.problems]
        return
    if quick is not None:
        assert quick == full
        rec.setdefault("members", []).append({"age": 1})      # a copy: the caller's dict is its own
        assert quick == full
    assert schema.normalise(before) == full


@pytest.mark.parametrize(("path", "value", "valid"), [
    (("income", "wage_income"), math.nan, False),
    (("income", "wage_income"), -math.inf, False),
    (("income", "wage_income"), 10 ** 400, False),
    (("income", "wage_income"), 10 ** 300, True),             # large, but a float holds it
    (("collected_on",), "2023-02-30", False),
    (("collected_on",), dt.date(2023, 2, 1), True),           # a date object: made ISO text
    (("members", 0, "name"), "2023-02-30", True),            # text that looks like a date
    (("members", 0, "health"), "患有大病", True),               # a Chinese value: made a code
    (("members", 0, "A13"), "serious_illness", False),         # health given twice
    (("members", 0, "birth_date"), "1980-01-01", False),       # with age: one or the other
    (("local",), {"x": 1.5}, True),
])
def test_the_quick_way_declines_what_the_full_normalisation_changes_or_reports(
        path: tuple, value: object, valid: bool) -> None:
    import sys
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "benchmarks"))
    import yuxi_households
    rec = schema._normalise_full(yuxi_households.households(1, seed=3)[0])
    assert schema._already_canonical(rec) == rec                   # canonical: the quick way
    rec["members"][0]["age"] = 40
    rec["members"][0].pop("birth_date", None)
    target = rec
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    if not valid:
        assert schema._already_canonical(rec) is None
        with pytest.raises(RecordError):
            schema.normalise(rec)
    else:
        assert schema.normalise(rec) == schema._normalise_full(copy.deepcopy(rec))
