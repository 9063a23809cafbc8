"""``scan`` gives the CLI's sites; ``plumewatch.dask.scan_campaign`` on a LocalCluster
with 2 worker processes gives the multi-line CLI scan's sites over 6 flight lines."""

from __future__ import annotations

import json

import pytest

import plumewatch
from conftest import require, run_cli
from plumewatch import _native


WIND = (3.0, 270.0)
NO_LIMIT = {"detection_limit": {"runs": 0}}


def features(collection: dict) -> list:
    """Every feature, geometry and properties, as canonical JSON (floats exact)."""
    assert collection["type"] == "FeatureCollection"
    return [json.dumps(f, sort_keys=True) for f in collection["features"]]


def cli_scan(cli, cubes, out, *extra):
    done = run_cli(cli, "scan", *cubes, "--wind", f"{WIND[0]},{WIND[1]}", "--limit-runs", "0", "-o", out, *extra)
    assert done.returncode == 0, done.stderr
    return json.loads((out / "sites.geojson").read_text()), json.loads((out / "plumes.geojson").read_text())


def test_scan_gives_the_cli_sites(cli, scene, tmp_path):
    sites, plumes = cli_scan(cli, [scene], tmp_path / "cli")
    result = plumewatch.scan([scene], config=NO_LIMIT, wind=WIND)
    assert len(sites["features"]) >= 2
    assert all(f["properties"]["rate_kg_h"] is not None for f in sites["features"])
    assert features(result.sites) == features(sites)
    assert features(result.plumes) == features(plumes)
    assert result.config["flight_lines"][0]["cube"] == str(scene)
    written = result.to_dir(tmp_path / "py")
    assert (tmp_path / "py" / "report.html").exists()
    assert json.loads((tmp_path / "py" / "sites.geojson").read_text()) == sites
    assert sorted(p.name for p in (tmp_path / "py").iterdir()) == sorted(p.name for p in (tmp_path / "cli").iterdir())
    assert len(written) >= 5


def test_scan_reports_progress_per_step(scene, tmp_path):
    calls = []

    class Recorder:
        def stage(self, what, total):
            calls.append(("stage", what, total))

        def advance(self, n):
            calls.append(("advance", n))

        def finish(self):
            calls.append(("finish",))

    cfg = plumewatch._scan.scan_config(plumewatch._manifest.flight_lines([scene]), NO_LIMIT)
    _native.scan(json.dumps(cfg), None, Recorder())
    stages = [c[1] for c in calls if c[0] == "stage"]
    assert stages == ["read emit_small_radiance", "detect emit_small_radiance"]
    detect_total = next(c[2] for c in calls if c[0] == "stage" and c[1].startswith("detect"))
    assert detect_total == 128
    assert sum(c[1] for c in calls if c[0] == "advance") >= detect_total
    # and through tqdm, as users see it
    require("tqdm")
    assert plumewatch.scan([scene], config=NO_LIMIT, wind=WIND, progress=True).sites


def test_scan_config_errors_are_input_errors(scene):
    with pytest.raises(plumewatch.PlumewatchInputError, match="window_nm"):
        plumewatch.scan([scene], config={"window_nm": [2400, 2300]})
    with pytest.raises(plumewatch.PlumewatchInputError, match="unknown field"):
        plumewatch.scan([scene], config={"no_such_knob": 1})


@pytest.fixture(scope="module")
def six_lines(cli, tmp_path_factory):
    root = tmp_path_factory.mktemp("lines")
    cubes = []
    for seed in range(1, 7):
        out = root / f"line{seed}"
        done = run_cli(cli, "simulate", "scene", "--sensor", "emit", "--lines", "96", "--samples", "64",
                       "--gsd", "60", "--seed", str(seed), "--random-sources", "2", "-o", out)
        assert done.returncode == 0, done.stderr
        cubes.append(out / "radiance.hdr")
    return cubes


def test_local_cluster_campaign_equals_cli_multi_line_scan(cli, six_lines, tmp_path):
    distributed = require("distributed")
    from plumewatch.dask import scan_campaign

    sites, plumes = cli_scan(cli, six_lines, tmp_path / "cli")
    # the lines overlap: every site is covered by all six, so the merge sees them all
    assert len(sites["features"]) >= 3
    assert all(f["properties"]["n_passes_covering"] == 6 for f in sites["features"])
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        result = scan_campaign(six_lines, config=NO_LIMIT, wind=WIND, client=client,
                               output=tmp_path / "campaign", threads_per_task=1)
        assert [l.status for l in result.lines] == ["done"] * 6
        assert features(result.sites) == features(sites)
        assert features(result.plumes) == features(plumes)
        # the reduce copies the lines' rasters: the same files as the CLI's, bit for bit
        cli_tifs = sorted(p.name for p in (tmp_path / "cli").glob("*.tif"))
        assert len(cli_tifs) == 6 * 6
        assert sorted(p.name for p in (tmp_path / "campaign" / "scan").glob("*.tif")) == cli_tifs
        for name in cli_tifs:
            merged = (tmp_path / "campaign" / "scan" / name).read_bytes()
            assert merged == (tmp_path / "cli" / name).read_bytes(), name
        # rerun: every line is reused, the sites are the same
        again = scan_campaign(six_lines, config=NO_LIMIT, wind=WIND, client=client,
                              output=tmp_path / "campaign", threads_per_task=1)
        assert [l.status for l in again.lines] == ["reused"] * 6
        assert features(again.sites) == features(sites)


def test_a_bad_line_fails_alone(cli, six_lines, tmp_path):
    from plumewatch.dask import scan_campaign

    bad = tmp_path / "bad.hdr"
    bad.write_text("ENVI\nsamples = x\n")
    result = scan_campaign([six_lines[0], bad, six_lines[1]], config=NO_LIMIT, wind=WIND,
                           output=tmp_path / "campaign")
    assert [l.status for l in result.lines] == ["done", "failed", "done"]
    assert result.lines[1].error_class == "PlumewatchInputError"
    assert "bad.hdr" in result.lines[1].error
    manifest = json.loads((tmp_path / "campaign" / "campaign.json").read_text())
    assert (tmp_path / "campaign" / "scan" / "report.html").exists()
    assert "failed" in (tmp_path / "campaign" / "campaign.html").read_text()
    assert manifest["lines"][1]["status"] == "failed"
    sites, _ = cli_scan(cli, six_lines[:2], tmp_path / "cli")
    assert features(result.sites) == features(sites)


def test_rerun_reuses_lines_by_content_not_by_file_time(six_lines, tmp_path):
    import os

    from plumewatch.dask import scan_campaign

    lines = six_lines[:2]
    first = scan_campaign(lines, config=NO_LIMIT, wind=WIND, output=tmp_path / "c")
    assert [l.status for l in first.lines] == ["done", "done"]
    # same bytes, new modification time: hashed again, found identical, reused
    data = lines[0].with_suffix(".img")
    os.utime(data, ns=(data.stat().st_atime_ns, data.stat().st_mtime_ns + 10**9))
    again = scan_campaign(lines, config=NO_LIMIT, wind=WIND, output=tmp_path / "c")
    assert [l.status for l in again.lines] == ["reused", "reused"]
    assert again.sites == first.sites
    # another wind changes every line's key
    windier = scan_campaign(lines, config=NO_LIMIT, wind=(5.0, 270.0), output=tmp_path / "c")
    assert [l.status for l in windier.lines] == ["done", "done"]
    assert windier.lines[0].key != first.lines[0].key


def test_changed_bytes_change_the_key_and_the_line_is_scanned_again(six_lines, tmp_path):
    import shutil

    from plumewatch.dask import scan_campaign

    # copies, so the module's cubes stay as they are
    lines = []
    for i, hdr in enumerate(six_lines[:2]):
        d = tmp_path / f"in{i}"
        d.mkdir()
        shutil.copy(hdr, d / hdr.name)
        shutil.copy(hdr.with_suffix(".img"), d / hdr.with_suffix(".img").name)
        lines.append(d / hdr.name)
    first = scan_campaign(lines, config=NO_LIMIT, wind=WIND, output=tmp_path / "c")
    assert [l.status for l in first.lines] == ["done", "done"]
    data = lines[0].with_suffix(".img")
    raw = bytearray(data.read_bytes())
    raw[len(raw) // 2] ^= 0x01  # one bit of one radiance value
    data.write_bytes(bytes(raw))
    again = scan_campaign(lines, config=NO_LIMIT, wind=WIND, output=tmp_path / "c")
    assert [l.status for l in again.lines] == ["done", "reused"]
    assert again.lines[0].key != first.lines[0].key
    assert again.lines[1].key == first.lines[1].key


def test_file_digest_covers_names_lengths_and_bytes(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.write_bytes(b"xy")
    b.write_bytes(b"z")
    d = _native.digest_files([str(a), str(b)])
    assert len(d) == 64 and d == _native.digest_files([str(a), str(b)])
    # the same bytes split differently between the files is another input
    a.write_bytes(b"x")
    b.write_bytes(b"yz")
    assert _native.digest_files([str(a), str(b)]) != d
    with pytest.raises(OSError, match="missing"):
        _native.digest_files([str(tmp_path / "missing")])
