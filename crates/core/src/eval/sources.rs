//! Source-level scores: one-to-one matching of detected sites to true sources, POD per
//! emission-rate bin with Wilson intervals, false sites per km² and rate error.

use crate::math::normal::Z_95;
use crate::math::order_stats::median_in_place;
use crate::{Error, Result};

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

/// POD per emission-rate bin (`edges` ascending, kg/h; the last bin includes its upper
/// edge) of detection trials `(true rate kg/h, detected)`, with Wilson 95% intervals.
pub fn pod_per_bin(trials: &[(f64, bool)], edges: &[f64]) -> Vec<PodBin> {
    edges
        .windows(2)
        .enumerate()
        .map(|(bi, w)| {
            let last = bi + 2 == edges.len();
            let in_bin = |q: f64| q >= w[0] && (q < w[1] || (last && q <= w[1]));
            let n = trials.iter().filter(|t| in_bin(t.0)).count();
            let detected = trials.iter().filter(|t| t.1 && in_bin(t.0)).count();
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
        .collect()
}

/// Wilson score 95% interval of `k` successes in `n` trials.
pub fn wilson_interval(k: usize, n: usize) -> (f64, f64) {
    if n == 0 {
        return (f64::NAN, f64::NAN);
    }
    let z = Z_95;
    let (nf, p) = (n as f64, k as f64 / n as f64);
    let d = 1.0 + z * z / nf;
    let c = (p + z * z / (2.0 * nf)) / d;
    let h = z * (p * (1.0 - p) / nf + z * z / (4.0 * nf * nf)).sqrt() / d;
    ((c - h).max(0.0), (c + h).min(1.0))
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
    let trials: Vec<(f64, bool)> = truth
        .iter()
        .zip(&t_used)
        .map(|(t, u)| (t.rate_kg_h, *u))
        .collect();
    let pod_bins = pod_per_bin(&trials, bin_edges);
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
            median_abs_rel_error: median_in_place(&mut abs),
            median_rel_bias: median_in_place(&mut rel),
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
