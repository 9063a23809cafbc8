//! Covariance divisor and regularisation (diagonal blend, Ledoit–Wolf shrinkage).

use crate::{Error, Result};

/// Divisor of the covariance: the number of pixels `N` (maximum likelihood, as mag1c)
/// or `N − 1` (unbiased, as Spectral Python's `calc_stats`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Normalization {
    /// Divide by `N` (mag1c, `torch.bmm(xᵀ, x) / N`).
    Population,
    /// Divide by `N − 1`.
    #[default]
    Sample,
}

/// How the sample covariance is regularised before it is inverted.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum Regularization {
    /// Use the sample covariance as is.
    #[default]
    None,
    /// mag1c's diagonal blend: `C ← (1 − alpha)·C + alpha·diag(C)`, `alpha` in [0, 1]
    /// (`--covariance-lerp-alpha`; alpha 0 is the identity).
    DiagonalBlend {
        /// Weight of the diagonal, in [0, 1].
        alpha: f64,
    },
    /// Ledoit & Wolf (2004) shrinkage toward `(tr C / p)·I` with the optimal,
    /// data-derived intensity (needs the fourth moment `Σ‖x − μ‖⁴`).
    LedoitWolf,
}

impl Regularization {
    /// Checks the parameter range.
    pub fn validate(&self) -> Result<()> {
        if let Regularization::DiagonalBlend { alpha } = *self {
            if !(0.0..=1.0).contains(&alpha) {
                return Err(Error::Invalid(format!(
                    "covariance diagonal blend alpha {alpha} is outside [0, 1]"
                )));
            }
        }
        Ok(())
    }

    /// Applies the regularisation in place to the `p × p` covariance `cov` estimated
    /// from `n` pixels; `sum_norm4` is `Σ‖x − μ‖⁴` over those pixels (only read by
    /// [`Regularization::LedoitWolf`], which fails without it). Returns the shrinkage
    /// intensity used (0 for none).
    pub fn apply(&self, cov: &mut [f64], p: usize, n: f64, sum_norm4: Option<f64>) -> Result<f64> {
        match *self {
            Regularization::None => Ok(0.0),
            Regularization::DiagonalBlend { alpha } => {
                self.validate()?;
                for i in 0..p {
                    for j in 0..p {
                        if i != j {
                            cov[i * p + j] *= 1.0 - alpha;
                        }
                    }
                }
                Ok(alpha)
            }
            Regularization::LedoitWolf => {
                let s4 = sum_norm4.ok_or_else(|| {
                    Error::Invalid(
                        "Ledoit-Wolf shrinkage needs the fourth moment of the pixels".into(),
                    )
                })?;
                let trace: f64 = (0..p).map(|i| cov[i * p + i]).sum();
                let m = trace / p as f64;
                let fro2: f64 = cov.iter().map(|v| v * v).sum();
                // d² = ‖S − mI‖², b̄² = (1/n)·((1/n)Σ‖x‖⁴ − ‖S‖²) with S the
                // maximum-likelihood covariance (Ledoit & Wolf 2004, lemma 3.x).
                let d2 = fro2 - 2.0 * m * trace + m * m * p as f64;
                let bbar2 = ((s4 / n - fro2) / n).max(0.0);
                let rho = if d2 > 0.0 { (bbar2.min(d2)) / d2 } else { 1.0 };
                for i in 0..p {
                    for j in 0..p {
                        let v = &mut cov[i * p + j];
                        *v *= 1.0 - rho;
                        if i == j {
                            *v += rho * m;
                        }
                    }
                }
                Ok(rho)
            }
        }
    }
}
