"""`rulekit run` (a whole file of households, resumable, parallel) and `rulekit columns` (which
headers a table may use)."""
from __future__ import annotations

import argparse
import os
import pathlib
import sys
from typing import Any


def register(sub: Any) -> None:
    rn = sub.add_parser(
        "run", help="decide every household of a CSV, XLSX, JSONL or Parquet file",
        description="Decide every household of INPUT: one output row per input row, in input "
                    "order (a decision, or an error row saying why). Exit status: 0 when every row "
                    "was decided, 1 when some rows are invalid or child rows were not attached, "
                    "2 when the run cannot start, 130 when interrupted (continue with --resume).")
    rn.add_argument("input", type=pathlib.Path,
                    help="households: .csv, .xlsx, .parquet (one row each), .jsonl or .json")
    rn.add_argument("-o", "--output", required=True, type=pathlib.Path,
                    help="decisions: .csv (opens in Excel) or .jsonl")
    rn.add_argument("--pack", required=True, help="bundled pack id (e.g. yuxi) or a pack path")
    rn.add_argument("--overrides", action="append", default=[], type=pathlib.Path,
                    help="a parameter override file (YAML); may be repeated")
    rn.add_argument("--members", type=pathlib.Path,
                    help="household members as a second table keyed by household id (户编号)")
    rn.add_argument("--table", action="append", default=[], metavar="NAME=FILE",
                    help="another table of the record keyed by household id, e.g. "
                         "crops=crops.csv or 家庭成员务工=work.xlsx; may be repeated")
    rn.add_argument("--sheet", help="XLSX: the households sheet (default: the first); other sheets "
                                    "named after a table (家庭成员, members...) are joined")
    rn.add_argument("--as-of", help="date whose parameter values apply (default: each record's "
                                    "collected_on); required with --report")
    rn.add_argument("--workers", type=int, default=1,
                    help="processes to use (0: one per core); results are identical to 1")
    rn.add_argument("--resume", action="store_true",
                    help="continue the interrupted run of the same command where it stopped")
    rn.add_argument("--full", type=pathlib.Path, metavar="FILE.jsonl",
                    help="also write each household's full decision record (reason chains) as JSONL")
    rn.add_argument("--report", action="append", default=[], metavar="NAME",
                    help="also produce the pack's population report NAME from the same run "
                         "(OUTPUT.NAME.csv and .json); may be repeated")
    rn.add_argument("--values", help="comma-separated names of the values to output "
                                     "(default: every household-level computed value)")
    rn.add_argument("--ignore", action="append", default=[], metavar="COLUMN",
                    help="an input column to leave out on purpose; may be repeated")
    rn.add_argument("--encoding", default="utf-8-sig",
                    help="text encoding of CSV/JSONL input (e.g. gbk for Excel's Chinese CSV)")
    rn.add_argument("--lang", choices=["zh", "en"], default="zh",
                    help="language of error reasons and the summary")
    rn.add_argument("--no-progress", action="store_true", help="no progress bar on a terminal")
    rn.add_argument("--checkpoint-seconds", type=float, default=2.0, help=argparse.SUPPRESS)
    rn.add_argument("--chunk-size", type=int, default=250, help=argparse.SUPPRESS)
    rn.set_defaults(handler=run)
    co = sub.add_parser("columns", help="the headers a household (or member...) table may use")
    co.add_argument("--pack", required=True, help="bundled pack id or a pack path")
    co.add_argument("--table", help="a child table (members, crops, ...) instead of households")
    co.set_defaults(handler=columns)


def run(args: argparse.Namespace) -> int:
    # Arrow's default allocator (jemalloc) keeps freed memory for reuse: at 10^6 households the
    # run peaked at ~250 MB against ~195 MB with the system allocator, at the same speed
    # (benchmarks/README.md). Chosen before pyarrow allocates; a user's own choice stands.
    os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")
    from rulekit.batch.readers import BatchError
    from rulekit.batch.run import Interrupted, Job
    from rulekit.batch.run import run as run_job
    from rulekit.trace.messages import t
    tables = []
    for item in args.table:
        name, sep, path = item.partition("=")
        if not sep or not name or not path:
            print(t("batch_table_arg", args.lang, item=item), file=sys.stderr)
            return 2
        tables.append((name, pathlib.Path(path)))
    job = Job(pack=args.pack, input=args.input, output=args.output, overrides=tuple(args.overrides),
              members=args.members, tables=tuple(tables), as_of=args.as_of,
              workers=args.workers if args.workers > 0 else (os.cpu_count() or 1),
              resume=args.resume, full=args.full, reports=tuple(args.report),
              values=tuple(v.strip() for v in args.values.split(",") if v.strip())
              if args.values is not None else None,
              ignore=tuple(args.ignore), sheet=args.sheet, encoding=args.encoding, lang=args.lang,
              chunk_size=args.chunk_size, checkpoint_seconds=args.checkpoint_seconds)
    try:
        summary = run_job(job, progress=False if args.no_progress else None)
    except Interrupted as e:
        print(e.text(args.lang), file=sys.stderr)
        return 130
    except BatchError as e:
        print(e.text(args.lang), file=sys.stderr)
        return 2
    print(summary.text(args.lang))
    return 0 if summary.complete else 1


def columns(args: argparse.Namespace) -> int:
    from rulekit.batch import columns as C
    from rulekit.engine.pack import load_pack
    pack = load_pack(args.pack)
    if args.table:
        child = C.find_child(args.table)
        if child is None:
            from rulekit.trace.messages import t
            names = "、".join(sorted({c.name for c in C.child_specs().values()}))
            print(t("batch_no_table", "zh", table=args.table, tables=names), file=sys.stderr)
            return 2
        mapping = C.child_mapping(pack.spec, child)
    else:
        mapping = C.household_mapping(pack.spec)
    sys.stdout.write(C.mapping_markdown(mapping))
    return 0
