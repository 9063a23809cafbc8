//! `plumewatch simulate inject | scene`: plumes of known emission rate in any radiance
//! cube, and semi-real synthetic scenes, with their truth. The work is
//! [`plumewatch_scan::simulate`]; this parses flags and reports.

use crate::gas_window::parse_pair;
use crate::progress;
use clap::{Args, Subcommand, ValueEnum};
use plumewatch_scan::simulate::{self, Clutter, InjectSettings, SceneSettings};
use std::path::PathBuf;
use std::time::Instant;

/// `plumewatch simulate` subcommands.
#[derive(Debug, Subcommand)]
pub enum SimulateCommand {
    /// Add plumes of known emission rate to a radiance cube (Beer–Lambert through the gas LUT).
    Inject(InjectArgs),
    /// Build a semi-real synthetic radiance scene (library surfaces, LUT atmosphere,
    /// instrument noise, pushbroom striping) with plumes, as a raw line or (--mosaic) a
    /// georeferenced mosaic with a nodata collar.
    Scene(SceneArgs),
}

/// Man-made clutter of `simulate scene`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ClutterArg {
    /// Buildings and shadows, car parks, tracks, sheeting, tanks, stains, ponds, scars,
    /// dark or bright pads (default).
    Full,
    /// A few roads and small objects (the scenes of earlier releases).
    Light,
}

/// Arguments of `plumewatch simulate`.
#[derive(Debug, Args)]
pub struct SimulateArgs {
    #[command(subcommand)]
    pub command: SimulateCommand,
}

/// Arguments of `plumewatch simulate inject`.
#[derive(Debug, Args)]
pub struct InjectArgs {
    /// Radiance cube (ENVI, GeoTIFF, EMIT NetCDF).
    #[arg(long)]
    pub cube: PathBuf,
    /// Sources JSON: `row`/`col` or `easting`/`northing`, `rate_kg_h`, `wind_speed_m_s`,
    /// `wind_dir_deg` (direction the wind blows FROM, degrees clockwise from north),
    /// optional `stability` (A–F).
    #[arg(long)]
    pub sources: PathBuf,
    /// Output directory (created if missing).
    #[arg(short, long)]
    pub output: PathBuf,
    /// Ground sample distance, m (default: from the cube's georeferencing).
    #[arg(long)]
    pub gsd: Option<f64>,
    /// Gas: built-in name (ch4) or LUT sidecar JSON.
    #[arg(long, default_value = "ch4")]
    pub gas: String,
    /// Seed of the wind meander.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Standard deviation of the wind-direction meander, degrees (0 = straight plumes).
    #[arg(long, default_value_t = 15.0)]
    pub meander_deg: f64,
}

/// Arguments of `plumewatch simulate scene`.
#[derive(Debug, Args)]
pub struct SceneArgs {
    /// Sensor: `aviris-ng`, `emit`, `drone-swir`, `drone-ingaas`, or a band table file
    /// (CSV `band,wavelength_nm,fwhm_nm` or ENVI header). Only bands inside the gas LUT's range (1400–2500 nm for CH4) are
    /// simulated.
    #[arg(long)]
    pub sensor: String,
    /// Down-track lines.
    #[arg(long)]
    pub lines: usize,
    /// Cross-track samples.
    #[arg(long)]
    pub samples: usize,
    /// Ground sample distance, m.
    #[arg(long)]
    pub gsd: f64,
    /// Seed: the same seed and arguments give the same scene.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Sources JSON (as for `inject`).
    #[arg(long, conflicts_with = "random_sources")]
    pub sources: Option<PathBuf>,
    /// Number of random sources (emission rate log-uniform in --rate-range).
    #[arg(long)]
    pub random_sources: Option<usize>,
    /// Emission-rate range of random sources, kg/h: LO,HI (default 5,500 for GSD ≤ 10 m,
    /// 300,10000 above).
    #[arg(long, value_parser = parse_pair)]
    pub rate_range: Option<(f64, f64)>,
    /// One wind for every random source: SPEED,DIR (m/s, direction it blows FROM in
    /// degrees clockwise from north), as `scan --wind` takes it; else each random source
    /// draws its own (1.5–6 m/s from any direction).
    #[arg(long, value_parser = parse_scene_wind, conflicts_with = "sources")]
    pub wind: Option<(f64, f64)>,
    /// Build the scene without plumes (the plume-free twin: same surface and noise).
    #[arg(long)]
    pub no_plumes: bool,
    /// Man-made clutter on the natural background: `full` adds buildings and their
    /// shadows, car parks with cars, tracks of several surfaces and widths, plastic
    /// sheeting and tarps, painted tanks, oil stains, ponds, burn scars, and dark or
    /// bright pads with equipment under the sources; `light` gives the scenes of earlier
    /// releases (a few roads and objects), surface for surface
    #[arg(long, value_enum, default_value_t = ClutterArg::Full)]
    pub clutter: ClutterArg,
    /// Write a georeferenced mosaic instead of a raw pushbroom line: `radiance.tif`
    /// (GeoTIFF with band centres, FWHM and nodata -9999) whose valid pixels are a
    /// rotated flight-strip footprint (72–84 % of the raster) inside a nodata collar,
    /// without pushbroom column striping; sources stay inside the footprint;
    /// `truth_collar.tif` marks the collar.
    #[arg(long)]
    pub mosaic: bool,
    /// isofit parametric noise table (default: the bundled table of a preset sensor).
    #[arg(long)]
    pub noise: Option<PathBuf>,
    /// Noise from one signal-to-noise figure instead of a table: VALUE@RADIANCE, e.g.
    /// `250@1.5` for SNR 250 at 1.5 µW cm⁻² sr⁻¹ nm⁻¹ (shot noise with a dark floor, the
    /// same at every band; see the README's drone section).
    #[arg(long, conflicts_with = "noise", value_parser = plumewatch_io::noise_model::parse_snr)]
    pub snr: Option<(f64, f64)>,
    /// ENVI spectral library header (default: the bundled USGS splib06a library).
    #[arg(long)]
    pub library: Option<PathBuf>,
    /// Gas: built-in name (ch4) or LUT sidecar JSON.
    #[arg(long, default_value = "ch4")]
    pub gas: String,
    /// Output directory (created if missing).
    #[arg(short, long)]
    pub output: PathBuf,
}

/// Parses `--wind SPEED,DIR` as `scan --wind` does: (speed m/s, from degrees).
fn parse_scene_wind(s: &str) -> Result<(f64, f64), String> {
    crate::scan::parse_wind(s).map(|w| (w.speed_m_s, w.from_deg))
}

/// Runs `plumewatch simulate`.
pub fn run(args: SimulateArgs, quiet: bool) -> anyhow::Result<()> {
    let start = Instant::now();
    match args.command {
        SimulateCommand::Inject(a) => {
            let pb = progress::bar(0, "inject", quiet);
            let settings = InjectSettings {
                cube: a.cube,
                sources: a.sources,
                output: a.output,
                gsd: a.gsd,
                gas: a.gas,
                seed: a.seed,
                meander_deg: a.meander_deg,
            };
            let s = simulate::inject(&settings, &|done, all| {
                pb.set_length(all);
                pb.set_position(done);
            })?;
            pb.finish_and_clear();
            if !quiet {
                eprintln!(
                    "simulate inject: {} source(s) into {} × {} × {} in {:.2} s → {}",
                    s.sources,
                    s.lines,
                    s.samples,
                    s.bands,
                    start.elapsed().as_secs_f64(),
                    settings.output.display()
                );
            }
        }
        SimulateCommand::Scene(a) => {
            let pb = progress::bar(4, "scene", quiet);
            let settings = SceneSettings {
                sensor: a.sensor,
                lines: a.lines,
                samples: a.samples,
                gsd: a.gsd,
                seed: a.seed,
                sources: a.sources,
                random_sources: a.random_sources,
                rate_range: a.rate_range,
                wind: a.wind,
                no_plumes: a.no_plumes,
                clutter: match a.clutter {
                    ClutterArg::Full => Clutter::Full,
                    ClutterArg::Light => Clutter::Light,
                },
                mosaic: a.mosaic,
                noise: a.noise,
                snr: a.snr,
                library: a.library,
                gas: a.gas,
                output: a.output,
            };
            let s = simulate::scene(&settings, &|done, _| pb.set_position(done))?;
            pb.finish_and_clear();
            if !quiet {
                eprintln!(
                    "simulate scene: {} × {} × {} ({}), {} source(s), in {:.2} s → {}",
                    s.lines,
                    s.samples,
                    s.bands,
                    settings.sensor,
                    s.sources,
                    start.elapsed().as_secs_f64(),
                    settings.output.display()
                );
            }
        }
    }
    Ok(())
}
