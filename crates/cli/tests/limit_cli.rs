//! `plumewatch limit` on the bundled EMIT scene: POD rises with Q and the fitted
//! 50% point lies inside the tested range.

use std::path::{Path, PathBuf};
use std::process::Command;

#[test]
fn limit_pod_increases_with_rate_on_bundled_emit_scene() {
    let cube =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/scenes/emit_small/radiance.hdr");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("limit");
    let st = Command::new(PathBuf::from(env!("CARGO_BIN_EXE_plumewatch")))
        .args(["--quiet", "limit", "--cube"])
        .arg(&cube)
        .args([
            "--runs",
            "12",
            "--per-run",
            "4",
            "--q-range",
            "100,30000",
            "--wind",
            "5",
            "-o",
        ])
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        st.status.success(),
        "{}",
        String::from_utf8_lossy(&st.stderr)
    );
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("limit.json")).unwrap()).unwrap();
    let fit = &r["logistic_fit"];
    assert!(
        fit["b"].as_f64().unwrap() > 0.0,
        "POD must rise with Q: {fit}"
    );
    let q50 = fit["q50_kg_h"].as_f64().unwrap();
    assert!(q50 > 100.0 && q50 < 30000.0, "Q50 {q50}");
    assert!(fit["q90_kg_h"].as_f64().unwrap() > q50);
    assert_eq!(r["trials"], 48);
    for f in ["limit.md", "pod.png", "min_detectable_enhancement.tif"] {
        assert!(out.join(f).is_file(), "{f}");
    }
}
