//! Outlier scaling of the matched filter's score: a pixel whose spectrum, once the
//! gas the filter found in it is taken out, lies far outside its background's
//! distribution gets its z-score divided by how far.
//!
//! The matched filter models a pixel as background plus gas, `x = μ + n + α t` with
//! `n ~ N(0, C)`, and its z-score `z = tᵀC⁻¹(x − μ) / √(tᵀC⁻¹t)` is N(0, 1) for a
//! background pixel. The rest of the pixel's Mahalanobis distance,
//! `r = (x − μ)ᵀC⁻¹(x − μ) − z²`, is what the gas cannot explain; for a background
//! pixel it is χ² with `n − 1` degrees of freedom (`n` window bands), and gas adds
//! nothing to it. A surface the statistics have not seen — a material first met
//! half-way along a flight line, a rare roof or tarp, a mineral whose absorption
//! features overlap the gas's — has `r` many times `n − 1`, and its z-score, a
//! projection of the same large deviation, is then no longer N(0, 1): such surfaces
//! produced most of the false candidates on long cluttered lines (BENCHMARKS.md). The
//! scaled score is `z / f` with
//!
//! `f = √max(1, r / (τ (n − 1)))`, `τ = 1 + 3 √(2 / (n − 1))`,
//!
//! so a pixel whose residual lies within three standard deviations of its χ² mean keeps
//! its score (the plain matched filter), and an outlier's score is that of a pixel of
//! unknown scale — the adaptive coherence estimator's normalisation (Kraut & Scharf
//! 1999), which is the likelihood-ratio test when the background's scale varies from
//! pixel to pixel. The noise-equivalent enhancement is multiplied by the same `f`, so
//! `z = enhancement / sigma` still holds; the enhancement itself is unchanged.
//!
//! Only pixels at `|z|` above [`GATE_Z`] are tested (`f` is at least 1, so scaling can
//! only lower a score; below the gate it would change nothing the candidate seeds and
//! growth look at). Each tested pixel costs one triangular product, `n²/2`
//! multiply-adds, in f32.

use crate::stats::Cholesky;
use faer::{Mat, Par};

/// Pixels with `|z|` at most this keep their score untested.
pub const GATE_Z: f64 = 2.0;

/// `τ` of the module docs for `n` window bands: the residual's tolerance relative to
/// its χ² mean `n − 1`, three standard deviations (`√(2 / (n − 1))` relative) above it.
pub fn tolerance(n: usize) -> f64 {
    let dof = (n.max(2) - 1) as f64;
    1.0 + 3.0 * (2.0 / dof).sqrt()
}

/// `L⁻¹` of a background covariance `C = L Lᵀ` in f32: whitens a pixel's deviation from
/// the mean, `‖L⁻¹(x − μ)‖² = (x − μ)ᵀC⁻¹(x − μ)`.
#[derive(Debug, Clone, PartialEq)]
pub struct Whitener {
    n: usize,
    /// The lower triangle in panels of [`ROWS`] rows: panel `p` holds, for each column
    /// `j` up to the panel's last row, the column's values in rows `ROWS·p ..
    /// ROWS·(p + 1)` (zero above the diagonal and beyond row `n`).
    panels: Vec<f32>,
    tolerance: f64,
}

/// Rows of a panel of [`Whitener`]: one vector register of f32.
const ROWS: usize = 8;

/// Bands whose deviation is staged on the stack; wider windows use the heap.
const STACK_BANDS: usize = 256;

impl Whitener {
    /// The whitener of the covariance factored as `cholesky`.
    pub fn of(cholesky: &Cholesky) -> Self {
        let n = cholesky.dim();
        // The inverse of a triangular matrix directly (about a third of the work of
        // solving against the identity, whose zeros a solve does not skip).
        let mut inv = Mat::<f64>::zeros(n, n);
        faer::linalg::triangular_inverse::invert_lower_triangular(
            inv.as_mut(),
            cholesky.l(),
            Par::Seq,
        );
        let mut panels = Vec::new();
        for p in 0..n.div_ceil(ROWS) {
            let rows = p * ROWS..(p + 1) * ROWS;
            for j in 0..rows.end.min(n) {
                panels.extend(rows.clone().map(|i| {
                    if i < n && j <= i {
                        inv[(i, j)] as f32
                    } else {
                        0.0
                    }
                }));
            }
        }
        Self {
            n,
            panels,
            tolerance: tolerance(n),
        }
    }

    /// Bands.
    pub fn dim(&self) -> usize {
        self.n
    }

    /// `‖L⁻¹ d‖²` (`d` has at least [`Whitener::dim`] values; the rest are ignored).
    pub fn norm_sq(&self, d: &[f32]) -> f64 {
        let d = &d[..self.n];
        self.whitened_norm_sq(|j| d[j])
    }

    /// `‖L⁻¹ d‖²` with `d_j = deviation(j)`. Each panel's [`ROWS`] values of `L⁻¹ d` are
    /// summed in registers over the panel's columns, four columns in independent
    /// partial sums (fused multiply-adds in f32), and their squares added in f64.
    /// Before, each row of `L⁻¹ d` was a short dot product ending in a horizontal sum,
    /// and a buffer was allocated per pixel: about 0.7 µs a pixel for 72 bands.
    fn whitened_norm_sq(&self, deviation: impl Fn(usize) -> f32) -> f64 {
        let n = self.n;
        let mut stack = [0f32; STACK_BANDS];
        let mut heap = Vec::new();
        let d: &mut [f32] = if n <= STACK_BANDS {
            &mut stack[..n]
        } else {
            heap.resize(n, 0.0);
            &mut heap
        };
        for (j, v) in d.iter_mut().enumerate() {
            *v = deviation(j);
        }
        let mut squares = [0.0f64; ROWS];
        let mut off = 0;
        for p in 0..n.div_ceil(ROWS) {
            let cols = ((p + 1) * ROWS).min(n);
            let panel = &self.panels[off..off + cols * ROWS];
            off += cols * ROWS;
            let mut acc = [[0.0f32; ROWS]; 4];
            let quads = panel.chunks_exact(4 * ROWS).zip(d[..cols].chunks_exact(4));
            for (block, dj) in quads {
                for c in 0..4 {
                    for l in 0..ROWS {
                        acc[c][l] = block[c * ROWS + l].mul_add(dj[c], acc[c][l]);
                    }
                }
            }
            let done = cols - cols % 4;
            for (col, &dj) in panel[done * ROWS..].chunks_exact(ROWS).zip(&d[done..cols]) {
                for l in 0..ROWS {
                    acc[0][l] = col[l].mul_add(dj, acc[0][l]);
                }
            }
            for l in 0..ROWS {
                let y = f64::from((acc[0][l] + acc[1][l]) + (acc[2][l] + acc[3][l]));
                squares[l] += y * y;
            }
        }
        squares.iter().sum()
    }

    /// The scale factor `f` of the module docs for a pixel at `x` (window values) with
    /// score `z` against the background mean `mean`.
    pub fn factor(&self, x: &[f32], mean: &[f64], z: f64) -> f64 {
        let (x, mean) = (&x[..self.n], &mean[..self.n]);
        let norm_sq = self.whitened_norm_sq(|j| (f64::from(x[j]) - mean[j]) as f32);
        self.factor_of_norm_sq(norm_sq, z)
    }

    /// [`Whitener::factor`] for the deviation `d = x − μ` itself.
    pub fn factor_of_deviation(&self, d: &[f32], z: f64) -> f64 {
        self.factor_of_norm_sq(self.norm_sq(d), z)
    }

    fn factor_of_norm_sq(&self, norm_sq: f64, z: f64) -> f64 {
        let residual = (norm_sq - z * z).max(0.0);
        let dof = (self.n.max(2) - 1) as f64;
        (residual / (self.tolerance * dof)).max(1.0).sqrt()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::SeededRng;

    fn spd(n: usize, seed: u64) -> Vec<f64> {
        let mut rng = SeededRng::new(seed);
        let a: Vec<f64> = (0..n * n).map(|_| rng.normal()).collect();
        let mut c = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..n {
                c[i * n + j] = (0..n).map(|k| a[i * n + k] * a[j * n + k]).sum::<f64>()
                    + if i == j { n as f64 } else { 0.0 };
            }
        }
        c
    }

    /// The factor and whitener of a random `n × n` covariance.
    fn factored(n: usize, seed: u64) -> (Cholesky, Whitener) {
        let ch = Cholesky::factor(&spd(n, seed), n).unwrap();
        let w = Whitener::of(&ch);
        (ch, w)
    }

    #[test]
    fn whitened_norm_is_the_mahalanobis_distance() {
        let n = 9;
        let (ch, w) = factored(n, 3);
        let d: Vec<f32> = (0..n).map(|i| (i as f32 - 4.0) * 0.7).collect();
        let d64: Vec<f64> = d.iter().map(|&v| f64::from(v)).collect();
        let exact: f64 = d64.iter().zip(ch.solve(&d64)).map(|(a, b)| a * b).sum();
        assert!(
            (w.norm_sq(&d) - exact).abs() < 1e-4 * exact,
            "{} {exact}",
            w.norm_sq(&d)
        );
    }

    #[test]
    fn background_pixels_keep_their_score_and_outliers_are_scaled_down() {
        // Draws from N(0, C): the residual r = d² − z² is χ²(n − 1), within the
        // tolerance for nearly all of them; the same deviations ×10 are outliers whose
        // factor grows with the scale (the score of a pixel of unknown scale).
        let n = 40;
        let (ch, w) = factored(n, 5);
        let l = ch.l();
        let mut rng = SeededRng::new(11);
        let (mut kept, draws) = (0, 2000);
        for _ in 0..draws {
            let g: Vec<f64> = (0..n).map(|_| rng.normal()).collect();
            let d: Vec<f32> = (0..n)
                .map(|i| (0..=i).map(|j| l[(i, j)] * g[j]).sum::<f64>() as f32)
                .collect();
            let z = 0.5;
            if w.factor_of_deviation(&d, z) == 1.0 {
                kept += 1;
            }
            let big: Vec<f32> = d.iter().map(|v| v * 10.0).collect();
            let f = w.factor_of_deviation(&big, z);
            let r = w.norm_sq(&big) - z * z;
            let expected = (r / (tolerance(n) * (n - 1) as f64)).sqrt();
            assert!(
                f > 5.0 && (f - expected).abs() < 1e-9 * expected,
                "{f} {expected}"
            );
        }
        // 3 standard deviations of χ²(39) above its mean: about 0.4 % of draws beyond.
        assert!(kept as f64 > 0.98 * draws as f64, "{kept} of {draws}");
    }

    #[test]
    fn gas_along_the_target_adds_no_residual() {
        // A deviation along the target, x − μ = α t, is all score (whitened it lies
        // along L⁻¹ t): z² = d², f = 1 however strong the gas.
        let n = 12;
        let (ch, w) = factored(n, 8);
        let t: Vec<f64> = (0..n).map(|i| -(i as f64 + 1.0) * 0.1).collect();
        let ct = ch.solve(&t);
        let norm: f64 = t.iter().zip(&ct).map(|(a, b)| a * b).sum();
        for alpha in [1.0, 30.0, 1000.0] {
            let d: Vec<f32> = t.iter().map(|v| (alpha * v) as f32).collect();
            let z = alpha * norm / norm.sqrt();
            assert_eq!(w.factor_of_deviation(&d, z), 1.0, "alpha {alpha}");
        }
    }
}
