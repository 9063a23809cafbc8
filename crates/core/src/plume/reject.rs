//! Rejection of known false positives: plumes that follow surface brightness or a
//! material edge, detector streaks, no-data or saturated neighbourhoods (and, with the
//! radiance at hand, broad surface absorption features: [`super::narrowband`]).

use super::PlumeInputs;
use crate::math::correlation::pearson;

/// Parameters of the false-positive rejection, with documented defaults.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RejectParams {
    /// Reject when |Pearson r| between enhancement and albedo (or between enhancement
    /// and the albedo gradient magnitude, i.e. a material edge) over the plume's
    /// neighbourhood window reaches this (default 0.7).
    pub max_surface_correlation: f64,
    /// Smallest albedo coefficient of variation in the window for the correlation test to
    /// apply (default 0.02: a uniform surface cannot explain a plume).
    pub min_albedo_variation: f64,
    /// A plume whose most populated column (line) holds at least this fraction of its
    /// pixels is a column (line) streak (default 0.8) …
    pub streak_fraction: f64,
    /// … when it is at least this many pixels long (default 4).
    pub streak_min_length: usize,
    /// Width in pixels of the ring around the plume inspected for no-data or saturated
    /// pixels (default 2).
    pub neighbourhood_radius: usize,
    /// Reject when at least this fraction of the ring (inside the scene) is no data or
    /// saturated (default 0.2).
    pub max_invalid_fraction: f64,
}

impl Default for RejectParams {
    fn default() -> Self {
        Self {
            max_surface_correlation: 0.7,
            min_albedo_variation: 0.02,
            streak_fraction: 0.8,
            streak_min_length: 4,
            neighbourhood_radius: 2,
            max_invalid_fraction: 0.2,
        }
    }
}

/// Why a candidate plume was rejected as a known false positive.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum Rejection {
    /// The enhancement follows surface brightness: |r(enhancement, albedo)| is high
    /// around the plume.
    FollowsBrightness {
        /// Pearson correlation over the neighbourhood window.
        r: f64,
    },
    /// The enhancement follows a material edge: |r(enhancement, |∇albedo|)| is high.
    FollowsEdge {
        /// Pearson correlation over the neighbourhood window.
        r: f64,
    },
    /// A single-column streak (a detector artefact).
    ColumnStreak {
        /// Lines the streak spans.
        length: usize,
        /// Fraction of the plume's pixels in its most populated column.
        fraction: f64,
    },
    /// A single-line streak (a down-track artefact such as a dropped or censored line).
    LineStreak {
        /// Samples the streak spans.
        length: usize,
        /// Fraction of the plume's pixels in its most populated line.
        fraction: f64,
    },
    /// The plume sits in a no-data or saturated neighbourhood.
    InvalidNeighbourhood {
        /// Fraction of the surrounding ring (and the plume) that is no data or saturated.
        fraction: f64,
    },
    /// The enhancement is a broad surface absorption feature, not gas: the narrow-band
    /// (differential) gas column is significantly below the fraction `min_ratio` of
    /// the matched-filter enhancement (see [`crate::plume::narrowband`]).
    BroadbandSurface {
        /// Mean narrow-band gas column over the candidate, ppm·m.
        narrowband_ppm_m: f64,
        /// Its standard error, ppm·m.
        se_ppm_m: f64,
        /// Mean matched-filter enhancement over the candidate, ppm·m.
        matched_filter_ppm_m: f64,
    },
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Rejection::FollowsBrightness { r } => write!(
                f,
                "enhancement follows surface brightness (r with albedo = {r:.2})"
            ),
            Rejection::FollowsEdge { r } => write!(
                f,
                "enhancement follows a material edge (r with albedo gradient = {r:.2})"
            ),
            Rejection::ColumnStreak { length, fraction } => write!(
                f,
                "single-column streak ({length} lines, {:.0}% of pixels in one column)",
                fraction * 100.0
            ),
            Rejection::LineStreak { length, fraction } => write!(
                f,
                "single-line streak ({length} samples, {:.0}% of pixels in one line)",
                fraction * 100.0
            ),
            Rejection::InvalidNeighbourhood { fraction } => write!(
                f,
                "no-data or saturated neighbourhood ({:.0}% of the surrounding pixels)",
                fraction * 100.0
            ),
            Rejection::BroadbandSurface {
                narrowband_ppm_m,
                se_ppm_m,
                matched_filter_ppm_m,
            } => write!(
                f,
                "broad surface absorption feature, not gas: narrow-band gas column \
                 {narrowband_ppm_m:.0} ± {se_ppm_m:.0} ppm·m against a matched-filter \
                 enhancement of {matched_filter_ppm_m:.0} ppm·m"
            ),
        }
    }
}

pub(super) fn reject_reason(
    id: u32,
    comp: &[usize],
    bbox: [usize; 4],
    inputs: &PlumeInputs<'_>,
    labels: &[u32],
    p: &RejectParams,
) -> Option<Rejection> {
    let grid = inputs.grid;
    let (w, h) = (grid.samples, grid.lines);
    let [r0, c0, r1, c1] = bbox;
    let bad = |i: usize| {
        !inputs.enhancement[i].is_finite()
            || !inputs.z[i].is_finite()
            || inputs.invalid.is_some_and(|m| m[i])
    };
    // 1. No-data / saturated neighbourhood: ring of width `neighbourhood_radius`.
    let rad = p.neighbourhood_radius;
    if rad > 0 {
        let (wr0, wc0) = (r0.saturating_sub(rad), c0.saturating_sub(rad));
        let (wr1, wc1) = ((r1 + rad).min(h - 1), (c1 + rad).min(w - 1));
        let (mut ring, mut ring_bad) = (0usize, 0usize);
        for r in wr0..=wr1 {
            for c in wc0..=wc1 {
                let i = r * w + c;
                if labels[i] == id {
                    continue;
                }
                // Within `rad` (Chebyshev) of a plume pixel?
                let near = (r.saturating_sub(rad)..=(r + rad).min(h - 1)).any(|rr| {
                    (c.saturating_sub(rad)..=(c + rad).min(w - 1))
                        .any(|cc| labels[rr * w + cc] == id)
                });
                if near {
                    ring += 1;
                    if bad(i) {
                        ring_bad += 1;
                    }
                }
            }
        }
        if ring > 0 {
            let fraction = ring_bad as f64 / ring as f64;
            if fraction >= p.max_invalid_fraction {
                return Some(Rejection::InvalidNeighbourhood { fraction });
            }
        }
    }
    // 2. Streaks.
    let n = comp.len() as f64;
    let mut per_col = vec![0usize; c1 - c0 + 1];
    let mut per_line = vec![0usize; r1 - r0 + 1];
    for &i in comp {
        per_col[i % w - c0] += 1;
        per_line[i / w - r0] += 1;
    }
    let col_frac = *per_col.iter().max().unwrap_or(&0) as f64 / n;
    let line_frac = *per_line.iter().max().unwrap_or(&0) as f64 / n;
    let (nl, ns) = (r1 - r0 + 1, c1 - c0 + 1);
    if col_frac >= p.streak_fraction && nl >= p.streak_min_length && nl > ns {
        return Some(Rejection::ColumnStreak {
            length: nl,
            fraction: col_frac,
        });
    }
    if line_frac >= p.streak_fraction && ns >= p.streak_min_length && ns > nl {
        return Some(Rejection::LineStreak {
            length: ns,
            fraction: line_frac,
        });
    }
    // 3. Surface correlation in a window around the plume.
    if let Some(albedo) = inputs.albedo {
        let margin = 3.max((nl.max(ns)) / 2);
        let (wr0, wc0) = (r0.saturating_sub(margin), c0.saturating_sub(margin));
        let (wr1, wc1) = ((r1 + margin).min(h - 1), (c1 + margin).min(w - 1));
        let mut e = Vec::new();
        let mut a = Vec::new();
        let mut g = Vec::new();
        for r in wr0..=wr1 {
            for c in wc0..=wc1 {
                let i = r * w + c;
                let (ev, av) = (inputs.enhancement[i], albedo[i]);
                if !ev.is_finite() || !av.is_finite() {
                    continue;
                }
                // Central-difference gradient magnitude where neighbours exist.
                let at = |rr: usize, cc: usize| albedo[rr * w + cc] as f64;
                let gx = if c > 0 && c + 1 < w {
                    0.5 * (at(r, c + 1) - at(r, c - 1))
                } else {
                    0.0
                };
                let gy = if r > 0 && r + 1 < h {
                    0.5 * (at(r + 1, c) - at(r - 1, c))
                } else {
                    0.0
                };
                let gm = (gx * gx + gy * gy).sqrt();
                if !gm.is_finite() {
                    continue;
                }
                e.push(ev as f64);
                a.push(av as f64);
                g.push(gm);
            }
        }
        if e.len() >= 8 {
            let mean_a = a.iter().sum::<f64>() / a.len() as f64;
            let sd_a =
                (a.iter().map(|x| (x - mean_a).powi(2)).sum::<f64>() / a.len() as f64).sqrt();
            if mean_a.abs() > 0.0 && sd_a / mean_a.abs() >= p.min_albedo_variation {
                let r_a = pearson(&e, &a);
                if r_a.abs() >= p.max_surface_correlation {
                    return Some(Rejection::FollowsBrightness { r: r_a });
                }
                let r_g = pearson(&e, &g);
                if r_g.abs() >= p.max_surface_correlation {
                    return Some(Rejection::FollowsEdge { r: r_g });
                }
            }
        }
    }
    None
}
