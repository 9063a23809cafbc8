//! EMIT L1B radiance NetCDF through GDAL's multidimensional API agrees exactly with the
//! native ENVI read of the scene it was cut from (`tests/data/make_emit_nc.py`: lines
//! 0–7, samples 0–31 of the bundled `emit_small`, fill value at line 3, sample 5).

use plumewatch_core::LineSource;
use plumewatch_io::{open_cube, EnviCube, RadianceCube};
use std::path::{Path, PathBuf};

fn manifest() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn emit_netcdf_matches_native_envi_values_and_band_table() {
    let nc = manifest().join("tests/data/emit_l1b_like.nc");
    let cube = open_cube(&nc).unwrap();
    let m = cube.meta();
    assert_eq!(m.format, "netCDF");
    assert_eq!((m.lines, m.samples, m.bands), (8, 32, 148));
    assert_eq!(m.nodata, Some(-9999.0));
    assert!(m.georef.is_none(), "L1B is in instrument geometry");

    let envi =
        EnviCube::open(&manifest().join("../../data/scenes/emit_small/radiance.hdr")).unwrap();
    let em = envi.meta();
    let (wn, we) = (
        m.wavelength_nm.as_ref().unwrap(),
        em.wavelength_nm.as_ref().unwrap(),
    );
    assert_eq!(wn.len(), we.len());
    for (a, b) in wn.iter().zip(we) {
        // The NetCDF stores float32 band centres.
        assert_eq!(*a as f32, *b as f32);
    }
    assert!(m.fwhm_nm.as_ref().unwrap().iter().all(|&f| f == 8.5));
    let good = m.bad_bands.as_ref().unwrap();
    for (g, w) in good.iter().zip(wn) {
        assert_eq!(*g, !(*w > 1800.0 && *w < 1950.0), "band at {w} nm");
    }

    // Any band subset, any order.
    let bands: Vec<usize> = vec![147, 0, 73, 73, 10];
    let nb = bands.len();
    let mut from_nc = vec![0f32; 32 * nb];
    let mut row = vec![0f32; 128 * nb];
    let mut compared = 0;
    for line in 0..8 {
        cube.read_line(line, &bands, &mut from_nc).unwrap();
        envi.read_line(line, &bands, &mut row).unwrap();
        for s in 0..32 {
            for k in 0..nb {
                let got = from_nc[s * nb + k];
                if (line, s) == (3, 5) {
                    assert!(got.is_nan(), "fill value reads as NaN");
                } else {
                    assert_eq!(
                        got.to_bits(),
                        row[s * nb + k].to_bits(),
                        "line {line} sample {s}"
                    );
                    compared += 1;
                }
            }
        }
    }
    assert_eq!(compared, (8 * 32 - 1) * nb);
}

#[test]
fn emit_netcdf_errors_name_the_file() {
    let nc = manifest().join("tests/data/emit_l1b_like.nc");
    let cube = open_cube(&nc).unwrap();
    let mut out = vec![0f32; 32];
    let e = cube.read_line(8, &[0], &mut out).unwrap_err().to_string();
    assert!(
        e.contains("emit_l1b_like.nc") && e.contains("line 8"),
        "{e}"
    );
    let e = cube.read_line(0, &[148], &mut out).unwrap_err().to_string();
    assert!(e.contains("band index 148"), "{e}");
    cube.read_line(0, &[], &mut []).unwrap();
    let missing = open_cube(Path::new("/nonexistent/emit.nc"))
        .err()
        .unwrap()
        .to_string();
    assert!(missing.contains("/nonexistent/emit.nc"), "{missing}");
}
