//! Segmentation: CFAR seeds, hysteresis growth, morphological closing, hole filling and
//! 8-connected components of a minimum size, each described as a [`Plume`].

use super::cfar::{column_background, normalised_z};
use super::outline::trace_outline;
use super::reject::reject_reason;
use super::{CfarParams, NullSample, Plume, PlumeInputs, PlumeSet, RejectParams};
use crate::math::normal::normal_sf;
use crate::raster::Grid;
use crate::{Error, Result};

/// Finds plume candidates: CFAR seeds, hysteresis growth, closing, hole filling,
/// 8-connected components of at least `cfar.min_pixels`, outlines and rejection tests.
pub fn find_plumes(
    inputs: &PlumeInputs<'_>,
    cfar: &CfarParams,
    reject: &RejectParams,
) -> Result<PlumeSet> {
    let grid = inputs.grid;
    grid.check("z", inputs.z.len())?;
    grid.check("enhancement", inputs.enhancement.len())?;
    if let Some(a) = inputs.albedo {
        grid.check("albedo", a.len())?;
    }
    if let Some(m) = inputs.invalid {
        grid.check("invalid-pixel mask", m.len())?;
    }
    let k = cfar.seed_threshold()?;
    let grow = cfar.growth_threshold()?;
    let background = match inputs.reference {
        Some(r) if r.background.len() != grid.samples => {
            return Err(Error::Shape {
                what: "reference column backgrounds (one per sample)".into(),
                expected: grid.samples,
                got: r.background.len(),
            })
        }
        Some(r) => r.background.clone(),
        None => column_background(inputs.z, grid)?,
    };
    let zn = normalised_z(inputs.z, grid, &background)?;
    let (w, h) = (grid.samples, grid.lines);
    let usable = |i: usize| {
        zn[i].is_finite()
            && inputs.enhancement[i].is_finite()
            && !inputs.invalid.is_some_and(|m| m[i])
    };
    let local_valid = || inputs.z.iter().filter(|v| v.is_finite()).count();
    let n_valid = inputs.reference.map_or_else(local_valid, |r| r.n_valid);

    let seg = segment(&zn, &usable, w, h, k, grow, cfar);
    let mut plumes = Vec::with_capacity(seg.components.len());
    for (n, comp) in seg.components.iter().enumerate() {
        plumes.push(describe(
            n as u32 + 1,
            comp,
            inputs,
            &zn,
            &seg.labels,
            n_valid,
            reject,
        ));
    }
    // The empirical null: the same segmentation and rejection rules on the negated
    // score. Gas only adds absorption, so what the rules make of the negative tail is
    // what clutter and noise alone make; its candidates' peak scores calibrate the
    // scene-level false-alarm figure (see [`super::null`]).
    let (null, null_components) = match inputs.reference.and_then(|r| r.null.clone()) {
        Some(null) => (null, Vec::new()),
        None => {
            let (peaks, components) = null_candidates(inputs, &zn, &usable, k, grow, cfar, reject)
                .into_iter()
                .unzip();
            let null = NullSample {
                peaks,
                // Over these maps' own pixels, which the null was looked for over.
                n_valid: match inputs.reference {
                    Some(_) => local_valid(),
                    None => n_valid,
                },
                evidence: Vec::new(),
            };
            (null, components)
        }
    };
    let (labels, n_seed, n_too_small) = (seg.labels, seg.n_seed, seg.n_too_small);
    Ok(PlumeSet {
        plumes,
        labels,
        background,
        seed_threshold: k,
        n_seed_pixels: n_seed,
        n_too_small,
        n_valid,
        null,
        null_components,
    })
}

/// Peak scores and pixels (by descending peak) of the candidates the segmentation and
/// rejection rules find on the negated normalised score: the scene's empirical null.
fn null_candidates(
    inputs: &PlumeInputs<'_>,
    zn: &[f32],
    usable: &dyn Fn(usize) -> bool,
    k: f64,
    grow: f64,
    cfar: &CfarParams,
    reject: &RejectParams,
) -> Vec<(f64, Vec<usize>)> {
    let (w, h) = (inputs.grid.samples, inputs.grid.lines);
    let neg_z: Vec<f32> = zn.iter().map(|v| -v).collect();
    let neg_seg = segment(&neg_z, usable, w, h, k, grow, cfar);
    if neg_seg.components.is_empty() {
        return Vec::new();
    }
    let neg_enh: Vec<f32> = inputs.enhancement.iter().map(|v| -v).collect();
    let neg_inputs = PlumeInputs {
        enhancement: &neg_enh,
        ..*inputs
    };
    let mut peaks: Vec<(f64, Vec<usize>)> = neg_seg
        .components
        .into_iter()
        .enumerate()
        .filter(|(n, comp)| {
            let bbox = bounding_box(comp, w);
            reject_reason(
                *n as u32 + 1,
                comp,
                bbox,
                &neg_inputs,
                &neg_seg.labels,
                reject,
            )
            .is_none()
        })
        .map(|(_, comp)| {
            let peak = comp
                .iter()
                .map(|&i| neg_z[i] as f64)
                .fold(f64::NEG_INFINITY, f64::max);
            (peak, comp)
        })
        .collect();
    peaks.sort_by(|a, b| b.0.total_cmp(&a.0));
    peaks
}

/// Components of a segmentation, labelled 1.. in discovery order.
struct Segmentation {
    components: Vec<Vec<usize>>,
    labels: Vec<u32>,
    n_seed: usize,
    n_too_small: usize,
}

/// Seeds above `k`, hysteresis growth through `grow`, closing, hole filling and
/// 8-connected components of at least `cfar.min_pixels` pixels (sorted pixel lists).
fn segment(
    zn: &[f32],
    usable: &dyn Fn(usize) -> bool,
    w: usize,
    h: usize,
    k: f64,
    grow: f64,
    cfar: &CfarParams,
) -> Segmentation {
    let len = w * h;
    // Seeds and hysteresis growth (8-connected flood from seeds through zn > grow).
    let mut mask = vec![false; len];
    let mut stack = Vec::new();
    let mut n_seed = 0;
    for i in 0..len {
        if usable(i) && (zn[i] as f64) > k {
            n_seed += 1;
            if !mask[i] {
                mask[i] = true;
                stack.push(i);
            }
        }
    }
    while let Some(i) = stack.pop() {
        for j in neighbours8(i, w, h) {
            if !mask[j] && usable(j) && (zn[j] as f64) > grow {
                mask[j] = true;
                stack.push(j);
            }
        }
    }

    // Morphological closing, restricted to usable pixels.
    if cfar.closing_radius > 0 {
        let dilated = dilate(&mask, w, h, cfar.closing_radius);
        let closed = erode(&dilated, w, h, cfar.closing_radius);
        for i in 0..len {
            mask[i] = (mask[i] || closed[i]) && usable(i);
        }
    }

    // Connected components (8-connectivity).
    let mut labels = vec![0u32; len];
    let mut visited = vec![false; len];
    let mut components = Vec::new();
    let mut n_too_small = 0;
    let mut comp = Vec::new();
    let mut next_id = 1u32;
    for start in 0..len {
        if !mask[start] || visited[start] {
            continue;
        }
        comp.clear();
        visited[start] = true;
        labels[start] = u32::MAX;
        stack.push(start);
        while let Some(i) = stack.pop() {
            comp.push(i);
            for j in neighbours8(i, w, h) {
                if mask[j] && !visited[j] {
                    visited[j] = true;
                    labels[j] = u32::MAX;
                    stack.push(j);
                }
            }
        }
        fill_holes(&mut comp, w, h, usable, &labels);
        for &i in &comp {
            visited[i] = true;
        }
        if comp.len() < cfar.min_pixels.max(1) {
            n_too_small += 1;
            for &i in &comp {
                if labels[i] == u32::MAX {
                    labels[i] = 0;
                }
            }
            continue;
        }
        let id = next_id;
        next_id += 1;
        for &i in &comp {
            labels[i] = id;
        }
        comp.sort_unstable();
        components.push(comp.clone());
    }
    Segmentation {
        components,
        labels,
        n_seed,
        n_too_small,
    }
}

/// `[line_min, sample_min, line_max, sample_max]` of a pixel list.
fn bounding_box(comp: &[usize], w: usize) -> [usize; 4] {
    comp.iter()
        .fold([usize::MAX, usize::MAX, 0, 0], |[r0, c0, r1, c1], &i| {
            let (r, c) = (i / w, i % w);
            [r0.min(r), c0.min(c), r1.max(r), c1.max(c)]
        })
}

fn neighbours8(i: usize, w: usize, h: usize) -> impl Iterator<Item = usize> {
    Grid::new(h, w).window3(i).filter(move |&j| j != i)
}

/// Binary dilation with a (2r+1)² square, separable.
fn dilate(mask: &[bool], w: usize, h: usize, r: usize) -> Vec<bool> {
    let mut tmp = vec![false; mask.len()];
    for y in 0..h {
        for x in 0..w {
            let lo = x.saturating_sub(r);
            let hi = (x + r).min(w - 1);
            tmp[y * w + x] = (lo..=hi).any(|xx| mask[y * w + xx]);
        }
    }
    let mut out = vec![false; mask.len()];
    for y in 0..h {
        let lo = y.saturating_sub(r);
        let hi = (y + r).min(h - 1);
        for x in 0..w {
            out[y * w + x] = (lo..=hi).any(|yy| tmp[yy * w + x]);
        }
    }
    out
}

/// Binary erosion with a (2r+1)² square; outside the raster counts as set (so the
/// closing does not eat plumes touching the border).
fn erode(mask: &[bool], w: usize, h: usize, r: usize) -> Vec<bool> {
    let mut tmp = vec![false; mask.len()];
    for y in 0..h {
        for x in 0..w {
            let lo = x.saturating_sub(r);
            let hi = (x + r).min(w - 1);
            tmp[y * w + x] = (lo..=hi).all(|xx| mask[y * w + xx]);
        }
    }
    let mut out = vec![false; mask.len()];
    for y in 0..h {
        let lo = y.saturating_sub(r);
        let hi = (y + r).min(h - 1);
        for x in 0..w {
            out[y * w + x] = (lo..=hi).all(|yy| tmp[yy * w + x]);
        }
    }
    out
}

/// Adds to `comp` the usable, unlabelled pixels it encloses (background not
/// 4-connected to the outside of its bounding box).
fn fill_holes(
    comp: &mut Vec<usize>,
    w: usize,
    _h: usize,
    usable: &dyn Fn(usize) -> bool,
    labels: &[u32],
) {
    let (mut r0, mut c0, mut r1, mut c1) = (usize::MAX, usize::MAX, 0, 0);
    for &i in comp.iter() {
        let (r, c) = (i / w, i % w);
        r0 = r0.min(r);
        c0 = c0.min(c);
        r1 = r1.max(r);
        c1 = c1.max(c);
    }
    // Local padded grid.
    let lw = c1 - c0 + 3;
    let lh = r1 - r0 + 3;
    let mut inside = vec![false; lw * lh];
    for &i in comp.iter() {
        let (r, c) = (i / w, i % w);
        inside[(r - r0 + 1) * lw + (c - c0 + 1)] = true;
    }
    let mut outside = vec![false; lw * lh];
    let mut stack = vec![0usize];
    outside[0] = true;
    while let Some(p) = stack.pop() {
        let (y, x) = (p / lw, p % lw);
        let mut visit = |q: usize| {
            if !outside[q] && !inside[q] {
                outside[q] = true;
                stack.push(q);
            }
        };
        if x > 0 {
            visit(p - 1);
        }
        if x + 1 < lw {
            visit(p + 1);
        }
        if y > 0 {
            visit(p - lw);
        }
        if y + 1 < lh {
            visit(p + lw);
        }
    }
    for y in 1..lh - 1 {
        for x in 1..lw - 1 {
            let p = y * lw + x;
            if !inside[p] && !outside[p] {
                let i = (y - 1 + r0) * w + (x - 1 + c0);
                if usable(i) && labels[i] == 0 {
                    comp.push(i);
                }
            }
        }
    }
}

fn describe(
    id: u32,
    comp: &[usize],
    inputs: &PlumeInputs<'_>,
    zn: &[f32],
    labels: &[u32],
    n_valid: usize,
    reject: &RejectParams,
) -> Plume {
    let w = inputs.grid.samples;
    let (mut r0, mut c0, mut r1, mut c1) = (usize::MAX, usize::MAX, 0, 0);
    let mut peak = (f64::NEG_INFINITY, 0usize);
    let mut peak_z = f64::NEG_INFINITY;
    for &i in comp {
        let (r, c) = (i / w, i % w);
        r0 = r0.min(r);
        c0 = c0.min(c);
        r1 = r1.max(r);
        c1 = c1.max(c);
        let e = inputs.enhancement[i] as f64;
        if e > peak.0 {
            peak = (e, i);
        }
        peak_z = peak_z.max(zn[i] as f64);
    }
    let sf = normal_sf(peak_z);
    // 1 − (1 − p)^N computed stably.
    let fap = -((n_valid.max(1) as f64) * (-sf).ln_1p()).exp_m1();
    let outline = trace_outline(comp, w, [r0, c0, r1, c1]);
    let bbox = [r0, c0, r1, c1];
    let rejection = reject_reason(id, comp, bbox, inputs, labels, reject);
    Plume {
        id,
        pixels: comp.to_vec(),
        n_pixels: comp.len(),
        bbox,
        peak_pixel: [peak.1 / w, peak.1 % w],
        max_enhancement_ppm_m: peak.0,
        peak_z,
        significance: peak_z,
        false_alarm_probability: fap.clamp(0.0, 1.0),
        outline,
        rejection,
        narrowband: None,
    }
}
