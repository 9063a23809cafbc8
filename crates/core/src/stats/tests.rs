//! Unit tests of the background statistics.

use super::*;

fn lcg(seed: &mut u64) -> f64 {
    *seed = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    ((*seed >> 11) as f64) / ((1u64 << 53) as f64) - 0.5
}

fn pixels(n: usize, b: usize) -> Vec<f64> {
    let mut s = 7u64;
    (0..n * b)
        .map(|i| 10.0 + (i % b) as f64 + lcg(&mut s))
        .collect()
}

fn naive(px: &[f64], b: usize) -> (Vec<f64>, Vec<f64>) {
    let n = px.len() / b;
    let mut m = vec![0.0; b];
    for p in px.chunks(b) {
        for k in 0..b {
            m[k] += p[k] / n as f64;
        }
    }
    let mut c = vec![0.0; b * b];
    for p in px.chunks(b) {
        for i in 0..b {
            for j in 0..b {
                c[i * b + j] += (p[i] - m[i]) * (p[j] - m[j]) / (n as f64 - 1.0);
            }
        }
    }
    (m, c)
}

#[test]
fn block_pixel_and_merge_agree_with_two_pass() {
    let b = 5;
    let px = pixels(700, b);
    let (m, c) = naive(&px, b);
    let mut blk = MomentAccumulator::new(b);
    blk.add_block(&px, None).unwrap();
    let mut one = MomentAccumulator::new(b);
    for p in px.chunks(b) {
        one.add_pixel(p).unwrap();
    }
    let mut a = MomentAccumulator::new(b);
    a.add_block(&px[..300 * b], None).unwrap();
    let mut bb = MomentAccumulator::new(b);
    bb.add_block(&px[300 * b..], None).unwrap();
    a.merge(&bb).unwrap();
    // The whole minus its last 400 pixels is its first 300.
    let mut first = blk.clone();
    first.subtract(&bb).unwrap();
    assert_eq!(first.count(), 300);
    let (m1, c1) = naive(&px[..300 * b], b);
    let (mf, cf) = (
        first.mean().unwrap(),
        first.covariance(Normalization::Sample).unwrap(),
    );
    for k in 0..b {
        assert!((mf[k] - m1[k]).abs() < 1e-10);
    }
    for k in 0..b * b {
        assert!((cf[k] - c1[k]).abs() < 1e-10, "{} vs {}", cf[k], c1[k]);
    }
    assert!(bb.clone().subtract(&blk).is_err());
    for acc in [&blk, &one, &a] {
        let mm = acc.mean().unwrap();
        let cc = acc.covariance(Normalization::Sample).unwrap();
        for k in 0..b {
            assert!((mm[k] - m[k]).abs() < 1e-12);
        }
        for k in 0..b * b {
            assert!((cc[k] - c[k]).abs() < 1e-12, "{} vs {}", cc[k], c[k]);
        }
    }
}

#[test]
fn removing_a_line_restores_the_statistics() {
    let b = 4;
    let px = pixels(50, b);
    let mut acc = MomentAccumulator::new(b);
    acc.add_block(&px[..40 * b], None).unwrap();
    let before = acc.covariance(Normalization::Population).unwrap();
    let inc = vec![true; 10];
    acc.add_line(&px[40 * b..], &inc).unwrap();
    acc.remove_line(&px[40 * b..], &inc).unwrap();
    let after = acc.covariance(Normalization::Population).unwrap();
    for (x, y) in before.iter().zip(&after) {
        assert!((x - y).abs() < 1e-12);
    }
}

#[test]
fn cholesky_solves() {
    let b = 6;
    let px = pixels(100, b);
    let st = BackgroundStats::estimate(&px, b, None, Normalization::Sample, Regularization::None)
        .unwrap();
    let v: Vec<f64> = (0..b).map(|i| i as f64 - 2.0).collect();
    let x = st.solve(&v);
    for (i, vi) in v.iter().enumerate() {
        let r: f64 = (0..b).map(|j| st.covariance[i * b + j] * x[j]).sum();
        assert!((r - vi).abs() < 1e-9);
    }
}

#[test]
fn ledoit_wolf_shrinks_toward_scaled_identity() {
    let b = 8;
    let px = pixels(12, b);
    let st = BackgroundStats::estimate(
        &px,
        b,
        None,
        Normalization::Population,
        Regularization::LedoitWolf,
    )
    .unwrap();
    // With 12 pixels in 8 bands the sample covariance is nearly singular; the
    // shrunk one is well conditioned and keeps the trace.
    let raw = BackgroundStats::estimate(
        &px,
        b,
        None,
        Normalization::Population,
        Regularization::DiagonalBlend { alpha: 0.0 },
    )
    .unwrap();
    let tr = |c: &[f64]| (0..b).map(|i| c[i * b + i]).sum::<f64>();
    assert!((tr(&st.covariance) - tr(&raw.covariance)).abs() < 1e-9);
    let off = |c: &[f64]| c[1].abs();
    assert!(off(&st.covariance) < off(&raw.covariance));
}

/// Rows added one slice at a time (a column of many lines) give the sums of the same
/// rows added as one block, bit for bit, over more rows than one product block holds;
/// a row of the wrong length is refused before anything is added.
#[test]
fn rows_added_in_place_equal_the_same_block() {
    let b = 6;
    let n = moments::BLOCK_ROWS + 300;
    let px = pixels(n, b);
    // Every third pixel, as a column is picked out of interleaved lines.
    let rows: Vec<&[f64]> = px.chunks_exact(b).step_by(3).collect();
    let block: Vec<f64> = rows.iter().flat_map(|r| r.iter().copied()).collect();
    let mut a = MomentAccumulator::new(b);
    a.add_rows(&rows).unwrap();
    let mut c = MomentAccumulator::new(b);
    c.add_block(&block, None).unwrap();
    assert_eq!(a.count(), c.count());
    assert_eq!(a.sums(), c.sums());
    let short = [&px[..b], &px[..b - 1]];
    assert!(a.add_rows(&short).is_err());
    assert_eq!(a.count(), c.count(), "nothing added on error");
}
