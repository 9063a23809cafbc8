"""Peer implementations, whole run (load, compute, write), for bench/compare.py.

Usage (inside bench/.venv):
  python peers.py mag1c     CUBE.hdr OUT      # mag1c 1.2.0 CLI, its defaults (float64, 30 iterations)
  python peers.py fastmag1c CUBE.hdr OUT      # fastmag1c 0.1.0, float32, mag1c's template
  python peers.py spy       CUBE.hdr OUT      # Spectral Python matched_filter, global statistics
  python peers.py spycol    CUBE.hdr OUT      # the same, statistics per detector column
All run on the CPU. The target is mag1c's unit absorption at the cube's bands (the
file data/reference/targets/aviris-ng.csv or emit.csv of the repository, ×1e5), on
mag1c's bands: 2122–2488 nm minus mag1c's bad bands (> 2485 nm).
"""
import os
import sys
from pathlib import Path

import numpy as np

np.int = int  # mag1c 1.2.0 still uses the removed alias

REPO = Path(__file__).resolve().parent.parent


def window(header):
    import spectral
    img = spectral.io.envi.open(header)
    wl = np.asarray(img.bands.centers)
    keep = (wl >= 2122) & (wl <= 2488) & (wl <= 2485)
    sensor = "aviris-ng" if img.nbands > 300 or wl.min() < 380 else "emit"
    if img.nbands == 219:
        sensor = "aviris-ng"
    tab = np.loadtxt(REPO / "data/reference/targets" / f"{sensor}.csv", delimiter=",", skiprows=1)
    tmpl = np.array([tab[np.argmin(np.abs(tab[:, 0] - w)), 1] for w in wl[keep]])
    return img, keep, tmpl


def write(out, arr):
    tmp = out + ".tmp.npy"
    np.save(tmp, arr.astype(np.float32))
    os.replace(tmp, out + ".npy")


def main():
    what, header, out = sys.argv[1:4]
    if what == "mag1c":
        from mag1c.mag1c import main as mag1c_main
        sys.argv = ["mag1c", header[:-4] if header.endswith(".hdr") else header,
                    "--out", out, "-o", "-q"]
        mag1c_main()
        return
    img, keep, tmpl = window(header)
    rad = np.asarray(img.open_memmap(interleave="bip")[:, :, keep], dtype=np.float32)
    if what == "fastmag1c":
        import torch
        from fastmag1c import retrieve
        mf = retrieve(rad, template=tmpl, device="cpu", dtype=torch.float32)
        write(out, mf)
    elif what in ("spy", "spycol"):
        from spectral.algorithms import calc_stats, matched_filter
        x = rad.astype(np.float64)
        if what == "spy":
            stats = calc_stats(x)
            t = stats.mean * (1 + tmpl)
            mf = matched_filter(x, t, stats) * 1e5
        else:
            mf = np.empty(x.shape[:2])
            for c in range(x.shape[1]):
                col = x[:, c:c + 1, :]
                stats = calc_stats(col)
                t = stats.mean * (1 + tmpl)
                mf[:, c] = np.reshape(matched_filter(col, t, stats) * 1e5, -1)
        write(out, mf)
    else:
        raise SystemExit(f"unknown peer {what!r}")


if __name__ == "__main__":
    main()
