"""The household record: aliases, Chinese values, located errors, nothing coerced or ignored."""
from __future__ import annotations

import json

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rulekit import RecordError, parse_household
from rulekit.record import model as M
from rulekit.record import schema
from tests.strategies import partial_object


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
