//! Band rows to pixels: eight rows of little-endian f32 (one line of eight bands, BIL
//! or BSQ) written into pixel-major values, eight adjacent values per pixel.
//!
//! The reader's general path decodes one value at a time into its pixel: about two
//! cycles a value, a tenth of a stream replay's CPU time. With AVX, blocks of eight
//! samples × eight bands are transposed in registers (the usual unpack, shuffle and
//! lane-permute network): eight loads, 24 shuffles and eight stores per 64 values.

/// Writes band `k` of sample `s` (`rows[k]`, bytes `4s..4s + 4`, little-endian f32) to
/// `out[s * stride + k]`, for the first `samples` samples.
///
/// Callers guarantee `rows[k].len() >= 4 * samples` and, when `samples > 0`,
/// `out.len() >= (samples - 1) * stride + 8`; otherwise nothing is written past the
/// slices' ends (the slices are indexed with bounds checks outside the AVX blocks, and
/// the blocks are taken only where both bounds hold).
pub(crate) fn band_rows_to_pixels(
    rows: &[&[u8]; 8],
    samples: usize,
    out: &mut [f32],
    stride: usize,
) {
    let len = out.len();
    let fits = |s: usize| {
        stride >= 8
            && rows.iter().all(|r| r.len() >= 4 * s)
            && (s == 0 || len >= (s - 1) * stride + 8)
    };
    let mut done = 0;
    #[cfg(all(target_arch = "x86_64", target_feature = "avx"))]
    if fits(samples) {
        done = samples - samples % 8;
        blocks_avx(rows, done, out, stride);
    }
    for s in done..samples {
        if !fits(s + 1) {
            return;
        }
        for (k, row) in rows.iter().enumerate() {
            let b: [u8; 4] = row[4 * s..4 * s + 4].try_into().unwrap_or([0; 4]);
            out[s * stride + k] = f32::from_le_bytes(b);
        }
    }
}

/// The AVX blocks of [`band_rows_to_pixels`] for samples `0..samples` (a multiple of
/// eight), whose bounds the caller checked.
#[cfg(all(target_arch = "x86_64", target_feature = "avx"))]
#[allow(unsafe_code)]
fn blocks_avx(rows: &[&[u8]; 8], samples: usize, out: &mut [f32], stride: usize) {
    use std::arch::x86_64::*;
    debug_assert!(samples % 8 == 0);
    for s0 in (0..samples).step_by(8) {
        // SAFETY: AVX is enabled at compile time (the cfg above). Each row holds at
        // least 4 · samples bytes, so the eight f32 at byte 4 · s0 are inside it
        // (unaligned loads); `out` holds at least (samples − 1) · stride + 8 values,
        // so the eight values at (s0 + i) · stride, i < 8, are inside it (unaligned
        // stores). The rows are only read and `out` is borrowed mutably.
        unsafe {
            let load = |k: usize| _mm256_loadu_ps(rows[k].as_ptr().add(4 * s0).cast::<f32>());
            let (r0, r1, r2, r3) = (load(0), load(1), load(2), load(3));
            let (r4, r5, r6, r7) = (load(4), load(5), load(6), load(7));
            let t0 = _mm256_unpacklo_ps(r0, r1);
            let t1 = _mm256_unpackhi_ps(r0, r1);
            let t2 = _mm256_unpacklo_ps(r2, r3);
            let t3 = _mm256_unpackhi_ps(r2, r3);
            let t4 = _mm256_unpacklo_ps(r4, r5);
            let t5 = _mm256_unpackhi_ps(r4, r5);
            let t6 = _mm256_unpacklo_ps(r6, r7);
            let t7 = _mm256_unpackhi_ps(r6, r7);
            let u0 = _mm256_shuffle_ps::<0x44>(t0, t2);
            let u1 = _mm256_shuffle_ps::<0xEE>(t0, t2);
            let u2 = _mm256_shuffle_ps::<0x44>(t1, t3);
            let u3 = _mm256_shuffle_ps::<0xEE>(t1, t3);
            let u4 = _mm256_shuffle_ps::<0x44>(t4, t6);
            let u5 = _mm256_shuffle_ps::<0xEE>(t4, t6);
            let u6 = _mm256_shuffle_ps::<0x44>(t5, t7);
            let u7 = _mm256_shuffle_ps::<0xEE>(t5, t7);
            let pixels = [
                _mm256_permute2f128_ps::<0x20>(u0, u4),
                _mm256_permute2f128_ps::<0x20>(u1, u5),
                _mm256_permute2f128_ps::<0x20>(u2, u6),
                _mm256_permute2f128_ps::<0x20>(u3, u7),
                _mm256_permute2f128_ps::<0x31>(u0, u4),
                _mm256_permute2f128_ps::<0x31>(u1, u5),
                _mm256_permute2f128_ps::<0x31>(u2, u6),
                _mm256_permute2f128_ps::<0x31>(u3, u7),
            ];
            for (i, p) in pixels.into_iter().enumerate() {
                _mm256_storeu_ps(out.as_mut_ptr().add((s0 + i) * stride), p);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every value lands at its pixel and band, for sample counts with and without a
    /// remainder and strides wider than eight; values beyond the eight bands are kept.
    #[test]
    fn band_rows_land_at_their_pixels() {
        for samples in [0usize, 1, 7, 8, 9, 16, 23, 600] {
            for stride in [8usize, 11, 72] {
                let value = |k: usize, s: usize| (k * 1000 + s) as f32 + 0.25;
                let bytes: Vec<Vec<u8>> = (0..8)
                    .map(|k| {
                        (0..samples)
                            .flat_map(|s| value(k, s).to_le_bytes())
                            .collect()
                    })
                    .collect();
                let rows: [&[u8]; 8] = std::array::from_fn(|k| bytes[k].as_slice());
                let len = if samples == 0 {
                    0
                } else {
                    (samples - 1) * stride + 8
                };
                let mut out = vec![-1.0f32; len];
                band_rows_to_pixels(&rows, samples, &mut out, stride);
                for (i, &v) in out.iter().enumerate() {
                    let (s, k) = (i / stride, i % stride);
                    let want = if k < 8 { value(k, s) } else { -1.0 };
                    assert_eq!(v, want, "samples {samples}, stride {stride}, at {i}");
                }
            }
        }
    }

    /// Too short a row or output: nothing is written out of bounds and no panic.
    #[test]
    fn short_slices_are_not_overrun() {
        let bytes = vec![0u8; 4 * 16];
        let short = vec![0u8; 4 * 3];
        let mut rows: [&[u8]; 8] = [&bytes; 8];
        rows[5] = &short;
        let mut out = vec![0.0f32; 16 * 8];
        band_rows_to_pixels(&rows, 16, &mut out, 8);
        assert!(out[..3 * 8].iter().all(|&v| v == 0.0));
        let rows: [&[u8]; 8] = [&bytes; 8];
        let mut small = vec![0.0f32; 20];
        band_rows_to_pixels(&rows, 16, &mut small, 8);
    }
}
