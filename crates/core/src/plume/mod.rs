//! From per-pixel z-scores to plumes: a CFAR threshold on z against the robust
//! per-column background of the scene, hysteresis growth, morphological clean-up,
//! connected components with a minimum size, pixel-exact outlines, and rejection of
//! known false positives with the reason.
//!
//! # Array order
//! Every raster is `lines × samples`, row-major (sample fastest), `f32`, NaN = no data,
//! described by a [`Grid`].
//!
//! # Interpretation
//! The CFAR rule works on the *normalised* score `zn = (z − median_col) / (1.4826 ·
//! MAD_col)`, where median and MAD are taken over the valid pixels of the pixel's
//! detector column. Under a Gaussian null this makes each pixel's false-alarm
//! probability equal to [`CfarParams::far`], whatever the per-column bias and spread
//! the retrieval left behind (pushbroom striping).

/// The CFAR rule: robust per-column background, normalised score, seed threshold.
mod cfar;
/// Narrow-band (differential) check that a candidate's enhancement is gas, not a broad
/// surface absorption feature.
pub mod narrowband;
/// The scene's empirical null: a site-level false-alarm rate that holds on clutter.
pub mod null;
/// Pixel-exact outlines of plumes.
mod outline;
/// Known-false-positive rejection with the reason.
mod reject;
/// Seeds, growth, clean-up and connected components.
mod segment;
/// Candidate vetting: the probability that a candidate is gas.
pub mod vet;

pub use cfar::SceneReference;
pub use cfar::{cfar_mask, column_background, normalised_z, CfarParams, ColumnBackground};
pub use null::{NullCalibration, NullSample};
pub use outline::{ring_signed_area, trace_outline};
pub use reject::{RejectParams, Rejection};
pub use segment::find_plumes;

use crate::raster::Grid;

/// One connected plume candidate.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Plume {
    /// 1-based id, the value of the plume in [`PlumeSet::labels`].
    pub id: u32,
    /// Linear pixel indices `line · samples + sample` (see [`Grid::index`]), ascending,
    /// `usize` so that mosaics above 2³² pixels do not wrap (not serialised).
    #[serde(skip)]
    pub pixels: Vec<usize>,
    /// Number of pixels.
    pub n_pixels: usize,
    /// Bounding box `[line_min, sample_min, line_max, sample_max]`, inclusive.
    pub bbox: [usize; 4],
    /// Line and sample of the highest enhancement.
    pub peak_pixel: [usize; 2],
    /// Highest enhancement in the plume.
    ///
    /// # Units
    /// ppm·m.
    pub max_enhancement_ppm_m: f64,
    /// Highest normalised score in the plume (robust z units).
    pub peak_z: f64,
    /// Significance: the peak normalised score, the statistic the CFAR rule tests.
    pub significance: f64,
    /// Probability that a plume-free scene of this many valid pixels holds, anywhere,
    /// a pixel at least as significant: `1 − (1 − Φ̄(peak_z))^N` (Gaussian independent
    /// null; ignores the plume's extent, hence conservative).
    pub false_alarm_probability: f64,
    /// Outline rings in continuous pixel coordinates `[col, row]` (pixel corners),
    /// closed (first = last); one ring per part joined only diagonally; enclosed holes
    /// are filled.
    pub outline: Vec<Vec<[f64; 2]>>,
    /// `Some(reason)` when the candidate is a known false positive.
    pub rejection: Option<Rejection>,
    /// The narrow-band check's result, where the analysis ran it (significant
    /// candidates that pass the other rules, with the radiance at hand).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub narrowband: Option<narrowband::NarrowbandColumn>,
}

/// Result of [`find_plumes`].
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PlumeSet {
    /// All candidates of at least the minimum size, accepted and rejected, by id.
    pub plumes: Vec<Plume>,
    /// `lines × samples` labels: 0 = no plume, otherwise the plume id.
    pub labels: Vec<u32>,
    /// The per-column background the CFAR rule used.
    pub background: Vec<ColumnBackground>,
    /// Seed threshold on the normalised score.
    pub seed_threshold: f64,
    /// Number of seed pixels (normalised score above the seed threshold).
    pub n_seed_pixels: usize,
    /// Components dropped for being smaller than the minimum size.
    pub n_too_small: usize,
    /// Valid pixels of the scene (finite z).
    pub n_valid: usize,
    /// The empirical null the scene-level false-alarm rate is read from: peak scores
    /// of the candidates that the same segmentation and rejection rules find on the
    /// negated normalised score (descending), or the reference's (see [`null`]).
    #[serde(default)]
    pub null: NullSample,
    /// Pixels of the null candidates (the rules' survivors on the negated score), in
    /// the order of `null.peaks`, when the null was taken from these maps (empty with a
    /// reference's null); the analysis estimates their flux evidence.
    #[serde(skip)]
    pub null_components: Vec<Vec<usize>>,
}

/// Rasters [`find_plumes`] works on (all `grid` order, NaN = no data).
#[derive(Debug, Clone, Copy)]
pub struct PlumeInputs<'a> {
    /// Raster size.
    pub grid: Grid,
    /// Detection score z (dimensionless).
    pub z: &'a [f32],
    /// Enhancement.
    ///
    /// # Units
    /// ppm·m.
    pub enhancement: &'a [f32],
    /// Surface albedo (any linear brightness measure), for the surface-correlation test.
    pub albedo: Option<&'a [f32]>,
    /// Saturated or otherwise flagged pixels (true = bad), besides NaN.
    pub invalid: Option<&'a [bool]>,
    /// The per-column background and scene size the CFAR rule tests against when these
    /// rasters are only a block of a larger scene (the lines a stream keeps around one
    /// plume); `None` estimates them from these rasters.
    pub reference: Option<&'a SceneReference>,
}
