//! Shared numerical helpers of the pipeline stages: one implementation each, used by the
//! core and by the io and command-line crates.

/// Sample correlation of paired values.
pub mod correlation;
/// The natural logarithm of many positive values at once, vectorised.
pub mod log;
/// The standard normal distribution: error function, CDF, upper tail and quantile.
pub mod normal;
/// Order statistics: medians, the median absolute deviation and percentiles.
pub mod order_stats;

/// Whether every value is finite. Checks the whole slice without stopping early, so
/// that the compiler can vectorise it: the per-pixel checks of long spectra run at the
/// speed of the memory instead of one branch per value.
pub fn all_finite(v: &[f32]) -> bool {
    v.iter().fold(true, |ok, x| ok & x.is_finite())
}

#[cfg(test)]
mod tests {
    #[test]
    fn all_finite_finds_any_nan_or_infinity() {
        let mut v = vec![1.0f32; 37];
        assert!(super::all_finite(&v));
        assert!(super::all_finite(&[]));
        for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
            for i in [0, 17, 36] {
                v[i] = bad;
                assert!(!super::all_finite(&v));
                v[i] = 1.0;
            }
        }
    }
}
