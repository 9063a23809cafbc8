//! Sensor band models and target files: presets, ENVI headers, CSV tables, mag1c text,
//! and the errors users see for bad input.

use plumewatch_core::{unit_absorption, Target};
use plumewatch_io::target_file::{TargetFormat, TargetTable};
use plumewatch_io::{gas_lut, sensor, target_file};
use std::path::{Path, PathBuf};

fn data(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../data")
        .join(rel)
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn presets_hold_the_bundled_band_tables() {
    let avng = sensor::preset("aviris-ng").unwrap();
    assert_eq!(avng.len(), 432);
    assert!((avng.center_nm[0] - 346.2995778).abs() < 1e-9);
    assert!((avng.center_nm[431] - 2505.0363678).abs() < 1e-6);
    assert!(avng.fwhm_nm.iter().all(|f| (5.5..6.05).contains(f)));
    let emit = sensor::preset("EMIT").unwrap();
    assert_eq!(emit.len(), 285);
    assert!(emit.fwhm_nm.iter().all(|&f| f == 8.5));
    assert_eq!(sensor::preset("avng"), Some(avng.clone()));
    assert!(sensor::preset("hyperion").is_none());
    // The preset equals loading the same CSV from disk.
    assert_eq!(
        sensor::load(&data("sensors/aviris-ng.csv"), None).unwrap(),
        avng
    );
}

#[test]
fn band_model_from_an_envi_header_and_a_data_file() {
    let hdr = data("scenes/emit_small/radiance.hdr");
    let bands = sensor::load(&hdr, None).unwrap();
    assert_eq!(bands.len(), 148);
    // The scene's bands are the EMIT preset's bands inside the LUT range.
    let emit = sensor::preset("emit").unwrap();
    let idx = emit.indices_in_window(1400.0, 2500.0);
    assert_eq!(idx.len(), 148);
    for (k, &i) in idx.iter().enumerate() {
        assert!((bands.center_nm[k] - emit.center_nm[i]).abs() < 1e-3);
        assert!((bands.fwhm_nm[k] - 8.5).abs() < 1e-6);
    }
    // The same through the data file (open_cube) and through the scene's bands.csv.
    let via_img = sensor::load(&data("scenes/emit_small/radiance.img"), None).unwrap();
    assert_eq!(via_img, bands);
    let via_csv = sensor::load(&data("scenes/emit_small/bands.csv"), None).unwrap();
    for k in 0..148 {
        assert!((via_csv.center_nm[k] - bands.center_nm[k]).abs() < 1e-3);
    }
}

#[test]
fn missing_fwhm_is_a_clear_error_unless_overridden() {
    let dir = tempfile::tempdir().unwrap();
    let csv = write(
        dir.path(),
        "b.csv",
        "band,wavelength_nm\n1,2100.0\n2,2107.5\n",
    );
    let e = sensor::load(&csv, None).unwrap_err().to_string();
    assert!(
        e.contains("b.csv") && e.contains("FWHM") && e.contains("--fwhm"),
        "{e}"
    );
    let b = sensor::load(&csv, Some(7.0)).unwrap();
    assert_eq!(b.fwhm_nm, [7.0, 7.0]);

    let csv = write(
        dir.path(),
        "c.csv",
        "band,wavelength_nm,fwhm_nm\n1,2100.0,6\n2,2107.5,\n",
    );
    let e = sensor::load(&csv, None).unwrap_err().to_string();
    assert!(
        e.contains("line 3, column fwhm_nm") && e.contains("--fwhm"),
        "{e}"
    );

    let hdr = write(
        dir.path(),
        "x.hdr",
        "ENVI\nsamples = 2\nlines = 2\nbands = 3\nheader offset = 0\ndata type = 4\n\
         interleave = bil\nbyte order = 0\nwavelength units = Micrometers\n\
         wavelength = {2.1, 2.2, 2.3}\n",
    );
    let e = sensor::load(&hdr, None).unwrap_err().to_string();
    assert!(
        e.contains("x.hdr") && e.contains("fwhm") && e.contains("--fwhm"),
        "{e}"
    );
    let b = sensor::load(&hdr, Some(10.0)).unwrap();
    assert!(
        (b.center_nm[1] - 2200.0).abs() < 1e-9,
        "µm converted to nm: {:?}",
        b.center_nm
    );
    assert!(sensor::load(&hdr, Some(-1.0)).is_err());
}

#[test]
fn bad_csv_rows_name_the_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "band,wavelength_nm,fwhm_nm\n1,2100,6\n2,abc,6\n",
            "line 3, column wavelength_nm",
        ),
        ("band,wavelength_nm,fwhm_nm\n1,2100,6\n2,2110\n", "line 3"),
        (
            "band,wavelength_nm,fwhm_nm\n1,2100,6\n3,2110,6\n",
            "line 3, column band",
        ),
        (
            "band,wavelength_nm,fwhm_nm\n1,-5,6\n",
            "line 2, column wavelength_nm",
        ),
        (
            "band,wavelength_nm,fwhm_nm\n1,2100,0\n",
            "line 2, column fwhm_nm",
        ),
        (
            "band,center,width\n1,2100,6\n",
            "expected band,wavelength_nm,fwhm_nm",
        ),
        ("band,wavelength_nm,fwhm_nm\n", "rows"),
        ("", "empty"),
    ];
    for (text, expect) in cases {
        let p = write(dir.path(), "bad.csv", text);
        let e = sensor::load(&p, None).unwrap_err().to_string();
        assert!(e.contains("bad.csv") && e.contains(expect), "{text:?}: {e}");
    }
}

#[test]
fn target_files_round_trip_in_both_formats() {
    let lut = gas_lut::builtin("ch4").unwrap();
    let emit = sensor::preset("emit").unwrap();
    let idx = emit.indices_in_window(2122.0, 2488.0);
    let target = unit_absorption(&lut, &emit.subset(&idx)).unwrap();
    let numbers: Vec<usize> = idx.iter().map(|i| i + 1).collect();
    let table = TargetTable::from_target(&target, Some(&numbers)).unwrap();
    let dir = tempfile::tempdir().unwrap();

    let csv = dir.path().join("t.csv");
    target_file::write(&csv, &table, TargetFormat::Csv).unwrap();
    let text = std::fs::read_to_string(&csv).unwrap();
    assert!(text.starts_with("band,wavelength_nm,fwhm_nm,absorption_per_ppm_m\n"));
    let back = target_file::read(&csv).unwrap();
    assert_eq!(back, table, "CSV is exact (shortest round-trip formatting)");
    let t: Target = back.to_target("ch4", None).unwrap();
    assert_eq!(t, target);

    let txt = dir.path().join("t.txt");
    target_file::write(&txt, &table, TargetFormat::Mag1cText).unwrap();
    let back = target_file::read(&txt).unwrap();
    assert_eq!(back.band, numbers);
    assert!(back.fwhm_nm.is_none());
    for (a, b) in back
        .absorption_per_ppm_m
        .iter()
        .zip(&table.absorption_per_ppm_m)
    {
        assert!(((a - b) / b).abs() < 1e-15);
    }
    // No FWHM in mag1c text: to_target needs one.
    assert!(back.to_target("ch4", None).is_err());
    assert!(back.to_target("ch4", Some(8.5)).is_ok());
    // Aligning to a cube's bands by wavelength.
    let v = back.values_for(&emit.subset(&idx).center_nm, 0.5).unwrap();
    assert_eq!(v.len(), idx.len());
    assert!(back.values_for(&[1000.0], 0.5).is_err());
}

#[test]
fn bad_target_rows_name_the_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("001 2100.0 -0.5\n002 2107.5\n", "line 2"),
        ("001 2100.0 -0.5\n002 2107.5 x\n", "line 2, column 3"),
        ("0 2100.0 -0.5\n", "line 1, column band"),
        (
            "band,wavelength_nm,value\n1,2100,-1e-6\n",
            "absorption_per_ppm_m",
        ),
        (
            "band,wavelength_nm,absorption_per_ppm_m\n1,2100,inf\n",
            "line 2, column absorption",
        ),
    ];
    for (text, expect) in cases {
        let p = write(dir.path(), "bad_target.txt", text);
        let e = target_file::read(&p).unwrap_err().to_string();
        assert!(
            e.contains("bad_target.txt") && e.contains(expect),
            "{text:?}: {e}"
        );
    }
}

#[test]
fn failed_target_write_leaves_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    let table = TargetTable {
        band: vec![1],
        wavelength_nm: vec![2100.0],
        fwhm_nm: None,
        absorption_per_ppm_m: vec![-1e-6],
    };
    let missing = dir.path().join("no_such_dir").join("t.csv");
    assert!(target_file::write(&missing, &table, TargetFormat::Csv).is_err());
    assert!(!missing.exists());
}

#[test]
fn band_model_from_an_emit_netcdf() {
    // The io crate's EMIT L1B-like fixture (sensor_band_parameters/wavelengths, fwhm).
    let nc = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/emit_l1b_like.nc");
    let bands = sensor::load(&nc, None).unwrap();
    let envi = sensor::load(&data("scenes/emit_small/radiance.hdr"), None).unwrap();
    assert_eq!(bands.len(), 148);
    for k in 0..148 {
        // The NetCDF stores float32 band centres.
        assert_eq!(bands.center_nm[k] as f32, envi.center_nm[k] as f32);
        assert_eq!(bands.fwhm_nm[k], 8.5);
    }
    // A target on the NetCDF's bands agrees with one on the ENVI header's bands to the
    // precision of float32 band centres.
    let lut = gas_lut::builtin("ch4").unwrap();
    let idx = bands.indices_in_window(2122.0, 2488.0);
    let a = unit_absorption(&lut, &bands.subset(&idx)).unwrap();
    let b = unit_absorption(&lut, &envi.subset(&idx)).unwrap();
    for (x, y) in a.absorption_per_ppm_m.iter().zip(&b.absorption_per_ppm_m) {
        assert!(((x - y) / y).abs() < 1e-4, "{x} vs {y}");
    }
}
