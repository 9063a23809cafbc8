//! Beer–Lambert injection through the real mag1c CH4 LUT (bundled in `data/gas`).

use plumewatch_core::detect::{detect_pixels, Algorithm, DetectParams, Precision};
use plumewatch_core::rng::SeededRng;
use plumewatch_core::simulate::{GasTransmittance, InjectedCube};
use plumewatch_core::{
    transmittance_ratio, unit_absorption, BandModel, GasLut, LineSource, VecCube,
};
use std::path::PathBuf;

fn data(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../data")
        .join(rel)
}

/// The bundled mag1c LUT (ENVI BSQ float64, 7 concentrations fastest), parsed here
/// because the core crate has no reader of its own.
fn mag1c_lut() -> GasLut {
    let hdr = std::fs::read_to_string(data("gas/ch4_mag1c.hdr")).unwrap();
    let start = hdr.find("wavelength = {").unwrap() + "wavelength = {".len();
    let end = start + hdr[start..].find('}').unwrap();
    let wl: Vec<f64> = hdr[start..end]
        .split(',')
        .map(|s| s.trim().parse().unwrap())
        .collect();
    let bytes = std::fs::read(data("gas/ch4_mag1c.lut")).unwrap();
    let vals: Vec<f64> = bytes
        .chunks_exact(8)
        .map(|b| f64::from_le_bytes(b.try_into().unwrap()))
        .collect();
    assert_eq!(vals.len(), wl.len() * 7);
    let radiance = (0..7)
        .map(|k| (0..wl.len()).map(|i| vals[i * 7 + k]).collect())
        .collect();
    GasLut::new(
        "ch4",
        vec![0.0, 500.0, 1000.0, 2000.0, 4000.0, 8000.0, 16000.0],
        wl,
        radiance,
    )
    .unwrap()
}

/// AVIRIS-NG bands inside the LUT range (1400–2500 nm).
fn avng_bands() -> BandModel {
    let csv = std::fs::read_to_string(data("sensors/aviris-ng.csv")).unwrap();
    let (mut c, mut f) = (Vec::new(), Vec::new());
    for line in csv.lines().skip(1) {
        let v: Vec<f64> = line.split(',').map(|s| s.parse().unwrap()).collect();
        if v[1] >= 1400.0 && v[1] <= 2500.0 {
            c.push(v[1]);
            f.push(v[2]);
        }
    }
    BandModel::new(c, f).unwrap()
}

#[test]
fn tabulated_ratio_agrees_with_target_transmittance_ratio() {
    let lut = mag1c_lut();
    let bands = avng_bands();
    let conv = plumewatch_core::convolve_lut(&lut, &bands).unwrap();
    let tr = GasTransmittance::new(&conv, &lut.concentrations_ppm_m).unwrap();
    let mut a = vec![0.0; bands.len()];
    let mut b = vec![0.0; bands.len()];
    for c in [0.0, 1.0, 250.0, 1000.0, 3000.0, 12000.0, 30000.0] {
        tr.ratio(c, &mut a);
        transmittance_ratio(&conv, &lut.concentrations_ppm_m, c, &mut b);
        for (x, y) in a.iter().zip(&b) {
            assert!((x - y).abs() < 1e-12, "c = {c}: {x} vs {y}");
        }
    }
    tr.ratio(0.0, &mut a);
    assert!(a.iter().all(|v| (v - 1.0).abs() < 1e-12));
    // Transmittance falls with c in the 2.3 µm CH4 band, and deepest absorption there
    // at 1000 ppm·m is a few per cent (the scale of real plumes).
    let i2300 = bands
        .center_nm
        .iter()
        .position(|w| (w - 2300.0).abs() < 3.0)
        .unwrap();
    let mut prev = 1.0;
    for c in [100.0, 1000.0, 5000.0, 20000.0] {
        tr.ratio(c, &mut a);
        assert!(a[i2300] < prev, "c = {c}");
        prev = a[i2300];
    }
    tr.ratio(1000.0, &mut a);
    let deepest = a.iter().cloned().fold(1.0, f64::min);
    assert!(deepest > 0.85 && deepest < 0.99, "deepest {deepest}");
}

/// Classic matched filter on an injected cube: background statistics from the plume-free
/// half (rows `< n/2`), mean retrieved enhancement over the injected half.
fn retrieve(
    cube: &VecCube,
    tr: &GasTransmittance,
    window: &[usize],
    target: &[f64],
    c: f32,
) -> (f64, f64) {
    let (lines, samples) = (cube.lines, cube.samples);
    let n = lines * samples;
    let enh: Vec<f32> = (0..n).map(|i| if i >= n / 2 { c } else { 0.0 }).collect();
    let injected = InjectedCube::new(cube, tr, &enh).unwrap();
    let mut pixels = vec![0f32; n * window.len()];
    for (l, chunk) in pixels.chunks_mut(samples * window.len()).enumerate() {
        injected.read_line(l, window, chunk).unwrap();
    }
    let in_stats: Vec<bool> = (0..n).map(|i| i < n / 2).collect();
    let params = DetectParams {
        algorithm: Algorithm::MatchedFilter,
        precision: Precision::F64,
        ..DetectParams::default()
    };
    let out = detect_pixels(
        &pixels,
        window.len(),
        &vec![true; n],
        &in_stats,
        target,
        &params,
        false,
    )
    .unwrap();
    let mean = |v: &[f32]| v.iter().map(|&x| x as f64).sum::<f64>() / v.len() as f64;
    (
        mean(&out.enhancement[n / 2..]),
        mean(&out.enhancement[..n / 2]),
    )
}

/// A uniform enhancement c injected on a flat (single-material) noisy scene is
/// retrieved by the classic matched filter within 3%, with background statistics from
/// the plume-free half of the scene and the target linearised at that level from the
/// same LUT (unit absorption = ln(T(c)/T(0))/c per band).
///
/// mag1c's own target is the least-squares slope of ln L over the whole LUT
/// (0–16 000 ppm·m); Beer–Lambert saturation makes that slope shallower than the
/// secant at small c, so with it the filter over-retrieves small enhancements. The
/// test pins that bias too: it must be positive below 1000 ppm·m and shrink as c grows.
#[test]
fn uniform_enhancement_retrieved_by_classic_matched_filter() {
    let lut = mag1c_lut();
    let bands = avng_bands();
    let conv = plumewatch_core::convolve_lut(&lut, &bands).unwrap();
    let tr = GasTransmittance::new(&conv, &lut.concentrations_ppm_m).unwrap();
    let nb = bands.len();
    let (lines, samples) = (100, 80);
    let rho = 0.3;
    let mut rng = SeededRng::new(11);
    let mut data = Vec::with_capacity(lines * samples * nb);
    for _ in 0..lines * samples {
        for l0 in &conv[0] {
            let l = rho * l0;
            // Shot-like noise: SNR ≈ 300 at this level.
            data.push((l + l / 300.0 * rng.normal()) as f32);
        }
    }
    let cube = VecCube::new(lines, samples, nb, data).unwrap();
    let window = bands.indices_in_window(2122.0, 2488.0);
    let mag1c_target = unit_absorption(&lut, &bands.subset(&window)).unwrap();
    let mut ratio = vec![0.0; nb];
    let mut prev_bias = f64::INFINITY;
    for c in [200.0f32, 500.0, 1000.0, 2000.0] {
        tr.ratio(c as f64, &mut ratio);
        let local: Vec<f64> = window.iter().map(|&b| ratio[b].ln() / c as f64).collect();
        let (plume, bg) = retrieve(&cube, &tr, &window, &local, c);
        let rel = plume / c as f64 - 1.0;
        let (plume_m, _) = retrieve(&cube, &tr, &window, &mag1c_target.absorption_per_ppm_m, c);
        let bias = plume_m / c as f64 - 1.0;
        println!(
            "c = {c} ppm·m: local target {plume:.1} ({:+.2}%), mag1c target {plume_m:.1} ({:+.2}%), background {bg:.2}",
            rel * 100.0,
            bias * 100.0
        );
        assert!(rel.abs() < 0.03, "c = {c}: retrieved {plume}");
        assert!(bg.abs() < 0.01 * c as f64);
        if c < 1000.0 {
            assert!(bias > 0.0);
        }
        assert!(
            bias < prev_bias + 1e-3,
            "mag1c-target bias must shrink with c"
        );
        prev_bias = bias;
    }
}

#[test]
fn injected_cube_checks_shapes_and_keeps_nodata() {
    let conv = vec![vec![1.0, 2.0], vec![0.5, 2.0]];
    let tr = GasTransmittance::new(&conv, &[0.0, 1000.0]).unwrap();
    let cube = VecCube::new(1, 2, 2, vec![1.0, 1.0, f32::NAN, 1.0]).unwrap();
    assert!(InjectedCube::new(&cube, &tr, &[0.0]).is_err());
    let inj = InjectedCube::new(&cube, &tr, &[1000.0, 1000.0]).unwrap();
    let mut out = vec![0f32; 4];
    inj.read_line(0, &[0, 1], &mut out).unwrap();
    assert!((out[0] - 0.5).abs() < 1e-6 && (out[1] - 1.0).abs() < 1e-6);
    assert!(out[2].is_nan());
    assert!(GasTransmittance::new(&conv, &[0.0, 0.0]).is_err());
}

#[test]
fn injected_sample_range_reads_match_whole_lines() {
    // 2 lines × 5 samples × 3 bands, a different enhancement per sample.
    let conv = vec![vec![1.0, 1.0, 1.0], vec![0.5, 0.8, 0.25]];
    let tr = GasTransmittance::new(&conv, &[0.0, 1000.0]).unwrap();
    let data: Vec<f32> = (0..30).map(|i| 1.0 + i as f32 * 0.1).collect();
    let cube = VecCube::new(2, 5, 3, data).unwrap();
    let enh: Vec<f32> = (0..10).map(|i| i as f32 * 100.0).collect();
    let inj = InjectedCube::new(&cube, &tr, &enh).unwrap();
    assert!(inj.cheap_column_reads());
    let bands = [2, 0];
    for line in 0..2 {
        let mut whole = vec![0f32; 5 * 2];
        inj.read_line(line, &bands, &mut whole).unwrap();
        let mut part = vec![0f32; 3 * 2];
        inj.read_line_cols(line, 1..4, &bands, &mut part).unwrap();
        assert_eq!(part, whole[2..8]);
        // Injection changed the radiance where the enhancement is positive.
        assert!(whole[2] < cube.get(line, 1, 2));
    }
    assert!(inj.read_line_cols(0, 3..6, &bands, &mut [0f32; 6]).is_err());
}

#[test]
fn tiny_enhancements_give_exactly_the_full_beer_lambert_result() {
    // Plume tails: enhancements whose log-ratio is near 2⁻²⁶ in some bands, where the
    // injection skips the exponential. The result must be the exact product, bit for bit.
    let tr = GasTransmittance::from_lut(&mag1c_lut(), &avng_bands()).unwrap();
    let bands: Vec<usize> = (0..tr.bands()).collect();
    let mut rng = SeededRng::new(5);
    let mut ratio = vec![0.0; bands.len()];
    for c in [1e-6f32, 1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 1e-2, 0.1, 1.0, 50.0] {
        tr.ratio(c as f64, &mut ratio);
        for _ in 0..200 {
            let px: Vec<f32> = bands
                .iter()
                .map(|_| (rng.uniform() * 20.0) as f32 * 2f32.powi(rng.range(-8.0, 8.0) as i32))
                .collect();
            let mut got = px.clone();
            tr.apply_line(&mut got, &bands, &[c]).unwrap();
            for ((g, v), r) in got.iter().zip(&px).zip(&ratio) {
                let want = (*v as f64 * r) as f32;
                assert_eq!(g.to_bits(), want.to_bits(), "c = {c}: {g} vs {want}");
            }
        }
    }
}
