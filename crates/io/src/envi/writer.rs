//! ENVI writer: BSQ, BIL or BIP in any supported data type, with map info and band
//! metadata carried over. Both files are written under temporary names and renamed
//! into place only when complete.

use super::header::{ByteOrder, DataType, EnviHeader, Interleave, MapInfo};
use crate::cube::{CubeMeta, GeoRef};
use crate::gdal_raster::OutputBand;
use crate::{atomic, Error, Result};
use rayon::prelude::*;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// Layout and metadata of an ENVI file to write.
#[derive(Debug, Clone, PartialEq)]
pub struct EnviWriteOptions {
    /// Interleave on disk.
    pub interleave: Interleave,
    /// Data type on disk. f32 values are rounded to the nearest integer and saturated
    /// to the type's range for integer types.
    pub data_type: DataType,
    /// Byte order on disk.
    pub byte_order: ByteOrder,
    /// Georeferencing, written as `map info` (and `coordinate system string` when the
    /// WKT is known). Ignored when `map_info` is given.
    pub georef: Option<GeoRef>,
    /// An ENVI `map info` to write verbatim (carried over from an input header); its
    /// projection name, zone and datum survive, which a geotransform cannot carry.
    pub map_info: Option<MapInfo>,
    /// `data ignore value`; NaN values are written as it (integer types need one, or
    /// NaN is written as 0).
    pub nodata: Option<f64>,
    /// Band centres in nm, one per band.
    ///
    /// # Units
    /// nm.
    pub wavelength_nm: Option<Vec<f64>>,
    /// Band FWHM in nm, one per band.
    ///
    /// # Units
    /// nm.
    pub fwhm_nm: Option<Vec<f64>>,
    /// Good-band list (`bbl`, true = good), one per band.
    pub bad_bands: Option<Vec<bool>>,
    /// `description`.
    pub description: Option<String>,
}

impl Default for EnviWriteOptions {
    fn default() -> Self {
        Self {
            interleave: Interleave::Bsq,
            data_type: DataType::F32,
            byte_order: ByteOrder::Little,
            georef: None,
            map_info: None,
            nodata: None,
            wavelength_nm: None,
            fwhm_nm: None,
            bad_bands: None,
            description: None,
        }
    }
}

impl EnviWriteOptions {
    /// Options that carry over the georeferencing, band table, bad bands, nodata and
    /// description of an input cube (float32 BSQ little-endian).
    pub fn from_meta(meta: &CubeMeta) -> Self {
        Self {
            georef: meta.georef.clone(),
            nodata: meta.nodata,
            wavelength_nm: meta.wavelength_nm.clone(),
            fwhm_nm: meta.fwhm_nm.clone(),
            bad_bands: meta.bad_bands.clone(),
            description: meta.description.clone(),
            ..Self::default()
        }
    }

    /// Like [`EnviWriteOptions::from_meta`] but from an ENVI header, keeping its
    /// `map info` verbatim.
    pub fn from_header(h: &EnviHeader) -> Self {
        Self {
            georef: h.map_info.as_ref().map(|m| GeoRef {
                geo_transform: m.geo_transform(),
                wkt: h.coordinate_system_string.clone(),
            }),
            map_info: h.map_info.clone(),
            nodata: h.data_ignore_value,
            wavelength_nm: h.wavelength_nm.clone(),
            fwhm_nm: h.fwhm_nm.clone(),
            bad_bands: h.bbl.clone(),
            description: h.description.clone(),
            ..Self::default()
        }
    }
}

/// The (header, data) paths written for `path`: `x.hdr` → (`x.hdr`, `x.img`); `x` with
/// no extension → (`x.hdr`, `x.img`); `x.EXT` → (`x.hdr`, `x.EXT`).
pub fn output_paths(path: &Path) -> (PathBuf, PathBuf) {
    match path.extension() {
        Some(e) if e.eq_ignore_ascii_case("hdr") => {
            (path.to_path_buf(), path.with_extension("img"))
        }
        None => (path.with_extension("hdr"), path.with_extension("img")),
        Some(_) => (path.with_extension("hdr"), path.to_path_buf()),
    }
}

/// A `map info` for a geotransform (projection "Arbitrary" unless the WKT names a UTM
/// zone), with the reference at the upper-left corner of pixel (1, 1).
pub fn map_info_from_georef(g: &GeoRef) -> MapInfo {
    let t = g.geo_transform;
    let px = (t[1] * t[1] + t[4] * t[4]).sqrt();
    let py = (t[2] * t[2] + t[5] * t[5]).sqrt();
    let rotation_deg = t[4].atan2(t[1]).to_degrees();
    let (projection, zone, north) = g
        .wkt
        .as_deref()
        .and_then(utm_zone_from_wkt)
        .map_or(("Arbitrary".to_string(), None, None), |(z, n)| {
            ("UTM".to_string(), Some(z), Some(n))
        });
    let mut raw = Vec::new();
    if let (Some(z), Some(n)) = (zone, north) {
        raw.push(z.to_string());
        raw.push(if n { "North".into() } else { "South".into() });
        raw.push("WGS-84".into());
    }
    raw.push("units=Meters".into());
    if rotation_deg != 0.0 {
        raw.push(format!("rotation={rotation_deg:?}"));
    }
    MapInfo {
        projection,
        ref_pixel_x: 1.0,
        ref_pixel_y: 1.0,
        ref_easting: t[0],
        ref_northing: t[3],
        pixel_size_x: px,
        pixel_size_y: py,
        zone,
        north,
        datum: zone.map(|_| "WGS-84".to_string()),
        rotation_deg,
        raw: raw.join(", "),
    }
}

/// UTM zone and hemisphere named in a WKT (`"UTM zone 13N"`, `"UTM_Zone_13N"`).
fn utm_zone_from_wkt(wkt: &str) -> Option<(i32, bool)> {
    let lower = wkt.to_ascii_lowercase();
    let i = lower.find("utm")?;
    let rest = &lower[i + 3..];
    let rest = rest.trim_start_matches(['_', ' ']);
    let rest = rest.strip_prefix("zone")?;
    let rest = rest.trim_start_matches(['_', ' ']);
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    let zone: i32 = digits.parse().ok()?;
    let hemi = rest[digits.len()..].chars().next()?;
    match hemi {
        'n' => Some((zone, true)),
        's' => Some((zone, false)),
        _ => None,
    }
}

/// Writes a `lines × samples × bands.len()` ENVI cube (header and data) atomically.
///
/// `path` is the header (`x.hdr`), the stem (`x`) or the data file (`x.img`); see
/// [`output_paths`]. Each band's `data` is `lines × samples`, line slowest; band
/// descriptions become `band names`.
pub fn write_envi(
    path: &Path,
    lines: usize,
    samples: usize,
    bands: &[OutputBand],
    opts: &EnviWriteOptions,
) -> Result<()> {
    let (hdr_path, data_path) = output_paths(path);
    if lines == 0 || samples == 0 || bands.is_empty() {
        return Err(Error::format(
            &hdr_path,
            "dimensions",
            format!(
                "{lines} lines × {samples} samples × {} bands (expected all positive)",
                bands.len()
            ),
        ));
    }
    let plane = lines * samples;
    if let Some((i, b)) = bands
        .iter()
        .enumerate()
        .find(|(_, b)| b.data.len() != plane)
    {
        return Err(Error::format(
            &hdr_path,
            format!("band {}", i + 1),
            format!(
                "has {} values (expected lines × samples = {plane})",
                b.data.len()
            ),
        ));
    }
    let nb = bands.len();
    for (key, len) in [
        ("wavelength", opts.wavelength_nm.as_ref().map(Vec::len)),
        ("fwhm", opts.fwhm_nm.as_ref().map(Vec::len)),
        ("bbl", opts.bad_bands.as_ref().map(Vec::len)),
    ] {
        if let Some(n) = len.filter(|&n| n != nb) {
            return Err(Error::format(
                &hdr_path,
                key,
                format!("has {n} values (expected one per band: {nb})"),
            ));
        }
    }
    let mut h = EnviHeader::new(lines, samples, nb, opts.data_type, opts.interleave);
    h.byte_order = opts.byte_order;
    h.description = opts.description.clone();
    h.wavelength_nm = opts.wavelength_nm.clone();
    h.fwhm_nm = opts.fwhm_nm.clone();
    h.bbl = opts.bad_bands.clone();
    h.data_ignore_value = opts.nodata;
    h.map_info = opts
        .map_info
        .clone()
        .or_else(|| opts.georef.as_ref().map(map_info_from_georef));
    h.coordinate_system_string = opts.georef.as_ref().and_then(|g| g.wkt.clone());
    if bands.iter().any(|b| !b.description.is_empty()) {
        h.band_names = Some(
            bands
                .iter()
                .enumerate()
                .map(|(i, b)| {
                    if b.description.is_empty() {
                        format!("band {}", i + 1)
                    } else {
                        b.description.to_string()
                    }
                })
                .collect(),
        );
    }
    let units: Vec<&str> = bands.iter().map(|b| b.unit).collect();
    if units.iter().any(|u| !u.is_empty()) {
        h.other.push(("band units".into(), units.join(", ")));
    }

    // The header is committed last, so a reader never finds a header whose data file
    // is incomplete.
    atomic::write_atomically(&hdr_path, |hdr_tmp| {
        std::fs::write(hdr_tmp, h.to_text()).map_err(|e| Error::io(hdr_tmp, "cannot write", e))?;
        atomic::write_atomically(&data_path, |tmp| {
            let f = std::fs::File::create(tmp).map_err(|e| Error::io(tmp, "cannot create", e))?;
            let mut w = BufWriter::with_capacity(1 << 20, f);
            write_data(&mut w, &h, bands, opts.nodata)
                .map_err(|e| Error::io(tmp, "cannot write", e))?;
            let f = w
                .into_inner()
                .map_err(|e| Error::io(tmp, "cannot write", e.into_error()))?;
            f.sync_all().map_err(|e| Error::io(tmp, "cannot write", e))
        })
    })
}

/// Bytes encoded (in parallel) per write.
const WRITE_CHUNK_BYTES: usize = 16 << 20;

fn write_data<W: Write>(
    w: &mut W,
    h: &EnviHeader,
    bands: &[OutputBand],
    nodata: Option<f64>,
) -> std::io::Result<()> {
    let be = h.byte_order == ByteOrder::Big;
    let (lines, samples, t) = (h.lines, h.samples, h.data_type);
    let size = t.size();
    // Rows of the file in order: one band's line (BSQ) or one whole line (BIL, BIP).
    let (rows, row_values) = match h.interleave {
        Interleave::Bsq => (bands.len() * lines, samples),
        Interleave::Bil | Interleave::Bip => (lines, samples * bands.len()),
    };
    let row_bytes = row_values * size;
    let encode_row = |r: usize, out: &mut [u8]| {
        let mut put =
            |k: usize, v: f32| encode(&mut out[k * size..(k + 1) * size], v, t, be, nodata);
        match h.interleave {
            Interleave::Bsq => {
                let (b, l) = (r / lines, r % lines);
                let row = &bands[b].data[l * samples..(l + 1) * samples];
                row.iter().enumerate().for_each(|(k, &v)| put(k, v));
            }
            Interleave::Bil => {
                for (bi, b) in bands.iter().enumerate() {
                    let row = &b.data[r * samples..(r + 1) * samples];
                    row.iter()
                        .enumerate()
                        .for_each(|(k, &v)| put(bi * samples + k, v));
                }
            }
            Interleave::Bip => {
                for (bi, b) in bands.iter().enumerate() {
                    let row = &b.data[r * samples..(r + 1) * samples];
                    row.iter()
                        .enumerate()
                        .for_each(|(k, &v)| put(k * bands.len() + bi, v));
                }
            }
        }
    };
    let rows_per_chunk = (WRITE_CHUNK_BYTES / row_bytes.max(1)).clamp(1, rows.max(1));
    let mut buf = vec![0u8; rows_per_chunk.min(rows) * row_bytes];
    for r0 in (0..rows).step_by(rows_per_chunk) {
        let n = rows_per_chunk.min(rows - r0);
        let chunk = &mut buf[..n * row_bytes];
        chunk
            .par_chunks_mut(row_bytes)
            .enumerate()
            .for_each(|(i, out)| encode_row(r0 + i, out));
        w.write_all(chunk)?;
    }
    Ok(())
}

/// Encodes `v` into `out` (exactly one value of type `t`); NaN becomes `nodata`.
fn encode(out: &mut [u8], v: f32, t: DataType, be: bool, nodata: Option<f64>) {
    let x: f64 = if v.is_nan() {
        nodata.unwrap_or(f64::NAN)
    } else {
        f64::from(v)
    };
    macro_rules! put {
        ($e:expr) => {{
            let y = $e;
            if be {
                out.copy_from_slice(&y.to_be_bytes())
            } else {
                out.copy_from_slice(&y.to_le_bytes())
            }
        }};
    }
    // `as` from f64 to an integer saturates and maps NaN to 0.
    match t {
        DataType::U8 => put!(x.round() as u8),
        DataType::I16 => put!(x.round() as i16),
        DataType::I32 => put!(x.round() as i32),
        DataType::U16 => put!(x.round() as u16),
        DataType::U32 => put!(x.round() as u32),
        DataType::I64 => put!(x.round() as i64),
        DataType::U64 => put!(x.round() as u64),
        DataType::F32 => put!(if v.is_nan() { x as f32 } else { v }),
        DataType::F64 => put!(x),
    }
}
