//! Progress reporting from the library to whatever front end runs it: a terminal bar
//! (CLI), Server-Sent Events (server), tqdm (Python), or nothing.

/// Receives progress from long steps. Implementations must be cheap and thread-safe:
/// `advance` is called from worker threads.
pub trait Progress: Sync {
    /// A new step named `what` begins, with `total` units of work.
    fn stage(&self, what: &str, total: u64);
    /// `n` more units of the current step are done.
    fn advance(&self, n: u64);
    /// The current step is over.
    fn finish(&self) {}
}

/// Progress that goes nowhere.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl Progress for NoProgress {
    fn stage(&self, _what: &str, _total: u64) {}
    fn advance(&self, _n: u64) {}
}
