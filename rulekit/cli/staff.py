"""Commands for policy staff: `rulekit test` (and, later, check, doc, diff, sample)."""
from __future__ import annotations

import argparse
import json
import os
import pathlib
import sys
from typing import Any

from rulekit.engine.pack import load_pack
from rulekit.trace.messages import t


def register(sub: Any) -> None:
    ck = sub.add_parser("check", help="find every problem of a pack without evaluating anything")
    ck.add_argument("pack", help="bundled pack id, pack directory or pack.yaml")
    ck.add_argument("--overrides", action="append", default=[], type=pathlib.Path,
                    help="also check a parameter override file; may be repeated")
    ck.add_argument("--format", choices=["text", "json"], default="text")
    ck.add_argument("--lang", choices=["zh", "en"], default=None,
                    help="language of the messages (default: zh when the locale is Chinese)")
    ck.set_defaults(handler=check)
    ts = sub.add_parser("test", help="run a pack's own YAML test cases")
    ts.add_argument("pack", help="bundled pack id or pack directory")
    ts.add_argument("-k", dest="pattern", default="", help="only cases whose id contains this")
    ts.add_argument("--overrides", action="append", default=[], type=pathlib.Path,
                    help="run the cases with a parameter override file; may be repeated")
    ts.add_argument("--lang", choices=["zh", "en"], default=None,
                    help="language of the summary (default: zh when the locale is Chinese)")
    ts.set_defaults(handler=test)


def default_lang() -> str:
    """Chinese when the user's locale is Chinese, English otherwise."""
    for var in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(var)
        if value:
            return "zh" if value.lower().startswith("zh") else "en"
    return "en"


def check(args: argparse.Namespace) -> int:
    from rulekit.pack.check import check_pack
    lang = args.lang or default_lang()
    problems = check_pack(args.pack, args.overrides)
    errors = sum(1 for p in problems if p.severity == "error")
    warnings = len(problems) - errors
    if args.format == "json":
        json.dump({"pack": str(args.pack), "errors": errors, "warnings": warnings,
                   "findings": [{**p.to_dict(), "message_en": p.text("en"), "message_zh": p.text("zh")}
                                for p in problems]}, sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
    else:
        for p in problems:
            rule = f" [{p.rule_id}]" if p.rule_id else ""
            print(f"{p.location()}: {t('check_' + p.severity, lang)}{rule}: {p.text(lang)}")
        print(t("check_summary", lang, errors=str(errors), warnings=str(warnings)))
    return 1 if errors else 0


def test(args: argparse.Namespace) -> int:
    from rulekit.pack.spec import resolve_pack_path
    from rulekit.testing import iter_pack_cases, run_case
    lang = args.lang or default_lang()
    pack = load_pack(args.pack, overrides=args.overrides)
    pack_dir = resolve_pack_path(args.pack).parent
    passed = failed = 0
    for case in iter_pack_cases(pack_dir):
        if args.pattern and args.pattern not in case.id:
            continue
        problems = run_case(pack, case)
        if problems:
            failed += 1
            print(t("test_failed", lang, id=case.id, where=f"{case.file}:{case.line}"))
            for p in problems:
                print(f"     {p}")
        else:
            passed += 1
    print(t("test_summary", lang, passed=str(passed), failed=str(failed)))
    return 1 if failed else 0
