//! The scan pipeline as a library: the same sites as the command line, configurations
//! that repeat runs exactly, and the regressions found in the review of the scan.

use plumewatch_core::quantify::Wind;
use plumewatch_scan::{FlightLine, NoProgress, ScanConfig, ScanRecord};
use std::path::{Path, PathBuf};
use std::process::Command;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn cube() -> PathBuf {
    workspace().join("data/scenes/emit_small/radiance.hdr")
}

fn plumewatch(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_plumewatch"))
        .args(args)
        .output()
        .expect("binary runs")
}

fn ok(out: &std::process::Output) {
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn wind() -> Wind {
    Wind {
        speed_m_s: 6.0,
        from_deg: 300.0,
    }
}

#[test]
fn library_scan_without_the_binary_gives_the_cli_sites() {
    let mut config = ScanConfig::new(vec![FlightLine {
        wind: Some(wind()),
        ..FlightLine::new(cube())
    }]);
    config.detection_limit.runs = 0;
    let result = plumewatch_scan::scan(&config, &NoProgress).unwrap();
    assert!(result.sites.len() >= 2, "{} sites", result.sites.len());

    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("cli");
    ok(&plumewatch(&[
        "scan",
        cube().to_str().unwrap(),
        "--wind",
        "6,300",
        "--limit-runs",
        "0",
        "-q",
        "-o",
        out.to_str().unwrap(),
    ]));
    let record = ScanRecord::read(&out.join("scan.json")).unwrap();
    assert_eq!(record.sites.len(), result.sites.len());
    for (a, b) in record.sites.iter().zip(&result.sites) {
        assert_eq!((a.x, a.y, a.rank), (b.x, b.y, b.rank));
        assert_eq!(a.rate_kg_h, Some(b.rate_kg_h));
        // JSON keeps 17 significant digits; the last may round.
        let (pa, pb) = (a.false_alarm_probability, b.false_alarm_probability);
        assert!((pa - pb).abs() <= 1e-12 * pb.abs(), "{pa} vs {pb}");
    }
    assert_eq!(record.config, config);
    // Every candidate's verdict is typed and agrees with the sites.
    let sources: usize = record
        .passes
        .iter()
        .flat_map(|p| &p.plumes)
        .filter(|p| p.verdict.is_source())
        .count();
    let detections: usize = result.sites.iter().map(|s| s.n_detections).sum();
    assert_eq!(sources, detections);
}

#[test]
fn print_config_then_config_reproduces_the_flag_run() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    let c = cube();
    let flags = [
        "scan",
        c.to_str().unwrap(),
        "--wind",
        "6,300",
        "--far",
        "2e-4",
    ];
    let printed = plumewatch(&[&flags[..], &["--print-config"]].concat());
    ok(&printed);
    let config_path = dir.path().join("c.json");
    std::fs::write(&config_path, &printed.stdout).unwrap();
    let parsed = ScanConfig::read(&config_path).unwrap();
    assert_eq!(parsed.analysis.cfar.far, 2e-4);
    assert_eq!(parsed.flight_lines[0].wind, Some(wind()));
    ok(&plumewatch(
        &[&flags[..], &["-q", "-o", a.to_str().unwrap()]].concat(),
    ));
    ok(&plumewatch(&[
        "scan",
        "--config",
        config_path.to_str().unwrap(),
        "-q",
        "-o",
        b.to_str().unwrap(),
    ]));
    let geo_a = std::fs::read(a.join("sites.geojson")).unwrap();
    assert!(!geo_a.is_empty());
    assert_eq!(geo_a, std::fs::read(b.join("sites.geojson")).unwrap());
    assert_eq!(
        std::fs::read(a.join("plumes.geojson")).unwrap(),
        std::fs::read(b.join("plumes.geojson")).unwrap()
    );
    // scan.json records the full configuration: it repeats the run too.
    let rec = ScanRecord::read(&a.join("scan.json")).unwrap();
    assert_eq!(rec.config, parsed);
    // --config takes no run flags beside it.
    let both = plumewatch(&[
        "scan",
        "--config",
        config_path.to_str().unwrap(),
        "--far",
        "1e-3",
        "-o",
        dir.path().join("x").to_str().unwrap(),
    ]);
    assert_eq!(both.status.code(), Some(2));
}

/// Copies the bundled scene's radiance under another name in `dir`.
fn copy_scene(dir: &Path, stem: &str) -> PathBuf {
    let src = workspace().join("data/scenes/emit_small");
    std::fs::copy(src.join("radiance.img"), dir.join(format!("{stem}.img"))).unwrap();
    let hdr = std::fs::read_to_string(src.join("radiance.hdr")).unwrap();
    let p = dir.join(format!("{stem}.hdr"));
    std::fs::write(&p, hdr).unwrap();
    p
}

/// Regression: with a wind file naming only the first of two flight lines, every
/// site seen on both got a NaN rate (the second line's missing rate weighed 1e18).
#[test]
fn site_rates_exist_when_one_flight_line_has_no_wind() {
    let dir = tempfile::tempdir().unwrap();
    let first = copy_scene(dir.path(), "first");
    let second = copy_scene(dir.path(), "second");
    let wind_file = dir.path().join("wind.json");
    std::fs::write(
        &wind_file,
        r#"{"passes": {"first.hdr": {"speed_m_s": 6, "from_deg": 300}}}"#,
    )
    .unwrap();
    let out = dir.path().join("out");
    ok(&plumewatch(&[
        "scan",
        first.to_str().unwrap(),
        second.to_str().unwrap(),
        "--wind-file",
        wind_file.to_str().unwrap(),
        "--limit-runs",
        "0",
        "-q",
        "-o",
        out.to_str().unwrap(),
    ]));
    let rec = ScanRecord::read(&out.join("scan.json")).unwrap();
    let both: Vec<_> = rec
        .sites
        .iter()
        .filter(|s| s.n_passes_detected == 2)
        .collect();
    assert!(!both.is_empty(), "no site seen on both lines");
    for s in both {
        let rate = s.rate_kg_h.expect("a rate from the line with wind");
        assert!(rate > 0.0, "{}: {rate}", s.id);
    }
    assert_eq!(rec.passes[1].wind, None);
}

/// Regression: gases other than CH4 were quantified with CH4's molar mass and every
/// output said "CH4".
#[test]
fn another_gas_is_quantified_with_its_own_molar_mass_and_named() {
    let dir = tempfile::tempdir().unwrap();
    let lut = workspace()
        .join("data/gas/ch4_mag1c.hdr")
        .canonicalize()
        .unwrap();
    let sidecar = dir.path().join("heavy.json");
    std::fs::write(
        &sidecar,
        format!(
            r#"{{"gas": "heavygas", "lut_header": {:?}, "concentrations_ppm_m": [0, 500, 1000, 2000, 4000, 8000, 16000], "molar_mass_g_per_mol": 44.013}}"#,
            lut.display().to_string()
        ),
    )
    .unwrap();
    let run = |gas: &str| {
        let mut c = ScanConfig::new(vec![FlightLine {
            wind: Some(wind()),
            ..FlightLine::new(cube())
        }]);
        c.gas = gas.into();
        c.detection_limit.runs = 0;
        plumewatch_scan::scan(&c, &NoProgress).unwrap()
    };
    let (ch4, heavy) = (run("ch4"), run(sidecar.to_str().unwrap()));
    assert_eq!(
        (ch4.gas_name.as_str(), heavy.gas_name.as_str()),
        ("CH4", "HEAVYGAS")
    );
    assert_eq!(ch4.sites.len(), heavy.sites.len());
    for (a, b) in ch4.sites.iter().zip(&heavy.sites) {
        let ratio = b.rate_kg_h / a.rate_kg_h;
        assert!((ratio - 44.013 / 16.043).abs() < 1e-6, "rate ratio {ratio}");
    }
    let out = dir.path().join("out");
    plumewatch_scan::write_outputs(&heavy, &out, plumewatch_scan::Replace::PreviousScanOnly)
        .unwrap();
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("HEAVYGAS"));
    assert_eq!(
        ScanRecord::read(&out.join("scan.json")).unwrap().gas_name,
        "HEAVYGAS"
    );
}

/// Regression: the report said the detection limit used "this scan's own detector"
/// while the estimate always ran the albedo-corrected matched filter without
/// saturation screening.
#[test]
fn the_detection_limit_runs_the_scans_own_detector() {
    for detector in [
        plumewatch_scan::Detector::Mf,
        plumewatch_scan::Detector::Amf,
    ] {
        let mut c = ScanConfig::new(vec![FlightLine {
            wind: Some(wind()),
            ..FlightLine::new(cube())
        }]);
        c.detector = detector;
        c.detection_limit.runs = 2;
        let r = plumewatch_scan::scan(&c, &NoProgress).unwrap();
        let dl = r.detection_limit.expect("a detection limit");
        assert_eq!(dl.detector, detector);
        assert_eq!(dl.q_kg_h.len(), 10);
    }
}

/// With class-conditional statistics (the default) the detection limit is still that of
/// per-column detection: its runs re-detect with the per-column filters, so they start
/// from the per-column maps (the same minimum detectable enhancement map as a scan with
/// `classes: 0`), not from the class maps.
#[test]
fn the_detection_limit_of_a_class_statistics_scan_starts_from_the_per_column_maps() {
    let limit = |classes: usize| {
        let mut c = ScanConfig::new(vec![FlightLine {
            wind: Some(wind()),
            ..FlightLine::new(cube())
        }]);
        c.classes = classes;
        c.detection_limit.runs = 2;
        let r = plumewatch_scan::scan(&c, &NoProgress).unwrap();
        (
            r.lines[0].surface_classes,
            r.lines[0].maps.sigma.clone(),
            r.detection_limit.expect("a detection limit"),
        )
    };
    let (k8, sigma8, with) = limit(8);
    let (k0, sigma0, without) = limit(0);
    assert_eq!((k8, k0), (8, 0));
    // The scans' own maps differ; the limits' starting maps do not.
    assert_ne!(sigma8, sigma0);
    assert_eq!(with.mde, without.mde);
    assert_eq!(with.q_kg_h.len(), 10);
}

/// A second run into the same folder replaces the previous scan as a whole; a folder
/// holding anything else is refused unless `--overwrite`.
#[test]
fn outputs_replace_a_previous_scan_but_not_other_files() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let args = |o: &Path| {
        vec![
            "scan".to_string(),
            cube().display().to_string(),
            "--limit-runs".into(),
            "0".into(),
            "-q".into(),
            "-o".into(),
            o.display().to_string(),
        ]
    };
    let run = |a: Vec<String>| {
        Command::new(env!("CARGO_BIN_EXE_plumewatch"))
            .args(a)
            .output()
            .unwrap()
    };
    ok(&run(args(&out)));
    std::fs::write(out.join("stale_from_another_scene.tif"), b"x").unwrap();
    ok(&run(args(&out)));
    assert!(!out.join("stale_from_another_scene.tif").exists());
    let other = dir.path().join("photos");
    std::fs::create_dir(&other).unwrap();
    std::fs::write(other.join("holiday.jpg"), b"x").unwrap();
    let refused = run(args(&other));
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("not empty"));
    assert!(other.join("holiday.jpg").exists());
    let mut a = args(&other);
    a.push("--overwrite".into());
    ok(&run(a));
    assert!(other.join("scan.json").exists() && !other.join("holiday.jpg").exists());
    // Nothing of the staging folders is left beside the outputs.
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| !n.starts_with('.')), "{names:?}");
}
