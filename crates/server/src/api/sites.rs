//! Sites, plumes, evidence, reviews, flight-line tiles and the GeoJSON export. Every
//! query is limited to the campaigns granted to the caller; anything else is 404.

use super::{noted, ApiError, ApiJson, ApiPath, ApiQuery, ApiResult, AppState, Caller};
use crate::tiles::{Layer, LonLatGrid, Style};
use crate::users::Role;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde_json::{json, Map, Value};
use sqlx::any::AnyRow;
use sqlx::Row;
use std::sync::Arc;

/// The campaigns granted to the caller: `AND <alias>.campaign_id IN (...)`, bound to `$1`.
const GRANTED: &str = "campaign_id IN (SELECT campaign_id FROM grants WHERE user_id = $1)";

/// One value bound into a dynamically built query.
enum Bind {
    Float(f64),
    Text(String),
}

/// Filters of `GET /api/sites` and the export.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SiteFilter {
    /// `west,south,east,north` in degrees (WGS84).
    pub bbox: Option<String>,
    /// Campaign name.
    pub campaign: Option<String>,
    /// Minimum emission rate, kg/h.
    pub min_rate: Option<f64>,
    /// Review status: pending, confirmed, dismissed, needs_reflight.
    pub status: Option<String>,
    /// Detected at or after (RFC 3339 or date).
    pub since: Option<String>,
    /// Detected before (RFC 3339 or date).
    pub until: Option<String>,
    /// Most sites returned (default 1000, at most 10000).
    pub limit: Option<i64>,
}

const STATUSES: [&str; 4] = ["pending", "confirmed", "dismissed", "needs_reflight"];

impl SiteFilter {
    /// SQL conditions (after the grant condition on `$1`) and their values.
    fn conditions(&self) -> ApiResult<(String, Vec<Bind>)> {
        let mut sql = String::new();
        let mut binds = Vec::new();
        let mut push = |cond: &str, b: Bind, sql: &mut String| {
            binds.push(b);
            sql.push_str(&cond.replace('?', &format!("${}", binds.len() + 1)));
        };
        if let Some(bbox) = &self.bbox {
            let v: Vec<f64> = bbox
                .split(',')
                .map(|p| p.trim().parse::<f64>())
                .collect::<Result<_, _>>()
                .map_err(|_| {
                    ApiError::bad_request("bbox: expected west,south,east,north in degrees")
                })?;
            let [w, s, e, n] = v[..] else {
                return Err(ApiError::bad_request(
                    "bbox: expected four numbers west,south,east,north",
                ));
            };
            if !(v.iter().all(|x| x.is_finite()) && w <= e && s <= n) {
                return Err(ApiError::bad_request(
                    "bbox: expected finite west <= east and south <= north",
                ));
            }
            push(" AND lon >= ?", Bind::Float(w), &mut sql);
            push(" AND lat >= ?", Bind::Float(s), &mut sql);
            push(" AND lon <= ?", Bind::Float(e), &mut sql);
            push(" AND lat <= ?", Bind::Float(n), &mut sql);
        }
        if let Some(c) = &self.campaign {
            crate::users::check_name(c, "campaign")?;
            push(
                " AND campaign_id = (SELECT id FROM campaigns WHERE name = ?)",
                Bind::Text(c.clone()),
                &mut sql,
            );
        }
        if let Some(q) = self.min_rate {
            if !q.is_finite() {
                return Err(ApiError::bad_request(
                    "min_rate: expected a finite number of kg/h",
                ));
            }
            push(" AND rate_kg_h >= ?", Bind::Float(q), &mut sql);
        }
        if let Some(st) = &self.status {
            if !STATUSES.contains(&st.as_str()) {
                return Err(ApiError::bad_request(format!(
                    "status: expected one of {}",
                    STATUSES.join(", ")
                )));
            }
            push(" AND status = ?", Bind::Text(st.clone()), &mut sql);
        }
        if let Some(t) = &self.since {
            push(
                " AND detected_at >= ?",
                Bind::Text(crate::audit::parse_since(t)?),
                &mut sql,
            );
        }
        if let Some(t) = &self.until {
            push(
                " AND detected_at < ?",
                Bind::Text(crate::audit::parse_since(t)?),
                &mut sql,
            );
        }
        Ok((sql, binds))
    }

    fn limit(&self) -> ApiResult<i64> {
        match self.limit {
            None => Ok(1000),
            Some(n) if (1..=10_000).contains(&n) => Ok(n),
            Some(_) => Err(ApiError::bad_request("limit: expected 1 to 10000")),
        }
    }
}

const SITE_COLUMNS: &str =
    "s.id, s.site_key, s.rank, s.lon, s.lat, s.rate_kg_h, s.rate_sigma_kg_h, \
     s.detected_at, s.status, s.properties, c.name, s.scan_id, (s.evidence IS NOT NULL)";

fn site_feature(row: &AnyRow) -> ApiResult<Value> {
    let id: i64 = row.try_get(0)?;
    let props_text: String = row.try_get(9)?;
    let mut props: Map<String, Value> = serde_json::from_str(&props_text).unwrap_or_default();
    props.remove("id");
    let has_evidence: bool = match row.try_get::<bool, _>(12) {
        Ok(b) => b,
        Err(_) => row.try_get::<i64, _>(12)? != 0,
    };
    props.insert("id".into(), json!(id));
    props.insert("key".into(), json!(row.try_get::<String, _>(1)?));
    props.insert("rank".into(), json!(row.try_get::<i64, _>(2)?));
    props.insert("rate_kg_h".into(), json!(row.try_get::<Option<f64>, _>(5)?));
    props.insert(
        "rate_sd_kg_h".into(),
        json!(row.try_get::<Option<f64>, _>(6)?),
    );
    props.insert("detected_at".into(), json!(row.try_get::<String, _>(7)?));
    props.insert("status".into(), json!(row.try_get::<String, _>(8)?));
    props.insert("campaign".into(), json!(row.try_get::<String, _>(10)?));
    props.insert("scan_id".into(), json!(row.try_get::<i64, _>(11)?));
    props.insert(
        "evidence_url".into(),
        if has_evidence {
            json!(format!("/api/sites/{id}/evidence.png"))
        } else {
            Value::Null
        },
    );
    Ok(json!({
        "type": "Feature",
        "id": id,
        "geometry": {"type": "Point", "coordinates": [row.try_get::<f64, _>(3)?, row.try_get::<f64, _>(4)?]},
        "properties": props,
    }))
}

async fn query_sites(
    state: &AppState,
    caller: &Caller,
    filter: &SiteFilter,
) -> ApiResult<Vec<Value>> {
    let (conds, binds) = filter.conditions()?;
    let sql = format!(
        "SELECT {SITE_COLUMNS} FROM sites s JOIN campaigns c ON c.id = s.campaign_id \
         WHERE s.{GRANTED}{} ORDER BY s.rate_kg_h DESC, s.id LIMIT {}",
        conds.replace(" AND ", " AND s."),
        filter.limit()?
    );
    let mut q = sqlx::query(&sql).bind(caller.user.id);
    for b in binds {
        q = match b {
            Bind::Float(v) => q.bind(v),
            Bind::Text(v) => q.bind(v),
        };
    }
    let rows = q.fetch_all(&state.db.pool).await?;
    rows.iter().map(site_feature).collect()
}

/// `GET /api/sites`: a GeoJSON FeatureCollection of the visible sites, strongest first.
pub async fn list(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiQuery(filter): ApiQuery<SiteFilter>,
) -> ApiResult<Response> {
    let features = query_sites(&state, &caller, &filter).await?;
    let n = features.len();
    Ok(noted(
        "sites.list",
        format!("sites ({n})"),
        Json(json!({"type": "FeatureCollection", "features": features})),
    ))
}

/// `GET /api/export/sites.geojson`: the same as the list, as a download.
pub async fn export(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiQuery(filter): ApiQuery<SiteFilter>,
) -> ApiResult<Response> {
    let features = query_sites(&state, &caller, &filter).await?;
    let n = features.len();
    let body = json!({"type": "FeatureCollection", "features": features}).to_string();
    Ok(noted(
        "export.sites",
        format!("sites ({n})"),
        (
            [
                (header::CONTENT_TYPE, "application/geo+json"),
                (
                    header::CONTENT_DISPOSITION,
                    "attachment; filename=\"sites.geojson\"",
                ),
            ],
            body,
        ),
    ))
}

async fn visible_site(state: &AppState, caller: &Caller, id: i64) -> ApiResult<AnyRow> {
    sqlx::query(&format!(
        "SELECT {SITE_COLUMNS} FROM sites s JOIN campaigns c ON c.id = s.campaign_id \
         WHERE s.{GRANTED} AND s.id = $2"
    ))
    .bind(caller.user.id)
    .bind(id)
    .fetch_optional(&state.db.pool)
    .await?
    .ok_or_else(|| ApiError::not_found(&format!("site {id}")))
}

/// `GET /api/sites/{id}`: the site, its plumes (outlines) and its review history.
pub async fn one(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Response> {
    let row = visible_site(&state, &caller, id).await?;
    let mut feature = site_feature(&row)?;
    let plumes =
        sqlx::query("SELECT id, geometry, properties FROM plumes WHERE site_id = $1 ORDER BY id")
            .bind(id)
            .fetch_all(&state.db.pool)
            .await?
            .iter()
            .map(plume_feature)
            .collect::<ApiResult<Vec<_>>>()?;
    let reviews = sqlx::query(
        "SELECT r.verdict, r.note, r.created_at, u.name FROM reviews r JOIN users u ON u.id = r.user_id \
         WHERE r.site_id = $1 ORDER BY r.id DESC",
    )
    .bind(id)
    .fetch_all(&state.db.pool)
    .await?
    .iter()
    .map(|r| -> ApiResult<Value> {
        Ok(json!({
            "verdict": r.try_get::<String, _>(0)?, "note": r.try_get::<String, _>(1)?,
            "at": r.try_get::<String, _>(2)?, "user": r.try_get::<String, _>(3)?,
        }))
    })
    .collect::<ApiResult<Vec<_>>>()?;
    feature["plumes"] = json!({"type": "FeatureCollection", "features": plumes});
    feature["reviews"] = json!(reviews);
    Ok(noted("site.read", format!("site:{id}"), Json(feature)))
}

fn plume_feature(r: &AnyRow) -> ApiResult<Value> {
    let geometry: String = r.try_get(1)?;
    let props: String = r.try_get(2)?;
    Ok(json!({
        "type": "Feature",
        "id": r.try_get::<i64, _>(0)?,
        "geometry": serde_json::from_str::<Value>(&geometry).unwrap_or(Value::Null),
        "properties": serde_json::from_str::<Value>(&props).unwrap_or(Value::Null),
    }))
}

/// `GET /api/sites/{id}/evidence.png`.
pub async fn evidence(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Response> {
    let row = sqlx::query(&format!(
        "SELECT evidence FROM sites WHERE {GRANTED} AND id = $2"
    ))
    .bind(caller.user.id)
    .bind(id)
    .fetch_optional(&state.db.pool)
    .await?
    .ok_or_else(|| ApiError::not_found(&format!("site {id}")))?;
    let png: Option<Vec<u8>> = row.try_get(0)?;
    let png = png.ok_or_else(|| ApiError::not_found(&format!("evidence of site {id}")))?;
    Ok(noted(
        "site.evidence",
        format!("site:{id}"),
        ([(header::CONTENT_TYPE, "image/png")], png),
    ))
}

/// An analyst's verdict on a site.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// The site emits: a real source.
    Confirmed,
    /// Not a source (artefact, surface feature).
    Dismissed,
    /// Cannot tell from this flight: fly it again.
    NeedsReflight,
}

impl Verdict {
    fn as_str(self) -> &'static str {
        match self {
            Verdict::Confirmed => "confirmed",
            Verdict::Dismissed => "dismissed",
            Verdict::NeedsReflight => "needs_reflight",
        }
    }
}

/// `POST /api/sites/{id}/review` body.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Review {
    /// The verdict.
    pub verdict: Verdict,
    /// Why (up to 4000 characters).
    #[serde(default)]
    pub note: String,
}

/// `POST /api/sites/{id}/review` (analyst): records the verdict and sets the site's
/// status.
pub async fn review(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<Review>,
) -> ApiResult<Response> {
    caller.require(Role::Analyst)?;
    if body.note.chars().count() > 4000 {
        return Err(ApiError::bad_request("note: at most 4000 characters"));
    }
    visible_site(&state, &caller, id).await?;
    let mut tx = state.db.begin_write().await?;
    let now = crate::now();
    sqlx::query("INSERT INTO reviews (site_id, user_id, verdict, note, created_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(id)
        .bind(caller.user.id)
        .bind(body.verdict.as_str())
        .bind(&body.note)
        .bind(&now)
        .execute(&mut *tx)
        .await?;
    sqlx::query("UPDATE sites SET status = $1 WHERE id = $2")
        .bind(body.verdict.as_str())
        .bind(id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(noted(
        "site.review",
        format!("site:{id} {}", body.verdict.as_str()),
        (
            StatusCode::CREATED,
            Json(json!({"site": id, "verdict": body.verdict, "at": now})),
        ),
    ))
}

/// `GET /api/campaigns`: the campaigns granted to the caller.
pub async fn campaigns(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> ApiResult<Response> {
    let rows = sqlx::query(
        "SELECT c.name, (SELECT COUNT(*) FROM sites s WHERE s.campaign_id = c.id) FROM campaigns c \
         WHERE c.id IN (SELECT campaign_id FROM grants WHERE user_id = $1) ORDER BY c.name",
    )
    .bind(caller.user.id)
    .fetch_all(&state.db.pool)
    .await?;
    let list = rows
        .iter()
        .map(|r| Ok(json!({"name": r.try_get::<String, _>(0)?, "sites": r.try_get::<i64, _>(1)?})))
        .collect::<ApiResult<Vec<_>>>()?;
    Ok(noted("campaigns.list", "campaigns", Json(list)))
}

/// `GET /api/plumes`: plume outlines of the visible scans (optionally one campaign).
pub async fn plumes(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiQuery(filter): ApiQuery<CampaignFilter>,
) -> ApiResult<Response> {
    let rows = campaign_query(
        &state,
        &caller,
        "SELECT p.id, p.geometry, p.properties FROM plumes p JOIN scans sc ON sc.id = p.scan_id",
        &filter,
        "p.id",
    )
    .await?;
    let features = rows
        .iter()
        .map(plume_feature)
        .collect::<ApiResult<Vec<_>>>()?;
    Ok(noted(
        "plumes.list",
        "plumes",
        Json(json!({"type": "FeatureCollection", "features": features})),
    ))
}

/// `?campaign=NAME` only.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CampaignFilter {
    /// Campaign name.
    pub campaign: Option<String>,
}

async fn campaign_query(
    state: &AppState,
    caller: &Caller,
    select: &str,
    filter: &CampaignFilter,
    order: &str,
) -> ApiResult<Vec<AnyRow>> {
    let mut sql = format!("{select} WHERE sc.{GRANTED}");
    if let Some(c) = &filter.campaign {
        crate::users::check_name(c, "campaign")?;
        sql.push_str(" AND sc.campaign_id = (SELECT id FROM campaigns WHERE name = $2)");
    }
    sql.push_str(&format!(" ORDER BY {order}"));
    let mut q = sqlx::query(&sql).bind(caller.user.id);
    if let Some(c) = &filter.campaign {
        q = q.bind(c.clone());
    }
    Ok(q.fetch_all(&state.db.pool).await?)
}

/// `GET /api/flight-lines`: each visible flight line's id, name, bounds and tile URL.
pub async fn flight_lines(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiQuery(filter): ApiQuery<CampaignFilter>,
) -> ApiResult<Response> {
    let rows = campaign_query(
        &state,
        &caller,
        "SELECT f.id, f.name, f.west, f.south, f.east, f.north, c.name, \
         CASE WHEN f.quicklook IS NULL THEN 0 ELSE 1 END FROM flight_lines f \
         JOIN scans sc ON sc.id = f.scan_id JOIN campaigns c ON c.id = sc.campaign_id",
        &filter,
        "f.id",
    )
    .await?;
    let list = rows
        .iter()
        .map(|r| -> ApiResult<Value> {
            let id: i64 = r.try_get(0)?;
            Ok(json!({
                "id": id, "name": r.try_get::<String, _>(1)?, "campaign": r.try_get::<String, _>(6)?,
                "bounds": [r.try_get::<f64, _>(2)?, r.try_get::<f64, _>(3)?, r.try_get::<f64, _>(4)?, r.try_get::<f64, _>(5)?],
                "tiles": format!("/api/tiles/{id}/{{z}}/{{x}}/{{y}}.png"),
                "quicklook": (r.try_get::<i32, _>(7)? == 1)
                    .then(|| format!("/api/quicklook/{id}/{{z}}/{{x}}/{{y}}.png")),
            }))
        })
        .collect::<ApiResult<Vec<_>>>()?;
    Ok(noted("flight_lines.list", "flight_lines", Json(list)))
}

async fn grid(
    state: &AppState,
    caller: &Caller,
    line: i64,
    layer: Layer,
) -> ApiResult<Arc<LonLatGrid>> {
    // Visibility is checked on every request; only the decoded grid is cached.
    let row = sqlx::query(
        "SELECT f.samples, f.lines, f.west, f.south, f.east, f.north FROM flight_lines f \
         JOIN scans sc ON sc.id = f.scan_id WHERE sc.campaign_id IN \
         (SELECT campaign_id FROM grants WHERE user_id = $1) AND f.id = $2",
    )
    .bind(caller.user.id)
    .bind(line)
    .fetch_optional(&state.db.pool)
    .await?
    .ok_or_else(|| ApiError::not_found(&format!("flight line {line}")))?;
    if let Some(g) = state
        .grids
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(&(line, layer))
    {
        return Ok(g.clone());
    }
    let column = match layer {
        Layer::Enhancement => "enhancement",
        Layer::Quicklook => "quicklook",
    };
    let bytes: Option<Vec<u8>> =
        sqlx::query(&format!("SELECT {column} FROM flight_lines WHERE id = $1"))
            .bind(line)
            .fetch_one(&state.db.pool)
            .await?
            .try_get(0)?;
    let bytes = bytes.ok_or_else(|| {
        ApiError::not_found(&format!(
            "quicklook of flight line {line} (its scan wrote no albedo raster)"
        ))
    })?;
    let (w, h): (i64, i64) = (row.try_get(0)?, row.try_get(1)?);
    let bounds = [
        row.try_get(2)?,
        row.try_get(3)?,
        row.try_get(4)?,
        row.try_get(5)?,
    ];
    let g = Arc::new(LonLatGrid::from_parts(
        w as usize, h as usize, bounds, &bytes,
    )?);
    state
        .grids
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert((line, layer), g.clone());
    Ok(g)
}

/// Query of an enhancement tile.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TileQuery {
    /// Draw the footprint in grey below the noise floor (default true; the viewer
    /// asks for `false` over the quicklook).
    pub footprint: Option<bool>,
}

/// `GET /api/tiles/{line}/{z}/{x}/{y}.png[?footprint=false]`: an XYZ tile of a flight
/// line's enhancement.
pub async fn tile(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiPath((line, z, x, y)): ApiPath<(i64, u32, u32, String)>,
    ApiQuery(q): ApiQuery<TileQuery>,
) -> ApiResult<Response> {
    let style = Style::Enhancement {
        footprint: q.footprint.unwrap_or(true),
    };
    layer_tile(state, caller, style, (line, z, x, y)).await
}

/// `GET /api/quicklook/{line}/{z}/{x}/{y}.png`: an XYZ tile of a flight line's
/// quicklook (its albedo factor in grey).
pub async fn quicklook(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiPath((line, z, x, y)): ApiPath<(i64, u32, u32, String)>,
) -> ApiResult<Response> {
    layer_tile(state, caller, Style::Quicklook, (line, z, x, y)).await
}

async fn layer_tile(
    state: AppState,
    caller: Caller,
    style: Style,
    (line, z, x, y): (i64, u32, u32, String),
) -> ApiResult<Response> {
    let (prefix, action, layer) = match style {
        Style::Enhancement { .. } => ("tiles", "tile.read", Layer::Enhancement),
        Style::Quicklook => ("quicklook", "quicklook.read", Layer::Quicklook),
    };
    let y: u32 = y
        .strip_suffix(".png")
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| {
            ApiError::bad_request(format!(
                "tile: expected /api/{prefix}/{{line}}/{{z}}/{{x}}/{{y}}.png"
            ))
        })?;
    let g = grid(&state, &caller, line, layer).await?;
    let png = tokio::task::spawn_blocking(move || g.tile_png(style, z, x, y))
        .await
        .map_err(|_| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "tile renderer failed"))?
        .ok_or_else(|| ApiError::bad_request(format!("tile {z}/{x}/{y} does not exist")))?;
    Ok(noted(
        action,
        format!("flight_line:{line} {z}/{x}/{y}"),
        (
            [
                (header::CONTENT_TYPE, "image/png"),
                (header::CACHE_CONTROL, "private, max-age=300"),
            ],
            png,
        )
            .into_response(),
    ))
}
