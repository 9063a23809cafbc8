//! Target spectrum files: plumewatch's CSV and mag1c's three-column text.
//!
//! - CSV ([`TargetFormat::Csv`]): header `band,wavelength_nm,fwhm_nm,absorption_per_ppm_m`
//!   (`band` and `fwhm_nm` optional on read), values in 1/(ppm·m). On read, a `target`
//!   column instead of `absorption_per_ppm_m` is taken as mag1c-scaled (× 1e5), as in
//!   mag1c's reference tables (`wavelength_nm,target`).
//! - mag1c text ([`TargetFormat::Mag1cText`]): whitespace-separated rows
//!   `band wavelength_nm value`, no header, value = unit absorption × 1e5 (mag1c's
//!   scaling; the official EMIT CH4 target uses it too).

use crate::sensor::parse_numeric_csv;
use crate::{atomic, Error, Result};
use plumewatch_core::{BandModel, Target};
use std::io::Write;
use std::path::Path;

/// The factor mag1c multiplies unit absorption by in its target files.
pub const MAG1C_SCALING: f64 = 1e5;

/// The CSV header plumewatch writes.
pub const CSV_HEADER: &str = "band,wavelength_nm,fwhm_nm,absorption_per_ppm_m";

/// A target spectrum as stored in a file: one row per band.
///
/// # Units
/// Wavelength and FWHM in nm; absorption in 1/(ppm·m) (never mag1c-scaled).
#[derive(Debug, Clone, PartialEq)]
pub struct TargetTable {
    /// Band numbers as written in the file (1-based sensor band numbers).
    pub band: Vec<usize>,
    /// Band centres, nm.
    pub wavelength_nm: Vec<f64>,
    /// Band FWHM, nm, when the file gives them.
    pub fwhm_nm: Option<Vec<f64>>,
    /// Unit absorption, 1/(ppm·m).
    pub absorption_per_ppm_m: Vec<f64>,
}

/// The two target file formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetFormat {
    /// `band,wavelength_nm,fwhm_nm,absorption_per_ppm_m`, unscaled.
    Csv,
    /// mag1c's `band wavelength value×1e5` text.
    Mag1cText,
}

impl TargetTable {
    /// The table of `target`, numbering its bands with `band_numbers` (1-based sensor
    /// band numbers, e.g. after selecting a window) or 1, 2, 3, … when `None`.
    ///
    /// # Errors
    /// When `band_numbers` does not have one entry per band of the target.
    pub fn from_target(target: &Target, band_numbers: Option<&[usize]>) -> Result<Self> {
        let n = target.len();
        let band = match band_numbers {
            Some(b) if b.len() == n => b.to_vec(),
            Some(b) => {
                return Err(Error::format(
                    Path::new("<target>"),
                    "band numbers",
                    format!("{} given; expected {n}, one per target band", b.len()),
                ))
            }
            None => (1..=n).collect(),
        };
        Ok(Self {
            band,
            wavelength_nm: target.bands.center_nm.clone(),
            fwhm_nm: Some(target.bands.fwhm_nm.clone()),
            absorption_per_ppm_m: target.absorption_per_ppm_m.clone(),
        })
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.absorption_per_ppm_m.len()
    }

    /// True when there are no rows.
    pub fn is_empty(&self) -> bool {
        self.absorption_per_ppm_m.is_empty()
    }

    /// A [`Target`] for gas `gas`; needs FWHM in the table or `fwhm_nm_fallback` (nm).
    pub fn to_target(&self, gas: &str, fwhm_nm_fallback: Option<f64>) -> Result<Target> {
        let fwhm = match (&self.fwhm_nm, fwhm_nm_fallback) {
            (_, Some(f)) => vec![f; self.len()],
            (Some(f), None) if f.iter().all(|v| v.is_finite()) => f.clone(),
            _ => {
                return Err(Error::format(
                    Path::new("<target>"),
                    "fwhm_nm",
                    "the target file gives no FWHM for some bands; pass --fwhm NM",
                ))
            }
        };
        let bands = BandModel::new(self.wavelength_nm.clone(), fwhm)
            .map_err(|e| Error::format(Path::new("<target>"), "bands", e.to_string()))?;
        Ok(Target {
            gas: gas.to_string(),
            bands,
            absorption_per_ppm_m: self.absorption_per_ppm_m.clone(),
        })
    }

    /// The absorption at each of `center_nm` (a cube's band centres, nm), taken from the
    /// row whose wavelength is nearest and within `tolerance_nm`.
    ///
    /// # Errors
    /// When a requested centre has no row within the tolerance (the target was made
    /// for other bands).
    pub fn values_for(&self, center_nm: &[f64], tolerance_nm: f64) -> Result<Vec<f64>> {
        center_nm
            .iter()
            .map(|&c| {
                let best = self
                    .wavelength_nm
                    .iter()
                    .enumerate()
                    .min_by(|a, b| (a.1 - c).abs().total_cmp(&(b.1 - c).abs()));
                match best {
                    Some((i, w)) if (w - c).abs() <= tolerance_nm => {
                        Ok(self.absorption_per_ppm_m[i])
                    }
                    _ => Err(Error::format(
                        Path::new("<target>"),
                        "wavelength_nm",
                        format!(
                            "no target row within {tolerance_nm} nm of band centre {c} nm; \
                             the target was made for other bands"
                        ),
                    )),
                }
            })
            .collect()
    }
}

/// Reads a target file, CSV (first line is a header naming `wavelength_nm` and
/// `absorption_per_ppm_m`) or mag1c text (three numeric columns), chosen by content.
///
/// # Errors
/// When the file cannot be read, a column is missing, or a row is malformed (the
/// message names the line and column).
pub fn read(path: &Path) -> Result<TargetTable> {
    let text = crate::read_small_text(path, "target file")?;
    parse(&text, path)
}

/// Parses target file `text` (see [`read`]); `path` names it in errors.
pub fn parse(text: &str, path: &Path) -> Result<TargetTable> {
    let first = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'))
        .ok_or_else(|| Error::format(path, "content", "the file is empty; expected a target"))?;
    if first.contains(',') {
        parse_csv(text, path)
    } else {
        parse_mag1c(text, path)
    }
}

fn parse_csv(text: &str, path: &Path) -> Result<TargetTable> {
    let table = parse_numeric_csv(text, path)?;
    let need = |name: &str| {
        table.column(name).ok_or_else(|| {
            Error::format(
                path,
                "header",
                format!(
                    "has columns {}; expected {CSV_HEADER} (band and fwhm_nm optional)",
                    table.columns.join(",")
                ),
            )
        })
    };
    let wl = need("wavelength_nm")?;
    // `target` is the mag1c-scaled value (unit absorption × 1e5) of the reference
    // tables mag1c's `generate_template_from_bands` writes.
    let (val, scale) = match table.column("target") {
        Some(c) if table.column("absorption_per_ppm_m").is_none() => (c, 1.0 / MAG1C_SCALING),
        _ => (need("absorption_per_ppm_m")?, 1.0),
    };
    let band_col = table.column("band");
    let fwhm_col = table.column("fwhm_nm");
    let mut out = TargetTable {
        band: Vec::new(),
        wavelength_nm: Vec::new(),
        fwhm_nm: fwhm_col.map(|_| Vec::new()),
        absorption_per_ppm_m: Vec::new(),
    };
    for (i, (n, row)) in table.rows.iter().enumerate() {
        let band = match band_col {
            Some(c) => band_number(row[c], path, *n)?,
            None => i + 1,
        };
        out.band.push(band);
        out.wavelength_nm
            .push(positive(row[wl], path, *n, "wavelength_nm")?);
        if let (Some(c), Some(f)) = (fwhm_col, out.fwhm_nm.as_mut()) {
            f.push(row[c]);
        }
        out.absorption_per_ppm_m
            .push(finite(row[val], path, *n, "absorption_per_ppm_m")? * scale);
    }
    non_empty(out, path)
}

fn parse_mag1c(text: &str, path: &Path) -> Result<TargetTable> {
    let mut out = TargetTable {
        band: Vec::new(),
        wavelength_nm: Vec::new(),
        fwhm_nm: None,
        absorption_per_ppm_m: Vec::new(),
    };
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let cells: Vec<&str> = line.split_whitespace().collect();
        if cells.len() != 3 {
            return Err(Error::format(
                path,
                format!("line {n}"),
                format!(
                    "has {} fields; expected 3 (band number, wavelength nm, value ×1e5) \
                     or a CSV with header {CSV_HEADER}",
                    cells.len()
                ),
            ));
        }
        let num = |k: usize, col: &str| {
            cells[k].parse::<f64>().map_err(|_| {
                Error::format(
                    path,
                    format!("line {n}, column {}", k + 1),
                    format!("{:?} is not a number (expected the {col})", cells[k]),
                )
            })
        };
        out.band.push(band_number(num(0, "band number")?, path, n)?);
        out.wavelength_nm.push(positive(
            num(1, "wavelength in nm")?,
            path,
            n,
            "2 (wavelength)",
        )?);
        out.absorption_per_ppm_m
            .push(finite(num(2, "target value")?, path, n, "3 (value)")? / MAG1C_SCALING);
    }
    non_empty(out, path)
}

fn band_number(v: f64, path: &Path, n: usize) -> Result<usize> {
    if v.is_finite() && v >= 1.0 && v.fract() == 0.0 && v < 1e9 {
        Ok(v as usize)
    } else {
        Err(Error::format(
            path,
            format!("line {n}, column band"),
            format!("is {v}; expected a band number 1, 2, 3, …"),
        ))
    }
}

fn positive(v: f64, path: &Path, n: usize, col: &str) -> Result<f64> {
    if v.is_finite() && v > 0.0 {
        Ok(v)
    } else {
        Err(Error::format(
            path,
            format!("line {n}, column {col}"),
            format!("is {v}; expected a positive wavelength in nm"),
        ))
    }
}

fn finite(v: f64, path: &Path, n: usize, col: &str) -> Result<f64> {
    if v.is_finite() {
        Ok(v)
    } else {
        Err(Error::format(
            path,
            format!("line {n}, column {col}"),
            format!("is {v}; expected a finite number"),
        ))
    }
}

fn non_empty(t: TargetTable, path: &Path) -> Result<TargetTable> {
    if t.is_empty() {
        Err(Error::format(
            path,
            "rows",
            "none; expected one row per band",
        ))
    } else {
        Ok(t)
    }
}

/// Writes `table` in `format` to `w`; `path` names the destination in errors.
pub fn to_writer(
    w: &mut dyn Write,
    table: &TargetTable,
    format: TargetFormat,
    path: &Path,
) -> Result<()> {
    let io = |e| Error::io(path, "cannot write target", e);
    match format {
        TargetFormat::Csv => {
            writeln!(w, "{CSV_HEADER}").map_err(io)?;
            for i in 0..table.len() {
                let fwhm = table
                    .fwhm_nm
                    .as_ref()
                    .map(|f| f[i])
                    .filter(|f| f.is_finite())
                    .map(|f| f.to_string())
                    .unwrap_or_default();
                writeln!(
                    w,
                    "{},{},{fwhm},{:e}",
                    table.band[i], table.wavelength_nm[i], table.absorption_per_ppm_m[i]
                )
                .map_err(io)?;
            }
        }
        TargetFormat::Mag1cText => {
            for i in 0..table.len() {
                writeln!(
                    w,
                    "{:03} {} {:e}",
                    table.band[i],
                    table.wavelength_nm[i],
                    table.absorption_per_ppm_m[i] * MAG1C_SCALING
                )
                .map_err(io)?;
            }
        }
    }
    w.flush().map_err(io)
}

/// Writes `table` to `path` in `format`, atomically (temporary name, then rename).
pub fn write(path: &Path, table: &TargetTable, format: TargetFormat) -> Result<()> {
    let mut buf = Vec::new();
    to_writer(&mut buf, table, format, path)?;
    atomic::write_bytes(path, &buf)
}
