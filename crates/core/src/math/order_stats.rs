//! Order statistics: the median (the mean of the two middle values for an even count),
//! the median absolute deviation and nearest-rank percentiles. Values are ordered with
//! `total_cmp`, so NaNs sort last instead of panicking; callers filter them first.

/// Median of `v`, reordering `v` (a selection, not a full sort). NaN when `v` is empty.
pub fn median_in_place(v: &mut [f64]) -> f64 {
    let n = v.len();
    if n == 0 {
        return f64::NAN;
    }
    let mid = n / 2;
    let (_, m, _) = v.select_nth_unstable_by(mid, |a, b| a.total_cmp(b));
    let upper = *m;
    if n % 2 == 1 {
        upper
    } else {
        let lower = v[..mid].iter().copied().fold(f64::NEG_INFINITY, f64::max);
        0.5 * (lower + upper)
    }
}

/// Median and robust scale `1.4826 · MAD` (the standard deviation for Gaussian data)
/// of `v`, overwriting `v` with absolute deviations. NaNs when `v` is empty.
pub fn median_mad(v: &mut [f64]) -> (f64, f64) {
    let med = median_in_place(v);
    for x in v.iter_mut() {
        *x = (*x - med).abs();
    }
    let mad = median_in_place(v);
    (med, 1.4826 * mad)
}

/// Nearest-rank percentile of values sorted ascending: the value at rank
/// `round(p · (n − 1))`, `p` in [0, 1] (clamped). `None` when `sorted` is empty.
pub fn percentile_sorted<T: Copy>(sorted: &[T], p: f64) -> Option<T> {
    let last = sorted.len().checked_sub(1)?;
    let rank = (p.clamp(0.0, 1.0) * last as f64).round() as usize;
    Some(sorted[rank.min(last)])
}

/// Nearest-rank percentiles (see [`percentile_sorted`]) of the finite values of `v`,
/// one per entry of `ps`; `None` when `v` has no finite value.
pub fn percentiles_f32(v: &[f32], ps: &[f64]) -> Option<Vec<f32>> {
    let mut finite: Vec<f32> = v.iter().copied().filter(|x| x.is_finite()).collect();
    finite.sort_by(f32::total_cmp);
    ps.iter().map(|&p| percentile_sorted(&finite, p)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_even_and_empty() {
        assert_eq!(median_in_place(&mut [3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median_in_place(&mut [4.0, 1.0, 3.0, 2.0]), 2.5);
        assert!(median_in_place(&mut []).is_nan());
    }

    #[test]
    fn mad_of_a_symmetric_sample() {
        let (m, s) = median_mad(&mut [1.0, 2.0, 3.0, 4.0, 5.0]);
        assert_eq!(m, 3.0);
        assert!((s - 1.4826).abs() < 1e-12);
    }

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<f64> = (0..=100).map(f64::from).collect();
        assert_eq!(percentile_sorted(&v, 0.16), Some(16.0));
        assert_eq!(percentile_sorted(&v, 1.0), Some(100.0));
        assert_eq!(percentile_sorted::<f64>(&[], 0.5), None);
        let p = percentiles_f32(&[f32::NAN, 2.0, 1.0, 3.0], &[0.0, 0.5, 1.0]).unwrap();
        assert_eq!(p, vec![1.0, 2.0, 3.0]);
    }
}
