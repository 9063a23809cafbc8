//! Adaptive coherence estimator (Kraut & Scharf 1999; Manolakis et al. 2003):
//! `ACE = (tᵀC⁻¹(x − μ))² / ((tᵀC⁻¹t)·((x − μ)ᵀC⁻¹(x − μ)))`, the squared cosine of the
//! angle between pixel and target in whitened space, in [0, 1] and invariant to the
//! pixel's scale. Reported as a significance score in the z band, signed like the
//! matched filter (`sign(mf)·ACE`); the enhancement, albedo and sigma bands are the
//! classic matched filter's.

use super::{dot, Prepared, RawOutputs};
use crate::stats::Real;
use faer::{Mat, MatMut, Par};

/// Runs ACE; see the module docs for the bands.
pub(crate) fn run<T: Real>(prep: &Prepared<'_, T>, template: &[f64]) -> RawOutputs {
    let mut out = super::mf::run(prep, template, false);
    let mu = &prep.stats.mean;
    let target: Vec<f64> = template.iter().zip(mu).map(|(a, m)| a * m).collect();
    let w = prep.stats.solve(&target);
    let norm = dot(&target, &w);
    let b = prep.b;
    let l_t = Mat::<T>::from_fn(b, b, |i, j| T::from_f64(prep.stats.cholesky.l()[(i, j)]));
    // Mahalanobis norm ‖L⁻¹(x − μ)‖² per pixel, by blocks of pixels.
    let parts = prep.map_chunks(|_, chunk| {
        let m = chunk.len() / b;
        let mut y = chunk.to_vec();
        // Row-major m × b is column-major b × m: solve L Y = Xcᵀ in place.
        let ym = MatMut::from_column_major_slice_mut(&mut y, b, m);
        faer::linalg::triangular_solve::solve_lower_triangular_in_place(l_t.as_ref(), ym, Par::Seq);
        y.chunks_exact(b)
            .map(|r| r.iter().map(|v| v.to_f64() * v.to_f64()).sum::<f64>())
            .collect::<Vec<f64>>()
    });
    let md: Vec<f64> = parts.into_iter().flatten().collect();
    let proj = prep.project(&[&w]);
    for ((z, p), d) in out.z.iter_mut().zip(&proj[0]).zip(&md) {
        let ace = if *d > 0.0 { p * p / (norm * d) } else { 0.0 };
        *z = ace.min(1.0).copysign(*p);
    }
    out
}
