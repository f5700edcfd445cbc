"""The raw route of flat packs: the generated function that checks a flat record and decides it in
one call, keeping one tuple per household. It must give exactly what the checked, interpreted route
gives (decisions, values, reason chains, errors), and leave every unusual record to that route."""
from __future__ import annotations

import copy
import math
import pathlib

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rulekit
from rulekit.engine.pack import Pack

ROOT = pathlib.Path(__file__).resolve().parents[1]
FAST = rulekit.load_pack(ROOT / "benchmarks" / "workload_pack")
SLOW = Pack(attrs.evolve(FAST.compiled, fast=None), FAST.digest)
AS_OF = "2021-01-01"
SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

HOSTILE = [True, False, "1", "", None, math.nan, math.inf, -math.inf, -1, 0, 0.5, 2.5, 10 ** 30,
           -(10 ** 30), 1e308, 10 ** 400, -(10 ** 400), [], {}]


def _value(spec: dict) -> st.SearchStrategy:
    low = spec.get("minimum", 0)
    if spec["type"] == "integer":
        return st.integers(int(low), 8)
    if spec["type"] == "bool":
        return st.booleans()
    return st.one_of(st.integers(int(low), 60000),
                     st.floats(low, 60000, allow_nan=False).map(lambda v: round(v, 2)))


@st.composite
def flat_records(draw: st.DrawFn, hostile: bool = True) -> dict:
    rec = {"id": draw(st.sampled_from(["H1", "户-2"]))}
    for name, spec in FAST.spec.facts.items():
        rec[name] = draw(_value(spec))
    if hostile:
        for _ in range(draw(st.integers(0, 2))):
            key = draw(st.sampled_from(sorted(rec)))
            action = draw(st.sampled_from(["value", "delete", "extra"]))
            if action == "value":
                rec[key] = draw(st.sampled_from(HOSTILE))
            elif action == "delete":
                rec.pop(key, None)
            else:
                rec["undeclared_" + key] = 1
    return rec


def _outcome(pack: Pack, rec: dict, **kw) -> tuple:
    try:
        r = pack.evaluate(copy.deepcopy(rec), as_of=AS_OF, **kw)
    except rulekit.RecordError as e:
        return ("invalid", [p.text("en") for p in e.problems])
    names = [*FAST.spec.facts, *FAST.spec.parameters, *FAST.spec.computed, *FAST.spec.rules,
             *FAST.spec.decisions]
    return ("decided", r.outcome("monitoring"), r.fired, r.summary("focus"), r.errors,
            [repr(r.value(n)) for n in names], r.record, r.to_dict(), r.explain("zh"),
            r.explain("en"))


@SETTINGS
@given(flat_records())
def test_raw_route_equals_the_interpreter(rec: dict) -> None:
    assert _outcome(FAST, rec) == _outcome(SLOW, rec)


@SETTINGS
@given(flat_records(hostile=False))
def test_plain_records_take_the_raw_route(rec: dict) -> None:
    """A plain, valid record is decided by the generated function (the result holds only its
    vector until a reason chain is asked for), with the interpreter's answer."""
    r = FAST.evaluate(rec, as_of=AS_OF)
    if r._st is not None:
        # only a division by zero or an overflow sends a valid record to the interpreter
        assert r.errors or rec["size"] == 0
        return
    assert r._vector is not None and r.outcome("monitoring") is not None
    assert _outcome(FAST, rec) == _outcome(SLOW, rec)


def test_a_kept_result_does_not_change_when_the_input_does() -> None:
    rec = {"id": "H1", **{n: (2 if s["type"] == "integer" else False if s["type"] == "bool" else 1000)
                          for n, s in FAST.spec.facts.items()}}
    r = FAST.evaluate(rec, as_of=AS_OF)
    assert r._st is None
    before = r.value("per_capita")
    rec["wage"] = 10 ** 6
    assert r.record["wage"] == 1000 and r.value("per_capita") == before
    assert r.to_dict()["computed"]["per_capita"] == before


def test_arguments_and_dates_without_values_take_the_interpreted_route() -> None:
    rec = {"id": "H1", **{n: (2 if s["type"] == "integer" else False if s["type"] == "bool" else 1000)
                          for n, s in FAST.spec.facts.items()}}
    changed = FAST.evaluate(rec, as_of=AS_OF, parameters={"monitoring_line": 100})
    assert changed._st is not None
    assert changed.to_dict()["parameters"]["monitoring_line"]["origin"] == "argument"
    early = FAST.evaluate(rec, as_of="2019-01-01")       # no parameter value in force yet
    assert early.summary("monitoring").status == "undetermined"
    assert early.to_dict() == SLOW.evaluate(rec, as_of="2019-01-01").to_dict()


def test_input_checks_of_a_flat_pack_still_reject(tmp_path: pathlib.Path) -> None:
    """A pack's checks run inside the raw route: a record that fails one is refused with the
    interpreter's error, naming the figures."""
    (tmp_path / "pack.yaml").write_text("""pack: {id: flat_checks, version: "1", title: t, locality: l}
facts:
  income: {label: 收入, type: number, unit: 元/年}
  part: {label: 其中工资, type: number, unit: 元/年}
checks:
  parts:
    label: 分项不大于合计
    cites: [NAT-FORM]
    must: part <= income
decisions:
  d:
    label: 判定
    cites: [NAT-FORM]
    hit: first
    outcomes:
      - {id: low, label: 低, when: income < 100, status: decided, cites: [NAT-FORM]}
      - {id: other, label: 其他, status: decided, cites: [NAT-FORM]}
""", encoding="utf-8")
    pack = rulekit.load_pack(tmp_path)
    assert pack.compiled.fast.on_raw is not None
    assert pack.evaluate({"id": "H", "income": 50, "part": 10}, as_of=AS_OF).outcome("d") == "low"
    with pytest.raises(rulekit.RecordError, match="part=900"):
        pack.evaluate({"id": "H", "income": 50, "part": 900}, as_of=AS_OF)
