//! Shared numerical helpers of the pipeline stages: one implementation each, used by the
//! core and by the io and command-line crates.

/// Sample correlation of paired values.
pub mod correlation;
/// The standard normal distribution: error function, CDF, upper tail and quantile.
pub mod normal;
/// Order statistics: medians, the median absolute deviation and percentiles.
pub mod order_stats;
