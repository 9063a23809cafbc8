//! An optional user-supplied basemap in one PMTiles (version 3) file, served to the
//! viewer by HTTP range requests from `GET /api/basemap.pmtiles`; the viewer reads it
//! with the `pmtiles` npm package's MapLibre protocol. Nothing leaves the server, so it
//! works offline.

use crate::error::{Error, Result};
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// Largest byte range one response carries (the viewer asks for 16 KiB headers and
/// single tiles or directories).
pub const MAX_RANGE: u64 = 64 << 20;

/// A PMTiles v3 file, checked at start.
#[derive(Debug, Clone)]
pub struct Pmtiles {
    /// The file.
    pub path: PathBuf,
    /// Its size in bytes.
    pub len: u64,
    /// Tile format: `mvt`, `png`, `jpg`, `webp`, `avif` or `unknown`.
    pub tile_type: &'static str,
    /// Smallest zoom level held.
    pub min_zoom: u8,
    /// Largest zoom level held.
    pub max_zoom: u8,
    /// West, south, east, north, degrees.
    pub bounds: [f64; 4],
    /// Strong entity tag (size and modification time), so a reader notices a change.
    pub etag: String,
}

impl Pmtiles {
    /// Opens `path` and reads its 127-byte header; a clear error when it is not a
    /// PMTiles version 3 file.
    pub fn open(path: &Path) -> Result<Pmtiles> {
        let bad = |why: String| Error::Config(format!("--basemap {}: {why}", path.display()));
        let mut f = std::fs::File::open(path).map_err(|e| bad(format!("cannot open: {e}")))?;
        let meta = f.metadata().map_err(|e| bad(e.to_string()))?;
        if !meta.is_file() {
            return Err(bad("not a file".into()));
        }
        let mut h = [0u8; 127];
        f.read_exact(&mut h).map_err(|_| {
            bad("shorter than a PMTiles header (127 bytes): expected a PMTiles v3 file".into())
        })?;
        if &h[..7] != b"PMTiles" {
            return Err(bad(
                "no PMTiles magic number: expected a PMTiles v3 file (or an https:// XYZ URL template)"
                    .into(),
            ));
        }
        if h[7] != 3 {
            return Err(bad(format!(
                "PMTiles spec version {}: only version 3 is read (convert it with `pmtiles convert`)",
                h[7]
            )));
        }
        let tile_type = match h[99] {
            1 => "mvt",
            2 => "png",
            3 => "jpg",
            4 => "webp",
            5 => "avif",
            _ => "unknown",
        };
        let deg = |at: usize| {
            f64::from(i32::from_le_bytes([h[at], h[at + 1], h[at + 2], h[at + 3]])) / 1e7
        };
        let mtime = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos());
        Ok(Pmtiles {
            path: path.to_path_buf(),
            len: meta.len(),
            tile_type,
            min_zoom: h[100],
            max_zoom: h[101],
            bounds: [deg(102), deg(106), deg(110), deg(114)],
            etag: format!("\"{:x}-{mtime:x}\"", meta.len()),
        })
    }

    /// The byte range (first, last inclusive) a `Range` header asks for, with the last
    /// byte clamped to the file. `Err(RangeError)` when it cannot be served.
    pub fn range(&self, header: Option<&str>) -> std::result::Result<(u64, u64), RangeError> {
        let Some(h) = header else {
            return if self.len == 0 {
                Err(RangeError::Unsatisfiable)
            } else if self.len > MAX_RANGE {
                Err(RangeError::TooLarge)
            } else {
                Ok((0, self.len - 1))
            };
        };
        let spec = h
            .trim()
            .strip_prefix("bytes=")
            .ok_or(RangeError::Malformed)?;
        if spec.contains(',') {
            return Err(RangeError::Malformed);
        }
        let (a, b) = spec.split_once('-').ok_or(RangeError::Malformed)?;
        let num = |s: &str| s.trim().parse::<u64>().map_err(|_| RangeError::Malformed);
        let (first, last) = match (a.trim().is_empty(), b.trim().is_empty()) {
            (false, false) => (num(a)?, num(b)?),
            (false, true) => (num(a)?, u64::MAX),
            (true, false) => {
                let n = num(b)?;
                if n == 0 {
                    return Err(RangeError::Unsatisfiable);
                }
                (self.len.saturating_sub(n), u64::MAX)
            }
            (true, true) => return Err(RangeError::Malformed),
        };
        if last < first {
            return Err(RangeError::Malformed);
        }
        if first >= self.len {
            return Err(RangeError::Unsatisfiable);
        }
        let last = last.min(self.len - 1);
        if last - first + 1 > MAX_RANGE {
            return Err(RangeError::TooLarge);
        }
        Ok((first, last))
    }

    /// Reads bytes `first..=last` (blocking).
    pub fn read(&self, first: u64, last: u64) -> Result<Vec<u8>> {
        let mut f = std::fs::File::open(&self.path).map_err(|e| Error::io(&self.path, e))?;
        f.seek(SeekFrom::Start(first))
            .map_err(|e| Error::io(&self.path, e))?;
        let mut buf = vec![0u8; (last - first + 1) as usize];
        f.read_exact(&mut buf)
            .map_err(|e| Error::io(&self.path, e))?;
        Ok(buf)
    }
}

/// Why a range cannot be served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeError {
    /// Not one `bytes=first-last` range.
    Malformed,
    /// Starts past the end of the file (416).
    Unsatisfiable,
    /// More than [`MAX_RANGE`] bytes at once.
    TooLarge,
}
