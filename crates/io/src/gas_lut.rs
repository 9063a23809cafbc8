//! Gas absorption look-up tables: an ENVI file of modelled radiance plus a small JSON
//! sidecar that names the gas and its concentrations.
//!
//! The ENVI file holds one spectrum per concentration on a fine wavelength grid: the
//! concentration runs along `samples` (with `lines = 1`, as in mag1c's `ch4.lut`) or along
//! `lines` (with `samples = 1`), the fine wavelengths along `bands`, and the header's
//! `wavelength` list gives the grid. The sidecar (`<name>.json`) looks like:
//!
//! ```json
//! { "gas": "ch4", "lut_header": "ch4_mag1c.hdr",
//!   "concentrations_ppm_m": [0, 500, 1000, 2000, 4000, 8000, 16000] }
//! ```
//!
//! so a new gas (CO2, NH3, a solvent vapour) is added as data, not code. CH4 is built in
//! ([`builtin`]): the mag1c LUT is compiled into the binary, nothing is cached on disk.

use crate::envi::{parse_header, ByteOrder, DataType, EnviCube, EnviHeader};
use crate::{Error, Result};
use plumewatch_core::GasLut;
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// Names of the gases built into the binary.
pub const BUILTIN_GASES: [&str; 1] = ["ch4"];

const CH4_SIDECAR: &str = include_str!("../../../data/gas/ch4.json");
const CH4_HEADER: &str = include_str!("../../../data/gas/ch4_mag1c.hdr");
const CH4_DATA: &[u8] = include_bytes!("../../../data/gas/ch4_mag1c.lut");

/// Which ENVI axis runs over the LUT's concentrations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ConcentrationAxis {
    /// One sample per concentration, `lines = 1` (mag1c's layout).
    #[default]
    Samples,
    /// One line per concentration, `samples = 1`.
    Lines,
}

/// The JSON sidecar of a gas LUT.
///
/// Unknown fields are ignored, so the file can carry more provenance than this struct.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct GasSidecar {
    /// Gas name, e.g. `"ch4"` (stored in lower case).
    pub gas: String,
    /// The column enhancement of each LUT spectrum, in file order.
    ///
    /// # Units
    /// ppm·m.
    pub concentrations_ppm_m: Vec<f64>,
    /// The ENVI header of the LUT, relative to the sidecar's directory (used by
    /// [`load_sidecar`]).
    #[serde(default)]
    pub lut_header: Option<String>,
    /// Which ENVI axis runs over the concentrations (default `samples`).
    #[serde(default)]
    pub concentration_axis: ConcentrationAxis,
    /// Molar mass of the gas, g/mol, when given (for converting ppm·m to kg/m²).
    #[serde(default)]
    pub molar_mass_g_per_mol: Option<f64>,
    /// Where the LUT comes from.
    #[serde(default)]
    pub source: Option<String>,
    /// The LUT's licence.
    #[serde(default)]
    pub licence: Option<String>,
}

/// Parses sidecar JSON `text`; `path` names it in errors.
pub fn parse_sidecar(text: &str, path: &Path) -> Result<GasSidecar> {
    let mut s: GasSidecar = serde_json::from_str(text).map_err(|e| {
        Error::format(
            path,
            "gas LUT sidecar",
            format!(
                "{e}; expected JSON with \"gas\" (a name) and \"concentrations_ppm_m\" (numbers)"
            ),
        )
    })?;
    s.gas = s.gas.trim().to_ascii_lowercase();
    if s.gas.is_empty() {
        return Err(Error::format(
            path,
            "gas",
            "is empty; expected a gas name such as \"ch4\"",
        ));
    }
    Ok(s)
}

/// Reads and parses a sidecar file.
pub fn read_sidecar(path: &Path) -> Result<GasSidecar> {
    let text = crate::read_small_text(path, "gas LUT sidecar")?;
    parse_sidecar(&text, path)
}

/// The sidecar beside an ENVI header: `<stem>.json`.
pub fn sidecar_beside(hdr: &Path) -> PathBuf {
    hdr.with_extension("json")
}

/// Loads a gas LUT from its ENVI header `hdr` and its sidecar (`sidecar`, or
/// `<stem>.json` beside the header when `None`).
///
/// # Errors
/// When a file is missing or unreadable, when the sidecar is not valid JSON, when the
/// header has no `wavelength` list, when the ENVI shape does not hold one spectrum per
/// sidecar concentration, or when the values are not finite.
pub fn load(hdr: &Path, sidecar: Option<&Path>) -> Result<GasLut> {
    let sidecar_path = sidecar
        .map(Path::to_path_buf)
        .unwrap_or_else(|| sidecar_beside(hdr));
    if sidecar.is_none() && !sidecar_path.is_file() {
        return Err(Error::format(
            hdr,
            "gas LUT sidecar",
            format!(
                "no sidecar {} beside the LUT; write one naming \"gas\" and \"concentrations_ppm_m\"",
                sidecar_path.display()
            ),
        ));
    }
    let side = read_sidecar(&sidecar_path)?;
    let cube = EnviCube::open(hdr)?;
    let h = cube.header().clone();
    let (n_conc, n_wl) = check_shape(&h, &side, hdr)?;
    let mut radiance = vec![Vec::with_capacity(n_wl); n_conc];
    let all_bands: Vec<usize> = (0..n_wl).collect();
    match side.concentration_axis {
        ConcentrationAxis::Samples => {
            let mut buf = vec![0.0; n_conc * n_wl];
            cube.read_line_f64(0, &all_bands, &mut buf)?;
            for (k, row) in radiance.iter_mut().enumerate() {
                row.extend_from_slice(&buf[k * n_wl..(k + 1) * n_wl]);
            }
        }
        ConcentrationAxis::Lines => {
            for (k, row) in radiance.iter_mut().enumerate() {
                row.resize(n_wl, 0.0);
                cube.read_line_f64(k, &all_bands, row)?;
            }
        }
    }
    finish(side, &h, radiance, hdr)
}

/// Loads a gas LUT from its sidecar alone: the sidecar's `lut_header` names the ENVI
/// header, relative to the sidecar's directory.
pub fn load_sidecar(sidecar: &Path) -> Result<GasLut> {
    let side = read_sidecar(sidecar)?;
    let rel = side.lut_header.as_deref().ok_or_else(|| {
        Error::format(
            sidecar,
            "lut_header",
            "missing; expected the LUT's ENVI header file name, relative to the sidecar",
        )
    })?;
    let hdr = sidecar.parent().unwrap_or(Path::new(".")).join(rel);
    load(&hdr, Some(sidecar))
}

/// A built-in gas LUT by name (case-insensitive): `"ch4"` is mag1c's CH4 LUT
/// (0–16,000 ppm·m, 1399.6–2522.0 nm), compiled into the binary.
pub fn builtin(gas: &str) -> Result<GasLut> {
    let (side, _) = builtin_sidecar(gas)?;
    let hdr_path = Path::new("<built-in>/ch4_mag1c.hdr");
    let h = parse_header(CH4_HEADER, hdr_path)?;
    let radiance = decode_builtin(&h, &side, CH4_DATA, hdr_path)?;
    finish(side, &h, radiance, hdr_path)
}

/// The sidecar of a built-in gas (case-insensitive name) and the path that names it in
/// messages; an error listing the built-in gases for any other name.
fn builtin_sidecar(gas: &str) -> Result<(GasSidecar, &'static Path)> {
    let name = gas.trim().to_ascii_lowercase();
    match name.as_str() {
        "ch4" | "methane" => {
            let side_path = Path::new("<built-in>/ch4.json");
            Ok((parse_sidecar(CH4_SIDECAR, side_path)?, side_path))
        }
        _ => Err(Error::format(
            Path::new("<built-in gas LUTs>"),
            "gas",
            format!(
                "unknown gas {gas:?}; built in: {}; for another gas give its LUT sidecar JSON",
                BUILTIN_GASES.join(", ")
            ),
        )),
    }
}

/// Column mass of a 1 ppm·m enhancement of the gas `spec` (as for [`open`]), kg/m², at
/// 273.15 K and 101325 Pa, from the molar mass in the gas's sidecar
/// (`molar_mass_g_per_mol`). Emission rates of a gas need it: a LUT without it is an
/// error naming the field.
pub fn column_mass_kg_m2_per_ppm_m(spec: &str) -> Result<f64> {
    let path = Path::new(spec);
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    let (side, side_path) = match ext.as_str() {
        "json" => (read_sidecar(path)?, path.to_path_buf()),
        "hdr" => {
            let p = sidecar_beside(path);
            (read_sidecar(&p)?, p)
        }
        _ => {
            let (side, p) = builtin_sidecar(spec)?;
            (side, p.to_path_buf())
        }
    };
    match side.molar_mass_g_per_mol {
        Some(m) if m.is_finite() && m > 0.0 => Ok(plumewatch_core::gas::ppm_m_to_kg_m2(m / 1000.0)),
        Some(m) => Err(Error::format(
            &side_path,
            "molar_mass_g_per_mol",
            format!("{m}: expected a positive molar mass in g/mol"),
        )),
        None => Err(Error::format(
            &side_path,
            "molar_mass_g_per_mol",
            "missing; emission rates of this gas need its molar mass in g/mol",
        )),
    }
}

/// Loads a gas LUT named by the user: a built-in gas name, a sidecar `.json` or an ENVI
/// header `.hdr` (with its sidecar beside it).
pub fn open(spec: &str) -> Result<GasLut> {
    let path = Path::new(spec);
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "json" => load_sidecar(path),
        "hdr" => load(path, None),
        _ if path.is_file() => Err(Error::format(
            path,
            "gas",
            "expected a built-in gas name, a LUT sidecar (.json) or an ENVI header (.hdr)",
        )),
        _ => builtin(spec),
    }
}

/// Checks that the ENVI shape holds one spectrum per sidecar concentration; returns
/// (concentrations, fine wavelengths).
fn check_shape(h: &EnviHeader, side: &GasSidecar, hdr: &Path) -> Result<(usize, usize)> {
    let n_conc = side.concentrations_ppm_m.len();
    let (along, other, along_name, other_name) = match side.concentration_axis {
        ConcentrationAxis::Samples => (h.samples, h.lines, "samples", "lines"),
        ConcentrationAxis::Lines => (h.lines, h.samples, "lines", "samples"),
    };
    if along != n_conc {
        return Err(Error::format(
            hdr,
            along_name,
            format!("is {along}; expected {n_conc}, one spectrum per concentration in the sidecar"),
        ));
    }
    if other != 1 {
        return Err(Error::format(
            hdr,
            other_name,
            format!("is {other}; expected 1 for a gas LUT with concentrations along {along_name}"),
        ));
    }
    match &h.wavelength_nm {
        Some(w) if w.len() == h.bands => Ok((n_conc, h.bands)),
        Some(w) => Err(Error::format(
            hdr,
            "wavelength",
            format!(
                "has {} values; expected {} (one per band)",
                w.len(),
                h.bands
            ),
        )),
        None => Err(Error::format(
            hdr,
            "wavelength",
            "missing; a gas LUT needs the fine wavelength grid in its header",
        )),
    }
}

/// Decodes the built-in LUT's bytes (float64 or float32, either byte order, concentration
/// along samples).
fn decode_builtin(
    h: &EnviHeader,
    side: &GasSidecar,
    data: &[u8],
    hdr: &Path,
) -> Result<Vec<Vec<f64>>> {
    let (n_conc, n_wl) = check_shape(h, side, hdr)?;
    let size = h.data_type.size();
    let need = h.header_offset + n_conc * n_wl * size;
    if data.len() < need {
        return Err(Error::format(
            hdr,
            "data file",
            format!("has {} bytes; expected at least {need}", data.len()),
        ));
    }
    let big = h.byte_order == ByteOrder::Big;
    let value = |i: usize| -> Option<f64> {
        let at = h.header_offset + i * size;
        let b = &data[at..at + size];
        match h.data_type {
            DataType::F64 => {
                let a: [u8; 8] = b.try_into().ok()?;
                Some(if big {
                    f64::from_be_bytes(a)
                } else {
                    f64::from_le_bytes(a)
                })
            }
            DataType::F32 => {
                let a: [u8; 4] = b.try_into().ok()?;
                Some(f64::from(if big {
                    f32::from_be_bytes(a)
                } else {
                    f32::from_le_bytes(a)
                }))
            }
            _ => None,
        }
    };
    // With one line, BSQ and BIL both store band-major (sample fastest); BIP sample-major.
    let index = |k: usize, j: usize| match h.interleave {
        crate::envi::Interleave::Bip => k * n_wl + j,
        _ => j * n_conc + k,
    };
    (0..n_conc)
        .map(|k| {
            (0..n_wl)
                .map(|j| {
                    value(index(k, j)).ok_or_else(|| {
                        Error::format(
                            hdr,
                            "data type",
                            format!("is {}; expected float32 or float64", h.data_type.name()),
                        )
                    })
                })
                .collect()
        })
        .collect()
}

/// Builds and validates the [`GasLut`].
fn finish(side: GasSidecar, h: &EnviHeader, radiance: Vec<Vec<f64>>, hdr: &Path) -> Result<GasLut> {
    let wavelength_nm = h.wavelength_nm.clone().unwrap_or_default();
    GasLut::new(side.gas, side.concentrations_ppm_m, wavelength_nm, radiance)
        .map_err(|e| Error::format(hdr, "gas LUT", e.to_string()))
}
