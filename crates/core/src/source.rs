//! Line-by-line access to a radiance cube, independent of where the data live.
//!
//! The I/O crate implements [`LineSource`] for memory-mapped ENVI files and for GDAL
//! datasets; tests and the simulator use [`VecCube`]. Algorithms pull lines through this
//! trait so the same code serves whole files, streams and servers.

use crate::{Error, Result};

/// A radiance cube read one down-track line at a time.
///
/// # Array order
/// [`LineSource::read_line`] fills `out` with `samples × bands.len()` values, sample
/// major and band fastest: `out[s * bands.len() + k]` is sample `s`, band `bands[k]`.
pub trait LineSource: Sync {
    /// Number of down-track lines.
    fn lines(&self) -> usize;
    /// Number of cross-track samples (detector columns).
    fn samples(&self) -> usize;
    /// Number of bands in the cube.
    fn bands(&self) -> usize;
    /// Reads line `line` for the band indices `bands` (0-based, any order) into `out`
    /// as f32, applying any gain/offset the source declares. Values the source marks as
    /// no data are returned as NaN.
    fn read_line(&self, line: usize, bands: &[usize], out: &mut [f32]) -> Result<()>;

    /// Reads samples `cols` of line `line` into `out` (`cols.len() × bands.len()`,
    /// band fastest), with the conventions of [`LineSource::read_line`]. The default
    /// reads the whole line (straight into `out` when `cols` is every sample) and copies
    /// the samples asked for; sources that can read a
    /// sample range directly override it and [`LineSource::cheap_column_reads`].
    fn read_line_cols(
        &self,
        line: usize,
        cols: std::ops::Range<usize>,
        bands: &[usize],
        out: &mut [f32],
    ) -> Result<()> {
        let nb = bands.len();
        if cols.start > cols.end || cols.end > self.samples() {
            return Err(Error::Invalid(format!(
                "sample range {}..{} is outside 0..{}",
                cols.start,
                cols.end,
                self.samples()
            )));
        }
        if out.len() != cols.len() * nb {
            return Err(Error::Shape {
                what: "line buffer".into(),
                expected: cols.len() * nb,
                got: out.len(),
            });
        }
        if cols.len() == self.samples() {
            return self.read_line(line, bands, out);
        }
        let mut full = vec![0f32; self.samples() * nb];
        self.read_line(line, bands, &mut full)?;
        out.copy_from_slice(&full[cols.start * nb..cols.end * nb]);
        Ok(())
    }

    /// True when [`LineSource::read_line_cols`] costs in proportion to the samples it
    /// reads (memory-mapped and in-memory sources), false when it reads whole lines.
    fn cheap_column_reads(&self) -> bool {
        false
    }
}

/// An in-memory cube, (line, sample, band) order with band fastest.
#[derive(Debug, Clone, PartialEq)]
pub struct VecCube {
    /// Down-track lines.
    pub lines: usize,
    /// Cross-track samples.
    pub samples: usize,
    /// Bands.
    pub bands: usize,
    /// `lines × samples × bands` values, band fastest.
    pub data: Vec<f32>,
}

impl VecCube {
    /// Wraps `data` (band fastest) after checking its length.
    pub fn new(lines: usize, samples: usize, bands: usize, data: Vec<f32>) -> Result<Self> {
        let expected = lines * samples * bands;
        if data.len() != expected {
            return Err(Error::Shape {
                what: "cube values".into(),
                expected,
                got: data.len(),
            });
        }
        Ok(Self {
            lines,
            samples,
            bands,
            data,
        })
    }

    /// The bands `bands` of every line of `src`, in memory (lines read in parallel).
    pub fn from_source(src: &dyn LineSource, bands: &[usize]) -> Result<Self> {
        use rayon::prelude::*;
        let (lines, samples, nb) = (src.lines(), src.samples(), bands.len());
        let line_len = samples * nb;
        let mut data = vec![0f32; lines * line_len];
        if line_len > 0 {
            data.par_chunks_mut(line_len * 16)
                .enumerate()
                .try_for_each(|(blk, chunk)| -> Result<()> {
                    for (i, line) in chunk.chunks_mut(line_len).enumerate() {
                        src.read_line(blk * 16 + i, bands, line)?;
                    }
                    Ok(())
                })?;
        }
        Self::new(lines, samples, nb, data)
    }

    /// Value at (line, sample, band).
    pub fn get(&self, line: usize, sample: usize, band: usize) -> f32 {
        self.data[(line * self.samples + sample) * self.bands + band]
    }
}

impl LineSource for VecCube {
    fn lines(&self) -> usize {
        self.lines
    }
    fn samples(&self) -> usize {
        self.samples
    }
    fn bands(&self) -> usize {
        self.bands
    }
    fn read_line(&self, line: usize, bands: &[usize], out: &mut [f32]) -> Result<()> {
        if line >= self.lines {
            return Err(Error::Invalid(format!(
                "line {line} is outside 0..{}",
                self.lines
            )));
        }
        if out.len() != self.samples * bands.len() {
            return Err(Error::Shape {
                what: "line buffer".into(),
                expected: self.samples * bands.len(),
                got: out.len(),
            });
        }
        self.read_line_cols(line, 0..self.samples, bands, out)
    }

    fn read_line_cols(
        &self,
        line: usize,
        cols: std::ops::Range<usize>,
        bands: &[usize],
        out: &mut [f32],
    ) -> Result<()> {
        if line >= self.lines {
            return Err(Error::Invalid(format!(
                "line {line} is outside 0..{}",
                self.lines
            )));
        }
        if cols.start > cols.end || cols.end > self.samples {
            return Err(Error::Invalid(format!(
                "sample range {}..{} is outside 0..{}",
                cols.start, cols.end, self.samples
            )));
        }
        if let Some(&b) = bands.iter().find(|&&b| b >= self.bands) {
            return Err(Error::Invalid(format!(
                "band index {b} is outside 0..{}",
                self.bands
            )));
        }
        if out.len() != cols.len() * bands.len() {
            return Err(Error::Shape {
                what: "line buffer".into(),
                expected: cols.len() * bands.len(),
                got: out.len(),
            });
        }
        let row = &self.data[(line * self.samples + cols.start) * self.bands..]
            [..cols.len() * self.bands];
        for (px, dst) in row
            .chunks_exact(self.bands)
            .zip(out.chunks_exact_mut(bands.len().max(1)))
        {
            for (d, &b) in dst.iter_mut().zip(bands) {
                *d = px[b];
            }
        }
        Ok(())
    }

    fn cheap_column_reads(&self) -> bool {
        true
    }
}
