"""The same batch run on Spark: a Spark DataFrame of household rows in, the same output rows out.

`pack` is a bundled pack id or a pack path that every executor can read. Each partition is decided
in the executors' Python workers through `DataFrame.mapInArrow` by the worker code of the local run
(run.Worker, built once per worker process as on Dask: same column mapping, cell conversion,
evaluation and output row). Cells reach it as `to_pylist()` of the Arrow batches, the values the
local Parquet reader hands over, so a Parquet file gives exactly the rows `rulekit run` gives for
it; with `source="households.parquet"` even the error rows' locations (`households.parquet row 7`)
are the same, and a CSV output is byte for byte the local one (a test proves it).

A first pass counts each partition's rows and blank rows (every cell empty, skipped and counted as
the local readers do), so that positions are global and row numbers count blank rows as a file's do;
the second pass decides, and its result is persisted until written. Both passes read the
DataFrame, which must therefore give the same rows twice (files do; persist a DataFrame computed
from anything else): before writing anything, the driver checks that each partition decided as
many rows as were counted, and stops the run if not. Population reports and status counts are
tallied per partition, on a last row of each partition's output that only the driver reads, and
merged in partition order (rows.Tally): counts are exact; a sum of non-integer values may differ
from the one-process sum in its last binary digit, as on Dask.

    from rulekit.batch import spark as rk
    households = spark.read.parquet("hdfs:///2023/households/")     # members nested per household
    result = rk.run(households, "yuxi", "hdfs:///2023/decisions/", as_of="2023-06-30",
                    reports=["stats_table"])
    result.statuses, result.reports["stats_table"].to_csv()

The output is a directory of Parquet files written by Spark (any file system Spark writes), or,
when it ends in `.csv`, one CSV file written on the driver in input order, as `rulekit run` writes
it. The order of the input is the DataFrame's (partition by partition); order it first if it matters.
Requires the `spark` extra (pyspark, pyarrow) on the driver and on every executor, with rulekit
installed.
"""
from __future__ import annotations

import collections
import csv
import functools
import io
import os
import pathlib
import pickle
from collections.abc import Iterator, Sequence
from typing import Any

import attrs

from rulekit.batch.dask import ClusterResult, _spec, _worker
from rulekit.batch.readers import BatchError, need
from rulekit.batch.rows import HOUSEHOLD_STATUSES, Layout, Tally
from rulekit.batch.run import Worker, WorkerSpec, load_checked
from rulekit.engine.pack import Pack

TALLY = "_rulekit_tally"       # set only on each partition's last output row: its tallies and counts
FILE_ONLY = (".jsonl", ".json", ".xlsx")


SparkResult = ClusterResult


@attrs.frozen
class PartCount:
    """Where a partition starts, counted by the first pass: rows before it (blank or not),
    households before it, and its own rows."""
    first_row: int
    first_position: int
    rows: int


def _spark() -> Any:
    return need("pyspark.sql", "spark", pathlib.Path("(spark)"))


# -- on the executors ------------------------------------------------------------------------------

@functools.cache
def _blank_pattern() -> str:
    """A text cell is blank when str.strip() leaves nothing (readers._blank): exactly the
    characters for which str.isspace() holds, as one RE2 class, so Arrow finds blank rows
    without turning every cell into a Python object."""
    spaces = (c for c in range(0x110000) if chr(c).isspace())
    return "^[" + "".join(f"\\x{{{c:x}}}" for c in spaces) + "]*$"


def _blank_mask(batch: Any) -> Any:
    """Per row of an Arrow batch: is every cell missing or whitespace (as readers._blank)?"""
    import pyarrow as pa
    import pyarrow.compute as pc
    mask = pa.array([True] * batch.num_rows, pa.bool_())
    for column in batch.columns:
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            blank = pc.fill_null(pc.match_substring_regex(column, _blank_pattern()), True)
        else:
            blank = pc.is_null(column)
        mask = pc.and_(mask, blank)
    return mask


def _partition_id() -> int:
    from pyspark import TaskContext
    context = TaskContext.get()
    assert context is not None, "called outside a Spark task"
    return context.partitionId()


def _count(batches: Iterator[Any]) -> Iterator[Any]:
    """One row per partition: (partition, rows, blank rows)."""
    import pyarrow as pa
    rows = blank = 0
    for batch in batches:
        rows += batch.num_rows
        blank += _blank_mask(batch).true_count
    yield pa.RecordBatch.from_pydict({"part": [_partition_id()], "rows": [rows], "blank": [blank]},
                                     schema=pa.schema([("part", pa.int32()), ("rows", pa.int64()),
                                                       ("blank", pa.int64())]))


def _decide(spec: WorkerSpec, counts: dict[int, PartCount], batches: Iterator[Any]) -> Iterator[Any]:
    """Decide one partition's batches: their output rows as text cells, then one row holding the
    partition's tallies and counts (TALLY)."""
    import pyarrow as pa
    part = _partition_id()
    start = counts.get(part, PartCount(0, 0, 0))
    worker = _worker(spec)
    schema = _arrow_schema(worker.layout)
    row_number, position = start.first_row, start.first_position
    tallies = [Tally() for _ in spec.reports]
    statuses: collections.Counter = collections.Counter()
    blank = 0
    for batch in batches:
        rows = []
        for is_blank, cells in zip(_blank_mask(batch).to_pylist(),
                                   zip(*(column.to_pylist() for column in batch.columns))):
            row_number += 1
            if is_blank:
                blank += 1
                continue
            rows.append(worker.csv_row(position, f"{spec.source} row {row_number}", cells,
                                       statuses, tallies))
            position += 1
        if rows:
            columns = [pa.array(cells, pa.string()) for cells in zip(*rows)]
            yield pa.RecordBatch.from_arrays(columns + [pa.nulls(len(rows), pa.binary())], schema=schema)
    seen = row_number - start.first_row
    done = pickle.dumps((part, seen, blank, tallies, dict(statuses)), protocol=5)
    columns = [pa.nulls(1, pa.string()) for _ in worker.layout.columns]
    yield pa.RecordBatch.from_arrays(columns + [pa.array([done], pa.binary())], schema=schema)


def _csv_text(batches: Iterator[Any]) -> Iterator[Any]:
    """Each batch of output rows as one piece of CSV text, written by the csv.writer the local
    run uses, so that the driver only concatenates pieces."""
    import pyarrow as pa
    for batch in batches:
        text = io.StringIO()
        csv.writer(text).writerows(zip(*(column.to_pylist() for column in batch.columns)))
        yield pa.RecordBatch.from_pydict({"text": [text.getvalue()]})


def _arrow_schema(layout: Layout) -> Any:
    import pyarrow as pa
    return pa.schema([(c, pa.string()) for c in layout.columns] + [(TALLY, pa.binary())])


# -- on the driver ---------------------------------------------------------------------------------

def _spark_schema(layout: Layout) -> Any:
    from pyspark.sql import types as T
    return T.StructType([T.StructField(c, T.StringType()) for c in layout.columns]
                        + [T.StructField(TALLY, T.BinaryType())])


def _by_position(df: Any) -> Any:
    """`df` with its columns renamed _0, _1...: mapInArrow looks its columns up by name, and a
    name with a dot in it (`income.wage_income`, `value.A`) would be read as a struct field."""
    return df.toDF(*(f"_{i}" for i in range(len(df.columns))))


def _counts(df: Any) -> dict[int, PartCount]:
    """Each partition's start, from one counting pass (partitions that ran no task hold nothing)."""
    found = {r["part"]: (r["rows"], r["blank"]) for r in
             _by_position(df).mapInArrow(_count, "part int, rows long, blank long").collect()}
    out, rows, positions = {}, 0, 0
    for part in sorted(found):
        n, blank = found[part]
        out[part] = PartCount(rows, positions, n)
        rows += n
        positions += n - blank
    return out


def _decided(df: Any, pack: str, overrides: Sequence[str], as_of: str | None, lang: str,
             values: Sequence[str] | None, ignore: Sequence[str], reports: Sequence[str],
             source: str) -> tuple[Any, Pack, dict[int, PartCount]]:
    """The output rows of every partition followed by its TALLY row, as a lazy DataFrame, after
    checking the job in the driver and counting the partitions."""
    _spark()
    loaded = load_checked(pack, overrides, as_of, reports)
    spec = _spec(loaded, pack, overrides, list(df.columns), as_of=as_of, lang=lang, values=values,
                 ignore=ignore, reports=reports, source=source)
    local = Worker(spec, loaded)     # every header problem now, in the driver, before any task runs
    counts = _counts(df)
    decide = functools.partial(_decide, spec, counts)
    return _by_position(df).mapInArrow(decide, _spark_schema(local.layout)), loaded, counts


def decide(df: Any, pack: str, *, overrides: Sequence[str] = (), as_of: str | None = None,
           lang: str = "zh", values: Sequence[str] | None = None, ignore: Sequence[str] = (),
           source: str = "spark") -> Any:
    """The output rows of `rulekit run` as a lazy Spark DataFrame (text cells, CSV columns).
    The partitions are counted now, so `df` must give the same rows when the result is computed
    (unlike `run`, nothing checks it: no tally row is read)."""
    from pyspark.sql import functions as F
    decided, _, _ = _decided(df, pack, overrides, as_of, lang, values, ignore, (), source)
    return decided.where(F.col(TALLY).isNull()).drop(TALLY)


def run(df: Any, pack: str, output: str | pathlib.Path, *, overrides: Sequence[str] = (),
        as_of: str | None = None, lang: str = "zh", values: Sequence[str] | None = None,
        ignore: Sequence[str] = (), reports: Sequence[str] = (), source: str = "spark",
        mode: str = "errorifexists") -> SparkResult:
    """Decide every row of `df`, write the output rows, and tally the reports and counts, in one
    deciding pass (kept with `persist` until written). `output` ending in .csv is one CSV file
    written here, on the driver; anything else is a directory of Parquet files (text columns)
    written by the executors, `mode` as in DataFrameWriter ("overwrite" to replace it)."""
    from pyspark import StorageLevel
    from pyspark.sql import functions as F
    text = str(output)
    if text.lower().endswith(FILE_ONLY):
        raise BatchError.of("spark_output", path=text)
    decided, loaded, counts = _decided(df, pack, overrides, as_of, lang, values, ignore, reports,
                                       source)
    decided.persist(StorageLevel.MEMORY_AND_DISK)
    try:
        parts = sorted((pickle.loads(r[0]) for r in
                        decided.where(F.col(TALLY).isNotNull()).select(TALLY).collect()),
                       key=lambda part: part[0])
        _check_counts(counts, parts)
        rows = decided.where(F.col(TALLY).isNull()).drop(TALLY)
        if text.lower().endswith(".csv"):
            _write_csv(rows, pathlib.Path(output), Layout(loaded, values))
        else:
            rows.write.mode(mode).parquet(text)
    finally:
        decided.unpersist()
    statuses: collections.Counter = collections.Counter()
    tallies = [Tally() for _ in reports]
    for _, _, _, part_tallies, part_statuses in parts:     # in partition order = input order
        statuses.update(part_statuses)
        for tally, part in zip(tallies, part_tallies):
            tally.merge(part)
    done = {name: tally.finish(loaded, name, as_of) for name, tally in zip(reports, tallies)}
    return SparkResult(sum(statuses.values()), {s: statuses.get(s, 0) for s in HOUSEHOLD_STATUSES},
                       done, text, sum(blank for _, _, blank, _, _ in parts))


def _check_counts(counts: dict[int, PartCount], parts: list[tuple]) -> None:
    """Each partition decided the rows the first pass counted: else the DataFrame changed between
    its two reads and the positions are wrong."""
    seen = {part: n for part, n, *_ in parts}
    for part in sorted(set(counts) | set(seen)):
        counted = counts[part].rows if part in counts else 0
        if seen.get(part, 0) != counted:
            raise BatchError.of("spark_changed", part=str(part), counted=str(counted),
                                seen=str(seen.get(part, 0)))


def _write_csv(rows: Any, path: pathlib.Path, layout: Layout) -> None:
    """The output rows, partition by partition from the persisted result, as `rulekit run`
    writes them: BOM, header, csv.writer rows (turned into text by the executors); to
    PATH.part, renamed when complete."""
    tmp = path.with_name(path.name + ".part")
    with tmp.open("w", encoding="utf-8", newline="") as f:
        f.write("\ufeff")
        csv.writer(f).writerow(layout.columns)
        pieces = _by_position(rows).mapInArrow(_csv_text, "text string")
        for piece in pieces.toLocalIterator(prefetchPartitions=True):
            f.write(piece[0])
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
