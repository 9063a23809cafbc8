//! The matched-filter family: from radiance to a per-pixel gas enhancement with its
//! uncertainty.
//!
//! Every detector works on a *column group* (one or more pushbroom detector columns,
//! or the whole scene for frame cameras and mosaics): background statistics are
//! estimated once over the group's usable pixels ([`crate::stats`]), then applied to
//! every pixel of the group. Detectors, one module each:
//! - [`mf`]: classic matched filter (and its albedo-corrected variant);
//! - [`mag1c`]: the sparse, albedo-corrected, reweighted-ℓ1 matched filter of
//!   Foote et al. 2020 (mag1c 1.2.0), with an exact rank-2 covariance update;
//! - [`ace`]: adaptive coherence estimator, a scale-invariant significance score.
//!
//! # Target
//! Callers pass the gas *unit absorption* `a` per window band, in 1/(ppm·m) (the
//! derivative of ln L with the column enhancement, as `crate::target` computes it;
//! negative where the gas absorbs). As in mag1c, the filters work with the scaled
//! template `a·10⁵` and the target spectrum `t = a·10⁵ ⊙ μ` (the absorption
//! imprinted on the background mean), and scale results back by 10⁵ to ppm·m.
//!
//! # Outputs ([`PixelOutputs`])
//! - enhancement, ppm·m;
//! - albedo factor `R = xᵀμ / μᵀμ` (dimensionless);
//! - sigma, ppm·m: the noise-equivalent enhancement `10⁵ / sqrt(tᵀ C⁻¹ t)` (divided by
//!   `R` where the detector divides by `R`): the standard deviation of the
//!   enhancement over plume-free background;
//! - z = enhancement / sigma (for [`Algorithm::Ace`]: the signed ACE score, see
//!   [`ace`]).
//!
//! Pixels without output (no data, censored lines) hold [`NODATA`].

pub mod ace;
pub mod mag1c;
pub mod mf;

use crate::mask::{censored_lines, CensorRule, Saturation};
use crate::stats::{BackgroundStats, Normalization, Real, Regularization};
use crate::{Error, LineSource, Result};
use faer::{Accum, Mat, MatRef, Par};
use rayon::prelude::*;

/// Value written where a pixel has no output.
pub const NODATA: f32 = -9999.0;

/// mag1c's template scaling: the unit absorption is multiplied by this factor inside
/// the filters and enhancements are multiplied by it on the way out (ppm·m).
pub const TEMPLATE_SCALING: f64 = 1e5;

/// Rows per block in the pixel kernels (a block of f32 pixels in 72 bands is 288 KiB).
const CHUNK_ROWS: usize = 1024;

/// The detector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Algorithm {
    /// mag1c (Foote et al. 2020): albedo-corrected reweighted-ℓ1 sparse matched filter.
    #[default]
    Mag1c,
    /// Classic matched filter, `(x − μ)ᵀC⁻¹t / tᵀC⁻¹t`.
    MatchedFilter,
    /// Matched filter divided by the pixel's albedo factor.
    AlbedoMatchedFilter,
    /// Adaptive coherence estimator (significance score) alongside the matched filter.
    Ace,
}

/// Precision of the per-pixel arithmetic. Statistics and solves are f64 in both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Precision {
    /// f32 pixels and products (default).
    #[default]
    F32,
    /// f64 throughout (reference-grade).
    F64,
}

/// Which pixels share background statistics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grouping {
    /// Groups of this many adjacent detector columns (pushbroom sensors); the last
    /// group may be narrower.
    Columns(usize),
    /// One set of statistics for the whole scene (frame cameras, mosaics).
    Global,
}

impl Default for Grouping {
    fn default() -> Self {
        Grouping::Columns(1)
    }
}

/// Settings of the mag1c iterations (defaults are mag1c 1.2.0's CLI defaults).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Mag1cParams {
    /// Reweighting iterations (30).
    pub iterations: usize,
    /// Reweighted-ℓ1 sparsity (on).
    pub sparsity: bool,
    /// Clip the initial matched filter at zero (on; the iterations always clip).
    pub nonnegative: bool,
    /// Divide by the albedo factor (on).
    pub albedo_correction: bool,
    /// How much of the detected signal is removed from the data before the
    /// statistics are re-estimated (1).
    pub covariance_update_scaling: f64,
}

impl Default for Mag1cParams {
    fn default() -> Self {
        Self {
            iterations: 30,
            sparsity: true,
            nonnegative: true,
            albedo_correction: true,
            covariance_update_scaling: 1.0,
        }
    }
}

/// Everything that configures a detection run.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DetectParams {
    /// The detector.
    pub algorithm: Algorithm,
    /// Per-pixel precision.
    pub precision: Precision,
    /// Statistics per column group or global.
    pub grouping: Grouping,
    /// Covariance divisor; `None` = the detector's own (mag1c: N, others: N − 1).
    pub normalization: Option<Normalization>,
    /// Covariance regularisation.
    pub regularization: Regularization,
    /// Censored-line rule.
    pub censor: CensorRule,
    /// Saturation screening (pixels left out of the statistics); `None` = off.
    pub saturation: Option<Saturation>,
    /// mag1c settings.
    pub mag1c: Mag1cParams,
    /// Second pass: re-estimate the statistics without the pixels whose first-pass
    /// z exceeds this value (large plumes otherwise bias the background).
    pub exclude_z: Option<f64>,
}

impl DetectParams {
    fn normalization(&self) -> Normalization {
        self.normalization.unwrap_or(match self.algorithm {
            Algorithm::Mag1c => Normalization::Population,
            _ => Normalization::Sample,
        })
    }

    /// Checks the parameters.
    pub fn validate(&self) -> Result<()> {
        self.regularization.validate()?;
        if let Grouping::Columns(0) = self.grouping {
            return Err(Error::Invalid(
                "column group size must be at least 1".into(),
            ));
        }
        let s = self.mag1c.covariance_update_scaling;
        if !s.is_finite() {
            return Err(Error::Invalid(format!(
                "covariance update scaling {s} is not a finite number"
            )));
        }
        Ok(())
    }
}

/// Per-pixel results of one group, in the group's pixel order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PixelOutputs {
    /// Enhancement, ppm·m.
    pub enhancement: Vec<f32>,
    /// Albedo factor `xᵀμ / μᵀμ`, dimensionless.
    pub albedo: Vec<f32>,
    /// Noise-equivalent enhancement, ppm·m.
    pub sigma: Vec<f32>,
    /// enhancement / sigma (ACE: signed ACE score).
    pub z: Vec<f32>,
}

impl PixelOutputs {
    fn nodata(n: usize) -> Self {
        Self {
            enhancement: vec![NODATA; n],
            albedo: vec![NODATA; n],
            sigma: vec![NODATA; n],
            z: vec![NODATA; n],
        }
    }
}

/// Centred pixels of one group and their background statistics, shared by the
/// detectors.
pub(crate) struct Prepared<T: Real> {
    /// Bands.
    pub b: usize,
    /// Rows (pixels).
    pub rows: usize,
    /// `x − μ_T` per pixel (`rows × b`), zero rows where there is no output.
    pub xc: Vec<T>,
    /// Pixels in the statistics.
    pub in_stats: Vec<bool>,
    /// Background statistics (f64).
    pub stats: BackgroundStats,
    /// `μ_T − μ` (rounding of the mean to T), added back in f64 to every projection.
    pub mean_rounding: Vec<f64>,
    /// Split the pixel loops over threads (one big group) or not (many groups).
    pub parallel: bool,
}

impl<T: Real> Prepared<T> {
    pub(crate) fn new(
        pixels: &[T],
        b: usize,
        has_output: &[bool],
        in_stats: &[bool],
        norm: Normalization,
        reg: Regularization,
        parallel: bool,
    ) -> Result<Self> {
        let rows = has_output.len();
        let stats = estimate_stats(pixels, b, in_stats, norm, reg, parallel)?;
        let mu_t: Vec<T> = stats.mean.iter().map(|&m| T::from_f64(m)).collect();
        let mean_rounding: Vec<f64> = mu_t
            .iter()
            .zip(&stats.mean)
            .map(|(t, m)| t.to_f64() - m)
            .collect();
        let mut xc = pixels.to_vec();
        let center = |(row, &out): (&mut [T], &bool)| {
            if out {
                for (v, m) in row.iter_mut().zip(&mu_t) {
                    *v -= *m;
                }
            } else {
                row.fill(T::zero_value());
            }
        };
        if parallel {
            xc.par_chunks_mut(b)
                .zip(has_output.par_iter())
                .for_each(center);
        } else {
            xc.chunks_mut(b).zip(has_output.iter()).for_each(center);
        }
        Ok(Self {
            b,
            rows,
            xc,
            in_stats: in_stats.to_vec(),
            stats,
            mean_rounding,
            parallel,
        })
    }

    /// Runs `f(first_row, chunk)` over blocks of rows, in parallel when the group is
    /// large, and returns the results in row order.
    pub(crate) fn map_chunks<R: Send>(&self, f: impl Fn(usize, &[T]) -> R + Sync) -> Vec<R> {
        let step = CHUNK_ROWS * self.b;
        if self.parallel {
            self.xc
                .par_chunks(step)
                .enumerate()
                .map(|(i, c)| f(i * CHUNK_ROWS, c))
                .collect()
        } else {
            self.xc
                .chunks(step)
                .enumerate()
                .map(|(i, c)| f(i * CHUNK_ROWS, c))
                .collect()
        }
    }

    /// Projections `xc_p · v_j` (f64, with the mean-rounding correction) of every pixel
    /// on the given vectors: `out[j][p]`.
    pub(crate) fn project(&self, vecs: &[&[f64]]) -> Vec<Vec<f64>> {
        let k = vecs.len();
        let w = Mat::<T>::from_fn(self.b, k, |i, j| T::from_f64(vecs[j][i]));
        let corr: Vec<f64> = vecs
            .iter()
            .map(|v| v.iter().zip(&self.mean_rounding).map(|(a, b)| a * b).sum())
            .collect();
        let parts = self.map_chunks(|_, chunk| {
            let m = chunk.len() / self.b;
            let a = MatRef::from_row_major_slice(chunk, m, self.b);
            let mut out = Mat::<T>::zeros(m, k);
            faer::linalg::matmul::matmul(
                out.as_mut(),
                Accum::Replace,
                a,
                w.as_ref(),
                T::from_f64(1.0),
                Par::Seq,
            );
            out
        });
        let mut res = vec![Vec::with_capacity(self.rows); k];
        for part in parts {
            for (j, r) in res.iter_mut().enumerate() {
                r.extend((0..part.nrows()).map(|i| part[(i, j)].to_f64() + corr[j]));
            }
        }
        res
    }

    /// Albedo factor `xᵀμ / μᵀμ` of every pixel.
    pub(crate) fn albedo(&self) -> Vec<f64> {
        let mu = &self.stats.mean;
        let mm: f64 = mu.iter().map(|v| v * v).sum();
        let proj = self.project(&[mu]);
        proj[0].iter().map(|p| 1.0 + p / mm).collect()
    }
}

/// Background statistics of the rows flagged in `in_stats`, accumulated in f64 from
/// products in `T`, over threads when `parallel`.
fn estimate_stats<T: Real>(
    pixels: &[T],
    b: usize,
    in_stats: &[bool],
    norm: Normalization,
    reg: Regularization,
    parallel: bool,
) -> Result<BackgroundStats> {
    if !parallel || reg == Regularization::LedoitWolf {
        return BackgroundStats::estimate(pixels, b, Some(in_stats), norm, reg);
    }
    let step = 8 * CHUNK_ROWS;
    let parts: Vec<Result<crate::stats::MomentAccumulator>> = pixels
        .par_chunks(step * b)
        .zip(in_stats.par_chunks(step))
        .map(|(px, inc)| {
            let mut acc = crate::stats::MomentAccumulator::new(b);
            acc.add_block(px, Some(inc))?;
            Ok(acc)
        })
        .collect();
    let mut acc = crate::stats::MomentAccumulator::new(b);
    for p in parts {
        acc.merge(&p?)?;
    }
    BackgroundStats::from_moments(&acc, norm, reg, None)
}

/// Runs the configured detector on one group of pixels.
///
/// `pixels` holds `has_output.len()` rows of `bands` radiance values (band fastest,
/// window bands only); rows flagged in `in_stats` form the background statistics,
/// rows not flagged in `has_output` get [`NODATA`]. `unit_absorption` is the gas unit
/// absorption per window band, 1/(ppm·m). `parallel` splits the pixel loops over
/// threads (use it for one large group).
pub fn detect_pixels<T: Real>(
    pixels: &[T],
    bands: usize,
    has_output: &[bool],
    in_stats: &[bool],
    unit_absorption: &[f64],
    params: &DetectParams,
    parallel: bool,
) -> Result<PixelOutputs> {
    params.validate()?;
    let rows = has_output.len();
    if unit_absorption.len() != bands {
        return Err(Error::Shape {
            what: "unit absorption values (one per window band)".into(),
            expected: bands,
            got: unit_absorption.len(),
        });
    }
    if pixels.len() != rows * bands || in_stats.len() != rows {
        return Err(Error::Shape {
            what: "group pixel values (rows × bands)".into(),
            expected: rows * bands,
            got: pixels.len(),
        });
    }
    let mut in_stats: Vec<bool> = in_stats
        .iter()
        .zip(has_output)
        .map(|(a, b)| *a && *b)
        .collect();
    let n_stats = in_stats.iter().filter(|v| **v).count();
    if n_stats <= bands {
        // Too few pixels for a covariance of full rank: no output for this group.
        return Ok(PixelOutputs::nodata(rows));
    }
    let template: Vec<f64> = unit_absorption
        .iter()
        .map(|a| a * TEMPLATE_SCALING)
        .collect();
    let mut out = run_once(
        pixels, bands, has_output, &in_stats, &template, params, parallel,
    )?;
    if let Some(zmax) = params.exclude_z {
        let mut changed = false;
        for (i, flag) in in_stats.iter_mut().enumerate() {
            if *flag && f64::from(out.z[i]) > zmax {
                *flag = false;
                changed = true;
            }
        }
        if changed && in_stats.iter().filter(|v| **v).count() > bands {
            out = run_once(
                pixels, bands, has_output, &in_stats, &template, params, parallel,
            )?;
        }
    }
    Ok(out)
}

fn run_once<T: Real>(
    pixels: &[T],
    bands: usize,
    has_output: &[bool],
    in_stats: &[bool],
    template: &[f64],
    params: &DetectParams,
    parallel: bool,
) -> Result<PixelOutputs> {
    let prep = Prepared::new(
        pixels,
        bands,
        has_output,
        in_stats,
        params.normalization(),
        params.regularization,
        parallel,
    )?;
    let raw = match params.algorithm {
        Algorithm::MatchedFilter => mf::run(&prep, template, false),
        Algorithm::AlbedoMatchedFilter => mf::run(&prep, template, true),
        Algorithm::Ace => ace::run(&prep, template),
        Algorithm::Mag1c => mag1c::run(&prep, template, &params.mag1c, params.regularization)?,
    };
    Ok(raw.finish(has_output))
}

/// Detector results in f64 before masking and conversion.
pub(crate) struct RawOutputs {
    pub enhancement: Vec<f64>,
    pub albedo: Vec<f64>,
    pub sigma: Vec<f64>,
    pub z: Vec<f64>,
}

impl RawOutputs {
    fn finish(self, has_output: &[bool]) -> PixelOutputs {
        let conv = |v: Vec<f64>| -> Vec<f32> {
            v.into_iter()
                .zip(has_output)
                .map(|(x, &o)| if o && x.is_finite() { x as f32 } else { NODATA })
                .collect()
        };
        PixelOutputs {
            enhancement: conv(self.enhancement),
            albedo: conv(self.albedo),
            sigma: conv(self.sigma),
            z: conv(self.z),
        }
    }
}

/// What to detect in a cube: the source, its bands and the gas target.
pub struct CubeInput<'a> {
    /// The radiance cube.
    pub source: &'a dyn LineSource,
    /// Cube band indices (0-based) of the gas window.
    pub window_bands: &'a [usize],
    /// Unit absorption per window band, 1/(ppm·m).
    pub unit_absorption: &'a [f64],
    /// Cube band indices screened for saturation (ignored unless
    /// [`DetectParams::saturation`] is set).
    pub saturation_bands: &'a [usize],
    /// Optional user mask, `lines × samples`, true = leave out of the statistics.
    pub exclude: Option<&'a [bool]>,
}

/// A copy of a detection raster with [`NODATA`] replaced by NaN (the convention of the
/// plume, quantification and evidence code).
pub fn nodata_as_nan(values: &[f32]) -> Vec<f32> {
    values
        .iter()
        .map(|&v| if v == NODATA { f32::NAN } else { v })
        .collect()
}

/// Per-pixel maps of a whole cube, `lines × samples` each (line-major).
#[derive(Debug, Clone, PartialEq)]
pub struct DetectionMaps {
    /// Down-track lines.
    pub lines: usize,
    /// Cross-track samples.
    pub samples: usize,
    /// Enhancement, ppm·m.
    pub enhancement: Vec<f32>,
    /// Albedo factor, dimensionless.
    pub albedo: Vec<f32>,
    /// Noise-equivalent enhancement, ppm·m.
    pub sigma: Vec<f32>,
    /// z-score (ACE: signed ACE score).
    pub z: Vec<f32>,
}

/// Runs detection over a whole cube.
///
/// Reads every line once (window and saturation bands, in parallel), then processes
/// column groups in parallel (or one global group with parallel pixel loops).
/// `progress(n)` is called with the number of columns (or, for global statistics,
/// lines) finished since the last call; `total_progress` tells the caller the total.
///
/// # Memory
/// Holds the window bands of the whole cube (`lines × samples × bands` f32) plus one
/// centred copy per group in flight.
pub fn detect_cube(
    input: &CubeInput<'_>,
    params: &DetectParams,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<DetectionMaps> {
    params.validate()?;
    let src = input.source;
    let (lines, samples) = (src.lines(), src.samples());
    let nb = input.window_bands.len();
    if nb == 0 {
        return Err(Error::Invalid(
            "the gas window holds no bands of this cube".into(),
        ));
    }
    if input.unit_absorption.len() != nb {
        return Err(Error::Shape {
            what: "unit absorption values (one per window band)".into(),
            expected: nb,
            got: input.unit_absorption.len(),
        });
    }
    if let Some(ex) = input.exclude {
        if ex.len() != lines * samples {
            return Err(Error::Shape {
                what: "exclusion mask values (lines × samples)".into(),
                expected: lines * samples,
                got: ex.len(),
            });
        }
    }
    if let Some(&b) = input
        .window_bands
        .iter()
        .chain(input.saturation_bands)
        .find(|&&b| b >= src.bands())
    {
        return Err(Error::Invalid(format!(
            "band index {b} is outside the cube's {} bands",
            src.bands()
        )));
    }
    // Bands to read: the window, then the saturation bands not already in it.
    let sat = params.saturation;
    let mut read_bands = input.window_bands.to_vec();
    let mut sat_pos = Vec::new();
    if sat.is_some() {
        for &b in input.saturation_bands {
            match read_bands.iter().position(|&x| x == b) {
                Some(p) => sat_pos.push(p),
                None => {
                    read_bands.push(b);
                    sat_pos.push(read_bands.len() - 1);
                }
            }
        }
    }
    let nr = read_bands.len();
    // 1. Read every line (parallel over blocks of lines).
    let mut cube = vec![0f32; lines * samples * nr];
    let line_len = samples * nr;
    cube.par_chunks_mut(line_len.max(1) * 16)
        .enumerate()
        .try_for_each(|(blk, chunk)| -> Result<()> {
            for (i, line) in chunk.chunks_mut(line_len).enumerate() {
                src.read_line(blk * 16 + i, &read_bands, line)?;
            }
            Ok(())
        })?;
    // Per-pixel flags: output (all window bands finite) and saturated.
    let flags: Vec<(bool, bool)> = cube
        .par_chunks(nr)
        .map(|px| {
            let ok = px[..nb].iter().all(|v| v.is_finite());
            let saturated = match sat {
                Some(s) => sat_pos.iter().any(|&p| px[p] > s.threshold),
                None => false,
            };
            (ok, saturated)
        })
        .collect();
    let mut maps = DetectionMaps {
        lines,
        samples,
        enhancement: vec![NODATA; lines * samples],
        albedo: vec![NODATA; lines * samples],
        sigma: vec![NODATA; lines * samples],
        z: vec![NODATA; lines * samples],
    };
    let groups: Vec<(usize, usize)> = match params.grouping {
        Grouping::Global => vec![(0, samples)],
        Grouping::Columns(g) => (0..samples.div_ceil(g))
            .map(|i| (i * g, ((i + 1) * g).min(samples)))
            .collect(),
    };
    let global = groups.len() == 1;
    let run_group = |&(c0, c1): &(usize, usize)| -> Result<PixelOutputs> {
        let width = c1 - c0;
        let rows = lines * width;
        let mut px32 = Vec::with_capacity(rows * nb);
        let mut has_output = Vec::with_capacity(rows);
        let mut in_stats = Vec::with_capacity(rows);
        for l in 0..lines {
            for s in c0..c1 {
                let i = l * samples + s;
                px32.extend_from_slice(&cube[i * nr..i * nr + nb]);
                let (ok, saturated) = flags[i];
                has_output.push(ok);
                let excluded = input.exclude.is_some_and(|e| e[i]);
                in_stats.push(ok && !saturated && !excluded);
            }
        }
        let censored = censored_lines(&px32, lines, params.censor);
        for (l, &c) in censored.iter().enumerate() {
            if c {
                for w in 0..width {
                    has_output[l * width + w] = false;
                    in_stats[l * width + w] = false;
                }
            }
        }
        let out = match params.precision {
            Precision::F32 => detect_pixels(
                &px32,
                nb,
                &has_output,
                &in_stats,
                input.unit_absorption,
                params,
                global,
            )?,
            Precision::F64 => {
                let px64: Vec<f64> = px32.iter().map(|&v| v as f64).collect();
                drop(px32);
                detect_pixels(
                    &px64,
                    nb,
                    &has_output,
                    &in_stats,
                    input.unit_absorption,
                    params,
                    global,
                )?
            }
        };
        progress(if global { lines as u64 } else { width as u64 });
        Ok(out)
    };
    let results: Vec<Result<PixelOutputs>> = if global {
        groups.iter().map(run_group).collect()
    } else {
        groups.par_iter().map(run_group).collect()
    };
    for (&(c0, c1), res) in groups.iter().zip(results) {
        let out = res?;
        let width = c1 - c0;
        for l in 0..lines {
            for w in 0..width {
                let i = l * samples + c0 + w;
                let j = l * width + w;
                maps.enhancement[i] = out.enhancement[j];
                maps.albedo[i] = out.albedo[j];
                maps.sigma[i] = out.sigma[j];
                maps.z[i] = out.z[j];
            }
        }
    }
    Ok(maps)
}

/// Dot product of two f64 vectors.
pub(crate) fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}
