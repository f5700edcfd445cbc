"""The columnar path against reference(): the shared workload's households as numpy columns.

    .venv/bin/python benchmarks/bench_columnar.py [--n 100000] [--runs 3]

Checks agreement with reference() on every household first (outcome), then times, in the same
process: reference() over the dicts; evaluate_columns with columns prebuilt; and from the list of
dicts (columns built, element types checked, then decided). Prints households/s and ratios.
"""
from __future__ import annotations

import argparse
import itertools
import operator
import os
import pathlib
import statistics
import sys
import time

import numpy as np

import rulekit
from rulekit.engine.columnar import columns_from_records

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
    wrong = sum(1 for i, h in enumerate(households)
                if res.outcome("monitoring", i) != workload.reference(h)["outcome"])
    print(f"agreement: {args.n} households, {wrong} disagreements, {int(res.fallback.sum())} rows "
          f"left to the per-row engine")

    def from_dicts() -> None:
        columns, odd = columns_from_records(pack, households)
        pack.evaluate_columns(columns, as_of="2021-01-01")

    kinds = {}
    for name, spec in facts.items():
        kinds.setdefault(spec["type"], []).append(name)
    names = [name for group in kinds.values() for name in group]
    get = operator.itemgetter(*names)
    allowed = {"number": {int, float}, "integer": {int}, "bool": {bool}}

    def floor() -> None:
        """The least we know for any engine to get checked columns out of these dicts: every
        value read (one C-level itemgetter per record), all of them put in one numpy object array
        (cheaper than zip(*rows), which costs twice as much), the types of each group of facts of
        one type looked at once, and each group converted by numpy. No evaluation, no ids."""
        values = np.fromiter(itertools.chain.from_iterable(map(get, households)), dtype=object,
                             count=len(households) * len(names)).reshape(len(households), len(names))
        start = 0
        for kind, group in kinds.items():
            block = values[:, start:start + len(group)]
            start += len(group)
            assert set(map(type, block.ravel())) <= allowed[kind]
            np.ascontiguousarray(block.astype(bool if kind == "bool" else float).T)

    ref = args.n / median_time(lambda: [workload.reference(h) for h in households], args.runs)
    pre = args.n / median_time(lambda: pack.evaluate_columns(prebuilt, as_of="2021-01-01"), args.runs)
    dic = args.n / median_time(from_dicts, args.runs)
    low = args.n / median_time(floor, args.runs)
    print(f"| reference() | {ref:,.0f} | 1.00x |")
    print(f"| columnar, columns prebuilt | {pre:,.0f} | {pre / ref:.1f}x |")
    print(f"| columnar, from the list of dicts (types checked) | {dic:,.0f} | {dic / ref:.2f}x |")
    print(f"| (bound) reading, type-checking and converting the dicts alone, nothing decided | "
          f"{low:,.0f} | {low / ref:.2f}x |")
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
