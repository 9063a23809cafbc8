//! Property tests of plume outlines: for any pixel set, the traced rings are closed,
//! axis-aligned, and their signed areas add up to the number of pixels (outer rings
//! count positive, hole rings negative).

use plumewatch_core::plume::{ring_signed_area, trace_outline};
use proptest::prelude::*;

proptest! {
    #[test]
    fn ring_areas_sum_to_pixel_count(bits in proptest::collection::vec(any::<bool>(), 12 * 12)) {
        let w = 12;
        let pixels: Vec<usize> = bits.iter().enumerate().filter(|(_, &b)| b).map(|(i, _)| i).collect();
        prop_assume!(!pixels.is_empty());
        let rings = trace_outline(&pixels, w, [0, 0, 11, 11]);
        let mut total = 0.0;
        for ring in &rings {
            prop_assert!(ring.len() >= 5, "a ring has at least 4 corners");
            prop_assert_eq!(ring.first(), ring.last());
            for e in ring.windows(2) {
                let (dx, dy) = (e[1][0] - e[0][0], e[1][1] - e[0][1]);
                prop_assert!((dx == 0.0) != (dy == 0.0), "axis-aligned, non-degenerate edge");
            }
            total += ring_signed_area(ring);
        }
        prop_assert_eq!(total, pixels.len() as f64);
    }
}
