//! `plumewatch scan`: flags → [`ScanConfig`] → the library's `scan` → output sinks.

use crate::progress::TerminalProgress;
use anyhow::{bail, Context};
use clap::{Args, ValueEnum};
use plumewatch_core::quantify::Wind;
use plumewatch_scan::window::Window;
use plumewatch_scan::{
    Detector, FlightLine, Replace, ScanConfig, ScanResult, Statistics, WindFile,
};
use std::path::PathBuf;

/// Detector used by `scan`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ScanAlgo {
    /// Albedo-corrected matched filter, statistics per detector column.
    Amf,
    /// Classic matched filter, statistics per detector column.
    Mf,
    /// mag1c: sparse, non-negative, albedo-corrected iterative matched filter.
    Mag1c,
}

/// Arguments of `plumewatch scan`.
#[derive(Debug, Args)]
pub struct ScanArgs {
    /// Radiance cubes, one per flight line (ENVI header or any GDAL raster).
    #[arg(required_unless_present = "config")]
    pub cubes: Vec<PathBuf>,
    /// Run configuration (JSON, as `--print-config` writes it); no other run flags.
    #[arg(long, conflicts_with_all = ["cubes", "gas", "wind", "wind_file", "glt", "far", "false_sites_per_km2", "wind_error", "min_gas_probability", "algo", "stats", "classes", "no_outlier_scaling", "window", "gsd", "merge_distance", "limit_runs"])]
    pub config: Option<PathBuf>,
    /// Print the complete run configuration as JSON and exit (nothing is scanned).
    #[arg(long)]
    pub print_config: bool,
    /// Gas to look for: a built-in name (`ch4`) or a LUT sidecar/header path.
    #[arg(long)]
    pub gas: Option<String>,
    /// Wind as SPEED,DIR: speed in m/s at 10 m, direction in degrees the wind blows FROM
    /// (meteorological; 270 = from the west). Needed for emission rates.
    #[arg(long, value_parser = parse_wind, conflicts_with = "wind_file")]
    pub wind: Option<Wind>,
    /// JSON wind file: `{"speed_m_s": S, "from_deg": D}` for all flight lines, or
    /// `{"default": {...}, "passes": {"<cube file name>": {...}}}` per flight line.
    #[arg(long)]
    pub wind_file: Option<PathBuf>,
    /// Relative 1-σ error of the wind speed given (0.5 = 50 %, a reanalysis 10 m wind;
    /// about 0.1 for a wind measured on site); it widens the rates' uncertainty
    /// intervals [default: 0.5].
    #[arg(long, value_name = "REL", value_parser = parse_wind_error)]
    pub wind_error: Option<f64>,
    /// Geographic lookup table of each cube, in the order of the cubes (band 1 =
    /// 1-based raw sample, band 2 = 1-based raw line, 0 = outside); outputs are then
    /// orthorectified onto the GLT's grid and sources placed through it.
    #[arg(long)]
    pub glt: Vec<PathBuf>,
    /// Target false-alarm rate per pixel of the CFAR seed threshold [default: 1e-4].
    #[arg(long)]
    pub far: Option<f64>,
    /// The operating point: the most false sites per km² a reported source may be
    /// expected to bring, read from the scene's own empirical null (the same
    /// segmentation on the negated score, counting what vetting would keep); it
    /// replaces the Gaussian false-alarm limit. `none` lets the Gaussian false-alarm
    /// probability (at most 0.01 per scene) decide instead; every site carries its
    /// figure, `false_sites_per_km2`, and a q-value either way [default: 0.1].
    #[arg(long, value_name = "RATE|none", value_parser = parse_operating_point)]
    pub false_sites_per_km2: Option<OperatingPoint>,
    /// Vetting: report only candidates whose probability of being gas is at least P
    /// (significance, the agreement of the IME and cross-sectional flux estimates, and
    /// the gas column of the narrow absorption structure; needs the wind; 0 reports
    /// every candidate the rules keep) [default: 0.575, with class statistics and with
    /// `--classes 0`, each model's own threshold].
    #[arg(long, value_name = "P", value_parser = parse_probability)]
    pub min_gas_probability: Option<f64>,
    /// Detector [default: amf].
    #[arg(long, value_enum)]
    pub algo: Option<ScanAlgo>,
    /// Background statistics: `columns` (per detector column, pushbroom lines),
    /// `global` (one set for the scene) or `tiles:N` (an N × N grid of tiles, each with
    /// its own) [default: columns for raw pushbroom cubes, tiles:8 for georeferenced
    /// mosaics (a GeoTIFF, or a cube with map info and a nodata value, scanned without
    /// a GLT)].
    #[arg(long, value_parser = parse_stats)]
    pub stats: Option<Statistics>,
    /// Gas window LO,HI in nm, or ranges joined by + for a joint detector over both CH4
    /// windows (1560,1720+2122,2488) [default: 2122,2488 when the first cube's sensor
    /// covers it, else the 1.65 µm window 1560,1720].
    #[arg(long, value_parser = Window::parse)]
    pub window: Option<Window>,
    /// Ground sample distance in m, for cubes without georeferencing.
    #[arg(long)]
    pub gsd: Option<f64>,
    /// Detections closer than this (m) are merged into one site [default: 5 pixels of
    /// the coarsest flight line].
    #[arg(long)]
    pub merge_distance: Option<f64>,
    /// Injection runs of the detection-limit estimate in the report (5 plumes each;
    /// 0 skips it). Done on the first flight line [default: 10].
    #[arg(long)]
    pub limit_runs: Option<usize>,
    /// Estimate the background statistics again without the pixels the first pass
    /// flags as possible plume (as `stream` does).
    #[arg(long)]
    pub exclude_plume_pixels: bool,
    /// Surface classes for class-conditional background statistics (mf and amf with
    /// per-column statistics; ignored by mag1c and for tiles or global statistics): each
    /// pixel's background is the mean and covariance of its own surface class in its
    /// column (or the nearest columns holding enough of that class); 0 keeps one set of
    /// statistics per column [default: 8].
    #[arg(long, value_name = "K", value_parser = clap::value_parser!(u64).range(0..=64))]
    pub classes: Option<u64>,
    /// Do not scale down the z-score of pixels far outside their background statistics
    /// (the plain matched filter's score; no effect on mag1c).
    #[arg(long)]
    pub no_outlier_scaling: bool,
    /// Replace the output folder even when it holds something other than a previous
    /// scan.
    #[arg(long)]
    pub overwrite: bool,
    /// Output directory (written as a whole when the scan is complete).
    #[arg(short, long, required_unless_present = "print_config")]
    pub output: Option<PathBuf>,
}

/// Parses `--stats` (for `scan` and `detect`): `columns`, `global` or `tiles:N`.
/// Parses a positive, finite rate (`--false-sites-per-km2`).
pub(crate) fn parse_probability(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(v) if (0.0..=1.0).contains(&v) => Ok(v),
        _ => Err(format!("expected a probability from 0 to 1, got {s:?}")),
    }
}

pub(crate) fn parse_wind_error(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(v) if (0.0..=5.0).contains(&v) => Ok(v),
        _ => Err(format!(
            "--wind-error {s:?}: expected the relative error of the wind speed, a number from 0 to 5 (0.5 = 50 %)"
        )),
    }
}

/// `--false-sites-per-km2`: a rate, or `none` for the Gaussian false-alarm limit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum OperatingPoint {
    /// At most this many false sites per km², from the scene's empirical null.
    Rate(f64),
    /// The Gaussian false-alarm probability decides.
    Gaussian,
}

impl OperatingPoint {
    /// [`plumewatch_core::scan::PassParams::false_sites_per_km2`] of this choice.
    pub fn limit(self) -> Option<f64> {
        match self {
            OperatingPoint::Rate(r) => Some(r),
            OperatingPoint::Gaussian => None,
        }
    }
}

pub(crate) fn parse_operating_point(s: &str) -> Result<OperatingPoint, String> {
    let t = s.trim();
    if t.eq_ignore_ascii_case("none") {
        return Ok(OperatingPoint::Gaussian);
    }
    match t.parse::<f64>() {
        Ok(v) if v > 0.0 && v.is_finite() => Ok(OperatingPoint::Rate(v)),
        _ => Err(format!(
            "expected a positive number of false sites per km², or none for the Gaussian false-alarm limit, got {s:?}"
        )),
    }
}

pub fn parse_stats(s: &str) -> Result<Statistics, String> {
    match s.parse::<Statistics>() {
        Ok(Statistics::Auto) | Err(_) => Err(format!(
            "--stats {s:?}: expected columns, global or tiles:N with N ≥ 1 tiles per side (e.g. tiles:8)"
        )),
        Ok(stats) => Ok(stats),
    }
}

pub(crate) fn parse_wind(s: &str) -> Result<Wind, String> {
    let bad = || {
        format!("wind {s:?}: expected SPEED,DIR (m/s at 10 m, degrees the wind blows from), e.g. 3.5,270")
    };
    let (a, b) = s.split_once(',').ok_or_else(bad)?;
    let wind = Wind {
        speed_m_s: a.trim().parse().map_err(|_| bad())?,
        from_deg: b.trim().parse().map_err(|_| bad())?,
    };
    plumewatch_scan::config::validate_wind(&wind).map_err(|e| format!("wind {s:?}: {e}"))?;
    Ok(wind)
}

/// The run configuration the flags describe.
fn config_from_flags(args: &ScanArgs) -> anyhow::Result<ScanConfig> {
    if let Some(path) = &args.config {
        return Ok(ScanConfig::read(path)?);
    }
    let winds: Vec<Option<Wind>> = match &args.wind_file {
        Some(path) => {
            let file = WindFile::read(path)?;
            let unmatched = file.unmatched(&args.cubes);
            if !unmatched.is_empty() {
                bail!(
                    "{}: passes: {} match no cube file name ({})",
                    path.display(),
                    unmatched.join(", "),
                    args.cubes
                        .iter()
                        .filter_map(|c| c.file_name())
                        .map(|n| n.to_string_lossy().into_owned())
                        .collect::<Vec<_>>()
                        .join(", ")
                );
            }
            args.cubes.iter().map(|c| file.wind_for(c)).collect()
        }
        None => vec![args.wind; args.cubes.len()],
    };
    let lines: Vec<FlightLine> =
        plumewatch_scan::pipeline::flight_lines(&args.cubes, &args.glt, &winds)?;
    let mut c = ScanConfig::new(lines);
    if let Some(g) = &args.gas {
        c.gas = g.clone();
    }
    if let Some(a) = args.algo {
        c.detector = match a {
            ScanAlgo::Amf => Detector::Amf,
            ScanAlgo::Mf => Detector::Mf,
            ScanAlgo::Mag1c => Detector::Mag1c,
        };
    }
    if let Some(st) = args.stats {
        c.stats = st;
    }
    c.window_nm = match &args.window {
        Some(w) => w.clone(),
        None => Window::One(first_cube_window(&args.cubes)?),
    };
    if let Some(op) = args.false_sites_per_km2 {
        c.analysis.false_sites_per_km2 = op.limit();
    }
    if let Some(e) = args.wind_error {
        c.analysis.quantify.wind_rel_error = e;
    }
    if let Some(m) = args.min_gas_probability {
        c.analysis.vetting.min_gas_probability = Some(m);
    }
    if let Some(f) = args.far {
        c.analysis.cfar.far = f;
    }
    c.gsd_m = args.gsd;
    c.exclude_plume_pixels = args.exclude_plume_pixels;
    if let Some(k) = args.classes {
        c.classes = k as usize;
    }
    c.outlier_scaling = !args.no_outlier_scaling;
    c.merge_distance_m = args.merge_distance;
    if let Some(r) = args.limit_runs {
        c.detection_limit.runs = r;
    }
    c.validate().context("scan flags")?;
    Ok(c)
}

/// Runs `plumewatch scan`.
pub fn run(args: ScanArgs, quiet: bool) -> anyhow::Result<()> {
    let _crs = plumewatch_io::open_crs_database_in_background();
    let config = config_from_flags(&args)?;
    if args.print_config {
        println!("{}", config.to_json());
        return Ok(());
    }
    let Some(out) = &args.output else {
        bail!("--output: expected an output folder");
    };
    let replace = if args.overwrite {
        Replace::Anything
    } else {
        Replace::PreviousScanOnly
    };
    plumewatch_scan::sinks::check_replaceable(out, replace)?;
    let progress = TerminalProgress::new(quiet);
    let result = plumewatch_scan::scan(&config, &progress)?;
    plumewatch_scan::write_outputs(&result, out, replace)?;
    if !quiet {
        print_summary(&result, out);
    }
    Ok(())
}

fn print_summary(result: &ScanResult, out: &std::path::Path) {
    if result.crs_wkt.is_none() {
        eprintln!(
            "scan: no coordinate system: GeoJSON outputs skipped, sites in pixel-based map units"
        );
    }
    let (candidates, accepted) = (result.n_candidates(), result.n_sources());
    eprintln!(
        "scan: {} flight line(s), {candidates} plume candidate(s): {accepted} accepted as sources, {} rejected or dismissed (reasons in report.html), {} site(s) in {:.1} s → {}",
        result.lines.len(),
        candidates - accepted,
        result.sites.len(),
        result.meta.seconds,
        crate::progress::printable(out)
    );
    for (s, ll) in result.sites.iter().zip(&result.site_lon_lat) {
        let [lon, lat] = ll.unwrap_or([f64::NAN, f64::NAN]);
        let ns = if lat < 0.0 { 'S' } else { 'N' };
        let ew = if lon < 0.0 { 'W' } else { 'E' };
        eprintln!(
            "  #{:<3} {:>8.5}°{ns} {:>9.5}°{ew}  {:>8.1} ± {:<7.1} kg/h  max {:>7.0} ppm·m  z {:>5.1}  P_FA {:.1e}",
            s.rank, lat.abs(), lon.abs(), s.rate_kg_h, s.rate_sd_kg_h, s.max_enhancement_ppm_m, s.significance, s.false_alarm_probability
        );
    }
}

/// The automatic gas window for the first cube's sensor
/// ([`plumewatch_scan::window::auto_window`]); the 2.3 µm window when the first cube
/// cannot be opened or has no band centres (the pipeline then names what is wrong, and
/// `--print-config` works for cubes that are not there yet).
fn first_cube_window(cubes: &[std::path::PathBuf]) -> anyhow::Result<(f64, f64)> {
    let opened = cubes.first().map(|c| (c, plumewatch_io::open_cube(c)));
    let Some((first, Ok(cube))) = opened else {
        return Ok(plumewatch_scan::window::CH4_WINDOW_2_3_UM);
    };
    let meta = cube.meta();
    match meta.wavelength_nm.as_deref() {
        Some(wl) => Ok(
            plumewatch_scan::window::auto_window(wl, meta.bad_bands.as_deref())
                .with_context(|| format!("{}", first.display()))?,
        ),
        None => Ok(plumewatch_scan::window::CH4_WINDOW_2_3_UM),
    }
}
