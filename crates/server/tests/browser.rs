//! The web viewer in a real browser (Debian's chromium through chromium-driver):
//! an analyst signs in, sees the map with its sites over the flight line's quicklook
//! and a PMTiles basemap served by this server (layers switch off and on), opens a
//! site and confirms it; an admin finds that review in the audit log; a viewer gets no
//! review form and 403 from the API. No page logs an error. Screenshots go to the
//! test's output folder.

mod common;

use common::{fixture_site_count, have_tool, seeded, which, TestApp};
use fantoccini::{Client, ClientBuilder, Locator};
use plumewatch_server::api::{self, ApiConfig, AppState};
use serde_json::json;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The test basemap's colour.
const BASEMAP_RGB: [u8; 3] = [40, 90, 60];

struct Driver(Child);
impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn start_server(app: &TestApp) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = app.router.clone();
    tokio::spawn(async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap();
    });
    addr
}

async fn browser(profile: &std::path::Path) -> (Driver, Client) {
    let port = common::free_port();
    let driver = Command::new(which("chromedriver").unwrap())
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let driver = Driver(driver);
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": which("chromium").unwrap(),
            "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                     "--disable-background-networking", "--disable-component-update", "--disable-sync",
                     "--disable-dev-shm-usage", "--window-size=1440,1000", "--use-gl=swiftshader",
                     "--enable-unsafe-swiftshader", format!("--user-data-dir={}", profile.display())],
        }),
    );
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    let client = ClientBuilder::new(connector)
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{port}"))
        .await
        .expect("cannot start chromium through chromedriver");
    (driver, client)
}

async fn wait_css(c: &Client, css: &str) -> fantoccini::elements::Element {
    c.wait()
        .at_most(Duration::from_secs(30))
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css} did not appear: {e}"))
}

async fn no_errors(c: &Client, page: &str) {
    let errors = c
        .execute("return window.pwErrors || ['app.js did not run']", vec![])
        .await
        .unwrap();
    assert_eq!(errors, json!([]), "errors on the {page} page");
}

async fn sign_in(c: &Client, base: &str, name: &str, token: &str) {
    c.goto(&format!("{base}/#/login")).await.unwrap();
    wait_css(c, "#login-name")
        .await
        .send_keys(name)
        .await
        .unwrap();
    c.find(Locator::Css("#login-token"))
        .await
        .unwrap()
        .send_keys(token)
        .await
        .unwrap();
    c.find(Locator::Css("#login-submit"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_css(c, "#who").await;
}

async fn shot(c: &Client, dir: &std::path::Path, name: &str) -> image::RgbaImage {
    let png = c.screenshot().await.unwrap();
    std::fs::write(dir.join(name), &png).unwrap();
    image::load_from_memory(&png).unwrap().to_rgba8()
}

/// Switches a map layer group and waits until the map has drawn it.
async fn toggle_layer(c: &Client, group: &str) {
    c.find(Locator::Css(&format!("#layer-{group}")))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_css(c, "#map[data-idle='1']").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
}

/// Pixels of the map area (left of the site table, below the header) that are
/// opaque neutral grey, as the quicklook draws them, as a fraction.
fn quicklook_fraction(img: &image::RgbaImage) -> f64 {
    let (w, h) = img.dimensions();
    let (x1, y0) = (w.saturating_sub(560), 48.min(h));
    let mut n = (0usize, 0usize);
    for y in y0..h {
        for x in 0..x1 {
            let p = img.get_pixel(x, y);
            n.1 += 1;
            if p[0] == p[1] && p[1] == p[2] && p[0] >= 20 {
                n.0 += 1;
            }
        }
    }
    n.0 as f64 / n.1.max(1) as f64
}

fn near(p: &image::Rgba<u8>, rgb: [u8; 3]) -> bool {
    (0..3).all(|i| p[i].abs_diff(rgb[i]) <= 6)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn viewer_in_chromium() {
    if !have_tool("chromium") || !have_tool("chromedriver") {
        return;
    }
    let out: PathBuf = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("browser");
    std::fs::create_dir_all(&out).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut app = seeded(dir.path().join("b.db").to_str().unwrap()).await;
    // A user-supplied PMTiles basemap: one green tile over the world.
    let basemap = dir.path().join("base.pmtiles");
    common::write_tiny_pmtiles(&basemap, &common::solid_png(BASEMAP_RGB));
    let mut config = ApiConfig {
        basemap: Some(basemap.to_str().unwrap().into()),
        ..Default::default()
    };
    plumewatch_server::serve::resolve_basemap(&mut config).unwrap();
    app.router = api::router(AppState::new(
        app.db.clone(),
        app.state.jobs.clone(),
        config,
    ));
    let addr = start_server(&app).await;
    let base = format!("http://{addr}");
    let (_driver, c) = browser(&dir.path().join("profile")).await;

    // Analyst: sign in, the map renders with the sites, the table lists them.
    sign_in(&c, &base, "ann", &app.analyst).await;
    let map = wait_css(&c, "#map[data-ready]").await;
    let n = fixture_site_count();
    assert_eq!(map.attr("data-ready").await.unwrap(), Some(n.to_string()));
    let rows = c
        .find_all(Locator::Css("#site-table tbody tr"))
        .await
        .unwrap();
    assert_eq!(rows.len(), n);
    let painted = c
        .execute(
            "const m = document.querySelector('#map canvas'); return m ? [m.width, m.height] : null;",
            vec![],
        )
        .await
        .unwrap();
    assert!(painted[0].as_u64().unwrap() > 300, "map canvas: {painted}");
    // Tiles fade in.
    tokio::time::sleep(Duration::from_millis(800)).await;
    // The basemap shows around the flight line (the fit leaves a margin), read from
    // the PMTiles file by range requests; the quicklook covers the flight line.
    let img = shot(&c, &out, "map-basemap.png").await;
    let edge = img.get_pixel(12, img.height() / 2);
    assert!(
        near(edge, BASEMAP_RGB),
        "basemap colour at the map's edge: {edge:?}"
    );
    let with_quicklook = quicklook_fraction(&img);
    assert!(with_quicklook > 0.05, "quicklook covers {with_quicklook}");
    let reads: Vec<String> = sqlx::query_scalar(
        "SELECT object FROM audit WHERE action = 'basemap.read' AND user_name = 'ann'",
    )
    .fetch_all(&app.db.pool)
    .await
    .unwrap();
    // Read by range requests from this server (the browser may answer later ranges
    // from its cache of the first, which here holds the whole small file).
    assert!(
        !reads.is_empty() && reads.iter().all(|o| o.starts_with("basemap bytes=")),
        "{reads:?}"
    );
    toggle_layer(&c, "basemap").await;
    let img = shot(&c, &out, "map-no-basemap.png").await;
    let edge = img.get_pixel(12, img.height() / 2);
    assert!(
        near(edge, [0x11, 0x16, 0x1d]),
        "background at the map's edge: {edge:?}"
    );
    toggle_layer(&c, "quicklook").await;
    let img = shot(&c, &out, "map-no-quicklook.png").await;
    let without = quicklook_fraction(&img);
    assert!(
        without < with_quicklook / 10.0,
        "quicklook off: {without} (on: {with_quicklook})"
    );
    toggle_layer(&c, "quicklook").await;
    let img = shot(&c, &out, "map.png").await;
    assert!(quicklook_fraction(&img) > 0.05);
    no_errors(&c, "map").await;

    // Open the strongest site and confirm it.
    rows[0].click().await.unwrap();
    wait_css(&c, "#review-form").await;
    wait_css(&c, "#evidence").await;
    c.find(Locator::Css("#review-verdict"))
        .await
        .unwrap()
        .select_by_value("confirmed")
        .await
        .unwrap();
    c.find(Locator::Css("#review-note"))
        .await
        .unwrap()
        .send_keys("flare stack visible in the evidence chip")
        .await
        .unwrap();
    c.find(Locator::Css("#review-submit"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let li = wait_css(&c, "#review-history li .status-confirmed").await;
    drop(li);
    let history = c
        .find(Locator::Css("#review-history"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        history.contains("ann") && history.contains("flare stack"),
        "{history}"
    );
    let site_url = c.current_url().await.unwrap().to_string();
    tokio::time::sleep(Duration::from_millis(300)).await;
    shot(&c, &out, "site.png").await;
    no_errors(&c, "site").await;
    c.goto(&format!("{base}/#/jobs")).await.unwrap();
    wait_css(&c, "#jobs-table").await;
    wait_css(&c, "#job-campaign option[value='gulf']").await;
    // Submit a scan (the test runner stores the fixture scan) and watch it finish.
    let config = c.find(Locator::Css("#job-config")).await.unwrap();
    config.clear().await.unwrap();
    config
        .send_keys(r#"{"flight_lines": [{"cube": "line1.hdr"}]}"#)
        .await
        .unwrap();
    c.find(Locator::Css("#job-form button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_css(&c, "#job-message p").await;
    wait_css(&c, "#jobs-table tr[data-job] .status-succeeded").await;
    shot(&c, &out, "jobs.png").await;
    no_errors(&c, "jobs").await;
    c.find(Locator::Css("#signout"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_css(&c, "#login-name").await;

    // Admin: the review is in the audit log.
    sign_in(&c, &base, "ada", &app.admin).await;
    c.goto(&format!("{base}/#/admin")).await.unwrap();
    let rec = wait_css(&c, "#audit-table tr[data-action='site.review']").await;
    let text = rec.text().await.unwrap();
    assert!(text.contains("ann") && text.contains("confirmed"), "{text}");
    shot(&c, &out, "admin.png").await;
    no_errors(&c, "admin").await;
    c.find(Locator::Css("#signout"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_css(&c, "#login-name").await;

    // Viewer: same site page without a review form; the API says 403.
    sign_in(&c, &base, "vic", &app.viewer).await;
    c.goto(&site_url).await.unwrap();
    wait_css(&c, "#site-numbers").await;
    assert!(
        c.find(Locator::Css("#review-form")).await.is_err(),
        "viewer sees a review form"
    );
    let id = site_url.rsplit('/').next().unwrap();
    let status = c
        .execute_async(
            "const [id, done] = arguments; fetch('/api/sites/' + id + '/review', {method: 'POST', \
             headers: {'Content-Type': 'application/json', 'X-CSRF-Token': sessionStorage.getItem('pw_csrf')}, \
             body: JSON.stringify({verdict: 'dismissed'})}).then(r => done(r.status));",
            vec![json!(id)],
        )
        .await
        .unwrap();
    assert_eq!(status, json!(403));
    shot(&c, &out, "site-viewer.png").await;
    no_errors(&c, "viewer site").await;
    c.close().await.unwrap();
    eprintln!("screenshots in {}", out.display());
}
