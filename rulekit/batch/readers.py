"""Readers: the files staff and systems hold, read as a stream of rows in input order.

A *table* (CSV, an XLSX sheet, Parquet) has a header and rows of cells; a *document source* (JSONL,
a JSON list) has one record per line or item. Readers only read: they say where each row is
(`households.csv:7`) and hand over the cells as the file holds them (text for CSV, typed values
for XLSX and Parquet, the line's text for JSONL), so that converting a cell is done in one place
(`columns.py`) and never guessed here. A row with every cell empty is reported as blank (None),
never silently skipped. openpyxl (XLSX) and pyarrow (Parquet) are optional extras, imported only
when such a file is read.
"""
from __future__ import annotations

import csv
import json
import os
import pathlib
from collections.abc import Iterator
from typing import Any

import attrs

from rulekit.errors import RulekitError
from rulekit.trace.messages import t

TABLE_SUFFIXES = (".csv", ".xlsx", ".parquet")
DOCUMENT_SUFFIXES = (".jsonl", ".json")


class BatchError(RulekitError, ValueError):
    """A batch run cannot start or continue: an unreadable file, a header that maps to no field,
    an interrupted run that does not match. Each line of the message is one problem; `text("zh")`
    gives the Chinese sentences."""

    def __init__(self, message: str, zh: str | None = None) -> None:
        super().__init__(message)
        self.zh = zh or message

    @classmethod
    def of(cls, key: str, **kw: Any) -> BatchError:
        """The error whose sentence is `key` in the message catalogue."""
        return cls(t(key, "en", **kw), t(key, "zh", **kw))

    def text(self, lang: str = "en") -> str:
        return self.zh if lang == "zh" else self.message


def need(module: str, extra: str, path: pathlib.Path) -> Any:
    """Import an optional reader, or say which extra to install."""
    import importlib
    try:
        return importlib.import_module(module)
    except ImportError:
        raise BatchError.of("batch_need_extra", path=str(path), module=module.split(".")[0],
                                extra=extra) from None


@attrs.define
class Table:
    """A header and rows of cells. `rows()` yields (where, cells) with cells None for a blank row."""
    name: str                      # for messages: "households.csv", "households.xlsx[家庭成员]"
    header: tuple[str, ...]
    _rows: Any = attrs.field(repr=False)
    _total: Any = attrs.field(default=None, repr=False)   # () -> rows expected, or None

    def rows(self) -> Iterator[tuple[str, tuple | None]]:
        return self._rows()

    def total(self) -> int | None:
        """Rows expected, for the progress bar (counted only when a bar is shown)."""
        return self._total() if self._total is not None else None


@attrs.define
class Documents:
    """One record per JSONL line or JSON list item. `rows()` yields (where, text or object)."""
    name: str
    _rows: Any = attrs.field(repr=False)
    _total: Any = attrs.field(default=None, repr=False)

    def rows(self) -> Iterator[tuple[str, Any]]:
        return self._rows()

    def total(self) -> int | None:
        return self._total() if self._total is not None else None


def open_source(path: pathlib.Path, *, encoding: str = "utf-8-sig",
                sheet: str | None = None) -> Table | Documents:
    """The households of `path`, by its extension; XLSX reads `sheet` or the first sheet."""
    path = pathlib.Path(path)
    suffix = path.suffix.lower()
    if not path.is_file():
        raise BatchError.of("batch_no_file", path=str(path))
    if suffix == ".csv":
        return csv_table(path, encoding)
    if suffix == ".xlsx":
        return xlsx_tables(path, sheet)[0]
    if suffix == ".parquet":
        return parquet_table(path)
    if suffix == ".jsonl":
        return jsonl_documents(path, encoding)
    if suffix == ".json":
        return json_documents(path, encoding)
    raise BatchError.of("batch_format", path=str(path),
                       formats=", ".join(TABLE_SUFFIXES + DOCUMENT_SUFFIXES))


def _blank(cells: tuple) -> bool:
    return all(c is None or (isinstance(c, str) and not c.strip()) for c in cells)


def _count_lines(path: pathlib.Path) -> int:
    """Newlines in the file: the progress bar's total (a quoted newline inside a cell makes it
    an overestimate, which only shows as a bar that ends early)."""
    n = 0
    with path.open("rb") as f:
        while block := f.read(1 << 20):
            n += block.count(b"\n")
    return n


def _check_encoding(path: pathlib.Path, encoding: str) -> None:
    with path.open("rb") as f:
        head = f.read(1 << 16)
    try:
        head.decode(encoding)
    except UnicodeDecodeError as e:
        if e.start < len(head) - 4:   # not merely a character cut at the block's end
            raise BatchError.of("batch_encoding", path=str(path), encoding=encoding) from None
    except LookupError:
        raise BatchError.of("batch_encoding", path=str(path), encoding=encoding) from None


def csv_table(path: pathlib.Path, encoding: str = "utf-8-sig") -> Table:
    _check_encoding(path, encoding)
    with path.open(encoding=encoding, newline="") as f:
        header = next(csv.reader(f), None)
    if header is None:
        raise BatchError.of("batch_empty", path=str(path))

    def rows() -> Iterator[tuple[str, tuple | None]]:
        with path.open(encoding=encoding, newline="") as f:
            reader = csv.reader(f)
            next(reader)
            line = reader.line_num
            try:
                for cells in reader:
                    where = f"{path.name}:{line + 1}"
                    line = reader.line_num
                    yield where, (None if _blank(cells) else tuple(cells))
            except UnicodeDecodeError:
                raise BatchError.of("batch_encoding", path=f"{path}:{line + 1}",
                                   encoding=encoding) from None
            except csv.Error as e:
                raise BatchError(f"{path}:{line + 1}: {e}") from None

    return Table(path.name, tuple(header), rows, lambda: max(_count_lines(path) - 1, 0))


def xlsx_tables(path: pathlib.Path, sheet: str | None = None) -> list[Table]:
    """Every sheet of a workbook as a table: the households sheet (`sheet`, else the first) first."""
    openpyxl = need("openpyxl", "xlsx", path)
    book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    names = list(book.sheetnames)
    if sheet is not None and sheet not in names:
        raise BatchError.of("batch_no_sheet", path=str(path), sheet=sheet,
                           sheets="、".join(names))
    order = [sheet] + [n for n in names if n != sheet] if sheet else names
    return [_sheet_table(path, book, name) for name in order]


def _sheet_table(path: pathlib.Path, book: Any, name: str) -> Table:
    ws = book[name]
    first = next(ws.iter_rows(min_row=1, max_row=1, values_only=True), ())
    header = list(first)
    while header and (header[-1] is None or str(header[-1]).strip() == ""):
        header.pop()
    label = f"{path.name}[{name}]"

    def rows() -> Iterator[tuple[str, tuple | None]]:
        for i, cells in enumerate(ws.iter_rows(min_row=2, values_only=True), start=2):
            yield f"{label}:{i}", (None if _blank(cells) else _trim(cells, len(header)))

    total = ws.max_row - 1 if isinstance(ws.max_row, int) and ws.max_row > 1 else None
    return Table(label, tuple("" if h is None else str(h) for h in header), rows, lambda: total)


def _trim(cells: tuple, width: int) -> tuple:
    """Cells past the header's width are dropped only when they are empty (the sheet's used
    range often runs wider than the header); a value there is kept so the row reports it."""
    cells = tuple(cells)
    if len(cells) <= width:
        return cells
    extra = cells[width:]
    return cells[:width] if _blank(extra) else cells


def parquet_table(path: pathlib.Path, batch_size: int = 2048) -> Table:
    pq = need("pyarrow.parquet", "parquet", path)
    meta = pq.ParquetFile(path)
    header = tuple(meta.schema_arrow.names)

    def rows() -> Iterator[tuple[str, tuple | None]]:
        n = 0
        for batch in _parquet(pq, path).iter_batches(batch_size=batch_size):
            for cells in zip(*(col.to_pylist() for col in batch.columns)):
                n += 1
                yield f"{path.name} row {n}", (None if _blank(cells) else cells)

    return Table(path.name, header, rows, lambda: meta.metadata.num_rows)


def csv_blocks(path: pathlib.Path, size: int) -> Iterator[tuple[int, int, bytes]]:
    """The bytes of a CSV file after its first line, in blocks of whole lines of about `size`
    bytes: (lines before the block, its offset in the file, its bytes). The columnar route of a
    run parses these itself (the header is one line: columnar_run checks it)."""
    with path.open("rb") as f:
        offset = len(f.readline())      # the header, read by csv_table
        lines = 1
        rest = b""
        while block := f.read(size):
            block = rest + block
            cut = block.rfind(b"\n") + 1
            rest = block[cut:]
            if cut:
                yield lines, offset, block[:cut]
                # lines as the csv module counts them: a lone carriage return ends one too
                lines += block.count(b"\n", 0, cut)
                if b"\r" in block:
                    lines += lone_crs(memoryview(block)[:cut])
                offset += cut
        if rest:
            yield lines, offset, rest


def lone_crs(data: Any) -> int:
    """Carriage returns not followed by a line feed (the csv module ends a line at each), counted
    with numpy when it is there: `bytes.count(b"\\r\\n")` takes 4x as long on a CRLF file."""
    try:
        import numpy as np
    except ImportError:
        data = bytes(data)
        return data.count(b"\r") - data.count(b"\r\n")
    d = np.frombuffer(data, dtype=np.uint8)
    after = np.flatnonzero(d == 13) + 1
    return int(((after >= len(d)) | (d[np.minimum(after, len(d) - 1)] != 10)).sum()) if len(d) else 0


def parquet_batches(path: pathlib.Path, batch_size: int) -> Iterator[Any]:
    """The rows of a Parquet file as Arrow record batches of up to `batch_size` rows, in file
    order, columns in the header's order (the columnar route of a run reads these, not cells)."""
    pq = need("pyarrow.parquet", "parquet", path)
    yield from _parquet(pq, path).iter_batches(batch_size=batch_size)


def _parquet(pq: Any, path: pathlib.Path) -> Any:
    """A Parquet file read as a buffered stream, column chunk by column chunk: pyarrow's default
    reads each whole column chunk first, so memory grew with the file's row groups (often the whole
    file: writers put up to a million rows in one); this keeps a 1,000,000-row group ~65 MB lower."""
    return pq.ParquetFile(path, buffer_size=1 << 20, pre_buffer=False)


def jsonl_documents(path: pathlib.Path, encoding: str = "utf-8-sig") -> Documents:
    """One JSON record per line; the text goes to the worker, which parses it (in parallel)."""
    _check_encoding(path, encoding)

    def rows() -> Iterator[tuple[str, str | None]]:
        with path.open(encoding=encoding) as f:
            for i, line in enumerate(f, start=1):
                yield f"{path.name}:{i}", (line if line.strip() else None)

    return Documents(path.name, rows, lambda: _count_lines(path))


def json_documents(path: pathlib.Path, encoding: str = "utf-8-sig") -> Documents:
    """A JSON list of records (or one record). Read whole: for large inputs use JSONL."""
    try:
        data = json.loads(path.read_text(encoding=encoding))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise BatchError(f"{path}: {t('row_json', 'en', error=str(e))}",
                         f"{path}: {t('row_json', 'zh', error=str(e))}") from None
    items = data if isinstance(data, list) else [data]

    def rows() -> Iterator[tuple[str, Any]]:
        for i, item in enumerate(items):
            yield f"{path.name}[{i}]", item

    return Documents(path.name, rows, lambda: len(items))


def open_table(path: pathlib.Path, *, encoding: str = "utf-8-sig") -> Table | Documents:
    """A second table keyed by household id (members, crops...): any table format, or JSONL."""
    path = pathlib.Path(path)
    if not path.is_file():
        raise BatchError.of("batch_no_file", path=str(path))
    if path.suffix.lower() == ".xlsx":
        return xlsx_tables(path)[0]
    return open_source(path, encoding=encoding)


def file_stamp(path: pathlib.Path) -> dict:
    """What identifies a file's content for resuming (size and modification time)."""
    st = os.stat(path)
    return {"path": str(pathlib.Path(path).resolve()), "size": st.st_size, "mtime_ns": st.st_mtime_ns}
