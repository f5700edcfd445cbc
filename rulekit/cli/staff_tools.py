"""`rulekit doc`, `rulekit diff` and `rulekit sample`: the policy book, the impact of a change on
a population, and a sample population that reaches every outcome of a pack."""
from __future__ import annotations

import argparse
import json
import pathlib
import sys
from typing import Any

import yaml

from rulekit.cli.evaluate import read_json
from rulekit.engine.pack import load_pack
from rulekit.errors import PackError
from rulekit.trace.messages import t


def register(sub: Any) -> None:
    doc = sub.add_parser("doc", help="the pack as a policy book to check against the source document")
    doc.add_argument("pack", help="bundled pack id or pack directory")
    doc.add_argument("-o", "--output", type=pathlib.Path,
                     help="FILE.md (Markdown) or FILE.html (printable page with a 中文/English toggle); "
                          "default: Markdown on standard output")
    doc.add_argument("--format", choices=["md", "html"], help="default: from the output file's suffix")
    doc.add_argument("--lang", choices=["zh", "en"], default="zh",
                     help="language of the Markdown book, or shown first in the HTML page")
    doc.add_argument("--overrides", action="append", default=[], type=pathlib.Path,
                     help="a parameter override file (YAML); may be repeated")
    doc.set_defaults(handler=doc_command)

    df = sub.add_parser("diff", help="impact of a change on households: PACK_A PACK_B, or PACK with "
                                     "--set name=value or --overrides FILE")
    df.add_argument("packs", nargs="+", metavar="PACK", help="the pack before the change, and after it")
    df.add_argument("--records", required=True, type=pathlib.Path,
                    help="a JSON file holding a list of households (e.g. from rulekit sample)")
    df.add_argument("--set", action="append", default=[], dest="settings", metavar="NAME=VALUE",
                    help="with one pack: a parameter value to try (e.g. monitoring_line=6500); "
                         "may be repeated")
    df.add_argument("--overrides", action="append", default=[], type=pathlib.Path,
                    help="with one pack: an override file whose values to try; may be repeated")
    df.add_argument("--as-of", help="date whose parameter values apply (default: each record's collected_on)")
    df.add_argument("--format", choices=["text", "json"], default="text")
    df.add_argument("--lang", choices=["zh", "en"], default="zh")
    df.set_defaults(handler=diff_command)

    sp = sub.add_parser("sample", help="make plausible household records reaching every outcome of a pack")
    sp.add_argument("--pack", required=True, help="bundled pack id or pack directory")
    sp.add_argument("-n", type=int, default=1000, help="how many households (default 1000)")
    sp.add_argument("-o", "--output", required=True, type=pathlib.Path, help="the JSON file to write")
    sp.add_argument("--seed", type=int, default=0, help="the same seed gives the same records (default 0)")
    sp.add_argument("--collected-on", help="the collection date of every record, YYYY-MM-DD (default: "
                                           "spread over 90 days from the newest parameter date)")
    sp.add_argument("--lang", choices=["zh", "en"], default="zh")
    sp.set_defaults(handler=sample_command)


def doc_command(args: argparse.Namespace) -> int:
    from rulekit.staff.doc import policy_book
    pack = load_pack(args.pack, overrides=args.overrides)
    fmt = args.format or ("html" if args.output and args.output.suffix.lower() in (".html", ".htm") else "md")
    text = policy_book(pack, args.lang, fmt)
    if args.output is None:
        sys.stdout.write(text)
    else:
        args.output.write_text(text, encoding="utf-8")
    return 0


def parse_setting(text: str) -> tuple[str, Any]:
    """`name=value` with the value read as YAML: 6500, 0.45, true, 2023-01-01, [2023-01-02]."""
    name, sep, value = text.partition("=")
    if not sep or not name.strip() or not value.strip():
        raise ValueError(f"--set must be written name=value, e.g. monitoring_line=6500 (got {text!r})")
    try:
        return name.strip(), yaml.safe_load(value)
    except yaml.YAMLError:
        raise ValueError(f"--set {name.strip()}: cannot read the value {value!r}") from None


def diff_command(args: argparse.Namespace) -> int:
    from rulekit.staff.diff import impact, impact_of_setting
    if len(args.packs) > 2:
        print("rulekit diff: give one pack (with --set or --overrides) or two packs", file=sys.stderr)
        return 2
    if len(args.packs) == 2 and (args.settings or args.overrides):
        print("rulekit diff: with two packs, the second pack is the change; --set and --overrides "
              "apply to one pack only", file=sys.stderr)
        return 2
    if len(args.packs) == 1 and not (args.settings or args.overrides):
        print("rulekit diff: say what changes: a second pack, --set name=value or --overrides FILE",
              file=sys.stderr)
        return 2
    data = read_json(args.records)
    if data is None:
        return 1
    records = data if isinstance(data, list) else [data]
    try:
        settings = dict(parse_setting(s) for s in args.settings)
        before = load_pack(args.packs[0])
        if len(args.packs) == 2:
            result = impact(before, load_pack(args.packs[1]), records, as_of=args.as_of)
        elif args.overrides:
            after = load_pack(args.packs[0], overrides=args.overrides)
            result = impact(before, after, records, as_of=args.as_of) if not settings else \
                impact_of_setting(after, settings, records, as_of=args.as_of)
        else:
            result = impact_of_setting(before, settings, records, as_of=args.as_of)
    except PackError:
        raise                   # main() reports it with every location
    except KeyError as e:
        print(f"rulekit diff: {e.args[0]}", file=sys.stderr)
        return 1
    except ValueError as e:
        print(f"rulekit diff: {e}", file=sys.stderr)
        return 1
    if args.format == "json":
        json.dump(result.to_dict(), sys.stdout, ensure_ascii=False, indent=1)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(result.explain(args.lang))
    return 1 if result.invalid else 0


def sample_command(args: argparse.Namespace) -> int:
    import datetime as dt

    from rulekit.staff.sample import generate
    pack = load_pack(args.pack)
    try:
        day = dt.date.fromisoformat(args.collected_on) if args.collected_on else None
        made = generate(pack, args.n, args.seed, collected_on=day)
    except ValueError as e:
        print(f"rulekit sample: {e}", file=sys.stderr)
        return 1
    lines = ",\n".join(json.dumps(r, ensure_ascii=False) for r in made.records)
    args.output.write_text(f"[\n{lines}\n]\n", encoding="utf-8")
    lang = args.lang
    print(t("sample_wrote", lang, n=str(len(made.records)), seed=str(args.seed), file=str(args.output)))
    for name, counts in made.reached.items():
        d = pack.spec.decisions[name]
        label = (d.en or d.label) if lang == "en" else d.label
        print(f"【{label}】" + ", ".join(f"{o} {c}" for o, c in counts.items()))
    total = sum(len(c) for c in made.reached.values())
    if made.as_of:
        print(f"(these records have no collection date: evaluate them with --as-of {made.as_of.isoformat()})")
    if made.invalid:
        print(f"rulekit sample: {len(made.invalid)} record(s) do not meet the pack's input checks: "
              + ", ".join(made.invalid), file=sys.stderr)
    if made.unreached:
        print(t("sample_unreached", lang, tries=str(made.tries)) + ": "
              + ", ".join(f"{d}.{o}" for d, o in made.unreached), file=sys.stderr)
    else:
        print(t("sample_covered", lang, n=str(total)))
    return 0
