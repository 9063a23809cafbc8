//! Class-conditional background statistics: the matched filter (classic or
//! albedo-corrected) with a mean and covariance per surface class and detector column,
//! instead of one per column over every surface the column crosses.
//!
//! A flight line's columns cross fields, roads, roofs and water; one Gaussian per
//! column then has the covariance of the mixture, which is wide along the directions
//! that separate the surfaces and leaves each surface's pixels off-centre. Grouping
//! pixels by surface first (the cluster-tuned matched filter of Funk et al. 2001,
//! applied per detector column) gives each pixel a background of its own kind.
//!
//! # Method
//! 1. Features: `ln(max(L, 10⁻⁴))` on every sixth window band, centred, projected onto
//!    their first [`COMPONENTS`] principal components (estimated on at most
//!    [`FIT_PIXELS`] pixels spread evenly over the scene).
//! 2. Classes: k-means (k-means++ starts, best of [`STARTS`], fixed seed) on the same
//!    pixels; every pixel joins its nearest centre.
//! 3. Statistics of class `j` for column `c`: the pixels of class `j` in the smallest
//!    aligned block of 1, 4, 16, 64 or 256 columns around `c` that holds at least
//!    `min_pixels` of them, else in the whole scene when it holds at least bands + 2,
//!    else the column's statistics over every class. Sample covariance with a ridge of
//!    10⁻⁶ of its mean diagonal.
//! 4. Each pixel is filtered with its class's statistics for its column.
//!
//! Measured on simulated cluttered AVIRIS-NG scenes (512 × 256 at 3 m, 8 classes, at
//! least 150 pixels): median σ about 2.4× lower on dark ground and 1.3× on bright
//! ground than per-column statistics, and about twice the sources found at the same
//! false-alarm level (BENCHMARKS.md, "Class-conditional statistics").

use super::fixed::{ColumnFilter, ColumnFilters};
use super::{DetectParams, DetectionMaps};
use crate::raster::NODATA;
use crate::rng::SeededRng;
use crate::stats::{BackgroundStats, Cholesky, MomentAccumulator};
use crate::{Error, Result, VecCube};
use rayon::prelude::*;

/// Principal components of the class features.
pub const COMPONENTS: usize = 6;
/// Pixels the features' components and the classes are fitted on, at most.
pub const FIT_PIXELS: usize = 20_000;
/// k-means starts; the one with the least within-class scatter is kept.
pub const STARTS: usize = 3;
/// k-means iterations per start, at most.
const ITERATIONS: usize = 50;
/// Column blocks tried in turn for a class's statistics.
const BLOCKS: [usize; 5] = [1, 4, 16, 64, 256];
/// Adjacent columns gathered together for the moments.
const COLUMN_BLOCK: usize = 8;
/// Ridge added to the covariance, relative to its mean diagonal.
const RIDGE: f64 = 1e-6;
/// Class of a pixel without output (a window value not finite).
pub const NO_CLASS: u8 = u8::MAX;

/// Settings of [`detect_by_class`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClassSettings {
    /// Surface classes (2–64).
    pub classes: usize,
    /// Pixels a class needs in a column block for statistics of its own there.
    pub min_pixels: usize,
}

impl Default for ClassSettings {
    fn default() -> Self {
        Self {
            classes: 8,
            min_pixels: 150,
        }
    }
}

/// Maps from class-conditional statistics, and each pixel's class ([`NO_CLASS`] where
/// there is no output).
#[derive(Debug, Clone)]
pub struct ClassMaps {
    /// Enhancement, albedo factor, noise-equivalent enhancement and z per pixel.
    pub maps: DetectionMaps,
    /// Class per pixel (`lines × samples`).
    pub class: Vec<u8>,
}

/// Runs the matched filter (`params.algorithm` classic or albedo-corrected) with
/// class-conditional statistics over `cube` (`lines × samples × bands`, band fastest),
/// whose bands at `window` are the gas window with `unit_absorption` per band.
/// `exclude` (`lines × samples`, true = leave out) keeps pixels out of the statistics;
/// every pixel with finite window values gets an output.
///
/// `columns`, the per-column filters of a detection of the same cube (whose window
/// bands are its first positions), sets which pixels are in the statistics (theirs:
/// not censored, excluded or saturated; `exclude` is then not read), gives censored
/// lines no output, as the detection does, and lends its column moments: in each
/// column the most numerous class's moments are the column's minus the other
/// classes', which saves about half of the products.
///
/// # Errors
/// For other detectors, an empty window, mismatched lengths, fewer than 2 or more than
/// 64 classes, or a scene whose valid pixels cannot give statistics.
pub fn detect_by_class(
    cube: &VecCube,
    window: &[usize],
    unit_absorption: &[f64],
    exclude: Option<&[bool]>,
    columns: Option<&ColumnFilters>,
    params: &DetectParams,
    settings: ClassSettings,
) -> Result<ClassMaps> {
    let Some(albedo_correction) = params.algorithm.matched_filter_albedo_correction() else {
        return Err(Error::Invalid(format!(
            "class-conditional statistics work with the matched filter (mf, amf), not {:?}",
            params.algorithm
        )));
    };
    let (lines, samples, nb) = (cube.lines, cube.samples, cube.bands);
    let nw = window.len();
    if nw == 0 || unit_absorption.len() != nw || window.iter().any(|&b| b >= nb) {
        return Err(Error::Invalid(format!(
            "class-conditional statistics: {nw} window bands and {} unit absorption values for a {nb}-band cube (expected one value per window band, bands inside the cube)",
            unit_absorption.len()
        )));
    }
    if !(2..=64).contains(&settings.classes) {
        return Err(Error::Invalid(format!(
            "class-conditional statistics: {} classes (expected 2 to 64)",
            settings.classes
        )));
    }
    let n = lines * samples;
    if let Some(f) = columns {
        if f.columns.len() != samples
            || f.bands != nw
            || window.iter().enumerate().any(|(i, &b)| b != i)
        {
            return Err(Error::Invalid(format!(
                "class-conditional statistics: column filters for {} columns and {} window bands, the cube has {samples} columns and {nw} window bands (expected the window first)",
                f.columns.len(),
                f.bands
            )));
        }
    }
    let in_statistics = |i: usize, p: &[f32]| match columns {
        Some(f) => f.in_statistics(i, p),
        None => !exclude.is_some_and(|e| e[i]) && window.iter().all(|&b| p[b].is_finite()),
    };
    if exclude.is_some_and(|e| e.len() != n) {
        return Err(Error::Shape {
            what: "exclusion mask values (lines × samples)".into(),
            expected: n,
            got: exclude.map_or(0, <[bool]>::len),
        });
    }
    let pixel = |i: usize| &cube.data[i * nb..(i + 1) * nb];
    let valid = |i: usize| window.iter().all(|&b| pixel(i)[b].is_finite());

    // 1–2. Features and classes.
    let feature_bands: Vec<usize> = window.iter().copied().step_by(6).collect();
    let fill = |px: &[f32], f: &mut [f64]| {
        for (v, &b) in f.iter_mut().zip(&feature_bands) {
            *v = ln_approx(px[b]);
        }
    };
    let feature = |i: usize| -> Vec<f64> {
        let mut f = vec![0.0; feature_bands.len()];
        fill(pixel(i), &mut f);
        f
    };
    let step = (n / FIT_PIXELS).max(1);
    let fit: Vec<usize> = (0..n).step_by(step).filter(|&i| valid(i)).collect();
    if fit.len() < settings.classes {
        return Err(Error::Invalid(format!(
            "class-conditional statistics: {} valid pixels among those sampled, fewer than the {} classes",
            fit.len(),
            settings.classes
        )));
    }
    let raw: Vec<Vec<f64>> = fit.iter().map(|&i| feature(i)).collect();
    let projection = Projection::fit(&raw);
    let points: Vec<Vec<f64>> = raw.iter().map(|f| projection.apply(f)).collect();
    let centres = kmeans(&points, settings.classes);
    let mut class = vec![NO_CLASS; n];
    class
        .par_chunks_mut(samples.max(1))
        .enumerate()
        .for_each_init(
            || {
                (
                    vec![0.0; feature_bands.len()],
                    vec![0.0; projection.axes.len()],
                )
            },
            |(f, p), (l, out)| {
                for (c, slot) in out.iter_mut().enumerate() {
                    // Finite feature bands give a class; the other window bands are
                    // checked where the statistics and the filter read them.
                    let px = pixel(l * samples + c);
                    if !feature_bands.iter().all(|&b| px[b].is_finite()) {
                        continue;
                    }
                    fill(px, f);
                    projection.apply_into(f, p);
                    *slot = nearest(&centres, p).0 as u8;
                }
            },
        );

    // 3. Moments per class and column, then per class and block of columns.
    let k = settings.classes;
    // Columns in blocks of COLUMN_BLOCK: each line's pixels of a block are adjacent in
    // memory, so the gather reads runs instead of one pixel per line and column.
    let per_column: Vec<Vec<MomentAccumulator>> = (0..samples)
        .step_by(COLUMN_BLOCK)
        .collect::<Vec<_>>()
        .into_par_iter()
        .map(|c0| -> Result<Vec<Vec<MomentAccumulator>>> {
            let width = COLUMN_BLOCK.min(samples - c0);
            let mut buffers: Vec<Vec<Vec<f32>>> = vec![vec![Vec::new(); k]; width];
            for l in 0..lines {
                for (dc, column) in buffers.iter_mut().enumerate() {
                    let i = l * samples + c0 + dc;
                    if class[i] == NO_CLASS {
                        continue;
                    }
                    let p = pixel(i);
                    if in_statistics(i, p) {
                        column[class[i] as usize].extend(window.iter().map(|&b| p[b]));
                    }
                }
            }
            buffers
                .iter()
                .enumerate()
                .map(|(dc, column)| {
                    let known = columns
                        .and_then(|f| f.column_moments().get(c0 + dc))
                        .and_then(Option::as_ref);
                    // With the column's moments known, its most numerous class is
                    // what the others leave of them.
                    let largest = known.and_then(|_| {
                        (0..k)
                            .filter(|&j| !column[j].is_empty())
                            .max_by_key(|&j| column[j].len())
                    });
                    let mut accs = Vec::with_capacity(k + 1);
                    let mut all = MomentAccumulator::new(nw);
                    for (j, b) in column.iter().enumerate() {
                        let mut acc = MomentAccumulator::new(nw);
                        if Some(j) != largest {
                            acc.add_block(b.as_slice(), None)?;
                            all.merge(&acc)?;
                        }
                        accs.push(acc);
                    }
                    if let (Some(j), Some(total)) = (largest, known) {
                        let mut rest = total.clone();
                        rest.subtract(&all)?;
                        accs[j] = rest;
                        all = total.clone();
                    }
                    accs.push(all);
                    Ok(accs)
                })
                .collect()
        })
        .collect::<Result<Vec<_>>>()?
        .into_iter()
        .flatten()
        .collect();
    let norm = params.normalization();
    let filter_of = |acc: &MomentAccumulator| -> Option<ColumnFilter> {
        let stats = ridged(acc, norm).ok()?;
        let f = ColumnFilter::of_background_scaled(&stats, unit_absorption, params.outlier_scaling);
        (f.norm.is_finite() && f.norm > 0.0).then_some(f)
    };
    // filters[j][c]: the filter of class j for column c; index k holds the column's
    // statistics over every class (the fallback).
    let mut filters: Vec<Vec<Option<std::sync::Arc<ColumnFilter>>>> = Vec::with_capacity(k + 1);
    for j in 0..=k {
        let column: Vec<&MomentAccumulator> = per_column.iter().map(|a| &a[j]).collect();
        filters.push(class_filters(
            &column,
            nw,
            settings.min_pixels,
            j == k,
            &filter_of,
        )?);
    }
    drop(per_column);

    // 4. Filter every pixel with its class's statistics for its column.
    let contiguous = window
        .windows(2)
        .all(|w| w[1] == w[0] + 1)
        .then_some(window[0]);
    let mut maps = DetectionMaps {
        lines,
        samples,
        enhancement: vec![NODATA; n],
        albedo: vec![NODATA; n],
        sigma: vec![NODATA; n],
        z: vec![NODATA; n],
        timings: Default::default(),
    };
    maps.enhancement
        .par_chunks_mut(samples)
        .zip(maps.albedo.par_chunks_mut(samples))
        .zip(maps.sigma.par_chunks_mut(samples))
        .zip(maps.z.par_chunks_mut(samples))
        .enumerate()
        .for_each(|(l, (((e, a), s), z))| {
            let mut v = vec![0f32; nw];
            for c in 0..samples {
                let i = l * samples + c;
                if class[i] == NO_CLASS || columns.is_some_and(|f| f.censored(i)) {
                    continue;
                }
                let f = filters[class[i] as usize][c]
                    .as_ref()
                    .or(filters[k][c].as_ref());
                let Some(f) = f else { continue };
                let values: &[f32] = if let Some(w0) = contiguous {
                    &pixel(i)[w0..w0 + nw]
                } else {
                    for (x, &b) in v.iter_mut().zip(window) {
                        *x = pixel(i)[b];
                    }
                    &v
                };
                if let Some((ev, av, sv, zv)) = f.outputs(values, albedo_correction) {
                    (e[c], a[c], s[c], z[c]) = (ev, av, sv, zv);
                }
            }
        });
    Ok(ClassMaps { maps, class })
}

/// `ln(max(x, 10⁻⁴))` to about 10⁻⁶ (exponent and an atanh series of the mantissa):
/// the class features need the shape of the spectrum, not a libm-exact logarithm, and
/// this is several times faster.
fn ln_approx(x: f32) -> f64 {
    let x = f64::from(x).max(1e-4);
    let bits = x.to_bits();
    let e = ((bits >> 52) & 0x7ff) as i64 - 1023;
    let m = f64::from_bits((bits & 0x000f_ffff_ffff_ffff) | 0x3ff0_0000_0000_0000);
    let s = (m - 1.0) / (m + 1.0);
    let s2 = s * s;
    let series = s
        * (2.0
            + s2 * (2.0 / 3.0
                + s2 * (2.0 / 5.0 + s2 * (2.0 / 7.0 + s2 * (2.0 / 9.0 + s2 * 2.0 / 11.0)))));
    e as f64 * std::f64::consts::LN_2 + series
}

/// Statistics of `acc` with the covariance ridged by [`RIDGE`] of its mean diagonal.
fn ridged(acc: &MomentAccumulator, norm: crate::stats::Normalization) -> Result<BackgroundStats> {
    let mean = acc.mean()?;
    let mut covariance = acc.covariance(norm)?;
    let b = acc.bands();
    let ridge = RIDGE * (0..b).map(|i| covariance[i * b + i]).sum::<f64>() / b as f64;
    for i in 0..b {
        covariance[i * b + i] += ridge;
    }
    let cholesky = Cholesky::factor(&covariance, b)?;
    Ok(BackgroundStats {
        count: acc.count(),
        mean,
        covariance,
        cholesky,
    })
}

/// The filter for every column of one class, from its per-column moments: the
/// smallest aligned block of [`BLOCKS`] columns with at least `min_pixels` of the
/// class, else the whole scene's pixels of the class when they are at least bands + 2,
/// else none. `any_count` (the all-class fallback) takes the column alone whenever it
/// has bands + 2 pixels.
fn class_filters(
    column: &[&MomentAccumulator],
    nw: usize,
    min_pixels: usize,
    any_count: bool,
    filter_of: &(dyn Fn(&MomentAccumulator) -> Option<ColumnFilter> + Sync),
) -> Result<Vec<Option<std::sync::Arc<ColumnFilter>>>> {
    let samples = column.len();
    let need = if any_count {
        nw + 2
    } else {
        min_pixels.max(nw + 2)
    };
    let mut out: Vec<Option<std::sync::Arc<ColumnFilter>>> = vec![None; samples];
    let mut level: Vec<MomentAccumulator> = column.iter().map(|a| (*a).clone()).collect();
    let mut width = 1;
    for (li, &g) in BLOCKS.iter().enumerate() {
        if li > 0 {
            // Merge the previous level's blocks into blocks of g columns.
            let ratio = g / width;
            level = level
                .chunks(ratio)
                .map(|ch| {
                    let mut acc = ch[0].clone();
                    for a in &ch[1..] {
                        acc.merge(a)?;
                    }
                    Ok(acc)
                })
                .collect::<Result<_>>()?;
            width = g;
        }
        let made: Vec<Option<std::sync::Arc<ColumnFilter>>> = level
            .par_iter()
            .enumerate()
            .map(|(bi, acc)| {
                let open = (bi * g..((bi + 1) * g).min(samples)).any(|c| out[c].is_none());
                (open && acc.count() >= need as u64)
                    .then(|| filter_of(acc).map(std::sync::Arc::new))
                    .flatten()
            })
            .collect();
        for (bi, f) in made.into_iter().enumerate() {
            if let Some(f) = f {
                for slot in &mut out[bi * g..((bi + 1) * g).min(samples)] {
                    if slot.is_none() {
                        *slot = Some(f.clone());
                    }
                }
            }
        }
        if any_count || out.iter().all(Option::is_some) {
            break;
        }
    }
    if !any_count && out.iter().any(Option::is_none) {
        let mut all = MomentAccumulator::new(nw);
        for a in column {
            all.merge(a)?;
        }
        if all.count() >= (nw + 2) as u64 {
            if let Some(f) = filter_of(&all).map(std::sync::Arc::new) {
                for slot in out.iter_mut().filter(|s| s.is_none()) {
                    *slot = Some(f.clone());
                }
            }
        }
    }
    Ok(out)
}

/// Centring and principal-component projection of the class features.
struct Projection {
    mean: Vec<f64>,
    /// `COMPONENTS` rows of feature weights (or fewer with fewer features).
    axes: Vec<Vec<f64>>,
}

impl Projection {
    fn fit(points: &[Vec<f64>]) -> Self {
        let d = points[0].len();
        let n = points.len() as f64;
        let mut mean = vec![0.0; d];
        for p in points {
            for (m, v) in mean.iter_mut().zip(p) {
                *m += v / n;
            }
        }
        let mut cov = vec![0.0; d * d];
        for p in points {
            for a in 0..d {
                let da = p[a] - mean[a];
                for b in 0..=a {
                    cov[a * d + b] += da * (p[b] - mean[b]) / n;
                }
            }
        }
        for a in 0..d {
            for b in 0..a {
                cov[b * d + a] = cov[a * d + b];
            }
        }
        let (values, vectors) = jacobi_eigen(cov, d);
        let mut order: Vec<usize> = (0..d).collect();
        order.sort_by(|&a, &b| values[b].total_cmp(&values[a]));
        let axes = order
            .iter()
            .take(COMPONENTS.min(d))
            .map(|&j| (0..d).map(|i| vectors[i * d + j]).collect())
            .collect();
        Self { mean, axes }
    }

    fn apply(&self, f: &[f64]) -> Vec<f64> {
        let mut out = vec![0.0; self.axes.len()];
        self.apply_into(f, &mut out);
        out
    }

    fn apply_into(&self, f: &[f64], out: &mut [f64]) {
        for (o, w) in out.iter_mut().zip(&self.axes) {
            *o = w
                .iter()
                .zip(f)
                .zip(&self.mean)
                .map(|((w, x), m)| w * (x - m))
                .sum();
        }
    }
}

/// Eigenvalues and eigenvectors (columns of the row-major `d × d` result) of the
/// symmetric `a`, by cyclic Jacobi rotations.
fn jacobi_eigen(mut a: Vec<f64>, d: usize) -> (Vec<f64>, Vec<f64>) {
    let mut v = vec![0.0; d * d];
    for i in 0..d {
        v[i * d + i] = 1.0;
    }
    for _sweep in 0..100 {
        let off: f64 = (0..d)
            .flat_map(|p| (0..d).filter(move |&q| q != p).map(move |q| (p, q)))
            .map(|(p, q)| a[p * d + q] * a[p * d + q])
            .sum();
        let scale: f64 = (0..d).map(|p| a[p * d + p] * a[p * d + p]).sum();
        if off <= 1e-24 * scale.max(f64::MIN_POSITIVE) {
            break;
        }
        for p in 0..d {
            for q in p + 1..d {
                let apq = a[p * d + q];
                if apq == 0.0 {
                    continue;
                }
                let theta = (a[q * d + q] - a[p * d + p]) / (2.0 * apq);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for r in 0..d {
                    let (arp, arq) = (a[r * d + p], a[r * d + q]);
                    a[r * d + p] = c * arp - s * arq;
                    a[r * d + q] = s * arp + c * arq;
                }
                for r in 0..d {
                    let (apr, aqr) = (a[p * d + r], a[q * d + r]);
                    a[p * d + r] = c * apr - s * aqr;
                    a[q * d + r] = s * apr + c * aqr;
                }
                for r in 0..d {
                    let (vrp, vrq) = (v[r * d + p], v[r * d + q]);
                    v[r * d + p] = c * vrp - s * vrq;
                    v[r * d + q] = s * vrp + c * vrq;
                }
            }
        }
    }
    ((0..d).map(|i| a[i * d + i]).collect(), v)
}

/// Index of the nearest centre and its squared distance.
fn nearest(centres: &[Vec<f64>], p: &[f64]) -> (usize, f64) {
    centres
        .iter()
        .enumerate()
        .map(|(j, c)| (j, c.iter().zip(p).map(|(a, b)| (a - b) * (a - b)).sum()))
        .min_by(|a: &(usize, f64), b| a.1.total_cmp(&b.1))
        .expect("at least one centre")
}

/// k-means with k-means++ starts (fixed seed), the best of [`STARTS`] by
/// within-class scatter.
fn kmeans(points: &[Vec<f64>], k: usize) -> Vec<Vec<f64>> {
    let mut best: Option<(f64, Vec<Vec<f64>>)> = None;
    for start in 0..STARTS {
        let mut rng = SeededRng::derived(0x6b6d_6561_6e73, start as u64);
        let mut centres = vec![points[rng.below(points.len())].clone()];
        while centres.len() < k {
            let d2: Vec<f64> = points.iter().map(|p| nearest(&centres, p).1).collect();
            let total: f64 = d2.iter().sum();
            let mut u = rng.uniform() * total;
            let mut pick = points.len() - 1;
            for (i, w) in d2.iter().enumerate() {
                if u < *w {
                    pick = i;
                    break;
                }
                u -= w;
            }
            centres.push(points[pick].clone());
        }
        let mut assign = vec![usize::MAX; points.len()];
        for _ in 0..ITERATIONS {
            let mut changed = false;
            for (a, p) in assign.iter_mut().zip(points) {
                let j = nearest(&centres, p).0;
                if *a != j {
                    *a = j;
                    changed = true;
                }
            }
            let d = points[0].len();
            let mut sums = vec![vec![0.0; d]; k];
            let mut counts = vec![0usize; k];
            for (a, p) in assign.iter().zip(points) {
                counts[*a] += 1;
                for (s, v) in sums[*a].iter_mut().zip(p) {
                    *s += v;
                }
            }
            for j in 0..k {
                if counts[j] > 0 {
                    centres[j] = sums[j].iter().map(|s| s / counts[j] as f64).collect();
                }
            }
            if !changed {
                break;
            }
        }
        let scatter: f64 = points.iter().map(|p| nearest(&centres, p).1).sum();
        if best.as_ref().is_none_or(|(s, _)| scatter < *s) {
            best = Some((scatter, centres));
        }
    }
    best.expect("at least one start").1
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::Algorithm;

    /// Two surfaces, one dark and one bright, interleaved in every column: the
    /// per-class statistics put each pixel's background on its own surface, so the
    /// background's response is zero on average and σ is honest on both (z has unit
    /// spread), and a plume added on the dark surface is recovered.
    #[test]
    fn two_surfaces_get_their_own_backgrounds_and_a_plume_is_recovered() {
        let (lines, samples, nb) = (400usize, 12usize, 10usize);
        let absorption: Vec<f64> = (0..nb).map(|b| -2e-6 * (1.0 + (b % 3) as f64)).collect();
        let mut rng = SeededRng::derived(5, 0);
        let dark: Vec<f64> = (0..nb).map(|b| 0.6 + 0.02 * b as f64).collect();
        let bright: Vec<f64> = (0..nb).map(|b| 6.0 - 0.1 * b as f64).collect();
        let mut data = vec![0f32; lines * samples * nb];
        let mut plume = vec![false; lines * samples];
        for l in 0..lines {
            for c in 0..samples {
                let is_dark = (l / 7 + c) % 3 == 0;
                let base = if is_dark { &dark } else { &bright };
                let i = l * samples + c;
                let gas = is_dark && (100..121).contains(&l) && c == 5;
                plume[i] = gas;
                for b in 0..nb {
                    let noise = base[b] * 0.003 * rng.normal();
                    let mut x = base[b] * rng.range(0.95, 1.05) + noise;
                    if gas {
                        x *= 1.0 + absorption[b] * 2000.0;
                    }
                    data[i * nb + b] = x as f32;
                }
            }
        }
        let cube = VecCube::new(lines, samples, nb, data).unwrap();
        let window: Vec<usize> = (0..nb).collect();
        let params = DetectParams {
            algorithm: Algorithm::AlbedoMatchedFilter,
            ..DetectParams::default()
        };
        let out = detect_by_class(
            &cube,
            &window,
            &absorption,
            None,
            None,
            &params,
            ClassSettings {
                classes: 2,
                min_pixels: 60,
            },
        )
        .unwrap();
        // Two classes, each surface in one.
        let dark_class = out.class[0];
        for l in 0..lines {
            for c in 0..samples {
                let is_dark = (l / 7 + c) % 3 == 0;
                assert_eq!(
                    out.class[l * samples + c] == dark_class,
                    is_dark,
                    "{l}, {c}"
                );
            }
        }
        let z: Vec<f64> = (0..lines * samples)
            .filter(|&i| !plume[i])
            .map(|i| f64::from(out.maps.z[i]))
            .collect();
        let mean = z.iter().sum::<f64>() / z.len() as f64;
        let sd = (z.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / z.len() as f64).sqrt();
        assert!(mean.abs() < 0.1, "background z mean {mean}");
        assert!((0.8..1.2).contains(&sd), "background z sd {sd}");
        let gas: Vec<usize> = (0..lines * samples).filter(|&i| plume[i]).collect();
        assert!(gas.len() >= 5);
        let found = gas
            .iter()
            .map(|&i| f64::from(out.maps.enhancement[i]))
            .sum::<f64>()
            / gas.len() as f64;
        // Within three standard errors of the pixels' σ, and 10 % for the gas the
        // class's own statistics hold.
        let sigma = gas
            .iter()
            .map(|&i| f64::from(out.maps.sigma[i]))
            .sum::<f64>()
            / gas.len() as f64;
        let tolerance = 3.0 * sigma / (gas.len() as f64).sqrt() + 200.0;
        assert!(
            (found - 2000.0).abs() < tolerance,
            "plume {found} ppm·m for 2000 (σ {sigma}, {} pixels)",
            gas.len()
        );
    }

    #[test]
    fn the_fast_logarithm_is_close_to_libm() {
        for x in [1e-4f32, 0.013, 0.5, 1.0, 1.7, 3.3, 17.0, 250.0, 1e5] {
            let exact = f64::from(x).ln();
            assert!((ln_approx(x) - exact).abs() < 1e-6, "{x}");
        }
        assert!((ln_approx(0.0) - 1e-4f64.ln()).abs() < 1e-6);
    }

    #[test]
    fn jacobi_finds_the_eigenpairs_of_a_symmetric_matrix() {
        let a = vec![4.0, 1.0, 0.0, 1.0, 3.0, 0.5, 0.0, 0.5, 1.0];
        let (values, vectors) = jacobi_eigen(a.clone(), 3);
        for j in 0..3 {
            for i in 0..3 {
                let av: f64 = (0..3).map(|k| a[i * 3 + k] * vectors[k * 3 + j]).sum();
                assert!((av - values[j] * vectors[i * 3 + j]).abs() < 1e-9);
            }
        }
    }
}
