//! The `eval` workflow: score detections against simulation truth — pixel ROC/PR AUC of
//! a detection raster, source probability of detection (POD) against emission rate,
//! false sites per km², emission-rate error — and write `eval.json` ([`EvalReport`]),
//! `eval.md` and PNG plots.
//!
//! # Units
//! Emission rate kg/h, distances m, areas km², enhancement ppm·m.

use crate::{bail, Context, Result};
use plumewatch_core::eval::{
    log_bins, pixel_scores, score_sources, DetectedSite, PixelScores, SourceScores, TrueSource,
};
use plumewatch_core::raster::NODATA;
use plumewatch_io::png_plot::{write_plot_png, Plot, Series, SeriesStyle};
use serde::Serialize;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// What to score against what.
#[derive(Debug, Clone, PartialEq)]
pub struct EvalSettings {
    /// Truth directory: `truth_sources.json` and `truth_mask.tif` (or `truth_mask.img`).
    pub truth: PathBuf,
    /// Detection raster (`plumewatch detect` output): band 1 enhancement (ppm·m), band 4 z.
    pub enhancement: Option<PathBuf>,
    /// Detected sites (`plumewatch scan` sites.geojson).
    pub sites: Option<PathBuf>,
    /// A site matches a source within this distance, m (default max(50, 3 × GSD)).
    pub match_distance: Option<f64>,
    /// Emission-rate bins for POD (log-spaced over the true rates).
    pub bins: usize,
    /// Report directory (created if missing).
    pub output: PathBuf,
}

/// Pixel-level scores of a detection raster.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PixelReport {
    /// Scores of band 1 (enhancement).
    pub enhancement: PixelScores,
    /// The raster scored.
    pub raster: String,
    /// Scores of band 4 (z), when the raster has it.
    pub z: Option<PixelScores>,
}

/// `eval.json` (fields in the order they appear in the file).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EvalReport {
    /// Ground sample distance of the truth, m.
    pub gsd_m: f64,
    /// Lines of the truth mask.
    pub lines: usize,
    /// Pixel-level scores (with a detection raster).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pixel: Option<PixelReport>,
    /// Samples of the truth mask.
    pub samples: usize,
    /// The sites file scored (with sites).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sites: Option<String>,
    /// Source-level scores (with sites).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<SourceScores>,
    /// The truth directory.
    pub truth: String,
    /// Pixels in the truth mask.
    pub truth_plume_pixels: usize,
}

/// What [`evaluate`] produced: the report and its Markdown text (also written).
#[derive(Debug, Clone, PartialEq)]
pub struct EvalOutcome {
    /// The scores, as written to `eval.json`.
    pub report: EvalReport,
    /// `eval.md`.
    pub markdown: String,
}

/// Pixel-level scores of one raster band.
fn band_scores(
    path: &Path,
    band: usize,
    mask: &[bool],
    dims: (usize, usize),
) -> Result<PixelScores> {
    let (l, s, v) = plumewatch_io::read_band_f32(path, band)?;
    if (l, s) != dims {
        bail!(
            "{}: band {band} is {l} × {s} pixels (expected the truth's {} × {})",
            path.display(),
            dims.0,
            dims.1
        );
    }
    let valid: Vec<bool> = v.iter().map(|x| x.is_finite() && *x != NODATA).collect();
    pixel_scores(&v, mask, Some(&valid)).with_context(|| format!("{}: band {band}", path.display()))
}

fn truth_mask(dir: &Path) -> Result<(usize, usize, Vec<bool>)> {
    let candidates = ["truth_mask.tif", "truth_mask.img"];
    let path = candidates
        .iter()
        .map(|c| dir.join(c))
        .find(|p| p.is_file())
        .with_context(|| {
            format!(
                "{}: no truth_mask.tif or truth_mask.img (expected a simulate output directory)",
                dir.display()
            )
        })?;
    let (l, s, v) = plumewatch_io::read_band_f32(&path, 1)?;
    Ok((l, s, v.iter().map(|x| *x > 0.5).collect()))
}

/// Scores the detections of `settings` against its truth and writes `eval.json`,
/// `eval.md`, `roc.png` (with a raster), `pod.png` and `parity.png` (with sites).
pub fn evaluate(settings: &EvalSettings) -> Result<EvalOutcome> {
    let args = settings;
    let truth_json = args.truth.join("truth_sources.json");
    let truth = plumewatch_io::truth::read_truth(&truth_json)?;
    let (lines, samples, mask) = truth_mask(&args.truth)?;
    let gsd = truth.gsd_m.with_context(|| {
        format!(
            "{}: gsd_m: missing (expected the ground sample distance in m)",
            truth_json.display()
        )
    })?;
    if args.bins == 0 {
        bail!("--bins 0: expected at least 1 emission-rate bin");
    }
    if let Some(d) = args.match_distance {
        if !(d.is_finite() && d > 0.0) {
            bail!("--match-distance {d}: expected a positive distance in m");
        }
    }
    plumewatch_io::atomic::check_output_dir(&args.output)?;
    // Every input is read before the report folder is made: a bad input leaves nothing.
    let sites = match &args.sites {
        Some(p) => Some(plumewatch_io::truth::read_sites(p)?),
        None => None,
    };
    let make_dir = || {
        std::fs::create_dir_all(&args.output)
            .map_err(|e| crate::Error::new(crate::ErrorKind::Io, e.to_string()))
            .with_context(|| format!("{}: cannot create report directory", args.output.display()))
    };
    let mut report = EvalReport {
        gsd_m: gsd,
        lines,
        pixel: None,
        samples,
        sites: None,
        source: None,
        truth: args.truth.display().to_string(),
        truth_plume_pixels: mask.iter().filter(|m| **m).count(),
    };
    let mut md = String::new();
    let _ = writeln!(
        md,
        "# plumewatch eval\n\nTruth: `{}` ({lines} × {samples} px, GSD {gsd} m, {} sources)\n",
        args.truth.display(),
        truth.sources.len()
    );
    // Pixel level.
    if let Some(enh) = &args.enhancement {
        let n_bands = plumewatch_io::gdal_raster::band_descriptions(enh)?.len();
        let e = band_scores(enh, 1, &mask, (lines, samples))?;
        let z = if n_bands >= 4 {
            Some(band_scores(enh, 4, &mask, (lines, samples))?)
        } else {
            None
        };
        let _ = writeln!(md, "## Pixel level (`{}`)\n\n| score | ROC AUC | PR AUC | plume px | background px |\n|---|---|---|---|---|", enh.display());
        for (name, s) in [("enhancement", Some(&e)), ("z", z.as_ref())] {
            if let Some(s) = s {
                let _ = writeln!(
                    md,
                    "| {name} | {:.4} | {:.4} | {} | {} |",
                    s.roc_auc, s.pr_auc, s.positives, s.negatives
                );
            }
        }
        md.push('\n');
        let mut series = vec![Series {
            label: "enhancement".into(),
            points: e
                .roc
                .x
                .iter()
                .copied()
                .zip(e.roc.y.iter().copied())
                .collect(),
            color: [200, 30, 30],
            style: SeriesStyle::Line,
            y_bounds: None,
        }];
        if let Some(z) = &z {
            series.push(Series {
                label: "z".into(),
                points: z
                    .roc
                    .x
                    .iter()
                    .copied()
                    .zip(z.roc.y.iter().copied())
                    .collect(),
                color: [30, 30, 200],
                style: SeriesStyle::Line,
                y_bounds: None,
            });
        }
        make_dir()?;
        write_plot_png(
            &args.output.join("roc.png"),
            &Plot {
                title: format!("ROC: AUC {:.3} (enhancement)", e.roc_auc),
                x_label: "false positive rate".into(),
                y_label: "true positive rate".into(),
                log_x: false,
                x_range: Some((0.0, 1.0)),
                y_range: Some((0.0, 1.0)),
                identity_line: true,
                series,
            },
        )?;
        report.pixel = Some(PixelReport {
            enhancement: e,
            raster: enh.display().to_string(),
            z,
        });
    }

    // Source level.
    if let (Some(sites_path), Some(sites)) = (&args.sites, sites) {
        let true_sources: Vec<TrueSource> = truth
            .sources
            .iter()
            .map(|s| -> Result<TrueSource> {
                Ok(TrueSource {
                    id: s.id,
                    x: s.easting_m.with_context(|| {
                        format!(
                            "{}: source {}: easting_m missing",
                            truth_json.display(),
                            s.id
                        )
                    })?,
                    y: s.northing_m.with_context(|| {
                        format!(
                            "{}: source {}: northing_m missing",
                            truth_json.display(),
                            s.id
                        )
                    })?,
                    rate_kg_h: s.rate_kg_h,
                })
            })
            .collect::<Result<_>>()?;
        let detections: Vec<DetectedSite> = sites
            .iter()
            .map(|s| DetectedSite {
                x: s.x,
                y: s.y,
                rate_kg_h: s.rate_kg_h,
            })
            .collect();
        let dist = args.match_distance.unwrap_or((3.0 * gsd).max(50.0));
        let area_km2 = (lines * samples) as f64 * gsd * gsd / 1e6;
        let rates: Vec<f64> = truth.sources.iter().map(|s| s.rate_kg_h).collect();
        let edges = log_bins(&rates, args.bins.max(1));
        let sc = score_sources(&true_sources, &detections, dist, area_km2, &edges)?;
        make_dir()?;
        write_source_outputs(&args.output, &sc, &mut md)?;
        report.source = Some(sc);
        report.sites = Some(sites_path.display().to_string());
    }
    make_dir()?;
    plumewatch_io::truth::write_json(&args.output.join("eval.json"), &report)?;
    plumewatch_io::atomic::write_bytes(&args.output.join("eval.md"), md.as_bytes())?;
    Ok(EvalOutcome {
        report,
        markdown: md,
    })
}

fn write_source_outputs(out: &Path, sc: &SourceScores, md: &mut String) -> Result<()> {
    let _ = writeln!(
        md,
        "## Source level (match within {:.0} m)\n\nPOD {:.2} ({} of {} sources), false sites {} = {:.3} per km² over {:.3} km²\n",
        sc.max_distance_m,
        sc.pod,
        sc.matches.len(),
        sc.matches.len() + sc.missed.len(),
        sc.false_sites.len(),
        sc.false_sites_per_km2,
        sc.area_km2
    );
    let _ = writeln!(
        md,
        "| Q bin (kg/h) | sources | detected | POD | 95% CI |\n|---|---|---|---|---|"
    );
    for b in &sc.pod_bins {
        let _ = writeln!(
            md,
            "| {:.1}–{:.1} | {} | {} | {} | {:.2}–{:.2} |",
            b.q_lo_kg_h,
            b.q_hi_kg_h,
            b.n,
            b.detected,
            if b.n > 0 {
                format!("{:.2}", b.pod)
            } else {
                "–".into()
            },
            b.ci_lo,
            b.ci_hi
        );
    }
    md.push('\n');
    let _ = writeln!(
        md,
        "| source | true Q (kg/h) | estimated Q (kg/h) | distance (m) |\n|---|---|---|---|"
    );
    for m in &sc.matches {
        let _ = writeln!(
            md,
            "| {} | {:.1} | {} | {:.1} |",
            m.truth_id,
            m.true_rate_kg_h,
            m.estimated_rate_kg_h
                .map_or("–".into(), |q| format!("{q:.1}")),
            m.distance_m
        );
    }
    if let Some(r) = &sc.rate_error {
        let _ = writeln!(
            md,
            "\nRate error over {} sources: median |ΔQ|/Q {:.3}, median bias {:+.3}, mean bias {:+.3}, parity slope {:.3}, R² {:.3}\n",
            r.n, r.median_abs_rel_error, r.median_rel_bias, r.mean_rel_bias, r.parity_slope, r.parity_r2
        );
    }
    let centres: Vec<(f64, f64)> = sc
        .pod_bins
        .iter()
        .map(|b| ((b.q_lo_kg_h * b.q_hi_kg_h).sqrt(), b.pod))
        .collect();
    write_plot_png(
        &out.join("pod.png"),
        &Plot {
            title: "probability of detection vs emission rate".into(),
            x_label: "Q (kg/h)".into(),
            y_label: "POD".into(),
            log_x: true,
            x_range: None,
            y_range: Some((0.0, 1.0)),
            identity_line: false,
            series: vec![Series {
                label: "POD (95% CI)".into(),
                points: centres,
                color: [30, 30, 200],
                style: SeriesStyle::LinePoints,
                y_bounds: Some(sc.pod_bins.iter().map(|b| (b.ci_lo, b.ci_hi)).collect()),
            }],
        },
    )?;
    let parity: Vec<(f64, f64)> = sc
        .matches
        .iter()
        .filter_map(|m| m.estimated_rate_kg_h.map(|q| (m.true_rate_kg_h, q)))
        .collect();
    write_plot_png(
        &out.join("parity.png"),
        &Plot {
            title: "emission rate parity".into(),
            x_label: "true Q (kg/h)".into(),
            y_label: "estimated Q (kg/h)".into(),
            log_x: false,
            x_range: None,
            y_range: None,
            identity_line: true,
            series: vec![Series {
                label: "matched sources".into(),
                points: parity,
                color: [200, 30, 30],
                style: SeriesStyle::Points,
                y_bounds: None,
            }],
        },
    )?;
    Ok(())
}
