//! plumewatch-core: the science of plumewatch, with no file or network I/O.
//!
//! Data flow (see `DESIGN.md`): radiance lines → gas-window bands → unit absorption
//! target → background statistics → matched-filter family → plumes → sources → sites.
//!
//! # Conventions
//! - Radiance in µW cm⁻² sr⁻¹ nm⁻¹, wavelengths in nm, enhancement in ppm·m,
//!   emission rate in kg/h, wind in m/s, ground sample distance in m.
//! - Cubes are indexed (line, sample, band): line = down-track, sample = cross-track
//!   detector column. One *line* in memory is `samples × bands` values with the band
//!   index fastest (pixel-interleaved), whatever the interleave on disk.

pub mod bands;
/// The matched-filter family: mf, albedo-corrected mf, mag1c, ACE.
pub mod detect;
pub mod error;
/// Scoring against simulation truth: pixel ROC/PR, source POD, rate error, POD(Q) fits.
pub mod eval;
/// Gas absorption look-up tables.
pub mod gas;
/// Pixel ↔ map coordinates through a GDAL-convention geotransform; wind in pixel space.
pub mod geo;
/// Saturation, censored-line and no-data masks.
pub mod mask;
/// Narrow-band (differential) check that a candidate's enhancement is gas, not a broad
/// surface absorption feature.
pub mod narrowband;
/// Orthorectification through a geographic lookup table (GLT).
pub mod ortho;
/// CFAR thresholding of z, plume components, outlines and false-positive rejection.
pub mod plume;
/// Source location and emission rates (IME, cross-sectional flux, Monte-Carlo uncertainty).
pub mod quantify;
/// The deterministic seeded random generator of the simulator and the Monte Carlo.
pub mod rng;
/// One flight line from detection maps to located, quantified plume detections.
pub mod scan;
/// Plume simulation: puff plumes, Beer–Lambert injection, synthetic scenes.
pub mod simulate;
/// Candidate sites merged across flight lines and ranked by evidence.
pub mod sites;
pub mod source;
/// Background statistics: mean, covariance, Cholesky factor, regularisation.
pub mod stats;
/// Unit absorption targets: a gas LUT convolved to a sensor's bands.
pub mod target;

pub use bands::BandModel;
pub use error::{Error, Result};
pub use gas::GasLut;
pub use source::{LineSource, VecCube};
pub use target::{convolve_lut, transmittance_ratio, unit_absorption, Target};
