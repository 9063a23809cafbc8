//! Pixel-exact plume outlines: rings along pixel edges, in `[col, row]` corner
//! coordinates.

/// Traces the pixel-edge outline of a set of pixels (linear indices on a raster `w`
/// samples wide, bounding box `[r0, c0, r1, c1]`). Rings are in `[col, row]` corner
/// coordinates, closed, with the set on the left of travel (counter-clockwise on
/// screen with rows pointing down means clockwise in a y-up frame); collinear
/// vertices are removed. Parts joined only at a corner get separate rings.
pub fn trace_outline(pixels: &[usize], w: usize, bbox: [usize; 4]) -> Vec<Vec<[f64; 2]>> {
    use std::collections::HashMap;
    let [r0, c0, r1, c1] = bbox;
    let lw = c1 - c0 + 1;
    let lh = r1 - r0 + 1;
    let mut inside = vec![false; lw * lh];
    for &i in pixels {
        let (r, c) = (i / w, i % w);
        if (r0..=r1).contains(&r) && (c0..=c1).contains(&c) {
            inside[(r - r0) * lw + (c - c0)] = true;
        }
    }
    let at = |r: isize, c: isize| {
        r >= 0
            && c >= 0
            && (r as usize) < lh
            && (c as usize) < lw
            && inside[r as usize * lw + c as usize]
    };
    // Directed edges between corners (x = col, y = row; y down), the pixel on the left
    // of travel in screen orientation... we keep the set on the right-hand side in a
    // y-down frame, which is the left-hand side when viewed y-up.
    let mut out_edges: HashMap<(isize, isize), Vec<(isize, isize)>> = HashMap::new();
    let mut n_edges = 0usize;
    for r in 0..lh as isize {
        for c in 0..lw as isize {
            if !at(r, c) {
                continue;
            }
            // Walk around the pixel clockwise on screen (y down): top edge left→right,
            // right edge top→bottom, bottom edge right→left, left edge bottom→top.
            if !at(r - 1, c) {
                out_edges.entry((c, r)).or_default().push((c + 1, r));
                n_edges += 1;
            }
            if !at(r, c + 1) {
                out_edges
                    .entry((c + 1, r))
                    .or_default()
                    .push((c + 1, r + 1));
                n_edges += 1;
            }
            if !at(r + 1, c) {
                out_edges
                    .entry((c + 1, r + 1))
                    .or_default()
                    .push((c, r + 1));
                n_edges += 1;
            }
            if !at(r, c - 1) {
                out_edges.entry((c, r + 1)).or_default().push((c, r));
                n_edges += 1;
            }
        }
    }
    let mut rings = Vec::new();
    let mut used = 0usize;
    // Deterministic start order.
    let mut starts: Vec<(isize, isize)> = out_edges.keys().copied().collect();
    starts.sort_unstable_by_key(|&(x, y)| (y, x));
    for s in starts {
        while out_edges.get(&s).is_some_and(|v| !v.is_empty()) {
            let mut ring = vec![s];
            let mut prev = s;
            let mut cur = out_edges.get_mut(&s).and_then(|v| v.pop()).unwrap_or(s);
            used += 1;
            while cur != s && used <= n_edges {
                ring.push(cur);
                let dir_in = (cur.0 - prev.0, cur.1 - prev.1);
                let Some(cands) = out_edges.get_mut(&cur) else {
                    break;
                };
                if cands.is_empty() {
                    break;
                }
                // With the set on the right of travel (y down), keeping the same part at a
                // pinch vertex means turning right (clockwise on screen).
                let right = (-dir_in.1, dir_in.0);
                let pick = cands
                    .iter()
                    .position(|&n| (n.0 - cur.0, n.1 - cur.1) == right)
                    .unwrap_or(0);
                let next = cands.swap_remove(pick);
                used += 1;
                prev = cur;
                cur = next;
            }
            ring.push(s);
            rings.push(simplify_ring(&ring, c0 as f64, r0 as f64));
        }
    }
    rings
}

fn simplify_ring(ring: &[(isize, isize)], dx: f64, dy: f64) -> Vec<[f64; 2]> {
    // ring is closed (first = last). Drop vertices where direction does not change.
    let n = ring.len() - 1;
    let mut out = Vec::with_capacity(n + 1);
    for k in 0..n {
        let p = ring[(k + n - 1) % n];
        let q = ring[k];
        let s = ring[(k + 1) % n];
        let d1 = (q.0 - p.0, q.1 - p.1);
        let d2 = (s.0 - q.0, s.1 - q.1);
        if d1 != d2 {
            out.push([q.0 as f64 + dx, q.1 as f64 + dy]);
        }
    }
    if let Some(&f) = out.first() {
        out.push(f);
    }
    out
}

/// Signed area of a closed ring by the shoelace formula, in the ring's coordinate
/// units squared (positive = counter-clockwise in a y-up frame).
pub fn ring_signed_area(ring: &[[f64; 2]]) -> f64 {
    ring.windows(2)
        .map(|p| p[0][0] * p[1][1] - p[1][0] * p[0][1])
        .sum::<f64>()
        * 0.5
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_pixel_outline_is_unit_square() {
        let rings = trace_outline(&[5 * 10 + 3], 10, [5, 3, 5, 3]);
        assert_eq!(rings.len(), 1);
        assert_eq!(rings[0].len(), 5);
        assert!((ring_signed_area(&rings[0]).abs() - 1.0).abs() < 1e-12);
    }

    #[test]
    fn diagonal_pair_gives_two_rings() {
        // pixels (0,0) and (1,1) on a 3-wide raster
        let rings = trace_outline(&[0, 4], 3, [0, 0, 1, 1]);
        assert_eq!(rings.len(), 2, "{rings:?}");
        for r in &rings {
            assert!((ring_signed_area(r).abs() - 1.0).abs() < 1e-12);
        }
    }

    #[test]
    fn l_shape_area_and_vertices() {
        // (0,0),(1,0),(1,1) on a 2-wide raster: an L of area 3 with 6 corners.
        let rings = trace_outline(&[0, 2, 3], 2, [0, 0, 1, 1]);
        assert_eq!(rings.len(), 1);
        assert_eq!(rings[0].len(), 7);
        assert!((ring_signed_area(&rings[0]).abs() - 3.0).abs() < 1e-12);
    }
}
