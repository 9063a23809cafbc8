//! What configures a detection run: the detector, precision, grouping of pixels that
//! share statistics, covariance options, masks and the mag1c settings.

use crate::mask::{CensorRule, Saturation};
use crate::stats::{Normalization, Regularization};
use crate::{Error, Result};

/// mag1c's template scaling: the unit absorption is multiplied by this factor inside
/// the filters and enhancements are multiplied by it on the way out (ppm·m).
pub const TEMPLATE_SCALING: f64 = 1e5;

/// The detector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Algorithm {
    /// mag1c (Foote et al. 2020): albedo-corrected reweighted-ℓ1 sparse matched filter.
    #[default]
    Mag1c,
    /// Classic matched filter, `(x − μ)ᵀC⁻¹t / tᵀC⁻¹t`.
    MatchedFilter,
    /// Matched filter divided by the pixel's albedo factor.
    AlbedoMatchedFilter,
    /// Adaptive coherence estimator (significance score) alongside the matched filter.
    Ace,
}

impl Algorithm {
    /// For the matched filters, which have a form with fixed statistics: whether the
    /// enhancement is divided by the pixel's albedo factor; `None` for the others.
    pub fn matched_filter_albedo_correction(self) -> Option<bool> {
        match self {
            Algorithm::MatchedFilter => Some(false),
            Algorithm::AlbedoMatchedFilter => Some(true),
            Algorithm::Mag1c | Algorithm::Ace => None,
        }
    }
}

/// Precision of the per-pixel arithmetic. Statistics and solves are f64 in both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Precision {
    /// f32 pixels and products (default).
    #[default]
    F32,
    /// f64 throughout (reference-grade).
    F64,
}

/// Which pixels share background statistics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grouping {
    /// Groups of this many adjacent detector columns (pushbroom sensors); the last
    /// group may be narrower.
    Columns(usize),
    /// One set of statistics for the whole scene (frame cameras, mosaics).
    Global,
    /// An N × N grid of rectangular tiles (N down-track × N across), each with its own
    /// statistics from its own pixels (georeferenced mosaics and frame images, which
    /// have no detector columns but whose background changes across the scene). Tiles
    /// are `extent / N` lines (samples) long; the last tile down-track (across) also
    /// takes the remainder ([`tile_ranges`]).
    Tiles(usize),
}

/// The `n` tiles along an axis of `extent` pixels: `n − 1` tiles of `extent / n`
/// pixels, then the last one with the remainder (empty when `n` is 0; tiles of zero
/// pixels when `n > extent`).
pub fn tile_ranges(extent: usize, n: usize) -> Vec<std::ops::Range<usize>> {
    if n == 0 {
        return Vec::new();
    }
    let size = extent / n;
    (0..n)
        .map(|i| {
            let end = if i + 1 == n { extent } else { (i + 1) * size };
            i * size..end
        })
        .collect()
}

impl Default for Grouping {
    fn default() -> Self {
        Grouping::Columns(1)
    }
}

/// Settings of the mag1c iterations (defaults are mag1c 1.2.0's CLI defaults).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Mag1cParams {
    /// Reweighting iterations (30).
    pub iterations: usize,
    /// Reweighted-ℓ1 sparsity (on).
    pub sparsity: bool,
    /// Clip the initial matched filter at zero (on; the iterations always clip).
    pub nonnegative: bool,
    /// Divide by the albedo factor (on).
    pub albedo_correction: bool,
    /// How much of the detected signal is removed from the data before the
    /// statistics are re-estimated (1).
    pub covariance_update_scaling: f64,
}

impl Default for Mag1cParams {
    fn default() -> Self {
        Self {
            iterations: 30,
            sparsity: true,
            nonnegative: true,
            albedo_correction: true,
            covariance_update_scaling: 1.0,
        }
    }
}

/// Everything that configures a detection run.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DetectParams {
    /// The detector.
    pub algorithm: Algorithm,
    /// Per-pixel precision.
    pub precision: Precision,
    /// Statistics per column group, per tile or global.
    pub grouping: Grouping,
    /// Covariance divisor; `None` = the detector's own (mag1c: N, others: N − 1).
    pub normalization: Option<Normalization>,
    /// Covariance regularisation.
    pub regularization: Regularization,
    /// Censored-line rule.
    pub censor: CensorRule,
    /// Saturation screening (pixels left out of the statistics); `None` = off.
    pub saturation: Option<Saturation>,
    /// mag1c settings.
    pub mag1c: Mag1cParams,
    /// Second pass: re-estimate the statistics without the pixels whose first-pass
    /// z exceeds this value (large plumes otherwise bias the background).
    pub exclude_z: Option<f64>,
    /// Divide the matched filters' score of pixels far outside their background by
    /// how far ([`super::outlier`]); off by default here, on in `scan` and `stream`.
    /// Not for mag1c or ACE.
    pub outlier_scaling: bool,
}

impl DetectParams {
    pub(super) fn normalization(&self) -> Normalization {
        self.normalization.unwrap_or(match self.algorithm {
            Algorithm::Mag1c => Normalization::Population,
            _ => Normalization::Sample,
        })
    }

    /// Checks the parameters.
    pub fn validate(&self) -> Result<()> {
        self.regularization.validate()?;
        if let Grouping::Columns(0) = self.grouping {
            return Err(Error::Invalid(
                "column group size must be at least 1".into(),
            ));
        }
        if let Grouping::Tiles(0) = self.grouping {
            return Err(Error::Invalid(
                "tiles per side must be at least 1 (statistics tiles:N, N ≥ 1)".into(),
            ));
        }
        let s = self.mag1c.covariance_update_scaling;
        if !s.is_finite() {
            return Err(Error::Invalid(format!(
                "covariance update scaling {s} is not a finite number"
            )));
        }
        Ok(())
    }
}
