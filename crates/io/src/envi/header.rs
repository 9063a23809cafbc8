//! ENVI header (`.hdr`) parsing and formatting.
//!
//! The parser is tolerant in the ways real headers vary: keys are case-insensitive and
//! their inner whitespace is collapsed, values in `{}` may span lines, `;` starts a
//! comment outside braces, CRLF line ends and a UTF-8 byte-order mark are accepted.
//! It is strict about what matters: every number must parse, every per-band list must
//! have one entry per band, and sizes must fit in memory addresses.

use crate::{Error, Result};
use std::path::Path;

/// ENVI `data type` codes supported by plumewatch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DataType {
    /// Code 1: unsigned 8-bit integer.
    U8,
    /// Code 2: signed 16-bit integer.
    I16,
    /// Code 3: signed 32-bit integer.
    I32,
    /// Code 4: 32-bit IEEE float.
    F32,
    /// Code 5: 64-bit IEEE float.
    F64,
    /// Code 12: unsigned 16-bit integer.
    U16,
    /// Code 13: unsigned 32-bit integer.
    U32,
    /// Code 14: signed 64-bit integer.
    I64,
    /// Code 15: unsigned 64-bit integer.
    U64,
}

impl DataType {
    /// Every supported data type, in code order.
    pub const ALL: [DataType; 9] = [
        DataType::U8,
        DataType::I16,
        DataType::I32,
        DataType::F32,
        DataType::F64,
        DataType::U16,
        DataType::U32,
        DataType::I64,
        DataType::U64,
    ];

    /// The data type for an ENVI code, or `None` for codes plumewatch does not read
    /// (complex types 6 and 9, and anything unknown).
    pub fn from_code(code: i64) -> Option<Self> {
        Some(match code {
            1 => Self::U8,
            2 => Self::I16,
            3 => Self::I32,
            4 => Self::F32,
            5 => Self::F64,
            12 => Self::U16,
            13 => Self::U32,
            14 => Self::I64,
            15 => Self::U64,
            _ => return None,
        })
    }

    /// The ENVI code of this data type.
    pub fn code(self) -> u8 {
        match self {
            Self::U8 => 1,
            Self::I16 => 2,
            Self::I32 => 3,
            Self::F32 => 4,
            Self::F64 => 5,
            Self::U16 => 12,
            Self::U32 => 13,
            Self::I64 => 14,
            Self::U64 => 15,
        }
    }

    /// Bytes per value.
    pub fn size(self) -> usize {
        match self {
            Self::U8 => 1,
            Self::I16 | Self::U16 => 2,
            Self::I32 | Self::U32 | Self::F32 => 4,
            Self::F64 | Self::I64 | Self::U64 => 8,
        }
    }

    /// A short lower-case name (`"uint8"`, `"int16"`, `"float32"`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Self::U8 => "uint8",
            Self::I16 => "int16",
            Self::I32 => "int32",
            Self::F32 => "float32",
            Self::F64 => "float64",
            Self::U16 => "uint16",
            Self::U32 => "uint32",
            Self::I64 => "int64",
            Self::U64 => "uint64",
        }
    }
}

/// How bands are laid out in the data file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Interleave {
    /// Band sequential: band, line, sample (sample fastest).
    Bsq,
    /// Band interleaved by line: line, band, sample (sample fastest).
    Bil,
    /// Band interleaved by pixel: line, sample, band (band fastest).
    Bip,
}

impl Interleave {
    /// Every interleave.
    pub const ALL: [Interleave; 3] = [Interleave::Bsq, Interleave::Bil, Interleave::Bip];

    /// The header spelling (`"bsq"`, `"bil"`, `"bip"`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Bsq => "bsq",
            Self::Bil => "bil",
            Self::Bip => "bip",
        }
    }
}

/// Byte order of multi-byte values in the data file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ByteOrder {
    /// `byte order = 0`: least significant byte first (Intel).
    Little,
    /// `byte order = 1`: most significant byte first (network order).
    Big,
}

impl ByteOrder {
    /// The ENVI code (0 little-endian, 1 big-endian).
    pub fn code(self) -> u8 {
        match self {
            Self::Little => 0,
            Self::Big => 1,
        }
    }
}

/// The ENVI `map info` key: a north-up (optionally rotated) pixel grid in a named
/// projection.
#[derive(Debug, Clone, PartialEq)]
pub struct MapInfo {
    /// Projection name (`"UTM"`, `"Geographic Lat/Lon"`, ...).
    pub projection: String,
    /// 1-based pixel x (sample) of the reference point; 1.0 = left edge of the first pixel.
    pub ref_pixel_x: f64,
    /// 1-based pixel y (line) of the reference point; 1.0 = top edge of the first line.
    pub ref_pixel_y: f64,
    /// Map x (easting or longitude) of the reference point.
    pub ref_easting: f64,
    /// Map y (northing or latitude) of the reference point.
    pub ref_northing: f64,
    /// Pixel size in x, in map units (m for projected grids).
    pub pixel_size_x: f64,
    /// Pixel size in y (positive: north-up), in map units.
    pub pixel_size_y: f64,
    /// UTM zone, when the projection is UTM.
    pub zone: Option<i32>,
    /// UTM hemisphere is north (`Some(true)`), south (`Some(false)`), or not given.
    pub north: Option<bool>,
    /// Datum name (`"WGS-84"`), when given.
    pub datum: Option<String>,
    /// Rotation in degrees counter-clockwise (`rotation=` entry), 0 when absent.
    pub rotation_deg: f64,
    /// The items after the fixed ones, verbatim (for writing the key back).
    pub raw: String,
}

impl MapInfo {
    /// The GDAL-convention affine geotransform
    /// `[x0, dx_col, dx_row, y0, dy_col, dy_row]` of the pixel grid.
    pub fn geo_transform(&self) -> [f64; 6] {
        let (sin, cos) = self.rotation_deg.to_radians().sin_cos();
        let a = self.pixel_size_x * cos;
        let b = self.pixel_size_y * sin;
        let d = self.pixel_size_x * sin;
        let e = -self.pixel_size_y * cos;
        // Map position of pixel corner (0, 0) from the 1-based reference pixel.
        let px = self.ref_pixel_x - 1.0;
        let py = self.ref_pixel_y - 1.0;
        let x0 = self.ref_easting - a * px - b * py;
        let y0 = self.ref_northing - d * px - e * py;
        [x0, a, b, y0, d, e]
    }
}

/// A parsed ENVI header: every key plumewatch uses, typed, with wavelengths in nm.
#[derive(Debug, Clone, PartialEq)]
pub struct EnviHeader {
    /// Cross-track samples per line (`samples`).
    pub samples: usize,
    /// Down-track lines (`lines`).
    pub lines: usize,
    /// Bands (`bands`).
    pub bands: usize,
    /// Bytes to skip at the start of the data file (`header offset`, default 0).
    pub header_offset: usize,
    /// `file type` (default `"ENVI Standard"`).
    pub file_type: String,
    /// `data type`.
    pub data_type: DataType,
    /// `interleave` (default BSQ, as GDAL assumes).
    pub interleave: Interleave,
    /// `byte order` (default little-endian).
    pub byte_order: ByteOrder,
    /// Band centres in nm (`wavelength`, converted from `wavelength units`). One per
    /// band, or one per sample for an ENVI spectral library.
    ///
    /// # Units
    /// nm.
    pub wavelength_nm: Option<Vec<f64>>,
    /// Band full widths at half maximum in nm (`fwhm`, same units as `wavelength`).
    ///
    /// # Units
    /// nm.
    pub fwhm_nm: Option<Vec<f64>>,
    /// `wavelength units` as written in the header.
    pub wavelength_units: Option<String>,
    /// `bbl`: `true` = good band (bbl = 1), `false` = bad band (bbl = 0).
    pub bbl: Option<Vec<bool>>,
    /// `data ignore value`: raw values equal to it are no data.
    pub data_ignore_value: Option<f64>,
    /// `map info`.
    pub map_info: Option<MapInfo>,
    /// `coordinate system string` (WKT).
    pub coordinate_system_string: Option<String>,
    /// `band names`.
    pub band_names: Option<Vec<String>>,
    /// `description`.
    pub description: Option<String>,
    /// `data gain values`: calibrated = raw × gain + offset, per band.
    pub data_gain_values: Option<Vec<f64>>,
    /// `data offset values`, per band.
    pub data_offset_values: Option<Vec<f64>>,
    /// Every other key (lower-case, whitespace collapsed) with its raw value, in header
    /// order.
    pub other: Vec<(String, String)>,
}

impl EnviHeader {
    /// A header for a new `lines × samples × bands` cube with the given layout and no
    /// optional keys.
    pub fn new(
        lines: usize,
        samples: usize,
        bands: usize,
        data_type: DataType,
        interleave: Interleave,
    ) -> Self {
        Self {
            samples,
            lines,
            bands,
            header_offset: 0,
            file_type: "ENVI Standard".into(),
            data_type,
            interleave,
            byte_order: ByteOrder::Little,
            wavelength_nm: None,
            fwhm_nm: None,
            wavelength_units: None,
            bbl: None,
            data_ignore_value: None,
            map_info: None,
            coordinate_system_string: None,
            band_names: None,
            description: None,
            data_gain_values: None,
            data_offset_values: None,
            other: Vec::new(),
        }
    }

    /// Whether this header describes an ENVI spectral library (wavelengths run along
    /// samples rather than bands).
    pub fn is_spectral_library(&self) -> bool {
        self.file_type
            .to_ascii_lowercase()
            .contains("spectral library")
    }

    /// Bytes of image data the header promises (after `header offset`), or `None` if the
    /// size overflows.
    pub fn data_bytes(&self) -> Option<usize> {
        self.lines
            .checked_mul(self.samples)?
            .checked_mul(self.bands)?
            .checked_mul(self.data_type.size())
    }

    /// The raw value of a key not parsed into a field (`key` lower-case).
    pub fn other(&self, key: &str) -> Option<&str> {
        self.other
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Formats the header as ENVI header text (wavelengths written in nm).
    pub fn to_text(&self) -> String {
        use std::fmt::Write;
        let mut t = String::from("ENVI\n");
        if let Some(d) = &self.description {
            let _ = writeln!(t, "description = {{{}}}", d.replace(['{', '}'], ""));
        }
        let _ = writeln!(t, "samples = {}", self.samples);
        let _ = writeln!(t, "lines = {}", self.lines);
        let _ = writeln!(t, "bands = {}", self.bands);
        let _ = writeln!(t, "header offset = {}", self.header_offset);
        let _ = writeln!(t, "file type = {}", fmt_value(&self.file_type));
        let _ = writeln!(t, "data type = {}", self.data_type.code());
        let _ = writeln!(t, "interleave = {}", self.interleave.name());
        let _ = writeln!(t, "byte order = {}", self.byte_order.code());
        if let Some(m) = &self.map_info {
            let _ = writeln!(t, "map info = {{{}}}", format_map_info(m));
        }
        if let Some(c) = &self.coordinate_system_string {
            let _ = writeln!(t, "coordinate system string = {{{c}}}");
        }
        if let Some(v) = self.data_ignore_value {
            let _ = writeln!(t, "data ignore value = {}", fmt_f64(v));
        }
        if let Some(names) = &self.band_names {
            // `,` `{` `}` would split or end the list: written as `_` (so a name that is
            // only such characters still counts as a name).
            let names: Vec<String> = names
                .iter()
                .map(|n| n.replace([',', '{', '}'], "_"))
                .collect();
            let _ = writeln!(t, "band names = {{\n {}}}", names.join(",\n "));
        }
        if self.wavelength_nm.is_some() || self.fwhm_nm.is_some() {
            let _ = writeln!(t, "wavelength units = Nanometers");
        }
        for (key, values) in [
            ("wavelength", &self.wavelength_nm),
            ("fwhm", &self.fwhm_nm),
            ("data gain values", &self.data_gain_values),
            ("data offset values", &self.data_offset_values),
        ] {
            if let Some(v) = values {
                let _ = writeln!(t, "{key} = {{\n {}}}", join_numbers(v));
            }
        }
        if let Some(b) = &self.bbl {
            let v: Vec<&str> = b.iter().map(|&g| if g { "1" } else { "0" }).collect();
            let _ = writeln!(t, "bbl = {{{}}}", v.join(", "));
        }
        for (k, v) in &self.other {
            let _ = writeln!(t, "{k} = {}", fmt_value(v));
        }
        t
    }
}

/// A value as header text: in braces when it could otherwise be misread.
fn fmt_value(v: &str) -> String {
    if v.contains(['\n', '\r', ',', ';', '{']) || v.trim() != v {
        format!("{{{}}}", v.replace('}', ""))
    } else {
        v.to_string()
    }
}

fn fmt_f64(v: f64) -> String {
    // `{:?}` prints the shortest text that parses back to the same f64.
    format!("{v:?}")
}

fn join_numbers(v: &[f64]) -> String {
    let s: Vec<String> = v.iter().map(|&x| fmt_f64(x)).collect();
    s.chunks(8)
        .map(|c| c.join(", "))
        .collect::<Vec<_>>()
        .join(",\n ")
}

fn format_map_info(m: &MapInfo) -> String {
    let mut items = vec![
        m.projection.clone(),
        fmt_f64(m.ref_pixel_x),
        fmt_f64(m.ref_pixel_y),
        fmt_f64(m.ref_easting),
        fmt_f64(m.ref_northing),
        fmt_f64(m.pixel_size_x),
        fmt_f64(m.pixel_size_y),
    ];
    if !m.raw.is_empty() {
        items.push(m.raw.clone());
    }
    items.join(", ")
}

/// Splits header text into (key, value) pairs: keys lower-case with whitespace
/// collapsed, values trimmed with their outer braces removed.
///
/// Errors name `path` and the offending line.
pub fn header_entries(text: &str, path: &Path) -> Result<Vec<(String, String)>> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines = text.lines().map(|l| l.strip_suffix('\r').unwrap_or(l));
    let first = lines.by_ref().find(|l| !l.trim().is_empty());
    match first {
        Some(l) if l.trim().eq_ignore_ascii_case("ENVI") => {}
        _ => {
            return Err(Error::format(
                path,
                "first line",
                "expected the word ENVI on the first line of an ENVI header",
            ))
        }
    }
    let mut entries = Vec::new();
    let mut lines = lines.enumerate();
    while let Some((i, line)) = lines.next() {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with(';') {
            continue;
        }
        let Some((key, value)) = trimmed.split_once('=') else {
            return Err(Error::format(
                path,
                format!("line {}", i + 2),
                format!("expected `key = value`, found {:?}", truncate(trimmed, 60)),
            ));
        };
        let key = key
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .to_ascii_lowercase();
        if key.is_empty() {
            return Err(Error::format(
                path,
                format!("line {}", i + 2),
                "expected a key name before `=`",
            ));
        }
        let value = value.trim_start();
        let value = if let Some(rest) = value.strip_prefix('{') {
            // Collect until the closing brace, possibly over several lines.
            let mut buf = String::new();
            let mut rest = rest.to_string();
            loop {
                if let Some(end) = rest.find('}') {
                    buf.push_str(&rest[..end]);
                    break;
                }
                buf.push_str(&rest);
                buf.push('\n');
                match lines.next() {
                    Some((_, l)) => rest = l.to_string(),
                    None => {
                        return Err(Error::format(
                            path,
                            key,
                            "expected a closing `}` before the end of the header",
                        ))
                    }
                }
            }
            buf.trim().to_string()
        } else {
            let v = match value.find(';') {
                Some(p) => &value[..p],
                None => value,
            };
            v.trim().to_string()
        };
        entries.push((key, value));
    }
    Ok(entries)
}

fn truncate(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

/// Parses ENVI header text. `path` is used only to name the file in errors.
///
/// Required keys: `samples`, `lines`, `bands`, `data type`. Defaults: `header offset`
/// 0, `interleave` bsq, `byte order` 0, `file type` "ENVI Standard". Wavelengths and
/// FWHM are converted to nm from `wavelength units` (nanometers, micrometers,
/// millimeters; when the units are absent or "Unknown", values all below 100 are taken
/// as micrometers).
pub fn parse_header(text: &str, path: &Path) -> Result<EnviHeader> {
    let entries = header_entries(text, path)?;
    for (i, (k, _)) in entries.iter().enumerate() {
        if KNOWN_KEYS.contains(&k.as_str()) && entries[..i].iter().any(|(o, _)| o == k) {
            return Err(Error::format(
                path,
                k.clone(),
                "given twice (expected each key once; which one is meant is ambiguous)",
            ));
        }
    }
    let get = |key: &str| {
        entries
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    };
    let dim = |key: &str| -> Result<usize> {
        let v = get(key).ok_or_else(|| {
            Error::format(
                path,
                key,
                "required key is missing (expected a positive integer)",
            )
        })?;
        let n = parse_usize(v, key, path)?;
        if n == 0 {
            return Err(Error::format(
                path,
                key,
                "is 0 (expected a positive integer)",
            ));
        }
        Ok(n)
    };
    let samples = dim("samples")?;
    let lines = dim("lines")?;
    let bands = dim("bands")?;
    let header_offset = match get("header offset") {
        Some(v) => parse_usize(v, "header offset", path)?,
        None => 0,
    };
    let file_type = get("file type").unwrap_or("ENVI Standard").to_string();
    let data_type = {
        let v = get("data type").ok_or_else(|| {
            Error::format(
                path,
                "data type",
                "required key is missing (expected 1, 2, 3, 4, 5, 12, 13, 14 or 15)",
            )
        })?;
        let code: i64 = v.trim().parse().map_err(|_| {
            Error::format(
                path,
                "data type",
                format!(
                    "{:?} is not an integer (expected 1, 2, 3, 4, 5, 12, 13, 14 or 15)",
                    truncate(v, 40)
                ),
            )
        })?;
        DataType::from_code(code).ok_or_else(|| {
            Error::format(
                path,
                "data type",
                format!("{code} is not supported (expected 1, 2, 3, 4, 5, 12, 13, 14 or 15)"),
            )
        })?
    };
    let interleave =
        match get("interleave").map(|s| s.trim().to_ascii_lowercase()) {
            // With one band every interleave lays the values out the same way.
            None if dim("bands")? == 1 => Interleave::Bsq,
            None => return Err(Error::format(
                path,
                "interleave",
                "required key is missing for a cube of several bands (expected bsq, bil or bip)",
            )),
            Some(s) => match s.as_str() {
                "bsq" => Interleave::Bsq,
                "bil" => Interleave::Bil,
                "bip" => Interleave::Bip,
                _ => {
                    return Err(Error::format(
                        path,
                        "interleave",
                        format!(
                            "{:?} is not an interleave (expected bsq, bil or bip)",
                            truncate(&s, 40)
                        ),
                    ))
                }
            },
        };
    let byte_order = match get("byte order").map(str::trim) {
        None | Some("0") => ByteOrder::Little,
        Some("1") => ByteOrder::Big,
        Some(s) => {
            return Err(Error::format(
                path,
                "byte order",
                format!(
                    "{:?} is not a byte order (expected 0 or 1)",
                    truncate(s, 40)
                ),
            ))
        }
    };

    let mut header = EnviHeader::new(lines, samples, bands, data_type, interleave);
    header.header_offset = header_offset;
    header.file_type = file_type;
    header.byte_order = byte_order;
    if header
        .data_bytes()
        .and_then(|n| n.checked_add(header_offset))
        .is_none()
    {
        return Err(Error::format(
            path,
            "samples",
            format!(
                "lines × samples × bands = {lines} × {samples} × {bands} is too large to address (expected a cube that fits in {} bytes)",
                usize::MAX
            ),
        ));
    }
    // Per-spectrum lists run along samples for a spectral library, along bands otherwise.
    let (spectral_len, spectral_what) = if header.is_spectral_library() {
        (samples, "samples (spectral library)")
    } else {
        (bands, "bands")
    };

    header.wavelength_units = get("wavelength units").map(str::to_string);
    let wavelength = get("wavelength")
        .map(|v| parse_f64_list(v, "wavelength", path, spectral_len, spectral_what, true))
        .transpose()?;
    let fwhm = get("fwhm")
        .map(|v| parse_f64_list(v, "fwhm", path, spectral_len, spectral_what, true))
        .transpose()?;
    let scale = wavelength_scale(
        header.wavelength_units.as_deref(),
        wavelength.as_deref(),
        path,
    )?;
    header.wavelength_nm = wavelength
        .map(|w| to_nm(w, scale, "wavelength", path))
        .transpose()?;
    header.fwhm_nm = fwhm.map(|w| to_nm(w, scale, "fwhm", path)).transpose()?;
    if let Some(f) = &header.fwhm_nm {
        if let Some((i, x)) = f
            .iter()
            .enumerate()
            .find(|(_, &x)| !(FWHM_RANGE_NM.0..=FWHM_RANGE_NM.1).contains(&x))
        {
            return Err(Error::format(
                path,
                "fwhm",
                format!(
                    "entry {} is {} nm in the wavelength units (expected {}–{} nm; are wavelength and fwhm in the same units?)",
                    i + 1,
                    fmt_f64(*x),
                    FWHM_RANGE_NM.0,
                    FWHM_RANGE_NM.1
                ),
            ));
        }
    }

    header.bbl = get("bbl")
        .map(|v| -> Result<Vec<bool>> {
            let vals = parse_f64_list(v, "bbl", path, spectral_len, spectral_what, true)?;
            vals.into_iter()
                .map(|x| {
                    if x == 0.0 {
                        Ok(false)
                    } else if x == 1.0 {
                        Ok(true)
                    } else {
                        Err(Error::format(
                            path,
                            "bbl",
                            format!(
                                "value {x} is not 0 or 1 (expected 1 = good band, 0 = bad band)"
                            ),
                        ))
                    }
                })
                .collect()
        })
        .transpose()?;
    header.data_ignore_value = get("data ignore value")
        .map(|v| parse_f64(v.trim(), "data ignore value", path))
        .transpose()?;
    header.data_gain_values = get("data gain values")
        .map(|v| parse_f64_list(v, "data gain values", path, bands, "bands", true))
        .transpose()?;
    header.data_offset_values = get("data offset values")
        .map(|v| parse_f64_list(v, "data offset values", path, bands, "bands", true))
        .transpose()?;
    header.map_info = get("map info")
        .map(|v| parse_map_info(v, path))
        .transpose()?;
    header.coordinate_system_string = get("coordinate system string").map(|s| s.replace('\n', ""));
    header.band_names = get("band names")
        .map(|v| -> Result<Vec<String>> {
            let names: Vec<String> = split_list(v).map(str::to_string).collect();
            if names.len() != bands {
                return Err(Error::format(
                    path,
                    "band names",
                    format!("has {} names (expected one per band: {bands})", names.len()),
                ));
            }
            Ok(names)
        })
        .transpose()?;
    header.description = get("description").map(str::to_string);

    for (k, v) in &entries {
        if !KNOWN_KEYS.contains(&k.as_str()) && !header.other.iter().any(|(ok, _)| ok == k) {
            header.other.push((k.clone(), v.clone()));
        }
    }
    if let Some(st) = get("sensor type") {
        header.other.push(("sensor type".into(), st.to_string()));
    }
    Ok(header)
}

/// Band centres must increase, except where the spectrometers of a sensor overlap
/// (AVIRIS-classic tables step back by a few tens of nm at most three times); no two
/// bands may share a centre. Checked where the centres are used as a band table
/// (detection, injection, sensors), not when a header is read: product headers
/// (mag1c's outputs) carry a `wavelength` per product band that is no band table.
pub fn check_band_centres(w: &[f64], path: &Path) -> Result<()> {
    let back: Vec<usize> = (1..w.len()).filter(|&i| w[i] < w[i - 1]).collect();
    let bad_step = back
        .iter()
        .find(|&&i| w[i - 1] - w[i] > MAX_OVERLAP_STEP_NM);
    if back.len() > MAX_OVERLAPS || bad_step.is_some() {
        let i = bad_step.copied().unwrap_or(back[0]);
        return Err(Error::format(
            path,
            "wavelength",
            format!(
                "entry {} ({}) is below entry {} ({}); {} step(s) back in all (expected increasing band centres, with at most {MAX_OVERLAPS} steps back of at most {MAX_OVERLAP_STEP_NM} nm where spectrometers overlap)",
                i + 1,
                fmt_f64(w[i]),
                i,
                fmt_f64(w[i - 1]),
                back.len()
            ),
        ));
    }
    let mut order: Vec<usize> = (0..w.len()).collect();
    order.sort_by(|&a, &b| w[a].total_cmp(&w[b]));
    if let Some(p) = order.windows(2).find(|p| w[p[0]] == w[p[1]]) {
        let (a, b) = (p[0].min(p[1]), p[0].max(p[1]));
        return Err(Error::format(
            path,
            "wavelength",
            format!(
                "entries {} and {} are both {} (expected a distinct centre for every band)",
                a + 1,
                b + 1,
                fmt_f64(w[a])
            ),
        ));
    }
    Ok(())
}

/// Steps back allowed in a band table (spectrometer overlaps) and their largest size.
const MAX_OVERLAPS: usize = 4;
const MAX_OVERLAP_STEP_NM: f64 = 100.0;

/// Plausible band widths: imaging spectrometers have 2–15 nm, multispectral bands up to
/// a few hundred; a µm header with nm widths (or the reverse) falls far outside.
const FWHM_RANGE_NM: (f64, f64) = (0.1, 500.0);

/// The keys [`parse_header`] interprets (each must appear at most once).
const KNOWN_KEYS: [&str; 20] = [
    "samples",
    "lines",
    "bands",
    "header offset",
    "file type",
    "data type",
    "interleave",
    "byte order",
    "wavelength",
    "fwhm",
    "wavelength units",
    "bbl",
    "data ignore value",
    "map info",
    "coordinate system string",
    "band names",
    "description",
    "data gain values",
    "data offset values",
    "sensor type",
];

fn split_list(v: &str) -> impl Iterator<Item = &str> {
    v.split(',').map(str::trim).filter(|s| !s.is_empty())
}

fn parse_usize(v: &str, key: &str, path: &Path) -> Result<usize> {
    v.trim().parse::<usize>().map_err(|_| {
        Error::format(
            path,
            key,
            format!("{:?} is not a non-negative integer", truncate(v.trim(), 40)),
        )
    })
}

fn parse_f64(v: &str, key: &str, path: &Path) -> Result<f64> {
    v.parse::<f64>()
        .map_err(|_| Error::format(path, key, format!("{:?} is not a number", truncate(v, 40))))
}

fn parse_f64_list(
    v: &str,
    key: &str,
    path: &Path,
    expected_len: usize,
    what: &str,
    finite: bool,
) -> Result<Vec<f64>> {
    let mut out = Vec::with_capacity(expected_len.min(1 << 20));
    for (i, item) in split_list(v).enumerate() {
        let x = item.parse::<f64>().map_err(|_| {
            Error::format(
                path,
                key,
                format!("entry {} is {:?}, not a number", i + 1, truncate(item, 40)),
            )
        })?;
        if finite && !x.is_finite() {
            return Err(Error::format(
                path,
                key,
                format!("entry {} is {x} (expected a finite number)", i + 1),
            ));
        }
        out.push(x);
    }
    if out.len() != expected_len {
        return Err(Error::format(
            path,
            key,
            format!(
                "has {} values (expected one per {what}: {expected_len})",
                out.len()
            ),
        ));
    }
    Ok(out)
}

/// Converts header values to nm; a value finite in its own units can overflow in nm
/// (1.5e308 µm), and every later step needs finite band centres.
fn to_nm(values: Vec<f64>, scale: f64, key: &str, path: &Path) -> Result<Vec<f64>> {
    values
        .into_iter()
        .enumerate()
        .map(|(i, x)| {
            let nm = x * scale;
            if nm.is_finite() {
                Ok(nm)
            } else {
                Err(Error::format(
                    path,
                    key,
                    format!(
                        "entry {} is {} in the wavelength units, which is not a finite number of nm (expected a band centre or width in the wavelength units)",
                        i + 1,
                        fmt_f64(x)
                    ),
                ))
            }
        })
        .collect()
}

/// Factor that converts header wavelengths to nm.
fn wavelength_scale(units: Option<&str>, values: Option<&[f64]>, path: &Path) -> Result<f64> {
    let u = units.map(|u| u.trim().to_ascii_lowercase());
    Ok(match u.as_deref() {
        Some("nanometers" | "nanometer" | "nm") => 1.0,
        Some("micrometers" | "micrometer" | "microns" | "micron" | "um" | "µm") => 1000.0,
        Some("millimeters" | "millimeter" | "mm") => 1.0e6,
        None | Some("unknown" | "") => match values {
            Some(v) if !v.is_empty() && v.iter().all(|&x| x.abs() < 100.0) => 1000.0,
            _ => 1.0,
        },
        Some(other) => {
            return Err(Error::format(
                path,
                "wavelength units",
                format!(
                    "{:?} is not supported (expected Nanometers or Micrometers)",
                    truncate(other, 40)
                ),
            ))
        }
    })
}

fn parse_map_info(v: &str, path: &Path) -> Result<MapInfo> {
    let items: Vec<&str> = v.split(',').map(str::trim).collect();
    if items.len() < 7 {
        return Err(Error::format(
            path,
            "map info",
            format!(
                "has {} items (expected at least 7: projection, reference pixel x, y, easting, northing, pixel size x, y)",
                items.len()
            ),
        ));
    }
    let num = |i: usize, what: &str| -> Result<f64> {
        let x = items[i].parse::<f64>().map_err(|_| {
            Error::format(
                path,
                "map info",
                format!(
                    "item {} ({what}) is {:?}, not a number",
                    i + 1,
                    truncate(items[i], 40)
                ),
            )
        })?;
        if !x.is_finite() {
            return Err(Error::format(
                path,
                "map info",
                format!("item {} ({what}) is {x} (expected a finite number)", i + 1),
            ));
        }
        Ok(x)
    };
    for (i, what) in [(5, "pixel size x"), (6, "pixel size y")] {
        let size = num(i, what)?;
        if size <= 0.0 {
            return Err(Error::format(
                path,
                "map info",
                format!(
                    "item {} ({what}) is {size} (expected a positive pixel size in map units)",
                    i + 1
                ),
            ));
        }
    }
    let projection = items[0].to_string();
    let mut m = MapInfo {
        projection: projection.clone(),
        ref_pixel_x: num(1, "reference pixel x")?,
        ref_pixel_y: num(2, "reference pixel y")?,
        ref_easting: num(3, "reference easting")?,
        ref_northing: num(4, "reference northing")?,
        pixel_size_x: num(5, "pixel size x")?,
        pixel_size_y: num(6, "pixel size y")?,
        zone: None,
        north: None,
        datum: None,
        rotation_deg: 0.0,
        raw: items[7..].join(", "),
    };
    let rest = &items[7..];
    let mut positional = Vec::new();
    for item in rest {
        if let Some((k, val)) = item.split_once('=') {
            if k.trim().eq_ignore_ascii_case("rotation") {
                m.rotation_deg = val
                    .trim()
                    .parse::<f64>()
                    .ok()
                    .filter(|x| x.is_finite())
                    .ok_or_else(|| {
                        Error::format(
                            path,
                            "map info",
                            format!("rotation {:?} is not a number", truncate(val.trim(), 40)),
                        )
                    })?;
            }
        } else {
            positional.push(*item);
        }
    }
    if projection.eq_ignore_ascii_case("UTM") {
        if let Some(z) = positional.first() {
            m.zone = Some(z.parse::<i32>().map_err(|_| {
                Error::format(
                    path,
                    "map info",
                    format!("UTM zone {:?} is not an integer", truncate(z, 40)),
                )
            })?);
        }
        if let Some(h) = positional.get(1) {
            m.north = Some(!h.eq_ignore_ascii_case("south"));
        }
        m.datum = positional.get(2).map(|s| s.to_string());
    } else {
        m.datum = positional.first().map(|s| s.to_string());
    }
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p() -> &'static Path {
        Path::new("t.hdr")
    }

    #[test]
    fn tolerant_syntax() {
        let text = "\u{feff}ENVI\r\n; a comment\r\nSAMPLES = 3 ; trailing\r\nLines  =  2\r\nbands = 2\r\nData   Type = 4\r\ninterleave = BIL\r\nwavelength units = Micrometers\r\nwavelength = {\r\n 1.5,\r\n 2.0 }\r\nband names = {a, b}\r\n";
        let h = parse_header(text, p()).unwrap();
        assert_eq!((h.samples, h.lines, h.bands), (3, 2, 2));
        assert_eq!(h.data_type, DataType::F32);
        assert_eq!(h.interleave, Interleave::Bil);
        assert_eq!(h.wavelength_nm, Some(vec![1500.0, 2000.0]));
        assert_eq!(h.band_names, Some(vec!["a".to_string(), "b".to_string()]));
    }

    #[test]
    fn a_band_centre_that_overflows_in_nm_is_refused() {
        // Found by the 30 CPU-minute header fuzz run: 1.51e308 µm is finite but its
        // value in nm is not, so the header parsed with an infinite band centre.
        let text = "ENVI\nsamples=3\nlines=2\nbands=2\ndata type=4\ninterleave=bil\nwavelength units = Micrometers\nwavelength = {1.51e308, 2.0}\n";
        let e = parse_header(text, p()).unwrap_err().to_string();
        assert!(
            e.contains("t.hdr") && e.contains("wavelength") && e.contains("entry 1"),
            "{e}"
        );
        assert!(e.contains("finite number of nm"), "{e}");
        let text = text.replace(
            "wavelength = {1.51e308, 2.0}",
            "wavelength = {1.5, 2.0}\nfwhm = {1e306, 0.01}",
        );
        let e = parse_header(&text, p()).unwrap_err().to_string();
        assert!(e.contains("fwhm") && e.contains("entry 1"), "{e}");
    }

    #[test]
    fn map_info_geotransform_of_upper_left_reference() {
        let text = "ENVI\nsamples=2\nlines=2\nbands=1\ndata type=1\nmap info = {UTM, 1.000, 1.000, 609000.0, 3556000.0, 60, 60, 13, North, WGS-84, units=Meters}\n";
        let h = parse_header(text, p()).unwrap();
        let m = h.map_info.unwrap();
        assert_eq!(m.zone, Some(13));
        assert_eq!(m.north, Some(true));
        assert_eq!(
            m.geo_transform(),
            [609000.0, 60.0, 0.0, 3556000.0, 0.0, -60.0]
        );
    }

    #[test]
    fn band_name_made_of_a_brace_survives_formatting() {
        // Found by `cargo fuzz run envi_header`: a bare `band names = qa,}` gave a name
        // "}" that formatting turned into nothing, so the header no longer parsed back.
        let text =
            "ENVI\nsamples=1\nlines=1\nbands=2\ndata type=4\ninterleave=bsq\nband names = qa,}\n";
        let h = parse_header(text, p()).unwrap();
        let back = parse_header(&h.to_text(), p()).unwrap();
        assert_eq!(
            back.band_names,
            Some(vec!["qa".to_string(), "_".to_string()])
        );
    }

    #[test]
    fn text_round_trip() {
        let mut h = EnviHeader::new(4, 3, 2, DataType::I16, Interleave::Bip);
        h.wavelength_nm = Some(vec![1400.25, 2500.125]);
        h.fwhm_nm = Some(vec![5.5, 6.0]);
        h.bbl = Some(vec![true, false]);
        h.band_names = Some(vec!["one".into(), "two".into()]);
        h.data_ignore_value = Some(-9999.0);
        h.description = Some("round trip".into());
        h.wavelength_units = None;
        let back = parse_header(&h.to_text(), p()).unwrap();
        let mut expected = h.clone();
        expected.wavelength_units = Some("Nanometers".into());
        assert_eq!(back, expected);
    }

    #[test]
    fn ambiguous_or_implausible_headers_name_the_field() {
        let good = "ENVI\nsamples=2\nlines=2\nbands=2\ndata type=4\ninterleave=bil\nwavelength units=Nanometers\nwavelength={1500,2000}\nfwhm={6,6}\n";
        parse_header(good, p()).unwrap();
        let cases = [
            (
                good.replace("lines=2\n", "lines=2\nlines=3\n"),
                "lines",
                "given twice",
            ),
            (
                good.replace("interleave=bil\n", ""),
                "interleave",
                "missing",
            ),
            (
                good.replace("fwhm={6,6}", "fwhm={6,6000}"),
                "fwhm",
                "same units",
            ),
        ];
        for (text, field, why) in cases {
            let e = parse_header(&text, p()).unwrap_err().to_string();
            assert!(e.contains(field) && e.contains(why), "{field}: {e}");
        }
        for (centres, why) in [([2000.0, 2000.0], "both"), ([2000.0, 1500.0], "below")] {
            let e = check_band_centres(&centres, p()).unwrap_err().to_string();
            assert!(e.contains("wavelength") && e.contains(why), "{e}");
        }
        check_band_centres(&[1500.0, 2000.0], p()).unwrap();
    }
}
