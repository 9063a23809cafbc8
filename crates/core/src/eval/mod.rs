//! Scoring detections against simulation truth.
//!
//! - Pixel level: ROC AUC and precision–recall AUC (average precision) of a per-pixel
//!   score (enhancement or z) against a truth mask ([`pixel_scores`]).
//! - Source level: one-to-one matching of detected sites to true sources within a
//!   distance, probability of detection (POD) per emission-rate bin with Wilson 95%
//!   intervals, false sites per km², and emission-rate error (median |ΔQ|/Q, bias,
//!   parity slope and R²) ([`score_sources`]).
//! - Detection limit: a logistic POD(Q) curve in log10 Q fitted by maximum likelihood,
//!   with Q at 50% and 90% POD and delta-method 95% intervals ([`fit_logistic_pod`]).
//!
//! # Units
//! Distances m, areas km², emission rates kg/h.

/// Pixel-level ROC and PR scores.
mod pixels;
/// The logistic POD(Q) fit and the detection limit.
mod pod;
/// Source-level matching, POD per rate bin, false sites and rate error.
mod sources;

pub use pixels::{pixel_scores, Curve, PixelScores};
pub use pod::{fit_logistic_pod, LogisticPod};
pub use sources::{
    log_bins, pod_per_bin, score_sources, wilson_interval, DetectedSite, PodBin, RateError,
    SourceMatch, SourceScores, TrueSource,
};
