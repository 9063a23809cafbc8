//! Format-independent radiance cubes: [`CubeMeta`], the [`RadianceCube`] trait and
//! [`open_cube`], which picks the native ENVI reader or GDAL.

use crate::envi::{find_header_file, EnviCube};
use crate::gdal_raster::GdalCube;
use crate::{Error, Result};
use std::path::{Path, PathBuf};

/// GDAL-convention affine geotransform + CRS as WKT.
///
/// Map x of pixel corner (col, row) = `t[0] + col·t[1] + row·t[2]`, map y =
/// `t[3] + col·t[4] + row·t[5]` (col = sample, row = line, both 0-based, (0, 0) = the
/// upper-left corner of the first pixel).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct GeoRef {
    /// `[x0, dx_col, dx_row, y0, dy_col, dy_row]`.
    ///
    /// # Units
    /// Map units of the CRS (m for UTM).
    pub geo_transform: [f64; 6],
    /// The coordinate reference system as WKT, when known.
    pub wkt: Option<String>,
}

/// What any radiance cube says about itself, whatever its format.
#[derive(Debug, Clone, PartialEq)]
pub struct CubeMeta {
    /// The file the values come from (the data file for ENVI).
    pub path: PathBuf,
    /// Format name: `"ENVI"`, or the GDAL driver's short name (`"GTiff"`, `"netCDF"`, ...).
    pub format: String,
    /// Down-track lines.
    pub lines: usize,
    /// Cross-track samples (detector columns).
    pub samples: usize,
    /// Bands.
    pub bands: usize,
    /// Band centres, one per band.
    ///
    /// # Units
    /// nm (always, whatever the file's units).
    pub wavelength_nm: Option<Vec<f64>>,
    /// Band full widths at half maximum, one per band.
    ///
    /// # Units
    /// nm.
    pub fwhm_nm: Option<Vec<f64>>,
    /// Per band: `true` = band is GOOD (ENVI `bbl` = 1), `false` = bad band.
    pub bad_bands: Option<Vec<bool>>,
    /// The raw value that marks no data (returned as NaN by `read_line`).
    pub nodata: Option<f64>,
    /// Georeferencing, when the file has it.
    pub georef: Option<GeoRef>,
    /// Band names, one per band.
    pub band_names: Option<Vec<String>>,
    /// Free-text description.
    pub description: Option<String>,
}

impl CubeMeta {
    /// Indices (0-based, ascending) of the bands whose centre lies in `[lo_nm, hi_nm]`,
    /// leaving out bands marked bad. Empty when the cube has no wavelengths.
    ///
    /// # Units
    /// `lo_nm`, `hi_nm` in nm.
    pub fn bands_in_window(&self, lo_nm: f64, hi_nm: f64) -> Vec<usize> {
        let Some(w) = &self.wavelength_nm else {
            return Vec::new();
        };
        plumewatch_core::bands::bands_in_window(w, self.bad_bands.as_deref(), lo_nm, hi_nm)
    }
}

/// A radiance cube read line by line, with its metadata.
pub trait RadianceCube: plumewatch_core::LineSource + Send {
    /// Dimensions, band table, nodata and georeferencing.
    fn meta(&self) -> &CubeMeta;
}

/// Checks that `path` names an existing regular file: the operating system's own error
/// when it does not exist or cannot be reached, a format error naming `expected` for a
/// directory, and for a FIFO, socket or device (which could block forever or never
/// end), before anything opens it.
pub fn check_input_file(path: &Path, expected: &str) -> Result<()> {
    match std::fs::metadata(path) {
        Ok(m) if m.is_dir() => Err(Error::format(
            path,
            "path",
            format!("is a directory (expected {expected})"),
        )),
        Ok(m) if !m.is_file() => Err(Error::format(
            path,
            "path",
            format!("is not a regular file (a FIFO, socket or device; expected {expected})"),
        )),
        Ok(_) => Ok(()),
        Err(e) => Err(Error::io(path, "cannot open", e)),
    }
}

/// Largest text input (configuration, wind file, sources) read by [`read_small_text`].
pub const MAX_TEXT_INPUT_BYTES: u64 = 64 << 20;

/// Reads a small text input (`what`: "wind file", "scan configuration", ...): a regular
/// file of at most [`MAX_TEXT_INPUT_BYTES`], valid UTF-8.
pub fn read_small_text(path: &Path, what: &str) -> Result<String> {
    use std::io::Read;
    check_input_file(path, what)?;
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, "cannot open", e))?;
    let mut bytes = Vec::new();
    file.take(MAX_TEXT_INPUT_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io(path, "cannot read", e))?;
    if bytes.len() as u64 > MAX_TEXT_INPUT_BYTES {
        return Err(Error::format(
            path,
            what,
            format!(
                "larger than {} MiB (expected a small text file)",
                MAX_TEXT_INPUT_BYTES >> 20
            ),
        ));
    }
    String::from_utf8(bytes).map_err(|_| Error::format(path, what, "not valid UTF-8 text"))
}

/// Whether `path` is an ENVI header or a data file with an ENVI header beside it.
pub fn is_envi(path: &Path) -> bool {
    let is_hdr = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("hdr"));
    is_hdr || find_header_file(path).is_some()
}

/// The files a cube named by `path` is read from: `path` itself and, for ENVI, its
/// header and data file (for refusing outputs that would replace one of them).
pub fn cube_files(path: &Path) -> Vec<std::path::PathBuf> {
    let mut files = vec![path.to_path_buf()];
    if is_envi(path) {
        let hdr = crate::envi::find_header_file(path).unwrap_or_else(|| path.to_path_buf());
        if let Ok(data) = crate::envi::find_data_file(&hdr) {
            files.push(data);
        }
        files.push(hdr);
    }
    files
}

/// Opens a radiance cube: native ENVI when `path` is an ENVI header or a data file with
/// a header beside it; GDAL otherwise (GeoTIFF, EMIT L1B NetCDF, HDF5, ...).
pub fn open_cube(path: &Path) -> Result<Box<dyn RadianceCube>> {
    check_input_file(path, "a radiance file")?;
    if is_envi(path) {
        Ok(Box::new(EnviCube::open(path)?))
    } else {
        Ok(Box::new(GdalCube::open(path)?))
    }
}
