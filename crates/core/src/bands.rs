//! Spectral band models: the centre wavelength and full width at half maximum of each
//! band of a sensor.

use crate::{Error, Result};

/// Centre wavelengths and FWHM of a sensor's bands.
///
/// # Units
/// Both in nm. `fwhm_nm` has one entry per band.
#[derive(Debug, Clone, PartialEq)]
pub struct BandModel {
    /// Band centre wavelengths, nm, in band order.
    pub center_nm: Vec<f64>,
    /// Full width at half maximum of each band's spectral response, nm.
    pub fwhm_nm: Vec<f64>,
}

impl BandModel {
    /// Builds a band model, checking that both lists have the same length, that every
    /// value is finite and that every FWHM is positive.
    pub fn new(center_nm: Vec<f64>, fwhm_nm: Vec<f64>) -> Result<Self> {
        if center_nm.len() != fwhm_nm.len() {
            return Err(Error::Shape {
                what: "FWHM values (one per band)".into(),
                expected: center_nm.len(),
                got: fwhm_nm.len(),
            });
        }
        if let Some((i, w)) = center_nm.iter().enumerate().find(|(_, w)| !w.is_finite()) {
            return Err(Error::Invalid(format!(
                "band {}: centre wavelength {w} is not a finite number of nm",
                i + 1
            )));
        }
        if let Some((i, f)) = fwhm_nm
            .iter()
            .enumerate()
            .find(|(_, f)| !(f.is_finite() && **f > 0.0))
        {
            return Err(Error::Invalid(format!(
                "band {}: FWHM {f} nm is not a positive number",
                i + 1
            )));
        }
        Ok(Self { center_nm, fwhm_nm })
    }

    /// Number of bands.
    pub fn len(&self) -> usize {
        self.center_nm.len()
    }

    /// True when there are no bands.
    pub fn is_empty(&self) -> bool {
        self.center_nm.is_empty()
    }

    /// Indices (0-based) of the bands whose centres lie inside `[lo_nm, hi_nm]`.
    pub fn indices_in_window(&self, lo_nm: f64, hi_nm: f64) -> Vec<usize> {
        self.center_nm
            .iter()
            .enumerate()
            .filter(|(_, w)| **w >= lo_nm && **w <= hi_nm)
            .map(|(i, _)| i)
            .collect()
    }

    /// The sub-model of the given band indices.
    pub fn subset(&self, indices: &[usize]) -> Self {
        Self {
            center_nm: indices.iter().map(|&i| self.center_nm[i]).collect(),
            fwhm_nm: indices.iter().map(|&i| self.fwhm_nm[i]).collect(),
        }
    }
}
