"""Shared fixtures: the repository's data, the CLI binary to compare against.

Where the bundled data or the CLI binary is missing the tests that need them are
skipped, except under CI (``CI`` set), where they fail.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
SCENE = REPO / "data" / "scenes" / "emit_small" / "radiance.hdr"


def missing(what: str) -> None:
    """Skip, or fail under CI, because ``what`` is not available."""
    if os.environ.get("CI"):
        pytest.fail(f"{what} is missing (required under CI)")
    pytest.skip(f"{what} is missing")


def require(module: str):
    """Imports ``module``; skips (fails under CI) when it is not installed."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        missing(f"the Python package {module!r}")


@pytest.fixture(scope="session")
def scene() -> Path:
    """The bundled EMIT-like scene (ENVI, 256 lines × 128 samples × 148 bands)."""
    if not SCENE.exists():
        missing(str(SCENE))
    return SCENE


@pytest.fixture(scope="session")
def cli() -> Path:
    """The ``plumewatch`` binary (PLUMEWATCH_CLI, else target/release/plumewatch)."""
    path = Path(os.environ.get("PLUMEWATCH_CLI", REPO / "target" / "release" / "plumewatch"))
    if not path.exists():
        missing(f"the plumewatch CLI ({path}; build it with cargo build --release -p plumewatch)")
    return path


def run_cli(cli: Path, *args: str) -> subprocess.CompletedProcess:
    """Runs the CLI quietly; returns the completed process (not checked)."""
    return subprocess.run([str(cli), "--quiet", *map(str, args)], capture_output=True, text=True)


def cli_error(cli: Path, *args: str) -> str:
    """The message the CLI prints for a failing command, after ``plumewatch: error: ``."""
    done = run_cli(cli, *args)
    assert done.returncode == 2, done.stderr
    line = done.stderr.strip().splitlines()[-1]
    prefix = "plumewatch: error: "
    assert line.startswith(prefix), line
    return line[len(prefix) :]
