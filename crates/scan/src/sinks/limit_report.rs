//! The report of the standalone detection-limit experiment (`plumewatch limit`):
//! `limit.json` (a typed [`LimitReport`]), `limit.md`, `pod.png` and the minimum
//! detectable enhancement as a COG.

use crate::limit::{DetectionLimit, LimitEstimate};
use crate::{Error, ErrorKind, Result};
use plumewatch_core::eval::{log_bins, wilson_interval};
use plumewatch_core::raster::NODATA;
use plumewatch_io::png_plot::{write_plot_png, Plot, Series, SeriesStyle};
use plumewatch_io::{GeoRef, OutputBand};
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;
use std::path::Path;

/// Detections in one emission-rate bin.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PodBin {
    /// Lower edge, kg/h.
    pub q_lo_kg_h: f64,
    /// Upper edge, kg/h.
    pub q_hi_kg_h: f64,
    /// Trials in the bin.
    pub n: usize,
    /// Trials detected.
    pub detected: usize,
    /// Fraction detected (`null` for an empty bin).
    pub pod: Option<f64>,
    /// 95 % Wilson interval of the fraction (`null` for an empty bin).
    pub ci: Option<(f64, f64)>,
}

/// `limit.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LimitReport {
    /// The cube.
    pub cube: String,
    /// Lines.
    pub lines: usize,
    /// Samples.
    pub samples: usize,
    /// Window bands.
    pub window_bands: usize,
    /// Centres of the first and last window band, nm (which gas window was used).
    #[serde(default)]
    pub window_nm: Option<(f64, f64)>,
    /// Ground sample distance, m.
    pub gsd_m: f64,
    /// Runs.
    pub runs: usize,
    /// Plumes per run.
    pub plumes_per_run: usize,
    /// Seed.
    pub seed: u64,
    /// Per-pixel CFAR false-alarm rate.
    pub far_per_pixel: f64,
    /// The operating point a plume had to reach, false sites per km² from the scene's
    /// empirical null (`None`: the Gaussian false-alarm limit).
    #[serde(default)]
    pub false_sites_per_km2: Option<f64>,
    /// What counts as detected.
    pub detected_rule: String,
    /// The estimate: injected rates, detections, fit or bound.
    pub limit: DetectionLimit,
    /// Detections per rate bin.
    pub pod_bins: Vec<PodBin>,
    /// Whether the binned POD never falls as Q rises.
    pub pod_nondecreasing_in_q: bool,
    /// Median minimum detectable enhancement, ppm·m.
    pub median_min_detectable_enhancement_ppm_m: f64,
    /// z of the minimum-detectable-enhancement map.
    pub z_detect: f64,
    /// Wall time, s.
    pub elapsed_s: f64,
}

/// What counts as a detected injection.
pub const DETECTED_RULE: &str = ">= 3 newly detected plume pixels where the injected plume adds >= 50 ppm*m, or its peak pixel newly detected";

/// Binned detections of `dl` over 6 log-spaced bins of its rate range.
pub fn pod_bins(dl: &DetectionLimit) -> Vec<PodBin> {
    let (qlo, qhi) = dl.q_range_kg_h;
    log_bins(&[qlo, qhi], 6)
        .windows(2)
        .map(|w| {
            let inside = |q: &f64| *q >= w[0] && *q <= w[1];
            let n = dl.q_kg_h.iter().filter(|q| inside(q)).count();
            let k = dl
                .q_kg_h
                .iter()
                .zip(&dl.detected)
                .filter(|(q, d)| inside(q) && **d)
                .count();
            PodBin {
                q_lo_kg_h: w[0],
                q_hi_kg_h: w[1],
                n,
                detected: k,
                pod: (n > 0).then(|| k as f64 / n as f64),
                ci: (n > 0).then(|| wilson_interval(k, n)),
            }
        })
        .collect()
}

/// Median of the valid minimum-detectable-enhancement values, ppm·m.
pub fn median_mde(mde: &[f32]) -> f64 {
    let mut v: Vec<f64> = mde
        .iter()
        .filter(|x| **x != NODATA && x.is_finite())
        .map(|&x| f64::from(x))
        .collect();
    plumewatch_core::math::order_stats::median_in_place(&mut v)
}

/// Writes the report into `dir` (created if missing).
pub fn write_limit_report(
    dir: &Path,
    report: &LimitReport,
    mde: &[f32],
    georef: Option<&GeoRef>,
) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| {
        Error::new(
            ErrorKind::Io,
            format!("{}: cannot create report directory: {e}", dir.display()),
        )
    })?;
    plumewatch_io::write_cog(
        &dir.join("min_detectable_enhancement.tif"),
        report.lines,
        report.samples,
        &[OutputBand {
            data: mde,
            description: "minimum detectable enhancement (z_detect x sigma)",
            unit: "ppm·m",
        }],
        georef,
        Some(f64::from(NODATA)),
    )?;
    let text = serde_json::to_string_pretty(report)
        .map_err(|e| Error::new(ErrorKind::Compute, format!("limit.json: {e}")))?;
    plumewatch_io::atomic::write_bytes(&dir.join("limit.json"), text.as_bytes())?;
    plumewatch_io::atomic::write_bytes(&dir.join("limit.md"), markdown(report).as_bytes())?;
    write_plot_png(&dir.join("pod.png"), &pod_plot(report))?;
    Ok(())
}

/// Reads a `limit.json`.
pub fn read_limit_report(path: &Path) -> Result<LimitReport> {
    let text = plumewatch_io::read_small_text(path, "limit report")?;
    serde_json::from_str(&text).map_err(|e| {
        Error::input(format!(
            "{}: limit report: {e} (expected the limit.json that `plumewatch limit` writes)",
            path.display()
        ))
    })
}

/// The report as Markdown.
pub fn markdown(r: &LimitReport) -> String {
    let dl = &r.limit;
    let mut md = String::new();
    let _ = writeln!(
        md,
        "# plumewatch limit\n\n`{}`: {} × {} px, GSD {} m, wind {} m/s, {} trials in {} runs, detector {}{} ({:.1} s)\n",
        r.cube, r.lines, r.samples, r.gsd_m, dl.wind_m_s, dl.q_kg_h.len(), r.runs, dl.detector.name(),
        r.window_nm.map_or(String::new(), |(lo, hi)| format!(", window {lo:.0}–{hi:.0} nm ({} bands)", r.window_bands)),
        r.elapsed_s
    );
    match &dl.estimate {
        LimitEstimate::Fitted { fit } => {
            let _ = writeln!(md, "| | Q (kg/h) | 95% CI (kg/h) |\n|---|---|---|\n| 50% POD | {:.1} | {:.1}–{:.1} |\n| 90% POD | {:.1} | {:.1}–{:.1} |\n", fit.q50_kg_h, fit.q50_ci_kg_h.0, fit.q50_ci_kg_h.1, fit.q90_kg_h, fit.q90_ci_kg_h.0, fit.q90_ci_kg_h.1);
            let _ = writeln!(md, "Logistic slope {:.2} per decade of Q.", fit.b);
        }
        LimitEstimate::AllDetected { q90_at_most_kg_h } => {
            let _ = writeln!(md, "Every injected plume was found: Q90 ≤ {q90_at_most_kg_h:.1} kg/h (a bound; inject smaller rates with --q-range for a fit).");
        }
        LimitEstimate::NoneDetected { q50_at_least_kg_h } => {
            let _ = writeln!(md, "No injected plume was found: Q50 ≥ {q50_at_least_kg_h:.1} kg/h (a bound; inject larger rates with --q-range for a fit).");
        }
        LimitEstimate::Unfitted { reason } => {
            let _ = writeln!(md, "No POD(Q) fit: {reason}.");
        }
    }
    let _ = writeln!(
        md,
        "Median minimum detectable enhancement (z = {}): {:.0} ppm·m.\n",
        r.z_detect, r.median_min_detectable_enhancement_ppm_m
    );
    let _ = writeln!(
        md,
        "| Q bin (kg/h) | trials | detected | POD |\n|---|---|---|---|"
    );
    for b in &r.pod_bins {
        let pod = b.pod.map_or("–".to_string(), |p| format!("{p:.2}"));
        let _ = writeln!(
            md,
            "| {:.1}–{:.1} | {} | {} | {pod} |",
            b.q_lo_kg_h, b.q_hi_kg_h, b.n, b.detected
        );
    }
    md
}

fn pod_plot(r: &LimitReport) -> Plot {
    let (qlo, qhi) = r.limit.q_range_kg_h;
    let mut series = Vec::new();
    let title = match &r.limit.estimate {
        LimitEstimate::Fitted { fit } => {
            let curve: Vec<(f64, f64)> = (0..=60)
                .map(|i| {
                    let q = 10f64.powf(qlo.log10() + (qhi.log10() - qlo.log10()) * i as f64 / 60.0);
                    (q, fit.pod(q))
                })
                .collect();
            series.push(Series {
                label: "logistic fit".into(),
                points: curve,
                color: [200, 30, 30],
                style: SeriesStyle::Line,
                y_bounds: None,
            });
            format!(
                "POD(Q): Q50 {:.1}, Q90 {:.1} kg/h",
                fit.q50_kg_h, fit.q90_kg_h
            )
        }
        LimitEstimate::AllDetected { q90_at_most_kg_h } => {
            format!("POD(Q): Q90 <= {q90_at_most_kg_h:.1} kg/h")
        }
        LimitEstimate::NoneDetected { q50_at_least_kg_h } => {
            format!("POD(Q): Q50 >= {q50_at_least_kg_h:.1} kg/h")
        }
        LimitEstimate::Unfitted { .. } => "POD(Q): no fit".into(),
    };
    let bins: Vec<&PodBin> = r.pod_bins.iter().filter(|b| b.pod.is_some()).collect();
    series.push(Series {
        label: "binned (95% CI)".into(),
        points: bins
            .iter()
            .map(|b| {
                (
                    (b.q_lo_kg_h * b.q_hi_kg_h).sqrt(),
                    b.pod.unwrap_or(f64::NAN),
                )
            })
            .collect(),
        color: [30, 30, 200],
        style: SeriesStyle::Points,
        y_bounds: Some(
            bins.iter()
                .map(|b| b.ci.unwrap_or((f64::NAN, f64::NAN)))
                .collect(),
        ),
    });
    Plot {
        title,
        x_label: "Q (kg/h)".into(),
        y_label: "POD".into(),
        log_x: true,
        x_range: Some((qlo, qhi)),
        y_range: Some((0.0, 1.0)),
        identity_line: false,
        series,
    }
}
