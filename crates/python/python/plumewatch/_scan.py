"""``scan``: flight lines → plumes, sources, emission rates and ranked candidate sites."""

from __future__ import annotations

import json
import os
import sys
from typing import Any, Dict, List, Optional, Sequence, Union

from . import _native
from ._manifest import FlightLine, Wind, flight_lines
from .errors import PlumewatchInputError


def scan_config(
    lines: Sequence[FlightLine], config: Optional[Dict[str, Any]] = None
) -> Dict[str, Any]:
    """The library's ``ScanConfig`` (as a dict) for ``lines`` with the settings of
    ``config`` (a ``ScanConfig`` dict without ``flight_lines``; missing keys take the
    library's defaults)."""
    cfg = dict(config or {})
    if "flight_lines" in cfg:
        raise PlumewatchInputError(
            "config: flight_lines: give the cubes as paths (or a manifest), not in config"
        )
    cfg["flight_lines"] = [
        {
            k: v
            for k, v in {
                "cube": l.cube,
                "glt": l.glt,
                "wind": None if l.wind is None else {"speed_m_s": l.wind[0], "from_deg": l.wind[1]},
                "name": l.name,
            }.items()
            if v is not None
        }
        for l in lines
    ]
    return cfg


class ScanResult:
    """What a scan found.

    Attributes
    ----------
    sites : dict
        Ranked candidate sites as a GeoJSON FeatureCollection (WGS84 points; emission
        rate in kg/h with its standard deviation, maximum enhancement in ppm·m,
        significance z, false-alarm probability).
    plumes : dict
        Every plume candidate as a GeoJSON FeatureCollection (WGS84 outlines) with its
        verdict, source and emission rate.
    config : dict
        The complete ``ScanConfig`` that produced the result (repeating it repeats the run).
    """

    def __init__(self, native: Any) -> None:
        self._native = native

    @property
    def sites(self) -> Dict[str, Any]:
        return json.loads(self._native.sites_geojson())

    @property
    def plumes(self) -> Dict[str, Any]:
        return json.loads(self._native.plumes_geojson())

    @property
    def config(self) -> Dict[str, Any]:
        return json.loads(self._native.config_json())

    @property
    def sites_gdf(self) -> Any:
        """``sites`` as a ``geopandas.GeoDataFrame`` (EPSG:4326); needs geopandas."""
        return _frame(self.sites)

    @property
    def plumes_gdf(self) -> Any:
        """``plumes`` as a ``geopandas.GeoDataFrame`` (EPSG:4326); needs geopandas."""
        return _frame(self.plumes)

    def to_dir(self, path: "Union[str, os.PathLike[str]]") -> List[str]:
        """Writes what ``plumewatch scan -o DIR`` writes (sites.geojson, plumes.geojson,
        COG rasters per line, evidence PNGs, report.html, scan.json); returns the paths."""
        return list(self._native.write_outputs(os.fspath(path)))

    def __repr__(self) -> str:
        n = len(self.sites.get("features", []))
        return f"<plumewatch.ScanResult: {len(self.config['flight_lines'])} flight line(s), {n} site(s)>"


def _frame(collection: Dict[str, Any]) -> Any:
    try:
        import geopandas
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError("GeoDataFrames need geopandas: pip install geopandas") from e
    return geopandas.GeoDataFrame.from_features(collection["features"], crs="EPSG:4326")


class _TqdmProgress:
    """The library's progress (stage, advance, finish) as one tqdm bar per stage."""

    def __init__(self) -> None:
        from tqdm.auto import tqdm

        self._tqdm = tqdm
        self._bar: Any = None

    def stage(self, what: str, total: int) -> None:
        self.finish()
        self._bar = self._tqdm(total=total, desc=what, leave=False)

    def advance(self, n: int) -> None:
        if self._bar is not None:
            self._bar.update(n)

    def finish(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def _progress(progress: Optional[bool]) -> Optional[_TqdmProgress]:
    if progress is False or (progress is None and not sys.stderr.isatty()):
        return None
    try:
        return _TqdmProgress()
    except ImportError:
        if progress:
            raise ImportError("progress bars need tqdm: pip install tqdm") from None
        return None


def scan(
    paths: "Union[str, os.PathLike[str], Sequence[Union[str, os.PathLike[str]]]]",
    config: Optional[Dict[str, Any]] = None,
    wind: Optional[Wind] = None,
    *,
    threads: Optional[int] = None,
    progress: Optional[bool] = None,
) -> ScanResult:
    """Scan flight lines for emission sources, as ``plumewatch scan`` does.

    ``paths``: radiance cubes (one per flight line) or a campaign manifest (.json/.csv).
    ``config``: the library's ``ScanConfig`` settings as a dict (``gas``, ``detector``,
    ``window_nm``, ``far``, ``gsd_m``, ``merge_distance_m``, ...). ``wind``: (speed in
    m/s at 10 m, direction in degrees the wind blows from) for lines without their own;
    needed for emission rates (kg/h). ``threads``: computation threads (default: all
    cores). ``progress``: tqdm bars per step (None: when tqdm is installed and standard
    error is a terminal). The GIL is released while it runs.

    Raises ``PlumewatchInputError`` (bad configuration or input file, with the CLI's
    message), ``PlumewatchIOError`` or ``PlumewatchComputeError``.
    """
    lines = flight_lines(paths, wind)
    cfg = scan_config(lines, config)
    reporter = _progress(progress)
    try:
        return ScanResult(_native.scan(json.dumps(cfg), threads, reporter))
    finally:
        if reporter is not None:
            reporter.finish()
