//! Shared test helpers: the fixture scan, seeded databases, a temporary PostgreSQL
//! cluster, and requests straight into the router.
#![allow(dead_code, missing_docs)]

use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use plumewatch_server::api::{self, ApiConfig, AppState};
use plumewatch_server::jobs::{Jobs, ProgressFn, ScanRunner};
use plumewatch_server::users::{self, Role};
use plumewatch_server::Db;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use tower::ServiceExt;

/// The output folder of `plumewatch scan data/scenes/emit_small/radiance.hdr --wind
/// 6,300` (sites, plumes, evidence, the enhancement COG, scan.json).
pub fn fixture_scan() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/scan_emit_small")
}

/// Number of sites in the fixture's sites.geojson.
pub fn fixture_site_count() -> usize {
    let text = std::fs::read_to_string(fixture_scan().join("sites.geojson")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    v["features"].as_array().unwrap().len()
}

/// Whether `tool` can run; panics when missing and `CI` is set, so a CI run fails
/// instead of silently skipping.
pub fn have_tool(tool: &str) -> bool {
    let found = which(tool).is_some();
    if !found {
        assert!(
            std::env::var_os("CI").is_none(),
            "{tool} is missing (run scripts/setup-server.sh)"
        );
        eprintln!(
            "SKIPPED: {tool} not found (run scripts/setup-server.sh); with CI set this fails"
        );
    }
    found
}

pub fn which(tool: &str) -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> =
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()).collect();
    if let Ok(rd) = std::fs::read_dir("/usr/lib/postgresql") {
        let mut v: Vec<PathBuf> = rd
            .filter_map(|e| e.ok())
            .map(|e| e.path().join("bin"))
            .collect();
        v.sort();
        dirs.extend(v.into_iter().rev());
    }
    dirs.into_iter().map(|d| d.join(tool)).find(|p| p.is_file())
}

/// A PostgreSQL cluster in a temporary folder on a free loopback port, stopped on drop.
/// As root, the server runs as `nobody` (PostgreSQL refuses to run as root).
pub struct PgCluster {
    pub url: String,
    dir: tempfile::TempDir,
    pg_ctl: PathBuf,
    as_nobody: bool,
}

fn run_as(as_nobody: bool, program: &Path, args: &[&str]) -> std::process::Output {
    let mut c = if as_nobody {
        let mut c = Command::new("runuser");
        c.args(["-u", "nobody", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    };
    c.args(args)
        .env("LC_ALL", "C")
        .output()
        .expect("cannot run PostgreSQL tool")
}

impl PgCluster {
    pub fn start() -> Option<PgCluster> {
        if !have_tool("initdb") || !have_tool("pg_ctl") {
            return None;
        }
        let (initdb, pg_ctl) = (which("initdb").unwrap(), which("pg_ctl").unwrap());
        let dir = tempfile::Builder::new().prefix("pw-pg").tempdir().unwrap();
        let as_nobody = rustix_is_root();
        if as_nobody {
            std::os::unix::fs::chown(dir.path(), Some(65534), Some(65534)).unwrap();
        }
        let data = dir.path().join("data");
        let data_s = data.to_str().unwrap();
        let out = run_as(
            as_nobody,
            &initdb,
            &["-D", data_s, "-A", "trust", "-U", "postgres", "--no-sync"],
        );
        assert!(
            out.status.success(),
            "initdb failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let port = free_port();
        let opts = format!("-p {port} -h 127.0.0.1 -k {} -F", dir.path().display());
        let log = dir.path().join("log");
        let out = run_as(
            as_nobody,
            &pg_ctl,
            &[
                "-D",
                data_s,
                "-o",
                &opts,
                "-l",
                log.to_str().unwrap(),
                "-w",
                "start",
            ],
        );
        assert!(
            out.status.success(),
            "pg_ctl start failed: {}{}",
            String::from_utf8_lossy(&out.stderr),
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        Some(PgCluster {
            url: format!("postgres://postgres@127.0.0.1:{port}/postgres"),
            dir,
            pg_ctl,
            as_nobody,
        })
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        let data = self.dir.path().join("data");
        let _ = run_as(
            self.as_nobody,
            &self.pg_ctl,
            &["-D", data.to_str().unwrap(), "-m", "immediate", "stop"],
        );
    }
}

fn rustix_is_root() -> bool {
    std::fs::metadata("/proc/self")
        .map(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0)
        .unwrap_or(false)
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A runner that "scans" by copying the fixture scan folder (the pipeline itself is
/// tested in its own crate), reporting two progress stages.
#[derive(Debug)]
pub struct CopyFixture;

impl ScanRunner for CopyFixture {
    fn run(
        &self,
        _config: &serde_json::Value,
        out: &Path,
        progress: &ProgressFn<'_>,
    ) -> plumewatch_server::Result<()> {
        progress("detect", 0.5);
        rerun_fixture(out);
        progress("write", 1.0);
        Ok(())
    }
}

/// Writes the fixture scan into `out` as a new run of the same scan would: the same
/// files but for the time in `scan.json`, so ingest sees a new output set.
pub fn rerun_fixture(out: &Path) {
    copy_dir(&fixture_scan(), out);
    let path = out.join("scan.json");
    let mut record: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    record["generated_utc"] = plumewatch_server::now().into();
    std::fs::write(&path, record.to_string()).unwrap();
}

pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &to.join(e.file_name()));
        } else {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

/// A seeded application: users admin, analyst, viewer (campaign `gulf`), outsider
/// (analyst on campaign `other` only); the fixture ingested into both campaigns.
pub struct TestApp {
    pub db: Db,
    pub state: AppState,
    pub router: axum::Router,
    pub admin: String,
    pub analyst: String,
    pub viewer: String,
    pub outsider: String,
    pub data_dir: tempfile::TempDir,
}

pub async fn seeded(url: &str) -> TestApp {
    let db = Db::open(url).await.unwrap();
    let admin = users::add_user(&db, "ada", Role::Admin).await.unwrap();
    let analyst = users::add_user(&db, "ann", Role::Analyst).await.unwrap();
    let viewer = users::add_user(&db, "vic", Role::Viewer).await.unwrap();
    let outsider = users::add_user(&db, "otto", Role::Analyst).await.unwrap();
    plumewatch_server::ingest::ingest(&db, &fixture_scan(), "gulf")
        .await
        .unwrap();
    plumewatch_server::ingest::ingest(&db, &fixture_scan(), "other")
        .await
        .unwrap();
    for u in ["ada", "ann", "vic"] {
        users::grant(&db, u, "gulf").await.unwrap();
    }
    users::grant(&db, "otto", "other").await.unwrap();
    let data_dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(data_dir.path().join("flights")).unwrap();
    std::fs::write(data_dir.path().join("flights/line1.hdr"), b"ENVI\n").unwrap();
    let work = data_dir.path().join("work");
    let jobs = Jobs::start(
        db.clone(),
        Arc::new(CopyFixture),
        Some(data_dir.path().join("flights")),
        work,
        2,
    )
    .await
    .unwrap();
    let state = AppState::new(db.clone(), jobs, ApiConfig::default());
    let router = api::router(state.clone());
    TestApp {
        db,
        state,
        router,
        admin,
        analyst,
        viewer,
        outsider,
        data_dir,
    }
}

/// A response: status, headers, body bytes.
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

impl TestApp {
    /// Sends a request (bearer `token` when given; JSON `body` when given).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&str>,
    ) -> Reply {
        let mut b = Request::builder().method(method).uri(path);
        if let Some(t) = token {
            b = b.header("authorization", format!("Bearer {t}"));
        }
        let req = match body {
            Some(s) => b
                .header("content-type", "application/json")
                .body(Body::from(s.to_string()))
                .unwrap(),
            None => b.body(Body::empty()).unwrap(),
        };
        self.send(req).await
    }

    pub async fn send(&self, req: Request<Body>) -> Reply {
        let r = self.router.clone().oneshot(req).await.unwrap();
        let status = r.status();
        let headers = r.headers().clone();
        let body = axum::body::to_bytes(r.into_body(), usize::MAX)
            .await
            .unwrap()
            .to_vec();
        assert!(
            status.as_u16() < 500,
            "server error {status}: {}",
            String::from_utf8_lossy(&body)
        );
        Reply {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&self, path: &str, token: &str) -> Reply {
        self.call(Method::GET, path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: &str) -> Reply {
        self.call(Method::POST, path, Some(token), Some(body)).await
    }
}

fn varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8 & 0x7f) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// A 256 × 256 PNG of one colour.
pub fn solid_png(rgb: [u8; 3]) -> Vec<u8> {
    let img = image::RgbImage::from_pixel(256, 256, image::Rgb(rgb));
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

/// Writes a PMTiles v3 archive (written here from the specification, no compression)
/// holding one PNG tile at zoom 0, which covers the world; returns the file's bytes.
pub fn write_tiny_pmtiles(path: &Path, tile: &[u8]) -> Vec<u8> {
    // Root directory: one entry, tile id 0, run length 1, the tile's length, offset 0.
    let mut dir = Vec::new();
    for v in [1, 0, 1, tile.len() as u64, 1] {
        varint(&mut dir, v);
    }
    let meta = br#"{"name":"test basemap","format":"png"}"#;
    let (dir_off, meta_off) = (127u64, 127 + dir.len() as u64);
    let data_off = meta_off + meta.len() as u64;
    let mut h = Vec::with_capacity(127);
    h.extend_from_slice(b"PMTiles");
    h.push(3);
    for v in [
        dir_off,
        dir.len() as u64,
        meta_off,
        meta.len() as u64,
        data_off, // no leaf directories
        0,
        data_off,
        tile.len() as u64,
        1,
        1,
        1,
    ] {
        h.extend_from_slice(&v.to_le_bytes());
    }
    // clustered, internal compression none, tile compression none, PNG, zooms 0-0.
    h.extend_from_slice(&[1, 1, 1, 2, 0, 0]);
    for deg in [-180.0f64, -85.0, 180.0, 85.0] {
        h.extend_from_slice(&((deg * 1e7) as i32).to_le_bytes());
    }
    h.push(0);
    h.extend_from_slice(&0i32.to_le_bytes());
    h.extend_from_slice(&0i32.to_le_bytes());
    assert_eq!(h.len(), 127);
    let mut file = h;
    file.extend_from_slice(&dir);
    file.extend_from_slice(meta);
    file.extend_from_slice(tile);
    std::fs::write(path, &file).unwrap();
    file
}
