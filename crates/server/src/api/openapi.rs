//! The OpenAPI 3.1 description of the API, served at `/api/openapi.json`.

use super::noted;
use axum::response::Response;
use axum::Json;
use serde_json::{json, Value};

fn op(
    summary: &str,
    role: &str,
    params: &[(&str, &str, &str)],
    body: Option<&str>,
    ok: &str,
) -> Value {
    let parameters: Vec<Value> = params
        .iter()
        .map(|(name, place, desc)| {
            json!({"name": name, "in": place, "required": *place == "path", "description": desc,
                   "schema": {"type": "string"}})
        })
        .collect();
    let mut o = json!({
        "summary": summary,
        "description": format!("Role: {role}. Every call is audited."),
        "parameters": parameters,
        "responses": {
            ok: {"description": "success"},
            "400": {"$ref": "#/components/responses/Error"},
            "401": {"$ref": "#/components/responses/Error"},
            "403": {"$ref": "#/components/responses/Error"},
            "404": {"$ref": "#/components/responses/Error"},
        },
    });
    if let Some(schema) = body {
        o["requestBody"] = json!({"required": true, "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{schema}")}}}});
        o["responses"]["413"] = json!({"$ref": "#/components/responses/Error"});
    }
    o
}

/// The document.
pub fn spec() -> Value {
    let id = ("id", "path", "site id");
    let filters = [
        ("bbox", "query", "west,south,east,north (degrees, WGS84)"),
        ("campaign", "query", "campaign name"),
        ("min_rate", "query", "minimum emission rate, kg/h"),
        (
            "status",
            "query",
            "pending | confirmed | dismissed | needs_reflight",
        ),
        ("since", "query", "detected at or after (RFC 3339 or date)"),
        ("until", "query", "detected before (RFC 3339 or date)"),
        (
            "limit",
            "query",
            "at most this many (1-10000, default 1000)",
        ),
    ];
    json!({
        "openapi": "3.1.0",
        "info": {"title": "plumewatch serve", "version": env!("CARGO_PKG_VERSION"),
                 "description": "Candidate emission sites behind access control, with a hash-chained audit trail. \
                                 Authenticate with `Authorization: Bearer <token>` (from `plumewatch users add`) or the \
                                 session cookie from POST /api/login plus an X-CSRF-Token header on state changes. \
                                 Objects outside your campaigns answer 404."},
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "session": {"type": "apiKey", "in": "cookie", "name": "pw_session"},
            },
            "responses": {"Error": {"description": "error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}},
            "schemas": {
                "Error": {"type": "object", "properties": {"error": {"type": "string"}}, "required": ["error"]},
                "Login": {"type": "object", "additionalProperties": false, "required": ["name", "token"],
                          "properties": {"name": {"type": "string"}, "token": {"type": "string"}}},
                "Review": {"type": "object", "additionalProperties": false, "required": ["verdict"],
                           "properties": {"verdict": {"enum": ["confirmed", "dismissed", "needs_reflight"]},
                                          "note": {"type": "string", "maxLength": 4000}}},
                "JobSubmit": {"type": "object", "additionalProperties": false, "required": ["campaign", "config"],
                              "properties": {"campaign": {"type": "string"},
                                             "config": {"type": "object", "description": "ScanConfig; flight_lines[].cube relative to the server's --data-dir"}}},
                "NewUser": {"type": "object", "additionalProperties": false, "required": ["name", "role"],
                            "properties": {"name": {"type": "string"}, "role": {"enum": ["viewer", "analyst", "admin"]}}},
                "Grant": {"type": "object", "additionalProperties": false, "required": ["campaign"],
                          "properties": {"campaign": {"type": "string"}}},
            },
        },
        "security": [{"bearer": []}, {"session": []}],
        "paths": {
            "/api/login": {"post": op("Exchange an API token for a session cookie; returns the CSRF token", "anyone (rate-limited)", &[], Some("Login"), "200")},
            "/api/logout": {"post": op("End the session", "any", &[], None, "204")},
            "/api/session": {"get": op("The caller's name and role", "any", &[], None, "200")},
            "/api/viewer": {"get": op("Viewer settings: the optional basemap (an XYZ URL template, or a PMTiles file's URL here)", "any", &[], None, "200")},
            "/api/basemap.pmtiles": {"get": op("The PMTiles basemap given at start, by byte ranges (Range: bytes=first-last, 206)", "viewer",
                &[("Range", "header", "bytes=first-last")], None, "206")},
            "/api/openapi.json": {"get": op("This document", "any", &[], None, "200")},
            "/api/campaigns": {"get": op("Campaigns granted to the caller", "viewer", &[], None, "200")},
            "/api/sites": {"get": op("Sites (GeoJSON FeatureCollection), strongest first", "viewer", &filters, None, "200")},
            "/api/sites/{id}": {"get": op("A site with its plume outlines and review history", "viewer", &[id], None, "200")},
            "/api/sites/{id}/evidence.png": {"get": op("The site's evidence chip (PNG)", "viewer", &[id], None, "200")},
            "/api/sites/{id}/review": {"post": op("Record a verdict", "analyst", &[id], Some("Review"), "201")},
            "/api/plumes": {"get": op("Plume outlines (GeoJSON)", "viewer", &[("campaign", "query", "campaign name")], None, "200")},
            "/api/flight-lines": {"get": op("Flight lines with bounds and tile URL templates (enhancement; quicklook or null)", "viewer", &[("campaign", "query", "campaign name")], None, "200")},
            "/api/tiles/{line}/{z}/{x}/{y}": {"get": op("XYZ PNG tile of a flight line's CH4 enhancement (y ends in .png; footprint=false leaves the sub-noise footprint transparent)", "viewer",
                &[("line", "path", "flight line id"), ("z", "path", "zoom"), ("x", "path", "column"), ("y", "path", "row + .png"), ("footprint", "query", "true (default) or false")], None, "200")},
            "/api/quicklook/{line}/{z}/{x}/{y}": {"get": op("XYZ PNG tile of a flight line's quicklook: its albedo factor in grey (y ends in .png)", "viewer",
                &[("line", "path", "flight line id"), ("z", "path", "zoom"), ("x", "path", "column"), ("y", "path", "row + .png")], None, "200")},
            "/api/export/sites.geojson": {"get": op("Download sites as GeoJSON", "viewer", &filters, None, "200")},
            "/api/jobs": {"get": op("Scan jobs of the caller's campaigns", "viewer", &[], None, "200"),
                          "post": op("Queue a scan", "analyst", &[], Some("JobSubmit"), "202")},
            "/api/jobs/{id}": {"get": op("A job's state", "viewer", &[("id", "path", "job id")], None, "200")},
            "/api/jobs/{id}/events": {"get": op("Live job state (text/event-stream, event `state`)", "viewer", &[("id", "path", "job id")], None, "200")},
            "/api/audit": {"get": op("Newest audit records", "admin", &[("limit", "query", "1-5000"), ("action", "query", "e.g. site.review")], None, "200")},
            "/api/users": {"get": op("Users, roles, grants", "admin", &[], None, "200"),
                           "post": op("Create a user; the token is shown once", "admin", &[], Some("NewUser"), "201")},
            "/api/users/{name}/grants": {"post": op("Grant a campaign", "admin", &[("name", "path", "user name")], Some("Grant"), "201")},
            "/api/users/{name}/grants/{campaign}": {"delete": op("Revoke a campaign", "admin", &[("name", "path", "user name"), ("campaign", "path", "campaign name")], None, "204")},
        },
    })
}

/// `GET /api/openapi.json`.
pub async fn document() -> Response {
    noted("openapi.read", "openapi", Json(spec()))
}
