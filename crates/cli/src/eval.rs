//! `plumewatch eval`: score detections against simulation truth (pixel ROC/PR AUC,
//! source POD vs emission rate, false sites per km², rate error) and write JSON,
//! Markdown and PNG plots. The work is [`plumewatch_scan::eval`].

use anyhow::Context as _;
use clap::Args;
use plumewatch_scan::campaign;
use plumewatch_scan::eval::{evaluate, EvalSettings};
use std::path::{Path, PathBuf};

/// Arguments of `plumewatch eval`.
#[derive(Debug, Args)]
pub struct EvalArgs {
    /// Truth directory: `truth_sources.json` and `truth_mask.tif` (or `truth_mask.img`).
    #[arg(long, required_unless_present = "campaign")]
    pub truth: Option<PathBuf>,
    /// Score many scenes together (the detection benchmark, `bench/detection.sh`): a JSON
    /// list of `{"name", "truth", "sites", "twin_sites"}` (truth directory, the scan's
    /// `sites.geojson` of the scene and of its plume-free twin). Writes
    /// `detection.json` and `detection.md`: false sites per km² on twins and plume
    /// scenes, POD per rate bin (dark ground apart), logistic Q50/Q90, localisation
    /// error, rate parity and interval coverage.
    #[arg(long, conflicts_with_all = ["truth", "enhancement", "sites", "match_distance"])]
    pub campaign: Option<PathBuf>,
    /// With --campaign: a site within this many pixels of a source finds it.
    #[arg(long, default_value_t = 5.0, requires = "campaign")]
    pub source_radius_px: f64,
    /// Detection raster (`plumewatch detect` output): band 1 enhancement (ppm·m), band 4 z.
    #[arg(long, required_unless_present_any = ["sites", "campaign"])]
    pub enhancement: Option<PathBuf>,
    /// Detected sites (`plumewatch scan` sites.geojson).
    #[arg(long)]
    pub sites: Option<PathBuf>,
    /// A site matches a source within this distance, m (default max(50, 3 × GSD)).
    #[arg(long)]
    pub match_distance: Option<f64>,
    /// Emission-rate bins for POD (log-spaced over the true rates).
    #[arg(long, default_value_t = 4)]
    pub bins: usize,
    /// Report directory (created if missing).
    #[arg(short, long)]
    pub output: PathBuf,
}

/// Runs `plumewatch eval`.
pub fn run(args: EvalArgs, quiet: bool) -> anyhow::Result<()> {
    if let Some(manifest) = &args.campaign {
        return run_campaign(manifest, &args, quiet);
    }
    let settings = EvalSettings {
        truth: args
            .truth
            .expect("clap requires --truth without --campaign"),
        enhancement: args.enhancement,
        sites: args.sites,
        match_distance: args.match_distance,
        bins: args.bins,
        output: args.output,
    };
    let outcome = evaluate(&settings)?;
    if !quiet {
        eprint!("{}", outcome.markdown);
        eprintln!("eval: report → {}", settings.output.display());
    }
    Ok(())
}

/// `plumewatch eval --campaign`.
fn run_campaign(manifest: &Path, args: &EvalArgs, quiet: bool) -> anyhow::Result<()> {
    let scenes = campaign::read_manifest(manifest)?;
    let rules = campaign::CampaignRules {
        source_radius_px: args.source_radius_px,
        ..campaign::CampaignRules::default()
    };
    let report = campaign::score_campaign(&scenes, &rules)?;
    plumewatch_io::atomic::check_output_dir(&args.output)?;
    std::fs::create_dir_all(&args.output)
        .with_context(|| format!("{}: cannot create report directory", args.output.display()))?;
    plumewatch_io::truth::write_json(&args.output.join("detection.json"), &report)?;
    if !report.calibration.is_empty() {
        write_calibration_plot(&args.output.join("calibration.png"), &report.calibration)?;
    }
    let md = report.markdown();
    plumewatch_io::atomic::write_bytes(&args.output.join("detection.md"), md.as_bytes())?;
    if !quiet {
        eprint!("{md}");
        eprintln!("eval: report → {}", args.output.display());
    }
    Ok(())
}

/// `calibration.png`: observed / requested false sites per km² on the plume-free twins
/// against the requested rate, with Poisson 95 % intervals and the factor-2 band.
fn write_calibration_plot(
    path: &Path,
    points: &[campaign::CalibrationPoint],
) -> anyhow::Result<()> {
    use plumewatch_io::png_plot::{write_plot_png, Plot, Series, SeriesStyle};
    let xs: Vec<f64> = points.iter().map(|c| c.requested_per_km2).collect();
    let (x0, x1) = (xs[0] / 1.5, xs[xs.len() - 1] * 1.5);
    let flat = |y: f64, label: &str, color: [u8; 3]| Series {
        label: label.into(),
        points: vec![(x0, y), (x1, y)],
        color,
        style: SeriesStyle::Line,
        y_bounds: None,
    };
    let ratio = Series {
        label: "observed / requested (95 % interval)".into(),
        points: points
            .iter()
            .map(|c| {
                (
                    c.requested_per_km2,
                    c.observed_per_km2 / c.requested_per_km2,
                )
            })
            .collect(),
        color: [200, 30, 30],
        style: SeriesStyle::LinePoints,
        y_bounds: Some(
            points
                .iter()
                .map(|c| {
                    (
                        c.interval_per_km2.0 / c.requested_per_km2,
                        c.interval_per_km2.1 / c.requested_per_km2,
                    )
                })
                .collect(),
        ),
    };
    write_plot_png(
        path,
        &Plot {
            title: "False sites on plume-free twins: observed / requested".into(),
            x_label: "requested false sites per km2".into(),
            y_label: "observed / requested".into(),
            log_x: true,
            x_range: Some((x0, x1)),
            y_range: Some((0.0, 4.0)),
            identity_line: false,
            series: vec![
                ratio,
                flat(1.0, "calibrated", [30, 30, 200]),
                flat(2.0, "factor 2", [150, 150, 150]),
                flat(0.5, "factor 1/2", [150, 150, 150]),
            ],
        },
    )?;
    Ok(())
}
