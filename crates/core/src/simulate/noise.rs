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
