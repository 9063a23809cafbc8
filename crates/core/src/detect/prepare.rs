//! Preparation of one group of pixels: centring in place, background statistics
//! ([`crate::stats`]) and the projections every detector starts from.

use crate::stats::{BackgroundStats, Normalization, Real, Regularization};
use crate::{Error, Result};
use faer::{Accum, Mat, MatRef, Par};
use rayon::prelude::*;

/// Rows per block in the pixel kernels (a block of f32 pixels in 72 bands is 288 KiB).
const CHUNK_ROWS: usize = 1024;

/// Centred pixels of one group and their background statistics, shared by the
/// detectors.
pub(crate) struct Prepared<'a, T: Real> {
    /// Bands.
    pub b: usize,
    /// Rows (pixels).
    pub rows: usize,
    /// `x − μ_T` per pixel (`rows × b`), zero rows where there is no output.
    pub xc: &'a [T],
    /// Pixels in the statistics.
    pub in_stats: &'a [bool],
    /// Background statistics (f64; `mean` is the mean radiance).
    pub stats: BackgroundStats,
    /// `μ_T − μ` (what was subtracted minus the f64 mean), added back in f64 to every
    /// projection.
    pub mean_rounding: Vec<f64>,
    /// Mean of `xc` over the pixels in the statistics (`μ − μ_T` up to rounding), f64.
    pub mean_xc: Vec<f64>,
    /// Split the pixel loops over threads (one big group) or not (many groups).
    pub parallel: bool,
    /// Moments of the centred pixels in the statistics (`x − μ_T`, shift zero).
    pub moments: crate::stats::MomentAccumulator,
}

/// Rows per parallel task when one group is split over threads.
const PAR_ROWS: usize = 8 * CHUNK_ROWS;

/// Sums `f` over blocks of `step` rows of `xc` (with their first row index), in
/// parallel when `parallel`.
fn fold_rows<T: Real, R: Send>(
    xc: &[T],
    b: usize,
    step: usize,
    parallel: bool,
    f: impl Fn(usize, &[T]) -> R + Sync + Send,
) -> Vec<R> {
    if parallel {
        xc.par_chunks(step * b)
            .enumerate()
            .map(|(i, c)| f(i * step, c))
            .collect()
    } else {
        xc.chunks(step * b)
            .enumerate()
            .map(|(i, c)| f(i * step, c))
            .collect()
    }
}

/// Centres one group's pixels in place and estimates their background statistics.
///
/// `px` holds `has_output.len()` rows of `b` values from which `base` (per band, f64)
/// has already been subtracted (zeros on the first call); on return `px` holds
/// `x − μ_T` (`μ_T` the f64 mean rounded to `T`; rows without output are zeroed) and
/// `base` holds `μ_T`. Calling it again after changing `in_stats` re-centres about the
/// new mean (the second, plume-free pass) without the original pixels.
#[allow(clippy::too_many_arguments)]
pub(crate) fn prepare<'a, T: Real>(
    px: &'a mut [T],
    base: &mut [f64],
    b: usize,
    has_output: &[bool],
    in_stats: &'a [bool],
    norm: Normalization,
    reg: Regularization,
    parallel: bool,
) -> Result<Prepared<'a, T>> {
    let rows = has_output.len();
    // 1. Mean of the rows in the statistics (f64 sums of the stored values).
    let parts = fold_rows(px, b, PAR_ROWS, parallel, |r0, chunk| {
        let mut acc = vec![0.0f64; b];
        let mut n = 0u64;
        for (i, row) in chunk.chunks_exact(b).enumerate() {
            if in_stats[r0 + i] {
                for (a, v) in acc.iter_mut().zip(row) {
                    *a += v.to_f64();
                }
                n += 1;
            }
        }
        (acc, n)
    });
    let mut m = vec![0.0f64; b];
    let mut n = 0u64;
    for (acc, k) in parts {
        for (a, v) in m.iter_mut().zip(acc) {
            *a += v;
        }
        n += k;
    }
    if n == 0 {
        return Err(Error::Invalid(
            "background statistics over zero pixels: every pixel is masked".into(),
        ));
    }
    for v in m.iter_mut() {
        *v /= n as f64;
    }
    let mean: Vec<f64> = base.iter().zip(&m).map(|(a, v)| a + v).collect();
    let m_t: Vec<T> = m.iter().map(|&v| T::from_f64(v)).collect();
    // 2. Centre in place (rows without output zeroed: they may hold NaN).
    let center = |(row, &out): (&mut [T], &bool)| {
        if out {
            for (v, c) in row.iter_mut().zip(&m_t) {
                *v -= *c;
            }
        } else {
            row.fill(T::zero_value());
        }
    };
    if parallel {
        px.par_chunks_mut(b)
            .zip(has_output.par_iter())
            .for_each(center);
    } else {
        px.chunks_mut(b).zip(has_output.iter()).for_each(center);
    }
    for (a, c) in base.iter_mut().zip(&m_t) {
        *a += c.to_f64();
    }
    let mean_rounding: Vec<f64> = base.iter().zip(&mean).map(|(a, m)| a - m).collect();
    // 3. Second moments of the centred rows, accumulated in f64.
    let xc: &'a [T] = px;
    let parts = fold_rows(xc, b, PAR_ROWS, parallel, |r0, chunk| {
        let mut acc = crate::stats::MomentAccumulator::with_shift(vec![0.0; b]);
        let inc = &in_stats[r0..r0 + chunk.len() / b];
        // Products in f64 even for f32 pixels: f32 products of centred radiance
        // failed the mag1c f32 parity test (r 0.9895 on emit_small), and so did f32
        // partial sums over 128 pixels added in f64 (r 0.99978 on avng_small; mf per
        // column P99 |Δ| 12 ppm·m against Spectral Python, 0.008 with f64 products).
        acc.add_block(chunk, Some(inc)).map(|_| acc)
    });
    let mut acc = crate::stats::MomentAccumulator::with_shift(vec![0.0; b]);
    for part in parts {
        acc.merge(&part?)?;
    }
    let s4 = (reg == Regularization::LedoitWolf).then(|| {
        let mc = acc.mean().unwrap_or_else(|_| vec![0.0; b]);
        xc.chunks_exact(b)
            .zip(in_stats)
            .filter(|(_, &inc)| inc)
            .map(|(row, _)| {
                let q: f64 = row
                    .iter()
                    .zip(&mc)
                    .map(|(v, c)| (v.to_f64() - c).powi(2))
                    .sum();
                q * q
            })
            .sum::<f64>()
    });
    let mut stats = BackgroundStats::from_moments(&acc, norm, reg, s4)?;
    let moments = acc;
    // The moments are of the centred pixels: their mean is μ − μ_T up to rounding.
    let mean_xc = std::mem::replace(&mut stats.mean, mean);
    Ok(Prepared {
        b,
        rows,
        xc,
        in_stats,
        stats,
        mean_rounding,
        mean_xc,
        parallel,
        moments,
    })
}

impl<T: Real> Prepared<'_, T> {
    /// Runs `f(first_row, chunk)` over blocks of rows, in parallel when the group is
    /// large, and returns the results in row order.
    pub(crate) fn map_chunks<R: Send>(&self, f: impl Fn(usize, &[T]) -> R + Sync + Send) -> Vec<R> {
        fold_rows(self.xc, self.b, CHUNK_ROWS, self.parallel, f)
    }

    /// Projections `xc_p · v_j` (f64, with the mean-rounding correction) of every pixel
    /// on the given vectors: `out[j][p]`.
    pub(crate) fn project(&self, vecs: &[&[f64]]) -> Vec<Vec<f64>> {
        let k = vecs.len();
        let w = Mat::<T>::from_fn(self.b, k, |i, j| T::from_f64(vecs[j][i]));
        let corr: Vec<f64> = vecs
            .iter()
            .map(|v| v.iter().zip(&self.mean_rounding).map(|(a, b)| a * b).sum())
            .collect();
        let parts = self.map_chunks(|_, chunk| {
            let m = chunk.len() / self.b;
            let a = MatRef::from_row_major_slice(chunk, m, self.b);
            let mut out = Mat::<T>::zeros(m, k);
            faer::linalg::matmul::matmul(
                out.as_mut(),
                Accum::Replace,
                a,
                w.as_ref(),
                T::from_f64(1.0),
                Par::Seq,
            );
            out
        });
        let mut res = vec![Vec::with_capacity(self.rows); k];
        for part in parts {
            for (j, r) in res.iter_mut().enumerate() {
                r.extend((0..part.nrows()).map(|i| part[(i, j)].to_f64() + corr[j]));
            }
        }
        res
    }

    /// Albedo factor `xᵀμ / μᵀμ` of every pixel.
    pub(crate) fn albedo(&self) -> Vec<f64> {
        let mu = &self.stats.mean;
        let mm: f64 = mu.iter().map(|v| v * v).sum();
        let proj = self.project(&[mu]);
        proj[0].iter().map(|p| 1.0 + p / mm).collect()
    }
}

/// Dot product of two f64 vectors.
pub(crate) fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}
