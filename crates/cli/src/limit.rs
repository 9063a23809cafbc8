//! `plumewatch limit`: the detection limit of a real cube (see
//! `plumewatch_scan::limit`): flags → the library's experiment → its report.

use crate::gas_window::parse_pair;
use crate::progress::{printable, TerminalProgress};
use anyhow::{bail, Context};
use clap::{Args, ValueEnum};
use plumewatch_scan::limit::{estimate_with, LimitExtras, LimitInputs};
use plumewatch_scan::pipeline::StagedBands;
use plumewatch_scan::sinks::limit_report::{self, LimitReport};
use plumewatch_scan::window::{band_model, GasWindow, Window};
use plumewatch_scan::{Detector, LimitConfig};
use std::path::PathBuf;
use std::time::Instant;

/// Detector of the experiment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LimitAlgo {
    /// Albedo-corrected matched filter (the scan's default).
    Amf,
    /// Classic matched filter.
    Mf,
    /// mag1c.
    Mag1c,
}

/// Arguments of `plumewatch limit`.
#[derive(Debug, Args)]
pub struct LimitArgs {
    /// Radiance cube (ENVI, GeoTIFF, EMIT NetCDF).
    #[arg(long)]
    pub cube: PathBuf,
    /// Ground sample distance, m (default: from the georeferencing).
    #[arg(long)]
    pub gsd: Option<f64>,
    /// Wind speed of the injected plumes, m/s (directions are random).
    #[arg(long, default_value_t = 3.0)]
    pub wind: f64,
    /// Emission-rate range, kg/h: LO,HI (log-uniform; default 1,1000 for GSD ≤ 10 m,
    /// 100,30000 above).
    #[arg(long, value_parser = parse_pair)]
    pub q_range: Option<(f64, f64)>,
    /// Detection runs (each injects --per-run plumes at separated random positions).
    #[arg(long, default_value_t = 40)]
    pub runs: usize,
    /// Plumes injected per run.
    #[arg(long, default_value_t = 5)]
    pub per_run: usize,
    /// Per-pixel false-alarm rate of the CFAR seed threshold.
    #[arg(long, default_value_t = 1e-4)]
    pub far: f64,
    /// The operating point an injected plume must reach to count as found, as in
    /// `scan`: at most this many false sites per km² from the scene's own empirical
    /// null, or `none` for the Gaussian false-alarm limit (at most 0.01 per scene)
    /// [default: 0.1, the scan's]. On a small scene (a drone survey of a few hectares)
    /// 0.1 per km² allows only a few thousandths of a false site over the whole scene.
    #[arg(long, value_name = "RATE|none", value_parser = crate::scan::parse_operating_point)]
    pub false_sites_per_km2: Option<crate::scan::OperatingPoint>,
    /// Detector, with the scan's saturation screening and plume analysis.
    #[arg(long, value_enum, default_value_t = LimitAlgo::Amf)]
    pub algo: LimitAlgo,
    /// z at which a pixel counts as detectable for the minimum-detectable-enhancement map.
    #[arg(long, default_value_t = 3.72)]
    pub z_detect: f64,
    /// Gas: built-in name (ch4) or LUT sidecar JSON.
    #[arg(long, default_value = "ch4")]
    pub gas: String,
    /// Gas window, nm: LO,HI, or ranges joined by + for a joint detector [default:
    /// 2122,2488 when the sensor covers it, else the 1.65 µm window 1560,1720].
    #[arg(long, value_parser = Window::parse)]
    pub window: Option<Window>,
    /// Random seed (positions, rates, directions, meanders).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Report directory (created if missing).
    #[arg(short, long)]
    pub output: PathBuf,
}

/// Runs `plumewatch limit`.
pub fn run(args: LimitArgs, quiet: bool) -> anyhow::Result<()> {
    let start = Instant::now();
    let _crs = plumewatch_io::open_crs_database_in_background();
    if args.runs == 0 || args.per_run == 0 {
        bail!("--runs and --per-run: expected at least 1 each");
    }
    if !(args.wind.is_finite() && (0.5..=100.0).contains(&args.wind)) {
        bail!("--wind {}: expected a wind speed of 0.5–100 m/s", args.wind);
    }
    if !(args.far > 0.0 && args.far < 0.5) {
        bail!(
            "--far {}: expected a per-pixel false-alarm rate in (0, 0.5)",
            args.far
        );
    }
    if !(args.z_detect.is_finite() && args.z_detect > 0.0) {
        bail!("--z-detect {}: expected a positive number", args.z_detect);
    }
    plumewatch_io::atomic::check_output_dir(&args.output)?;
    let path = &args.cube;
    let cube = plumewatch_io::open_cube(path)?;
    let meta = cube.meta().clone();
    let gsd = match (args.gsd, &meta.georef) {
        (Some(g), _) if g.is_finite() && g > 0.0 => g,
        (Some(g), _) => bail!("--gsd {g}: expected a positive number of metres"),
        (None, Some(g)) => g.geo_transform[1].abs(),
        (None, None) => bail!(
            "{}: georeferencing: missing, so the ground sample distance is unknown; give --gsd",
            printable(path)
        ),
    };
    let detector = match args.algo {
        LimitAlgo::Amf => Detector::Amf,
        LimitAlgo::Mf => Detector::Mf,
        LimitAlgo::Mag1c => Detector::Mag1c,
    };
    let params = detector.detect_params();
    let window = GasWindow::for_cube(
        path,
        &meta,
        &args.gas,
        args.window.as_ref(),
        None,
        params.saturation.as_ref(),
    )?;
    plumewatch_scan::window::check_content(path, cube.as_ref(), &window.bands, params.grouping)?;
    let staged = StagedBands::read(cube.as_ref(), &window)
        .with_context(|| format!("{}: reading the gas-window bands", printable(path)))?;
    drop(cube);
    let mut pass = plumewatch_core::scan::PassParams::default();
    pass.cfar.far = args.far;
    if let Some(op) = args.false_sites_per_km2 {
        pass.false_sites_per_km2 = op.limit();
    }
    pass.cfar.seed_threshold().context("--far")?;
    let inputs = LimitInputs {
        line: "limit",
        path,
        staged: &staged,
        window: &window,
        band_model: band_model(path, &meta, &staged.bands)?,
        gas: &args.gas,
        detector,
        pass: &pass,
        gsd_m: gsd,
        wind_m_s: Some(args.wind),
        settings: LimitConfig {
            runs: args.runs,
            per_run: args.per_run,
            seed: args.seed,
        },
    };
    let extras = LimitExtras {
        q_range_kg_h: args.q_range,
        z_detect: args.z_detect,
    };
    let progress = TerminalProgress::new(quiet);
    let limit = estimate_with(&inputs, None, &extras, &progress)?;
    let mde = limit.mde.clone();
    let pod_bins = limit_report::pod_bins(&limit);
    let pods: Vec<f64> = pod_bins.iter().filter_map(|b| b.pod).collect();
    let report = LimitReport {
        cube: path.display().to_string(),
        lines: meta.lines,
        samples: meta.samples,
        window_bands: window.bands.len(),
        window_nm: window
            .wavelength_nm
            .first()
            .zip(window.wavelength_nm.last())
            .map(|(&a, &b)| (a, b)),
        gsd_m: gsd,
        runs: args.runs,
        plumes_per_run: args.per_run,
        seed: args.seed,
        far_per_pixel: args.far,
        false_sites_per_km2: pass.false_sites_per_km2,
        detected_rule: limit_report::DETECTED_RULE.into(),
        pod_nondecreasing_in_q: pods.windows(2).all(|w| w[1] >= w[0]),
        pod_bins,
        median_min_detectable_enhancement_ppm_m: limit_report::median_mde(&mde),
        z_detect: args.z_detect,
        elapsed_s: start.elapsed().as_secs_f64(),
        limit,
    };
    limit_report::write_limit_report(&args.output, &report, &mde, meta.georef.as_ref())?;
    if !quiet {
        eprint!("{}", limit_report::markdown(&report));
        eprintln!(
            "limit: report → {} ({:.1} s)",
            printable(&args.output),
            start.elapsed().as_secs_f64()
        );
    }
    Ok(())
}
