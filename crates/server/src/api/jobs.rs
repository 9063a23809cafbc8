//! Scan jobs: submit, list, state, and live progress as Server-Sent Events.

use super::{noted, ApiError, ApiJson, ApiPath, ApiResult, AppState, Caller};
use crate::jobs::JobState;
use crate::users::Role;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use futures_util::StreamExt;
use serde_json::{json, Value};
use sqlx::any::AnyRow;
use sqlx::Row;
use std::convert::Infallible;
use std::time::Duration;

/// `POST /api/jobs` body.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Submit {
    /// Campaign the results go to (must be granted to the caller).
    pub campaign: String,
    /// The scan configuration (ScanConfig as JSON); cube paths relative to the data
    /// directory.
    pub config: Value,
}

const JOB_COLUMNS: &str =
    "j.id, j.status, j.stage, j.progress, j.message, j.scan_id, j.created_at, \
     j.finished_at, c.name, u.name";

fn job_json(r: &AnyRow) -> ApiResult<Value> {
    Ok(json!({
        "id": r.try_get::<i64, _>(0)?, "status": r.try_get::<String, _>(1)?,
        "stage": r.try_get::<String, _>(2)?, "progress": r.try_get::<f64, _>(3)?,
        "message": r.try_get::<String, _>(4)?, "scan_id": r.try_get::<Option<i64>, _>(5)?,
        "created_at": r.try_get::<String, _>(6)?, "finished_at": r.try_get::<Option<String>, _>(7)?,
        "campaign": r.try_get::<String, _>(8)?, "user": r.try_get::<String, _>(9)?,
    }))
}

fn job_query(extra: &str) -> String {
    format!(
        "SELECT {JOB_COLUMNS} FROM jobs j JOIN campaigns c ON c.id = j.campaign_id JOIN users u ON u.id = j.user_id \
         WHERE j.campaign_id IN (SELECT campaign_id FROM grants WHERE user_id = $1){extra}"
    )
}

/// `GET /api/jobs`: jobs of the caller's campaigns, newest first.
pub async fn list(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> ApiResult<Response> {
    let rows = sqlx::query(&job_query(" ORDER BY j.id DESC LIMIT 200"))
        .bind(caller.user.id)
        .fetch_all(&state.db.pool)
        .await?;
    let list = rows.iter().map(job_json).collect::<ApiResult<Vec<_>>>()?;
    Ok(noted("jobs.list", "jobs", Json(list)))
}

async fn visible_job(state: &AppState, caller: &Caller, id: i64) -> ApiResult<Value> {
    let row = sqlx::query(&job_query(" AND j.id = $2"))
        .bind(caller.user.id)
        .bind(id)
        .fetch_optional(&state.db.pool)
        .await?
        .ok_or_else(|| ApiError::not_found(&format!("job {id}")))?;
    job_json(&row)
}

/// `GET /api/jobs/{id}`.
pub async fn one(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Response> {
    let job = visible_job(&state, &caller, id).await?;
    Ok(noted("job.read", format!("job:{id}"), Json(job)))
}

/// `POST /api/jobs` (analyst): queues a scan; 202 with the job id.
pub async fn submit(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiJson(body): ApiJson<Submit>,
) -> ApiResult<Response> {
    caller.require(Role::Analyst)?;
    crate::users::check_name(&body.campaign, "campaign")?;
    let campaign = sqlx::query(
        "SELECT c.id FROM campaigns c JOIN grants g ON g.campaign_id = c.id WHERE g.user_id = $1 AND c.name = $2",
    )
    .bind(caller.user.id)
    .bind(&body.campaign)
    .fetch_optional(&state.db.pool)
    .await?
    .ok_or_else(|| ApiError::not_found(&format!("campaign {:?}", body.campaign)))?;
    let id = state
        .jobs
        .submit(caller.user.id, campaign.try_get(0)?, body.config)
        .await?;
    Ok(noted(
        "job.submit",
        format!("job:{id} campaign:{}", body.campaign),
        (
            StatusCode::ACCEPTED,
            Json(json!({"id": id, "events": format!("/api/jobs/{id}/events")})),
        ),
    ))
}

/// `GET /api/jobs/{id}/events`: `state` events (JSON [`JobState`]) until the job ends.
pub async fn events(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Response> {
    let job = visible_job(&state, &caller, id).await?;
    let event = |s: &JobState| {
        Ok::<_, Infallible>(
            Event::default()
                .event("state")
                .json_data(s)
                .unwrap_or_default(),
        )
    };
    let response = match state.jobs.subscribe(id) {
        Some(rx) => {
            let stream = tokio_stream::wrappers::WatchStream::new(rx)
                .scan(false, |done, s| {
                    let out = if *done { None } else { Some(s.clone()) };
                    *done = s.finished();
                    std::future::ready(out)
                })
                .map(move |s| event(&s));
            Sse::new(stream)
                .keep_alive(KeepAlive::new().interval(Duration::from_secs(10)))
                .into_response()
        }
        None => {
            let s = JobState {
                id,
                status: job["status"].as_str().unwrap_or_default().into(),
                stage: job["stage"].as_str().unwrap_or_default().into(),
                progress: job["progress"].as_f64().unwrap_or(0.0),
                message: job["message"].as_str().unwrap_or_default().into(),
                scan_id: job["scan_id"].as_i64(),
            };
            Sse::new(futures_util::stream::iter([event(&s)])).into_response()
        }
    };
    Ok(noted("job.events", format!("job:{id}"), response))
}
