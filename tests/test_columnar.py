"""The columnar path (flat-fact packs over numpy columns) decides exactly what the per-row engine
decides, and sends every row it cannot decide the same way to the per-row engine."""
from __future__ import annotations

import pathlib
import sys

import numpy as np
import pytest

import rulekit
from rulekit.engine.columnar import columns_from_records

ROOT = pathlib.Path(__file__).resolve().parents[1]
BENCH = ROOT.parent / "shared" / "bench"
pytestmark = pytest.mark.skipif(not (BENCH / "workload.py").is_file(),
                                reason="../shared/bench is not beside this checkout")


@pytest.fixture(scope="module")
def workload():
    sys.path.insert(0, str(BENCH))
    import workload
    return workload


@pytest.fixture(scope="module")
def pack() -> rulekit.Pack:
    return rulekit.load_pack(ROOT / "benchmarks" / "workload_pack")


def _per_row(pack, records):
    out = []
    for r in records:
        try:
            res = pack.evaluate(r, as_of="2021-01-01")
        except rulekit.RecordError:
            out.append(None)
            continue
        out.append((res.outcome("monitoring"), res.fired, res.value("per_capita")))
    return out


def test_columnar_equals_per_row_and_reference(pack, workload) -> None:
    records = workload.households(3000, seed=11)
    columns, odd = columns_from_records(pack, records)
    res = pack.evaluate_columns(columns, as_of="2021-01-01")
    assert not res.fallback.any() and not odd.any()
    rows = _per_row(pack, records)
    rule_ids = list(pack.spec.rules)
    for i, (outcome, fired, per_capita) in enumerate(rows):
        assert res.outcome("monitoring", i) == outcome == workload.reference(records[i])["outcome"]
        assert tuple(r for r in rule_ids if res.rules[r][i]) == fired
        assert res.computed["per_capita"][i] == pytest.approx(per_capita, rel=1e-12)


def test_rows_it_cannot_decide_go_to_the_per_row_engine(pack, workload) -> None:
    """Text in a money column, a yes/no in a count, a missing value, a value below the minimum,
    an undeclared key: those rows are marked, never converted; the per-row engine refuses them."""
    records = workload.households(8, seed=3)
    records[1]["wage"] = "5000"
    records[2]["n_labor"] = True
    del records[3]["dibao"]
    records[4]["size"] = 0
    records[5]["wage"] = float("nan")
    records[6]["extra"] = 1
    columns, odd = columns_from_records(pack, records)
    res = pack.evaluate_columns(columns, as_of="2021-01-01")
    marked = res.fallback | odd
    assert list(np.flatnonzero(marked)) == [1, 2, 3, 4, 5, 6]
    rows = _per_row(pack, records)
    assert [i for i, r in enumerate(rows) if r is None] == [1, 2, 4, 5, 6]
    assert rows[3] is not None          # a missing fact is not an error: the per-row engine decides
    for i in (0, 7):
        assert res.outcome("monitoring", i) == rows[i][0]


def test_numbers_beyond_exact_float_arithmetic_go_to_the_per_row_engine(pack, workload) -> None:
    """An int too large for a float (which made numpy raise and lost the batch) and values of
    10**15 or more, where float and integer arithmetic may differ: marked, the others decided."""
    records = workload.households(6, seed=5)
    records[1]["wage"] = 10 ** 400
    records[2]["car_price_last_year"] = 10 ** 15
    records[3]["n_labor"] = 2 ** 60
    records[4]["dibao"] = -1e16
    columns, odd = columns_from_records(pack, records)
    res = pack.evaluate_columns(columns, as_of="2021-01-01")
    assert list(np.flatnonzero(res.fallback | odd)) == [1, 2, 3, 4]
    rows = _per_row(pack, records)
    for i in (0, 5):
        assert res.outcome("monitoring", i) == rows[i][0]
    as_lists = {k: [r[k] for r in records] for k in pack.spec.facts}   # the same from plain lists
    assert list(np.flatnonzero(pack.evaluate_columns(as_lists, as_of="2021-01-01").fallback)) == [1, 2, 3, 4]


def test_a_record_of_another_shape_or_type_keeps_every_other_row(pack, workload) -> None:
    """Records missing a key, with an extra key, or with a number as id: the fast reading does
    not apply, and every row still comes out (marked where it must)."""
    records = workload.households(5, seed=9)
    records[1]["id"] = 17
    records[3]["extra"] = True
    columns, odd = columns_from_records(pack, records)
    assert list(np.flatnonzero(odd)) == [1, 3]
    res = pack.evaluate_columns(columns, as_of="2021-01-01")
    for i in (0, 2, 4):
        assert res.outcome("monitoring", i) == workload.reference(records[i])["outcome"]


def test_division_by_zero_is_never_decided_in_columns(tmp_path: pathlib.Path) -> None:
    d = tmp_path / "p"
    d.mkdir()
    (d / "pack.yaml").write_text("""
pack: {id: p, version: "1", locality: x, title: x}
facts:
  income: {label: 收入, type: number}
  size: {label: 人口, type: integer}
parameters:
  line: {label: 底线, unit: 元, cites: [NAT-LINE], values: [{from: 2020-01-01, value: 6000}]}
computed:
  per: {label: 人均, formula: income / size, cites: [NAT-LINE]}
rules:
  g:
    label: 组
    rules:
      LOW: {label: 低于底线, when: per < line, cites: [NAT-LINE]}
decisions:
  m:
    label: 判断
    hit: first
    outcomes:
      - {id: low, label: 低, when: LOW, status: decided, cites: [NAT-LINE]}
      - {id: ok, label: 否, status: decided, cites: [NAT-LINE]}
""", encoding="utf-8")
    pack = rulekit.load_pack(d)
    res = pack.evaluate_columns({"income": [1000, 1000, 90000], "size": [1, 0, 3]}, as_of="2021-01-01")
    assert list(res.fallback) == [False, True, False]
    assert [res.outcome("m", i) for i in (0, 2)] == ["low", "ok"]
    per_row = pack.evaluate({"id": "H", "income": 1000, "size": 0}, as_of="2021-01-01")
    assert per_row.decision("m").status == "undetermined"


def test_packs_with_lists_or_dates_have_no_columnar_path() -> None:
    yuxi = rulekit.load_pack("yuxi")
    assert yuxi.compiled_columnar is None
    with pytest.raises(ValueError, match="no columnar path"):
        yuxi.evaluate_columns({}, as_of="2022-06-30")


@pytest.mark.parametrize("change", [{}, {"wage": float("nan")}, {"size": 0}, {"size": -3},
                                    {"wage": float("inf")}, {"car_price_last_year": 1e15}])
def test_read_from_object_memory_or_not_the_same_rows_are_decided(pack, workload, monkeypatch,
                                                                  change) -> None:
    """Values object_memory reads as they are (NaN, infinity, below the minimum, 10**15): the
    columnar path's own checks mark them exactly as when the records are read the plain way."""
    records = workload.households(3000, seed=13)
    records[1700].update(change)
    fast_columns, fast_odd = columns_from_records(pack, records)
    fast = pack.evaluate_columns(fast_columns, as_of="2021-01-01")
    monkeypatch.setattr("rulekit.engine.object_memory._memory", lambda: None)
    plain_columns, plain_odd = columns_from_records(pack, records)
    plain = pack.evaluate_columns(plain_columns, as_of="2021-01-01")
    assert all(np.array_equal(fast_columns[k], plain_columns[k], equal_nan=True) for k in pack.spec.facts)
    assert np.array_equal(fast.fallback | fast_odd, plain.fallback | plain_odd)
    assert list(np.flatnonzero(fast.fallback)) == ([1700] if change else [])
    assert np.array_equal(fast.outcomes["monitoring"], plain.outcomes["monitoring"])


def test_evaluate_records_marks_every_row_it_leaves_to_evaluate(pack, workload) -> None:
    """pack.evaluate_records decides a list of records at once; rows with an undeclared key, a
    number as id, a yes/no as money or a missing fact are marked fallback, the others equal
    reference() and evaluate()."""
    records = workload.households(400, seed=17)
    records[10]["extra"] = 1
    records[20]["id"] = 20
    records[30]["wage"] = True
    del records[40]["dibao"]
    res = pack.evaluate_records(records, as_of="2021-01-01")
    assert list(np.flatnonzero(res.fallback)) == [10, 20, 30, 40]
    rows = _per_row(pack, records)
    for i in set(range(400)) - {10, 20, 30, 40}:
        assert res.outcome("monitoring", i) == rows[i][0] == workload.reference(records[i])["outcome"]
        assert res.computed["per_capita"][i] == pytest.approx(rows[i][2], rel=1e-12)
    clean = pack.evaluate_records(workload.households(400, seed=17), as_of="2021-01-01")
    assert not clean.fallback.any()
