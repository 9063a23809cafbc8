//! The gas window of a cube: bands, unit absorption target and saturation bands.
//!
//! The same steps, in the same order and with the same messages, as the CLI's
//! `detect` (`crates/cli/src/gas_window.rs`), so that Python and the CLI select the
//! same bands and compute the same target bit for bit.

use crate::errors::{Error, Outcome};
use plumewatch_core::bands::window_bands;
use plumewatch_core::mask::{saturation_bands, Saturation};
use plumewatch_core::BandModel;
use std::path::Path;

/// What a cube says about its bands (from its header, or given with a numpy array).
#[derive(Debug, Clone, Default)]
pub struct BandTable {
    /// Band centres, nm.
    pub wavelength_nm: Option<Vec<f64>>,
    /// Band FWHM, nm.
    pub fwhm_nm: Option<Vec<f64>>,
    /// Per band: `true` = good band.
    pub good_bands: Option<Vec<bool>>,
}

/// Bands and target of a cube's gas window.
#[derive(Debug, Clone)]
pub struct GasWindow {
    /// Cube band indices (0-based) of the window.
    pub bands: Vec<usize>,
    /// Unit absorption per window band, 1/(ppm·m).
    pub unit_absorption: Vec<f64>,
    /// Cube band indices screened for saturation (empty when screening is off).
    pub saturation_bands: Vec<usize>,
}

impl GasWindow {
    /// Selects the window `[lo, hi]` nm of the cube named `label` (a path, or "array")
    /// and computes the gas target there from the gas LUT `gas` (built-in name or
    /// sidecar), or reads it from `target_file`.
    ///
    /// # Units
    /// `lo`, `hi` in nm.
    pub fn for_bands(
        label: &str,
        table: &BandTable,
        gas: &str,
        (lo, hi): (f64, f64),
        target_file: Option<&Path>,
        saturation: Option<&Saturation>,
    ) -> Outcome<Self> {
        let wl = table.wavelength_nm.as_deref().ok_or_else(|| {
            Error::input(format!(
                "{label}: wavelength: the cube has no band centres; detection needs them"
            ))
        })?;
        let bands = window_bands(wl, table.good_bands.as_deref(), lo, hi);
        if bands.len() < 2 {
            return Err(Error::input(format!(
                "{label}: wavelength: {} usable band(s) in the window {lo}–{hi} nm (expected at least 2)",
                bands.len()
            )));
        }
        let window_wl: Vec<f64> = bands.iter().map(|&i| wl[i]).collect();
        let unit_absorption = match target_file {
            Some(file) => plumewatch_io::target_file::read(file)?
                .values_for(&window_wl, 0.2)
                .map_err(|e| {
                    Error::from(e).context(format!(
                        "{}: target for the bands of {label}",
                        file.display()
                    ))
                })?,
            None => {
                let fwhm = table.fwhm_nm.as_deref().ok_or_else(|| {
                    Error::input(format!(
                        "{label}: fwhm: the cube has no band widths; give target= or a header with fwhm"
                    ))
                })?;
                let model = BandModel::new(window_wl, bands.iter().map(|&i| fwhm[i]).collect())?;
                let lut = plumewatch_io::gas_lut::open(gas)?;
                plumewatch_core::unit_absorption(&lut, &model)?.absorption_per_ppm_m
            }
        };
        let saturation_bands = saturation
            .map(|s| saturation_bands(wl, s))
            .unwrap_or_default();
        Ok(Self {
            bands,
            unit_absorption,
            saturation_bands,
        })
    }
}
