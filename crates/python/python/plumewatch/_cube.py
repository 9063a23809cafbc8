"""``open_cube``: a radiance file as a lazy ``xarray.DataArray`` (line, sample, band)."""

from __future__ import annotations

import os
from typing import Any, Optional, Tuple

import numpy as np
import xarray as xr
from xarray.backends import BackendArray
from xarray.core import indexing

from . import _native

RADIANCE_UNITS = "uW cm-2 sr-1 nm-1"

# Axis order of each ENVI interleave on disk, and the transposition to (line, sample, band).
_DISK_SHAPE = {
    "bsq": lambda l, s, b: (b, l, s),
    "bil": lambda l, s, b: (l, b, s),
    "bip": lambda l, s, b: (l, s, b),
}
_TO_LSB = {"bsq": (1, 2, 0), "bil": (0, 2, 1), "bip": (0, 1, 2)}


class _NativeLines(BackendArray):
    """Lazy (line, sample, band) float32 array read through the Rust cube readers."""

    def __init__(self, cube: Any, shape: Tuple[int, int, int]) -> None:
        self.cube = cube
        self.shape = shape
        self.dtype = np.dtype("float32")

    def __getitem__(self, key: indexing.ExplicitIndexer) -> np.ndarray:
        return indexing.explicit_indexing_adapter(
            key, self.shape, indexing.IndexingSupport.BASIC, self._read
        )

    def _read(self, key: tuple) -> np.ndarray:
        lkey, skey, bkey = key
        lines, _, bands = self.shape
        lrange = range(lines)[lkey] if isinstance(lkey, slice) else range(lkey, lkey + 1)
        brange = range(bands)[bkey] if isinstance(bkey, slice) else [bkey]
        if len(lrange) == 0:
            start = stop = 0
        else:
            start, stop = min(lrange), max(lrange) + 1
        out = self.cube.read(start, stop, list(brange))
        step = lrange.step if len(lrange) else 1
        out = out[::step] if step > 0 else out[::-1][:: -step]
        out = out[:, skey, :] if isinstance(skey, slice) else out[:, skey : skey + 1, :]
        index = tuple(0 if isinstance(k, int) else slice(None) for k in key)
        return out[index]


def _memmap(layout: dict, lines: int, samples: int, bands: int) -> np.ndarray:
    """The ENVI data file as a read-only memory map viewed as (line, sample, band)."""
    dtype = np.dtype(layout["dtype"]).newbyteorder(">" if layout["big_endian"] else "<")
    interleave = layout["interleave"]
    disk = np.memmap(
        layout["data_path"],
        dtype=dtype,
        mode="r",
        offset=layout["header_offset"],
        shape=_DISK_SHAPE[interleave](lines, samples, bands),
    )
    return disk.transpose(_TO_LSB[interleave])


def _spatial_coords(meta: dict, lines: int, samples: int) -> dict:
    """Pixel-centre map coordinates (north-up transforms) and a CF ``spatial_ref``."""
    coords: dict = {}
    gt = meta.get("geo_transform")
    if gt is None:
        return coords
    if gt[2] == 0.0 and gt[4] == 0.0:
        coords["x"] = ("sample", gt[0] + (np.arange(samples) + 0.5) * gt[1])
        coords["y"] = ("line", gt[3] + (np.arange(lines) + 0.5) * gt[5])
    ref_attrs = {"GeoTransform": " ".join(repr(float(v)) for v in gt)}
    if meta.get("crs_wkt"):
        ref_attrs["crs_wkt"] = meta["crs_wkt"]
        ref_attrs["spatial_ref"] = meta["crs_wkt"]
    coords["spatial_ref"] = ((), 0, ref_attrs)
    return coords


def _band_coords(meta: dict) -> dict:
    coords: dict = {}
    if meta.get("wavelength_nm") is not None:
        coords["wavelength"] = ("band", np.asarray(meta["wavelength_nm"]), {"units": "nm"})
    if meta.get("fwhm_nm") is not None:
        coords["fwhm"] = ("band", np.asarray(meta["fwhm_nm"]), {"units": "nm"})
    if meta.get("good_bands") is not None:
        coords["good_band"] = ("band", np.asarray(meta["good_bands"], dtype=bool))
    return coords


def open_cube(path: "os.PathLike[str] | str") -> xr.DataArray:
    """Open a radiance cube as a lazy ``xarray.DataArray`` with dims (line, sample, band).

    ENVI files (``.hdr`` or the data file beside it) are memory-mapped: ``.data`` is a
    read-only ``numpy.memmap`` view of the file in its stored type, never a copy, and
    ``attrs["nodata"]`` is the raw value that marks missing pixels. Other formats
    (GeoTIFF, EMIT L1B NetCDF, HDF5, and ENVI files with gain/offset) read lazily
    through plumewatch's readers: nothing is read until values are indexed, and
    missing pixels arrive as NaN (``attrs["nodata"]`` is then None).

    Units: radiance in µW cm⁻² sr⁻¹ nm⁻¹; coordinates ``wavelength`` and ``fwhm`` in nm
    (µm headers are converted); ``x``/``y`` are pixel-centre map coordinates in the units
    of the CRS, and the ``spatial_ref`` coordinate carries ``crs_wkt`` and
    ``GeoTransform`` (GDAL order) as rioxarray reads them.

    Raises ``PlumewatchIOError`` (missing or unreadable file) or ``PlumewatchInputError``
    (malformed header).
    """
    path = os.fspath(path)
    native = _native.Cube(path)
    meta = native.meta()
    lines, samples, bands = meta["lines"], meta["samples"], meta["bands"]
    layout = native.envi_layout()
    if layout is not None and not layout["scaled"]:
        data: Any = _memmap(layout, lines, samples, bands)
        nodata: Optional[float] = meta["nodata"]
        storage = "memmap"
    else:
        data = indexing.LazilyIndexedArray(_NativeLines(native, (lines, samples, bands)))
        nodata = None
        storage = "lazy"
    coords = {
        "line": ("line", np.arange(lines)),
        "sample": ("sample", np.arange(samples)),
    }
    coords.update(_band_coords(meta))
    coords.update(_spatial_coords(meta, lines, samples))
    attrs = {
        "units": RADIANCE_UNITS,
        "long_name": "at-sensor radiance",
        "source_path": os.path.abspath(path),
        "format": meta["format"],
        "storage": storage,
        "nodata": nodata,
        "transform": list(meta["geo_transform"]) if meta["geo_transform"] else None,
        "crs_wkt": meta["crs_wkt"],
        "description": meta["description"],
    }
    variable = xr.Variable(("line", "sample", "band"), data, attrs=attrs)
    return xr.DataArray(variable, coords=coords, name="radiance")


def whole_file_path(cube: xr.DataArray) -> Optional[str]:
    """The file behind ``cube`` when it is exactly what ``open_cube`` returned for it
    (the whole memory map, same view, same band table and nodata), else None.

    Detection then reads the file with the CLI's own reader instead of the array.
    """
    path = cube.attrs.get("source_path")
    if path is None or cube.attrs.get("storage") != "memmap" or cube.dims != ("line", "sample", "band"):
        return None
    data = cube.variable._data  # the memory-mapped view itself, never a loaded copy
    if not isinstance(data, np.ndarray) or data.flags.writeable:
        return None
    try:
        fresh = open_cube(path)
    except Exception:
        return None
    ref = fresh.variable._data
    root, ref_root = _memmap_root(data), _memmap_root(ref)
    if root is None or ref_root is None:
        return None
    same_view = (
        data.shape == ref.shape
        and data.strides == ref.strides
        and data.dtype == ref.dtype
        and data.ctypes.data - root.ctypes.data == ref.ctypes.data - ref_root.ctypes.data
        and root.offset == ref_root.offset
        and root.shape == ref_root.shape
        and os.path.samefile(root.filename, ref_root.filename)
    )
    if not same_view:
        return None
    for name in ("wavelength", "fwhm", "good_band"):
        if (name in cube.coords) != (name in fresh.coords):
            return None
        if name in cube.coords and not np.array_equal(cube[name].values, fresh[name].values):
            return None
    if cube.attrs.get("nodata") != fresh.attrs.get("nodata"):
        return None
    return path


def _memmap_root(a: Any) -> Optional[np.memmap]:
    """The outermost ``numpy.memmap`` that ``a`` is a view of, if any."""
    found = None
    while isinstance(a, np.ndarray):
        if isinstance(a, np.memmap) and getattr(a, "filename", None):
            found = a
        a = a.base
    return found
