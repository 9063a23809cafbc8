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

/// Refuses an output file path that exists and is not a regular file (a device such as
/// `/dev/null`, a FIFO, a socket or a folder): renaming a finished output onto it would
/// replace the node. A symbolic link is replaced by the output, never followed.
pub fn check_output_file(path: &Path) -> Result<()> {
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if !std::fs::metadata(parent).is_ok_and(|m| m.is_dir()) {
        return Err(Error::format(
            path,
            "output",
            format!(
                "its folder {} does not exist (expected an existing folder)",
                parent.display()
            ),
        ));
    }
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.is_file() || m.file_type().is_symlink() => Ok(()),
        Ok(m) if m.is_dir() => Err(Error::format(
            path,
            "output",
            "is a folder (expected the name of a file to write)",
        )),
        Ok(_) => Err(Error::format(
            path,
            "output",
            "exists and is not a regular file (a device, FIFO or socket); expected a new or regular file",
        )),
        Err(_) => Ok(()),
    }
}

/// Refuses an output folder path that exists and is not a folder (a file, device, FIFO
/// or socket).
pub fn check_output_dir(path: &Path) -> Result<()> {
    match std::fs::metadata(path) {
        Ok(m) if m.is_dir() => Ok(()),
        Ok(_) => Err(Error::format(
            path,
            "output folder",
            "exists and is not a folder (a file, device, FIFO or socket); expected a new or existing folder",
        )),
        Err(_) => Ok(()),
    }
}

/// Refuses outputs that would replace an input: any of `outputs` that resolves (after
/// symbolic links, through its folder) to the same file as any of `inputs`.
pub fn check_not_inputs(outputs: &[PathBuf], inputs: &[&Path]) -> Result<()> {
    let resolve = |p: &Path| -> Option<PathBuf> {
        if let Ok(c) = std::fs::canonicalize(p) {
            return Some(c);
        }
        let dir = match p.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        Some(std::fs::canonicalize(dir).ok()?.join(p.file_name()?))
    };
    let inputs: Vec<(PathBuf, &Path)> = inputs
        .iter()
        .filter_map(|i| Some((resolve(i)?, *i)))
        .collect();
    for out in outputs {
        let Some(o) = resolve(out) else { continue };
        if let Some((_, input)) = inputs.iter().find(|(i, _)| *i == o) {
            return Err(Error::format(
                out,
                "output",
                format!(
                    "is the input {} (expected an output apart from the inputs)",
                    input.display()
                ),
            ));
        }
    }
    Ok(())
}

/// Flushes a finished temporary file to the disk: a full disk or an I/O error shows
/// here, before the file takes its final name.
fn sync_file(path: &Path) -> Result<()> {
    std::fs::File::open(path)
        .and_then(|f| f.sync_all())
        .map_err(|e| Error::io(path, "cannot flush output to disk", e))
}

/// Runs `write` on a temporary path beside `final_path` and renames the result into
/// place only when `write` succeeds and the file is flushed to disk; on failure the
/// temporary file is removed. An existing `final_path` that is not a regular file
/// (`/dev/null`, a FIFO) is refused before anything is written.
pub fn write_atomically<T>(final_path: &Path, write: impl FnOnce(&Path) -> Result<T>) -> Result<T> {
    check_output_file(final_path)?;
    let temp = temp_path(final_path);
    match write(&temp).and_then(|v| sync_file(&temp).map(|()| v)) {
        Ok(v) => {
            if let Err(e) = commit(&temp, final_path) {
                let _ = std::fs::remove_file(&temp);
                return Err(e);
            }
            Ok(v)
        }
        Err(e) => {
            // Measured before the temporary file is removed, which frees its space.
            let already = e.to_string().to_ascii_lowercase().contains("no space left");
            let note = (!already).then(|| full_disk_note(final_path)).flatten();
            let _ = std::fs::remove_file(&temp);
            Err(match note {
                Some(note) => e.with_note(&note),
                None => e,
            })
        }
    }
}

/// Free bytes for unprivileged writers on the file system holding `path`'s folder.
#[allow(unsafe_code)]
pub fn free_bytes(path: &Path) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let c = std::ffi::CString::new(dir.as_os_str().as_bytes()).ok()?;
    // SAFETY: a zeroed statvfs is a valid value of this plain C struct; `c` is a valid
    // NUL-terminated path and `st` a properly sized out value.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::statvfs(c.as_ptr(), &mut st) };
    // Both are u64 on 64-bit Linux; the conversion keeps 32-bit targets building.
    #[allow(clippy::useless_conversion)]
    let free = u64::from(st.f_bavail).saturating_mul(u64::from(st.f_frsize));
    (rc == 0).then_some(free)
}

/// "the file system is full" when a write to `path` failed and its file system has
/// under 1 MiB left: GDAL's own messages for a full disk ("IO error writing tag data")
/// do not say so.
fn full_disk_note(path: &Path) -> Option<String> {
    let free = free_bytes(path)?;
    (free < 1 << 20).then(|| {
        format!("the file system holding it is full ({free} bytes free): no space left on device")
    })
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
    use std::os::unix::fs::FileTypeExt;

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

    #[test]
    fn dev_null_and_fifo_outputs_are_refused_and_left_alone() {
        let e = write_bytes(Path::new("/dev/null"), b"x")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("/dev/null") && e.contains("not a regular file"),
            "{e}"
        );
        assert!(std::fs::metadata("/dev/null")
            .unwrap()
            .file_type()
            .is_char_device());
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("out.fifo");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success(), "mkfifo (coreutils) makes the FIFO");
        let e = write_bytes(&fifo, b"x").unwrap_err().to_string();
        assert!(
            e.contains("out.fifo") && e.contains("not a regular file"),
            "{e}"
        );
        assert!(std::fs::metadata(&fifo).unwrap().file_type().is_fifo());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn output_resolving_to_an_input_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("radiance.img");
        std::fs::write(&input, b"data").unwrap();
        let link = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(dir.path(), link.path().join("same")).unwrap();
        let out = link.path().join("same/radiance.img");
        let e = check_not_inputs(&[out], &[&input]).unwrap_err().to_string();
        assert!(
            e.contains("is the input") && e.contains("radiance.img"),
            "{e}"
        );
        let apart = link.path().join("radiance.img");
        check_not_inputs(&[apart], &[&input]).unwrap();
    }
}
