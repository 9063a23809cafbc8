//! Georeferenced drone mosaics (issue 14): `simulate scene --mosaic` writes a GeoTIFF
//! radiance cube with band centres, FWHM and a nodata collar around a rotated
//! flight-strip footprint; `scan` reads it back, resolves its statistics to tiles on
//! its own, finds the sources and writes nothing in the collar.
//!
//! Not asserted, because it does not hold yet (issue 12, measured): no false site on
//! the plume-free twin. Man-made objects and dark pads of the synthetic surface give
//! false sites at 0.5 m whether the scene is a mosaic or a raw line.

use std::path::Path;

mod common;
use common::{json, ok, plumewatch, s};

const SIZE: usize = 256;

/// Simulates the 256 × 256 drone-ingaas mosaic at 0.5 m (three random sources of
/// 140–160 kg/h in a 2 m/s west wind, above the preset's Q90) or its plume-free twin,
/// and scans it.
fn mosaic_and_scan(dir: &Path, name: &str, twin: bool) -> (std::path::PathBuf, serde_json::Value) {
    let out = dir.join(name);
    let size = SIZE.to_string();
    let mut args = vec![
        "simulate",
        "scene",
        "--sensor",
        "drone-ingaas",
        "--lines",
        &size,
        "--samples",
        &size,
        "--gsd",
        "0.5",
        "--seed",
        "29",
        "--random-sources",
        "3",
        "--rate-range",
        "140,160",
        "--wind",
        "2,270",
        "--mosaic",
        "-o",
        s(&out),
    ];
    if twin {
        args.push("--no-plumes");
    }
    ok(&args);
    let scan = dir.join(format!("{name}.scan"));
    ok(&[
        "scan",
        s(&out.join("radiance.tif")),
        "--wind",
        "2,270",
        "-o",
        s(&scan),
    ]);
    (out, json(&scan.join("scan.json")))
}

/// Settings: three sources of 140–160 kg/h at 2 m/s, 0.5 m (above the preset's Q90).
/// Seeds 21–28 were looked at while writing this (calibration): all three sources lay
/// within 3 px on four of them, and on the other four one source was placed 10–24 px
/// downwind, where its plume leaves its dark pad; the twin had false sites on six of
/// the eight. So the test asserts what held on all eight — at least two of the three
/// sources within 3 px, every source and every site outside the collar — and runs
/// seed 29, which was not looked at.
#[test]
fn a_simulated_mosaic_reads_back_scans_with_tiles_and_its_sources_are_found() {
    let dir = tempfile::tempdir().unwrap();
    let (scene, scan) = mosaic_and_scan(dir.path(), "mosaic", false);
    assert!(
        !scene.join("radiance.hdr").exists(),
        "a mosaic is a GeoTIFF, not an ENVI line"
    );

    // The GeoTIFF reads back with its band table and nodata.
    let meta = plumewatch_io::open_cube(&scene.join("radiance.tif"))
        .unwrap()
        .meta()
        .clone();
    assert_eq!(meta.format, "GTiff");
    assert_eq!((meta.lines, meta.samples, meta.bands), (SIZE, SIZE, 84));
    let wl = meta
        .wavelength_nm
        .as_ref()
        .expect("band centres in the metadata");
    let fwhm = meta.fwhm_nm.as_ref().expect("FWHM in the metadata");
    let preset = plumewatch_io::sensor::preset("drone-ingaas").unwrap();
    let inside: Vec<usize> = preset.indices_in_window(1400.0, 2500.0);
    for (k, &b) in inside.iter().enumerate() {
        assert!((wl[k] - preset.center_nm[b]).abs() < 1e-6, "band {k}");
        assert!((fwhm[k] - preset.fwhm_nm[b]).abs() < 1e-6, "band {k}");
    }
    assert_eq!(meta.nodata, Some(-9999.0));

    // The collar: 16–28 % of the raster, NaN in every band when read, 1 in the truth.
    let truth = json(&scene.join("truth_sources.json"));
    let m = &truth["mosaic"];
    let valid = m["valid_fraction"].as_f64().unwrap();
    assert!((0.70..=0.86).contains(&valid), "valid share {valid}");
    assert_eq!(truth["instrument"]["column_gain_percent_std"], 0.0);
    let (l, sm, collar) = plumewatch_io::read_band_f32(&scene.join("truth_collar.tif"), 1).unwrap();
    assert_eq!((l, sm), (SIZE, SIZE));
    let n_collar = collar.iter().filter(|v| **v == 1.0).count();
    assert_eq!(n_collar as u64, m["collar_pixels"].as_u64().unwrap());
    let cube = plumewatch_io::open_cube(&scene.join("radiance.tif")).unwrap();
    let bands: Vec<usize> = (0..84).collect();
    let mut line = vec![0f32; SIZE * 84];
    let mut nan_px = 0;
    for r in 0..SIZE {
        cube.read_line(r, &bands, &mut line).unwrap();
        for c in 0..SIZE {
            let px = &line[c * 84..(c + 1) * 84];
            if collar[r * SIZE + c] == 1.0 {
                assert!(px.iter().all(|v| v.is_nan()), "collar pixel {r}, {c}");
                nan_px += 1;
            } else {
                assert!(px.iter().all(|v| v.is_finite()), "footprint pixel {r}, {c}");
            }
        }
    }
    assert_eq!(nan_px, n_collar);

    // Statistics resolved to tiles without being asked.
    let stats: Vec<&str> = scan["passes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["statistics"].as_str().unwrap())
        .collect();
    assert!(
        stats.len() == 1 && stats[0].starts_with("tiles:"),
        "{stats:?}"
    );
    // Nothing in the collar: the scan's z map is nodata wherever the truth says collar.
    let z_map = dir.path().join("mosaic.scan/mosaic_radiance_z.tif");
    let (_, _, z) = plumewatch_io::read_band_f32(&z_map, 1).unwrap();
    assert!(collar
        .iter()
        .zip(&z)
        .filter(|(c, _)| **c == 1.0)
        .all(|(_, z)| !z.is_finite() || *z == -9999.0));

    // Every source sits inside the footprint; at least two of three are found within
    // 3 px.
    let sources = truth["sources"].as_array().unwrap();
    assert_eq!(sources.len(), 3);
    let sites = scan["sites"].as_array().unwrap();
    let mut offsets = Vec::new();
    for src in sources {
        let (r, c) = (
            src["pixel_row"].as_u64().unwrap() as usize,
            src["pixel_col"].as_u64().unwrap() as usize,
        );
        assert_eq!(
            collar[r * SIZE + c],
            0.0,
            "source {} in the collar",
            src["id"]
        );
        let (e, n) = (
            src["easting_m"].as_f64().unwrap(),
            src["northing_m"].as_f64().unwrap(),
        );
        let best = sites
            .iter()
            .map(|site| {
                (site["x"].as_f64().unwrap() - e).hypot(site["y"].as_f64().unwrap() - n) / 0.5
            })
            .fold(f64::INFINITY, f64::min);
        offsets.push(best);
    }
    let found = offsets.iter().filter(|d| **d <= 3.0).count();
    assert!(
        found >= 2,
        "nearest sites {offsets:?} px from the sources; sites {sites:?}"
    );

    // The plume-free twin: same surface, noise and collar, no site.
    let (twin, twin_scan) = mosaic_and_scan(dir.path(), "twin", true);
    let (_, _, twin_collar) =
        plumewatch_io::read_band_f32(&twin.join("truth_collar.tif"), 1).unwrap();
    assert_eq!(twin_collar, collar, "the twin has the same footprint");
    // No site of either scan lies in the collar.
    let gt = &truth["geo"];
    let (e0, n0) = (
        gt["ul_corner_easting_m"].as_f64().unwrap(),
        gt["ul_corner_northing_m"].as_f64().unwrap(),
    );
    for site in sites.iter().chain(twin_scan["sites"].as_array().unwrap()) {
        let col = ((site["x"].as_f64().unwrap() - e0) / 0.5).floor() as usize;
        let row = ((n0 - site["y"].as_f64().unwrap()) / 0.5).floor() as usize;
        assert_eq!(
            collar[row.min(SIZE - 1) * SIZE + col.min(SIZE - 1)],
            0.0,
            "site {site:?} in the collar"
        );
    }
}

/// A source given in the collar is refused (exit 2, naming the source), and nothing is
/// written.
#[test]
fn a_source_in_the_collar_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let sources = dir.path().join("sources.json");
    // The raster's corner pixel: outside every footprint the simulator draws.
    std::fs::write(
        &sources,
        r#"[{"id": 7, "row": 0.5, "col": 0.5, "rate_kg_h": 100, "wind_speed_m_s": 2, "wind_dir_deg": 270}]"#,
    )
    .unwrap();
    let out = dir.path().join("scene");
    let o = plumewatch(&[
        "simulate",
        "scene",
        "--sensor",
        "drone-ingaas",
        "--lines",
        "64",
        "--samples",
        "64",
        "--gsd",
        "0.5",
        "--sources",
        s(&sources),
        "--mosaic",
        "-o",
        s(&out),
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("source 7") && err.contains("collar"), "{err}");
    assert!(!out.exists());
}
