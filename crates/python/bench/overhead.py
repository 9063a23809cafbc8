"""Python overhead of ``plumewatch.detect`` against the CLI's ``detect`` on a 1 M-pixel cube.

    python crates/python/bench/overhead.py [--runs 5] [--algo mf mag1c] [--cube PATH]

Without ``--cube`` it tiles the bundled emit_small scene down-track 31 times
(7936 lines × 128 samples = 1,015,808 pixels, 148 bands, ENVI BIL float32, 601 MB)
into ``bench/data`` (made once). For each algorithm it alternates CLI and Python runs:

- CLI: ``plumewatch --quiet detect CUBE --algo A --format envi -o OUT --timings``; the
  detection phases it reports (open and gas window + read + compute + other detection)
  are the work Python does too (Python does not write a file);
- Python: wall time of ``plumewatch.detect(plumewatch.open_cube(CUBE), algo=A)`` in
  this interpreter, including ``open_cube`` and building the xarray Dataset.

One uncounted warm-up run of each first. Prints medians and the overhead ratio
(Python / CLI detection phases − 1).
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import plumewatch

REPO = Path(__file__).resolve().parents[3]


def tiled_cube(copies: int = 31) -> Path:
    src = REPO / "data" / "scenes" / "emit_small"
    out = REPO / "bench" / "data"
    out.mkdir(parents=True, exist_ok=True)
    hdr = out / f"emit_tiled{copies}.hdr"
    img = out / f"emit_tiled{copies}.img"
    if not hdr.exists():
        raw = (src / "radiance.img").read_bytes()
        tmp = img.with_suffix(".tmp")
        with open(tmp, "wb") as f:
            for _ in range(copies):
                f.write(raw)
        tmp.rename(img)
        text = (src / "radiance.hdr").read_text()
        lines = int(re.search(r"^lines\s*=\s*(\d+)", text, re.M).group(1))
        hdr.write_text(re.sub(r"^lines\s*=\s*\d+", f"lines = {lines * copies}", text, flags=re.M))
    return hdr


def cli_detection_seconds(cli: str, cube: Path, algo: str, out: Path) -> float:
    done = subprocess.run(
        [cli, "--quiet", "detect", str(cube), "--algo", algo, "--format", "envi", "-o", str(out), "--timings"],
        capture_output=True,
        text=True,
        check=True,
    )
    ms = {k: float(v) for k, v in re.findall(r"(open and gas window|read|compute|other detection|write|total) ([0-9.]+)", done.stderr)}
    return (ms["open and gas window"] + ms["read"] + ms["compute"] + ms["other detection"]) / 1e3


def python_seconds(cube: Path, algo: str) -> float:
    start = time.perf_counter()
    ds = plumewatch.detect(plumewatch.open_cube(cube), algo=algo)
    elapsed = time.perf_counter() - start
    assert ds["z"].shape[0] * ds["z"].shape[1] >= 1_000_000
    return elapsed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--algo", nargs="+", default=["mf", "mag1c"])
    ap.add_argument("--cube", type=Path)
    ap.add_argument("--cli", default=os.environ.get("PLUMEWATCH_CLI", str(REPO / "target/release/plumewatch")))
    args = ap.parse_args()
    cube = args.cube or tiled_cube()
    with tempfile.TemporaryDirectory() as tmp:
        for algo in args.algo:
            cli_s, py_s = [], []
            # Warm-up, not counted: the page cache, and Python's one-time initialisation
            # (thread pool, GDAL drivers), which the CLI pays in its start-up (not counted
            # either).
            cli_detection_seconds(args.cli, cube, algo, Path(tmp) / "warm.img")
            python_seconds(cube, algo)
            for _ in range(args.runs):
                cli_s.append(cli_detection_seconds(args.cli, cube, algo, Path(tmp) / "out.img"))
                py_s.append(python_seconds(cube, algo))
            c, p = statistics.median(cli_s), statistics.median(py_s)
            print(
                f"{algo}: CLI detection phases median {c * 1e3:.0f} ms (runs {', '.join(f'{x * 1e3:.0f}' for x in cli_s)}); "
                f"Python detect median {p * 1e3:.0f} ms (runs {', '.join(f'{x * 1e3:.0f}' for x in py_s)}); "
                f"overhead {100 * (p / c - 1):+.1f} %"
            )


if __name__ == "__main__":
    main()
