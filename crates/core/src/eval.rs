//! Scoring detections against simulation truth.
//!
//! - Pixel level: ROC AUC and precision–recall AUC (average precision) of a per-pixel
//!   score (enhancement or z) against a truth mask ([`pixel_scores`]).
//! - Source level: one-to-one matching of detected sites to true sources within a
//!   distance, probability of detection (POD) per emission-rate bin with Wilson 95%
//!   intervals, false sites per km², and emission-rate error (median |ΔQ|/Q, bias,
//!   parity slope and R²) ([`score_sources`]).
//! - Detection limit: a logistic POD(Q) curve in log10 Q fitted by maximum likelihood,
//!   with Q at 50% and 90% POD and delta-method 95% intervals ([`fit_logistic_pod`]).
//!
//! # Units
//! Distances m, areas km², emission rates kg/h.

use crate::{Error, Result};

/// A curve as parallel x and y lists.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize)]
pub struct Curve {
    /// x values.
    pub x: Vec<f64>,
    /// y values.
    pub y: Vec<f64>,
}

/// Pixel-level scores of one score map.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct PixelScores {
    /// Area under the ROC curve (probability that a random plume pixel scores above a
    /// random background pixel; ties count one half).
    pub roc_auc: f64,
    /// Area under the precision–recall curve (average precision).
    pub pr_auc: f64,
    /// Plume (positive) pixels scored.
    pub positives: usize,
    /// Background (negative) pixels scored.
    pub negatives: usize,
    /// ROC curve: x = false-positive rate, y = true-positive rate (thinned to ≤ 200 points).
    pub roc: Curve,
    /// PR curve: x = recall, y = precision (thinned to ≤ 200 points).
    pub pr: Curve,
}

fn thin(c: Curve, n: usize) -> Curve {
    if c.x.len() <= n {
        return c;
    }
    let step = c.x.len().div_ceil(n);
    let mut out = Curve::default();
    for i in (0..c.x.len()).step_by(step) {
        out.x.push(c.x[i]);
        out.y.push(c.y[i]);
    }
    if out.x.last() != c.x.last() {
        out.x.push(*c.x.last().unwrap_or(&0.0));
        out.y.push(*c.y.last().unwrap_or(&0.0));
    }
    out
}

/// ROC and PR statistics of `scores` (higher = more plume-like) against `truth`
/// (`true` = plume pixel). Pixels with a non-finite score or `valid[i] == false` are left
/// out.
///
/// # Errors
/// When the lengths differ or there is no positive or no negative pixel to score.
pub fn pixel_scores(scores: &[f32], truth: &[bool], valid: Option<&[bool]>) -> Result<PixelScores> {
    if scores.len() != truth.len() || valid.is_some_and(|v| v.len() != truth.len()) {
        return Err(Error::Shape {
            what: "score map and truth mask pixels".into(),
            expected: truth.len(),
            got: scores.len(),
        });
    }
    let mut pairs: Vec<(f32, bool)> = scores
        .iter()
        .zip(truth)
        .enumerate()
        .filter(|(i, (s, _))| s.is_finite() && valid.is_none_or(|v| v[*i]))
        .map(|(_, (s, t))| (*s, *t))
        .collect();
    let pos = pairs.iter().filter(|p| p.1).count();
    let neg = pairs.len() - pos;
    if pos == 0 || neg == 0 {
        return Err(Error::Invalid(format!(
            "pixel scores: {pos} plume and {neg} background pixels with valid scores (expected at least one of each)"
        )));
    }
    pairs.sort_by(|a, b| b.0.total_cmp(&a.0));
    let (mut tp, mut fp) = (0usize, 0usize);
    let mut roc = Curve {
        x: vec![0.0],
        y: vec![0.0],
    };
    let mut pr = Curve::default();
    let (mut auc, mut ap) = (0.0, 0.0);
    let mut i = 0;
    while i < pairs.len() {
        let s = pairs[i].0;
        let (tp0, fp0) = (tp, fp);
        while i < pairs.len() && pairs[i].0 == s {
            if pairs[i].1 {
                tp += 1;
            } else {
                fp += 1;
            }
            i += 1;
        }
        let (x0, y0) = (fp0 as f64 / neg as f64, tp0 as f64 / pos as f64);
        let (x1, y1) = (fp as f64 / neg as f64, tp as f64 / pos as f64);
        auc += (x1 - x0) * (y0 + y1) / 2.0;
        let precision = tp as f64 / (tp + fp) as f64;
        ap += (y1 - y0) * precision;
        roc.x.push(x1);
        roc.y.push(y1);
        pr.x.push(y1);
        pr.y.push(precision);
    }
    Ok(PixelScores {
        roc_auc: auc,
        pr_auc: ap,
        positives: pos,
        negatives: neg,
        roc: thin(roc, 200),
        pr: thin(pr, 200),
    })
}

/// A true source, in metres on a common plane (map coordinates, or pixel × GSD).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct TrueSource {
    /// Identifier.
    pub id: u32,
    /// x (easting), m.
    pub x: f64,
    /// y (northing), m.
    pub y: f64,
    /// True emission rate, kg/h.
    pub rate_kg_h: f64,
}

/// A detected site, in the same plane as the [`TrueSource`]s.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct DetectedSite {
    /// x (easting), m.
    pub x: f64,
    /// y (northing), m.
    pub y: f64,
    /// Estimated emission rate, kg/h, if the detector quantified it.
    pub rate_kg_h: Option<f64>,
}

/// A true source matched to a detection.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SourceMatch {
    /// True source id.
    pub truth_id: u32,
    /// Index of the detection in the input list.
    pub detection: usize,
    /// Distance between them, m.
    pub distance_m: f64,
    /// True rate, kg/h.
    pub true_rate_kg_h: f64,
    /// Estimated rate, kg/h.
    pub estimated_rate_kg_h: Option<f64>,
}

/// POD in one emission-rate bin.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct PodBin {
    /// Lower edge, kg/h (inclusive).
    pub q_lo_kg_h: f64,
    /// Upper edge, kg/h (exclusive; the last bin includes it).
    pub q_hi_kg_h: f64,
    /// Sources in the bin.
    pub n: usize,
    /// Of which detected.
    pub detected: usize,
    /// detected / n (NaN when n = 0).
    pub pod: f64,
    /// Wilson 95% interval, lower.
    pub ci_lo: f64,
    /// Wilson 95% interval, upper.
    pub ci_hi: f64,
}

/// Emission-rate error over matched sources with an estimate.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct RateError {
    /// Matched sources with a rate estimate.
    pub n: usize,
    /// Median |Q̂ − Q| / Q.
    pub median_abs_rel_error: f64,
    /// Median (Q̂ − Q) / Q.
    pub median_rel_bias: f64,
    /// Mean (Q̂ − Q) / Q.
    pub mean_rel_bias: f64,
    /// Least-squares slope of Q̂ on Q.
    pub parity_slope: f64,
    /// Least-squares intercept, kg/h.
    pub parity_intercept_kg_h: f64,
    /// Coefficient of determination of that fit.
    pub parity_r2: f64,
}

/// Source-level scores.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SourceScores {
    /// Matching distance, m.
    pub max_distance_m: f64,
    /// Matches (one-to-one).
    pub matches: Vec<SourceMatch>,
    /// Ids of true sources with no detection.
    pub missed: Vec<u32>,
    /// Indices of detections matching no source.
    pub false_sites: Vec<usize>,
    /// Scene area, km².
    pub area_km2: f64,
    /// False sites per km².
    pub false_sites_per_km2: f64,
    /// Overall POD.
    pub pod: f64,
    /// POD per emission-rate bin.
    pub pod_bins: Vec<PodBin>,
    /// Emission-rate error (None when no match has an estimate).
    pub rate_error: Option<RateError>,
}

/// Wilson score 95% interval of `k` successes in `n` trials.
pub fn wilson_interval(k: usize, n: usize) -> (f64, f64) {
    if n == 0 {
        return (f64::NAN, f64::NAN);
    }
    let z = 1.959_964;
    let (nf, p) = (n as f64, k as f64 / n as f64);
    let d = 1.0 + z * z / nf;
    let c = (p + z * z / (2.0 * nf)) / d;
    let h = z * (p * (1.0 - p) / nf + z * z / (4.0 * nf * nf)).sqrt() / d;
    ((c - h).max(0.0), (c + h).min(1.0))
}

fn median(v: &mut [f64]) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        0.5 * (v[n / 2 - 1] + v[n / 2])
    }
}

/// Log-spaced bin edges covering `rates` (kg/h): `n_bins` bins from the smallest to the
/// largest positive rate.
pub fn log_bins(rates: &[f64], n_bins: usize) -> Vec<f64> {
    let pos: Vec<f64> = rates
        .iter()
        .copied()
        .filter(|q| *q > 0.0 && q.is_finite())
        .collect();
    if pos.is_empty() || n_bins == 0 {
        return Vec::new();
    }
    let lo = pos.iter().cloned().fold(f64::INFINITY, f64::min);
    let hi = pos.iter().cloned().fold(0.0, f64::max);
    if hi <= lo * 1.000_001 {
        return vec![lo * 0.999, hi * 1.001];
    }
    let (a, b) = (lo.log10(), hi.log10());
    // Interior edges log-spaced; the outer edges exactly the extremes, so that no rate
    // falls outside by rounding.
    (0..=n_bins)
        .map(|i| match i {
            0 => lo,
            i if i == n_bins => hi,
            i => 10f64.powf(a + (b - a) * i as f64 / n_bins as f64),
        })
        .collect()
}

/// Matches detections to true sources one-to-one (closest pairs first, within
/// `max_distance_m`) and computes POD per rate bin (`bin_edges`, kg/h, ascending),
/// false sites per km² over `area_km2`, and the rate error.
///
/// # Errors
/// When `max_distance_m` or `area_km2` is not positive or the bin edges do not ascend.
pub fn score_sources(
    truth: &[TrueSource],
    detections: &[DetectedSite],
    max_distance_m: f64,
    area_km2: f64,
    bin_edges: &[f64],
) -> Result<SourceScores> {
    if !(max_distance_m > 0.0 && max_distance_m.is_finite()) {
        return Err(Error::Invalid(format!(
            "matching distance {max_distance_m} m: expected a positive number"
        )));
    }
    if !(area_km2 > 0.0 && area_km2.is_finite()) {
        return Err(Error::Invalid(format!(
            "scene area {area_km2} km²: expected a positive number"
        )));
    }
    if bin_edges
        .windows(2)
        .any(|w| w[1].partial_cmp(&w[0]) != Some(std::cmp::Ordering::Greater))
    {
        return Err(Error::Invalid(format!(
            "emission-rate bin edges {bin_edges:?} kg/h: expected ascending values"
        )));
    }
    let mut pairs: Vec<(f64, usize, usize)> = Vec::new();
    for (ti, t) in truth.iter().enumerate() {
        for (di, d) in detections.iter().enumerate() {
            let dist = ((t.x - d.x).powi(2) + (t.y - d.y).powi(2)).sqrt();
            if dist <= max_distance_m {
                pairs.push((dist, ti, di));
            }
        }
    }
    pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut t_used = vec![false; truth.len()];
    let mut d_used = vec![false; detections.len()];
    let mut matches = Vec::new();
    for (dist, ti, di) in pairs {
        if t_used[ti] || d_used[di] {
            continue;
        }
        t_used[ti] = true;
        d_used[di] = true;
        matches.push(SourceMatch {
            truth_id: truth[ti].id,
            detection: di,
            distance_m: dist,
            true_rate_kg_h: truth[ti].rate_kg_h,
            estimated_rate_kg_h: detections[di].rate_kg_h,
        });
    }
    matches.sort_by_key(|m| m.truth_id);
    let missed = truth
        .iter()
        .zip(&t_used)
        .filter(|(_, u)| !**u)
        .map(|(t, _)| t.id)
        .collect();
    let false_sites: Vec<usize> = (0..detections.len()).filter(|&i| !d_used[i]).collect();
    let pod_bins = bin_edges
        .windows(2)
        .enumerate()
        .map(|(bi, w)| {
            let last = bi + 2 == bin_edges.len();
            let in_bin = |q: f64| q >= w[0] && (q < w[1] || (last && q <= w[1]));
            let n = truth.iter().filter(|t| in_bin(t.rate_kg_h)).count();
            let detected = truth
                .iter()
                .zip(&t_used)
                .filter(|(t, u)| **u && in_bin(t.rate_kg_h))
                .count();
            let (ci_lo, ci_hi) = wilson_interval(detected, n);
            PodBin {
                q_lo_kg_h: w[0],
                q_hi_kg_h: w[1],
                n,
                detected,
                pod: if n > 0 {
                    detected as f64 / n as f64
                } else {
                    f64::NAN
                },
                ci_lo,
                ci_hi,
            }
        })
        .collect();
    let est: Vec<(f64, f64)> = matches
        .iter()
        .filter_map(|m| {
            m.estimated_rate_kg_h
                .filter(|q| q.is_finite())
                .map(|q| (m.true_rate_kg_h, q))
        })
        .filter(|(t, _)| *t > 0.0)
        .collect();
    let rate_error = (!est.is_empty()).then(|| {
        let n = est.len() as f64;
        let mut abs: Vec<f64> = est.iter().map(|(t, e)| ((e - t) / t).abs()).collect();
        let mut rel: Vec<f64> = est.iter().map(|(t, e)| (e - t) / t).collect();
        let mean_rel_bias = rel.iter().sum::<f64>() / n;
        let (mx, my) = (
            est.iter().map(|p| p.0).sum::<f64>() / n,
            est.iter().map(|p| p.1).sum::<f64>() / n,
        );
        let sxx: f64 = est.iter().map(|(x, _)| (x - mx).powi(2)).sum();
        let sxy: f64 = est.iter().map(|(x, y)| (x - mx) * (y - my)).sum();
        let syy: f64 = est.iter().map(|(_, y)| (y - my).powi(2)).sum();
        let slope = if sxx > 0.0 { sxy / sxx } else { f64::NAN };
        RateError {
            n: est.len(),
            median_abs_rel_error: median(&mut abs),
            median_rel_bias: median(&mut rel),
            mean_rel_bias,
            parity_slope: slope,
            parity_intercept_kg_h: my - slope * mx,
            parity_r2: if sxx > 0.0 && syy > 0.0 {
                sxy * sxy / (sxx * syy)
            } else {
                f64::NAN
            },
        }
    });
    Ok(SourceScores {
        max_distance_m,
        pod: if truth.is_empty() {
            f64::NAN
        } else {
            matches.len() as f64 / truth.len() as f64
        },
        matches,
        missed,
        false_sites_per_km2: false_sites.len() as f64 / area_km2,
        false_sites,
        area_km2,
        pod_bins,
        rate_error,
    })
}

/// A logistic POD curve `POD(Q) = 1 / (1 + exp(−(a + b·log10 Q)))`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
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
/// same outcome (no curve can be fitted).
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
        if det <= 0.0 {
            break;
        }
        let da = (info[2] * ga - info[1] * gb) / det;
        let db = (info[0] * gb - info[1] * ga) / det;
        a += da.clamp(-5.0, 5.0);
        b += db.clamp(-5.0, 5.0);
        if da.abs() < 1e-10 && db.abs() < 1e-10 {
            break;
        }
    }
    let det = info[0] * info[2] - info[1] * info[1];
    // Covariance of (a_c, b) for centred x, then back to a = a_c − b·xm.
    let (vac, cacb, vb) = (info[2] / det, -info[1] / det, info[0] / det);
    let a0 = a - b * xm;
    let va0 = vac - 2.0 * xm * cacb + xm * xm * vb;
    let cab0 = cacb - xm * vb;
    let z = 1.959_964;
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
