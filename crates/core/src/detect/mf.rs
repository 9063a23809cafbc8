//! Classic matched filter (Spectral Python's `matched_filter`, with the gas target
//! `t = a·10⁵ ⊙ μ`): enhancement = `10⁵ · (x − μ)ᵀC⁻¹t / (tᵀC⁻¹t)` ppm·m, and its
//! albedo-corrected variant that divides by the pixel's albedo factor `xᵀμ / μᵀμ`.

use super::{dot, Prepared, RawOutputs, TEMPLATE_SCALING};
use crate::stats::Real;

/// Runs the (albedo-corrected when `albedo_correction`) matched filter.
pub(crate) fn run<T: Real>(
    prep: &Prepared<'_, T>,
    template: &[f64],
    albedo_correction: bool,
) -> RawOutputs {
    let mu = &prep.stats.mean;
    let target: Vec<f64> = template.iter().zip(mu).map(|(a, m)| a * m).collect();
    let w = prep.stats.solve(&target);
    let norm = dot(&target, &w);
    let mm = dot(mu, mu);
    let proj = prep.project(&[&w, mu]);
    let sigma0 = TEMPLATE_SCALING / norm.sqrt();
    let n = prep.rows;
    let mut out = RawOutputs {
        enhancement: Vec::with_capacity(n),
        albedo: Vec::with_capacity(n),
        sigma: Vec::with_capacity(n),
        z: Vec::with_capacity(n),
    };
    for (pw, pm) in proj[0].iter().zip(&proj[1]) {
        let r = 1.0 + pm / mm;
        let div = if albedo_correction { r } else { 1.0 };
        let e = TEMPLATE_SCALING * pw / (norm * div);
        let s = sigma0 / div;
        out.enhancement.push(e);
        out.albedo.push(r);
        out.sigma.push(s);
        out.z.push(e / s);
    }
    out
}
