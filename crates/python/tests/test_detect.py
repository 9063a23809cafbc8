"""``detect`` equals ``plumewatch detect`` bit for bit on the bundled scene, through
every input route (file path, memory-mapped DataArray, numpy array)."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
import xarray as xr

import plumewatch
from conftest import run_cli

VARIABLES = ("enhancement", "albedo", "sigma", "z")
CLI_NODATA = np.float32(-9999.0)


def cli_maps(cli, scene, tmp_path, algo: str, *flags: str) -> np.ndarray:
    """The CLI's four maps (line, sample, 4) as float32, written as ENVI."""
    out = tmp_path / f"{algo}{''.join(flags)}.img"
    done = run_cli(cli, "detect", scene, "--algo", algo, *flags, "--format", "envi", "-o", out)
    assert done.returncode == 0, done.stderr
    maps = plumewatch.open_cube(out)
    assert maps.sizes["band"] == 4
    return np.array(maps.values, dtype=np.float32)


def assert_bit_identical(ds: xr.Dataset, cli: np.ndarray) -> None:
    for k, name in enumerate(VARIABLES):
        ours = ds[name].values
        theirs = cli[:, :, k]
        assert ours.dtype == np.float32
        assert ours.shape == theirs.shape
        no_output = theirs == CLI_NODATA
        np.testing.assert_array_equal(np.isnan(ours), no_output, err_msg=f"{name}: no-output pixels")
        same_bits = ours[~no_output].view(np.uint32) == theirs[~no_output].view(np.uint32)
        assert same_bits.all(), f"{name}: {np.count_nonzero(~same_bits)} pixels differ from the CLI"
        assert (~no_output).sum() > 0.9 * no_output.size


@pytest.mark.parametrize("algo", ["amf", "mf", "mag1c"])
def test_detect_on_the_opened_cube_equals_cli_bit_for_bit(cli, scene, tmp_path, algo):
    ds = plumewatch.detect(plumewatch.open_cube(scene), algo=algo)
    assert_bit_identical(ds, cli_maps(cli, scene, tmp_path, algo))


def test_outlier_scaling_equals_cli_and_only_lowers_scores(cli, scene, tmp_path):
    cube = plumewatch.open_cube(scene)
    ds = plumewatch.detect(cube, algo="amf", outlier_scaling=True)
    assert_bit_identical(ds, cli_maps(cli, scene, tmp_path, "amf", "--outlier-scaling"))
    plain = plumewatch.detect(cube, algo="amf")
    # The enhancement is the plain filter's; |z| only falls, and sigma only grows,
    # by the same factor, on some pixels beyond |z| = 2 and on none below.
    np.testing.assert_array_equal(ds["enhancement"].values, plain["enhancement"].values)
    z, z0 = ds["z"].values, plain["z"].values
    ok = np.isfinite(z0)
    assert (np.abs(z[ok]) <= np.abs(z0[ok]) * (1 + 1e-6)).all()
    scaled = ok & (np.abs(z - z0) > 1e-6 * np.abs(z0))
    assert scaled.sum() > 0
    assert (np.abs(z0[scaled]) > 2).all()
    ratio = ds["sigma"].values[scaled] / plain["sigma"].values[scaled]
    np.testing.assert_allclose(ratio, z0[scaled] / z[scaled], rtol=1e-4)


def test_detect_on_a_numpy_copy_equals_cli_bit_for_bit(cli, scene, tmp_path):
    cube = plumewatch.open_cube(scene)
    values = np.ascontiguousarray(cube.values)  # a plain in-memory copy: the array route
    ds = plumewatch.detect(
        values, algo="amf", wavelengths=cube["wavelength"].values, fwhm=cube["fwhm"].values
    )
    assert ds.attrs["source"] == "array"
    assert_bit_identical(ds, cli_maps(cli, scene, tmp_path, "amf"))


def test_detect_on_a_sliced_dataarray_reads_the_view_in_place(cli, scene, tmp_path):
    # A view with the detector columns reversed is not the whole file: it goes through
    # the array route, read in place from the memory map (negative sample stride).
    # Statistics are per column, so the maps are the CLI's with the columns reversed.
    cube = plumewatch.open_cube(scene)
    view = cube.isel(sample=slice(None, None, -1))
    assert view.variable._data.strides[1] < 0
    ds = plumewatch.detect(view, algo="amf")
    assert ds.attrs["source"] == str(scene.resolve())
    assert list(ds.sample.values[:2]) == [127, 126]
    assert_bit_identical(ds.isel(sample=slice(None, None, -1)), cli_maps(cli, scene, tmp_path, "amf"))


def test_detect_on_a_path_equals_cli(cli, scene, tmp_path):
    ds = plumewatch.detect(str(scene), algo="mf")
    assert ds.attrs["source"] == str(scene)
    assert_bit_identical(ds, cli_maps(cli, scene, tmp_path, "mf"))


def test_detect_dataset_carries_units_and_georeferencing(scene):
    ds = plumewatch.detect(plumewatch.open_cube(scene))
    assert ds["enhancement"].attrs["units"] == "ppm m"
    assert ds["sigma"].attrs["units"] == "ppm m"
    assert ds["albedo"].attrs["units"] == "1"
    assert ds["z"].attrs["units"] == "1"
    assert ds.attrs["algorithm"] == "amf"
    assert ds.attrs["window_nm"] == [2122.0, 2488.0]
    # map info: UL corner 609000 E, 3556000 N, 60 m pixels
    assert ds["x"].values[0] == pytest.approx(609030.0)
    assert ds["y"].values[0] == pytest.approx(3555970.0)
    assert "UTM_Zone_13N" in ds["spatial_ref"].attrs["crs_wkt"]
    # the injected plumes are there: the strongest pixel is far above the noise
    assert float(ds["z"].max()) > 10


def test_detect_releases_the_gil(scene):
    cube = plumewatch.open_cube(scene)
    # four copies down-track: long enough (a few tenths of a second) to measure
    values = np.concatenate([np.asarray(cube.values)] * 4, axis=0)
    kwargs = dict(algo="mag1c", f64=True, wavelengths=cube["wavelength"].values, fwhm=cube["fwhm"].values)
    ticks = 0

    def detect_for_a_while():
        # repeated until 0.3 s have passed, whatever the speed of the machine
        begin = time.perf_counter()
        while time.perf_counter() - begin < 0.3:
            plumewatch.detect(values, **kwargs)

    worker = threading.Thread(target=detect_for_a_while)
    start = time.perf_counter()
    worker.start()
    while worker.is_alive():
        ticks += 1
        time.sleep(0.001)
    elapsed = time.perf_counter() - start
    # With the GIL held during detection this loop could run only between detections.
    assert elapsed >= 0.3
    assert ticks >= 0.3 * elapsed / 0.0011, (ticks, elapsed)


def test_target_equals_cli_target(cli, scene, tmp_path):
    cube = plumewatch.open_cube(scene)
    wl, fwhm = cube["wavelength"].values, cube["fwhm"].values
    out = tmp_path / "target.csv"
    done = run_cli(cli, "target", "--sensor", scene, "-o", out)
    assert done.returncode == 0, done.stderr
    rows = np.genfromtxt(out, delimiter=",", names=True)
    ours = plumewatch.target("ch4", wl, fwhm)
    assert ours.shape == wl.shape
    # the CLI writes shortest round-trip decimals: equal as f64, bit for bit
    np.testing.assert_array_equal(ours, rows["absorption_per_ppm_m"])
    # CH4 absorbs near 2300 nm: the target is negative there
    assert ours[np.argmin(abs(wl - 2300))] < 0


def test_detect_reports_progress_per_column(scene):
    from plumewatch import _native
    from plumewatch._detect import _options

    done = []
    options = _options(gas="ch4", algo="amf", window=(2122, 2488), group=1, global_stats=False,
                       iterations=30, f64=False, regularization="none", alpha=0.0, censor="repeated",
                       saturation_threshold=6.0, exclude_z=None, outlier_scaling=False,
                       albedo_correction=True,
                       sparsity=True, target=None)
    _native.detect_path(str(scene), options, done.append)
    assert sum(done) == 128  # every detector column, once
    # and through tqdm, as users see it
    ds = plumewatch.detect(plumewatch.open_cube(scene), progress=True)
    assert ds["z"].shape == (256, 128)


def test_detect_chooses_the_gas_window_from_the_bands():
    """Without ``window``, a 900–1700 nm InGaAs-like sensor is detected in the 1.65 µm
    window and a full-range one in the 2.3 µm window, as the CLI chooses; an explicit
    window still wins."""
    rng = np.random.default_rng(4)

    def cube(wavelengths):
        values = 1.0 + 0.01 * rng.standard_normal((300, 3, len(wavelengths)))
        return values.astype(np.float32)

    ingaas = np.linspace(900.0, 1700.0, 224)
    ds = plumewatch.detect(cube(ingaas), wavelengths=ingaas, fwhm=np.full(224, 8.0))
    assert ds.attrs["window_nm"] == [1560.0, 1720.0]
    assert all(1560.0 <= ingaas[b] <= 1720.0 for b in ds.attrs["window_bands"])
    full = np.arange(900.0, 2500.0, 6.0)
    fwhm = np.full(full.size, 9.0)
    ds = plumewatch.detect(cube(full), wavelengths=full, fwhm=fwhm)
    assert ds.attrs["window_nm"] == [2122.0, 2488.0]
    ds = plumewatch.detect(cube(full), wavelengths=full, fwhm=fwhm, window=(1560, 1720))
    assert ds.attrs["window_nm"] == [1560.0, 1720.0]
