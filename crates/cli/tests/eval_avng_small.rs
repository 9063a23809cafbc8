//! `plumewatch detect` + `scan` scored by `plumewatch eval` on the shared AVIRIS-NG truth
//! scene (`../shared/data/scenes/avng_small`, not bundled: skipped when absent).

use std::path::{Path, PathBuf};
use std::process::Command;

fn avng_small() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/scenes/avng_small");
    plumewatch_io::testing::shared_data_present(&p.join("radiance.hdr"), "eval on avng_small")
        .then_some(p)
}

fn run(args: &[&str]) {
    let out = Command::new(env!("CARGO_BIN_EXE_plumewatch"))
        .arg("--quiet")
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn eval_on_avng_small_detect_and_scan() {
    let Some(scene) = avng_small() else { return };
    let dir = tempfile::tempdir().unwrap();
    let det = dir.path().join("det.tif");
    let scan = dir.path().join("scan");
    let rep = dir.path().join("rep");
    let s = |p: &Path| p.to_str().unwrap().to_string();
    run(&["detect", &s(&scene.join("radiance.hdr")), "-o", &s(&det)]);
    run(&[
        "scan",
        &s(&scene.join("radiance.hdr")),
        "--wind",
        "2.1,255",
        "-o",
        &s(&scan),
    ]);
    run(&[
        "eval",
        "--truth",
        &s(&scene),
        "--enhancement",
        &s(&det),
        "--sites",
        &s(&scan.join("sites.geojson")),
        "-o",
        &s(&rep),
    ]);
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(rep.join("eval.json")).unwrap()).unwrap();
    let auc = r["pixel"]["enhancement"]["roc_auc"].as_f64().unwrap();
    assert!(auc > 0.65, "mag1c enhancement ROC AUC {auc}");
    let src = &r["source"];
    assert!(src["pod"].as_f64().unwrap() >= 0.5, "{src}");
    // The 1023 kg/h source (id 4) is found.
    assert!(
        src["matches"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["truth_id"] == 4),
        "{src}"
    );
    assert!(src["false_sites_per_km2"].as_f64().unwrap() < 10.0, "{src}");
    // Every source is in exactly one POD bin.
    let n: u64 = src["pod_bins"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["n"].as_u64().unwrap())
        .sum();
    assert_eq!(n, 4);
    for f in ["eval.md", "roc.png", "pod.png", "parity.png"] {
        assert!(rep.join(f).is_file(), "{f}");
    }
}
