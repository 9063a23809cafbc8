//! A scan job through the API with the real pipeline (the scan library) on the bundled
//! scene: refused configurations are 400 at submission; an accepted one runs, reports
//! progress and stores its sites.

mod common;

use axum::http::StatusCode;
use common::{seeded, Reply, TestApp};
use plumewatch_server::api::{self, ApiConfig, AppState};
use plumewatch_server::jobs::{default_runner, Jobs};
use std::path::Path;
use std::time::{Duration, Instant};

async fn with_library_runner(app: &mut TestApp) {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/scenes");
    let work = app.data_dir.path().join("lib-work");
    let jobs = Jobs::start(app.db.clone(), default_runner(), Some(data), work, 1)
        .await
        .unwrap();
    app.router = api::router(AppState::new(app.db.clone(), jobs, ApiConfig::default()));
}

fn submit(config: &str) -> String {
    format!(r#"{{"campaign":"gulf","config":{config}}}"#)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scan_job_with_the_library_on_the_bundled_scene() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = seeded(dir.path().join("j.db").to_str().unwrap()).await;
    with_library_runner(&mut app).await;
    let line = r#""cube":"emit_small/radiance.hdr","wind":{"speed_m_s":6,"from_deg":300}"#;
    for (config, why) in [
        (format!(r#"{{"flight_lines":[{{{line}}}],"detectr":"mf"}}"#), "unknown field"),
        (format!(r#"{{"flight_lines":[{{{line}}}],"detector":"magic"}}"#), "unknown detector"),
        (r#"{"flight_lines":[{"cube":"emit_small/radiance.hdr","wind":{"speed_m_s":-3,"from_deg":300}}]}"#.to_string(), "negative wind"),
        (r#"{"flight_lines":[{"cube":"../emit_small/radiance.hdr"}]}"#.to_string(), "traversal"),
    ] {
        let r: Reply = app.post("/api/jobs", &app.analyst, &submit(&config)).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{why}: {}", r.text());
    }
    let config = format!(r#"{{"flight_lines":[{{{line}}}],"detection_limit":{{"runs":0}}}}"#);
    let r = app.post("/api/jobs", &app.analyst, &submit(&config)).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text());
    let id = r.json()["id"].as_i64().unwrap();
    let t0 = Instant::now();
    let job = loop {
        let job = app
            .get(&format!("/api/jobs/{id}"), &app.viewer)
            .await
            .json();
        if job["status"] == "succeeded" || job["status"] == "failed" {
            break job;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(600),
            "scan job did not finish: {job}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(job["status"], "succeeded", "{job}");
    let scan_id = job["scan_id"].as_i64().unwrap();
    let sites = app.get("/api/sites", &app.viewer).await.json();
    let from_job: Vec<_> = sites["features"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["properties"]["scan_id"].as_i64() == Some(scan_id))
        .collect();
    assert!(!from_job.is_empty(), "the scan found no sites");
    assert!(from_job
        .iter()
        .all(|f| f["properties"]["rate_kg_h"].as_f64().unwrap() > 0.0));
    let lines = app.get("/api/flight-lines", &app.viewer).await.json();
    assert_eq!(
        lines.as_array().unwrap().len(),
        2,
        "the job's enhancement raster is stored"
    );
}
