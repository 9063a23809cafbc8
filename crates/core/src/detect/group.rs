//! One group of pixels through the configured detector: checks, the optional plume-free
//! second pass, and conversion of the results to f32 maps with [`NODATA`].

use super::outlier::{Whitener, GATE_Z};
use super::prepare::prepare;
use super::{ace, mag1c, mf, Algorithm, DetectParams, Precision, Prepared, TEMPLATE_SCALING};
use crate::raster::NODATA;
use crate::stats::Real;
use crate::{Error, Result};

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
    /// Moments of the group's background pixels (radiance, f64) for the matched
    /// filters and ACE, whose statistics are those moments; `None` for mag1c (its
    /// iterations re-estimate them) and for groups without output.
    pub moments: Option<crate::stats::MomentAccumulator>,
}

impl PixelOutputs {
    pub(super) fn nodata(n: usize) -> Self {
        Self {
            enhancement: vec![NODATA; n],
            albedo: vec![NODATA; n],
            sigma: vec![NODATA; n],
            z: vec![NODATA; n],
            moments: None,
        }
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
    let mut raw = match params.algorithm {
        Algorithm::MatchedFilter => mf::run(&prep, template, false),
        Algorithm::AlbedoMatchedFilter => mf::run(&prep, template, true),
        Algorithm::Ace => ace::run(&prep, template),
        Algorithm::Mag1c => mag1c::run(&prep, template, &params.mag1c, params.regularization)?,
    };
    if params.outlier_scaling
        && matches!(
            params.algorithm,
            Algorithm::MatchedFilter | Algorithm::AlbedoMatchedFilter
        )
    {
        scale_outliers(&prep, &mut raw);
    }
    let moments = match params.algorithm {
        Algorithm::Mag1c => None,
        _ => Some(prep.moments.clone().uncentred(base)?),
    };
    Ok(PixelOutputs {
        moments,
        ..raw.finish(has_output)
    })
}

/// The outlier scaling of [`super::outlier`] on a matched filter's outputs: the score
/// and noise of each pixel beyond the gate divided and multiplied by its factor.
fn scale_outliers<T: Real>(prep: &Prepared<'_, T>, raw: &mut RawOutputs) {
    let whitener = Whitener::of(&prep.stats.cholesky);
    let b = prep.b;
    let z = &raw.z;
    let factors = prep.map_chunks(|first, chunk| {
        let mut d = vec![0f32; b];
        let mut out = Vec::new();
        for (k, row) in chunk.chunks_exact(b).enumerate() {
            let i = first + k;
            if z[i].is_nan() || z[i].abs() <= GATE_Z {
                continue;
            }
            // x − μ = (x − μ_T) + (μ_T − μ).
            for ((v, &x), &m) in d.iter_mut().zip(row).zip(&prep.mean_rounding) {
                *v = (x.to_f64() + m) as f32;
            }
            out.push((i, whitener.factor_of_deviation(&d, z[i])));
        }
        out
    });
    for (i, f) in factors.into_iter().flatten() {
        raw.z[i] /= f;
        raw.sigma[i] *= f;
    }
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
            moments: None,
        }
    }
}

/// Runs one group whose pixels are in `px32` (rows in line order, then sample).
pub(super) fn detect_group_f32(
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
