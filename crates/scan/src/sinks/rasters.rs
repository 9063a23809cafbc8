//! COG rasters of a flight line: enhancement, sigma, z, the albedo factor (the map's
//! quicklook of the flight line), the accepted-plume mask and the candidate ids,
//! orthorectified through the GLT when one was given.

use crate::result::LineResult;
use crate::Result;
use plumewatch_core::raster::NODATA;
use plumewatch_io::{OutputBand, Overviews};
use std::path::{Path, PathBuf};

/// The suffixes of a flight line's rasters, `<line>_<suffix>.tif`, in writing order.
pub const RASTER_SUFFIXES: [&str; 6] = [
    "enhancement",
    "sigma",
    "z",
    "albedo",
    "plume_mask",
    "plume_id",
];

/// Copies the rasters that [`write_line_rasters`] wrote for line `line_name` into
/// `from` into `dir`. The campaign's reduce uses this instead of encoding the same maps
/// again. Copies, not hard links, so that a user editing the merged set in place (GDAL
/// update mode, `gdaladdo`) never changes the line folders the campaign reuses; the
/// kernel copies within the file system (`copy_file_range`, a reflink where supported).
/// Each copy is written as every output is ([`plumewatch_io::atomic::write_atomically`]:
/// a temporary file, flushed to disk, then renamed).
pub fn copy_line_rasters(dir: &Path, line_name: &str, from: &Path) -> Result<Vec<PathBuf>> {
    let mut written = Vec::with_capacity(RASTER_SUFFIXES.len());
    for suffix in RASTER_SUFFIXES {
        let file = format!("{line_name}_{suffix}.tif");
        let (src, dst) = (from.join(&file), dir.join(&file));
        plumewatch_io::atomic::write_atomically(&dst, |tmp| {
            std::fs::copy(&src, tmp).map(drop).map_err(|e| {
                plumewatch_io::Error::io(
                    &src,
                    format!("cannot copy this flight line raster into {}", dir.display()),
                    e,
                )
            })
        })?;
        written.push(dst);
    }
    Ok(written)
}

/// Writes `<line>_{enhancement,sigma,z,albedo,plume_mask,plume_id}.tif` into `dir`; `gas_name`
/// names the gas in the band descriptions.
pub fn write_line_rasters(dir: &Path, line: &LineResult, gas_name: &str) -> Result<Vec<PathBuf>> {
    let plumes = &line.analysis.plumes;
    let labels: Vec<f32> = plumes.labels.iter().map(|&l| l as f32).collect();
    let mask: Vec<f32> = plumes
        .labels
        .iter()
        .map(|&l| {
            let accepted = l > 0
                && plumes
                    .plumes
                    .get(l as usize - 1)
                    .is_some_and(|p| p.rejection.is_none());
            f32::from(u8::from(accepted))
        })
        .collect();
    let enhancement_description = format!("{gas_name} enhancement");
    // In the order of RASTER_SUFFIXES.
    let rasters: [(&[f32], &str, &str); 6] = [
        (&line.maps.enhancement, &enhancement_description, "ppm·m"),
        (
            &line.maps.sigma,
            "sigma (noise-equivalent enhancement)",
            "ppm·m",
        ),
        (&line.maps.z, "z-score (enhancement / sigma)", "1"),
        (
            &line.maps.albedo,
            "albedo factor: radiance relative to the mean spectrum over the detection window",
            "1",
        ),
        (&mask, "accepted plume pixels (1)", "1"),
        (&labels, "candidate plume id (0 = none)", "1"),
    ];
    let raw = line.grid();
    let mut written = Vec::new();
    for (suffix, (data, description, unit)) in RASTER_SUFFIXES.into_iter().zip(rasters) {
        let path = dir.join(format!("{}_{suffix}.tif", line.name));
        let continuous = matches!(suffix, "enhancement" | "sigma" | "z" | "albedo");
        let nodata = continuous.then_some(f64::from(NODATA));
        let ortho_values;
        let (lines, samples, values, georef): (usize, usize, &[f32], _) = match &line.ortho {
            Some(o) => {
                ortho_values = o.glt.apply(data, raw, nodata.map_or(0.0, |v| v as f32))?;
                (o.glt.lines, o.glt.samples, &ortho_values, Some(&o.georef))
            }
            None => (raw.lines, raw.samples, data, line.georef.as_ref()),
        };
        // Ids and masks are categories: their overviews take the mode, never a mean.
        let overviews = if continuous {
            Overviews::Mean
        } else {
            Overviews::Categorical
        };
        plumewatch_io::write_cog_with_overviews(
            &path,
            lines,
            samples,
            &[OutputBand {
                data: values,
                description,
                unit,
            }],
            georef,
            nodata,
            overviews,
        )?;
        written.push(path);
    }
    Ok(written)
}
