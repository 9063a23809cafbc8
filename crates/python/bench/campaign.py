"""A 6-line campaign on a Dask LocalCluster with 1 and with 2 worker processes.

    python crates/python/bench/campaign.py [--lines 6] [--size 400x200] [--runs 2]

Simulates the flight lines once with ``plumewatch simulate scene`` (EMIT bands, 60 m,
two random sources each, seeds 1..N) into ``bench/data/campaign``, then times
``plumewatch.dask.scan_campaign`` (no detection-limit runs; each task one computation
thread, so 1 worker = 1 core and 2 workers = 2 cores) into a fresh output folder per
run, and the CLI's multi-line ``plumewatch scan`` over the same cubes with 2 threads.
Prints wall times and the 2-worker speed-up. ``--breakdown`` also times, in this
process on one thread, what a line task and the reduce spend their time on.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]


def make_lines(cli: str, n: int, lines: int, samples: int) -> list:
    root = REPO / "bench" / "data" / "campaign"
    cubes = []
    for seed in range(1, n + 1):
        out = root / f"{lines}x{samples}_line{seed}"
        if not (out / "radiance.hdr").exists():
            subprocess.run([cli, "--quiet", "simulate", "scene", "--sensor", "emit", "--lines", str(lines),
                            "--samples", str(samples), "--gsd", "60", "--seed", str(seed),
                            "--random-sources", "2", "-o", str(out)], check=True)
        cubes.append(str(out / "radiance.hdr"))
    return cubes


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lines", type=int, default=6)
    ap.add_argument("--size", default="400x200")
    ap.add_argument("--runs", type=int, default=2)
    ap.add_argument("--cli", default=os.environ.get("PLUMEWATCH_CLI", str(REPO / "target/release/plumewatch")))
    ap.add_argument("--breakdown", action="store_true", help="also time a task's and the reduce's parts")
    args = ap.parse_args()
    from distributed import Client, LocalCluster

    from plumewatch.dask import scan_campaign

    nl, ns = (int(v) for v in args.size.split("x"))
    cubes = make_lines(args.cli, args.lines, nl, ns)
    config = {"detection_limit": {"runs": 0}}
    times = {}
    with tempfile.TemporaryDirectory() as tmp:
        for workers in (1, 2):
            with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                              dashboard_address=None) as cluster, Client(cluster) as client:
                runs = []
                for r in range(args.runs):
                    out = Path(tmp) / f"w{workers}_{r}"
                    start = time.perf_counter()
                    result = scan_campaign(cubes, config=config, wind=(3.0, 270.0), client=client,
                                           output=out, threads_per_task=1)
                    runs.append(time.perf_counter() - start)
                    assert not result.failed
                    shutil.rmtree(out)
                times[workers] = runs
        cli_runs = []
        for r in range(args.runs):
            start = time.perf_counter()
            subprocess.run([args.cli, "--quiet", "scan", *cubes, "--wind", "3,270", "--limit-runs", "0",
                            "-o", str(Path(tmp) / f"cli{r}")], check=True)
            cli_runs.append(time.perf_counter() - start)
    m = statistics.median
    if args.breakdown:
        breakdown(cubes, config)
    print(f"{args.lines} lines of {nl}x{ns} px: 1 worker {m(times[1]):.2f} s {times[1]}, "
          f"2 workers {m(times[2]):.2f} s {times[2]}, speed-up {m(times[1]) / m(times[2]):.2f}x; "
          f"CLI scan (2 threads) {m(cli_runs):.2f} s {cli_runs}")


def breakdown(cubes: list, config: dict) -> None:
    """Times the parts of ``scan_line_task`` and ``merge_task`` in this process, one
    thread: hashing a line's inputs, scanning it into its folder, merging the lines and
    writing the scan outputs (each line's rasters copied from its folder), and a rerun
    with nothing changed."""
    from plumewatch import _native
    from plumewatch._manifest import flight_lines
    from plumewatch._scan import scan_config
    from plumewatch.dask import line_key, scan_campaign

    lines = flight_lines(cubes, (3.0, 270.0))
    cfg_json = json.dumps(scan_config(lines, config))
    names = _native.line_names(cfg_json)
    hashing, scanning = [], []
    with tempfile.TemporaryDirectory() as tmp:
        folders = []
        for i, (line, name) in enumerate(zip(lines, names)):
            t0 = time.perf_counter()
            line_key(line, {"i": i})
            t1 = time.perf_counter()
            folder = str(Path(tmp) / name)
            _native.scan_line(cfg_json, i, folder, 1)
            t2 = time.perf_counter()
            hashing.append(t1 - t0)
            scanning.append(t2 - t1)
            folders.append(folder)
        t0 = time.perf_counter()
        native = _native.merge_lines(cfg_json, folders, 0.0, 1)
        t1 = time.perf_counter()
        native.write_outputs(str(Path(tmp) / "scan"))
        t2 = time.perf_counter()
        out = Path(tmp) / "campaign"
        scan_campaign(cubes, config=config, wind=(3.0, 270.0), client=None, output=out, threads_per_task=1)
        t3 = time.perf_counter()
        scan_campaign(cubes, config=config, wind=(3.0, 270.0), client=None, output=out, threads_per_task=1)
        t4 = time.perf_counter()
    m = statistics.median
    print(f"per line (median of {len(lines)}): hash inputs {m(hashing):.3f} s, scan into its folder "
          f"{m(scanning):.3f} s; reduce: merge {t1 - t0:.3f} s, write outputs {t2 - t1:.3f} s; "
          f"whole campaign without Dask {t3 - t2:.2f} s, rerun with nothing changed {t4 - t3:.2f} s")


if __name__ == "__main__":
    main()
