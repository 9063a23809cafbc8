//! The gas window of a cube: which bands the detector uses, the unit absorption target
//! at those bands, and the bands screened for saturation. Shared by `detect` and `scan`.

use anyhow::{bail, Context};
use plumewatch_core::bands::window_bands;
use plumewatch_core::mask::{saturation_bands, Saturation};
use plumewatch_core::BandModel;
use plumewatch_io::CubeMeta;
use std::path::Path;

/// Two finite positive numbers `LO,HI` with `LO < HI`, or `None`.
fn positive_pair(s: &str) -> Option<(f64, f64)> {
    let (lo, hi) = s.split_once(',')?;
    let (lo, hi): (f64, f64) = (lo.trim().parse().ok()?, hi.trim().parse().ok()?);
    (lo > 0.0 && lo < hi && hi.is_finite()).then_some((lo, hi))
}

/// Parses `LO,HI`: two positive numbers with `LO < HI` (rate ranges and the like).
pub fn parse_pair(s: &str) -> Result<(f64, f64), String> {
    positive_pair(s)
        .ok_or_else(|| format!("{s:?}: expected two positive numbers LO,HI with LO < HI"))
}

/// Parses a wavelength window `LO,HI` in nm (`--window`).
pub fn parse_window(s: &str) -> Result<(f64, f64), String> {
    positive_pair(s).ok_or_else(|| {
        format!("window {s:?}: expected two wavelengths in nm, LO,HI with LO < HI (e.g. 2122,2488)")
    })
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
    ) -> anyhow::Result<Self> {
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
                let fwhm = meta.fwhm_nm.as_deref().with_context(|| {
                    format!(
                        "{}: fwhm: the cube has no band widths; give --target or a header with fwhm",
                        path.display()
                    )
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
