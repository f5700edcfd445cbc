"""The `rulekit` command: evaluate households against a pack, run a pack's own test cases."""
from __future__ import annotations

import argparse
import json
import pathlib
import sys
from collections.abc import Sequence

from rulekit.engine.pack import load_pack
from rulekit.errors import EvaluationError, PackError, RecordError


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="rulekit", description="Decide what a poverty-return "
                                "monitoring policy pack says about rural households, and why.")
    sub = p.add_subparsers(dest="command", required=True)
    ev = sub.add_parser("evaluate", help="evaluate household records (JSON object or list)")
    ev.add_argument("records", type=pathlib.Path, help="a JSON file: one household or a list")
    ev.add_argument("--pack", required=True, help="bundled pack id (e.g. yuxi) or a pack path")
    ev.add_argument("--as-of", help="date whose parameter values apply (default: the record's "
                                    "collected_on)")
    ev.add_argument("--overrides", action="append", default=[], type=pathlib.Path,
                    help="a parameter override file (YAML); may be repeated")
    ev.add_argument("--format", choices=["text", "json"], default="text")
    ev.add_argument("--lang", choices=["zh", "en"], default="zh")
    rp = sub.add_parser("report", help="run a pack's population report over many households")
    rp.add_argument("records", type=pathlib.Path, help="a JSON file holding a list of households")
    rp.add_argument("--pack", required=True, help="bundled pack id or a pack path")
    rp.add_argument("--report", required=True, help="the report's name in the pack")
    rp.add_argument("--as-of", help="date whose parameter values apply")
    rp.add_argument("--overrides", action="append", default=[], type=pathlib.Path)
    rp.add_argument("--format", choices=["text", "csv", "json"], default="text")
    rp.add_argument("--lang", choices=["zh", "en"], default="zh")
    ts = sub.add_parser("test", help="run a pack's own YAML test cases")
    ts.add_argument("pack", help="bundled pack id or pack directory")
    ts.add_argument("-k", dest="pattern", default="", help="only cases whose id contains this")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "evaluate":
            return _evaluate(args)
        if args.command == "report":
            return _report(args)
        return _test(args)
    except PackError as e:
        print(str(e), file=sys.stderr)
        return 1


def _evaluate(args: argparse.Namespace) -> int:
    pack = load_pack(args.pack, overrides=args.overrides)
    try:
        data = json.loads(args.records.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        print(f"{args.records}: cannot read JSON: {e}", file=sys.stderr)
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


def _report(args: argparse.Namespace) -> int:
    pack = load_pack(args.pack, overrides=args.overrides)
    try:
        data = json.loads(args.records.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        print(f"{args.records}: cannot read JSON: {e}", file=sys.stderr)
        return 1
    try:
        result = pack.report(args.report, data if isinstance(data, list) else [data], as_of=args.as_of)
    except KeyError as e:
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


def _test(args: argparse.Namespace) -> int:
    from rulekit.pack.spec import resolve_pack_path
    from rulekit.testing import iter_pack_cases, run_case
    pack = load_pack(args.pack)
    pack_dir = resolve_pack_path(args.pack).parent
    passed = failed = 0
    for case in iter_pack_cases(pack_dir):
        if args.pattern and args.pattern not in case.id:
            continue
        problems = run_case(pack, case)
        if problems:
            failed += 1
            print(f"FAIL {case.id} ({case.file}:{case.line})")
            for p in problems:
                print(f"     {p}")
        else:
            passed += 1
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":   # pragma: no cover
    sys.exit(main())
