"""The same batch run on Dask: a dask DataFrame of household rows in, the same output rows out.

`pack` is a bundled pack id or a pack path that every worker can read. Each partition is decided
by the worker code of the local run (run.Worker: the same column
mapping, cell conversion, evaluation and output row), in a process that loads the pack itself and
checks its SHA-256, so a Dask cluster gives exactly the rows `rulekit run` gives (a test proves
it), except that an error row locates the row by number (`dask row 7`) rather than by file line.
Positions are global (partition offsets are counted first). Population reports are tallied per
partition and merged in partition order: counts are exact; a sum of non-integer values may differ
from the one-process sum in its last binary digit (the additions are grouped differently).

    import dask.dataframe as dd
    from rulekit.batch import dask as rk
    households = dd.read_parquet("s3://bucket/2023/households/")      # one partition per county
    result = rk.run(households, "yuxi", "/shared/2023/decisions/", as_of="2023-06-30",
                    reports=["stats_table"])
    result.statuses, result.reports["stats_table"].to_csv()

The output directory is a path every worker can write (a shared file system): parts are written
with pathlib and renamed when complete. Members and other tables must be nested in the households
frame (a list column, e.g. from a Parquet list<struct> column or a groupby), since a partition
holds whole households. Requires the `dask` extra (dask[dataframe]); `distributed` for a cluster.
"""
from __future__ import annotations

import collections
import functools
import json
import operator
import pathlib
import pickle
from collections.abc import Sequence
from typing import Any

import attrs

from rulekit.batch.readers import BatchError, _blank, need
from rulekit.batch.rows import HOUSEHOLD_STATUSES, Layout, Tally
from rulekit.batch.run import Worker, WorkerSpec, load_checked
from rulekit.engine.pack import Pack


@attrs.frozen
class ClusterResult:
    """What a run on a cluster did (Dask here, Spark in spark.py)."""
    rows: int
    statuses: dict[str, int]
    reports: dict[str, Any]         # name -> ReportResult
    output: str
    blank: int = 0                  # input rows with every cell empty, skipped and counted


DaskResult = ClusterResult


BLANK = "(blank)"                   # a partition's count of blank rows, beside its statuses


def _dask() -> Any:
    return need("dask.dataframe", "dask", pathlib.Path("(dask)"))


def _spec(pack: Pack, pack_ref: str, overrides: Sequence[str], header: Sequence[str], *,
          as_of: str | None, lang: str, values: Sequence[str] | None, ignore: Sequence[str],
          reports: Sequence[str], source: str) -> WorkerSpec:
    return WorkerSpec(pack=pack_ref, overrides=tuple(str(o) for o in overrides), digest=pack.digest,
                      as_of=as_of, lang=lang, header=tuple(str(h) for h in header), source=source,
                      ignore=tuple(ignore), values=tuple(values) if values is not None else None,
                      csv_output=True, full=False, reports=tuple(reports), index=None, children=())


@functools.lru_cache(maxsize=4)
def _worker(spec: WorkerSpec) -> Worker:
    """One Worker per process and job (Dask runs many partitions in the same process)."""
    return Worker(spec)


def _python(v: Any) -> Any:
    """A pandas/numpy cell as the plain Python value a file reader would give (None if missing)."""
    import numpy as np
    import pandas as pd
    if isinstance(v, np.generic):
        v = v.item()
    if v is None or v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, np.ndarray):
        return [_python(x) for x in v.tolist()]
    return v


def _partition(frame: Any, spec: WorkerSpec, start: tuple[int, int]) -> tuple[Any, list[Tally], dict]:
    """Decide one partition, which starts at (row number, household position): (output rows as a
    DataFrame of text cells, report tallies, household status counts and blank rows). A row with
    every cell empty is skipped and counted, as the local readers do."""
    import pandas as pd
    worker = _worker(spec)
    rows = []
    tallies = [Tally() for _ in spec.reports]
    statuses: collections.Counter = collections.Counter()
    first_row, position = start
    for j, values in enumerate(frame.itertuples(index=False, name=None)):
        cells = tuple(_python(c) for c in values)
        if _blank(cells):
            statuses[BLANK] += 1
            continue
        rows.append(worker.csv_row(position, f"{spec.source} row {first_row + j + 1}", cells,
                                   statuses, tallies))
        position += 1
    out = pd.DataFrame(rows, columns=list(worker.layout.columns), dtype=object)
    return out, tallies, dict(statuses)


def _write_part(part: tuple[Any, list[Tally], dict], path: pathlib.Path) -> tuple[list[Tally], dict]:
    """Write one partition's output rows (Parquet, text columns) and, beside them, its tallies
    and counts (`_part.N.tally`, which Parquet readers skip); each file is renamed when complete,
    the tallies last, so a partition whose tally file exists is done."""
    frame, tallies, counts = part
    tmp = path.with_name(path.name + ".part")
    frame.to_parquet(tmp, index=False)
    tmp.replace(path)
    done = _tally_path(path)
    tmp = done.with_name(done.name + ".part")
    tmp.write_bytes(pickle.dumps((tallies, counts), protocol=5))
    tmp.replace(done)
    return tallies, counts


def _tally_path(path: pathlib.Path) -> pathlib.Path:
    return path.with_name("_" + path.name.removesuffix(".parquet") + ".tally")


def _done_part(path: pathlib.Path) -> tuple[list[Tally], dict]:
    """The tallies of a partition an earlier run finished (rk.run(..., resume=True))."""
    return pickle.loads(_tally_path(path).read_bytes())


def _offsets(ddf: Any) -> list[tuple[int, int]]:
    """Where each partition starts: (rows before it, households before it), blank rows being
    rows of the input but not households."""
    import pandas as pd
    counts = ddf.map_partitions(lambda f: pd.Series([len(f), _blank_rows(f)]), meta=(None, int)).compute()
    values = [int(v) for v in counts.tolist()]
    out, rows, households = [], 0, 0
    for n, blank in zip(values[0::2], values[1::2]):
        out.append((rows, households))
        rows += n
        households += n - blank
    return out


def _blank_rows(frame: Any) -> int:
    return sum(_blank(tuple(_python(c) for c in cells))
               for cells in frame.itertuples(index=False, name=None))


def _parts(ddf: Any, pack: str, overrides: Sequence[str], as_of: str | None, lang: str,
           values: Sequence[str] | None, ignore: Sequence[str], reports: Sequence[str],
           source: str) -> tuple[list, Any, Pack]:
    dd = _dask()
    import dask
    loaded = load_checked(pack, overrides, as_of, reports)
    spec = _spec(loaded, pack, overrides, list(ddf.columns), as_of=as_of, lang=lang, values=values,
                 ignore=ignore, reports=reports, source=source)
    Worker(spec, loaded)        # every header problem now, in the client, before any task runs
    offsets = _offsets(ddf)
    parts = [dask.delayed(_partition)(p, spec, start)
             for p, start in zip(ddf.to_delayed(), offsets)]
    layout = Layout(loaded, values)
    import pandas as pd
    meta = pd.DataFrame({c: pd.Series(dtype=object) for c in layout.columns})
    frame = dd.from_delayed([dask.delayed(operator.getitem)(p, 0) for p in parts], meta=meta,
                            verify_meta=False)
    return parts, frame, loaded


def decide(ddf: Any, pack: str, *, overrides: Sequence[str] = (), as_of: str | None = None,
           lang: str = "zh", values: Sequence[str] | None = None, ignore: Sequence[str] = (),
           source: str = "dask") -> Any:
    """The output rows of `rulekit run` as a lazy dask DataFrame (text cells, CSV columns)."""
    _, frame, _ = _parts(ddf, pack, overrides, as_of, lang, values, ignore, (), source)
    return frame


def run(ddf: Any, pack: str, output: str | pathlib.Path, *, overrides: Sequence[str] = (),
        as_of: str | None = None, lang: str = "zh", values: Sequence[str] | None = None,
        ignore: Sequence[str] = (), reports: Sequence[str] = (), source: str = "dask",
        resume: bool = False, **compute: Any) -> DaskResult:
    """Decide every row of `ddf`, write the output rows as Parquet files under the directory
    `output` (part.00000.parquet... one per partition, in input order), and tally the reports and
    counts, all in one pass over the input. With `resume=True`, partitions finished by an earlier
    run of the same job into the same directory are not decided again (their saved tallies are
    used). `compute` goes to dask.compute (e.g. scheduler="processes")."""
    import dask
    parts, _, loaded = _parts(ddf, pack, overrides, as_of, lang, values, ignore, reports, source)
    out = pathlib.Path(output)
    out.mkdir(parents=True, exist_ok=True)
    job = {"pack": loaded.digest, "as_of": as_of, "lang": lang, "values": values and list(values),
           "ignore": list(ignore), "reports": list(reports), "columns": [str(c) for c in ddf.columns],
           "partitions": len(parts)}
    stamp = out / "_rulekit_job.json"
    if resume and stamp.exists():
        before = json.loads(stamp.read_text(encoding="utf-8"))
        changed = sorted(k for k in set(before) | set(job) if before.get(k) != job.get(k))
        if changed:
            raise BatchError.of("batch_resume_mismatch", journal=str(stamp), changed=", ".join(changed))
    stamp.write_text(json.dumps(job, ensure_ascii=False), encoding="utf-8")
    width = max(5, len(str(len(parts))))
    paths = [out / f"part.{i:0{width}d}.parquet" for i in range(len(parts))]
    pieces = [dask.delayed(_done_part)(path) if resume and _tally_path(path).exists()
              else dask.delayed(_write_part)(p, path) for p, path in zip(parts, paths)]
    results = dask.compute(*pieces, **compute)
    statuses: collections.Counter = collections.Counter()
    tallies = [Tally() for _ in reports]
    for part_tallies, counts in results:           # in partition order = input order
        statuses.update(counts)
        for tally, part in zip(tallies, part_tallies):
            tally.merge(part)
    blank = statuses.pop(BLANK, 0)
    done = {name: tally.finish(loaded, name, as_of) for name, tally in zip(reports, tallies)}
    return DaskResult(sum(statuses.values()), {s: statuses.get(s, 0) for s in HOUSEHOLD_STATUSES},
                      done, str(output), blank)
