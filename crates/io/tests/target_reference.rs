//! The CH4 unit absorption target against the reference implementation (mag1c 1.2.0)
//! and against the official EMIT CH4 target (independent radiative transfer).

use plumewatch_core::math::correlation::pearson;
use plumewatch_core::target::select_window;
use plumewatch_core::{unit_absorption, BandModel};
use plumewatch_io::{gas_lut, sensor, target_file};
use std::path::{Path, PathBuf};

fn data(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../data")
        .join(rel)
}

/// `wavelength_nm,target` rows of a reference table (target = unit absorption × 1e5).
fn reference_table(rel: &str) -> (Vec<f64>, Vec<f64>) {
    let text = std::fs::read_to_string(data(rel)).unwrap();
    let mut wl = Vec::new();
    let mut t = Vec::new();
    for line in text.lines().skip(1) {
        let (w, v) = line.split_once(',').unwrap();
        wl.push(w.parse::<f64>().unwrap());
        t.push(v.parse::<f64>().unwrap() / 1e5);
    }
    (wl, t)
}

/// Compares a preset's target with mag1c's per band: relative error ≤ 1e-6, or an
/// absolute error ≤ 1e-18 per ppm·m for values so small that f64 round-off of the fit
/// dominates. The least-squares slope cannot resolve less than about
/// ε·|ln L|·√n / √Σ(c−c̄)² ≈ 8e-20: at 1308–1328 nm (AVIRIS-NG) mag1c's values are ±1e-19
/// noise of both signs (ours are exactly 0), and the far Gaussian tails of bands centred
/// below the LUT (1e-18 to 1e-13) differ by at most 1.5e-19 between the two summation
/// orders. Bands where mag1c gives exactly 0 (response underflow far outside the LUT)
/// must be exactly 0 here too.
fn check_preset_against_mag1c(name: &str, min_compared: usize) {
    let lut = gas_lut::builtin("ch4").unwrap();
    let bands = sensor::preset(name).unwrap();
    let t0 = std::time::Instant::now();
    let target = unit_absorption(&lut, &bands).unwrap();
    let dt = t0.elapsed();
    let (ref_wl, reference) = reference_table(&format!("reference/targets/{name}.csv"));
    assert_eq!(reference.len(), target.len());
    let mut worst_rel: f64 = 0.0;
    let mut compared = 0;
    let mut zeros = 0;
    for (b, (&ours, &theirs)) in target
        .absorption_per_ppm_m
        .iter()
        .zip(&reference)
        .enumerate()
    {
        assert!((ref_wl[b] - bands.center_nm[b]).abs() < 1e-6);
        if theirs == 0.0 {
            zeros += 1;
            assert_eq!(ours, 0.0, "{name} band {}: mag1c 0, ours {ours}", b + 1);
            continue;
        }
        let err = (ours - theirs).abs();
        assert!(
            err <= (1e-6 * theirs.abs()).max(1e-18),
            "{name} band {} ({} nm): ours {ours:e}, mag1c {theirs:e}, rel {:e}",
            b + 1,
            bands.center_nm[b],
            err / theirs.abs()
        );
        if theirs.abs() >= 1e-13 {
            compared += 1;
            worst_rel = worst_rel.max(err / theirs.abs());
        }
    }
    println!(
        "{name}: {} bands, {zeros} exactly 0 as in mag1c, {compared} with |a| ≥ 1e-13: \
         worst relative error {worst_rel:.2e}; unit_absorption took {dt:?}",
        target.len()
    );
    assert!(
        compared >= min_compared,
        "{name}: {compared} bands compared"
    );
}

#[test]
fn aviris_ng_target_matches_mag1c() {
    check_preset_against_mag1c("aviris-ng", 100);
}

#[test]
fn emit_target_matches_mag1c() {
    check_preset_against_mag1c("emit", 100);
}

/// The drone presets against mag1c's own template code run on their band grids
/// (`data/reference/targets/make_drone_targets.py`).
#[test]
fn drone_targets_match_mag1c() {
    check_preset_against_mag1c("drone-swir", 150);
    // The InGaAs class ends at 1700 nm: only the LUT's 1400–1700 nm part has gas.
    check_preset_against_mag1c("drone-ingaas", 80);
}

/// The 1.65 µm window (1560–1720 nm) of every preset that covers it: the same per-band
/// agreement with mag1c's method as the 2.3 µm window, and the band is a real one (the
/// strongest absorption in it is at least a tenth of the 2.3 µm band's).
#[test]
fn the_1_65_um_window_matches_mag1c() {
    let lut = gas_lut::builtin("ch4").unwrap();
    for name in ["aviris-ng", "emit", "drone-swir", "drone-ingaas"] {
        let bands = sensor::preset(name).unwrap();
        let (_, reference) = reference_table(&format!("reference/targets/{name}.csv"));
        let window = select_window(&lut, &bands, 1560.0, 1720.0).unwrap();
        assert!(window.len() >= 15, "{name}: {} bands", window.len());
        let ours = unit_absorption(&lut, &bands.subset(&window)).unwrap();
        let theirs: Vec<f64> = window.iter().map(|&i| reference[i]).collect();
        let worst = ours
            .absorption_per_ppm_m
            .iter()
            .zip(&theirs)
            .map(|(a, b)| (a - b).abs() / b.abs())
            .fold(0.0, f64::max);
        let strongest = theirs.iter().copied().fold(0.0, f64::min);
        println!(
            "{name}: 1.65 µm window, {} bands, worst relative error {worst:.1e}, strongest {strongest:.3e} per ppm·m",
            window.len()
        );
        assert!(worst <= 1e-6, "{name}: {worst}");
        assert!(theirs.iter().all(|&a| a < 0.0));
        if name != "drone-ingaas" {
            let full = unit_absorption(&lut, &bands).unwrap();
            let strongest_23 = full
                .absorption_per_ppm_m
                .iter()
                .copied()
                .fold(0.0, f64::min);
            assert!(strongest < 0.1 * strongest_23 && strongest_23 < 0.0);
        }
    }
}

#[test]
fn emit_target_correlates_with_the_official_emit_target() {
    // The official file is mag1c three-column text (×1e5), read through target_file.
    let official = target_file::read(&data(
        "reference/emit_official/emit20220815t042838_ch4_target",
    ))
    .unwrap();
    assert_eq!(official.len(), 285);
    let lut = gas_lut::builtin("ch4").unwrap();
    let bands = BandModel::new(official.wavelength_nm.clone(), vec![8.5; official.len()]).unwrap();
    let window = select_window(&lut, &bands, 2122.0, 2488.0).unwrap();
    let ours = unit_absorption(&lut, &bands.subset(&window)).unwrap();
    let theirs: Vec<f64> = window
        .iter()
        .map(|&i| official.absorption_per_ppm_m[i])
        .collect();
    let r = pearson(&ours.absorption_per_ppm_m, &theirs);
    let ratio = ours.absorption_per_ppm_m.iter().sum::<f64>() / theirs.iter().sum::<f64>();
    println!(
        "official EMIT CH4 target, {} bands in 2122–2488 nm: Pearson r = {r:.5}, \
         sum ratio ours/official = {ratio:.3}",
        window.len()
    );
    assert_eq!(window.len(), 50);
    assert!(r >= 0.99, "r = {r}");
    // Same sign convention: radiance falls as CH4 rises.
    assert!(ours.absorption_per_ppm_m.iter().all(|&a| a < 0.0));
}

#[test]
fn builtin_ch4_equals_the_bundled_files() {
    let builtin = gas_lut::builtin("ch4").unwrap();
    let loaded = gas_lut::load_sidecar(&data("gas/ch4.json")).unwrap();
    assert_eq!(builtin, loaded);
    assert_eq!(builtin.gas, "ch4");
    assert_eq!(
        builtin.concentrations_ppm_m,
        [0.0, 500.0, 1000.0, 2000.0, 4000.0, 8000.0, 16000.0]
    );
    assert_eq!(builtin.wavelength_nm.len(), 31_800);
    let (lo, hi) = builtin.wavelength_range_nm();
    assert!(
        (lo - 1399.58997).abs() < 1e-4 && (hi - 2522.03638).abs() < 1e-4,
        "{lo} {hi}"
    );
    // Physics: more CH4, less radiance, at the 2.3 µm band's strongest fine line.
    let j = (0..builtin.wavelength_nm.len())
        .filter(|&j| (2250.0..2400.0).contains(&builtin.wavelength_nm[j]))
        .min_by(|&a, &b| {
            let r = |j: usize| builtin.radiance[6][j] / builtin.radiance[0][j];
            r(a).total_cmp(&r(b))
        })
        .unwrap();
    for k in 1..7 {
        assert!(builtin.radiance[k][j] < builtin.radiance[k - 1][j]);
    }
}

#[test]
fn shared_lut_equals_the_bundled_copy() {
    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/gas");
    if !plumewatch_io::testing::shared_data_present(&shared.join("ch4_mag1c.hdr"), "shared LUT") {
        return;
    }
    let lut = gas_lut::load(&shared.join("ch4_mag1c.hdr"), Some(&data("gas/ch4.json"))).unwrap();
    assert_eq!(lut, gas_lut::builtin("ch4").unwrap());
}

/// The target of a low-flying sensor (issue 14). mag1c's LUT is at-sensor radiance for
/// an airborne geometry (its altitude and atmosphere are undocumented, `data/gas/ch4.json`)
/// with a plume enhancement added to the path; the unit absorption is the log-linear
/// slope of radiance over 0–16,000 ppm·m. A plume at the ground is crossed by the sun's
/// path and the view path whatever the sensor's height, so the ppm·m it adds means the
/// same for a drone; what changes is the background gas between the ground and the
/// sensor: a drone at 100 m sees about 1.9 ppm × 100 m ≈ 200 ppm·m of it on the way up,
/// an aircraft at several km thousands. Less background gas means less saturated lines
/// and slightly stronger absorption per ppm·m. The LUT's own levels measure that
/// sensitivity: the local slope between its levels at 0 and 500 ppm·m (the least
/// background gas the LUT holds) and at 8,000–16,000 ppm·m (an extra path of ~4–8 km of
/// background air) against the fitted target, projected as a matched filter does
/// (`r = t_fit·t_local / t_fit·t_fit`: the matched filter reads an enhancement as `r` ×
/// its true value when the local slope is the true absorption). The difference between
/// the lowest level and the fit bounds the bias of using the airborne LUT for a drone.
#[test]
fn low_flying_sensor_target_error_from_the_lut_levels() {
    let lut = gas_lut::builtin("ch4").unwrap();
    let sub = |levels: &[usize]| {
        plumewatch_core::GasLut::new(
            "ch4",
            levels
                .iter()
                .map(|&k| lut.concentrations_ppm_m[k])
                .collect(),
            lut.wavelength_nm.clone(),
            levels.iter().map(|&k| lut.radiance[k].clone()).collect(),
        )
        .unwrap()
    };
    let (near_zero, far) = (sub(&[0, 1]), sub(&[5, 6]));
    for (name, window) in [
        ("drone-swir", (2122.0, 2488.0)),
        ("drone-swir", (1560.0, 1720.0)),
        ("drone-ingaas", (1560.0, 1720.0)),
        ("aviris-ng", (2122.0, 2488.0)),
    ] {
        let bands = sensor::preset(name).unwrap();
        let idx = select_window(&lut, &bands, window.0, window.1).unwrap();
        let b = bands.subset(&idx);
        let fit = unit_absorption(&lut, &b).unwrap().absorption_per_ppm_m;
        let project = |t: &[f64]| {
            t.iter().zip(&fit).map(|(a, f)| a * f).sum::<f64>()
                / fit.iter().map(|f| f * f).sum::<f64>()
        };
        let r0 = project(
            &unit_absorption(&near_zero, &b)
                .unwrap()
                .absorption_per_ppm_m,
        );
        let r12 = project(&unit_absorption(&far, &b).unwrap().absorption_per_ppm_m);
        println!(
            "{name} {}–{} nm: local slope / fitted target = {r0:.3} at 0–500 ppm·m, {r12:.3} at 8000–16000 ppm·m",
            window.0, window.1
        );
        // Saturation: the slope falls with the background column, so the lowest level
        // absorbs most; the whole span stays within 35 % of the fit.
        assert!(r0 > 1.0 && r12 < 1.0, "{name}: {r0} {r12}");
        assert!(r0 < 1.35 && r12 > 0.65, "{name}: {r0} {r12}");
    }
}
