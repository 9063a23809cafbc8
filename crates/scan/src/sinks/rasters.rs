//! COG rasters of a flight line: enhancement, sigma, z, the albedo factor (the map's
//! quicklook of the flight line), the accepted-plume mask and the candidate ids,
//! orthorectified through the GLT when one was given.

use crate::result::LineResult;
use crate::Result;
use plumewatch_core::raster::NODATA;
use plumewatch_io::{OutputBand, Overviews};
use std::path::{Path, PathBuf};

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
    let rasters: [(&str, &[f32], &str, &str); 6] = [
        (
            "enhancement",
            &line.maps.enhancement,
            &enhancement_description,
            "ppm·m",
        ),
        (
            "sigma",
            &line.maps.sigma,
            "sigma (noise-equivalent enhancement)",
            "ppm·m",
        ),
        ("z", &line.maps.z, "z-score (enhancement / sigma)", "1"),
        (
            "albedo",
            &line.maps.albedo,
            "albedo factor: radiance relative to the mean spectrum over the detection window",
            "1",
        ),
        ("plume_mask", &mask, "accepted plume pixels (1)", "1"),
        ("plume_id", &labels, "candidate plume id (0 = none)", "1"),
    ];
    let raw = line.grid();
    let mut written = Vec::new();
    for (suffix, data, description, unit) in rasters {
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
