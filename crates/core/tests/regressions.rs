//! Regression tests, each named after the bug it pins.

use plumewatch_core::eval::fit_logistic_pod;
use plumewatch_core::plume::{ring_signed_area, trace_outline, Plume};
use plumewatch_core::raster::Grid;

/// Plume pixel indices were `u32` (`Plume::pixels: Vec<u32>`): on a mosaic above 2³²
/// pixels the linear index `line · samples + sample` of a pixel in its lower part
/// did not fit and wrapped to a pixel thousands of lines higher up. The index is
/// formed as the segmentation forms it; the plume must store it unchanged and the
/// outline traced from the stored pixels must sit at the pixel's own line and sample.
/// (The mosaic itself is never allocated: only the index arithmetic is exercised.)
// The checked conversions are the test: they are identities for `usize` and fail for
// the old `u32`.
#[allow(clippy::useless_conversion)]
#[test]
fn plume_pixel_indices_wrap_on_mosaics_above_2_pow_32_pixels() {
    let grid = Grid::new(70_000, 70_000);
    assert!(grid.len() as u64 > 1u64 << 32);
    let (line, sample) = (69_000usize, 12_345usize);
    let index = line * grid.samples + sample;
    assert!(index as u64 > u64::from(u32::MAX));
    let plume = Plume {
        id: 1,
        pixels: vec![index
            .try_into()
            .expect("Plume::pixels holds every linear index of the mosaic")],
        n_pixels: 1,
        bbox: [line, sample, line, sample],
        peak_pixel: [line, sample],
        max_enhancement_ppm_m: 500.0,
        peak_z: 6.0,
        significance: 6.0,
        false_alarm_probability: 1e-3,
        outline: Vec::new(),
        rejection: None,
        narrowband: None,
    };
    let stored: Vec<usize> = plume
        .pixels
        .iter()
        .map(|&i| usize::try_from(i).unwrap())
        .collect();
    assert_eq!(stored, vec![index]);
    assert_eq!(grid.line_sample(stored[0]), (line, sample));
    assert_eq!(grid.index(line, sample), index);
    let rings = trace_outline(&stored, grid.samples, plume.bbox);
    assert_eq!(rings.len(), 1);
    assert!((ring_signed_area(&rings[0]).abs() - 1.0).abs() < 1e-12);
    let (c, r) = (sample as f64, line as f64);
    for v in &rings[0] {
        assert!(v[0] == c || v[0] == c + 1.0, "{v:?}");
        assert!(v[1] == r || v[1] == r + 1.0, "{v:?}");
    }
}

/// The logistic POD fit divided by the Fisher information's determinant without
/// checking it: when every trial has the same emission rate the information of the
/// slope is zero (singular Hessian), only the tiny ridge kept the determinant off
/// zero, and the fit returned `Ok` with Q50 = NaN. It must fail with an error that
/// says the fit is degenerate and why.
#[test]
fn logistic_pod_fit_divides_by_a_singular_hessian() {
    let rates = [50.0; 8];
    let detected = [true, false, true, true, false, true, false, false];
    let err = fit_logistic_pod(&rates, &detected)
        .map(|f| format!("Q50 = {} kg/h", f.q50_kg_h))
        .expect_err("a fit over one emission rate has no slope");
    let msg = err.to_string();
    assert!(msg.contains("degenerate"), "{msg}");
    assert!(msg.contains("same emission rate"), "{msg}");
}
