"""``detect``: radiance → enhancement, albedo, sigma and z as an ``xarray.Dataset``."""

from __future__ import annotations

import contextlib
import os
import sys
from typing import Any, Optional, Sequence, Tuple, Union

import numpy as np
import xarray as xr

from . import _native
from ._cube import _spatial_coords, open_cube, whole_file_path
from .errors import PlumewatchInputError

ALGORITHMS = ("mag1c", "mf", "amf", "ace")


def _options(**kw: Any) -> dict:
    window = kw["window"]
    if window is not None:
        try:
            lo, hi = (float(v) for v in window)
        except (TypeError, ValueError):
            raise PlumewatchInputError(
                f"window {window!r}: expected two wavelengths in nm, (LO, HI) with LO < HI (e.g. (2122, 2488))"
            ) from None
        kw["window"] = (lo, hi)
    if kw["target"] is not None:
        kw["target"] = os.fspath(kw["target"])
    if kw["group"] < 1:
        raise PlumewatchInputError(f"group={kw['group']}: column group size must be at least 1")
    return kw


@contextlib.contextmanager
def _progress_bar(progress: Optional[bool], total: int):
    """A tqdm bar's ``update`` (None without tqdm or when off). ``progress=None`` shows
    one when tqdm is installed and standard error is a terminal."""
    if progress is False or (progress is None and not sys.stderr.isatty()):
        yield None
        return
    try:
        from tqdm.auto import tqdm
    except ImportError:
        if progress:
            raise ImportError("progress bars need tqdm: pip install tqdm") from None
        yield None
        return
    with tqdm(total=total, desc="detect", unit="col", leave=False) as bar:
        yield bar.update


def _maps_dataset(
    maps: dict,
    *,
    gas: str,
    algo: str,
    source: Optional[str],
    coords: dict,
) -> xr.Dataset:
    z_name = "ACE score (signed)" if algo == "ace" else "z-score (enhancement / sigma)"
    dims = ("line", "sample")
    variables = {
        "enhancement": (dims, maps["enhancement"], {"units": "ppm m", "long_name": f"{gas.upper()} enhancement"}),
        "albedo": (dims, maps["albedo"], {"units": "1", "long_name": "albedo factor"}),
        "sigma": (dims, maps["sigma"], {"units": "ppm m", "long_name": "sigma (noise-equivalent enhancement)"}),
        "z": (dims, maps["z"], {"units": "1", "long_name": z_name}),
    }
    lines, samples = maps["enhancement"].shape
    all_coords = {"line": np.arange(lines), "sample": np.arange(samples)}
    all_coords.update(coords)
    attrs = {
        "gas": gas,
        "algorithm": algo,
        "window_nm": list(maps["window_nm"]),
        "window_bands": list(maps["window_bands"]),
        "unit_absorption_per_ppm_m": np.asarray(maps["unit_absorption"]),
        "source": source or "array",
        "nodata": "NaN (no output: missing data or censored line)",
        "plumewatch_version": _native.__version__,
    }
    return xr.Dataset(variables, coords=all_coords, attrs=attrs)


def _array_inputs(
    cube: Any,
    wavelengths: Optional[Sequence[float]],
    fwhm: Optional[Sequence[float]],
    good_bands: Optional[Sequence[bool]],
    nodata: Optional[float],
) -> Tuple[np.ndarray, Any, Any, Any, Optional[float], dict]:
    coords: dict = {}
    if isinstance(cube, xr.DataArray):
        if set(cube.dims) != {"line", "sample", "band"}:
            raise PlumewatchInputError(
                f"cube: dims {cube.dims}: expected ('line', 'sample', 'band')"
            )
        cube = cube.transpose("line", "sample", "band")
        if wavelengths is None and "wavelength" in cube.coords:
            wavelengths = cube["wavelength"].values
        if fwhm is None and "fwhm" in cube.coords:
            fwhm = cube["fwhm"].values
        if good_bands is None and "good_band" in cube.coords:
            good_bands = cube["good_band"].values
        if nodata is None:
            nodata = cube.attrs.get("nodata")
        for name in ("line", "sample", "x", "y", "spatial_ref"):
            if name in cube.coords:
                coords[name] = cube.coords[name].variable
        values = np.asarray(cube.data if isinstance(cube.data, np.ndarray) else cube.values)
    else:
        values = np.asarray(cube)
    if values.ndim != 3:
        raise PlumewatchInputError(
            f"cube: {values.ndim} dimensions: expected 3 (line, sample, band)"
        )
    if values.dtype != np.float32 or not values.dtype.isnative:
        values = values.astype(np.float32)
    if wavelengths is None:
        raise PlumewatchInputError(
            "array: wavelength: the cube has no band centres; detection needs them (give wavelengths=)"
        )
    to_list = lambda v, t: None if v is None else [t(x) for x in np.asarray(v).ravel()]
    return (
        values,
        to_list(wavelengths, float),
        to_list(fwhm, float),
        to_list(good_bands, bool),
        None if nodata is None else float(nodata),
        coords,
    )


def detect(
    cube: Union[xr.DataArray, np.ndarray, "os.PathLike[str]", str],
    gas: str = "ch4",
    algo: str = "amf",
    window: Optional[Tuple[float, float]] = None,
    *,
    wavelengths: Optional[Sequence[float]] = None,
    fwhm: Optional[Sequence[float]] = None,
    good_bands: Optional[Sequence[bool]] = None,
    nodata: Optional[float] = None,
    group: int = 1,
    global_stats: bool = False,
    iterations: int = 30,
    f64: bool = False,
    regularization: str = "none",
    alpha: float = 0.0,
    censor: str = "repeated",
    saturation_threshold: Optional[float] = 6.0,
    exclude_z: Optional[float] = None,
    outlier_scaling: bool = False,
    albedo_correction: bool = True,
    sparsity: bool = True,
    target: "Optional[os.PathLike[str] | str]" = None,
    progress: Optional[bool] = None,
) -> xr.Dataset:
    """Detect a gas: per-pixel enhancement, albedo factor, sigma and z.

    The same computation as ``plumewatch detect`` with the matching flags (results are
    bit-identical to the CLI's maps); the GIL is released while it runs.

    Parameters
    ----------
    cube
        An ``xarray.DataArray`` with dims (line, sample, band) and ``wavelength``/``fwhm``
        coordinates (as ``open_cube`` returns; read in place, never copied when it is
        float32), a numpy array (line, sample, band) with ``wavelengths`` and ``fwhm``,
        or a path to a radiance file. Radiance in µW cm⁻² sr⁻¹ nm⁻¹.
    gas
        Built-in gas name (``"ch4"``) or a gas LUT sidecar (.json).
    algo
        ``"amf"`` (albedo-corrected matched filter), ``"mf"``, ``"mag1c"`` or ``"ace"``.
    window
        Gas window (lo, hi) in nm; bands above 2485 nm and in the water bands are left out.
        Default: chosen from the bands as the CLI does, the 2.3 µm window (2122, 2488)
        when the sensor covers it, else the 1.65 µm window (1560, 1720). The window used
        is in the result's ``window_nm`` attribute.
    wavelengths, fwhm
        Band centres and widths in nm, one per band (override the DataArray's coordinates).
    good_bands
        Per band, False for bad bands (ENVI ``bbl``).
    nodata
        Raw value marking missing pixels (default: the DataArray's ``attrs["nodata"]``).
    group
        Detector columns per statistics group (pushbroom sensors).
    global_stats
        One set of statistics for the whole scene (frame cameras, mosaics).
    iterations
        mag1c reweighting iterations.
    f64
        Compute every pixel in f64 (reference grade; default f32 pixels, f64 statistics).
    regularization
        Covariance regularisation: ``"none"``, ``"blend"`` (diagonal weight ``alpha``) or
        ``"ledoit-wolf"``.
    censor
        Censored-line rule: ``"repeated"``, ``"none"`` or ``"mag1c"``.
    saturation_threshold
        Radiance (µW cm⁻² sr⁻¹ nm⁻¹) above which a pixel in 1945–2485 nm counts as
        saturated and leaves the statistics; None turns screening off.
    exclude_z
        Second pass without the pixels whose first-pass z exceeds this value.
    outlier_scaling
        ``"mf"``, ``"amf"``: divide the z-score of pixels far outside their background
        statistics by how far (``sigma`` grows by the same factor), as ``scan`` and
        ``stream`` do; off by default, as in ``plumewatch detect``.
    albedo_correction, sparsity
        mag1c's albedo correction and sparsity term.
    target
        Target spectrum file (plumewatch CSV or mag1c text) instead of the gas LUT.
    progress
        Show a tqdm progress bar (None: when tqdm is installed and stderr is a terminal).

    Returns
    -------
    xarray.Dataset
        Variables ``enhancement`` (ppm·m), ``albedo`` (1), ``sigma`` (ppm·m, the
        noise-equivalent enhancement) and ``z`` (1; the signed ACE score for ``ace``),
        each float32 (line, sample), NaN where there is no output (missing data,
        censored lines). Units in each variable's ``attrs["units"]``; map coordinates
        and ``spatial_ref`` carried over from the cube.

    Raises
    ------
    PlumewatchInputError
        Bad parameters, no band centres or widths, fewer than 2 bands in the window.
    PlumewatchIOError
        The file cannot be read.
    PlumewatchComputeError
        A numerical failure (covariance not positive definite).
    """
    if algo not in ALGORITHMS:
        raise PlumewatchInputError(f"algo={algo!r}: expected one of {', '.join(ALGORITHMS)}")
    options = _options(
        gas=gas,
        algo=algo,
        window=window,
        group=int(group),
        global_stats=bool(global_stats),
        iterations=int(iterations),
        f64=bool(f64),
        regularization=regularization,
        alpha=float(alpha),
        censor=censor,
        saturation_threshold=None if saturation_threshold is None else float(saturation_threshold),
        exclude_z=None if exclude_z is None else float(exclude_z),
        outlier_scaling=bool(outlier_scaling),
        albedo_correction=bool(albedo_correction),
        sparsity=bool(sparsity),
        target=target,
    )
    overrides = wavelengths is None and fwhm is None and good_bands is None and nodata is None
    if isinstance(cube, (str, os.PathLike)):
        path: Optional[str] = os.fspath(cube)
        if not overrides:
            cube = open_cube(path)
            path = None
    elif isinstance(cube, xr.DataArray) and overrides:
        path = whole_file_path(cube)
    else:
        path = None
    if path is not None:
        shape = cube.shape if isinstance(cube, xr.DataArray) else None
        total = (shape[0] if global_stats else shape[1]) if shape else 0
        with _progress_bar(progress if shape else False, total) as update:
            maps = _native.detect_path(path, options, update)
        if isinstance(cube, xr.DataArray):
            meta = {"geo_transform": cube.attrs.get("transform"), "crs_wkt": cube.attrs.get("crs_wkt")}
        else:
            meta = _native.Cube(path).meta()
        coords = _spatial_coords(meta, *maps["enhancement"].shape)
        return _maps_dataset(maps, gas=gas, algo=algo, source=path, coords=coords)
    values, wl, fw, good, nd, coords = _array_inputs(cube, wavelengths, fwhm, good_bands, nodata)
    with _progress_bar(progress, values.shape[0] if global_stats else values.shape[1]) as update:
        bands = {"wavelength": wl, "fwhm": fw, "good_bands": good, "nodata": nd}
        maps = _native.detect_array(values, bands, options, update)
    source = cube.attrs.get("source_path") if isinstance(cube, xr.DataArray) else None
    return _maps_dataset(maps, gas=gas, algo=algo, source=source, coords=coords)


def target(gas: str, wavelengths: Sequence[float], fwhm: Sequence[float]) -> np.ndarray:
    """Unit absorption spectrum of ``gas`` for the given bands: the matched-filter target.

    ``wavelengths`` and ``fwhm`` are band centres and full widths at half maximum in nm.
    Returns float64 values in 1/(ppm·m), one per band, negative where the gas absorbs
    (d ln L / d enhancement; mag1c's target files hold the same numbers × 1e5).
    ``gas`` is a built-in name (``"ch4"``) or a gas LUT sidecar (.json).
    """
    wl = [float(v) for v in np.asarray(wavelengths, dtype=float).ravel()]
    fw = [float(v) for v in np.asarray(fwhm, dtype=float).ravel()]
    return _native.target(gas, wl, fw)
