# %% [markdown]
# # plumewatch in Python: open a cube, detect methane, plot it
#
# A notebook-style script (cells marked `# %%`, runs as a plain script too):
#
#     python crates/python/examples/detect_and_plot.py [CUBE] [--out DIR]
#
# Without CUBE it uses the bundled EMIT-like scene `data/scenes/emit_small`.
# It writes `enhancement.png` into DIR (default: the current folder), prints the
# strongest pixels and then scans the cube for plumes and lists the candidate sites.

# %%
from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display needed
import matplotlib.pyplot as plt
import numpy as np

import plumewatch

REPO = Path(__file__).resolve().parents[3]
ap = argparse.ArgumentParser(description="open a cube, detect CH4, plot the enhancement")
ap.add_argument("cube", nargs="?", default=REPO / "data/scenes/emit_small/radiance.hdr", type=Path)
ap.add_argument("--out", default=Path("."), type=Path)
ap.add_argument("--wind", default="3,270", help="SPEED,FROM_DEG: m/s at 10 m, degrees the wind blows from")
args = ap.parse_args()

# %% [markdown]
# ## Open the radiance cube
# ENVI cubes are memory-mapped: nothing is read until values are used.

# %%
cube = plumewatch.open_cube(args.cube)
print(cube.sizes, "bands", float(cube.wavelength.min()), "–", float(cube.wavelength.max()), "nm")

# %% [markdown]
# ## Detect
# The albedo-corrected matched filter over the 2122–2488 nm CH4 window.
# `enhancement` and `sigma` are in ppm·m; `z` = enhancement / sigma.

# %%
ds = plumewatch.detect(cube, gas="ch4", algo="amf", window=(2122, 2488))
print(ds)

# %% [markdown]
# ## Plot the enhancement on map coordinates

# %%
fig, ax = plt.subplots(figsize=(5, 8))
extent = None
if "x" in ds.coords:
    dx = float(ds.x[1] - ds.x[0]) if ds.sizes["sample"] > 1 else 1.0
    dy = float(ds.y[1] - ds.y[0]) if ds.sizes["line"] > 1 else -1.0
    extent = (
        float(ds.x[0]) - dx / 2, float(ds.x[-1]) + dx / 2,
        float(ds.y[-1]) + dy / 2, float(ds.y[0]) - dy / 2,
    )
vmax = float(np.nanpercentile(ds.enhancement, 99.9))
im = ax.imshow(ds.enhancement, cmap="inferno", vmin=0, vmax=vmax, extent=extent)
fig.colorbar(im, ax=ax, label=f"CH4 enhancement ({ds.enhancement.attrs['units']})")
ax.set_title(f"{args.cube.name}: {ds.attrs['algorithm']}")
ax.set_xlabel("easting (m)" if extent else "sample")
ax.set_ylabel("northing (m)" if extent else "line")
args.out.mkdir(parents=True, exist_ok=True)
png = args.out / "enhancement.png"
fig.savefig(png, dpi=100, bbox_inches="tight")
print("wrote", png)

# %% [markdown]
# ## The strongest pixels
# The pixels with the highest z (a quick look; the scan below turns them into plumes,
# sources, emission rates and ranked sites).

# %%
z = ds.z.where(np.isfinite(ds.z), -np.inf).values
for flat in np.argsort(z, axis=None)[::-1][:5]:
    line, sample = np.unravel_index(flat, z.shape)
    px = ds.isel(line=line, sample=sample)
    where = f"{float(px.x):.0f} E {float(px.y):.0f} N" if "x" in ds.coords else f"line {line} sample {sample}"
    print(f"  {where}: {float(px.enhancement):7.0f} ppm·m, z {float(px.z):5.1f}")

# %% [markdown]
# ## Scan: plumes, sources, emission rates, ranked sites
# The same pipeline as `plumewatch scan`; the wind (m/s at 10 m, direction it blows
# from) turns enhancements into emission rates (kg/h). No detection-limit runs here to
# keep the example quick.

# %%
speed, from_deg = (float(v) for v in args.wind.split(","))
result = plumewatch.scan([args.cube], config={"detection_limit": {"runs": 0}}, wind=(speed, from_deg))
print(f"{len(result.sites['features'])} candidate site(s):")
for site in result.sites["features"]:
    p = site["properties"]
    lon, lat = site["geometry"]["coordinates"]
    rate = "n/a" if p["rate_kg_h"] is None else f"{p['rate_kg_h']:.0f} ± {p['rate_sd_kg_h']:.0f} kg/h"
    print(f"  site {p['rank']}: {lat:.5f}°, {lon:.5f}°  {rate}  max {p['max_enhancement_ppm_m']:.0f} ppm·m  z {p['significance']:.1f}")
