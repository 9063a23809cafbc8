//! Spectral band models: the centre wavelength and full width at half maximum of each
//! band of a sensor, and the selection of the bands of a gas window.

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
        bands_in_window(&self.center_nm, None, lo_nm, hi_nm)
    }

    /// The sub-model of the given band indices.
    pub fn subset(&self, indices: &[usize]) -> Self {
        Self {
            center_nm: indices.iter().map(|&i| self.center_nm[i]).collect(),
            fwhm_nm: indices.iter().map(|&i| self.fwhm_nm[i]).collect(),
        }
    }
}

/// mag1c's band-keep rule (`get_mask_bad_bands`): bands below 400 nm, above 2485 nm and
/// in the water-vapour regions 1350–1420 nm and 1800–1945 nm (exclusive) are not used.
///
/// # Units
/// `wavelength_nm` in nm.
pub fn mag1c_keeps_band(wavelength_nm: f64) -> bool {
    let w = wavelength_nm;
    (400.0..=2485.0).contains(&w) && !(w > 1350.0 && w < 1420.0) && !(w > 1800.0 && w < 1945.0)
}

/// Indices (0-based, ascending) of the bands used for a gas window `[lo_nm, hi_nm]`:
/// centre inside the window, not flagged bad (`good[i]` false), and kept by
/// [`mag1c_keeps_band`] (so the default 2122–2488 nm window uses the bands up to
/// 2485 nm, as mag1c does).
///
/// # Units
/// Wavelengths in nm.
pub fn window_bands(
    wavelength_nm: &[f64],
    good: Option<&[bool]>,
    lo_nm: f64,
    hi_nm: f64,
) -> Vec<usize> {
    select_bands(wavelength_nm, good, lo_nm, hi_nm, mag1c_keeps_band)
}

/// Indices (0-based, ascending) of the bands whose centre lies in `[lo_nm, hi_nm]` and
/// that are not flagged bad (`good[i]` false; bands beyond `good` count as good). The
/// one band-window selector: [`window_bands`] adds mag1c's band-keep rule to it.
///
/// # Units
/// Wavelengths in nm.
pub fn bands_in_window(
    wavelength_nm: &[f64],
    good: Option<&[bool]>,
    lo_nm: f64,
    hi_nm: f64,
) -> Vec<usize> {
    select_bands(wavelength_nm, good, lo_nm, hi_nm, |_| true)
}

fn select_bands(
    wavelength_nm: &[f64],
    good: Option<&[bool]>,
    lo_nm: f64,
    hi_nm: f64,
    keep: impl Fn(f64) -> bool,
) -> Vec<usize> {
    wavelength_nm
        .iter()
        .enumerate()
        .filter(|&(i, &w)| {
            w >= lo_nm
                && w <= hi_nm
                && keep(w)
                && good.is_none_or(|g| g.get(i).copied().unwrap_or(true))
        })
        .map(|(i, _)| i)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mag1c_band_rule() {
        let w = [1400.0, 2000.0, 2122.0, 2300.0, 2480.0, 2486.0, 2490.0];
        assert_eq!(window_bands(&w, None, 2122.0, 2488.0), vec![2, 3, 4]);
        assert_eq!(
            window_bands(
                &w,
                Some(&[true, true, true, false, true, true, true]),
                2122.0,
                2488.0
            ),
            vec![2, 4]
        );
    }

    #[test]
    fn window_selection_leaves_out_bad_bands_only() {
        let w = [1400.0, 2000.0, 2122.0, 2300.0, 2480.0, 2486.0];
        let good = [true, true, true, false, true, true];
        assert_eq!(
            bands_in_window(&w, Some(&good), 1400.0, 2486.0),
            vec![0, 1, 2, 4, 5]
        );
    }
}
