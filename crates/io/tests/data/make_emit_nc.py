"""Writes emit_l1b_like.nc: an EMIT L1B RAD-shaped NetCDF-4 file cut from the bundled
synthetic scene data/scenes/emit_small (lines 0-7, samples 0-31, all 148 bands).

Layout follows EMIT L1B RAD granules: root `radiance(downtrack, crosstrack, bands)`
float32 with _FillValue -9999, group `sensor_band_parameters` with `wavelengths` and
`fwhm` (nm, float32) and `good_wavelengths` (0 over 1800-1950 nm), group `location` with `lat`/`lon`, global `geotransform` /
`spatial_ref`. Pixel (line 3, sample 5) is set to the fill value in every band so the
reader's nodata handling is exercised.

Run from the repository root:  python3 crates/io/tests/data/make_emit_nc.py
(needs numpy and netCDF4 from PyPI). Output is deterministic.
"""
import csv
import pathlib

import netCDF4
import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[4]
SCENE = ROOT / "data/scenes/emit_small"
OUT = pathlib.Path(__file__).resolve().parent / "emit_l1b_like.nc"
LINES, SAMPLES, BANDS_ALL, SAMPLES_ALL = 8, 32, 148, 128

# ENVI BIL float32 little-endian: (line, band, sample).
raw = np.fromfile(SCENE / "radiance.img", dtype="<f4").reshape(256, BANDS_ALL, SAMPLES_ALL)
rad = np.ascontiguousarray(raw[:LINES, :, :SAMPLES].transpose(0, 2, 1))  # (line, sample, band)
rad[3, 5, :] = -9999.0
with open(SCENE / "bands.csv") as f:
    rows = list(csv.DictReader(f))
wl = np.array([float(r["wavelength_nm"]) for r in rows], dtype="f4")
fwhm = np.array([float(r["fwhm_nm"]) for r in rows], dtype="f4")
assert wl.size == BANDS_ALL

with netCDF4.Dataset(OUT, "w", format="NETCDF4") as ds:
    ds.setncattr("title", "EMIT L1B-like radiance cut from the synthetic scene emit_small (NOT real data)")
    ds.setncattr("summary", "SYNTHETIC test fixture for plumewatch; layout of EMIT L1B RAD granules")
    ds.setncattr("geotransform", np.array([609000.0, 60.0, 0.0, 3556000.0, 0.0, -60.0]))
    ds.setncattr("spatial_ref", 'GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563]],PRIMEM["Greenwich",0],UNIT["degree",0.0174532925199433]]')
    ds.createDimension("downtrack", LINES)
    ds.createDimension("crosstrack", SAMPLES)
    ds.createDimension("bands", BANDS_ALL)
    v = ds.createVariable("radiance", "f4", ("downtrack", "crosstrack", "bands"), fill_value=-9999.0, zlib=True)
    v.units = "uW/cm^2/SR/nm"
    v.long_name = "Radiance Data"
    v[:] = rad
    g = ds.createGroup("sensor_band_parameters")
    w = g.createVariable("wavelengths", "f4", ("bands",))
    w.units = "nm"
    w[:] = wl
    f = g.createVariable("fwhm", "f4", ("bands",))
    f.units = "nm"
    f[:] = fwhm
    good = g.createVariable("good_wavelengths", "u1", ("bands",))
    good.long_name = "1 = good band, 0 = bad (water absorption)"
    good[:] = np.where((wl > 1800.0) & (wl < 1950.0), 0, 1).astype("u1")
    loc = ds.createGroup("location")
    lat = loc.createVariable("lat", "f8", ("downtrack", "crosstrack"))
    lon = loc.createVariable("lon", "f8", ("downtrack", "crosstrack"))
    lat[:] = 32.1 - 0.00054 * np.arange(LINES)[:, None] + 0 * np.arange(SAMPLES)[None, :]
    lon[:] = -103.8 + 0.00064 * np.arange(SAMPLES)[None, :] + 0 * np.arange(LINES)[:, None]
print(OUT, OUT.stat().st_size, "bytes")
