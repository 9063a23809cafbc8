//! Merging detections across passes into ranked sites.

use plumewatch_core::geo::GeoTransform;
use plumewatch_core::raster::Grid;
use plumewatch_core::sites::{merge_sites, Detection, PassFootprint, SiteParams};

#[allow(clippy::too_many_arguments)]
fn det(pass: &str, id: u32, x: f64, y: f64, rate: f64, sd: f64, z: f64, fap: f64) -> Detection {
    Detection {
        pass: pass.into(),
        plume_id: id,
        x,
        y,
        radius: 5.0,
        rate_kg_h: rate,
        rate_sd_kg_h: sd,
        max_enhancement_ppm_m: 100.0 * z,
        significance: z,
        false_alarm_probability: fap,
        figures: Default::default(),
    }
}

fn footprint(pass: &str) -> PassFootprint {
    // 1 km × 1 km at 3 m, covering every detection below.
    PassFootprint {
        pass: pass.into(),
        grid: Grid::new(334, 334),
        transform: GeoTransform::north_up(500_000.0, 4_001_000.0, 3.0).unwrap(),
    }
}

#[test]
fn detections_within_distance_merge_and_rank_by_evidence() {
    let dets = vec![
        // Site A: seen in three passes, ~10 m apart.
        det("p1", 1, 500_200.0, 4_000_500.0, 100.0, 50.0, 8.0, 1e-6),
        det("p2", 4, 500_210.0, 4_000_505.0, 140.0, 70.0, 7.0, 1e-5),
        det("p3", 2, 500_195.0, 4_000_490.0, 120.0, 60.0, 9.0, 1e-7),
        // Site B: one strong detection in one of three passes.
        det("p1", 2, 500_700.0, 4_000_300.0, 900.0, 450.0, 12.0, 1e-12),
        // Site C: weak, 150 m from A (beyond the 100 m merge distance).
        det("p2", 7, 500_350.0, 4_000_500.0, 20.0, 10.0, 4.5, 0.2),
    ];
    let fps = vec![footprint("p1"), footprint("p2"), footprint("p3")];
    let sites = merge_sites(&dets, &fps, &SiteParams::default()).unwrap();
    assert_eq!(sites.len(), 3);
    let a = sites.iter().find(|s| s.n_detections == 3).unwrap();
    assert_eq!(a.n_passes_detected, 3);
    assert_eq!(a.n_passes_covering, 3);
    assert!((a.x - 500_201.67).abs() < 0.1 && (a.y - 4_000_498.33).abs() < 0.1);
    // Stouffer: (8 + 7 + 9) / √3.
    assert!((a.significance - 24.0 / 3f64.sqrt()).abs() < 1e-9);
    assert!((a.false_alarm_probability - 1e-18).abs() < 1e-24);
    // Inverse-variance mean of 100 ± 50, 140 ± 70, 120 ± 60 lies between them, and its
    // uncertainty is below the best single one.
    assert!(a.rate_kg_h > 100.0 && a.rate_kg_h < 140.0);
    assert!(a.rate_sd_kg_h < 50.0);
    let mut plumes: Vec<_> = a
        .plumes
        .iter()
        .map(|p| (p.pass.as_str(), p.plume_id))
        .collect();
    plumes.sort();
    assert_eq!(plumes, vec![("p1", 1), ("p2", 4), ("p3", 2)]);
    // Persistent A (13.9 × √1) outranks one-off B (12 × √(1/3) = 6.9), which outranks C.
    assert_eq!(sites[0].n_detections, 3);
    assert_eq!(sites[1].rate_kg_h, 900.0);
    assert_eq!(sites[1].n_passes_covering, 3);
    assert_eq!(sites[2].rate_kg_h, 20.0);
    assert_eq!(
        sites.iter().map(|s| s.rank).collect::<Vec<_>>(),
        vec![1, 2, 3]
    );
}

#[test]
fn single_linkage_chains_and_zero_distance_separates() {
    let dets = vec![
        det("p1", 1, 0.0, 0.0, 10.0, 5.0, 5.0, 0.1),
        det("p1", 2, 80.0, 0.0, 10.0, 5.0, 5.0, 0.1),
        det("p1", 3, 160.0, 0.0, 10.0, 5.0, 5.0, 0.1),
    ];
    let sites = merge_sites(&dets, &[], &SiteParams::default()).unwrap();
    assert_eq!(sites.len(), 1, "80 m steps chain into one site");
    assert_eq!(sites[0].n_passes_covering, 1);
    let sites = merge_sites(
        &dets,
        &[],
        &SiteParams {
            merge_distance: 0.0,
        },
    )
    .unwrap();
    assert_eq!(sites.len(), 3);
    let bad = merge_sites(
        &dets,
        &[],
        &SiteParams {
            merge_distance: f64::NAN,
        },
    );
    assert!(bad.unwrap_err().to_string().contains("merge distance"));
    let nan = vec![det("p1", 1, f64::NAN, 0.0, 1.0, 1.0, 5.0, 0.1)];
    assert!(merge_sites(&nan, &[], &SiteParams::default()).is_err());
    assert!(merge_sites(&[], &[], &SiteParams::default())
        .unwrap()
        .is_empty());
}

/// Regression: a flight line without wind has no rates (NaN); merged with a line that
/// has one, its NaN used to be weighted 1e18 and made the site's rate NaN. Sites must
/// combine only the rates that exist.
#[test]
fn site_rate_is_not_nan_when_one_flight_line_has_no_wind() {
    let dets = vec![
        det(
            "with_wind",
            1,
            500_200.0,
            4_000_500.0,
            120.0,
            30.0,
            8.0,
            1e-6,
        ),
        det(
            "no_wind",
            1,
            500_205.0,
            4_000_502.0,
            f64::NAN,
            f64::NAN,
            7.0,
            1e-5,
        ),
    ];
    let fps = [footprint("with_wind"), footprint("no_wind")];
    let sites = merge_sites(
        &dets,
        &fps,
        &SiteParams {
            merge_distance: 30.0,
        },
    )
    .unwrap();
    assert_eq!(sites.len(), 1);
    assert_eq!(sites[0].n_detections, 2);
    assert_eq!(sites[0].rate_kg_h, 120.0);
    assert_eq!(sites[0].rate_sd_kg_h, 30.0);
    // With no rate anywhere the site has none.
    let none = merge_sites(
        &dets[1..],
        &fps,
        &SiteParams {
            merge_distance: 30.0,
        },
    )
    .unwrap();
    assert!(none[0].rate_kg_h.is_nan());
}
