//! isofit's parametric instrument noise model, tabulated in wavelength.

use crate::{BandModel, Error, Result};

/// isofit's parametric instrument noise model, `NEdL = |a·√(b + L) + c|`, tabulated in
/// wavelength.
///
/// # Units
/// Wavelength nm; with L in µW cm⁻² sr⁻¹ nm⁻¹, NEdL is in the same units.
#[derive(Debug, Clone, PartialEq)]
pub struct NoiseModel {
    /// Wavelengths of the table, nm, ascending.
    pub wavelength_nm: Vec<f64>,
    /// Coefficient `a` per row.
    pub a: Vec<f64>,
    /// Coefficient `b` per row.
    pub b: Vec<f64>,
    /// Coefficient `c` per row.
    pub c: Vec<f64>,
}

/// A noise model interpolated to a sensor's bands.
#[derive(Debug, Clone, PartialEq)]
pub struct BandNoise {
    a: Vec<f64>,
    b: Vec<f64>,
    c: Vec<f64>,
}

impl BandNoise {
    /// Noise-equivalent radiance of band `band` at radiance `l` (`b + L` clipped at 1e-5).
    ///
    /// # Units
    /// µW cm⁻² sr⁻¹ nm⁻¹.
    pub fn nedl(&self, band: usize, l: f64) -> f64 {
        (self.a[band] * (self.b[band] + l).max(1e-5).sqrt() + self.c[band]).abs()
    }
}

impl NoiseModel {
    /// Checks equal lengths, at least two rows and ascending wavelengths.
    pub fn new(wavelength_nm: Vec<f64>, a: Vec<f64>, b: Vec<f64>, c: Vec<f64>) -> Result<Self> {
        let n = wavelength_nm.len();
        for (what, v) in [("a", &a), ("b", &b), ("c", &c)] {
            if v.len() != n {
                return Err(Error::Shape {
                    what: format!("noise model column {what} (one per wavelength)"),
                    expected: n,
                    got: v.len(),
                });
            }
        }
        if n < 2
            || wavelength_nm
                .windows(2)
                .any(|w| w[1].partial_cmp(&w[0]) != Some(std::cmp::Ordering::Greater))
        {
            return Err(Error::Invalid(
                "noise model: expected at least two rows with ascending wavelengths".into(),
            ));
        }
        Ok(Self {
            wavelength_nm,
            a,
            b,
            c,
        })
    }

    /// A flat noise model from one published signal-to-noise figure: `snr` at radiance
    /// `radiance`, for every wavelength in `[lo_nm, hi_nm]`, in isofit's form with
    /// `c = 0`: `NEdL(L) = a·√(b + L)`.
    ///
    /// `b = dark_fraction · radiance` is the dark-current and read-noise variance,
    /// expressed as the radiance whose shot noise equals it; `a` then follows from
    /// `NEdL(radiance) = radiance / snr`. A vendor's SNR is usually quoted at a bright
    /// reference, so this is optimistic at band edges where the detector's response falls
    /// off; a measured noise table (`--noise`) is always better.
    ///
    /// # Units
    /// Radiance µW cm⁻² sr⁻¹ nm⁻¹, wavelengths nm, `snr` and `dark_fraction` unitless.
    ///
    /// # Errors
    /// When a number is not finite and positive (`dark_fraction` may be 0) or
    /// `lo_nm >= hi_nm`.
    pub fn from_snr(
        snr: f64,
        radiance: f64,
        dark_fraction: f64,
        (lo_nm, hi_nm): (f64, f64),
    ) -> Result<Self> {
        let positive = |x: f64| x.is_finite() && x > 0.0;
        if !(positive(snr)
            && positive(radiance)
            && dark_fraction.is_finite()
            && dark_fraction >= 0.0)
        {
            return Err(Error::Invalid(format!(
                "noise model from SNR {snr} at radiance {radiance} (dark fraction {dark_fraction}): expected a positive SNR and radiance"
            )));
        }
        if !(positive(lo_nm) && lo_nm < hi_nm && hi_nm.is_finite()) {
            return Err(Error::Invalid(format!(
                "noise model wavelength range {lo_nm}–{hi_nm} nm: expected 0 < LO < HI"
            )));
        }
        let b = dark_fraction * radiance;
        let a = radiance / (snr * (b + radiance).sqrt());
        Self::new(vec![lo_nm, hi_nm], vec![a; 2], vec![b; 2], vec![0.0; 2])
    }

    /// The coefficients interpolated linearly in wavelength to the band centres (held
    /// constant beyond the table's ends).
    pub fn at_bands(&self, bands: &BandModel) -> BandNoise {
        let interp = |v: &[f64], w: f64| {
            let x = &self.wavelength_nm;
            let k = x.partition_point(|&xi| xi <= w);
            if k == 0 {
                v[0]
            } else if k == x.len() {
                v[k - 1]
            } else {
                v[k - 1] + (v[k] - v[k - 1]) * (w - x[k - 1]) / (x[k] - x[k - 1])
            }
        };
        let map = |v: &[f64]| bands.center_nm.iter().map(|&w| interp(v, w)).collect();
        BandNoise {
            a: map(&self.a),
            b: map(&self.b),
            c: map(&self.c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The model returns the SNR it was built from at its reference radiance, and noise
    /// grows as √L above the dark floor (shot noise), so the SNR grows with radiance.
    #[test]
    fn from_snr_reproduces_its_reference_and_shot_noise() {
        let m = NoiseModel::from_snr(250.0, 1.5, 0.25, (900.0, 1700.0)).unwrap();
        let bands = BandModel::new(vec![950.0, 1650.0], vec![8.0, 8.0]).unwrap();
        let n = m.at_bands(&bands);
        for band in 0..2 {
            assert!((1.5 / n.nedl(band, 1.5) - 250.0).abs() < 1e-9);
            let snr_dim = 0.375 / n.nedl(band, 0.375);
            let snr_bright = 6.0 / n.nedl(band, 6.0);
            assert!(snr_dim < 250.0 && snr_bright > 250.0);
            // Far above the dark floor, NEdL ∝ √L: quadrupling L doubles the noise.
            let ratio = n.nedl(band, 400.0) / n.nedl(band, 100.0);
            assert!((ratio - 2.0).abs() < 0.01, "{ratio}");
        }
        assert!(NoiseModel::from_snr(0.0, 1.0, 0.25, (900.0, 1700.0)).is_err());
        assert!(NoiseModel::from_snr(100.0, f64::NAN, 0.25, (900.0, 1700.0)).is_err());
        assert!(NoiseModel::from_snr(100.0, 1.0, -1.0, (900.0, 1700.0)).is_err());
        assert!(NoiseModel::from_snr(100.0, 1.0, 0.25, (1700.0, 900.0)).is_err());
    }
}
