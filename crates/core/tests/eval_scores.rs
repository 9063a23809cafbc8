//! Scoring functions against cases with known answers.

use plumewatch_core::eval::{
    fit_logistic_pod, log_bins, pixel_scores, score_sources, wilson_interval, DetectedSite,
    TrueSource,
};
use plumewatch_core::rng::SeededRng;

#[test]
fn perfect_random_and_inverted_scores() {
    let truth: Vec<bool> = (0..1000).map(|i| i % 10 == 0).collect();
    let perfect: Vec<f32> = truth.iter().map(|&t| if t { 1.0 } else { 0.0 }).collect();
    let s = pixel_scores(&perfect, &truth, None).unwrap();
    assert!((s.roc_auc - 1.0).abs() < 1e-12 && (s.pr_auc - 1.0).abs() < 1e-12);
    let inverted: Vec<f32> = perfect.iter().map(|v| -v).collect();
    assert!(pixel_scores(&inverted, &truth, None).unwrap().roc_auc < 1e-12);
    // Constant score: every pixel tied → AUC 0.5, AP = prevalence.
    let flat = vec![0.0f32; 1000];
    let s = pixel_scores(&flat, &truth, None).unwrap();
    assert!((s.roc_auc - 0.5).abs() < 1e-12);
    assert!((s.pr_auc - 0.1).abs() < 1e-12);
    // Random scores: AUC ≈ 0.5.
    let mut rng = SeededRng::new(3);
    let big_truth: Vec<bool> = (0..100_000).map(|i| i % 7 == 0).collect();
    let rnd: Vec<f32> = (0..100_000).map(|_| rng.uniform() as f32).collect();
    let s = pixel_scores(&rnd, &big_truth, None).unwrap();
    assert!((s.roc_auc - 0.5).abs() < 0.01, "{}", s.roc_auc);
    // Shifted Gaussians (d' = 1): AUC = Φ(1/√2) = 0.7602.
    let shifted: Vec<f32> = big_truth
        .iter()
        .map(|&t| (rng.normal() + if t { 1.0 } else { 0.0 }) as f32)
        .collect();
    let s = pixel_scores(&shifted, &big_truth, None).unwrap();
    assert!((s.roc_auc - 0.7602).abs() < 0.01, "{}", s.roc_auc);
    assert!(pixel_scores(&flat, &[false; 1000], None).is_err());
}

#[test]
fn source_matching_pod_false_sites_and_rate_error() {
    let truth: Vec<TrueSource> = (0..4)
        .map(|i| TrueSource {
            id: i + 1,
            x: 100.0 * i as f64,
            y: 0.0,
            rate_kg_h: [10.0, 30.0, 100.0, 300.0][i as usize],
        })
        .collect();
    let det = vec![
        DetectedSite {
            x: 205.0,
            y: 3.0,
            rate_kg_h: Some(120.0),
        },
        DetectedSite {
            x: 300.0,
            y: -12.0,
            rate_kg_h: Some(240.0),
        },
        DetectedSite {
            x: 290.0,
            y: 0.0,
            rate_kg_h: None,
        }, // second detection of 4: false
        DetectedSite {
            x: 5000.0,
            y: 0.0,
            rate_kg_h: Some(50.0),
        }, // far: false
    ];
    let edges = [1.0, 50.0, 1000.0];
    let s = score_sources(&truth, &det, 30.0, 2.0, &edges).unwrap();
    assert_eq!(s.matches.len(), 2);
    assert_eq!(s.missed, vec![1, 2]);
    // Source 4 is matched to the closest detection (index 2, 10 m) — not the one with a rate.
    let m4 = s.matches.iter().find(|m| m.truth_id == 4).unwrap();
    assert_eq!(m4.detection, 2);
    assert_eq!(s.false_sites.len(), 2);
    assert!((s.false_sites_per_km2 - 1.0).abs() < 1e-12);
    assert_eq!((s.pod_bins[0].n, s.pod_bins[0].detected), (2, 0));
    assert_eq!((s.pod_bins[1].n, s.pod_bins[1].detected), (2, 2));
    let r = s.rate_error.unwrap();
    assert_eq!(r.n, 1);
    assert!((r.median_abs_rel_error - 0.2).abs() < 1e-12);
    assert!(score_sources(&truth, &det, 0.0, 1.0, &edges).is_err());
    let e = log_bins(&[10.0, 1000.0], 2);
    assert!((e[1] - 100.0).abs() < 1e-9);
    // Regression: the smallest rate must fall in the first bin despite rounding in log10.
    let q = [11.613, 44.498, 157.763, 1023.497];
    let e = log_bins(&q, 4);
    assert_eq!((e[0], e[4]), (11.613, 1023.497));
    let t: Vec<TrueSource> = q
        .iter()
        .enumerate()
        .map(|(i, &r)| TrueSource {
            id: i as u32 + 1,
            x: 0.0,
            y: 1e4 * i as f64,
            rate_kg_h: r,
        })
        .collect();
    let s = score_sources(&t, &[], 10.0, 1.0, &e).unwrap();
    assert_eq!(s.pod_bins.iter().map(|b| b.n).sum::<usize>(), 4);
}

#[test]
fn wilson_interval_known_values() {
    let (lo, hi) = wilson_interval(5, 10);
    assert!((lo - 0.2366).abs() < 1e-3 && (hi - 0.7634).abs() < 1e-3);
    let (lo, hi) = wilson_interval(0, 10);
    assert!(lo == 0.0 && (hi - 0.2775).abs() < 1e-3);
}

/// Trials drawn from a known logistic curve give back its Q50 and Q90 within their
/// intervals, and the intervals shrink with more trials.
#[test]
fn logistic_fit_recovers_known_curve() {
    let (a, b) = (-4.0, 4.0); // Q50 = 10, Q90 = 10^((ln 9 + 4)/4)
    let q90_true = 10f64.powf((9f64.ln() + 4.0) / 4.0);
    let mut rng = SeededRng::new(5);
    let mut widths = Vec::new();
    for n in [400usize, 4000] {
        let q: Vec<f64> = (0..n).map(|_| 10f64.powf(rng.range(0.0, 2.0))).collect();
        let d: Vec<bool> = q
            .iter()
            .map(|&q| rng.uniform() < 1.0 / (1.0 + (-(a + b * q.log10())).exp()))
            .collect();
        let f = fit_logistic_pod(&q, &d).unwrap();
        assert!(f.q50_ci_kg_h.0 < 10.0 && 10.0 < f.q50_ci_kg_h.1, "{f:?}");
        assert!(
            f.q90_ci_kg_h.0 < q90_true && q90_true < f.q90_ci_kg_h.1,
            "{f:?}"
        );
        assert!(f.pod(1000.0) > f.pod(1.0));
        widths.push(f.q50_ci_kg_h.1 / f.q50_ci_kg_h.0);
    }
    assert!(widths[1] < widths[0]);
    assert!(fit_logistic_pod(&[1.0, 2.0, 3.0], &[true, true, true]).is_err());
}
