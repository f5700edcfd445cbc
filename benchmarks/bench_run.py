"""`rulekit run` end to end against reference(): the shared workload's households in a file,
decided by benchmarks/workload_pack, output written.

    .venv/bin/python benchmarks/bench_run.py [--n 200000] [--workers 1 2] [--no-csv] [--no-cli]

Writes the households to a temporary Parquet file and a CSV file, then for each input and
each --workers runs `rulekit.batch.run.run(Job(...))` in a fresh Python process (so that its peak
memory is its own: main process and workers, from getrusage), and the CLI once. Each run is timed
around the run() call, which includes loading the pack, importing numpy and pyarrow and starting
the workers; the same run over the first 1,000 households measures that fixed cost, and "steady"
is the rate without it (what a larger input approaches). reference() is
timed over the same households in this process between the runs. Prints households/s, the ratio
to reference(), the ratio per core (ratio / workers), the CPU seconds of the main process and of
the workers, peak memory, and which route the run took. Every run's output must have n rows and
agree with reference() on every household's outcome and focus list (exit 1 otherwise). Nothing
is written into the repository.
"""
from __future__ import annotations

import argparse
import atexit
import csv
import json
import os
import pathlib
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

BENCH_DIR = pathlib.Path(os.environ.get(
    "RULEKIT_BENCH_SHARED", pathlib.Path(__file__).resolve().parents[2] / "shared" / "bench"))
sys.path.insert(0, str(BENCH_DIR))
import workload  # noqa: E402

PACK_DIR = pathlib.Path(__file__).resolve().parent / "workload_pack"
AS_OF = "2021-01-01"

# one run, in its own process: prints what it did as JSON
RUN_SCRIPT = """
import json, pathlib, resource, sys, time
from rulekit.batch.run import Job, run
src, out, workers = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2]), int(sys.argv[3])
values = tuple(sys.argv[6].split(",")) if sys.argv[6] else None
started = time.perf_counter()
s = run(Job(pack=sys.argv[4], input=src, output=out, as_of=sys.argv[5], workers=workers,
            values=values), progress=False)
seconds = time.perf_counter() - started
me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
try:      # this process's own peak (ru_maxrss keeps the bench's, inherited through fork and exec)
    peak = [int(x.split()[1]) for x in open("/proc/self/status") if x.startswith("VmHWM")][0]
except OSError:
    peak = me.ru_maxrss
print(json.dumps({"seconds": seconds, "rows": s.rows, "route": s.route,
                  "cpu_main": me.ru_utime + me.ru_stime, "cpu_workers": kids.ru_utime + kids.ru_stime,
                  "rss_main_mb": peak / 1024, "rss_worker_mb": kids.ru_maxrss / 1024}))
"""
CLI_SCRIPT = "import sys; from rulekit.cli import main; sys.exit(main(sys.argv[1:]))"


def reference_rate(households: list[dict]) -> float:
    started = time.perf_counter()
    for h in households:
        workload.reference(h)
    return len(households) / (time.perf_counter() - started)


def one_run(src: pathlib.Path, out: pathlib.Path, workers: int, values: str, repeat: int = 1) -> dict:
    """The run with the median time of `repeat` runs, each in a fresh process."""
    runs = []
    for _ in range(repeat):
        proc = subprocess.run([sys.executable, "-c", RUN_SCRIPT, str(src), str(out), str(workers),
                               str(PACK_DIR), AS_OF, values], capture_output=True, text=True)
        if proc.returncode != 0:
            raise SystemExit(proc.stderr)
        runs.append(json.loads(proc.stdout))
    return sorted(runs, key=lambda r: r["seconds"])[len(runs) // 2]


def write_inputs(households: list[dict], directory: pathlib.Path, with_csv: bool,
                 mkdir: bool = False, row_group_size: int | None = None) -> list[pathlib.Path]:
    import pyarrow as pa
    import pyarrow.parquet as pq
    if mkdir:
        directory.mkdir()
    table = pa.Table.from_pylist(households)
    paths = [directory / "households.parquet"]
    pq.write_table(table, paths[0], row_group_size=row_group_size)
    if with_csv:
        paths.append(directory / "households.csv")
        with paths[1].open("w", encoding="utf-8", newline="") as f:
            w = csv.writer(f)
            w.writerow(table.column_names)
            for h in households:
                w.writerow(["是" if v is True else "否" if v is False else v for v in h.values()])
    return paths


def disagreements(out: pathlib.Path, expected: list[dict]) -> tuple[int, int]:
    """(rows in the output, households whose outcome or focus list differs from reference())."""
    wrong = 0
    n = 0
    with out.open(encoding="utf-8-sig", newline="") as f:
        for row in csv.DictReader(f):
            n += 1
            ref = expected[int(row["position"])]
            focus = [int(x[1:]) for x in row["focus.outcome"].split(";") if x]
            if row["id"] != ref["id"] or row["monitoring.outcome"] != ref["outcome"] or focus != ref["focus"]:
                wrong += 1
    return n, wrong


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=200_000)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--no-csv", action="store_true", help="Parquet input only")
    ap.add_argument("--no-cli", action="store_true")
    ap.add_argument("--values", default="",
                    help="value columns to output, as `rulekit run --values` (default: every computed "
                         "value, 11 here); `per_capita` is what reference() returns")
    ap.add_argument("--out-dir", type=pathlib.Path,
                    help="where the runs write their output (default: beside the inputs, in the system's "
                         "temporary directory); /dev/shm leaves the disk's write speed out")
    ap.add_argument("--repeat", type=int, default=1, help="runs per row; the median is shown")
    ap.add_argument("--row-group-size", type=int,
                    help="rows per Parquet row group (default: pyarrow's, one group up to 1Mi rows; "
                         "DuckDB writes 122880, which lets the workers read the groups themselves)")
    args = ap.parse_args()
    households = workload.households(args.n, seed=7)
    expected = [workload.reference(h) for h in households]
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                            cwd=PACK_DIR).stdout.strip()
    print(f"n = {args.n:,} households, pack {PACK_DIR.name}, commit {commit} (plus working tree), "
          f"nproc {os.cpu_count()}, values: {args.values or 'every computed value'}, output in "
          f"{args.out_dir or tempfile.gettempdir()}, median of {args.repeat} run(s) per row, "
          f"Parquet row groups of {args.row_group_size or 'pyarrow default'} rows")
    refs = [reference_rate(households)]
    failed = False
    print("| input | workers | route | households/s | ratio | ratio per core | fixed s | steady /s "
          "| steady ratio per core | CPU s main + workers | peak RSS main / worker (MB) |")
    print("| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |")
    with tempfile.TemporaryDirectory() as tmp:
        directory = pathlib.Path(tmp)
        out_dir = pathlib.Path(tempfile.mkdtemp(dir=args.out_dir)) if args.out_dir else directory
        if args.out_dir:
            atexit.register(shutil.rmtree, out_dir, True)
        small = write_inputs(households[:1000], directory / "small", not args.no_csv, mkdir=True)
        for src, tiny in zip(write_inputs(households, directory, not args.no_csv,
                                          row_group_size=args.row_group_size), small):
            for workers in args.workers:
                out = out_dir / f"out_{src.suffix[1:]}_{workers}.csv"
                r = one_run(src, out, workers, args.values, args.repeat)
                fixed = one_run(tiny, out_dir / "small.csv", workers, args.values, args.repeat)["seconds"]
                refs.append(reference_rate(households))
                ref = statistics.median(refs)
                rate = args.n / r["seconds"]
                steady = (args.n - 1000) / max(r["seconds"] - fixed, 1e-9)
                rows, wrong = disagreements(out, expected)
                failed |= rows != args.n or wrong > 0
                print(f"| {src.suffix[1:]} | {workers} | {r['route']} | {rate:,.0f} | {rate / ref:.2f}x | "
                      f"{rate / ref / workers:.2f}x | {fixed:.2f} | {steady:,.0f} | "
                      f"{steady / ref / workers:.2f}x | {r['cpu_main']:.2f} + {r['cpu_workers']:.2f} | "
                      f"{r['rss_main_mb']:.0f} / {r['rss_worker_mb']:.0f} |"
                      + ("" if rows == args.n and not wrong else f" rows {rows}, {wrong} disagree"))
                out.unlink()
        if not args.no_cli:
            src, out = directory / "households.parquet", out_dir / "cli.csv"
            started = time.perf_counter()
            proc = subprocess.run([sys.executable, "-c", CLI_SCRIPT, "run", "--pack", str(PACK_DIR), str(src),
                                   "-o", str(out), "--as-of", AS_OF, "--workers", "2", "--no-progress",
                                   *(["--values", args.values] if args.values else [])],
                                  capture_output=True, text=True)
            seconds = time.perf_counter() - started
            rows, wrong = disagreements(out, expected)
            failed |= proc.returncode != 0 or rows != args.n or wrong > 0
            refs.append(reference_rate(households))
            rate = args.n / seconds
            print(f"| parquet, CLI (`rulekit run --workers 2`, process start and pack load included) "
                  f"| 2 | | {rate:,.0f} | {rate / statistics.median(refs):.2f}x | "
                  f"{rate / statistics.median(refs) / 2:.2f}x | | | | | |")
    print(f"reference(): {', '.join(f'{r:,.0f}' for r in refs)} households/s (median "
          f"{statistics.median(refs):,.0f}); agreement: {'FAILED' if failed else 'every household'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
