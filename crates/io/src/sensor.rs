//! Sensor band models (band centres and FWHM) from files and built-in presets.
//!
//! Sources: a CSV with header `band,wavelength_nm,fwhm_nm` (the `fwhm_nm` column may be
//! missing, `band` is optional), an ENVI header (`wavelength`, `fwhm`), any radiance file
//! GDAL opens that carries band centres (an EMIT L1B NetCDF's `sensor_band_parameters`),
//! and the presets `aviris-ng`, `emit`, `drone-swir` and `drone-ingaas` compiled into
//! the binary.

use crate::envi::read_header;
use crate::{open_cube, Error, Result};
use plumewatch_core::BandModel;
use std::path::Path;

/// Names of the built-in sensor presets.
pub const PRESETS: [&str; 4] = ["aviris-ng", "emit", "drone-swir", "drone-ingaas"];

/// The nominal specification of a class of drone SWIR pushbroom imager: a regular band
/// grid with one FWHM and one published-style signal-to-noise figure. These are class
/// values, not any instrument's calibration (see `data/PROVENANCE.md`); an operator with
/// their own band table and noise figure passes them instead (`--sensor FILE`,
/// `--snr VALUE@RADIANCE`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DroneClass {
    /// Preset name.
    pub name: &'static str,
    /// Centre of the first band, nm.
    pub first_nm: f64,
    /// Band spacing, nm.
    pub step_nm: f64,
    /// Number of bands.
    pub bands: usize,
    /// FWHM of every band, nm.
    pub fwhm_nm: f64,
    /// Cross-track pixels of the class (what `simulate` should use for a full swath).
    pub samples: usize,
    /// Signal-to-noise ratio at [`Self::snr_radiance`] (µW cm⁻² sr⁻¹ nm⁻¹) in the gas
    /// window the class is used for.
    pub snr: f64,
    /// The radiance at which [`Self::snr`] holds, µW cm⁻² sr⁻¹ nm⁻¹.
    pub snr_radiance: f64,
    /// Where the SNR is stated, nm (the window it matters in).
    pub snr_wavelength_nm: f64,
}

impl DroneClass {
    /// The band model: `bands` centres from `first_nm` every `step_nm`, one FWHM.
    pub fn band_model(&self) -> BandModel {
        let centres = (0..self.bands)
            .map(|k| self.first_nm + self.step_nm * k as f64)
            .collect();
        // Positive, ascending centres and a positive FWHM: checked by the tests.
        BandModel::new(centres, vec![self.fwhm_nm; self.bands])
            .expect("drone class constants make a valid band model")
    }

    /// First and last band centre, nm.
    pub fn range_nm(&self) -> (f64, f64) {
        (
            self.first_nm,
            self.first_nm + self.step_nm * (self.bands - 1) as f64,
        )
    }
}

/// Full-range 900–2500 nm drone pushbroom (MCT detector): 267 bands every 6 nm, 9 nm
/// FWHM, 384 cross-track pixels; SNR 150 at 0.4 µW cm⁻² sr⁻¹ nm⁻¹ near 2300 nm (the
/// radiance of a ~0.25-albedo surface there; AVIRIS-NG's table gives ~200 at the same
/// radiance, and a drone's small optics collect less light).
pub const DRONE_SWIR: DroneClass = DroneClass {
    name: "drone-swir",
    first_nm: 900.0,
    step_nm: 6.0,
    bands: 267,
    fwhm_nm: 9.0,
    samples: 384,
    snr: 150.0,
    snr_radiance: 0.4,
    snr_wavelength_nm: 2300.0,
};

/// 900–1700 nm InGaAs drone pushbroom: 224 bands, 8 nm FWHM, 640 cross-track pixels;
/// SNR 250 at 1.5 µW cm⁻² sr⁻¹ nm⁻¹ near 1650 nm (a ~0.25-albedo surface there).
pub const DRONE_INGAAS: DroneClass = DroneClass {
    name: "drone-ingaas",
    first_nm: 900.0,
    step_nm: 800.0 / 223.0,
    bands: 224,
    fwhm_nm: 8.0,
    samples: 640,
    snr: 250.0,
    snr_radiance: 1.5,
    snr_wavelength_nm: 1650.0,
};

/// The drone class of a preset name (case-insensitive), if it is one.
pub fn drone_class(name: &str) -> Option<&'static DroneClass> {
    match name.trim().to_ascii_lowercase().as_str() {
        "drone-swir" => Some(&DRONE_SWIR),
        "drone-ingaas" => Some(&DRONE_INGAAS),
        _ => None,
    }
}

const AVIRIS_NG_CSV: &str = include_str!("../../../data/sensors/aviris-ng.csv");
const EMIT_CSV: &str = include_str!("../../../data/sensors/emit.csv");

/// A built-in band model by name (case-insensitive; `avng`/`avirisng` and `emit` also
/// accepted): `aviris-ng` (432 bands, 346–2505 nm, FWHM 5.6–6.0 nm), `emit`
/// (285 bands, 381–2493 nm, FWHM 8.5 nm), `drone-swir` ([`DRONE_SWIR`]) or
/// `drone-ingaas` ([`DRONE_INGAAS`]). `None` for any other name.
pub fn preset(name: &str) -> Option<BandModel> {
    if let Some(class) = drone_class(name) {
        return Some(class.band_model());
    }
    let name = name.trim().to_ascii_lowercase();
    let (text, label) = match name.as_str() {
        "aviris-ng" | "avirisng" | "avng" => (AVIRIS_NG_CSV, "<built-in>/aviris-ng.csv"),
        "emit" => (EMIT_CSV, "<built-in>/emit.csv"),
        _ => return None,
    };
    // The bundled tables are checked by the tests; a failure here would be a build error.
    parse_csv(text, Path::new(label), None).ok()
}

/// Loads a band model from `path`: a `.csv` band table, an ENVI header (`.hdr`), or any
/// radiance file [`open_cube`] reads (ENVI data file, EMIT NetCDF, GeoTIFF with band
/// metadata).
///
/// `fwhm_override` (nm), when given, is used for every band instead of any FWHM in the
/// file; it is required when the file has no FWHM.
///
/// # Errors
/// When the file cannot be read, has no band centres, has bands without FWHM and no
/// override is given, or has a malformed row (the message names the line and column).
pub fn load(path: &Path, fwhm_override: Option<f64>) -> Result<BandModel> {
    if let Some(f) = fwhm_override {
        if !(f.is_finite() && f > 0.0) {
            return Err(Error::format(
                path,
                "FWHM override",
                format!("{f} nm; expected a positive number of nm"),
            ));
        }
    }
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "csv" => {
            let text = crate::read_small_text(path, "band table")?;
            parse_csv(&text, path, fwhm_override)
        }
        "hdr" => {
            let h = read_header(path)?;
            from_lists(path, h.wavelength_nm, h.fwhm_nm, fwhm_override)
        }
        _ => {
            let cube = open_cube(path)?;
            let meta = cube.meta();
            from_lists(
                path,
                meta.wavelength_nm.clone(),
                meta.fwhm_nm.clone(),
                fwhm_override,
            )
        }
    }
}

/// A band model from optional centre and FWHM lists read from `path`.
fn from_lists(
    path: &Path,
    center_nm: Option<Vec<f64>>,
    fwhm_nm: Option<Vec<f64>>,
    fwhm_override: Option<f64>,
) -> Result<BandModel> {
    let center_nm = center_nm.ok_or_else(|| {
        Error::format(
            path,
            "wavelength",
            "missing; the file gives no band centre wavelengths",
        )
    })?;
    let fwhm_nm = match (fwhm_override, fwhm_nm) {
        (Some(f), _) => vec![f; center_nm.len()],
        (None, Some(f)) => f,
        (None, None) => return Err(missing_fwhm(path, "fwhm")),
    };
    if let Some(i) = fwhm_nm.iter().position(|f| f.is_nan()) {
        return Err(Error::format(
            path,
            "fwhm",
            format!(
                "band {} has no FWHM; pass --fwhm NM to use one width for every band",
                i + 1
            ),
        ));
    }
    crate::envi::header::check_band_centres(&center_nm, path)?;
    BandModel::new(center_nm, fwhm_nm).map_err(|e| Error::format(path, "bands", e.to_string()))
}

fn missing_fwhm(path: &Path, field: &str) -> Error {
    Error::format(
        path,
        field,
        "missing: the bands have no FWHM; pass --fwhm NM to use one width for every band",
    )
}

/// A numeric CSV table: the header's column names and the data rows with their 1-based
/// line numbers. Empty lines and lines starting with `#` are skipped; an empty cell or
/// `nan` is NaN.
#[derive(Debug, Clone, PartialEq)]
pub struct NumericCsv {
    /// Column names from the header line, trimmed.
    pub columns: Vec<String>,
    /// (line number in the file, values) for every data row.
    pub rows: Vec<(usize, Vec<f64>)>,
}

impl NumericCsv {
    /// Index of the column named `name` (case-insensitive).
    pub fn column(&self, name: &str) -> Option<usize> {
        self.columns
            .iter()
            .position(|c| c.eq_ignore_ascii_case(name))
    }
}

/// Parses a comma-separated numeric table with a header line; `path` names it in
/// errors. Every row must have as many cells as the header and every cell must be a
/// number (or empty / `nan`).
pub fn parse_numeric_csv(text: &str, path: &Path) -> Result<NumericCsv> {
    let mut lines = text
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim()))
        .filter(|(_, l)| !l.is_empty() && !l.starts_with('#'));
    let (_, header) = lines.next().ok_or_else(|| {
        Error::format(path, "header", "the file is empty; expected a header line")
    })?;
    let columns: Vec<String> = header
        .trim_start_matches('\u{feff}')
        .split(',')
        .map(|c| c.trim().to_string())
        .collect();
    let mut rows = Vec::new();
    for (n, line) in lines {
        let cells: Vec<&str> = line.split(',').map(str::trim).collect();
        if cells.len() != columns.len() {
            return Err(Error::format(
                path,
                format!("line {n}"),
                format!(
                    "has {} cells; expected {} ({})",
                    cells.len(),
                    columns.len(),
                    columns.join(",")
                ),
            ));
        }
        let values = cells
            .iter()
            .zip(&columns)
            .map(|(cell, col)| {
                if cell.is_empty() || cell.eq_ignore_ascii_case("nan") {
                    return Ok(f64::NAN);
                }
                cell.parse::<f64>().map_err(|_| {
                    Error::format(
                        path,
                        format!("line {n}, column {col}"),
                        format!("{cell:?} is not a number"),
                    )
                })
            })
            .collect::<Result<Vec<f64>>>()?;
        rows.push((n, values));
    }
    Ok(NumericCsv { columns, rows })
}

/// Parses a band table with header `band,wavelength_nm,fwhm_nm` (`band` optional and,
/// when present, 1, 2, 3, …; `fwhm_nm` optional when `fwhm_override` is given). Other
/// columns are ignored.
///
/// # Units
/// nm for both wavelength and FWHM.
pub fn parse_csv(text: &str, path: &Path, fwhm_override: Option<f64>) -> Result<BandModel> {
    let table = parse_numeric_csv(text, path)?;
    let wl_col = table.column("wavelength_nm").ok_or_else(|| {
        Error::format(
            path,
            "header",
            format!(
                "has columns {}; expected band,wavelength_nm,fwhm_nm",
                table.columns.join(",")
            ),
        )
    })?;
    let fwhm_col = table.column("fwhm_nm");
    let band_col = table.column("band");
    if table.rows.is_empty() {
        return Err(Error::format(
            path,
            "rows",
            "none; expected one row per band",
        ));
    }
    let mut center_nm = Vec::with_capacity(table.rows.len());
    let mut fwhm_nm = Vec::with_capacity(table.rows.len());
    for (i, (n, row)) in table.rows.iter().enumerate() {
        if let Some(b) = band_col.map(|c| row[c]) {
            if b != (i + 1) as f64 {
                return Err(Error::format(
                    path,
                    format!("line {n}, column band"),
                    format!(
                        "is {b}; expected {} (bands numbered 1, 2, 3, … in order)",
                        i + 1
                    ),
                ));
            }
        }
        let w = row[wl_col];
        if !(w.is_finite() && w > 0.0) {
            return Err(Error::format(
                path,
                format!("line {n}, column wavelength_nm"),
                format!("is {w}; expected a positive wavelength in nm"),
            ));
        }
        center_nm.push(w);
        let f = match (fwhm_override, fwhm_col) {
            (Some(f), _) => f,
            (None, None) => return Err(missing_fwhm(path, "fwhm_nm column")),
            (None, Some(c)) => {
                let f = row[c];
                if f.is_nan() {
                    return Err(Error::format(
                        path,
                        format!("line {n}, column fwhm_nm"),
                        "is empty: this band has no FWHM; pass --fwhm NM to use one width for every band",
                    ));
                }
                if !(f.is_finite() && f > 0.0) {
                    return Err(Error::format(
                        path,
                        format!("line {n}, column fwhm_nm"),
                        format!("is {f}; expected a positive FWHM in nm"),
                    ));
                }
                f
            }
        };
        fwhm_nm.push(f);
    }
    crate::envi::header::check_band_centres(&center_nm, path)?;
    BandModel::new(center_nm, fwhm_nm).map_err(|e| Error::format(path, "bands", e.to_string()))
}
