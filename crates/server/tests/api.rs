//! The API suite, run against SQLite and against a temporary PostgreSQL cluster.

mod common;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use common::{fixture_site_count, seeded, PgCluster, TestApp};
use serde_json::Value;

async fn suite(url: &str) {
    let app = seeded(url).await;
    let n_sites = fixture_site_count();
    assert!(n_sites > 0, "the fixture scan has sites");

    authentication(&app).await;
    let site = visibility(&app, n_sites).await;
    reviews(&app, site).await;
    bad_requests(&app, site).await;
    headers_and_openapi(&app).await;
    tiles(&app, site).await;
    sessions(&app, site).await;
    reingest(&app, n_sites).await;
    jobs(&app, n_sites).await;
    audit_trail(&app, site).await;
}

async fn authentication(app: &TestApp) {
    let r = app.call(Method::GET, "/api/sites", None, None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.json()["error"].as_str().unwrap().contains("sign in"));
    for bad in [
        "nonsense",
        "pw_0000000000000000_x",
        &app.viewer[..app.viewer.len() - 1],
    ] {
        let r = app.call(Method::GET, "/api/sites", Some(bad), None).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "token {bad:?}");
    }
    let r = app
        .send(
            Request::get("/api/sites")
                .header("authorization", "Basic abc")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    // Unknown API routes: 401 before sign-in, 404 after.
    assert_eq!(
        app.call(Method::GET, "/api/nothing", None, None)
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.get("/api/nothing", &app.viewer).await.status,
        StatusCode::NOT_FOUND
    );
}

/// Each user sees exactly their campaigns' sites; returns a `gulf` site id.
async fn visibility(app: &TestApp, n_sites: usize) -> i64 {
    let r = app.get("/api/sites", &app.viewer).await;
    assert_eq!(r.status, StatusCode::OK);
    let fc = r.json();
    let features = fc["features"].as_array().unwrap();
    assert_eq!(features.len(), n_sites);
    assert!(features
        .iter()
        .all(|f| f["properties"]["campaign"] == "gulf"));
    // strongest first
    let rates: Vec<f64> = features
        .iter()
        .filter_map(|f| f["properties"]["rate_kg_h"].as_f64())
        .collect();
    assert!(rates.windows(2).all(|w| w[0] >= w[1]), "{rates:?}");
    let site = features[0]["id"].as_i64().unwrap();

    let other = app.get("/api/sites", &app.outsider).await.json();
    let other_ids: Vec<i64> = other["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_i64().unwrap())
        .collect();
    assert_eq!(other_ids.len(), n_sites);
    assert!(!other_ids.contains(&site));
    // Outside one's campaigns: 404, worded as for a missing site.
    for path in [
        format!("/api/sites/{site}"),
        format!("/api/sites/{site}/evidence.png"),
    ] {
        let r = app.get(&path, &app.outsider).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}");
        let missing = app
            .get(&path.replace(&site.to_string(), "999999"), &app.outsider)
            .await;
        assert_eq!(missing.status, StatusCode::NOT_FOUND);
        assert_eq!(
            r.json()["error"],
            format!("site {site} not found"),
            "same words as for a site that does not exist"
        );
        assert_eq!(missing.json()["error"], "site 999999 not found");
    }
    let r = app
        .post(
            &format!("/api/sites/{site}/review"),
            &app.outsider,
            r#"{"verdict":"confirmed"}"#,
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    // Filters.
    let r = app
        .get("/api/sites?campaign=other", &app.viewer)
        .await
        .json();
    assert_eq!(
        r["features"].as_array().unwrap().len(),
        0,
        "a campaign not granted shows nothing"
    );
    let top = rates[0];
    let r = app
        .get(&format!("/api/sites?min_rate={top}"), &app.viewer)
        .await
        .json();
    assert!(r["features"]
        .as_array()
        .unwrap()
        .iter()
        .all(|f| f["properties"]["rate_kg_h"].as_f64().unwrap() >= top));
    let [lon, lat] = [
        features[0]["geometry"]["coordinates"][0].as_f64().unwrap(),
        features[0]["geometry"]["coordinates"][1].as_f64().unwrap(),
    ];
    let r = app
        .get(
            &format!(
                "/api/sites?bbox={},{},{},{}",
                lon - 1e-6,
                lat - 1e-6,
                lon + 1e-6,
                lat + 1e-6
            ),
            &app.viewer,
        )
        .await
        .json();
    assert_eq!(r["features"][0]["id"].as_i64(), Some(site));
    let r = app
        .get("/api/sites?since=2999-01-01", &app.viewer)
        .await
        .json();
    assert_eq!(r["features"].as_array().unwrap().len(), 0);
    let r = app
        .get("/api/sites?status=pending&limit=2", &app.viewer)
        .await
        .json();
    assert_eq!(r["features"].as_array().unwrap().len(), n_sites.min(2));
    // Site page data and evidence.
    let one = app.get(&format!("/api/sites/{site}"), &app.viewer).await;
    assert_eq!(one.status, StatusCode::OK);
    let one = one.json();
    assert!(one["properties"]["rate_kg_h"].as_f64().unwrap() > 0.0);
    assert!(one["properties"]["rate_sd_kg_h"].as_f64().is_some());
    assert!(
        !one["plumes"]["features"].as_array().unwrap().is_empty(),
        "site has plume outlines"
    );
    let png = app
        .get(&format!("/api/sites/{site}/evidence.png"), &app.viewer)
        .await;
    assert_eq!(png.status, StatusCode::OK);
    assert_eq!(&png.body[..8], b"\x89PNG\r\n\x1a\n");
    // Export.
    let ex = app.get("/api/export/sites.geojson", &app.viewer).await;
    assert_eq!(ex.status, StatusCode::OK);
    assert_eq!(ex.headers["content-type"], "application/geo+json");
    assert!(ex.headers["content-disposition"]
        .to_str()
        .unwrap()
        .contains("attachment"));
    assert_eq!(ex.json()["features"].as_array().unwrap().len(), n_sites);
    let c = app.get("/api/campaigns", &app.viewer).await.json();
    assert_eq!(c, serde_json::json!([{"name": "gulf", "sites": n_sites}]));
    site
}

async fn reviews(app: &TestApp, site: i64) {
    let path = format!("/api/sites/{site}/review");
    let r = app
        .post(&path, &app.viewer, r#"{"verdict":"confirmed","note":"x"}"#)
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "viewers may not review");
    assert!(r.json()["error"].as_str().unwrap().contains("analyst"));
    let r = app
        .post(
            &path,
            &app.analyst,
            r#"{"verdict":"needs_reflight","note":"cloud edge"}"#,
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let r = app
        .post(
            &path,
            &app.analyst,
            r#"{"verdict":"confirmed","note":"visible flare stack"}"#,
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let one = app
        .get(&format!("/api/sites/{site}"), &app.viewer)
        .await
        .json();
    assert_eq!(one["properties"]["status"], "confirmed");
    let history = one["reviews"].as_array().unwrap();
    assert_eq!(history.len(), 2);
    assert_eq!(history[0]["verdict"], "confirmed");
    assert_eq!(history[0]["user"], "ann");
    assert_eq!(history[1]["note"], "cloud edge");
    let r = app
        .get("/api/sites?status=confirmed", &app.viewer)
        .await
        .json();
    assert_eq!(r["features"].as_array().unwrap().len(), 1);
}

async fn bad_requests(app: &TestApp, site: i64) {
    let review = format!("/api/sites/{site}/review");
    let t = &app.analyst;
    for (body, why) in [
        ("{not json", "malformed"),
        (r#"{"verdict":"confirmed","extra":1}"#, "unknown field"),
        (r#"{"verdict":"maybe"}"#, "unknown verdict"),
        (r#"{"note":"no verdict"}"#, "missing verdict"),
        (r#"{"verdict":"confirmed","note":5}"#, "wrong type"),
        ("[]", "not an object"),
        ("", "empty"),
    ] {
        let r = app.post(&review, t, body).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{why}: {}", r.text());
        assert!(!r.json()["error"].as_str().unwrap().is_empty(), "{why}");
    }
    let long = format!(r#"{{"verdict":"confirmed","note":"{}"}}"#, "n".repeat(4001));
    assert_eq!(
        app.post(&review, t, &long).await.status,
        StatusCode::BAD_REQUEST
    );
    let huge = format!(
        r#"{{"verdict":"confirmed","note":"{}"}}"#,
        "n".repeat(2 << 20)
    );
    assert_eq!(
        app.post(&review, t, &huge).await.status,
        StatusCode::PAYLOAD_TOO_LARGE
    );
    let r = app
        .send(
            Request::post(&review)
                .header("authorization", format!("Bearer {t}"))
                .header("content-type", "text/plain")
                .body(Body::from(r#"{"verdict":"confirmed"}"#))
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    for path in [
        "/api/sites/abc",
        "/api/sites/..%2F..%2Fetc%2Fpasswd",
        "/api/sites/1%27%20OR%201=1",
        "/api/sites/99999999999999999999999",
        "/api/sites/abc/evidence.png",
        "/api/tiles/1/0/0/..%2F..%2Fetc%2Fpasswd",
        "/api/tiles/1/0/0/0.jpg",
        "/api/tiles/1/40/0/0.png",
        "/api/jobs/..%2F1",
        "/api/sites?campaign=x%27%20OR%201=1--",
        "/api/sites?campaign=gulf;DROP%20TABLE%20sites",
        "/api/sites?status=pending%27%20OR%20%271%27=%271",
        "/api/sites?min_rate=1%20OR%201=1",
        "/api/sites?min_rate=NaN",
        "/api/sites?bbox=1,2,3",
        "/api/sites?bbox=a,b,c,d",
        "/api/sites?bbox=5,0,1,1",
        "/api/sites?since=yesterday",
        "/api/sites?limit=0",
        "/api/sites?limit=-1",
        "/api/sites?unknown=1",
        "/api/audit?limit=99999999999999999999",
    ] {
        let r = app.get(path, &app.admin).await;
        assert!(
            r.status == StatusCode::BAD_REQUEST || r.status == StatusCode::NOT_FOUND,
            "{path}: {} {}",
            r.status,
            r.text()
        );
        assert!(r.json()["error"].is_string(), "{path}");
    }
    let long = format!("/api/sites/{}", "9".repeat(5000));
    assert_eq!(
        app.get(&long, &app.admin).await.status,
        StatusCode::BAD_REQUEST
    );
    let last = &app.get("/api/audit?limit=1", &app.admin).await.json()[0];
    assert_eq!(
        last["object"].as_str().unwrap().chars().count(),
        513,
        "long paths are cut in the audit record"
    );
    // The tables are intact after all that.
    let r = app.get("/api/sites", &app.viewer).await.json();
    assert_eq!(
        r["features"].as_array().unwrap().len(),
        fixture_site_count()
    );
    let r = app.get("/api/sites/1%20OR%201=1", &app.viewer).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    // Admin endpoints with bad input.
    let r = app
        .post(
            "/api/users",
            &app.admin,
            r#"{"name":"../../x","role":"viewer"}"#,
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = app
        .post("/api/users", &app.admin, r#"{"name":"eve","role":"root"}"#)
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = app
        .post(
            "/api/users/nobody-here/grants",
            &app.admin,
            r#"{"campaign":"gulf"}"#,
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = app
        .call(
            Method::DELETE,
            "/api/users/ann/grants/..%2Fx",
            Some(&app.admin),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
}

async fn headers_and_openapi(app: &TestApp) {
    for path in ["/api/sites", "/", "/app.js"] {
        let r = app.get(path, &app.viewer).await;
        assert_eq!(r.status, StatusCode::OK, "{path}");
        let csp = r.headers["content-security-policy"].to_str().unwrap();
        let script = csp
            .split(';')
            .find(|d| d.trim().starts_with("script-src"))
            .unwrap();
        assert!(
            !script.contains("unsafe-inline") && !script.contains("unsafe-eval"),
            "{csp}"
        );
        assert!(csp.contains("frame-ancestors 'none'"));
        assert_eq!(r.headers["x-frame-options"], "DENY");
        assert_eq!(r.headers["x-content-type-options"], "nosniff");
    }
    let html = app.get("/", &app.viewer).await.text();
    assert!(
        !html.contains("<script>") && !html.contains(" on"),
        "no inline script or handlers"
    );
    assert_eq!(
        app.call(Method::GET, "/api/openapi.json", None, None)
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    let spec = app.get("/api/openapi.json", &app.viewer).await.json();
    assert_eq!(spec["openapi"], "3.1.0");
    for route in [
        "/api/login",
        "/api/sites",
        "/api/sites/{id}",
        "/api/sites/{id}/evidence.png",
        "/api/sites/{id}/review",
        "/api/export/sites.geojson",
        "/api/jobs",
        "/api/jobs/{id}/events",
        "/api/audit",
        "/api/users",
        "/api/tiles/{line}/{z}/{x}/{y}",
        "/api/quicklook/{line}/{z}/{x}/{y}",
        "/api/basemap.pmtiles",
        "/api/flight-lines",
        "/api/plumes",
    ] {
        assert!(
            spec["paths"][route].is_object(),
            "{route} missing from the OpenAPI document"
        );
    }
}

async fn tiles(app: &TestApp, site: i64) {
    let lines = app.get("/api/flight-lines", &app.viewer).await.json();
    let lines = lines.as_array().unwrap();
    assert_eq!(lines.len(), 1);
    let id = lines[0]["id"].as_i64().unwrap();
    let b: Vec<f64> = lines[0]["bounds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    let one = app
        .get(&format!("/api/sites/{site}"), &app.viewer)
        .await
        .json();
    let (lon, lat) = (
        one["geometry"]["coordinates"][0].as_f64().unwrap(),
        one["geometry"]["coordinates"][1].as_f64().unwrap(),
    );
    assert!(
        b[0] <= lon && lon <= b[2] && b[1] <= lat && lat <= b[3],
        "the site lies in its flight line"
    );
    // The tile holding the site at zoom 12 shows coloured (enhanced) pixels.
    let z = 12u32;
    let n = f64::from(1u32 << z);
    let x = ((lon + 180.0) / 360.0 * n) as u32;
    let y = ((1.0 - lat.to_radians().tan().asinh() / std::f64::consts::PI) / 2.0 * n) as u32;
    let r = app
        .get(&format!("/api/tiles/{id}/{z}/{x}/{y}.png"), &app.viewer)
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.headers["content-type"], "image/png");
    let img = image::load_from_memory(&r.body).unwrap().to_rgba8();
    let warm = img
        .pixels()
        .filter(|p| p[0] > 190 && p[2] == 0 && p[3] > 110)
        .count();
    assert!(warm > 0, "no enhancement colour in the tile over the site");
    // Far away: an empty (transparent) tile.
    let r = app
        .get(&format!("/api/tiles/{id}/{z}/0/0.png"), &app.viewer)
        .await;
    let img = image::load_from_memory(&r.body).unwrap().to_rgba8();
    assert!(img.pixels().all(|p| p[3] == 0));
    // Over the quicklook the sub-noise footprint is left transparent.
    let r = app
        .get(
            &format!("/api/tiles/{id}/{z}/{x}/{y}.png?footprint=false"),
            &app.viewer,
        )
        .await;
    let over = image::load_from_memory(&r.body).unwrap().to_rgba8();
    assert!(over.pixels().all(|p| p[3] == 0 || p[2] == 0));
    assert_eq!(
        over.pixels().filter(|p| p[3] > 0).count(),
        warm,
        "the same enhanced pixels"
    );
    for bad in ["footprint=maybe", "footprints=false"] {
        let r = app
            .get(
                &format!("/api/tiles/{id}/{z}/{x}/{y}.png?{bad}"),
                &app.viewer,
            )
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad}");
    }
    // The flight line's quicklook (its albedo factor): opaque grey with the texture
    // of the ground, where the enhancement tile has the footprint.
    let ql = lines[0]["quicklook"].as_str().expect("a quicklook URL");
    assert_eq!(ql, format!("/api/quicklook/{id}/{{z}}/{{x}}/{{y}}.png"));
    let r = app
        .get(&format!("/api/quicklook/{id}/{z}/{x}/{y}.png"), &app.viewer)
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.headers["content-type"], "image/png");
    let q = image::load_from_memory(&r.body).unwrap().to_rgba8();
    let r = app
        .get(&format!("/api/tiles/{id}/{z}/{x}/{y}.png"), &app.viewer)
        .await;
    let img = image::load_from_memory(&r.body).unwrap().to_rgba8();
    let mut greys = std::collections::BTreeSet::new();
    for (a, b) in q.pixels().zip(img.pixels()) {
        assert_eq!(
            a[3] > 0,
            b[3] > 0,
            "quicklook and enhancement share a footprint"
        );
        if a[3] > 0 {
            assert!(a[3] == 255 && a[0] == a[1] && a[1] == a[2], "{a:?}");
            greys.insert(a[0]);
        }
    }
    assert!(
        greys.len() > 20,
        "a flat quicklook: {} grey levels",
        greys.len()
    );
    let r = app
        .get(&format!("/api/quicklook/{id}/{z}/0/0.png"), &app.viewer)
        .await;
    let img = image::load_from_memory(&r.body).unwrap().to_rgba8();
    assert!(img.pixels().all(|p| p[3] == 0));
    // Another campaign's line: 404.
    for layer in ["tiles", "quicklook"] {
        assert_eq!(
            app.get(&format!("/api/{layer}/{id}/{z}/{x}/{y}.png"), &app.outsider)
                .await
                .status,
            StatusCode::NOT_FOUND
        );
    }
    let plumes = app.get("/api/plumes", &app.viewer).await.json();
    assert!(!plumes["features"].as_array().unwrap().is_empty());
}

fn cookie_of(r: &common::Reply) -> String {
    let set = r.headers["set-cookie"].to_str().unwrap().to_string();
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Strict"),
        "{set}"
    );
    set.split(';').next().unwrap().to_string()
}

async fn sessions(app: &TestApp, site: i64) {
    let login = |body: String| {
        Request::post("/api/login")
            .header("content-type", "application/json")
            .body(Body::from(body))
            .unwrap()
    };
    let r = app
        .send(login(format!(
            r#"{{"name":"ann","token":"{}"}}"#,
            app.analyst
        )))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let cookie = cookie_of(&r);
    let csrf = r.json()["csrf"].as_str().unwrap().to_string();
    let who = app
        .send(
            Request::get("/api/session")
                .header("cookie", &cookie)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(who.json()["role"], "analyst");
    let review = |csrf: Option<&str>| {
        let mut b = Request::post(format!("/api/sites/{site}/review"))
            .header("cookie", &cookie)
            .header("content-type", "application/json");
        if let Some(c) = csrf {
            b = b.header("x-csrf-token", c);
        }
        b.body(Body::from(
            r#"{"verdict":"confirmed","note":"via browser"}"#,
        ))
        .unwrap()
    };
    assert_eq!(
        app.send(review(None)).await.status,
        StatusCode::FORBIDDEN,
        "no CSRF token"
    );
    assert_eq!(
        app.send(review(Some("wrong"))).await.status,
        StatusCode::FORBIDDEN,
        "wrong CSRF token"
    );
    assert_eq!(
        app.send(review(Some(&csrf))).await.status,
        StatusCode::CREATED
    );
    // A session cookie is not an API token and vice versa.
    let session_token = cookie.split_once('=').unwrap().1;
    assert_eq!(
        app.get("/api/sites", session_token).await.status,
        StatusCode::UNAUTHORIZED
    );
    // Wrong name or token: 401. Then the rate limit: 429.
    let r = app
        .send(login(format!(
            r#"{{"name":"vic","token":"{}"}}"#,
            app.analyst
        )))
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = app.send(login(r#"{"name":"ann"}"#.into())).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let mut limited = false;
    for _ in 0..12 {
        let r = app
            .send(login(
                r#"{"name":"ann","token":"pw_0123456789abcdef_guess"}"#.into(),
            ))
            .await;
        limited |= r.status == StatusCode::TOO_MANY_REQUESTS;
    }
    assert!(limited, "sign-in attempts are rate-limited");
    let out = app
        .send(
            Request::post("/api/logout")
                .header("cookie", &cookie)
                .header("x-csrf-token", &csrf)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(out.status, StatusCode::NO_CONTENT);
    let who = app
        .send(
            Request::get("/api/session")
                .header("cookie", &cookie)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(who.status, StatusCode::UNAUTHORIZED, "signed out");
}

async fn jobs(app: &TestApp, n_sites: usize) {
    let submit = |cube: &str| {
        format!(r#"{{"campaign":"gulf","config":{{"flight_lines":[{{"cube":"{cube}"}}]}}}}"#)
    };
    for cube in [
        "../../etc/passwd",
        "/etc/passwd",
        "line1.hdr/../../x",
        "missing.hdr",
        "",
    ] {
        let r = app.post("/api/jobs", &app.analyst, &submit(cube)).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{cube}: {}", r.text());
    }
    assert_eq!(
        app.post("/api/jobs", &app.viewer, &submit("line1.hdr"))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    let r = app
        .post("/api/jobs", &app.outsider, &submit("line1.hdr"))
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "campaign not granted");
    let r = app
        .post(
            "/api/jobs",
            &app.analyst,
            r#"{"campaign":"gulf","config":{}}"#,
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = app
        .post("/api/jobs", &app.analyst, &submit("line1.hdr"))
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text());
    let id = r.json()["id"].as_i64().unwrap();
    // Live progress: the event stream ends with the final state.
    let ev = app
        .get(&format!("/api/jobs/{id}/events"), &app.viewer)
        .await;
    assert_eq!(ev.headers["content-type"], "text/event-stream");
    let text = ev.text();
    let last: Value = serde_json::from_str(
        text.lines()
            .filter_map(|l| l.strip_prefix("data: "))
            .next_back()
            .expect("no state event"),
    )
    .unwrap();
    assert_eq!(last["status"], "succeeded", "{text}");
    let job = app
        .get(&format!("/api/jobs/{id}"), &app.viewer)
        .await
        .json();
    assert_eq!(job["status"], "succeeded");
    assert_eq!(job["user"], "ann");
    let sites = app.get("/api/sites", &app.viewer).await.json();
    assert_eq!(
        sites["features"].as_array().unwrap().len(),
        2 * n_sites,
        "the job's scan was stored"
    );
    assert_eq!(
        app.get(&format!("/api/jobs/{id}"), &app.outsider)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let list = app.get("/api/jobs", &app.viewer).await.json();
    assert_eq!(list[0]["id"].as_i64(), Some(id));
}

async fn audit_trail(app: &TestApp, site: i64) {
    assert_eq!(
        app.get("/api/audit", &app.analyst).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.get("/api/users", &app.viewer).await.status,
        StatusCode::FORBIDDEN
    );
    let recs = app
        .get("/api/audit?action=site.review&limit=50", &app.admin)
        .await
        .json();
    let recs = recs.as_array().unwrap();
    assert!(recs.iter().any(|r| r["user"] == "ann"
        && r["object"] == format!("site:{site} confirmed")
        && r["outcome"] == "ok 201"));
    assert!(
        recs.iter()
            .any(|r| r["user"] == "vic" && r["outcome"] == "denied 403"),
        "refusals are audited too"
    );
    let all = app.get("/api/audit?limit=5000", &app.admin).await.json();
    let all = all.as_array().unwrap();
    for action in [
        "sites.list",
        "site.read",
        "site.evidence",
        "export.sites",
        "login",
        "job.submit",
        "tile.read",
    ] {
        assert!(
            all.iter().any(|r| r["action"] == action),
            "no {action} record"
        );
    }
    assert!(
        all.iter()
            .any(|r| r["user"] == "-" && r["outcome"] == "denied 401"),
        "unauthenticated calls audited"
    );
    let v = plumewatch_server::audit::verify(&app.db).await.unwrap();
    assert_eq!(v.first_broken, None);
    assert!(v.records as usize >= all.len());
    // Admin: add a user, grant, revoke.
    let r = app
        .post(
            "/api/users",
            &app.admin,
            r#"{"name":"newbie","role":"viewer"}"#,
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let token = r.json()["token"].as_str().unwrap().to_string();
    assert_eq!(
        app.get("/api/sites", &token).await.json()["features"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
    assert_eq!(
        app.post(
            "/api/users/newbie/grants",
            &app.admin,
            r#"{"campaign":"gulf"}"#
        )
        .await
        .status,
        StatusCode::CREATED
    );
    assert!(!app.get("/api/sites", &token).await.json()["features"]
        .as_array()
        .unwrap()
        .is_empty());
    let r = app
        .call(
            Method::DELETE,
            "/api/users/newbie/grants/gulf",
            Some(&app.admin),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(
        app.get(&format!("/api/sites/{site}"), &token).await.status,
        StatusCode::NOT_FOUND
    );
}

/// The same output set ingested again into a campaign stores nothing and names the
/// scan that holds it; another campaign, or a changed output set, is stored.
async fn reingest(app: &TestApp, n_sites: usize) {
    use plumewatch_server::ingest::ingest;
    let before = app.get("/api/flight-lines", &app.viewer).await.json();
    let first = ingest(&app.db, &common::fixture_scan(), "gulf")
        .await
        .unwrap();
    let again = ingest(&app.db, &common::fixture_scan(), "gulf")
        .await
        .unwrap();
    assert!(first.already_ingested_at.is_some(), "seeded already");
    assert_eq!((again.scan_id, again.sites), (first.scan_id, 0));
    let sites = app.get("/api/sites", &app.viewer).await.json();
    assert_eq!(sites["features"].as_array().unwrap().len(), n_sites);
    assert_eq!(
        app.get("/api/flight-lines", &app.viewer).await.json(),
        before
    );
    // A copy elsewhere is the same output set.
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("copy");
    common::copy_dir(&common::fixture_scan(), &copy);
    let r = ingest(&app.db, &copy, "gulf").await.unwrap();
    assert_eq!(r.already_ingested_at, first.already_ingested_at);
    // Another campaign stores it (once).
    let b = ingest(&app.db, &copy, "reingest-b").await.unwrap();
    assert!(b.already_ingested_at.is_none());
    assert_eq!((b.sites, b.flight_lines, b.quicklooks), (n_sites, 1, 1));
    assert!(ingest(&app.db, &copy, "reingest-b")
        .await
        .unwrap()
        .already_ingested_at
        .is_some());
    // A changed file is a different output set.
    let sites_path = copy.join("sites.geojson");
    let text = std::fs::read_to_string(&sites_path).unwrap();
    std::fs::write(&sites_path, format!("{text}\n")).unwrap();
    let c = ingest(&app.db, &copy, "reingest-b").await.unwrap();
    assert!(c.already_ingested_at.is_none() && c.scan_id != b.scan_id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_suite_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    suite(dir.path().join("pw.db").to_str().unwrap()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_suite_postgres() {
    let Some(pg) = PgCluster::start() else { return };
    suite(&pg.url).await;
}

#[tokio::test]
async fn basemap_origin_is_the_only_addition_to_the_csp() {
    use plumewatch_server::api::check_basemap;
    assert_eq!(
        check_basemap("https://tiles.example.org/{z}/{x}/{y}.png").unwrap(),
        "https://tiles.example.org"
    );
    assert_eq!(
        check_basemap("http://127.0.0.1:8081/t/{z}/{x}/{y}.png").unwrap(),
        "http://127.0.0.1:8081"
    );
    for bad in [
        "http://tiles.example.org/{z}/{x}/{y}.png",
        "https://tiles.example.org/tile.png",
        "https://tiles.example.org/{z}/{x}/{y}.png; script-src *",
        "https://evil.org'/{z}/{x}/{y}",
        "javascript:alert(1)",
    ] {
        assert!(check_basemap(bad).is_err(), "{bad}");
    }
    let dir = tempfile::tempdir().unwrap();
    let mut app = seeded(dir.path().join("b.db").to_str().unwrap()).await;
    let url = "https://tiles.example.org/{z}/{x}/{y}.png";
    let config = plumewatch_server::api::ApiConfig {
        basemap: Some(url.into()),
        ..Default::default()
    };
    let state =
        plumewatch_server::api::AppState::new(app.db.clone(), app.state.jobs.clone(), config);
    app.router = plumewatch_server::api::router(state);
    let r = app.get("/api/viewer", &app.viewer).await;
    assert_eq!(r.json()["basemap"], url);
    let csp = r.headers["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        csp.contains("img-src 'self' data: blob: https://tiles.example.org;"),
        "{csp}"
    );
    assert!(
        csp.contains("connect-src 'self' https://tiles.example.org;"),
        "{csp}"
    );
    assert!(csp.contains("script-src 'self';"), "{csp}");
}

#[tokio::test]
async fn expired_sessions_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = seeded(dir.path().join("s.db").to_str().unwrap()).await;
    let config = plumewatch_server::api::ApiConfig {
        session_lifetime: std::time::Duration::ZERO,
        ..Default::default()
    };
    let state =
        plumewatch_server::api::AppState::new(app.db.clone(), app.state.jobs.clone(), config);
    app.router = plumewatch_server::api::router(state);
    let login = Request::post("/api/login")
        .header("content-type", "application/json")
        .body(Body::from(format!(
            r#"{{"name":"vic","token":"{}"}}"#,
            app.viewer
        )))
        .unwrap();
    let r = app.send(login).await;
    assert_eq!(r.status, StatusCode::OK);
    let cookie = cookie_of(&r);
    let who = app
        .send(
            Request::get("/api/session")
                .header("cookie", &cookie)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(who.status, StatusCode::UNAUTHORIZED);
    assert_eq!(who.json()["error"], "invalid or expired credentials");
}

#[tokio::test]
async fn pmtiles_basemap_by_range_requests() {
    use plumewatch_server::basemap::Pmtiles;
    let dir = tempfile::tempdir().unwrap();
    let tile = common::solid_png([40, 90, 60]);
    let path = dir.path().join("base.pmtiles");
    let file = common::write_tiny_pmtiles(&path, &tile);
    let not = dir.path().join("not.pmtiles");
    std::fs::write(&not, vec![b'x'; 200]).unwrap();
    let e = Pmtiles::open(&not).unwrap_err().to_string();
    assert!(e.contains("not.pmtiles") && e.contains("PMTiles v3"), "{e}");
    let e = Pmtiles::open(&dir.path().join("missing.pmtiles"))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("missing.pmtiles") && e.contains("cannot open"),
        "{e}"
    );
    let p = Pmtiles::open(&path).unwrap();
    assert_eq!((p.tile_type, p.min_zoom, p.max_zoom), ("png", 0, 0));
    assert_eq!(p.bounds, [-180.0, -85.0, 180.0, 85.0]);

    let mut app = seeded(dir.path().join("p.db").to_str().unwrap()).await;
    // Without a basemap the route answers 404.
    let r = app.get("/api/basemap.pmtiles", &app.viewer).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let mut config = plumewatch_server::api::ApiConfig {
        basemap: Some(path.to_str().unwrap().into()),
        ..Default::default()
    };
    plumewatch_server::serve::resolve_basemap(&mut config).unwrap();
    assert!(config.basemap.is_none() && config.basemap_pmtiles.is_some());
    let state =
        plumewatch_server::api::AppState::new(app.db.clone(), app.state.jobs.clone(), config);
    app.router = plumewatch_server::api::router(state);
    let v = app.get("/api/viewer", &app.viewer).await.json();
    assert_eq!(v["basemap_pmtiles"]["url"], "/api/basemap.pmtiles");
    assert_eq!(v["basemap_pmtiles"]["tile_type"], "png");
    let csp = app.get("/api/viewer", &app.viewer).await.headers["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        csp.contains("connect-src 'self';"),
        "served from here: {csp}"
    );

    let range = |r: &str| {
        Request::get("/api/basemap.pmtiles")
            .header("authorization", format!("Bearer {}", app.viewer))
            .header("range", r.to_string())
            .body(Body::empty())
            .unwrap()
    };
    let len = file.len();
    // What the pmtiles reader asks first: 16 KiB, clamped to the file.
    let r = app.send(range("bytes=0-16383")).await;
    assert_eq!(r.status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(
        r.headers["content-range"],
        format!("bytes 0-{}/{len}", len - 1)
    );
    assert_eq!(r.headers["accept-ranges"], "bytes");
    assert!(r.headers.contains_key("etag"));
    assert_eq!(r.body, file);
    // Follow the archive as a reader does: root directory, then the tile's bytes.
    let u64_at = |at: usize| u64::from_le_bytes(r.body[at..at + 8].try_into().unwrap());
    let (dir_off, dir_len, data_off) = (u64_at(8), u64_at(16), u64_at(56));
    let d = app
        .send(range(&format!("bytes={dir_off}-{}", dir_off + dir_len - 1)))
        .await;
    assert_eq!(d.status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(d.body.len() as u64, dir_len);
    // One entry: tile id 0, run 1, length, offset + 1 (single-byte varints here).
    assert_eq!(&d.body[..3], &[1, 0, 1]);
    let tile_len = u64::from(d.body[3] & 0x7f) | (u64::from(d.body[4]) << 7);
    assert_eq!(tile_len as usize, tile.len());
    let t = app
        .send(range(&format!(
            "bytes={data_off}-{}",
            data_off + tile_len - 1
        )))
        .await;
    assert_eq!(t.body, tile);
    let img = image::load_from_memory(&t.body).unwrap().to_rgb8();
    assert_eq!(img.get_pixel(100, 100).0, [40, 90, 60]);
    // Suffix and open ranges; past the end 416; malformed 400; no credentials 401.
    assert_eq!(app.send(range("bytes=-10")).await.body, &file[len - 10..]);
    assert_eq!(app.send(range("bytes=120-")).await.body, &file[120..]);
    let r = app.send(range(&format!("bytes={len}-"))).await;
    assert_eq!(r.status, StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(r.headers["content-range"], format!("bytes */{len}"));
    for bad in [
        "bytes=5-1",
        "bytes=0-1,4-5",
        "lines=0-1",
        "bytes=a-b",
        "bytes=-",
    ] {
        let r = app.send(range(bad)).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad}");
    }
    let r = app.get("/api/basemap.pmtiles", &app.viewer).await;
    assert_eq!((r.status, r.body.len()), (StatusCode::OK, len));
    let r = app
        .call(Method::GET, "/api/basemap.pmtiles", None, None)
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    // Each read is on the audit trail.
    let audit = app
        .get("/api/audit?action=basemap.read&limit=100", &app.admin)
        .await
        .json();
    assert!(audit.as_array().unwrap().len() >= 8, "{audit}");
}
