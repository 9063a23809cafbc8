//! Physics of the unit absorption target on synthetic LUTs with known answers.

use plumewatch_core::target::select_window;
use plumewatch_core::{convolve_lut, transmittance_ratio, unit_absorption, BandModel, GasLut};

/// A fine grid from `lo` to `hi` nm in steps of `step` nm.
fn grid(lo: f64, hi: f64, step: f64) -> Vec<f64> {
    let n = ((hi - lo) / step).round() as usize + 1;
    (0..n).map(|i| lo + i as f64 * step).collect()
}

/// A LUT following Beer–Lambert exactly: L(c, λ) = L0(λ)·exp(k(λ)·c).
fn beer_lambert_lut(
    wl: &[f64],
    conc: &[f64],
    l0: impl Fn(f64) -> f64,
    k: impl Fn(f64) -> f64,
) -> GasLut {
    let radiance = conc
        .iter()
        .map(|&c| wl.iter().map(|&w| l0(w) * (k(w) * c).exp()).collect())
        .collect();
    GasLut::new("synthetic", conc.to_vec(), wl.to_vec(), radiance).unwrap()
}

const MAG1C_CONCENTRATIONS: [f64; 7] = [0.0, 500.0, 1000.0, 2000.0, 4000.0, 8000.0, 16000.0];

#[test]
fn known_exponential_absorption_gives_back_its_coefficient() {
    // A grey absorber: k is the same at every wavelength, so the convolved radiance is
    // L0_band·exp(k·c) exactly and the fitted slope must be k for every band, whatever
    // the continuum L0 and the band widths.
    let wl = grid(2000.0, 2400.0, 0.05);
    let k = -3.7e-6;
    let lut = beer_lambert_lut(
        &wl,
        &MAG1C_CONCENTRATIONS,
        |w| 0.5 + 0.3 * ((w - 2000.0) / 37.0).sin(),
        |_| k,
    );
    let bands = BandModel::new(vec![2100.0, 2200.0, 2301.3], vec![5.5, 8.5, 12.0]).unwrap();
    let t = unit_absorption(&lut, &bands).unwrap();
    assert_eq!(t.gas, "synthetic");
    for (b, a) in t.absorption_per_ppm_m.iter().enumerate() {
        assert!(((a - k) / k).abs() < 1e-10, "band {b}: {a} vs {k}");
    }
}

#[test]
fn weak_absorption_slope_is_the_response_weighted_coefficient() {
    // k linear in λ and small enough that k·c ≪ 1: the slope is the Gaussian-weighted
    // mean of k over the band, which for a symmetric response is k at the band centre.
    let wl = grid(2000.0, 2400.0, 0.02);
    let k = |w: f64| -1e-9 * (1.0 + (w - 2000.0) / 100.0);
    let lut = beer_lambert_lut(&wl, &[0.0, 1.0, 2.0, 4.0], |_| 0.4, k);
    let centers = vec![2150.0, 2222.2, 2350.0];
    let bands = BandModel::new(centers.clone(), vec![6.0; 3]).unwrap();
    let t = unit_absorption(&lut, &bands).unwrap();
    for (c, a) in centers.iter().zip(&t.absorption_per_ppm_m) {
        assert!(
            ((a - k(*c)) / k(*c)).abs() < 1e-6,
            "{c} nm: {a} vs {}",
            k(*c)
        );
    }
}

#[test]
fn response_is_a_unit_gaussian_with_sigma_from_fwhm() {
    // Convolving L(λ) = 1 gives 1 (normalised response); L(λ) = (λ − centre)² gives the
    // response's variance, σ² = (FWHM / 2√(2 ln 2))².
    let wl = grid(2000.0, 2400.0, 0.01);
    let center = 2200.0;
    let fwhm = 8.5;
    let lut = GasLut::new(
        "moments",
        vec![0.0, 1.0],
        wl.clone(),
        vec![
            vec![1.0; wl.len()],
            wl.iter().map(|w| (w - center) * (w - center)).collect(),
        ],
    )
    .unwrap();
    let bands = BandModel::new(vec![center], vec![fwhm]).unwrap();
    let conv = convolve_lut(&lut, &bands).unwrap();
    let sigma = fwhm / (2.0 * (2.0 * 2f64.ln()).sqrt());
    assert!((conv[0][0] - 1.0).abs() < 1e-12, "{}", conv[0][0]);
    assert!(
        ((conv[1][0] - sigma * sigma) / (sigma * sigma)).abs() < 1e-6,
        "{} vs {}",
        conv[1][0],
        sigma * sigma
    );
}

#[test]
fn bands_far_outside_the_lut_get_zero() {
    let wl = grid(2000.0, 2400.0, 0.05);
    let lut = beer_lambert_lut(&wl, &MAG1C_CONCENTRATIONS, |_| 0.3, |_| -2e-6);
    // 1000 nm and 3000 nm are hundreds of σ away: the response underflows to zero.
    let bands = BandModel::new(vec![1000.0, 2200.0, 3000.0], vec![6.0; 3]).unwrap();
    let t = unit_absorption(&lut, &bands).unwrap();
    assert_eq!(t.absorption_per_ppm_m[0], 0.0);
    assert_eq!(t.absorption_per_ppm_m[2], 0.0);
    assert!(t.absorption_per_ppm_m[1] < 0.0);
}

#[test]
fn transmittance_ratio_is_beer_lambert_inside_and_beyond_the_lut() {
    // For an exponential LUT ln L is exactly linear in c, so interpolation and
    // extrapolation are both exact: T(c)/T(0) = exp(k·c).
    let wl = grid(2000.0, 2400.0, 0.05);
    let k = -4e-6;
    let lut = beer_lambert_lut(&wl, &MAG1C_CONCENTRATIONS, |w| 0.2 + w * 1e-4, |_| k);
    let bands = BandModel::new(vec![2100.0, 2300.0], vec![6.0, 6.0]).unwrap();
    let conv = convolve_lut(&lut, &bands).unwrap();
    let mut out = [0.0; 2];
    for c in [0.0, 250.0, 1000.0, 3000.0, 16000.0, 30000.0] {
        transmittance_ratio(&conv, &lut.concentrations_ppm_m, c, &mut out);
        for o in out {
            assert!(((o - (k * c).exp()) / o).abs() < 1e-10, "c {c}: {o}");
        }
    }
}

#[test]
fn transmittance_ratio_interpolates_log_radiance_between_lut_points() {
    // Two-point LUT per band with radiance 1 and e⁻¹ at 0 and 1000 ppm·m: halfway the
    // ratio is e^-0.5 (log-linear), not the linear mean (1 + e⁻¹)/2.
    let conv = vec![vec![1.0, 2.0], vec![(-1f64).exp(), 2.0 * (-1f64).exp()]];
    let mut out = [0.0; 2];
    transmittance_ratio(&conv, &[0.0, 1000.0], 500.0, &mut out);
    for o in out {
        assert!((o - (-0.5f64).exp()).abs() < 1e-14, "{o}");
    }
    // Bands with no radiance (outside the LUT) do not absorb.
    let conv = vec![vec![0.0], vec![0.0]];
    let mut out = [0.0];
    transmittance_ratio(&conv, &[0.0, 1000.0], 500.0, &mut out);
    assert_eq!(out[0], 1.0);
}

#[test]
fn window_outside_the_lut_is_a_clear_error() {
    let wl = grid(2000.0, 2400.0, 0.05);
    let lut = beer_lambert_lut(&wl, &MAG1C_CONCENTRATIONS, |_| 0.3, |_| -2e-6);
    let bands = BandModel::new(
        (0..100).map(|i| 1900.0 + 6.0 * i as f64).collect(),
        vec![6.0; 100],
    )
    .unwrap();
    let e = select_window(&lut, &bands, 1000.0, 1500.0)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("outside") && e.contains("2000.00–2400.00 nm"),
        "{e}"
    );
    let e = select_window(&lut, &bands, 2300.0, 2450.0)
        .unwrap_err()
        .to_string();
    assert!(e.contains("band") && e.contains("narrow the window"), "{e}");
    let e = select_window(&lut, &bands, 2200.0, 2100.0)
        .unwrap_err()
        .to_string();
    assert!(e.contains("first smaller"), "{e}");
    let idx = select_window(&lut, &bands, 2122.0, 2388.0).unwrap();
    assert_eq!(idx.first(), Some(&37)); // 1900 + 6·37 = 2122
    assert_eq!(idx.last(), Some(&81)); // 1900 + 6·81 = 2386
}

#[test]
fn computing_a_target_is_fast() {
    // The real CH4 LUT has 31,800 fine wavelengths and 7 concentrations; AVIRIS-NG has
    // 432 bands. Time a target of that size (the io tests time the real one too).
    let wl = grid(1399.6, 2522.0, 0.0353);
    let lut = beer_lambert_lut(
        &wl,
        &MAG1C_CONCENTRATIONS,
        |_| 0.3,
        |w| -1e-6 * (w / 300.0).sin().abs(),
    );
    let bands = BandModel::new(
        (0..432).map(|i| 346.3 + 5.0087 * i as f64).collect(),
        vec![5.8; 432],
    )
    .unwrap();
    let t0 = std::time::Instant::now();
    let t = unit_absorption(&lut, &bands).unwrap();
    let dt = t0.elapsed();
    println!(
        "unit_absorption, {} fine wavelengths × 432 bands: {dt:?}",
        wl.len()
    );
    assert_eq!(t.len(), 432);
}
