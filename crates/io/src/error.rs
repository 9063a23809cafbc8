//! Errors of the I/O layer. Every message names the file, the field (where there is
//! one) and what was expected, so the command line can print it as is.

use std::path::{Path, PathBuf};

/// Result with the I/O [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong reading or writing a file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The operating system refused an operation on `path` (missing file, directory
    /// given as a file, no permission, disk full). Check the path and its permissions.
    #[error("{}: {action}: {error}", path.display())]
    Io {
        /// The file concerned.
        path: PathBuf,
        /// What plumewatch was doing ("cannot open", "cannot read", ...).
        action: String,
        /// The operating-system error. Shown in the message itself and deliberately not
        /// a `source()`, so that `{:#}` chains print it once.
        error: std::io::Error,
    },
    /// A file's content is not what its format requires. `field` names the header key,
    /// column or section; `expected` says what would have been valid.
    #[error("{}: {field}: {message}", path.display())]
    Format {
        /// The file concerned.
        path: PathBuf,
        /// The header key, column or section at fault.
        field: String,
        /// What was found and what was expected.
        message: String,
    },
    /// A GDAL call failed on `path`.
    #[error("{}: GDAL: {message}", path.display())]
    Gdal {
        /// The file concerned.
        path: PathBuf,
        /// GDAL's message.
        message: String,
    },
}

impl Error {
    /// An [`Error::Io`] for `path`.
    pub fn io(path: &Path, action: impl Into<String>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.to_path_buf(),
            action: action.into(),
            error: source,
        }
    }

    /// An [`Error::Format`] for `path`, naming `field`.
    pub fn format(path: &Path, field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Format {
            path: path.to_path_buf(),
            field: field.into(),
            message: message.into(),
        }
    }
}

impl Error {
    /// The same error with `note` added to its message (e.g. why a write failed).
    pub fn with_note(self, note: &str) -> Self {
        match self {
            Error::Io {
                path,
                action,
                error,
            } => Error::Io {
                path,
                action: format!("{action} ({note})"),
                error,
            },
            Error::Format {
                path,
                field,
                message,
            } => Error::Format {
                path,
                field,
                message: format!("{message}; {note}"),
            },
            Error::Gdal { path, message } => Error::Gdal {
                path,
                message: format!("{message}; {note}"),
            },
        }
    }
}

impl From<Error> for plumewatch_core::Error {
    fn from(e: Error) -> Self {
        plumewatch_core::Error::Read(e.to_string())
    }
}
