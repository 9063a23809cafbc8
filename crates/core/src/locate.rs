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

/// The inverse-variance mean of the enhancement over `pixels` (those with a finite
/// enhancement and a finite, positive sigma) and its standard error; `None` when no
/// pixel qualifies.
pub(crate) fn inverse_variance_mean(
    pixels: impl IntoIterator<Item = usize>,
    enhancement: &[f32],
    sigma: &[f32],
) -> Option<(f64, f64)> {
    let (mut sw, mut swe) = (0.0f64, 0.0f64);
    for j in pixels {
        let (e, s) = (enhancement[j] as f64, sigma[j] as f64);
        if e.is_finite() && s.is_finite() && s > 0.0 {
            sw += 1.0 / (s * s);
            swe += e / (s * s);
        }
    }
    (sw > 0.0).then(|| (swe / sw, 1.0 / sw.sqrt()))
}

/// The plume pixels whose sigma is more than twice the median sigma of their plume
/// neighbours (in their 3 × 3 neighbourhood), each with the inverse-variance mean of
/// the plume's pixels there, itself included (NaN where none is finite): the values
/// that replace their enhancement in the ranking. Other pixels keep their enhancement:
/// where the noise is even (dark ground all round, or a strong plume whose gas raises
/// the sigma of all its core pixels) the enhancement itself ranks them. (Only these
/// few are kept: a copy of the whole map, a pass's 3 M pixels on a flight line, was
/// made for every candidate before.)
fn noisy_pixel_ranks(
    grid: Grid,
    pixels: &[usize],
    enhancement: &[f32],
    sigma: &[f32],
) -> std::collections::HashMap<usize, f32> {
    let members: std::collections::HashSet<usize> = pixels.iter().copied().collect();
    let usable = |j: usize| {
        let (e, s) = (enhancement[j], sigma[j]);
        members.contains(&j) && e.is_finite() && s.is_finite() && s > 0.0
    };
    let mut out = std::collections::HashMap::new();
    let mut around = Vec::with_capacity(8);
    for &i in pixels {
        around.clear();
        around.extend(
            grid.window3(i)
                .filter(|&j| j != i && usable(j))
                .map(|j| sigma[j] as f64),
        );
        if around.is_empty() {
            continue;
        }
        around.sort_by(f64::total_cmp);
        let median = around[around.len() / 2];
        let own = sigma[i] as f64;
        if own.is_nan() || own > 2.0 * median {
            let mean =
                inverse_variance_mean(grid.window3(i).filter(|&j| usable(j)), enhancement, sigma);
            out.insert(i, mean.map_or(f32::NAN, |(m, _)| m as f32));
        }
    }
    out
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
    locate_source_weighted(grid, pixels, enhancement, None, downwind_px, params)
}

/// [`locate_source`] where, with the enhancement's noise-equivalent `sigma` (ppm·m,
/// `lines × samples`), a plume pixel more than twice as noisy as its plume neighbours
/// (a pixel unlike its background whose score the outlier scaling divided, a dark
/// object in bright ground) is ranked for the anchor by the inverse-variance mean of
/// its 3 × 3 plume neighbourhood instead of its own enhancement: it can no longer pull
/// the source to itself with a large enhancement that its sigma says is mostly noise.
/// The refinement around the anchor reads the enhancement itself, as
/// [`locate_source`] does.
pub fn locate_source_weighted(
    grid: Grid,
    pixels: &[usize],
    enhancement: &[f32],
    sigma: Option<&[f32]>,
    downwind_px: Option<(f64, f64)>,
    params: &SourceParams,
) -> Result<SourceEstimate> {
    check_pixels(grid, pixels, enhancement)?;
    // What the anchor is chosen by: with sigma, the noisy pixels' local means; the
    // refinement around the anchor reads the enhancement itself.
    let local = match sigma {
        Some(sigma) => {
            grid.check("sigma", sigma.len())?;
            noisy_pixel_ranks(grid, pixels, enhancement, sigma)
        }
        None => Default::default(),
    };
    let rank = |i: usize| local.get(&i).copied().unwrap_or(enhancement[i]);
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
    let finite = |i: &usize| rank(*i).is_finite();
    let finite_e = |i: &usize| enhancement[*i].is_finite();
    let best = cands
        .iter()
        .copied()
        .filter(finite)
        .max_by(|&a, &b| rank(a).total_cmp(&rank(b)))
        .unwrap_or(cands[0]);
    // With wind, the anchor is the most upwind pixel of the upwind end holding at least
    // half its maximum (puffs can make the maximum itself lie downwind of the source).
    let best = match downwind_px {
        Some((dc, dr)) if method == SourceMethod::UpwindEnd => {
            let half = 0.5 * rank(best) as f64;
            cands
                .iter()
                .copied()
                .filter(finite)
                .filter(|&i| rank(i) as f64 >= half)
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
                .filter(finite_e)
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Tuning seed 105 of the detection benchmark: a 241 kg/h source on dark ground,
    /// whose upwind end also held a pixel of a bright linear feature that the outlier
    /// scaling had given a sigma seven times its neighbours' (11,700 ± 4,100 ppm·m
    /// against 3,000–4,200 ± 1,300 at the source). The largest enhancement put the
    /// source on that pixel, 29 px downwind; weighted by precision the source stays
    /// at the plume's head.
    #[test]
    fn a_noisy_pixel_with_a_large_enhancement_does_not_pull_the_source() {
        let grid = Grid::new(9, 30);
        let mut e = vec![0.0f32; grid.len()];
        let mut s = vec![600.0f32; grid.len()];
        let mut pixels = Vec::new();
        // A plume along +col from column 2 (its head) to 27, rows 3–5, falling off.
        for r in 3..6 {
            for c in 2..28 {
                let i = r * grid.samples + c;
                pixels.push(i);
                e[i] = 4000.0 - 100.0 * (c - 2) as f32;
                s[i] = 1300.0;
            }
        }
        // The noisy pixel, 6 px downwind of the head (inside the upwind end).
        let noisy = 4 * grid.samples + 8;
        e[noisy] = 11_700.0;
        s[noisy] = 4_100.0;
        let params = SourceParams {
            upwind_fraction: 0.35,
            upwind_min_px: 2.0,
        };
        let plain = locate_source(grid, &pixels, &e, Some((1.0, 0.0)), &params).unwrap();
        assert!((plain.col - 8.5).abs() < 0.6, "{plain:?}");
        let weighted =
            locate_source_weighted(grid, &pixels, &e, Some(&s), Some((1.0, 0.0)), &params).unwrap();
        assert!((weighted.col - 2.5).abs() < 0.6, "{weighted:?}");
        assert!((weighted.row - 4.5).abs() < 0.6, "{weighted:?}");
        // Equal sigmas everywhere: no pixel is noisier than its neighbours, and the
        // enhancement itself decides, as without sigma (a strong plume's gas raises the
        // sigma of its whole core, which must not move its source).
        let flat = vec![1300.0f32; grid.len()];
        let even =
            locate_source_weighted(grid, &pixels, &e, Some(&flat), Some((1.0, 0.0)), &params)
                .unwrap();
        assert_eq!(even, plain);
    }
}
