"""Type stubs of plumewatch (units in every docstring of the implementation)."""

import os
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import numpy.typing as npt
import xarray as xr

from . import errors as errors
from .errors import (
    PlumewatchComputeError as PlumewatchComputeError,
    PlumewatchError as PlumewatchError,
    PlumewatchInputError as PlumewatchInputError,
    PlumewatchIOError as PlumewatchIOError,
)

__version__: str

def open_cube(path: Union[str, os.PathLike[str]]) -> xr.DataArray:
    """Radiance cube (µW cm⁻² sr⁻¹ nm⁻¹) as a lazy DataArray (line, sample, band) with
    ``wavelength``/``fwhm`` coordinates in nm; memory-mapped for ENVI."""

def detect(
    cube: Union[xr.DataArray, npt.NDArray[np.floating], str, os.PathLike[str]],
    gas: str = "ch4",
    algo: str = "amf",
    window: Tuple[float, float] = (2122, 2488),
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
    target: Optional[Union[str, os.PathLike[str]]] = None,
    progress: Optional[bool] = None,
) -> xr.Dataset:
    """Enhancement (ppm·m), albedo (1), sigma (ppm·m) and z (1) per pixel (line, sample)."""

def target(
    gas: str, wavelengths: Sequence[float], fwhm: Sequence[float]
) -> npt.NDArray[np.float64]:
    """Unit absorption per band, 1/(ppm·m) (negative where the gas absorbs); band
    centres and widths in nm."""

class ScanResult:
    """What a scan found: ``sites`` and ``plumes`` as GeoJSON dicts (WGS84; rates in
    kg/h, enhancement in ppm·m), ``config`` the complete ScanConfig."""

    @property
    def sites(self) -> Dict[str, Any]: ...
    @property
    def plumes(self) -> Dict[str, Any]: ...
    @property
    def config(self) -> Dict[str, Any]: ...
    @property
    def sites_gdf(self) -> Any: ...
    @property
    def plumes_gdf(self) -> Any: ...
    def to_dir(self, path: Union[str, os.PathLike[str]]) -> List[str]: ...

def scan(
    paths: Union[str, os.PathLike[str], Sequence[Union[str, os.PathLike[str]]]],
    config: Optional[Dict[str, Any]] = None,
    wind: Optional[Tuple[float, float]] = None,
    *,
    threads: Optional[int] = None,
    progress: Optional[bool] = None,
) -> ScanResult:
    """Flight lines → ranked candidate sites, as ``plumewatch scan``; wind as
    (m/s at 10 m, degrees the wind blows from)."""
