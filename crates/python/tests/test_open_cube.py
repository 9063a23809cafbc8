"""``open_cube``: lazy, memory-mapped, with the band table and georeferencing."""

from __future__ import annotations

import numpy as np

import plumewatch


def test_envi_cube_is_a_read_only_memory_map_not_a_copy(scene):
    cube = plumewatch.open_cube(scene)
    assert cube.dims == ("line", "sample", "band")
    assert cube.shape == (256, 128, 148)
    data = cube.variable._data
    assert isinstance(data, np.ndarray) and not data.flags.writeable
    base = data
    while base.base is not None and not isinstance(base, np.memmap):
        base = base.base
    assert isinstance(base, np.memmap), "ENVI data must be memory-mapped"
    assert cube.attrs["storage"] == "memmap"
    # BIL on disk: (line, band, sample) transposed, no copy
    assert data.strides == (148 * 128 * 4, 4, 128 * 4)


def test_values_match_the_raw_file(scene):
    cube = plumewatch.open_cube(scene)
    raw = np.fromfile(scene.with_suffix(".img"), dtype="<f4").reshape(256, 148, 128)
    np.testing.assert_array_equal(cube.isel(line=7).values, raw[7].T)


def test_band_table_and_georeferencing(scene):
    cube = plumewatch.open_cube(scene)
    assert cube["wavelength"].attrs["units"] == "nm"
    assert cube["wavelength"].values[0] == np.float64(1402.0433697)
    assert np.all(cube["fwhm"].values == 8.5)
    assert cube.attrs["units"] == "uW cm-2 sr-1 nm-1"
    assert cube.attrs["transform"] == [609000.0, 60.0, 0.0, 3556000.0, 0.0, -60.0]
    assert "GeoTransform" in cube["spatial_ref"].attrs


def test_lazy_reader_of_other_formats_matches_the_memory_map(scene, cli, tmp_path):
    # A GeoTIFF copy of a few bands goes through the lazy line reader.
    from conftest import run_cli

    cube = plumewatch.open_cube(scene)
    out = tmp_path / "maps.tif"
    done = run_cli(cli, "detect", scene, "--algo", "amf", "-o", out)
    assert done.returncode == 0, done.stderr
    tif = plumewatch.open_cube(out)
    assert tif.attrs["storage"] == "lazy"
    assert tif.shape == (256, 128, 4)
    window = tif.isel(line=slice(10, 20), sample=slice(5, 50, 3), band=0).values
    full = tif.values
    np.testing.assert_array_equal(window, full[10:20, 5:50:3, 0])
    assert cube.shape[:2] == tif.shape[:2]
