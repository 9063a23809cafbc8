//! Candidate vetting end to end on the shared AVIRIS-NG scene `avng_small` (truth
//! known): the strong sources stay reported with their gas probability; candidates
//! below the operating point keep a `vetted` verdict with the reason; turning the
//! vetting off (`--min-gas-probability 0`) reports them again. The scene is in
//! `../shared/data` (the test fails when it is missing: it never passes by skipping).
//! With an operating point (`--false-sites-per-km2`) the scene's empirical null decides
//! significance, counting only the false sites vetting would keep.

mod common;

use common::{json, ok, reported_sources, s, scene};
use serde_json::Value;
use std::path::Path;

fn scan(out: &Path, extra: &[&str]) -> Value {
    let cube = scene("avng_small");
    let mut args = vec![
        "scan",
        s(&cube),
        "--wind",
        "2,265",
        "--limit-runs",
        "0",
        "-o",
        s(out),
    ];
    args.extend_from_slice(extra);
    ok(&args);
    json(&out.join("scan.json"))
}

/// (col, row) of each reported source.
fn reported(scan: &Value) -> Vec<(f64, f64)> {
    reported_sources(scan)
        .into_iter()
        .map(|(c, r, _)| (c, r))
        .collect()
}

#[test]
fn vetting_keeps_strong_sources_and_says_why_it_drops_the_others() {
    let tmp = tempfile::tempdir().unwrap();
    // Significance by the Gaussian limit in both: the empirical null counts what
    // vetting would keep, so with vetting off the scene-level figures rise and the
    // operating point alone would drop weak sources that vetting keeps. The plain
    // matched-filter score in both: with the outlier scaling (the default) the one
    // candidate this scene's vetting drops (gas probability 0.02) is no longer
    // significant and never reaches the vetting, and the same four sources are
    // reported.
    let gaussian = ["--false-sites-per-km2", "none", "--no-outlier-scaling"];
    let vetted = scan(&tmp.path().join("vetted"), &gaussian);
    let open = scan(
        &tmp.path().join("open"),
        &[&["--min-gas-probability", "0"][..], &gaussian].concat(),
    );

    // Every site carries its gas probability, at or above the default (class
    // statistics, the default detection).
    let min = plumewatch_core::plume::vet::DEFAULT_MIN_GAS_PROBABILITY;
    let sites = vetted["sites"].as_array().unwrap();
    assert!(!sites.is_empty());
    for s in sites {
        let p = s["gas_probability"].as_f64().expect("gas_probability");
        assert!((min..=1.0).contains(&p), "{s}");
    }
    // The two strongest truth sources (1,023 and 158 kg/h) stay reported.
    let truth = json(&scene("avng_small").with_file_name("truth_sources.json"));
    let kept = reported(&vetted);
    for s in truth["sources"].as_array().unwrap() {
        if s["Q_kg_h"].as_f64().unwrap() < 100.0 {
            continue;
        }
        let (c, r) = (s["col"].as_f64().unwrap(), s["row"].as_f64().unwrap());
        let d = kept
            .iter()
            .map(|k| (k.0 - c).hypot(k.1 - r))
            .fold(f64::INFINITY, f64::min);
        assert!(d <= 2.0, "source {s}: nearest reported {d:.1} px away");
    }
    // What was vetted out says so, with its probability under the limit.
    let plumes = vetted["passes"][0]["plumes"].as_array().unwrap();
    let out: Vec<&Value> = plumes
        .iter()
        .filter(|p| p["verdict"]["verdict"] == "vetted")
        .collect();
    assert!(!out.is_empty(), "no candidate vetted out on this scene");
    for p in &out {
        let g = p["verdict"]["gas_probability"].as_f64().unwrap();
        assert!(g < p["verdict"]["limit"].as_f64().unwrap(), "{p}");
        assert!(!p["reported_as_site"].as_bool().unwrap());
        let why = p["dismissal"].as_str().unwrap();
        assert!(why.starts_with("vetted out"), "{why}");
    }
    // With the vetting off the kept sources stay and the vetted candidates come back:
    // as sources, or as downwind fragments of one that came back (a vetted-out
    // candidate is no fragment parent).
    let all = reported(&open);
    assert!(all.len() > kept.len(), "{all:?} vs {kept:?}");
    for k in &kept {
        assert!(all.contains(k), "{k:?} not reported without vetting");
    }
    let open_plumes = open["passes"][0]["plumes"].as_array().unwrap();
    for p in &out {
        let back = open_plumes
            .iter()
            .find(|q| q["source"] == p["source"])
            .expect("the same candidate without vetting");
        let v = back["verdict"]["verdict"].as_str().unwrap();
        assert!(v == "source" || v == "fragment", "{back}");
    }
}

/// The candidates of a scan that pass the rejection rules, by source position, with
/// their verdict and false-site figure.
fn figures(scan: &Value) -> Vec<(String, String, Option<f64>)> {
    scan["passes"][0]["plumes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["plume"]["rejection"].is_null())
        .map(|p| {
            (
                p["source"].to_string(),
                p["verdict"]["verdict"].as_str().unwrap().to_string(),
                p["false_sites_per_km2"].as_f64(),
            )
        })
        .collect()
}

#[test]
fn the_false_site_figure_counts_what_vetting_keeps_and_sets_the_operating_point() {
    let tmp = tempfile::tempdir().unwrap();
    let limit = 0.05;
    let vetted = scan(
        &tmp.path().join("vetted"),
        &["--false-sites-per-km2", "0.05"],
    );
    let open = scan(
        &tmp.path().join("open"),
        &[
            "--false-sites-per-km2",
            "0.05",
            "--min-gas-probability",
            "0",
        ],
    );
    let (with, without) = (figures(&vetted), figures(&open));
    assert_eq!(with.len(), without.len());
    let mut credited = 0;
    for ((src, verdict, f), (src_open, _, f_open)) in with.iter().zip(&without) {
        assert_eq!(src, src_open, "the same candidates in the same order");
        let (f, f_open) = (f.expect("a figure"), f_open.expect("a figure"));
        // Vetting can only remove false sites: the figure never grows.
        assert!(f <= f_open * (1.0 + 1e-9), "{src}: {f} > {f_open}");
        if f < f_open * 0.99 {
            credited += 1;
        }
        // The operating point decides significance by the figure alone.
        match verdict.as_str() {
            "not_significant" => assert!(f > limit, "{src}: {f} ≤ {limit} not significant"),
            "source" | "vetted" | "fragment" => {
                assert!(f <= limit, "{src}: {f} > {limit} yet {verdict}")
            }
            v => panic!("unexpected verdict {v}"),
        }
    }
    // Both sides of the operating point occur on this scene.
    for v in ["source", "not_significant"] {
        assert!(with.iter().any(|w| w.1 == v), "no {v} candidate");
    }
    // The scene's null candidates fail vetting often enough to earn credit.
    assert!(
        credited > 0,
        "no candidate's figure took vetting into account"
    );
    // Every reported site's figure is at or below the operating point.
    for s in vetted["sites"].as_array().unwrap() {
        let f = s["false_sites_per_km2"].as_f64().expect("site figure");
        assert!(f <= limit, "{s}");
    }
}
