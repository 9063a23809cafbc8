//! Background statistics for the matched-filter family: mean, covariance and its
//! Cholesky factor, estimated once and handed to the detectors ("estimate once, apply
//! many times", as Spectral Python's `GaussianStats`).
//!
//! Two levels, as in faer:
//! - [`MomentAccumulator`] keeps shifted first and second moments in f64 and can add
//!   or remove single pixels or whole lines (the streaming mode processes lines as the
//!   sensor delivers them); [`MomentAccumulator::add_block`] is the fast path that
//!   multiplies blocks of f32 (or f64) pixels with faer and sums the products in f64.
//! - [`BackgroundStats`] is the finished estimate: mean, regularised covariance and
//!   its Cholesky factor, with solves.
//!
//! # Units
//! Mean in the units of the radiance (µW cm⁻² sr⁻¹ nm⁻¹), covariance in their square.
//!
//! # Array order
//! Pixels are rows of `bands` values (band fastest), as one line of a
//! [`crate::LineSource`]. Covariance matrices are `bands × bands`, row-major
//! (they are symmetric, so column-major reads the same).

use crate::{Error, Result};
use faer::linalg::matmul::triangular::{self as tri, BlockStructure};
use faer::{Accum, MatMut, MatRef, Par};

/// The floating-point types the detectors compute in: `f32` (default, fast) and
/// `f64` (reference-grade). Statistics are always accumulated and solved in f64.
pub trait Real:
    faer::traits::RealField
    + Copy
    + Send
    + Sync
    + Default
    + PartialOrd
    + std::fmt::Debug
    + std::ops::Add<Output = Self>
    + std::ops::Sub<Output = Self>
    + std::ops::Mul<Output = Self>
    + std::ops::Div<Output = Self>
    + std::ops::AddAssign
    + std::ops::SubAssign
    + 'static
{
    /// Converts from f64 (rounding for f32).
    fn from_f64(v: f64) -> Self;
    /// Converts to f64 (exact).
    fn to_f64(self) -> f64;
    /// Converts from f32 (exact).
    fn from_f32(v: f32) -> Self;
    /// Zero.
    fn zero_value() -> Self;
}

impl Real for f32 {
    fn from_f64(v: f64) -> Self {
        v as f32
    }
    fn to_f64(self) -> f64 {
        self as f64
    }
    fn from_f32(v: f32) -> Self {
        v
    }
    fn zero_value() -> Self {
        0.0
    }
}

impl Real for f64 {
    fn from_f64(v: f64) -> Self {
        v
    }
    fn to_f64(self) -> f64 {
        self
    }
    fn from_f32(v: f32) -> Self {
        v as f64
    }
    fn zero_value() -> Self {
        0.0
    }
}

/// Divisor of the covariance: the number of pixels `N` (maximum likelihood, as mag1c)
/// or `N − 1` (unbiased, as Spectral Python's `calc_stats`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Normalization {
    /// Divide by `N` (mag1c, `torch.bmm(xᵀ, x) / N`).
    Population,
    /// Divide by `N − 1`.
    #[default]
    Sample,
}

/// How the sample covariance is regularised before it is inverted.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum Regularization {
    /// Use the sample covariance as is.
    #[default]
    None,
    /// mag1c's diagonal blend: `C ← (1 − alpha)·C + alpha·diag(C)`, `alpha` in [0, 1]
    /// (`--covariance-lerp-alpha`; alpha 0 is the identity).
    DiagonalBlend {
        /// Weight of the diagonal, in [0, 1].
        alpha: f64,
    },
    /// Ledoit & Wolf (2004) shrinkage toward `(tr C / p)·I` with the optimal,
    /// data-derived intensity (needs the fourth moment `Σ‖x − μ‖⁴`).
    LedoitWolf,
}

impl Regularization {
    /// Checks the parameter range.
    pub fn validate(&self) -> Result<()> {
        if let Regularization::DiagonalBlend { alpha } = *self {
            if !(0.0..=1.0).contains(&alpha) {
                return Err(Error::Invalid(format!(
                    "covariance diagonal blend alpha {alpha} is outside [0, 1]"
                )));
            }
        }
        Ok(())
    }

    /// Applies the regularisation in place to the `p × p` covariance `cov` estimated
    /// from `n` pixels; `sum_norm4` is `Σ‖x − μ‖⁴` over those pixels (only read by
    /// [`Regularization::LedoitWolf`], which fails without it). Returns the shrinkage
    /// intensity used (0 for none).
    pub fn apply(&self, cov: &mut [f64], p: usize, n: f64, sum_norm4: Option<f64>) -> Result<f64> {
        match *self {
            Regularization::None => Ok(0.0),
            Regularization::DiagonalBlend { alpha } => {
                self.validate()?;
                for i in 0..p {
                    for j in 0..p {
                        if i != j {
                            cov[i * p + j] *= 1.0 - alpha;
                        }
                    }
                }
                Ok(alpha)
            }
            Regularization::LedoitWolf => {
                let s4 = sum_norm4.ok_or_else(|| {
                    Error::Invalid(
                        "Ledoit-Wolf shrinkage needs the fourth moment of the pixels".into(),
                    )
                })?;
                let trace: f64 = (0..p).map(|i| cov[i * p + i]).sum();
                let m = trace / p as f64;
                let fro2: f64 = cov.iter().map(|v| v * v).sum();
                // d² = ‖S − mI‖², b̄² = (1/n)·((1/n)Σ‖x‖⁴ − ‖S‖²) with S the
                // maximum-likelihood covariance (Ledoit & Wolf 2004, lemma 3.x).
                let d2 = fro2 - 2.0 * m * trace + m * m * p as f64;
                let bbar2 = ((s4 / n - fro2) / n).max(0.0);
                let rho = if d2 > 0.0 { (bbar2.min(d2)) / d2 } else { 1.0 };
                for i in 0..p {
                    for j in 0..p {
                        let v = &mut cov[i * p + j];
                        *v *= 1.0 - rho;
                        if i == j {
                            *v += rho * m;
                        }
                    }
                }
                Ok(rho)
            }
        }
    }
}

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

    /// Number of bands.
    pub fn bands(&self) -> usize {
        self.bands
    }

    /// Number of pixels accumulated.
    pub fn count(&self) -> u64 {
        self.n
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
        let first = (0..rows).find(|&r| include.is_none_or(|inc| inc[r]));
        let Some(first) = first else { return Ok(()) };
        self.ensure_shift(&pixels[first * b..(first + 1) * b]);
        let shift = self.shift.clone().expect("shift set");
        // Products and sums in f64: the f32 rounding of long sums of products is what
        // breaks f32 matched filters on ill-conditioned covariances.
        let mut buf: Vec<f64> = vec![0.0; BLOCK_ROWS * b];
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
                    acc.cross[i * b + j] += col[i];
                }
            }
            for row in buf[..m * b].chunks_exact(b) {
                for (s, d) in acc.sum.iter_mut().zip(row) {
                    *s += d;
                }
            }
        };
        for (r, px) in pixels.chunks_exact(b).enumerate() {
            if include.is_some_and(|inc| !inc[r]) {
                continue;
            }
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
        self.n += added;
        Ok(())
    }

    /// Adds everything another accumulator over the same bands holds.
    pub fn merge(&mut self, other: &Self) -> Result<()> {
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
                self.cross[i * b + j] += other.cross[i * b + j]
                    + delta[i] * other.sum[j]
                    + other.sum[i] * delta[j]
                    + on * delta[i] * delta[j];
            }
            self.sum[i] += other.sum[i] + on * delta[i];
        }
        self.n += other.n;
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

/// Cholesky factor `L` (lower, `C = L Lᵀ`) of a symmetric positive-definite matrix, in
/// f64, with solves. Factorisation and solves are faer's, sequential (the matrices
/// are small: the bands of one gas window).
#[derive(Debug, Clone, PartialEq)]
pub struct Cholesky {
    n: usize,
    /// Column-major `n × n`, lower triangle.
    l: Vec<f64>,
}

impl Cholesky {
    /// Factors the symmetric `n × n` matrix `a` (row-major; only the lower triangle is
    /// read). Fails with [`Error::Numerical`] when `a` is not positive definite.
    pub fn factor(a: &[f64], n: usize) -> Result<Self> {
        if a.len() != n * n {
            return Err(Error::Shape {
                what: "matrix values".into(),
                expected: n * n,
                got: a.len(),
            });
        }
        // Row-major lower == column-major upper; transpose into column-major lower.
        let mut l = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..=i {
                l[j * n + i] = a[i * n + j];
            }
        }
        let mut mem = faer::dyn_stack::MemBuffer::new(
            faer::linalg::cholesky::llt::factor::cholesky_in_place_scratch::<f64>(
                n,
                Par::Seq,
                Default::default(),
            ),
        );
        let stack = faer::dyn_stack::MemStack::new(&mut mem);
        let mat = MatMut::from_column_major_slice_mut(&mut l, n, n);
        faer::linalg::cholesky::llt::factor::cholesky_in_place(
            mat,
            Default::default(),
            Par::Seq,
            stack,
            Default::default(),
        )
        .map_err(|e| {
            Error::Numerical(format!(
                "background covariance ({n} × {n}) is not positive definite ({e:?}); \
                 use more pixels (a larger --group), fewer bands, or regularisation"
            ))
        })?;
        for j in 0..n {
            for i in 0..j {
                l[j * n + i] = 0.0;
            }
        }
        Ok(Self { n, l })
    }

    /// Dimension.
    pub fn dim(&self) -> usize {
        self.n
    }

    /// The factor as a faer matrix view.
    pub fn l(&self) -> MatRef<'_, f64> {
        MatRef::from_column_major_slice(&self.l, self.n, self.n)
    }

    /// Solves `C x = v` in place.
    pub fn solve_in_place(&self, v: &mut [f64]) {
        let n = self.n;
        let rhs = MatMut::from_column_major_slice_mut(v, n, 1);
        let mut mem = faer::dyn_stack::MemBuffer::new(faer::dyn_stack::StackReq::EMPTY);
        let stack = faer::dyn_stack::MemStack::new(&mut mem);
        faer::linalg::cholesky::llt::solve::solve_in_place(self.l(), rhs, Par::Seq, stack);
    }

    /// Solves `L y = v` in place (whitening: `‖y‖² = vᵀ C⁻¹ v`).
    pub fn solve_lower_in_place(&self, v: &mut [f64]) {
        let n = self.n;
        let rhs = MatMut::from_column_major_slice_mut(v, n, 1);
        faer::linalg::triangular_solve::solve_lower_triangular_in_place(self.l(), rhs, Par::Seq);
    }

    /// `C⁻¹ v` as a new vector.
    pub fn solve(&self, v: &[f64]) -> Vec<f64> {
        let mut x = v.to_vec();
        self.solve_in_place(&mut x);
        x
    }
}

/// Finished background statistics of one column group (or of the whole scene).
///
/// # Units
/// `mean` in radiance units, `covariance` in radiance units squared.
#[derive(Debug, Clone, PartialEq)]
pub struct BackgroundStats {
    /// Number of pixels the estimate rests on.
    pub count: u64,
    /// Mean spectrum over the window bands.
    pub mean: Vec<f64>,
    /// Regularised covariance, `bands × bands` row-major.
    pub covariance: Vec<f64>,
    /// Cholesky factor of `covariance`.
    pub cholesky: Cholesky,
}

impl BackgroundStats {
    /// Number of bands.
    pub fn bands(&self) -> usize {
        self.mean.len()
    }

    /// Finishes an accumulator: covariance with `norm`, regularisation `reg` (Ledoit–Wolf
    /// needs `sum_norm4 = Σ‖x − μ‖⁴`), Cholesky factor.
    pub fn from_moments(
        acc: &MomentAccumulator,
        norm: Normalization,
        reg: Regularization,
        sum_norm4: Option<f64>,
    ) -> Result<Self> {
        let mean = acc.mean()?;
        let mut covariance = acc.covariance(norm)?;
        let b = acc.bands();
        reg.apply(&mut covariance, b, acc.count() as f64, sum_norm4)?;
        let cholesky = Cholesky::factor(&covariance, b)?;
        Ok(Self {
            count: acc.count(),
            mean,
            covariance,
            cholesky,
        })
    }

    /// Estimates the statistics of the rows of `pixels` (`rows × bands`) flagged in
    /// `include` (all when `None`), with a second pass over the centred pixels for the
    /// Ledoit–Wolf fourth moment when `reg` asks for it.
    pub fn estimate<T: Real>(
        pixels: &[T],
        bands: usize,
        include: Option<&[bool]>,
        norm: Normalization,
        reg: Regularization,
    ) -> Result<Self> {
        let mut acc = MomentAccumulator::new(bands);
        acc.add_block(pixels, include)?;
        let s4 = if reg == Regularization::LedoitWolf {
            let mean = acc.mean()?;
            let mut s4 = 0.0;
            for (r, px) in pixels.chunks_exact(bands).enumerate() {
                if include.is_some_and(|inc| !inc[r]) {
                    continue;
                }
                let q: f64 = px
                    .iter()
                    .zip(&mean)
                    .map(|(v, m)| (v.to_f64() - m).powi(2))
                    .sum();
                s4 += q * q;
            }
            Some(s4)
        } else {
            None
        };
        Self::from_moments(&acc, norm, reg, s4)
    }

    /// `C⁻¹ v`.
    pub fn solve(&self, v: &[f64]) -> Vec<f64> {
        self.cholesky.solve(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lcg(seed: &mut u64) -> f64 {
        *seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((*seed >> 11) as f64) / ((1u64 << 53) as f64) - 0.5
    }

    fn pixels(n: usize, b: usize) -> Vec<f64> {
        let mut s = 7u64;
        (0..n * b)
            .map(|i| 10.0 + (i % b) as f64 + lcg(&mut s))
            .collect()
    }

    fn naive(px: &[f64], b: usize) -> (Vec<f64>, Vec<f64>) {
        let n = px.len() / b;
        let mut m = vec![0.0; b];
        for p in px.chunks(b) {
            for k in 0..b {
                m[k] += p[k] / n as f64;
            }
        }
        let mut c = vec![0.0; b * b];
        for p in px.chunks(b) {
            for i in 0..b {
                for j in 0..b {
                    c[i * b + j] += (p[i] - m[i]) * (p[j] - m[j]) / (n as f64 - 1.0);
                }
            }
        }
        (m, c)
    }

    #[test]
    fn block_pixel_and_merge_agree_with_two_pass() {
        let b = 5;
        let px = pixels(700, b);
        let (m, c) = naive(&px, b);
        let mut blk = MomentAccumulator::new(b);
        blk.add_block(&px, None).unwrap();
        let mut one = MomentAccumulator::new(b);
        for p in px.chunks(b) {
            one.add_pixel(p).unwrap();
        }
        let mut a = MomentAccumulator::new(b);
        a.add_block(&px[..300 * b], None).unwrap();
        let mut bb = MomentAccumulator::new(b);
        bb.add_block(&px[300 * b..], None).unwrap();
        a.merge(&bb).unwrap();
        for acc in [&blk, &one, &a] {
            let mm = acc.mean().unwrap();
            let cc = acc.covariance(Normalization::Sample).unwrap();
            for k in 0..b {
                assert!((mm[k] - m[k]).abs() < 1e-12);
            }
            for k in 0..b * b {
                assert!((cc[k] - c[k]).abs() < 1e-12, "{} vs {}", cc[k], c[k]);
            }
        }
    }

    #[test]
    fn removing_a_line_restores_the_statistics() {
        let b = 4;
        let px = pixels(50, b);
        let mut acc = MomentAccumulator::new(b);
        acc.add_block(&px[..40 * b], None).unwrap();
        let before = acc.covariance(Normalization::Population).unwrap();
        let inc = vec![true; 10];
        acc.add_line(&px[40 * b..], &inc).unwrap();
        acc.remove_line(&px[40 * b..], &inc).unwrap();
        let after = acc.covariance(Normalization::Population).unwrap();
        for (x, y) in before.iter().zip(&after) {
            assert!((x - y).abs() < 1e-12);
        }
    }

    #[test]
    fn cholesky_solves() {
        let b = 6;
        let px = pixels(100, b);
        let st =
            BackgroundStats::estimate(&px, b, None, Normalization::Sample, Regularization::None)
                .unwrap();
        let v: Vec<f64> = (0..b).map(|i| i as f64 - 2.0).collect();
        let x = st.solve(&v);
        for (i, vi) in v.iter().enumerate() {
            let r: f64 = (0..b).map(|j| st.covariance[i * b + j] * x[j]).sum();
            assert!((r - vi).abs() < 1e-9);
        }
    }

    #[test]
    fn ledoit_wolf_shrinks_toward_scaled_identity() {
        let b = 8;
        let px = pixels(12, b);
        let st = BackgroundStats::estimate(
            &px,
            b,
            None,
            Normalization::Population,
            Regularization::LedoitWolf,
        )
        .unwrap();
        // With 12 pixels in 8 bands the sample covariance is nearly singular; the
        // shrunk one is well conditioned and keeps the trace.
        let raw = BackgroundStats::estimate(
            &px,
            b,
            None,
            Normalization::Population,
            Regularization::DiagonalBlend { alpha: 0.0 },
        )
        .unwrap();
        let tr = |c: &[f64]| (0..b).map(|i| c[i * b + i]).sum::<f64>();
        assert!((tr(&st.covariance) - tr(&raw.covariance)).abs() < 1e-9);
        let off = |c: &[f64]| c[1].abs();
        assert!(off(&st.covariance) < off(&raw.covariance));
    }
}
