//! The same scene read by the native ENVI reader and through GDAL gives identical values.

use plumewatch_core::LineSource;
use plumewatch_io::{EnviCube, GdalCube, RadianceCube};
use std::path::{Path, PathBuf};

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn assert_identical(hdr: &Path, data: &Path) {
    let native = EnviCube::open(hdr).unwrap();
    let gdal = GdalCube::open(data).unwrap();
    let (nm, gm) = (native.meta(), gdal.meta());
    assert_eq!(
        (nm.lines, nm.samples, nm.bands),
        (gm.lines, gm.samples, gm.bands)
    );
    assert_eq!(gm.format, "ENVI");
    let (wn, wg) = (
        nm.wavelength_nm.as_ref().unwrap(),
        gm.wavelength_nm.as_ref().unwrap(),
    );
    for (a, b) in wn.iter().zip(wg) {
        assert!((a - b).abs() < 1e-6, "wavelength {a} vs {b}");
    }
    assert_eq!(
        nm.georef.as_ref().unwrap().geo_transform,
        gm.georef.as_ref().unwrap().geo_transform
    );
    let bands: Vec<usize> = (0..nm.bands).collect();
    let n = nm.samples * nm.bands;
    let (mut a, mut b) = (vec![0f32; n], vec![0f32; n]);
    let mut compared = 0usize;
    for line in 0..nm.lines {
        native.read_line(line, &bands, &mut a).unwrap();
        gdal.read_line(line, &bands, &mut b).unwrap();
        for (x, y) in a.iter().zip(&b) {
            assert_eq!(x.to_bits(), y.to_bits(), "line {line}");
        }
        compared += n;
    }
    assert_eq!(compared, nm.lines * nm.samples * nm.bands);
}

#[test]
fn emit_small_native_and_gdal_agree_exactly() {
    let dir = workspace_root().join("data/scenes/emit_small");
    assert_identical(&dir.join("radiance.hdr"), &dir.join("radiance.img"));
}

#[test]
fn avng_small_native_and_gdal_agree_exactly() {
    let dir = workspace_root().join("../shared/data/scenes/avng_small");
    if !plumewatch_io::testing::shared_data_present(
        &dir.join("radiance.hdr"),
        "native vs GDAL on avng_small",
    ) {
        return;
    }
    assert_identical(&dir.join("radiance.hdr"), &dir.join("radiance.img"));
}
