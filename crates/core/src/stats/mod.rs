//! Background statistics for the matched-filter family: mean, covariance and its
//! Cholesky factor, estimated once and handed to the detectors ("estimate once, apply
//! many times", as Spectral Python's `GaussianStats`).
//!
//! Two levels, as in faer:
//! - [`MomentAccumulator`] keeps shifted first and second moments in f64 and can add
//!   or remove single pixels or whole lines (the streaming mode processes lines as the
//!   sensor delivers them); [`MomentAccumulator::add_block`] is the fast path that
//!   multiplies blocks of f32 (or f64) pixels with faer and sums the products in f64.
//! - [`BackgroundStats`] is the finished estimate: mean, regularised covariance and
//!   its Cholesky factor, with solves.
//!
//! # Units
//! Mean in the units of the radiance (µW cm⁻² sr⁻¹ nm⁻¹), covariance in their square.
//!
//! # Array order
//! Pixels are rows of `bands` values (band fastest), as one line of a
//! [`crate::LineSource`]. Covariance matrices are `bands × bands`, row-major
//! (they are symmetric, so column-major reads the same).

/// Cholesky factor and solves.
mod cholesky;
/// Shifted moment accumulation (pixels, lines, blocks).
mod moments;
/// The floating-point types of the per-pixel arithmetic.
mod real;
/// Covariance divisor and regularisation.
mod regularize;
#[cfg(test)]
mod tests;

pub use cholesky::Cholesky;
pub use moments::{MomentAccumulator, BLOCK_ROWS};
pub use real::Real;
pub use regularize::{Normalization, Regularization};

use crate::Result;

/// Finished background statistics of one column group (or of the whole scene).
///
/// # Units
/// `mean` in radiance units, `covariance` in radiance units squared.
#[derive(Debug, Clone, PartialEq)]
pub struct BackgroundStats {
    /// Number of pixels the estimate rests on.
    pub count: u64,
    /// Mean spectrum over the window bands.
    pub mean: Vec<f64>,
    /// Regularised covariance, `bands × bands` row-major.
    pub covariance: Vec<f64>,
    /// Cholesky factor of `covariance`.
    pub cholesky: Cholesky,
}

impl BackgroundStats {
    /// Number of bands.
    pub fn bands(&self) -> usize {
        self.mean.len()
    }

    /// Finishes an accumulator: covariance with `norm`, regularisation `reg` (Ledoit–Wolf
    /// needs `sum_norm4 = Σ‖x − μ‖⁴`), Cholesky factor.
    pub fn from_moments(
        acc: &MomentAccumulator,
        norm: Normalization,
        reg: Regularization,
        sum_norm4: Option<f64>,
    ) -> Result<Self> {
        let mean = acc.mean()?;
        let mut covariance = acc.covariance(norm)?;
        let b = acc.bands();
        reg.apply(&mut covariance, b, acc.count() as f64, sum_norm4)?;
        let cholesky = Cholesky::factor(&covariance, b)?;
        Ok(Self {
            count: acc.count(),
            mean,
            covariance,
            cholesky,
        })
    }

    /// Estimates the statistics of the rows of `pixels` (`rows × bands`) flagged in
    /// `include` (all when `None`), with a second pass over the centred pixels for the
    /// Ledoit–Wolf fourth moment when `reg` asks for it.
    pub fn estimate<T: Real>(
        pixels: &[T],
        bands: usize,
        include: Option<&[bool]>,
        norm: Normalization,
        reg: Regularization,
    ) -> Result<Self> {
        let mut acc = MomentAccumulator::new(bands);
        acc.add_block(pixels, include)?;
        let s4 = if reg == Regularization::LedoitWolf {
            let mean = acc.mean()?;
            let mut s4 = 0.0;
            for (r, px) in pixels.chunks_exact(bands).enumerate() {
                if include.is_some_and(|inc| !inc[r]) {
                    continue;
                }
                let q: f64 = px
                    .iter()
                    .zip(&mean)
                    .map(|(v, m)| (v.to_f64() - m).powi(2))
                    .sum();
                s4 += q * q;
            }
            Some(s4)
        } else {
            None
        };
        Self::from_moments(&acc, norm, reg, s4)
    }

    /// `C⁻¹ v`.
    pub fn solve(&self, v: &[f64]) -> Vec<f64> {
        self.cholesky.solve(v)
    }
}
