"""The decision log: an append-only store of decision records that auditors query.

`DecisionStore` is the contract (append, query, history, get); `SQLiteStore` keeps the log in one
embedded file and is the default. A PostgreSQL store for multi-user deployments implements the
same Protocol over the same tables (the SQL below is portable apart from the pragmas).

Append-only: rows are never updated or deleted (triggers refuse it). A household decided again is
a new row whose `previous_seq` points at that household's previous row under the same pack, so
its history shows when and why the outcome changed. Each append is one write transaction taken
up front (BEGIN IMMEDIATE) in WAL mode with a busy timeout, so processes appending at the same
time queue up instead of failing, and no row or link between rows is lost.
"""
from __future__ import annotations

import datetime as dt
import json
import pathlib
import sqlite3
import time
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, Protocol, TypeVar

import attrs

from rulekit.audit.record import check_record
from rulekit.errors import AuditError, Problem

STORE_VERSION = "1"
T = TypeVar("T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS decisions (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,        -- append order
    record_id TEXT NOT NULL UNIQUE,
    household_id TEXT NOT NULL,
    previous_seq INTEGER REFERENCES decisions(seq),   -- this household's previous row, same pack
    decided_at TEXT NOT NULL,
    as_of TEXT NOT NULL,
    pack_id TEXT NOT NULL,
    pack_version TEXT NOT NULL,
    pack_sha256 TEXT NOT NULL,
    engine_version TEXT NOT NULL,
    record BLOB NOT NULL                          -- the decision record: zlib-compressed UTF-8 JSON
);
CREATE TABLE IF NOT EXISTS outcomes (            -- one row per outcome that holds (outcome NULL: none)
    seq INTEGER NOT NULL REFERENCES decisions(seq),
    decision TEXT NOT NULL,
    outcome TEXT,
    status TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS rules (               -- every rule's status, with the catalogue ids it cites
    seq INTEGER NOT NULL REFERENCES decisions(seq),
    rule_id TEXT NOT NULL,
    status TEXT NOT NULL,
    cites TEXT NOT NULL                           -- space-separated, with a space at both ends
);
CREATE INDEX IF NOT EXISTS decisions_household ON decisions(household_id, pack_id, seq);
CREATE INDEX IF NOT EXISTS decisions_as_of ON decisions(as_of);
CREATE INDEX IF NOT EXISTS decisions_pack ON decisions(pack_id, pack_version);
CREATE INDEX IF NOT EXISTS outcomes_seq ON outcomes(seq);
CREATE INDEX IF NOT EXISTS outcomes_outcome ON outcomes(decision, outcome);
CREATE INDEX IF NOT EXISTS rules_rule ON rules(rule_id, status);
CREATE INDEX IF NOT EXISTS rules_seq ON rules(seq);
"""

_APPEND_ONLY = """
CREATE TRIGGER IF NOT EXISTS {table}_no_{op} BEFORE {op} ON {table}
BEGIN SELECT RAISE(ABORT, 'the decision log is append-only: rows are never updated or deleted'); END;
"""

_COLUMNS = ("seq", "record_id", "household_id", "previous_seq", "decided_at", "as_of", "pack_id",
            "pack_version", "pack_sha256", "engine_version")


@attrs.frozen
class Query:
    """What to select from the log; every given criterion must hold (AND).

    rules: (rule id or catalogue id, status) pairs, status "fired" unless given.
    outcomes: (decision, outcome id) pairs. statuses: (decision or None for any, status) pairs.
    Dates are inclusive and filter `as_of` (the date a decision speaks for) or, with
    dates="decided_at", the day it was made.
    """
    household: str | None = None
    rules: tuple[tuple[str, str], ...] = ()
    outcomes: tuple[tuple[str, str], ...] = ()
    statuses: tuple[tuple[str | None, str], ...] = ()
    pack_id: str | None = None
    pack_version: str | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    dates: str = attrs.field(default="as_of", validator=attrs.validators.in_(("as_of", "decided_at")))


@attrs.frozen
class LogEntry:
    """One row of the log, with each decision's answer and the rules that held."""
    seq: int
    record_id: str
    household_id: str
    previous_seq: int | None
    decided_at: str
    as_of: str
    pack_id: str
    pack_version: str
    pack_sha256: str
    engine_version: str
    decisions: dict[str, tuple[tuple[str, ...], str]]   # name -> (outcome ids, status)
    fired: tuple[str, ...]

    def to_dict(self) -> dict:
        d = attrs.asdict(self)
        d["decisions"] = {k: {"outcomes": list(o), "status": s} for k, (o, s) in self.decisions.items()}
        d["fired"] = list(self.fired)
        return d


class DecisionStore(Protocol):
    """Where decision records are kept. Implementations are append-only."""

    def append(self, record: Mapping[str, Any]) -> LogEntry: ...
    def append_many(self, records: Iterable[Mapping[str, Any]]) -> list[LogEntry]: ...
    def query(self, query: Query) -> list[LogEntry]: ...
    def history(self, household_id: str) -> list[LogEntry]: ...
    def get(self, seq: int) -> dict: ...
    def count(self) -> int: ...
    def close(self) -> None: ...


def _statements(script: str) -> Iterator[str]:
    """The SQL statements of a script (executescript would commit the open transaction)."""
    current = ""
    for line in script.splitlines(keepends=True):
        current += line
        if sqlite3.complete_statement(current):
            yield current.strip()
            current = ""


def open_store(path: str | pathlib.Path) -> SQLiteStore:
    """The decision log at `path` (an SQLite file, created when absent)."""
    return SQLiteStore(path)


class SQLiteStore:
    """A decision log in one SQLite file; safe for several processes appending at once."""

    def __init__(self, path: str | pathlib.Path, *, timeout: float = 60.0) -> None:
        self.path = pathlib.Path(path)
        self.timeout = timeout
        try:
            self._db = sqlite3.connect(self.path, timeout=timeout, isolation_level=None)
            self._db.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
            self._busy(self._wal)
            self._db.execute("PRAGMA synchronous = NORMAL")
            self._db.execute("PRAGMA foreign_keys = ON")
            self._busy(self._init)
        except sqlite3.OperationalError as e:
            raise AuditError([Problem(f"cannot be opened ({e})", file=str(self.path))]) from None
        except sqlite3.DatabaseError as e:
            raise AuditError([Problem(f"is not a rulekit decision log ({e})", file=str(self.path))]) from None

    def _busy(self, work: Callable[[], T]) -> T:
        """Run `work`, again while another process holds the file. SQLite's busy timeout covers
        ordinary transactions; switching to WAL and the first schema write on a new file can still
        report "database is locked" at once when two processes create the log together."""
        deadline = time.monotonic() + self.timeout
        pause = 0.005
        while True:
            try:
                return work()
            except sqlite3.OperationalError as e:
                if "locked" not in str(e) and "busy" not in str(e) or time.monotonic() > deadline:
                    raise
            time.sleep(pause)
            pause = min(pause * 2, 0.2)

    def _wal(self) -> None:
        if self._db.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            self._db.execute("PRAGMA journal_mode = WAL")

    def _init(self) -> None:
        script = _SCHEMA + "".join(_APPEND_ONLY.format(table=tb, op=op) for op in ("UPDATE", "DELETE")
                                   for tb in ("decisions", "outcomes", "rules"))
        with self._write():
            for statement in _statements(script):
                self._db.execute(statement)
            self._db.execute("INSERT OR IGNORE INTO meta VALUES ('store_version', ?)", (STORE_VERSION,))
        got = self._db.execute("SELECT value FROM meta WHERE key = 'store_version'").fetchone()[0]
        if got != STORE_VERSION:
            raise AuditError([Problem(f"this rulekit reads decision logs of store_version "
                                      f"{STORE_VERSION!r} (got {got!r})", file=str(self.path))])

    class _Tx:
        def __init__(self, db: sqlite3.Connection) -> None:
            self.db = db

        def __enter__(self) -> None:
            self.db.execute("BEGIN IMMEDIATE")    # take the write lock now: no upgrade deadlock

        def __exit__(self, exc_type: Any, *_: Any) -> None:
            if exc_type is None:
                try:
                    self.db.execute("COMMIT")
                    return
                except sqlite3.Error:
                    self.db.execute("ROLLBACK")
                    raise
            self.db.execute("ROLLBACK")

    def _write(self) -> SQLiteStore._Tx:
        return SQLiteStore._Tx(self._db)

    # -- appending ---------------------------------------------------------------------------------------
    def append(self, record: Mapping[str, Any]) -> LogEntry:
        """Append one decision record (checked first) in its own transaction."""
        return self.append_many([record])[0]

    def append_many(self, records: Iterable[Mapping[str, Any]]) -> list[LogEntry]:
        """Append records in one transaction: all of them or, on any error, none."""
        checked = [check_record(r) for r in records]

        def write() -> list[int]:      # all or nothing, so running it again after "busy" is safe
            with self._write():
                return [self._insert(r) for r in checked]
        return self._entries(self._busy(write))

    def _insert(self, r: Mapping[str, Any]) -> int:
        db = self._db
        p = r["pack"]
        prev = db.execute("SELECT max(seq) FROM decisions WHERE household_id = ? AND pack_id = ?",
                          (r["household_id"], p["id"])).fetchone()[0]
        blob = zlib.compress(json.dumps(r, ensure_ascii=False, separators=(",", ":")).encode("utf-8"), 6)
        try:
            cur = db.execute(
                "INSERT INTO decisions (record_id, household_id, previous_seq, decided_at, as_of, pack_id,"
                " pack_version, pack_sha256, engine_version, record) VALUES (?,?,?,?,?,?,?,?,?,?)",
                (r["record_id"], r["household_id"], prev, r["decided_at"], r["as_of"], p["id"],
                 p["version"], p["sha256"], r["engine_version"], blob))
        except sqlite3.IntegrityError:
            raise AuditError([Problem(f"is already in the log (got record_id {r['record_id']!r}); a "
                                      f"decision made again needs a new record_id",
                                      file=str(self.path), path="record_id")]) from None
        seq = cur.lastrowid
        rows = []
        for name, d in r["decisions"].items():
            rows += [(seq, name, o, d["status"]) for o in d["outcomes"]] or [(seq, name, None, d["status"])]
        db.executemany("INSERT INTO outcomes VALUES (?,?,?,?)", rows)
        db.executemany("INSERT INTO rules VALUES (?,?,?,?)",
                       [(seq, rid, x["status"], " " + " ".join(x["cites"]) + " ")
                        for rid, x in r["trace"]["rules"].items()])
        return seq

    # -- reading -------------------------------------------------------------------------------------------
    def count(self) -> int:
        return self._db.execute("SELECT count(*) FROM decisions").fetchone()[0]

    def get(self, seq: int) -> dict:
        """The decision record stored in row `seq`."""
        row = self._db.execute("SELECT record FROM decisions WHERE seq = ?", (seq,)).fetchone()
        if row is None:
            raise KeyError(f"the decision log {self.path} has no row {seq}")
        return json.loads(zlib.decompress(row[0]).decode("utf-8"))

    def records(self, entries: Iterable[LogEntry]) -> Iterator[dict]:
        for e in entries:
            yield self.get(e.seq)

    def history(self, household_id: str) -> list[LogEntry]:
        """Every decision about one household, oldest first."""
        return self.query(Query(household=household_id))

    def query(self, query: Query) -> list[LogEntry]:
        """The rows every criterion of `query` selects, in append order."""
        where, args = [], []
        if query.household is not None:
            where.append("d.household_id = ?")
            args.append(query.household)
        for rule, status in query.rules:
            where.append("EXISTS (SELECT 1 FROM rules r WHERE r.seq = d.seq AND r.status = ? AND "
                         "(r.rule_id = ? OR instr(r.cites, ?) > 0))")
            args += [status, rule, f" {rule} "]
        for decision, outcome in query.outcomes:
            where.append("EXISTS (SELECT 1 FROM outcomes o WHERE o.seq = d.seq AND o.decision = ? "
                         "AND o.outcome = ?)")
            args += [decision, outcome]
        for decision, status in query.statuses:
            where.append("EXISTS (SELECT 1 FROM outcomes o WHERE o.seq = d.seq AND o.status = ?"
                         + (" AND o.decision = ?)" if decision else ")"))
            args += [status] + ([decision] if decision else [])
        for column, value in (("pack_id", query.pack_id), ("pack_version", query.pack_version)):
            if value is not None:
                where.append(f"d.{column} = ?")
                args.append(value)
        column = "d.as_of" if query.dates == "as_of" else "substr(d.decided_at, 1, 10)"
        if query.date_from is not None:
            where.append(f"{column} >= ?")
            args.append(query.date_from.isoformat())
        if query.date_to is not None:
            where.append(f"{column} <= ?")
            args.append(query.date_to.isoformat())
        sql = (f"SELECT seq FROM decisions d {'WHERE ' + ' AND '.join(where) if where else ''} "
               "ORDER BY seq")
        return self._entries([row[0] for row in self._db.execute(sql, args)])

    def _entries(self, seqs: list[int]) -> list[LogEntry]:
        out = []
        for i in range(0, len(seqs), 500):
            chunk = seqs[i:i + 500]
            marks = ",".join("?" * len(chunk))
            rows = {r[0]: r for r in self._db.execute(
                f"SELECT {', '.join(_COLUMNS)} FROM decisions WHERE seq IN ({marks})", chunk)}
            decisions: dict[int, dict[str, tuple[list[str], str]]] = {s: {} for s in chunk}
            for seq, name, outcome, status in self._db.execute(
                    f"SELECT seq, decision, outcome, status FROM outcomes WHERE seq IN ({marks}) "
                    "ORDER BY rowid", chunk):
                outs, _ = decisions[seq].setdefault(name, ([], status))
                if outcome is not None:
                    outs.append(outcome)
            fired: dict[int, list[str]] = {s: [] for s in chunk}
            for seq, rid in self._db.execute(
                    f"SELECT seq, rule_id FROM rules WHERE seq IN ({marks}) AND status = 'fired' "
                    "ORDER BY rowid", chunk):
                fired[seq].append(rid)
            for s in chunk:
                out.append(LogEntry(*rows[s], decisions={k: (tuple(o), st) for k, (o, st)
                                                         in decisions[s].items()},
                                    fired=tuple(fired[s])))
        return out

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> SQLiteStore:
        return self

    def __exit__(self, *_: Any) -> None:
        self.close()
