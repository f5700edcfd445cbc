"""Commands for auditors: `rulekit explain`, `verify`, `log` and `audit`.

explain  renders why: household records evaluated now, or stored decision records as they were
verify   evaluates stored decision records again and says whether they reproduce, and what differs
log      evaluates household records and appends their decision records to a decision log
audit    queries a decision log: by household (its history), rule, outcome, status, pack, dates
"""
from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import json
import pathlib
import sys
import unicodedata
from collections.abc import Sequence
from typing import Any

from rulekit.audit.record import check_record, is_record, make_record, read_records
from rulekit.audit.store import LogEntry, Query, SQLiteStore, open_store
from rulekit.audit.verify import compare, verify
from rulekit.cli.evaluate import read_json
from rulekit.engine.pack import load_pack
from rulekit.errors import AuditError, EvaluationError, RecordError
from rulekit.trace.messages import t
from rulekit.trace.render import FORMATS, render

RULE_STATUSES = ("fired", "not_fired", "unknown", "overridden")
DECISION_STATUSES = ("decided", "needs_review", "undetermined")


def register(sub: Any) -> None:
    ex = sub.add_parser("explain", help="why a household was (not) included: text, Markdown or "
                                        "printable HTML, from household or decision records")
    ex.add_argument("record", type=pathlib.Path,
                    help="a JSON file: household record(s), or decision record(s) made by `rulekit log` "
                         "or `rulekit audit --format json` (these need no pack)")
    ex.add_argument("--pack", help="bundled pack id or pack path (needed for household records)")
    _pack_options(ex)
    ex.add_argument("--format", choices=FORMATS, default="text")
    ex.add_argument("--lang", choices=["zh", "en"], default="zh")
    ex.add_argument("-o", "--output", type=pathlib.Path, help="write to this file instead of stdout")
    ex.set_defaults(handler=explain)

    vf = sub.add_parser("verify", help="evaluate stored decision records again: do they reproduce?")
    vf.add_argument("decisions", type=pathlib.Path, help="a JSON file: one decision record or a list")
    vf.add_argument("--pack", required=True, help="bundled pack id or pack path")
    vf.add_argument("--overrides", action="append", default=[], type=pathlib.Path,
                    help="a parameter override file (YAML) the original evaluation used; may be repeated")
    vf.add_argument("--format", choices=["text", "json"], default="text")
    vf.add_argument("--lang", choices=["zh", "en"], default="zh")
    vf.set_defaults(handler=verify_cmd)

    lg = sub.add_parser("log", help="evaluate household records and append the decisions to a log")
    lg.add_argument("records", type=pathlib.Path, help="a JSON file: one household or a list")
    lg.add_argument("--pack", required=True, help="bundled pack id or pack path")
    _pack_options(lg)
    lg.add_argument("--db", required=True, type=pathlib.Path, help="the decision log (SQLite file; "
                                                                     "created when absent)")
    lg.add_argument("--lang", choices=["zh", "en"], default="zh")
    lg.set_defaults(handler=log)

    au = sub.add_parser("audit", help="query a decision log; criteria combine (all must hold)")
    au.add_argument("db", type=pathlib.Path, help="the decision log (SQLite file)")
    au.add_argument("--household", help="one household's decisions over time, with what changed")
    au.add_argument("--rule", action="append", default=[], type=_rule_arg, metavar="RULE[=STATUS]",
                    help="rule id or catalogue id (X3, YX-X3) with the status it had (default fired; "
                         f"{', '.join(RULE_STATUSES)})")
    au.add_argument("--outcome", action="append", default=[], type=_pair_arg("DECISION=OUTCOME"),
                    metavar="DECISION=OUTCOME", help="e.g. monitoring=excluded")
    au.add_argument("--status", action="append", default=[], type=_status_arg, metavar="[DECISION=]STATUS",
                    help=f"a decision's status ({', '.join(DECISION_STATUSES)}); without DECISION, any")
    au.add_argument("--pack", dest="pack_id", help="pack id")
    au.add_argument("--pack-version", help="pack version")
    au.add_argument("--from", dest="date_from", type=_date_arg, help="first date, inclusive (YYYY-MM-DD)")
    au.add_argument("--to", dest="date_to", type=_date_arg, help="last date, inclusive (YYYY-MM-DD)")
    au.add_argument("--dates", choices=["as_of", "decided_at"], default="as_of",
                    help="which date --from/--to filter: the date a decision speaks for (as_of, "
                         "default) or the day it was made (decided_at)")
    au.add_argument("--show", action="append", default=[], metavar="DECISION",
                    help="only these decisions' columns in the table (may be repeated; default all)")
    au.add_argument("--changes", action="store_true",
                    help="add what changed since each household's previous decision (always "
                         "with --household)")
    au.add_argument("--format", choices=["table", "csv", "json"], default="table",
                    help="json prints the full decision records, for `rulekit explain` and `verify`")
    au.add_argument("--lang", choices=["zh", "en"], default="zh")
    au.set_defaults(handler=audit)


def _pack_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--as-of", help="date whose parameter values apply (default: the record's collected_on)")
    p.add_argument("--overrides", action="append", default=[], type=pathlib.Path,
                   help="a parameter override file (YAML); may be repeated")


def _date_arg(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a date written YYYY-MM-DD (got {text!r})") from None


def _pair_arg(shape: str) -> Any:
    def parse(text: str) -> tuple[str, str]:
        left, eq, right = text.partition("=")
        if not eq or not left or not right:
            raise argparse.ArgumentTypeError(f"must be written {shape} (got {text!r})")
        return left, right
    return parse


def _rule_arg(text: str) -> tuple[str, str]:
    rule, _, status = text.partition("=")
    status = status or "fired"
    if not rule or status not in RULE_STATUSES:
        raise argparse.ArgumentTypeError(f"must be RULE or RULE=STATUS with STATUS one of "
                                         f"{', '.join(RULE_STATUSES)} (got {text!r})")
    return rule, status


def _status_arg(text: str) -> tuple[str | None, str]:
    decision, eq, status = text.rpartition("=")
    if status not in DECISION_STATUSES or (eq and not decision):
        raise argparse.ArgumentTypeError(f"must be STATUS or DECISION=STATUS with STATUS one of "
                                         f"{', '.join(DECISION_STATUSES)} (got {text!r})")
    return decision or None, status


def _emit(text: str, output: pathlib.Path | None) -> None:
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")


# -- explain -----------------------------------------------------------------------------------------------

def explain(args: argparse.Namespace) -> int:
    data = read_json(args.record)
    if data is None:
        return 1
    items = data if isinstance(data, list) else [data]
    pack = None
    failed = 0
    out: list[Any] = []
    for i, item in enumerate(items):
        where = f"{args.record}" + (f" [record {i}]" if isinstance(data, list) else "")
        if is_record(item):
            try:
                out.append(check_record(item, where))
            except AuditError as e:
                failed += 1
                print(str(e), file=sys.stderr)
            continue
        if args.pack is None:
            print(f"{where}: a household record needs --pack (a bundled pack id or a pack path); "
                  f"decision records carry their own reasons", file=sys.stderr)
            return 1
        pack = pack or load_pack(args.pack, overrides=args.overrides)
        try:
            out.append(pack.evaluate(item, as_of=args.as_of))
        except (RecordError, EvaluationError, ValueError) as e:
            failed += 1
            print(f"{where}: {e}", file=sys.stderr)
    if out:
        _emit(render(out, args.format, args.lang), args.output)
    return 1 if failed else 0


# -- verify ------------------------------------------------------------------------------------------------

def verify_cmd(args: argparse.Namespace) -> int:
    try:
        records = read_records(args.decisions)
    except AuditError as e:
        print(str(e), file=sys.stderr)
        return 1
    pack = load_pack(args.pack, overrides=args.overrides)
    results = [verify(r, pack) for r in records]
    if args.format == "json":
        json.dump([v.to_dict() for v in results], sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
    else:
        sys.stdout.write("\n".join(v.text(args.lang) for v in results))
    return 0 if all(v.reproduces for v in results) else 1


# -- log ---------------------------------------------------------------------------------------------------

def log(args: argparse.Namespace) -> int:
    data = read_json(args.records)
    if data is None:
        return 1
    pack = load_pack(args.pack, overrides=args.overrides)
    items = data if isinstance(data, list) else [data]
    records, failed = [], 0
    for i, item in enumerate(items):
        try:
            records.append(make_record(pack.evaluate(item, as_of=args.as_of)))
        except (RecordError, EvaluationError, ValueError) as e:
            failed += 1
            where = f"{args.records}" + (f" [record {i}]" if isinstance(data, list) else "")
            print(f"{where}: {e}", file=sys.stderr)
    try:
        with open_store(args.db) as store:
            entries = store.append_many(records)
    except AuditError as e:
        print(str(e), file=sys.stderr)
        return 1
    line = t("audit_appended", args.lang, n=str(len(entries)), db=str(args.db))
    if entries:
        line += f" ({t('audit_col_seq', args.lang)} {entries[0].seq}–{entries[-1].seq})"
    print(line)
    if failed:
        print(t("audit_not_logged", args.lang, n=str(failed)), file=sys.stderr)
    return 1 if failed else 0


# -- audit -------------------------------------------------------------------------------------------------

def audit(args: argparse.Namespace) -> int:
    if not args.db.is_file():
        print(f"{args.db}: no such decision log (write one with `rulekit log`)", file=sys.stderr)
        return 1
    query = Query(household=args.household, rules=tuple(args.rule), outcomes=tuple(args.outcome),
                  statuses=tuple(args.status), pack_id=args.pack_id, pack_version=args.pack_version,
                  date_from=args.date_from, date_to=args.date_to, dates=args.dates)
    try:
        with open_store(args.db) as store:
            entries = store.query(query)
            if args.format == "json":
                json.dump(list(store.records(entries)), sys.stdout, ensure_ascii=False, indent=2)
                sys.stdout.write("\n")
                return 0
            changes = changes_since_previous(store, entries, args.lang) \
                if args.changes or args.household else None
    except AuditError as e:
        print(str(e), file=sys.stderr)
        return 1
    if args.format == "csv":
        sys.stdout.write(entries_csv(entries, changes))
    else:
        sys.stdout.write(entries_table(entries, changes, args.lang, args.show))
        print(t("audit_rows", args.lang, n=str(len(entries))))
    return 0


def changes_since_previous(store: SQLiteStore, entries: Sequence[LogEntry], lang: str) -> dict[int, str]:
    """Row -> what differs from the household's previous decision: the decisions, then why
    (facts, pack, engine, dates, parameters, rules, exceptions; computed values left out)."""
    out = {}
    for e in entries:
        if e.previous_seq is None:
            out[e.seq] = t("audit_first", lang)
            continue
        diffs = [d for d in compare(store.get(e.previous_seq), store.get(e.seq)) if d.kind != "computed"]
        out[e.seq] = "; ".join(d.text(lang, brief=True) for d in diffs) or t("audit_no_change", lang)
    return out


def _decision_names(entries: Sequence[LogEntry]) -> list[str]:
    names: dict[str, None] = {}
    for e in entries:
        names.update(dict.fromkeys(e.decisions))
    return list(names)


def entries_csv(entries: Sequence[LogEntry], changes: dict[int, str] | None) -> str:
    """One row per decision record; columns named for machines (stable across languages)."""
    names = _decision_names(entries)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    head = ["seq", "record_id", "household_id", "previous_seq", "decided_at", "as_of", "pack_id",
            "pack_version", "pack_sha256", "engine_version"]
    for n in names:
        head += [n, f"{n}.status"]
    head.append("fired")
    if changes is not None:
        head.append("changes")
    w.writerow(head)
    for e in entries:
        row = [e.seq, e.record_id, e.household_id, e.previous_seq or "", e.decided_at, e.as_of, e.pack_id,
               e.pack_version, e.pack_sha256, e.engine_version]
        for n in names:
            outs, status = e.decisions.get(n, ((), ""))
            row += [" ".join(outs), status]
        row.append(" ".join(e.fired))
        if changes is not None:
            row.append(changes[e.seq])
        w.writerow(row)
    return buf.getvalue()


def entries_table(entries: Sequence[LogEntry], changes: dict[int, str] | None, lang: str,
                  show: Sequence[str] = ()) -> str:
    """A table for people: one column per decision (or only those in `show`)."""
    names = [n for n in _decision_names(entries) if not show or n in show]
    head = [t("audit_col_seq", lang), t("audit_decided_at", lang), t("audit_col_household", lang),
            t("as_of", lang), t("audit_col_pack", lang), *names, t("audit_col_fired", lang),
            t("audit_col_previous", lang)]
    if changes is not None:
        head.append(t("audit_col_changes", lang))
    rows = []
    for e in entries:
        row = [str(e.seq), e.decided_at, e.household_id, e.as_of, f"{e.pack_id} {e.pack_version}"]
        for n in names:
            outs, status = e.decisions.get(n, ((), ""))
            cell = ",".join(outs)
            if status not in ("decided", ""):
                cell = f"{cell} ({t(status, lang)})" if cell else t(status, lang)
            row.append(cell or "-")
        row += [",".join(e.fired) or "-", str(e.previous_seq or "-")]
        if changes is not None:
            row.append(changes[e.seq])
        rows.append(row)
    return table(head, rows)


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in ("W", "F") else 1 for c in text)


def table(head: list[str], rows: list[list[str]]) -> str:
    """Columns aligned for a terminal; Chinese characters count two columns."""
    widths = [max(_width(r[i]) for r in [head, *rows]) for i in range(len(head))]

    def line(cells: list[str]) -> str:
        return "  ".join(c + " " * (w - _width(c)) for c, w in zip(cells, widths)).rstrip()
    return "\n".join([line(head), line(["-" * w for w in widths])] + [line(r) for r in rows]) + "\n"
