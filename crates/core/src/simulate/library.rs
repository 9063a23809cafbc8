//! Reflectance spectral libraries (for example USGS splib06a) resampled to a sensor's
//! bands.

use crate::{BandModel, Error, Result};

/// A reflectance spectral library (for example USGS splib06a convolved to a sensor).
///
/// # Units
/// Wavelengths nm, reflectance 0–1; NaN marks a deleted channel.
#[derive(Debug, Clone, PartialEq)]
pub struct SpectralLibrary {
    /// Spectrum names, one per spectrum.
    pub names: Vec<String>,
    /// Channel centre wavelengths, nm (not necessarily ascending).
    pub wavelength_nm: Vec<f64>,
    /// `[spectrum][channel]` reflectance, NaN where the channel is deleted.
    pub reflectance: Vec<Vec<f64>>,
}

impl SpectralLibrary {
    /// Checks that every spectrum has one value per channel and the wavelengths are
    /// finite (they need not ascend: AVIRIS-era libraries have overlapping spectrometers).
    pub fn new(
        names: Vec<String>,
        wavelength_nm: Vec<f64>,
        reflectance: Vec<Vec<f64>>,
    ) -> Result<Self> {
        if names.len() != reflectance.len() {
            return Err(Error::Shape {
                what: "spectral library names (one per spectrum)".into(),
                expected: reflectance.len(),
                got: names.len(),
            });
        }
        if let Some((i, r)) = reflectance
            .iter()
            .enumerate()
            .find(|(_, r)| r.len() != wavelength_nm.len())
        {
            return Err(Error::Shape {
                what: format!(
                    "spectral library spectrum {} ({}) channels",
                    i + 1,
                    names[i]
                ),
                expected: wavelength_nm.len(),
                got: r.len(),
            });
        }
        if wavelength_nm.iter().any(|w| !w.is_finite()) {
            return Err(Error::Invalid(
                "spectral library wavelengths: expected finite values in nm".into(),
            ));
        }
        Ok(Self {
            names,
            wavelength_nm,
            reflectance,
        })
    }

    /// Index of the first spectrum whose name contains `pattern` (case-insensitive).
    pub fn find(&self, pattern: &str) -> Option<usize> {
        let p = pattern.to_ascii_lowercase();
        self.names
            .iter()
            .position(|n| n.to_ascii_lowercase().contains(&p))
    }

    /// Spectrum `index` interpolated linearly to the band centres (across deleted
    /// channels; held constant beyond the ends). `None` when more than 10% of the
    /// library channels inside the bands' range are deleted or a value is outside
    /// [0, 1.5].
    pub fn resample(&self, index: usize, bands: &BandModel) -> Option<Vec<f64>> {
        let r = self.reflectance.get(index)?;
        let lo = bands
            .center_nm
            .iter()
            .cloned()
            .fold(f64::INFINITY, f64::min);
        let hi = bands
            .center_nm
            .iter()
            .cloned()
            .fold(f64::NEG_INFINITY, f64::max);
        let (mut n_in, mut n_bad) = (0usize, 0usize);
        let mut valid: Vec<(f64, f64)> = self
            .wavelength_nm
            .iter()
            .zip(r)
            .filter(|(w, v)| {
                let inside = **w >= lo && **w <= hi;
                let ok = v.is_finite() && (-0.01..=1.5).contains(*v);
                if inside {
                    n_in += 1;
                    n_bad += usize::from(!ok);
                }
                ok
            })
            .map(|(w, v)| (*w, v.max(0.0)))
            .collect();
        valid.sort_by(|a, b| a.0.total_cmp(&b.0));
        if valid.len() < 2 || n_in == 0 || n_bad * 10 > n_in {
            return None;
        }
        Some(
            bands
                .center_nm
                .iter()
                .map(|&w| {
                    let k = valid.partition_point(|(x, _)| *x <= w);
                    if k == 0 {
                        valid[0].1
                    } else if k == valid.len() {
                        valid[k - 1].1
                    } else {
                        let (x0, y0) = valid[k - 1];
                        let (x1, y1) = valid[k];
                        y0 + (y1 - y0) * (w - x0) / (x1 - x0)
                    }
                })
                .collect(),
        )
    }
}
