//! The footprint of a flight strip on a north-up mosaic grid: a rectangle rotated by the
//! flight heading, whose outside is the mosaic's nodata collar.
//!
//! A georeferenced mosaic of a drone or aircraft strip is resampled onto a map grid that
//! is not aligned with the flight line, so the valid pixels form a rotated rectangle
//! (its ends cut off by the raster edges or ending inside it) and the rest of the raster
//! is nodata. [`StripFootprint::random`] draws such a footprint covering a chosen share
//! of the raster; [`StripFootprint::inside`] tests pixel positions.
//!
//! # Units
//! Positions in pixels: `row` down (line), `col` right (sample), pixel `(r, c)` spans
//! `[r, r+1) × [c, c+1)` and its centre is `(r + 0.5, c + 0.5)`. Angles in degrees.

use crate::rng::SeededRng;

/// Share of the raster a random footprint covers is drawn in this range.
pub const COVERAGE_RANGE: (f64, f64) = (0.72, 0.84);

/// A rotated rectangle in pixel coordinates: the valid part of a mosaic.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StripFootprint {
    /// Centre row, pixels.
    pub center_row: f64,
    /// Centre column, pixels.
    pub center_col: f64,
    /// Flight heading relative to the grid's columns (down the raster = 0°), degrees,
    /// positive turning towards increasing columns.
    pub heading_deg: f64,
    /// Half the strip's width across the flight line, pixels.
    pub half_across_px: f64,
    /// Half the strip's length along the flight line, pixels.
    pub half_along_px: f64,
}

impl StripFootprint {
    /// Draws a strip footprint for a `lines × samples` raster from `seed`: heading
    /// 8–30° either way off the grid, centre within 4 % of the raster's centre, ends
    /// 0–12 % short of the raster's extent along the heading, and a width that makes it
    /// cover a share of the raster drawn in [`COVERAGE_RANGE`] (to within 1 %).
    pub fn random(lines: usize, samples: usize, seed: u64) -> Self {
        let mut rng = SeededRng::derived(seed, 0xf007_9217);
        let sign = if rng.uniform() < 0.5 { -1.0 } else { 1.0 };
        let heading_deg = sign * rng.range(8.0, 30.0);
        let (h, w) = (lines as f64, samples as f64);
        let center_row = h * (0.5 + rng.range(-0.04, 0.04));
        let center_col = w * (0.5 + rng.range(-0.04, 0.04));
        let (s, c) = heading_deg.to_radians().sin_cos();
        let along_extent = h * c.abs() + w * s.abs();
        let half_along_px = 0.5 * along_extent * rng.range(0.88, 1.0);
        let target = rng.range(COVERAGE_RANGE.0, COVERAGE_RANGE.1);
        let mut fp = Self {
            center_row,
            center_col,
            heading_deg,
            half_across_px: 0.0,
            half_along_px,
        };
        // Coverage grows with the width: bisect the width for the target share.
        let (mut lo, mut hi) = (0.0, along_extent);
        for _ in 0..40 {
            fp.half_across_px = 0.5 * (lo + hi);
            if fp.coverage(lines, samples) < target {
                lo = fp.half_across_px;
            } else {
                hi = fp.half_across_px;
            }
        }
        fp.half_across_px = hi;
        fp
    }

    /// Signed distance, pixels, from `(row, col)` to the footprint's edge: positive
    /// inside, negative outside (the Chebyshev-like distance of a rectangle: the smaller
    /// of the distances to its two pairs of sides).
    pub fn depth(&self, row: f64, col: f64) -> f64 {
        let (s, c) = self.heading_deg.to_radians().sin_cos();
        let (dr, dc) = (row - self.center_row, col - self.center_col);
        // Along the heading (unit vector (c, s) in (row, col)) and across it.
        let along = dr * c + dc * s;
        let across = -dr * s + dc * c;
        (self.half_along_px - along.abs()).min(self.half_across_px - across.abs())
    }

    /// Whether the point `(row, col)` lies inside, at least `margin_px` from the edge.
    pub fn inside(&self, row: f64, col: f64, margin_px: f64) -> bool {
        self.depth(row, col) >= margin_px
    }

    /// How far inside the edge a simulated source must sit, pixels: 20 m (room for the
    /// pad under it), but at most 10 % of the raster's smaller side so small test
    /// scenes keep room for sources.
    pub fn source_margin_px(gsd_m: f64, lines: usize, samples: usize) -> f64 {
        (20.0 / gsd_m).min(0.1 * lines.min(samples) as f64)
    }

    /// Collar mask of a `lines × samples` raster: `true` where the pixel's centre lies
    /// outside the footprint (row-major, line slowest).
    pub fn collar_mask(&self, lines: usize, samples: usize) -> Vec<bool> {
        (0..lines * samples)
            .map(|i| {
                let (r, c) = ((i / samples) as f64 + 0.5, (i % samples) as f64 + 0.5);
                !self.inside(r, c, 0.0)
            })
            .collect()
    }

    /// Share of the pixels of a `lines × samples` raster inside the footprint (pixel
    /// centres; on a grid of at most ~250 × 250 sample points for large rasters).
    pub fn coverage(&self, lines: usize, samples: usize) -> f64 {
        let step = (lines.max(samples) / 250).max(1);
        let (mut n, mut inside) = (0usize, 0usize);
        for r in (0..lines).step_by(step) {
            for c in (0..samples).step_by(step) {
                n += 1;
                inside += usize::from(self.inside(r as f64 + 0.5, c as f64 + 0.5, 0.0));
            }
        }
        inside as f64 / n.max(1) as f64
    }

    /// The four corners as (row, col) pixels, in order around the rectangle.
    pub fn corners(&self) -> [(f64, f64); 4] {
        let (s, c) = self.heading_deg.to_radians().sin_cos();
        let (a, b) = (self.half_along_px, self.half_across_px);
        [(1.0, 1.0), (1.0, -1.0), (-1.0, -1.0), (-1.0, 1.0)].map(|(u, v)| {
            let (along, across) = (u * a, v * b);
            (
                self.center_row + along * c - across * s,
                self.center_col + along * s + across * c,
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simulate::{random_sources_where, SceneConfig};

    /// Regression guard of the mosaic scenes: a source in the collar would sit in nodata
    /// (its pad and vent unseen) and could never be found.
    #[test]
    fn random_sources_are_never_placed_in_the_collar() {
        for seed in 0..30 {
            let (lines, samples, gsd) = (256, 240, 0.5);
            let fp = StripFootprint::random(lines, samples, seed);
            let collar = fp.collar_mask(lines, samples);
            let margin = StripFootprint::source_margin_px(gsd, lines, samples);
            let config = SceneConfig::new(lines, samples, gsd, seed);
            let sources = random_sources_where(&config, 12, (60.0, 200.0), seed, |r, c| {
                fp.inside(r, c, margin)
            })
            .unwrap();
            assert_eq!(sources.len(), 12);
            for s in &sources {
                let (r, c) = (s.row.floor() as usize, s.col.floor() as usize);
                assert!(
                    !collar[r * samples + c],
                    "seed {seed}: source in the collar {s:?}"
                );
                assert!(
                    fp.depth(s.row, s.col) >= margin,
                    "seed {seed}: {s:?} near the edge"
                );
            }
        }
        // Nowhere allowed: an error, not an endless loop.
        let config = SceneConfig::new(64, 64, 0.5, 1);
        assert!(random_sources_where(&config, 1, (1.0, 2.0), 1, |_, _| false).is_err());
    }

    #[test]
    fn random_footprints_cover_the_drawn_share_and_are_tilted() {
        for seed in 0..20 {
            let (lines, samples) = (300 + 17 * seed as usize, 280);
            let fp = StripFootprint::random(lines, samples, seed);
            let collar = fp.collar_mask(lines, samples);
            let share = 1.0 - collar.iter().filter(|c| **c).count() as f64 / collar.len() as f64;
            assert!(
                (COVERAGE_RANGE.0 - 0.01..=COVERAGE_RANGE.1 + 0.01).contains(&share),
                "seed {seed}: coverage {share}"
            );
            assert!((8.0..=30.0).contains(&fp.heading_deg.abs()), "{fp:?}");
            // Every raster edge row has collar: the footprint is not the grid.
            assert!(collar[..samples].iter().any(|c| *c), "seed {seed}: top row");
        }
    }

    #[test]
    fn depth_is_positive_inside_and_corners_lie_on_the_edge() {
        let fp = StripFootprint {
            center_row: 50.0,
            center_col: 40.0,
            heading_deg: 20.0,
            half_across_px: 15.0,
            half_along_px: 30.0,
        };
        assert!((fp.depth(50.0, 40.0) - 15.0).abs() < 1e-9);
        for (r, c) in fp.corners() {
            assert!(fp.depth(r, c).abs() < 1e-9, "corner {r}, {c}");
        }
        // 16 px across the heading from the centre: outside by 1 px.
        let (s, c) = 20f64.to_radians().sin_cos();
        assert!((fp.depth(50.0 - 16.0 * s, 40.0 + 16.0 * c) + 1.0).abs() < 1e-9);
    }
}
