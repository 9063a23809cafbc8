//! The scan graded on scenes its calibrations never saw.
//!
//! Calibration scenes: `U_eff` (core::quantify::UEffModel) was fitted on the truth
//! plumes of `emit_small` and `avng_small` (the maintainers' generator, seeds 1 and 2);
//! the source locator's upwind fraction was set on `emit_small` source 1; the
//! narrow-band thresholds on the `avng_small` road. The end-to-end tests on those
//! scenes (tests/scan.rs) are therefore not independent of the calibration. These test
//! seeds (1001–1002, this project's own simulator, AVIRIS-NG at 3 m) were never used to
//! set any parameter: what they grade is what a new flight line would get.

use plumewatch_io::truth::read_truth;
use plumewatch_scan::ScanRecord;
use std::process::Command;

fn plumewatch(args: &[&str]) -> std::process::Output {
    let out = Command::new(env!("CARGO_BIN_EXE_plumewatch"))
        .args(args)
        .output()
        .expect("binary runs");
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

#[test]
fn strong_sources_of_held_out_scenes_are_found_and_quantified() {
    let dir = tempfile::tempdir().unwrap();
    for seed in ["1001", "1002"] {
        let scene = dir.path().join(format!("scene{seed}"));
        // Four sources of 300–1000 kg/h under one wind (3 m/s from 250°, as over one
        // flight line): far above the ~100 kg/h that 90 % of sources are found at on
        // such scenes, so each must be found. The seed makes the surface and the noise.
        let sources = dir.path().join(format!("sources{seed}.json"));
        let entries: Vec<String> = [(60, 40, 300), (60, 150, 450), (200, 40, 650), (200, 150, 1000)]
            .iter()
            .map(|(r, c, q)| {
                format!(
                    r#"{{"row": {r}.5, "col": {c}.5, "rate_kg_h": {q}, "wind_speed_m_s": 3, "wind_from_deg": 250}}"#
                )
            })
            .collect();
        std::fs::write(
            &sources,
            format!(r#"{{"sources": [{}]}}"#, entries.join(", ")),
        )
        .unwrap();
        plumewatch(&[
            "-q",
            "simulate",
            "scene",
            "--sensor",
            "aviris-ng",
            "--lines",
            "320",
            "--samples",
            "256",
            "--gsd",
            "3",
            "--seed",
            seed,
            "--sources",
            sources.to_str().unwrap(),
            "-o",
            scene.to_str().unwrap(),
        ]);
        let truth = read_truth(&scene.join("truth_sources.json")).unwrap();
        let (u, from) = truth.mean_wind().expect("the truth states the winds");
        let out = dir.path().join(format!("scan{seed}"));
        let wind = format!("{u},{from}");
        plumewatch(&[
            "-q",
            "scan",
            scene.join("radiance.hdr").to_str().unwrap(),
            "--wind",
            &wind,
            "--limit-runs",
            "0",
            "-o",
            out.to_str().unwrap(),
        ]);
        let rec = ScanRecord::read(&out.join("scan.json")).unwrap();
        let gsd = 3.0;
        for s in &truth.sources {
            let nearest = rec
                .sites
                .iter()
                .map(|site| {
                    (
                        (site.x - s.easting_m.unwrap()).hypot(site.y - s.northing_m.unwrap()),
                        site,
                    )
                })
                .min_by(|a, b| a.0.total_cmp(&b.0))
                .unwrap_or_else(|| panic!("seed {seed}: no site at all"));
            assert!(
                nearest.0 <= 5.0 * gsd,
                "seed {seed}: source of {:.0} kg/h: nearest site {:.0} m away",
                s.rate_kg_h,
                nearest.0
            );
            let rate = nearest.1.rate_kg_h.expect("a rate with wind");
            let ratio = rate / s.rate_kg_h;
            assert!(
                (0.4..=2.5).contains(&ratio),
                "seed {seed}: rate {rate:.0} for a source of {:.0} kg/h",
                s.rate_kg_h
            );
        }
        // False sites: farther than 5 pixels from every source. At the measured
        // 1.4 false sites per km² of cluttered scenes (issue 12), this 0.74 km² scene
        // expects about one; more than 4 has a Poisson probability below 1 %.
        let false_sites = rec
            .sites
            .iter()
            .filter(|site| {
                truth.sources.iter().all(|s| {
                    (site.x - s.easting_m.unwrap()).hypot(site.y - s.northing_m.unwrap())
                        > 5.0 * gsd
                })
            })
            .count();
        assert!(false_sites <= 4, "seed {seed}: {false_sites} false sites");
    }
}
