//! Where a stream's lines come from: a cube replayed line by line, or raw sensor frames
//! on a byte stream (standard input, a TCP socket) after a small JSON header.
//!
//! # Frame protocol
//! One line of JSON (at most 4 MiB, ending in a newline), then frames back to back:
//!
//! ```json
//! {"samples": 600, "bands": 219, "data_type": "float32", "byte_order": "little",
//!  "interleave": "bil", "wavelength_nm": [...], "fwhm_nm": [...],
//!  "geolocation": "lat_lon", "map": {"geo_transform": [...], "crs": "EPSG:32613"},
//!  "gsd_m": 3.0, "name": "line-042", "gain": 1.0}
//! ```
//!
//! - `data_type`: `float32`, `float64`, `int16` or `uint16`; `byte_order`: `little` or
//!   `big`; `interleave` of one frame: `bil` (each band a row of samples) or `bip`
//!   (each sample a row of bands). Radiance = value × `gain` (default 1), in
//!   µW cm⁻² sr⁻¹ nm⁻¹.
//! - `geolocation` (optional): `lat_lon` or `lat_lon_elevation` — after each frame,
//!   `samples` × 2 (or × 3) little-endian f64: latitude and longitude in degrees (and
//!   elevation in m) of each sample, an IGM-like side stream.
//! - `map` (optional): a fixed georeference (GDAL geotransform of line 0 and CRS) for
//!   ortho frame cameras or a straight flight line; `gsd_m` is the pixel size when
//!   there is none.

use super::InputLine;
use crate::{bail, Error, Result};
use plumewatch_io::{CubeMeta, GeoRef};
use std::io::{BufRead, Read};
use std::path::PathBuf;

/// Largest header accepted.
const MAX_HEADER_BYTES: u64 = 4 << 20;

/// The JSON header of a frame stream.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FrameHeader {
    /// Cross-track samples per frame.
    pub samples: usize,
    /// Bands per frame.
    pub bands: usize,
    /// `float32`, `float64`, `int16` or `uint16`.
    pub data_type: String,
    /// `little` or `big`.
    #[serde(default = "little")]
    pub byte_order: String,
    /// `bil` or `bip`.
    #[serde(default = "bil")]
    pub interleave: String,
    /// Band centres, nm (one per band).
    pub wavelength_nm: Vec<f64>,
    /// Band widths, nm (one per band).
    #[serde(default)]
    pub fwhm_nm: Option<Vec<f64>>,
    /// Per-line geolocation after each frame: `lat_lon` or `lat_lon_elevation`.
    #[serde(default)]
    pub geolocation: Option<String>,
    /// Fixed georeference.
    #[serde(default)]
    pub map: Option<FrameMap>,
    /// Pixel size, m (without `map`).
    #[serde(default)]
    pub gsd_m: Option<f64>,
    /// Flight line name.
    #[serde(default)]
    pub name: Option<String>,
    /// Radiance per unit of the raw values (default 1).
    #[serde(default)]
    pub gain: Option<f64>,
}

fn little() -> String {
    "little".into()
}

fn bil() -> String {
    "bil".into()
}

/// A fixed georeference in a frame header.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FrameMap {
    /// GDAL geotransform of line 0.
    pub geo_transform: [f64; 6],
    /// CRS (WKT or `EPSG:n`).
    pub crs: String,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum DataType {
    F32,
    F64,
    I16,
    U16,
}

impl DataType {
    /// The type a header names (`float32`, `float64`, `int16`, `uint16`).
    fn named(name: &str) -> Option<Self> {
        match name {
            "float32" => Some(DataType::F32),
            "float64" => Some(DataType::F64),
            "int16" => Some(DataType::I16),
            "uint16" => Some(DataType::U16),
            _ => None,
        }
    }

    fn size(self) -> usize {
        match self {
            DataType::F32 => 4,
            DataType::F64 => 8,
            DataType::I16 | DataType::U16 => 2,
        }
    }
}

impl FrameHeader {
    /// Parses and checks a header; `source` names the stream in messages.
    pub fn parse(text: &str, source: &str) -> Result<Self> {
        let h: FrameHeader = serde_json::from_str(text).map_err(|e| {
            Error::input(format!(
                "{source}: frame header: expected one line of JSON with samples, bands, data_type and wavelength_nm: {e}"
            ))
        })?;
        h.check(source)?;
        Ok(h)
    }

    fn check(&self, source: &str) -> Result<()> {
        let field =
            |f: &str, msg: String| Error::input(format!("{source}: frame header: {f}: {msg}"));
        if self.samples == 0 || self.samples > 1 << 20 {
            return Err(field(
                "samples",
                format!("expected 1 to 1048576, got {}", self.samples),
            ));
        }
        if self.bands == 0 || self.bands > 1 << 16 {
            return Err(field(
                "bands",
                format!("expected 1 to 65536, got {}", self.bands),
            ));
        }
        self.data_type(source)?;
        if !matches!(self.byte_order.as_str(), "little" | "big") {
            return Err(field(
                "byte_order",
                format!("expected \"little\" or \"big\", got {:?}", self.byte_order),
            ));
        }
        if !matches!(self.interleave.as_str(), "bil" | "bip") {
            return Err(field(
                "interleave",
                format!("expected \"bil\" or \"bip\", got {:?}", self.interleave),
            ));
        }
        if self.wavelength_nm.len() != self.bands {
            return Err(field(
                "wavelength_nm",
                format!(
                    "expected one centre per band ({}), got {}",
                    self.bands,
                    self.wavelength_nm.len()
                ),
            ));
        }
        if let Some(f) = &self.fwhm_nm {
            if f.len() != self.bands {
                return Err(field(
                    "fwhm_nm",
                    format!(
                        "expected one width per band ({}), got {}",
                        self.bands,
                        f.len()
                    ),
                ));
            }
        }
        if let Some(g) = &self.geolocation {
            if !matches!(g.as_str(), "lat_lon" | "lat_lon_elevation") {
                return Err(field(
                    "geolocation",
                    format!("expected \"lat_lon\" or \"lat_lon_elevation\", got {g:?}"),
                ));
            }
        }
        if let Some(g) = self.gain {
            if !(g.is_finite() && g > 0.0) {
                return Err(field(
                    "gain",
                    format!("expected a positive number, got {g}"),
                ));
            }
        }
        if let Some(g) = self.gsd_m {
            if !(g.is_finite() && g > 0.0) {
                return Err(field(
                    "gsd_m",
                    format!("expected a positive pixel size in m, got {g}"),
                ));
            }
        }
        if let Some(m) = &self.map {
            plumewatch_core::geo::GeoTransform::new(m.geo_transform)
                .map_err(|e| field("map.geo_transform", e.to_string()))?;
        }
        Ok(())
    }

    fn data_type(&self, source: &str) -> Result<DataType> {
        match DataType::named(&self.data_type) {
            Some(t) => Ok(t),
            None => bail!(
                "{source}: frame header: data_type: expected float32, float64, int16 or uint16, got {:?}",
                self.data_type
            ),
        }
    }

    /// Bytes of one frame (without its geolocation); a header that names no known type
    /// is counted as float32 (`parse` refuses it).
    pub fn frame_bytes(&self) -> usize {
        let size = DataType::named(&self.data_type).map_or(4, DataType::size);
        self.samples * self.bands * size
    }

    /// Values of geolocation per sample after each frame (0, 2 or 3).
    pub fn geolocation_values(&self) -> usize {
        match self.geolocation.as_deref() {
            Some("lat_lon") => 2,
            Some("lat_lon_elevation") => 3,
            _ => 0,
        }
    }

    /// The stream's metadata as a cube's (for the gas window and the map transform).
    pub fn meta(&self, source: &str) -> CubeMeta {
        CubeMeta {
            path: PathBuf::from(source),
            format: "frames".into(),
            lines: 0,
            samples: self.samples,
            bands: self.bands,
            wavelength_nm: Some(self.wavelength_nm.clone()),
            fwhm_nm: self.fwhm_nm.clone(),
            bad_bands: None,
            nodata: None,
            georef: self.map.as_ref().map(|m| GeoRef {
                geo_transform: m.geo_transform,
                wkt: Some(m.crs.clone()),
            }),
            band_names: None,
            description: None,
        }
    }
}

/// Frames after a header, read one at a time.
pub struct FrameReader<R: BufRead> {
    reader: R,
    header: FrameHeader,
    source: String,
    dtype: DataType,
    frames: usize,
    raw: Vec<u8>,
    geo: Vec<u8>,
}

impl<R: BufRead> FrameReader<R> {
    /// Reads the header from `reader`; `source` names the stream in messages
    /// (`stdin`, `tcp 127.0.0.1:5000`).
    pub fn open(mut reader: R, source: &str) -> Result<Self> {
        let mut line = Vec::new();
        (&mut reader)
            .take(MAX_HEADER_BYTES)
            .read_until(b'\n', &mut line)
            .map_err(|e| Error::input(format!("{source}: frame header: cannot read: {e}")))?;
        if line.last() != Some(&b'\n') {
            if line.is_empty() {
                bail!("{source}: frame header: the stream ended before the header (expected one line of JSON)");
            }
            bail!(
                "{source}: frame header: expected one line of JSON ending in a newline within {} bytes, got {} bytes without one",
                MAX_HEADER_BYTES,
                line.len()
            );
        }
        let text = std::str::from_utf8(&line)
            .map_err(|_| Error::input(format!("{source}: frame header: not UTF-8 text")))?;
        let header = FrameHeader::parse(text.trim_end(), source)?;
        let dtype = header.data_type(source)?;
        Ok(Self {
            raw: vec![0; header.frame_bytes()],
            geo: vec![0; header.samples * header.geolocation_values() * 8],
            reader,
            header,
            source: source.to_string(),
            dtype,
            frames: 0,
        })
    }

    /// The header.
    pub fn header(&self) -> &FrameHeader {
        &self.header
    }

    /// Frames read so far.
    pub fn frames(&self) -> usize {
        self.frames
    }

    /// Reads the next frame's `bands` (band indices, in order) as an input line;
    /// `None` at a clean end of the stream (between frames).
    pub fn next_line(&mut self, bands: &[usize]) -> Result<Option<InputLine>> {
        let n = self.frames;
        let got = read_full(&mut self.reader, &mut self.raw).map_err(|e| {
            Error::input(format!(
                "{}: frame {n}: the stream failed mid-frame: {e}",
                self.source
            ))
        })?;
        if got == 0 {
            return Ok(None);
        }
        if got < self.raw.len() {
            bail!(
                "{}: frame {n}: truncated: the stream ended after {got} of {} bytes ({} samples × {} bands × {} bytes; is the header's samples, bands or data_type right?)",
                self.source,
                self.raw.len(),
                self.header.samples,
                self.header.bands,
                self.dtype.size()
            );
        }
        let lat_lon = if self.geo.is_empty() {
            None
        } else {
            let got = read_full(&mut self.reader, &mut self.geo).map_err(|e| {
                Error::input(format!(
                    "{}: frame {n}: geolocation: the stream failed: {e}",
                    self.source
                ))
            })?;
            if got < self.geo.len() {
                bail!(
                    "{}: frame {n}: geolocation: truncated after {got} of {} bytes",
                    self.source,
                    self.geo.len()
                );
            }
            let k = self.header.geolocation_values();
            let v: Vec<[f64; 2]> = self
                .geo
                .chunks_exact(8 * k)
                .map(|c| {
                    let f = |i: usize| {
                        f64::from_le_bytes(c[8 * i..8 * i + 8].try_into().expect("8 bytes"))
                    };
                    [f(0), f(1)]
                })
                .collect();
            if let Some(bad) = v
                .iter()
                .position(|p| !(p[0].abs() <= 90.0 && p[1].abs() <= 360.0))
            {
                bail!(
                    "{}: frame {n}: geolocation: sample {bad}: expected latitude and longitude in degrees, got {:?}",
                    self.source,
                    v[bad]
                );
            }
            Some(v)
        };
        let values = self.decode(bands);
        if values.iter().all(|v| !v.is_finite()) {
            bail!(
                "{}: frame {n}: every value of the bands the detection reads is NaN or infinite (a dropped frame?)",
                self.source
            );
        }
        self.frames += 1;
        Ok(Some(InputLine { values, lat_lon }))
    }

    fn decode(&self, bands: &[usize]) -> Vec<f32> {
        let (w, nb) = (self.header.samples, self.header.bands);
        let size = self.dtype.size();
        let big = self.header.byte_order == "big";
        let gain = self.header.gain.unwrap_or(1.0);
        let bip = self.header.interleave == "bip";
        let mut out = Vec::with_capacity(w * bands.len());
        for s in 0..w {
            for &b in bands {
                let idx = if bip { s * nb + b } else { b * w + s };
                let bytes = &self.raw[idx * size..(idx + 1) * size];
                let v = match (self.dtype, big) {
                    (DataType::F32, false) => {
                        f64::from(f32::from_le_bytes(bytes.try_into().expect("4")))
                    }
                    (DataType::F32, true) => {
                        f64::from(f32::from_be_bytes(bytes.try_into().expect("4")))
                    }
                    (DataType::F64, false) => f64::from_le_bytes(bytes.try_into().expect("8")),
                    (DataType::F64, true) => f64::from_be_bytes(bytes.try_into().expect("8")),
                    (DataType::I16, false) => {
                        f64::from(i16::from_le_bytes(bytes.try_into().expect("2")))
                    }
                    (DataType::I16, true) => {
                        f64::from(i16::from_be_bytes(bytes.try_into().expect("2")))
                    }
                    (DataType::U16, false) => {
                        f64::from(u16::from_le_bytes(bytes.try_into().expect("2")))
                    }
                    (DataType::U16, true) => {
                        f64::from(u16::from_be_bytes(bytes.try_into().expect("2")))
                    }
                };
                out.push((v * gain) as f32);
            }
        }
        out
    }
}

/// Reads until `buf` is full or the stream ends; the bytes read.
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match r.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

/// Encodes one frame of `values` (`samples × bands`, band fastest) as the header
/// describes it, for senders and tests.
pub fn encode_frame(header: &FrameHeader, values: &[f32]) -> Vec<u8> {
    let (w, nb) = (header.samples, header.bands);
    let big = header.byte_order == "big";
    let bip = header.interleave == "bip";
    let gain = header.gain.unwrap_or(1.0);
    let dtype = DataType::named(&header.data_type).unwrap_or(DataType::F32);
    let mut out = Vec::with_capacity(header.frame_bytes());
    for i in 0..w * nb {
        let (s, b) = if bip {
            (i / nb, i % nb)
        } else {
            (i % w, i / w)
        };
        let v = f64::from(values[s * nb + b]) / gain;
        match (dtype, big) {
            (DataType::F64, false) => out.extend_from_slice(&v.to_le_bytes()),
            (DataType::F64, true) => out.extend_from_slice(&v.to_be_bytes()),
            (DataType::I16, false) => out.extend_from_slice(&(v.round() as i16).to_le_bytes()),
            (DataType::I16, true) => out.extend_from_slice(&(v.round() as i16).to_be_bytes()),
            (DataType::U16, false) => out.extend_from_slice(&(v.round() as u16).to_le_bytes()),
            (DataType::U16, true) => out.extend_from_slice(&(v.round() as u16).to_be_bytes()),
            (DataType::F32, false) => out.extend_from_slice(&(v as f32).to_le_bytes()),
            (DataType::F32, true) => out.extend_from_slice(&(v as f32).to_be_bytes()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(dtype: &str, order: &str, interleave: &str) -> FrameHeader {
        FrameHeader {
            samples: 3,
            bands: 4,
            data_type: dtype.into(),
            byte_order: order.into(),
            interleave: interleave.into(),
            wavelength_nm: vec![2100.0, 2200.0, 2300.0, 2400.0],
            fwhm_nm: None,
            geolocation: None,
            map: None,
            gsd_m: Some(3.0),
            name: None,
            gain: None,
        }
    }

    #[test]
    fn frames_round_trip_in_every_layout() {
        let values: Vec<f32> = (0..12).map(|i| i as f32 * 3.0 + 1.0).collect();
        for dtype in ["float32", "float64", "int16", "uint16"] {
            for order in ["little", "big"] {
                for il in ["bil", "bip"] {
                    let h = header(dtype, order, il);
                    let mut bytes = serde_json::to_vec(&h).unwrap();
                    bytes.push(b'\n');
                    bytes.extend(encode_frame(&h, &values));
                    bytes.extend(encode_frame(&h, &values));
                    let mut r = FrameReader::open(&bytes[..], "test").unwrap();
                    let a = r.next_line(&[3, 0]).unwrap().unwrap();
                    let expect: Vec<f32> = (0..3)
                        .flat_map(|s| [values[s * 4 + 3], values[s * 4]])
                        .collect();
                    assert_eq!(a.values, expect, "{dtype} {order} {il}");
                    assert!(r.next_line(&[0]).unwrap().is_some());
                    assert!(r.next_line(&[0]).unwrap().is_none());
                }
            }
        }
    }

    #[test]
    fn broken_streams_name_the_frame_and_the_field() {
        let h = header("float32", "little", "bil");
        let mut bytes = serde_json::to_vec(&h).unwrap();
        bytes.push(b'\n');
        let frame = encode_frame(&h, &[1.0; 12]);
        bytes.extend(&frame);
        bytes.extend(&frame[..20]);
        let mut r = FrameReader::open(&bytes[..], "stdin").unwrap();
        assert!(r.next_line(&[0]).unwrap().is_some());
        let e = r.next_line(&[0]).unwrap_err().to_string();
        assert!(
            e.starts_with("stdin: frame 1: truncated") && e.contains("20 of 48"),
            "{e}"
        );

        let mut nan = serde_json::to_vec(&h).unwrap();
        nan.push(b'\n');
        nan.extend(encode_frame(&h, &[f32::NAN; 12]));
        let e = FrameReader::open(&nan[..], "stdin")
            .unwrap()
            .next_line(&[0, 1])
            .unwrap_err();
        assert!(e.to_string().contains("frame 0: every value"), "{e}");

        for (text, field) in [
            ("{\"samples\": 3}", "frame header: expected one line of JSON"),
            ("{\"samples\": 3, \"bands\": 2, \"data_type\": \"float32\", \"wavelength_nm\": [1]}", "wavelength_nm"),
            ("{\"samples\": 3, \"bands\": 1, \"data_type\": \"int8\", \"wavelength_nm\": [1]}", "data_type"),
            ("{\"samples\": 0, \"bands\": 1, \"data_type\": \"int16\", \"wavelength_nm\": [1]}", "samples"),
        ] {
            let mut b = text.as_bytes().to_vec();
            b.push(b'\n');
            let e = FrameReader::open(&b[..], "tcp").err().unwrap().to_string();
            assert!(e.contains(field), "{text}: {e}");
        }
        let e = FrameReader::open(&b"{\"samples\""[..], "tcp")
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("without one"), "{e}");
    }
}
