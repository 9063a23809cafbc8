//! Kernel benchmarks of the detection engine, without I/O: one pushbroom column group
//! (5,000 lines × 72 window bands, f32, a seeded correlated background with weak
//! plumes) through the background statistics, the classic matched filter and mag1c.
//! Whole-process figures against the peers are `bench/compare.py`'s (BENCHMARKS.md).
//!
//! Run: `cargo bench -p plumewatch-core --bench detect`.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use plumewatch_core::detect::{detect_pixels, Algorithm, DetectParams, Precision};
use plumewatch_core::rng::SeededRng;
use plumewatch_core::stats::MomentAccumulator;
use std::hint::black_box;

const LINES: usize = 5000;
const BANDS: usize = 72;

/// Unit absorption, 1/(ppm·m), negative with band structure.
fn unit_absorption() -> Vec<f64> {
    (0..BANDS)
        .map(|k| -2e-6 * (1.0 + 3.0 * ((k as f64 * 0.37).sin()).abs()))
        .collect()
}

/// A column group: brightness-scaled mean spectrum, a few common modes, white
/// noise, and every 50th pixel under a plume of 300–1500 ppm·m.
fn column(seed: u64) -> Vec<f32> {
    let mut rng = SeededRng::new(seed);
    let a = unit_absorption();
    let mut out = Vec::with_capacity(LINES * BANDS);
    for i in 0..LINES {
        let bright = 1.0 + 0.2 * rng.normal();
        let modes = [rng.normal(), rng.normal(), rng.normal()];
        let c = if i % 50 == 0 {
            300.0 + 1200.0 * rng.uniform()
        } else {
            0.0
        };
        for (k, ak) in a.iter().enumerate() {
            let kf = k as f64;
            let mu = 3.0 + (kf * 0.05).cos();
            let v = mu * bright
                + 0.05 * modes[0]
                + 0.03 * modes[1] * (kf * 0.1).sin()
                + 0.02 * modes[2] * (kf * 0.2).cos()
                + 0.01 * rng.normal();
            out.push((v * (c * ak).exp()) as f32);
        }
    }
    out
}

fn bench(c: &mut Criterion) {
    let px = column(11);
    let a = unit_absorption();
    let flags = vec![true; LINES];
    let mut g = c.benchmark_group("column group 5000 × 72");
    g.throughput(Throughput::Elements(LINES as u64));
    g.bench_function("statistics (f64 moments)", |b| {
        b.iter(|| {
            let mut acc = MomentAccumulator::new(BANDS);
            acc.add_block(black_box(&px), None).unwrap();
            acc
        })
    });
    for (name, algorithm) in [
        ("mf", Algorithm::MatchedFilter),
        ("mag1c (30 iterations)", Algorithm::Mag1c),
    ] {
        let params = DetectParams {
            algorithm,
            precision: Precision::F32,
            ..DetectParams::default()
        };
        g.bench_function(name, |b| {
            b.iter(|| {
                detect_pixels(black_box(&px), BANDS, &flags, &flags, &a, &params, false).unwrap()
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
