//! `plumewatch detect` end to end on the bundled emit_small scene: a 4-band COG with
//! descriptions, units and nodata; mag1c parity through the command line; ENVI output;
//! bad input exits with status 2 and leaves no output behind.

use plumewatch_io::gdal_raster::band_descriptions;
use plumewatch_io::{read_band_f32, EnviCube};
use std::path::{Path, PathBuf};
use std::process::Command;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn scene() -> PathBuf {
    workspace().join("data/scenes/emit_small/radiance.hdr")
}

fn plumewatch() -> Command {
    Command::new(env!("CARGO_BIN_EXE_plumewatch"))
}

#[test]
fn detect_writes_a_four_band_cog_that_matches_mag1c() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("ch4.tif");
    let status = plumewatch()
        .arg("detect")
        .arg(scene())
        .args([
            "--algo",
            "mag1c",
            "--f64",
            "--censor",
            "mag1c",
            "--no-saturation",
            "-q",
        ])
        .arg("--target")
        .arg(workspace().join("data/reference/targets/emit.csv"))
        .arg("-o")
        .arg(&out)
        .status()
        .unwrap();
    assert!(status.success());
    let desc = band_descriptions(&out).unwrap();
    assert_eq!(desc.len(), 4);
    assert_eq!(
        desc[0],
        ("CH4 enhancement".to_string(), "ppm·m".to_string())
    );
    assert_eq!(desc[2].1, "ppm·m");
    let (lines, samples, enh) = read_band_f32(&out, 1).unwrap();
    assert_eq!((lines, samples), (256, 128));
    let (_, _, sigma) = read_band_f32(&out, 3).unwrap();
    let (_, _, z) = read_band_f32(&out, 4).unwrap();
    let reference = EnviCube::open(&workspace().join("data/reference/mag1c/emit_small/mag1c.hdr"))
        .unwrap()
        .read_band_f32(3)
        .unwrap();
    let mut worst = 0.0f32;
    for i in 0..enh.len() {
        let r = reference[i];
        if r.is_finite() && r != -9999.0 {
            worst = worst.max((enh[i] - r).abs());
            assert!((z[i] - enh[i] / sigma[i]).abs() <= 1e-3 * z[i].abs().max(1.0));
        } else {
            assert!(
                !enh[i].is_finite() || enh[i] == -9999.0,
                "pixel {i} should be nodata"
            );
        }
    }
    assert!(
        worst < 0.5,
        "CLI mag1c --f64 vs mag1c 1.2.0: max |Δ| {worst} ppm·m"
    );
}

#[test]
fn detect_envi_output_and_default_pipeline() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("mf");
    let status = plumewatch()
        .arg("detect")
        .arg(scene())
        .args(["--algo", "mf", "--format", "envi", "-q", "-o"])
        .arg(&out)
        .status()
        .unwrap();
    assert!(status.success());
    let cube = EnviCube::open(&dir.path().join("mf.hdr")).unwrap();
    let enh = cube.read_band_f32(0).unwrap();
    // The default pipeline keeps the first and last lines (no censored-edge quirk).
    assert!(enh[..128].iter().all(|v| v.is_finite()));
    assert!(enh[enh.len() - 128..].iter().all(|v| v.is_finite()));
}

/// `--timings` prints every phase, even with `-q`, and the phases add up to no more
/// than the total.
#[test]
fn timings_report_every_phase() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("mf.tif");
    let run = plumewatch()
        .arg("detect")
        .arg(scene())
        .args(["--algo", "mf", "-q", "--timings", "-o"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(run.status.success());
    let err = String::from_utf8(run.stderr).unwrap();
    let line = err
        .lines()
        .find(|l| l.starts_with("timings (wall, ms): "))
        .unwrap_or_else(|| panic!("no timings line in {err:?}"));
    let value = |name: &str| -> f64 {
        let rest = &line[line
            .find(name)
            .unwrap_or_else(|| panic!("{name} in {line}"))
            + name.len()..];
        rest.trim_start()
            .split([',', ' '])
            .next()
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("a number after {name} in {line}"))
    };
    let phases: Vec<f64> = [
        "open and gas window",
        "read",
        "compute",
        "other detection",
        "write",
    ]
    .iter()
    .map(|p| value(p))
    .collect();
    let total = value("total");
    assert!(phases.iter().all(|&v| v >= 0.0), "{line}");
    assert!(value("compute") > 0.0 && value("write") > 0.0, "{line}");
    assert!(phases.iter().sum::<f64>() <= total + 0.5, "{line}");
    assert!(out.exists());
}

#[test]
fn bad_input_exits_2_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("x.tif");
    let o = plumewatch()
        .arg("detect")
        .arg(dir.path().join("missing.hdr"))
        .arg("-o")
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.starts_with("plumewatch: error:"), "{err}");
    assert!(err.contains("missing.hdr"), "{err}");
    let o = plumewatch()
        .arg("detect")
        .arg(scene())
        .args(["--window", "2600,2700", "-o"])
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("window"));
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}
