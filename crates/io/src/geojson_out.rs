//! `sites.geojson` (points) and `plumes.geojson` (polygons) in WGS84 (RFC 7946),
//! reprojected from the scene CRS through GDAL's OSR with traditional GIS axis order
//! (longitude, latitude).
//!
//! The features are built with the `geojson` crate, their properties from serde structs
//! ([`SiteProperties`], [`PlumeProperties`]); members are written in alphabetical order.
//! The tests read the files back through GDAL's GeoJSON driver.

use crate::atomic;
use crate::{Error, Result};
use gdal::spatial_ref::{AxisMappingStrategy, CoordTransform, SpatialRef};
use geojson::{Feature, FeatureCollection, Geometry, GeometryValue, JsonObject};
use plumewatch_core::geo::GeoTransform;
use plumewatch_core::locate::SourceEstimate;
use plumewatch_core::plume::{ring_signed_area, Plume};
use plumewatch_core::quantify::Emission;
use plumewatch_core::sites::PlumeRef;
use plumewatch_core::sites::{SceneFigures, Site};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Reprojection from a scene CRS to WGS84 longitude/latitude (degrees).
pub struct ToWgs84 {
    transform: CoordTransform,
}

impl std::fmt::Debug for ToWgs84 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ToWgs84")
    }
}

impl ToWgs84 {
    /// A transform from the CRS described by `wkt` (any definition GDAL accepts: WKT,
    /// `EPSG:32613`, PROJ string). `context` names the file the result is for, for
    /// error messages.
    pub fn new(wkt: &str, context: &Path) -> Result<Self> {
        let gdal_err = |what: &str, e: gdal::errors::GdalError| Error::Gdal {
            path: context.to_path_buf(),
            message: format!("{what}: {e}"),
        };
        let mut src = SpatialRef::from_definition(wkt)
            .map_err(|e| gdal_err("scene CRS: expected a WKT/EPSG/PROJ definition", e))?;
        src.set_axis_mapping_strategy(AxisMappingStrategy::TraditionalGisOrder);
        let mut dst = SpatialRef::from_epsg(4326).map_err(|e| gdal_err("EPSG:4326", e))?;
        dst.set_axis_mapping_strategy(AxisMappingStrategy::TraditionalGisOrder);
        let transform = CoordTransform::new(&src, &dst)
            .map_err(|e| gdal_err("scene CRS → WGS84 transformation", e))?;
        Ok(Self { transform })
    }

    /// Transforms map points `[x, y]` of the scene CRS to `[lon, lat]` degrees.
    pub fn points(&self, xy: &[[f64; 2]], context: &Path) -> Result<Vec<[f64; 2]>> {
        if xy.is_empty() {
            return Ok(Vec::new());
        }
        let mut x: Vec<f64> = xy.iter().map(|p| p[0]).collect();
        let mut y: Vec<f64> = xy.iter().map(|p| p[1]).collect();
        self.transform
            .transform_coords(&mut x, &mut y, &mut [])
            .map_err(|e| Error::Gdal {
                path: context.to_path_buf(),
                message: format!("reprojecting {} points to WGS84: {e}", xy.len()),
            })?;
        let out: Vec<[f64; 2]> = x.into_iter().zip(y).map(|(a, b)| [a, b]).collect();
        if let Some(bad) = out
            .iter()
            .find(|p| !(p[0].is_finite() && p[1].is_finite() && p[1].abs() <= 90.0))
        {
            return Err(Error::format(
                context,
                "coordinates",
                format!("reprojection to WGS84 gave {bad:?}; expected finite lon/lat"),
            ));
        }
        Ok(out)
    }
}

/// One plume to write, with what is known about it.
#[derive(Debug, Clone, Copy)]
pub struct PlumeFeature<'a> {
    /// Flight line (pass) name.
    pub pass: &'a str,
    /// The plume (outline in pixel coordinates of its pass).
    pub plume: &'a Plume,
    /// Geotransform of its pass.
    pub transform: &'a GeoTransform,
    /// Its source, when located.
    pub source: Option<&'a SourceEstimate>,
    /// Its emission rate, when quantified.
    pub emission: Option<&'a Emission>,
}

/// `v` when finite, else `None` (written as null).
fn finite(v: f64) -> Option<f64> {
    v.is_finite().then_some(v)
}

/// Properties of a `sites.geojson` feature (non-finite numbers are null).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SiteProperties {
    /// `site-<rank>`.
    pub id: String,
    /// Rank, 1 = most significant.
    pub rank: usize,
    /// Emission rate, kg/h.
    pub rate_kg_h: Option<f64>,
    /// Its standard deviation, kg/h.
    pub rate_sd_kg_h: Option<f64>,
    /// Largest enhancement, ppm·m.
    pub max_enhancement_ppm_m: Option<f64>,
    /// Significance of the strongest detection.
    pub significance: Option<f64>,
    /// False-alarm probability.
    pub false_alarm_probability: Option<f64>,
    /// Its false-site figure, q-value and gas probability (finite values only).
    #[serde(flatten)]
    pub figures: SceneFigures,
    /// Detections merged into the site.
    pub n_detections: usize,
    /// Passes that detected it.
    pub n_passes_detected: usize,
    /// Passes that covered it.
    pub n_passes_covering: usize,
    /// Evidence score.
    pub evidence_score: Option<f64>,
    /// Location uncertainty radius, scene CRS units.
    pub location_radius_m: Option<f64>,
    /// x in the scene CRS.
    pub x_scene: f64,
    /// y in the scene CRS.
    pub y_scene: f64,
    /// The plumes of the site.
    pub plumes: Vec<PlumeRef>,
}

/// Properties of a `plumes.geojson` feature (non-finite numbers are null; the source
/// and rate members are absent when unknown).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlumeProperties {
    /// `pass:plume_id`.
    pub id: String,
    /// Flight line.
    pub pass: String,
    /// Plume id within the pass.
    pub plume_id: u32,
    /// Pixels.
    pub n_pixels: usize,
    /// Largest enhancement, ppm·m.
    pub max_enhancement_ppm_m: Option<f64>,
    /// Significance.
    pub significance: Option<f64>,
    /// False-alarm probability.
    pub false_alarm_probability: Option<f64>,
    /// Whether the plume was rejected.
    pub rejected: bool,
    /// The rejection reason in words.
    pub rejection: Option<String>,
    /// The rejection with its numbers.
    pub rejection_detail: Option<plumewatch_core::plume::Rejection>,
    /// Source longitude, degrees.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_lon: Option<f64>,
    /// Source latitude, degrees.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_lat: Option<f64>,
    /// Source location radius, pixels (null when not finite).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_radius_px: Option<Option<f64>>,
    /// Emission rate, kg/h.
    #[serde(flatten)]
    pub emission: Option<EmissionProperties>,
}

/// The emission members of [`PlumeProperties`] (null when not finite).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EmissionProperties {
    /// Emission rate, kg/h.
    pub rate_kg_h: Option<f64>,
    /// Its standard deviation, kg/h.
    pub rate_sd_kg_h: Option<f64>,
    /// Cross-sectional-flux rate, kg/h.
    pub rate_csf_kg_h: Option<f64>,
    /// Integrated mass enhancement, kg.
    pub ime_kg: Option<f64>,
    /// Effective wind speed, m/s.
    pub u_eff_m_s: Option<f64>,
}

/// A GeoJSON feature with string `id`, `geometry` and `properties` (any serde struct
/// that serialises to an object).
fn feature(
    id: String,
    geometry: GeometryValue,
    properties: &impl Serialize,
    context: &Path,
) -> Result<Feature> {
    let properties: JsonObject = match serde_json::to_value(properties) {
        Ok(serde_json::Value::Object(o)) => o,
        Ok(_) => {
            return Err(Error::format(
                context,
                "GeoJSON",
                "properties are not an object",
            ))
        }
        Err(e) => {
            return Err(Error::format(
                context,
                "GeoJSON",
                format!("cannot serialise: {e}"),
            ))
        }
    };
    Ok(Feature {
        bbox: None,
        geometry: Some(Geometry::new(geometry)),
        id: Some(geojson::feature::Id::String(id)),
        properties: Some(properties),
        foreign_members: None,
    })
}

/// The `sites.geojson` FeatureCollection: one Point per site at its location, with
/// [`SiteProperties`].
pub fn sites_feature_collection(
    sites: &[Site],
    to: &ToWgs84,
    context: &Path,
) -> Result<FeatureCollection> {
    let xy: Vec<[f64; 2]> = sites.iter().map(|s| [s.x, s.y]).collect();
    let ll = to.points(&xy, context)?;
    let features = sites
        .iter()
        .zip(ll)
        .map(|(s, p)| {
            let id = format!("site-{}", s.rank);
            let props = SiteProperties {
                id: id.clone(),
                rank: s.rank,
                rate_kg_h: finite(s.rate_kg_h),
                rate_sd_kg_h: finite(s.rate_sd_kg_h),
                max_enhancement_ppm_m: finite(s.max_enhancement_ppm_m),
                significance: finite(s.significance),
                false_alarm_probability: finite(s.false_alarm_probability),
                figures: SceneFigures {
                    false_sites_per_km2: s.figures.false_sites_per_km2.and_then(finite),
                    q_value: s.figures.q_value.and_then(finite),
                    gas_probability: s.figures.gas_probability.and_then(finite),
                },
                n_detections: s.n_detections,
                n_passes_detected: s.n_passes_detected,
                n_passes_covering: s.n_passes_covering,
                evidence_score: finite(s.evidence_score),
                location_radius_m: finite(s.radius),
                x_scene: s.x,
                y_scene: s.y,
                plumes: s.plumes.clone(),
            };
            feature(id, GeometryValue::new_point(p), &props, context)
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(FeatureCollection::new(features))
}

/// The `plumes.geojson` FeatureCollection: one MultiPolygon per plume (one polygon per
/// outline ring, exterior rings counter-clockwise as RFC 7946 asks), with
/// [`PlumeProperties`].
pub fn plumes_feature_collection(
    plumes: &[PlumeFeature<'_>],
    to: &ToWgs84,
    context: &Path,
) -> Result<FeatureCollection> {
    let mut features = Vec::with_capacity(plumes.len());
    for f in plumes {
        let mut polygons = Vec::with_capacity(f.plume.outline.len());
        for ring in &f.plume.outline {
            let xy: Vec<[f64; 2]> = ring
                .iter()
                .map(|p| {
                    let (x, y) = f.transform.pixel_to_map(p[0], p[1]);
                    [x, y]
                })
                .collect();
            let mut ll = to.points(&xy, context)?;
            if ring_signed_area(&ll) < 0.0 {
                ll.reverse();
            }
            polygons.push(vec![ll]);
        }
        let id = format!("{}:{}", f.pass, f.plume.id);
        let source = match f.source {
            Some(s) => {
                let (x, y) = f.transform.pixel_to_map(s.col, s.row);
                let ll = to.points(&[[x, y]], context)?;
                Some((ll[0], finite(s.radius_px)))
            }
            None => None,
        };
        let props = PlumeProperties {
            id: id.clone(),
            pass: f.pass.to_string(),
            plume_id: f.plume.id,
            n_pixels: f.plume.n_pixels,
            max_enhancement_ppm_m: finite(f.plume.max_enhancement_ppm_m),
            significance: finite(f.plume.significance),
            false_alarm_probability: finite(f.plume.false_alarm_probability),
            rejected: f.plume.rejection.is_some(),
            rejection: f.plume.rejection.as_ref().map(|r| r.to_string()),
            rejection_detail: f.plume.rejection.clone(),
            source_lon: source.map(|s| s.0[0]),
            source_lat: source.map(|s| s.0[1]),
            source_radius_px: source.map(|s| s.1),
            emission: f.emission.map(|e| EmissionProperties {
                rate_kg_h: finite(e.rate_kg_h),
                rate_sd_kg_h: finite(e.rate_sd_kg_h),
                rate_csf_kg_h: e.rate_csf_kg_h.and_then(finite),
                ime_kg: finite(e.ime_kg),
                u_eff_m_s: finite(e.u_eff_m_s),
            }),
        };
        features.push(feature(
            id,
            GeometryValue::new_multi_polygon(polygons),
            &props,
            context,
        )?);
    }
    Ok(FeatureCollection::new(features))
}

/// Writes a FeatureCollection as pretty JSON with its members in alphabetical order.
fn write_json(path: &Path, fc: &FeatureCollection) -> Result<()> {
    let text = serde_json::to_value(fc)
        .and_then(|v| serde_json::to_string_pretty(&v))
        .map_err(|e| Error::format(path, "GeoJSON", format!("cannot serialise: {e}")))?;
    atomic::write_bytes(path, text.as_bytes())
}

/// Writes `sites.geojson` (see [`sites_feature_collection`]) atomically; `crs` is the
/// scene CRS definition (WKT, `EPSG:…`).
pub fn write_sites_geojson(path: &Path, sites: &[Site], crs: &str) -> Result<()> {
    let to = ToWgs84::new(crs, path)?;
    write_json(path, &sites_feature_collection(sites, &to, path)?)
}

/// Writes `plumes.geojson` (see [`plumes_feature_collection`]) atomically; `crs` is the
/// scene CRS definition shared by all passes.
pub fn write_plumes_geojson(path: &Path, plumes: &[PlumeFeature<'_>], crs: &str) -> Result<()> {
    let to = ToWgs84::new(crs, path)?;
    write_json(path, &plumes_feature_collection(plumes, &to, path)?)
}
