//! Emission rates, sources and false-positive rejection on the truth plumes of the
//! shared synthetic scenes (`data/scenes/emit_small` is bundled; `avng_small` lives only
//! in `../shared/data` and is skipped with a note when absent).
//!
//! The rasters are plain ENVI float32/uint8 single-band files, read here with a few
//! lines of std (the core library itself does no I/O).

use plumewatch_core::geo::{downwind_pixel_unit, GeoTransform};
use plumewatch_core::locate::{locate_source, SourceParams};
use plumewatch_core::plume::{find_plumes, CfarParams, PlumeInputs, RejectParams};
use plumewatch_core::quantify::{
    fit_u_eff, ime_emission_rate, ime_kg, CalibrationSample, UEffModel,
};
use plumewatch_core::raster::Grid;
use plumewatch_core::rng::SeededRng;
use std::path::{Path, PathBuf};

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn scene_dir(name: &str) -> Option<PathBuf> {
    for base in [
        workspace_root().join("data/scenes"),
        workspace_root().join("../shared/data/scenes"),
    ] {
        let d = base.join(name);
        if d.join("truth_sources.json").is_file() {
            return Some(d);
        }
    }
    // CI runs with the shared data set beside the repository: missing there is a failure.
    assert!(
        std::env::var_os("CI").is_none(),
        "scene {name} is in neither data/scenes nor ../shared/data/scenes"
    );
    println!(
        "note: scene {name} not found (bundled data or ../shared/data); not checked outside CI"
    );
    None
}

fn header_value(hdr: &str, key: &str) -> usize {
    hdr.lines()
        .find_map(|l| {
            let (k, v) = l.split_once('=')?;
            (k.trim() == key).then(|| v.trim().parse().ok())?
        })
        .unwrap_or_else(|| panic!("header key {key}"))
}

/// Reads a single-band little-endian ENVI raster as f32 (data type 4 or 1).
fn read_band(dir: &Path, stem: &str) -> (Grid, Vec<f32>) {
    let hdr = std::fs::read_to_string(dir.join(format!("{stem}.hdr"))).unwrap();
    let (samples, lines) = (header_value(&hdr, "samples"), header_value(&hdr, "lines"));
    assert_eq!(header_value(&hdr, "byte order"), 0);
    assert_eq!(header_value(&hdr, "bands"), 1);
    let bytes = std::fs::read(dir.join(format!("{stem}.img"))).unwrap();
    let data = match header_value(&hdr, "data type") {
        4 => bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect::<Vec<_>>(),
        1 => bytes.iter().map(|&b| b as f32).collect(),
        t => panic!("data type {t}"),
    };
    assert_eq!(data.len(), samples * lines);
    (Grid::new(lines, samples), data)
}

struct Source {
    id: u32,
    q: f64,
    u10: f64,
    from_deg: f64,
    row: f64,
    col: f64,
}

struct Truth {
    name: &'static str,
    grid: Grid,
    gsd: f64,
    transform: GeoTransform,
    enh: Vec<f32>,
    mask: Vec<f32>,
    id: Vec<f32>,
    albedo: Vec<f32>,
    sources: Vec<Source>,
}

fn load(name: &'static str) -> Option<Truth> {
    let dir = scene_dir(name)?;
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("truth_sources.json")).unwrap())
            .unwrap();
    let gsd = json["gsd_m"].as_f64().unwrap();
    let geo = &json["geo"];
    let transform = GeoTransform::north_up(
        geo["ul_corner_easting_m"].as_f64().unwrap(),
        geo["ul_corner_northing_m"].as_f64().unwrap(),
        gsd,
    )
    .unwrap();
    let sources = json["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| Source {
            id: s["id"].as_u64().unwrap() as u32,
            q: s["Q_kg_h"].as_f64().unwrap(),
            u10: s["wind_speed_m_s"].as_f64().unwrap(),
            from_deg: s["wind_from_deg"].as_f64().unwrap(),
            row: s["row"].as_f64().unwrap(),
            col: s["col"].as_f64().unwrap(),
        })
        .collect();
    let (grid, enh) = read_band(&dir, "truth_enhancement");
    let (_, mask) = read_band(&dir, "truth_mask");
    let (_, id) = read_band(&dir, "truth_plume_id");
    let (_, albedo) = read_band(&dir, "truth_albedo");
    Some(Truth {
        name,
        grid,
        gsd,
        transform,
        enh,
        mask,
        id,
        albedo,
        sources,
    })
}

fn source_pixels(t: &Truth, id: u32) -> Vec<usize> {
    (0..t.grid.len())
        .filter(|&i| t.mask[i] > 0.5 && t.id[i] as u32 == id)
        .collect()
}

fn samples(t: &Truth) -> Vec<(u32, CalibrationSample)> {
    t.sources
        .iter()
        .map(|s| {
            let px = source_pixels(t, s.id);
            let ime = ime_kg(px.iter().map(|&i| t.enh[i] as f64), t.gsd);
            (
                s.id,
                CalibrationSample {
                    u10_m_s: s.u10,
                    rate_kg_h: s.q,
                    ime_kg: ime,
                    area_m2: px.len() as f64 * t.gsd * t.gsd,
                },
            )
        })
        .collect()
}

/// `U_eff` fitted on truth masks (the default is fitted on the scan's own detection
/// masks, which are smaller; see `UEffModel`'s documentation).
fn truth_mask_model() -> UEffModel {
    UEffModel {
        a: 0.344,
        b: -0.002,
    }
}

#[test]
fn ime_with_the_truth_mask_u_eff_recovers_truth_rates() {
    let model = truth_mask_model();
    for t in ["emit_small", "avng_small"].into_iter().filter_map(load) {
        for (id, s) in samples(&t) {
            let q = ime_emission_rate(s.ime_kg, s.area_m2, model.u_eff(s.u10_m_s));
            let ratio = q / s.rate_kg_h;
            println!(
                "{} source {id}: Q {:.1} kg/h, IME {:.3} kg over {:.0} m², U10 {:.2} → {:.1} kg/h (×{ratio:.2})",
                t.name, s.rate_kg_h, s.ime_kg, s.area_m2, s.u10_m_s, q
            );
            // The model's calibration scatter is 16 % RMS, 32 % worst.
            assert!(
                (ratio - 1.0).abs() < 0.35,
                "{} source {id}: ×{ratio:.2}",
                t.name
            );
        }
    }
}

#[test]
fn u_eff_fit_on_truth_plumes() {
    let all: Vec<CalibrationSample> = ["emit_small", "avng_small"]
        .into_iter()
        .filter_map(load)
        .flat_map(|t| samples(&t).into_iter().map(|(_, s)| s))
        .collect();
    for s in &all {
        println!(
            "U10 {:.2} m/s: required U_eff {:.3} m/s",
            s.u10_m_s,
            s.required_u_eff()
        );
    }
    if all.len() < 8 {
        assert!(
            std::env::var_os("CI").is_none(),
            "only {} truth plumes: avng_small (shared data) must be present under CI",
            all.len()
        );
        println!(
            "note: only {} truth plumes (avng_small absent); fit not compared",
            all.len()
        );
        return;
    }
    let (fit, rms) = fit_u_eff(&all).unwrap();
    println!(
        "fit: U_eff = {:.3}·U10 + {:.3} m/s, relative RMS {:.3}",
        fit.a, fit.b, rms
    );
    let d = truth_mask_model();
    assert!(
        (fit.a - d.a).abs() < 0.005 && (fit.b - d.b).abs() < 0.01,
        "{fit:?} vs truth-mask calibration {d:?}"
    );
    assert!(rms < 0.2, "{rms}");
}

#[test]
fn source_found_on_truth_plumes_within_two_pixels() {
    for t in ["emit_small", "avng_small"].into_iter().filter_map(load) {
        for s in &t.sources {
            let px = source_pixels(&t, s.id);
            let down = downwind_pixel_unit(&t.transform, s.from_deg);
            let est =
                locate_source(t.grid, &px, &t.enh, Some(down), &SourceParams::default()).unwrap();
            let err = ((est.col - s.col).powi(2) + (est.row - s.row).powi(2)).sqrt();
            println!(
                "{} source {}: estimated ({:.2}, {:.2}) vs ({:.2}, {:.2}): {err:.2} px, radius {:.2}",
                t.name, s.id, est.col, est.row, s.col, s.row, est.radius_px
            );
            assert!(err < 2.0, "{} source {}: {err:.2} px", t.name, s.id);
        }
    }
}

#[test]
fn truth_plumes_in_noise_are_detected_and_not_rejected() {
    // z = truth / σ + N(0, 1) with σ = 50 ppm·m; albedo = the scene's truth albedo,
    // whose structure (roads, pads, roofs) must not make true plumes look like
    // surface artefacts.
    for t in ["emit_small", "avng_small"].into_iter().filter_map(load) {
        let mut rng = SeededRng::new(7);
        let sigma = 50.0f32;
        let enh: Vec<f32> = t
            .enh
            .iter()
            .map(|&e| e + sigma * rng.normal() as f32)
            .collect();
        let z: Vec<f32> = enh.iter().map(|&e| e / sigma).collect();
        let set = find_plumes(
            &PlumeInputs {
                reference: None,
                grid: t.grid,
                z: &z,
                enhancement: &enh,
                albedo: Some(&t.albedo),
                invalid: None,
            },
            &CfarParams::default(),
            &RejectParams::default(),
        )
        .unwrap();
        for s in &t.sources {
            let (r, c) = (s.row as usize, s.col as usize);
            let label = (r.saturating_sub(2)..=(r + 2).min(t.grid.lines - 1))
                .flat_map(|rr| {
                    (c.saturating_sub(2)..=(c + 2).min(t.grid.samples - 1))
                        .map(move |cc| rr * t.grid.samples + cc)
                })
                .map(|i| set.labels[i])
                .find(|&l| l != 0);
            // Peak truth enhancement near the source: a plume 10σ above the noise there
            // must be found; weaker ones may be missed (and are then not judged).
            let peak = (r.saturating_sub(2)..=(r + 2).min(t.grid.lines - 1))
                .flat_map(|rr| {
                    (c.saturating_sub(2)..=(c + 2).min(t.grid.samples - 1))
                        .map(move |cc| rr * t.grid.samples + cc)
                })
                .map(|i| t.enh[i])
                .fold(0.0f32, f32::max);
            let Some(label) = label else {
                assert!(
                    peak < 10.0 * sigma,
                    "{} source {} (Q {}, peak {peak:.0} ppm·m = {:.0}σ) not detected",
                    t.name,
                    s.id,
                    s.q,
                    peak / sigma
                );
                println!(
                    "{} source {} (Q {}, peak {peak:.0} ppm·m): below 10σ and not detected",
                    t.name, s.id, s.q
                );
                continue;
            };
            let p = &set.plumes[label as usize - 1];
            println!(
                "{} source {}: plume {} of {} px, peak z {:.1}, FAP {:.2e}, rejection {:?}",
                t.name, s.id, p.id, p.n_pixels, p.peak_z, p.false_alarm_probability, p.rejection
            );
            assert_eq!(p.rejection, None, "{} source {}", t.name, s.id);
        }
        let accepted = set.plumes.iter().filter(|p| p.rejection.is_none()).count();
        println!(
            "{}: {} candidates, {} accepted, {} rejected",
            t.name,
            set.plumes.len(),
            accepted,
            set.plumes.len() - accepted
        );
    }
}
