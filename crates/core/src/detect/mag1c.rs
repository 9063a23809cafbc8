//! mag1c: the albedo-corrected, reweighted-ℓ1 sparse matched filter of Foote et al.
//! 2020 ("Fast and Accurate Retrieval of Methane Concentration From Imaging
//! Spectrometer Data Using Sparsity Prior", IEEE TGRS, doi:10.1109/TGRS.2020.2976888),
//! reproduced from the published method of mag1c 1.2.0 (`acrwl1mf`, BSD-3).
//!
//! # Method (what is reproduced)
//! With `S` the pixels in the statistics (`n` of them), template `a = unit absorption
//! × 10⁵` and `ε = 10⁻⁹`:
//! 1. `μ = mean_S(x)`, `C = (1/n)·Σ_S (x − μ)(x − μ)ᵀ` (divisor N, not N − 1), optional
//!    diagonal blend; albedo factor `R = xᵀμ / μᵀμ` (fixed from here on); target
//!    `t = a ⊙ μ`; `α = (x − μ)ᵀC⁻¹t / (R·tᵀC⁻¹t)`, clipped at 0.
//! 2. Each of the iterations: weights `r = 1 / (R·(α + ε))`; statistics of the
//!    signal-removed data `x' = x − c·R·α·t` over `S` (`c` the covariance-update
//!    scaling, `t` the previous target): `μ' = mean_S(x')`, `C' = cov_S(x')`; new target
//!    `t' = a ⊙ μ'`; normaliser `max(t'ᵀC'⁻¹t', 1)`;
//!    `α = max(((x − μ')ᵀC'⁻¹t' − r) / (R·normaliser), 0)`.
//! 3. Enhancement `10⁵·α` ppm·m.
//!
//! # Exact rank-2 covariance update
//! With `s_p = c·R_p·α_p` on `S`, `s̄ = mean_S(s)`, `d_p = x_p − μ`:
//! `x'_p − μ' = d_p − (s_p − s̄)·t`, hence
//! `μ' = μ − s̄·t` and `C' = C − g tᵀ − t gᵀ + v t tᵀ` with
//! `g = (1/n)·Σ_S s_p d_p` and `v = (1/n)·Σ_S (s_p − s̄)²`.
//! `C'` is `C` plus a rank-2 term `U K Uᵀ` (`U = [t, g]`, `K = [[v, −1], [−1, 0]]`), so
//! `C'⁻¹t'` follows from the Cholesky factor of `C` by the Woodbury identity
//! `C'⁻¹ = C⁻¹ − C⁻¹U (I + K UᵀC⁻¹U)⁻¹ K UᵀC⁻¹` (three solves, O(bands²)). Each
//! iteration is then one pass over the pixels (the projection `(x − μ)·C'⁻¹t'` and the
//! sum `Σ s_p d_p` for the next update), O(pixels × bands), instead of mag1c's
//! O(pixels × bands²) covariance recomputation. With a diagonal blend the blended
//! update is formed explicitly (`O(bands³)` per iteration for its Cholesky factor).
//!
//! # Absorbing zeros
//! With sparsity on, a pixel whose α is 0 gets the weight `r = 1/(R·ε) = 10⁹/R`, far
//! above any projection, so its α stays 0. Each iteration checks this for every pixel at
//! once with a Cauchy–Schwarz bound (`R_p·(‖x_p − μ_T‖·‖C'⁻¹t'‖ + |corr|) < 10⁹/2`) and
//! then evaluates only the pixels still non-zero (and those with `R ≤ 0`); when the
//! bound fails, every pixel is evaluated. The result is the same as evaluating all
//! pixels (the `--f64` parity with mag1c stays exact), at a cost that falls with the
//! number of non-zero pixels.

use super::{dot, Mag1cParams, Prepared, RawOutputs, TEMPLATE_SCALING};
use crate::stats::{Cholesky, Real, Regularization};
use crate::{Error, Result};
use rayon::prelude::*;

const EPSILON: f64 = 1e-9;

/// Sums over one share of a pass for the next covariance update.
struct PassResult {
    /// Σ_S s_p · xc_p.
    q: Vec<f64>,
    /// Σ_S s_p.
    s1: f64,
    /// Σ_S s_p².
    s2: f64,
}

/// Runs mag1c on prepared pixels; see the module docs.
pub(crate) fn run<T: Real>(
    prep: &Prepared<'_, T>,
    template: &[f64],
    p: &Mag1cParams,
    reg: Regularization,
) -> Result<RawOutputs> {
    let woodbury = match reg {
        Regularization::None => true,
        Regularization::DiagonalBlend { alpha } => alpha == 0.0,
        Regularization::LedoitWolf => {
            return Err(Error::Invalid(
                "Ledoit-Wolf shrinkage is not available with the mag1c detector; \
                 use the diagonal blend (mag1c's covariance lerp alpha) or none"
                    .into(),
            ))
        }
    };
    let b = prep.b;
    let n = prep.in_stats.iter().filter(|v| **v).count() as f64;
    let mu0 = prep.stats.mean.clone();
    let albedo: Vec<f64> = if p.albedo_correction {
        prep.albedo()
    } else {
        vec![1.0; prep.rows]
    };
    // m_xc = mean_S(x − μ_T): μ − μ_T up to rounding, from the statistics' pass.
    let m_xc = &prep.mean_xc;
    let cus = p.covariance_update_scaling;
    let mut t_prev: Vec<f64> = template.iter().zip(&mu0).map(|(a, m)| a * m).collect();
    let mut w = prep.stats.solve(&t_prev);
    // C⁻¹·t_prev for the Woodbury update: the unblended covariance's solve of the
    // previous target (on the first pass, `w` itself).
    let mut c_inv_t_prev = w.clone();
    let mut norm = dot(&t_prev, &w);
    // (μ_T − μ_current)·w is added to every xc·w; μ_current = μ0 on the first pass.
    let mut mu = mu0.clone();
    let mut alpha = vec![0.0; prep.rows];
    let iters = p.iterations;
    // Absorbing zeros: with sparsity, a pixel whose α is 0 gets the weight
    // 1/(R·ε) = 10⁹/R, far above any projection, so it stays 0 for good. Such pixels
    // are skipped, after checking (Cauchy–Schwarz) that no projection can reach the
    // weight: R_p·(‖xc_p‖·‖w‖ + |corr|) < 10⁹/2 for every pixel (the factor 2 covers
    // rounding of the projection). When the bound fails, every pixel is evaluated.
    let (kmax, rmax) = prep
        .xc
        .chunks_exact(b)
        .zip(&albedo)
        .filter(|(_, r)| **r > 0.0)
        .fold((0.0f64, 0.0f64), |(k, m), (row, r)| {
            let norm = sum_sq(row).sqrt();
            (k.max(r * norm), m.max(*r))
        });
    let inv_albedo: Vec<f64> = albedo.iter().map(|r| 1.0 / r).collect();
    let all_rows: Vec<usize> = (0..prep.rows).collect();
    let mut active: Vec<usize> = all_rows.clone();
    let mut values: Vec<f64> = Vec::new();
    for k in 0..=iters {
        let corr: f64 = prep
            .mean_rounding
            .iter()
            .zip(mu0.iter().zip(&mu))
            .map(|(r, (m0, m))| r + m0 - m)
            .zip(&w)
            .map(|(d, wi)| d * wi)
            .sum();
        let first = k == 0;
        let normc = if first { norm } else { norm.max(1.0) };
        let need_sums = k < iters;
        let sparsity = p.sparsity && !first;
        let clip = !first || p.nonnegative;
        if sparsity {
            let wn = dot(&w, &w).sqrt();
            let skip = 2.0 * (kmax * wn + rmax * corr.abs()) < 1.0 / EPSILON;
            if skip {
                active.retain(|&r| alpha[r] > 0.0 || albedo[r] <= 0.0);
            } else {
                active.clone_from(&all_rows);
            }
        }
        let w_t: Vec<T> = w.iter().map(|&v| T::from_f64(v)).collect();
        values.clear();
        values.resize(active.len(), 0.0);
        let inv_normc = 1.0 / normc;
        let eval = |rows: &[usize], out: &mut [f64]| -> PassResult {
            let mut q = vec![0.0; b];
            let (mut s1, mut s2) = (0.0, 0.0);
            // Σ s_p·xc_p is accumulated in batches (see `WeightedRows::flush`).
            let mut batch = WeightedRows::default();
            for (&r, o) in rows.iter().zip(out.iter_mut()) {
                let row = &prep.xc[r * b..(r + 1) * b];
                let proj = dot_t(row, &w_t).to_f64();
                let inv_r = inv_albedo[r];
                let regw = if sparsity {
                    inv_r / (alpha[r] + EPSILON)
                } else {
                    0.0
                };
                let mut x = (proj + corr - regw) * inv_r * inv_normc;
                if clip && x < 0.0 {
                    x = 0.0;
                }
                *o = x;
                if need_sums && x != 0.0 && prep.in_stats[r] {
                    let s = cus * albedo[r] * x;
                    s1 += s;
                    s2 += s * s;
                    if batch.push(r, s) {
                        batch.flush(&mut q, prep.xc, b);
                    }
                }
            }
            batch.flush(&mut q, prep.xc, b);
            PassResult { q, s1, s2 }
        };
        let parts: Vec<PassResult> = if prep.parallel {
            active
                .par_chunks(4096)
                .zip(values.par_chunks_mut(4096))
                .map(|(rows, out)| eval(rows, out))
                .collect()
        } else {
            vec![eval(&active, &mut values)]
        };
        for (&r, &v) in active.iter().zip(&values) {
            alpha[r] = v;
        }
        let mut q = vec![0.0; b];
        let (mut s1, mut s2) = (0.0, 0.0);
        for part in parts {
            for (a, v) in q.iter_mut().zip(&part.q) {
                *a += v;
            }
            s1 += part.s1;
            s2 += part.s2;
        }
        if !need_sums {
            break;
        }
        // Statistics of x' = x − s·t_prev (rank-2 update of C).
        let s_bar = s1 / n;
        let v = (s2 / n - s_bar * s_bar).max(0.0);
        let g: Vec<f64> = q
            .iter()
            .zip(m_xc)
            .map(|(qi, mi)| qi / n - s_bar * mi)
            .collect();
        mu = mu0
            .iter()
            .zip(&t_prev)
            .map(|(m, t)| m - s_bar * t)
            .collect();
        let t_new: Vec<f64> = template.iter().zip(&mu).map(|(a, m)| a * m).collect();
        w = if woodbury {
            let (w_new, c_inv_t_new) =
                woodbury_solve(&prep.stats.cholesky, &t_prev, &c_inv_t_prev, &g, v, &t_new)?;
            c_inv_t_prev = c_inv_t_new;
            w_new
        } else {
            let mut c = prep.stats.covariance.clone();
            let mut delta = vec![0.0; b * b];
            for i in 0..b {
                for j in 0..b {
                    delta[i * b + j] =
                        -g[i] * t_prev[j] - t_prev[i] * g[j] + v * t_prev[i] * t_prev[j];
                }
            }
            reg.apply(&mut delta, b, n, None)?;
            for (ci, di) in c.iter_mut().zip(&delta) {
                *ci += di;
            }
            Cholesky::factor(&c, b)?.solve(&t_new)
        };
        norm = dot(&t_new, &w);
        t_prev = t_new;
    }
    let sig0 = TEMPLATE_SCALING / norm.sqrt();
    let mut out = RawOutputs {
        enhancement: Vec::with_capacity(prep.rows),
        albedo: albedo.clone(),
        sigma: Vec::with_capacity(prep.rows),
        z: Vec::with_capacity(prep.rows),
    };
    for (a, r) in alpha.iter().zip(&albedo) {
        let e = a * TEMPLATE_SCALING;
        let s = sig0 / r;
        out.enhancement.push(e);
        out.sigma.push(s);
        out.z.push(e / s);
    }
    Ok(out)
}

/// Pixels (row, weight) waiting to be added to a weighted sum of rows.
#[derive(Default)]
struct WeightedRows {
    rows: Vec<usize>,
    weights: Vec<f64>,
}

impl WeightedRows {
    /// Rows per batch.
    const LEN: usize = 64;

    /// Queues a row; true when the batch is full.
    fn push(&mut self, row: usize, weight: f64) -> bool {
        self.rows.push(row);
        self.weights.push(weight);
        self.rows.len() >= Self::LEN
    }

    /// `q += Σ weight · xc[row]` over the queued rows (`b` values per row), then
    /// empties the batch. Bands go in blocks of 16 held in registers across the whole
    /// batch, so `q` is loaded and stored once per batch, not once per pixel.
    fn flush<T: Real>(&mut self, q: &mut [f64], xc: &[T], b: usize) {
        const W: usize = 16;
        let mut j0 = 0;
        while j0 < b {
            let jw = W.min(b - j0);
            let mut acc = [0.0f64; W];
            if jw == W {
                for (&r, &s) in self.rows.iter().zip(&self.weights) {
                    let v: &[T; W] = xc[r * b + j0..r * b + j0 + W].try_into().expect("W values");
                    for (a, x) in acc.iter_mut().zip(v) {
                        *a += s * x.to_f64();
                    }
                }
            } else {
                for (&r, &s) in self.rows.iter().zip(&self.weights) {
                    let v = &xc[r * b + j0..r * b + j0 + jw];
                    for (a, x) in acc.iter_mut().zip(v) {
                        *a += s * x.to_f64();
                    }
                }
            }
            for (qi, a) in q[j0..j0 + jw].iter_mut().zip(&acc) {
                *qi += a;
            }
            j0 += jw;
        }
        self.rows.clear();
        self.weights.clear();
    }
}

/// `(C + U K Uᵀ)⁻¹ y` with `U = [t, g]`, `K = [[v, −1], [−1, 0]]`, from the Cholesky
/// factor of `C` and `z1 = C⁻¹t` (Woodbury identity); also returns `C⁻¹y`, which is
/// the next call's `z1` (the new target is the next update's `t`).
fn woodbury_solve(
    c: &Cholesky,
    t: &[f64],
    z1: &[f64],
    g: &[f64],
    v: f64,
    y: &[f64],
) -> Result<(Vec<f64>, Vec<f64>)> {
    let z2 = c.solve(g);
    let y0 = c.solve(y);
    let w2 = [[dot(t, z1), dot(t, &z2)], [dot(g, z1), dot(g, &z2)]];
    let k = [[v, -1.0], [-1.0, 0.0]];
    let r = [dot(t, &y0), dot(g, &y0)];
    let r2 = [
        k[0][0] * r[0] + k[0][1] * r[1],
        k[1][0] * r[0] + k[1][1] * r[1],
    ];
    // A = I + K W2
    let a = [
        [
            1.0 + k[0][0] * w2[0][0] + k[0][1] * w2[1][0],
            k[0][0] * w2[0][1] + k[0][1] * w2[1][1],
        ],
        [
            k[1][0] * w2[0][0] + k[1][1] * w2[1][0],
            1.0 + k[1][0] * w2[0][1] + k[1][1] * w2[1][1],
        ],
    ];
    let det = a[0][0] * a[1][1] - a[0][1] * a[1][0];
    if !(det.is_finite() && det.abs() > 1e-300) {
        return Err(Error::Numerical(
            "mag1c covariance update made the background covariance singular".into(),
        ));
    }
    let c0 = (r2[0] * a[1][1] - a[0][1] * r2[1]) / det;
    let c1 = (a[0][0] * r2[1] - a[1][0] * r2[0]) / det;
    let w = y0
        .iter()
        .zip(z1.iter().zip(&z2))
        .map(|(y, (a, b))| y - a * c0 - b * c1)
        .collect();
    Ok((w, y0))
}

/// `Σ a_i²` in f64, with eight partial sums (vectorised; a sequential f64 sum is one
/// dependent add per value).
#[inline]
fn sum_sq<T: Real>(a: &[T]) -> f64 {
    let mut acc = [0.0f64; 8];
    let ca = a.chunks_exact(8);
    let mut s: f64 = ca.remainder().iter().map(|v| v.to_f64().powi(2)).sum();
    for x in ca {
        for i in 0..8 {
            let v = x[i].to_f64();
            acc[i] += v * v;
        }
    }
    for v in acc {
        s += v;
    }
    s
}

/// `a · b` in `T`, with eight partial sums (vectorised at any SIMD width).
#[inline]
fn dot_t<T: Real>(a: &[T], b: &[T]) -> T {
    let mut acc = [T::zero_value(); 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let mut s = T::zero_value();
    for (x, y) in ca.remainder().iter().zip(cb.remainder()) {
        s += *x * *y;
    }
    for (x, y) in ca.zip(cb) {
        for i in 0..8 {
            acc[i] += x[i] * y[i];
        }
    }
    for v in acc {
        s += v;
    }
    s
}
