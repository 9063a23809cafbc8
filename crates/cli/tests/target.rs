//! `plumewatch target` end to end: the CSV it writes agrees with mag1c's reference
//! target, windows select the right bands, `-o -` writes to stdout, and bad input is a
//! one-line error with exit status 2.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn data(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../data")
        .join(rel)
}

fn plumewatch(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_plumewatch"))
        .args(args)
        .output()
        .unwrap()
}

/// Rows of a written target CSV: (band, wavelength, fwhm, absorption).
fn rows(text: &str) -> Vec<(usize, f64, f64, f64)> {
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("band,wavelength_nm,fwhm_nm,absorption_per_ppm_m")
    );
    lines
        .map(|l| {
            let c: Vec<&str> = l.split(',').collect();
            (
                c[0].parse().unwrap(),
                c[1].parse().unwrap(),
                c[2].parse().unwrap(),
                c[3].parse().unwrap(),
            )
        })
        .collect()
}

/// mag1c's reference target for a preset (×1e5 undone).
fn mag1c(name: &str) -> Vec<f64> {
    std::fs::read_to_string(data(&format!("reference/targets/{name}.csv")))
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| l.split_once(',').unwrap().1.parse::<f64>().unwrap() / 1e5)
        .collect()
}

#[test]
fn windowed_aviris_ng_target_matches_mag1c() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("target.csv");
    let o = plumewatch(&[
        "target",
        "--gas",
        "ch4",
        "--sensor",
        "aviris-ng",
        "--window",
        "2122,2488",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let r = rows(&std::fs::read_to_string(&out).unwrap());
    let reference = mag1c("aviris-ng");
    // Bands 356–428 (2124.38–2485.00 nm) have centres in 2122–2488 nm.
    assert_eq!(r.len(), 73);
    assert_eq!((r[0].0, r[72].0), (356, 428));
    for (band, wl, fwhm, a) in &r {
        assert!((2122.0..=2488.0).contains(wl));
        assert!((5.5..6.1).contains(fwhm));
        assert!(*a < 0.0, "band {band}: CH4 absorbs, {a}");
        let m = reference[band - 1];
        assert!(
            (a - m).abs() <= 1e-6 * m.abs(),
            "band {band}: {a} vs mag1c {m}"
        );
    }
    // Nothing but the output in the directory (written atomically).
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn all_bands_to_stdout_without_a_window() {
    let o = plumewatch(&["target", "--sensor", "emit", "-o", "-", "--quiet"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(o.stderr.is_empty());
    let r = rows(&String::from_utf8(o.stdout).unwrap());
    assert_eq!(r.len(), 285);
    assert_eq!(r[0].0, 1);
    // Bands far outside the LUT (visible) are 0, as in mag1c.
    assert_eq!(r[0].3, 0.0);
    for ((_, _, _, a), m) in r.iter().zip(mag1c("emit")) {
        assert!((a - m).abs() <= (1e-6 * m.abs()).max(1e-18), "{a} vs {m}");
    }
}

#[test]
fn sensor_file_with_fwhm_override_and_mag1c_format() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("bands.csv");
    std::fs::write(&csv, "band,wavelength_nm\n1,2200.0\n2,2300.0\n3,2350.0\n").unwrap();
    let out = dir.path().join("t.txt");
    let o = plumewatch(&[
        "target",
        "--sensor",
        csv.to_str().unwrap(),
        "--fwhm",
        "8.5",
        "--format",
        "mag1c",
        "-o",
        out.to_str().unwrap(),
        "-q",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = std::fs::read_to_string(&out).unwrap();
    assert_eq!(text.lines().count(), 3);
    assert!(text.starts_with("001 2200 -"), "{text}");
}

/// Runs a command that must fail and returns its one-line error.
fn fails(args: &[&str]) -> String {
    let o = plumewatch(args);
    assert_eq!(o.status.code(), Some(2), "{args:?}");
    let e = String::from_utf8(o.stderr).unwrap();
    assert!(
        e.starts_with("plumewatch: error: ") && e.lines().count() == 1,
        "{e}"
    );
    e
}

#[test]
fn bad_input_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("t.csv");
    let o = out.to_str().unwrap();
    // Missing FWHM.
    let csv = dir.path().join("nofwhm.csv");
    std::fs::write(&csv, "band,wavelength_nm\n1,2200.0\n").unwrap();
    let e = fails(&["target", "--sensor", csv.to_str().unwrap(), "-o", o]);
    assert!(e.contains("nofwhm.csv") && e.contains("--fwhm"), "{e}");
    // A window the LUT does not cover.
    let e = fails(&[
        "target", "--sensor", "emit", "--window", "900,1300", "-o", o,
    ]);
    assert!(
        e.contains("outside") && e.contains("1399.59–2522.04 nm"),
        "{e}"
    );
    // A bad CSV row.
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, "band,wavelength_nm,fwhm_nm\n1,2200,6\n2,22x0,6\n").unwrap();
    let e = fails(&["target", "--sensor", bad.to_str().unwrap(), "-o", o]);
    assert!(
        e.contains("bad.csv") && e.contains("line 3, column wavelength_nm"),
        "{e}"
    );
    // Unknown sensor and gas.
    let e = fails(&["target", "--sensor", "hyperion", "-o", o]);
    assert!(e.contains("aviris-ng, emit"), "{e}");
    let e = fails(&["target", "--gas", "sf6", "--sensor", "emit", "-o", o]);
    assert!(e.contains("sf6") && e.contains("ch4"), "{e}");
    // Nothing was written.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
}
