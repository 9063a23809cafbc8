//! plumewatch-io: reading and writing the files plumewatch works with.
//!
//! - [`envi`]: native ENVI reader (memory-mapped, every interleave and data type) and writer.
//! - [`gdal_raster`]: every other raster format through GDAL (GeoTIFF, EMIT NetCDF, HDF5)
//!   and Cloud-Optimized GeoTIFF output.
//! - [`atomic`]: outputs are written to a temporary name and renamed when complete.
//!
//! This crate does no science: it turns files into the plain types of `plumewatch-core`
//! and back.

pub mod atomic;
pub mod error;
/// The self-contained HTML report of a scan.
pub mod report_html;

pub use error::{Error, Result};
