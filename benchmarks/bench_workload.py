"""The shared benchmark workload, as a rulekit pack, against the hand-written `reference()`.

1. Agreement: for EVERY household of `households(n, seed=7)` the pack (benchmarks/workload_pack)
   must give reference()'s outcome, round(per_capita, 2) and focus list. Disagreements are
   counted, the first few printed, and the script exits 1 on any.
2. Timing, in the same process, `--runs` runs (medians), interleaved so that noise hits all modes:
   (a) reference() over all households,
   (b) pack.evaluate keeping every Result in a list (the trace retained: each Result holds the
       vector of evaluated values, one tuple, from which its reason chains are built on first use),
   (b') as (b), and every decision's reason chain built as well (`r.decisions`): the cost of a
       trace actually produced, comparable to zen-engine "with its trace on",
   (c) pack.evaluate keeping only the monitoring outcome and the fired rule ids, Result dropped
       (`r.outcome("monitoring")`, which does not build the reason chain, where the engine has it),
   (d) for the lead, not a user-facing figure: the checked, interpreted route's core (the internal
       rulekit.engine.evaluate.evaluate on the checked facts, filling a State; no Result), which
       records take when the raw fast route does not apply (arguments, missing facts).
   Throughput in households/s and ratio = pack throughput / reference throughput, beside the
   peer engines' ratios measured the same way (../shared/bench/README.md).
3. Load time of rulekit.load_pack for the workload pack and for the bundled "yuxi" pack.

    .venv/bin/python benchmarks/bench_workload.py --n 20000 --runs 3
"""
from __future__ import annotations

import argparse
import gc
import os
import pathlib
import platform
import statistics
import subprocess
import sys
import time

import rulekit

BENCH_DIR = pathlib.Path(os.environ.get(
    "RULEKIT_BENCH_SHARED", pathlib.Path(__file__).resolve().parents[2] / "shared" / "bench"))
sys.path.insert(0, str(BENCH_DIR))
import workload  # noqa: E402  (the shared, read-only workload: households() and reference())

HERE = pathlib.Path(__file__).resolve().parent
PACK_DIR = HERE / "workload_pack"
AS_OF = "2021-01-01"

# ratios to reference() from ../shared/bench/README.md (2 shared cores, same kind of machine)
PEERS = [
    ("OpenFisca 46.0.1, vectorized, from the dicts", "~500k", 1.94, "1.92x"),
    ("numpy, hand-written columnar, from the dicts", "~500k", 2.0, ""),
    ("simpleeval 1.0.8, pre-parsed expressions", "~28k", 0.11, "no trace"),
    ("zen-engine 2.1.3 (GoRules, Rust core), per household", "~25k", 0.095, "0.027x"),
    ("business-rules 1.1.1", "~12k", 0.046, "no trace"),
    ("rule-engine 5.1.0", "~5k", 0.020, "no trace"),
]


def focus_ints(result: rulekit.Result) -> list[int]:
    """The focus decision's outcome ids F1..F10 as reference()'s 1..10."""
    return sorted(int(oid[1:]) for oid, _ in result.decision("focus").outcomes)


def check_agreement(pack: rulekit.Pack, households: list[dict], show: int = 5) -> int:
    disagreements = []
    exact_pc_diff = 0
    for h in households:
        ref = workload.reference(h)
        r = pack.evaluate(h, as_of=AS_OF)
        got = {"outcome": r.decision("monitoring").outcome,
               "per_capita_net_income": round(r.value("per_capita"), 2),
               "focus": focus_ints(r)}
        want = {k: ref[k] for k in got}
        if got != want:
            disagreements.append((h["id"], want, got))
        # exact float equality with reference()'s own arithmetic (stricter than the check asked)
        pc = _reference_per_capita(h)
        if r.value("per_capita") != pc:
            exact_pc_diff += 1
    print(f"agreement: {len(households)} households, {len(disagreements)} disagreements "
          f"(outcome, round(per_capita, 2), focus); per_capita bit-identical to reference "
          f"arithmetic in {len(households) - exact_pc_diff}/{len(households)}")
    for hid, want, got in disagreements[:show]:
        print(f"  {hid}: reference {want}\n  {' ' * len(hid)}  pack      {got}")
    return len(disagreements)


def _reference_per_capita(h: dict) -> float:
    production_income = h["crop_income"] + h["livestock_income"] + h["business_income"]
    property_income = h["dividend"] + h["other_property"]
    transfer_income = h["dibao"] + h["tekun"] + h["pension"] + h["eco_comp"] + h["other_transfer"]
    total_income = h["wage"] + production_income + property_income + transfer_income
    production_cost = (h["crop_cost"] + h["livestock_cost"] + h["business_cost"]
                       + h["fixed_assets_value"] / 15)
    return (total_income - production_cost) / h["size"]


def run_reference(households: list[dict]) -> object:
    ref = workload.reference
    return [ref(h) for h in households]


def run_keep(pack: rulekit.Pack, households: list[dict]) -> object:
    ev = pack.evaluate
    return [ev(h, as_of=AS_OF) for h in households]


def run_trace(pack: rulekit.Pack, households: list[dict]) -> object:
    ev = pack.evaluate
    out = []
    for h in households:
        r = ev(h, as_of=AS_OF)
        _ = r.decisions        # every decision with its reason chain
        out.append(r)
    return out


def _outcome_getter():
    """r.outcome(name) (no reason chain built) where the engine has it, else r.decision(name)."""
    if hasattr(rulekit.Result, "outcome"):
        return lambda r, name: r.outcome(name)
    return lambda r, name: r.decision(name).outcome


def run_drop(pack: rulekit.Pack, households: list[dict]) -> object:
    ev = pack.evaluate
    outcome = _outcome_getter()
    out = []
    for h in households:
        r = ev(h, as_of=AS_OF)
        out.append((outcome(r, "monitoring"), r.fired))
    return out


def run_core(pack: rulekit.Pack, households: list[dict]) -> object:
    """Internal API: flat facts checked, then the evaluator, without building a Result."""
    import datetime as dt

    from rulekit.engine.evaluate import evaluate
    from rulekit.record.flat import flat_env
    day = dt.date.fromisoformat(AS_OF)
    facts, compiled = pack.spec.facts, pack.compiled
    out = []
    for h in households:
        canonical = {"id": h["id"], **flat_env(facts, h)}
        state = evaluate(compiled, canonical, day, {})
        out.append(state.decisions["monitoring"].outcome)
    return out


def source_version() -> str:
    """The commit the engine was measured at, and whether rulekit/ or policies/ had local changes."""
    root = HERE.parent
    try:
        head = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--", "rulekit",
                                "policies"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return "unknown commit"
    return head + (" + uncommitted changes in rulekit/ or policies/" if dirty.strip() else "")


def profile(fn, path: str, top: int = 10) -> None:
    """cProfile one call of fn; print the top functions by cumulative and by own time."""
    import cProfile
    import pstats
    prof = cProfile.Profile()
    prof.runcall(fn)
    prof.dump_stats(path)
    stats = pstats.Stats(prof)
    total = max(stats.total_tt, 1e-9)
    for key, title in (("cumulative", "cumulative time"), ("tottime", "own (total) time")):
        print(f"\ntop {top} by {title} (profiled run {total:.2f} s; stats in {path}):")
        rows = sorted(stats.stats.items(), key=lambda kv: kv[1][3 if key == "cumulative" else 2],
                      reverse=True)
        shown = 0
        for (file, line, func), (_cc, ncalls, tt, ct, _callers) in rows:
            if key == "cumulative" and func in ("<lambda>",) or file == "~" and func.startswith("<"):
                continue
            value = ct if key == "cumulative" else tt
            where = f"{pathlib.Path(file).parent.name}/{pathlib.Path(file).name}:{line}"
            print(f"  {value:7.2f} s {value / total:6.1%}  {ncalls:>9}  {func}  ({where})")
            shown += 1
            if shown == top:
                break


def timed(fn, *args) -> float:
    t = time.perf_counter()
    kept = fn(*args)
    dt = time.perf_counter() - t
    del kept
    gc.collect()
    return dt


def time_load(target: str | pathlib.Path, runs: int) -> tuple[float, float]:
    """(first load in this process, median of the next `runs` loads), in ms."""
    t = time.perf_counter()
    rulekit.load_pack(target)
    first = (time.perf_counter() - t) * 1000
    again = []
    for _ in range(runs):
        t = time.perf_counter()
        rulekit.load_pack(target)
        again.append((time.perf_counter() - t) * 1000)
    return first, statistics.median(again)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=20000, help="households (default 20000)")
    ap.add_argument("--runs", type=int, default=3, help="timing runs, medians (default 3)")
    ap.add_argument("--seed", type=int, default=7, help="households() seed (default 7)")
    ap.add_argument("--profile", metavar="FILE", help="instead of timing, profile one pass with "
                    "cProfile, save the stats to FILE and print the top 10 functions")
    ap.add_argument("--profile-mode", choices=["drop", "trace"], default="drop",
                    help="what --profile runs: mode (c) (default) or (b') every reason chain built")
    args = ap.parse_args(argv)

    print(f"rulekit {rulekit.__version__}, Python {platform.python_version()} "
          f"({platform.python_implementation()}), {platform.machine()}, nproc {os.cpu_count()}")
    print(f"source: {source_version()}; {time.strftime('%Y-%m-%d %H:%M %Z')}")
    load_wl = time_load(PACK_DIR, args.runs)
    load_yx = time_load("yuxi", args.runs)
    pack = rulekit.load_pack(PACK_DIR)
    print(f"load_pack: workload pack {load_wl[0]:.1f} ms first in process, {load_wl[1]:.1f} ms "
          f"after; yuxi (extends national) {load_yx[0]:.1f} ms first, {load_yx[1]:.1f} ms after")

    households = workload.households(args.n, seed=args.seed)
    print(f"households: {len(households)} (seed {args.seed}), as_of {AS_OF}")
    bad = check_agreement(pack, households)
    if bad:
        print("FAIL: the pack disagrees with reference(); timings not taken")
        return 1

    if args.profile:
        fn = run_drop if args.profile_mode == "drop" else run_trace
        profile(lambda: fn(pack, households), args.profile)
        return 0

    modes = {
        "reference": lambda: run_reference(households),
        "keep": lambda: run_keep(pack, households),
        "trace": lambda: run_trace(pack, households),
        "drop": lambda: run_drop(pack, households),
        "core": lambda: run_core(pack, households),
    }
    times: dict[str, list[float]] = {m: [] for m in modes}
    for _ in range(args.runs):
        for m, fn in modes.items():
            times[m].append(timed(fn))
    n = len(households)
    rate = {m: n / statistics.median(ts) for m, ts in times.items()}
    ref_rate = rate["reference"]

    print()
    print(f"timing: {args.runs} runs, medians, {n} households, same process")
    print(f"| {'engine':<58} | {'households/s':>12} | {'ratio to reference':>18} | trace |")
    print(f"| {'-' * 58} | {'-' * 12} | {'-' * 18} | ----- |")
    rows = [
        ("reference() (hand-written Python, the yardstick)", rate["reference"], ""),
        ("rulekit, every Result kept (trace retained)", rate["keep"], "retained"),
        ("rulekit, every Result kept, every reason chain built", rate["trace"], "built"),
        ("rulekit, outcome + fired ids only, Result dropped", rate["drop"], "dropped"),
        ("(internal) engine core only, no Result built", rate["core"], "no"),
    ]
    for name, r, tr in rows:
        print(f"| {name:<58} | {r:>12,.0f} | {r / ref_rate:>17.3f}x | {tr} |")
    for name, hs, ratio, tr in PEERS:
        print(f"| {'peer: ' + name:<58} | {hs:>12} | {ratio:>17.3f}x | {tr} |")
    print("(peer figures are from ../shared/bench/README.md, measured on another run of the "
          "same kind of machine; compare ratios only)")
    for m, ts in times.items():
        print(f"  {m:<9} runs (s): {', '.join(f'{t:.3f}' for t in ts)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
