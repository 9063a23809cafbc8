//! Geographic lookup tables: which raw pixel lands in each cell of a map grid.

use crate::{bail, Context, Result};
use plumewatch_core::geo::GeoTransform;
use plumewatch_core::ortho::Glt;
use plumewatch_core::raster::Grid;
use plumewatch_io::GeoRef;
use std::path::Path;

/// A flight line's GLT with its map georeferencing and the affine raw → map model.
#[derive(Debug, Clone)]
pub struct Ortho {
    /// The lookup table.
    pub glt: Glt,
    /// Georeferencing of the map grid.
    pub georef: GeoRef,
    /// Affine raw pixel → map transform fitted through the GLT.
    pub raw_to_map: GeoTransform,
    /// RMS residual of that affine model, m.
    pub affine_rms_m: f64,
}

/// Reads a GLT file (ENVI or any GDAL raster: band 1 = 1-based raw sample, band 2 =
/// 1-based raw line, 0 = outside, negative = infilled; with the map grid's
/// georeferencing) and relates it to the raw grid `raw`.
pub fn read_glt(path: &Path, raw: Grid) -> Result<Ortho> {
    let cube = plumewatch_io::open_cube(path)?;
    let meta = cube.meta().clone();
    if meta.bands < 2 {
        bail!(
            "{}: bands: a GLT needs 2 bands (raw sample, raw line), found {}",
            path.display(),
            meta.bands
        );
    }
    let georef = meta.georef.clone().with_context(|| {
        format!(
            "{}: map info: a GLT must carry the georeferencing of its map grid",
            path.display()
        )
    })?;
    let (lines, samples) = (meta.lines, meta.samples);
    let n = lines
        .checked_mul(samples)
        .with_context(|| format!("{}: lines × samples overflows", path.display()))?;
    let (mut sample_band, mut line_band) = (Vec::with_capacity(n), Vec::with_capacity(n));
    let mut buf = vec![0f32; samples * 2];
    for line in 0..lines {
        cube.read_line(line, &[0, 1], &mut buf)?;
        sample_band.extend(buf.iter().step_by(2));
        line_band.extend(buf.iter().skip(1).step_by(2));
    }
    let glt = Glt::from_one_based(&sample_band, &line_band, Grid::new(lines, samples), raw)
        .with_context(|| format!("{}: GLT values", path.display()))?;
    let map = GeoTransform::new(georef.geo_transform)
        .with_context(|| format!("{}: map info", path.display()))?;
    let (raw_to_map, affine_rms_m) = glt
        .raw_affine(&map)
        .with_context(|| format!("{}: GLT geometry", path.display()))?;
    Ok(Ortho {
        glt,
        georef,
        raw_to_map,
        affine_rms_m,
    })
}
