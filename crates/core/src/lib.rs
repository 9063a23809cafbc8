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
pub mod error;
pub mod source;

pub use bands::BandModel;
pub use error::{Error, Result};
pub use source::{LineSource, VecCube};
