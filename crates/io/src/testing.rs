//! Support for the workspace's integration tests: the project's shared data set
//! (`../shared/data`, beside the repository) is present on CI, so a test that needs it
//! fails there when it is missing instead of passing by skipping.

use std::path::Path;

/// Whether `path` (a file of the shared data set, needed by the test `what`) exists.
/// Outside CI a missing file is noted on stderr and the caller skips its check; with
/// `CI` set a missing file panics, failing the test.
pub fn shared_data_present(path: &Path, what: &str) -> bool {
    if path.exists() {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "{what}: {} is missing; CI runs with the shared data set beside the repository (../shared/data)",
        path.display()
    );
    eprintln!(
        "note: {what}: {} is absent (shared data only); not checked here, and a failure under CI",
        path.display()
    );
    false
}
