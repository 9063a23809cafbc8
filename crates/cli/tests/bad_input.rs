//! Bad input never panics: each case exits with status 2 and one line on stderr that
//! names the file and the field and says what was expected, and leaves no file behind.
//!
//! `catalogue` runs the table of `bad_input/cases.rs` (every command, over a hundred
//! ways of getting an input wrong) against the contract of `bad_input/harness.rs`:
//! status 2, no panic, a one-line message naming the file and field, nothing written
//! under any name and every input byte-for-byte unchanged. The tests after it are the
//! earlier `info` cases, each with its own fixture. To read every message:
//! `BAD_INPUT_SHOW=1 cargo test -p plumewatch --test bad_input catalogue -- --nocapture`.

#[path = "bad_input/cases.rs"]
mod cases;
#[path = "bad_input/harness.rs"]
mod harness;

use std::path::{Path, PathBuf};
use std::process::Command;

const GOOD_HEADER: &str = "ENVI
description = {bad-input fixture}
samples = 4
lines = 3
bands = 2
header offset = 0
file type = ENVI Standard
data type = 4
interleave = bil
byte order = 0
wavelength units = Nanometers
wavelength = {1500.0, 2000.0}
fwhm = {6.0, 6.0}
";

/// A directory with `cube.hdr` (`header`) and `cube.img` (`data_bytes` bytes).
fn fixture(header: &str, data_bytes: usize) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let hdr = dir.path().join("cube.hdr");
    std::fs::write(&hdr, header).unwrap();
    let data: Vec<u8> = (0..data_bytes).map(|i| (i % 7) as u8).collect();
    std::fs::write(dir.path().join("cube.img"), data).unwrap();
    (dir, hdr)
}

fn listing(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// Runs `plumewatch info ARG` in `dir` and checks the failure contract; returns the
/// message.
fn fails_cleanly(dir: &Path, arg: &Path, fields: &[&str]) -> String {
    let before = listing(dir);
    let out = Command::new(env!("CARGO_BIN_EXE_plumewatch"))
        .arg("info")
        .arg(arg)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "exit status; stderr: {stderr}");
    assert!(
        out.stdout.is_empty(),
        "nothing on stdout: {:?}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(!stderr.contains("panicked"), "panic: {stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one line: {stderr}");
    let msg = lines[0];
    assert!(msg.starts_with("plumewatch: error: "), "{msg}");
    let name = arg.file_name().unwrap().to_string_lossy();
    assert!(
        msg.contains(&*name) || msg.contains("cube."),
        "names the file: {msg}"
    );
    for f in fields {
        assert!(msg.contains(f), "names {f:?}: {msg}");
    }
    assert_eq!(listing(dir), before, "no file left behind");
    msg.to_string()
}

#[test]
fn catalogue() {
    let all = cases::all();
    assert!(all.len() >= 100, "{} cases", all.len());
    harness::base();
    let next = std::sync::atomic::AtomicUsize::new(0);
    let failures = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(c) = all.get(i) else { break };
                let outcome =
                    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| harness::check(c)))
                        .unwrap_or_else(|_| {
                            Some(format!("{}: the case's own setup failed", c.name))
                        });
                if let Some(f) = outcome {
                    failures.lock().unwrap().push(f);
                }
            });
        }
    });
    use std::os::unix::fs::FileTypeExt;
    assert!(std::fs::metadata("/dev/null")
        .unwrap()
        .file_type()
        .is_char_device());
    let failures = failures.into_inner().unwrap();
    assert!(
        failures.is_empty(),
        "{} of {} cases broke the contract:\n{}",
        failures.len(),
        all.len(),
        failures.join("\n")
    );
}

/// Band centres are checked where they are used as a band table, not when a header is
/// read: a product header (mag1c writes a `wavelength` per product band, repeated) is
/// read and described.
#[test]
fn product_header_with_repeated_wavelengths_is_read() {
    let h = GOOD_HEADER.replace("{1500.0, 2000.0}", "{2345.1, 2345.1}");
    let (dir, hdr) = fixture(&h, 96);
    info_json_succeeds(&hdr);
    assert_eq!(listing(dir.path()), ["cube.hdr", "cube.img"]);
}

/// Runs `plumewatch info --json HDR`, checks it exits 0 and returns its stdout.
fn info_json_succeeds(hdr: &Path) -> Vec<u8> {
    let out = Command::new(env!("CARGO_BIN_EXE_plumewatch"))
        .args(["info", "--json"])
        .arg(hdr)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

#[test]
fn good_fixture_is_accepted() {
    // Guards the cases below: they fail because of their one change, not the fixture.
    let (dir, hdr) = fixture(GOOD_HEADER, 96);
    let stdout = info_json_succeeds(&hdr);
    let v: serde_json::Value = serde_json::from_slice(&stdout).unwrap();
    assert_eq!(v["bands"], 2);
    assert_eq!(listing(dir.path()), ["cube.hdr", "cube.img"]);
}

#[test]
fn header_missing_a_required_key() {
    let (dir, hdr) = fixture(&GOOD_HEADER.replace("samples = 4\n", ""), 96);
    let msg = fails_cleanly(dir.path(), &hdr, &["samples", "missing", "expected"]);
    assert!(msg.contains("cube.hdr"), "{msg}");
}

#[test]
fn data_file_shorter_than_the_header_promises() {
    let (dir, hdr) = fixture(GOOD_HEADER, 95);
    let msg = fails_cleanly(dir.path(), &hdr, &["cube.img", "size", "95", "96"]);
    assert!(msg.contains("promises"), "{msg}");
}

#[test]
fn unsupported_data_type() {
    let (dir, hdr) = fixture(&GOOD_HEADER.replace("data type = 4", "data type = 6"), 96);
    fails_cleanly(
        dir.path(),
        &hdr,
        &["cube.hdr", "data type", "6", "expected"],
    );
}

#[test]
fn wavelength_count_differs_from_bands() {
    let h = GOOD_HEADER.replace("{1500.0, 2000.0}", "{1500.0, 2000.0, 2100.0}");
    let (dir, hdr) = fixture(&h, 96);
    fails_cleanly(
        dir.path(),
        &hdr,
        &["cube.hdr", "wavelength", "3", "expected", "2"],
    );
}

#[test]
fn non_numeric_wavelength() {
    let h = GOOD_HEADER.replace("{1500.0, 2000.0}", "{1500.0, two thousand}");
    let (dir, hdr) = fixture(&h, 96);
    fails_cleanly(
        dir.path(),
        &hdr,
        &["cube.hdr", "wavelength", "two thousand", "not a number"],
    );
}

#[test]
fn zero_sized_dimension() {
    let (dir, hdr) = fixture(&GOOD_HEADER.replace("lines = 3", "lines = 0"), 96);
    fails_cleanly(
        dir.path(),
        &hdr,
        &["cube.hdr", "lines", "0", "expected a positive integer"],
    );
}

#[test]
fn nonexistent_path() {
    let (dir, _) = fixture(GOOD_HEADER, 96);
    let missing = dir.path().join("nowhere.hdr");
    fails_cleanly(
        dir.path(),
        &missing,
        &["nowhere.hdr", "cannot open", "No such file"],
    );
}

#[test]
fn directory_given_as_a_file() {
    let (dir, _) = fixture(GOOD_HEADER, 96);
    let sub = dir.path().join("scene.hdr");
    std::fs::create_dir(&sub).unwrap();
    fails_cleanly(
        dir.path(),
        &sub,
        &["scene.hdr", "is a directory", "expected"],
    );
    // A bare directory (no header-like name) goes through the generic opener.
    fails_cleanly(dir.path(), dir.path(), &["is a directory", "expected"]);
}

#[test]
fn data_file_that_is_a_directory() {
    let (dir, hdr) = fixture(GOOD_HEADER, 0);
    std::fs::remove_file(dir.path().join("cube.img")).unwrap();
    std::fs::create_dir(dir.path().join("cube.img")).unwrap();
    fails_cleanly(
        dir.path(),
        &hdr,
        &["cube.img", "data file", "is a directory"],
    );
}

#[test]
fn data_file_that_cannot_be_read() {
    // A symlink loop cannot be opened by anyone, root included.
    let (dir, hdr) = fixture(GOOD_HEADER, 0);
    std::fs::remove_file(dir.path().join("cube.img")).unwrap();
    std::os::unix::fs::symlink("cube.img", dir.path().join("cube.img")).unwrap();
    fails_cleanly(dir.path(), &hdr, &["cube.img", "cannot open data file"]);
}

#[test]
fn data_file_without_read_permission() {
    use std::os::unix::fs::PermissionsExt;
    let (dir, hdr) = fixture(GOOD_HEADER, 96);
    let img = dir.path().join("cube.img");
    std::fs::set_permissions(&img, std::fs::Permissions::from_mode(0o000)).unwrap();
    if std::fs::read(&img).is_ok() {
        // Privileges that ignore file modes (root, as on CI): the unreadable-file error
        // cannot happen, and the cube must then be read like any other.
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_plumewatch"))
            .args(["info", hdr.to_str().unwrap()])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        return;
    }
    fails_cleanly(
        dir.path(),
        &hdr,
        &["cube.img", "cannot open data file", "ermission denied"],
    );
}

#[test]
fn header_that_is_not_envi() {
    let (dir, hdr) = fixture("samples = 4\nlines = 3\n", 96);
    fails_cleanly(
        dir.path(),
        &hdr,
        &["cube.hdr", "first line", "expected the word ENVI"],
    );
}

#[test]
fn nan_and_infinities_are_counted_not_fatal() {
    let dir = tempfile::tempdir().unwrap();
    let hdr = dir.path().join("cube.hdr");
    std::fs::write(&hdr, GOOD_HEADER).unwrap();
    let mut values = [0.5f32; 24];
    values[0] = f32::NAN;
    values[5] = f32::INFINITY;
    values[6] = f32::INFINITY;
    values[23] = f32::NEG_INFINITY;
    let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    std::fs::write(dir.path().join("cube.img"), bytes).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_plumewatch"))
        .args(["info", "--json"])
        .arg(&hdr)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let c = &v["values"];
    assert_eq!(
        (c["total"].as_u64(), c["finite"].as_u64()),
        (Some(24), Some(20))
    );
    assert_eq!(
        (
            c["nan"].as_u64(),
            c["pos_inf"].as_u64(),
            c["neg_inf"].as_u64()
        ),
        (Some(1), Some(2), Some(1))
    );
    assert_eq!(c["min"].as_f64(), Some(0.5));
}

#[test]
fn file_that_is_not_a_raster() {
    let dir = tempfile::tempdir().unwrap();
    let notes = dir.path().join("notes.txt");
    std::fs::write(&notes, "not a raster\n").unwrap();
    fails_cleanly(
        dir.path(),
        &notes,
        &["notes.txt", "format", "not recognized", "expected"],
    );
}
