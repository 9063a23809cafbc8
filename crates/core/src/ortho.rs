//! Orthorectification through a geographic lookup table (GLT), as AVIRIS-NG and EMIT
//! deliver it: for each pixel of a north-up map grid, the raw (line, sample) whose
//! value it shows.
//!
//! Detection runs in raw sensor geometry (per-column statistics need detector columns);
//! rasters are then resampled to the map grid with [`Glt::apply`], and raw pixel
//! positions (sources, outlines) are mapped through [`Glt::raw_affine`], the
//! least-squares affine model of the raw → map relation.

use crate::geo::GeoTransform;
use crate::raster::Grid;
use crate::{Error, Result};

/// A geographic lookup table.
///
/// # Array order
/// `raw_line` and `raw_sample` are `lines × samples` of the **map grid**, row-major;
/// each entry is the 0-based raw line/sample shown at that map pixel, or −1 when the
/// map pixel lies outside the flight line.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Glt {
    /// Map-grid lines.
    pub lines: usize,
    /// Map-grid samples.
    pub samples: usize,
    /// Raw line per map pixel (−1 = none).
    pub raw_line: Vec<i64>,
    /// Raw sample per map pixel (−1 = none).
    pub raw_sample: Vec<i64>,
}

impl Glt {
    /// Builds a GLT from the two bands of an ENVI/JPL GLT file: `sample_band` and
    /// `line_band` hold 1-based raw sample and line numbers; negative values mark
    /// nearest-neighbour infill (their absolute value is used) and 0 marks map pixels
    /// outside the flight line. Every referenced raw pixel must lie inside `raw`.
    pub fn from_one_based(
        sample_band: &[f32],
        line_band: &[f32],
        grid: Grid,
        raw: Grid,
    ) -> Result<Self> {
        grid.check("GLT sample band", sample_band.len())?;
        grid.check("GLT line band", line_band.len())?;
        let mut raw_line = Vec::with_capacity(grid.len());
        let mut raw_sample = Vec::with_capacity(grid.len());
        for (i, (&s, &l)) in sample_band.iter().zip(line_band).enumerate() {
            if !(s.is_finite() && l.is_finite()) || s == 0.0 || l == 0.0 {
                raw_line.push(-1);
                raw_sample.push(-1);
                continue;
            }
            let (s, l) = (s.abs().round() as i64 - 1, l.abs().round() as i64 - 1);
            if s >= raw.samples as i64 || l >= raw.lines as i64 {
                return Err(Error::Invalid(format!(
                    "GLT pixel (line {}, sample {}) points at raw line {}, sample {}: expected within the cube's {} lines × {} samples",
                    i / grid.samples,
                    i % grid.samples,
                    l + 1,
                    s + 1,
                    raw.lines,
                    raw.samples
                )));
            }
            raw_line.push(l);
            raw_sample.push(s);
        }
        Ok(Self {
            lines: grid.lines,
            samples: grid.samples,
            raw_line,
            raw_sample,
        })
    }

    /// Resamples a raw raster (`raw` grid, row-major) to the map grid; map pixels
    /// outside the flight line get `fill`.
    pub fn apply(&self, values: &[f32], raw: Grid, fill: f32) -> Result<Vec<f32>> {
        raw.check("raw raster", values.len())?;
        Ok(self
            .raw_line
            .iter()
            .zip(&self.raw_sample)
            .map(|(&l, &s)| {
                if l < 0 {
                    fill
                } else {
                    values[l as usize * raw.samples + s as usize]
                }
            })
            .collect())
    }

    /// The affine model `raw (col, row) → map (x, y)` fitted by least squares over every
    /// map pixel the GLT fills (pixel centres on both sides), with the RMS residual in
    /// map units. For a straight flight line the model is exact up to the GLT's own
    /// nearest-neighbour rounding (about 0.4 map pixel RMS).
    pub fn raw_affine(&self, map: &GeoTransform) -> Result<(GeoTransform, f64)> {
        // Normal equations of x = a0 + a1·c + a2·r (and the same for y).
        let mut ata = [[0.0f64; 3]; 3];
        let (mut atx, mut aty) = ([0.0f64; 3], [0.0f64; 3]);
        let mut n = 0usize;
        let mut pairs = Vec::new();
        for i in 0..self.lines {
            for j in 0..self.samples {
                let k = i * self.samples + j;
                if self.raw_line[k] < 0 {
                    continue;
                }
                let (c, r) = (
                    self.raw_sample[k] as f64 + 0.5,
                    self.raw_line[k] as f64 + 0.5,
                );
                let (x, y) = map.pixel_to_map(j as f64 + 0.5, i as f64 + 0.5);
                let a = [1.0, c, r];
                for p in 0..3 {
                    for q in 0..3 {
                        ata[p][q] += a[p] * a[q];
                    }
                    atx[p] += a[p] * x;
                    aty[p] += a[p] * y;
                }
                n += 1;
                pairs.push((c, r, x, y));
            }
        }
        if n < 3 {
            return Err(Error::Invalid(format!(
                "GLT: {n} filled map pixel(s); expected at least 3 to relate raw and map geometry"
            )));
        }
        let sx = solve3(ata, atx)?;
        let sy = solve3(ata, aty)?;
        let gt = GeoTransform::new([sx[0], sx[1], sx[2], sy[0], sy[1], sy[2]])?;
        let ss: f64 = pairs
            .iter()
            .map(|&(c, r, x, y)| {
                let (fx, fy) = gt.pixel_to_map(c, r);
                (fx - x).powi(2) + (fy - y).powi(2)
            })
            .sum();
        Ok((gt, (ss / n as f64).sqrt()))
    }
}

/// Solves a 3 × 3 linear system by Cramer's rule.
fn solve3(a: [[f64; 3]; 3], b: [f64; 3]) -> Result<[f64; 3]> {
    let det = |m: [[f64; 3]; 3]| {
        m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1])
            - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
            + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0])
    };
    let d = det(a);
    let scale = (a[0][0] * a[1][1] * a[2][2]).abs().max(1e-300);
    if d.is_nan() || d.abs() <= 1e-12 * scale {
        return Err(Error::Numerical(
            "GLT: raw positions are collinear; cannot fit the raw → map geometry".into(),
        ));
    }
    let mut x = [0.0; 3];
    for (k, xk) in x.iter_mut().enumerate() {
        let mut m = a;
        for row in 0..3 {
            m[row][k] = b[row];
        }
        *xk = det(m) / d;
    }
    Ok(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A GLT that shows the raw cube rotated by 180° on the map grid.
    fn rotated(raw: Grid) -> Glt {
        let n = raw.len();
        let sample: Vec<f32> = (0..n)
            .map(|k| (raw.samples - k % raw.samples) as f32)
            .collect();
        let line: Vec<f32> = (0..n)
            .map(|k| (raw.lines - k / raw.samples) as f32)
            .collect();
        Glt::from_one_based(&sample, &line, raw, raw).unwrap()
    }

    #[test]
    fn rotation_is_resampled_and_fitted_exactly() {
        let raw = Grid::new(4, 5);
        let glt = rotated(raw);
        let values: Vec<f32> = (0..20).map(|v| v as f32).collect();
        let out = glt.apply(&values, raw, f32::NAN).unwrap();
        assert_eq!(out[0], 19.0);
        assert_eq!(out[19], 0.0);
        let map = GeoTransform::north_up(1000.0, 2000.0, 10.0).unwrap();
        let (gt, rms) = glt.raw_affine(&map).unwrap();
        assert!(rms < 1e-9, "rms {rms}");
        // Raw pixel (col 0.5, row 0.5) is shown at map pixel (4.5, 3.5).
        let (x, y) = gt.pixel_to_map(0.5, 0.5);
        let (ex, ey) = map.pixel_to_map(4.5, 3.5);
        assert!((x - ex).abs() < 1e-6 && (y - ey).abs() < 1e-6);
    }

    #[test]
    fn zero_is_outside_and_out_of_range_is_an_error() {
        let raw = Grid::new(2, 2);
        let glt =
            Glt::from_one_based(&[0.0, 1.0, -2.0, 2.0], &[0.0, 1.0, 2.0, -2.0], raw, raw).unwrap();
        assert_eq!(
            glt.apply(&[1.0, 2.0, 3.0, 4.0], raw, -1.0).unwrap(),
            vec![-1.0, 1.0, 4.0, 4.0]
        );
        assert!(Glt::from_one_based(&[3.0, 1.0, 1.0, 1.0], &[1.0; 4], raw, raw).is_err());
    }
}
