//! Pixel ↔ map coordinates through a GDAL-convention affine geotransform, and wind
//! directions expressed in pixel space.
//!
//! # Conventions
//! Pixel coordinates are continuous `(col, row)` = `(x, y)`: pixel `(row, col)` covers
//! `[col, col + 1) × [row, row + 1)`, so its centre is `(col + 0.5, row + 0.5)`. This is
//! GDAL's convention (and the ENVI `map info` one once its 1-based reference pixel is
//! converted). Map coordinates are those of the scene's CRS (metres for UTM).

use crate::{Error, Result};

/// An affine geotransform in GDAL's convention:
/// `x_map = gt[0] + col·gt[1] + row·gt[2]`, `y_map = gt[3] + col·gt[4] + row·gt[5]`.
///
/// # Units
/// Map units of the scene CRS (metres for projected CRSs) per pixel.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct GeoTransform {
    /// The six GDAL coefficients.
    pub gt: [f64; 6],
}

impl GeoTransform {
    /// Wraps GDAL coefficients after checking that the transform is finite and
    /// invertible (a zero-area pixel cannot be mapped back).
    pub fn new(gt: [f64; 6]) -> Result<Self> {
        if gt.iter().any(|v| !v.is_finite()) {
            return Err(Error::Invalid(format!(
                "geotransform: expected 6 finite coefficients, got {gt:?}"
            )));
        }
        let det = gt[1] * gt[5] - gt[2] * gt[4];
        if det == 0.0 || !det.is_finite() {
            return Err(Error::Invalid(format!(
                "geotransform: expected an invertible transform (pixel area ≠ 0), got {gt:?}"
            )));
        }
        Ok(Self { gt })
    }

    /// A north-up transform with the upper-left corner of pixel (0, 0) at
    /// `(ul_x, ul_y)` and square pixels of `gsd` map units.
    pub fn north_up(ul_x: f64, ul_y: f64, gsd: f64) -> Result<Self> {
        Self::new([ul_x, gsd, 0.0, ul_y, 0.0, -gsd])
    }

    /// Map coordinates of the continuous pixel position `(col, row)`.
    pub fn pixel_to_map(&self, col: f64, row: f64) -> (f64, f64) {
        let g = &self.gt;
        (
            g[0] + col * g[1] + row * g[2],
            g[3] + col * g[4] + row * g[5],
        )
    }

    /// Continuous pixel position `(col, row)` of the map point `(x, y)` (inverse of
    /// [`GeoTransform::pixel_to_map`]).
    pub fn map_to_pixel(&self, x: f64, y: f64) -> (f64, f64) {
        let g = &self.gt;
        let det = g[1] * g[5] - g[2] * g[4];
        let dx = x - g[0];
        let dy = y - g[3];
        (
            (g[5] * dx - g[2] * dy) / det,
            (-g[4] * dx + g[1] * dy) / det,
        )
    }

    /// Converts a displacement in map units `(dx, dy)` (east, north for a projected
    /// CRS) into a displacement in pixels `(dcol, drow)`.
    pub fn map_vector_to_pixel(&self, dx: f64, dy: f64) -> (f64, f64) {
        let g = &self.gt;
        let det = g[1] * g[5] - g[2] * g[4];
        (
            (g[5] * dx - g[2] * dy) / det,
            (-g[4] * dx + g[1] * dy) / det,
        )
    }

    /// Area of one pixel.
    ///
    /// # Units
    /// Square map units (m² for projected CRSs).
    pub fn pixel_area(&self) -> f64 {
        let g = &self.gt;
        (g[1] * g[5] - g[2] * g[4]).abs()
    }

    /// Ground sample distance as the square root of the pixel area.
    ///
    /// # Units
    /// Map units (m for projected CRSs).
    pub fn gsd(&self) -> f64 {
        self.pixel_area().sqrt()
    }
}

/// Unit vector, in map coordinates `(east, north)`, of the direction the wind blows
/// **towards**, given the meteorological direction it blows **from** (degrees clockwise
/// from north: 270 = a westerly wind blowing towards the east).
///
/// # Units
/// `from_deg` in degrees; the result is dimensionless.
pub fn downwind_map_unit(from_deg: f64) -> (f64, f64) {
    let r = from_deg.to_radians();
    (-r.sin(), -r.cos())
}

/// Unit vector, in pixel coordinates `(dcol, drow)`, of the downwind direction for a
/// wind blowing from `from_deg` (meteorological), through the geotransform's rotation
/// and axis flips. For a north-up scene a wind from the west (270°) gives `(1, 0)`,
/// one from the north (0°) gives `(0, 1)` (rows run southward).
pub fn downwind_pixel_unit(transform: &GeoTransform, from_deg: f64) -> (f64, f64) {
    let (e, n) = downwind_map_unit(from_deg);
    let (dc, dr) = transform.map_vector_to_pixel(e, n);
    let norm = (dc * dc + dr * dr).sqrt();
    // A wind along a pixel axis has an exact zero component, not the rounding of
    // cos 90°: comparisons along the wind (the source locator's upwind end) must not
    // depend on how far from the raster origin a plume lies (a stream analyses plumes
    // on blocks of lines).
    let snap = |v: f64| if v.abs() < 1e-12 { 0.0 } else { v };
    if norm > 0.0 {
        (snap(dc / norm), snap(dr / norm))
    } else {
        (0.0, 0.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_on_rotated_transform() {
        let t = GeoTransform::new([500_000.0, 2.5, 0.7, 4_000_000.0, 0.4, -2.5]).unwrap();
        for &(c, r) in &[(0.0, 0.0), (10.5, 3.25), (191.9, 383.1)] {
            let (x, y) = t.pixel_to_map(c, r);
            let (c2, r2) = t.map_to_pixel(x, y);
            assert!((c - c2).abs() < 1e-9 && (r - r2).abs() < 1e-9);
        }
    }

    #[test]
    fn north_up_pixel_centre_matches_scene_convention() {
        // truth_sources.json: E = 609000 + (col + 0.5)·gsd, N = 3556000 − (row + 0.5)·gsd
        let t = GeoTransform::north_up(609_000.0, 3_556_000.0, 60.0).unwrap();
        let (e, n) = t.pixel_to_map(6.519886786353147, 67.5093572524578);
        assert!((e - 609_391.193).abs() < 1e-3, "{e}");
        assert!((n - 3_551_949.439).abs() < 1e-3, "{n}");
        assert_eq!(t.gsd(), 60.0);
    }

    #[test]
    fn wind_from_west_blows_east_in_pixels() {
        let t = GeoTransform::north_up(0.0, 0.0, 3.0).unwrap();
        let (dc, dr) = downwind_pixel_unit(&t, 270.0);
        assert!((dc - 1.0).abs() < 1e-12 && dr.abs() < 1e-12);
        let (dc, dr) = downwind_pixel_unit(&t, 0.0);
        assert!(dc.abs() < 1e-12 && (dr - 1.0).abs() < 1e-12);
    }

    #[test]
    fn singular_transform_is_refused() {
        assert!(GeoTransform::new([0.0, 1.0, 0.0, 0.0, 0.0, 0.0]).is_err());
        assert!(GeoTransform::new([f64::NAN, 1.0, 0.0, 0.0, 0.0, -1.0]).is_err());
    }
}
