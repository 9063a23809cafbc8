"""The notebook-style example runs end to end and shows the bundled scene's plume."""

from __future__ import annotations

import os
import re
import subprocess
import sys

from conftest import REPO

EXAMPLE = REPO / "crates" / "python" / "examples" / "detect_and_plot.py"


def test_detect_and_plot_example_runs(scene, tmp_path):
    done = subprocess.run(
        [sys.executable, str(EXAMPLE), str(scene), "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        env={**os.environ, "MPLBACKEND": "Agg"},
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    png = tmp_path / "enhancement.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert png.stat().st_size > 10_000
    strongest = done.stdout.split("candidate site(s)")[0]
    zs = [float(z) for z in re.findall(r"ppm·m, z +([0-9.]+)", strongest)]
    assert len(zs) == 5 and max(zs) > 8, done.stdout
    # the site list: as many sites as the scan finds, each with a rate in kg/h
    n_sites = int(re.search(r"(\d+) candidate site\(s\)", done.stdout).group(1))
    sites = re.findall(r"site \d+: .* kg/h .* ppm·m  z ", done.stdout)
    assert n_sites >= 2 and len(sites) == n_sites, done.stdout
