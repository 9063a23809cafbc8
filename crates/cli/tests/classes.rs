//! Class-conditional background statistics (`scan --classes K`, default 8) against one
//! set of statistics per detector column (`--classes 0`) on a simulated cluttered
//! AVIRIS-NG scene and its plume-free twin: on the twin the response of the background
//! is centred on zero and its noise-equivalent enhancement is honest on dark ground
//! (z has unit robust spread there, closer to 1 than per-column statistics give), and
//! plumes over dark ground stand out more (larger signal-to-noise over their truth
//! mask).

mod common;

use common::{json, ok, s};
use std::path::Path;

fn band(p: &Path) -> Vec<f32> {
    plumewatch_io::read_band_f32(p, 1).unwrap().2
}

/// The scan's map whose file name ends in `suffix` (`_z.tif`, …).
fn map(out: &Path, suffix: &str) -> Vec<f32> {
    let path = std::fs::read_dir(out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().ends_with(suffix))
        .unwrap_or_else(|| panic!("no {suffix} map in {}", out.display()));
    band(&path)
}

fn simulate(out: &Path, twin: bool) {
    let mut args = vec![
        "simulate",
        "scene",
        "--sensor",
        "aviris-ng",
        "--lines",
        "384",
        "--samples",
        "256",
        "--gsd",
        "3",
        "--seed",
        "41",
        "--random-sources",
        "6",
        "--rate-range",
        "50,300",
        "--wind",
        "3,200",
        "-o",
        s(out),
    ];
    if twin {
        args.push("--no-plumes");
    }
    ok(&args);
}

fn scan(cube: &Path, out: &Path, classes: &str) -> serde_json::Value {
    ok(&[
        "scan",
        s(&cube.join("radiance.hdr")),
        "--wind",
        "3,200",
        "--limit-runs",
        "0",
        "--classes",
        classes,
        "-o",
        s(out),
    ]);
    json(&out.join("scan.json"))
}

/// Median and robust spread (1.4826 × median absolute deviation): the background's
/// centre and noise, not the clutter pixels far out in the tails.
fn median_spread(v: &[f64]) -> (f64, f64) {
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let m = median(&mut v.to_vec());
    let spread = 1.4826 * median(&mut v.iter().map(|x| (x - m).abs()).collect());
    (m, spread)
}

#[test]
fn class_statistics_are_honest_on_dark_ground_and_raise_the_plumes_signal() {
    let tmp = tempfile::tempdir().unwrap();
    let (scene, twin) = (tmp.path().join("scene"), tmp.path().join("twin"));
    simulate(&scene, false);
    simulate(&twin, true);
    let albedo = band(&twin.join("truth_albedo.tif"));
    let truth = band(&scene.join("truth_enhancement.tif"));

    let mut dark_sd = Vec::new();
    for classes in ["8", "0"] {
        let out = tmp.path().join(format!("twin-{classes}"));
        let record = scan(&twin, &out, classes);
        assert_eq!(
            record["passes"][0]["surface_classes"].as_u64(),
            Some(classes.parse().unwrap())
        );
        let z = map(&out, "_z.tif");
        let all: Vec<f64> = z.iter().map(|&v| f64::from(v)).collect();
        let (m, _) = median_spread(&all);
        assert!(m.abs() < 0.1, "classes {classes}: background z median {m}");
        let dark: Vec<f64> = z
            .iter()
            .zip(&albedo)
            .filter(|(_, &a)| a < 0.1)
            .map(|(&v, _)| f64::from(v))
            .collect();
        assert!(dark.len() > 2000, "{} dark pixels", dark.len());
        dark_sd.push(median_spread(&dark).1);
    }
    let (sd_classes, sd_columns) = (dark_sd[0], dark_sd[1]);
    assert!(
        (0.85..1.2).contains(&sd_classes),
        "z spread on dark ground with classes: {sd_classes}"
    );
    assert!(
        (sd_classes - 1.0).abs() < (sd_columns - 1.0).abs(),
        "z spread on dark ground: classes {sd_classes}, columns {sd_columns}"
    );

    // Signal-to-noise over the plumes' truth mask (> 100 ppm·m) on dark ground, each
    // pixel weighted by its inverse variance (the optimal combination of independent
    // estimates): the class statistics' honest σ there lets the gas stand out more.
    let snr = |classes: &str| {
        let out = tmp.path().join(format!("scene-{classes}"));
        scan(&scene, &out, classes);
        let e = map(&out, "_enhancement.tif");
        let sigma = map(&out, "_sigma.tif");
        let (mut signal, mut weight) = (0.0, 0.0);
        for i in 0..truth.len() {
            if truth[i] > 100.0 && albedo[i] < 0.1 && sigma[i].is_finite() && sigma[i] > 0.0 {
                let w = f64::from(sigma[i]).powi(-2);
                signal += f64::from(e[i]) * w;
                weight += w;
            }
        }
        assert!(weight > 0.0);
        signal / weight.sqrt()
    };
    let (with, without) = (snr("8"), snr("0"));
    assert!(
        with > 1.3 * without,
        "signal-to-noise over the plumes on dark ground: classes {with:.1}, columns {without:.1}"
    );
}
