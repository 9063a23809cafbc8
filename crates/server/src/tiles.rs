//! XYZ (Web Mercator) PNG tiles of each flight line: its CH4 enhancement (ppm·m) and
//! its quicklook (the scan's albedo factor, a grey SWIR image of the ground).
//!
//! At ingest, each raster is resampled (nearest neighbour) onto a regular lon/lat grid
//! covering its footprint; a tile is then drawn from that grid without touching GDAL.

use crate::error::{Error, Result};
use gdal::spatial_ref::{AxisMappingStrategy, CoordTransform, SpatialRef};
use gdal::Dataset;
use std::path::Path;

/// Fraction of `vmax` from which enhancement is coloured (below: grey footprint).
const SHOW_FROM: f32 = 0.25;

/// Which of a flight line's rasters a grid holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Layer {
    /// CH4 enhancement, ppm·m (`<line>_enhancement.tif`).
    Enhancement,
    /// The albedo factor (`<line>_albedo.tif`), drawn as a grey quicklook.
    Quicklook,
}

/// How a tile is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// Enhancement; `footprint`: draw the flight line's footprint in grey where the
    /// enhancement is below the noise floor (else leave it transparent, for drawing
    /// over the quicklook).
    Enhancement {
        /// Grey footprint below the noise floor.
        footprint: bool,
    },
    /// The quicklook in grey.
    Quicklook,
}

/// A flight line's enhancement (ppm·m) on a regular WGS84 lon/lat grid, row 0 at the
/// north edge. `NaN` outside the footprint and where the scan had no data.
#[derive(Debug, Clone)]
pub struct LonLatGrid {
    /// Columns.
    pub width: usize,
    /// Rows.
    pub height: usize,
    /// West edge, degrees east.
    pub west: f64,
    /// South edge, degrees north.
    pub south: f64,
    /// East edge, degrees east.
    pub east: f64,
    /// North edge, degrees north.
    pub north: f64,
    /// Enhancement, ppm·m, row-major (row, column).
    pub values: Vec<f32>,
    /// Where the grid came from: source size, geotransform and CRS (JSON).
    pub source: serde_json::Value,
    /// Colour scale top, ppm·m (99.5th percentile of positive values, at least 100).
    pub vmax: f32,
    /// Grey stretch of the quicklook: 2nd and 98th percentiles of the finite values.
    pub stretch: (f32, f32),
}

fn gdal_err<'a>(path: &'a Path, what: &str) -> impl Fn(gdal::errors::GdalError) -> Error + 'a {
    let what = what.to_string();
    move |e| Error::Input(format!("{}: {what}: {e}", path.display()))
}

impl LonLatGrid {
    /// Reads band 1 of `path` and resamples it to lon/lat; `None` when the raster has
    /// no coordinate system (no map tiles can be drawn for it).
    pub fn from_raster(path: &Path) -> Result<Option<LonLatGrid>> {
        let ds = Dataset::open(path).map_err(gdal_err(path, "cannot open raster"))?;
        let Ok(mut srs) = ds.spatial_ref() else {
            return Ok(None);
        };
        let gt = ds
            .geo_transform()
            .map_err(gdal_err(path, "no geotransform"))?;
        let (samples, lines) = ds.raster_size();
        let band = ds.rasterband(1).map_err(gdal_err(path, "band 1"))?;
        let nodata = band.no_data_value();
        let data = band
            .read_band_as::<f32>()
            .map_err(gdal_err(path, "reading band 1"))?;
        let (_, data) = data.into_shape_and_vec();
        srs.set_axis_mapping_strategy(AxisMappingStrategy::TraditionalGisOrder);
        let mut wgs = SpatialRef::from_epsg(4326).map_err(gdal_err(path, "EPSG:4326"))?;
        wgs.set_axis_mapping_strategy(AxisMappingStrategy::TraditionalGisOrder);
        let to_ll = CoordTransform::new(&srs, &wgs).map_err(gdal_err(path, "CRS to WGS84"))?;
        let from_ll = CoordTransform::new(&wgs, &srs).map_err(gdal_err(path, "WGS84 to CRS"))?;
        // Footprint: 32 points along each edge.
        let (mut xs, mut ys) = (Vec::new(), Vec::new());
        for k in 0..=32 {
            let t = k as f64 / 32.0;
            for (px, py) in [
                (t * samples as f64, 0.0),
                (t * samples as f64, lines as f64),
                (0.0, t * lines as f64),
                (samples as f64, t * lines as f64),
            ] {
                xs.push(gt[0] + px * gt[1] + py * gt[2]);
                ys.push(gt[3] + px * gt[4] + py * gt[5]);
            }
        }
        to_ll
            .transform_coords(&mut xs, &mut ys, &mut [])
            .map_err(gdal_err(path, "footprint to WGS84"))?;
        let fold = |v: &[f64], f: fn(f64, f64) -> f64, init: f64| v.iter().copied().fold(init, f);
        let (west, east) = (
            fold(&xs, f64::min, f64::INFINITY),
            fold(&xs, f64::max, f64::NEG_INFINITY),
        );
        let (south, north) = (
            fold(&ys, f64::min, f64::INFINITY),
            fold(&ys, f64::max, f64::NEG_INFINITY),
        );
        if !(west.is_finite() && east > west && south.is_finite() && north > south) {
            return Err(Error::Input(format!(
                "{}: footprint does not map to WGS84",
                path.display()
            )));
        }
        // About 1.5 grid cells per source pixel along each axis.
        let scale = 1.5 * ((samples * lines) as f64 / ((east - west) * (north - south))).sqrt();
        let width = (((east - west) * scale).ceil() as usize).clamp(1, 4096);
        let height = (((north - south) * scale).ceil() as usize).clamp(1, 4096);
        let (mut gx, mut gy) = (
            Vec::with_capacity(width * height),
            Vec::with_capacity(width * height),
        );
        for r in 0..height {
            for c in 0..width {
                gx.push(west + (c as f64 + 0.5) / width as f64 * (east - west));
                gy.push(north - (r as f64 + 0.5) / height as f64 * (north - south));
            }
        }
        from_ll
            .transform_coords(&mut gx, &mut gy, &mut [])
            .map_err(gdal_err(path, "grid to CRS"))?;
        let det = gt[1] * gt[5] - gt[2] * gt[4];
        let values: Vec<f32> = gx
            .iter()
            .zip(&gy)
            .map(|(&x, &y)| {
                let (dx, dy) = (x - gt[0], y - gt[3]);
                let px = (gt[5] * dx - gt[2] * dy) / det;
                let py = (-gt[4] * dx + gt[1] * dy) / det;
                if px >= 0.0 && py >= 0.0 && (px as usize) < samples && (py as usize) < lines {
                    let v = data[py as usize * samples + px as usize];
                    if !v.is_finite() || nodata.is_some_and(|n| f64::from(v) == n) || v <= -9000.0 {
                        f32::NAN
                    } else {
                        v
                    }
                } else {
                    f32::NAN
                }
            })
            .collect();
        let source = serde_json::json!({
            "file": path.file_name().map(|n| n.to_string_lossy().into_owned()),
            "lines": lines, "samples": samples, "geotransform": gt,
            "crs": srs.to_wkt().unwrap_or_default(),
        });
        let mut grid = LonLatGrid {
            width,
            height,
            west,
            south,
            east,
            north,
            values,
            source,
            vmax: 0.0,
            stretch: (0.0, 1.0),
        };
        grid.finish();
        Ok(Some(grid))
    }

    /// Computes the colour scales ([`LonLatGrid::vmax`], [`LonLatGrid::stretch`]).
    fn finish(&mut self) {
        self.vmax = self.color_top();
        self.stretch = self.grey_stretch();
    }

    fn grey_stretch(&self) -> (f32, f32) {
        let mut v: Vec<f32> = self
            .values
            .iter()
            .copied()
            .filter(|v| v.is_finite())
            .collect();
        if v.is_empty() {
            return (0.0, 1.0);
        }
        let mut at = |q: f64| {
            let k = ((v.len() - 1) as f64 * q) as usize;
            *v.select_nth_unstable_by(k, f32::total_cmp).1
        };
        let (lo, hi) = (at(0.02), at(0.98));
        if hi > lo {
            (lo, hi)
        } else {
            (lo, lo + 1.0)
        }
    }

    /// Whether `other` covers the same grid cells (same size and bounds), as the
    /// quicklook of a flight line must to be drawn under its enhancement.
    pub fn same_grid(&self, other: &LonLatGrid) -> bool {
        self.width == other.width
            && self.height == other.height
            && [self.west, self.south, self.east, self.north]
                == [other.west, other.south, other.east, other.north]
    }

    fn color_top(&self) -> f32 {
        let mut pos: Vec<f32> = self.values.iter().copied().filter(|v| *v > 0.0).collect();
        if pos.is_empty() {
            return 100.0;
        }
        let k = ((pos.len() - 1) as f64 * 0.995) as usize;
        let (_, v, _) = pos.select_nth_unstable_by(k, f32::total_cmp);
        v.max(100.0)
    }

    /// The values as little-endian f32 bytes (as stored).
    pub fn to_bytes(&self) -> Vec<u8> {
        self.values.iter().flat_map(|v| v.to_le_bytes()).collect()
    }

    /// A grid from stored parts; an error when `bytes` does not hold `width × height`
    /// values.
    pub fn from_parts(
        width: usize,
        height: usize,
        bounds: [f64; 4],
        bytes: &[u8],
    ) -> Result<LonLatGrid> {
        if bytes.len() != width * height * 4 {
            return Err(Error::Input(format!(
                "stored enhancement grid has {} bytes, expected {width} x {height} x 4",
                bytes.len()
            )));
        }
        let values = bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        let [west, south, east, north] = bounds;
        let mut grid = LonLatGrid {
            width,
            height,
            west,
            south,
            east,
            north,
            values,
            source: serde_json::Value::Null,
            vmax: 0.0,
            stretch: (0.0, 1.0),
        };
        grid.finish();
        Ok(grid)
    }

    /// Draws XYZ tile (`z`, `x`, `y`) in `style` as a 256 × 256 RGBA PNG (see
    /// [`LonLatGrid::enhancement_rgba`] and [`LonLatGrid::quicklook_rgba`]); `None`
    /// when the tile does not exist at that zoom.
    pub fn tile_png(&self, style: Style, z: u32, x: u32, y: u32) -> Option<Vec<u8>> {
        match style {
            Style::Enhancement { footprint } => self.draw(z, x, y, |v| {
                if footprint || v / self.vmax >= SHOW_FROM {
                    self.enhancement_rgba(v)
                } else {
                    [0; 4]
                }
            }),
            Style::Quicklook => self.draw(z, x, y, |v| self.quicklook_rgba(v)),
        }
    }

    /// Enhancement colours: the footprint in grey (brighter with enhancement up to a
    /// quarter of [`LonLatGrid::vmax`], the noise floor), enhancement above that from
    /// yellow to red up to `vmax`.
    pub fn enhancement_rgba(&self, v: f32) -> [u8; 4] {
        let t = (v / self.vmax).clamp(0.0, 1.0);
        if t < SHOW_FROM {
            // The footprint, with the noise floor left grey.
            let g = (62.0 + 50.0 * t / SHOW_FROM) as u8;
            [g, g, g + 6, 150]
        } else {
            // yellow (255, 230, 0) → red (200, 0, 0)
            let s = (t - SHOW_FROM) / (1.0 - SHOW_FROM);
            [
                (255.0 - 55.0 * s) as u8,
                (230.0 * (1.0 - s)) as u8,
                0,
                (170.0 + 85.0 * s) as u8,
            ]
        }
    }

    /// Quicklook colours: opaque grey, linear between the 2nd and 98th percentiles
    /// ([`LonLatGrid::stretch`]).
    pub fn quicklook_rgba(&self, v: f32) -> [u8; 4] {
        let (lo, hi) = self.stretch;
        let g = (((v - lo) / (hi - lo)).clamp(0.0, 1.0) * 235.0 + 10.0) as u8;
        [g, g, g, 255]
    }

    fn draw(&self, z: u32, x: u32, y: u32, colour: impl Fn(f32) -> [u8; 4]) -> Option<Vec<u8>> {
        if z > 24 || x >= (1 << z) || y >= (1 << z) {
            return None;
        }
        let n = f64::from(1u32 << z) * 256.0;
        let mut rgba = vec![0u8; 256 * 256 * 4];
        for py in 0..256 {
            let my = (f64::from(y) * 256.0 + py as f64 + 0.5) / n;
            let lat = (std::f64::consts::PI * (1.0 - 2.0 * my))
                .sinh()
                .atan()
                .to_degrees();
            if lat < self.south || lat >= self.north {
                continue;
            }
            let row =
                ((self.north - lat) / (self.north - self.south) * self.height as f64) as usize;
            for px in 0..256 {
                let lon = (f64::from(x) * 256.0 + px as f64 + 0.5) / n * 360.0 - 180.0;
                if lon < self.west || lon >= self.east {
                    continue;
                }
                let col =
                    ((lon - self.west) / (self.east - self.west) * self.width as f64) as usize;
                let v =
                    self.values[row.min(self.height - 1) * self.width + col.min(self.width - 1)];
                if v.is_nan() {
                    continue;
                }
                let o = (py * 256 + px) * 4;
                let px_rgba = colour(v);
                rgba[o..o + 4].copy_from_slice(&px_rgba);
            }
        }
        let mut out = Vec::new();
        image::codecs::png::PngEncoder::new(&mut out)
            .write_image(&rgba, 256, 256, image::ExtendedColorType::Rgba8)
            .ok()?;
        Some(out)
    }
}

use image::ImageEncoder as _;
