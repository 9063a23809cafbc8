//! Helpers shared by CLI test files that run the `plumewatch` binary.
#![allow(dead_code)] // each test file uses its own subset

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Runs `plumewatch --quiet ARGS`.
pub fn plumewatch(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_plumewatch"))
        .arg("--quiet")
        .args(args)
        .output()
        .unwrap()
}

/// Runs `plumewatch --quiet ARGS` and fails the test, with its stderr, unless it
/// succeeds.
pub fn ok(args: &[&str]) -> Output {
    let out = plumewatch(args);
    assert!(
        out.status.success(),
        "plumewatch {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// A JSON file.
pub fn json(p: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

/// A path as a command-line argument.
pub fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A scene's radiance header: bundled in `data/`, or in `../shared/data` (the test
/// fails when neither has it: a test never passes by skipping).
pub fn scene(name: &str) -> PathBuf {
    let ws = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    for base in [ws.join("data"), ws.join("../shared/data")] {
        let p = base.join("scenes").join(name).join("radiance.hdr");
        if p.exists() {
            return p;
        }
    }
    panic!("scene {name} not found in data/scenes or ../shared/data/scenes");
}

/// (sample, line, rate) of each source a scan reported (its first pass's plume
/// records with verdict `source`; scanned with wind, so each has a rate).
pub fn reported_sources(scan: &serde_json::Value) -> Vec<(f64, f64, f64)> {
    scan["passes"][0]["plumes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["verdict"]["verdict"] == "source")
        .map(|p| {
            (
                p["source"]["col"].as_f64().unwrap(),
                p["source"]["row"].as_f64().unwrap(),
                p["emission"]["rate_kg_h"].as_f64().unwrap(),
            )
        })
        .collect()
}
