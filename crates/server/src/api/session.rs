//! Sign-in (an API token exchanged for a browser session), sign-out, who am I.

use super::{
    ApiError, ApiJson, ApiResult, AppState, AuditUser, Caller, CallerExt, ClientIp, SESSION_COOKIE,
};
use crate::users::{self, TokenKind};
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};

/// `POST /api/login` body.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Login {
    /// User name.
    pub name: String,
    /// The user's API token.
    pub token: String,
}

fn audit_as(name: &str, mut r: Response) -> Response {
    let shown: String = name.chars().filter(|c| !c.is_control()).take(64).collect();
    r.extensions_mut()
        .insert(AuditUser(if shown.is_empty() { "-".into() } else { shown }));
    r
}

/// Exchanges a user's API token for a session cookie (HttpOnly, SameSite=Strict) and
/// returns the CSRF token that must accompany every state change.
pub async fn login(
    State(state): State<AppState>,
    Extension(ClientIp(ip)): Extension<ClientIp>,
    body: Result<ApiJson<Login>, ApiError>,
) -> Response {
    if !state.login_allowed(ip) {
        return super::noted(
            "login",
            "session",
            ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too many sign-in attempts; wait a minute",
            ),
        );
    }
    let ApiJson(body) = match body {
        Ok(b) => b,
        Err(e) => return super::noted("login", "session", e),
    };
    let r = match try_login(&state, &body).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    };
    audit_as(&body.name, super::noted("login", "session", r))
}

async fn try_login(state: &AppState, body: &Login) -> ApiResult<Response> {
    let found = users::authenticate(&state.db, &body.token, TokenKind::Api).await?;
    let Some(found) = found.filter(|f| f.user.name == body.name) else {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unknown user or wrong token",
        ));
    };
    let csrf = users::random_secret(24);
    let mut tx = state.db.begin_write().await?;
    // Expired sessions are dead weight; sign-in is a good moment to drop them.
    sqlx::query("DELETE FROM tokens WHERE kind = 'session' AND expires_at < $1")
        .bind(crate::now())
        .execute(&mut *tx)
        .await?;
    let expires = crate::now_plus(state.config.session_lifetime.as_secs());
    let session = users::insert_token(
        &mut tx,
        found.user.id,
        TokenKind::Session,
        Some(&csrf),
        Some(expires),
    )
    .await?;
    tx.commit().await.map_err(crate::Error::from)?;
    let secure = if state.config.https { "; Secure" } else { "" };
    let cookie = format!(
        "{SESSION_COOKIE}={session}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}{secure}",
        state.config.session_lifetime.as_secs()
    );
    let mut r = Json(serde_json::json!({
        "user": found.user.name, "role": found.user.role, "csrf": csrf,
    }))
    .into_response();
    r.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_str(&cookie).map_err(|_| ApiError::bad_request("bad cookie"))?,
    );
    Ok(r)
}

/// Ends the caller's session (and clears the cookie).
pub async fn logout(State(state): State<AppState>, caller: CallerExt) -> ApiResult<Response> {
    if caller.kind == TokenKind::Session {
        users::end_session(&state.db, &caller.key_id).await?;
    }
    let mut r = StatusCode::NO_CONTENT.into_response();
    r.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static("pw_session=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0"),
    );
    Ok(super::noted("logout", "session", r))
}

/// The caller: name and role.
pub async fn whoami(axum::Extension(caller): axum::Extension<Caller>) -> Response {
    super::noted(
        "session.read",
        "session",
        Json(serde_json::json!({"user": caller.user.name, "role": caller.user.role})),
    )
}

/// The viewer's settings: the optional basemap (an XYZ URL template, or a PMTiles file
/// served from `/api/basemap.pmtiles`).
pub async fn viewer_config(State(state): State<AppState>) -> Response {
    let pmtiles = state.config.basemap_pmtiles.as_ref().map(|p| {
        serde_json::json!({
            "url": "/api/basemap.pmtiles", "tile_type": p.tile_type,
            "min_zoom": p.min_zoom, "max_zoom": p.max_zoom, "bounds": p.bounds,
        })
    });
    super::noted(
        "viewer.read",
        "viewer",
        Json(serde_json::json!({"basemap": state.config.basemap, "basemap_pmtiles": pmtiles})),
    )
}

/// `GET /api/basemap.pmtiles`: byte ranges of the PMTiles basemap (`Range:
/// bytes=first-last`, answered 206; without `Range` the whole file when small).
pub async fn basemap_pmtiles(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    use crate::basemap::RangeError;
    let p = state.config.basemap_pmtiles.clone().ok_or_else(|| {
        ApiError::not_found(
            "PMTiles basemap (the server was started without --basemap FILE.pmtiles)",
        )
    })?;
    let range_header = headers.get(header::RANGE).map(|v| v.to_str().unwrap_or(""));
    let (first, last) = match p.range(range_header) {
        Ok(r) => r,
        Err(RangeError::Unsatisfiable) => {
            let mut r = ApiError::new(
                StatusCode::RANGE_NOT_SATISFIABLE,
                format!("range starts past the end of the {}-byte basemap", p.len),
            )
            .into_response();
            if let Ok(v) = HeaderValue::from_str(&format!("bytes */{}", p.len)) {
                r.headers_mut().insert(header::CONTENT_RANGE, v);
            }
            return Ok(r);
        }
        Err(RangeError::Malformed) => {
            return Err(ApiError::bad_request(
                "Range: expected one `bytes=first-last` range",
            ))
        }
        Err(RangeError::TooLarge) => {
            return Err(ApiError::bad_request(format!(
                "the basemap is served in byte ranges of at most {} bytes: send a Range header",
                crate::basemap::MAX_RANGE
            )))
        }
    };
    let reader = p.clone();
    let bytes = tokio::task::spawn_blocking(move || reader.read(first, last))
        .await
        .map_err(|_| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "basemap reader failed"))??;
    let partial = range_header.is_some();
    let mut r = (
        if partial {
            StatusCode::PARTIAL_CONTENT
        } else {
            StatusCode::OK
        },
        [
            (header::CONTENT_TYPE, "application/vnd.pmtiles".to_string()),
            (header::ACCEPT_RANGES, "bytes".to_string()),
            (header::CACHE_CONTROL, "private, max-age=300".to_string()),
            (header::ETAG, p.etag.clone()),
        ],
        bytes,
    )
        .into_response();
    if partial {
        if let Ok(v) = HeaderValue::from_str(&format!("bytes {first}-{last}/{}", p.len)) {
            r.headers_mut().insert(header::CONTENT_RANGE, v);
        }
    }
    Ok(super::noted(
        "basemap.read",
        format!("basemap bytes={first}-{last}"),
        r,
    ))
}
