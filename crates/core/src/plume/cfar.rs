//! The CFAR rule: a robust per-column background of z (median and 1.4826·MAD of every
//! detector column), the normalised score and its seed threshold `Φ⁻¹(1 − far)`.
//!
//! # Interpretation
//! The CFAR rule works on the *normalised* score `zn = (z − median_col) / (1.4826 ·
//! MAD_col)`, where median and MAD are taken over the valid pixels of the pixel's
//! detector column. Under a Gaussian null this makes each pixel's false-alarm
//! probability equal to [`CfarParams::far`], whatever the per-column bias and spread
//! the retrieval left behind (pushbroom striping).

use crate::math::normal::normal_quantile;
use crate::math::order_stats::median_mad;
use crate::raster::Grid;
use crate::{Error, Result};

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

/// What the CFAR rule of a block of lines tests against when the block is part of a
/// larger scene: the scene's per-column background of the (smoothed) z and its number of
/// valid pixels, for the scene-level false-alarm probability. A stream keeps these for
/// the lines it has seen and analyses each plume on the few lines around it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SceneReference {
    /// One background per detector column.
    pub background: Vec<ColumnBackground>,
    /// Valid pixels of the scene the false-alarm probability refers to.
    pub n_valid: usize,
    /// The scene's empirical null (see [`super::null`]), when the caller has it; a
    /// block analysed without one has the null of its own pixels.
    #[serde(default)]
    pub null: Option<super::NullSample>,
}

/// Fewest valid values a column needs for its own statistics.
pub const MIN_COLUMN_VALID: usize = 16;

/// Robust per-column background of `z` (`grid` order): median and 1.4826·MAD of every
/// detector column's finite values. Columns with fewer than 16 valid values, or zero
/// spread, take the scene-wide statistics (flagged `scene_fallback`). When the whole
/// scene has no valid value, every column gets NaN statistics (nothing will be detected).
pub fn column_background(z: &[f32], grid: Grid) -> Result<Vec<ColumnBackground>> {
    grid.check("z", z.len())?;
    // Columns in parallel; each column's statistics are the same serial computation.
    use rayon::prelude::*;
    let own: Vec<(Option<(f64, f64)>, usize)> = (0..grid.samples)
        .into_par_iter()
        .map(|s| {
            let mut col: Vec<f64> = (0..grid.lines)
                .map(|l| z[l * grid.samples + s])
                .filter(|v| v.is_finite())
                .map(|v| v as f64)
                .collect();
            let valid = col.len();
            let stats = if valid >= MIN_COLUMN_VALID {
                let (m, sc) = median_mad(&mut col);
                (sc > 0.0 && sc.is_finite()).then_some((m, sc))
            } else {
                None
            };
            (stats, valid)
        })
        .collect();
    // The scene-wide statistics, only when some column needs them.
    let (scene_med, scene_scale) = if own.iter().all(|(o, _)| o.is_some()) {
        (f64::NAN, f64::NAN)
    } else {
        let mut all: Vec<f64> = z
            .iter()
            .filter(|v| v.is_finite())
            .map(|&v| v as f64)
            .collect();
        if all.is_empty() {
            (f64::NAN, f64::NAN)
        } else {
            median_mad(&mut all)
        }
    };
    Ok(own
        .into_iter()
        .map(|(stats, valid)| match stats {
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
        })
        .collect())
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

    /// The hysteresis growth threshold on the normalised score: `grow_z`, clamped to the
    /// seed threshold.
    pub fn growth_threshold(&self) -> Result<f64> {
        let k = self.seed_threshold()?;
        if !self.grow_z.is_finite() {
            return Err(Error::Invalid(format!(
                "plume growth threshold: expected a finite z, got {}",
                self.grow_z
            )));
        }
        Ok(self.grow_z.min(k))
    }
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
