//! Drone SWIR sensors end to end (issue 14): the `drone-swir` and `drone-ingaas`
//! presets and a user band table in `target`, `simulate scene` at sub-metre GSD with the
//! presets' nominal noise or `--snr`, and the automatic gas window: a sensor that ends at
//! 1700 nm is scanned in the 1.65 µm window, a full-range one in the 2.3 µm window, and a
//! strong source is found where it is in both, with nothing on the plume-free twins.

use std::path::{Path, PathBuf};
use std::process::Output;

mod common;
use common::{json, ok, plumewatch, s};

/// (wavelength, absorption) of every row of a target CSV on stdout.
fn target_rows(out: &Output) -> Vec<(f64, f64)> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .skip(1)
        .map(|l| {
            let c: Vec<&str> = l.split(',').collect();
            (c[1].parse().unwrap(), c[3].parse().unwrap())
        })
        .collect()
}

/// A user's InGaAs-like band table, 900–1700 nm every 5 nm with 7.5 nm FWHM, written
/// as `dir/name`.
fn user_band_table(dir: &Path, name: &str) -> PathBuf {
    let table = dir.join(name);
    let mut text = String::from("band,wavelength_nm,fwhm_nm\n");
    for k in 0..161 {
        text += &format!("{},{},7.5\n", k + 1, 900.0 + 5.0 * k as f64);
    }
    std::fs::write(&table, text).unwrap();
    table
}

#[test]
fn target_for_the_drone_presets_and_a_user_band_table() {
    let ingaas = target_rows(&ok(&[
        "target",
        "--gas",
        "ch4",
        "--sensor",
        "drone-ingaas",
        "--window",
        "1560,1720",
        "-o",
        "-",
    ]));
    assert_eq!(ingaas.len(), 40, "InGaAs bands in 1560–1720 nm");
    assert!(ingaas
        .iter()
        .all(|&(w, a)| (1560.0..=1720.0).contains(&w) && a < 0.0));
    let swir = target_rows(&ok(&[
        "target",
        "--gas",
        "ch4",
        "--sensor",
        "drone-swir",
        "-o",
        "-",
    ]));
    assert_eq!(swir.len(), 267);
    // Physics: the 2.3 µm band absorbs several times more than the 1.65 µm band.
    let strongest = |lo: f64, hi: f64| {
        swir.iter()
            .filter(|(w, _)| (lo..=hi).contains(w))
            .map(|&(_, a)| a)
            .fold(0.0, f64::min)
    };
    let (a165, a23) = (strongest(1560.0, 1720.0), strongest(2122.0, 2488.0));
    assert!(
        a23 < 3.0 * a165 && a165 < 0.0,
        "1.65 µm {a165:e}, 2.3 µm {a23:e}"
    );

    let dir = tempfile::tempdir().unwrap();
    let table = user_band_table(dir.path(), "my_sensor.csv");
    let user = target_rows(&ok(&[
        "target",
        "--gas",
        "ch4",
        "--sensor",
        s(&table),
        "--window",
        "1560,1720",
        "-o",
        "-",
    ]));
    assert_eq!(user.len(), 29);
    assert!(user.iter().all(|&(_, a)| a < 0.0));
}

#[test]
fn simulate_drone_presets_at_sub_metre_gsd() {
    let dir = tempfile::tempdir().unwrap();
    for (preset, bands, snr) in [
        ("drone-swir", 183, "SNR 150"),
        ("drone-ingaas", 84, "SNR 250"),
    ] {
        for gsd in ["0.3", "0.5", "1"] {
            let out = dir.path().join(format!("{preset}-{gsd}"));
            ok(&[
                "simulate",
                "scene",
                "--sensor",
                preset,
                "--lines",
                "40",
                "--samples",
                "36",
                "--gsd",
                gsd,
                "--random-sources",
                "1",
                "--rate-range",
                "1,20",
                "-o",
                s(&out),
            ]);
            let t = json(&out.join("truth_sources.json"));
            assert_eq!(t["gsd_m"].as_f64().unwrap(), gsd.parse::<f64>().unwrap());
            assert_eq!(t["sensor"], preset);
            let noise = t["noise_model"].as_str().unwrap();
            assert!(noise.contains(snr), "{noise}");
            let hdr = std::fs::read_to_string(out.join("radiance.hdr")).unwrap();
            assert!(hdr.contains(&format!("bands = {bands}")), "{preset}: {hdr}");
        }
    }

    // A user band table with one SNR figure.
    let table = user_band_table(dir.path(), "ingaas_like.csv");
    let out = dir.path().join("user");
    ok(&[
        "simulate",
        "scene",
        "--sensor",
        s(&table),
        "--snr",
        "180@1.2",
        "--lines",
        "32",
        "--samples",
        "32",
        "--gsd",
        "0.5",
        "--random-sources",
        "1",
        "-o",
        s(&out),
    ]);
    let t = json(&out.join("truth_sources.json"));
    assert!(t["noise_model"]
        .as_str()
        .unwrap()
        .contains("SNR 180 at 1.2"));

    // Without a noise table or figure, or with a malformed figure: exit 2, naming --snr.
    for extra in [&[][..], &["--snr", "180"][..], &["--snr", "0@1.2"][..]] {
        let bad = dir.path().join("bad");
        let mut args = vec![
            "simulate",
            "scene",
            "--sensor",
            s(&table),
            "--lines",
            "8",
            "--samples",
            "8",
            "--gsd",
            "0.5",
            "-o",
            s(&bad),
        ];
        args.extend_from_slice(extra);
        let o = plumewatch(&args);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{extra:?}: {err}");
        assert!(err.contains("--snr"), "{extra:?}: {err}");
        assert!(!bad.exists(), "{extra:?} left an output folder");
    }
}

/// Distance (pixels) from each site of `scan.json` to the one true source.
fn site_offsets_px(scan: &Path, truth: &Path, gsd: f64) -> Vec<f64> {
    let t = json(truth);
    let (e, n) = (
        t["sources"][0]["easting_m"].as_f64().unwrap(),
        t["sources"][0]["northing_m"].as_f64().unwrap(),
    );
    json(scan)["sites"]
        .as_array()
        .unwrap()
        .iter()
        .map(|site| {
            let (x, y) = (site["x"].as_f64().unwrap(), site["y"].as_f64().unwrap());
            ((x - e).hypot(y - n)) / gsd
        })
        .collect()
}

/// A 160 × 160 scene of `preset` at 0.5 m (seed 5) with one 150 kg/h source in a 2 m/s
/// west wind at (80.3, 60.7), or its plume-free twin, written to `out`.
fn one_source_scene(dir: &Path, preset: &str, out: &Path, twin: bool) {
    let sources = dir.join("sources.json");
    std::fs::write(
        &sources,
        r#"[{"row": 80.3, "col": 60.7, "rate_kg_h": 150, "wind_speed_m_s": 2, "wind_dir_deg": 270}]"#,
    )
    .unwrap();
    let mut args = vec![
        "simulate",
        "scene",
        "--sensor",
        preset,
        "--lines",
        "160",
        "--samples",
        "160",
        "--gsd",
        "0.5",
        "--seed",
        "5",
        "--sources",
        s(&sources),
        "-o",
        s(out),
    ];
    if twin {
        args.push("--no-plumes");
    }
    ok(&args);
}

/// Calibration settings, chosen once and not tuned per preset: a 150 kg/h source in a
/// 2 m/s wind at 0.5 m GSD (above both presets' Q90 in BENCHMARKS.md), seed 5.
#[test]
fn scan_picks_the_window_and_finds_a_drone_source() {
    let dir = tempfile::tempdir().unwrap();
    for (preset, window) in [
        ("drone-ingaas", [1560.0, 1720.0]),
        ("drone-swir", [2122.0, 2488.0]),
    ] {
        let scene: PathBuf = dir.path().join(preset);
        let twin: PathBuf = dir.path().join(format!("{preset}-twin"));
        for (out, is_twin) in [(&scene, false), (&twin, true)] {
            one_source_scene(dir.path(), preset, out, is_twin);
            ok(&[
                "scan",
                s(&out.join("radiance.hdr")),
                "--wind",
                "2,270",
                "-o",
                s(&out.with_extension("scan")),
            ]);
            let scan = out.with_extension("scan").join("scan.json");
            let used = &json(&scan)["config"]["window_nm"];
            assert_eq!(used[0].as_f64().unwrap(), window[0], "{preset}");
            assert_eq!(used[1].as_f64().unwrap(), window[1], "{preset}");
        }
        let found = site_offsets_px(
            &scene.with_extension("scan").join("scan.json"),
            &scene.join("truth_sources.json"),
            0.5,
        );
        assert_eq!(
            found.len(),
            1,
            "{preset}: sites at {found:?} px from the source"
        );
        assert!(
            found[0] <= 3.0,
            "{preset}: site {:.1} px from the source",
            found[0]
        );
        let twin_sites = json(&twin.with_extension("scan").join("scan.json"))["sites"]
            .as_array()
            .unwrap()
            .len();
        assert_eq!(
            twin_sites, 0,
            "{preset}: false sites on the plume-free twin"
        );
    }
}

/// (Q90, upper end of its 95 % interval) of `limit` on a plume-free `preset` scene at
/// `gsd` m (300 × 300 pixels, 750 injected plumes at 2 m/s, rates 0.05–1000 kg/h).
fn q90(dir: &Path, preset: &str, gsd: &str, seed: &str) -> (f64, f64) {
    let scene = dir.join(format!("{preset}-{gsd}"));
    ok(&[
        "simulate",
        "scene",
        "--sensor",
        preset,
        "--lines",
        "300",
        "--samples",
        "300",
        "--gsd",
        gsd,
        "--seed",
        seed,
        "--no-plumes",
        "-o",
        s(&scene),
    ]);
    let out = scene.with_extension("limit");
    ok(&[
        "limit",
        "--cube",
        s(&scene.join("radiance.hdr")),
        "--wind",
        "2",
        "--runs",
        "150",
        "--seed",
        seed,
        "--q-range",
        "0.05,1000",
        "-o",
        s(&out),
    ]);
    let fit = &json(&out.join("limit.json"))["limit"]["estimate"]["fit"];
    let q = fit["q90_kg_h"].as_f64().expect("a fitted POD curve");
    (q, fit["q90_ci_kg_h"][1].as_f64().unwrap())
}

/// Physical sanity at fixed sensor noise (issue 14): finer pixels find smaller sources
/// (the 0.5 m Q90's whole 95 % interval lies below the 3 m Q90), and the InGaAs preset,
/// which only has the weaker 1.65 µm band, needs more gas than the full-range preset
/// (Q90 at least 1.5× higher). Seeds 5, 7, 9 and 13 were looked at while writing this
/// (0.5 m / 3 m Q90 ratio 0.20–0.57, InGaAs / full-range 2.1–3.5); the test runs seed 17.
#[test]
fn detection_limit_falls_with_gsd_and_the_1_65_um_band_needs_more_gas() {
    let dir = tempfile::tempdir().unwrap();
    let (swir_05, swir_05_hi) = q90(dir.path(), "drone-swir", "0.5", "17");
    let (swir_3, _) = q90(dir.path(), "drone-swir", "3", "17");
    let (ingaas_05, _) = q90(dir.path(), "drone-ingaas", "0.5", "17");
    println!(
        "Q90: drone-swir {swir_05:.1} kg/h (≤ {swir_05_hi:.1}) at 0.5 m, {swir_3:.1} at 3 m; drone-ingaas {ingaas_05:.1} at 0.5 m"
    );
    assert!(
        swir_05_hi < swir_3,
        "0.5 m Q90 ≤ {swir_05_hi} vs 3 m {swir_3}"
    );
    assert!(
        ingaas_05 > 1.5 * swir_05,
        "InGaAs {ingaas_05} vs full range {swir_05}"
    );
}

/// The joint detector over both CH4 windows: `--window 1560,1720+2122,2488` stacks the
/// bands of both (27 + 61 for `drone-swir`), finds the source, is recorded in
/// `scan.json` as two ranges and reads back through `--config`; overlapping ranges are
/// refused with exit status 2.
#[test]
fn joint_window_stacks_both_ch4_bands() {
    let dir = tempfile::tempdir().unwrap();
    let scene = dir.path().join("swir");
    one_source_scene(dir.path(), "drone-swir", &scene, false);
    let cube = scene.join("radiance.hdr");
    let out = dir.path().join("scan");
    ok(&[
        "scan",
        s(&cube),
        "--wind",
        "2,270",
        "--window",
        "1560,1720+2122,2488",
        "-o",
        s(&out),
    ]);
    let result = json(&out.join("scan.json"));
    assert_eq!(
        result["config"]["window_nm"],
        serde_json::json!([[1560.0, 1720.0], [2122.0, 2488.0]])
    );
    let found = site_offsets_px(
        &out.join("scan.json"),
        &scene.join("truth_sources.json"),
        0.5,
    );
    assert_eq!(found.len(), 1, "sites at {found:?} px");
    assert!(found[0] <= 3.0, "{found:?}");
    let limit = dir.path().join("limit");
    ok(&[
        "limit",
        "--cube",
        s(&cube),
        "--window",
        "1560,1720+2122,2488",
        "--runs",
        "2",
        "-o",
        s(&limit),
    ]);
    assert_eq!(json(&limit.join("limit.json"))["window_bands"], 88);
    // The configuration round-trips.
    let printed = ok(&[
        "scan",
        s(&cube),
        "--window",
        "1560,1720+2122,2488",
        "--print-config",
    ]);
    let config = dir.path().join("config.json");
    std::fs::write(&config, &printed.stdout).unwrap();
    let again = ok(&["scan", "--config", s(&config), "--print-config"]);
    assert_eq!(printed.stdout, again.stdout);
    let o = plumewatch(&[
        "scan",
        s(&cube),
        "--window",
        "1560,2200+2122,2488",
        "-o",
        s(&out),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("overlap"));
}
