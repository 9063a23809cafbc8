"""plumewatch: find hidden emission sources in imaging-spectrometer radiance.

- :func:`open_cube` opens a radiance file as a lazy ``xarray.DataArray``
  (line, sample, band), memory-mapped for ENVI.
- :func:`detect` runs the matched-filter family and returns enhancement (ppm·m),
  albedo, sigma (ppm·m) and z as an ``xarray.Dataset``.
- :func:`target` computes a gas's unit absorption spectrum (1/(ppm·m)).
- :func:`scan` turns flight lines into plumes, sources, rates and ranked sites.
- ``plumewatch.dask`` scans campaigns of many flight lines on a Dask cluster.

Errors are the classes of :mod:`plumewatch.errors`. Units: radiance
µW cm⁻² sr⁻¹ nm⁻¹, wavelengths nm, enhancement ppm·m, emission rate kg/h, wind m/s.
"""

from . import errors
from ._cube import open_cube
from ._detect import detect, target
from ._native import __version__
from ._scan import ScanResult, scan
from .errors import (
    PlumewatchComputeError,
    PlumewatchError,
    PlumewatchInputError,
    PlumewatchIOError,
)

__all__ = [
    "__version__",
    "detect",
    "errors",
    "open_cube",
    "scan",
    "ScanResult",
    "target",
    "PlumewatchError",
    "PlumewatchInputError",
    "PlumewatchIOError",
    "PlumewatchComputeError",
]
