//! `plumewatch info`: true dimensions and wavelength ranges of the bundled and shared
//! scenes (checked against the scenes' own `bands.csv` and PROVENANCE.md), GDAL
//! formats, and the data-size check.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn info_json(path: &Path) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_plumewatch"))
        .args(["info", "--json"])
        .arg(path)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        text.trim().lines().count(),
        1,
        "one JSON object on one line"
    );
    serde_json::from_str(&text).unwrap()
}

/// (min, max) of the `wavelength_nm` column of a scene's `bands.csv`.
fn bands_csv_range(dir: &Path) -> (f64, f64, usize) {
    let text = std::fs::read_to_string(dir.join("bands.csv")).unwrap();
    let w: Vec<f64> = text
        .lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split(',').nth(1).unwrap().trim().parse().unwrap())
        .collect();
    let min = w.iter().copied().fold(f64::INFINITY, f64::min);
    let max = w.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    (min, max, w.len())
}

fn check_scene(dir: &Path, dims: (u64, u64, u64)) {
    let v = info_json(&dir.join("radiance.hdr"));
    assert_eq!(
        (
            v["lines"].as_u64(),
            v["samples"].as_u64(),
            v["bands"].as_u64()
        ),
        (Some(dims.0), Some(dims.1), Some(dims.2))
    );
    assert_eq!(v["interleave"], "bil");
    assert_eq!(v["data_type"], "float32");
    assert_eq!(v["byte_order"], "little");
    assert_eq!(v["size_matches"], true);
    let (min, max, n) = bands_csv_range(dir);
    assert_eq!(n as u64, dims.2);
    assert!((v["wavelength_min_nm"].as_f64().unwrap() - min).abs() < 1e-6);
    assert!((v["wavelength_max_nm"].as_f64().unwrap() - max).abs() < 1e-6);
    assert!(v["map_info"].as_str().unwrap().starts_with("UTM"));
    assert!(v["crs_wkt"].as_str().unwrap().contains("UTM_Zone_13N"));
    let c = &v["values"];
    assert_eq!(c["total"].as_u64(), Some(dims.0 * dims.1 * dims.2));
    assert_eq!(
        c["finite"], c["total"],
        "the synthetic scenes have no NaN/Inf"
    );
    // Mean at-sensor radiance over 1400–2500 nm is of order 0.1–1 µW cm⁻² sr⁻¹ nm⁻¹.
    let mean = c["mean"].as_f64().unwrap();
    assert!((0.1..1.0).contains(&mean), "{mean}");
}

#[test]
fn bundled_emit_small_reports_true_dimensions_and_wavelengths() {
    check_scene(&root().join("data/scenes/emit_small"), (256, 128, 148));
}

#[test]
fn shared_avng_small_reports_true_dimensions_and_wavelengths() {
    let dir = root().join("../shared/data/scenes/avng_small");
    if !plumewatch_io::testing::shared_data_present(&dir.join("radiance.hdr"), "info on avng_small")
    {
        return;
    }
    // PROVENANCE.md: 384 × 192 × 219, 1403–2495 nm.
    check_scene(&dir, (384, 192, 219));
    let v = info_json(&dir.join("radiance.hdr"));
    assert_eq!(v["wavelength_min_nm"].as_f64().unwrap().round(), 1403.0);
    assert_eq!(v["wavelength_max_nm"].as_f64().unwrap().round(), 2495.0);
}

#[test]
fn emit_netcdf_through_gdal() {
    let v = info_json(&root().join("crates/io/tests/data/emit_l1b_like.nc"));
    assert_eq!(v["format"], "netCDF");
    assert_eq!(
        (
            v["lines"].as_u64(),
            v["samples"].as_u64(),
            v["bands"].as_u64()
        ),
        (Some(8), Some(32), Some(148))
    );
    assert_eq!(v["interleave"], "bip");
    assert_eq!(v["data_type"], "float32");
    assert_eq!(v["nodata"].as_f64(), Some(-9999.0));
    // One pixel holds the fill value in every band.
    assert_eq!(v["values"]["nan"].as_u64(), Some(148));
    assert!(v["bad_band_count"].as_u64().unwrap() > 0);
    assert!((v["wavelength_min_nm"].as_f64().unwrap() - 1402.04).abs() < 0.01);
}

#[test]
fn text_output_and_oversized_data_file() {
    let dir = tempfile::tempdir().unwrap();
    let hdr = dir.path().join("c.hdr");
    std::fs::write(
        &hdr,
        "ENVI\nsamples = 2\nlines = 1\nbands = 1\ndata type = 1\nbbl = {0}\nwavelength = {2300}\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("c.img"), [1u8, 2, 3]).unwrap();
    let v = info_json(&hdr);
    assert_eq!(v["size_matches"], false);
    assert_eq!(
        (v["data_file_bytes"].as_u64(), v["expected_bytes"].as_u64()),
        (Some(3), Some(2))
    );
    assert_eq!(v["bad_band_count"].as_u64(), Some(1));
    let out = Command::new(env!("CARGO_BIN_EXE_plumewatch"))
        .args(["info", "--quiet"])
        .arg(&hdr)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    for want in [
        "dimensions:    1 lines × 2 samples × 1 bands",
        "interleave:    bsq",
        "data type:     uint8",
        "wavelength:    2300.00 – 2300.00 nm",
        "bad bands:     1: 1–1 (2300.0–2300.0 nm)",
        "header promises 2 (1 extra bytes ignored)",
    ] {
        assert!(text.contains(want), "missing {want:?} in:\n{text}");
    }
}
