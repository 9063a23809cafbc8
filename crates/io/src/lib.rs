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
/// Coordinate reference systems compared through GDAL.
pub mod crs;
/// Format-independent radiance cubes and `open_cube`.
pub mod cube;
/// Data files (gas LUTs, sensors, noise, solar, surfaces) found at run time.
pub mod data_dir;
/// ENVI header parsing, memory-mapped reading and writing.
pub mod envi;
pub mod error;
/// Evidence PNGs: enhancement chip, colour bar, scale bar, outline, source, wind.
pub mod evidence_png;
/// Gas absorption LUTs: ENVI radiance + JSON sidecar; CH4 built in.
pub mod gas_lut;
/// GDAL-backed rasters: GeoTIFF, EMIT NetCDF, HDF5 input and COG output.
pub mod gdal_raster;
/// `sites.geojson` and `plumes.geojson` in WGS84 (reprojected with GDAL OSR).
pub mod geojson_out;
/// `CubeInfo`: what a radiance file holds (`plumewatch info`).
pub mod info;
/// SIGBUS from a data file truncated while mapped, turned into an error naming it.
pub mod mapped;
/// Available memory, checked before allocations sized by inputs.
pub mod memory;
/// isofit parametric instrument noise tables.
pub mod noise_model;
/// PNG quicklooks and simple line plots.
pub mod png_plot;
/// The self-contained HTML report of a scan.
pub mod report_html;
/// Sensor band models from CSV, ENVI headers, EMIT NetCDF and built-in presets.
pub mod sensor;
/// ENVI spectral libraries (USGS splib06a `.sli`).
pub mod spectral_library;
/// Target spectrum files: plumewatch CSV and mag1c text.
pub mod target_file;
/// Shared-data checks for the integration tests (fail under CI when data is missing).
pub mod testing;
/// `sources.json` input and `truth_sources.json` truth records.
pub mod truth;

pub use cube::{open_cube, read_small_text, CubeMeta, GeoRef, RadianceCube};
pub use envi::{parse_header, write_envi, EnviCube, EnviHeader, EnviWriteOptions};
pub use error::{Error, Result};
pub use gdal_raster::{
    open_crs_database_in_background, read_band_f32, write_cog, write_cog_with_overviews,
    write_geotiff_cube, CrsDatabaseWarmup, GdalCube, GeoTiffCube, OutputBand, Overviews,
};
