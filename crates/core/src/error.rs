//! Errors of the core algorithms.

/// Result with the core [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong inside the core algorithms.
///
/// Each variant's message names what was wrong and what was expected, so that the
/// command line can print it as is.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Inputs disagree in size (for example a band list and a spectrum). Fix the caller
    /// so that both describe the same bands.
    #[error("{what}: expected {expected}, got {got}")]
    Shape {
        /// What was measured.
        what: String,
        /// The size that was expected.
        expected: usize,
        /// The size that was found.
        got: usize,
    },
    /// A parameter or input value is outside what the algorithm accepts; the message
    /// says which and what is allowed.
    #[error("{0}")]
    Invalid(String),
    /// Reading a line from a [`crate::LineSource`] failed (the message comes from the
    /// I/O layer and names the file).
    #[error("{0}")]
    Read(String),
    /// A statistical fit has no unique solution for the data it was given: its
    /// information matrix is singular (for example a logistic POD curve over trials
    /// that all share one emission rate). The reason says which; fit over more varied
    /// data.
    #[error("degenerate {fit} fit: {reason}")]
    DegenerateFit {
        /// The fit (for example "logistic POD(Q)").
        fit: String,
        /// Why it is degenerate and what would fix it.
        reason: String,
    },
    /// A numerical step failed (for example a covariance that is not positive definite
    /// even after regularisation).
    #[error("numerical failure: {0}")]
    Numerical(String),
}
