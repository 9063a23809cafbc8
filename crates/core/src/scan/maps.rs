//! The maps a pass analysis reads: no-data as NaN and the significance smoothed, built
//! once and updated where a few pixels change.

use crate::detect::DetectionMaps;
use crate::raster::Grid;
use crate::Result;

/// Mean of the finite values of `v` (a `grid` raster) over the `(2r+1)²` window around
/// each pixel, scaled by the square root of the number of values averaged (so that
/// independent unit-variance noise keeps unit variance). NaN where the pixel is NaN.
pub fn box_average_z(v: &[f32], grid: Grid, r: usize) -> Vec<f32> {
    if r == 0 {
        return v.to_vec();
    }
    let w = grid.samples;
    let mut out = vec![f32::NAN; v.len()];
    if w == 0 {
        return out;
    }
    // Rows in parallel; each value is the same serial sum as before.
    use rayon::prelude::*;
    out.par_chunks_mut(w).enumerate().for_each(|(i, row)| {
        for (j, o) in row.iter_mut().enumerate() {
            *o = box_average_at(v, grid, r, i, j);
        }
    });
    out
}

/// [`box_average_z`] at one pixel (line `i`, sample `j`; `r` ≥ 1).
fn box_average_at(v: &[f32], grid: Grid, r: usize, i: usize, j: usize) -> f32 {
    let (h, w) = (grid.lines, grid.samples);
    if !v[i * w + j].is_finite() {
        return f32::NAN;
    }
    let (i0, i1) = (i.saturating_sub(r), (i + r).min(h - 1));
    let (j0, j1) = (j.saturating_sub(r), (j + r).min(w - 1));
    let (mut sum, mut n) = (0.0f64, 0usize);
    for ii in i0..=i1 {
        for &x in &v[ii * w + j0..=ii * w + j1] {
            if x.is_finite() {
                sum += f64::from(x);
                n += 1;
            }
        }
    }
    (sum / (n as f64).sqrt()) as f32
}

/// The maps a pass analysis reads, NaN where there is no data, with the significance
/// smoothed ([`PassParams::smoothing_radius`]). Built once from a detection's maps;
/// where a few pixels change (a plume injected into a flight line), [`PassMaps::set`]
/// updates them and their smoothing neighbourhood only, with the same values a rebuild
/// gives, and [`PassMaps::restore`] puts the original values back.
#[derive(Debug, Clone, PartialEq)]
pub struct PassMaps {
    pub(super) grid: Grid,
    pub(super) radius: usize,
    z_unsmoothed: Vec<f32>,
    pub(super) z: Vec<f32>,
    pub(super) enhancement: Vec<f32>,
    pub(super) albedo: Vec<f32>,
    pub(super) sigma: Vec<f32>,
    /// The scene these maps are a block of, when they are ([`PassMaps::within`]).
    pub(super) reference: Option<crate::plume::SceneReference>,
    /// Enhancement and sigma for emission rates ([`PassMaps::with_rate_values`]).
    pub(super) rate: Option<RateMaps>,
}

/// Enhancement and its noise for emission rates: the detection's values, replaced
/// where a re-estimate against statistics without the plumes' gas exists
/// ([`crate::detect::fixed::ColumnFilters::gas_free_outputs`]).
#[derive(Debug, Clone, PartialEq)]
pub(super) struct RateMaps {
    pub(super) enhancement: Vec<f32>,
    pub(super) sigma: Vec<f32>,
}

/// One pixel's detection values, as [`DetectionMaps`] hold them ([`crate::raster::NODATA`]
/// where there is no output): enhancement, albedo, sigma, z.
pub type PixelValues = [f32; 4];

impl PassMaps {
    /// The maps of a detection, smoothed with `smoothing_radius` (that of the
    /// [`PassParams`] the analysis will use).
    pub fn new(maps: &DetectionMaps, smoothing_radius: usize) -> Result<Self> {
        let grid = Grid::new(maps.lines, maps.samples);
        for (name, m) in [
            ("z", &maps.z),
            ("enhancement", &maps.enhancement),
            ("albedo", &maps.albedo),
            ("sigma", &maps.sigma),
        ] {
            grid.check(name, m.len())?;
        }
        let z_unsmoothed = crate::raster::nodata_as_nan(&maps.z);
        Ok(Self {
            grid,
            radius: smoothing_radius,
            z: box_average_z(&z_unsmoothed, grid, smoothing_radius),
            z_unsmoothed,
            enhancement: crate::raster::nodata_as_nan(&maps.enhancement),
            albedo: crate::raster::nodata_as_nan(&maps.albedo),
            sigma: crate::raster::nodata_as_nan(&maps.sigma),
            reference: None,
            rate: None,
        })
    }

    /// These maps with the enhancement and sigma that emission rates use instead of
    /// the detection's (`lines × samples`; NaN keeps the detection's value): the
    /// plume pixels' values against statistics without the plumes' gas
    /// ([`crate::detect::fixed::ColumnFilters::gas_free_outputs`]). Detection, source
    /// location and every rule keep the detection's values.
    pub fn with_rate_values(mut self, enhancement: &[f32], sigma: &[f32]) -> Result<Self> {
        self.grid.check("rate enhancement", enhancement.len())?;
        self.grid.check("rate sigma", sigma.len())?;
        let pick = |re: &[f32], base: &[f32]| -> Vec<f32> {
            re.iter()
                .zip(base)
                .map(|(&r, &b)| if r.is_finite() { r } else { b })
                .collect()
        };
        let merged_sigma = enhancement
            .iter()
            .zip(sigma.iter().zip(&self.sigma))
            .map(|(&e, (&s, &b))| if e.is_finite() && s.is_finite() { s } else { b })
            .collect();
        self.rate = Some(RateMaps {
            enhancement: pick(enhancement, &self.enhancement),
            sigma: merged_sigma,
        });
        Ok(self)
    }

    /// The enhancement and sigma emission rates use (ppm·m, NaN = no data).
    pub fn rate_values(&self) -> (&[f32], &[f32]) {
        match &self.rate {
            Some(r) => (&r.enhancement, &r.sigma),
            None => (&self.enhancement, &self.sigma),
        }
    }

    /// These maps as a block of lines of a larger scene whose per-column background
    /// and size are `reference`: the CFAR rule and the false-alarm probability of the
    /// analysis refer to the scene, not to the block (a stream analyses each plume on
    /// the lines around it).
    pub fn within(mut self, reference: crate::plume::SceneReference) -> Result<Self> {
        if reference.background.len() != self.grid.samples {
            return Err(crate::Error::Shape {
                what: "reference column backgrounds (one per sample)".into(),
                expected: self.grid.samples,
                got: reference.background.len(),
            });
        }
        self.reference = Some(reference);
        Ok(self)
    }

    /// Raster size.
    pub fn grid(&self) -> Grid {
        self.grid
    }

    /// Enhancement, ppm·m (NaN = no data).
    pub fn enhancement(&self) -> &[f32] {
        &self.enhancement
    }

    /// The smoothed significance the CFAR rule reads (NaN = no data).
    pub fn smoothed_z(&self) -> &[f32] {
        &self.z
    }

    /// Sets the values of some pixels (linear indices) and smooths the significance
    /// again around them.
    pub fn set(&mut self, changes: &[(usize, PixelValues)]) -> Result<()> {
        let nan = crate::raster::nodata_to_nan;
        for &(i, [e, a, s, z]) in changes {
            self.grid.check_index(i)?;
            self.enhancement[i] = nan(e);
            self.albedo[i] = nan(a);
            self.sigma[i] = nan(s);
            self.z_unsmoothed[i] = nan(z);
            if let Some(r) = &mut self.rate {
                r.enhancement[i] = nan(e);
                r.sigma[i] = nan(s);
            }
        }
        let (z, grid, r) = (&self.z_unsmoothed, self.grid, self.radius);
        for_neighbourhood(grid, r, changes.iter().map(|c| c.0), |i| {
            self.z[i] = if r == 0 {
                z[i]
            } else {
                box_average_at(z, grid, r, i / grid.samples, i % grid.samples)
            };
        });
        Ok(())
    }

    /// Puts back `clean`'s values at `pixels` and in their smoothing neighbourhood
    /// (undoes [`PassMaps::set`] of those pixels when `self` was a copy of `clean`).
    pub fn restore(&mut self, clean: &PassMaps, pixels: &[usize]) -> Result<()> {
        if clean.grid != self.grid || clean.radius != self.radius {
            return Err(crate::Error::Invalid(
                "pass maps: restoring from maps of another grid or smoothing".into(),
            ));
        }
        for &i in pixels {
            self.grid.check_index(i)?;
            self.enhancement[i] = clean.enhancement[i];
            self.albedo[i] = clean.albedo[i];
            self.sigma[i] = clean.sigma[i];
            self.z_unsmoothed[i] = clean.z_unsmoothed[i];
            if let (Some(r), Some(c)) = (&mut self.rate, &clean.rate) {
                r.enhancement[i] = c.enhancement[i];
                r.sigma[i] = c.sigma[i];
            }
        }
        for_neighbourhood(self.grid, self.radius, pixels.iter().copied(), |i| {
            self.z[i] = clean.z[i];
        });
        Ok(())
    }
}

/// Calls `f` once for each pixel within Chebyshev distance `r` of any of `pixels`
/// (valid indices), in no particular order.
fn for_neighbourhood(
    grid: Grid,
    r: usize,
    pixels: impl Iterator<Item = usize>,
    mut f: impl FnMut(usize),
) {
    let (h, w) = (grid.lines, grid.samples);
    let mut seen = vec![0u64; grid.len().div_ceil(64)];
    for p in pixels {
        let (i, j) = (p / w, p % w);
        for ii in i.saturating_sub(r)..=(i + r).min(h - 1) {
            for jj in j.saturating_sub(r)..=(j + r).min(w - 1) {
                let q = ii * w + jj;
                let (word, bit) = (q / 64, 1u64 << (q % 64));
                if seen[word] & bit == 0 {
                    seen[word] |= bit;
                    f(q);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bits(v: &[f32]) -> Vec<u32> {
        v.iter().map(|x| x.to_bits()).collect()
    }

    fn same(a: &PassMaps, b: &PassMaps) -> bool {
        a.grid == b.grid
            && [
                (&a.z, &b.z),
                (&a.z_unsmoothed, &b.z_unsmoothed),
                (&a.enhancement, &b.enhancement),
                (&a.albedo, &b.albedo),
                (&a.sigma, &b.sigma),
            ]
            .iter()
            .all(|(x, y)| bits(x) == bits(y))
    }

    /// Setting some pixels of prepared maps gives bit for bit the maps prepared from
    /// the changed detection (smoothing included, edges and no-data too), and
    /// restoring them gives back the original.
    #[test]
    fn pass_maps_set_and_restore_match_a_rebuild() {
        use crate::raster::NODATA;
        use crate::rng::SeededRng;
        let (lines, samples) = (40, 30);
        let n = lines * samples;
        let mut rng = SeededRng::new(7);
        let mut map = |nodata_every: usize| -> Vec<f32> {
            (0..n)
                .map(|i| {
                    if i % nodata_every == 3 {
                        NODATA
                    } else {
                        rng.normal() as f32
                    }
                })
                .collect()
        };
        let clean = DetectionMaps {
            lines,
            samples,
            enhancement: map(17),
            albedo: map(19),
            sigma: map(23),
            z: map(13),
            timings: Default::default(),
        };
        for radius in [0, 1, 2] {
            let prepared = PassMaps::new(&clean, radius).unwrap();
            let mut changed = clean.clone();
            let mut changes = Vec::new();
            // A corner, an edge, a block in the middle, and pixels set to no data.
            let pixels: Vec<usize> = [0, samples - 1, n - 1, 5 * samples]
                .into_iter()
                .chain((10..14).flat_map(|l| (8..12).map(move |s| l * samples + s)))
                .collect();
            for (k, &i) in pixels.iter().enumerate() {
                let v = if k % 5 == 4 {
                    [NODATA; 4]
                } else {
                    [k as f32, 0.5, 2.0, 3.0 + k as f32]
                };
                changed.enhancement[i] = v[0];
                changed.albedo[i] = v[1];
                changed.sigma[i] = v[2];
                changed.z[i] = v[3];
                changes.push((i, v));
            }
            let mut updated = prepared.clone();
            updated.set(&changes).unwrap();
            let rebuilt = PassMaps::new(&changed, radius).unwrap();
            assert!(
                same(&updated, &rebuilt),
                "radius {radius}: set differs from a rebuild"
            );
            assert!(!same(&updated, &prepared));
            updated.restore(&prepared, &pixels).unwrap();
            assert!(same(&updated, &prepared), "radius {radius}: restore");
        }
        let mut p = PassMaps::new(&clean, 1).unwrap();
        assert!(p.set(&[(n, [0.0; 4])]).is_err());
    }
}
