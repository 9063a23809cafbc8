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
use crate::VecCube;
use crate::{Error, LineSource, Result};
use faer::{Accum, Mat, MatRef, Par};
use rayon::prelude::*;
use std::time::{Duration, Instant};

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
pub(crate) struct Prepared<'a, T: Real> {
    /// Bands.
    pub b: usize,
    /// Rows (pixels).
    pub rows: usize,
    /// `x − μ_T` per pixel (`rows × b`), zero rows where there is no output.
    pub xc: &'a [T],
    /// Pixels in the statistics.
    pub in_stats: &'a [bool],
    /// Background statistics (f64; `mean` is the mean radiance).
    pub stats: BackgroundStats,
    /// `μ_T − μ` (what was subtracted minus the f64 mean), added back in f64 to every
    /// projection.
    pub mean_rounding: Vec<f64>,
    /// Mean of `xc` over the pixels in the statistics (`μ − μ_T` up to rounding), f64.
    pub mean_xc: Vec<f64>,
    /// Split the pixel loops over threads (one big group) or not (many groups).
    pub parallel: bool,
}

/// Rows per parallel task when one group is split over threads.
const PAR_ROWS: usize = 8 * CHUNK_ROWS;

/// Sums `f` over blocks of `step` rows of `xc` (with their first row index), in
/// parallel when `parallel`.
fn fold_rows<T: Real, R: Send>(
    xc: &[T],
    b: usize,
    step: usize,
    parallel: bool,
    f: impl Fn(usize, &[T]) -> R + Sync + Send,
) -> Vec<R> {
    if parallel {
        xc.par_chunks(step * b)
            .enumerate()
            .map(|(i, c)| f(i * step, c))
            .collect()
    } else {
        xc.chunks(step * b)
            .enumerate()
            .map(|(i, c)| f(i * step, c))
            .collect()
    }
}

/// Centres one group's pixels in place and estimates their background statistics.
///
/// `px` holds `has_output.len()` rows of `b` values from which `base` (per band, f64)
/// has already been subtracted (zeros on the first call); on return `px` holds
/// `x − μ_T` (`μ_T` the f64 mean rounded to `T`; rows without output are zeroed) and
/// `base` holds `μ_T`. Calling it again after changing `in_stats` re-centres about the
/// new mean (the second, plume-free pass) without the original pixels.
#[allow(clippy::too_many_arguments)]
pub(crate) fn prepare<'a, T: Real>(
    px: &'a mut [T],
    base: &mut [f64],
    b: usize,
    has_output: &[bool],
    in_stats: &'a [bool],
    norm: Normalization,
    reg: Regularization,
    parallel: bool,
) -> Result<Prepared<'a, T>> {
    let rows = has_output.len();
    // 1. Mean of the rows in the statistics (f64 sums of the stored values).
    let parts = fold_rows(px, b, PAR_ROWS, parallel, |r0, chunk| {
        let mut acc = vec![0.0f64; b];
        let mut n = 0u64;
        for (i, row) in chunk.chunks_exact(b).enumerate() {
            if in_stats[r0 + i] {
                for (a, v) in acc.iter_mut().zip(row) {
                    *a += v.to_f64();
                }
                n += 1;
            }
        }
        (acc, n)
    });
    let mut m = vec![0.0f64; b];
    let mut n = 0u64;
    for (acc, k) in parts {
        for (a, v) in m.iter_mut().zip(acc) {
            *a += v;
        }
        n += k;
    }
    if n == 0 {
        return Err(Error::Invalid(
            "background statistics over zero pixels: every pixel is masked".into(),
        ));
    }
    for v in m.iter_mut() {
        *v /= n as f64;
    }
    let mean: Vec<f64> = base.iter().zip(&m).map(|(a, v)| a + v).collect();
    let m_t: Vec<T> = m.iter().map(|&v| T::from_f64(v)).collect();
    // 2. Centre in place (rows without output zeroed: they may hold NaN).
    let center = |(row, &out): (&mut [T], &bool)| {
        if out {
            for (v, c) in row.iter_mut().zip(&m_t) {
                *v -= *c;
            }
        } else {
            row.fill(T::zero_value());
        }
    };
    if parallel {
        px.par_chunks_mut(b)
            .zip(has_output.par_iter())
            .for_each(center);
    } else {
        px.chunks_mut(b).zip(has_output.iter()).for_each(center);
    }
    for (a, c) in base.iter_mut().zip(&m_t) {
        *a += c.to_f64();
    }
    let mean_rounding: Vec<f64> = base.iter().zip(&mean).map(|(a, m)| a - m).collect();
    // 3. Second moments of the centred rows, accumulated in f64.
    let xc: &'a [T] = px;
    let parts = fold_rows(xc, b, PAR_ROWS, parallel, |r0, chunk| {
        let mut acc = crate::stats::MomentAccumulator::with_shift(vec![0.0; b]);
        let inc = &in_stats[r0..r0 + chunk.len() / b];
        // Products in f64 even for f32 pixels: f32 products of centred radiance
        // failed the mag1c f32 parity test (r 0.9895 on emit_small), and so did f32
        // partial sums over 128 pixels added in f64 (r 0.99978 on avng_small; mf per
        // column P99 |Δ| 12 ppm·m against Spectral Python, 0.008 with f64 products).
        acc.add_block(chunk, Some(inc)).map(|_| acc)
    });
    let mut acc = crate::stats::MomentAccumulator::with_shift(vec![0.0; b]);
    for part in parts {
        acc.merge(&part?)?;
    }
    let s4 = (reg == Regularization::LedoitWolf).then(|| {
        let mc = acc.mean().unwrap_or_else(|_| vec![0.0; b]);
        xc.chunks_exact(b)
            .zip(in_stats)
            .filter(|(_, &inc)| inc)
            .map(|(row, _)| {
                let q: f64 = row
                    .iter()
                    .zip(&mc)
                    .map(|(v, c)| (v.to_f64() - c).powi(2))
                    .sum();
                q * q
            })
            .sum::<f64>()
    });
    let mut stats = BackgroundStats::from_moments(&acc, norm, reg, s4)?;
    // The moments are of the centred pixels: their mean is μ − μ_T up to rounding.
    let mean_xc = std::mem::replace(&mut stats.mean, mean);
    Ok(Prepared {
        b,
        rows,
        xc,
        in_stats,
        stats,
        mean_rounding,
        mean_xc,
        parallel,
    })
}

impl<T: Real> Prepared<'_, T> {
    /// Runs `f(first_row, chunk)` over blocks of rows, in parallel when the group is
    /// large, and returns the results in row order.
    pub(crate) fn map_chunks<R: Send>(&self, f: impl Fn(usize, &[T]) -> R + Sync + Send) -> Vec<R> {
        fold_rows(self.xc, self.b, CHUNK_ROWS, self.parallel, f)
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
    // The shapes are checked by `detect_group_in_place`.
    let mut work = pixels.to_vec();
    detect_group_in_place(
        &mut work,
        bands,
        has_output,
        in_stats,
        unit_absorption,
        params,
        parallel,
    )
}

/// [`detect_pixels`] on a buffer it may overwrite: `pixels` is centred in place
/// (its contents are unspecified afterwards), which saves a copy of the group.
pub fn detect_group_in_place<T: Real>(
    pixels: &mut [T],
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
    let mut base = vec![0.0; bands];
    let mut out = run_once(
        pixels, &mut base, bands, has_output, &in_stats, &template, params, parallel,
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
                pixels, &mut base, bands, has_output, &in_stats, &template, params, parallel,
            )?;
        }
    }
    Ok(out)
}

#[allow(clippy::too_many_arguments)]
fn run_once<T: Real>(
    pixels: &mut [T],
    base: &mut [f64],
    bands: usize,
    has_output: &[bool],
    in_stats: &[bool],
    template: &[f64],
    params: &DetectParams,
    parallel: bool,
) -> Result<PixelOutputs> {
    let prep = prepare(
        pixels,
        base,
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
    /// Wall time of the phases that produced the maps.
    pub timings: DetectTimings,
}

/// Wall time of the phases of [`detect_cube`].
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct DetectTimings {
    /// Reading the window and screening bands into memory, with each pixel's flags.
    pub read: Duration,
    /// Statistics, detectors and placing the groups' outputs in the maps.
    pub compute: Duration,
}

/// Runs detection over a whole cube.
///
/// Column groups: blocks of adjacent columns are processed in parallel; each block
/// reads its samples of every line straight into one contiguous buffer per group
/// (sources without cheap sample-range reads are first read once into memory), and
/// each group is centred and filtered in place in that buffer. Global statistics:
/// lines are read in parallel and the one group's pixel loops run in parallel.
/// `progress(n)` is called with the number of columns (or, for global statistics,
/// lines) finished since the last call.
///
/// # Memory
/// Column groups: the window bands of one block of columns (whole groups, about
/// 128 MiB of f32, at least one group) plus the four output maps; sources without
/// cheap sample-range reads (GDAL) are first staged whole. Global statistics:
/// the window bands of the whole cube.
pub fn detect_cube(
    input: &CubeInput<'_>,
    params: &DetectParams,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<DetectionMaps> {
    detect_cube_in_blocks(input, params, progress, BLOCK_BYTES)
}

/// [`detect_cube`] with column blocks of at most `block_bytes` of window values.
fn detect_cube_in_blocks(
    input: &CubeInput<'_>,
    params: &DetectParams,
    progress: &(dyn Fn(u64) + Sync),
    block_bytes: usize,
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
    let mut read_bands = input.window_bands.to_vec();
    let mut sat_pos = Vec::new();
    if params.saturation.is_some() {
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
    let reader = PixelReader {
        nb,
        nr: read_bands.len(),
        sat_runs: runs(sat_pos),
        saturation: params.saturation,
    };
    // Column groups overwrite every value: zeros cost no pass over the maps here (the
    // pages are first touched by the parallel copy of the groups' outputs).
    let fill = match params.grouping {
        Grouping::Columns(_) => 0.0,
        Grouping::Global => NODATA,
    };
    let mut maps = DetectionMaps {
        lines,
        samples,
        enhancement: vec![fill; lines * samples],
        albedo: vec![fill; lines * samples],
        sigma: vec![fill; lines * samples],
        z: vec![fill; lines * samples],
        timings: DetectTimings::default(),
    };
    if lines == 0 || samples == 0 {
        return Ok(maps);
    }
    match params.grouping {
        Grouping::Global => {
            detect_global(input, &read_bands, &reader, params, &mut maps)?;
            progress(lines as u64);
        }
        Grouping::Columns(g) => {
            // Sources without cheap sample-range reads are read once into memory (in
            // parallel), then by sample ranges from there.
            let staged;
            let (source, bands): (&dyn LineSource, Vec<usize>) = if src.cheap_column_reads() {
                (src, read_bands.clone())
            } else {
                let t = Instant::now();
                staged = VecCube::from_source(src, &read_bands)?;
                maps.timings.read += t.elapsed();
                (&staged, (0..read_bands.len()).collect())
            };
            detect_columns(
                input,
                source,
                &bands,
                &reader,
                g,
                params,
                progress,
                &mut maps,
                block_bytes,
            )?;
        }
    }
    Ok(maps)
}

/// How one pixel's values, read in the window bands and then the extra saturation
/// bands, become window values and flags.
struct PixelReader {
    /// Window bands (the first `nb` values read).
    nb: usize,
    /// Values read per pixel.
    nr: usize,
    /// Positions of the saturation bands among the values read, as runs of adjacent
    /// positions (a few slices to scan instead of a gather per band).
    sat_runs: Vec<std::ops::Range<usize>>,
    saturation: Option<Saturation>,
}

impl PixelReader {
    /// (has output: all window values finite, saturated).
    fn flags(&self, px: &[f32]) -> (bool, bool) {
        // Folds without early exit: branch-free, vectorised.
        let ok = px[..self.nb].iter().fold(true, |a, v| a & v.is_finite());
        let saturated = match self.saturation {
            Some(s) => self.sat_runs.iter().fold(false, |a, r| {
                a | px[r.clone()]
                    .iter()
                    .fold(false, |a, &v| a | (v > s.threshold))
            }),
            None => false,
        };
        (ok, saturated)
    }
}

/// Sorted positions as runs of adjacent positions.
fn runs(mut pos: Vec<usize>) -> Vec<std::ops::Range<usize>> {
    pos.sort_unstable();
    pos.dedup();
    let mut out: Vec<std::ops::Range<usize>> = Vec::new();
    for p in pos {
        match out.last_mut() {
            Some(r) if r.end == p => r.end = p + 1,
            _ => out.push(p..p + 1),
        }
    }
    out
}

/// Runs one group whose pixels are in `px32` (rows in line order, then sample).
fn detect_group_f32(
    px32: &mut [f32],
    bands: usize,
    has_output: &[bool],
    in_stats: &[bool],
    unit_absorption: &[f64],
    params: &DetectParams,
    parallel: bool,
) -> Result<PixelOutputs> {
    match params.precision {
        Precision::F32 => detect_group_in_place(
            px32,
            bands,
            has_output,
            in_stats,
            unit_absorption,
            params,
            parallel,
        ),
        Precision::F64 => {
            let mut px64: Vec<f64> = px32.iter().map(|&v| v as f64).collect();
            detect_group_in_place(
                &mut px64,
                bands,
                has_output,
                in_stats,
                unit_absorption,
                params,
                parallel,
            )
        }
    }
}

/// Flags of one group: output where the window values are finite and the line is not
/// censored; statistics where also not saturated and not excluded by the user.
#[allow(clippy::too_many_arguments)]
fn group_flags(
    px: &[f32],
    ok: &[bool],
    saturated: &[bool],
    lines: usize,
    c0: usize,
    c1: usize,
    samples: usize,
    exclude: Option<&[bool]>,
    censor: CensorRule,
) -> (Vec<bool>, Vec<bool>) {
    let width = c1 - c0;
    let mut has_output = ok.to_vec();
    let mut in_stats: Vec<bool> = (0..lines * width)
        .map(|r| {
            let (l, w) = (r / width, r % width);
            let excluded = exclude.is_some_and(|e| e[l * samples + c0 + w]);
            ok[r] && !saturated[r] && !excluded
        })
        .collect();
    let censored = censored_lines(px, lines, censor);
    for (l, &c) in censored.iter().enumerate() {
        if c {
            has_output[l * width..(l + 1) * width].fill(false);
            in_stats[l * width..(l + 1) * width].fill(false);
        }
    }
    (has_output, in_stats)
}

/// Column groups. Columns are processed in blocks of whole groups that fit a memory
/// budget: each block is first read line by line (lines in parallel, every read a long
/// run of adjacent samples per band, which the hardware prefetchers stream) into one
/// contiguous buffer per group, then its groups are detected in parallel.
#[allow(clippy::too_many_arguments)]
fn detect_columns(
    input: &CubeInput<'_>,
    src: &dyn LineSource,
    read_bands: &[usize],
    reader: &PixelReader,
    g: usize,
    params: &DetectParams,
    progress: &(dyn Fn(u64) + Sync),
    maps: &mut DetectionMaps,
    block_bytes: usize,
) -> Result<()> {
    let (lines, samples) = (maps.lines, maps.samples);
    let nb = reader.nb;
    let block_cols = block_columns(lines, samples, nb, g, block_bytes);
    let mut buf: Vec<f32> = Vec::new();
    let mut ok: Vec<bool> = Vec::new();
    let mut sat: Vec<bool> = Vec::new();
    for b0 in (0..samples).step_by(block_cols) {
        let b1 = (b0 + block_cols).min(samples);
        let width = b1 - b0;
        // Every value is overwritten by the read: reuse the buffer without clearing it.
        // Its pages are zero-filled on first touch, by the parallel readers.
        if buf.len() < lines * width * nb {
            buf = vec![0.0; lines * width * nb];
        }
        ok.resize(lines * width, false);
        sat.resize(lines * width, false);
        let groups: Vec<(usize, usize)> = (0..width)
            .step_by(g)
            .map(|gc0| (gc0, g.min(width - gc0)))
            .collect();
        let t_read = Instant::now();
        read_block(
            src,
            read_bands,
            reader,
            b0..b1,
            &groups,
            &mut buf[..lines * width * nb],
            &mut ok[..lines * width],
            &mut sat[..lines * width],
        )?;
        let t_compute = Instant::now();
        maps.timings.read += t_compute - t_read;
        // One contiguous slice per group (rows in line order, then sample).
        let mut parts = Vec::with_capacity(groups.len());
        let mut rest: &mut [f32] = &mut buf[..lines * width * nb];
        for &(gc0, gw) in &groups {
            let (px, tail) = rest.split_at_mut(lines * gw * nb);
            rest = tail;
            parts.push((gc0, gw, px));
        }
        let (ok, sat) = (&ok[..], &sat[..]);
        let results: Vec<Result<((usize, usize), PixelOutputs)>> = parts
            .into_par_iter()
            .map(|(gc0, gw, px)| {
                let rows = lines * gc0..lines * (gc0 + gw);
                let (c0, c1) = (b0 + gc0, b0 + gc0 + gw);
                let (has_output, in_stats) = group_flags(
                    px,
                    &ok[rows.clone()],
                    &sat[rows],
                    lines,
                    c0,
                    c1,
                    samples,
                    input.exclude,
                    params.censor,
                );
                let res = detect_group_f32(
                    px,
                    nb,
                    &has_output,
                    &in_stats,
                    input.unit_absorption,
                    params,
                    false,
                )?;
                progress(gw as u64);
                Ok(((c0, c1), res))
            })
            .collect();
        let results = results.into_iter().collect::<Result<Vec<_>>>()?;
        place_group_outputs(maps, &results);
        maps.timings.compute += t_compute.elapsed();
    }
    // Returning the buffer's pages to the system takes milliseconds per 100 MiB: off the
    // caller's path.
    rayon::spawn(move || drop(buf));
    Ok(())
}

/// Copies groups' outputs (rows of their columns `c0..c1`, in line order) into the
/// maps: lines in parallel, each line's row written left to right from every group.
fn place_group_outputs(maps: &mut DetectionMaps, results: &[((usize, usize), PixelOutputs)]) {
    let samples = maps.samples;
    let rows = maps
        .enhancement
        .par_chunks_mut(samples)
        .zip(maps.albedo.par_chunks_mut(samples))
        .zip(maps.sigma.par_chunks_mut(samples))
        .zip(maps.z.par_chunks_mut(samples));
    rows.enumerate().for_each(|(l, (((e, a), s), z))| {
        for &((c0, c1), ref out) in results {
            let j = l * (c1 - c0);
            let n = c1 - c0;
            e[c0..c1].copy_from_slice(&out.enhancement[j..j + n]);
            a[c0..c1].copy_from_slice(&out.albedo[j..j + n]);
            s[c0..c1].copy_from_slice(&out.sigma[j..j + n]);
            z[c0..c1].copy_from_slice(&out.z[j..j + n]);
        }
    });
}

/// Columns per block of [`detect_columns`]: whole groups, as many as fit
/// `block_bytes` of window values (at least one group), split evenly.
fn block_columns(lines: usize, samples: usize, nb: usize, g: usize, block_bytes: usize) -> usize {
    let per_column = (lines * nb * std::mem::size_of::<f32>()).max(1);
    let fit = (block_bytes / per_column).max(1);
    let fit = (g * (fit / g)).max(g).min(samples.max(1));
    let blocks = samples.div_ceil(fit);
    let even = samples.div_ceil(blocks);
    (g * even.div_ceil(g)).max(g)
}

/// Reads samples `cols` of every line into per-group buffers (`groups` are (first
/// column in the block, width); group rows in line order, then sample) with each
/// pixel's flags; lines in parallel.
#[allow(clippy::too_many_arguments)]
fn read_block(
    src: &dyn LineSource,
    read_bands: &[usize],
    reader: &PixelReader,
    cols: std::ops::Range<usize>,
    groups: &[(usize, usize)],
    buf: &mut [f32],
    ok: &mut [bool],
    sat: &mut [bool],
) -> Result<()> {
    let (nb, nr) = (reader.nb, reader.nr);
    let lines = ok.len() / cols.len().max(1);
    const LINES_PER_TASK: usize = 32;
    // Task t owns lines [t·LPT, (t+1)·LPT) of every group: split each group's slices
    // into those line ranges and hand every task its slice of each group.
    let tasks = lines.div_ceil(LINES_PER_TASK);
    let mut per_task: Vec<Vec<GroupLines<'_>>> = (0..tasks)
        .map(|_| Vec::with_capacity(groups.len()))
        .collect();
    let (mut rb, mut ro, mut rs) = (buf, ok, sat);
    for &(_, gw) in groups {
        let (gb, tb) = rb.split_at_mut(lines * gw * nb);
        let (go, to) = ro.split_at_mut(lines * gw);
        let (gs, ts) = rs.split_at_mut(lines * gw);
        (rb, ro, rs) = (tb, to, ts);
        for (t, ((b, o), s)) in gb
            .chunks_mut(LINES_PER_TASK * gw * nb)
            .zip(go.chunks_mut(LINES_PER_TASK * gw))
            .zip(gs.chunks_mut(LINES_PER_TASK * gw))
            .enumerate()
        {
            per_task[t].push((b, o, s));
        }
    }
    let width = cols.len();
    per_task
        .into_par_iter()
        .enumerate()
        .try_for_each(|(t, mut parts)| -> Result<()> {
            let mut line = vec![0f32; width * nr];
            let l0 = t * LINES_PER_TASK;
            for l in l0..(l0 + LINES_PER_TASK).min(lines) {
                src.read_line_cols(l, cols.clone(), read_bands, &mut line)?;
                for (&(gc0, gw), (b, o, s)) in groups.iter().zip(parts.iter_mut()) {
                    let r0 = (l - l0) * gw;
                    let src_px = &line[gc0 * nr..(gc0 + gw) * nr];
                    for (w, px) in src_px.chunks_exact(nr).enumerate() {
                        let r = r0 + w;
                        b[r * nb..(r + 1) * nb].copy_from_slice(&px[..nb]);
                        (o[r], s[r]) = reader.flags(px);
                    }
                }
            }
            Ok(())
        })
}

/// One task's share of one group in [`read_block`]: window values, output flags and
/// saturation flags of a range of lines.
type GroupLines<'a> = (&'a mut [f32], &'a mut [bool], &'a mut [bool]);

/// Window values held in memory per block of [`detect_columns`].
const BLOCK_BYTES: usize = 128 << 20;

/// One set of statistics for the whole scene; lines read in parallel.
fn detect_global(
    input: &CubeInput<'_>,
    read_bands: &[usize],
    reader: &PixelReader,
    params: &DetectParams,
    maps: &mut DetectionMaps,
) -> Result<()> {
    let (lines, samples) = (maps.lines, maps.samples);
    let nb = reader.nb;
    let t_read = Instant::now();
    let mut px = vec![0f32; lines * samples * nb];
    let mut ok = vec![false; lines * samples];
    let mut sat = vec![false; lines * samples];
    // One group of every column: its rows are the pixels in line order, then sample.
    read_block(
        input.source,
        read_bands,
        reader,
        0..samples,
        &[(0, samples)],
        &mut px,
        &mut ok,
        &mut sat,
    )?;
    let t_compute = Instant::now();
    maps.timings.read = t_compute - t_read;
    let (has_output, in_stats) = group_flags(
        &px,
        &ok,
        &sat,
        lines,
        0,
        samples,
        samples,
        input.exclude,
        params.censor,
    );
    let out = detect_group_f32(
        &mut px,
        nb,
        &has_output,
        &in_stats,
        input.unit_absorption,
        params,
        true,
    )?;
    maps.enhancement = out.enhancement;
    maps.albedo = out.albedo;
    maps.sigma = out.sigma;
    maps.z = out.z;
    maps.timings.compute = t_compute.elapsed();
    Ok(())
}

/// Dot product of two f64 vectors.
pub(crate) fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

#[cfg(test)]
mod block_tests {
    use super::*;

    #[test]
    fn saturation_runs_flag_exactly_the_screening_positions() {
        assert_eq!(runs(vec![6, 1, 2, 5, 9, 2, 10]), vec![1..3, 5..7, 9..11]);
        assert!(runs(Vec::new()).is_empty());
        let reader = PixelReader {
            nb: 4,
            nr: 7,
            sat_runs: runs(vec![1, 2, 5, 6]),
            saturation: Some(Saturation {
                threshold: 10.0,
                ..Saturation::default()
            }),
        };
        let base = [1.0f32; 7];
        assert_eq!(reader.flags(&base), (true, false));
        for p in 0..7 {
            let mut px = base;
            px[p] = 11.0;
            let screened = [1, 2, 5, 6].contains(&p);
            assert_eq!(reader.flags(&px), (true, screened), "position {p}");
        }
        let mut px = base;
        px[2] = f32::NAN;
        assert_eq!(reader.flags(&px), (false, false));
        px[2] = 1.0;
        px[6] = f32::NAN;
        assert_eq!(reader.flags(&px), (true, false), "NaN outside the window");
    }

    /// Blocks of any size (one group per block, uneven blocks, one block) give the same
    /// maps, bit for bit, with no-data pixels, a censored line, saturation screening
    /// bands outside the window and groups that do not divide the columns.
    #[test]
    fn column_blocks_do_not_change_the_result() {
        let (lines, samples, bands) = (60usize, 7usize, 6usize);
        let mut seed = 11u64;
        let mut next = || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((seed >> 33) as f64 / (1u64 << 31) as f64) as f32
        };
        let mut data: Vec<f32> = (0..lines * samples * bands)
            .map(|i| 10.0 + (i % bands) as f32 + next())
            .collect();
        data[(3 * samples + 4) * bands + 1] = f32::NAN;
        // A saturated pixel (screening band 5 only).
        data[(7 * samples + 1) * bands + 5] = 100.0;
        let (l9, l10) = (9 * samples * bands, 10 * samples * bands);
        let copy = data[l9..l10].to_vec();
        data[l10..l10 + samples * bands].copy_from_slice(&copy);
        let cube = VecCube::new(lines, samples, bands, data).unwrap();
        let window: Vec<usize> = (0..4).collect();
        let ua = vec![-1e-5, -2e-5, -4e-5, -1e-5];
        let input = CubeInput {
            source: &cube,
            window_bands: &window,
            unit_absorption: &ua,
            saturation_bands: &[3, 5],
            exclude: None,
        };
        let per_column = lines * window.len() * 4;
        for algorithm in [Algorithm::MatchedFilter, Algorithm::Mag1c] {
            for g in [1, 2, 3] {
                let params = DetectParams {
                    algorithm,
                    grouping: Grouping::Columns(g),
                    saturation: Some(Saturation {
                        threshold: 50.0,
                        ..Saturation::default()
                    }),
                    ..DetectParams::default()
                };
                let whole = detect_cube_in_blocks(&input, &params, &|_| {}, usize::MAX).unwrap();
                assert_eq!(whole.enhancement[3 * samples + 4], NODATA);
                for budget in [1, per_column * g, per_column * (g + 1), per_column * 5] {
                    let b = detect_cube_in_blocks(&input, &params, &|_| {}, budget).unwrap();
                    for (name, x, y) in [
                        ("enhancement", &b.enhancement, &whole.enhancement),
                        ("albedo", &b.albedo, &whole.albedo),
                        ("sigma", &b.sigma, &whole.sigma),
                        ("z", &b.z, &whole.z),
                    ] {
                        assert!(
                            x.iter().zip(y).all(|(p, q)| p.to_bits() == q.to_bits()),
                            "{algorithm:?}, group {g}, budget {budget}: {name} differs"
                        );
                    }
                }
            }
        }
    }
}
