"""The compiled module (internal; use the functions of ``plumewatch``)."""

from typing import Any, Callable, Dict, List, Optional

import numpy as np
import numpy.typing as npt

__version__: str

class Cube:
    """An open radiance cube (memory-mapped ENVI or GDAL)."""

    def __init__(self, path: str) -> None: ...
    def meta(self) -> Dict[str, Any]: ...
    def envi_layout(self) -> Optional[Dict[str, Any]]: ...
    def read(self, start: int, stop: int, bands: List[int]) -> npt.NDArray[np.float32]:
        """Lines start..stop, float32 (lines, samples, bands), no data as NaN."""

def detect_array(
    cube: npt.NDArray[np.float32],
    bands: Dict[str, Any],
    options: Dict[str, Any],
    progress: Optional[Callable[[int], Any]] = None,
) -> Dict[str, Any]: ...
def detect_path(
    path: str, options: Dict[str, Any], progress: Optional[Callable[[int], Any]] = None
) -> Dict[str, Any]: ...
def target(gas: str, wavelength: List[float], fwhm: List[float]) -> npt.NDArray[np.float64]: ...
