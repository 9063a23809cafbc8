//! The server library's error type.

/// A failure in the server library. The message names what failed and how to fix it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A setting is wrong (database URL, listen address, TLS files, data directory):
    /// fix the flag named in the message.
    #[error("{0}")]
    Config(String),
    /// The request or input is invalid (bad role, unknown user or campaign, malformed
    /// scan folder): the message says which field.
    #[error("{0}")]
    Input(String),
    /// The named object does not exist (or is outside the caller's campaigns).
    #[error("{0}")]
    NotFound(String),
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// The database refused or failed a statement.
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
}

/// The server library's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An I/O error on `path`.
    pub fn io(path: impl AsRef<std::path::Path>, source: std::io::Error) -> Error {
        Error::Io {
            path: path.as_ref().display().to_string(),
            source,
        }
    }
}
