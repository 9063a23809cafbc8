//! Detection limit: a logistic POD(Q) curve in log10 Q fitted by maximum likelihood,
//! with Q at 50 % and 90 % POD and delta-method 95 % intervals.

use crate::math::normal::Z_95;
use crate::{Error, Result};

/// A logistic POD curve `POD(Q) = 1 / (1 + exp(−(a + b·log10 Q)))`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LogisticPod {
    /// Intercept `a`.
    pub a: f64,
    /// Slope `b` per decade of Q.
    pub b: f64,
    /// Covariance of (a, b): `[var a, cov ab, var b]` (inverse Fisher information).
    pub cov: [f64; 3],
    /// Q at 50% POD, kg/h.
    pub q50_kg_h: f64,
    /// 95% interval of Q50 (delta method in log10 Q), kg/h.
    pub q50_ci_kg_h: (f64, f64),
    /// Q at 90% POD, kg/h.
    pub q90_kg_h: f64,
    /// 95% interval of Q90, kg/h.
    pub q90_ci_kg_h: (f64, f64),
    /// Trials the fit rests on.
    pub n: usize,
}

impl LogisticPod {
    /// POD at rate `q_kg_h`.
    pub fn pod(&self, q_kg_h: f64) -> f64 {
        1.0 / (1.0 + (-(self.a + self.b * q_kg_h.log10())).exp())
    }
}

/// Fits a logistic POD curve in log10 Q to detection trials by maximum likelihood
/// (Newton–Raphson with a tiny ridge for separable data).
///
/// # Errors
/// When there are fewer than 3 trials, a rate is not positive, or every trial has the
/// same outcome (no curve can be fitted); [`Error::DegenerateFit`] when every trial has
/// the same rate or the Fisher information is otherwise not positive definite (the
/// Newton step and the covariance would divide by a non-positive determinant).
pub fn fit_logistic_pod(rates_kg_h: &[f64], detected: &[bool]) -> Result<LogisticPod> {
    if rates_kg_h.len() != detected.len() {
        return Err(Error::Shape {
            what: "POD trials (rates and outcomes)".into(),
            expected: rates_kg_h.len(),
            got: detected.len(),
        });
    }
    if rates_kg_h.len() < 3 || rates_kg_h.iter().any(|q| !(q.is_finite() && *q > 0.0)) {
        return Err(Error::Invalid(format!(
            "POD fit: {} trials (expected at least 3, every rate positive)",
            rates_kg_h.len()
        )));
    }
    let k = detected.iter().filter(|d| **d).count();
    if k == 0 || k == detected.len() {
        return Err(Error::Invalid(format!(
            "POD fit: {k} of {} trials detected (need both detections and misses)",
            detected.len()
        )));
    }
    let x: Vec<f64> = rates_kg_h.iter().map(|q| q.log10()).collect();
    if x.iter().all(|&xi| xi == x[0]) {
        return Err(Error::DegenerateFit {
            fit: "logistic POD(Q)".into(),
            reason: format!(
                "every trial has the same emission rate ({} kg/h), so the Fisher information \
                 of (intercept, slope) is singular and POD cannot be fitted as a function of \
                 the rate; use trials over a range of rates",
                rates_kg_h[0]
            ),
        });
    }
    let xm = x.iter().sum::<f64>() / x.len() as f64;
    let (mut a, mut b) = (0.0f64, 1.0f64);
    let ridge = 1e-6;
    let mut info = [0.0f64; 3];
    for _ in 0..100 {
        let (mut ga, mut gb) = (0.0, 0.0);
        info = [ridge, 0.0, ridge];
        for (xi, &d) in x.iter().zip(detected) {
            let xc = xi - xm;
            let p = 1.0 / (1.0 + (-(a + b * xc)).exp());
            let r = f64::from(u8::from(d)) - p;
            ga += r;
            gb += r * xc;
            let w = p * (1.0 - p);
            info[0] += w;
            info[1] += w * xc;
            info[2] += w * xc * xc;
        }
        ga -= ridge * a;
        gb -= ridge * b;
        let det = info[0] * info[2] - info[1] * info[1];
        check_information(det)?;
        let da = (info[2] * ga - info[1] * gb) / det;
        let db = (info[0] * gb - info[1] * ga) / det;
        a += da.clamp(-5.0, 5.0);
        b += db.clamp(-5.0, 5.0);
        if da.abs() < 1e-10 && db.abs() < 1e-10 {
            break;
        }
    }
    let det = info[0] * info[2] - info[1] * info[1];
    check_information(det)?;
    // Covariance of (a_c, b) for centred x, then back to a = a_c − b·xm.
    let (vac, cacb, vb) = (info[2] / det, -info[1] / det, info[0] / det);
    let a0 = a - b * xm;
    let va0 = vac - 2.0 * xm * cacb + xm * xm * vb;
    let cab0 = cacb - xm * vb;
    let z = Z_95;
    // log10 Q_p = (logit(p) − a0)/b; gradient wrt (a0, b) = (−1/b, −(logit − a0)/b²).
    let q_at = |logit: f64| {
        let lq = (logit - a0) / b;
        let (g1, g2) = (-1.0 / b, -(logit - a0) / (b * b));
        let var = g1 * g1 * va0 + 2.0 * g1 * g2 * cab0 + g2 * g2 * vb;
        let sd = var.max(0.0).sqrt();
        (
            10f64.powf(lq),
            (10f64.powf(lq - z * sd), 10f64.powf(lq + z * sd)),
        )
    };
    let (q50, q50_ci) = q_at(0.0);
    let (q90, q90_ci) = q_at(9f64.ln());
    Ok(LogisticPod {
        a: a0,
        b,
        cov: [va0, cab0, vb],
        q50_kg_h: q50,
        q50_ci_kg_h: q50_ci,
        q90_kg_h: q90,
        q90_ci_kg_h: q90_ci,
        n: rates_kg_h.len(),
    })
}

/// Fails unless the determinant of the (ridged) Fisher information is positive and
/// finite, so that the Newton step and the covariance never divide by it otherwise.
fn check_information(det: f64) -> Result<()> {
    if det > 0.0 && det.is_finite() {
        return Ok(());
    }
    Err(Error::DegenerateFit {
        fit: "logistic POD(Q)".into(),
        reason: format!(
            "the Fisher information of (intercept, slope) is not positive definite \
             (determinant {det:e}); use more trials over a wider range of rates"
        ),
    })
}
