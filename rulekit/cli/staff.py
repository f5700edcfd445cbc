"""Commands for policy staff: `rulekit test` (and, later, check, doc, diff, sample)."""
from __future__ import annotations

import argparse
from typing import Any

from rulekit.engine.pack import load_pack


def register(sub: Any) -> None:
    ts = sub.add_parser("test", help="run a pack's own YAML test cases")
    ts.add_argument("pack", help="bundled pack id or pack directory")
    ts.add_argument("-k", dest="pattern", default="", help="only cases whose id contains this")
    ts.set_defaults(handler=test)


def test(args: argparse.Namespace) -> int:
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
