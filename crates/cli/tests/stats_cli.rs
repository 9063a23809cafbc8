//! `--stats` of `plumewatch scan` and `plumewatch detect` on a small simulated scene:
//! tiled statistics run and are recorded, bad values exit 2 naming the flag, and
//! `--print-config` round-trips the choice.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn plumewatch(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_plumewatch"))
        .args(args)
        .output()
        .expect("binary runs")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A plume-free 120 × 80 EMIT-like scene (ENVI with map info, no collar value).
fn scene(dir: &Path) -> PathBuf {
    let out = dir.join("sim");
    let o = plumewatch(&[
        "simulate",
        "scene",
        "--sensor",
        "emit",
        "--lines",
        "120",
        "--samples",
        "80",
        "--gsd",
        "60",
        "--seed",
        "3",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    out.join("radiance.hdr")
}

fn pass_statistics(out: &Path) -> String {
    let record: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("scan.json")).unwrap()).unwrap();
    record["passes"][0]["statistics"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn tiled_statistics_scan_and_detect_and_are_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let cube = scene(dir.path());
    let cube = cube.to_str().unwrap();
    let out = dir.path().join("tiles");
    let o = plumewatch(&[
        "scan",
        cube,
        "--stats",
        "tiles:4",
        "--limit-runs",
        "0",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(pass_statistics(&out), "tiles:4");
    let report = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(report.contains("per tile, 4 × 4 tiles"));
    // Raw pushbroom radiance (map info, no collar value): per detector column.
    let out = dir.path().join("auto");
    let o = plumewatch(&[
        "scan",
        cube,
        "--limit-runs",
        "0",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(pass_statistics(&out), "columns");
    // detect: every algorithm with tiles gives finite enhancement everywhere (no
    // collar here); columns with --group keeps working.
    for (algo, stats) in [
        ("mf", ["--stats", "tiles:4"]),
        ("ace", ["--stats", "tiles:2"]),
        ("mag1c", ["--stats", "tiles:3"]),
        ("amf", ["--stats", "columns"]),
        ("amf", ["--group", "2"]),
    ] {
        let tif = dir
            .path()
            .join(format!("{algo}-{}.tif", stats[1].replace(':', "_")));
        let mut args = vec!["detect", cube, "--algo", algo, "--iter", "3"];
        args.extend(stats);
        args.extend(["-o", tif.to_str().unwrap()]);
        let o = plumewatch(&args);
        assert!(o.status.success(), "{algo} {stats:?}: {}", stderr(&o));
        assert!(tif.is_file());
    }
}

#[test]
fn bad_stats_exit_2_naming_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    let cube = scene(dir.path());
    let cube = cube.to_str().unwrap();
    let out = dir.path().join("o");
    let tif = dir.path().join("o.tif");
    for bad in ["tiles:0", "tiles:x", "rows", "auto"] {
        for args in [
            vec!["scan", cube, "--stats", bad, "-o", out.to_str().unwrap()],
            vec!["detect", cube, "--stats", bad, "-o", tif.to_str().unwrap()],
        ] {
            let o = plumewatch(&args);
            assert_eq!(o.status.code(), Some(2), "{args:?}");
            let e = stderr(&o);
            assert!(
                e.contains("--stats") && e.contains("tiles:N"),
                "{args:?}: {e}"
            );
        }
    }
    assert!(!out.exists() && !tif.exists());
    // Tiles smaller than the window bands are refused before any work, naming the cube.
    let o = plumewatch(&[
        "detect",
        cube,
        "--stats",
        "tiles:40",
        "-o",
        tif.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("fewer statistics tiles"),
        "{}",
        stderr(&o)
    );
    // --global with --stats is a conflict.
    let o = plumewatch(&[
        "detect",
        cube,
        "--global",
        "--stats",
        "tiles:2",
        "-o",
        tif.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn print_config_round_trips_the_statistics() {
    let dir = tempfile::tempdir().unwrap();
    let printed = plumewatch(&["scan", "line.hdr", "--stats", "tiles:4", "--print-config"]);
    assert!(printed.status.success(), "{}", stderr(&printed));
    let json = String::from_utf8(printed.stdout).unwrap();
    assert!(json.contains(r#""stats": "tiles:4""#), "{json}");
    let file = dir.path().join("scan.json");
    std::fs::write(&file, &json).unwrap();
    let again = plumewatch(&["scan", "--config", file.to_str().unwrap(), "--print-config"]);
    assert!(again.status.success(), "{}", stderr(&again));
    assert_eq!(String::from_utf8(again.stdout).unwrap(), json);
    // Without --stats the configuration says auto, and reads back.
    let printed = plumewatch(&["scan", "line.hdr", "--print-config"]);
    let json = String::from_utf8(printed.stdout).unwrap();
    assert!(json.contains(r#""stats": "auto""#), "{json}");
    // A bad value in a configuration file names the field.
    std::fs::write(
        &file,
        json.replace(r#""stats": "auto""#, r#""stats": "tiles:0""#),
    )
    .unwrap();
    let o = plumewatch(&["scan", "--config", file.to_str().unwrap(), "--print-config"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("stats"), "{}", stderr(&o));
}
