//! Source location: where a plume's gas comes from, at the upwind end of the plume
//! along the wind (or at its enhancement maximum without wind).
//!
//! # Units
//! Pixel positions are continuous `(col, row)` as in [`crate::geo`] (pixel centres at
//! `+0.5`); the uncertainty radius is in pixels.

use crate::raster::Grid;
use crate::{Error, Result};

/// How a source position was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceMethod {
    /// The enhancement maximum within the upwind end of the plume along the wind.
    UpwindEnd,
    /// The enhancement maximum of the plume (no wind given).
    MaxEnhancement,
}

/// Estimated source position of a plume.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SourceEstimate {
    /// Continuous pixel column (x) of the source.
    pub col: f64,
    /// Continuous pixel row (y) of the source.
    pub row: f64,
    /// Uncertainty radius: half a pixel (quantisation) combined in quadrature with the
    /// enhancement-weighted RMS distance of the refining pixels' centres from the
    /// estimate.
    ///
    /// # Units
    /// Pixels.
    pub radius_px: f64,
    /// How it was found.
    pub method: SourceMethod,
}

/// Parameters of source location.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SourceParams {
    /// Depth of the plume's upwind end searched for the maximum, as a fraction of the
    /// plume's along-wind extent (default 0.33) …
    pub upwind_fraction: f64,
    /// … but at least this many pixels (default 2).
    pub upwind_min_px: f64,
}

impl Default for SourceParams {
    fn default() -> Self {
        Self {
            upwind_fraction: 0.15,
            upwind_min_px: 2.0,
        }
    }
}

pub(crate) fn check_pixels(grid: Grid, pixels: &[usize], enhancement: &[f32]) -> Result<()> {
    grid.check("enhancement", enhancement.len())?;
    if pixels.is_empty() {
        return Err(Error::Invalid(
            "plume: expected at least one pixel, got none".into(),
        ));
    }
    if let Some(&bad) = pixels.iter().find(|&&i| i >= grid.len()) {
        return Err(Error::Invalid(format!(
            "plume pixel index {bad}: expected < {} (lines × samples)",
            grid.len()
        )));
    }
    Ok(())
}

/// Locates the source of the plume made of `pixels` (linear indices in `grid`).
///
/// With a downwind unit vector `downwind_px = (dcol, drow)` (see
/// [`crate::geo::downwind_pixel_unit`]) the search is restricted to the pixels whose
/// along-wind position is within the upwind end (see [`SourceParams`]); without one
/// the whole plume is searched. With wind, the anchor is the most upwind pixel of that
/// end holding at least half of its maximum, and the source is the enhancement-weighted
/// centroid of the upwind front of the strong pixels around the anchor (pixels of its
/// 3 × 3 neighbourhood ≥ 30 % of it, within half a pixel, along the wind, of the most
/// upwind of them); without wind, the weighted centroid of the plume pixels in the
/// maximum's 3 × 3 neighbourhood.
pub fn locate_source(
    grid: Grid,
    pixels: &[usize],
    enhancement: &[f32],
    downwind_px: Option<(f64, f64)>,
    params: &SourceParams,
) -> Result<SourceEstimate> {
    check_pixels(grid, pixels, enhancement)?;
    let w = grid.samples;
    let centre = |i: usize| ((i % w) as f64 + 0.5, (i / w) as f64 + 0.5);
    let (cands, method): (Vec<usize>, SourceMethod) = match downwind_px {
        Some((dc, dr)) if (dc * dc + dr * dr) > 0.0 => {
            let proj = |i: usize| {
                let (c, r) = centre(i);
                c * dc + r * dr
            };
            let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
            for &i in pixels {
                let p = proj(i);
                lo = lo.min(p);
                hi = hi.max(p);
            }
            let depth = (params.upwind_fraction * (hi - lo)).max(params.upwind_min_px);
            (
                pixels
                    .iter()
                    .copied()
                    .filter(|&i| proj(i) <= lo + depth)
                    .collect(),
                SourceMethod::UpwindEnd,
            )
        }
        _ => (pixels.to_vec(), SourceMethod::MaxEnhancement),
    };
    let finite = |i: &usize| enhancement[*i].is_finite();
    let best = cands
        .iter()
        .copied()
        .filter(finite)
        .max_by(|&a, &b| enhancement[a].total_cmp(&enhancement[b]))
        .unwrap_or(cands[0]);
    // With wind, the anchor is the most upwind pixel of the upwind end holding at least
    // half its maximum (puffs can make the maximum itself lie downwind of the source).
    let best = match downwind_px {
        Some((dc, dr)) if method == SourceMethod::UpwindEnd => {
            let half = 0.5 * enhancement[best] as f64;
            cands
                .iter()
                .copied()
                .filter(finite)
                .filter(|&i| enhancement[i] as f64 >= half)
                .min_by(|&a, &b| {
                    let (ca, ra) = centre(a);
                    let (cb, rb) = centre(b);
                    (ca * dc + ra * dr).total_cmp(&(cb * dc + rb * dr))
                })
                .unwrap_or(best)
        }
        _ => best,
    };
    // Refining pixels: with wind, the upwind front of the strong pixels next to the
    // anchor (pixels ≥ 30 % of the anchor in its 3 × 3
    // neighbourhood whose along-wind position is within half a pixel of the most
    // upwind of them: the source lies in the first pixel that holds a good share of
    // the plume, and staying next to the maximum keeps noise elsewhere in the upwind
    // end out); without wind, the plume pixels in the maximum's 3 × 3.
    let nb: Vec<((f64, f64), f64)> = match (method, downwind_px) {
        (SourceMethod::UpwindEnd, Some((dc, dr))) => {
            let peak = enhancement[best] as f64;
            let (bc, br) = centre(best);
            let strong: Vec<usize> = cands
                .iter()
                .copied()
                .filter(finite)
                .filter(|&i| {
                    let (c, r) = centre(i);
                    (c - bc).abs() <= 1.0 && (r - br).abs() <= 1.0
                })
                .filter(|&i| enhancement[i] as f64 >= 0.3 * peak)
                .collect();
            let proj = |i: usize| {
                let (c, r) = centre(i);
                c * dc + r * dr
            };
            let front = strong
                .iter()
                .map(|&i| proj(i))
                .fold(f64::INFINITY, f64::min);
            strong
                .iter()
                .copied()
                .filter(|&i| proj(i) <= front + 0.5)
                .map(|i| (centre(i), (enhancement[i] as f64).max(f64::MIN_POSITIVE)))
                .collect()
        }
        _ => {
            let (br, bc) = ((best / w) as isize, (best % w) as isize);
            let mut nb = Vec::with_capacity(9);
            for dr in -1..=1 {
                for dc in -1..=1 {
                    let (r, c) = (br + dr, bc + dc);
                    if r < 0 || c < 0 || r as usize >= grid.lines || c as usize >= w {
                        continue;
                    }
                    let i = r as usize * w + c as usize;
                    if pixels.contains(&i) {
                        let e = enhancement[i] as f64;
                        if e.is_finite() && e > 0.0 {
                            nb.push((centre(i), e));
                        }
                    }
                }
            }
            nb
        }
    };
    let wsum: f64 = nb.iter().map(|p| p.1).sum();
    let (col, row) = if wsum > 0.0 {
        (
            nb.iter().map(|p| p.0 .0 * p.1).sum::<f64>() / wsum,
            nb.iter().map(|p| p.0 .1 * p.1).sum::<f64>() / wsum,
        )
    } else {
        centre(best)
    };
    let spread2 = if wsum > 0.0 {
        nb.iter()
            .map(|p| ((p.0 .0 - col).powi(2) + (p.0 .1 - row).powi(2)) * p.1)
            .sum::<f64>()
            / wsum
    } else {
        0.0
    };
    Ok(SourceEstimate {
        col,
        row,
        // Half-pixel quantisation combined with the spread of the refining pixels.
        radius_px: (0.25 + spread2).sqrt(),
        method,
    })
}
