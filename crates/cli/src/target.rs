//! `plumewatch target`: the unit absorption spectrum of a gas for a sensor's bands.
//!
//! `plumewatch target --gas ch4 --sensor PRESET|FILE [--window 2122,2488] -o target.csv`
//! writes `band,wavelength_nm,fwhm_nm,absorption_per_ppm_m` (1/(ppm·m), negative where the
//! gas absorbs), one row per band inside the window, or every band without one.

use crate::gas_window::parse_window;
use anyhow::Context;
use clap::{Args, ValueEnum};
use plumewatch_core::target::select_window;
use plumewatch_core::{unit_absorption, BandModel};
use plumewatch_io::target_file::{self, TargetFormat, TargetTable};
use plumewatch_io::{gas_lut, sensor};
use std::path::{Path, PathBuf};

/// Arguments of `plumewatch target`.
#[derive(Debug, Args)]
pub struct TargetArgs {
    /// Gas: a built-in name (ch4), a gas LUT sidecar (.json) or a LUT ENVI header (.hdr)
    /// with its sidecar beside it.
    #[arg(long, default_value = "ch4")]
    pub gas: String,
    /// Sensor bands: a preset (aviris-ng, emit, drone-swir, drone-ingaas) or a file: CSV `band,wavelength_nm,fwhm_nm`,
    /// ENVI header, or a radiance file with band metadata (EMIT L1B NetCDF, ENVI data file).
    #[arg(long)]
    pub sensor: String,
    /// Keep only bands whose centres lie in LO,HI (nm), e.g. 2122,2488.
    #[arg(long, value_name = "LO,HI", value_parser = parse_window)]
    pub window: Option<(f64, f64)>,
    /// FWHM in nm for every band, replacing any in the sensor file (needed when it has none).
    #[arg(long, value_name = "NM")]
    pub fwhm: Option<f64>,
    /// Output format: csv (plumewatch, 1/(ppm·m)) or mag1c (three columns, value × 1e5).
    #[arg(long, value_enum, default_value_t = FormatArg::Csv)]
    pub format: FormatArg,
    /// Output file, or `-` for standard output.
    #[arg(short, long)]
    pub output: PathBuf,
}

/// Output formats of `plumewatch target`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    /// `band,wavelength_nm,fwhm_nm,absorption_per_ppm_m`.
    Csv,
    /// mag1c's `band wavelength value×1e5` text.
    Mag1c,
}

/// The band model named by `spec`: a preset name, or else a file path.
pub fn resolve_sensor(spec: &str, fwhm: Option<f64>) -> anyhow::Result<BandModel> {
    let path = Path::new(spec);
    if !path.exists() {
        if let Some(mut bands) = sensor::preset(spec) {
            if let Some(f) = fwhm {
                anyhow::ensure!(
                    f.is_finite() && f > 0.0,
                    "--fwhm {f}: expected a positive number of nm"
                );
                bands.fwhm_nm = vec![f; bands.len()];
            }
            return Ok(bands);
        }
        anyhow::bail!(
            "--sensor {spec:?}: no such file and not a preset (presets: {})",
            sensor::PRESETS.join(", ")
        );
    }
    Ok(sensor::load(path, fwhm)?)
}

/// Runs `plumewatch target`.
pub fn run(args: TargetArgs, quiet: bool) -> anyhow::Result<()> {
    let lut = gas_lut::open(&args.gas)?;
    let bands = resolve_sensor(&args.sensor, args.fwhm)?;
    let indices: Vec<usize> = match args.window {
        Some((lo, hi)) => select_window(&lut, &bands, lo, hi)
            .with_context(|| format!("--window {lo},{hi} for --sensor {}", args.sensor))?,
        None => (0..bands.len()).collect(),
    };
    let target = unit_absorption(&lut, &bands.subset(&indices))?;
    let numbers: Vec<usize> = indices.iter().map(|i| i + 1).collect();
    let table = TargetTable::from_target(&target, Some(&numbers))?;
    let format = match args.format {
        FormatArg::Csv => TargetFormat::Csv,
        FormatArg::Mag1c => TargetFormat::Mag1cText,
    };
    if args.output.as_os_str() == "-" {
        let stdout = std::io::stdout();
        target_file::to_writer(&mut stdout.lock(), &table, format, Path::new("<stdout>"))?;
    } else {
        target_file::write(&args.output, &table, format)?;
    }
    if !quiet {
        let (lo, hi) = lut.wavelength_range_nm();
        let dest = if args.output.as_os_str() == "-" {
            "standard output".to_string()
        } else {
            args.output.display().to_string()
        };
        eprintln!(
            "plumewatch: {} target for {} bands of {} (LUT {lo:.1}–{hi:.1} nm) written to {}",
            lut.gas,
            table.len(),
            args.sensor,
            dest
        );
    }
    Ok(())
}
