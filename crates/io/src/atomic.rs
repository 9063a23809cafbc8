//! Write-then-rename: no output is ever left half-written under its final name.

use crate::{Error, Result};
use std::path::{Path, PathBuf};

/// The temporary name an output is written under before [`commit`]: a hidden sibling
/// of `final_path` in the same directory (so the rename stays on one file system).
pub fn temp_path(final_path: &Path) -> PathBuf {
    let name = final_path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = format!(".{name}.{}.tmp", std::process::id());
    match final_path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.join(tmp),
        _ => PathBuf::from(tmp),
    }
}

/// Renames a finished temporary file onto its final name.
pub fn commit(temp: &Path, final_path: &Path) -> Result<()> {
    std::fs::rename(temp, final_path)
        .map_err(|e| Error::io(final_path, "cannot move finished output into place", e))
}

/// Runs `write` on a temporary path beside `final_path` and renames the result into
/// place only when `write` succeeds; on failure the temporary file is removed.
pub fn write_atomically<T>(final_path: &Path, write: impl FnOnce(&Path) -> Result<T>) -> Result<T> {
    let temp = temp_path(final_path);
    match write(&temp) {
        Ok(v) => {
            commit(&temp, final_path)?;
            Ok(v)
        }
        Err(e) => {
            let _ = std::fs::remove_file(&temp);
            Err(e)
        }
    }
}

/// Writes `bytes` to `final_path` atomically.
pub fn write_bytes(final_path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomically(final_path, |tmp| {
        use std::io::Write;
        let mut f = std::fs::File::create(tmp).map_err(|e| Error::io(tmp, "cannot create", e))?;
        f.write_all(bytes)
            .and_then(|()| f.sync_all())
            .map_err(|e| Error::io(tmp, "cannot write", e))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_write_leaves_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out.bin");
        let r: Result<()> = write_atomically(&out, |tmp| {
            std::fs::write(tmp, b"partial").unwrap();
            Err(Error::format(tmp, "test", "forced failure"))
        });
        assert!(r.is_err());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn successful_write_lands_under_final_name() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out.bin");
        write_bytes(&out, b"whole").unwrap();
        assert_eq!(std::fs::read(&out).unwrap(), b"whole");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
