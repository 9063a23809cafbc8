//! What a radiance file holds, and whether it is sound: [`CubeInfo`], which
//! `plumewatch info` prints as text or JSON.
//!
//! Reports dimensions, interleave, data type, byte order, the band table (wavelength
//! and FWHM ranges, bad bands), georeferencing, the nodata value, whether an ENVI data
//! file is as long as its header promises, and a census of the values (NaN, ±Inf,
//! finite range) read through the same path the detectors use.

use crate::envi::EnviCube;
use crate::gdal_raster::GdalCube;
use crate::{CubeMeta, Error, RadianceCube, Result};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

/// Counts of the values in a cube, as returned by `read_line` (no-data values read as
/// NaN).
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct ValueCensus {
    /// Values read.
    pub total: u64,
    /// Finite values.
    pub finite: u64,
    /// NaN values (including values equal to the nodata value).
    pub nan: u64,
    /// +Inf values.
    pub pos_inf: u64,
    /// -Inf values.
    pub neg_inf: u64,
    /// Smallest finite value (radiance units of the file).
    pub min: Option<f64>,
    /// Largest finite value.
    pub max: Option<f64>,
    /// Mean of the finite values.
    pub mean: Option<f64>,
}

impl ValueCensus {
    fn add_values(&mut self, values: &[f32]) {
        let mut sum = 0.0f64;
        for &v in values {
            self.total += 1;
            if v.is_finite() {
                self.finite += 1;
                let x = f64::from(v);
                sum += x;
                self.min = Some(self.min.map_or(x, |m| m.min(x)));
                self.max = Some(self.max.map_or(x, |m| m.max(x)));
            } else if v.is_nan() {
                self.nan += 1;
            } else if v > 0.0 {
                self.pos_inf += 1;
            } else {
                self.neg_inf += 1;
            }
        }
        // `mean` holds the running sum until `finish`.
        self.mean = Some(self.mean.unwrap_or(0.0) + sum);
    }

    fn merge(mut self, other: Self) -> Self {
        self.total += other.total;
        self.finite += other.finite;
        self.nan += other.nan;
        self.pos_inf += other.pos_inf;
        self.neg_inf += other.neg_inf;
        self.min = opt_combine(self.min, other.min, f64::min);
        self.max = opt_combine(self.max, other.max, f64::max);
        self.mean = opt_combine(self.mean, other.mean, |a, b| a + b);
        self
    }

    fn finish(mut self) -> Self {
        self.mean = match (self.mean, self.finite) {
            (Some(sum), n) if n > 0 => Some(sum / n as f64),
            _ => None,
        };
        self
    }
}

fn opt_combine(a: Option<f64>, b: Option<f64>, f: impl Fn(f64, f64) -> f64) -> Option<f64> {
    match (a, b) {
        (Some(x), Some(y)) => Some(f(x, y)),
        (x, None) => x,
        (None, y) => y,
    }
}

/// A range of bands marked bad (`bbl` = 0).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BadBandRange {
    /// First bad band, 1-based.
    pub first_band: usize,
    /// Last bad band, 1-based.
    pub last_band: usize,
    /// Its centre wavelength in nm, when known.
    pub first_nm: Option<f64>,
    /// The last band's centre wavelength in nm, when known.
    pub last_nm: Option<f64>,
}

/// Everything `plumewatch info` reports about a radiance file; serialised as its
/// `--json` object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CubeInfo {
    /// The file asked about.
    pub path: String,
    /// The file the values are read from (the data file for ENVI).
    pub data_file: String,
    /// `"ENVI"` (native reader) or the GDAL driver name.
    pub format: String,
    /// Cross-track samples.
    pub samples: usize,
    /// Down-track lines.
    pub lines: usize,
    /// Bands.
    pub bands: usize,
    /// `bsq`, `bil` or `bip` (null when the format does not say).
    pub interleave: Option<String>,
    /// Data type on disk (`float32`, `int16`, ...).
    pub data_type: String,
    /// `little` or `big` for ENVI; null where GDAL handles it.
    pub byte_order: Option<String>,
    /// ENVI `header offset` in bytes.
    pub header_offset: Option<usize>,
    /// Smallest band centre, nm.
    pub wavelength_min_nm: Option<f64>,
    /// Largest band centre, nm.
    pub wavelength_max_nm: Option<f64>,
    /// Smallest FWHM, nm.
    pub fwhm_min_nm: Option<f64>,
    /// Largest FWHM, nm.
    pub fwhm_max_nm: Option<f64>,
    /// Number of bands marked bad.
    pub bad_band_count: Option<usize>,
    /// Runs of bad bands.
    pub bad_bands: Vec<BadBandRange>,
    /// ENVI `map info` as written.
    pub map_info: Option<String>,
    /// GDAL geotransform `[x0, dx, rx, y0, ry, dy]`.
    pub geo_transform: Option<[f64; 6]>,
    /// CRS as WKT.
    pub crs_wkt: Option<String>,
    /// Raw value that marks no data.
    pub nodata: Option<f64>,
    /// Size of the data file in bytes (ENVI).
    pub data_file_bytes: Option<u64>,
    /// Bytes the header promises, header offset included (ENVI).
    pub expected_bytes: Option<u64>,
    /// Whether the data file is exactly the promised size (ENVI; shorter files are an
    /// error).
    pub size_matches: Option<bool>,
    /// Value census (absent with `--no-values`).
    pub values: Option<ValueCensus>,
}

fn min_max(v: Option<&Vec<f64>>) -> (Option<f64>, Option<f64>) {
    match v {
        Some(v) if !v.is_empty() => (
            Some(v.iter().copied().fold(f64::INFINITY, f64::min)),
            Some(v.iter().copied().fold(f64::NEG_INFINITY, f64::max)),
        ),
        _ => (None, None),
    }
}

fn bad_band_ranges(meta: &CubeMeta) -> Vec<BadBandRange> {
    let Some(good) = &meta.bad_bands else {
        return Vec::new();
    };
    let wl = |i: usize| meta.wavelength_nm.as_ref().and_then(|w| w.get(i).copied());
    let mut out = Vec::new();
    let mut i = 0;
    while i < good.len() {
        if good[i] {
            i += 1;
            continue;
        }
        let start = i;
        while i < good.len() && !good[i] {
            i += 1;
        }
        out.push(BadBandRange {
            first_band: start + 1,
            last_band: i,
            first_nm: wl(start),
            last_nm: wl(i - 1),
        });
    }
    out
}

/// Counts every value of `cube` in parallel; `progress` gets (lines done, lines).
fn census(
    cube: &dyn RadianceCube,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> plumewatch_core::Result<ValueCensus> {
    let (lines, samples, bands) = (cube.lines(), cube.samples(), cube.bands());
    let band_idx: Vec<usize> = (0..bands).collect();
    let done = AtomicU64::new(0);
    let result = (0..lines)
        .into_par_iter()
        .try_fold(
            || (ValueCensus::default(), vec![0f32; samples * bands]),
            |(mut c, mut buf), line| -> plumewatch_core::Result<_> {
                cube.read_line(line, &band_idx, &mut buf)?;
                c.add_values(&buf);
                progress(done.fetch_add(1, Ordering::Relaxed) + 1, lines as u64);
                Ok((c, buf))
            },
        )
        .map(|r| r.map(|(c, _)| c))
        .try_reduce(ValueCensus::default, |a, b| Ok(a.merge(b)))?;
    Ok(result.finish())
}

fn opt<T: std::fmt::Display>(v: &Option<T>) -> String {
    v.as_ref()
        .map_or_else(|| "-".to_string(), |x| x.to_string())
}

impl CubeInfo {
    /// Describes the radiance file at `path`; with `values`, also counts every value
    /// (`progress` gets (lines done, lines)), which reads the whole cube.
    pub fn from_file(
        path: &Path,
        values: bool,
        progress: &(dyn Fn(u64, u64) + Sync),
    ) -> Result<CubeInfo> {
        let mut report;
        let cube: Box<dyn RadianceCube>;
        crate::cube::check_input_file(path, "a radiance file")?;
        if crate::cube::is_envi(path) {
            let envi = EnviCube::open(path)?;
            let h = envi.header();
            let meta = envi.meta();
            // The header's lists: per band, or per sample for a spectral library.
            let (wmin, wmax) = min_max(h.wavelength_nm.as_ref());
            let (fmin, fmax) = min_max(h.fwhm_nm.as_ref());
            let expected = h.data_bytes().map(|n| (n + h.header_offset) as u64);
            report = CubeInfo {
                path: path.display().to_string(),
                data_file: envi.data_path().display().to_string(),
                format: "ENVI".into(),
                samples: h.samples,
                lines: h.lines,
                bands: h.bands,
                interleave: Some(h.interleave.name().into()),
                data_type: h.data_type.name().into(),
                byte_order: Some(match h.byte_order {
                    crate::envi::ByteOrder::Little => "little".into(),
                    crate::envi::ByteOrder::Big => "big".into(),
                }),
                header_offset: Some(h.header_offset),
                wavelength_min_nm: wmin,
                wavelength_max_nm: wmax,
                fwhm_min_nm: fmin,
                fwhm_max_nm: fmax,
                bad_band_count: meta
                    .bad_bands
                    .as_ref()
                    .map(|g| g.iter().filter(|&&x| !x).count()),
                bad_bands: bad_band_ranges(meta),
                map_info: h.map_info.as_ref().map(|m| {
                    format!(
                        "{}, {}, {}, {}, {}, {}, {}{}{}",
                        m.projection,
                        m.ref_pixel_x,
                        m.ref_pixel_y,
                        m.ref_easting,
                        m.ref_northing,
                        m.pixel_size_x,
                        m.pixel_size_y,
                        if m.raw.is_empty() { "" } else { ", " },
                        m.raw
                    )
                }),
                geo_transform: meta.georef.as_ref().map(|g| g.geo_transform),
                crs_wkt: meta.georef.as_ref().and_then(|g| g.wkt.clone()),
                nodata: meta.nodata,
                data_file_bytes: Some(envi.file_len()),
                expected_bytes: expected,
                size_matches: Some(envi.size_matches()),
                values: None,
            };
            cube = Box::new(envi);
        } else {
            let g = GdalCube::open(path)?;
            let meta = g.meta();
            let (wmin, wmax) = min_max(meta.wavelength_nm.as_ref());
            let (fmin, fmax) = min_max(meta.fwhm_nm.as_ref());
            report = CubeInfo {
                path: path.display().to_string(),
                data_file: meta.path.display().to_string(),
                format: meta.format.clone(),
                samples: meta.samples,
                lines: meta.lines,
                bands: meta.bands,
                interleave: g.interleave().map(str::to_string),
                data_type: g.data_type().to_string(),
                byte_order: None,
                header_offset: None,
                wavelength_min_nm: wmin,
                wavelength_max_nm: wmax,
                fwhm_min_nm: fmin,
                fwhm_max_nm: fmax,
                bad_band_count: meta
                    .bad_bands
                    .as_ref()
                    .map(|g| g.iter().filter(|&&x| !x).count()),
                bad_bands: bad_band_ranges(meta),
                map_info: None,
                geo_transform: meta.georef.as_ref().map(|g| g.geo_transform),
                crs_wkt: meta.georef.as_ref().and_then(|g| g.wkt.clone()),
                nodata: meta.nodata,
                data_file_bytes: None,
                expected_bytes: None,
                size_matches: None,
                values: None,
            };
            cube = Box::new(g);
        }
        if values {
            report.values = Some(
                census(cube.as_ref(), progress)
                    .map_err(|e| Error::format(path, "reading values", e.to_string()))?,
            );
        }
        Ok(report)
    }

    /// The text `plumewatch info` prints: one `name: value` line per item.
    pub fn to_text(&self) -> String {
        let r = self;
        let mut out = String::new();
        let _ = writeln!(out, "file:          {}", r.path);
        if r.data_file != r.path {
            let _ = writeln!(out, "data file:     {}", r.data_file);
        }
        let _ = writeln!(out, "format:        {}", r.format);
        let _ = writeln!(
            out,
            "dimensions:    {} lines × {} samples × {} bands",
            r.lines, r.samples, r.bands
        );
        let _ = writeln!(out, "interleave:    {}", opt(&r.interleave));
        let _ = writeln!(out, "data type:     {}", r.data_type);
        let _ = writeln!(out, "byte order:    {}", opt(&r.byte_order));
        if let Some(o) = r.header_offset {
            let _ = writeln!(out, "header offset: {o} bytes");
        }
        match (r.wavelength_min_nm, r.wavelength_max_nm) {
            (Some(a), Some(b)) => {
                let _ = writeln!(out, "wavelength:    {a:.2} – {b:.2} nm");
            }
            _ => {
                let _ = writeln!(out, "wavelength:    -");
            }
        }
        match (r.fwhm_min_nm, r.fwhm_max_nm) {
            (Some(a), Some(b)) => {
                let _ = writeln!(out, "fwhm:          {a:.2} – {b:.2} nm");
            }
            _ => {
                let _ = writeln!(out, "fwhm:          -");
            }
        }
        match r.bad_band_count {
            None => {
                let _ = writeln!(out, "bad bands:     - (no bbl)");
            }
            Some(0) => {
                let _ = writeln!(out, "bad bands:     none");
            }
            Some(n) => {
                let ranges: Vec<String> = r
                    .bad_bands
                    .iter()
                    .map(|b| match (b.first_nm, b.last_nm) {
                        (Some(x), Some(y)) => {
                            format!("{}–{} ({x:.1}–{y:.1} nm)", b.first_band, b.last_band)
                        }
                        _ => format!("{}–{}", b.first_band, b.last_band),
                    })
                    .collect();
                let _ = writeln!(out, "bad bands:     {n}: {}", ranges.join(", "));
            }
        }
        let _ = writeln!(out, "map info:      {}", opt(&r.map_info));
        if let Some(t) = r.geo_transform {
            let _ = writeln!(out, "geotransform:  {t:?}");
        }
        let _ = writeln!(
            out,
            "crs:           {}",
            r.crs_wkt
                .as_deref()
                .map_or("-".to_string(), |w| w.chars().take(72).collect::<String>())
        );
        let _ = writeln!(out, "nodata:        {}", opt(&r.nodata));
        if let (Some(have), Some(want), Some(ok)) =
            (r.data_file_bytes, r.expected_bytes, r.size_matches)
        {
            if ok {
                let _ = writeln!(out, "data size:     {have} bytes, matches the header");
            } else {
                let extra = have.saturating_sub(want);
                let _ = writeln!(
                    out,
                    "data size:     {have} bytes, header promises {want} ({extra} extra bytes ignored)"
                );
            }
        }
        if let Some(v) = &r.values {
            let _ = writeln!(
                out,
                "values:        {} total, {} finite, {} NaN/nodata, {} +Inf, {} -Inf",
                v.total, v.finite, v.nan, v.pos_inf, v.neg_inf
            );
            if let (Some(a), Some(b), Some(m)) = (v.min, v.max, v.mean) {
                let _ = writeln!(out, "finite range:  {a} – {b} (mean {m:.6})");
            }
        }
        out
    }
}
