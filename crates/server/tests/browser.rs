//! The web viewer in a real browser (Debian's chromium through chromium-driver):
//! an analyst signs in, sees the map with its sites, opens a site and confirms it; an
//! admin finds that review in the audit log; a viewer gets no review form and 403
//! from the API. No page logs an error. Screenshots go to the test's output folder.

mod common;

use common::{fixture_site_count, have_tool, seeded, which, TestApp};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

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

async fn shot(c: &Client, dir: &std::path::Path, name: &str) {
    let png = c.screenshot().await.unwrap();
    std::fs::write(dir.join(name), png).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn viewer_in_chromium() {
    if !have_tool("chromium") || !have_tool("chromedriver") {
        return;
    }
    let out: PathBuf = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("browser");
    std::fs::create_dir_all(&out).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let app = seeded(dir.path().join("b.db").to_str().unwrap()).await;
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
    tokio::time::sleep(Duration::from_millis(800)).await; // tiles fade in
    shot(&c, &out, "map.png").await;
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
