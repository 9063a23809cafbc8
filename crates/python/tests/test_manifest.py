"""Campaign manifests (JSON and CSV) read into flight lines."""

from __future__ import annotations

import pytest

from plumewatch._manifest import FlightLine, flight_lines, read_manifest
from plumewatch.errors import PlumewatchInputError


def test_json_and_csv_manifests_agree(tmp_path):
    (tmp_path / "m.json").write_text(
        '{"lines": [{"cube": "a/radiance.hdr", "wind": {"speed_m_s": 3.5, "from_deg": 270},'
        ' "glt": "a/glt.hdr", "time": "2026-05-01T17:03:00Z"}, "b.hdr"]}'
    )
    (tmp_path / "m.csv").write_text(
        "cube,wind_speed_m_s,wind_from_deg,glt,time,name\n"
        "a/radiance.hdr,3.5,270,a/glt.hdr,2026-05-01T17:03:00Z,\n"
        "b.hdr,,,,,\n"
    )
    a, b = read_manifest(tmp_path / "m.json"), read_manifest(tmp_path / "m.csv")
    assert a == b
    assert a[0] == FlightLine(str(tmp_path / "a/radiance.hdr"), (3.5, 270.0), str(tmp_path / "a/glt.hdr"),
                              "2026-05-01T17:03:00Z", None)
    assert a[1].wind is None


def test_default_wind_fills_lines_without_one(tmp_path):
    lines = flight_lines(["x.hdr", "y.hdr"], wind=(2, 90))
    assert [l.wind for l in lines] == [(2.0, 90.0), (2.0, 90.0)]


@pytest.mark.parametrize(
    "text, message",
    [
        ('{"lines": [{"wind": [1, 2]}]}', "lines\\[0\\]: cube"),
        ('{"lines": [{"cube": "a", "wind": [1, 400]}]}', "direction 400"),
        ("{nope", "not valid JSON"),
    ],
)
def test_bad_manifests_are_input_errors(tmp_path, text, message):
    (tmp_path / "m.json").write_text(text)
    with pytest.raises(PlumewatchInputError, match=message):
        read_manifest(tmp_path / "m.json")
