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
    let r =
        plumewatch_scan::sinks::limit_report::read_limit_report(&out.join("limit.json")).unwrap();
    let plumewatch_scan::limit::LimitEstimate::Fitted { fit } = &r.limit.estimate else {
        panic!("expected a POD(Q) fit: {:?}", r.limit.estimate)
    };
    assert!(fit.b > 0.0, "POD must rise with Q: {fit:?}");
    assert!(
        fit.q50_kg_h > 100.0 && fit.q50_kg_h < 30000.0,
        "Q50 {}",
        fit.q50_kg_h
    );
    assert!(fit.q90_kg_h > fit.q50_kg_h);
    assert_eq!(r.limit.q_kg_h.len(), 48);
    for f in ["limit.md", "pod.png", "min_detectable_enhancement.tif"] {
        assert!(out.join(f).is_file(), "{f}");
    }
}

/// `--false-sites-per-km2` sets the operating point an injected plume must reach, as
/// in `scan`, and `limit.json` records it (`null` for the Gaussian limit); a value that
/// is not a positive rate or `none` is an input error (exit 2) naming the option.
#[test]
fn limit_records_its_operating_point_and_refuses_a_bad_one() {
    let cube =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/scenes/emit_small/radiance.hdr");
    let dir = tempfile::tempdir().unwrap();
    let run = |op: &str, out: &Path| {
        Command::new(PathBuf::from(env!("CARGO_BIN_EXE_plumewatch")))
            .args(["--quiet", "limit", "--cube"])
            .arg(&cube)
            .args(["--runs", "2", "--per-run", "2", "--wind", "5"])
            .args(["--false-sites-per-km2", op, "-o"])
            .arg(out)
            .output()
            .unwrap()
    };
    for (op, expected) in [("none", None), ("0.3", Some(0.3))] {
        let out = dir.path().join(format!("limit-{op}"));
        let st = run(op, &out);
        assert!(
            st.status.success(),
            "{}",
            String::from_utf8_lossy(&st.stderr)
        );
        let r = plumewatch_scan::sinks::limit_report::read_limit_report(&out.join("limit.json"))
            .unwrap();
        assert_eq!(r.false_sites_per_km2, expected, "{op}");
    }
    let st = run("0", &dir.path().join("bad"));
    assert_eq!(st.status.code(), Some(2));
    let err = String::from_utf8_lossy(&st.stderr);
    assert!(err.contains("--false-sites-per-km2"), "{err}");
    assert!(!dir.path().join("bad").join("limit.json").exists());
}
