//! The gas window of a cube: which bands the detector uses, the unit absorption target
//! at those bands, and the bands screened for saturation.

use crate::{bail, Context, Result};
use plumewatch_core::bands::window_bands;
use plumewatch_core::mask::{saturation_bands, Saturation};
use plumewatch_core::BandModel;
use plumewatch_io::CubeMeta;
use std::path::Path;

/// Bands and target of a cube's gas window.
#[derive(Debug, Clone)]
pub struct GasWindow {
    /// Cube band indices (0-based) of the window.
    pub bands: Vec<usize>,
    /// Centre wavelength of each window band, nm.
    pub wavelength_nm: Vec<f64>,
    /// Unit absorption per window band, 1/(ppm·m).
    pub unit_absorption: Vec<f64>,
    /// Cube band indices screened for saturation (empty when screening is off).
    pub saturation_bands: Vec<usize>,
}

impl GasWindow {
    /// Selects the window `[lo, hi]` nm of the cube at `path` (leaving out bad bands and
    /// mag1c's excluded bands) and computes the gas target there, from the built-in or
    /// named gas LUT, or from a target file (plumewatch CSV or mag1c text) when given.
    pub fn for_cube(
        path: &Path,
        meta: &CubeMeta,
        gas: &str,
        (lo, hi): (f64, f64),
        target_file: Option<&Path>,
        saturation: Option<&Saturation>,
    ) -> Result<Self> {
        let wl = meta.wavelength_nm.as_deref().with_context(|| {
            format!(
                "{}: wavelength: the cube has no band centres; detection needs them",
                path.display()
            )
        })?;
        let bands = window_bands(wl, meta.bad_bands.as_deref(), lo, hi);
        if bands.len() < 2 {
            bail!(
                "{}: wavelength: {} usable band(s) in the window {lo}–{hi} nm (expected at least 2)",
                path.display(),
                bands.len()
            );
        }
        let window_wl: Vec<f64> = bands.iter().map(|&i| wl[i]).collect();
        let unit_absorption = match target_file {
            Some(file) => plumewatch_io::target_file::read(file)?
                .values_for(&window_wl, 0.2)
                .with_context(|| {
                    format!(
                        "{}: target for the bands of {}",
                        file.display(),
                        path.display()
                    )
                })?,
            None => {
                let model = band_model(path, meta, &bands)?;
                let lut = plumewatch_io::gas_lut::open(gas)?;
                plumewatch_core::unit_absorption(&lut, &model)?.absorption_per_ppm_m
            }
        };
        let saturation_bands = saturation
            .map(|s| saturation_bands(wl, s))
            .unwrap_or_default();
        Ok(Self {
            bands,
            wavelength_nm: window_wl,
            unit_absorption,
            saturation_bands,
        })
    }
}

/// The band model (centres and FWHM, nm) of `bands` of the cube at `path`.
pub fn band_model(path: &Path, meta: &CubeMeta, bands: &[usize]) -> Result<BandModel> {
    let wl = meta.wavelength_nm.as_deref().with_context(|| {
        format!(
            "{}: wavelength: the cube has no band centres",
            path.display()
        )
    })?;
    let fwhm = meta.fwhm_nm.as_deref().with_context(|| {
        format!(
            "{}: fwhm: the cube has no band widths; give a target file or a header with fwhm",
            path.display()
        )
    })?;
    BandModel::new(
        bands.iter().map(|&i| wl[i]).collect(),
        bands.iter().map(|&i| fwhm[i]).collect(),
    )
    .with_context(|| format!("{}: band table", path.display()))
}
