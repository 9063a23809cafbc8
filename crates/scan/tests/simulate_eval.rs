//! The simulate and eval workflows called as a library, without the binary: a small
//! synthetic scene's truth reads back through the eval contract, and the truth
//! enhancement scored against its own mask separates plume from background perfectly.

use plumewatch_scan::eval::{evaluate, EvalSettings};
use plumewatch_scan::simulate::{scene, Clutter, SceneSettings, MASK_THRESHOLD_PPM_M};

#[test]
fn scene_truth_round_trips_and_scores_itself_perfectly() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("scene");
    let settings = SceneSettings {
        sensor: "emit".into(),
        lines: 48,
        samples: 40,
        gsd: 30.0,
        seed: 3,
        sources: None,
        random_sources: Some(2),
        rate_range: Some((2000.0, 4000.0)),
        wind: None,
        no_plumes: false,
        clutter: Clutter::default(),
        mosaic: false,
        noise: None,
        snr: None,
        library: None,
        gas: "ch4".into(),
        output: out.clone(),
    };
    let steps = std::sync::Mutex::new(Vec::new());
    let summary = scene(&settings, &|done, all| {
        steps.lock().unwrap().push((done, all))
    })
    .unwrap();
    assert_eq!(
        (summary.lines, summary.samples, summary.sources),
        (48, 40, 2)
    );
    assert_eq!(steps.into_inner().unwrap().last(), Some(&(4, 4)));

    let truth = plumewatch_io::truth::read_truth(&out.join("truth_sources.json")).unwrap();
    assert_eq!(
        (truth.lines, truth.samples, truth.gsd_m),
        (Some(48), Some(40), Some(30.0))
    );
    assert_eq!(truth.sources.len(), 2);
    for s in &truth.sources {
        assert!((2000.0..=4000.0).contains(&s.rate_kg_h), "{s:?}");
        // Map coordinates follow the scene's geotransform (UL 600000, 3500000).
        let e = s.easting_m.unwrap();
        assert!((e - (600_000.0 + s.col * 30.0)).abs() < 1e-6, "{s:?}");
    }

    let report_dir = dir.path().join("eval");
    let outcome = evaluate(&EvalSettings {
        truth: out.clone(),
        enhancement: Some(out.join("truth_enhancement.tif")),
        sites: None,
        match_distance: None,
        bins: 2,
        output: report_dir.clone(),
    })
    .unwrap();
    let pixel = outcome.report.pixel.as_ref().unwrap();
    // The mask is enhancement ≥ 100 ppm·m, so the enhancement ranks every plume pixel
    // above every background pixel.
    assert!(pixel.enhancement.positives > 0, "{MASK_THRESHOLD_PPM_M}");
    assert!(
        (pixel.enhancement.roc_auc - 1.0).abs() < 1e-9,
        "{}",
        pixel.enhancement.roc_auc
    );
    assert!(pixel.z.is_none(), "a one-band raster has no z");
    let written: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(report_dir.join("eval.json")).unwrap())
            .unwrap();
    assert_eq!(
        written["truth_plume_pixels"],
        pixel.enhancement.positives as u64
    );
    assert!(
        written.get("source").is_none(),
        "no sites, no source scores"
    );
}
