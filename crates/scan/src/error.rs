//! Errors of the pipeline library.
//!
//! One [`Error`] type with a [`ErrorKind`] that front ends map to exit codes (the CLI),
//! HTTP statuses (the server) and exception classes (Python). The message is one line
//! that names the file, the field and what was expected, with the steps that led to it
//! prefixed (`"scan of a.hdr: wavelength: ..."`).

use std::fmt::Display;

/// Result with the pipeline [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What kind of failure an [`Error`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorKind {
    /// An input file, configuration or parameter is not acceptable: fix the input
    /// (the message says which file or field and what was expected).
    Input,
    /// The operating system refused a read or write (missing file, permissions, disk
    /// full): check the path and the disk.
    Io,
    /// A numerical step failed on acceptable input (for example a covariance that is
    /// not positive definite even after regularisation).
    Compute,
}

/// A pipeline failure: its kind and a one-line message.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct Error {
    kind: ErrorKind,
    message: String,
}

impl Error {
    /// An error of `kind` with `message`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }

    /// An [`ErrorKind::Input`] error.
    pub fn input(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Input, message)
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The message (also what `Display` prints).
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The same error with `context` prefixed to its message (`"context: message"`).
    pub fn context(self, context: impl Display) -> Self {
        Self {
            kind: self.kind,
            message: format!("{context}: {}", self.message),
        }
    }
}

impl From<plumewatch_core::Error> for Error {
    fn from(e: plumewatch_core::Error) -> Self {
        let kind = match e {
            plumewatch_core::Error::Numerical(_) => ErrorKind::Compute,
            plumewatch_core::Error::Read(_) => ErrorKind::Io,
            _ => ErrorKind::Input,
        };
        Self::new(kind, e.to_string())
    }
}

impl From<plumewatch_io::Error> for Error {
    fn from(e: plumewatch_io::Error) -> Self {
        let kind = match e {
            plumewatch_io::Error::Io { .. } => ErrorKind::Io,
            _ => ErrorKind::Input,
        };
        Self::new(kind, e.to_string())
    }
}

/// Adds context to the error of a `Result` or to a missing `Option` value.
pub trait Context<T> {
    /// Prefixes `context` to the error message (an `Option`'s `None` becomes an
    /// [`ErrorKind::Input`] error saying `context`).
    fn context(self, context: impl Display) -> Result<T>;
    /// Like [`Context::context`], building the context only on error.
    fn with_context<C: Display>(self, f: impl FnOnce() -> C) -> Result<T>;
}

impl<T, E: Into<Error>> Context<T> for std::result::Result<T, E> {
    fn context(self, context: impl Display) -> Result<T> {
        self.map_err(|e| e.into().context(context))
    }
    fn with_context<C: Display>(self, f: impl FnOnce() -> C) -> Result<T> {
        self.map_err(|e| e.into().context(f()))
    }
}

impl<T> Context<T> for Option<T> {
    fn context(self, context: impl Display) -> Result<T> {
        self.ok_or_else(|| Error::input(context.to_string()))
    }
    fn with_context<C: Display>(self, f: impl FnOnce() -> C) -> Result<T> {
        self.ok_or_else(|| Error::input(f().to_string()))
    }
}

/// Returns early with an [`ErrorKind::Input`] error built by `format!`.
#[macro_export]
macro_rules! bail {
    ($($arg:tt)*) => {
        return Err($crate::Error::input(format!($($arg)*)))
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn context_prefixes_and_keeps_the_kind() {
        let e: Result<()> = Err(Error::new(ErrorKind::Io, "a.hdr: cannot open"));
        let e = e.context("scan").unwrap_err();
        assert_eq!(e.to_string(), "scan: a.hdr: cannot open");
        assert_eq!(e.kind(), ErrorKind::Io);
        let none: Option<u8> = None;
        assert_eq!(
            none.context("x: missing").unwrap_err().kind(),
            ErrorKind::Input
        );
    }

    #[test]
    fn core_numerical_failures_are_compute_errors() {
        let e: Error = plumewatch_core::Error::Numerical("not positive definite".into()).into();
        assert_eq!(e.kind(), ErrorKind::Compute);
        let e: Error = plumewatch_core::Error::Invalid("bad".into()).into();
        assert_eq!(e.kind(), ErrorKind::Input);
    }
}
