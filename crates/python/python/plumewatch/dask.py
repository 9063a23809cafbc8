"""Campaigns on Dask: one task per flight line, one reduce that merges sites.

``scan_campaign`` works with any ``dask.distributed`` client — a ``LocalCluster`` on a
laptop, ``dask_jobqueue.SLURMCluster`` on an HPC system, ``dask_kubernetes`` on a
cluster — with the same code: the work is plain functions on explicit inputs and the
client decides where they run.

- Each flight line is one task (detection, plumes, sources, rates, evidence) that
  writes its outputs to ``OUTPUT/lines/<name>/`` and returns a small record.
- A line is identified by a content hash of its inputs (cube and GLT bytes, wind, the
  scan configuration, the plumewatch version). A folder whose ``line.json`` holds the
  same hash is complete and is not computed again: rerunning a campaign after a
  failure or with added lines computes only what changed.
- A failing line (bad file) is reported in the result and the manifest with its error
  class and message; the other lines go on and are merged.
- The reduce merges the lines' detections into sites exactly as the multi-line CLI
  ``plumewatch scan`` does and writes what ``plumewatch scan -o OUTPUT/scan`` writes
  (``sites.geojson``, ``plumes.geojson``, rasters, evidence, ``report.html``,
  ``scan.json``); ``OUTPUT/campaign.json`` (the manifest with each line's status and
  key) and ``OUTPUT/campaign.html`` (per-line status, link to the report) go beside it.
- ``threads_per_task`` sets the computation threads of each task (default: the
  worker's own thread count), so that workers do not oversubscribe cores.
"""

from __future__ import annotations

import hashlib
import html
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Union

from . import _native
from ._manifest import FlightLine, Wind, flight_lines
from ._scan import scan_config
from .errors import PlumewatchError

__all__ = ["scan_campaign", "CampaignResult", "LineStatus", "line_key"]



def _companions(path: str) -> List[Path]:
    """``path`` and the ENVI header or data files beside it that exist, in a fixed order."""
    p = Path(path)
    if p.suffix.lower() == ".hdr":
        cands = [p] + [p.with_suffix(s) for s in ("", ".img", ".dat", ".raw", ".bil", ".bsq", ".bip")]
    else:
        cands = [p, p.with_suffix(".hdr"), Path(str(p) + ".hdr")]
    return [c for c in cands if c.is_file()]


def _input_files(line: FlightLine) -> List[Path]:
    return [f for path in (line.cube, line.glt) if path is not None for f in _companions(path)]


def _input_stats(line: FlightLine) -> Dict[str, List[int]]:
    """Size and modification time (ns) of each input file: when they are unchanged
    since a stamp was written, its content hash is reused without reading the files."""
    out = {}
    for f in _input_files(line):
        st = f.stat()
        out[str(f.resolve())] = [st.st_size, st.st_mtime_ns]
    return out


def line_key(line: FlightLine, config: Dict[str, Any]) -> str:
    """Content hash of one flight line's inputs and the campaign configuration."""
    h = hashlib.blake2b(digest_size=16)
    h.update(json.dumps({"config": config, "wind": line.wind, "name": line.name}, sort_keys=True).encode())
    h.update(_native.__version__.encode())
    for path in (line.cube, line.glt):
        # BLAKE3 in Rust, one thread: about 4x faster than hashlib's blake2b here.
        h.update(b"-" if path is None else _native.digest_files([str(f) for f in _companions(path)]).encode())
    return h.hexdigest()


@dataclass
class LineStatus:
    """How one flight line went: ``status`` is "done", "reused" (already done by an
    earlier run with the same inputs) or "failed" (``error_class``, ``error``)."""

    name: str
    cube: str
    key: str
    folder: str
    status: str
    seconds: float = 0.0
    error_class: Optional[str] = None
    error: Optional[str] = None
    time: Optional[str] = None

    def to_dict(self) -> Dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class CampaignResult:
    """A campaign: the merged scan of the lines that succeeded and every line's status.

    ``sites`` and ``plumes`` are GeoJSON dicts as in :class:`plumewatch.ScanResult`
    (empty collections when every line failed), ``config`` the merged lines'
    ``ScanConfig``; ``output`` is the campaign folder, ``files`` what the reduce wrote.
    """

    output: str
    lines: List[LineStatus]
    sites: Dict[str, Any]
    plumes: Dict[str, Any]
    config: Optional[Dict[str, Any]]
    seconds: float
    files: List[str] = field(default_factory=list)

    @property
    def failed(self) -> List[LineStatus]:
        return [l for l in self.lines if l.status == "failed"]


def _threads(requested: Optional[int]) -> Optional[int]:
    if requested:
        return int(requested)
    try:
        from distributed import get_worker

        return int(get_worker().state.nthreads)
    except Exception:
        return None


_STAMP = "line.json"


def _safe_key(line: FlightLine, settings: Dict[str, Any]) -> str:
    try:
        return line_key(line, settings)
    except OSError as e:
        return f"unreadable: {e}"


def scan_line_task(
    cfg_json: str, index: int, line: FlightLine, folder: str, threads: Optional[int]
) -> Dict[str, Any]:
    """One flight line (a Dask task): hashes its inputs (on the worker, in parallel with
    the other lines) and scans line ``index`` of the configuration into ``folder``
    unless a complete run with the same key is already there. Never raises for a
    plumewatch error: the failure is returned as the line's status."""
    start = time.perf_counter()
    cfg = json.loads(cfg_json)
    settings = {"settings": {k: v for k, v in cfg.items() if k != "flight_lines"}, "first": index == 0}
    stamp = Path(folder) / _STAMP
    try:
        stats = _input_stats(line)
    except OSError:
        stats = {}
    try:
        done = json.loads(stamp.read_text())
    except (OSError, ValueError):
        done = None
    if done is not None:
        # Unchanged files (same size and time) keep their content hash; otherwise the
        # files are hashed again and a line whose content is the same is still reused.
        same = done.get("inputs") == stats and done.get("settings") == settings and done.get("line") == line.to_dict()
        key = done.get("key") if same else None
        if key is None:
            key = _safe_key(line, settings)
        if key == done.get("key"):
            return {"status": "reused", "key": key, "seconds": time.perf_counter() - start}
    else:
        # First run: the key is computed here, on the task's own thread, so that one
        # task uses one core and workers scale with the cores they are given.
        key = _safe_key(line, settings)
    try:
        _native.scan_line(cfg_json, index, folder, _threads(threads))
    except PlumewatchError as e:
        return {"status": "failed", "key": key, "error_class": type(e).__name__, "error": str(e),
                "seconds": time.perf_counter() - start}
    seconds = time.perf_counter() - start
    # The stamp is written last (atomically): a folder without it is incomplete.
    tmp = stamp.with_suffix(".json.tmp")
    tmp.write_text(json.dumps({"key": key, "name": line.name, "seconds": seconds, "inputs": stats,
                               "settings": settings, "line": line.to_dict()}))
    os.replace(tmp, stamp)
    return {"status": "done", "key": key, "seconds": seconds}


def merge_task(
    cfg_json: str, folders: List[str], output: str, elapsed_s: float, threads: Optional[int]
) -> Dict[str, Any]:
    """The reduce (a Dask task): merges the lines in ``folders`` into sites exactly as
    the multi-line scan does and writes the scan outputs into ``output``."""
    native = _native.merge_lines(cfg_json, folders, elapsed_s, _threads(threads))
    files = [str(p) for p in native.write_outputs(output)]
    return {"sites": native.sites_geojson(), "plumes": native.plumes_geojson(),
            "config": native.config_json(), "files": files}


def scan_campaign(
    paths_or_manifest: Union[str, "os.PathLike[str]", Sequence[Union[str, "os.PathLike[str]", FlightLine]]],
    config: Optional[Dict[str, Any]] = None,
    wind: Optional[Wind] = None,
    client: Any = None,
    *,
    output: Union[str, "os.PathLike[str]"] = "plumewatch_campaign",
    threads_per_task: Optional[int] = None,
) -> CampaignResult:
    """Scan a campaign of flight lines on Dask.

    ``paths_or_manifest``: cube paths or a manifest (.json/.csv, see
    ``plumewatch._manifest``). ``config``: ``ScanConfig`` settings as in
    :func:`plumewatch.scan`. ``wind``: (m/s, degrees from) for lines without their own.
    ``client``: a ``dask.distributed.Client`` (default: the current one, else the tasks
    run here one after another). ``output``: the campaign folder; flight lines go to
    ``OUTPUT/lines/<name>/`` and the merged scan to ``OUTPUT/scan``. ``threads_per_task``:
    computation threads per task (default: the worker's thread count).
    """
    start = time.perf_counter()
    lines = flight_lines(paths_or_manifest, wind)
    out = Path(output).resolve()
    (out / "lines").mkdir(parents=True, exist_ok=True)
    names = _native.line_names(json.dumps(scan_config(lines, config)))
    lines = [FlightLine(l.cube, l.wind, l.glt, l.time, n) for l, n in zip(lines, names)]
    cfg = scan_config(lines, config)
    cfg_json = json.dumps(cfg)
    statuses = [
        LineStatus(name=l.name, cube=l.cube, key="", folder=str(out / "lines" / l.name),
                   status="pending", time=l.time)
        for l in lines
    ]
    if client is None:
        try:
            from distributed import get_client

            client = get_client()
        except (ImportError, ValueError):
            client = None
    args = [(cfg_json, i, l, s.folder, threads_per_task) for i, (l, s) in enumerate(zip(lines, statuses))]
    if client is not None:
        futures = [client.submit(scan_line_task, *a, pure=False) for a in args]
        results = client.gather(futures)
    else:
        results = [scan_line_task(*a) for a in args]
    for s, r in zip(statuses, results):
        s.status = r["status"]
        s.key = r["key"]
        s.seconds = r.get("seconds", 0.0)
        s.error_class = r.get("error_class")
        s.error = r.get("error")
    ok = [i for i, s in enumerate(statuses) if s.status != "failed"]
    empty = {"type": "FeatureCollection", "features": []}
    merged: Dict[str, Any] = {"sites": json.dumps(empty), "plumes": json.dumps(empty), "config": "null", "files": []}
    if ok:
        merged_json = json.dumps(scan_config([lines[i] for i in ok], config))
        margs = (merged_json, [statuses[i].folder for i in ok], str(out / "scan"), time.perf_counter() - start,
                 threads_per_task)
        if client is not None:
            merged = client.submit(merge_task, *margs, pure=False).result()
        else:
            merged = merge_task(*margs)
    result = CampaignResult(str(out), statuses, json.loads(merged["sites"]), json.loads(merged["plumes"]),
                            json.loads(merged["config"]), time.perf_counter() - start, merged["files"])
    _write_manifest(out, result)
    _write_html(out, result)
    return result


def _write_manifest(out: Path, result: CampaignResult) -> None:
    doc = {"lines": [s.to_dict() for s in result.lines], "seconds": result.seconds,
           "plumewatch_version": _native.__version__}
    tmp = out / "campaign.json.tmp"
    tmp.write_text(json.dumps(doc, indent=2))
    os.replace(tmp, out / "campaign.json")


def _write_html(out: Path, result: CampaignResult) -> None:
    rows = "".join(
        f"<tr><td>{html.escape(s.name)}</td><td>{html.escape(s.status)}</td>"
        f"<td>{s.seconds:.1f}</td><td>{html.escape(s.cube)}</td>"
        f"<td>{html.escape((s.error_class or '') + (': ' + s.error if s.error else ''))}</td></tr>"
        for s in result.lines
    )
    n_sites = len(result.sites["features"])
    report = '<p><a href="scan/report.html">Sites report</a></p>' if (out / "scan" / "report.html").exists() else ""
    page = (
        "<!doctype html><html><head><meta charset='utf-8'><title>plumewatch campaign</title>"
        "<style>body{font-family:sans-serif}td,th{padding:2px 8px;border-bottom:1px solid #ccc}</style>"
        f"</head><body><h1>plumewatch campaign</h1><p>{len(result.lines)} flight line(s), "
        f"{len(result.failed)} failed, {n_sites} site(s), {result.seconds:.1f} s.</p>{report}"
        "<table><tr><th>line</th><th>status</th><th>s</th><th>cube</th><th>error</th></tr>"
        f"{rows}</table></body></html>"
    )
    tmp = out / "campaign.html.tmp"
    tmp.write_text(page)
    os.replace(tmp, out / "campaign.html")
