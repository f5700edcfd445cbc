"""A batch run: every row of an input file decided by a pack, one output row per input row, in
input order, resumable, on one or many processes.

Stages: read (readers.py) -> map cells to a record (columns.py) -> evaluate (pack.evaluate) ->
output row (rows.py) -> write. The main process reads and writes; the work in between is done in
chunks, by itself (`workers=1`) or by worker processes that each load the same pack (checked by its
SHA-256), with at most a few chunks in flight, so memory does not grow with the input and the
output order is the input order whatever the number of workers.

Nothing is lost: a row that cannot be read, mapped or validated becomes an error row with its
position and a readable reason; child-table rows that name no household of the input are counted
and located in the summary; blank rows are counted.

Output goes to `OUTPUT.part` (and `FULL.part`, and the report tallies), renamed when complete. At
each checkpoint the parts are flushed to disk and their sizes appended to `OUTPUT.journal`; a run
killed at any point resumes (`resume=True`) by cutting the parts back to the last checkpoint and
skipping the rows it covers, so the final output has exactly one row per input row.
"""
from __future__ import annotations

import collections
import csv
import datetime as dt
import io
import json
import multiprocessing
import os
import pathlib
import pickle
import sys
import time
from collections.abc import Callable, Generator, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from typing import IO, Any

import attrs

from rulekit.batch import columns as C
from rulekit.batch import spool
from rulekit.batch.readers import BatchError, Documents, Table, file_stamp, open_source, xlsx_tables
from rulekit.batch.rows import HOUSEHOLD_STATUSES, INVALID, Layout, Tally, contribution
from rulekit.engine.pack import Pack, load_pack
from rulekit.errors import Problem, RecordError
from rulekit.trace.messages import t

JOURNAL_VERSION = 2    # 2: report contributions carry dates and the engine tally's shape


@attrs.frozen
class Job:
    """Everything a run depends on. Equal jobs give byte-identical outputs."""
    pack: str
    input: pathlib.Path
    output: pathlib.Path
    overrides: tuple[pathlib.Path, ...] = ()
    members: pathlib.Path | None = None
    tables: tuple[tuple[str, pathlib.Path], ...] = ()     # (table name, file): crops, work...
    as_of: str | None = None
    workers: int = 1
    resume: bool = False
    full: pathlib.Path | None = None                      # the full decision records (JSONL)
    reports: tuple[str, ...] = ()
    values: tuple[str, ...] | None = None                 # value columns (default: computed values)
    ignore: tuple[str, ...] = ()                          # input columns left out on purpose
    sheet: str | None = None
    encoding: str = "utf-8-sig"
    lang: str = "zh"
    chunk_size: int = 250
    checkpoint_seconds: float = 2.0


@attrs.frozen
class Summary:
    """What a run did: counts that reconcile with the input, and where everything went."""
    rows: int
    statuses: dict[str, int]                  # decided, needs_review, undetermined, invalid
    decisions: dict[str, dict[str, int]]      # per decision: status -> households
    blank: int
    output: pathlib.Path
    full: pathlib.Path | None
    reports: dict[str, tuple[pathlib.Path, ...]]
    unattached: dict[str, tuple[int, list[str]]]   # child table -> (rows, where the first are)
    unread_sheets: tuple[str, ...]
    resumed_from: int
    seconds: float
    route: str = "rows"                       # "columnar" when columnar_run.py did the work

    @property
    def complete(self) -> bool:
        """Every row decided or reviewable: no invalid row, no child row left unattached."""
        return not self.statuses.get(INVALID) and not self.unattached

    def text(self, lang: str = "zh") -> str:
        s = self.statuses
        lines = [t("batch_summary", lang, rows=str(self.rows), decided=str(s.get("decided", 0)),
                   needs_review=str(s.get("needs_review", 0)),
                   undetermined=str(s.get("undetermined", 0)), invalid=str(s.get(INVALID, 0)))]
        for name, counts in self.decisions.items():
            lines.append(f"  {name}: " + ", ".join(f"{t(k, lang)} {v}" for k, v in counts.items() if v))
        if self.blank:
            lines.append(t("batch_blank", lang, n=str(self.blank)))
        for source, (n, where) in self.unattached.items():
            lines.append(t("batch_unattached", lang, source=source, n=str(n), rows="; ".join(where)))
        for sheet in self.unread_sheets:
            lines.append(t("batch_unread_sheet", lang, sheet=sheet))
        if self.resumed_from:
            lines.append(t("batch_resumed", lang, n=str(self.resumed_from)))
        lines.append(t("batch_wrote", lang, path=str(self.output)))
        if self.full:
            lines.append(t("batch_wrote", lang, path=str(self.full)))
        for paths in self.reports.values():
            for p in paths:
                lines.append(t("batch_wrote", lang, path=str(p)))
        rate = self.rows / self.seconds if self.seconds else 0
        lines.append(t("batch_rate", lang, seconds=f"{self.seconds:.1f}", rate=f"{rate:,.0f}"))
        return "\n".join(lines)


class Interrupted(BatchError):
    """The run stopped before the end (Ctrl-C); the journal lets `resume=True` continue it."""


# -- the work on one chunk (in the main process or a worker) ----------------------------------------

@attrs.frozen
class WorkerSpec:
    """What a worker process needs to rebuild exactly the main process's pipeline."""
    pack: str
    overrides: tuple[str, ...]
    digest: str
    as_of: str | None
    lang: str
    header: tuple[str, ...] | None        # None: document input (JSONL/JSON)
    source: str
    ignore: tuple[str, ...]
    values: tuple[str, ...] | None
    csv_output: bool
    full: bool
    reports: tuple[str, ...]
    index: str | None                     # the child index (SQLite) path
    children: tuple[tuple[str, str, tuple[str, ...] | None], ...]   # (name, source, header)


@attrs.frozen
class ChunkOut:
    text: str | bytes | spool.SpooledOutput     # bytes: UTF-8 already (the columnar route);
                                                # a file: spooled by a worker (spool.py)
    full: str
    tallies: tuple[tuple[tuple, ...], ...]      # per report, each row's contribution
    statuses: dict[str, int]
    decisions: dict[tuple[str, str], int]
    rows: int


class Worker:
    """Maps, evaluates and formats rows; built once per process."""

    def __init__(self, spec: WorkerSpec, pack: Pack | None = None) -> None:
        self.spec = spec
        self.pack = pack or load_pack(spec.pack, overrides=[pathlib.Path(p) for p in spec.overrides])
        if self.pack.digest != spec.digest:
            raise BatchError.of("batch_pack_changed", pack=spec.pack)
        pspec = self.pack.spec
        self.plan = (C.plan_table(C.household_mapping(pspec), spec.header, spec.source, spec.ignore)
                     if spec.header is not None else None)
        self.layout = Layout(self.pack, spec.values)
        self.columnar: Any = None        # the columnar route's tables, built on its first batch
        self.index = None
        if spec.index:
            tables = {}
            for name, source, header in spec.children:
                child = C.find_child(name)
                plan = (C.plan_table(C.child_mapping(pspec, child), header, source, spec.ignore)
                        if header is not None else None)
                tables[name] = C.ChildTable(child, source, plan)
            self.index = C.ChildIndex(pathlib.Path(spec.index), tables)

    def row(self, position: int, where: str, payload: Any) -> tuple[dict, Any, str | None]:
        """(output row, Result or None, the English error for report tallies) of one input row."""
        lang = self.spec.lang
        problems: list[Problem] = []
        if self.plan is not None:
            record = C.row_record(self.plan, where, payload, problems)
        else:
            record = C.document_record(where, payload, problems)
        rid = C.record_id(record)
        origins = C.attach_children(record, rid, self.index, problems)
        if problems:
            err = C.RowError(problems)
            return Layout.error_row(position, rid, err.text(lang)), None, err.text("en")
        try:
            result = self.pack.evaluate(record, as_of=self.spec.as_of)
        except RecordError as e:
            problems = e.problems
            return (Layout.error_row(position, rid, _located(where, problems, origins, lang)), None,
                    _located(where, problems, origins, "en"))
        except Exception as e:   # one household's failure must not lose the others
            word = "" if isinstance(e, (ValueError, ArithmeticError, KeyError)) else \
                f"{t('batch_internal', lang)}: {type(e).__name__}: "
            return Layout.error_row(position, rid, f"{where}: {word}{e}"), None, f"{where}: {e}"
        return self.layout.result_row(position, result), result, None

    def csv_row(self, position: int, where: str, cells: Any, statuses: collections.Counter,
                tallies: list[Any]) -> list[str]:
        """One row decided as a cluster partition does it (dask.py, spark.py): its CSV cells,
        its status counted and its report contributions added to `tallies`."""
        row, result, error = self.row(position, where, cells)
        statuses[row["status"]] += 1
        for tally, name in zip(tallies, self.spec.reports):
            tally.add(contribution(self.pack, name, position, result, row["id"], error))
        return self.layout.csv_cells(row)

    def process(self, chunk: Any) -> ChunkOut:
        """The output of a chunk: a list of (position, where, cells) rows, or an Arrow batch of
        the columnar route (columnar_run.py)."""
        if not isinstance(chunk, list):
            from rulekit.batch import columnar_run
            if self.columnar is None:
                self.columnar = columnar_run.Route(self)
            if isinstance(chunk, columnar_run.GroupTask):    # a Parquet row group, read here
                return self.columnar.process_group(chunk)
            if isinstance(chunk, spool.Spooled):       # in and out through shared memory
                out = self.columnar.process(chunk.open())
                if isinstance(out.text, bytes):
                    out = attrs.evolve(out, text=spool.put_output(chunk.directory, out.text))
                return out
            return self.columnar.process(chunk)
        out = io.StringIO()
        writer = csv.writer(out) if self.spec.csv_output else None
        full: list[str] = []
        tallies: list[list[tuple]] = [[] for _ in self.spec.reports]
        statuses: collections.Counter = collections.Counter()
        decisions: collections.Counter = collections.Counter()
        for position, where, payload in chunk:
            row, result, error = self.row(position, where, payload)
            statuses[row["status"]] += 1
            for name, d in (row.get("decisions") or {}).items():
                decisions[(name, d["status"])] += 1
            if writer is not None:
                writer.writerow(self.layout.csv_cells(row))
            else:
                out.write(json.dumps(row, ensure_ascii=False) + "\n")
            if self.spec.full:
                doc = ({"position": position, **result.to_dict()} if result is not None
                       else {"position": position, "record_id": row["id"], "error": row["error"]})
                full.append(json.dumps(doc, ensure_ascii=False) + "\n")
            for i, name in enumerate(self.spec.reports):
                tallies[i].append(contribution(self.pack, name, position, result, row["id"], error))
        return ChunkOut(out.getvalue(), "".join(full), tuple(tuple(x) for x in tallies),
                        dict(statuses), dict(decisions), len(chunk))


def _located(where: str, problems: list[Problem], origins: dict, lang: str) -> str:
    """A record's problems after the row's place; a member's problem also names its table row."""
    return f"{where}: " + "; ".join(f"{C.locate(p.path, origins)}: {p.text(lang)}" if p.path
                                    else p.text(lang) for p in problems)


_WORKER: Worker | None = None     # one per worker process (set by its initializer)


def _init_worker(spec: WorkerSpec, pack: Pack | None = None) -> None:
    global _WORKER
    _lean_arrow()
    _WORKER = Worker(spec, pack)


def _lean_arrow() -> None:
    """A worker's Arrow memory from the system allocator, unless the user chose one: jemalloc,
    Arrow's default, keeps freed memory for reuse, and a worker reading Parquet row groups
    peaked at ~230 MB against ~155 MB, at the same speed (benchmarks/README.md)."""
    pa = sys.modules.get("pyarrow")
    if pa is not None and not os.environ.get("ARROW_DEFAULT_MEMORY_POOL"):
        pa.set_memory_pool(pa.system_memory_pool())


def _process(chunk: Any) -> ChunkOut:
    assert _WORKER is not None
    return _WORKER.process(chunk)


# -- files: parts, journal, checkpoints ---------------------------------------------------------------

def part(path: pathlib.Path, suffix: str = ".part") -> pathlib.Path:
    return path.with_name(path.name + suffix)


class Outputs:
    """The output parts and the journal of their sizes at each checkpoint."""

    def __init__(self, job: Job, layout: Layout, fingerprint: dict) -> None:
        self.job = job
        self.layout = layout
        self.fingerprint = fingerprint
        self.journal_path = part(job.output, ".journal")
        self.paths = {"out": part(job.output)}
        if job.full:
            self.paths["full"] = part(job.full)
        if job.reports:
            self.paths["tally"] = part(job.output, ".tally.part")
        self.files: dict[str, IO[bytes]] = {}
        self.journal: IO[str] | None = None
        self.rows = 0
        self.statuses: collections.Counter = collections.Counter()
        self.decisions: collections.Counter = collections.Counter()
        self.last = time.monotonic()

    def start(self) -> tuple[int, str | None]:
        """Open the parts: continue the interrupted run when resuming, else start afresh.
        Returns (rows already done, a note for the user or None)."""
        note = None
        state = self._read_journal() if self.journal_path.exists() else None
        if state is not None and self.job.resume:
            if state["fingerprint"] != self.fingerprint:
                changed = sorted(k for k in set(state["fingerprint"]) | set(self.fingerprint)
                                 if state["fingerprint"].get(k) != self.fingerprint.get(k))
                raise BatchError.of("batch_resume_mismatch", journal=str(self.journal_path),
                                    changed=", ".join(changed))
            point = state["checkpoint"]
            for key, path in self.paths.items():
                f = path.open("r+b")        # not "ab": sendfile (spool.append) refuses O_APPEND
                f.truncate(point["offsets"][key])
                f.seek(0, os.SEEK_END)
                self.files[key] = f
            self.rows = point["rows"]
            self.statuses.update(point["statuses"])
            self.decisions.update({tuple(k.split("\t")): v for k, v in point["decisions"].items()})
            self.journal = self.journal_path.open("a", encoding="utf-8")
            return self.rows, None
        if state is not None:
            note = t("batch_discard", self.job.lang, path=str(self.paths["out"]),
                     n=str(state["checkpoint"]["rows"]))
        elif self.job.resume:
            note = t("batch_fresh", self.job.lang, path=str(self.journal_path))
        for key, path in self.paths.items():
            self.files[key] = path.open("wb")
        if self.job.output.suffix.lower() == ".csv":
            buf = io.StringIO()
            csv.writer(buf).writerow(self.layout.columns)
            self.files["out"].write(("\ufeff" + buf.getvalue()).encode("utf-8"))
        self.journal = self.journal_path.open("w", encoding="utf-8")
        self.journal.write(json.dumps({"rulekit_run": JOURNAL_VERSION,
                                       "fingerprint": self.fingerprint}, ensure_ascii=False) + "\n")
        self.checkpoint()
        return 0, note

    def _read_journal(self) -> dict | None:
        lines = self.journal_path.read_text(encoding="utf-8").splitlines()
        try:
            head = json.loads(lines[0])
        except (IndexError, json.JSONDecodeError):
            return None
        point = None
        for line in lines[1:]:
            try:
                point = json.loads(line)       # the last line may be cut short by the kill
            except json.JSONDecodeError:
                break
        if point is None or head.get("rulekit_run") != JOURNAL_VERSION:
            return None
        if any(not p.exists() or p.stat().st_size < point["offsets"].get(k, 0)
               for k, p in self.paths.items()):
            return None
        return {"fingerprint": head["fingerprint"], "checkpoint": point}

    def write(self, chunk: ChunkOut) -> None:
        text = chunk.text
        if isinstance(text, spool.SpooledOutput):
            spool.append(self.files["out"], text)
        else:
            self.files["out"].write(text if isinstance(text, bytes) else text.encode("utf-8"))
        if "full" in self.files:
            self.files["full"].write(chunk.full.encode("utf-8"))
        if "tally" in self.files:
            pickle.dump(chunk.tallies, self.files["tally"], protocol=5)
        self.rows += chunk.rows
        self.statuses.update(chunk.statuses)
        self.decisions.update(chunk.decisions)
        if time.monotonic() - self.last >= self.job.checkpoint_seconds:
            self.checkpoint()

    def checkpoint(self) -> None:
        """Make what is written durable, then record it: after a crash, the parts are cut back
        to the last sizes recorded here."""
        offsets = {}
        for key, f in self.files.items():
            f.flush()
            os.fsync(f.fileno())
            offsets[key] = f.tell()
        assert self.journal is not None
        self.journal.write(json.dumps({"rows": self.rows, "offsets": offsets,
                                       "statuses": dict(self.statuses),
                                       "decisions": {f"{d}\t{s}": n for (d, s), n in
                                                     self.decisions.items()}}) + "\n")
        self.journal.flush()
        os.fsync(self.journal.fileno())
        self.last = time.monotonic()

    def close(self) -> None:
        for f in self.files.values():
            f.close()
        if self.journal is not None:
            self.journal.close()

    def finish(self) -> None:
        """Flush everything and give the outputs their final names (the journal goes last)."""
        for f in self.files.values():
            f.flush()
            os.fsync(f.fileno())
        self.close()
        os.replace(self.paths["out"], self.job.output)
        if self.job.full:
            os.replace(self.paths["full"], self.job.full)

    def tallies(self) -> Iterator[tuple[tuple, ...]]:
        """Each chunk's report contributions, in input order."""
        with self.paths["tally"].open("rb") as f:
            while True:
                try:
                    yield pickle.load(f)
                except EOFError:
                    return

    def cleanup(self) -> None:
        self.paths.get("tally", pathlib.Path("/nonexistent")).unlink(missing_ok=True)
        self.journal_path.unlink(missing_ok=True)


# -- the run ----------------------------------------------------------------------------------------

def _children(job: Job, pack: Pack, extra_sheets: list[Table]) -> tuple[list, list[str]]:
    """The child tables to join: --members, --table NAME=FILE and XLSX sheets named after a table."""
    from rulekit.batch.readers import open_table
    sources: list[tuple[C.ChildSpec, Table | Documents]] = []
    unread: list[str] = []
    if job.members is not None:
        sources.append((C.find_child("members"), open_table(job.members, encoding=job.encoding)))
    for name, path in job.tables:
        child = C.find_child(name)
        if child is None:
            raise BatchError.of("batch_no_table", table=name, tables="、".join(
                sorted({c.name for c in C.child_specs().values()})))
        sources.append((child, open_table(path, encoding=job.encoding)))
    for table in extra_sheets:
        sheet = table.name.rsplit("[", 1)[-1].rstrip("]")
        child = C.find_child(sheet)
        if child is None:
            unread.append(table.name)
        else:
            sources.append((child, table))
    if sources and pack.spec.facts:
        raise BatchError.of("batch_flat_children", pack=pack.id)
    return sources, unread


def chunks(rows: Iterable[tuple[str, Any]], skip: int, size: int, blank: list[int],
           position: int = 0) -> Generator[list[tuple[int, str, Any]], None, int]:
    """The row route's chunks: lists of (position, where, payload) of at most `size` rows, rows
    numbered from `position`. Blank rows (payload None) are counted in `blank[0]` and take no
    position; rows before position `skip` (written by an interrupted run) are left out. Returns
    the position after the last row (`yield from` gives it to the columnar route's batches)."""
    chunk: list[tuple[int, str, Any]] = []
    for where, payload in rows:
        if payload is None:
            blank[0] += 1
            continue
        if position >= skip:
            chunk.append((position, where, payload))
            if len(chunk) >= size:
                yield chunk
                chunk = []
        position += 1
    if chunk:
        yield chunk
    return position


def _route(job: Job, pack: Pack, local: Worker) -> str:
    """"columnar" when columnar_run.py gives this run's output (the same bytes, faster)."""
    from rulekit.batch import columnar_run
    return "columnar" if columnar_run.applies(job, pack, local) else "rows"


def _batches(job: Job, local: Worker, skip: int, blank: list[int], groups: bool) -> Iterator[Any]:
    """The columnar route's chunks: Arrow batches of `chunk_size` x BATCH_FACTOR rows (and row
    chunks for what only the csv module reads exactly); with `groups`, Parquet row groups that
    the workers read themselves."""
    from rulekit.batch import columnar_run as cr
    assert local.plan is not None
    rows = job.chunk_size * cr.BATCH_FACTOR
    pieces = (cr.parquet_pieces(job.input, rows, groups) if job.input.suffix.lower() == ".parquet" else
              cr.csv_pieces(job.input, len(local.plan.header), rows * cr.CSV_LINE_BYTES,
                            job.encoding))
    return cr.batches(pieces, local.plan, skip, blank, job.chunk_size)


def _pool(workers: int, spec: WorkerSpec, pack: Pack) -> ProcessPoolExecutor | None:
    """`workers` started processes, or None for one. Started here, before any thread of ours
    (the progress bar's) exists. Fork where the platform has it: a forked worker does not import
    the caller's main module again (spawn would rerun a script that lacks the __main__ guard);
    elsewhere spawn, with that guard needed, as usual for multiprocessing. A forked worker keeps
    the main process's loaded pack (its digest still checked), so it starts at once; a spawned
    one loads the pack itself."""
    if workers <= 1:
        return None
    methods = multiprocessing.get_all_start_methods()
    fork = "fork" in methods
    ctx = multiprocessing.get_context("fork" if fork else "spawn")
    pool = ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init_worker,
                               initargs=(spec, pack if fork else None))
    for f in [pool.submit(_ready) for _ in range(workers)]:
        f.result()
    return pool


def _ready() -> bool:
    return _WORKER is not None


def _ordered(work: Iterator[list], pool: ProcessPoolExecutor | None, workers: int,
             local: Worker) -> Iterator[ChunkOut]:
    """Chunk results in input order, computed here or by the pool with a bounded number of
    chunks in flight (memory stays flat)."""
    if pool is None:
        for chunk in work:
            yield local.process(chunk)
        return
    pending: collections.deque = collections.deque()
    try:
        for chunk in work:
            pending.append(pool.submit(_process, chunk))
            if len(pending) >= 2 * workers + 2:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        for f in pending:
            f.cancel()


def _progress(source: Table | Documents, initial: int, lang: str, enabled: bool | None) -> Any:
    """A tqdm bar on a terminal (rate and ETA), nothing otherwise or without tqdm installed."""
    if enabled is None:
        enabled = sys.stderr.isatty()
    if not enabled:
        return None
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm(total=source.total(), initial=initial, unit=" 户" if lang == "zh" else " households",
                unit_scale=True, file=sys.stderr, dynamic_ncols=True, smoothing=0.1)


def run(job: Job, *, progress: bool | None = None,
        on_chunk: Callable[[int], None] | None = None) -> Summary:
    """Run `job`. `on_chunk(rows_written)` is called after each chunk (tests use it to interrupt)."""
    started = time.monotonic()
    suffix = job.output.suffix.lower()
    if suffix not in (".csv", ".jsonl"):
        raise BatchError.of("batch_output_format", path=str(job.output))
    if job.full is not None and job.full.suffix.lower() != ".jsonl":
        raise BatchError.of("batch_full_format", path=str(job.full))
    pack = load_checked(job.pack, job.overrides, job.as_of, job.reports)
    if job.input.suffix.lower() == ".xlsx":
        if not job.input.is_file():
            raise BatchError.of("batch_no_file", path=str(job.input))
        sheets = xlsx_tables(job.input, job.sheet)
        source: Table | Documents = sheets[0]
        extra = sheets[1:]
    else:
        source = open_source(job.input, encoding=job.encoding, sheet=job.sheet)
        extra = []
    children, unread = _children(job, pack, extra)
    header = source.header if isinstance(source, Table) else None
    index_path = part(job.output, ".tables.sqlite")
    spec = WorkerSpec(
        pack=job.pack, overrides=tuple(str(p) for p in job.overrides), digest=pack.digest,
        as_of=job.as_of, lang=job.lang, header=header, source=source.name, ignore=job.ignore,
        values=job.values, csv_output=suffix == ".csv", full=job.full is not None,
        reports=job.reports, index=str(index_path) if children else None,
        children=tuple((c.name, s.name, s.header if isinstance(s, Table) else None)
                       for c, s in children))
    # check every header before reading any row: the main process builds the same worker
    local = Worker(spec if not children else attrs.evolve(spec, index=None), pack)
    for child, src in children:
        if isinstance(src, Table):
            C.plan_table(C.child_mapping(pack.spec, child), src.header, src.name, job.ignore)
    fingerprint = {
        "engine": _engine_version(), "pack": pack.digest, "input": file_stamp(job.input),
        "children": [[c.name, file_stamp(p)] for c, p in _child_paths(job)],
        "as_of": job.as_of, "values": list(local.layout.values), "output": suffix,
        "reports": list(job.reports), "full": str(job.full) if job.full else None, "lang": job.lang,
        "ignore": list(job.ignore), "sheet": job.sheet, "encoding": job.encoding,
    }
    outputs = Outputs(job, local.layout, fingerprint)
    done, note = outputs.start()
    if note:
        print(note, file=sys.stderr)
    index = None
    try:
        if children:
            index = C.ChildIndex.build(index_path, children,
                                       lambda child: C.child_mapping(pack.spec, child), job.ignore)
            local = Worker(spec, pack)
        blank = [0]
        bar = None
        route = _route(job, pack, local)
        pool = None
        spooled = spool.Spool(None)
        try:
            pool = _pool(job.workers, spec, pack)
            if pool is not None and route == "columnar":
                spooled = spool.Spool.open()
            work: Iterator[Any] = (
                chunks(source.rows(), done, job.chunk_size, blank) if route == "rows" else
                map(spooled.put, _batches(job, local, done, blank, spooled.directory is not None)))
            results = _ordered(work, pool, job.workers, local)
            bar = _progress(source, done, job.lang, progress)
            for out in results:
                outputs.write(out)
                if bar is not None:
                    bar.update(out.rows)
                if on_chunk is not None:
                    on_chunk(outputs.rows)
        except KeyboardInterrupt:
            outputs.checkpoint()
            outputs.close()
            raise Interrupted.of("batch_interrupted", n=str(outputs.rows)) from None
        finally:
            if bar is not None:
                bar.close()
            if pool is not None:
                pool.shutdown(cancel_futures=True)
            spooled.close()
        outputs.finish()
        report_paths = {name: _write_report(pack, name, i, outputs, job) for i, name in
                        enumerate(job.reports)}
        unattached = index.unattached(_output_ids(job.output)) if index is not None else {}
        outputs.cleanup()
    except BaseException:
        outputs.close()
        raise
    finally:
        if local.index is not None:
            local.index.close()
        if index is not None:
            index.close()
            index_path.unlink(missing_ok=True)
    decisions: dict[str, dict[str, int]] = {}
    for name in pack.spec.decisions:
        decisions[name] = {s: outputs.decisions.get((name, s), 0)
                           for s in ("decided", "needs_review", "undetermined")}
    return Summary(outputs.rows, {s: outputs.statuses.get(s, 0) for s in HOUSEHOLD_STATUSES},
                   decisions, blank[0], job.output, job.full, report_paths, unattached,
                   tuple(unread), done, time.monotonic() - started, route)


def load_checked(pack: str, overrides: Iterable[Any], as_of: str | None,
                 reports: Iterable[str]) -> Pack:
    """The pack of a batch job, after the checks every runner (local, Dask, Spark) makes before
    reading a row: as_of is a date, the reports exist, and a report has its as_of."""
    if as_of is not None:
        try:
            dt.date.fromisoformat(as_of)
        except ValueError:
            raise BatchError.of("batch_as_of", as_of=as_of) from None
    loaded = load_pack(pack, overrides=list(overrides))
    missing = [r for r in reports if r not in loaded.compiled.reports]
    if missing:
        raise BatchError.of("batch_no_report", report=missing[0], pack=loaded.id,
                            reports="、".join(loaded.compiled.reports) or "—")
    if reports and as_of is None:
        raise BatchError.of("batch_report_as_of")
    return loaded


def _engine_version() -> str:
    from rulekit import __version__
    return __version__


def _child_paths(job: Job) -> list[tuple[C.ChildSpec, pathlib.Path]]:
    out = []
    if job.members is not None:
        out.append((C.find_child("members"), job.members))
    for name, path in job.tables:
        out.append((C.find_child(name), path))
    return out


def _write_report(pack: Pack, name: str, i: int, outputs: Outputs, job: Job) -> tuple[pathlib.Path, ...]:
    """The report from the run's tallies, as CSV (the pack's table layout) and JSON."""
    tally = Tally()
    for chunk in outputs.tallies():
        for c in chunk[i]:
            tally.add(c)
    result = tally.finish(pack, name, job.as_of)
    stem = job.output.with_suffix("")
    paths = (stem.with_name(f"{stem.name}.{name}.csv"), stem.with_name(f"{stem.name}.{name}.json"))
    _write_atomic(paths[0], "\ufeff" + result.to_csv())
    _write_atomic(paths[1], json.dumps(result.to_dict(), ensure_ascii=False, indent=1) + "\n")
    return paths


def _write_atomic(path: pathlib.Path, text: str) -> None:
    tmp = part(path)
    with tmp.open("w", encoding="utf-8", newline="") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _output_ids(path: pathlib.Path) -> Iterator[str]:
    """The household ids of a finished output, read back (to find child rows left unattached)."""
    if path.suffix.lower() == ".csv":
        with path.open(encoding="utf-8-sig", newline="") as f:
            reader = csv.reader(f)
            next(reader)
            for row in reader:
                if row[1]:
                    yield row[1]
    else:
        with path.open(encoding="utf-8") as f:
            for line in f:
                rid = json.loads(line).get("id")
                if rid:
                    yield rid

