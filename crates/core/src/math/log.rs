//! The natural logarithm of many positive values at once, in a form the compiler
//! vectorises (`f64::ln` is a call to the C library per value, which was a third of
//! the narrow-band check's time).
//!
//! Each value is split into its binary exponent `e` and a mantissa `m` in [√½, √2),
//! so `ln x = e ln 2 + ln m`, and `ln m = 2 atanh(s)` with `s = (m − 1)/(m + 1)`,
//! `|s| ≤ 0.1716`, is summed from its series to the term in `s¹⁹`: the first term
//! left out is below 3 × 10⁻¹⁸ of the sum, so the result is as accurate as the
//! library's, within a few units in the last place.

/// `out[i] = ln(values[i])` for positive, finite values. A zero, negative, NaN or
/// infinite value gives an unspecified result (callers screen them first); f32
/// subnormals are exact (they are normal numbers in f64).
pub fn ln_positive(values: &[f32], out: &mut [f64]) {
    for (o, &v) in out.iter_mut().zip(values) {
        *o = ln_one(f64::from(v));
    }
}

#[inline(always)]
fn ln_one(x: f64) -> f64 {
    const MANTISSA: u64 = (1 << 52) - 1;
    const ONE: u64 = 0x3ff0_0000_0000_0000;
    // 2^52 as f64; OR-ing an integer below 2^52 into its mantissa gives 2^52 + n.
    const TWO52: u64 = 0x4330_0000_0000_0000;
    let bits = x.to_bits();
    // m in [1, 2), with the biased exponent as f64 (exact, and vectorisable where an
    // integer-to-float conversion of 64-bit lanes is not).
    let m = f64::from_bits((bits & MANTISSA) | ONE);
    let biased = f64::from_bits(TWO52 | (bits >> 52)) - f64::from_bits(TWO52);
    let high = m > std::f64::consts::SQRT_2;
    let m = if high { 0.5 * m } else { m };
    let e = biased - 1023.0 + if high { 1.0 } else { 0.0 };
    let s = (m - 1.0) / (m + 1.0);
    let s2 = s * s;
    let mut p: f64 = 1.0 / 19.0;
    for k in [17.0, 15.0, 13.0, 11.0, 9.0, 7.0, 5.0, 3.0, 1.0] {
        p = p.mul_add(s2, 1.0 / k);
    }
    e.mul_add(std::f64::consts::LN_2, 2.0 * s * p)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Agrees with the library's logarithm to within a few units in the last place
    /// over every binade of f32 radiance values, at the mantissa's split point and
    /// at the extremes of the positive f32 range.
    #[test]
    fn agrees_with_the_library_logarithm() {
        let mut rng = crate::rng::SeededRng::new(17);
        let mut values: Vec<f32> = (0..20_000)
            .map(|_| (rng.uniform() * 80.0 - 40.0).exp2() as f32)
            .collect();
        values.extend([
            1.0,
            f32::from_bits(1.0f32.to_bits() + 1),
            f32::from_bits(1.0f32.to_bits() - 1),
            std::f32::consts::SQRT_2,
            f32::from_bits(std::f32::consts::SQRT_2.to_bits() + 1),
            0.5,
            2.0,
            f32::MIN_POSITIVE,
            f32::from_bits(1),
            f32::MAX,
        ]);
        let mut out = vec![0.0; values.len()];
        ln_positive(&values, &mut out);
        for (&v, &got) in values.iter().zip(&out) {
            let want = f64::from(v).ln();
            let tol = 4.0 * f64::EPSILON * want.abs().max(1e-300);
            assert!(
                (got - want).abs() <= tol.max(1e-300) || (got == want),
                "ln({v:e}) = {got:e}, the library gives {want:e}"
            );
        }
        assert_eq!(out[values.len() - 10], 0.0, "ln 1 is exactly zero");
    }
}
