//! One flight line from detection maps to quantified plume detections: CFAR plumes,
//! false-positive rejection, source location and emission rate.
//!
//! The caller runs the detector ([`crate::detect::detect_cube`]) and hands the maps in,
//! so the same analysis serves whole files, streamed lines and servers; sites across
//! flight lines are then merged with [`crate::sites::merge_sites`].

use crate::detect::DetectionMaps;
use crate::geo::{downwind_pixel_unit, GeoTransform};
use crate::plume::{find_plumes, CfarParams, Grid, PlumeInputs, PlumeSet, RejectParams};
use crate::quantify::{
    locate_source, quantify, Emission, PlumePixels, QuantifyParams, SourceEstimate, SourceParams,
    Wind,
};
use crate::sites::Detection;
use crate::Result;

/// Every tuning knob of the per-pass analysis, with documented defaults.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PassParams {
    /// CFAR threshold and plume clean-up.
    pub cfar: CfarParams,
    /// Known-false-positive rejection.
    pub reject: RejectParams,
    /// Source location.
    pub source: SourceParams,
    /// Emission rate and its uncertainty.
    pub quantify: QuantifyParams,
}

/// A plume candidate of one pass with its source and (when wind is known) emission rate.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PassPlume {
    /// Plume id within the pass (the value in [`PlumeSet::labels`]).
    pub plume_id: u32,
    /// Source position in continuous pixel coordinates.
    pub source: SourceEstimate,
    /// Source position in map coordinates (x = easting, y = northing).
    pub source_map: (f64, f64),
    /// Source uncertainty radius in map units (m).
    pub source_radius_m: f64,
    /// Emission-rate estimate; `None` without wind, or for rejected candidates.
    pub emission: Option<Emission>,
}

/// Result of [`analyse_pass`].
#[derive(Debug, Clone, PartialEq)]
pub struct PassAnalysis {
    /// Pass (flight line) name.
    pub pass: String,
    /// Candidates, accepted and rejected, with labels and CFAR statistics.
    pub plumes: PlumeSet,
    /// Source and emission of each candidate, in the order of `plumes.plumes`.
    pub located: Vec<PassPlume>,
    /// Wind used for this pass.
    pub wind: Option<Wind>,
}

/// Finds, locates and quantifies the plumes of one pass.
///
/// `invalid` flags saturated or otherwise bad pixels (`lines × samples`, true = bad)
/// besides the NaN of the maps. Without `wind`, sources are placed at the enhancement
/// maximum and no emission rate is estimated.
///
/// # Units
/// The ground sample distance comes from `transform` (m); wind in m/s.
pub fn analyse_pass(
    pass: &str,
    maps: &DetectionMaps,
    transform: &GeoTransform,
    wind: Option<Wind>,
    invalid: Option<&[bool]>,
    params: &PassParams,
) -> Result<PassAnalysis> {
    if let Some(w) = &wind {
        w.validate()?;
    }
    let grid = Grid::new(maps.lines, maps.samples);
    let nan_nodata = |v: &[f32]| -> Vec<f32> {
        v.iter()
            .map(|&x| {
                if x == crate::detect::NODATA {
                    f32::NAN
                } else {
                    x
                }
            })
            .collect()
    };
    let z = nan_nodata(&maps.z);
    let enhancement = nan_nodata(&maps.enhancement);
    let albedo = nan_nodata(&maps.albedo);
    let sigma = nan_nodata(&maps.sigma);
    let inputs = PlumeInputs {
        grid,
        z: &z,
        enhancement: &enhancement,
        albedo: Some(&albedo),
        invalid,
    };
    let plumes = find_plumes(&inputs, &params.cfar, &params.reject)?;
    let gsd = transform.gsd();
    let downwind = wind.map(|w| downwind_pixel_unit(transform, w.from_deg));
    let mut located = Vec::with_capacity(plumes.plumes.len());
    for p in &plumes.plumes {
        let source = locate_source(grid, &p.pixels, &enhancement, downwind, &params.source)?;
        let source_map = transform.pixel_to_map(source.col, source.row);
        let emission = match (&wind, downwind, &p.rejection) {
            (Some(w), Some(dw), None) => Some(quantify(
                &PlumePixels {
                    grid,
                    pixels: &p.pixels,
                    enhancement: &enhancement,
                    sigma: Some(&sigma),
                },
                w,
                gsd,
                (source.col, source.row),
                dw,
                &params.quantify,
            )?),
            _ => None,
        };
        located.push(PassPlume {
            plume_id: p.id,
            source,
            source_map,
            source_radius_m: source.radius_px * gsd,
            emission,
        });
    }
    Ok(PassAnalysis {
        pass: pass.to_string(),
        plumes,
        located,
        wind,
    })
}

impl PassAnalysis {
    /// The accepted plumes as site detections (rates NaN where no emission was
    /// estimated).
    pub fn detections(&self) -> Vec<Detection> {
        self.plumes
            .plumes
            .iter()
            .zip(&self.located)
            .filter(|(p, _)| p.rejection.is_none())
            .map(|(p, l)| Detection {
                pass: self.pass.clone(),
                plume_id: p.id,
                x: l.source_map.0,
                y: l.source_map.1,
                radius: l.source_radius_m,
                rate_kg_h: l.emission.map_or(f64::NAN, |e| e.rate_kg_h),
                rate_sd_kg_h: l.emission.map_or(f64::NAN, |e| e.rate_sd_kg_h),
                max_enhancement_ppm_m: p.max_enhancement_ppm_m,
                significance: p.significance,
                false_alarm_probability: p.false_alarm_probability,
            })
            .collect()
    }
}
