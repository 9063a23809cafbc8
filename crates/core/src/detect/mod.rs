//! The matched-filter family: from radiance to a per-pixel gas enhancement with its
//! uncertainty.
//!
//! Every detector works on a *group* of pixels (one or more pushbroom detector columns,
//! a rectangular tile or the whole scene for frame cameras and mosaics; see
//! [`Grouping`]): background statistics are
//! estimated once over the group's usable pixels ([`crate::stats`]), then applied to
//! every pixel of the group. Detectors, one module each:
//! - [`mf`]: classic matched filter (and its albedo-corrected variant);
//! - [`mag1c`]: the sparse, albedo-corrected, reweighted-ℓ1 matched filter of
//!   Foote et al. 2020 (mag1c 1.2.0), with an exact rank-2 covariance update;
//! - [`ace`]: adaptive coherence estimator, a scale-invariant significance score.
//!
//! # Target
//! Callers pass the gas *unit absorption* `a` per window band, in 1/(ppm·m) (the
//! derivative of ln L with the column enhancement, as `crate::target` computes it;
//! negative where the gas absorbs). As in mag1c, the filters work with the scaled
//! template `a·10⁵` and the target spectrum `t = a·10⁵ ⊙ μ` (the absorption
//! imprinted on the background mean), and scale results back by 10⁵ to ppm·m.
//!
//! # Outputs ([`PixelOutputs`])
//! - enhancement, ppm·m;
//! - albedo factor `R = xᵀμ / μᵀμ` (dimensionless);
//! - sigma, ppm·m: the noise-equivalent enhancement `10⁵ / sqrt(tᵀ C⁻¹ t)` (divided by
//!   `R` where the detector divides by `R`): the standard deviation of the
//!   enhancement over plume-free background;
//! - z = enhancement / sigma (for [`Algorithm::Ace`]: the signed ACE score, see
//!   [`ace`]).
//!
//! Pixels without output (no data, censored lines) hold [`crate::raster::NODATA`].
//!
//! The stage reads as its data flow: parameters ([`DetectParams`]) → staging of the window
//! bands → preparation (centring, statistics) → per-group kernels → the driver that
//! assembles [`DetectionMaps`].

/// Adaptive coherence estimator (ACE) kernel.
pub mod ace;
/// Class-conditional background statistics: a mean and covariance per surface class
/// and detector column.
pub mod classes;
/// The cube driver: column blocks (of column groups or tiles) or one global group into
/// detection maps.
mod driver;
/// The matched filters with per-column statistics estimated once and applied to any pixels.
pub mod fixed;
/// One group of pixels through the configured detector.
mod group;
/// mag1c: the sparse, albedo-corrected, reweighted-ℓ1 matched filter kernel.
pub mod mag1c;
/// Classic and albedo-corrected matched filter kernels.
pub mod mf;
/// Outlier scaling of the matched filters' score (pixels far outside their background).
pub mod outlier;
/// Detection parameters with documented defaults.
mod params;
/// Centring and background statistics of one group, shared by the kernels.
mod prepare;
/// Reading the window bands of blocks of columns with per-pixel flags.
mod staging;

pub use classes::{detect_by_class, ClassMaps, ClassSettings};
pub use driver::{detect_cube, detect_cube_with_filters, CubeInput, DetectTimings, DetectionMaps};
pub use group::{detect_group_in_place, detect_pixels, PixelOutputs};
pub use params::{
    tile_ranges, Algorithm, DetectParams, Grouping, Mag1cParams, Precision, TEMPLATE_SCALING,
};

pub(crate) use group::RawOutputs;
pub(crate) use prepare::{dot, Prepared};
