//! Rasters of per-pixel values: their size ([`Grid`]), linear pixel indices and the
//! no-data conventions.
//!
//! # Array order
//! Every raster is `lines × samples`, row-major (sample fastest): pixel
//! `(line, sample)` sits at linear index `line · samples + sample`. Indices are
//! `usize`, so mosaics above 2³² pixels do not wrap.
//!
//! # No data
//! Detection maps as written to disk hold [`NODATA`] where a pixel has no output; the
//! plume, quantification and evidence code work on copies with NaN there
//! ([`nodata_as_nan`]).

use crate::{Error, Result};

/// Value written where a pixel has no output (detection maps, rasters on disk).
pub const NODATA: f32 = -9999.0;

/// One detection value with [`NODATA`] replaced by NaN.
pub fn nodata_to_nan(v: f32) -> f32 {
    if v == NODATA {
        f32::NAN
    } else {
        v
    }
}

/// A copy of a detection raster with [`NODATA`] replaced by NaN (the convention of the
/// plume, quantification and evidence code).
pub fn nodata_as_nan(values: &[f32]) -> Vec<f32> {
    values.iter().map(|&v| nodata_to_nan(v)).collect()
}

/// Size of a raster: `lines × samples`, row-major.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Grid {
    /// Down-track lines (rows).
    pub lines: usize,
    /// Cross-track samples (columns).
    pub samples: usize,
}

impl Grid {
    /// A grid of `lines × samples`.
    pub fn new(lines: usize, samples: usize) -> Self {
        Self { lines, samples }
    }

    /// Number of pixels.
    pub fn len(&self) -> usize {
        self.lines * self.samples
    }

    /// True for an empty grid.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Linear index `line · samples + sample` of a pixel.
    pub fn index(&self, line: usize, sample: usize) -> usize {
        line * self.samples + sample
    }

    /// `(line, sample)` of a linear pixel index (the inverse of [`Grid::index`]).
    pub fn line_sample(&self, index: usize) -> (usize, usize) {
        (index / self.samples, index % self.samples)
    }

    /// The pixels of the 3 × 3 window around `index` that lie in the grid, `index`
    /// itself included, row by row.
    pub fn window3(&self, index: usize) -> impl Iterator<Item = usize> {
        let (w, h) = (self.samples as isize, self.lines as isize);
        let (r, c) = (
            (index / self.samples) as isize,
            (index % self.samples) as isize,
        );
        (r - 1..=r + 1)
            .flat_map(move |rr| (c - 1..=c + 1).map(move |cc| (rr, cc)))
            .filter(move |&(rr, cc)| rr >= 0 && cc >= 0 && rr < h && cc < w)
            .map(move |(rr, cc)| (rr * w + cc) as usize)
    }

    /// Checks that a linear pixel index is inside the grid.
    pub fn check_index(&self, index: usize) -> Result<()> {
        if index >= self.len() {
            return Err(Error::Invalid(format!(
                "pixel index {index} is outside the {} × {} grid",
                self.lines, self.samples
            )));
        }
        Ok(())
    }

    /// Checks that a raster called `what` has `lines × samples` values.
    pub fn check(&self, what: &str, len: usize) -> Result<()> {
        if len != self.len() {
            return Err(Error::Shape {
                what: format!(
                    "{what} raster values (lines × samples = {} × {})",
                    self.lines, self.samples
                ),
                expected: self.len(),
                got: len,
            });
        }
        Ok(())
    }
}
