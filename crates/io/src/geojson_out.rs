//! `sites.geojson` (points) and `plumes.geojson` (polygons) in WGS84 (RFC 7946),
//! reprojected from the scene CRS through GDAL's OSR with traditional GIS axis order
//! (longitude, latitude).
//!
//! The features are built with `serde_json` (RFC 7946 is a small format); the tests
//! read them back through GDAL's GeoJSON driver.

use crate::atomic;
use crate::{Error, Result};
use gdal::spatial_ref::{AxisMappingStrategy, CoordTransform, SpatialRef};
use plumewatch_core::geo::GeoTransform;
use plumewatch_core::locate::SourceEstimate;
use plumewatch_core::plume::{ring_signed_area, Plume};
use plumewatch_core::quantify::Emission;
use plumewatch_core::sites::Site;
use serde_json::{json, Map, Value};
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

fn finite_or_null(v: f64) -> Value {
    if v.is_finite() {
        json!(v)
    } else {
        Value::Null
    }
}

/// The `sites.geojson` FeatureCollection: one Point per site at its location, with
/// properties `id`, `rank`, `rate_kg_h`, `rate_sd_kg_h` (kg/h), `max_enhancement_ppm_m`,
/// `significance`, `false_alarm_probability`, `n_detections`, `n_passes_detected`,
/// `n_passes_covering`, `evidence_score`, `location_radius_m` (scene CRS units),
/// `x_scene`, `y_scene` (scene CRS) and `plumes` (`[{pass, plume_id}]`).
pub fn sites_feature_collection(sites: &[Site], to: &ToWgs84, context: &Path) -> Result<Value> {
    let xy: Vec<[f64; 2]> = sites.iter().map(|s| [s.x, s.y]).collect();
    let ll = to.points(&xy, context)?;
    let features: Vec<Value> = sites
        .iter()
        .zip(ll)
        .map(|(s, p)| {
            let plumes: Vec<Value> = s
                .plumes
                .iter()
                .map(|r| json!({"pass": r.pass, "plume_id": r.plume_id}))
                .collect();
            json!({
                "type": "Feature",
                "id": format!("site-{}", s.rank),
                "geometry": {"type": "Point", "coordinates": [p[0], p[1]]},
                "properties": {
                    "id": format!("site-{}", s.rank),
                    "rank": s.rank,
                    "rate_kg_h": finite_or_null(s.rate_kg_h),
                    "rate_sd_kg_h": finite_or_null(s.rate_sd_kg_h),
                    "max_enhancement_ppm_m": finite_or_null(s.max_enhancement_ppm_m),
                    "significance": finite_or_null(s.significance),
                    "false_alarm_probability": finite_or_null(s.false_alarm_probability),
                    "n_detections": s.n_detections,
                    "n_passes_detected": s.n_passes_detected,
                    "n_passes_covering": s.n_passes_covering,
                    "evidence_score": finite_or_null(s.evidence_score),
                    "location_radius_m": finite_or_null(s.radius),
                    "x_scene": s.x,
                    "y_scene": s.y,
                    "plumes": plumes,
                }
            })
        })
        .collect();
    Ok(json!({"type": "FeatureCollection", "features": features}))
}

/// The `plumes.geojson` FeatureCollection: one MultiPolygon per plume (one polygon per
/// outline ring, exterior rings counter-clockwise as RFC 7946 asks), with properties
/// `id` (`pass:plume_id`), `pass`, `plume_id`, `n_pixels`, `max_enhancement_ppm_m`,
/// `significance`, `false_alarm_probability`, `rejected`, `rejection` (the reason in
/// words, or null), `rejection_detail`, and when known `source_lon`, `source_lat`,
/// `source_radius_px`, `rate_kg_h`, `rate_sd_kg_h`, `rate_csf_kg_h`, `ime_kg`,
/// `u_eff_m_s`.
pub fn plumes_feature_collection(
    plumes: &[PlumeFeature<'_>],
    to: &ToWgs84,
    context: &Path,
) -> Result<Value> {
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
            polygons.push(json!([ll]));
        }
        let id = format!("{}:{}", f.pass, f.plume.id);
        let mut props = Map::new();
        props.insert("id".into(), json!(id));
        props.insert("pass".into(), json!(f.pass));
        props.insert("plume_id".into(), json!(f.plume.id));
        props.insert("n_pixels".into(), json!(f.plume.n_pixels));
        props.insert(
            "max_enhancement_ppm_m".into(),
            finite_or_null(f.plume.max_enhancement_ppm_m),
        );
        props.insert("significance".into(), finite_or_null(f.plume.significance));
        props.insert(
            "false_alarm_probability".into(),
            finite_or_null(f.plume.false_alarm_probability),
        );
        props.insert("rejected".into(), json!(f.plume.rejection.is_some()));
        props.insert(
            "rejection".into(),
            f.plume
                .rejection
                .as_ref()
                .map_or(Value::Null, |r| json!(r.to_string())),
        );
        props.insert(
            "rejection_detail".into(),
            serde_json::to_value(&f.plume.rejection).unwrap_or(Value::Null),
        );
        if let Some(s) = f.source {
            let (x, y) = f.transform.pixel_to_map(s.col, s.row);
            let ll = to.points(&[[x, y]], context)?;
            props.insert("source_lon".into(), json!(ll[0][0]));
            props.insert("source_lat".into(), json!(ll[0][1]));
            props.insert("source_radius_px".into(), finite_or_null(s.radius_px));
        }
        if let Some(e) = f.emission {
            props.insert("rate_kg_h".into(), finite_or_null(e.rate_kg_h));
            props.insert("rate_sd_kg_h".into(), finite_or_null(e.rate_sd_kg_h));
            props.insert(
                "rate_csf_kg_h".into(),
                e.rate_csf_kg_h.map_or(Value::Null, finite_or_null),
            );
            props.insert("ime_kg".into(), finite_or_null(e.ime_kg));
            props.insert("u_eff_m_s".into(), finite_or_null(e.u_eff_m_s));
        }
        features.push(json!({
            "type": "Feature",
            "id": id,
            "geometry": {"type": "MultiPolygon", "coordinates": polygons},
            "properties": Value::Object(props),
        }));
    }
    Ok(json!({"type": "FeatureCollection", "features": features}))
}

fn write_json(path: &Path, value: &Value) -> Result<()> {
    let text = serde_json::to_string_pretty(value)
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
