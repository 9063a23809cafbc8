//! A numpy array (line, sample, band) as a [`LineSource`], read in place.

use numpy::ndarray::{ArrayView3, Axis};
use plumewatch_core::{Error, LineSource, Result};

/// A borrowed `float32` array in (line, sample, band) order, any strides (a transposed
/// memory map of a BIL file reads in place). Values equal to `nodata` read as NaN, as
/// the ENVI reader returns its `data ignore value`.
pub struct ArrayCube<'a> {
    view: ArrayView3<'a, f32>,
    nodata: Option<f32>,
}

impl<'a> ArrayCube<'a> {
    /// Wraps `view`; `nodata` is the raw value that marks missing pixels.
    pub fn new(view: ArrayView3<'a, f32>, nodata: Option<f32>) -> Self {
        Self { view, nodata }
    }
}

impl LineSource for ArrayCube<'_> {
    fn lines(&self) -> usize {
        self.view.shape()[0]
    }

    fn samples(&self) -> usize {
        self.view.shape()[1]
    }

    fn bands(&self) -> usize {
        self.view.shape()[2]
    }

    fn read_line(&self, line: usize, bands: &[usize], out: &mut [f32]) -> Result<()> {
        self.read_line_cols(line, 0..self.samples(), bands, out)
    }

    fn read_line_cols(
        &self,
        line: usize,
        cols: std::ops::Range<usize>,
        bands: &[usize],
        out: &mut [f32],
    ) -> Result<()> {
        let nb = bands.len();
        if line >= self.lines() {
            return Err(Error::Invalid(format!(
                "line {line} is outside 0..{}",
                self.lines()
            )));
        }
        if cols.start > cols.end || cols.end > self.samples() {
            return Err(Error::Invalid(format!(
                "sample range {}..{} is outside 0..{}",
                cols.start,
                cols.end,
                self.samples()
            )));
        }
        if let Some(&b) = bands.iter().find(|&&b| b >= self.bands()) {
            return Err(Error::Invalid(format!(
                "band index {b} is outside 0..{}",
                self.bands()
            )));
        }
        if out.len() != cols.len() * nb {
            return Err(Error::Shape {
                what: "line buffer".into(),
                expected: cols.len() * nb,
                got: out.len(),
            });
        }
        let row = self.view.index_axis(Axis(0), line);
        for (s, px) in cols.zip(out.chunks_exact_mut(nb.max(1))) {
            let pixel = row.index_axis(Axis(0), s);
            for (o, &b) in px.iter_mut().zip(bands) {
                let v = pixel[b];
                *o = if Some(v) == self.nodata { f32::NAN } else { v };
            }
        }
        Ok(())
    }

    fn cheap_column_reads(&self) -> bool {
        true
    }
}
