//! Estimate once, apply many times: the matched filter (classic or albedo-corrected)
//! with background statistics per detector column estimated once and then applied to
//! any pixels of the same columns — an injected copy of the scene for the detection
//! limit, lines that arrive one at a time, or a window re-detected after a change.
//!
//! The statistics are those of [`super::detect_cube`] with column groups of one: mean
//! and covariance (normalised by `N − 1`, regularised as asked) over the pixels whose
//! window values are all finite and whose screened bands are not saturated. Lines are
//! not censored here.

use super::outlier::{Whitener, GATE_Z};
use super::{DetectParams, TEMPLATE_SCALING};
use crate::raster::NODATA;
use crate::stats::{BackgroundStats, MomentAccumulator, Normalization};
use crate::{Error, Result, VecCube};
use rayon::prelude::*;

/// The filter of one detector column: its mean spectrum and the whitened target.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnFilter {
    /// Background mean per window band (radiance units).
    pub mean: Vec<f64>,
    /// `C⁻¹ t` with the target `t = unit absorption × 10⁵ ⊙ mean`.
    pub whitened_target: Vec<f64>,
    /// `tᵀ C⁻¹ t`.
    pub norm: f64,
    /// `meanᵀ mean`.
    pub mean_sq: f64,
    /// Pixels the statistics rest on.
    pub count: u64,
    /// With outlier scaling ([`super::outlier`]): the background's whitener.
    pub whitener: Option<std::sync::Arc<Whitener>>,
}

impl ColumnFilter {
    /// (enhancement, albedo factor, sigma, z) of a pixel's window values `v`, divided
    /// by the albedo factor with `albedo_correction`; `None` when a value is not finite.
    /// (No separate check: a value that is not finite makes the projection onto the
    /// whitened target, and so the enhancement, not finite — NaN and ±∞ times any
    /// weight, zero included, stay NaN or ±∞ — and the outputs are checked at the end.)
    pub fn outputs(&self, v: &[f32], albedo_correction: bool) -> Option<(f32, f32, f32, f32)> {
        let (pw, pm) = projections(v, &self.mean, &self.whitened_target);
        let r = 1.0 + pm / self.mean_sq;
        let div = if albedo_correction { r } else { 1.0 };
        let e = TEMPLATE_SCALING * pw / (self.norm * div);
        let s = TEMPLATE_SCALING / self.norm.sqrt() / div;
        let (mut s, mut z) = (s, e / s);
        if let Some(w) = self.whitener.as_deref() {
            if z.abs() > GATE_Z {
                let f = w.factor(v, &self.mean, z);
                (s, z) = (s * f, z / f);
            }
        }
        (e.is_finite() && s.is_finite() && z.is_finite())
            .then_some((e as f32, r as f32, s as f32, z as f32))
    }

    /// The filter of finished background statistics for the unit absorption `a` per
    /// window band: target `t = a · 10⁵ ⊙ mean`, `C⁻¹ t`, `tᵀ C⁻¹ t`, `meanᵀ mean`.
    pub fn of_background(stats: &BackgroundStats, unit_absorption: &[f64]) -> Self {
        let target: Vec<f64> = unit_absorption
            .iter()
            .zip(&stats.mean)
            .map(|(a, m)| a * TEMPLATE_SCALING * m)
            .collect();
        let whitened_target = stats.solve(&target);
        let norm: f64 = target
            .iter()
            .zip(&whitened_target)
            .map(|(a, b)| a * b)
            .sum();
        let mean_sq = stats.mean.iter().map(|m| m * m).sum();
        ColumnFilter {
            mean: stats.mean.clone(),
            whitened_target,
            norm,
            mean_sq,
            count: stats.count,
            whitener: None,
        }
    }

    /// [`ColumnFilter::of_background`], with the outlier scaling of
    /// [`super::outlier`] when `outlier_scaling`.
    pub fn of_background_scaled(
        stats: &BackgroundStats,
        unit_absorption: &[f64],
        outlier_scaling: bool,
    ) -> Self {
        let mut f = Self::of_background(stats, unit_absorption);
        if outlier_scaling {
            f.whitener = Some(std::sync::Arc::new(Whitener::of(&stats.cholesky)));
        }
        f
    }
}

/// Lanes of the partial sums in [`projections`].
const LANES: usize = 4;

/// `Σ (v − m) w` and `Σ (v − m) m` over the window bands, summed in [`LANES`]
/// interleaved partial sums (band `k` into lane `k mod LANES`, the lanes added pairwise
/// at the end): one running sum is a chain of dependent additions, one band after
/// another, that leaves the core waiting on each.
fn projections(v: &[f32], mean: &[f64], weight: &[f64]) -> (f64, f64) {
    let n = v.len().min(mean.len()).min(weight.len());
    let (v, mean, weight) = (&v[..n], &mean[..n], &weight[..n]);
    #[cfg(all(target_arch = "x86_64", target_feature = "avx"))]
    let (mut pw, mut pm) = lane_sums_avx(v, mean, weight);
    #[cfg(not(all(target_arch = "x86_64", target_feature = "avx")))]
    let (mut pw, mut pm) = lane_sums(v, mean, weight);
    let tail = n - n % LANES;
    for k in tail..n {
        let d = f64::from(v[k]) - mean[k];
        pw[k - tail] += d * weight[k];
        pm[k - tail] += d * mean[k];
    }
    (
        (pw[0] + pw[1]) + (pw[2] + pw[3]),
        (pm[0] + pm[1]) + (pm[2] + pm[3]),
    )
}

/// The lane sums of [`projections`] over whole groups of [`LANES`] bands.
#[cfg_attr(all(target_arch = "x86_64", target_feature = "avx"), allow(dead_code))]
fn lane_sums(v: &[f32], mean: &[f64], weight: &[f64]) -> ([f64; LANES], [f64; LANES]) {
    let (mut pw, mut pm) = ([0.0f64; LANES], [0.0f64; LANES]);
    let chunks = v
        .chunks_exact(LANES)
        .zip(mean.chunks_exact(LANES))
        .zip(weight.chunks_exact(LANES));
    for ((x, m), w) in chunks {
        for l in 0..LANES {
            let d = f64::from(x[l]) - m[l];
            pw[l] += d * w[l];
            pm[l] += d * m[l];
        }
    }
    (pw, pm)
}

/// [`lane_sums`] with the lanes in one AVX register per sum: the same operations in
/// the same order (a subtraction, then a product and a sum for each, no fused
/// multiply-add), so the same values. Written lane by lane, the compiler split each
/// sum across two registers and shuffled lanes between them, every band.
#[cfg(all(target_arch = "x86_64", target_feature = "avx"))]
#[allow(unsafe_code)]
fn lane_sums_avx(v: &[f32], mean: &[f64], weight: &[f64]) -> ([f64; LANES], [f64; LANES]) {
    use std::arch::x86_64::*;
    let groups = v.len().min(mean.len()).min(weight.len()) / LANES;
    let (mut pw, mut pm) = ([0.0f64; LANES], [0.0f64; LANES]);
    // SAFETY: AVX is enabled at compile time (the cfg above). Group g reads values
    // 4g..4g + 4 of each slice, inside all three since g < groups; the loads and the
    // final stores into the two local arrays of four f64 are unaligned.
    unsafe {
        let (mut sw, mut sm) = (_mm256_setzero_pd(), _mm256_setzero_pd());
        for g in 0..groups {
            let x = _mm256_cvtps_pd(_mm_loadu_ps(v.as_ptr().add(LANES * g)));
            let m = _mm256_loadu_pd(mean.as_ptr().add(LANES * g));
            let w = _mm256_loadu_pd(weight.as_ptr().add(LANES * g));
            let d = _mm256_sub_pd(x, m);
            sw = _mm256_add_pd(sw, _mm256_mul_pd(d, w));
            sm = _mm256_add_pd(sm, _mm256_mul_pd(d, m));
        }
        _mm256_storeu_pd(pw.as_mut_ptr(), sw);
        _mm256_storeu_pd(pm.as_mut_ptr(), sm);
    }
    (pw, pm)
}

/// Asks the core to bring `values` into its cache ahead of use (a hint; nothing
/// without SSE).
fn prefetch(values: &[f32]) {
    #[cfg(all(target_arch = "x86_64", target_feature = "sse"))]
    for chunk in values.chunks(16) {
        // SAFETY: a prefetch reads nothing and cannot fault; the address is that of a
        // value inside the slice.
        #[allow(unsafe_code)]
        unsafe {
            std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(
                chunk.as_ptr().cast::<i8>(),
            );
        }
    }
    #[cfg(not(all(target_arch = "x86_64", target_feature = "sse")))]
    let _ = values;
}

/// Bits of a pixel's flags in [`ColumnFilters`] built from a detection
/// ([`super::detect_cube_with_filters`]).
#[derive(Debug, Clone, Copy)]
pub struct PixelFlags;

impl PixelFlags {
    /// The pixel's line is censored (repeated lines): no output, not in the statistics.
    pub const CENSORED: u8 = 1;
    /// The user's exclusion mask leaves the pixel out of the statistics.
    pub const EXCLUDED: u8 = 2;
}

/// Per-column matched filters of a cube's window bands.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnFilters {
    /// One filter per detector column; `None` where too few valid pixels exist for a
    /// covariance of full rank (those pixels get no output, as in `detect_cube`).
    pub columns: Vec<Option<ColumnFilter>>,
    /// Window bands (the first positions of the cube they were estimated on).
    pub bands: usize,
    /// Divide by the albedo factor (the albedo-corrected matched filter).
    pub albedo_correction: bool,
    /// `true` at the staged positions screened for saturation (up to the last one):
    /// the screen of [`ColumnFilters::valid`] as one branch-free pass over the values.
    saturation_mask: Vec<bool>,
    saturation_threshold: Option<f32>,
    /// Moments of each column's background pixels (to update them, see
    /// [`ColumnFilters::updated_column`]).
    moments: Vec<Option<MomentAccumulator>>,
    unit_absorption: Vec<f64>,
    normalization: Normalization,
    regularization: crate::stats::Regularization,
    /// The filters scale the score of outlying pixels ([`super::outlier`]).
    outlier_scaling: bool,
    /// Per pixel (map order, `lines × columns`): [`PixelFlags`] bits; empty when every
    /// pixel's membership follows from its values alone ([`ColumnFilters::estimate`]).
    flags: Vec<u8>,
}

/// The four per-pixel outputs of a window, row-major over its rows and columns.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct WindowOutputs {
    /// Enhancement, ppm·m ([`NODATA`] without output).
    pub enhancement: Vec<f32>,
    /// Albedo factor.
    pub albedo: Vec<f32>,
    /// Noise-equivalent enhancement, ppm·m.
    pub sigma: Vec<f32>,
    /// z-score.
    pub z: Vec<f32>,
}

impl ColumnFilters {
    /// The filter set's settings, before any column: the detector's form (only the
    /// matched filters have a fixed-statistics form) and the target checked against
    /// the window bands.
    fn without_columns(
        bands: usize,
        unit_absorption: &[f64],
        saturation_positions: &[usize],
        params: &DetectParams,
        flags: Vec<u8>,
    ) -> Result<Self> {
        let Some(albedo_correction) = params.algorithm.matched_filter_albedo_correction() else {
            return Err(Error::Invalid(format!(
                "fixed per-column statistics apply to the matched filters, not {:?}",
                params.algorithm
            )));
        };
        if unit_absorption.len() != bands || bands == 0 {
            return Err(Error::Shape {
                what: "unit absorption values (one per window band)".into(),
                expected: bands,
                got: unit_absorption.len(),
            });
        }
        Ok(Self {
            columns: Vec::new(),
            bands,
            albedo_correction,
            saturation_mask: position_mask(saturation_positions),
            saturation_threshold: params.saturation.map(|s| s.threshold),
            moments: Vec::new(),
            unit_absorption: unit_absorption.to_vec(),
            normalization: params.normalization.unwrap_or(Normalization::Sample),
            regularization: params.regularization,
            outlier_scaling: params.outlier_scaling,
            flags,
        })
    }

    /// Estimates the filter of every column of `cube`, whose first `bands` positions
    /// are the window bands; `saturation_positions` are the cube positions screened
    /// for saturation (used when `params.saturation` is set). Only the matched filter
    /// and the albedo-corrected matched filter have a fixed-statistics form.
    pub fn estimate(
        cube: &VecCube,
        bands: usize,
        unit_absorption: &[f64],
        saturation_positions: &[usize],
        params: &DetectParams,
    ) -> Result<Self> {
        let mut filters = Self::without_columns(
            bands,
            unit_absorption,
            saturation_positions,
            params,
            Vec::new(),
        )?;
        if bands > cube.bands {
            return Err(Error::Shape {
                what: "unit absorption values (one per window band)".into(),
                expected: bands,
                got: unit_absorption.len(),
            });
        }
        if let Some(&p) = saturation_positions.iter().find(|&&p| p >= cube.bands) {
            return Err(Error::Invalid(format!(
                "saturation band position {p} is outside the cube's {} bands",
                cube.bands
            )));
        }
        let per_column: Vec<(Option<ColumnFilter>, Option<MomentAccumulator>)> = (0..cube.samples)
            .into_par_iter()
            .map(|col| {
                let mut px = Vec::with_capacity(cube.lines * bands);
                let mut n = 0usize;
                for line in 0..cube.lines {
                    let v = pixel(cube, line, col);
                    if filters.valid(v) {
                        px.extend_from_slice(&v[..bands]);
                        n += 1;
                    }
                }
                if n <= bands {
                    return Ok((None, None));
                }
                let mut acc = MomentAccumulator::new(bands);
                acc.add_block(&px, None)?;
                let filter = filters.filter_of(&acc)?;
                Ok((Some(filter), Some(acc)))
            })
            .collect::<Result<Vec<_>>>()?;
        (filters.columns, filters.moments) = per_column.into_iter().unzip();
        Ok(filters)
    }

    /// The filters of moments a detection already accumulated (one per column, `None`
    /// where the column had no statistics), with each pixel's [`PixelFlags`]
    /// (`lines × columns`, map order). No pixel is read again.
    pub fn from_moments(
        moments: Vec<Option<MomentAccumulator>>,
        flags: Vec<u8>,
        bands: usize,
        unit_absorption: &[f64],
        saturation_positions: &[usize],
        params: &DetectParams,
    ) -> Result<Self> {
        if moments.is_empty() || flags.len() % moments.len() != 0 {
            return Err(Error::Shape {
                what: "pixel flags (lines × columns)".into(),
                expected: moments.len(),
                got: flags.len(),
            });
        }
        if let Some(m) = moments.iter().flatten().find(|m| m.bands() != bands) {
            return Err(Error::Shape {
                what: "column moments (window bands)".into(),
                expected: bands,
                got: m.bands(),
            });
        }
        let mut filters =
            Self::without_columns(bands, unit_absorption, saturation_positions, params, flags)?;
        let columns = moments
            .par_iter()
            .map(|m| match m {
                Some(acc) if acc.count() as usize > bands => filters.filter_of(acc).map(Some),
                _ => Ok(None),
            })
            .collect::<Result<Vec<_>>>()?;
        filters.columns = columns;
        filters.moments = moments;
        Ok(filters)
    }

    /// The same filter settings over other column moments (one per column, `None`
    /// where a column has no statistics), every pixel a member of its column's
    /// statistics (no flags): for statistics kept elsewhere, such as the warm-up lines
    /// of a stream.
    pub fn with_moments(&self, moments: Vec<Option<MomentAccumulator>>) -> Result<Self> {
        if moments.len() != self.columns.len() {
            return Err(Error::Shape {
                what: "column moments (one per column)".into(),
                expected: self.columns.len(),
                got: moments.len(),
            });
        }
        let columns = moments
            .par_iter()
            .map(|m| match m {
                Some(acc) if acc.count() as usize > self.bands => self.filter_of(acc).map(Some),
                _ => Ok(None),
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            columns,
            moments,
            flags: Vec::new(),
            ..self.clone_settings()
        })
    }

    /// These settings without columns, moments or flags.
    fn clone_settings(&self) -> Self {
        Self {
            columns: Vec::new(),
            bands: self.bands,
            albedo_correction: self.albedo_correction,
            saturation_mask: self.saturation_mask.clone(),
            saturation_threshold: self.saturation_threshold,
            moments: Vec::new(),
            unit_absorption: self.unit_absorption.clone(),
            normalization: self.normalization,
            regularization: self.regularization,
            outlier_scaling: self.outlier_scaling,
            flags: Vec::new(),
        }
    }

    /// [`PixelFlags`] bits of pixel (`line`, `col`) (0 without flags).
    fn flags_at(&self, line: usize, col: usize) -> u8 {
        let w = self.columns.len();
        self.flags.get(line * w + col).copied().unwrap_or(0)
    }

    /// [`ColumnFilters::updated_column`] for changes at known lines: each
    /// `(line, old, new)` leaves the statistics as `old` and enters them as `new`, each
    /// only where the pixel may be in the statistics (valid values, its line not
    /// censored, not excluded) — the same membership the detection applied.
    pub fn updated_column_at(
        &self,
        col: usize,
        changes: &[(usize, &[f32], &[f32])],
    ) -> Result<Option<ColumnFilter>> {
        let kept: Vec<(&[f32], &[f32])> = changes
            .iter()
            .filter(|(line, _, _)| self.flags_at(*line, col) == 0)
            .map(|&(_, old, new)| (old, new))
            .collect();
        self.updated_column(col, &kept)
    }

    /// [`ColumnFilters::apply_column`] to pixels of column `col` at lines `rows`
    /// (one row of `nb` staged values per line): censored lines get no output.
    pub fn apply_column_at(
        &self,
        col: usize,
        filter: &ColumnFilter,
        rows: &[usize],
        pixels: &[f32],
        nb: usize,
    ) -> WindowOutputs {
        let mut out = self.apply_column(filter, pixels, nb);
        for (i, &line) in rows.iter().enumerate().take(out.z.len()) {
            if self.flags_at(line, col) & PixelFlags::CENSORED != 0 {
                out.set(i, (NODATA, NODATA, NODATA, NODATA));
            }
        }
        out
    }

    /// The filter of the background whose moments are `acc`.
    fn filter_of(&self, acc: &MomentAccumulator) -> Result<ColumnFilter> {
        let stats =
            BackgroundStats::from_moments(acc, self.normalization, self.regularization, None)?;
        Ok(ColumnFilter::of_background_scaled(
            &stats,
            &self.unit_absorption,
            self.outlier_scaling,
        ))
    }

    /// The covariance divisor and regularisation the filters were estimated with (for
    /// statistics kept elsewhere, such as a stream's decaying moments).
    pub fn estimation(&self) -> (Normalization, crate::stats::Regularization) {
        (self.normalization, self.regularization)
    }

    /// Whether the filters scale the score of outlying pixels ([`super::outlier`]).
    pub fn outlier_scaling(&self) -> bool {
        self.outlier_scaling
    }

    /// The unit absorption per window band the filters target.
    pub fn unit_absorption(&self) -> &[f64] {
        &self.unit_absorption
    }

    /// The filter of column `col` after some of its pixels changed: each `(old, new)`
    /// pair (all staged values of one pixel) leaves the statistics as `old` and enters
    /// them as `new`, each only where it is valid. This is the column's statistics
    /// re-estimated on the changed scene, at the cost of the changed pixels (rank-one
    /// updates of the moments) and one factorisation. `None` where the column has too
    /// few valid pixels.
    pub fn updated_column(
        &self,
        col: usize,
        changes: &[(&[f32], &[f32])],
    ) -> Result<Option<ColumnFilter>> {
        let Some(Some(acc)) = self.moments.get(col) else {
            return Ok(None);
        };
        let mut acc = acc.clone();
        let (mut olds, mut news) = (Vec::new(), Vec::new());
        for (old, new) in changes {
            if self.valid(old) {
                olds.extend_from_slice(&old[..self.bands]);
            }
            if self.valid(new) {
                news.extend_from_slice(&new[..self.bands]);
            }
        }
        acc.remove_block(&olds)?;
        acc.add_block(&news, None)?;
        if acc.count() as usize <= self.bands {
            return Ok(None);
        }
        self.filter_of(&acc).map(Some)
    }

    /// Enhancement and noise of the pixels flagged in `flagged` (`lines × columns`,
    /// map order) against their column's statistics with the gas the detection found
    /// in every flagged pixel taken out of it (NaN elsewhere, and where a column keeps
    /// too few pixels).
    ///
    /// The per-column statistics of a flight line include its plumes: a plume's own
    /// pixels pull its columns' mean towards it and stretch their covariance along
    /// the gas signature, which shrinks its enhancement the more, the stronger the
    /// plume and the shorter the column. Here each flagged pixel `x` (possibly plume,
    /// [`crate::scan::possible_plume_pixels`]) enters the statistics as
    /// `x − e · d · a ⊙ μ` instead — its detected enhancement `e` (`enhancement`,
    /// ppm·m) times the unit absorption `a` and the column mean `μ`, with `d` its
    /// albedo factor (`albedo`) for the albedo-corrected filter, 1 otherwise — so the
    /// gas leaves the statistics while the surface under it stays (leaving such pixels
    /// out altogether also removes the clutter among them from the covariance and
    /// inflates the response of plumes over clutter: the shared `emit_small` source 1
    /// then read ×2.2 its true rate, against ×1.8 this way). Pixels without an
    /// enhancement are left out. One rank-k update and factorisation per column with
    /// flagged pixels; detection keeps the full statistics. `pixel(line, col)` gives
    /// the `nb` staged values of a pixel, as the filters were estimated on.
    pub fn gas_free_outputs<'a, F>(
        &self,
        flagged: &[bool],
        enhancement: &[f32],
        albedo: &[f32],
        nb: usize,
        pixel: F,
    ) -> Result<(Vec<f32>, Vec<f32>)>
    where
        F: Fn(usize, usize) -> &'a [f32] + Sync,
    {
        for (what, m) in [("enhancement", enhancement), ("albedo", albedo)] {
            if m.len() != flagged.len() {
                return Err(Error::Shape {
                    what: format!("{what} map (lines × columns)"),
                    expected: flagged.len(),
                    got: m.len(),
                });
            }
        }
        let w = self.columns.len();
        if w == 0 || flagged.len() % w != 0 {
            return Err(Error::Shape {
                what: "flagged pixels (lines × columns)".into(),
                expected: w,
                got: flagged.len(),
            });
        }
        let lines = flagged.len() / w;
        if nb < self.bands {
            return Err(Error::Shape {
                what: "staged values per pixel".into(),
                expected: self.bands,
                got: nb,
            });
        }
        let nan_row = vec![f32::NAN; nb];
        let per_column: Vec<Vec<(usize, f32, f32)>> = (0..w)
            .into_par_iter()
            .map(|col| {
                let rows: Vec<usize> = (0..lines).filter(|&l| flagged[l * w + col]).collect();
                if rows.is_empty() {
                    return Ok(Vec::new());
                }
                let gas_free: Vec<Vec<f32>> = match self.columns[col].as_ref() {
                    Some(f) => rows
                        .iter()
                        .map(|&l| {
                            let (e, r) = (enhancement[l * w + col], albedo[l * w + col]);
                            let d = if self.albedo_correction { r } else { 1.0 };
                            let x = pixel(l, col);
                            if !(e.is_finite() && d.is_finite()) || e == NODATA || d == NODATA {
                                return nan_row.clone();
                            }
                            let mut y = x.to_vec();
                            let gas = f64::from(e) * f64::from(d);
                            for ((v, a), m) in y.iter_mut().zip(&self.unit_absorption).zip(&f.mean)
                            {
                                *v -= (gas * a * m) as f32;
                            }
                            y
                        })
                        .collect(),
                    None => return Ok(Vec::new()),
                };
                let changes: Vec<(usize, &[f32], &[f32])> = rows
                    .iter()
                    .zip(&gas_free)
                    .map(|(&l, y)| (l, pixel(l, col), y.as_slice()))
                    .collect();
                let Some(filter) = self.updated_column_at(col, &changes)? else {
                    return Ok(Vec::new());
                };
                let staged: Vec<f32> = rows.iter().flat_map(|&l| pixel(l, col)).copied().collect();
                let out = self.apply_column_at(col, &filter, &rows, &staged, nb);
                Ok(rows
                    .iter()
                    .zip(out.enhancement.iter().zip(&out.sigma))
                    .map(|(&l, (&e, &s))| (l, e, s))
                    .collect())
            })
            .collect::<Result<_>>()?;
        let mut enhancement = vec![f32::NAN; flagged.len()];
        let mut sigma = vec![f32::NAN; flagged.len()];
        for (col, values) in per_column.into_iter().enumerate() {
            for (l, e, s) in values {
                if e != NODATA {
                    enhancement[l * w + col] = e;
                    sigma[l * w + col] = s;
                }
            }
        }
        Ok((enhancement, sigma))
    }

    /// Applies `filter` to `pixels` (`rows × nb` staged values of one column).
    pub fn apply_column(&self, filter: &ColumnFilter, pixels: &[f32], nb: usize) -> WindowOutputs {
        let rows = pixels.len() / nb.max(1);
        let mut out = WindowOutputs::nodata(rows);
        for (i, v) in pixels.chunks_exact(nb).enumerate() {
            if let Some(o) = self.filter_pixel(filter, v) {
                out.set(i, o);
            }
        }
        out
    }

    /// (enhancement, albedo, sigma, z) of one pixel, `None` without output.
    fn filter_pixel(&self, f: &ColumnFilter, v: &[f32]) -> Option<(f32, f32, f32, f32)> {
        // Output wherever the window values are finite, as in `detect_cube`: saturation
        // only keeps a pixel out of the statistics.
        f.outputs(&v[..self.bands], self.albedo_correction)
    }

    /// The moments each column's filter rests on (`None` where the column has none).
    pub fn column_moments(&self) -> &[Option<MomentAccumulator>] {
        &self.moments
    }

    /// Whether the pixel at `index` (map order) with staged values `v` is in its
    /// column's statistics: not censored nor excluded, window finite, not saturated.
    pub fn in_statistics(&self, index: usize, v: &[f32]) -> bool {
        self.flags.get(index).is_none_or(|&f| f == 0) && self.valid(v)
    }

    /// Whether the pixel at `index` (map order) is on a censored line (no output).
    pub fn censored(&self, index: usize) -> bool {
        self.flags
            .get(index)
            .is_some_and(|&f| f & PixelFlags::CENSORED != 0)
    }

    /// Whether a pixel (all staged values) may be in the statistics: window finite, not
    /// saturated.
    pub fn valid(&self, v: &[f32]) -> bool {
        let finite = crate::math::all_finite(&v[..self.bands]);
        let mask = &self.saturation_mask;
        let saturated = self.saturation_threshold.is_some_and(|t| {
            v[..mask.len()]
                .iter()
                .zip(mask)
                .fold(false, |any, (&x, &on)| any | (on & (x > t)))
        });
        finite && !saturated
    }

    /// Applies the filters to `pixels` (`rows × cols × cube bands`, band fastest, the
    /// same band positions as the cube the filters were estimated on), whose columns
    /// are the detector columns `col0..col0 + cols`.
    pub fn apply(
        &self,
        pixels: &[f32],
        rows: usize,
        col0: usize,
        cols: usize,
        nb: usize,
    ) -> Result<WindowOutputs> {
        if pixels.len() != rows * cols * nb {
            return Err(Error::Shape {
                what: "window pixels (rows × columns × bands)".into(),
                expected: rows * cols * nb,
                got: pixels.len(),
            });
        }
        let lines: Vec<&[f32]> = pixels.chunks_exact((cols * nb).max(1)).take(rows).collect();
        let mut out = WindowOutputs {
            enhancement: Vec::with_capacity(rows * cols),
            albedo: Vec::with_capacity(rows * cols),
            sigma: Vec::with_capacity(rows * cols),
            z: Vec::with_capacity(rows * cols),
        };
        for line in self.apply_lines(&lines, col0, cols, nb)? {
            out.enhancement.extend(line.maps.enhancement);
            out.albedo.extend(line.maps.albedo);
            out.sigma.extend(line.maps.sigma);
            out.z.extend(line.maps.z);
        }
        Ok(out)
    }

    /// [`ColumnFilters::apply`] to lines held apart: `lines[i]` holds `cols × cube
    /// bands` staged values of detector columns `col0..col0 + cols`; the outputs of
    /// each line, value for value those of [`ColumnFilter::outputs`], and which of its
    /// pixels are [`ColumnFilters::valid`] (read while the pixel is in cache; a later
    /// pass over the lines reads them from memory again).
    ///
    /// The pixels are taken a few columns per task, those columns of every line in
    /// turn, so that a column's filter (mean and whitened target, 1.1 kB for 72 bands)
    /// and whitener (about 11 kB) stay in the core's cache for all its pixels. Line by
    /// line, the filters and whiteners of a line's 600 columns (7 MB) were read from
    /// memory again for every line.
    pub fn apply_lines(
        &self,
        lines: &[&[f32]],
        col0: usize,
        cols: usize,
        nb: usize,
    ) -> Result<Vec<LineOutputs>> {
        if nb < self.bands || col0 + cols > self.columns.len() {
            return Err(Error::Invalid(format!(
                "pixels of {nb} bands in columns {col0}..{} against filters of {} window \
                 bands and {} columns",
                col0 + cols,
                self.bands,
                self.columns.len()
            )));
        }
        if let Some(bad) = lines.iter().find(|l| l.len() != cols * nb) {
            return Err(Error::Shape {
                what: "a line's pixels (columns × bands)".into(),
                expected: cols * nb,
                got: bad.len(),
            });
        }
        const COLUMNS_PER_TASK: usize = 8;
        let n = lines.len();
        // Per task, the outputs of its columns and whether each pixel is valid, line by
        // line.
        type PixelOutputs = (Option<(f32, f32, f32, f32)>, bool);
        let tasks: Vec<Vec<PixelOutputs>> = (0..cols.div_ceil(COLUMNS_PER_TASK))
            .into_par_iter()
            .map(|t| {
                let cs = t * COLUMNS_PER_TASK..((t + 1) * COLUMNS_PER_TASK).min(cols);
                let mut values = Vec::with_capacity(cs.len() * n);
                for (li, line) in lines.iter().enumerate() {
                    if let Some(next) = lines.get(li + 1) {
                        prefetch(&next[cs.start * nb..cs.end * nb]);
                    }
                    values.extend(cs.clone().map(|c| {
                        let v = &line[c * nb..(c + 1) * nb];
                        let out = self.columns[col0 + c]
                            .as_ref()
                            .and_then(|f| self.filter_pixel(f, v));
                        (out, self.valid(v))
                    }));
                }
                values
            })
            .collect();
        Ok((0..n)
            .into_par_iter()
            .map(|li| {
                let mut out = LineOutputs {
                    maps: WindowOutputs::nodata(cols),
                    valid: vec![false; cols],
                };
                for (t, values) in tasks.iter().enumerate() {
                    let width = values.len() / n;
                    let row = &values[li * width..(li + 1) * width];
                    for (k, &(o, valid)) in row.iter().enumerate() {
                        let c = t * COLUMNS_PER_TASK + k;
                        if let Some(o) = o {
                            out.maps.set(c, o);
                        }
                        out.valid[c] = valid;
                    }
                }
                out
            })
            .collect())
    }
}

/// One line's outputs from [`ColumnFilters::apply_lines`].
#[derive(Debug, Clone, PartialEq)]
pub struct LineOutputs {
    /// The filters' outputs.
    pub maps: WindowOutputs,
    /// Per pixel, [`ColumnFilters::valid`]: whether it may be in the statistics.
    pub valid: Vec<bool>,
}

impl WindowOutputs {
    /// `n` pixels without output ([`NODATA`]).
    fn nodata(n: usize) -> Self {
        Self {
            enhancement: vec![NODATA; n],
            albedo: vec![NODATA; n],
            sigma: vec![NODATA; n],
            z: vec![NODATA; n],
        }
    }

    /// Sets pixel `i`'s (enhancement, albedo, sigma, z).
    fn set(&mut self, i: usize, (e, r, s, z): (f32, f32, f32, f32)) {
        self.enhancement[i] = e;
        self.albedo[i] = r;
        self.sigma[i] = s;
        self.z[i] = z;
    }
}

/// `true` at `positions`, `false` elsewhere, up to the last of them.
fn position_mask(positions: &[usize]) -> Vec<bool> {
    let mut mask = vec![false; positions.iter().max().map_or(0, |&p| p + 1)];
    for &p in positions {
        mask[p] = true;
    }
    mask
}

/// All staged values of pixel (`line`, `col`).
fn pixel(cube: &VecCube, line: usize, col: usize) -> &[f32] {
    let i = (line * cube.samples + col) * cube.bands;
    &cube.data[i..i + cube.bands]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::{detect_cube, Algorithm, CubeInput, Grouping};
    use crate::rng::SeededRng;

    fn cube(lines: usize, samples: usize, bands: usize, seed: u64) -> VecCube {
        let mut rng = SeededRng::derived(seed, 1);
        let data = (0..lines * samples * bands)
            .map(|i| 10.0 + (i % bands) as f32 * 0.3 + 0.2 * rng.normal() as f32)
            .collect();
        VecCube::new(lines, samples, bands, data).unwrap()
    }

    /// The lane sums are the plain sums up to rounding, for window lengths with and
    /// without a remainder.
    #[test]
    fn projections_are_the_plain_sums() {
        let mut rng = SeededRng::derived(5, 2);
        for n in [1usize, 3, 4, 7, 72, 73] {
            let v: Vec<f32> = (0..n).map(|_| 10.0 + rng.normal() as f32).collect();
            let m: Vec<f64> = (0..n).map(|_| 10.0 + rng.normal()).collect();
            let w: Vec<f64> = (0..n).map(|_| rng.normal()).collect();
            let (pw, pm) = projections(&v, &m, &w);
            let (mut ew, mut em) = (0.0, 0.0);
            for k in 0..n {
                let d = f64::from(v[k]) - m[k];
                ew += d * w[k];
                em += d * m[k];
            }
            assert!(
                (pw - ew).abs() <= 1e-12 * (1.0 + ew.abs()) * n as f64,
                "{n}: {pw} {ew}"
            );
            assert!(
                (pm - em).abs() <= 1e-12 * (1.0 + em.abs()) * n as f64,
                "{n}: {pm} {em}"
            );
        }
    }

    /// The AVX lane sums are the portable ones bit for bit (same operations, same
    /// order), non-finite values included.
    #[cfg(all(target_arch = "x86_64", target_feature = "avx"))]
    #[test]
    fn avx_lane_sums_are_the_portable_ones() {
        let mut rng = SeededRng::derived(7, 3);
        for n in [0usize, 3, 4, 9, 72, 101] {
            let mut v: Vec<f32> = (0..n).map(|_| 10.0 + 3.0 * rng.normal() as f32).collect();
            let m: Vec<f64> = (0..n).map(|_| 10.0 + rng.normal()).collect();
            let w: Vec<f64> = (0..n).map(|_| 1e3 * rng.normal()).collect();
            if n > 5 {
                v[5] = f32::NAN;
                v[n - 1] = f32::INFINITY;
            }
            let (a, b) = (lane_sums(&v, &m, &w), lane_sums_avx(&v, &m, &w));
            for l in 0..LANES {
                assert_eq!(a.0[l].to_bits(), b.0[l].to_bits(), "{n} {l}");
                assert_eq!(a.1[l].to_bits(), b.1[l].to_bits(), "{n} {l}");
            }
        }
    }

    #[test]
    fn a_value_that_is_not_finite_gives_no_output_whatever_its_weight() {
        let f = ColumnFilter {
            mean: vec![10.0, 12.0, 0.0],
            whitened_target: vec![-0.5, 0.0, 0.25],
            norm: 2.0,
            mean_sq: 244.0,
            count: 100,
            whitener: None,
        };
        assert!(f.outputs(&[10.0, 12.0, 0.0], true).is_some());
        for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
            for i in 0..3 {
                for albedo in [false, true] {
                    let mut v = [10.5f32, 12.5, 0.5];
                    v[i] = bad;
                    assert_eq!(f.outputs(&v, albedo), None, "{bad} at {i}, {albedo}");
                }
            }
        }
    }

    #[test]
    fn a_pixel_is_valid_unless_its_window_is_not_finite_or_a_screened_band_saturates() {
        // 3 window bands, staged positions 0..6; positions 1, 4 and 5 are screened.
        let params = DetectParams {
            algorithm: Algorithm::AlbedoMatchedFilter,
            saturation: Some(crate::mask::Saturation::default()),
            ..DetectParams::default()
        };
        let t = params.saturation.unwrap().threshold;
        let ua = [-1e-6, -2e-6, -3e-6];
        let f = ColumnFilters::without_columns(3, &ua, &[5, 1, 4], &params, Vec::new()).unwrap();
        let ok = [1.0f32, 1.0, 1.0, 1.0, 1.0, 1.0];
        assert!(f.valid(&ok));
        for p in 0..6 {
            let mut v = ok;
            v[p] = t + 0.5;
            assert_eq!(f.valid(&v), ![1, 4, 5].contains(&p), "saturated at {p}");
            v[p] = f32::NAN;
            // Not finite matters in the window only (a NaN is not above the threshold).
            assert_eq!(f.valid(&v), p >= 3, "NaN at {p}");
        }
        // Exactly at the threshold is not saturated.
        let mut v = ok;
        v[4] = t;
        assert!(f.valid(&v));
        // Without a saturation screen only finiteness counts.
        let plain = DetectParams {
            saturation: None,
            ..params
        };
        let f = ColumnFilters::without_columns(3, &ua, &[5, 1, 4], &plain, Vec::new()).unwrap();
        let mut v = ok;
        v[4] = t + 0.5;
        assert!(f.valid(&v));
    }

    #[test]
    fn fixed_statistics_reproduce_the_column_matched_filter_and_the_mean_gives_zero() {
        let (lines, samples, bands) = (200, 6, 5);
        let mut c = cube(lines, samples, bands, 3);
        // A few outlying pixels (a surface unlike the rest) for the outlier scaling.
        for (k, i) in [(0usize, 17usize), (1, 230), (2, 655), (3, 901)] {
            for b in 0..bands {
                c.data[i * bands + b] *= 1.0 + 0.4 * ((b + k) % 3) as f32;
            }
        }
        let ua: Vec<f64> = (0..bands).map(|b| -1e-6 * (1.0 + b as f64)).collect();
        let positions: Vec<usize> = (0..bands).collect();
        let cases = [Algorithm::MatchedFilter, Algorithm::AlbedoMatchedFilter]
            .into_iter()
            .flat_map(|a| [(a, false), (a, true)]);
        let mut scaled = 0;
        for (algorithm, outlier_scaling) in cases {
            let params = DetectParams {
                algorithm,
                grouping: Grouping::Columns(1),
                outlier_scaling,
                ..DetectParams::default()
            };
            let maps = detect_cube(
                &CubeInput {
                    source: &c,
                    window_bands: &positions,
                    unit_absorption: &ua,
                    saturation_bands: &[],
                    exclude: None,
                },
                &params,
                &|_| {},
            )
            .unwrap();
            let f = ColumnFilters::estimate(&c, bands, &ua, &[], &params).unwrap();
            let out = f.apply(&c.data, lines, 0, samples, bands).unwrap();
            for (a, b) in out.enhancement.iter().zip(&maps.enhancement) {
                assert!((a - b).abs() <= 1e-3 * b.abs().max(1.0), "{a} vs {b}");
            }
            for (a, b) in out.z.iter().zip(&maps.z) {
                assert!((a - b).abs() <= 1e-3 * b.abs().max(1.0), "{a} vs {b}");
            }
            for (a, b) in out.sigma.iter().zip(&maps.sigma) {
                assert!((a - b).abs() <= 1e-3 * b.abs(), "{a} vs {b}");
            }
            // Scaled pixels have a larger noise-equivalent enhancement than the
            // column's own (the same for every pixel of a column without albedo
            // correction); z = enhancement / sigma holds for all.
            if outlier_scaling && algorithm == Algorithm::MatchedFilter {
                for col in 0..samples {
                    let s0 = (0..lines)
                        .map(|l| maps.sigma[l * samples + col])
                        .fold(f32::INFINITY, f32::min);
                    scaled += (0..lines)
                        .filter(|l| maps.sigma[l * samples + col] > 1.0001 * s0)
                        .count();
                }
            }
            for ((e, s), z) in out.enhancement.iter().zip(&out.sigma).zip(&out.z) {
                assert!(
                    (e / s - z).abs() <= 1e-3 * z.abs().max(1.0),
                    "{e} / {s} vs {z}"
                );
            }
            // Lines held apart and a window of columns: each pixel's outputs are its
            // column filter's, value for value.
            let (col0, cols) = (1, samples - 2);
            let held: Vec<Vec<f32>> = (0..lines)
                .map(|l| {
                    c.data[(l * samples + col0) * bands..(l * samples + col0 + cols) * bands]
                        .to_vec()
                })
                .collect();
            let views: Vec<&[f32]> = held.iter().map(|v| v.as_slice()).collect();
            let per_line = f.apply_lines(&views, col0, cols, bands).unwrap();
            for (l, line) in per_line.iter().enumerate() {
                let o = &line.maps;
                for k in 0..cols {
                    let v = &held[l][k * bands..(k + 1) * bands];
                    let want = f.columns[col0 + k]
                        .as_ref()
                        .and_then(|cf| cf.outputs(v, f.albedo_correction))
                        .unwrap_or((NODATA, NODATA, NODATA, NODATA));
                    assert_eq!((o.enhancement[k], o.albedo[k], o.sigma[k], o.z[k]), want);
                    assert_eq!(line.valid[k], f.valid(v));
                }
            }
            // The background mean of a column has zero response.
            let col = f.columns[2].as_ref().unwrap();
            let mean: Vec<f32> = col.mean.iter().map(|&m| m as f32).collect();
            let o = f.apply(&mean, 1, 2, 1, bands).unwrap();
            assert!(o.enhancement[0].abs() < 1e-2, "{}", o.enhancement[0]);
        }
        assert!(scaled >= 3, "{scaled} pixels scaled");
    }

    #[test]
    fn updated_statistics_equal_statistics_of_the_changed_column() {
        let (lines, samples, bands) = (300, 3, 4);
        let c = cube(lines, samples, bands, 5);
        let ua = [-1e-6, -2e-6, -3e-6, -1e-6];
        let params = DetectParams {
            algorithm: Algorithm::AlbedoMatchedFilter,
            ..DetectParams::default()
        };
        let f = ColumnFilters::estimate(&c, bands, &ua, &[], &params).unwrap();
        // Darken rows 10..40 of column 1 by 20 % (a strong absorber).
        let mut changed = c.clone();
        for line in 10..40 {
            let i = (line * samples + 1) * bands;
            for v in &mut changed.data[i..i + bands] {
                *v *= 0.8;
            }
        }
        let pairs: Vec<(&[f32], &[f32])> = (10..40)
            .map(|line| (pixel(&c, line, 1), pixel(&changed, line, 1)))
            .collect();
        let updated = f.updated_column(1, &pairs).unwrap().unwrap();
        let direct = ColumnFilters::estimate(&changed, bands, &ua, &[], &params).unwrap();
        let d = direct.columns[1].as_ref().unwrap();
        for (a, b) in updated.whitened_target.iter().zip(&d.whitened_target) {
            assert!((a - b).abs() <= 1e-6 * b.abs().max(1e-9), "{a} vs {b}");
        }
        assert!((updated.norm - d.norm).abs() <= 1e-8 * d.norm);
        assert_eq!(updated.count, d.count);
    }

    #[test]
    fn a_detections_own_filters_reproduce_its_maps_and_follow_changed_pixels() {
        use crate::detect::detect_cube_with_filters;
        let (lines, samples, bands) = (240, 4, 5);
        let c = cube(lines, samples, bands, 9);
        let ua: Vec<f64> = (0..bands).map(|b| -2e-6 * (1.0 + b as f64)).collect();
        let positions: Vec<usize> = (0..bands).collect();
        // Lines 50..70 of column 2 are excluded from the statistics.
        let mut exclude = vec![false; lines * samples];
        for line in 50..70 {
            exclude[line * samples + 2] = true;
        }
        let params = DetectParams {
            algorithm: Algorithm::AlbedoMatchedFilter,
            grouping: Grouping::Columns(1),
            ..DetectParams::default()
        };
        let detect = |cube: &VecCube| {
            detect_cube_with_filters(
                &CubeInput {
                    source: cube,
                    window_bands: &positions,
                    unit_absorption: &ua,
                    saturation_bands: &[],
                    exclude: Some(&exclude),
                },
                &params,
                &|_| {},
            )
            .unwrap()
        };
        let (maps, filters) = detect(&c);
        let f = filters.expect("the matched filters keep their statistics");
        let rows: Vec<usize> = (0..lines).collect();
        for col in 0..samples {
            let column: Vec<f32> = (0..lines)
                .flat_map(|l| pixel(&c, l, col).to_vec())
                .collect();
            let filter = f.columns[col].as_ref().unwrap();
            let out = f.apply_column_at(col, filter, &rows, &column, bands);
            for (l, &line) in rows.iter().enumerate() {
                let at = line * samples + col;
                for (a, b) in [
                    (out.enhancement[l], maps.enhancement[at]),
                    (out.z[l], maps.z[at]),
                    (out.sigma[l], maps.sigma[at]),
                ] {
                    assert!((a - b).abs() <= 1e-3 * b.abs().max(1.0), "{a} vs {b}");
                }
            }
        }
        // Darken lines 40..80 of column 2 by 20 %: half of them are excluded, so only
        // lines 40..50 and 70..80 may move the statistics, as a re-detection has them.
        let mut changed = c.clone();
        for line in 40..80 {
            let i = (line * samples + 2) * bands;
            for v in &mut changed.data[i..i + bands] {
                *v *= 0.8;
            }
        }
        let changes: Vec<(usize, &[f32], &[f32])> = (40..80)
            .map(|line| (line, pixel(&c, line, 2), pixel(&changed, line, 2)))
            .collect();
        let updated = f.updated_column_at(2, &changes).unwrap().unwrap();
        let (_, direct) = detect(&changed);
        let d = direct.unwrap().columns[2].clone().unwrap();
        for (a, b) in updated.whitened_target.iter().zip(&d.whitened_target) {
            assert!((a - b).abs() <= 1e-6 * b.abs().max(1e-9), "{a} vs {b}");
        }
        assert_eq!(updated.count, d.count);
        assert_eq!(d.count, (lines - 20) as u64);
        assert!(updated != *f.columns[2].as_ref().unwrap());
    }

    #[test]
    fn mag1c_has_no_fixed_statistics_form() {
        let c = cube(50, 2, 3, 1);
        let e = ColumnFilters::estimate(&c, 3, &[1e-6; 3], &[], &DetectParams::default());
        assert!(e.is_err());
    }
}
