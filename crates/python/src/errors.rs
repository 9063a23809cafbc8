//! Rust errors → the Python exception classes of `plumewatch.errors`.
//!
//! Computation runs with the GIL released, so errors are first carried as a plain
//! [`PyFailure`] (kind + the CLI's one-line message) and turned into a Python exception
//! once the GIL is held again.

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::types::PyType;

/// Which Python exception class an error becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// Invalid input (bad parameter, malformed file, bands that do not fit):
    /// `PlumewatchInputError`, a `ValueError`.
    Input,
    /// The operating system or GDAL could not read or write a file:
    /// `PlumewatchIOError`, an `OSError`.
    Io,
    /// A numerical step failed: `PlumewatchComputeError`, a `RuntimeError`.
    Compute,
}

impl FailureKind {
    /// Name of the class in `plumewatch.errors`.
    fn class_name(self) -> &'static str {
        match self {
            FailureKind::Input => "PlumewatchInputError",
            FailureKind::Io => "PlumewatchIOError",
            FailureKind::Compute => "PlumewatchComputeError",
        }
    }
}

/// An error on its way to Python: its kind and the message the CLI would print (after
/// `plumewatch: error: `).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PyFailure {
    /// The exception class.
    pub kind: FailureKind,
    /// One line naming the file and field, as the CLI prints it.
    pub message: String,
}

/// Result carrying a [`PyFailure`].
pub type Outcome<T> = Result<T, PyFailure>;

impl PyFailure {
    /// An input error with `message`.
    pub fn input(message: impl Into<String>) -> Self {
        Self {
            kind: FailureKind::Input,
            message: message.into(),
        }
    }

    /// The same error with `context` in front, as anyhow's `{:#}` prints a context.
    pub fn context(self, context: impl std::fmt::Display) -> Self {
        Self {
            kind: self.kind,
            message: format!("{context}: {}", self.message),
        }
    }

    /// The Python exception (an instance of the `plumewatch.errors` class of its kind).
    pub fn into_pyerr(self, py: Python<'_>) -> PyErr {
        let class = py
            .import("plumewatch.errors")
            .and_then(|m| m.getattr(self.kind.class_name()))
            .and_then(|c| c.cast_into::<PyType>().map_err(PyErr::from));
        match class {
            Ok(class) => PyErr::from_type(class, self.message),
            Err(_) => PyRuntimeError::new_err(self.message),
        }
    }
}

impl From<plumewatch_io::Error> for PyFailure {
    fn from(e: plumewatch_io::Error) -> Self {
        let kind = match e {
            plumewatch_io::Error::Format { .. } => FailureKind::Input,
            _ => FailureKind::Io,
        };
        Self {
            kind,
            message: e.to_string(),
        }
    }
}

impl From<plumewatch_core::Error> for PyFailure {
    fn from(e: plumewatch_core::Error) -> Self {
        let kind = match e {
            plumewatch_core::Error::Shape { .. } | plumewatch_core::Error::Invalid(_) => {
                FailureKind::Input
            }
            plumewatch_core::Error::Read(_) => FailureKind::Io,
            _ => FailureKind::Compute,
        };
        Self {
            kind,
            message: e.to_string(),
        }
    }
}

/// Turns an [`Outcome`] into a `PyResult` (needs the GIL).
pub fn to_py<T>(py: Python<'_>, outcome: Outcome<T>) -> PyResult<T> {
    outcome.map_err(|e| e.into_pyerr(py))
}
