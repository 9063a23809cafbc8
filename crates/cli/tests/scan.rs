//! `plumewatch scan` end to end on the bundled EMIT-like scene, whose truth is known:
//! the strong sources are found where they are, with emission rates within a factor of
//! two, with at most one false site; every output exists and is valid; the report
//! renders in headless Chromium without console errors and its table sorts.
//!
//! Chromium is installed by `scripts/setup.sh --test`. Where it is missing the browser
//! check says so and is skipped, except under CI (`CI` set), where it fails.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn scene() -> PathBuf {
    workspace().join("data/scenes/emit_small")
}

fn plumewatch(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_plumewatch"))
        .args(args)
        .output()
        .expect("binary runs")
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// (id, Q kg/h, easting, northing) of the truth sources.
fn truth() -> Vec<(u64, f64, f64, f64)> {
    let t = read_json(&scene().join("truth_sources.json"));
    t["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["id"].as_u64().unwrap(),
                s["Q_kg_h"].as_f64().unwrap(),
                s["easting_m"].as_f64().unwrap(),
                s["northing_m"].as_f64().unwrap(),
            )
        })
        .collect()
}

fn chromium() -> Option<&'static str> {
    ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .into_iter()
        .find(|p| Path::new(p).exists())
}

/// Loads `html_path` in headless Chromium; returns (dumped DOM, console lines).
fn load_in_chromium(browser: &str, html_path: &Path) -> (String, Vec<String>) {
    let profile = tempfile::tempdir().unwrap();
    let out = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--enable-logging=stderr",
            "--v=0",
            "--virtual-time-budget=2000",
            "--dump-dom",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!(
            "file://{}",
            html_path.canonicalize().unwrap().display()
        ))
        .output()
        .expect("chromium runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let console = stderr
        .lines()
        .filter(|l| l.contains(":CONSOLE"))
        .map(str::to_string)
        .collect();
    (String::from_utf8_lossy(&out.stdout).into_owned(), console)
}

#[test]
fn scan_finds_the_strong_sources_of_the_bundled_scene() {
    let out = tempfile::tempdir().unwrap();
    let cube = scene().join("radiance.hdr");
    let run = plumewatch(&[
        "scan",
        cube.to_str().unwrap(),
        "--wind",
        "6,300",
        "-q",
        "-o",
        out.path().to_str().unwrap(),
    ]);
    assert!(
        run.status.success(),
        "scan failed: {}",
        String::from_utf8_lossy(&run.stderr)
    );

    let scan = read_json(&out.path().join("scan.json"));
    let sites = scan["sites"].as_array().unwrap();
    let gsd = 60.0;
    let truth = truth();
    // Sources 3 (9499 kg/h) and 1 (3071 kg/h) are the two strongest of the scene.
    for id in [3, 1] {
        let (_, q, e, n) = *truth.iter().find(|t| t.0 == id).unwrap();
        let nearest = sites
            .iter()
            .map(|s| {
                let d = (s["x"].as_f64().unwrap() - e).hypot(s["y"].as_f64().unwrap() - n);
                (d, s["rate_kg_h"].as_f64().unwrap())
            })
            .min_by(|a, b| a.0.total_cmp(&b.0))
            .expect("at least one site");
        assert!(
            nearest.0 <= 3.0 * gsd,
            "source {id}: nearest site {:.0} m away",
            nearest.0
        );
        let ratio = nearest.1 / q;
        assert!(
            (0.5..=2.0).contains(&ratio),
            "source {id}: rate {:.0} vs true {q:.0} kg/h",
            nearest.1
        );
    }
    let false_sites = sites
        .iter()
        .filter(|s| {
            truth.iter().all(|t| {
                (s["x"].as_f64().unwrap() - t.2).hypot(s["y"].as_f64().unwrap() - t.3) > 3.0 * gsd
            })
        })
        .count();
    assert!(false_sites <= 1, "{false_sites} false sites");

    // GeoJSON in WGS84 with the rate under `rate_kg_h`.
    let geo = read_json(&out.path().join("sites.geojson"));
    assert_eq!(geo["type"], "FeatureCollection");
    let features = geo["features"].as_array().unwrap();
    assert_eq!(features.len(), sites.len());
    for f in features {
        let c = f["geometry"]["coordinates"].as_array().unwrap();
        let (lon, lat) = (c[0].as_f64().unwrap(), c[1].as_f64().unwrap());
        // The scene sits in UTM zone 13N (105°W–102°W).
        assert!(
            (-105.0..=-102.0).contains(&lon) && (0.0..=84.0).contains(&lat),
            "{lon}, {lat}"
        );
        assert!(f["properties"]["rate_kg_h"].as_f64().unwrap() > 0.0);
    }
    let plumes = read_json(&out.path().join("plumes.geojson"));
    assert!(!plumes["features"].as_array().unwrap().is_empty());
    for name in ["enhancement", "sigma", "z", "albedo", "plume_mask"] {
        let tif = out.path().join(format!("emit_small_radiance_{name}.tif"));
        assert!(tif.metadata().unwrap().len() > 0, "{name} raster missing");
    }
    for s in sites {
        let png = out
            .path()
            .join(format!("evidence/{}.png", s["id"].as_str().unwrap()));
        assert!(
            std::fs::read(&png).unwrap().starts_with(b"\x89PNG"),
            "{} not a PNG",
            png.display()
        );
    }
    // The report carries the scene's detection limit, and POD(Q) rises with Q.
    let html = std::fs::read_to_string(out.path().join("report.html")).unwrap();
    assert!(
        html.contains("Smallest source this scene reveals"),
        "no detection limit in the report"
    );
    // … and the operating point its sites were reported at.
    assert!(
        html.contains("at most 0.1 false sites per km²"),
        "no operating point in the report"
    );
    // Nothing left under a temporary name.
    let leftovers: Vec<_> = std::fs::read_dir(out.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");

    // The report renders without console errors, and its table sorts by rate.
    let Some(browser) = chromium() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must have chromium (scripts/setup.sh --test)"
        );
        eprintln!("note: chromium not installed; skipping the browser check");
        return;
    };
    let report = out.path().join("report.html");
    let (dom, console) = load_in_chromium(browser, &report);
    assert!(
        console.is_empty(),
        "console output while rendering: {console:?}"
    );
    assert!(
        dom.contains("id=\"sites\""),
        "site table missing from the rendered report"
    );
    let html = std::fs::read_to_string(&report).unwrap();
    let probe = html.replace(
        "</body>",
        "<script>var t=document.getElementById('sites');var h=t.tHead.rows[0].cells[4];h.click();\
         document.title='first='+t.tBodies[0].rows[0].cells[4].getAttribute('data-v');</script></body>",
    );
    let probe_page = out.path().join("probe.html");
    std::fs::write(&probe_page, probe).unwrap();
    let (dom, console) = load_in_chromium(browser, &probe_page);
    assert!(
        console.is_empty(),
        "console output while sorting: {console:?}"
    );
    let lowest = sites
        .iter()
        .map(|s| s["rate_kg_h"].as_f64().unwrap())
        .fold(f64::INFINITY, f64::min);
    let first: f64 = dom
        .split("<title>first=")
        .nth(1)
        .and_then(|t| t.split('<').next())
        .and_then(|v| v.parse().ok())
        .expect("sorted first row");
    assert!(
        (first - lowest).abs() <= 1e-6 * lowest.abs(),
        "ascending sort put {first} first, not {lowest}"
    );
}

/// The shared AVIRIS-NG scene (`../shared/data/scenes/avng_small`, skipped where absent):
/// its asphalt road reads as gas to the matched filter with per-column statistics where
/// it crosses the detector columns, and the narrow-band check must reject those
/// candidates (`--classes 0`); at the default (class statistics, where the road has a
/// background of its own) at most one false site (issue 6) while the sources above the
/// scene's 90 %-POD rate (≈ 101 kg/h: sources 2 and 4) are still found within 3 pixels
/// with rates within a factor of two.
#[test]
fn scan_of_the_shared_avng_scene_rejects_the_road_and_keeps_the_sources() {
    let scene = workspace().join("../shared/data/scenes/avng_small");
    if !plumewatch_io::testing::shared_data_present(
        &scene.join("radiance.hdr"),
        "scan of avng_small",
    ) {
        return;
    }
    let out = tempfile::tempdir().unwrap();
    let run = plumewatch(&[
        "scan",
        scene.join("radiance.hdr").to_str().unwrap(),
        "--wind",
        "2.2,260",
        "-q",
        "-o",
        out.path().to_str().unwrap(),
    ]);
    assert!(
        run.status.success(),
        "scan failed: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    let scan = read_json(&out.path().join("scan.json"));
    let sites = scan["sites"].as_array().unwrap();
    let t = read_json(&scene.join("truth_sources.json"));
    let truth: Vec<(u64, f64, f64, f64)> = t["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["id"].as_u64().unwrap(),
                s["Q_kg_h"].as_f64().unwrap(),
                s["easting_m"].as_f64().unwrap(),
                s["northing_m"].as_f64().unwrap(),
            )
        })
        .collect();
    let gsd = 3.0;
    for &(id, q, e, n) in truth.iter().filter(|t| t.1 >= 101.0) {
        let nearest = sites
            .iter()
            .map(|s| {
                let d = (s["x"].as_f64().unwrap() - e).hypot(s["y"].as_f64().unwrap() - n);
                (d, s["rate_kg_h"].as_f64().unwrap())
            })
            .min_by(|a, b| a.0.total_cmp(&b.0))
            .expect("at least one site");
        assert!(
            nearest.0 <= 3.0 * gsd,
            "source {id}: nearest site {:.1} m away",
            nearest.0
        );
        let ratio = nearest.1 / q;
        assert!(
            (0.5..=2.0).contains(&ratio),
            "source {id}: rate {:.0} vs true {q:.0} kg/h",
            nearest.1
        );
    }
    // A false site is one farther than 50 m (eval's matching distance) from every source.
    let false_sites = sites
        .iter()
        .filter(|s| {
            truth.iter().all(|t| {
                (s["x"].as_f64().unwrap() - t.2).hypot(s["y"].as_f64().unwrap() - t.3) > 50.0
            })
        })
        .count();
    assert!(false_sites <= 1, "{false_sites} false sites");
    let columns = tempfile::tempdir().unwrap();
    let run = plumewatch(&[
        "scan",
        scene.join("radiance.hdr").to_str().unwrap(),
        "--wind",
        "2.2,260",
        "--classes",
        "0",
        "-q",
        "-o",
        columns.path().to_str().unwrap(),
    ]);
    assert!(run.status.success());
    let per_column = read_json(&columns.path().join("scan.json"));
    let surface = per_column["passes"][0]["plumes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["plume"]["rejection"]["reason"] == "broadband_surface")
        .count();
    assert!(
        surface >= 2,
        "{surface} candidates rejected as surface features with per-column statistics"
    );
}

#[test]
fn scan_without_wind_still_reports_sites_without_rates() {
    let out = tempfile::tempdir().unwrap();
    let cube = scene().join("radiance.hdr");
    let run = plumewatch(&[
        "scan",
        cube.to_str().unwrap(),
        "-q",
        "-o",
        out.path().to_str().unwrap(),
    ]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let scan = read_json(&out.path().join("scan.json"));
    let sites = scan["sites"].as_array().unwrap();
    assert!(!sites.is_empty());
    assert!(
        sites.iter().all(|s| s["rate_kg_h"].is_null()),
        "rates need wind"
    );
}

#[test]
fn scan_rejects_bad_wind_and_far_with_exit_2() {
    let out = tempfile::tempdir().unwrap();
    let target = out.path().join("o");
    let cube = scene().join("radiance.hdr");
    for (flag, value, needle) in [
        ("--wind", "fast,270", "SPEED,DIR"),
        ("--wind", "3,400", "wind"),
        ("--far", "2", "false-alarm"),
        ("--false-sites-per-km2", "0", "none for the Gaussian"),
        (
            "--false-sites-per-km2",
            "gaussian",
            "positive number of false sites",
        ),
    ] {
        let run = plumewatch(&[
            "scan",
            cube.to_str().unwrap(),
            flag,
            value,
            "-o",
            target.to_str().unwrap(),
        ]);
        assert_eq!(run.status.code(), Some(2), "{flag} {value}");
        let err = String::from_utf8_lossy(&run.stderr);
        assert!(err.contains(needle), "{flag} {value}: {err}");
        assert!(!err.contains("panicked"), "{err}");
        assert!(
            !target.exists(),
            "{flag} {value}: output created for bad input"
        );
    }
}

#[test]
fn wind_file_per_pass_and_its_errors() {
    let out = tempfile::tempdir().unwrap();
    let cube = scene().join("radiance.hdr");
    let wind = out.path().join("wind.json");
    std::fs::write(&wind, r#"{"default": {"speed_m_s": 1.0, "from_deg": 0}, "passes": {"radiance.hdr": {"speed_m_s": 6, "from_deg": 300}}}"#).unwrap();
    let o = out.path().join("o");
    let run = plumewatch(&[
        "scan",
        cube.to_str().unwrap(),
        "--wind-file",
        wind.to_str().unwrap(),
        "-q",
        "-o",
        o.to_str().unwrap(),
    ]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let scan = read_json(&o.join("scan.json"));
    assert_eq!(
        scan["passes"][0]["wind"]["speed_m_s"].as_f64(),
        Some(6.0),
        "per-pass wind not used"
    );

    std::fs::write(&wind, r#"{"speed_m_s": 3, "from_deg": 720}"#).unwrap();
    let o2 = out.path().join("o2");
    let run = plumewatch(&[
        "scan",
        cube.to_str().unwrap(),
        "--wind-file",
        wind.to_str().unwrap(),
        "-o",
        o2.to_str().unwrap(),
    ]);
    assert_eq!(run.status.code(), Some(2));
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(
        err.contains("wind.json") && err.contains("from_deg"),
        "{err}"
    );
    assert!(!o2.exists());
}

/// Writes an ENVI GLT (float32 BSQ, band 1 = raw sample, band 2 = raw line, 1-based)
/// that shows the bundled scene rotated by 180° on the scene's own map grid.
fn rotated_glt(dir: &Path) -> PathBuf {
    let (lines, samples) = (256usize, 128usize);
    let hdr_text = std::fs::read_to_string(scene().join("radiance.hdr")).unwrap();
    let map_info = hdr_text
        .lines()
        .find(|l| l.starts_with("map info"))
        .unwrap();
    let mut data = Vec::with_capacity(lines * samples * 8);
    for band in 0..2 {
        for i in 0..lines {
            for j in 0..samples {
                let v = if band == 0 { samples - j } else { lines - i } as f32;
                data.extend_from_slice(&v.to_le_bytes());
            }
        }
    }
    let glt = dir.join("glt.img");
    std::fs::write(&glt, data).unwrap();
    std::fs::write(
        dir.join("glt.hdr"),
        format!(
            "ENVI\nsamples = {samples}\nlines = {lines}\nbands = 2\nheader offset = 0\nfile type = ENVI Standard\n\
             data type = 4\ninterleave = bsq\nbyte order = 0\n{map_info}\nband names = {{GLT Sample Lookup, GLT Line Lookup}}\n"
        ),
    )
    .unwrap();
    dir.join("glt.hdr")
}

#[test]
fn glt_orthorectifies_rasters_and_places_sources_on_the_map() {
    let dir = tempfile::tempdir().unwrap();
    let glt = rotated_glt(dir.path());
    let out = dir.path().join("out");
    let cube = scene().join("radiance.hdr");
    // Seen through the rotated GLT the wind that blew from ≈300° blows from ≈120°.
    let run = plumewatch(&[
        "scan",
        cube.to_str().unwrap(),
        "--glt",
        glt.to_str().unwrap(),
        "--wind",
        "6,120",
        "-q",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let scan = read_json(&out.join("scan.json"));
    let rms = scan["passes"][0]["glt_affine_rms_m"].as_f64().unwrap();
    assert!(rms < 1.0, "a rotation is affine; RMS {rms} m");
    let sites = scan["sites"].as_array().unwrap();
    let (ul_e, ul_n, gsd) = (609_000.0, 3_556_000.0, 60.0);
    for id in [3, 1] {
        let t = read_json(&scene().join("truth_sources.json"));
        let src = t["sources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["id"] == id)
            .unwrap()
            .clone();
        let (row, col) = (src["row"].as_f64().unwrap(), src["col"].as_f64().unwrap());
        // Raw (col, row) is shown at map pixel (128 − col, 256 − row).
        let (e, n) = (ul_e + (128.0 - col) * gsd, ul_n - (256.0 - row) * gsd);
        let d = sites
            .iter()
            .map(|s| (s["x"].as_f64().unwrap() - e).hypot(s["y"].as_f64().unwrap() - n))
            .fold(f64::INFINITY, f64::min);
        assert!(
            d <= 3.0 * gsd,
            "source {id}: nearest site {d:.0} m from its rotated position"
        );
    }
    // The orthorectified enhancement is the raw one rotated by 180°.
    let raw_out = dir.path().join("raw");
    let run = plumewatch(&[
        "scan",
        cube.to_str().unwrap(),
        "-q",
        "-o",
        raw_out.to_str().unwrap(),
    ]);
    assert!(run.status.success());
    let name = "emit_small_radiance_enhancement.tif";
    let (l1, s1, ortho) = plumewatch_io::read_band_f32(&out.join(name), 1).unwrap();
    let (l2, s2, raw) = plumewatch_io::read_band_f32(&raw_out.join(name), 1).unwrap();
    assert_eq!((l1, s1), (l2, s2));
    let n = raw.len();
    assert!(
        (0..n).all(|k| ortho[k] == raw[n - 1 - k]),
        "ortho raster is not the rotated raw raster"
    );
}
