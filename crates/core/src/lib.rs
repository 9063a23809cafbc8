//! plumewatch-core: the science of plumewatch, with no file or network I/O.
//!
//! Data flow (see `DESIGN.md`), one module per stage in this order: radiance lines
//! ([`source`]) → gas-window bands ([`bands`], [`mask`]) → unit absorption target
//! ([`target`]) → background statistics ([`stats`]) → matched-filter family
//! ([`detect`]) → plumes ([`plume`]) → sources ([`locate`]) → emission rates
//! ([`quantify`]) → sites ([`sites`]); around it [`simulate`] and [`eval`].
//!
//! # Conventions
//! - Radiance in µW cm⁻² sr⁻¹ nm⁻¹, wavelengths in nm, enhancement in ppm·m,
//!   emission rate in kg/h, wind in m/s, ground sample distance in m.
//! - Cubes are indexed (line, sample, band): line = down-track, sample = cross-track
//!   detector column. One *line* in memory is `samples × bands` values with the band
//!   index fastest (pixel-interleaved), whatever the interleave on disk.

/// Spectral band models and the selection of a gas window's bands.
pub mod bands;
/// The matched-filter family: mf, albedo-corrected mf, mag1c, ACE.
pub mod detect;
/// Errors of the core algorithms.
pub mod error;
/// Scoring against simulation truth: pixel ROC/PR, source POD, rate error, POD(Q) fits.
pub mod eval;
/// Gas absorption look-up tables and the ppm·m → kg/m² conversion.
pub mod gas;
/// Pixel ↔ map coordinates through a GDAL-convention geotransform; wind in pixel space.
pub mod geo;
/// Source location at the upwind end of a plume.
pub mod locate;
/// Saturation, censored-line and no-data masks.
pub mod mask;
/// Shared numerical helpers: the normal distribution, order statistics, correlation.
pub mod math;
/// Orthorectification through a geographic lookup table (GLT).
pub mod ortho;
/// CFAR thresholding of z, plume segmentation, false-positive rejection and outlines.
pub mod plume;
/// Emission rates (IME, cross-sectional flux, Monte-Carlo uncertainty).
pub mod quantify;
/// Raster size, linear pixel indices and the no-data convention of detection maps.
pub mod raster;
/// The deterministic seeded random generator of the simulator and the Monte Carlo.
pub mod rng;
/// One flight line from detection maps to located, quantified plume detections.
pub mod scan;
/// Plume simulation: puff plumes, Beer–Lambert injection, synthetic scenes.
pub mod simulate;
/// Candidate sites merged across flight lines and ranked by evidence.
pub mod sites;
/// Radiance line sources: the `LineSource` trait and an in-memory cube.
pub mod source;
/// Background statistics: mean, covariance, Cholesky factor, regularisation.
pub mod stats;
/// Unit absorption targets: a gas LUT convolved to a sensor's bands.
pub mod target;

pub use bands::BandModel;
pub use error::{Error, Result};
pub use gas::GasLut;
pub use raster::Grid;
pub use source::{LineSource, VecCube};
pub use target::{convolve_lut, transmittance_ratio, unit_absorption, Target};
