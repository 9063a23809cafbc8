//! From per-pixel z-scores to plumes: a CFAR threshold on z against the robust
//! per-column background of the scene, hysteresis growth, morphological clean-up,
//! connected components with a minimum size, pixel-exact outlines, and rejection of
//! known false positives with the reason.
//!
//! # Array order
//! Every raster is `lines × samples`, row-major (sample fastest), `f32`, NaN = no data,
//! described by a [`Grid`].
//!
//! # Interpretation
//! The CFAR rule works on the *normalised* score `zn = (z − median_col) / (1.4826 ·
//! MAD_col)`, where median and MAD are taken over the valid pixels of the pixel's
//! detector column. Under a Gaussian null this makes each pixel's false-alarm
//! probability equal to [`CfarParams::far`], whatever the per-column bias and spread
//! the retrieval left behind (pushbroom striping).

use crate::{Error, Result};

/// Size of a raster: `lines × samples`, row-major.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Grid {
    /// Down-track lines (rows).
    pub lines: usize,
    /// Cross-track samples (columns).
    pub samples: usize,
}

impl Grid {
    /// A grid of `lines × samples`.
    pub fn new(lines: usize, samples: usize) -> Self {
        Self { lines, samples }
    }

    /// Number of pixels.
    pub fn len(&self) -> usize {
        self.lines * self.samples
    }

    /// True for an empty grid.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Checks that a raster called `what` has `lines × samples` values.
    pub fn check(&self, what: &str, len: usize) -> Result<()> {
        if len != self.len() {
            return Err(Error::Shape {
                what: format!(
                    "{what} raster values (lines × samples = {} × {})",
                    self.lines, self.samples
                ),
                expected: self.len(),
                got: len,
            });
        }
        Ok(())
    }
}

/// Upper-tail probability of the standard normal, P(Z > z), accurate to ~1e-7
/// relative (Numerical Recipes' Chebyshev fit to erfc).
pub fn normal_sf(z: f64) -> f64 {
    0.5 * erfc(z / std::f64::consts::SQRT_2)
}

fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let ans = t
        * (-z * z - 1.265_512_23
            + t * (1.000_023_68
                + t * (0.374_091_96
                    + t * (0.096_784_18
                        + t * (-0.186_288_06
                            + t * (0.278_868_07
                                + t * (-1.135_203_98
                                    + t * (1.488_515_87
                                        + t * (-0.822_152_23 + t * 0.170_872_77)))))))))
            .exp();
    if x >= 0.0 {
        ans
    } else {
        2.0 - ans
    }
}

/// Quantile of the standard normal: the z with P(Z ≤ z) = `p` (Acklam's rational
/// approximation, relative error < 1.2e-9). Returns ±∞ at p = 1 / 0 and NaN outside [0, 1].
pub fn normal_quantile(p: f64) -> f64 {
    if !(0.0..=1.0).contains(&p) {
        return f64::NAN;
    }
    if p == 0.0 {
        return f64::NEG_INFINITY;
    }
    if p == 1.0 {
        return f64::INFINITY;
    }
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] = [
        7.784_695_709_041_462e-3,
        3.224_671_290_700_398e-1,
        2.445_134_137_142_996,
        3.754_408_661_907_416,
    ];
    let plow = 0.024_25;
    if p < plow {
        let q = (-2.0 * p.ln()).sqrt();
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    } else if p <= 1.0 - plow {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    } else {
        let q = (-2.0 * (1.0 - p).ln()).sqrt();
        -(((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    }
}

/// Robust background of one detector column of z: median and scale = 1.4826 · MAD
/// (the standard deviation for Gaussian data).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ColumnBackground {
    /// Median of the column's valid z values.
    pub median: f64,
    /// 1.4826 × median absolute deviation of the column's valid z values.
    pub scale: f64,
    /// Number of valid (finite) values the statistics were taken over.
    pub valid: usize,
    /// True when the column had too few valid values or zero spread and the
    /// scene-wide statistics were used instead.
    pub scene_fallback: bool,
}

/// Fewest valid values a column needs for its own statistics.
const MIN_COLUMN_VALID: usize = 16;

fn median_in_place(v: &mut [f64]) -> f64 {
    let n = v.len();
    let mid = n / 2;
    let (_, m, _) = v.select_nth_unstable_by(mid, |a, b| a.total_cmp(b));
    let upper = *m;
    if n % 2 == 1 {
        upper
    } else {
        let lower = v[..mid].iter().copied().fold(f64::NEG_INFINITY, f64::max);
        0.5 * (lower + upper)
    }
}

fn median_mad(v: &mut [f64]) -> (f64, f64) {
    let med = median_in_place(v);
    for x in v.iter_mut() {
        *x = (*x - med).abs();
    }
    let mad = median_in_place(v);
    (med, 1.4826 * mad)
}

/// Robust per-column background of `z` (`grid` order): median and 1.4826·MAD of every
/// detector column's finite values. Columns with fewer than 16 valid values, or zero
/// spread, take the scene-wide statistics (flagged `scene_fallback`). When the whole
/// scene has no valid value, every column gets NaN statistics (nothing will be detected).
pub fn column_background(z: &[f32], grid: Grid) -> Result<Vec<ColumnBackground>> {
    grid.check("z", z.len())?;
    let mut all: Vec<f64> = z
        .iter()
        .filter(|v| v.is_finite())
        .map(|&v| v as f64)
        .collect();
    let (scene_med, scene_scale) = if all.is_empty() {
        (f64::NAN, f64::NAN)
    } else {
        median_mad(&mut all)
    };
    let mut out = Vec::with_capacity(grid.samples);
    let mut col = Vec::with_capacity(grid.lines);
    for s in 0..grid.samples {
        col.clear();
        col.extend(
            (0..grid.lines)
                .map(|l| z[l * grid.samples + s])
                .filter(|v| v.is_finite())
                .map(|v| v as f64),
        );
        let valid = col.len();
        let own = if valid >= MIN_COLUMN_VALID {
            let (m, sc) = median_mad(&mut col);
            (sc > 0.0 && sc.is_finite()).then_some((m, sc))
        } else {
            None
        };
        out.push(match own {
            Some((median, scale)) => ColumnBackground {
                median,
                scale,
                valid,
                scene_fallback: false,
            },
            None => ColumnBackground {
                median: scene_med,
                scale: if scene_scale > 0.0 {
                    scene_scale
                } else {
                    f64::NAN
                },
                valid,
                scene_fallback: true,
            },
        });
    }
    Ok(out)
}

/// Normalised scores `zn = (z − median_col) / scale_col` (NaN where z is NaN or the
/// column has no usable statistics).
pub fn normalised_z(z: &[f32], grid: Grid, background: &[ColumnBackground]) -> Result<Vec<f32>> {
    grid.check("z", z.len())?;
    if background.len() != grid.samples {
        return Err(Error::Shape {
            what: "column backgrounds (one per sample)".into(),
            expected: grid.samples,
            got: background.len(),
        });
    }
    Ok(z.iter()
        .enumerate()
        .map(|(i, &v)| {
            let b = &background[i % grid.samples];
            ((v as f64 - b.median) / b.scale) as f32
        })
        .collect())
}

/// Parameters of the CFAR rule and of the plume clean-up, with documented defaults.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CfarParams {
    /// Target per-pixel false-alarm rate of the seed threshold on the normalised score
    /// (default 1e-4: about 7 noise seeds in a 384 × 192 scene, nearly all of which the
    /// minimum plume size removes). The seed threshold is `Φ⁻¹(1 − far)` (3.72 at 1e-4).
    pub far: f64,
    /// Hysteresis growth threshold on the normalised score: pixels above it that are
    /// 8-connected to a seed join the plume (default 2.0). Clamped to the seed threshold.
    pub grow_z: f64,
    /// Radius in pixels of the square structuring element of the morphological closing
    /// that bridges one-pixel gaps (default 1, i.e. 3 × 3; 0 disables the closing).
    pub closing_radius: usize,
    /// Smallest plume kept, in pixels after clean-up (default 5).
    pub min_pixels: usize,
}

impl Default for CfarParams {
    fn default() -> Self {
        Self {
            far: 1e-4,
            grow_z: 2.0,
            closing_radius: 1,
            min_pixels: 5,
        }
    }
}

impl CfarParams {
    /// The seed threshold on the normalised score, `Φ⁻¹(1 − far)`.
    pub fn seed_threshold(&self) -> Result<f64> {
        if !(self.far > 0.0 && self.far < 1.0) {
            return Err(Error::Invalid(format!(
                "false-alarm rate (--far): expected a probability in (0, 1), got {}",
                self.far
            )));
        }
        Ok(normal_quantile(1.0 - self.far))
    }
}

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
    /// the matched-filter enhancement (see [`crate::narrowband`]).
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

/// One connected plume candidate.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Plume {
    /// 1-based id, the value of the plume in [`PlumeSet::labels`].
    pub id: u32,
    /// Linear pixel indices `line · samples + sample`, ascending (not serialised).
    #[serde(skip)]
    pub pixels: Vec<u32>,
    /// Number of pixels.
    pub n_pixels: usize,
    /// Bounding box `[line_min, sample_min, line_max, sample_max]`, inclusive.
    pub bbox: [usize; 4],
    /// Line and sample of the highest enhancement.
    pub peak_pixel: [usize; 2],
    /// Highest enhancement in the plume.
    ///
    /// # Units
    /// ppm·m.
    pub max_enhancement_ppm_m: f64,
    /// Highest normalised score in the plume (robust z units).
    pub peak_z: f64,
    /// Significance: the peak normalised score, the statistic the CFAR rule tests.
    pub significance: f64,
    /// Probability that a plume-free scene of this many valid pixels holds, anywhere,
    /// a pixel at least as significant: `1 − (1 − Φ̄(peak_z))^N` (Gaussian independent
    /// null; ignores the plume's extent, hence conservative).
    pub false_alarm_probability: f64,
    /// Outline rings in continuous pixel coordinates `[col, row]` (pixel corners),
    /// closed (first = last); one ring per part joined only diagonally; enclosed holes
    /// are filled.
    pub outline: Vec<Vec<[f64; 2]>>,
    /// `Some(reason)` when the candidate is a known false positive.
    pub rejection: Option<Rejection>,
}

/// Result of [`find_plumes`].
#[derive(Debug, Clone, PartialEq)]
pub struct PlumeSet {
    /// All candidates of at least the minimum size, accepted and rejected, by id.
    pub plumes: Vec<Plume>,
    /// `lines × samples` labels: 0 = no plume, otherwise the plume id.
    pub labels: Vec<u32>,
    /// The per-column background the CFAR rule used.
    pub background: Vec<ColumnBackground>,
    /// Seed threshold on the normalised score.
    pub seed_threshold: f64,
    /// Number of seed pixels (normalised score above the seed threshold).
    pub n_seed_pixels: usize,
    /// Components dropped for being smaller than the minimum size.
    pub n_too_small: usize,
    /// Valid pixels of the scene (finite z).
    pub n_valid: usize,
}

/// Rasters [`find_plumes`] works on (all `grid` order, NaN = no data).
#[derive(Debug, Clone, Copy)]
pub struct PlumeInputs<'a> {
    /// Raster size.
    pub grid: Grid,
    /// Detection score z (dimensionless).
    pub z: &'a [f32],
    /// Enhancement.
    ///
    /// # Units
    /// ppm·m.
    pub enhancement: &'a [f32],
    /// Surface albedo (any linear brightness measure), for the surface-correlation test.
    pub albedo: Option<&'a [f32]>,
    /// Saturated or otherwise flagged pixels (true = bad), besides NaN.
    pub invalid: Option<&'a [bool]>,
}

/// The CFAR seed mask on pure z: true where the normalised score exceeds
/// `Φ⁻¹(1 − far)`. On Gaussian noise its true fraction is `far`.
pub fn cfar_mask(z: &[f32], grid: Grid, far: f64) -> Result<Vec<bool>> {
    let params = CfarParams {
        far,
        ..CfarParams::default()
    };
    let k = params.seed_threshold()?;
    let bg = column_background(z, grid)?;
    let zn = normalised_z(z, grid, &bg)?;
    Ok(zn.iter().map(|&v| (v as f64) > k).collect())
}

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
    if !cfar.grow_z.is_finite() {
        return Err(Error::Invalid(format!(
            "plume growth threshold: expected a finite z, got {}",
            cfar.grow_z
        )));
    }
    let grow = cfar.grow_z.min(k);
    let background = column_background(inputs.z, grid)?;
    let zn = normalised_z(inputs.z, grid, &background)?;
    let (w, h) = (grid.samples, grid.lines);
    let usable = |i: usize| {
        zn[i].is_finite()
            && inputs.enhancement[i].is_finite()
            && !inputs.invalid.is_some_and(|m| m[i])
    };
    let n_valid = inputs.z.iter().filter(|v| v.is_finite()).count();

    // Seeds and hysteresis growth (8-connected flood from seeds through zn > grow).
    let mut mask = vec![false; grid.len()];
    let mut stack = Vec::new();
    let mut n_seed = 0;
    for i in 0..grid.len() {
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
        for i in 0..grid.len() {
            mask[i] = (mask[i] || closed[i]) && usable(i);
        }
    }

    // Connected components (8-connectivity).
    let mut labels = vec![0u32; grid.len()];
    let mut visited = vec![false; grid.len()];
    let mut plumes = Vec::new();
    let mut n_too_small = 0;
    let mut comp = Vec::new();
    let mut next_id = 1u32;
    for start in 0..grid.len() {
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
        fill_holes(&mut comp, w, h, &usable, &labels);
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
        plumes.push(describe(id, &comp, inputs, &zn, &labels, n_valid, reject));
    }
    Ok(PlumeSet {
        plumes,
        labels,
        background,
        seed_threshold: k,
        n_seed_pixels: n_seed,
        n_too_small,
        n_valid,
    })
}

fn neighbours8(i: usize, w: usize, h: usize) -> impl Iterator<Item = usize> {
    let (r, c) = ((i / w) as isize, (i % w) as isize);
    (-1isize..=1)
        .flat_map(move |dr| (-1isize..=1).map(move |dc| (dr, dc)))
        .filter(move |&(dr, dc)| {
            let (rr, cc) = (r + dr, c + dc);
            (dr, dc) != (0, 0) && rr >= 0 && cc >= 0 && (rr as usize) < h && (cc as usize) < w
        })
        .map(move |(dr, dc)| ((r + dr) as usize) * w + (c + dc) as usize)
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
        pixels: comp.iter().map(|&i| i as u32).collect(),
        n_pixels: comp.len(),
        bbox,
        peak_pixel: [peak.1 / w, peak.1 % w],
        max_enhancement_ppm_m: peak.0,
        peak_z,
        significance: peak_z,
        false_alarm_probability: fap.clamp(0.0, 1.0),
        outline,
        rejection,
    }
}

fn reject_reason(
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

/// Pearson correlation of two equally long samples (0 when either has no spread).
pub fn pearson(x: &[f64], y: &[f64]) -> f64 {
    let n = x.len().min(y.len());
    if n < 2 {
        return 0.0;
    }
    let mx = x[..n].iter().sum::<f64>() / n as f64;
    let my = y[..n].iter().sum::<f64>() / n as f64;
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for k in 0..n {
        let (dx, dy) = (x[k] - mx, y[k] - my);
        sxy += dx * dy;
        sxx += dx * dx;
        syy += dy * dy;
    }
    if sxx <= 0.0 || syy <= 0.0 {
        0.0
    } else {
        sxy / (sxx * syy).sqrt()
    }
}

/// Traces the pixel-edge outline of a set of pixels (linear indices on a raster `w`
/// samples wide, bounding box `[r0, c0, r1, c1]`). Rings are in `[col, row]` corner
/// coordinates, closed, with the set on the left of travel (counter-clockwise on
/// screen with rows pointing down means clockwise in a y-up frame); collinear
/// vertices are removed. Parts joined only at a corner get separate rings.
pub fn trace_outline(pixels: &[usize], w: usize, bbox: [usize; 4]) -> Vec<Vec<[f64; 2]>> {
    use std::collections::HashMap;
    let [r0, c0, r1, c1] = bbox;
    let lw = c1 - c0 + 1;
    let lh = r1 - r0 + 1;
    let mut inside = vec![false; lw * lh];
    for &i in pixels {
        let (r, c) = (i / w, i % w);
        if (r0..=r1).contains(&r) && (c0..=c1).contains(&c) {
            inside[(r - r0) * lw + (c - c0)] = true;
        }
    }
    let at = |r: isize, c: isize| {
        r >= 0
            && c >= 0
            && (r as usize) < lh
            && (c as usize) < lw
            && inside[r as usize * lw + c as usize]
    };
    // Directed edges between corners (x = col, y = row; y down), the pixel on the left
    // of travel in screen orientation... we keep the set on the right-hand side in a
    // y-down frame, which is the left-hand side when viewed y-up.
    let mut out_edges: HashMap<(isize, isize), Vec<(isize, isize)>> = HashMap::new();
    let mut n_edges = 0usize;
    for r in 0..lh as isize {
        for c in 0..lw as isize {
            if !at(r, c) {
                continue;
            }
            // Walk around the pixel clockwise on screen (y down): top edge left→right,
            // right edge top→bottom, bottom edge right→left, left edge bottom→top.
            if !at(r - 1, c) {
                out_edges.entry((c, r)).or_default().push((c + 1, r));
                n_edges += 1;
            }
            if !at(r, c + 1) {
                out_edges
                    .entry((c + 1, r))
                    .or_default()
                    .push((c + 1, r + 1));
                n_edges += 1;
            }
            if !at(r + 1, c) {
                out_edges
                    .entry((c + 1, r + 1))
                    .or_default()
                    .push((c, r + 1));
                n_edges += 1;
            }
            if !at(r, c - 1) {
                out_edges.entry((c, r + 1)).or_default().push((c, r));
                n_edges += 1;
            }
        }
    }
    let mut rings = Vec::new();
    let mut used = 0usize;
    // Deterministic start order.
    let mut starts: Vec<(isize, isize)> = out_edges.keys().copied().collect();
    starts.sort_unstable_by_key(|&(x, y)| (y, x));
    for s in starts {
        while out_edges.get(&s).is_some_and(|v| !v.is_empty()) {
            let mut ring = vec![s];
            let mut prev = s;
            let mut cur = out_edges.get_mut(&s).and_then(|v| v.pop()).unwrap_or(s);
            used += 1;
            while cur != s && used <= n_edges {
                ring.push(cur);
                let dir_in = (cur.0 - prev.0, cur.1 - prev.1);
                let Some(cands) = out_edges.get_mut(&cur) else {
                    break;
                };
                if cands.is_empty() {
                    break;
                }
                // With the set on the right of travel (y down), keeping the same part at a
                // pinch vertex means turning right (clockwise on screen).
                let right = (-dir_in.1, dir_in.0);
                let pick = cands
                    .iter()
                    .position(|&n| (n.0 - cur.0, n.1 - cur.1) == right)
                    .unwrap_or(0);
                let next = cands.swap_remove(pick);
                used += 1;
                prev = cur;
                cur = next;
            }
            ring.push(s);
            rings.push(simplify_ring(&ring, c0 as f64, r0 as f64));
        }
    }
    rings
}

fn simplify_ring(ring: &[(isize, isize)], dx: f64, dy: f64) -> Vec<[f64; 2]> {
    // ring is closed (first = last). Drop vertices where direction does not change.
    let n = ring.len() - 1;
    let mut out = Vec::with_capacity(n + 1);
    for k in 0..n {
        let p = ring[(k + n - 1) % n];
        let q = ring[k];
        let s = ring[(k + 1) % n];
        let d1 = (q.0 - p.0, q.1 - p.1);
        let d2 = (s.0 - q.0, s.1 - q.1);
        if d1 != d2 {
            out.push([q.0 as f64 + dx, q.1 as f64 + dy]);
        }
    }
    if let Some(&f) = out.first() {
        out.push(f);
    }
    out
}

/// Signed area of a closed ring by the shoelace formula, in the ring's coordinate
/// units squared (positive = counter-clockwise in a y-up frame).
pub fn ring_signed_area(ring: &[[f64; 2]]) -> f64 {
    ring.windows(2)
        .map(|p| p[0][0] * p[1][1] - p[1][0] * p[0][1])
        .sum::<f64>()
        * 0.5
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_quantile_inverts_sf() {
        for &p in &[1e-6, 1e-4, 1e-3, 0.01, 0.3, 0.5, 0.9] {
            let z = normal_quantile(1.0 - p);
            assert!((normal_sf(z) - p).abs() / p < 1e-5, "p={p} z={z}");
        }
        assert!((normal_quantile(0.975) - 1.959_964).abs() < 1e-5);
    }

    #[test]
    fn single_pixel_outline_is_unit_square() {
        let rings = trace_outline(&[5 * 10 + 3], 10, [5, 3, 5, 3]);
        assert_eq!(rings.len(), 1);
        assert_eq!(rings[0].len(), 5);
        assert!((ring_signed_area(&rings[0]).abs() - 1.0).abs() < 1e-12);
    }

    #[test]
    fn diagonal_pair_gives_two_rings() {
        // pixels (0,0) and (1,1) on a 3-wide raster
        let rings = trace_outline(&[0, 4], 3, [0, 0, 1, 1]);
        assert_eq!(rings.len(), 2, "{rings:?}");
        for r in &rings {
            assert!((ring_signed_area(r).abs() - 1.0).abs() < 1e-12);
        }
    }

    #[test]
    fn l_shape_area_and_vertices() {
        // (0,0),(1,0),(1,1) on a 2-wide raster: an L of area 3 with 6 corners.
        let rings = trace_outline(&[0, 2, 3], 2, [0, 0, 1, 1]);
        assert_eq!(rings.len(), 1);
        assert_eq!(rings[0].len(), 7);
        assert!((ring_signed_area(&rings[0]).abs() - 3.0).abs() < 1e-12);
    }
}
