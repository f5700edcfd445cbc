"""The full Yuxi pack (policies/yuxi, extends national) on generated household records.

Households come from benchmarks/yuxi_households.py (seeded, schema-valid, JSON-shaped canonical
records). Each is evaluated with `pack.evaluate(record)` (as_of = the record's collected_on), the
monitoring outcome and status kept, the Result dropped. Printed:

- households/s evaluating from the JSON-shaped dicts (record normalised and validated against the
  household JSON Schema on every call: the path a caller with exported data takes), keeping the
  monitoring outcome only, median of `--runs` runs;
- the same with every decision's reason chain built (`r.decisions`, one run);
- households/s from pre-parsed `Household` objects (validation done beforehand, one run), and the
  cost of parse_household itself, to show what validation costs;
- the distribution of monitoring outcomes x statuses, and of every decision's status;
- reference() from ../shared/bench/workload.py on workload.households(N) measured in the same
  process, as the common yardstick for the ratio. It is NOT the same logic (the Yuxi pack reads
  members, income lines, dates, procedure, ... and answers 7 decisions), so the ratio says how far
  a real pack is from the hand-written floor on this machine, not that the two do the same work.

    .venv/bin/python benchmarks/bench_yuxi.py --n 5000
"""
from __future__ import annotations

import argparse
import collections
import gc
import os
import pathlib
import platform
import statistics
import sys
import time

import rulekit

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import yuxi_households  # noqa: E402
from bench_workload import profile, source_version  # noqa: E402

BENCH_DIR = pathlib.Path(os.environ.get(
    "RULEKIT_BENCH_SHARED", pathlib.Path(__file__).resolve().parents[2] / "shared" / "bench"))
sys.path.insert(0, str(BENCH_DIR))
import workload  # noqa: E402


def evaluate_all(pack: rulekit.Pack, records: list) -> tuple[list, int]:
    """Every decision of every household with its reason chain built (`r.decisions`); keeps
    (monitoring outcome, monitoring status, every decision's status). Errors counted, not raised."""
    out = []
    errors = 0
    ev = pack.evaluate
    for rec in records:
        try:
            r = ev(rec)
        except (rulekit.RecordError, rulekit.EvaluationError) as e:
            errors += 1
            if errors <= 3:
                print(f"  error: {e}", file=sys.stderr)
            continue
        decisions = r.decisions
        d = decisions["monitoring"]
        out.append((d.outcome, d.status, tuple((name, dd.status) for name, dd in decisions.items())))
    return out, errors


def outcomes_only(pack: rulekit.Pack, records: list) -> tuple[list, int]:
    """The monitoring outcome only, Result dropped (`r.outcome`, no reason chain, where the engine
    has it). Errors counted, not raised."""
    out = []
    errors = 0
    ev = pack.evaluate
    cheap = hasattr(rulekit.Result, "outcome")
    for rec in records:
        try:
            r = ev(rec)
        except (rulekit.RecordError, rulekit.EvaluationError):
            errors += 1
            continue
        out.append(r.outcome("monitoring") if cheap else r.decision("monitoring").outcome)
    return out, errors


def timed(fn, *args):
    gc.collect()
    t = time.perf_counter()
    value = fn(*args)
    return time.perf_counter() - t, value


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=5000, help="households (default 5000)")
    ap.add_argument("--runs", type=int, default=3, help="timing runs from dicts, median (default 3)")
    ap.add_argument("--seed", type=int, default=7, help="generator seed (default 7)")
    ap.add_argument("--unknown-share", type=float, default=0.02,
                    help="share of records with one fact left out (default 0.02)")
    ap.add_argument("--profile", metavar="FILE", help="instead of timing, profile one pass from "
                    "the dicts with cProfile, save the stats to FILE and print the top 10 functions")
    ap.add_argument("--profile-mode", choices=["outcome", "trace"], default="outcome",
                    help="what --profile runs: outcome only (default) or every reason chain built")
    args = ap.parse_args(argv)

    print(f"rulekit {rulekit.__version__}, Python {platform.python_version()} "
          f"({platform.python_implementation()}), {platform.machine()}, nproc {os.cpu_count()}")
    print(f"source: {source_version()}; {time.strftime('%Y-%m-%d %H:%M %Z')}")
    t = time.perf_counter()
    pack = rulekit.load_pack("yuxi")
    print(f"load_pack('yuxi'): {(time.perf_counter() - t) * 1000:.1f} ms (first in process); "
          f"{len(pack.compiled.nodes)} nodes, {len(pack.spec.rules)} rules, "
          f"{len(pack.spec.decisions)} decisions")

    t = time.perf_counter()
    records = yuxi_households.households(args.n, args.seed, args.unknown_share)
    gen = time.perf_counter() - t
    print(f"generated {len(records)} households (seed {args.seed}) in {gen:.2f} s; "
          f"members per household {sum(len(r['members']) for r in records) / len(records):.2f}")

    if args.profile:
        fn = outcomes_only if args.profile_mode == "outcome" else evaluate_all
        profile(lambda: fn(pack, records), args.profile)
        return 0

    ref_households = workload.households(args.n, seed=7)
    ref = workload.reference

    def run_reference():
        return [ref(h) for h in ref_households]

    ref_times, dict_times = [], []
    first = None
    for _ in range(args.runs):
        dt_ref, _unused = timed(run_reference)
        ref_times.append(dt_ref)
        dt_dict, got = timed(outcomes_only, pack, records)
        dict_times.append(dt_dict)
        first = first or got
    if first[1]:
        print(f"FAIL: {first[1]} records raised (the generator must give schema-valid records)")
        return 1
    trace_t, (res, errors) = timed(evaluate_all, pack, records)
    parse_t, parsed = timed(lambda: [rulekit.parse_household(r) for r in records])
    obj_t, (obj_res, _obj_errors) = timed(outcomes_only, pack, parsed)
    same = obj_res == first[0] == [o for o, _, _ in res]

    n = len(records)
    ref_rate = n / statistics.median(ref_times)
    rows = [
        ("reference() (workload logic, hand-written; the yardstick)", ref_rate),
        (f"yuxi, from JSON-shaped dicts (validated), outcome only, median of {args.runs}",
         n / statistics.median(dict_times)),
        ("yuxi, from dicts, all 7 decisions' reason chains built (1 run)", n / trace_t),
        ("yuxi, from pre-parsed Household objects, outcome only (1 run)", n / obj_t),
    ]
    print()
    print(f"timing: {n} households, same process; reference() on workload.households({n})")
    print(f"| {'what':<72} | {'households/s':>12} | {'ratio to reference':>18} |")
    print(f"| {'-' * 72} | {'-' * 12} | {'-' * 18} |")
    for name, rate in rows:
        print(f"| {name:<72} | {rate:>12,.0f} | {rate / ref_rate:>17.4f}x |")
    print(f"| {'parse_household alone (validation + typed objects, 1 run)':<72} | "
          f"{n / parse_t:>12,.0f} | {'':>18} |")
    print(f"  reference runs (s): {', '.join(f'{x:.3f}' for x in ref_times)}")
    print(f"  yuxi outcome-only runs (s): {', '.join(f'{x:.3f}' for x in dict_times)}; all chains "
          f"{trace_t:.3f} s; pre-parsed {obj_t:.3f} s; parse {parse_t:.3f} s")
    print(f"  the three ways give the same monitoring outcomes: {same}")

    print()
    print("monitoring outcome x status:")
    table = collections.Counter((o or "(none)", s) for o, s, _ in res)
    outcomes = [o.id for o in pack.spec.decisions["monitoring"].outcomes] + ["(none)"]
    statuses = ("decided", "needs_review", "undetermined")
    print(f"  {'outcome':<24}" + "".join(f"{s:>14}" for s in statuses) + f"{'total':>9}{'share':>8}")
    for o in outcomes:
        row = [table[(o, s)] for s in statuses]
        print(f"  {o:<24}" + "".join(f"{c:>14}" for c in row) + f"{sum(row):>9}"
              f"{sum(row) / n:>8.1%}")
    missing = [o for o in outcomes[:-1] if not any(table[(o, s)] for s in statuses)]
    print(f"  outcomes never reached: {', '.join(missing) or 'none'}")
    print("status of every decision:")
    per = collections.defaultdict(collections.Counter)
    for _, _, decs in res:
        for name, status in decs:
            per[name][status] += 1
    for name, counter in per.items():
        print(f"  {name:<18} " + ", ".join(f"{s} {counter[s]}" for s in statuses if counter[s]))
    return 0 if not missing else 1


if __name__ == "__main__":
    sys.exit(main())
