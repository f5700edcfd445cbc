"""`rulekit evaluate` and `rulekit report`: decide households, run population reports."""
from __future__ import annotations

import argparse
import json
import pathlib
import sys
from typing import Any

from rulekit.engine.pack import load_pack
from rulekit.errors import EvaluationError, RecordError


def register(sub: Any) -> None:
    ev = sub.add_parser("evaluate", help="evaluate household records (JSON object or list)")
    ev.add_argument("records", type=pathlib.Path, help="a JSON file: one household or a list")
    ev.add_argument("--pack", required=True, help="bundled pack id (e.g. yuxi) or a pack path")
    ev.add_argument("--as-of", help="date whose parameter values apply (default: the record's "
                                    "collected_on)")
    ev.add_argument("--overrides", action="append", default=[], type=pathlib.Path,
                    help="a parameter override file (YAML); may be repeated")
    ev.add_argument("--format", choices=["text", "json"], default="text")
    ev.add_argument("--lang", choices=["zh", "en"], default="zh")
    ev.set_defaults(handler=evaluate)
    rp = sub.add_parser("report", help="run a pack's population report over many households")
    rp.add_argument("records", type=pathlib.Path, help="a JSON file holding a list of households")
    rp.add_argument("--pack", required=True, help="bundled pack id or a pack path")
    rp.add_argument("--report", required=True, help="the report's name in the pack")
    rp.add_argument("--as-of", help="date whose parameter values apply")
    rp.add_argument("--overrides", action="append", default=[], type=pathlib.Path)
    rp.add_argument("--format", choices=["text", "csv", "json"], default="text")
    rp.add_argument("--lang", choices=["zh", "en"], default="zh")
    rp.set_defaults(handler=report)


def read_json(path: pathlib.Path) -> Any:
    """The JSON content of `path`, or None after printing why it cannot be read."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        print(f"{path}: cannot read JSON: {e}", file=sys.stderr)
        return None

def evaluate(args: argparse.Namespace) -> int:
    pack = load_pack(args.pack, overrides=args.overrides)
    data = read_json(args.records)
    if data is None:
        return 1
    records = data if isinstance(data, list) else [data]
    failed = 0
    outputs = []
    for i, rec in enumerate(records):
        try:
            result = pack.evaluate(rec, as_of=args.as_of)
        except (RecordError, EvaluationError, ValueError) as e:
            failed += 1
            where = f"{args.records}" + (f" [record {i}]" if isinstance(data, list) else "")
            if args.format == "json":
                outputs.append({"position": i, "error": str(e)})
            else:
                print(f"{where}: {e}", file=sys.stderr)
            continue
        outputs.append(result.to_dict() if args.format == "json" else result.explain(args.lang))
    if args.format == "json":
        out = outputs if isinstance(data, list) else (outputs[0] if outputs else None)
        json.dump(out, sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
    else:
        sys.stdout.write("\n".join(outputs))
    return 1 if failed else 0


def report(args: argparse.Namespace) -> int:
    pack = load_pack(args.pack, overrides=args.overrides)
    data = read_json(args.records)
    if data is None:
        return 1
    try:
        result = pack.report(args.report, data if isinstance(data, list) else [data], as_of=args.as_of)
    except (KeyError, ValueError) as e:
        print(e.args[0], file=sys.stderr)
        return 1
    if args.format == "json":
        json.dump(result.to_dict(), sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
    elif args.format == "csv":
        sys.stdout.write(result.to_csv())
    else:
        sys.stdout.write(result.explain(args.lang))
    for bad in result.invalid:
        print(f"{args.records} [record {bad['position']}]: {bad['error']}", file=sys.stderr)
    return 1 if result.invalid else 0
