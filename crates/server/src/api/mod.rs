//! The HTTP API and web viewer as one axum [`Router`].
//!
//! Layers, outermost first: security headers, request timeout, body size limit, then
//! for `/api/*` the [`gate`] middleware, which authenticates the caller (bearer token
//! or session cookie + CSRF header), and appends one audit record for every request
//! whatever its outcome, before the response leaves. Handlers get the caller as an
//! [`Extension<Caller>`]; one that needs a role calls [`Caller::require`].

mod admin;
mod extract;
mod jobs;
mod openapi;
mod session;
mod sites;

pub use extract::{ApiJson, ApiPath, ApiQuery};

use crate::audit::{Auditor, Entry};
use crate::db::Db;
use crate::jobs::Jobs;
use crate::tiles::LonLatGrid;
use crate::users::{self, Authenticated, Role, TokenKind};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Limits and switches of the API.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// Largest request body, bytes (larger → 413).
    pub max_body_bytes: usize,
    /// Longest time to produce a response head (longer → 408).
    pub request_timeout: Duration,
    /// Sign-in attempts allowed per client address per minute (more → 429).
    pub login_attempts_per_minute: u32,
    /// Whether the server is reached over HTTPS (session cookies get `Secure`, HSTS).
    pub https: bool,
    /// Browser session lifetime.
    pub session_lifetime: Duration,
    /// A user-supplied XYZ basemap URL template for the viewer
    /// (`https://host/{z}/{x}/{y}.png`); its origin is added to the CSP. See
    /// [`check_basemap`].
    pub basemap: Option<String>,
    /// A user-supplied PMTiles basemap file, served by range requests from
    /// `/api/basemap.pmtiles` (see [`crate::basemap`]).
    pub basemap_pmtiles: Option<Arc<crate::basemap::Pmtiles>>,
}

/// Checks a basemap URL template: `https://` (or `http://` on a loopback host), with
/// `{z}`, `{x}` and `{y}`; returns its origin (`scheme://host[:port]`).
pub fn check_basemap(url: &str) -> crate::Result<String> {
    let bad = |why: &str| crate::Error::Config(format!("--basemap {url:?}: {why}"));
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| bad("expected an http(s):// URL"))?;
    let host = rest.split('/').next().unwrap_or_default();
    let loopback =
        host.starts_with("127.") || host.starts_with("localhost") || host.starts_with("[::1]");
    if !(scheme == "https" || (scheme == "http" && loopback)) {
        return Err(bad(
            "use https:// (plain http only for a loopback tile server)",
        ));
    }
    if host.is_empty()
        || !host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
    {
        return Err(bad("invalid host"));
    }
    if !["{z}", "{x}", "{y}"].iter().all(|p| url.contains(p)) || url.contains(['"', '\'', ' ', ';'])
    {
        return Err(bad("expected a tile template with {z}, {x} and {y}"));
    }
    Ok(format!("{scheme}://{host}"))
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig {
            max_body_bytes: 1 << 20,
            request_timeout: Duration::from_secs(30),
            login_attempts_per_minute: 10,
            https: false,
            session_lifetime: Duration::from_secs(12 * 3600),
            basemap: None,
            basemap_pmtiles: None,
        }
    }
}

/// Shared state of every handler.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The database.
    pub db: Db,
    /// The audit writer.
    pub auditor: Auditor,
    /// The scan job queue.
    pub jobs: Jobs,
    /// Limits and switches.
    pub config: Arc<ApiConfig>,
    login_attempts: Arc<Mutex<HashMap<IpAddr, (Instant, u32)>>>,
    grids: Arc<Mutex<GridCache>>,
}

/// Decoded flight-line grids by (flight line id, layer).
type GridCache = HashMap<(i64, crate::tiles::Layer), Arc<LonLatGrid>>;

impl AppState {
    /// State over `db` with `jobs` and `config`; starts the audit writer.
    pub fn new(db: Db, jobs: Jobs, config: ApiConfig) -> AppState {
        AppState {
            auditor: Auditor::start(db.clone()),
            db,
            jobs,
            config: Arc::new(config),
            login_attempts: Arc::default(),
            grids: Arc::default(),
        }
    }

    /// Counts a sign-in attempt from `ip`; false when over the per-minute limit.
    fn login_allowed(&self, ip: Option<IpAddr>) -> bool {
        let ip = ip.unwrap_or(IpAddr::from([0, 0, 0, 0]));
        let mut map = self
            .login_attempts
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        map.retain(|_, (t, _)| now.duration_since(*t) < Duration::from_secs(60));
        let entry = map.entry(ip).or_insert((now, 0));
        entry.1 += 1;
        entry.1 <= self.config.login_attempts_per_minute
    }
}

/// The authenticated caller of an `/api` request.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The user.
    pub user: users::User,
    /// Session (browser) or API token.
    pub kind: TokenKind,
    /// The token's public key id.
    pub key_id: String,
}

impl Caller {
    /// `Ok` when the caller's role is at least `role`, else 403.
    pub fn require(&self, role: Role) -> Result<(), ApiError> {
        if self.user.role >= role {
            Ok(())
        } else {
            Err(ApiError::new(
                StatusCode::FORBIDDEN,
                format!(
                    "this needs the {} role; you are {}",
                    role.as_str(),
                    self.user.role.as_str()
                ),
            ))
        }
    }
}

/// An error response: status and a JSON body `{"error": message}`.
#[derive(Debug)]
pub struct ApiError {
    /// HTTP status (always 4xx for bad input).
    pub status: StatusCode,
    /// What went wrong and, when it helps, how to fix it.
    pub message: String,
}

impl ApiError {
    /// An error with `status` and `message`.
    pub fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
        }
    }

    /// 400 Bad Request.
    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, message)
    }

    /// 404, worded the same whether the object is missing or not granted.
    pub fn not_found(what: &str) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, format!("{what} not found"))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (
            self.status,
            Json(serde_json::json!({ "error": self.message })),
        )
            .into_response()
    }
}

impl From<crate::Error> for ApiError {
    fn from(e: crate::Error) -> ApiError {
        match e {
            crate::Error::Input(m) => ApiError::bad_request(m),
            crate::Error::NotFound(m) => ApiError::new(StatusCode::NOT_FOUND, m),
            other => {
                tracing::error!("internal error: {other}");
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal error (logged on the server)",
                )
            }
        }
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> ApiError {
        crate::Error::from(e).into()
    }
}

/// What a handler reports for the audit record, in its response's extensions: the
/// action name and the object (defaults: method + route, and the request path).
#[derive(Debug, Clone)]
pub struct AuditNote {
    /// e.g. `site.read`.
    pub action: &'static str,
    /// e.g. `site:12`.
    pub object: String,
}

/// Adds an [`AuditNote`] to a response.
pub fn noted(
    action: &'static str,
    object: impl Into<String>,
    response: impl IntoResponse,
) -> Response {
    let mut r = response.into_response();
    r.extensions_mut().insert(AuditNote {
        action,
        object: object.into(),
    });
    r
}

fn client_ip(req: &Request) -> Option<IpAddr> {
    req.extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
}

/// The cookie that carries a browser session.
pub const SESSION_COOKIE: &str = "pw_session";
/// The header that carries a session's CSRF token on state changes.
pub const CSRF_HEADER: &str = "x-csrf-token";

fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

async fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
    method: &Method,
) -> Result<Caller, ApiError> {
    let unauthorized = |m: &str| ApiError::new(StatusCode::UNAUTHORIZED, m.to_string());
    let found: Option<Authenticated> = if let Some(auth) = headers.get(header::AUTHORIZATION) {
        let token = auth
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or_else(|| unauthorized("Authorization must be `Bearer <token>`"))?;
        users::authenticate(&state.db, token.trim(), TokenKind::Api).await?
    } else if let Some(token) = cookie(headers, SESSION_COOKIE) {
        users::authenticate(&state.db, token, TokenKind::Session).await?
    } else {
        return Err(unauthorized(
            "sign in first: send `Authorization: Bearer <token>` or a session cookie",
        ));
    };
    let found = found.ok_or_else(|| unauthorized("invalid or expired credentials"))?;
    let safe = matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS);
    if found.kind == TokenKind::Session && !safe {
        let csrf = headers
            .get(CSRF_HEADER)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if !found.csrf_matches(csrf) {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "missing or wrong X-CSRF-Token header",
            ));
        }
    }
    Ok(Caller {
        user: found.user,
        kind: found.kind,
        key_id: found.key_id,
    })
}

/// Authenticates every `/api` request except sign-in, and audits every request.
async fn gate(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    let method = req.method().clone();
    let ip = client_ip(&req);
    let route = req
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |m| m.as_str().to_string());
    req.extensions_mut().insert(ClientIp(ip));
    let public = path == "/api/login";
    let (user, response) = if public {
        ("-".to_string(), next.run(req).await)
    } else {
        let headers = req.headers().clone();
        match authenticate(&state, &headers, &method).await {
            Ok(caller) => {
                let name = caller.user.name.clone();
                req.extensions_mut().insert(caller);
                (name, next.run(req).await)
            }
            Err(e) => ("-".to_string(), e.into_response()),
        }
    };
    let note = response.extensions().get::<AuditNote>().cloned();
    let status = response.status();
    let outcome = match status.as_u16() {
        200..=399 => "ok",
        401 | 403 => "denied",
        404 => "not_found",
        400..=499 => "invalid",
        _ => "error",
    };
    let (action, object) = match note {
        Some(n) => (n.action.to_string(), n.object),
        None => (
            action_name(&method, &route)
                .map_or_else(|| format!("{method} {route}"), str::to_string),
            path,
        ),
    };
    let user = response
        .extensions()
        .get::<AuditUser>()
        .map_or(user, |u| u.0.clone());
    // A request path is the client's text: keep at most 512 characters of it.
    let object = match object.char_indices().nth(512) {
        Some((cut, _)) => format!("{}…", &object[..cut]),
        None => object,
    };
    let entry = Entry {
        user,
        action,
        object,
        client: ip.map_or_else(|| "unknown".into(), |ip| ip.to_string()),
        outcome: format!("{outcome} {}", status.as_u16()),
    };
    match state.auditor.record(entry).await {
        Ok(_) => response,
        Err(e) => {
            tracing::error!("{e}");
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "the audit trail is unavailable; nothing was served",
            )
            .into_response()
        }
    }
}

/// The audit action of a route, for responses that carry no [`AuditNote`] (refusals
/// and errors), so a refused review is filed under `site.review` like an accepted one.
fn action_name(method: &Method, route: &str) -> Option<&'static str> {
    Some(match (method.as_str(), route) {
        ("POST", "/api/login") => "login",
        ("POST", "/api/logout") => "logout",
        ("GET", "/api/session") => "session.read",
        ("GET", "/api/viewer") => "viewer.read",
        ("GET", "/api/openapi.json") => "openapi.read",
        ("GET", "/api/campaigns") => "campaigns.list",
        ("GET", "/api/sites") => "sites.list",
        ("GET", "/api/sites/{id}") => "site.read",
        ("GET", "/api/sites/{id}/evidence.png") => "site.evidence",
        ("POST", "/api/sites/{id}/review") => "site.review",
        ("GET", "/api/plumes") => "plumes.list",
        ("GET", "/api/flight-lines") => "flight_lines.list",
        ("GET", "/api/tiles/{line}/{z}/{x}/{y}") => "tile.read",
        ("GET", "/api/quicklook/{line}/{z}/{x}/{y}") => "quicklook.read",
        ("GET", "/api/basemap.pmtiles") => "basemap.read",
        ("GET", "/api/export/sites.geojson") => "export.sites",
        ("GET", "/api/jobs") => "jobs.list",
        ("POST", "/api/jobs") => "job.submit",
        ("GET", "/api/jobs/{id}") => "job.read",
        ("GET", "/api/jobs/{id}/events") => "job.events",
        ("GET", "/api/audit") => "audit.read",
        ("GET", "/api/users") => "users.list",
        ("POST", "/api/users") => "users.add",
        ("POST", "/api/users/{name}/grants") => "users.grant",
        ("DELETE", "/api/users/{name}/grants/{campaign}") => "users.revoke",
        _ => return None,
    })
}

/// The user an unauthenticated request acted as (sign-in), for its audit record.
#[derive(Debug, Clone)]
pub struct AuditUser(pub String);

/// The Content-Security-Policy: scripts and styles only from this server (no inline
/// script), tiles also from the basemap's origin when one is configured.
fn content_security_policy(basemap_origin: Option<&str>) -> HeaderValue {
    let extra = basemap_origin.map(|o| format!(" {o}")).unwrap_or_default();
    HeaderValue::from_str(&format!(
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:{extra}; \
         connect-src 'self'{extra}; worker-src 'self' blob:; child-src blob:; object-src 'none'; \
         frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("default-src 'self'"))
}

async fn security_headers(State(csp): State<HeaderValue>, req: Request, next: Next) -> Response {
    let is_api = req.uri().path().starts_with("/api/");
    let https = req.extensions().get::<Https>().is_some();
    let mut r = next.run(req).await;
    let h = r.headers_mut();
    h.insert(header::CONTENT_SECURITY_POLICY, csp);
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
    if is_api && !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if https {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        );
    }
    r
}

/// Marks requests that arrived over TLS.
#[derive(Debug, Clone, Copy)]
pub struct Https;

async fn api_not_found() -> ApiError {
    ApiError::not_found("API route")
}

/// The whole application: `/api/*` behind [`gate`], the web viewer at `/`.
pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .route("/api/login", post(session::login))
        .route("/api/logout", post(session::logout))
        .route("/api/session", get(session::whoami))
        .route("/api/viewer", get(session::viewer_config))
        .route("/api/openapi.json", get(openapi::document))
        .route("/api/campaigns", get(sites::campaigns))
        .route("/api/sites", get(sites::list))
        .route("/api/sites/{id}", get(sites::one))
        .route("/api/sites/{id}/evidence.png", get(sites::evidence))
        .route("/api/sites/{id}/review", post(sites::review))
        .route("/api/plumes", get(sites::plumes))
        .route("/api/flight-lines", get(sites::flight_lines))
        .route("/api/tiles/{line}/{z}/{x}/{y}", get(sites::tile))
        .route("/api/quicklook/{line}/{z}/{x}/{y}", get(sites::quicklook))
        .route("/api/basemap.pmtiles", get(session::basemap_pmtiles))
        .route("/api/export/sites.geojson", get(sites::export))
        .route("/api/jobs", get(jobs::list).post(jobs::submit))
        .route("/api/jobs/{id}", get(jobs::one))
        .route("/api/jobs/{id}/events", get(jobs::events))
        .route("/api/audit", get(admin::audit))
        .route("/api/users", get(admin::users).post(admin::add_user))
        .route("/api/users/{name}/grants", post(admin::grant))
        .route(
            "/api/users/{name}/grants/{campaign}",
            axum::routing::delete(admin::revoke),
        )
        .route("/api/{*rest}", axum::routing::any(api_not_found))
        .route_layer(middleware::from_fn_with_state(state.clone(), gate));
    let origin = state
        .config
        .basemap
        .as_deref()
        .and_then(|b| check_basemap(b).ok());
    let csp = content_security_policy(origin.as_deref());
    let max_body = state.config.max_body_bytes;
    let timeout = state.config.request_timeout;
    api.merge(crate::web::router())
        .with_state(state)
        .layer(tower_http::limit::RequestBodyLimitLayer::new(max_body))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            timeout,
        ))
        .layer(middleware::from_fn_with_state(csp, security_headers))
}

/// Re-exported for handlers.
pub(crate) type ApiResult<T> = Result<T, ApiError>;
pub(crate) type CallerExt = Extension<Caller>;

/// The client's address (from the connection), for handlers that need it.
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub Option<IpAddr>);
