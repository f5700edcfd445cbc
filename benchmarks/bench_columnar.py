"""The columnar path against reference(): the shared workload's households as numpy columns.

    .venv/bin/python benchmarks/bench_columnar.py [--n 100000] [--runs 3]

Checks agreement with reference() on every household first (outcome, from prebuilt columns and
from the dicts), then times, in the same process: reference() over the dicts; evaluate_columns
with columns prebuilt; and from the list of dicts (columns built, element types checked, then
decided), with the values read from object memory (`rulekit.engine.object_memory`) and the plain
way. Prints households/s and ratios.
"""
from __future__ import annotations

import argparse
import os
import pathlib
import statistics
import sys
import time

import numpy as np

import rulekit
from rulekit.engine import object_memory

BENCH_DIR = pathlib.Path(os.environ.get(
    "RULEKIT_BENCH_SHARED", pathlib.Path(__file__).resolve().parents[2] / "shared" / "bench"))
sys.path.insert(0, str(BENCH_DIR))
import workload  # noqa: E402

PACK_DIR = pathlib.Path(__file__).resolve().parent / "workload_pack"


def median_time(fn, runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    pack = rulekit.load_pack(PACK_DIR)
    households = workload.households(args.n, seed=7)
    facts = pack.spec.facts
    prebuilt = {k: np.asarray([h[k] for h in households],
                              dtype=bool if facts[k]["type"] == "bool" else float) for k in facts}
    res = pack.evaluate_columns(prebuilt, as_of="2021-01-01")
    read = pack.evaluate_records(households, as_of="2021-01-01")
    wrong = sum(1 for i, h in enumerate(households)
                if not res.outcome("monitoring", i) == read.outcome("monitoring", i)
                == workload.reference(h)["outcome"])
    print(f"agreement: {args.n} households, {wrong} disagreements, {int(res.fallback.sum())} rows "
          f"left to the per-row engine")

    def from_dicts() -> None:
        pack.evaluate_records(households, as_of="2021-01-01")

    def plain() -> None:
        """The same with object memory not read (RULEKIT_OBJECT_MEMORY=0, or another interpreter):
        one itemgetter per record, a numpy object array, a type scan and a conversion per group."""
        memory = object_memory._memory
        object_memory._memory = lambda: None
        try:
            from_dicts()
        finally:
            object_memory._memory = memory

    ref = args.n / median_time(lambda: [workload.reference(h) for h in households], args.runs)
    pre = args.n / median_time(lambda: pack.evaluate_columns(prebuilt, as_of="2021-01-01"), args.runs)
    dic = args.n / median_time(from_dicts, args.runs)
    low = args.n / median_time(plain, args.runs)
    print(f"| reference() | {ref:,.0f} | 1.00x |")
    print(f"| columnar, columns prebuilt | {pre:,.0f} | {pre / ref:.1f}x |")
    print(f"| columnar, from the list of dicts (types checked) | {dic:,.0f} | {dic / ref:.2f}x |")
    print(f"| columnar, from the list of dicts, object memory not read (RULEKIT_OBJECT_MEMORY=0) | "
          f"{low:,.0f} | {low / ref:.2f}x |")
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
