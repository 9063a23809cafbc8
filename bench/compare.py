#!/usr/bin/env python3
"""Side-by-side benchmark: plumewatch and its peers on the same cube, one invocation.

Usage:
  bench/setup.sh                 # once: bench/.venv with mag1c, fastmag1c, spectral, torch (CPU use)
  bench/make_cube.sh             # once: bench/data/avng_tiled.hdr (≥ 1 M AVIRIS-NG pixels)
  cargo build --release -p plumewatch
  bench/.venv/bin/python bench/compare.py [CUBE.hdr] [--repeats N] [--skip PEER ...]

Every run is a whole process (load, compute, write) timed by wall clock, best of N
(the cube is read once first so that every contender finds it in the page cache).
Threads: whatever the machine has (this one: 2), for every contender.
Prints pixels/s per contender and the ratios of plumewatch to each peer.
"""
import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent


def best_of(cmd, repeats, env=None):
    """(best wall seconds, CPU seconds of that run): CPU = user + system of the child."""
    best = None
    for _ in range(repeats):
        ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
        dt = time.perf_counter() - t0
        ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
        if r.returncode != 0:
            raise RuntimeError(f"{' '.join(map(str, cmd))} failed: {r.stderr.decode()[-2000:]}")
        if best is None or dt < best[0]:
            best = (dt, cpu)
    return best


def pixels(header):
    vals = {}
    for line in open(header):
        if "=" in line:
            k, v = line.split("=", 1)
            vals[k.strip().lower()] = v.strip()
    return int(vals["lines"]) * int(vals["samples"])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("cube", nargs="?", default=str(HERE / "data/avng_tiled.hdr"))
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--peer-repeats", type=int, default=1)
    ap.add_argument("--skip", nargs="*", default=[], help="skip contenders whose name starts with any of these")
    ap.add_argument("--bin", default=os.environ.get(
        "PLUMEWATCH", str(Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target")) / "release/plumewatch")))
    a = ap.parse_args()
    n = pixels(a.cube)
    py = str(HERE / ".venv/bin/python")
    data = a.cube[:-4] if a.cube.endswith(".hdr") else a.cube
    raw = next(p for p in (data + ".img", data + ".dat", data) if os.path.isfile(p))
    subprocess.run(["cat", raw], stdout=subprocess.DEVNULL, check=True)  # warm the page cache
    out = Path(tempfile.mkdtemp(prefix="plumewatch-bench-"))
    runs = {
        "plumewatch mag1c (f32)": [a.bin, "detect", a.cube, "--algo", "mag1c", "-q", "-o", str(out / "pw_mag1c.tif")],
        "plumewatch mag1c --f64": [a.bin, "detect", a.cube, "--algo", "mag1c", "--f64", "-q", "-o", str(out / "pw_mag1c64.tif")],
        "plumewatch mf (per column)": [a.bin, "detect", a.cube, "--algo", "mf", "-q", "-o", str(out / "pw_mf.tif")],
        "plumewatch mf --global": [a.bin, "detect", a.cube, "--algo", "mf", "--global", "-q", "-o", str(out / "pw_mfg.tif")],
        "plumewatch mf, ENVI output": [a.bin, "detect", a.cube, "--algo", "mf", "--format", "envi", "-q", "-o", str(out / "pw_mf_envi")],
        "mag1c 1.2.0 (f64)": [py, str(HERE / "peers.py"), "mag1c", a.cube, str(out / "mag1c")],
        "fastmag1c 0.1.0 (f32)": [py, str(HERE / "peers.py"), "fastmag1c", a.cube, str(out / "fast")],
        "spectral mf (global)": [py, str(HERE / "peers.py"), "spy", a.cube, str(out / "spy")],
        "spectral mf (per column)": [py, str(HERE / "peers.py"), "spycol", a.cube, str(out / "spycol")],
    }
    res = {}
    cpu_res = {}
    print(f"load average before: {os.getloadavg()}")
    print(f"cube {a.cube}: {n:,} pixels; {os.cpu_count()} threads", flush=True)
    for name, cmd in runs.items():
        if any(name.startswith(s) for s in a.skip):
            continue
        reps = a.repeats if name.startswith("plumewatch") else a.peer_repeats
        try:
            dt, cpu = best_of(cmd, reps)
        except RuntimeError as e:
            print(f"{name:30s} FAILED: {e}", flush=True)
            continue
        res[name] = n / dt
        cpu_res[name] = n / cpu
        print(f"{name:30s} wall {dt:8.2f} s {n / dt / 1e6:8.3f} M px/s | CPU {cpu:8.2f} s "
              f"{n / cpu / 1e6:8.3f} M px per CPU-s", flush=True)
    print("\nratios (plumewatch / peer, pixels/s):")
    pairs = [("plumewatch mag1c (f32)", "mag1c 1.2.0 (f64)"),
             ("plumewatch mag1c --f64", "mag1c 1.2.0 (f64)"),
             ("plumewatch mag1c (f32)", "fastmag1c 0.1.0 (f32)"),
             ("plumewatch mf --global", "spectral mf (global)"),
             ("plumewatch mf (per column)", "spectral mf (per column)")]
    for ours, peer in pairs:
        if ours in res and peer in res:
            print(f"  {ours:28s} / {peer:26s} = {res[ours] / res[peer]:8.1f}× (wall), "
                  f"{cpu_res[ours] / cpu_res[peer]:8.1f}× (per CPU-second)")
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    sys.exit(main())
