//! Physics of the matched-filter family on seeded synthetic backgrounds: the
//! background mean scores 0, `μ + c·t` scores `c`, sigma is the spread of the
//! enhancement over background, ACE of a pure target is 1, and the rank-2 mag1c
//! iterations equal mag1c's full recomputation of the statistics.

use plumewatch_core::detect::{
    detect_cube, detect_pixels, Algorithm, CubeInput, DetectParams, Grouping, Precision,
};
use plumewatch_core::mask::CensorRule;
use plumewatch_core::raster::NODATA;
use plumewatch_core::stats::Regularization;
use plumewatch_core::VecCube;

const B: usize = 12;

struct Rng(u64);
impl Rng {
    fn uniform(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }
    fn normal(&mut self) -> f64 {
        let (u, v) = (self.uniform(), self.uniform());
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    }
}

fn mean_spectrum() -> Vec<f64> {
    (0..B)
        .map(|k| 0.4 + 0.02 * (k as f64 * 0.7).sin())
        .collect()
}

/// Unit absorption, 1/(ppm·m): negative, with structure across the bands.
fn unit_absorption() -> Vec<f64> {
    (0..B)
        .map(|k| -1e-6 * (1.0 + 4.0 * ((k as f64 * 1.3).sin()).abs()))
        .collect()
}

/// `n` background pixels: the mean spectrum, a common brightness factor, and
/// band-correlated noise.
fn background(n: usize, seed: u64) -> Vec<f64> {
    let mut rng = Rng(seed);
    let mu = mean_spectrum();
    let mut out = Vec::with_capacity(n * B);
    for _ in 0..n {
        let bright = 1.0 + 0.05 * rng.normal();
        let common = rng.normal();
        for m in &mu {
            out.push(m * bright + 0.002 * common + 0.003 * rng.normal());
        }
    }
    out
}

fn mean_of(px: &[f64], n: usize) -> Vec<f64> {
    let mut m = vec![0.0; B];
    for p in px.chunks(B).take(n) {
        for k in 0..B {
            m[k] += p[k] / n as f64;
        }
    }
    m
}

fn params(algorithm: Algorithm) -> DetectParams {
    DetectParams {
        algorithm,
        ..DetectParams::default()
    }
}

#[test]
fn mean_scores_zero_and_mean_plus_c_t_scores_c() {
    let n = 4000;
    let mut px = background(n, 1);
    let mu = mean_of(&px, n);
    let a = unit_absorption();
    // Two probe pixels left out of the statistics: μ and μ ⊙ (1 + c·a).
    let c = 1500.0;
    px.extend(&mu);
    px.extend(mu.iter().zip(&a).map(|(m, a)| m * (1.0 + c * a)));
    let rows = n + 2;
    let has = vec![true; rows];
    let mut inc = vec![true; rows];
    inc[n] = false;
    inc[n + 1] = false;
    for algo in [Algorithm::MatchedFilter, Algorithm::Ace] {
        let out = detect_pixels(&px, B, &has, &inc, &a, &params(algo), false).unwrap();
        assert!(
            out.enhancement[n].abs() < 1e-3,
            "{algo:?}: mean scores {}",
            out.enhancement[n]
        );
        let e = out.enhancement[n + 1] as f64;
        assert!(
            (e - c).abs() < 1e-6 * c,
            "{algo:?}: μ + c·t scores {e}, expected {c}"
        );
        if algo == Algorithm::Ace {
            assert!(
                (out.z[n + 1] - 1.0).abs() < 1e-4,
                "ACE of a pure target {}",
                out.z[n + 1]
            );
            assert!(out.z.iter().all(|z| (-1.0..=1.0).contains(z)));
        }
    }
    // f32 pixels: the same to f32 accuracy.
    let px32: Vec<f32> = px.iter().map(|&v| v as f32).collect();
    let out = detect_pixels(
        &px32,
        B,
        &has,
        &inc,
        &a,
        &params(Algorithm::MatchedFilter),
        false,
    )
    .unwrap();
    // The probe pixel rounded to f32 differs from μ + c·t by ~1e-8 radiance.
    assert!(
        out.enhancement[n].abs() < 1.0,
        "f32 mean scores {}",
        out.enhancement[n]
    );
    assert!((out.enhancement[n + 1] as f64 - c).abs() < 2.0);
}

#[test]
fn sigma_is_the_spread_of_the_enhancement_over_background() {
    let n = 20000;
    let px = background(n, 2);
    let a = unit_absorption();
    let has = vec![true; n];
    for algo in [Algorithm::MatchedFilter, Algorithm::AlbedoMatchedFilter] {
        let out = detect_pixels(&px, B, &has, &has, &a, &params(algo), true).unwrap();
        let e: Vec<f64> = out.enhancement.iter().map(|&v| v as f64).collect();
        let m = e.iter().sum::<f64>() / n as f64;
        let sd = (e.iter().map(|v| (v - m).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt();
        let sigma = out.sigma.iter().map(|&v| v as f64).sum::<f64>() / n as f64;
        assert!(
            (sd / sigma - 1.0).abs() < 0.03,
            "{algo:?}: empirical sd {sd} vs sigma {sigma}"
        );
        let zsd = (out.z.iter().map(|&v| (v as f64).powi(2)).sum::<f64>() / n as f64).sqrt();
        assert!((zsd - 1.0).abs() < 0.03, "{algo:?}: sd of z {zsd}");
    }
}

/// mag1c 1.2.0's iteration written the slow way: the statistics of the
/// signal-removed data recomputed from all pixels at every iteration.
fn mag1c_reference(px: &[f64], n: usize, a: &[f64], iters: usize) -> Vec<f64> {
    let tmpl: Vec<f64> = a.iter().map(|v| v * 1e5).collect();
    let stats = |x: &[Vec<f64>]| -> (Vec<f64>, Vec<Vec<f64>>) {
        let mut m = vec![0.0; B];
        for p in x {
            for k in 0..B {
                m[k] += p[k] / n as f64;
            }
        }
        let mut c = vec![vec![0.0; B]; B];
        for p in x {
            for i in 0..B {
                for j in 0..B {
                    c[i][j] += (p[i] - m[i]) * (p[j] - m[j]) / n as f64;
                }
            }
        }
        (m, c)
    };
    let solve = |c: &Vec<Vec<f64>>, t: &[f64]| -> Vec<f64> {
        // Gaussian elimination with partial pivoting.
        let mut m: Vec<Vec<f64>> = c
            .iter()
            .zip(t)
            .map(|(r, v)| {
                let mut r = r.clone();
                r.push(*v);
                r
            })
            .collect();
        for col in 0..B {
            let piv = (col..B)
                .max_by(|&i, &j| m[i][col].abs().total_cmp(&m[j][col].abs()))
                .unwrap();
            m.swap(col, piv);
            let pivot = m[col].clone();
            for (r, row) in m.iter_mut().enumerate() {
                if r != col {
                    let f = row[col] / pivot[col];
                    for (x, p) in row[col..].iter_mut().zip(&pivot[col..]) {
                        *x -= f * p;
                    }
                }
            }
        }
        (0..B).map(|i| m[i][B] / m[i][i]).collect()
    };
    let x: Vec<Vec<f64>> = px.chunks(B).take(n).map(|p| p.to_vec()).collect();
    let (mut mu, c) = stats(&x);
    let mm: f64 = mu.iter().map(|v| v * v).sum();
    let r: Vec<f64> = x
        .iter()
        .map(|p| p.iter().zip(&mu).map(|(a, b)| a * b).sum::<f64>() / mm)
        .collect();
    let mut t: Vec<f64> = tmpl.iter().zip(&mu).map(|(a, m)| a * m).collect();
    let mut w = solve(&c, &t);
    let mut norm: f64 = t.iter().zip(&w).map(|(a, b)| a * b).sum();
    let proj = |p: &[f64], mu: &[f64], w: &[f64]| -> f64 {
        p.iter().zip(mu).zip(w).map(|((x, m), w)| (x - m) * w).sum()
    };
    let mut mf: Vec<f64> = x
        .iter()
        .zip(&r)
        .map(|(p, r)| (proj(p, &mu, &w) / (r * norm)).max(0.0))
        .collect();
    for _ in 0..iters {
        let reg: Vec<f64> = mf
            .iter()
            .zip(&r)
            .map(|(m, r)| 1.0 / (r * (m + 1e-9)))
            .collect();
        let modx: Vec<Vec<f64>> = x
            .iter()
            .zip(mf.iter().zip(&r))
            .map(|(p, (m, r))| p.iter().zip(&t).map(|(v, t)| v - r * m * t).collect())
            .collect();
        let (m2, c2) = stats(&modx);
        mu = m2;
        t = tmpl.iter().zip(&mu).map(|(a, m)| a * m).collect();
        w = solve(&c2, &t);
        norm = t.iter().zip(&w).map(|(a, b)| a * b).sum::<f64>().max(1.0);
        mf = x
            .iter()
            .zip(r.iter().zip(&reg))
            .map(|(p, (r, g))| ((proj(p, &mu, &w) - g) / (r * norm)).max(0.0))
            .collect();
    }
    mf.iter().map(|v| v * 1e5).collect()
}

fn with_plume(n: usize, seed: u64) -> Vec<f64> {
    with_plume_scaled(n, seed, 1.0)
}

/// Background with plume pixels every 33rd pixel of `scale × (500 + 400·(i mod 7))` ppm·m.
fn with_plume_scaled(n: usize, seed: u64, scale: f64) -> Vec<f64> {
    let mut px = background(n, seed);
    let a = unit_absorption();
    // A plume in 3% of the pixels, 500–3000 ppm·m.
    for (i, p) in px.chunks_mut(B).enumerate() {
        if i % 33 == 0 {
            let c = scale * (500.0 + (i % 7) as f64 * 400.0);
            for (v, a) in p.iter_mut().zip(&a) {
                *v *= (c * a).exp();
            }
        }
    }
    px
}

#[test]
fn mag1c_rank2_update_equals_full_recomputation() {
    let n = 3000;
    let px = with_plume(n, 3);
    let a = unit_absorption();
    let reference = mag1c_reference(&px, n, &a, 30);
    let has = vec![true; n];
    let out = detect_pixels(&px, B, &has, &has, &a, &params(Algorithm::Mag1c), false).unwrap();
    let scale = reference.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    assert!(scale > 100.0, "the plume must be detected ({scale})");
    let mut worst = 0.0f64;
    for (x, y) in out.enhancement.iter().zip(&reference) {
        worst = worst.max((*x as f64 - y).abs());
    }
    assert!(
        worst < 1e-3,
        "rank-2 update vs recomputation: max |Δ| {worst} ppm·m"
    );
    // The explicit (blended) path with alpha = 0 agrees too, via a tiny blend.
    let mut p = params(Algorithm::Mag1c);
    p.regularization = Regularization::DiagonalBlend { alpha: 1e-12 };
    let out2 = detect_pixels(&px, B, &has, &has, &a, &p, false).unwrap();
    for (x, y) in out2.enhancement.iter().zip(&reference) {
        assert!((*x as f64 - y).abs() < 1e-2);
    }
    // f32 pixels agree with the f64 reference to well under sigma.
    let px32: Vec<f32> = px.iter().map(|&v| v as f32).collect();
    let out32 = detect_pixels(&px32, B, &has, &has, &a, &params(Algorithm::Mag1c), true).unwrap();
    let sigma = out.sigma[0] as f64;
    for (x, y) in out32.enhancement.iter().zip(&reference) {
        assert!((*x as f64 - y).abs() < 0.05 * sigma, "f32 {x} vs f64 {y}");
    }
    // Sparse and non-negative.
    assert!(out.enhancement.iter().all(|&v| v >= 0.0));
    let zeros = out.enhancement.iter().filter(|&&v| v == 0.0).count();
    assert!(
        zeros > n / 2,
        "mag1c output should be sparse: {zeros} zeros of {n}"
    );
}

#[test]
fn cube_driver_masks_nodata_and_censored_lines_and_groups_agree() {
    let (lines, samples) = (200, 6);
    let px = background(lines * samples, 4);
    let mut data: Vec<f32> = px.iter().map(|&v| v as f32).collect();
    // Pixel (5, 2) has no data; line 100 repeats line 99 in every sample.
    data[(5 * samples + 2) * B + 3] = f32::NAN;
    let (l99, l100) = (99 * samples * B, 100 * samples * B);
    let copy: Vec<f32> = data[l99..l100].to_vec();
    data[l100..l100 + samples * B].copy_from_slice(&copy);
    let cube = VecCube::new(lines, samples, B, data).unwrap();
    let bands: Vec<usize> = (0..B).collect();
    let a = unit_absorption();
    let input = CubeInput {
        source: &cube,
        window_bands: &bands,
        unit_absorption: &a,
        saturation_bands: &[],
        exclude: None,
    };
    let p = DetectParams {
        algorithm: Algorithm::MatchedFilter,
        grouping: Grouping::Columns(2),
        precision: Precision::F64,
        ..DetectParams::default()
    };
    let maps = detect_cube(&input, &p, &|_| {}).unwrap();
    assert_eq!(maps.enhancement[5 * samples + 2], NODATA);
    for l in 98..=101 {
        for s in 0..samples {
            assert_eq!(
                maps.enhancement[l * samples + s],
                NODATA,
                "line {l} censored"
            );
        }
    }
    assert_ne!(maps.enhancement[97 * samples], NODATA);
    assert_ne!(
        maps.enhancement[0], NODATA,
        "default rule keeps the first line"
    );
    let p2 = DetectParams {
        censor: CensorRule::Mag1cExact,
        ..p.clone()
    };
    let maps2 = detect_cube(&input, &p2, &|_| {}).unwrap();
    assert_eq!(
        maps2.enhancement[0], NODATA,
        "mag1c's rule censors the first line"
    );
    // Global statistics over the same pixels: every pixel with output is finite.
    let pg = DetectParams {
        grouping: Grouping::Global,
        ..p
    };
    let g = detect_cube(&input, &pg, &|_| {}).unwrap();
    let valid = g.enhancement.iter().filter(|&&v| v != NODATA).count();
    assert_eq!(valid, lines * samples - 1 - 4 * samples);
}

#[test]
fn second_pass_removes_plume_bias() {
    let n = 40000;
    // Strong plumes (z ≈ 5–30) in 3% of the pixels.
    let scale = 10.0;
    let mut px = background(n, 5);
    let a = unit_absorption();
    let mu = mean_of(&px, n);
    for (i, p) in px.chunks_mut(B).enumerate().step_by(33) {
        let c = scale * (500.0 + (i % 7) as f64 * 400.0);
        for ((v, a), m) in p.iter_mut().zip(&a).zip(&mu) {
            *v += c * a * m;
        }
    }
    let has = vec![true; n];
    let one = detect_pixels(
        &px,
        B,
        &has,
        &has,
        &a,
        &params(Algorithm::MatchedFilter),
        false,
    )
    .unwrap();
    let mut p = params(Algorithm::MatchedFilter);
    p.exclude_z = Some(4.0);
    let two = detect_pixels(&px, B, &has, &has, &a, &p, false).unwrap();
    // Plume pixels (every 33rd) in the statistics inflate the covariance along the
    // target and bias their own estimates low; the second pass removes that bias.
    let bias = |o: &[f32]| -> f64 {
        let v: Vec<f64> = (0..n)
            .step_by(33)
            .map(|i| o[i] as f64 - scale * (500.0 + (i % 7) as f64 * 400.0))
            .collect();
        v.iter().sum::<f64>() / v.len() as f64
    };
    let (b1, b2) = (bias(&one.enhancement), bias(&two.enhancement));
    let noise_of_mean = one.sigma[0] as f64 / ((n / 33) as f64).sqrt();
    eprintln!("plume bias: one pass {b1:.0}, two passes {b2:.0} ppm·m (noise of the mean {noise_of_mean:.0})");
    assert!(
        b1 < -3.0 * noise_of_mean,
        "one pass should be biased low: {b1}"
    );
    assert!(b2.abs() < 3.0 * noise_of_mean, "two passes: bias {b2}");
}
