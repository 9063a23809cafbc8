//! Source location and emission rate on a steady Gaussian plume of known Q on a noisy
//! background, detected with the CFAR rule.

use plumewatch_core::gas::PPM_M_TO_KG_M2;
use plumewatch_core::geo::{downwind_pixel_unit, GeoTransform};
use plumewatch_core::locate::{locate_source, SourceMethod, SourceParams};
use plumewatch_core::plume::{find_plumes, CfarParams, PlumeInputs, RejectParams};
use plumewatch_core::quantify::{ime_kg, quantify, PlumePixels, QuantifyParams, UEffModel, Wind};
use plumewatch_core::raster::Grid;
use plumewatch_core::rng::SeededRng;

const GSD: f64 = 3.0;
const Q_KG_H: f64 = 500.0;
const U: f64 = 3.0;
const X_MAX_M: f64 = 360.0;
const NOISE_PPM_M: f64 = 100.0;

struct Scene {
    grid: Grid,
    truth: Vec<f32>,
    enh: Vec<f32>,
    sigma: Vec<f32>,
    z: Vec<f32>,
    transform: GeoTransform,
    wind: Wind,
    source: (f64, f64),
}

/// Steady Gaussian plume, column density `Q / (U √(2π) σ_y) exp(−y² / 2σ_y²)` for
/// `0 < x < X_MAX_M` (σ_y = 2 m + 0.25 x), pixel-integrated on 8 × 8 sub-samples,
/// plus white noise of `NOISE_PPM_M`.
fn scene(from_deg: f64, src_col: f64, src_row: f64, seed: u64) -> Scene {
    let grid = Grid::new(220, 220);
    let transform = GeoTransform::north_up(500_000.0, 4_000_000.0, GSD).unwrap();
    let (de, dn) = plumewatch_core::geo::downwind_map_unit(from_deg);
    let q_kg_s = Q_KG_H / 3600.0;
    let mut truth = vec![0f32; grid.len()];
    let sub = 8;
    for r in 0..grid.lines {
        for c in 0..grid.samples {
            let mut acc = 0.0;
            for a in 0..sub {
                for b in 0..sub {
                    let pc = c as f64 + (b as f64 + 0.5) / sub as f64;
                    let pr = r as f64 + (a as f64 + 0.5) / sub as f64;
                    // metres east / north of the source
                    let e = (pc - src_col) * GSD;
                    let n = -(pr - src_row) * GSD;
                    let x = e * de + n * dn;
                    let y = -e * dn + n * de;
                    if x <= 0.0 || x > X_MAX_M {
                        continue;
                    }
                    let sy = 2.0 + 0.25 * x;
                    acc += q_kg_s / (U * (2.0 * std::f64::consts::PI).sqrt() * sy)
                        * (-y * y / (2.0 * sy * sy)).exp();
                }
            }
            truth[r * grid.samples + c] = (acc / (sub * sub) as f64 / PPM_M_TO_KG_M2) as f32;
        }
    }
    let mut rng = SeededRng::new(seed);
    let enh: Vec<f32> = truth
        .iter()
        .map(|&t| t + (NOISE_PPM_M * rng.normal()) as f32)
        .collect();
    let sigma = vec![NOISE_PPM_M as f32; grid.len()];
    let z: Vec<f32> = enh.iter().map(|&e| e / NOISE_PPM_M as f32).collect();
    Scene {
        grid,
        truth,
        enh,
        sigma,
        z,
        transform,
        wind: Wind {
            speed_m_s: U,
            from_deg,
        },
        source: (src_col, src_row),
    }
}

fn the_plume(s: &Scene) -> Vec<usize> {
    let set = find_plumes(
        &PlumeInputs {
            reference: None,
            grid: s.grid,
            z: &s.z,
            enhancement: &s.enh,
            albedo: None,
            invalid: None,
        },
        &CfarParams::default(),
        &RejectParams::default(),
    )
    .unwrap();
    // The faint far end may break off into fragments; the plume is the largest
    // accepted component, and it must reach the source pixel's neighbourhood.
    let main = set
        .plumes
        .iter()
        .filter(|p| p.rejection.is_none())
        .max_by_key(|p| p.n_pixels)
        .expect("plume detected");
    let (sr, sc) = (s.source.1 as isize, s.source.0 as isize);
    let near_source = (-1..=1).any(|dr: isize| {
        (-1..=1).any(|dc: isize| {
            let i = (sr + dr) * s.grid.samples as isize + sc + dc;
            main.pixels.binary_search(&(i as usize)).is_ok()
        })
    });
    assert!(near_source, "largest plume does not reach the source");
    main.pixels.clone()
}

#[test]
fn truth_mass_matches_analytic_mass() {
    // The whole plume holds Q · X / U kg; the generator must conserve it for the other
    // tests to mean anything.
    let s = scene(250.0, 30.3, 150.7, 1);
    let ime = ime_kg(s.truth.iter().map(|&v| v as f64), GSD);
    let expected = Q_KG_H / 3600.0 * X_MAX_M / U;
    assert!((ime / expected - 1.0).abs() < 0.02, "{ime} vs {expected}");
}

#[test]
fn source_is_found_at_the_upwind_end_within_a_pixel() {
    for (k, &(from, c, r)) in [
        (250.0, 30.3, 150.7),
        (315.0, 40.8, 40.2),
        (200.0, 150.5, 30.9),
    ]
    .iter()
    .enumerate()
    {
        let s = scene(from, c, r, 10 + k as u64);
        let pixels = the_plume(&s);
        let down = downwind_pixel_unit(&s.transform, from);
        let src = locate_source(
            s.grid,
            &pixels,
            &s.enh,
            Some(down),
            &SourceParams::default(),
        )
        .unwrap();
        let err = ((src.col - s.source.0).powi(2) + (src.row - s.source.1).powi(2)).sqrt();
        println!(
            "wind from {from}°: source ({:.2}, {:.2}) vs truth ({c}, {r}): {err:.2} px, radius {:.2} px",
            src.col, src.row, src.radius_px
        );
        assert_eq!(src.method, SourceMethod::UpwindEnd);
        assert!(err < 1.0, "source {err:.2} px from truth");
        assert!(src.radius_px >= 0.5 && src.radius_px < 2.0);
    }
}

#[test]
fn ime_with_known_u_eff_recovers_q_and_csf_agrees() {
    let from = 250.0;
    let s = scene(from, 30.3, 150.7, 2);
    let pixels = the_plume(&s);
    let down = downwind_pixel_unit(&s.transform, from);
    let src = locate_source(
        s.grid,
        &pixels,
        &s.enh,
        Some(down),
        &SourceParams::default(),
    )
    .unwrap();
    // The known effective wind of this plume and mask is the one that makes the
    // noise-free mass in the mask give Q: U_eff = Q·L/IME_truth (U_eff ∝ U10, so the
    // wind error propagates). The noisy retrieval over the detected mask must then
    // give Q back within its noise (sd of IME = σ·k·gsd²·sqrt(n), < 1 % here).
    let area = pixels.len() as f64 * GSD * GSD;
    let ime_truth = ime_kg(pixels.iter().map(|&i| s.truth[i] as f64), GSD);
    // The mask holds most, but not all, of the plume's mass (faint wings are lost).
    let total = Q_KG_H / 3600.0 * X_MAX_M / U;
    assert!(
        ime_truth < total && ime_truth > 0.4 * total,
        "{ime_truth} of {total}"
    );
    let u_eff_known = Q_KG_H / 3600.0 * area.sqrt() / ime_truth;
    let params = QuantifyParams {
        u_eff: UEffModel {
            a: u_eff_known / U,
            b: 0.0,
        },
        ..QuantifyParams::default()
    };
    let em = quantify(
        &PlumePixels {
            grid: s.grid,
            pixels: &pixels,
            enhancement: &s.enh,
            sigma: Some(&s.sigma),
        },
        &s.wind,
        GSD,
        (src.col, src.row),
        down,
        &params,
    )
    .unwrap();
    println!("{em:?}");
    assert!(
        (em.rate_kg_h / Q_KG_H - 1.0).abs() < 0.03,
        "IME rate {} vs {Q_KG_H}",
        em.rate_kg_h
    );
    let csf = em.rate_csf_kg_h.expect("long plume has a CSF estimate");
    assert!((csf / Q_KG_H - 1.0).abs() < 0.3, "CSF {csf} vs {Q_KG_H}");
    // Monte Carlo: 50 % wind error and 16 % model error dominate → ~52 % relative spread.
    let rel = em.rate_sd_kg_h / em.rate_kg_h;
    assert!(rel > 0.4 && rel < 0.65, "relative sd {rel}");
    let [p16, p84] = em.rate_p16_p84_kg_h;
    assert!(p16 < em.rate_kg_h && em.rate_kg_h < p84);
    // Seeded: the same call gives the same numbers.
    let again = quantify(
        &PlumePixels {
            grid: s.grid,
            pixels: &pixels,
            enhancement: &s.enh,
            sigma: Some(&s.sigma),
        },
        &s.wind,
        GSD,
        (src.col, src.row),
        down,
        &params,
    )
    .unwrap();
    assert_eq!(em, again);
}

#[test]
fn retrieval_noise_alone_gives_the_expected_spread() {
    // Only retrieval noise: sd(IME) = σ·k·gsd²·sqrt(n), so sd(Q) is known exactly.
    let s = scene(250.0, 30.3, 150.7, 3);
    let pixels = the_plume(&s);
    let params = QuantifyParams {
        wind_rel_error: 0.0,
        model_rel_error: 0.0,
        draws: 2000,
        ..QuantifyParams::default()
    };
    let em = quantify(
        &PlumePixels {
            grid: s.grid,
            pixels: &pixels,
            enhancement: &s.enh,
            sigma: Some(&s.sigma),
        },
        &s.wind,
        GSD,
        (30.3, 150.7),
        (1.0, 0.0),
        &params,
    )
    .unwrap();
    let n = pixels.len() as f64;
    let sd_ime = NOISE_PPM_M * PPM_M_TO_KG_M2 * GSD * GSD * n.sqrt();
    let expected = em.u_eff_m_s * sd_ime / em.length_m * 3600.0;
    assert!(
        (em.rate_sd_kg_h / expected - 1.0).abs() < 0.08,
        "{} vs {expected}",
        em.rate_sd_kg_h
    );
}

#[test]
fn no_wind_falls_back_to_the_maximum_and_bad_inputs_are_errors() {
    let s = scene(250.0, 30.3, 150.7, 4);
    let pixels = the_plume(&s);
    let src = locate_source(s.grid, &pixels, &s.enh, None, &SourceParams::default()).unwrap();
    assert_eq!(src.method, SourceMethod::MaxEnhancement);
    assert!(locate_source(s.grid, &[], &s.enh, None, &SourceParams::default()).is_err());
    let bad_wind = Wind {
        speed_m_s: -1.0,
        from_deg: 0.0,
    };
    let e = quantify(
        &PlumePixels {
            grid: s.grid,
            pixels: &pixels,
            enhancement: &s.enh,
            sigma: None,
        },
        &bad_wind,
        GSD,
        (0.0, 0.0),
        (1.0, 0.0),
        &QuantifyParams::default(),
    )
    .unwrap_err();
    assert!(e.to_string().contains("wind"), "{e}");
}
