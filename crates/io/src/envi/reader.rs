//! Memory-mapped ENVI cube reader.
//!
//! The data file is mapped, never loaded: a line is decoded straight from the mapping,
//! so cubes larger than memory stream through the page cache. Values are converted to
//! f32 (or f64) with the header's `data gain values` / `data offset values` applied and
//! the `data ignore value` turned into NaN.

use super::header::{parse_header, ByteOrder, DataType, EnviHeader, Interleave};
use super::transpose;
use crate::cube::{CubeMeta, GeoRef, RadianceCube};
use crate::{Error, Result};
use memmap2::Mmap;
use std::fs::File;
use std::path::{Path, PathBuf};

/// Extensions tried, in order, for the data file beside a header `stem.hdr` (`.sli` for
/// spectral libraries, `.lut` for gas look-up tables).
pub const DATA_EXTENSIONS: [&str; 9] = ["img", "dat", "bil", "bsq", "bip", "raw", "sli", "lut", ""];

/// The data file for header `hdr`: `stem` + one of [`DATA_EXTENSIONS`] or the bare
/// stem (also `name.img` for a header named `name.img.hdr`).
pub fn find_data_file(hdr: &Path) -> Result<PathBuf> {
    let stem = hdr.with_extension("");
    let mut tried = Vec::new();
    for ext in DATA_EXTENSIONS {
        let cand = if ext.is_empty() {
            stem.clone()
        } else {
            stem.with_extension(ext)
        };
        // `name.img.hdr` → stem `name.img`: with_extension would give `name.dat`; the
        // bare stem (last) covers it.
        match std::fs::metadata(&cand) {
            Ok(m) if m.is_file() => return Ok(cand),
            Ok(m) if m.is_dir() && !ext.is_empty() => {
                return Err(Error::format(
                    &cand,
                    "data file",
                    "is a directory (expected the data file of the header beside it)",
                ))
            }
            Ok(m) if !m.is_dir() => {
                return Err(Error::format(
                    &cand,
                    "data file",
                    "is not a regular file (a FIFO, socket or device; expected the data file of the header beside it)",
                ))
            }
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                // A dangling or looping symlink is there but cannot be followed.
                if std::fs::symlink_metadata(&cand).is_ok() {
                    return Err(Error::io(&cand, "cannot open data file", e));
                }
            }
            Err(e) => return Err(Error::io(&cand, "cannot open data file", e)),
        }
        tried.push(
            cand.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
        );
    }
    Err(Error::format(
        hdr,
        "data file",
        format!(
            "none found beside the header (expected one of: {})",
            tried.join(", ")
        ),
    ))
}

/// The header for data file `data`: `stem.hdr` or `data.hdr`, if either exists.
pub fn find_header_file(data: &Path) -> Option<PathBuf> {
    let with_hdr = PathBuf::from(format!("{}.hdr", data.display()));
    if with_hdr.is_file() {
        return Some(with_hdr);
    }
    let replaced = data.with_extension("hdr");
    if replaced != data && replaced.is_file() {
        return Some(replaced);
    }
    None
}

/// Reads and parses an ENVI header file.
pub fn read_header(hdr: &Path) -> Result<EnviHeader> {
    let bytes = read_file_checked(hdr, "cannot read ENVI header")?;
    let text = String::from_utf8_lossy(&bytes);
    parse_header(&text, hdr)
}

fn read_file_checked(path: &Path, action: &str) -> Result<Vec<u8>> {
    use std::io::Read;
    crate::cube::check_input_file(path, "an ENVI header")?;
    let file = File::open(path).map_err(|e| Error::io(path, action, e))?;
    let mut bytes = Vec::new();
    file.take(MAX_HEADER_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io(path, action, e))?;
    if bytes.len() as u64 > MAX_HEADER_BYTES {
        return Err(Error::format(
            path,
            "header",
            format!(
                "larger than {} MiB (expected an ENVI text header)",
                MAX_HEADER_BYTES >> 20
            ),
        ));
    }
    Ok(bytes)
}

/// Largest ENVI header read (band tables of thousands of bands take well under 1 MiB).
const MAX_HEADER_BYTES: u64 = 16 << 20;

/// A memory-mapped ENVI cube.
///
/// Implements [`plumewatch_core::LineSource`] and [`RadianceCube`]; also reads single
/// bands ([`EnviCube::read_band_f64`]) and whole lines as f64.
#[derive(Debug)]
pub struct EnviCube {
    header: EnviHeader,
    meta: CubeMeta,
    data_path: PathBuf,
    file_len: u64,
    file: File,
    /// The mapping as known to the SIGBUS handler (a field before `map`, so that it is
    /// dropped first).
    _registration: crate::mapped::Registration,
    map: Mmap,
}

/// Maps `file` read-only.
#[allow(unsafe_code)]
fn map_file(file: &File, path: &Path) -> Result<Mmap> {
    // SAFETY: the mapping is read-only and private to this process. The only hazard is
    // another process truncating or rewriting the file while it is mapped, which
    // plumewatch never does to its inputs (outputs are written to a temporary name and
    // renamed); this is the accepted contract of every memory-mapped reader.
    unsafe { Mmap::map(file) }.map_err(|e| Error::io(path, "cannot memory-map data file", e))
}

/// Bytes of the mapping released per call when a cube is dropped.
const RELEASE_CHUNK: usize = 16 << 20;

impl Drop for EnviCube {
    /// Releases the mapped pages in chunks before the mapping is removed. Removing a
    /// large mapping in one call holds the process's address-space lock for tens of
    /// milliseconds, which stalls every allocation on other threads (a writer running
    /// beside the drop); chunks hold it for about a millisecond each.
    #[allow(unsafe_code)]
    fn drop(&mut self) {
        let len = self.map.len();
        for off in (0..len).step_by(RELEASE_CHUNK) {
            // SAFETY: the mapping is read-only and nothing reads it after this point
            // (the cube is being dropped); DONTNEED only drops the page-table entries
            // (the file's pages stay in the page cache).
            let _ = unsafe {
                self.map.unchecked_advise_range(
                    memmap2::UncheckedAdvice::DontNeed,
                    off,
                    RELEASE_CHUNK.min(len - off),
                )
            };
        }
    }
}

impl EnviCube {
    /// Opens an ENVI cube from its header (`*.hdr`) or its data file (with the header
    /// beside it).
    pub fn open(path: &Path) -> Result<Self> {
        crate::cube::check_input_file(path, "an ENVI header or data file")?;
        let is_hdr = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("hdr"));
        if is_hdr {
            let data = find_data_file(path)?;
            Self::open_with_data(path, &data)
        } else {
            let hdr = find_header_file(path).ok_or_else(|| {
                Error::format(
                    path,
                    "header",
                    "no ENVI header beside the data file (expected NAME.hdr or NAME.EXT.hdr)",
                )
            })?;
            Self::open_with_data(&hdr, path)
        }
    }

    /// Opens an ENVI cube with header `hdr` and data file `data` given explicitly.
    pub fn open_with_data(hdr: &Path, data: &Path) -> Result<Self> {
        let header = read_header(hdr)?;
        crate::cube::check_input_file(data, "the ENVI data file")?;
        let file = File::open(data).map_err(|e| Error::io(data, "cannot open data file", e))?;
        let file_len = file
            .metadata()
            .map_err(|e| Error::io(data, "cannot read data file metadata", e))?
            .len();
        let need = header
            .data_bytes()
            .and_then(|n| n.checked_add(header.header_offset))
            .ok_or_else(|| Error::format(hdr, "samples", "cube size overflows"))?;
        if file_len < need as u64 {
            return Err(Error::format(
                data,
                "size",
                format!(
                    "data file has {file_len} bytes but {} promises {need} (header offset {} + {} lines × {} samples × {} bands × {} bytes of {})",
                    hdr.display(),
                    header.header_offset,
                    header.lines,
                    header.samples,
                    header.bands,
                    header.data_type.size(),
                    header.data_type.name()
                ),
            ));
        }
        let map = map_file(&file, data)?;
        let registration = crate::mapped::register(map.as_ptr(), map.len(), data);
        // Reading the first byte surfaces unreadable files (EACCES was caught at open,
        // but e.g. I/O errors on special files show up only here).
        let meta = meta_from_header(&header, data);
        Ok(Self {
            header,
            meta,
            data_path: data.to_path_buf(),
            file_len,
            file,
            map,
            _registration: registration,
        })
    }

    /// The parsed header.
    pub fn header(&self) -> &EnviHeader {
        &self.header
    }

    /// The data file's path.
    pub fn data_path(&self) -> &Path {
        &self.data_path
    }

    /// Size of the data file in bytes.
    pub fn file_len(&self) -> u64 {
        self.file_len
    }

    /// Whether the data file is exactly as long as the header promises (files shorter
    /// than promised are refused by [`EnviCube::open`]; longer ones are read).
    pub fn size_matches(&self) -> bool {
        self.header
            .data_bytes()
            .map(|n| (n + self.header.header_offset) as u64 == self.file_len)
            .unwrap_or(false)
    }

    /// The raw bytes of the image data (after the header offset).
    pub fn raw_data(&self) -> &[u8] {
        let n = self.header.data_bytes().unwrap_or(0);
        &self.map[self.header.header_offset..self.header.header_offset + n]
    }

    /// Byte offset (within [`EnviCube::raw_data`]) and element stride of the `samples`
    /// values of (`line`, `band`) for BSQ/BIL, where they are contiguous.
    fn row_offset(&self, line: usize, band: usize) -> usize {
        let h = &self.header;
        let sz = h.data_type.size();
        match h.interleave {
            Interleave::Bsq => ((band * h.lines + line) * h.samples) * sz,
            Interleave::Bil => ((line * h.bands + band) * h.samples) * sz,
            Interleave::Bip => ((line * h.samples) * h.bands + band) * sz,
        }
    }

    fn check_line_args(&self, line: usize, bands: &[usize], out_len: usize) -> Result<()> {
        self.check_cols_args(line, 0..self.header.samples, bands, out_len)
    }

    /// Refuses to read when the data file has been truncated since it was opened:
    /// touching mapped pages past the new end would kill the process with SIGBUS.
    /// (Checked before every line; a truncation between this check and the copy of that
    /// one line is not caught.)
    fn check_not_truncated(&self) -> Result<()> {
        let len = self
            .file
            .metadata()
            .map_err(|e| Error::io(&self.data_path, "cannot read data file metadata", e))?
            .len();
        if len < self.file_len {
            return Err(Error::format(
                &self.data_path,
                "size",
                format!(
                    "data file shrank from {} to {len} bytes while it was being read (another program truncated or rewrote it; expected an unchanging input)",
                    self.file_len
                ),
            ));
        }
        Ok(())
    }

    fn check_cols_args(
        &self,
        line: usize,
        cols: std::ops::Range<usize>,
        bands: &[usize],
        out_len: usize,
    ) -> Result<()> {
        self.check_not_truncated()?;
        let h = &self.header;
        if cols.start > cols.end || cols.end > h.samples {
            return Err(Error::format(
                &self.data_path,
                "samples",
                format!(
                    "sample range {}..{} is outside 0..{}",
                    cols.start, cols.end, h.samples
                ),
            ));
        }
        if line >= h.lines {
            return Err(Error::format(
                &self.data_path,
                "line",
                format!("line {line} is outside 0..{}", h.lines),
            ));
        }
        if let Some(&b) = bands.iter().find(|&&b| b >= h.bands) {
            return Err(Error::format(
                &self.data_path,
                "band",
                format!("band index {b} is outside 0..{}", h.bands),
            ));
        }
        if out_len != cols.len() * bands.len() {
            return Err(Error::format(
                &self.data_path,
                "line buffer",
                format!(
                    "has {out_len} values (expected samples × bands = {} × {})",
                    cols.len(),
                    bands.len()
                ),
            ));
        }
        Ok(())
    }

    /// Reads line `line` for `bands` into `out` (samples × bands, band fastest) as f32.
    /// Same as [`plumewatch_core::LineSource::read_line`] with the I/O error type.
    pub fn read_line_f32(&self, line: usize, bands: &[usize], out: &mut [f32]) -> Result<()> {
        self.check_line_args(line, bands, out.len())?;
        self.dispatch_line(line, 0..self.header.samples, bands, out)
    }

    /// Reads samples `cols` of line `line` for `bands` into `out` (`cols.len() ×
    /// bands`, band fastest) as f32; touches only those samples of the file.
    pub fn read_line_cols_f32(
        &self,
        line: usize,
        cols: std::ops::Range<usize>,
        bands: &[usize],
        out: &mut [f32],
    ) -> Result<()> {
        self.check_cols_args(line, cols.clone(), bands, out.len())?;
        self.dispatch_line(line, cols, bands, out)
    }

    /// Reads line `line` for `bands` into `out` (samples × bands, band fastest) as f64,
    /// with gain/offset applied and no-data values as NaN.
    pub fn read_line_f64(&self, line: usize, bands: &[usize], out: &mut [f64]) -> Result<()> {
        self.check_line_args(line, bands, out.len())?;
        self.dispatch_line(line, 0..self.header.samples, bands, out)
    }

    /// Reads band `band` (0-based) over the whole cube as f64, `lines × samples`
    /// row-major (line slowest), gain/offset applied and no-data values as NaN.
    pub fn read_band_f64(&self, band: usize) -> Result<Vec<f64>> {
        self.read_band(band, 0.0)
    }

    /// Reads band `band` (0-based) over the whole cube as f32, `lines × samples`
    /// row-major.
    pub fn read_band_f32(&self, band: usize) -> Result<Vec<f32>> {
        self.read_band(band, 0.0)
    }

    fn read_band<O: OutValue>(&self, band: usize, zero: O) -> Result<Vec<O>> {
        let h = &self.header;
        if band >= h.bands {
            return Err(Error::format(
                &self.data_path,
                "band",
                format!("band index {band} is outside 0..{}", h.bands),
            ));
        }
        let mut out = vec![zero; h.lines * h.samples];
        for (line, row) in out.chunks_exact_mut(h.samples).enumerate() {
            self.check_not_truncated()?;
            self.dispatch_line(line, 0..h.samples, &[band], row)?;
        }
        Ok(out)
    }

    /// Byte range (within [`EnviCube::raw_data`]) of the rows of `bands` over samples
    /// `cols` of line `line`, when one positioned read of it is cheaper than touching
    /// the mapping: BIL rows of dense bands (the range spans at most twice the rows
    /// asked for) over at least half the line. Reading copies the bytes once, where
    /// the mapping takes a page fault for every few pages it has not touched yet.
    fn read_span(
        &self,
        line: usize,
        cols: &std::ops::Range<usize>,
        bands: &[usize],
    ) -> Option<std::ops::Range<usize>> {
        let h = &self.header;
        if h.interleave != Interleave::Bil || cols.is_empty() || 2 * cols.len() < h.samples {
            return None;
        }
        let (lo, hi) = (*bands.iter().min()?, *bands.iter().max()?);
        if hi - lo + 1 > 2 * bands.len() {
            return None;
        }
        let sz = h.data_type.size();
        Some(self.row_offset(line, lo) + cols.start * sz..self.row_offset(line, hi) + cols.end * sz)
    }

    /// Decodes one line; arguments are already checked. Reads the line's bytes with one
    /// positioned read where [`EnviCube::read_span`] says so (into a buffer kept per
    /// thread), else decodes from the mapping. Matches on data type and byte order
    /// once, then runs a monomorphised loop.
    fn dispatch_line<O: OutValue>(
        &self,
        line: usize,
        cols: std::ops::Range<usize>,
        bands: &[usize],
        out: &mut [O],
    ) -> Result<()> {
        thread_local! {
            static LINE_BYTES: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
        }
        let Some(span) = self.read_span(line, &cols, bands) else {
            self.dispatch_decode(line, cols, bands, out, (self.raw_data(), 0));
            return Ok(());
        };
        LINE_BYTES.with(|buf| {
            let mut buf = buf.borrow_mut();
            buf.resize(span.len(), 0);
            let at = (self.header.header_offset + span.start) as u64;
            std::os::unix::fs::FileExt::read_exact_at(&self.file, &mut buf, at).map_err(|e| {
                Error::io(
                    &self.data_path,
                    format!(
                        "cannot read line {line} ({} bytes at offset {at})",
                        span.len()
                    ),
                    e,
                )
            })?;
            self.dispatch_decode(line, cols, bands, out, (&buf, span.start));
            Ok(())
        })
    }

    /// [`EnviCube::decode_line`] for the cube's data type and byte order; `bytes` holds
    /// the raw data from offset `bytes.1` on.
    fn dispatch_decode<O: OutValue>(
        &self,
        line: usize,
        cols: std::ops::Range<usize>,
        bands: &[usize],
        out: &mut [O],
        bytes: (&[u8], usize),
    ) {
        let big = self.header.byte_order == ByteOrder::Big;
        macro_rules! go {
            ($t:ty) => {
                if big {
                    self.decode_line::<$t, true, O>(line, cols, bands, out, bytes)
                } else {
                    self.decode_line::<$t, false, O>(line, cols, bands, out, bytes)
                }
            };
        }
        match self.header.data_type {
            DataType::U8 => go!(u8),
            DataType::I16 => go!(i16),
            DataType::I32 => go!(i32),
            DataType::F32 => go!(f32),
            DataType::F64 => go!(f64),
            DataType::U16 => go!(u16),
            DataType::U32 => go!(u32),
            DataType::I64 => go!(i64),
            DataType::U64 => go!(u64),
        }
    }

    fn decode_line<T: RawValue, const BE: bool, O: OutValue>(
        &self,
        line: usize,
        cols: std::ops::Range<usize>,
        bands: &[usize],
        out: &mut [O],
        (data, base): (&[u8], usize),
    ) {
        if bands.is_empty() || cols.is_empty() {
            return;
        }
        let h = &self.header;
        let nb = bands.len();
        let ns = cols.len();
        let s0 = cols.start;
        // The ignore value as it is stored in this data type (so that, e.g., -0.005 in
        // a float32 file matches its f32 rounding).
        let ignore = h.data_ignore_value.and_then(T::stored);
        let gain_offset = |b: usize| -> (f64, f64) {
            (
                h.data_gain_values.as_ref().map_or(1.0, |g| g[b]),
                h.data_offset_values.as_ref().map_or(0.0, |o| o[b]),
            )
        };
        match h.interleave {
            Interleave::Bsq | Interleave::Bil => {
                // Each group of up to TB band rows is read side by side and written
                // pixel by pixel (TB adjacent values per pixel). Before, each band row
                // was first decoded into a tile; copying through it took about a sixth
                // of a replay's reading time.
                const TB: usize = 8;
                let plain = ignore.is_none()
                    && h.data_gain_values.is_none()
                    && h.data_offset_values.is_none();
                for (kc, band_chunk) in bands.chunks(TB).enumerate() {
                    let k0 = kc * TB;
                    let rows: Vec<(&[u8], (f64, f64))> = band_chunk
                        .iter()
                        .map(|&b| {
                            let start = self.row_offset(line, b) + s0 * T::SIZE - base;
                            (&data[start..start + ns * T::SIZE], gain_offset(b))
                        })
                        .collect();
                    if plain && T::IS_F32 && !BE && rows.len() == TB {
                        if let Some(values) = out.get_mut(k0..).and_then(O::as_f32_mut) {
                            let rows: [&[u8]; TB] = std::array::from_fn(|k| rows[k].0);
                            transpose::band_rows_to_pixels(&rows, ns, values, nb);
                            continue;
                        }
                    }
                    for (s, px) in out.chunks_exact_mut(nb).enumerate() {
                        let at = s * T::SIZE;
                        for (d, (row, (g, o))) in px[k0..k0 + rows.len()].iter_mut().zip(&rows) {
                            let v = T::decode::<BE>(&row[at..at + T::SIZE]);
                            *d = if plain {
                                O::from_raw(v)
                            } else {
                                O::convert(v, ignore, *g, *o)
                            };
                        }
                    }
                }
            }
            Interleave::Bip => {
                let start = self.row_offset(line, 0) + s0 * h.bands * T::SIZE - base;
                let row = &data[start..start + ns * h.bands * T::SIZE];
                let contiguous = bands.windows(2).all(|w| w[1] == w[0] + 1);
                let uniform = h.data_gain_values.is_none() && h.data_offset_values.is_none();
                if contiguous && uniform && !bands.is_empty() {
                    // One contiguous run of bands per pixel: copy pixel spans.
                    let b0 = bands[0];
                    for (px, dst) in row
                        .chunks_exact(h.bands * T::SIZE)
                        .zip(out.chunks_exact_mut(nb))
                    {
                        let span = &px[b0 * T::SIZE..(b0 + nb) * T::SIZE];
                        convert_values::<T, BE, O, _>(
                            span.chunks_exact(T::SIZE),
                            dst.iter_mut(),
                            ignore,
                            1.0,
                            0.0,
                        );
                    }
                } else {
                    let go: Vec<(f64, f64)> = bands.iter().map(|&b| gain_offset(b)).collect();
                    for (px, dst) in row
                        .chunks_exact(h.bands * T::SIZE)
                        .zip(out.chunks_exact_mut(nb))
                    {
                        for ((d, &b), &(g, o)) in dst.iter_mut().zip(bands).zip(&go) {
                            let v = T::decode::<BE>(&px[b * T::SIZE..(b + 1) * T::SIZE]);
                            *d = O::convert(v, ignore, g, o);
                        }
                    }
                }
            }
        }
    }
}

#[inline(always)]
fn convert_values<
    'a,
    T: RawValue,
    const BE: bool,
    O: OutValue + 'a,
    I: Iterator<Item = &'a mut O>,
>(
    src: std::slice::ChunksExact<'_, u8>,
    dst: I,
    ignore: Option<T>,
    gain: f64,
    offset: f64,
) {
    if gain == 1.0 && offset == 0.0 {
        match ignore {
            None => {
                for (c, d) in src.zip(dst) {
                    *d = O::from_raw(T::decode::<BE>(c));
                }
            }
            Some(_) => {
                for (c, d) in src.zip(dst) {
                    *d = O::convert(T::decode::<BE>(c), ignore, 1.0, 0.0);
                }
            }
        }
    } else {
        for (c, d) in src.zip(dst) {
            *d = O::convert(T::decode::<BE>(c), ignore, gain, offset);
        }
    }
}

/// A raw on-disk sample type.
pub(crate) trait RawValue: Copy + PartialEq {
    const SIZE: usize;
    /// The type is f32.
    const IS_F32: bool;
    fn decode<const BE: bool>(b: &[u8]) -> Self;
    fn to_f64(self) -> f64;
    fn to_f32(self) -> f32;
    /// `v` as it would be stored in this type, or `None` when an integer type cannot
    /// hold it exactly (then no stored value can equal it).
    fn stored(v: f64) -> Option<Self>;
}

macro_rules! raw_value {
    ($t:ty, $n:expr, $exact:expr) => {
        impl RawValue for $t {
            const SIZE: usize = $n;
            const IS_F32: bool = $n == 4 && !$exact;
            #[inline(always)]
            fn decode<const BE: bool>(b: &[u8]) -> Self {
                let a: [u8; $n] = b.try_into().unwrap_or([0; $n]);
                if BE {
                    <$t>::from_be_bytes(a)
                } else {
                    <$t>::from_le_bytes(a)
                }
            }
            #[inline(always)]
            fn to_f64(self) -> f64 {
                self as f64
            }
            #[inline(always)]
            fn to_f32(self) -> f32 {
                self as f32
            }
            fn stored(v: f64) -> Option<Self> {
                let t = v as $t;
                if !$exact || t as f64 == v {
                    Some(t)
                } else {
                    None
                }
            }
        }
    };
}
raw_value!(u8, 1, true);
raw_value!(i16, 2, true);
raw_value!(i32, 4, true);
raw_value!(u16, 2, true);
raw_value!(u32, 4, true);
raw_value!(i64, 8, true);
raw_value!(u64, 8, true);
raw_value!(f32, 4, false);
raw_value!(f64, 8, false);

/// An output value type (f32 or f64).
pub(crate) trait OutValue: Copy {
    /// The values as f32, where they are.
    fn as_f32_mut(values: &mut [Self]) -> Option<&mut [f32]>;
    fn from_raw<T: RawValue>(v: T) -> Self;
    fn convert<T: RawValue>(v: T, ignore: Option<T>, gain: f64, offset: f64) -> Self;
}

impl OutValue for f32 {
    fn as_f32_mut(values: &mut [Self]) -> Option<&mut [f32]> {
        Some(values)
    }
    #[inline(always)]
    fn from_raw<T: RawValue>(v: T) -> Self {
        v.to_f32()
    }
    #[inline(always)]
    fn convert<T: RawValue>(v: T, ignore: Option<T>, gain: f64, offset: f64) -> Self {
        if ignore.is_some_and(|i| i == v) {
            f32::NAN
        } else if gain == 1.0 && offset == 0.0 {
            v.to_f32()
        } else {
            (v.to_f64() * gain + offset) as f32
        }
    }
}

impl OutValue for f64 {
    fn as_f32_mut(_: &mut [Self]) -> Option<&mut [f32]> {
        None
    }
    #[inline(always)]
    fn from_raw<T: RawValue>(v: T) -> Self {
        v.to_f64()
    }
    #[inline(always)]
    fn convert<T: RawValue>(v: T, ignore: Option<T>, gain: f64, offset: f64) -> Self {
        if ignore.is_some_and(|i| i == v) {
            f64::NAN
        } else {
            v.to_f64() * gain + offset
        }
    }
}

/// Builds the format-independent [`CubeMeta`] of an ENVI header.
pub fn meta_from_header(h: &EnviHeader, data: &Path) -> CubeMeta {
    let spectral_per_band = !h.is_spectral_library();
    CubeMeta {
        path: data.to_path_buf(),
        format: "ENVI".into(),
        lines: h.lines,
        samples: h.samples,
        bands: h.bands,
        wavelength_nm: h.wavelength_nm.clone().filter(|_| spectral_per_band),
        fwhm_nm: h.fwhm_nm.clone().filter(|_| spectral_per_band),
        bad_bands: h.bbl.clone().filter(|_| spectral_per_band),
        nodata: h.data_ignore_value,
        georef: h.map_info.as_ref().map(|m| GeoRef {
            geo_transform: m.geo_transform(),
            wkt: h.coordinate_system_string.clone(),
        }),
        band_names: h.band_names.clone(),
        description: h.description.clone(),
    }
}

impl plumewatch_core::LineSource for EnviCube {
    fn lines(&self) -> usize {
        self.header.lines
    }
    fn samples(&self) -> usize {
        self.header.samples
    }
    fn bands(&self) -> usize {
        self.header.bands
    }
    fn read_line(
        &self,
        line: usize,
        bands: &[usize],
        out: &mut [f32],
    ) -> plumewatch_core::Result<()> {
        Ok(self.read_line_f32(line, bands, out)?)
    }
    fn read_line_cols(
        &self,
        line: usize,
        cols: std::ops::Range<usize>,
        bands: &[usize],
        out: &mut [f32],
    ) -> plumewatch_core::Result<()> {
        Ok(self.read_line_cols_f32(line, cols, bands, out)?)
    }
    fn cheap_column_reads(&self) -> bool {
        true
    }
}

impl RadianceCube for EnviCube {
    fn meta(&self) -> &CubeMeta {
        &self.meta
    }
}
