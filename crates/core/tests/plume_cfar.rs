//! CFAR thresholding, plume components and false-positive rejection on synthetic
//! rasters with known content.

use plumewatch_core::plume::{
    cfar_mask, column_background, find_plumes, ring_signed_area, CfarParams, PlumeInputs,
    RejectParams, Rejection,
};
use plumewatch_core::raster::Grid;
use plumewatch_core::rng::SeededRng;

/// Gaussian noise with a different offset and spread in every column (pushbroom
/// striping the per-column background must absorb).
fn striped_noise(grid: Grid, seed: u64) -> Vec<f32> {
    let mut rng = SeededRng::new(seed);
    let offs: Vec<f64> = (0..grid.samples).map(|_| 0.5 * rng.normal()).collect();
    let scales: Vec<f64> = (0..grid.samples)
        .map(|_| 0.7 + 0.6 * rng.uniform())
        .collect();
    (0..grid.len())
        .map(|i| {
            let s = i % grid.samples;
            (offs[s] + scales[s] * rng.normal()) as f32
        })
        .collect()
}

#[test]
fn cfar_rate_on_pure_noise_matches_target() {
    let grid = Grid::new(1000, 200);
    let z = striped_noise(grid, 11);
    for &(far, tol) in &[(1e-2, 0.1), (1e-3, 0.25)] {
        let mask = cfar_mask(&z, grid, far).unwrap();
        let rate = mask.iter().filter(|&&m| m).count() as f64 / grid.len() as f64;
        println!("target far {far:e}: measured {rate:e}");
        assert!(
            (rate / far - 1.0).abs() < tol,
            "far {far}: measured {rate} outside ±{tol}"
        );
    }
}

#[test]
fn per_column_background_recovers_offsets_and_scales() {
    let grid = Grid::new(2000, 8);
    let mut rng = SeededRng::new(3);
    let z: Vec<f32> = (0..grid.len())
        .map(|i| {
            let s = (i % 8) as f64;
            (s + (1.0 + 0.25 * s) * rng.normal()) as f32
        })
        .collect();
    let bg = column_background(&z, grid).unwrap();
    for (s, b) in bg.iter().enumerate() {
        let s = s as f64;
        assert!((b.median - s).abs() < 0.1, "{s}: {b:?}");
        assert!(
            (b.scale / (1.0 + 0.25 * s) - 1.0).abs() < 0.06,
            "{s}: {b:?}"
        );
        assert!(!b.scene_fallback);
    }
}

#[test]
fn pure_noise_gives_almost_no_plumes() {
    let grid = Grid::new(1000, 200);
    let z = striped_noise(grid, 5);
    let enh: Vec<f32> = z.iter().map(|v| v * 100.0).collect();
    let set = find_plumes(
        &PlumeInputs {
            reference: None,
            grid,
            z: &z,
            enhancement: &enh,
            albedo: None,
            invalid: None,
        },
        &CfarParams::default(),
        &RejectParams::default(),
    )
    .unwrap();
    println!(
        "200k noise pixels: {} seeds, {} plumes, {} too small",
        set.n_seed_pixels,
        set.plumes.len(),
        set.n_too_small
    );
    // 1e-4 per pixel → ~20 seeds; almost none may grow into a 5-pixel component.
    assert!(
        (5..=45).contains(&set.n_seed_pixels),
        "{}",
        set.n_seed_pixels
    );
    assert!(set.plumes.len() <= 2, "{}", set.plumes.len());
}

/// A compact blob of `amp` (z units) centred at (r0, c0) with radius `rad` pixels.
fn add_blob(z: &mut [f32], grid: Grid, r0: f64, c0: f64, rad: f64, amp: f64) {
    for r in 0..grid.lines {
        for c in 0..grid.samples {
            let d2 = ((r as f64 + 0.5 - r0).powi(2) + (c as f64 + 0.5 - c0).powi(2)) / (rad * rad);
            z[r * grid.samples + c] += (amp * (-0.5 * d2).exp()) as f32;
        }
    }
}

#[test]
fn blob_is_found_with_exact_outline() {
    let grid = Grid::new(200, 150);
    let mut z = striped_noise(grid, 9);
    add_blob(&mut z, grid, 80.0, 60.0, 4.0, 8.0);
    let enh: Vec<f32> = z.iter().map(|v| v * 100.0).collect();
    let set = find_plumes(
        &PlumeInputs {
            reference: None,
            grid,
            z: &z,
            enhancement: &enh,
            albedo: None,
            invalid: None,
        },
        &CfarParams::default(),
        &RejectParams::default(),
    )
    .unwrap();
    let accepted: Vec<_> = set
        .plumes
        .iter()
        .filter(|p| p.rejection.is_none())
        .collect();
    assert_eq!(accepted.len(), 1, "{:?}", set.plumes);
    let p = accepted[0];
    // The blob above the 2σ growth level (scaled noise ≈ 1) covers r < 4·sqrt(2 ln 4) ≈ 6.7 px.
    assert!(p.n_pixels > 60 && p.n_pixels < 250, "{}", p.n_pixels);
    assert!((p.peak_pixel[0] as f64 - 80.0).abs() <= 2.0);
    assert!((p.peak_pixel[1] as f64 - 60.0).abs() <= 2.0);
    let area: f64 = p.outline.iter().map(|r| ring_signed_area(r).abs()).sum();
    assert_eq!(
        area, p.n_pixels as f64,
        "outline encloses exactly the plume pixels"
    );
    assert!(
        p.false_alarm_probability < 1e-3,
        "{}",
        p.false_alarm_probability
    );
    // Labels agree with the pixel list.
    assert_eq!(
        set.labels.iter().filter(|&&l| l == p.id).count(),
        p.n_pixels
    );
}

#[test]
fn bright_surface_patch_is_rejected_but_plume_on_texture_is_kept() {
    let grid = Grid::new(200, 200);
    let mut rng = SeededRng::new(21);
    // Textured albedo 0.15 ± 0.03 with a bright 8 × 10 roof of 0.6.
    let mut albedo: Vec<f32> = (0..grid.len())
        .map(|_| (0.15 + 0.03 * rng.normal()) as f32)
        .collect();
    for r in 40..48 {
        for c in 100..110 {
            albedo[r * 200 + c] = 0.6;
        }
    }
    let mut z = striped_noise(grid, 22);
    // A matched-filter artefact: false enhancement proportional to albedo excess.
    for i in 0..grid.len() {
        z[i] += (12.0 * (albedo[i] as f64 - 0.15).max(0.0)) as f32;
    }
    // A real plume elsewhere, on the textured surface.
    add_blob(&mut z, grid, 150.0, 60.0, 4.0, 8.0);
    let enh: Vec<f32> = z.iter().map(|v| v * 100.0).collect();
    let set = find_plumes(
        &PlumeInputs {
            reference: None,
            grid,
            z: &z,
            enhancement: &enh,
            albedo: Some(&albedo),
            invalid: None,
        },
        &CfarParams::default(),
        &RejectParams::default(),
    )
    .unwrap();
    let roof = set
        .plumes
        .iter()
        .find(|p| (40..48).contains(&p.peak_pixel[0]) && (100..110).contains(&p.peak_pixel[1]))
        .expect("roof detected as a candidate");
    match &roof.rejection {
        Some(Rejection::FollowsBrightness { r }) => assert!(*r > 0.7, "{r}"),
        other => panic!("roof: expected FollowsBrightness, got {other:?}"),
    }
    let plume = set
        .plumes
        .iter()
        .find(|p| (145..156).contains(&p.peak_pixel[0]) && (55..66).contains(&p.peak_pixel[1]))
        .expect("plume detected");
    assert_eq!(plume.rejection, None, "{plume:?}");
}

#[test]
fn single_column_and_single_line_streaks_are_rejected() {
    let grid = Grid::new(200, 200);
    let mut z = striped_noise(grid, 31);
    // One bad detector column over 40 lines; one bad line over 30 samples.
    for r in 20..60 {
        z[r * 200 + 77] += 6.0;
    }
    for c in 120..150 {
        z[150 * 200 + c] += 6.0;
    }
    let enh: Vec<f32> = z.iter().map(|v| v * 100.0).collect();
    let set = find_plumes(
        &PlumeInputs {
            reference: None,
            grid,
            z: &z,
            enhancement: &enh,
            albedo: None,
            invalid: None,
        },
        &CfarParams::default(),
        &RejectParams::default(),
    )
    .unwrap();
    let col = set
        .plumes
        .iter()
        .find(|p| p.bbox[1] <= 77 && p.bbox[3] >= 77 && p.bbox[0] < 60 && p.bbox[2] >= 20)
        .expect("column streak candidate");
    assert!(
        matches!(col.rejection, Some(Rejection::ColumnStreak { length, .. }) if length >= 30),
        "{:?}",
        col.rejection
    );
    let line = set
        .plumes
        .iter()
        .find(|p| p.bbox[0] <= 150 && p.bbox[2] >= 150 && p.bbox[1] < 150 && p.bbox[3] >= 120)
        .expect("line streak candidate");
    assert!(
        matches!(line.rejection, Some(Rejection::LineStreak { length, .. }) if length >= 25),
        "{:?}",
        line.rejection
    );
    assert!(col
        .rejection
        .as_ref()
        .unwrap()
        .to_string()
        .contains("single-column"));
}

#[test]
fn plume_beside_nodata_is_rejected() {
    let grid = Grid::new(120, 120);
    let mut z = striped_noise(grid, 41);
    add_blob(&mut z, grid, 60.0, 60.0, 3.0, 8.0);
    let mut enh: Vec<f32> = z.iter().map(|v| v * 100.0).collect();
    // No data on the right half of the blob's surroundings.
    for r in 0..120 {
        for c in 61..120 {
            enh[r * 120 + c] = f32::NAN;
            z[r * 120 + c] = f32::NAN;
        }
    }
    let set = find_plumes(
        &PlumeInputs {
            reference: None,
            grid,
            z: &z,
            enhancement: &enh,
            albedo: None,
            invalid: None,
        },
        &CfarParams::default(),
        &RejectParams::default(),
    )
    .unwrap();
    let p = set
        .plumes
        .iter()
        .find(|p| p.bbox[3] >= 55 && p.bbox[0] <= 60 && p.bbox[2] >= 60)
        .expect("candidate at the no-data edge");
    assert!(
        matches!(p.rejection, Some(Rejection::InvalidNeighbourhood { fraction }) if fraction > 0.2),
        "{:?}",
        p.rejection
    );
}

#[test]
fn bad_inputs_are_errors_not_panics() {
    let grid = Grid::new(10, 10);
    let z = vec![0.0f32; 99];
    let enh = vec![0.0f32; 100];
    let inputs = PlumeInputs {
        reference: None,
        grid,
        z: &z,
        enhancement: &enh,
        albedo: None,
        invalid: None,
    };
    let e = find_plumes(&inputs, &CfarParams::default(), &RejectParams::default()).unwrap_err();
    assert!(e.to_string().contains("z raster"), "{e}");
    let z = vec![f32::NAN; 100];
    let inputs = PlumeInputs { z: &z, ..inputs };
    let set = find_plumes(&inputs, &CfarParams::default(), &RejectParams::default()).unwrap();
    assert!(set.plumes.is_empty());
    let bad = CfarParams {
        far: 0.0,
        ..CfarParams::default()
    };
    assert!(find_plumes(&inputs, &bad, &RejectParams::default())
        .unwrap_err()
        .to_string()
        .contains("--far"));
}
