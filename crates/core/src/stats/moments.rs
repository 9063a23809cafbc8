//! Shifted first and second moments of pixels that grow and shrink a pixel, a line or
//! a block at a time.

use super::{Normalization, Real};
use crate::{Error, Result};
use faer::linalg::matmul::triangular::{self as tri, BlockStructure};
use faer::{Accum, MatRef, Par};

/// Shifted first and second moments of a set of pixels, in f64, that can grow and
/// shrink one pixel, one line or one block at a time.
///
/// The shift (the first pixel ever added) keeps the sums small so that removing
/// pixels and the final `Σxxᵀ − n·x̄x̄ᵀ` do not cancel catastrophically.
#[derive(Debug, Clone, PartialEq)]
pub struct MomentAccumulator {
    bands: usize,
    shift: Option<Vec<f64>>,
    n: u64,
    sum: Vec<f64>,
    /// Lower triangle (row-major `bands × bands`, upper part unused) of Σ(x−s)(x−s)ᵀ.
    cross: Vec<f64>,
}

/// Rows per block in [`MomentAccumulator::add_block`].
pub const BLOCK_ROWS: usize = 1024;

impl MomentAccumulator {
    /// An empty accumulator over `bands` bands.
    pub fn new(bands: usize) -> Self {
        Self {
            bands,
            shift: None,
            n: 0,
            sum: vec![0.0; bands],
            cross: vec![0.0; bands * bands],
        }
    }

    /// An empty accumulator whose sums are kept about `shift` (for pixels that are
    /// already centred, a shift of zeros).
    pub fn with_shift(shift: Vec<f64>) -> Self {
        let mut acc = Self::new(shift.len());
        acc.shift = Some(shift);
        acc
    }

    /// An accumulator holding `n` pixels whose sums about `shift` are `sum` and
    /// `cross` (the lower triangle, row-major `bands × bands`), as
    /// [`MomentAccumulator::sums`] gives them: for callers that keep such sums
    /// themselves (a stream's statistics before any forgetting).
    pub fn from_sums(shift: Vec<f64>, n: u64, sum: Vec<f64>, cross: Vec<f64>) -> Result<Self> {
        let bands = shift.len();
        if sum.len() != bands {
            return Err(Error::Shape {
                what: "moment sums (one per band)".into(),
                expected: bands,
                got: sum.len(),
            });
        }
        if cross.len() != bands * bands {
            return Err(Error::Shape {
                what: "moment cross products (bands × bands)".into(),
                expected: bands * bands,
                got: cross.len(),
            });
        }
        Ok(Self {
            bands,
            shift: Some(shift),
            n,
            sum,
            cross,
        })
    }

    /// Moments of pixels that were accumulated with `centre` subtracted (`x − centre`),
    /// re-expressed as moments of the pixels `x` themselves: the sums stay, the shift
    /// moves by `centre`.
    pub fn uncentred(mut self, centre: &[f64]) -> Result<Self> {
        self.check(centre.len())?;
        if let Some(s) = self.shift.as_mut() {
            for (v, c) in s.iter_mut().zip(centre) {
                *v += c;
            }
        }
        Ok(self)
    }

    /// Number of bands.
    pub fn bands(&self) -> usize {
        self.bands
    }

    /// Number of pixels accumulated.
    pub fn count(&self) -> u64 {
        self.n
    }

    /// The shift (`None` before the first pixel), the sum of `x − shift` and the lower
    /// triangle (row-major `bands × bands`) of Σ(x − shift)(x − shift)ᵀ, for callers
    /// that weight blocks of moments (a stream's exponential forgetting).
    pub fn sums(&self) -> (Option<&[f64]>, &[f64], &[f64]) {
        (self.shift.as_deref(), &self.sum, &self.cross)
    }

    fn check(&self, px: usize) -> Result<()> {
        if px != self.bands {
            return Err(Error::Shape {
                what: "pixel values (one per band)".into(),
                expected: self.bands,
                got: px,
            });
        }
        Ok(())
    }

    fn ensure_shift<T: Real>(&mut self, first: &[T]) {
        if self.shift.is_none() {
            self.shift = Some(first.iter().map(|v| v.to_f64()).collect());
        }
    }

    fn update<T: Real>(&mut self, pixel: &[T], sign: f64) {
        let b = self.bands;
        let shift = self.shift.as_ref().expect("shift set");
        let d: Vec<f64> = pixel
            .iter()
            .zip(shift)
            .map(|(v, s)| v.to_f64() - s)
            .collect();
        for i in 0..b {
            self.sum[i] += sign * d[i];
            let row = &mut self.cross[i * b..i * b + i + 1];
            for (j, c) in row.iter_mut().enumerate() {
                *c += sign * d[i] * d[j];
            }
        }
    }

    /// Adds one pixel (`bands` values). Non-finite values are the caller's to exclude.
    pub fn add_pixel<T: Real>(&mut self, pixel: &[T]) -> Result<()> {
        self.check(pixel.len())?;
        self.ensure_shift(pixel);
        self.update(pixel, 1.0);
        self.n += 1;
        Ok(())
    }

    /// Removes one pixel that was added before.
    pub fn remove_pixel<T: Real>(&mut self, pixel: &[T]) -> Result<()> {
        self.check(pixel.len())?;
        if self.n == 0 {
            return Err(Error::Invalid(
                "cannot remove a pixel from empty background statistics".into(),
            ));
        }
        self.update(pixel, -1.0);
        self.n -= 1;
        Ok(())
    }

    /// Adds the pixels of one line (`samples × bands`, band fastest) for which
    /// `include[s]` is true.
    pub fn add_line<T: Real>(&mut self, line: &[T], include: &[bool]) -> Result<()> {
        self.line_op(line, include, true)
    }

    /// Removes the pixels of one line that [`Self::add_line`] added with the same
    /// `include` flags.
    pub fn remove_line<T: Real>(&mut self, line: &[T], include: &[bool]) -> Result<()> {
        self.line_op(line, include, false)
    }

    fn line_op<T: Real>(&mut self, line: &[T], include: &[bool], add: bool) -> Result<()> {
        if line.len() != include.len() * self.bands {
            return Err(Error::Shape {
                what: "line values (samples × bands)".into(),
                expected: include.len() * self.bands,
                got: line.len(),
            });
        }
        for (px, &inc) in line.chunks_exact(self.bands.max(1)).zip(include) {
            if inc {
                if add {
                    self.add_pixel(px)?;
                } else {
                    self.remove_pixel(px)?;
                }
            }
        }
        Ok(())
    }

    /// Adds the rows of `pixels` (`rows × bands`, band fastest) whose `include` flag is
    /// true (all rows when `include` is `None`). Pixels are converted to f64 and their
    /// products formed with faer on blocks of [`BLOCK_ROWS`] pixels (lower triangle
    /// only), so the statistics are f64 whatever `T` is.
    ///
    /// # Cost
    /// `rows × bands² / 2` multiply-adds.
    pub fn add_block<T: Real>(&mut self, pixels: &[T], include: Option<&[bool]>) -> Result<()> {
        self.block_update(pixels, include, 1.0)
    }

    /// Removes the rows of `pixels` that an earlier [`MomentAccumulator::add_block`]
    /// (or `add_pixel`) added: the block form of `remove_pixel`, at the cost of
    /// `add_block`.
    pub fn remove_block<T: Real>(&mut self, pixels: &[T]) -> Result<()> {
        let rows = pixels.len() / self.bands.max(1);
        if rows as u64 > self.n {
            return Err(Error::Invalid(format!(
                "cannot remove {rows} pixels from background statistics of {}",
                self.n
            )));
        }
        if rows > 0 && self.shift.is_none() {
            return Err(Error::Invalid(
                "cannot remove pixels from empty background statistics".into(),
            ));
        }
        self.block_update(pixels, None, -1.0)
    }

    /// Adds (`sign` 1) or removes (`sign` −1) a block of pixels.
    fn block_update<T: Real>(
        &mut self,
        pixels: &[T],
        include: Option<&[bool]>,
        sign: f64,
    ) -> Result<()> {
        let b = self.bands;
        if b == 0 || pixels.len() % b != 0 {
            return Err(Error::Shape {
                what: "pixel block values (a multiple of the band count)".into(),
                expected: b,
                got: pixels.len(),
            });
        }
        let rows = pixels.len() / b;
        if let Some(inc) = include {
            if inc.len() != rows {
                return Err(Error::Shape {
                    what: "include flags (one per pixel)".into(),
                    expected: rows,
                    got: inc.len(),
                });
            }
        }
        let included = pixels
            .chunks_exact(b)
            .enumerate()
            .filter(|(r, _)| include.is_none_or(|inc| inc[*r]))
            .map(|(_, px)| px);
        self.rows_update(included, rows, sign)
    }

    /// Adds the pixels `rows` (each `bands` values): [`MomentAccumulator::add_block`]
    /// for pixels that are not side by side in memory (one column of many lines), the
    /// same sums in the same order.
    pub fn add_rows<T: Real>(&mut self, rows: &[&[T]]) -> Result<()> {
        if let Some(bad) = rows.iter().find(|px| px.len() != self.bands) {
            return Err(Error::Shape {
                what: "pixel values (one per band)".into(),
                expected: self.bands,
                got: bad.len(),
            });
        }
        self.rows_update(rows.iter().copied(), rows.len(), 1.0)
    }

    /// Adds (`sign` 1) or removes (`sign` −1) the pixels `rows` gives (each `bands`
    /// values; at most about `rows_hint` of them, which sizes the scratch block).
    fn rows_update<'a, T: Real + 'a>(
        &mut self,
        rows: impl Iterator<Item = &'a [T]>,
        rows_hint: usize,
        sign: f64,
    ) -> Result<()> {
        let b = self.bands;
        let mut rows = rows.peekable();
        let Some(first) = rows.peek() else {
            return Ok(());
        };
        self.ensure_shift(first);
        let shift = self.shift.clone().expect("shift set");
        // Products and sums in f64: the f32 rounding of long sums of products is what
        // breaks f32 matched filters on ill-conditioned covariances.
        // A scratch block kept per thread: a fresh one of this size per call was
        // zeroed and page-faulted in every time (the stream folds 600 columns each
        // refresh).
        thread_local! {
            static SCRATCH: std::cell::Cell<Vec<f64>> = const { std::cell::Cell::new(Vec::new()) };
        }
        let mut buf = SCRATCH.take();
        buf.resize(buf.len().max(rows_hint.min(BLOCK_ROWS) * b), 0.0);
        let mut filled = 0usize;
        let mut prod = faer::Mat::<f64>::zeros(b, b);
        let mut added = 0u64;
        let mut flush = |buf: &[f64], m: usize, acc: &mut Self| {
            if m == 0 {
                return;
            }
            let a = MatRef::from_row_major_slice(&buf[..m * b], m, b);
            tri::matmul(
                prod.as_mut(),
                BlockStructure::TriangularLower,
                Accum::Replace,
                a.transpose(),
                BlockStructure::Rectangular,
                a,
                BlockStructure::Rectangular,
                1.0,
                Par::Seq,
            );
            for j in 0..b {
                let col = prod.col(j);
                for i in j..b {
                    acc.cross[i * b + j] += sign * col[i];
                }
            }
            for row in buf[..m * b].chunks_exact(b) {
                for (s, d) in acc.sum.iter_mut().zip(row) {
                    *s += sign * d;
                }
            }
        };
        for px in rows {
            let dst = &mut buf[filled * b..(filled + 1) * b];
            for ((o, v), s) in dst.iter_mut().zip(px).zip(&shift) {
                *o = v.to_f64() - s;
            }
            filled += 1;
            added += 1;
            if filled == BLOCK_ROWS {
                flush(&buf, filled, self);
                filled = 0;
            }
        }
        flush(&buf, filled, self);
        SCRATCH.set(buf);
        if sign > 0.0 {
            self.n += added;
        } else {
            self.n -= added;
        }
        Ok(())
    }

    /// Adds everything another accumulator over the same bands holds.
    pub fn merge(&mut self, other: &Self) -> Result<()> {
        self.combine(other, 1.0)
    }

    /// Removes everything `other` holds, which must be a subset of the pixels this
    /// accumulator holds (for example one class of a column whose moments over every
    /// class are known): the accumulator form of [`MomentAccumulator::remove_block`].
    pub fn subtract(&mut self, other: &Self) -> Result<()> {
        if other.n > self.n {
            return Err(Error::Invalid(format!(
                "cannot remove {} pixels from background statistics of {}",
                other.n, self.n
            )));
        }
        self.combine(other, -1.0)
    }

    /// Adds (`sign` 1) or removes (`sign` −1) another accumulator's pixels.
    fn combine(&mut self, other: &Self, sign: f64) -> Result<()> {
        self.check(other.bands)?;
        let Some(os) = other.shift.as_ref() else {
            return Ok(());
        };
        if self.shift.is_none() {
            *self = other.clone();
            return Ok(());
        }
        let b = self.bands;
        let s = self.shift.as_ref().expect("shift set");
        // Other's sums about its shift os, moved to our shift s: δ = os − s.
        let delta: Vec<f64> = os.iter().zip(s).map(|(a, b)| a - b).collect();
        let on = other.n as f64;
        for i in 0..b {
            for j in 0..=i {
                self.cross[i * b + j] += sign
                    * (other.cross[i * b + j]
                        + delta[i] * other.sum[j]
                        + other.sum[i] * delta[j]
                        + on * delta[i] * delta[j]);
            }
            self.sum[i] += sign * (other.sum[i] + on * delta[i]);
        }
        if sign > 0.0 {
            self.n += other.n;
        } else {
            self.n -= other.n;
        }
        Ok(())
    }

    /// Mean of the accumulated pixels.
    pub fn mean(&self) -> Result<Vec<f64>> {
        if self.n == 0 {
            return Err(Error::Invalid(
                "background statistics over zero pixels: every pixel is masked".into(),
            ));
        }
        let s = self.shift.as_ref().expect("shift set");
        Ok(self
            .sum
            .iter()
            .zip(s)
            .map(|(v, s)| s + v / self.n as f64)
            .collect())
    }

    /// Covariance (`bands × bands`, row-major, symmetric) with the given divisor.
    pub fn covariance(&self, norm: Normalization) -> Result<Vec<f64>> {
        let b = self.bands;
        let n = self.n as f64;
        let div = match norm {
            Normalization::Population => n,
            Normalization::Sample => n - 1.0,
        };
        if div <= 0.0 {
            return Err(Error::Invalid(format!(
                "background covariance needs more pixels than {} (bands: {b})",
                self.n
            )));
        }
        let m: Vec<f64> = self.sum.iter().map(|v| v / n).collect();
        let mut cov = vec![0.0; b * b];
        for i in 0..b {
            for j in 0..=i {
                let v = (self.cross[i * b + j] - n * m[i] * m[j]) / div;
                cov[i * b + j] = v;
                cov[j * b + i] = v;
            }
        }
        Ok(cov)
    }
}
