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
use serde_json::Value;
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

/// One source of a `sources.json`.
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

fn number(v: &Value, key: &str, path: &Path, idx: usize) -> Result<Option<f64>> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(x) => x
            .as_f64()
            .filter(|f| f.is_finite())
            .map(Some)
            .ok_or_else(|| {
                Error::format(
                    path,
                    format!("sources[{idx}].{key}"),
                    format!("{x} is not a finite number"),
                )
            }),
    }
}

fn required(v: &Value, key: &str, path: &Path, idx: usize, what: &str) -> Result<f64> {
    number(v, key, path, idx)?.ok_or_else(|| {
        Error::format(
            path,
            format!("sources[{idx}].{key}"),
            format!("missing (expected {what})"),
        )
    })
}

/// Parses a `sources.json` text (`path` is used in messages only).
pub fn parse_sources(text: &str, path: &Path) -> Result<Vec<SourceSpec>> {
    let root: Value = serde_json::from_str(text)
        .map_err(|e| Error::format(path, "JSON", format!("{e} (expected a sources list)")))?;
    let list = match &root {
        Value::Array(a) => a,
        Value::Object(o) => o.get("sources").and_then(Value::as_array).ok_or_else(|| {
            Error::format(path, "sources", "missing (expected an array of sources)")
        })?,
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
        .map(|(i, s)| {
            if !s.is_object() {
                return Err(Error::format(path, format!("sources[{i}]"), "is not an object"));
            }
            let position = match (
                number(s, "row", path, i)?,
                number(s, "col", path, i)?,
                number(s, "easting", path, i)?.or(number(s, "easting_m", path, i)?),
                number(s, "northing", path, i)?.or(number(s, "northing_m", path, i)?),
            ) {
                (Some(row), Some(col), _, _) => SourcePosition::Pixel { row, col },
                (_, _, Some(easting), Some(northing)) => SourcePosition::Map { easting, northing },
                _ => {
                    return Err(Error::format(
                        path,
                        format!("sources[{i}]"),
                        "has no position (expected \"row\" and \"col\", or \"easting\" and \"northing\")",
                    ))
                }
            };
            let rate = required(s, "rate_kg_h", path, i, "the emission rate in kg/h")?;
            if rate < 0.0 {
                return Err(Error::format(
                    path,
                    format!("sources[{i}].rate_kg_h"),
                    format!("{rate} (expected ≥ 0 kg/h)"),
                ));
            }
            let wind = required(s, "wind_speed_m_s", path, i, "the wind speed in m/s")?;
            if wind <= 0.0 {
                return Err(Error::format(
                    path,
                    format!("sources[{i}].wind_speed_m_s"),
                    format!("{wind} (expected > 0 m/s)"),
                ));
            }
            let dir = match number(s, "wind_dir_deg", path, i)? {
                Some(d) => d,
                None => required(
                    s,
                    "wind_from_deg",
                    path,
                    i,
                    "\"wind_dir_deg\": the direction the wind blows from, degrees clockwise from north",
                )?,
            };
            let stability = match s.get("stability") {
                None | Some(Value::Null) => None,
                Some(Value::String(st)) => Some(st.clone()),
                Some(x) => {
                    return Err(Error::format(
                        path,
                        format!("sources[{i}].stability"),
                        format!("{x} (expected a Pasquill class \"A\" to \"F\")"),
                    ))
                }
            };
            let id = match s.get("id").and_then(Value::as_u64) {
                Some(id) => u32::try_from(id).unwrap_or(u32::MAX),
                None => i as u32 + 1,
            };
            Ok(SourceSpec {
                id,
                position,
                rate_kg_h: rate,
                wind_speed_m_s: wind,
                wind_from_deg: dir,
                stability,
            })
        })
        .collect()
}

/// Reads a `sources.json`.
pub fn read_sources(path: &Path) -> Result<Vec<SourceSpec>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, "cannot read", e))?;
    parse_sources(&text, path)
}

/// A true source as `eval` needs it.
#[derive(Debug, Clone, PartialEq)]
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
    /// Emission rate, kg/h.
    pub rate_kg_h: f64,
}

/// The truth of a scene: its size and sources.
#[derive(Debug, Clone, PartialEq)]
pub struct TruthScene {
    /// Lines, if the file states them.
    pub lines: Option<usize>,
    /// Samples, if the file states them.
    pub samples: Option<usize>,
    /// Ground sample distance, m, if stated.
    pub gsd_m: Option<f64>,
    /// Sources.
    pub sources: Vec<TruthPoint>,
}

/// Reads a `truth_sources.json` (the simulator's or the bundled scenes').
pub fn read_truth(path: &Path) -> Result<TruthScene> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, "cannot read", e))?;
    let root: Value = serde_json::from_str(&text).map_err(|e| {
        Error::format(
            path,
            "JSON",
            format!("{e} (expected a truth_sources object)"),
        )
    })?;
    let list = root
        .get("sources")
        .and_then(Value::as_array)
        .ok_or_else(|| Error::format(path, "sources", "missing (expected an array)"))?;
    let sources = list
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let rate = match number(s, "Q_kg_h", path, i)? {
                Some(q) => q,
                None => required(s, "rate_kg_h", path, i, "\"Q_kg_h\" in kg/h")?,
            };
            Ok(TruthPoint {
                id: s
                    .get("id")
                    .and_then(Value::as_u64)
                    .map_or(i as u32 + 1, |v| v as u32),
                row: required(s, "row", path, i, "the fractional row")?,
                col: required(s, "col", path, i, "the fractional column")?,
                easting_m: number(s, "easting_m", path, i)?,
                northing_m: number(s, "northing_m", path, i)?,
                rate_kg_h: rate,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(TruthScene {
        lines: root
            .get("lines")
            .and_then(Value::as_u64)
            .map(|v| v as usize),
        samples: root
            .get("samples")
            .and_then(Value::as_u64)
            .map(|v| v as usize),
        gsd_m: root.get("gsd_m").and_then(Value::as_f64),
        sources,
    })
}

/// Writes any serialisable truth record as pretty JSON, atomically.
pub fn write_json(path: &Path, value: &impl serde::Serialize) -> Result<()> {
    let text = serde_json::to_string_pretty(value)
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
}

/// Reads the sites of a `sites.geojson` FeatureCollection written by `plumewatch scan`:
/// each feature's `x_scene`/`y_scene` (scene CRS) and `rate_kg_h` properties.
pub fn read_sites(path: &Path) -> Result<Vec<SiteRecord>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, "cannot read", e))?;
    let root: Value = serde_json::from_str(&text).map_err(|e| {
        Error::format(
            path,
            "JSON",
            format!("{e} (expected a GeoJSON FeatureCollection)"),
        )
    })?;
    let features = root
        .get("features")
        .and_then(Value::as_array)
        .ok_or_else(|| Error::format(path, "features", "missing (expected a FeatureCollection)"))?;
    features
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let props = f.get("properties").cloned().unwrap_or(Value::Null);
            let get = |k: &str| {
                props
                    .get(k)
                    .and_then(Value::as_f64)
                    .filter(|v| v.is_finite())
            };
            let (x, y) = match (get("x_scene"), get("y_scene")) {
                (Some(x), Some(y)) => (x, y),
                _ => {
                    return Err(Error::format(
                        path,
                        format!("features[{i}].properties.x_scene"),
                        "missing (expected the site's x_scene and y_scene in the scene CRS)",
                    ))
                }
            };
            Ok(SiteRecord {
                x,
                y,
                rate_kg_h: get("rate_kg_h"),
            })
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
