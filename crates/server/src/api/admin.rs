//! Admin: users, grants and the audit log.

use super::{noted, ApiError, ApiJson, ApiPath, ApiQuery, ApiResult, AppState, Caller};
use crate::users::{self, Role};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::{Extension, Json};
use serde_json::json;

/// `GET /api/audit` parameters.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// Newest records returned (default 200, at most 5000).
    pub limit: Option<i64>,
    /// Only this action (e.g. `site.review`).
    pub action: Option<String>,
}

/// `GET /api/audit` (admin): the newest audit records, newest first.
pub async fn audit(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> ApiResult<Response> {
    caller.require(Role::Admin)?;
    let limit = q.limit.unwrap_or(200);
    if !(1..=5000).contains(&limit) {
        return Err(ApiError::bad_request("limit: expected 1 to 5000"));
    }
    let records = crate::audit::recent(&state.db, limit, q.action.as_deref()).await?;
    Ok(noted("audit.read", "audit", Json(records)))
}

/// `GET /api/users` (admin): users, roles and grants.
pub async fn users(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> ApiResult<Response> {
    caller.require(Role::Admin)?;
    let list: Vec<_> = users::list_users(&state.db)
        .await?
        .into_iter()
        .map(|(u, campaigns)| json!({"name": u.name, "role": u.role, "campaigns": campaigns}))
        .collect();
    Ok(noted("users.list", "users", Json(list)))
}

/// `POST /api/users` body.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    /// User name.
    pub name: String,
    /// Role.
    pub role: Role,
}

/// `POST /api/users` (admin): creates a user; the response shows its token once.
pub async fn add_user(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiJson(body): ApiJson<NewUser>,
) -> ApiResult<Response> {
    caller.require(Role::Admin)?;
    let token = users::add_user(&state.db, &body.name, body.role).await?;
    Ok(noted(
        "users.add",
        format!("user:{} role={}", body.name, body.role.as_str()),
        (
            StatusCode::CREATED,
            Json(json!({"name": body.name, "role": body.role, "token": token})),
        ),
    ))
}

/// `POST /api/users/{name}/grants` body.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Grant {
    /// Campaign name (created when new).
    pub campaign: String,
}

/// `POST /api/users/{name}/grants` (admin).
pub async fn grant(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiPath(name): ApiPath<String>,
    ApiJson(body): ApiJson<Grant>,
) -> ApiResult<Response> {
    caller.require(Role::Admin)?;
    users::check_name(&name, "user name")?;
    users::grant(&state.db, &name, &body.campaign).await?;
    Ok(noted(
        "users.grant",
        format!("user:{name} campaign:{}", body.campaign),
        (
            StatusCode::CREATED,
            Json(json!({"user": name, "campaign": body.campaign})),
        ),
    ))
}

/// `DELETE /api/users/{name}/grants/{campaign}` (admin).
pub async fn revoke(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiPath((name, campaign)): ApiPath<(String, String)>,
) -> ApiResult<Response> {
    caller.require(Role::Admin)?;
    users::check_name(&name, "user name")?;
    users::check_name(&campaign, "campaign")?;
    users::revoke(&state.db, &name, &campaign).await?;
    Ok(noted(
        "users.revoke",
        format!("user:{name} campaign:{campaign}"),
        StatusCode::NO_CONTENT,
    ))
}
