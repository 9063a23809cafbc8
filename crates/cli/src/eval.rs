//! `plumewatch eval`: score detections against simulation truth (pixel ROC/PR AUC,
//! source POD vs emission rate, false sites per km², rate error) and write JSON,
//! Markdown and PNG plots. The work is [`plumewatch_scan::eval`].

use clap::Args;
use plumewatch_scan::eval::{evaluate, EvalSettings};
use std::path::PathBuf;

/// Arguments of `plumewatch eval`.
#[derive(Debug, Args)]
pub struct EvalArgs {
    /// Truth directory: `truth_sources.json` and `truth_mask.tif` (or `truth_mask.img`).
    #[arg(long)]
    pub truth: PathBuf,
    /// Detection raster (`plumewatch detect` output): band 1 enhancement (ppm·m), band 4 z.
    #[arg(long, required_unless_present = "sites")]
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
    let settings = EvalSettings {
        truth: args.truth,
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
