//! The scene's own empirical null, for a site-level false-alarm rate that holds on
//! cluttered ground.
//!
//! # Method
//! Gas only adds absorption, so the negated normalised score holds no gas; what the
//! same segmentation and rejection rules find there is what noise and clutter alone
//! make ([`super::find_plumes`] collects the peak scores of those candidates). The
//! expected number of false candidates per valid pixel at least as significant as `s`
//! is read from the upper tail of these peaks: above `u` (default 5.0) the excesses
//! follow a generalised Pareto law with shape `ξ` (default 0.2) and a scale from the
//! mean excess, shrunk towards a noise-only prior (2 pseudo-candidates of mean excess
//! 0.3, the excess of Gaussian noise above 5) so that a clean scene with no null
//! candidate above `u` still gets a finite, noise-like tail:
//!
//! `E(s) = (n_u + ½) · (1 + ξ (s − u) / σ)^(−1/ξ)`, `σ = (1 − ξ) · m̄`,
//! `m̄ = (Σ (peak − u) + 2 · 0.3) / (n_u + 2)`,
//!
//! divided by the valid pixels the null was taken over. `u` and `ξ` were chosen on the
//! calibration seeds of the detection benchmark (`bench/detection.sh --set tuning`,
//! seeds 101–110, plume-free twins): the exponential tail (ξ = 0) under-predicted the
//! false sites 2–4-fold below 0.3 per km²; ξ = 0.2 kept requested and observed within
//! a factor of 2 from 0.03 to 1 per km² there. The test seeds (2001–2010) grade it, and
//! it fails there below 0.3 per km² (observed 5× requested at 0.1): the positive clutter
//! tail is heavier than the negated score shows (BENCHMARKS.md, "Detection
//! benchmark"), which is why it is not the scan's default operating point.

/// Threshold above which the null's tail is fitted (normalised-score units).
pub const TAIL_THRESHOLD: f64 = 5.0;
/// Shape of the generalised Pareto tail.
pub const TAIL_SHAPE: f64 = 0.2;
/// Pseudo-candidates of the noise-only prior on the mean excess.
const PRIOR_COUNT: f64 = 2.0;
/// Mean excess above [`TAIL_THRESHOLD`] of the noise-only prior.
const PRIOR_MEAN_EXCESS: f64 = 0.3;

/// The empirical null of a scene: the peak scores of the candidates found on the
/// negated score, and the valid pixels they were found over.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct NullSample {
    /// Peak normalised scores of the null candidates (any order).
    pub peaks: Vec<f64>,
    /// Valid pixels the null candidates were looked for over.
    pub n_valid: usize,
}

impl NullSample {
    /// Expected number of false candidates per valid pixel whose peak score is at
    /// least `s` (NaN without valid pixels).
    pub fn false_rate_per_pixel(&self, s: f64) -> f64 {
        if self.n_valid == 0 {
            return f64::NAN;
        }
        let u = TAIL_THRESHOLD;
        let above: Vec<f64> = self.peaks.iter().copied().filter(|p| *p >= u).collect();
        let n_u = above.len() as f64;
        let excess: f64 = above.iter().map(|p| p - u).sum();
        let mean_excess = (excess + PRIOR_COUNT * PRIOR_MEAN_EXCESS) / (n_u + PRIOR_COUNT);
        let count = if s >= u {
            let sigma = (1.0 - TAIL_SHAPE) * mean_excess;
            (n_u + 0.5) * (1.0 + TAIL_SHAPE * (s - u) / sigma).powf(-1.0 / TAIL_SHAPE)
        } else {
            // Below the tail threshold, the null candidates themselves.
            (self.peaks.iter().filter(|p| **p >= s).count() as f64).max(n_u + 0.5)
        };
        count / self.n_valid as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rate_falls_with_the_score_and_rises_with_the_clutter() {
        let clean = NullSample {
            peaks: vec![4.0, 4.2],
            n_valid: 100_000,
        };
        let cluttered = NullSample {
            peaks: vec![4.0, 5.5, 6.0, 7.5, 9.0, 11.0],
            n_valid: 100_000,
        };
        let mut last = f64::INFINITY;
        for s in [5.0, 6.0, 8.0, 12.0, 20.0] {
            let (c, k) = (
                clean.false_rate_per_pixel(s),
                cluttered.false_rate_per_pixel(s),
            );
            assert!(c < last && c > 0.0, "{s}: {c}");
            assert!(k > c, "{s}: clutter {k} vs clean {c}");
            last = c;
        }
        // At the tail threshold the count is the candidates above it (+½).
        let r = cluttered.false_rate_per_pixel(TAIL_THRESHOLD) * 100_000.0;
        assert!((r - 5.5).abs() < 1e-9, "{r}");
    }

    #[test]
    fn the_tail_is_continuous_at_the_threshold() {
        let n = NullSample {
            peaks: vec![4.0, 4.5, 4.8, 5.5],
            n_valid: 1000,
        };
        let below = n.false_rate_per_pixel(TAIL_THRESHOLD - 1e-9);
        let at = n.false_rate_per_pixel(TAIL_THRESHOLD);
        assert!((below - at).abs() < 1e-12, "{below} vs {at}");
    }
}
