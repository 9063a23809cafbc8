//! Where plumewatch's data files (gas LUTs, sensor tables, noise models, solar spectra,
//! the spectral library under `data/`) are found at run time.
//!
//! The places, in order:
//! 1. the directory named by the environment variable [`DATA_ENV`] (`PLUMEWATCH_DATA`);
//! 2. next to the executable: `<exe dir>/../share/plumewatch/data` (an install prefix)
//!    and `<exe dir>/data` (an unpacked archive);
//! 3. the source tree this crate was built from, as a last resort (development builds
//!    and tests).
//!
//! A directory counts when the file asked for exists in it, so a partial data directory
//! falls through to the next place for the files it lacks, except with the environment
//! variable, which when set is the only place looked in: an override that silently fell
//! back would hide a wrong path.

use crate::{Error, Result};
use std::path::{Path, PathBuf};

/// Environment variable naming the data directory.
pub const DATA_ENV: &str = "PLUMEWATCH_DATA";

/// The directories searched for data files, in order (see the module docs).
pub fn data_dirs() -> Vec<PathBuf> {
    if let Some(dir) = std::env::var_os(DATA_ENV).filter(|v| !v.is_empty()) {
        return vec![PathBuf::from(dir)];
    }
    let mut dirs = Vec::new();
    if let Some(exe_dir) = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(Path::to_path_buf))
    {
        dirs.push(exe_dir.join("../share/plumewatch/data"));
        dirs.push(exe_dir.join("data"));
    }
    dirs.push(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data"));
    dirs
}

/// The path of the data file `relative` (e.g. `surfaces/s06av95a_envi.hdr`): the first
/// of [`data_dirs`] that holds it. The error lists every place tried and how to point
/// plumewatch at its data.
pub fn data_file(relative: &str) -> Result<PathBuf> {
    let dirs = data_dirs();
    if let Some(found) = dirs.iter().map(|d| d.join(relative)).find(|p| p.is_file()) {
        return Ok(found);
    }
    let tried: Vec<String> = dirs
        .iter()
        .map(|d| d.join(relative).display().to_string())
        .collect();
    Err(Error::format(
        Path::new(relative),
        "data file",
        format!(
            "not found; tried {} (set {DATA_ENV} to the directory holding plumewatch's data/)",
            tried.join(", ")
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Both cases in one test: the environment is process-wide and tests run in threads.
    #[test]
    fn env_var_overrides_and_a_miss_lists_the_places_tried() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("surfaces")).unwrap();
        std::fs::write(dir.path().join("surfaces/lib.hdr"), "ENVI\n").unwrap();
        std::env::set_var(DATA_ENV, dir.path());
        let found = data_file("surfaces/lib.hdr");
        let missing = data_file("surfaces/none.hdr");
        std::env::remove_var(DATA_ENV);
        assert_eq!(found.unwrap(), dir.path().join("surfaces/lib.hdr"));
        let msg = missing.unwrap_err().to_string();
        assert!(
            msg.contains(&dir.path().join("surfaces/none.hdr").display().to_string())
                && msg.contains(DATA_ENV),
            "{msg}"
        );
        // Without the override the source tree is the last place and holds the data.
        let bundled = data_file("surfaces/s06av95a_envi.hdr").unwrap();
        assert!(bundled.is_file());
        let msg = data_file("surfaces/none.hdr").unwrap_err().to_string();
        assert!(
            msg.contains("share/plumewatch/data") && msg.contains("tried"),
            "{msg}"
        );
    }
}
