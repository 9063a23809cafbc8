//! The web viewer: a single page (sign-in, map, site, jobs, admin) whose files,
//! MapLibre GL JS and the `pmtiles` reader (from the npm registry, via
//! `web/package-lock.json`) are embedded in the binary. No CDN, no inline script.

use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;

macro_rules! asset {
    ($path:literal) => {
        include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/web/", $path))
    };
}

/// Every embedded file: URL path, content type, bytes.
pub const ASSETS: &[(&str, &str, &[u8])] = &[
    ("/", "text/html; charset=utf-8", asset!("index.html")),
    (
        "/app.js",
        "text/javascript; charset=utf-8",
        asset!("app.js"),
    ),
    ("/app.css", "text/css; charset=utf-8", asset!("app.css")),
    (
        "/vendor/maplibre-gl.js",
        "text/javascript; charset=utf-8",
        asset!("node_modules/maplibre-gl/dist/maplibre-gl.js"),
    ),
    (
        "/vendor/maplibre-gl.css",
        "text/css; charset=utf-8",
        asset!("node_modules/maplibre-gl/dist/maplibre-gl.css"),
    ),
    (
        "/vendor/pmtiles.js",
        "text/javascript; charset=utf-8",
        asset!("node_modules/pmtiles/dist/pmtiles.js"),
    ),
    ("/favicon.ico", "image/svg+xml", asset!("favicon.svg")),
];

/// Routes serving [`ASSETS`].
pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    let mut r = Router::new();
    for &(path, content_type, bytes) in ASSETS {
        r = r.route(
            path,
            get(move || async move {
                (
                    [
                        (header::CONTENT_TYPE, content_type),
                        (header::CACHE_CONTROL, "no-cache"),
                    ],
                    bytes,
                )
                    .into_response()
            }),
        );
    }
    r
}
