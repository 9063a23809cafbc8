//! Library errors → the Python exception classes of `plumewatch.errors`.
//!
//! Computation runs with the GIL released, so errors travel as the scan library's
//! [`Error`] (a kind and the CLI's one-line message) and become a Python exception once
//! the GIL is held again: [`ErrorKind::Input`] → `PlumewatchInputError` (a
//! `ValueError`), [`ErrorKind::Io`] → `PlumewatchIOError` (an `OSError`),
//! [`ErrorKind::Compute`] → `PlumewatchComputeError` (a `RuntimeError`).

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::types::PyType;

pub use plumewatch_scan::{Error, ErrorKind};

/// Result with the library [`Error`].
pub type Outcome<T> = plumewatch_scan::Result<T>;

/// Name of the `plumewatch.errors` class of `kind`.
pub fn class_name(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::Input => "PlumewatchInputError",
        ErrorKind::Io => "PlumewatchIOError",
        ErrorKind::Compute => "PlumewatchComputeError",
        _ => "PlumewatchError",
    }
}

/// The Python exception for `error`: an instance of its kind's class, with the message
/// the CLI prints after `plumewatch: error: `.
pub fn into_pyerr(py: Python<'_>, error: Error) -> PyErr {
    let class = py
        .import("plumewatch.errors")
        .and_then(|m| m.getattr(class_name(error.kind())))
        .and_then(|c| c.cast_into::<PyType>().map_err(PyErr::from));
    match class {
        Ok(class) => PyErr::from_type(class, error.message().to_string()),
        Err(_) => PyRuntimeError::new_err(error.message().to_string()),
    }
}

/// Turns an [`Outcome`] into a `PyResult` (needs the GIL).
pub fn to_py<T>(py: Python<'_>, outcome: Outcome<T>) -> PyResult<T> {
    outcome.map_err(|e| into_pyerr(py, e))
}
