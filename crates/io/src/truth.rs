//! Source lists: the `sources.json` a user writes for `simulate inject`, and the
//! `truth_sources.json` the simulator writes (and the bundled truth scenes carry).
//!
//! # `sources.json` (input)
//! Either a JSON array of sources or an object with a `"sources"` array. Each source:
//! - position: `"row"` and `"col"` (fractional pixel coordinates: pixel `(i, j)` covers
//!   `[i, i+1) × [j, j+1)`), **or** `"easting"` and `"northing"` (map units of the cube's
//!   georeferencing);
//! - `"rate_kg_h"`: emission rate, kg/h;
//! - `"wind_speed_m_s"`: wind speed, m/s;
//! - `"wind_dir_deg"`: wind direction in the **meteorological convention**, the direction
//!   the wind blows *from*, degrees clockwise from north (270 = from the west: the plume
//!   goes east). `"wind_from_deg"` is accepted as a synonym;
//! - optional `"stability"`: Pasquill class `"A"`–`"F"` (default `"D"`);
//! - optional `"id"`: integer (default: 1-based position in the list).
//!
//! # `truth_sources.json` (output, and the bundled scenes' truth)
//! An object with scene metadata (`lines`, `samples`, `gsd_m`, ...) and a `"sources"`
//! array whose entries carry at least `id`, `row`, `col`, `easting_m`, `northing_m` and
//! `Q_kg_h` (emission rate, kg/h).

use crate::{atomic, Error, Result};
use plumewatch_core::simulate::{MaterialUse, PlumeTruth};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Where a source sits.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SourcePosition {
    /// Fractional pixel coordinates.
    Pixel {
        /// Row (line), pixel `i` covers `[i, i+1)`.
        row: f64,
        /// Column (sample), pixel `j` covers `[j, j+1)`.
        col: f64,
    },
    /// Map coordinates in the cube's georeferencing.
    Map {
        /// Easting (map x), map units (m for UTM).
        easting: f64,
        /// Northing (map y), map units.
        northing: f64,
    },
}

/// One source of a `sources.json`, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceSpec {
    /// Identifier (1-based).
    pub id: u32,
    /// Position.
    pub position: SourcePosition,
    /// Emission rate, kg/h.
    pub rate_kg_h: f64,
    /// Wind speed, m/s.
    pub wind_speed_m_s: f64,
    /// Wind direction the wind blows from, degrees clockwise from north.
    pub wind_from_deg: f64,
    /// Pasquill stability class letter, if given.
    pub stability: Option<String>,
}

/// One entry of a `sources.json` exactly as written (the input contract; see the
/// module docs). Every field is optional here so that a missing one is reported by
/// name with what was expected; [`SourceEntry::validate`] makes a [`SourceSpec`].
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceEntry {
    /// Identifier (default: 1-based position in the list).
    pub id: Option<u32>,
    /// Fractional row.
    pub row: Option<f64>,
    /// Fractional column.
    pub col: Option<f64>,
    /// Easting, map units (`easting_m` accepted).
    #[serde(alias = "easting_m")]
    pub easting: Option<f64>,
    /// Northing, map units (`northing_m` accepted).
    #[serde(alias = "northing_m")]
    pub northing: Option<f64>,
    /// Emission rate, kg/h.
    pub rate_kg_h: Option<f64>,
    /// Wind speed, m/s.
    pub wind_speed_m_s: Option<f64>,
    /// Direction the wind blows from, degrees clockwise from north.
    pub wind_dir_deg: Option<f64>,
    /// Synonym of `wind_dir_deg`.
    pub wind_from_deg: Option<f64>,
    /// Pasquill stability class `"A"`–`"F"`.
    pub stability: Option<String>,
}

/// A `sources.json` with an object at its root.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct SourcesObject {
    sources: Vec<SourceEntry>,
}

impl SourceEntry {
    /// Checks the entry (index `i` in `path`) and makes a [`SourceSpec`].
    pub fn validate(&self, i: usize, path: &Path) -> Result<SourceSpec> {
        let field = |k: &str| format!("sources[{i}].{k}");
        let finite = |k: &str, v: Option<f64>| -> Result<Option<f64>> {
            match v {
                Some(x) if !x.is_finite() => Err(Error::format(
                    path,
                    field(k),
                    format!("{x} is not a finite number"),
                )),
                v => Ok(v),
            }
        };
        let missing = |k: &str, what: &str| {
            Error::format(path, field(k), format!("missing (expected {what})"))
        };
        let position = match (
            finite("row", self.row)?,
            finite("col", self.col)?,
            finite("easting", self.easting)?,
            finite("northing", self.northing)?,
        ) {
            (Some(row), Some(col), _, _) => SourcePosition::Pixel { row, col },
            (_, _, Some(easting), Some(northing)) => SourcePosition::Map { easting, northing },
            _ => return Err(Error::format(
                path,
                format!("sources[{i}]"),
                "has no position (expected \"row\" and \"col\", or \"easting\" and \"northing\")",
            )),
        };
        let rate = finite("rate_kg_h", self.rate_kg_h)?
            .ok_or_else(|| missing("rate_kg_h", "the emission rate in kg/h"))?;
        if rate < 0.0 {
            return Err(Error::format(
                path,
                field("rate_kg_h"),
                format!("{rate} (expected ≥ 0 kg/h)"),
            ));
        }
        let wind = finite("wind_speed_m_s", self.wind_speed_m_s)?
            .ok_or_else(|| missing("wind_speed_m_s", "the wind speed in m/s"))?;
        if !(wind > 0.0 && wind <= 100.0) {
            return Err(Error::format(
                path,
                field("wind_speed_m_s"),
                format!("{wind} (expected a wind speed in (0, 100] m/s)"),
            ));
        }
        let dir = match finite("wind_dir_deg", self.wind_dir_deg)? {
            Some(d) => d,
            None => finite("wind_from_deg", self.wind_from_deg)?.ok_or_else(|| {
                missing(
                    "wind_from_deg",
                    "\"wind_dir_deg\": the direction the wind blows from, degrees clockwise from north",
                )
            })?,
        };
        if !(0.0..=360.0).contains(&dir) {
            let key = if self.wind_dir_deg.is_some() {
                "wind_dir_deg"
            } else {
                "wind_from_deg"
            };
            return Err(Error::format(
                path,
                field(key),
                format!("{dir} (expected 0–360 degrees, the direction the wind blows from)"),
            ));
        }
        Ok(SourceSpec {
            id: self.id.unwrap_or(i as u32 + 1),
            position,
            rate_kg_h: rate,
            wind_speed_m_s: wind,
            wind_from_deg: dir,
            stability: self.stability.clone(),
        })
    }
}

/// Parses JSON `text` as `T`, naming `path` and the field at fault on error
/// (`prefix` is put before the field path, e.g. `sources` for a root array).
pub fn from_json_str<T: DeserializeOwned>(text: &str, path: &Path, prefix: &str) -> Result<T> {
    let de = &mut serde_json::Deserializer::from_str(text);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let at = e.path().to_string();
        let field = match (prefix, at.as_str()) {
            ("", ".") => "JSON".to_string(),
            (p, ".") => p.to_string(),
            (p, a) if a.starts_with('[') => format!("{p}{a}"),
            ("", a) => a.to_string(),
            (p, a) => format!("{p}.{a}"),
        };
        Error::format(path, field, e.into_inner().to_string())
    })
}

/// Reads and parses the JSON file at `path` as `T` (errors name the file and field).
pub fn read_json<T: DeserializeOwned>(path: &Path) -> Result<T> {
    let text = crate::read_small_text(path, "JSON file")?;
    from_json_str(&text, path, "")
}

/// Parses a `sources.json` text (`path` is used in messages only).
pub fn parse_sources(text: &str, path: &Path) -> Result<Vec<SourceSpec>> {
    let list: Vec<SourceEntry> = match text.trim_start().chars().next() {
        Some('[') => from_json_str(text, path, "sources")?,
        Some('{') => from_json_str::<SourcesObject>(text, path, "")?.sources,
        _ => {
            return Err(Error::format(
                path,
                "JSON",
                "expected an array of sources or an object with \"sources\"",
            ))
        }
    };
    if list.is_empty() {
        return Err(Error::format(
            path,
            "sources",
            "is empty (expected at least one source)",
        ));
    }
    list.iter()
        .enumerate()
        .map(|(i, s)| s.validate(i, path))
        .collect()
}

/// Reads a `sources.json`.
pub fn read_sources(path: &Path) -> Result<Vec<SourceSpec>> {
    let text = crate::read_small_text(path, "sources file")?;
    parse_sources(&text, path)
}

/// A true source as `eval` reads it from any `truth_sources.json` (plumewatch's own or
/// the bundled generator's, which carry more fields; those are ignored).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(try_from = "TruthPointFields")]
pub struct TruthPoint {
    /// Identifier.
    pub id: u32,
    /// Fractional row.
    pub row: f64,
    /// Fractional column.
    pub col: f64,
    /// Easting, map units, if known.
    pub easting_m: Option<f64>,
    /// Northing, map units, if known.
    pub northing_m: Option<f64>,
    /// Emission rate, kg/h (`Q_kg_h`, or `rate_kg_h` when that is absent).
    pub rate_kg_h: f64,
    /// Wind speed at the source, m/s, if stated.
    pub wind_speed_m_s: Option<f64>,
    /// Direction the wind blows from at the source, degrees, if stated.
    pub wind_from_deg: Option<f64>,
    /// Mean surface reflectance 2200–2400 nm at the source pixel, if stated (synthetic
    /// scenes).
    pub albedo_at_source: Option<f64>,
}

/// The fields of a truth source as stored.
#[derive(Debug, Deserialize)]
struct TruthPointFields {
    id: u32,
    row: f64,
    col: f64,
    #[serde(default)]
    easting_m: Option<f64>,
    #[serde(default)]
    northing_m: Option<f64>,
    #[serde(rename = "Q_kg_h", default)]
    q_kg_h: Option<f64>,
    #[serde(default)]
    rate_kg_h: Option<f64>,
    #[serde(default)]
    wind_speed_m_s: Option<f64>,
    #[serde(default)]
    wind_from_deg: Option<f64>,
    #[serde(default)]
    albedo_2200_2400_at_source: Option<f64>,
}

impl TryFrom<TruthPointFields> for TruthPoint {
    type Error = String;
    fn try_from(f: TruthPointFields) -> std::result::Result<Self, String> {
        let rate = f
            .q_kg_h
            .or(f.rate_kg_h)
            .ok_or("missing field `Q_kg_h` (expected the emission rate in kg/h)")?;
        Ok(Self {
            id: f.id,
            row: f.row,
            col: f.col,
            easting_m: f.easting_m,
            northing_m: f.northing_m,
            rate_kg_h: rate,
            wind_speed_m_s: f.wind_speed_m_s,
            wind_from_deg: f.wind_from_deg,
            albedo_at_source: f.albedo_2200_2400_at_source,
        })
    }
}

/// The truth of a scene as `eval` reads it: its size and sources (other fields of the
/// file are ignored).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct TruthScene {
    /// Lines, if the file states them.
    #[serde(default)]
    pub lines: Option<usize>,
    /// Samples, if the file states them.
    #[serde(default)]
    pub samples: Option<usize>,
    /// Ground sample distance, m, if stated.
    #[serde(default)]
    pub gsd_m: Option<f64>,
    /// Sources.
    pub sources: Vec<TruthPoint>,
}

impl TruthScene {
    /// The scene-mean wind (the vector mean of the sources' winds) as (speed m/s,
    /// direction it blows from in degrees): the one wind an analyst would give a scan.
    /// `None` when no source states its wind.
    pub fn mean_wind(&self) -> Option<(f64, f64)> {
        let winds: Vec<(f64, f64)> = self
            .sources
            .iter()
            .filter_map(|s| Some((s.wind_speed_m_s?, s.wind_from_deg?)))
            .collect();
        if winds.is_empty() {
            return None;
        }
        let n = winds.len() as f64;
        // Components of the direction the wind blows FROM (east, north).
        let (e, nn) = winds.iter().fold((0.0, 0.0), |(e, nn), (u, d)| {
            let r = d.to_radians();
            (e + u * r.sin() / n, nn + u * r.cos() / n)
        });
        let from = e.atan2(nn).to_degrees().rem_euclid(360.0);
        Some((e.hypot(nn), from))
    }
}

/// Reads a `truth_sources.json` (the simulator's or the bundled scenes').
pub fn read_truth(path: &Path) -> Result<TruthScene> {
    read_json(path)
}

/// One source of the `truth_sources.json` that `plumewatch simulate` writes (fields in
/// alphabetical order, as they appear in the file).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TruthSourceRecord {
    /// Emission rate, kg/h (the key eval reads).
    #[serde(rename = "Q_kg_h")]
    pub q_kg_h: f64,
    /// Mean surface reflectance 2200–2400 nm at the source pixel (synthetic scenes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub albedo_2200_2400_at_source: Option<f32>,
    /// Briggs rural dispersion coefficient of the stability class.
    pub briggs_k: f64,
    /// Fractional column.
    pub col: f64,
    /// Easting of the source, map units (null without georeferencing).
    pub easting_m: Option<f64>,
    /// Ground sample distance, m.
    pub gsd_m: f64,
    /// Identifier.
    pub id: u32,
    /// Mass of this plume inside the scene, kg.
    pub mass_in_scene_kg: f64,
    /// Largest enhancement of this plume, ppm·m.
    pub max_enhancement_ppm_m: f64,
    /// Northing of the source, map units (null without georeferencing).
    pub northing_m: Option<f64>,
    /// Column of the source pixel.
    pub pixel_col: i64,
    /// Row of the source pixel.
    pub pixel_row: i64,
    /// The rendered plume's own record.
    pub plume: PlumeTruth,
    /// Emission rate, kg/h (same as `Q_kg_h`).
    pub rate_kg_h: f64,
    /// Time the gas spends inside the scene, s.
    pub residence_time_in_scene_s: f64,
    /// Fractional row.
    pub row: f64,
    /// Pasquill stability class letter.
    pub stability: &'static str,
    /// Direction the wind blows from, degrees clockwise from north, in [0, 360).
    pub wind_from_deg: f64,
    /// Wind speed, m/s.
    pub wind_speed_m_s: f64,
    /// Direction the wind blows to, degrees clockwise from north.
    pub wind_to_deg: f64,
    /// Eastward wind component, m/s.
    pub wind_u_m_s: f64,
    /// Northward wind component, m/s.
    pub wind_v_m_s: f64,
}

/// The simulation physics recorded with every truth file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PhysicsRecord {
    /// Initial puff width, m.
    pub initial_sigma_m: f64,
    /// Enhancement at or above which a pixel is in the truth mask, ppm·m.
    pub mask_threshold_ppm_m: f32,
    /// Standard deviation of the wind-direction meander, degrees.
    pub meander_sigma_deg: f64,
    /// Correlation time of the meander, s.
    pub meander_tau_s: f64,
    /// The plume model in words.
    pub plume_model: &'static str,
    /// How ppm·m converts to mass.
    pub ppm_m_conversion: &'static str,
    /// kg/m² of gas per ppm·m.
    pub ppm_m_to_kg_m2: f64,
    /// The radiance model in words.
    pub radiance_model: &'static str,
    /// The wind direction convention.
    pub wind_convention: &'static str,
}

/// `truth_sources.json` of `plumewatch simulate inject`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InjectTruth {
    /// Bands of the cube.
    pub bands: usize,
    /// Gas injected.
    pub gas: String,
    /// Program and version.
    pub generator: String,
    /// Geotransform of the cube, if georeferenced.
    pub geo_transform: Option<[f64; 6]>,
    /// Ground sample distance, m.
    pub gsd_m: f64,
    /// The cube injected into.
    pub input_cube: String,
    /// Lines.
    pub lines: usize,
    /// Simulation physics.
    pub physics: PhysicsRecord,
    /// Samples.
    pub samples: usize,
    /// Largest enhancement in the scene, ppm·m.
    pub scene_max_enhancement_ppm_m: f32,
    /// Pixels in the truth mask.
    pub scene_plume_pixels: usize,
    /// Seed of the wind meander.
    pub seed: u64,
    /// The sources.
    pub sources: Vec<TruthSourceRecord>,
    /// Always true: the plumes are synthetic, the cube is not.
    pub synthetic_plumes: bool,
}

/// Location of a synthetic scene.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SceneGeoRecord {
    /// CRS in words.
    pub crs: &'static str,
    /// Image axes in words.
    pub image_axes: &'static str,
    /// Pixel-centre formula.
    pub pixel_center: String,
    /// Easting of the upper-left corner, m.
    pub ul_corner_easting_m: f64,
    /// Northing of the upper-left corner, m.
    pub ul_corner_northing_m: f64,
}

/// Instrument effects of a synthetic scene.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InstrumentRecord {
    /// Standard deviation of the per-column gain, per cent.
    pub column_gain_percent_std: f64,
}

/// How a synthetic scene written as a georeferenced mosaic (`simulate scene --mosaic`)
/// differs from a raw pushbroom line: where its nodata collar is.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MosaicRecord {
    /// The radiance file (a GeoTIFF).
    pub radiance_file: &'static str,
    /// The nodata value every band holds in the collar.
    pub nodata: f64,
    /// The collar raster: 1 where a pixel is collar (no data), 0 inside the footprint.
    pub collar_file: &'static str,
    /// Pixels in the collar.
    pub collar_pixels: usize,
    /// Share of the raster inside the footprint (not collar).
    pub valid_fraction: f64,
    /// The footprint in words.
    pub footprint: &'static str,
    /// Flight heading relative to the grid's columns, degrees.
    pub heading_deg: f64,
    /// Footprint corners (row, col), pixels (pixel `(r, c)` spans `[r, r+1) × [c, c+1)`).
    pub footprint_corners_px: Vec<[f64; 2]>,
    /// Footprint corners (easting, northing), m.
    pub footprint_corners_map: Vec<[f64; 2]>,
    /// Least distance of a source from the collar, pixels.
    pub source_margin_px: f64,
}

/// Surfaces of a synthetic scene.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SurfacesRecord {
    /// Man-made clutter: `full` (buildings, shadows, car parks, sheeting, stains, ponds,
    /// dark or bright pads) or `light` (a few roads and objects).
    pub clutter: &'static str,
    /// Library materials used.
    pub materials: Vec<MaterialUse>,
}

/// `truth_sources.json` of `plumewatch simulate scene`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SceneTruth {
    /// Bands simulated.
    pub bands: usize,
    /// Program and version.
    pub generator: String,
    /// Location.
    pub geo: SceneGeoRecord,
    /// Ground sample distance, m.
    pub gsd_m: f64,
    /// Instrument effects.
    pub instrument: InstrumentRecord,
    /// Lines.
    pub lines: usize,
    /// The mosaic's collar, for a scene written as a georeferenced mosaic (absent for a
    /// raw pushbroom line).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mosaic: Option<MosaicRecord>,
    /// Noise model used.
    pub noise_model: String,
    /// Simulation physics.
    pub physics: PhysicsRecord,
    /// Whether plumes were rendered.
    pub plumes_enabled: bool,
    /// Samples.
    pub samples: usize,
    /// Largest enhancement in the scene, ppm·m.
    pub scene_max_enhancement_ppm_m: f32,
    /// The scene model in words.
    pub scene_model: &'static str,
    /// Pixels in the truth mask.
    pub scene_plume_pixels: usize,
    /// Seed.
    pub seed: u64,
    /// Sensor name or file.
    pub sensor: String,
    /// The sources.
    pub sources: Vec<TruthSourceRecord>,
    /// Surfaces.
    pub surfaces: SurfacesRecord,
    /// Always true: the whole scene is synthetic.
    pub synthetic: bool,
    /// First and last band centre, nm.
    pub wavelength_range_nm: [f64; 2],
}

/// Writes any serialisable record as pretty JSON, atomically, with the members of every
/// object in alphabetical order (so files are stable whatever the field order of the
/// types, nested ones included).
pub fn write_json(path: &Path, value: &impl Serialize) -> Result<()> {
    let text = serde_json::to_value(value)
        .and_then(|v| serde_json::to_string_pretty(&v))
        .map_err(|e| Error::format(path, "JSON", format!("cannot serialise: {e}")))?;
    atomic::write_bytes(path, text.as_bytes())
}

/// A detected site read from a `sites.geojson`.
#[derive(Debug, Clone, PartialEq)]
pub struct SiteRecord {
    /// x in the scene CRS (easting), from the `x_scene` property.
    pub x: f64,
    /// y in the scene CRS (northing), from the `y_scene` property.
    pub y: f64,
    /// Estimated emission rate, kg/h (`rate_kg_h`), when quantified.
    pub rate_kg_h: Option<f64>,
    /// Standard deviation of the rate, kg/h (`rate_sd_kg_h`), when quantified.
    pub rate_sd_kg_h: Option<f64>,
    /// The site's significance (`significance`, normalised score of its strongest
    /// plume), when the file has it.
    pub significance: Option<f64>,
}

/// The part of a `sites.geojson` that `eval` reads (other members are ignored).
#[derive(Debug, Deserialize)]
struct SitesCollection {
    features: Vec<SiteFeature>,
}

#[derive(Debug, Deserialize)]
struct SiteFeature {
    properties: SiteProperties,
}

#[derive(Debug, Deserialize)]
struct SiteProperties {
    x_scene: Option<f64>,
    y_scene: Option<f64>,
    #[serde(default)]
    rate_kg_h: Option<f64>,
    #[serde(default)]
    rate_sd_kg_h: Option<f64>,
    #[serde(default)]
    significance: Option<f64>,
}

/// Reads the sites of a `sites.geojson` FeatureCollection written by `plumewatch scan`:
/// each feature's `x_scene`/`y_scene` (scene CRS) and `rate_kg_h` properties.
pub fn read_sites(path: &Path) -> Result<Vec<SiteRecord>> {
    let text = crate::read_small_text(path, "sites file")?;
    parse_sites(&text, path)
}

/// Parses the text of a `sites.geojson` (see [`read_sites`]; `path` names it in messages).
pub fn parse_sites(text: &str, path: &Path) -> Result<Vec<SiteRecord>> {
    let fc: SitesCollection = from_json_str(text, path, "")?;
    fc.features
        .into_iter()
        .enumerate()
        .map(|(i, f)| {
            let p = f.properties;
            match (p.x_scene, p.y_scene) {
                (Some(x), Some(y)) if x.is_finite() && y.is_finite() => Ok(SiteRecord {
                    x,
                    y,
                    rate_kg_h: p.rate_kg_h.filter(|v| v.is_finite()),
                    rate_sd_kg_h: p.rate_sd_kg_h.filter(|v| v.is_finite()),
                    significance: p.significance.filter(|v| v.is_finite()),
                }),
                _ => Err(Error::format(
                    path,
                    format!("features[{i}].properties.x_scene"),
                    "missing (expected the site's x_scene and y_scene in the scene CRS)",
                )),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_pixel_and_map_sources_and_names_bad_fields() {
        let p = Path::new("sources.json");
        let s = parse_sources(
            r#"{"sources": [
                {"row": 10.5, "col": 20.25, "rate_kg_h": 100, "wind_speed_m_s": 3, "wind_dir_deg": 270},
                {"easting": 500100, "northing": 4000200, "rate_kg_h": 5, "wind_speed_m_s": 2,
                 "wind_from_deg": 90, "stability": "B", "id": 7}
            ]}"#,
            p,
        )
        .unwrap();
        assert_eq!(
            s[0].position,
            SourcePosition::Pixel {
                row: 10.5,
                col: 20.25
            }
        );
        assert_eq!(s[0].id, 1);
        assert_eq!(s[1].id, 7);
        assert_eq!(s[1].stability.as_deref(), Some("B"));
        let e = parse_sources(
            r#"[{"row": 1, "col": 2, "rate_kg_h": 1, "wind_speed_m_s": 3}]"#,
            p,
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("sources[0].wind_from_deg") && e.contains("sources.json"),
            "{e}"
        );
        let e = parse_sources(
            r#"[{"row": 1, "col": 2, "rate_kg_h": 1, "wind_speed_m_s": 3, "wind_dir_deg": 9, "colour": 1}]"#,
            p,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("sources[0]") && e.contains("colour"), "{e}");
        let e = parse_sources(r#"{"sources": [{"row": "x"}]}"#, p)
            .unwrap_err()
            .to_string();
        assert!(e.contains("sources[0].row"), "{e}");
        let e = parse_sources(r#"[{"row": 1, "rate_kg_h": 1}]"#, p)
            .unwrap_err()
            .to_string();
        assert!(e.contains("no position"), "{e}");
    }

    #[test]
    fn reads_bundled_truth() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../data/scenes/emit_small/truth_sources.json");
        let t = read_truth(&path).unwrap();
        assert_eq!(t.sources.len(), 4);
        assert_eq!(t.lines, Some(256));
        assert_eq!(t.gsd_m, Some(60.0));
        assert!((t.sources[0].rate_kg_h - 3070.827).abs() < 1e-6);
    }
}
