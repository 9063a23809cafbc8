"""Campaign manifests: which flight lines to scan, with their wind, GLT and time.

JSON::

    {"lines": [{"cube": "a/radiance.hdr", "wind": {"speed_m_s": 3.5, "from_deg": 270},
                "glt": "a/glt.hdr", "time": "2026-05-01T17:03:00Z", "name": "a"}, ...]}

(a bare list of such objects, or of cube paths, works too). CSV, one line per row,
header ``cube,wind_speed_m_s,wind_from_deg,glt,time,name`` (only ``cube`` required).
Relative paths are relative to the manifest's folder.
"""

from __future__ import annotations

import csv
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Iterable, List, Optional, Sequence, Tuple, Union

from .errors import PlumewatchInputError

Wind = Tuple[float, float]


@dataclass(frozen=True)
class FlightLine:
    """One flight line of a campaign.

    ``wind`` is (speed in m/s at 10 m, direction in degrees the wind blows from);
    ``time`` is free text (ISO 8601 UTC recommended) carried into the outputs.
    """

    cube: str
    wind: Optional[Wind] = None
    glt: Optional[str] = None
    time: Optional[str] = None
    name: Optional[str] = None

    def to_dict(self) -> dict:
        d = asdict(self)
        d["wind"] = list(self.wind) if self.wind is not None else None
        return d


def _wind(value: Any, where: str) -> Optional[Wind]:
    if value is None or value == "":
        return None
    try:
        if isinstance(value, dict):
            speed, direction = float(value["speed_m_s"]), float(value["from_deg"])
        else:
            speed, direction = (float(v) for v in value)
    except (KeyError, TypeError, ValueError):
        raise PlumewatchInputError(
            f"{where}: wind: expected {{\"speed_m_s\": S, \"from_deg\": D}} or (S, D), got {value!r}"
        ) from None
    if not (speed >= 0 and speed < 100):
        raise PlumewatchInputError(f"{where}: wind: speed {speed} m/s: expected 0–100 m/s")
    if not (0 <= direction <= 360):
        raise PlumewatchInputError(
            f"{where}: wind: direction {direction}: expected 0–360 degrees (the direction the wind blows from)"
        )
    return (speed, direction)


def _path(value: Optional[str], base: Path) -> Optional[str]:
    if value is None or value == "":
        return None
    p = Path(value)
    return str(p if p.is_absolute() else base / p)


def read_manifest(path: Union[str, os.PathLike]) -> List[FlightLine]:
    """The flight lines of a JSON or CSV manifest."""
    path = Path(path)
    base = path.parent
    try:
        text = path.read_text()
    except OSError as e:
        from .errors import PlumewatchIOError

        raise PlumewatchIOError(f"{path}: cannot read manifest: {e.strerror or e}") from None
    lines: List[FlightLine] = []
    if path.suffix.lower() == ".csv":
        rows = list(csv.DictReader(text.splitlines()))
        if rows and "cube" not in rows[0]:
            raise PlumewatchInputError(f"{path}: header: expected a 'cube' column")
        for i, row in enumerate(rows, start=2):
            where = f"{path}: row {i}"
            if not row.get("cube"):
                raise PlumewatchInputError(f"{where}: cube: expected a path")
            speed, direction = row.get("wind_speed_m_s"), row.get("wind_from_deg")
            wind = _wind((speed, direction), where) if speed not in (None, "") else None
            lines.append(
                FlightLine(
                    cube=_path(row["cube"], base),
                    wind=wind,
                    glt=_path(row.get("glt"), base),
                    time=row.get("time") or None,
                    name=row.get("name") or None,
                )
            )
        return lines
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise PlumewatchInputError(f"{path}: not valid JSON: {e}") from None
    items = data.get("lines") if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise PlumewatchInputError(f"{path}: lines: expected a list of flight lines")
    for i, item in enumerate(items):
        where = f"{path}: lines[{i}]"
        if isinstance(item, str):
            item = {"cube": item}
        if not isinstance(item, dict) or not item.get("cube"):
            raise PlumewatchInputError(f"{where}: cube: expected a path")
        lines.append(
            FlightLine(
                cube=_path(item["cube"], base),
                wind=_wind(item.get("wind"), where),
                glt=_path(item.get("glt"), base),
                time=item.get("time"),
                name=item.get("name"),
            )
        )
    return lines


def flight_lines(
    paths_or_manifest: Union[str, os.PathLike, Sequence[Union[str, os.PathLike, FlightLine]]],
    wind: Optional[Wind] = None,
) -> List[FlightLine]:
    """Flight lines from a manifest path (.json/.csv) or a list of cube paths; ``wind``
    fills in lines without one."""
    if isinstance(paths_or_manifest, (str, os.PathLike)):
        p = Path(paths_or_manifest)
        if p.suffix.lower() in (".json", ".csv"):
            lines = read_manifest(p)
        else:
            lines = [FlightLine(cube=str(p))]
    else:
        lines = [
            item if isinstance(item, FlightLine) else FlightLine(cube=os.fspath(item))
            for item in paths_or_manifest
        ]
    default = _wind(wind, "wind") if wind is not None else None
    if not lines:
        raise PlumewatchInputError("flight lines: expected at least one cube")
    return [
        FlightLine(l.cube, l.wind if l.wind is not None else default, l.glt, l.time, l.name)
        for l in lines
    ]


def iter_cubes(lines: Iterable[FlightLine]) -> List[str]:
    """The cube paths of ``lines``."""
    return [l.cube for l in lines]
