"""The columnar route of `rulekit run`: chosen for flat-fact packs over Parquet, and its output is
the row route's, byte for byte (bad rows, fallback rows, workers, resume, float formatting)."""
from __future__ import annotations

import csv
import importlib
import io
import math
import pathlib
import random
import textwrap

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rulekit
from rulekit.batch import Job, run
from rulekit.batch.rows import cell
from rulekit.batch.run import Interrupted
from tests.conftest import ROOT

np = pytest.importorskip("numpy")
pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")
columnar_run = importlib.import_module("rulekit.batch.columnar_run")

WORKLOAD = ROOT / "benchmarks" / "workload_pack"
AS_OF = "2021-01-01"
BOOLS = ["alleviated", "has_industry", "earthen_only_house", "weak_base", "industry_failure",
         "sudden_event", "three_guarantees_failed", "minor_without_guardian", "elder_without_supporter",
         "heavy_medical_burden", "public_servant_family", "village_cadre_paid", "urban_property",
         "registered_company", "large_grower", "major_change"]


def households(n: int, seed: int = 5) -> list[dict]:
    """Flat households shaped like the shared workload's (every fact of benchmarks/workload_pack)."""
    rnd = random.Random(seed)
    out = []
    for i in range(n):
        size = rnd.randint(1, 7)
        scale = rnd.choice([0.3, 1.0, 3.0])
        h: dict = {"id": f"H{i:06d}", "size": size, "wage": round(rnd.uniform(0, 30000) * scale, 2)}
        for k in ("crop_income", "livestock_income", "business_income"):
            h[k] = round(rnd.uniform(0, 12000) * scale, 2)
        for k in ("crop_cost", "livestock_cost", "business_cost", "other_property", "other_transfer"):
            h[k] = round(rnd.uniform(0, 5000), 2)
        for k, choices in (("fixed_assets_value", [0, 3000, 45000]), ("dividend", [0, 300]),
                           ("dibao", [0, 0, 3600]), ("tekun", [0, 0, 6000]), ("pension", [0, 1500]),
                           ("eco_comp", [0, 200]), ("claims", [0, 0, 5000]), ("edu_rigid", [0, 4000]),
                           ("med_rigid", [0, 0, 60000]), ("other_rigid", [0, 0, 10000]),
                           ("n_serious_ill", [0, 0, 1]), ("n_noncompulsory_students", [0, 1, 2, 3]),
                           ("n_severe_disabled", [0, 0, 1]), ("n_disabled_elderly", [0, 0, 1]),
                           ("car_price_last_year", [0, 0, 0, 80000])):
            h[k] = rnd.choice(choices)
        h["n_labor"] = rnd.randint(0, size)
        h["labor_coefficient"] = round(h["n_labor"] / size * rnd.choice([0.5, 1.0]), 3)
        h["n_employed"] = rnd.randint(0, h["n_labor"])
        for k in BOOLS:
            h[k] = rnd.random() < 0.1
        h["alleviated"] = rnd.random() < 0.5
        h["has_industry"] = rnd.random() < 0.6
        out.append(h)
    return out


def parquet(path: pathlib.Path, rows: list[dict], types: dict | None = None) -> pathlib.Path:
    """`rows` as a Parquet file; `types` gives some columns another Arrow type (text...)."""
    names = list(rows[0])
    arrays = [pa.array([r.get(k) for r in rows], (types or {}).get(k)) for k in names]
    pq.write_table(pa.table(arrays, names=names), path)
    return path


def with_bad_rows(rows: list[dict]) -> tuple[list[dict], dict]:
    """The households with cells the vectorised conversion must leave to the row route, and
    the column types that let a Parquet file hold them (wage and has_industry as text, size as
    float)."""
    rows = [dict(r) for r in rows]
    for r in rows:
        r["wage"] = str(r["wage"])
        r["has_industry"] = "是" if r["has_industry"] else "否"
        r["size"] = float(r["size"])
    edits = [("wage", "5,000"), ("wage", "abc"), ("wage", ""), ("wage", None), ("wage", " 12 "),
             ("wage", "1e3"), ("wage", "+5"), ("wage", "-0"), ("wage", "007"), ("wage", "inf"),
             ("wage", "0.1000000000000000055511151231257827"), ("wage", "１２"),
             ("size", 2.5), ("size", math.nan), ("size", -1.0), ("size", 0.0), ("size", 1e300),
             ("size", None), ("n_labor", None), ("alleviated", None),
             ("labor_coefficient", math.inf), ("labor_coefficient", -0.0), ("labor_coefficient", 1e-7),
             ("car_price_last_year", 10 ** 16), ("dibao", -5),
             ("has_industry", "TRUE"), ("has_industry", "yes"), ("has_industry", " 是 "),
             ("has_industry", "tRuE"), ("has_industry", None),
             ("id", None), ("id", ""), ("id", "  "), ("id", 'H,"q"'), ("id", "H\nline"), ("id", " H7 ")]
    for k, (column, value) in enumerate(edits):
        rows[7 + 13 * k][column] = value
    blank = {k: None for k in rows[0]}
    rows[3:3] = [dict(blank), dict(blank, id="  ", wage=" ")]
    rows.insert(500, dict(blank))
    return rows, {"wage": pa.string(), "has_industry": pa.string(), "size": pa.float64()}


def both(job: Job, monkeypatch: pytest.MonkeyPatch) -> tuple[bytes, bytes, object, object]:
    """(columnar output, row-route output, their summaries) of the same job."""
    columnar = run(job, progress=False)
    assert columnar.route == "columnar"
    rows_job = attrs.evolve(job, output=job.output.with_name("rows_" + job.output.name))
    with monkeypatch.context() as m:
        m.setattr(columnar_run, "applies", lambda *a: False)
        rows = run(rows_job, progress=False)
    assert rows.route == "rows"
    return job.output.read_bytes(), rows_job.output.read_bytes(), columnar, rows


def test_parquet_output_is_the_row_routes_byte_for_byte(tmp_path: pathlib.Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Good rows, every kind of bad cell, blank rows, and rows the columnar path leaves: equal."""
    rows, types = with_bad_rows(households(3000))
    src = parquet(tmp_path / "h.parquet", rows, types)
    job = Job(pack=str(WORKLOAD), input=src, output=tmp_path / "o.csv", as_of=AS_OF, chunk_size=10,
              lang="en")
    col, row, s1, s2 = both(job, monkeypatch)
    assert col == row
    assert (s1.rows, s1.statuses, s1.decisions, s1.blank) == (s2.rows, s2.statuses, s2.decisions, s2.blank)
    assert s1.rows == len(rows) - 3 and s1.blank == 3
    assert s1.statuses["invalid"] == 12 and s1.statuses["undetermined"] == 4
    text = col.decode("utf-8-sig")
    assert '"H,""q"""' in text and '"H\nline"' in text


def test_a_column_of_the_wrong_type_and_selected_values(tmp_path: pathlib.Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """A yes/no column where a number is required (every row an error), a dictionary-encoded
    text id, integer ids, and chosen value columns: still the row route's bytes."""
    rows = households(400, seed=9)
    for r in rows:
        r["dividend"] = r["dividend"] > 0
    src = parquet(tmp_path / "b.parquet", rows, {"id": pa.dictionary(pa.int32(), pa.string())})
    job = Job(pack=str(WORKLOAD), input=src, output=tmp_path / "b.csv", as_of=AS_OF,
              values=("transfer_share", "per_capita"))
    col, row, s1, _ = both(job, monkeypatch)
    assert col == row and s1.statuses["invalid"] == 400
    ids = households(300, seed=9)
    for i, r in enumerate(ids):
        r["id"] = i * 7 if i != 5 else 10 ** 15
    src = parquet(tmp_path / "i.parquet", ids)
    col, row, s1, _ = both(attrs.evolve(job, input=src, output=tmp_path / "i.csv"), monkeypatch)
    assert col == row and s1.statuses["invalid"] == 1


FALLBACK_PACK = textwrap.dedent("""\
    pack: {id: ratio_test, version: "1.0.0", locality: 测试, title: 除法与复选, source: test}
    facts:
      a: {label: 收入, type: number}
      b: {label: 人数, type: integer}
      flag: {label: 标记, type: bool}
    parameters:
      line: {label: 线, unit: 元, cites: [YX-F1], values: [{from: 2020-01-01, value: 100, source: t}]}
    computed:
      ratio: {label: 人均, formula: a / b, cites: [YX-F1]}
      twice: {label: 线的两倍, formula: line * 2, cites: [YX-F1]}
      above: {label: 高于线, formula: a > line, cites: [YX-F1]}
    rules:
      group:
        label: 规则
        rules:
          R1: {label: 低, when: ratio < line, cites: [YX-F1]}
          R2: {label: 标记, when: flag, cites: [YX-F1]}
          R3: {label: "逗号,引号\\"", when: a >= 0 and flag, cites: [YX-F1]}
    decisions:
      level:
        label: 等级
        hit: first
        cites: [YX-F1]
        outcomes:
          - {id: low, label: "低,收入", when: R1 and not flag, status: decided, cites: [YX-F1]}
          - {id: check, label: 核实, when: R1, status: needs_review, review: "核实,收入", cites: [YX-F1]}
          - {id: high, label: 高, when: ratio >= line, status: decided, cites: [YX-F1]}
      flags:
        label: 标记
        hit: collect
        cites: [YX-F1]
        outcomes:
          - {id: f_low, label: 低, when: R1, status: decided, cites: [YX-F1]}
          - {id: f_flag, label: 标记, when: R2, status: needs_review, review: 看一看, cites: [YX-F1]}
    """)


def test_rows_the_columnar_path_leaves_go_through_the_row_route(tmp_path: pathlib.Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """Division by zero (an error in `errors`, undetermined decisions), no outcome applies,
    needs_review outcomes with commas and quotes in labels and notes, a value from parameters."""
    pack = tmp_path / "pack"
    pack.mkdir()
    (pack / "pack.yaml").write_text(FALLBACK_PACK, encoding="utf-8")
    rnd = random.Random(3)
    rows = [{"id": f"R{i}", "a": rnd.choice([0, 50, 150.25, 99.5, 1e-5, 123456.789]),
             "b": rnd.choice([0, 1, 2, 3]), "flag": rnd.random() < 0.3} for i in range(1200)]
    src = parquet(tmp_path / "r.parquet", rows, {"a": pa.float64()})
    job = Job(pack=str(pack), input=src, output=tmp_path / "r.csv", as_of=AS_OF, chunk_size=3)
    col, row, s1, s2 = both(job, monkeypatch)
    assert col == row and s1.decisions == s2.decisions
    assert s1.statuses["undetermined"] > 100 and s1.statuses["needs_review"] > 100


def test_two_workers_equal_one(tmp_path: pathlib.Path) -> None:
    rows, types = with_bad_rows(households(2500, seed=11))
    src = parquet(tmp_path / "h.parquet", rows, types)
    one = Job(pack=str(WORKLOAD), input=src, output=tmp_path / "one.csv", as_of=AS_OF, chunk_size=5)
    two = attrs.evolve(one, output=tmp_path / "two.csv", workers=2)
    s1, s2 = run(one, progress=False), run(two, progress=False)
    assert s1.route == s2.route == "columnar"
    assert (tmp_path / "one.csv").read_bytes() == (tmp_path / "two.csv").read_bytes()
    assert s1.statuses == s2.statuses and s1.decisions == s2.decisions


def test_interrupted_run_resumes_with_one_row_per_input_row(tmp_path: pathlib.Path) -> None:
    rows, types = with_bad_rows(households(2000, seed=13))
    src = parquet(tmp_path / "h.parquet", rows, types)
    job = Job(pack=str(WORKLOAD), input=src, output=tmp_path / "o.csv", as_of=AS_OF, chunk_size=5,
              checkpoint_seconds=0)

    def stop(done: int) -> None:
        if done >= 900:
            raise KeyboardInterrupt
    with pytest.raises(Interrupted):
        run(job, progress=False, on_chunk=stop)
    resumed = run(attrs.evolve(job, resume=True), progress=False)
    assert resumed.route == "columnar" and 900 <= resumed.resumed_from < 1000
    clean = run(attrs.evolve(job, output=tmp_path / "clean.csv"), progress=False)
    assert (tmp_path / "o.csv").read_bytes() == (tmp_path / "clean.csv").read_bytes()
    assert resumed.rows == clean.rows == len(rows) - 3
    assert resumed.statuses == clean.statuses and resumed.blank == clean.blank == 3


@pytest.mark.parametrize("kind", ["parquet", "csv"])
def test_resume_inside_a_batch_slices_it(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch,
                                         kind: str) -> None:
    """A run resumed from a position that is not a batch boundary (an interrupted row-route run
    with a smaller chunk) continues at that very row; for CSV, the main process parses that block
    itself (it is not sent to a worker as text) and slices it."""
    rows = households(1000, seed=17)
    if kind == "parquet":
        src = parquet(tmp_path / "h.parquet", rows)
    else:
        src = tmp_path / "h.csv"
        src.write_text("".join(csv_text(rows)), encoding="utf-8")
    job = Job(pack=str(WORKLOAD), input=src, output=tmp_path / "o.csv", as_of=AS_OF, chunk_size=5,
              checkpoint_seconds=0)

    def stop(done: int) -> None:
        if done >= 415:
            raise KeyboardInterrupt
    with monkeypatch.context() as m:
        m.setattr(columnar_run, "applies", lambda *a: False)
        with pytest.raises(Interrupted):
            run(job, progress=False, on_chunk=stop)
    resumed = run(attrs.evolve(job, resume=True), progress=False)
    assert resumed.route == "columnar" and resumed.resumed_from == 415
    run(attrs.evolve(job, output=tmp_path / "clean.csv"), progress=False)
    assert (tmp_path / "o.csv").read_bytes() == (tmp_path / "clean.csv").read_bytes()


def test_the_row_route_stays_where_the_columnar_one_does_not_apply(tmp_path: pathlib.Path) -> None:
    src = parquet(tmp_path / "h.parquet", households(50))
    job = Job(pack=str(WORKLOAD), input=src, output=tmp_path / "o.jsonl", as_of=AS_OF)
    assert run(job, progress=False).route == "rows"                          # JSONL output
    assert run(attrs.evolve(job, output=tmp_path / "o.csv", as_of=None),
               progress=False).route == "rows"                                # no --as-of
    assert run(attrs.evolve(job, output=tmp_path / "o.csv", full=tmp_path / "f.jsonl"),
               progress=False).route == "rows"                                # --full
    assert run(attrs.evolve(job, output=tmp_path / "o.csv"), progress=False).route == "columnar"
    pack = tmp_path / "pow"
    pack.mkdir()
    (pack / "pack.yaml").write_text(FALLBACK_PACK.replace("formula: line * 2", "formula: a ** 2"),
                                    encoding="utf-8")
    rows = [{"id": "R1", "a": 2.0, "b": 1, "flag": True}]
    power = attrs.evolve(job, pack=str(pack), input=parquet(tmp_path / "p.parquet", rows),
                         output=tmp_path / "p.csv")
    assert run(power, progress=False).route == "rows"                         # a power (**)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.floats(), st.floats(-1e6, 1e6).map(lambda x: round(x, 2)),
                          st.integers(-2 ** 53, 2 ** 53).map(float),
                          st.floats(1e-6, 1e-3), st.floats(1e9, 1e17)), min_size=1, max_size=50))
def test_float_cells_are_cell(values: list[float]) -> None:
    """The vectorised float formatting writes exactly what rows.cell() writes."""
    assert columnar_run.float_cells(np.array(values, dtype=float)).to_pylist() == [cell(v) for v in values]


VALUE = st.one_of(st.floats(), st.floats(-1e6, 1e6).map(lambda x: round(x, 2)),
                  st.integers(-2 ** 53, 2 ** 53).map(float), st.floats(1e-6, 1e-3), st.floats(1e9, 1e17),
                  st.sampled_from([0.0, -0.0, 1e-4, 1e15, 1e16, 999999999999999.9, 5e-324]))


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 4).flatmap(lambda k: st.lists(st.lists(VALUE, min_size=k, max_size=k),
                                                    min_size=1, max_size=30)))
def test_value_lines_are_the_cells_of_each_row(rows: list[list[float]]) -> None:
    """orjson's matrix, mended, writes each row's values as cell() does, joined by commas and
    ended by CRLF; rows with a value too large or not finite are marked for the row route
    (value_cells marks the same)."""
    pytest.importorskip("orjson")
    n, k = len(rows), len(rows[0])
    columns = [np.array([r[j] for r in rows]) for j in range(k)]
    text, bad = columnar_run.number_lines(columns, n)
    expected_bad = [not all(abs(v) < 1e15 for v in r) for r in rows]
    assert bad.tolist() == expected_bad
    for r, line, b in zip(rows, text.to_pylist(), expected_bad):
        if not b:
            assert line == ",".join(cell(v) for v in r) + "\r\n"
    assert (np.any([columnar_run.value_cells(c, n)[1] for c in columns], axis=0) == bad).all()


def test_value_lines_take_numbers_only() -> None:
    """A yes/no value column, or no value at all, is left to value_cells (None)."""
    pytest.importorskip("orjson")
    assert columnar_run.number_lines([np.array([1.5]), np.array([True])], 1) is None
    assert columnar_run.number_lines([], 1) is None
    text, bad = columnar_run.number_lines([np.array([3, 4]), np.float64(2.5)], 2)  # ints, a constant
    assert text.to_pylist() == ["3,2.5\r\n", "4,2.5\r\n"] and not bad.any()


def test_without_orjson_the_values_are_cast_by_arrow_to_the_same_bytes(
        tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The two ways of writing the value cells give the same file."""
    pytest.importorskip("orjson")          # without it both runs would take the Arrow cast
    rows, types = with_bad_rows(households(1500, seed=3))
    src = parquet(tmp_path / "h.parquet", rows, types)
    job = Job(pack=str(WORKLOAD), input=src, output=tmp_path / "o.csv", as_of=AS_OF, chunk_size=10)
    fast = run(job, progress=False)
    plain_job = attrs.evolve(job, output=tmp_path / "plain.csv")
    with monkeypatch.context() as m:
        m.setattr(columnar_run, "number_lines", lambda values, n: None)
        plain = run(plain_job, progress=False)
    assert fast.route == plain.route == "columnar"
    assert job.output.read_bytes() == plain_job.output.read_bytes()


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(st.sampled_from(list("0123456789.-+e \n是１")), max_size=20),
                          st.from_regex(columnar_run._PLAIN_NUMBER, fullmatch=True)), min_size=1, max_size=40),
       st.integers(0, 5), st.booleans())
def test_plain_numbers_are_the_patterns_matches(cells: list, cut: int, large: bool) -> None:
    """plain_numbers reads the bytes as the regular expression _PLAIN_NUMBER (Arrow's RE2) reads
    the text, nulls matching nothing, in slices and large text too."""
    import pyarrow.compute as pc
    column = pa.array(cells, pa.large_string() if large else pa.string()).slice(min(cut, len(cells) - 1))
    expected = pc.and_kleene(pc.match_substring_regex(column, columnar_run._PLAIN_NUMBER), column.is_valid())
    assert columnar_run.plain_numbers(column).tolist() == expected.to_pylist()


def test_plain_numbers_at_the_bounds() -> None:
    """14, 15 and 16 whole digits, with and without a minus or a fraction; a lone point, minus
    or empty cell; the same answers as the pattern."""
    import pyarrow.compute as pc
    cells = ["12345678901234", "123456789012345", "1234567890123456", "-123456789012345",
             "-1234567890123456", "123456789012345.5", "1234567890123456.5", "0.5", ".5", "5.",
             "-", ".", "", "-0", "--1", "1-", "1.2.3", "0000000000000001", None]
    column = pa.array(cells)
    expected = pc.and_kleene(pc.match_substring_regex(column, columnar_run._PLAIN_NUMBER), column.is_valid())
    got = columnar_run.plain_numbers(column).tolist()
    assert got == expected.to_pylist()
    assert got == [True, True, False, True, False, True, False, True, False, False,
                   False, False, False, True, False, False, False, False, False]


@settings(max_examples=300, deadline=None)
@given(st.text(st.sampled_from(['a', ',', '"', '\r', '\n', ' ', '；', '是', "'", '\t'])))
def test_a_field_is_quoted_as_the_csv_module_quotes_it(text: str) -> None:
    """The answers' cells are quoted by _field, the row route's by the csv module as run.py
    writes rows (its line end, CRLF, makes a lone CR quoted too): the same."""
    out = io.StringIO()
    csv.writer(out).writerow(["a", text, "b"])
    assert out.getvalue() == f"a,{columnar_run._field(text)},b\r\n"


def test_distinct_answers_beyond_63_bits() -> None:
    """Answers with more digits than an integer holds (a pack with many rules) are told apart
    by their bytes: rows share an index exactly when all their digits are equal."""
    rnd = np.random.default_rng(1)
    digits = [rnd.integers(0, 2, 500) for _ in range(70)] + [rnd.integers(0, 300, 500) % 2]
    for radix in ([2] * 71, [2] * 70 + [300]):
        keys, inverse, first = columnar_run._distinct(digits, radix)
        rows = [tuple(int(d[i]) for d in digits) for i in range(500)]
        assert len(keys) == len(set(rows))
        assert all(rows[i] == rows[int(first[inverse[i]])] for i in range(500))


# -- CSV -----------------------------------------------------------------------------------------------

def csv_text(rows: list[dict], newline: str = "\r\n") -> list[str]:
    """The households as CSV lines (yes/no as 是/否), header first."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator=newline)
    w.writerow(list(rows[0]))
    for r in rows:
        w.writerow(["是" if v is True else "否" if v is False else v for v in r.values()])
    return out.getvalue().splitlines(keepends=True)


def test_csv_output_is_the_row_routes_byte_for_byte(tmp_path: pathlib.Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """Bad cells, blank lines of every kind, a short row, a lone carriage return, a NUL, then a
    quoted cell with a line break (from there on the csv module reads): equal bytes, and most
    blocks were read by Arrow."""
    rows = households(3000, seed=21)
    for k, r in enumerate(rows):
        if k % 97 == 5:
            r["wage"] = ["5，000", " 12 ", "1e3", "", "abc", "１２", "0.1000000000000000055511151231257827",
                         "1234567890123456"][k % 8]
        if k % 89 == 3:
            r["has_industry"] = ["TRUE", "yes", " 是 ", "", "False"][k % 5]
        if k % 83 == 7:
            r["id"] = ["", "  ", " H ", "H;1"][k % 4]
    lines = csv_text(rows)
    width = len(rows[0])
    lines[0] = "\ufeff" + lines[0]
    lines[40:40] = ["\r\n", "," * (width - 1) + "\r\n", "  \r\n", " ," * (width - 1) + "\r\n"]
    lines[700] = lines[700].replace(",", ",,", 1)                       # one cell too many
    lines[1200] = lines[1200].replace("\r\n", "\r")                     # a lone CR joins two lines
    lines[1500] = lines[1500].replace("H", "H\x00", 1)
    lines[2400] = lines[2400].replace(lines[2400].split(",")[0], '"Q,\n1"', 1)
    src = tmp_path / "h.csv"
    src.write_bytes("".join(lines).encode("utf-8"))
    parsed = []
    real = columnar_run._arrow_block

    def spy(block: bytes, width: int) -> object:
        parsed.append(real(block, width) is not None)
        return real(block, width)
    monkeypatch.setattr(columnar_run, "_arrow_block", spy)
    job = Job(pack=str(WORKLOAD), input=src, output=tmp_path / "o.csv", as_of=AS_OF, chunk_size=2,
              lang="en")
    col, row, s1, s2 = both(job, monkeypatch)
    assert col == row
    assert (s1.rows, s1.statuses, s1.decisions, s1.blank) == (s2.rows, s2.statuses, s2.decisions, s2.blank)
    assert s1.blank == 4 and s1.statuses["invalid"] > 20
    assert sum(parsed) >= 10 and not all(parsed)


def test_csv_two_workers_resume_and_line_endings(tmp_path: pathlib.Path) -> None:
    """LF line endings, no BOM, two workers, and a resumed run: the bytes of one clean run."""
    src = tmp_path / "h.csv"
    src.write_text("".join(csv_text(households(2000, seed=23), newline="\n")), encoding="utf-8")
    job = Job(pack=str(WORKLOAD), input=src, output=tmp_path / "o.csv", as_of=AS_OF, chunk_size=3,
              checkpoint_seconds=0, workers=2)

    def stop(done: int) -> None:
        if done >= 700:
            raise KeyboardInterrupt
    with pytest.raises(Interrupted):
        run(job, progress=False, on_chunk=stop)
    resumed = run(attrs.evolve(job, resume=True), progress=False)
    clean = run(attrs.evolve(job, output=tmp_path / "clean.csv", workers=1), progress=False)
    assert resumed.route == clean.route == "columnar" and resumed.resumed_from >= 700
    assert (tmp_path / "o.csv").read_bytes() == (tmp_path / "clean.csv").read_bytes()


@pytest.mark.parametrize(("block", "count"), [
    (b"H1,2\r\nH2,3\r\n", 2),
    (b"H1,2\nH2,3", 2),                          # the file's last line, without a line break
    (b",2\r\n\xe5\xbc\xa0,3\r\n", 2),           # no id, a Chinese first cell: looked at whole
    (b"H1,2\r\n,\r\n", None),                    # a blank row
    (b"H1,2\r\n \xe3\x80\x80, \r\n", None),      # blank: spaces and an ideographic space
    (b"H1,2\r\n\r\n", None),                      # an empty line
    (b"H1,2\rH2,3\r\n", None),                     # a lone CR: the csv module ends a line there
    (b"H1,\x002\r\n", None),
])
def test_plain_rows_numbers_only_lines_that_are_surely_rows(block: bytes, count: int | None) -> None:
    assert columnar_run._plain_rows(block) == count


def test_gbk_csv_with_chinese_headers_is_the_row_routes_byte_for_byte(
        tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A CSV saved as GBK (Excel on a Chinese Windows), headed by the facts' Chinese labels, with
    Chinese text in bad cells and a quoted cell near the end: the columnar route reads it, and its
    output is the row route's."""
    pack = rulekit.load_pack(WORKLOAD)
    rows = households(600, seed=29)
    for k, r in enumerate(rows):
        if k % 53 == 4:
            r["wage"] = ["５，０００", "很多", "1e3", " "][k % 4]
        if k % 61 == 9:
            r["has_industry"] = ["是的", "否", "有"][k % 3]
    lines = csv_text(rows)
    labels = {n: f["label"] for n, f in pack.spec.facts.items()}
    lines[0] = ",".join(["户编号", *(labels[n] for n in list(rows[0])[1:])]) + "\r\n"
    lines[550] = lines[550].replace(lines[550].split(",")[0], '"Q,1"', 1)
    src = tmp_path / "户.csv"
    src.write_bytes("".join(lines).encode("gbk"))
    parsed = []
    real = columnar_run._arrow_block
    monkeypatch.setattr(columnar_run, "_arrow_block",
                        lambda block, width: parsed.append(real(block, width)) or parsed[-1])
    job = Job(pack=str(WORKLOAD), input=src, output=tmp_path / "o.csv", as_of=AS_OF, chunk_size=4,
              encoding="gbk")
    col, row, s1, s2 = both(job, monkeypatch)
    assert col == row
    assert sum(p is not None for p in parsed) >= 1       # lines before the quote: read by Arrow
    assert (s1.rows, s1.statuses, s1.decisions) == (s2.rows, s2.statuses, s2.decisions)
    assert s1.rows == 600 and s1.statuses["invalid"] > 10
    assert "５，０００" in col.decode("utf-8-sig")


def test_csv_in_other_encodings_keeps_the_row_route(tmp_path: pathlib.Path) -> None:
    text = "".join(csv_text(households(30), newline="\n"))
    (tmp_path / "j.csv").write_bytes(text.encode("shift_jis"))
    job = Job(pack=str(WORKLOAD), input=tmp_path / "j.csv", output=tmp_path / "o.csv", as_of=AS_OF,
              encoding="shift_jis")
    assert run(job, progress=False).route == "rows"
    (tmp_path / "bad.csv").write_bytes(text.encode("utf-8") + b"H9,\xff\n")
    job = attrs.evolve(job, input=tmp_path / "bad.csv", encoding="utf-8-sig")
    assert not columnar_run._plain_csv(job.input, job.encoding)
    (tmp_path / "bad_gbk.csv").write_bytes(text.encode("gbk") + b"H9,\x81\n")   # a lone lead byte
    assert not columnar_run._plain_csv(tmp_path / "bad_gbk.csv", "gbk")
