"""Errors are Python exceptions of the classes in ``plumewatch.errors`` with the CLI's
messages."""

from __future__ import annotations

import numpy as np
import pytest

import plumewatch
from conftest import cli_error
from plumewatch.errors import (
    PlumewatchError,
    PlumewatchInputError,
    PlumewatchIOError,
)


def test_missing_file_is_an_os_error_with_the_cli_message(cli, tmp_path):
    missing = tmp_path / "nope.hdr"
    with pytest.raises(PlumewatchIOError) as err:
        plumewatch.open_cube(missing)
    assert isinstance(err.value, OSError) and isinstance(err.value, PlumewatchError)
    expected = cli_error(cli, "detect", missing, "-o", tmp_path / "x.tif")
    assert str(err.value) == expected
    with pytest.raises(PlumewatchIOError) as err2:
        plumewatch.detect(str(missing))
    assert str(err2.value) == expected


def test_malformed_header_is_an_input_error_with_the_cli_message(cli, tmp_path):
    bad = tmp_path / "bad.hdr"
    bad.write_text("ENVI\nsamples = 4\nlines = x\nbands = 2\ndata type = 4\ninterleave = bsq\n")
    (tmp_path / "bad.img").write_bytes(b"\0" * 64)
    with pytest.raises(PlumewatchInputError) as err:
        plumewatch.detect(str(bad))
    assert isinstance(err.value, ValueError)
    assert str(err.value) == cli_error(cli, "detect", bad, "-o", tmp_path / "x.tif")


def test_window_without_bands_is_an_input_error_with_the_cli_message(cli, scene, tmp_path):
    with pytest.raises(PlumewatchInputError) as err:
        plumewatch.detect(str(scene), window=(600, 700))
    assert str(err.value) == cli_error(
        cli, "detect", scene, "--window", "600,700", "-o", tmp_path / "x.tif"
    )
    assert "usable band(s) in the window" in str(err.value)


def test_bad_parameters_are_input_errors():
    cube = np.zeros((4, 4, 3), dtype=np.float32)
    with pytest.raises(PlumewatchInputError, match="algo"):
        plumewatch.detect(cube, algo="nope", wavelengths=[2200, 2300, 2400], fwhm=[8, 8, 8])
    with pytest.raises(PlumewatchInputError, match="wavelength"):
        plumewatch.detect(cube)
    with pytest.raises(PlumewatchInputError, match="fwhm: 2 values for 3 bands"):
        plumewatch.detect(cube, wavelengths=[2200, 2300, 2400], fwhm=[8, 8])
    with pytest.raises(PlumewatchInputError, match="regularization"):
        plumewatch.detect(
            cube, wavelengths=[2200, 2300, 2400], fwhm=[8, 8, 8], regularization="magic"
        )
    with pytest.raises(PlumewatchInputError):
        plumewatch.target("ch4", [2200.0, 2300.0], [8.0])


def test_constant_cube_is_refused_with_the_cli_message(cli, scene, tmp_path):
    """A cube with one constant value in the gas window has no statistics to estimate:
    Python's `detect` refuses it as the CLI does, naming the cube."""
    header = tmp_path / "flat.hdr"
    header.write_text(scene.read_text())
    np.full(256 * 128 * 148, 5.0, dtype="<f4").tofile(tmp_path / "flat.img")
    with pytest.raises(PlumewatchInputError) as err:
        plumewatch.detect(str(header))
    assert str(err.value) == cli_error(cli, "detect", header, "-o", tmp_path / "x.tif")
    assert "flat.hdr" in str(err.value) and "constant" in str(err.value)
    assert not (tmp_path / "x.tif").exists()
