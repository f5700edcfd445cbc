"""The columnar route of a batch run: whole Arrow batches converted, decided and formatted at
once, with output byte for byte the row route's.

`rulekit run` reads, converts and formats every row in Python (run.py); for a flat-fact pack with
a columnar function (engine/columnar.py) nearly all of that time is spent outside the decision.
When the route applies (`applies`), the main process reads Arrow record batches instead of cells
(`batches`: blank rows counted and dropped, positions assigned, a resumed run's rows skipped) and
the workers (`Route.process`) convert each column strictly and vectorised, evaluate the columns,
and build the output lines as Arrow strings. Nothing is decided differently: a cell the vectorised
conversion cannot take exactly as `columns.convert`/`FROM_TEXT` would (text that is not a plain
number, a yes/no in a number column, a NaN, a missing id...), a value so large that integer and
float arithmetic could differ, and every row the columnar function leaves (`Columns.fallback`) go
through `Worker.row`, the row route itself, so error rows and undetermined rows are its own. The
chunks travel through run.py's pool, journal and checkpoints unchanged; only what a chunk holds
differs: a `Batch` instead of a list of rows, or, so that reading runs in every worker at once, a
`TextBatch` (a block of CSV lines the worker parses) or a `GroupTask` (a Parquet row group the
worker reads). With several workers the data moves through shared memory (spool.py).

Parquet is read by Arrow. CSV (UTF-8, or GBK as Chinese spreadsheets save it) is read in blocks of
lines: a block Arrow parses exactly as the csv module would (no quote, no empty line, no lone
carriage return...) becomes a Batch; any other block is read by the csv module and goes to the row
route as it is, and from the first quote on (a quoted cell may hold a line break) the rest of the
file does, so line numbers, blank rows and parse errors are the row route's.

The route does not apply to (and run.py keeps the row route for) JSONL output (its numbers keep
the int/float type of the input, which columns do not carry), `--full` and `--report` (they need
each household's Result), packs with `**` (integer powers are exact per row, not in floats),
value columns other than computed values, CSV in encodings other than UTF-8 and the GB family
(GBK, GB2312, GB18030), and XLSX or JSON input.
"""
from __future__ import annotations

import collections
import csv
import functools
import io
import itertools
import math
import pickle
import re
from collections.abc import Iterable, Iterator
from typing import Any

import attrs

from rulekit.batch.rows import cell, household_status
from rulekit.engine.columnar import EXACT  # below it float and integer arithmetic agree, cells print as ints

BATCH_FACTOR = 64             # rows per Arrow batch: the run's chunk size times this
CSV_LINE_BYTES = 256          # CSV blocks are read by size: rows per batch times this
STATUSES = ("decided", "needs_review", "undetermined")     # household_status's order of precedence
# Python's str.strip() whitespace, as a regular expression class (for an all-blank text cell)
_SPACE = "".join(f"\\x{{{ord(c):x}}}" for c in map(chr, range(0x3001)) if c.isspace())
_BLANK_TEXT = f"^[{_SPACE}]*$"
_PLAIN_NUMBER = r"^-?[0-9]{1,15}(\.[0-9]+)?$"   # numbers Arrow's cast reads as float() does
_QUOTE = '[,"\r\n]'                            # what makes the csv module quote a field
_NEEDS_QUOTES = re.compile(_QUOTE)

_BOOL_TEXT = {"是": True, "否": False, "true": True, "false": False, "True": True,
              "False": False, "TRUE": True, "FALSE": False}


def applies(job: Any, pack: Any, worker: Any) -> bool:
    """Whether the columnar route gives this run's output (else the row route does)."""
    spec = pack.spec
    suffix = job.input.suffix.lower()
    if not spec.facts or suffix not in (".parquet", ".csv") or worker.plan is None:
        return False
    if job.output.suffix.lower() != ".csv" or job.full is not None or job.reports:
        return False
    if job.as_of is None or job.members is not None or job.tables:
        return False
    if any(f["type"] not in ("number", "integer", "bool") or f.get("values")
           for f in spec.facts.values()):
        return False
    try:
        _warm()
    except ImportError:
        return False
    fn = pack.compiled_columnar
    source = getattr(fn, "source", None)
    if source is None or source.count("_pow(") > source.count("def _pow("):   # a power is used
        return False
    plan = worker.plan
    read = {path[0] for _, _, path, _, _ in plan.columns}
    if plan.unheaded or read != set(spec.facts) | {"id"}:
        return False
    outcome_statuses = {o.status for d in spec.decisions.values() for o in d.outcomes}
    if not outcome_statuses <= set(STATUSES):
        return False
    computed = {n for n, c in spec.computed.items() if not c.per}
    if not all(v in computed for v in worker.layout.values):
        return False
    return suffix != ".csv" or _plain_csv(job.input, job.encoding)     # reads the file: last


def _warm() -> None:
    """Import what the route uses now, before run.py forks the workers, so that they inherit it
    instead of each importing it again."""
    import numpy  # noqa: F401
    import pyarrow.compute  # noqa: F401
    import pyarrow.csv  # noqa: F401
    import pyarrow.parquet  # noqa: F401


@functools.cache
def _sure_bytes() -> Any:
    """Per byte value: an ASCII character that makes a CSV line not blank (not a comma, not
    white space as str.isspace sees it)."""
    import numpy as np
    return np.array([b < 128 and chr(b) != "," and not chr(b).isspace() for b in range(256)])


# -- the main process: Arrow batches in input order ----------------------------------------------------

@attrs.frozen
class Batch:
    """A chunk of the columnar route: the non-blank rows of a stretch of the input, only the
    columns the plan reads, with the position of the first row and each row's place in the file
    (its row number from 1, blank rows counted, as the row route's `where` says)."""
    records: Any                  # pyarrow.RecordBatch
    first: int
    lines: Any                    # numpy int64 array, one per row
    where: str                    # before a row's number: "households.csv:", "households.parquet row "

    def __reduce__(self) -> tuple:
        """Pickled inside with protocol 5, which writes Arrow's buffers as they are (the pool's
        pickler uses protocol 4, which goes through copies)."""
        return _unpickle, (pickle.dumps((self.records, self.first, self.lines, self.where), protocol=5),)


def _unpickle(data: bytes) -> Batch:
    return Batch(*pickle.loads(data))


@attrs.frozen
class TextPiece:
    """A block of CSV lines (UTF-8) in which the main process found every line to be one row
    that is not blank (`_plain_rows`), so that it can number them without parsing them."""
    data: bytes
    before: int               # lines of the file before the block
    count: int                # its lines: its rows
    path: str


@attrs.frozen
class TextBatch:
    """A TextPiece numbered from position `first`, for a worker to parse (Route.parse): the
    parsing is the larger part of reading CSV, and it then runs in every worker at once."""
    data: bytes
    first: int
    before: int
    count: int
    path: str


@attrs.frozen
class GroupPiece:
    """A row group of a Parquet file with no blank row (its statistics prove it), for a worker
    to read itself: the main process then neither decodes nor moves its data."""
    path: str
    group: int
    rows: int
    before: int               # the file's rows before the group


@attrs.frozen
class GroupTask:
    """A worker's task: read row group `group` (leaving out its first `skip` rows), decide it
    batch by batch, numbered from position `first`, and write the lines into a file in
    `directory` (spool.py), so that memory stays flat whatever the group's size."""
    path: str
    group: int
    skip: int
    rows: int                 # rows to decide: the group's, less `skip`
    first: int
    line: int                 # the file row number of the first row decided
    batch_rows: int
    directory: str | None = None


def batches(pieces: Iterable[Any], plan: Any, skip: int, blank: list[int],
            chunk_size: int) -> Iterator[Any]:
    """The chunks of the run: a Batch for each Arrow piece (records, row numbers, where), and the
    row route's chunks (lists of (position, where, cells)) for rows given as (where, cells). Blank
    rows are counted in `blank[0]` and take no position; rows before position `skip` (written by
    an interrupted run) are left out."""
    from rulekit.batch.run import chunks
    columns = [i for i, _, _, _, _ in plan.columns]
    position = 0
    for piece in pieces:
        if isinstance(piece, GroupPiece):
            if position + piece.rows > skip:
                start = max(0, skip - position)
                yield GroupTask(piece.path, piece.group, start, piece.rows - start, position + start,
                                piece.before + start + 1, chunk_size * BATCH_FACTOR)
            position += piece.rows
            continue
        if isinstance(piece, TextPiece):
            if position + piece.count <= skip:
                position += piece.count
                continue
            if position >= skip:
                yield TextBatch(piece.data, position, piece.before, piece.count, piece.path)
                position += piece.count
                continue
            piece = _parsed(piece, len(plan.header))      # resumed inside it: sliced below
        if not isinstance(piece, tuple):
            position = yield from chunks(piece, skip, chunk_size, blank, position)
            continue
        rb, lines, where = piece
        keep = _not_blank(rb)
        if keep is not None:
            blank[0] += rb.num_rows - int(keep.sum())
            rb = rb.filter(arrow(keep))
            lines = lines[keep]
        m = rb.num_rows
        if position + m <= skip:
            position += m
            continue
        if position < skip:
            rb, lines = rb.slice(skip - position), lines[skip - position:]
            position = skip
        if rb.num_rows:
            yield Batch(rb.select(columns), position, lines, where)
        position += rb.num_rows


GROUP_ROWS_MAX = 1 << 17      # larger row groups are read by the main process, batch by batch


def parquet_pieces(path: Any, rows: int, groups: bool = False) -> Iterator[Any]:
    """A Parquet file's record batches, each with its rows' numbers (from 1). With `groups` (a
    pool whose workers can write their lines to shared memory), a file of several row groups of
    at most GROUP_ROWS_MAX rows gives each group whose statistics prove it has no blank row as a
    GroupPiece, for a worker to read; other groups are read here."""
    import numpy as np

    from rulekit.batch.readers import _parquet, need, parquet_batches
    pq = need("pyarrow.parquet", "parquet", path)
    meta = pq.ParquetFile(path).metadata
    by_group = groups and meta.num_row_groups > 1 and all(
        meta.row_group(g).num_rows <= GROUP_ROWS_MAX for g in range(meta.num_row_groups))
    if not by_group:
        line = 0
        for rb in parquet_batches(path, rows):
            yield rb, np.arange(line + 1, line + rb.num_rows + 1, dtype=np.int64), f"{path.name} row "
            line += rb.num_rows
        return
    fields = pq.ParquetFile(path).schema_arrow
    text = [_is_text(f.type) for f in fields]
    before = 0
    for g in range(meta.num_row_groups):
        group = meta.row_group(g)
        if group.num_columns == len(fields) and _no_blank_row(group, text):
            yield GroupPiece(str(path), g, group.num_rows, before)
        else:
            line = before
            for rb in _parquet(pq, path).iter_batches(batch_size=rows, row_groups=[g]):
                yield rb, np.arange(line + 1, line + rb.num_rows + 1, dtype=np.int64), f"{path.name} row "
                line += rb.num_rows
        before += group.num_rows


def _no_blank_row(group: Any, text: list[bool]) -> bool:
    """Whether a row group's statistics prove that none of its rows is blank: one column that is
    not text has no null (as _not_blank decides from the values)."""
    for i in range(group.num_columns):
        stats = group.column(i).statistics
        if not text[i] and stats is not None and stats.has_null_count and stats.null_count == 0:
            return True
    return False


def csv_pieces(path: Any, width: int, size: int, encoding: str = "utf-8") -> Iterator[Any]:
    """A CSV file (checked by _plain_csv) in blocks of lines: Arrow pieces for the blocks Arrow
    parses exactly as the csv module does (no quote, no empty line, no lone carriage return, no
    NUL, every line of the header's width and under the csv module's field limit); the block's
    rows as the csv module reads them otherwise, and from the first quote on (a quoted cell may
    hold line breaks) every remaining row. A GBK block is turned into UTF-8 first."""
    from rulekit.batch.readers import csv_blocks
    codec = _codec(encoding) or "utf-8"
    for before, offset, block in csv_blocks(path, size):
        if b'"' in block:
            yield _csv_rows(path, before, offset=offset, codec=codec)
            return
        if codec != "utf-8":
            block = block.decode(codec).encode("utf-8")
        count = _plain_rows(block)
        piece = TextPiece(block, before, count or 0, str(path))
        yield piece if count is not None else _parsed(piece, width)


def _parsed(piece: TextPiece, width: int) -> Any:
    """A block of CSV lines parsed here: an Arrow piece (records, row numbers, where), or its
    rows as the csv module reads them."""
    import pathlib
    path = pathlib.Path(piece.path)
    parsed = _arrow_block(piece.data, width)
    if parsed is None:
        return _csv_rows(path, piece.before, text=piece.data.decode("utf-8"))
    rb, count = parsed
    return rb, _line_numbers(piece.before, count), f"{path.name}:"


def _plain_rows(block: bytes) -> int | None:
    """The number of lines of a block of UTF-8 CSV lines without quotes, when each is surely one
    row that is not blank (readers._blank), so that rows can be numbered before they are parsed;
    else None. Surely: no NUL, no carriage return outside CRLF, and each line starts with an
    ASCII byte that is neither a comma nor white space (a household id usually does); a line
    that does not is looked at whole."""
    import numpy as np

    from rulekit.batch.readers import lone_crs
    if b"\x00" in block or lone_crs(block):
        return None
    data = np.frombuffer(block, dtype=np.uint8)
    starts = np.flatnonzero(data == 10) + 1
    starts = np.concatenate(([0], starts[starts < len(block)]))
    unsure = np.flatnonzero(~_sure_bytes()[data[starts]])
    if len(unsure) > 100:
        return None
    ends = [*starts[1:].tolist(), len(block)]
    for k in unsure.tolist():
        cells = block[starts[k]:ends[k]].decode("utf-8").rstrip("\r\n").split(",")
        if all(not c.strip() for c in cells):
            return None
    return len(starts)


def _line_numbers(before: int, count: int) -> Any:
    import numpy as np
    return np.arange(before + 1, before + count + 1, dtype=np.int64)


def _arrow_block(block: bytes, width: int) -> tuple[Any, int] | None:
    """(the block parsed by Arrow, every cell as text, its line count), or None when the csv
    module might read it otherwise."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pcsv

    from rulekit.batch.readers import lone_crs
    if b"\x00" in block or lone_crs(block):
        return None
    ends = np.flatnonzero(np.frombuffer(block, dtype=np.uint8) == 10)
    if not block.endswith(b"\n"):
        ends = np.append(ends, len(block))
    starts = np.concatenate(([0], ends[:-1] + 1))
    sizes = ends - starts
    crlf = np.frombuffer(block, dtype=np.uint8)[np.maximum(ends - 1, 0)] == 13
    if (sizes - crlf < 1).any() or sizes.max() >= csv.field_size_limit():
        return None
    names = [str(i) for i in range(width)]
    try:
        table = pcsv.read_csv(
            pa.py_buffer(block),
            read_options=pcsv.ReadOptions(column_names=names, block_size=len(block) + 1,
                                          use_threads=False),
            parse_options=pcsv.ParseOptions(quote_char=False, escape_char=False,
                                            newlines_in_values=False, ignore_empty_lines=False),
            convert_options=pcsv.ConvertOptions(column_types={n: pa.string() for n in names},
                                                strings_can_be_null=False, check_utf8=True))
    except pa.ArrowInvalid:
        return None
    if table.num_rows != len(ends):
        return None
    return pa.RecordBatch.from_arrays([c.combine_chunks() for c in table.columns], names), len(ends)


def _csv_rows(path: Any, before: int, *, text: str | None = None, offset: int | None = None,
              codec: str = "utf-8") -> Iterator[tuple[str, tuple | None]]:
    """Rows read by the csv module exactly as readers.csv_table reads them, from a block's text
    or from a byte offset to the end of the file, numbered after `before` lines."""
    from rulekit.batch.readers import BatchError, _blank
    if text is not None:
        f: Any = io.StringIO(text, newline="")
    else:
        raw = path.open("rb")
        raw.seek(offset)
        f = io.TextIOWrapper(raw, encoding=codec, newline="")
    with f:
        reader = csv.reader(f)
        line = 0
        try:
            for cells in reader:
                where = f"{path.name}:{before + line + 1}"
                line = reader.line_num
                yield where, (None if _blank(cells) else tuple(cells))
        except csv.Error as e:
            raise BatchError(f"{path}:{before + line + 1}: {e}") from None


# encodings in which the bytes of ',', '"', CR and LF only ever mean those characters (no byte of a
# multi-byte character is one of them), so lines and cells can be found in the bytes: UTF-8 and the
# GB family that Chinese spreadsheet software writes (Excel on a Chinese Windows saves CSV as GBK)
_BYTE_SAFE = {"utf-8": "utf-8", "utf-8-sig": "utf-8", "gbk": "gbk", "gb2312": "gb2312",
              "gb18030": "gb18030"}


def _codec(encoding: str) -> str | None:
    """The codec the route reads a CSV file's bytes with, or None when it cannot."""
    import codecs
    try:
        return _BYTE_SAFE.get(codecs.lookup(encoding).name)
    except LookupError:
        return None


def _plain_csv(path: Any, encoding: str) -> bool:
    """A CSV file the columnar route reads as the row route does: UTF-8 (BOM or not) or GBK /
    GB18030 throughout, its header one line without quotes or carriage returns inside."""
    import codecs
    codec = _codec(encoding)
    if codec is None:
        return False
    decoder = codecs.getincrementaldecoder(codec)()
    with path.open("rb") as f:
        head = f.readline()
        if b'"' in head or b"\r" in head.rstrip(b"\r\n") or not head.endswith(b"\n"):
            return False
        try:
            decoder.decode(head)
            while block := f.read(1 << 22):
                decoder.decode(block)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return False
    return True


def _not_blank(rb: Any) -> Any:
    """Rows with a cell that is neither empty nor blank text (as readers._blank), or None when
    every row has one (the common case, known without looking at a value)."""
    import numpy as np
    import pyarrow.compute as pc
    if any(not _is_text(c.type) and c.null_count == 0 for c in rb.columns):
        return None
    blank = np.ones(rb.num_rows, dtype=bool)
    for c in rb.columns:
        empty = c.is_null()
        if _is_text(c.type):      # null or true: never null
            empty = pc.or_kleene(pc.match_substring_regex(c, _BLANK_TEXT), empty)
        blank &= numpy(empty)
        if not blank.any():
            return None
    return ~blank if blank.any() else None


def _is_text(t: Any) -> bool:
    import pyarrow as pa
    return pa.types.is_string(t) or pa.types.is_large_string(t)


# -- a worker: convert, decide, format -----------------------------------------------------------------

class Route:
    """One worker's columnar route: the tables that turn codes into output cells, built once."""

    def __init__(self, worker: Any) -> None:
        self.worker = worker
        self.pack = worker.pack
        self.plan = worker.plan
        self.layout = worker.layout
        self.as_of = worker.spec.as_of
        spec = self.pack.spec
        self.decisions = [(name, hit, list(spec.decisions[name].outcomes))
                          for name, hit, _ in self.layout.decisions]
        self.rules = list(spec.rules)
        self.width = len(self.plan.header)
        self.read = [i for i, _, _, _, _ in self.plan.columns]        # the input columns read
        self.kinds = [(path[0], kind) for _, _, path, kind, _ in self.plan.columns]
        # digits of a row's answer: per first-hit decision its outcome code + 1, per collect
        # decision one per outcome, then one per rule; radix of each digit
        self.radix = [len(o) + 1 if hit == "first" else 2 for _, hit, outs in self.decisions
                      for o in ([outs] if hit == "first" else outs)] + [2] * len(self.rules)
        self.answers: dict[Any, tuple[bytes, tuple[int, ...]]] = {}   # digits key -> text, statuses
        self.parts: dict[tuple, tuple[str, int]] = {}    # (decision, its digits) -> cells, status

    def process(self, batch: Batch | TextBatch) -> Any:
        from rulekit.batch.run import ChunkOut
        if isinstance(batch, TextBatch):
            parsed = self.parse(batch)
            if isinstance(parsed, list):
                return self.worker.process(parsed)
            batch = parsed
        data, statuses, decisions = self.decide(batch)
        return ChunkOut(bytes(data), "", (), dict(statuses), dict(decisions), batch.records.num_rows)

    def decide(self, batch: Batch) -> tuple[Any, collections.Counter, collections.Counter]:
        """A batch's output lines (UTF-8, bytes or a view of Arrow's buffer) and its counts of
        household and decision statuses."""
        import numpy as np
        n = batch.records.num_rows
        facts, ids, fallback = self.columns(batch.records)
        try:
            cols = self.pack.evaluate_columns(facts, as_of=self.as_of)
        except ValueError:        # a parameter without a value in force: every row per row
            cols = None
            fallback[:] = True
        statuses: collections.Counter = collections.Counter()
        decisions: collections.Counter = collections.Counter()
        lines = None
        if cols is not None and not fallback.all():
            fallback |= cols.fallback
            lines, codes, odd = self.lines(batch, cols, ids)
            fallback |= odd
            ok = ~fallback
            names = ["", *(name for name, _, _ in self.decisions)]
            for k, name in enumerate(names):
                for code, count in enumerate(np.bincount(codes[:, k][ok], minlength=len(STATUSES))):
                    if count:
                        (decisions if k else statuses)[(name, STATUSES[code]) if k else
                                                       STATUSES[code]] += int(count)
        rows = self.by_row(batch, np.flatnonzero(fallback), statuses, decisions)
        return _splice(lines, fallback, rows, n), statuses, decisions

    def process_group(self, task: GroupTask) -> Any:
        """A row group read here and decided batch by batch; its lines go to a file in the run's
        shared-memory directory as they are made (kept in memory only if that file cannot be
        written)."""
        import pathlib

        import numpy as np
        import pyarrow.parquet as pq

        from rulekit.batch import spool
        from rulekit.batch.readers import _parquet
        from rulekit.batch.run import ChunkOut
        path = pathlib.Path(task.path)
        statuses: collections.Counter = collections.Counter()
        decisions: collections.Counter = collections.Counter()
        sink = spool.OutputFile(task.directory)
        position, line, skip = task.first, task.line, task.skip
        # one thread: the other workers keep the other cores busy, and Arrow's threads cost CPU
        # (up to twice the decoding's) for a wall time this worker does not gain
        groups = _parquet(pq, path).iter_batches(batch_size=task.batch_rows, row_groups=[task.group],
                                                 use_threads=False)
        for rb in groups:
            if skip:
                cut = min(skip, rb.num_rows)
                rb, skip = rb.slice(cut), skip - cut
            if not rb.num_rows:
                continue
            n = rb.num_rows
            data, counts, per_decision = self.decide(Batch(rb.select(self.read), position,
                                                           np.arange(line, line + n), f"{path.name} row "))
            sink.write(data)
            statuses.update(counts)
            decisions.update(per_decision)
            position, line = position + n, line + n
        assert position == task.first + task.rows
        return ChunkOut(sink.close(), "", (), dict(statuses), dict(decisions), task.rows)

    def parse(self, text: TextBatch) -> Batch | list:
        """A block of CSV lines as a Batch (parsed by Arrow), or as the row route's chunk when only
        the csv module reads it exactly. The main process numbered its rows (`_plain_rows`)."""
        piece = _parsed(TextPiece(text.data, text.before, text.count, text.path), self.width)
        if isinstance(piece, tuple):
            rb, lines, where = piece
            assert rb.num_rows == text.count
            return Batch(rb.select(self.read), text.first, lines, where)
        rows = [(text.first + k, where, cells) for k, (where, cells) in enumerate(piece)]
        assert len(rows) == text.count and all(cells is not None for _, _, cells in rows)
        return rows

    # -- conversion --------------------------------------------------------------------------------

    def columns(self, records: Any) -> tuple[dict, Any, Any]:
        """(fact -> numpy column, the ids as Arrow text, rows for the row route)."""
        import numpy as np
        n = records.num_rows
        fallback = np.zeros(n, dtype=bool)
        facts: dict[str, Any] = {}
        ids = None
        for j, (name, kind) in enumerate(self.kinds):
            column = _plain(records.column(j))
            if name == "id":
                ids, bad = _id_column(column)
            elif kind == "bool":
                facts[name], bad = _bool_column(column)
            else:
                facts[name], bad = _number_column(column, kind)
            fallback |= bad
        return facts, ids, fallback

    # -- output lines --------------------------------------------------------------------------------

    def lines(self, batch: Batch, cols: Any, ids: Any) -> tuple[Any, Any, Any]:
        """Every row's CSV line as Arrow text (the row route's lines replace those of fallback
        rows, which hold anything); the status codes, one row per row (household, then each
        decision); and the rows whose values only the row route prints exactly."""
        import numpy as np
        import pyarrow as pa
        import pyarrow.compute as pc
        n = cols.n
        texts, codes = self.answer(cols)
        cells: list[Any] = [arrow(np.arange(batch.first, batch.first + n)).cast(pa.string()),
                            _quoted(ids), texts]
        values = [cols.computed[v] for v in self.layout.values]
        ended = number_lines(values, n)
        if ended is not None:                  # the value cells with their line ends, at once
            return pc.binary_join_element_wise(*cells, ended[0], text_scalar(",")), codes, ended[1]
        odd = np.zeros(n, dtype=bool)
        for v in values:
            text, bad = value_cells(v, n)
            odd |= bad
            cells.append(text)
        cells[-1] = pc.binary_join_element_wise(cells[-1], text_scalar("\r\n"), text_scalar(""))
        return pc.binary_join_element_wise(*cells, text_scalar(",")), codes, odd

    def answer(self, cols: Any) -> tuple[Any, Any]:
        """The cells from `status` to `errors` of every row, as one Arrow text per row, and the
        status codes. A row's answer is a few digits (outcome codes, hits, fired rules); each
        distinct answer is formatted once per worker and kept."""
        import numpy as np
        n = cols.n
        digits = []
        for name, hit, outs in self.decisions:
            if hit == "first":
                digits.append(np.broadcast_to(cols.outcomes[name] + 1, (n,)))
            else:
                digits += [np.broadcast_to(cols.hits[name][o.id], (n,)) for o in outs]
        digits += [np.broadcast_to(cols.rules[r], (n,)) for r in self.rules]
        keys, inverse, first = _distinct(digits, self.radix)
        if len(self.answers) > 100_000:       # memory stays flat however varied the answers
            self.answers.clear()
            self.parts.clear()
        keys = keys.tolist()
        new = [u for u, key in enumerate(keys) if key not in self.answers]
        if new:           # the digits of each new answer, read at its first row, column by column
            rows = first[new]
            for u, answer in zip(new, zip(*(d[rows].tolist() for d in digits))):
                self.answers[keys[u]] = self.format(answer)
        known = [self.answers[key] for key in keys]
        codes = np.array([c for _, c in known], dtype=np.int64).reshape(len(known), -1)
        return encoded([t for t, _ in known]).take(arrow(inverse)), codes[inverse]

    def format(self, answer: tuple[int, ...]) -> tuple[bytes, tuple[int, ...]]:
        """The cells `status` .. `errors` of one answer, UTF-8 (as Layout.csv_cells writes them,
        quoted as the csv module quotes), and its status codes (household, then each decision).
        A decision's cells depend on its own digits only: those are formatted once."""
        parts, codes = [], []
        at = 0
        for i, (_, hit, outs) in enumerate(self.decisions):
            width = 1 if hit == "first" else len(outs)
            key = (i, answer[at:at + width])
            part = self.parts.get(key)
            if part is None:
                part = self.parts[key] = self.decision_cells(key[1], hit, outs)
            parts.append(part[0])
            codes.append(part[1])
            at += width
        fired = " ".join(itertools.compress(self.rules, answer[at:]))
        household = STATUSES[max(codes)] if codes else "decided"
        return (",".join([household, "", *parts, _field(fired), ""]).encode("utf-8"),
                (STATUSES.index(household), *codes))

    @staticmethod
    def decision_cells(answer: tuple[int, ...], hit: str, outs: list) -> tuple[str, int]:
        """One decision's five cells (outcome, label, status, missing, review) as CSV text, and
        its status code."""
        if hit == "first":
            held = [outs[answer[0] - 1]] if answer[0] else []
            status = held[0].status if held else "undetermined"
            cells = [held[0].id if held else "", held[0].label if held else ""]
        else:
            held = [o for o, d in zip(outs, answer) if d]
            status = household_status([o.status for o in held])
            cells = [";".join(o.id for o in held), "；".join(o.label for o in held)]
        cells += [status, "", "；".join(o.review for o in held if o.status == "needs_review")]
        return ",".join(map(_field, cells)), STATUSES.index(status)

    # -- the rows left to the row route --------------------------------------------------------------

    def by_row(self, batch: Batch, rows: Any, statuses: collections.Counter,
               decisions: collections.Counter) -> list[str]:
        """The CSV lines of `rows` made by the row route (Worker.row), counted like its own."""
        if not len(rows):
            return []
        picked = batch.records.take(arrow(rows))
        values = [c.to_pylist() for c in picked.columns]
        where = [i for i, _, _, _, _ in self.plan.columns]
        out = io.StringIO()
        writer = csv.writer(out)
        texts = []
        for k, i in enumerate(rows):
            cells: list[Any] = [None] * self.width
            for j, col in zip(where, values):
                cells[j] = col[k]
            position = batch.first + int(i)
            row, _, _ = self.worker.row(position, f"{batch.where}{int(batch.lines[i])}", tuple(cells))
            statuses[row["status"]] += 1
            for name, d in (row.get("decisions") or {}).items():
                decisions[(name, d["status"])] += 1
            out.seek(0)
            out.truncate()
            writer.writerow(self.layout.csv_cells(row))
            texts.append(out.getvalue())
        return texts


# -- columns, converted strictly -----------------------------------------------------------------------

def _plain(column: Any) -> Any:
    """A dictionary-encoded column as its values."""
    import pyarrow as pa
    return column.dictionary_decode() if pa.types.is_dictionary(column.type) else column


def _missing(column: Any) -> Any:
    import numpy as np
    if not column.null_count:
        return np.zeros(len(column), dtype=bool)
    return numpy(column.is_null())



def _number_column(column: Any, kind: str) -> tuple[Any, Any]:
    """A number or whole-number fact: (float64 values, rows the row route must take). Those are:
    a missing cell, a non-finite number, a non-whole number for a whole-number fact, a value of
    1e15 or more, and every cell that is not an Arrow number or a plain decimal text."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    n = len(column)
    t = column.type
    if pa.types.is_integer(t) or pa.types.is_floating(t):
        values = numpy(column.cast(pa.float64(), safe=False))
        bad = _missing(column)
    elif _is_text(t):
        plain = plain_numbers(column)
        bad = ~plain
        text = pc.if_else(arrow(plain), column, text_scalar("0")) if bad.any() else column
        values = numpy(text.cast(pa.float64()))
    else:                    # yes/no, dates, decimals...: the row route says what is wrong
        return np.zeros(n), np.ones(n, dtype=bool)
    with np.errstate(invalid="ignore"):
        bad = bad | ~(np.abs(values) < EXACT)          # NaN and infinities too
        if kind == "integer":
            bad |= values != np.floor(values)
    return np.where(bad, 0.0, values), bad


def plain_numbers(column: Any) -> Any:
    """Which cells of an Arrow text column are plain decimal numbers (_PLAIN_NUMBER: an optional
    minus, 1 to 15 digits, an optional point followed by digits; a null is not), read from the
    column's bytes with numpy. The regular expression (Arrow's RE2) took ~80 ns a cell, most of
    a CSV run's conversion; this takes a few passes over the bytes. tests hold the two equal."""
    import numpy as np
    n = len(column)
    if not n:
        return np.zeros(0, dtype=bool)
    import pyarrow as pa
    _, offsets_buffer, data_buffer = column.buffers()
    wide = pa.types.is_large_string(column.type)
    offsets = np.frombuffer(offsets_buffer, dtype=np.int64 if wide else np.int32)[
        column.offset:column.offset + n + 1].astype(np.int64)
    start, end = offsets[:-1], offsets[1:]
    base = offsets[0]
    data = (np.frombuffer(data_buffer, dtype=np.uint8)[base:offsets[-1]] if data_buffer is not None
            else np.zeros(0, dtype=np.uint8))

    def rows(at: Any) -> Any:                # the cell of each byte position
        return np.searchsorted(offsets, at, side="right") - 1

    plain = (end > start) & _valid(column)
    plain[rows(np.flatnonzero(~_number_bytes()[data]) + base)] = False
    minus = np.flatnonzero(data == ord("-")) + base
    at = rows(minus)
    plain[at[minus != start[at]]] = False                     # a minus only first
    negative = np.zeros(n, dtype=bool)
    negative[at[minus == start[at]]] = True
    dots = np.flatnonzero(data == ord(".")) + base
    at = rows(dots)
    one_dot = np.bincount(at, minlength=n)
    plain &= one_dot <= 1
    point = end.copy()                                        # where the whole digits end
    point[at] = dots
    digits = point - start - negative
    plain &= (digits >= 1) & (digits <= 15) & (point != end - 1)   # a point has digits after it
    return plain


def _valid(column: Any) -> Any:
    import numpy as np
    return ~_missing(column) if column.null_count else np.ones(len(column), dtype=bool)


@functools.cache
def _number_bytes() -> Any:
    """Per byte value: a digit, a point or a minus (what a plain number is made of)."""
    import numpy as np
    return np.array([chr(b) in "0123456789.-" for b in range(256)])


def _bool_column(column: Any) -> tuple[Any, Any]:
    """A yes/no fact: Arrow booleans, or the text 是/否/true/false (other cells: the row route)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    n = len(column)
    if pa.types.is_boolean(column.type):
        values = pc.and_kleene(column, column.is_valid()) if column.null_count else column
        return numpy(values), _missing(column)
    if _is_text(column.type):
        index = pc.index_in(column, value_set=texts(list(_BOOL_TEXT)))
        known = numpy(index.is_valid())
        code = np.where(known, numpy(index.cast(pa.int64())), 0)
        return np.array(list(_BOOL_TEXT.values()))[code] & known, ~known
    return np.zeros(n, dtype=bool), np.ones(n, dtype=bool)


def _id_column(column: Any) -> tuple[Any, Any]:
    """The household ids as text, and the rows the row route must take (no id, a blank id, a
    whole number of 15 digits or more, an id that is not text or a whole number)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    n = len(column)
    if _is_text(column.type):
        blank = pc.or_kleene(pc.match_substring_regex(column, _BLANK_TEXT), column.is_null())
        return column.cast(pa.string()), numpy(blank)
    if pa.types.is_integer(column.type):
        values = numpy(column.cast(pa.float64(), safe=False))
        bad = _missing(column) | ~(np.abs(values) < EXACT)
        return column.cast(pa.string()), bad
    return pa.nulls(n, pa.string()), np.ones(n, dtype=bool)


# -- cells, formatted as rows.cell() does ------------------------------------------------------------

def value_cells(values: Any, n: int) -> tuple[Any, Any]:
    """One value column as CSV cells equal to `cell()` of each value, and the rows where the
    value is too large or not finite (float and integer arithmetic may differ there: the row
    route decides them)."""
    import numpy as np
    values = np.asarray(values)
    if values.ndim == 0:       # a value computed from parameters only: the same on every row
        return texts([cell(values.item())] * n), np.zeros(n, dtype=bool)
    if values.dtype == bool:
        return texts(["否", "是"]).take(arrow(values.astype(np.int8))), np.zeros(n, dtype=bool)
    values = values.astype(np.float64, copy=False)
    with np.errstate(invalid="ignore"):
        bad = ~(np.abs(values) < EXACT)
    return float_cells(np.where(bad, 0.0, values)), bad


def number_lines(values: list[Any], n: int) -> tuple[Any, Any] | None:
    """Every row's value cells at once, each as `cell()` writes it, joined by commas and ended by
    CRLF (one Arrow text per row), and the rows with a value too large or not finite (as
    value_cells marks them); None when a value is not a number or orjson is not installed, and
    value_cells formats the values column by column.

    orjson writes a float64 matrix row by row in the shortest digits that read back the same
    value, as repr does, in ~40 ns a value; Arrow's cast takes ~115 ns, and each column costs
    one more join. Where cell() writes otherwise the bytes are mended at once (`_ended_rows`);
    a row with a value below 1e-4 (orjson writes it without an exponent) or -0 is written by
    cell() itself."""
    import numpy as np
    try:
        import orjson
    except ImportError:
        return None
    arrays = [np.asarray(v) for v in values]
    if not arrays or not n or any(a.dtype.kind not in "fiu" for a in arrays):
        return None
    matrix = np.empty((n, len(arrays)))
    for j, a in enumerate(arrays):
        matrix[:, j] = a
    size = np.abs(matrix)
    with np.errstate(invalid="ignore"):   # fine: from 1e-4 to EXACT, or +0 (all bits clear)
        fine = ((size >= 1e-4) & (size < EXACT)) | (matrix.view(np.uint64) == 0)
    rows = np.flatnonzero(~fine.all(axis=1))
    bad = np.zeros(n, dtype=bool)
    exact = []
    if len(rows):
        with np.errstate(invalid="ignore"):
            bad[rows] = ~(size[rows] < EXACT).all(axis=1)              # NaN and infinities too
        exact = [",".join(cell(float(v)) for v in matrix[r]) + "\r\n" for r in rows]
        matrix[rows] = 0.0
    whole = matrix == np.floor(matrix)
    text = _ended_rows(np.frombuffer(orjson.dumps(matrix, option=orjson.OPT_SERIALIZE_NUMPY),
                                     dtype=np.uint8), whole)
    if text is None:
        return None
    if len(rows):
        import pyarrow.compute as pc
        odd = np.zeros(n, dtype=bool)
        odd[rows] = True
        text = pc.replace_with_mask(text, arrow(odd), texts(exact))
    return text, bad


def _ended_rows(data: Any, whole: Any) -> Any:
    """orjson's `[[v,v],[v,v]]` as the Arrow texts `v,v` + CRLF, one per row, with the `.0` of
    each value `whole` marks dropped (cell() writes 3.0 as 3); None if the bytes are not laid
    out so, which every mend checks first."""
    import numpy as np
    n, k = whole.shape
    body = data[2:]           # v,v],[v,v]]  : k commas a row, the last row's k-th one put at "]]"
    if len(body) < 2 or body[-1] != ord("]"):
        return None
    seps = np.flatnonzero(body == ord(","))
    if len(seps) != n * k - 1:
        return None
    seps = np.append(seps, len(body) - 1).reshape(n, k)
    close = seps[:, k - 1] - 1                       # each row's "]"
    value_ends = seps.copy()
    value_ends[:, k - 1] = close
    dots = value_ends[whole] - 2                     # the ".0" of whole numbers
    opening = seps[:-1, k - 1] + 1                   # each next row's "["
    if not ((body[close] == ord("]")).all() and (body[opening] == ord("[")).all()
            and (body[dots] == ord(".")).all() and (body[dots + 1] == ord("0")).all()):
        return None
    keep = np.ones(len(body), dtype=bool)
    keep[opening] = False
    keep[dots] = False
    keep[dots + 1] = False
    out = body[keep]
    # a row ends where its "]," ended, less the bytes dropped up to there: its ".0"s and those
    # before it, and one "[" for each row before it
    ends = close + 2 - 2 * np.cumsum(whole.sum(axis=1)) - np.arange(n)
    out[ends - 2] = ord("\r")
    out[ends - 1] = ord("\n")
    offsets = np.zeros(n + 1, dtype=np.int64)
    offsets[1:] = ends
    return _text_array(offsets, out)


def float_cells(values: Any) -> Any:
    """`cell(v)` of every float of `values`, vectorised. Arrow writes the shortest round-trip
    digits, as repr does, and whole numbers without a fraction, as cell() does; it differs in
    where it switches to exponents (from 1e10; repr from 1e16 and below 1e-4) and in writing -0:
    those few values are formatted by cell() itself."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    size = np.abs(values)
    if (size < EXACT).all() and (values == np.floor(values)).all():   # whole numbers: 5x faster
        return arrow(values.astype(np.int64)).cast(pa.string())
    text = arrow(values).cast(pa.string())
    with np.errstate(invalid="ignore"):
        odd = ~(size < 1e10) | ((size < 1e-4) & (values != 0)) | ((values == 0) & np.signbit(values))
    if odd.any():
        text = pc.replace_with_mask(text, arrow(odd), texts([cell(float(v)) for v in values[odd]]))
    return text


def _quoted(text: Any) -> Any:
    """Arrow text as the csv module writes fields: quoted, quotes doubled, when a field holds
    a comma, a quote or a line break."""
    import pyarrow.compute as pc
    need = pc.match_substring_regex(text, _QUOTE)
    if not pc.any(need).as_py():
        return text
    mark = text_scalar('"')
    quoted = pc.binary_join_element_wise(mark, pc.replace_substring(text, '"', '""'), mark, text_scalar(""))
    return pc.if_else(need, quoted, text)


def _field(text: str) -> str:
    """One cell as the csv module writes it (minimal quoting): quoted, quotes doubled, when it
    holds a comma, a quote or a line break."""
    if _NEEDS_QUOTES.search(text) is None:
        return text
    return '"' + text.replace('"', '""') + '"'


def _distinct(digits: list, radix: list[int]) -> tuple[Any, Any, Any]:
    """(distinct rows as keys, each row's index among them, the first row of each) of columns
    of small integers, each below its `radix`: one integer per row when they fit in 63 bits,
    else the row's bytes."""
    import numpy as np
    if math.prod(radix) < 2 ** 63:
        keys = np.zeros(len(digits[0]), dtype=np.int64)
        weight = 1
        for d, r in zip(digits, radix):
            keys += d * np.int64(weight)
            weight *= r
    else:
        packed = np.ascontiguousarray(np.stack(digits, axis=1).astype(
            np.uint8 if max(radix) <= 256 else np.int64))
        keys = packed.view(np.dtype((np.void, packed.shape[1] * packed.itemsize))).ravel()
    keys, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    return keys, inverse.ravel(), first


def _splice(lines: Any, fallback: Any, rows: list[str], n: int) -> bytes | memoryview:
    """The chunk's output: the vectorised lines, with the row route's lines in their places (a
    view of Arrow's buffer, not a copy)."""
    import numpy as np
    import pyarrow.compute as pc
    if lines is None:
        return "".join(rows).encode("utf-8")
    if rows:
        lines = pc.replace_with_mask(lines, arrow(fallback), texts(rows))
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int32)[lines.offset:lines.offset + n + 1]
    return memoryview(lines.buffers()[2])[offsets[0]:offsets[-1]]


# -- Arrow <-> numpy without pyarrow's conversions ---------------------------------------------------
# (pa.array, pa.scalar and Array.to_numpy import pandas when it is installed: a quarter of a second
# per process, more than a whole batch takes)

def numpy(array: Any) -> Any:
    """The values of an Arrow array of booleans, int64 or float64 as numpy (a null's slot holds
    whatever its buffer holds: callers mask nulls themselves)."""
    import numpy as np
    import pyarrow as pa
    data = array.buffers()[1]
    start, n = array.offset, len(array)
    if pa.types.is_boolean(array.type):
        bits = np.frombuffer(data, dtype=np.uint8)
        return np.unpackbits(bits, count=start + n, bitorder="little")[start:].astype(bool)
    dtype = {pa.int64(): np.int64, pa.float64(): np.float64}[array.type]
    return np.frombuffer(data, dtype=dtype)[start:start + n]


def arrow(values: Any) -> Any:
    """A one-dimensional numpy array (numbers or booleans) as an Arrow array."""
    import numpy as np
    import pyarrow as pa
    values = np.ascontiguousarray(values)
    if values.dtype == bool:
        bits = np.packbits(values, bitorder="little")
        return pa.Array.from_buffers(pa.bool_(), len(values), [None, pa.py_buffer(bits)])
    return pa.Array.from_buffers(pa.from_numpy_dtype(values.dtype), len(values),
                                 [None, pa.py_buffer(values)])


def texts(strings: list[str]) -> Any:
    """Python strings as an Arrow text array."""
    return encoded([s.encode("utf-8") for s in strings])


def encoded(data: list[bytes]) -> Any:
    """UTF-8 texts as an Arrow text array."""
    import numpy as np
    offsets = np.zeros(len(data) + 1, dtype=np.int64)
    np.cumsum([len(d) for d in data], out=offsets[1:])
    return _text_array(offsets, b"".join(data))


def _text_array(offsets: Any, data: Any) -> Any:
    """An Arrow text array of the UTF-8 `data` cut at `offsets` (int64, one more than the texts):
    32-bit offsets while they fit, else large text."""
    import numpy as np
    import pyarrow as pa
    small = offsets[-1] < 2 ** 31
    return pa.Array.from_buffers(pa.string() if small else pa.large_string(), len(offsets) - 1,
                                 [None, pa.py_buffer(offsets.astype(np.int32) if small else offsets),
                                  pa.py_buffer(data)])


def text_scalar(text: str) -> Any:
    return texts([text])[0]
