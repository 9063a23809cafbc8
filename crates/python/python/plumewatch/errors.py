"""Exceptions raised by plumewatch.

Every error of the Rust library maps to one class here; the message is the one the
``plumewatch`` command line prints after ``plumewatch: error:`` (it names the file and
the field at fault and says what was expected).
"""

from __future__ import annotations

__all__ = [
    "PlumewatchError",
    "PlumewatchInputError",
    "PlumewatchIOError",
    "PlumewatchComputeError",
]


class PlumewatchError(Exception):
    """Base class of every plumewatch error."""


class PlumewatchInputError(PlumewatchError, ValueError):
    """Invalid input: a bad parameter, a malformed file, bands that do not fit.

    Fix the argument or the file named in the message.
    """


class PlumewatchIOError(PlumewatchError, OSError):
    """The operating system or GDAL could not read or write a file (missing file,
    no permission, disk full)."""


class PlumewatchComputeError(PlumewatchError, RuntimeError):
    """A numerical step failed (e.g. a covariance that is not positive definite even
    after regularisation). Try ``regularization="ledoit-wolf"`` or a wider column group."""
