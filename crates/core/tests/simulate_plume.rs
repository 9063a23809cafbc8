//! Physics of the puff plume: mass conservation, flux conservation, sub-pixel sources.

use plumewatch_core::gas::PPM_M_TO_KG_M2;
use plumewatch_core::simulate::{
    raster_mass_kg, render_plume, render_plume_window, PlumeGrid, PlumeParams, PointSource,
    Stability,
};

fn source(row: f64, col: f64, from_deg: f64) -> PointSource {
    PointSource {
        row,
        col,
        rate_kg_h: 100.0,
        wind_speed_m_s: 3.0,
        wind_from_deg: from_deg,
        stability: Stability::D,
    }
}

/// The mass in the truth raster equals Q × the residence time of the gas in the scene
/// (within 5%), for meandering plumes from several seeds and stabilities.
#[test]
fn mass_in_raster_equals_rate_times_residence_time() {
    let grid = PlumeGrid {
        lines: 300,
        samples: 200,
        gsd_m: 3.0,
    };
    for (seed, stab) in [(1, Stability::B), (2, Stability::D), (3, Stability::F)] {
        let mut src = source(150.3, 60.7, 250.0);
        src.stability = stab;
        let (raster, truth) = render_plume(&grid, &src, &PlumeParams::default(), seed).unwrap();
        let mass = raster_mass_kg(&raster, grid.gsd_m);
        let expected = src.rate_kg_h / 3600.0 * truth.residence_time_in_scene_s;
        assert!(expected > 0.1, "plume never in scene");
        let rel = mass / expected - 1.0;
        assert!(
            rel.abs() < 0.05,
            "seed {seed} {stab:?}: mass {mass} kg vs Q·t {expected} kg"
        );
        assert!((mass / truth.mass_in_scene_kg - 1.0).abs() < 1e-5); // f32 raster vs f64 sum
        assert!(raster.iter().all(|v| v.is_finite() && *v >= 0.0));
    }
}

/// Straight plume (no meander) blowing east: the residence time is the distance from the
/// source to the east edge over the wind speed, so mass = Q·(W − c₀)·gsd/U.
#[test]
fn straight_plume_mass_matches_analytic_residence_time() {
    let grid = PlumeGrid {
        lines: 200,
        samples: 300,
        gsd_m: 5.0,
    };
    let src = source(100.0, 40.25, 270.0);
    let params = PlumeParams {
        meander_sigma_deg: 0.0,
        ..PlumeParams::default()
    };
    let (raster, _) = render_plume(&grid, &src, &params, 9).unwrap();
    let mass = raster_mass_kg(&raster, grid.gsd_m);
    let t = (300.0 - 40.25) * 5.0 / 3.0;
    let expected = 100.0 / 3600.0 * t;
    assert!(
        (mass / expected - 1.0).abs() < 0.02,
        "mass {mass} kg vs analytic {expected} kg"
    );
    // Nothing upwind beyond a few puff widths of the source.
    let upwind: f64 = (0..200)
        .flat_map(|r| (0..30).map(move |c| (r, c)))
        .map(|(r, c)| raster[r * 300 + c] as f64)
        .sum();
    assert!(upwind * 25.0 * PPM_M_TO_KG_M2 < 1e-6 * mass);
}

/// Steady Gaussian plume: the cross-wind integral of the column at any downwind distance
/// is Q/U (flux conservation), and the plume widens downwind.
#[test]
fn crosswind_integral_is_rate_over_wind_speed() {
    let grid = PlumeGrid {
        lines: 400,
        samples: 400,
        gsd_m: 2.0,
    };
    // Wind from the north: the plume goes south (down the rows).
    let src = source(20.5, 200.5, 0.0);
    let params = PlumeParams {
        meander_sigma_deg: 0.0,
        ..PlumeParams::default()
    };
    let (raster, _) = render_plume(&grid, &src, &params, 1).unwrap();
    let q_over_u = 100.0 / 3600.0 / 3.0; // kg/m
    let mut widths = Vec::new();
    for row in [60usize, 150, 300] {
        let line = &raster[row * 400..(row + 1) * 400];
        let integral: f64 = line.iter().map(|&v| v as f64).sum::<f64>() * 2.0 * PPM_M_TO_KG_M2; // kg/m
        assert!(
            (integral / q_over_u - 1.0).abs() < 0.03,
            "row {row}: ∫C dy = {integral} kg/m vs Q/U = {q_over_u}"
        );
        let m0: f64 = line.iter().map(|&v| v as f64).sum();
        let m1: f64 = line
            .iter()
            .enumerate()
            .map(|(j, &v)| (j as f64 + 0.5) * v as f64)
            .sum();
        let m2: f64 = line
            .iter()
            .enumerate()
            .map(|(j, &v)| (j as f64 + 0.5).powi(2) * v as f64)
            .sum();
        let mean = m1 / m0;
        assert!((mean - 200.5).abs() < 0.05, "row {row}: centre {mean}");
        widths.push((m2 / m0 - mean * mean).sqrt());
    }
    assert!(widths[0] < widths[1] && widths[1] < widths[2], "{widths:?}");
}

/// Sub-pixel source positions: moving the source by a fraction of a pixel moves the
/// plume's cross-wind centroid by the same fraction.
#[test]
fn sub_pixel_source_shift_moves_the_plume() {
    let grid = PlumeGrid {
        lines: 120,
        samples: 60,
        gsd_m: 3.0,
    };
    let params = PlumeParams {
        meander_sigma_deg: 0.0,
        ..PlumeParams::default()
    };
    let centroid = |col: f64| {
        let (r, _) = render_plume(&grid, &source(5.0, col, 0.0), &params, 4).unwrap();
        let line = &r[30 * 60..31 * 60];
        let m0: f64 = line.iter().map(|&v| v as f64).sum();
        line.iter()
            .enumerate()
            .map(|(j, &v)| (j as f64 + 0.5) * v as f64)
            .sum::<f64>()
            / m0
    };
    let a = centroid(30.0);
    let b = centroid(30.3);
    assert!((b - a - 0.3).abs() < 0.01, "shift {}", b - a);
}

/// The same seed gives the same plume; another seed another meander; the rate scales
/// the raster linearly.
#[test]
fn deterministic_and_linear_in_rate() {
    let grid = PlumeGrid {
        lines: 100,
        samples: 100,
        gsd_m: 3.0,
    };
    let src = source(50.0, 20.0, 260.0);
    let p = PlumeParams::default();
    let (a, _) = render_plume(&grid, &src, &p, 5).unwrap();
    let (b, _) = render_plume(&grid, &src, &p, 5).unwrap();
    let (c, _) = render_plume(&grid, &src, &p, 6).unwrap();
    assert_eq!(a, b);
    assert_ne!(a, c);
    let mut big = src.clone();
    big.rate_kg_h *= 10.0;
    let (d, _) = render_plume(&grid, &big, &p, 5).unwrap();
    for (x, y) in a.iter().zip(&d) {
        assert!((y - 10.0 * x).abs() <= 1e-4 * y.abs() + 1e-9);
    }
}

#[test]
fn bad_inputs_are_errors_not_panics() {
    let grid = PlumeGrid {
        lines: 10,
        samples: 10,
        gsd_m: 3.0,
    };
    let mut s = source(5.0, 5.0, 270.0);
    s.wind_speed_m_s = 0.0;
    let e = render_plume(&grid, &s, &PlumeParams::default(), 1).unwrap_err();
    assert!(e.to_string().contains("wind_speed_m_s"), "{e}");
    let mut s = source(5.0, 5.0, 270.0);
    s.rate_kg_h = f64::NAN;
    assert!(render_plume(&grid, &s, &PlumeParams::default(), 1).is_err());
    let g0 = PlumeGrid { lines: 0, ..grid };
    assert!(render_plume(&g0, &source(0.0, 0.0, 0.0), &PlumeParams::default(), 1).is_err());
}

/// A plume rendered on its own window: the window is tight (gas on each of its edge
/// lines and samples), holds the plume's whole mass (Q × residence time), and covers
/// a small part of a long flight line that the plume leaves across track.
#[test]
fn plume_window_is_tight_and_holds_the_mass() {
    let grid = PlumeGrid {
        lines: 3000,
        samples: 300,
        gsd_m: 3.0,
    };
    for (seed, from_deg) in [(1, 270.0), (2, 250.0), (3, 90.0)] {
        let src = source(1500.4, 150.6, from_deg);
        let (w, truth) = render_plume_window(&grid, &src, &PlumeParams::default(), seed).unwrap();
        assert!(w.row0 + w.rows <= grid.lines && w.col0 + w.cols <= grid.samples);
        assert!(w.rows > 0 && w.cols > 0 && w.values.len() == w.rows * w.cols);
        let at = |r: usize, c: usize| w.values[r * w.cols + c];
        assert!(
            (0..w.cols).any(|c| at(0, c) > 0.0),
            "seed {seed}: first line empty"
        );
        assert!(
            (0..w.cols).any(|c| at(w.rows - 1, c) > 0.0),
            "seed {seed}: last line"
        );
        assert!(
            (0..w.rows).any(|r| at(r, 0) > 0.0),
            "seed {seed}: first sample"
        );
        assert!(
            (0..w.rows).any(|r| at(r, w.cols - 1) > 0.0),
            "seed {seed}: last sample"
        );
        let mass = raster_mass_kg(&w.values, grid.gsd_m);
        let expected = src.rate_kg_h / 3600.0 * truth.residence_time_in_scene_s;
        assert!(
            (mass / expected - 1.0).abs() < 0.05,
            "seed {seed}: {mass} vs {expected} kg"
        );
        assert!(
            w.rows * w.cols * 10 < grid.lines * grid.samples,
            "seed {seed}: window {} × {} of a {} × {} line",
            w.rows,
            w.cols,
            grid.lines,
            grid.samples
        );
        // The whole-line raster holds the window's values at its place and 0 elsewhere.
        let full = w.to_raster(&grid);
        let inside: f64 = w
            .pixels(&grid)
            .map(|(i, v)| f64::from(full[i] - v).abs())
            .sum();
        assert_eq!(inside, 0.0);
        let outside = full.iter().filter(|v| **v != 0.0).count();
        assert_eq!(outside, w.values.iter().filter(|v| **v != 0.0).count());
    }
}

/// At drone scale the source is small: with `PlumeParams::for_gsd`, the same 5 kg/h
/// source in a 2 m/s wind peaks several times higher at 0.3 m GSD than at 3 m (a point
/// source's near-field column ∝ Q / (U·pixel width)), mass is still conserved at 0.3 m,
/// and airborne GSDs keep the default source size.
#[test]
fn sub_metre_pixels_resolve_a_small_source() {
    assert_eq!(PlumeParams::for_gsd(3.0), PlumeParams::default());
    assert_eq!(PlumeParams::for_gsd(60.0), PlumeParams::default());
    assert_eq!(PlumeParams::for_gsd(0.3).initial_sigma_m, 0.15);
    assert_eq!(PlumeParams::for_gsd(0.05).initial_sigma_m, 0.1);
    let peak = |gsd_m: f64, size: usize| {
        let grid = PlumeGrid {
            lines: size,
            samples: size,
            gsd_m,
        };
        let mut src = source(size as f64 / 2.0 + 0.3, size as f64 / 4.0 + 0.6, 270.0);
        src.rate_kg_h = 5.0;
        src.wind_speed_m_s = 2.0;
        let (raster, truth) = render_plume(&grid, &src, &PlumeParams::for_gsd(gsd_m), 4).unwrap();
        let mass = raster_mass_kg(&raster, gsd_m);
        let expected = src.rate_kg_h / 3600.0 * truth.residence_time_in_scene_s;
        assert!(
            (mass / expected - 1.0).abs() < 0.05,
            "{gsd_m} m: {mass} vs {expected} kg"
        );
        truth.max_enhancement_ppm_m
    };
    let (fine, coarse) = (peak(0.3, 400), peak(3.0, 200));
    println!("5 kg/h at 2 m/s: peak {fine:.0} ppm·m at 0.3 m, {coarse:.0} ppm·m at 3 m");
    assert!(fine > 5.0 * coarse, "{fine} vs {coarse}");
}
