//! Imports a `plumewatch scan` output folder (`sites.geojson`, `plumes.geojson`,
//! `evidence/S<rank>.png`, `<line>_enhancement.tif`, `<line>_albedo.tif`, `scan.json`)
//! into the database in one transaction: either the whole scan is there afterwards, or
//! none of it. The same output set ingested again into the same campaign (recognised by
//! the SHA-256 of the files read) stores nothing and names the scan that holds it.

use crate::db::Db;
use crate::error::{Error, Result};
use crate::tiles::LonLatGrid;
use serde::Deserialize;
use serde_json::{Map, Value};
use sqlx::Row;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// A GeoJSON FeatureCollection as `scan` writes it.
#[derive(Debug, Deserialize)]
pub struct FeatureCollection {
    /// The features.
    pub features: Vec<Feature>,
}

/// A GeoJSON feature: geometry as given, properties as a JSON object.
#[derive(Debug, Deserialize)]
pub struct Feature {
    /// The geometry (Point for sites, MultiPolygon for plumes).
    pub geometry: Value,
    /// The properties.
    #[serde(default)]
    pub properties: Map<String, Value>,
}

/// One site read from `sites.geojson`, with its evidence PNG.
#[derive(Debug)]
pub struct SiteIn {
    /// `site-<rank>` as written by `scan`.
    pub key: String,
    /// Rank (1 = strongest evidence).
    pub rank: i64,
    /// Longitude, degrees east (WGS84).
    pub lon: f64,
    /// Latitude, degrees north (WGS84).
    pub lat: f64,
    /// Emission rate estimate, kg/h.
    pub rate_kg_h: Option<f64>,
    /// Its standard deviation, kg/h.
    pub rate_sd_kg_h: Option<f64>,
    /// Every property, as written.
    pub properties: Map<String, Value>,
    /// The evidence PNG, when the folder has one.
    pub evidence: Option<Vec<u8>>,
}

/// Everything read from a scan folder, before any database work.
#[derive(Debug)]
pub struct ScanFolder {
    /// The folder.
    pub dir: PathBuf,
    /// The scan's name (the folder name).
    pub name: String,
    /// `scan.json` as written (or `{}` when the folder has none).
    pub record: Value,
    /// Sites, in file order.
    pub sites: Vec<SiteIn>,
    /// Plumes: (pass, plume id, geometry, properties).
    pub plumes: Vec<(String, i64, Value, Map<String, Value>)>,
    /// Each flight line's enhancement resampled to a lon/lat grid.
    pub lines: Vec<FlightLineIn>,
    /// SHA-256 (hex) of the files read, each framed by its name and length.
    pub content_hash: String,
}

/// One flight line's rasters on their lon/lat grid.
#[derive(Debug)]
pub struct FlightLineIn {
    /// The line's name (the raster file names' prefix).
    pub name: String,
    /// Enhancement, ppm·m.
    pub enhancement: LonLatGrid,
    /// The albedo factor on the same grid, when the folder has `<line>_albedo.tif`
    /// (scans from before it was written have none).
    pub quicklook: Option<LonLatGrid>,
}

/// Accumulates the content hash of an output set.
struct Hasher(sha2::Sha256);

impl Hasher {
    fn add(&mut self, name: &str, bytes: &[u8]) {
        use sha2::Digest;
        self.0.update((name.len() as u64).to_le_bytes());
        self.0.update(name.as_bytes());
        self.0.update((bytes.len() as u64).to_le_bytes());
        self.0.update(bytes);
    }

    fn add_file(&mut self, dir: &Path, path: &Path) -> Result<()> {
        if !std::fs::metadata(path).is_ok_and(|m| m.is_file()) {
            return Err(Error::Input(format!(
                "{}: not a regular file (expected a raster `scan` writes)",
                path.display()
            )));
        }
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        let name = path.strip_prefix(dir).unwrap_or(path).to_string_lossy();
        self.add(&name, &bytes);
        Ok(())
    }
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path, hash: &mut Hasher) -> Result<T> {
    if !std::fs::metadata(path).is_ok_and(|m| m.is_file()) {
        return Err(Error::Input(format!(
            "{}: not a regular file (expected the JSON `scan` writes)",
            path.display()
        )));
    }
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    hash.add(
        &path.file_name().unwrap_or_default().to_string_lossy(),
        text.as_bytes(),
    );
    serde_json::from_str(&text).map_err(|e| {
        Error::Input(format!(
            "{}: not the GeoJSON/JSON `scan` writes: {e}",
            path.display()
        ))
    })
}

fn number(props: &Map<String, Value>, key: &str) -> Option<f64> {
    props
        .get(key)
        .and_then(Value::as_f64)
        .filter(|v| v.is_finite())
}

/// Refuses a folder that is not a complete scan output set: `scan.json` (which `scan`
/// writes last) must be there as a regular file, and every flight line it records must
/// have its enhancement raster.
fn check_complete(dir: &Path) -> Result<()> {
    let record_path = dir.join("scan.json");
    match std::fs::metadata(&record_path) {
        Ok(m) if m.is_file() => {}
        Ok(_) => {
            return Err(Error::Input(format!(
                "{}: not a regular file (a folder, FIFO or device); expected the scan.json `plumewatch scan -o DIR` writes",
                record_path.display()
            )))
        }
        Err(_) => {
            return Err(Error::Input(format!(
                "{}: scan.json missing: expected a complete output folder of `plumewatch scan -o DIR` (scan.json is written last)",
                dir.display()
            )))
        }
    }
    let text = std::fs::read_to_string(&record_path).map_err(|e| Error::io(&record_path, e))?;
    let record: Value = serde_json::from_str(&text).map_err(|e| {
        Error::Input(format!(
            "{}: not the JSON `scan` writes: {e}",
            record_path.display()
        ))
    })?;
    let passes = record.get("passes").and_then(Value::as_array);
    for (i, pass) in passes.into_iter().flatten().enumerate() {
        let name = pass.get("name").and_then(Value::as_str).ok_or_else(|| {
            Error::Input(format!(
                "{}: passes[{i}].name: missing (expected the flight line's name)",
                record_path.display()
            ))
        })?;
        let raster = dir.join(format!("{name}_enhancement.tif"));
        if !std::fs::metadata(&raster).is_ok_and(|m| m.is_file()) {
            return Err(Error::Input(format!(
                "{}: passes[{i}] ({name}): {} missing (expected the complete output set)",
                record_path.display(),
                raster.display()
            )));
        }
    }
    Ok(())
}

/// Reads and checks a scan output folder (no database access; blocking I/O).
pub fn read_scan_folder(dir: &Path) -> Result<ScanFolder> {
    check_complete(dir)?;
    let sites_path = dir.join("sites.geojson");
    if !sites_path.is_file() {
        return Err(Error::Input(format!(
            "{}: no sites.geojson: expected the output folder of `plumewatch scan -o DIR` \
             (a georeferenced scan)",
            dir.display()
        )));
    }
    let mut hash = Hasher(sha2::Sha256::default());
    let sites_fc: FeatureCollection = read_json(&sites_path, &mut hash)?;
    let mut sites = Vec::with_capacity(sites_fc.features.len());
    for (i, f) in sites_fc.features.into_iter().enumerate() {
        let bad =
            |what: &str| Error::Input(format!("{}: feature {i}: {what}", sites_path.display()));
        let coords = f
            .geometry
            .get("coordinates")
            .and_then(Value::as_array)
            .ok_or_else(|| bad("no Point coordinates"))?;
        let (lon, lat) = match coords.as_slice() {
            [lon, lat, ..] => (
                lon.as_f64()
                    .ok_or_else(|| bad("longitude is not a number"))?,
                lat.as_f64()
                    .ok_or_else(|| bad("latitude is not a number"))?,
            ),
            _ => return Err(bad("Point needs [lon, lat]")),
        };
        if !(lon.abs() <= 180.0 && lat.abs() <= 90.0) {
            return Err(bad("coordinates outside [-180, 180] x [-90, 90]"));
        }
        let rank = f
            .properties
            .get("rank")
            .and_then(Value::as_i64)
            .ok_or_else(|| bad("no integer `rank`"))?;
        let key = f
            .properties
            .get("id")
            .and_then(Value::as_str)
            .map_or_else(|| format!("site-{rank}"), str::to_string);
        let png = dir.join("evidence").join(format!("S{rank}.png"));
        let evidence = if png.is_file() {
            let bytes = std::fs::read(&png).map_err(|e| Error::io(&png, e))?;
            hash.add(&format!("evidence/S{rank}.png"), &bytes);
            Some(bytes)
        } else {
            None
        };
        sites.push(SiteIn {
            key,
            rank,
            lon,
            lat,
            rate_kg_h: number(&f.properties, "rate_kg_h"),
            rate_sd_kg_h: number(&f.properties, "rate_sd_kg_h"),
            properties: f.properties,
            evidence,
        });
    }
    let plumes_path = dir.join("plumes.geojson");
    let mut plumes = Vec::new();
    if plumes_path.is_file() {
        let fc: FeatureCollection = read_json(&plumes_path, &mut hash)?;
        for (i, f) in fc.features.into_iter().enumerate() {
            let pass = f
                .properties
                .get("pass")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            let id = f
                .properties
                .get("plume_id")
                .and_then(Value::as_i64)
                .ok_or_else(|| {
                    Error::Input(format!(
                        "{}: feature {i}: no integer `plume_id`",
                        plumes_path.display()
                    ))
                })?;
            plumes.push((pass, id, f.geometry, f.properties));
        }
    }
    let record_path = dir.join("scan.json");
    let record = if record_path.is_file() {
        read_json(&record_path, &mut hash)?
    } else {
        Value::Object(Map::new())
    };
    let mut lines = Vec::new();
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| Error::io(dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.ends_with("_enhancement.tif"))
        })
        .collect();
    entries.sort();
    for path in entries {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix("_enhancement.tif"))
            .unwrap_or_default()
            .to_string();
        hash.add_file(dir, &path)?;
        let Some(enhancement) = LonLatGrid::from_raster(&path)? else {
            continue;
        };
        let albedo = dir.join(format!("{name}_albedo.tif"));
        let quicklook = if albedo.is_file() {
            hash.add_file(dir, &albedo)?;
            let grid = LonLatGrid::from_raster(&albedo)?
                .filter(|g| g.same_grid(&enhancement))
                .ok_or_else(|| {
                    Error::Input(format!(
                        "{}: not on the grid of {} (expected the albedo raster the same scan wrote)",
                        albedo.display(),
                        path.display()
                    ))
                })?;
            Some(grid)
        } else {
            None
        };
        lines.push(FlightLineIn {
            name,
            enhancement,
            quicklook,
        });
    }
    let name = dir
        .canonicalize()
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "scan".into());
    Ok(ScanFolder {
        dir: dir.to_path_buf(),
        name,
        record,
        sites,
        plumes,
        lines,
        content_hash: {
            use sha2::Digest;
            hex::encode(hash.0.finalize())
        },
    })
}

/// What [`ingest`] stored.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Ingested {
    /// The new scan's id.
    pub scan_id: i64,
    /// The campaign's id.
    pub campaign_id: i64,
    /// Sites stored.
    pub sites: usize,
    /// Plumes stored.
    pub plumes: usize,
    /// Flight-line enhancement rasters stored.
    pub flight_lines: usize,
    /// Of those, lines stored with a quicklook.
    pub quicklooks: usize,
    /// When this output set was already in the campaign: nothing was stored, and
    /// `scan_id` is the scan ingested then (at this time).
    pub already_ingested_at: Option<String>,
}

/// Imports the scan output folder `dir` into `campaign` (created when new), all in one
/// transaction.
pub async fn ingest(db: &Db, dir: &Path, campaign: &str) -> Result<Ingested> {
    crate::users::check_name(campaign, "campaign name")?;
    let d = dir.to_path_buf();
    let folder = tokio::task::spawn_blocking(move || read_scan_folder(&d))
        .await
        .map_err(|e| Error::Config(format!("reading the scan folder panicked: {e}")))??;
    store(db, &folder, campaign).await
}

/// Stores an already-read scan folder in one transaction.
pub async fn store(db: &Db, folder: &ScanFolder, campaign: &str) -> Result<Ingested> {
    let mut tx = db.begin_write().await?;
    let campaign_id = crate::users::campaign_id(&mut tx, campaign, true).await?;
    let existing = sqlx::query(
        "SELECT id, ingested_at FROM scans WHERE campaign_id = $1 AND content_hash = $2",
    )
    .bind(campaign_id)
    .bind(&folder.content_hash)
    .fetch_optional(&mut *tx)
    .await?;
    if let Some(row) = existing {
        tx.rollback().await?;
        return Ok(Ingested {
            scan_id: row.try_get(0)?,
            campaign_id,
            sites: 0,
            plumes: 0,
            flight_lines: 0,
            quicklooks: 0,
            already_ingested_at: Some(row.try_get(1)?),
        });
    }
    let now = crate::now();
    let scan_id: i64 = sqlx::query(
        "INSERT INTO scans (campaign_id, name, source, ingested_at, record, content_hash) \
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(campaign_id)
    .bind(&folder.name)
    .bind(folder.dir.display().to_string())
    .bind(&now)
    .bind(folder.record.to_string())
    .bind(&folder.content_hash)
    .fetch_one(&mut *tx)
    .await?
    .try_get(0)?;
    let detected_at = folder
        .record
        .get("generated_utc")
        .and_then(Value::as_str)
        .and_then(|t| crate::audit::parse_since(t).ok()) // stored form, so times compare as text
        .unwrap_or_else(|| now.clone());
    for line in &folder.lines {
        let grid = &line.enhancement;
        sqlx::query(
            "INSERT INTO flight_lines (scan_id, name, lines, samples, geotransform, west, south, east, north, enhancement, quicklook) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(scan_id)
        .bind(&line.name)
        .bind(grid.height as i64)
        .bind(grid.width as i64)
        .bind(grid.source.to_string())
        .bind(grid.west)
        .bind(grid.south)
        .bind(grid.east)
        .bind(grid.north)
        .bind(grid.to_bytes())
        .bind(line.quicklook.as_ref().map(LonLatGrid::to_bytes))
        .execute(&mut *tx)
        .await?;
    }
    let mut site_of_plume: HashMap<(String, i64), i64> = HashMap::new();
    for s in &folder.sites {
        let id: i64 = sqlx::query(
            "INSERT INTO sites (scan_id, campaign_id, site_key, rank, lon, lat, rate_kg_h, rate_sigma_kg_h, detected_at, properties, evidence) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
        )
        .bind(scan_id)
        .bind(campaign_id)
        .bind(&s.key)
        .bind(s.rank)
        .bind(s.lon)
        .bind(s.lat)
        .bind(s.rate_kg_h)
        .bind(s.rate_sd_kg_h)
        .bind(&detected_at)
        .bind(Value::Object(s.properties.clone()).to_string())
        .bind(s.evidence.clone())
        .fetch_one(&mut *tx)
        .await?
        .try_get(0)?;
        for r in s
            .properties
            .get("plumes")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let (Some(pass), Some(pid)) = (
                r.get("pass").and_then(Value::as_str),
                r.get("plume_id").and_then(Value::as_i64),
            ) {
                site_of_plume.insert((pass.to_string(), pid), id);
            }
        }
    }
    for (pass, pid, geometry, props) in &folder.plumes {
        sqlx::query(
            "INSERT INTO plumes (scan_id, site_id, geometry, properties) VALUES ($1, $2, $3, $4)",
        )
        .bind(scan_id)
        .bind(site_of_plume.get(&(pass.clone(), *pid)).copied())
        .bind(geometry.to_string())
        .bind(Value::Object(props.clone()).to_string())
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(Ingested {
        scan_id,
        campaign_id,
        sites: folder.sites.len(),
        plumes: folder.plumes.len(),
        flight_lines: folder.lines.len(),
        quicklooks: folder
            .lines
            .iter()
            .filter(|l| l.quicklook.is_some())
            .count(),
        already_ingested_at: None,
    })
}
