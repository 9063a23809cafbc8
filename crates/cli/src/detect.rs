//! `plumewatch detect`: radiance cube → per-pixel gas enhancement, albedo factor,
//! sigma and z, written as a Cloud-Optimized GeoTIFF (or ENVI).

use crate::gas_window::GasWindow;
use crate::progress;
use anyhow::{bail, Context};
use clap::{Args, ValueEnum};
use plumewatch_core::detect::{
    detect_cube, Algorithm, CubeInput, DetectParams, Grouping, Mag1cParams, Precision,
};
use plumewatch_core::mask::{CensorRule, Saturation};
use plumewatch_core::raster::NODATA;
use plumewatch_core::stats::Regularization;
use plumewatch_io::{EnviWriteOptions, OutputBand};
use plumewatch_scan::window::Window;
use std::path::PathBuf;
use std::time::Instant;

/// Detector choice on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AlgoArg {
    /// mag1c: albedo-corrected reweighted-ℓ1 sparse matched filter (Foote et al. 2020).
    Mag1c,
    /// Classic matched filter.
    Mf,
    /// Albedo-corrected matched filter.
    Amf,
    /// Adaptive coherence estimator (band 4 holds the signed ACE score).
    Ace,
}

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    /// Cloud-Optimized GeoTIFF.
    Cog,
    /// ENVI (BSQ float32 with header).
    Envi,
}

/// Covariance regularisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RegArg {
    /// None.
    None,
    /// mag1c's diagonal blend with weight `--alpha`.
    Blend,
    /// Ledoit–Wolf shrinkage (not with mag1c).
    LedoitWolf,
}

/// Censored-line rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CensorArg {
    /// Keep every line.
    None,
    /// Lines repeating their neighbour (dropped frames) and the lines around them.
    Repeated,
    /// mag1c 1.2.0 exactly: also the first and last line of every column group.
    Mag1c,
}

/// Arguments of `plumewatch detect`.
#[derive(Debug, Args)]
pub struct DetectArgs {
    /// Radiance cube: ENVI header or data file, GeoTIFF, EMIT L1B NetCDF.
    pub cube: PathBuf,
    /// Gas: a built-in name (ch4) or a LUT sidecar (.json).
    #[arg(long, default_value = "ch4")]
    pub gas: String,
    /// Detector.
    #[arg(long, value_enum, default_value_t = AlgoArg::Mag1c)]
    pub algo: AlgoArg,
    /// Gas window, nm: LO,HI, or ranges joined by + for a joint detector (bands above
    /// 2485 nm and in the water bands are left out, as mag1c) [default: 2122,2488 when
    /// the sensor covers it, else the 1.65 µm window 1560,1720].
    #[arg(long, value_parser = Window::parse)]
    pub window: Option<Window>,
    /// Columns per statistics group (pushbroom detector columns).
    #[arg(long, default_value_t = 1)]
    pub group: usize,
    /// One set of statistics for the whole scene (frame cameras, mosaics); the same as
    /// `--stats global`.
    #[arg(long, conflicts_with_all = ["group", "stats"])]
    pub global: bool,
    /// Background statistics: `columns` (groups of `--group` detector columns),
    /// `global` or `tiles:N` (an N × N grid of tiles, each with its own) [default:
    /// columns for raw pushbroom cubes, tiles:8 for georeferenced mosaics (a GeoTIFF,
    /// or a cube with map info and a nodata value)].
    #[arg(long, value_parser = crate::scan::parse_stats)]
    pub stats: Option<plumewatch_scan::Statistics>,
    /// mag1c iterations.
    #[arg(long, default_value_t = 30)]
    pub iter: usize,
    /// Compute every pixel in f64 (reference grade; default f32 pixels, f64 statistics).
    #[arg(long = "f64")]
    pub f64: bool,
    /// Output file.
    #[arg(short, long)]
    pub output: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = FormatArg::Cog)]
    pub format: FormatArg,
    /// Covariance regularisation.
    #[arg(long, value_enum, default_value_t = RegArg::None)]
    pub regularization: RegArg,
    /// Weight of the diagonal for `--regularization blend`, in [0, 1].
    #[arg(long, default_value_t = 0.0)]
    pub alpha: f64,
    /// Censored-line rule.
    #[arg(long, value_enum, default_value_t = CensorArg::Repeated)]
    pub censor: CensorArg,
    /// Radiance (µW cm⁻² sr⁻¹ nm⁻¹) above which a pixel in 1945–2485 nm counts as saturated.
    #[arg(long, default_value_t = 6.0)]
    pub saturation_threshold: f32,
    /// Do not screen for saturated pixels.
    #[arg(long)]
    pub no_saturation: bool,
    /// Second pass without the pixels whose first-pass z exceeds this value.
    #[arg(long)]
    pub exclude_z: Option<f64>,
    /// mf, amf: divide the z-score of pixels far outside their background by how far
    /// (the outlier scaling `scan` and `stream` apply; the noise-equivalent
    /// enhancement grows by the same factor).
    #[arg(long)]
    pub outlier_scaling: bool,
    /// mag1c: no albedo correction.
    #[arg(long)]
    pub no_albedo: bool,
    /// mag1c: no sparsity (reweighting) term.
    #[arg(long)]
    pub no_sparsity: bool,
    /// Target spectrum file: plumewatch CSV (`absorption_per_ppm_m`), mag1c-scaled CSV
    /// (`wavelength_nm,target`, unit absorption × 1e5) or mag1c three-column text
    /// instead of the one computed from the gas LUT.
    #[arg(long)]
    pub target: Option<PathBuf>,
    /// Print the wall time of each phase (open and gas window, read, compute, write) to
    /// stderr, even with --quiet.
    #[arg(long)]
    pub timings: bool,
}

/// Refuses flag values the detector cannot use and an output that would replace an
/// input or a device, before any work.
fn check_flags(args: &DetectArgs) -> anyhow::Result<()> {
    if args.group == 0 {
        bail!("--group 0: expected at least 1 detector column per statistics group");
    }
    if args.algo == AlgoArg::Mag1c && args.iter == 0 {
        bail!("--iter 0: expected at least 1 mag1c iteration");
    }
    if !(args.alpha.is_finite() && (0.0..=1.0).contains(&args.alpha)) {
        bail!("--alpha {}: expected a weight in [0, 1]", args.alpha);
    }
    let threshold_ok = args.saturation_threshold.is_finite() && args.saturation_threshold > 0.0;
    if !args.no_saturation && !threshold_ok {
        bail!(
            "--saturation-threshold {}: expected a positive radiance",
            args.saturation_threshold
        );
    }
    if let Some(z) = args.exclude_z {
        if !(z.is_finite() && z > 0.0) {
            bail!("--exclude-z {z}: expected a positive z-score");
        }
    }
    let outputs = match args.format {
        FormatArg::Cog => vec![args.output.clone()],
        FormatArg::Envi => {
            let (hdr, data) = plumewatch_io::envi::output_paths(&args.output);
            vec![hdr, data]
        }
    };
    for o in &outputs {
        plumewatch_io::atomic::check_output_file(o)?;
    }
    let mut inputs = plumewatch_io::cube::cube_files(&args.cube);
    inputs.extend(args.target.clone());
    inputs.push(PathBuf::from(&args.gas));
    let inputs: Vec<&std::path::Path> = inputs.iter().map(PathBuf::as_path).collect();
    plumewatch_io::atomic::check_not_inputs(&outputs, &inputs)?;
    Ok(())
}

/// Runs `plumewatch detect`.
pub fn run(args: DetectArgs, quiet: bool) -> anyhow::Result<()> {
    let start = Instant::now();
    let _crs = (args.format == FormatArg::Cog).then(plumewatch_io::open_crs_database_in_background);
    check_flags(&args)?;
    let cube = plumewatch_io::open_cube(&args.cube)?;
    let meta = cube.meta().clone();
    // The four output maps, their write buffers and the per-pixel masks: about 40 bytes
    // a pixel, whatever the cube's format claims its size is.
    let pixels = meta.lines as u128 * meta.samples as u128;
    if let Some(msg) = plumewatch_io::memory::check_fits(pixels * 40, "detecting this cube") {
        bail!(
            "{}: dimensions: {} lines × {} samples: {msg}",
            args.cube.display(),
            meta.lines,
            meta.samples
        );
    }
    let saturation = (!args.no_saturation).then_some(Saturation {
        threshold: args.saturation_threshold,
        ..Saturation::default()
    });
    let window = GasWindow::for_cube(
        &args.cube,
        &meta,
        &args.gas,
        args.window.as_ref(),
        args.target.as_deref(),
        saturation.as_ref(),
    )?;
    // `--group` alone asks for detector columns, `--global` for one set.
    let group_given = args.group != 1;
    let stats = match (args.stats, args.global, group_given) {
        (Some(s), _, _) => s,
        (None, true, _) => plumewatch_scan::Statistics::Global,
        (None, false, true) => plumewatch_scan::Statistics::Columns,
        (None, false, false) => plumewatch_scan::Statistics::Auto,
    };
    let grouping = stats.resolve(&meta, false, window.bands.len(), args.group);
    plumewatch_scan::window::check_content(&args.cube, cube.as_ref(), &window.bands, grouping)?;
    let (bands, unit_absorption, sat_bands) = (
        window.bands,
        window.unit_absorption,
        window.saturation_bands,
    );
    let algorithm = match args.algo {
        AlgoArg::Mag1c => Algorithm::Mag1c,
        AlgoArg::Mf => Algorithm::MatchedFilter,
        AlgoArg::Amf => Algorithm::AlbedoMatchedFilter,
        AlgoArg::Ace => Algorithm::Ace,
    };
    let params = DetectParams {
        algorithm,
        precision: if args.f64 {
            Precision::F64
        } else {
            Precision::F32
        },
        grouping,
        normalization: None,
        regularization: match args.regularization {
            RegArg::None => Regularization::None,
            RegArg::Blend => Regularization::DiagonalBlend { alpha: args.alpha },
            RegArg::LedoitWolf => Regularization::LedoitWolf,
        },
        censor: match args.censor {
            CensorArg::None => CensorRule::None,
            CensorArg::Repeated => CensorRule::Repeated,
            CensorArg::Mag1c => CensorRule::Mag1cExact,
        },
        saturation,
        mag1c: Mag1cParams {
            iterations: args.iter,
            sparsity: !args.no_sparsity,
            albedo_correction: !args.no_albedo,
            ..Mag1cParams::default()
        },
        exclude_z: args.exclude_z,
        outlier_scaling: args.outlier_scaling,
    };
    let (lines, samples) = (meta.lines, meta.samples);
    let total = if grouping == Grouping::Global {
        lines
    } else {
        samples
    };
    let pb = progress::bar(total as u64, "detect", quiet);
    let input = CubeInput {
        source: cube.as_ref(),
        window_bands: &bands,
        unit_absorption: &unit_absorption,
        saturation_bands: &sat_bands,
        exclude: None,
    };
    let t_detect = Instant::now();
    let maps = detect_cube(&input, &params, &|n| pb.inc(n))
        .with_context(|| format!("{}: detection failed", args.cube.display()))?;
    pb.finish_and_clear();
    // Unmapping a large cube takes tens of milliseconds: overlap it with the writing.
    let unmap = std::thread::spawn(move || drop(cube));
    let z_name = if algorithm == Algorithm::Ace {
        "ACE score (signed)"
    } else {
        "z-score (enhancement / sigma)"
    };
    let gas = args.gas.to_uppercase();
    let d1 = format!("{gas} enhancement");
    let out_bands = [
        OutputBand {
            data: &maps.enhancement,
            description: &d1,
            unit: "ppm·m",
        },
        OutputBand {
            data: &maps.albedo,
            description: "albedo factor",
            unit: "1",
        },
        OutputBand {
            data: &maps.sigma,
            description: "sigma (noise-equivalent enhancement)",
            unit: "ppm·m",
        },
        OutputBand {
            data: &maps.z,
            description: z_name,
            unit: "1",
        },
    ];
    let t_write = Instant::now();
    let written = match args.format {
        FormatArg::Cog => plumewatch_io::write_cog(
            &args.output,
            lines,
            samples,
            &out_bands,
            meta.georef.as_ref(),
            Some(NODATA as f64),
        ),
        FormatArg::Envi => {
            let opts = EnviWriteOptions {
                georef: meta.georef.clone(),
                nodata: Some(NODATA as f64),
                description: Some(format!(
                    "plumewatch detect {:?} on {}",
                    args.algo,
                    args.cube.display()
                )),
                ..EnviWriteOptions::default()
            };
            plumewatch_io::write_envi(&args.output, lines, samples, &out_bands, &opts)
        }
    };
    // Dropping a cube does not panic; the unmapping must end before the time is taken.
    let _ = unmap.join();
    written?;
    if args.timings {
        let ms = |d: std::time::Duration| d.as_secs_f64() * 1e3;
        let detect = t_write - t_detect;
        let t = maps.timings;
        eprintln!(
            "timings (wall, ms): open and gas window {:.1}, read {:.1}, compute {:.1}, \
             other detection {:.1}, write {:.1}, total {:.1} (process start-up, before \
             this, is what `plumewatch --version` takes)",
            ms(t_detect - start),
            ms(t.read),
            ms(t.compute),
            ms(detect.saturating_sub(t.read + t.compute)),
            ms(t_write.elapsed()),
            ms(start.elapsed())
        );
    }
    if !quiet {
        let secs = start.elapsed().as_secs_f64();
        let px = (lines * samples) as f64;
        eprintln!(
            "detect: {lines} × {samples} pixels, {} bands, in {secs:.2} s ({:.2} M pixels/s) → {}",
            bands.len(),
            px / secs / 1e6,
            args.output.display()
        );
    }
    Ok(())
}
