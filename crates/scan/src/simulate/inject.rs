//! `simulate inject`: plumes of known emission rate in any radiance cube.

use super::{
    enhancement_census, gsd_from_georef, physics_record, quicklook_bands, render_sources,
    to_point_sources, truth_records, write_truth, Progress,
};
use crate::{bail, Context, Result};
use plumewatch_core::simulate::{GasTransmittance, PlumeGrid, PlumeParams};
use plumewatch_core::BandModel;
use plumewatch_io::envi::{ByteOrder, DataType, EnviWriteOptions, Interleave};
use plumewatch_io::truth::InjectTruth;
use plumewatch_io::OutputBand;
use std::path::{Path, PathBuf};

/// What to inject where.
#[derive(Debug, Clone, PartialEq)]
pub struct InjectSettings {
    /// Radiance cube (ENVI, GeoTIFF, EMIT NetCDF).
    pub cube: PathBuf,
    /// Sources JSON (see [`plumewatch_io::truth`]).
    pub sources: PathBuf,
    /// Output directory (created if missing).
    pub output: PathBuf,
    /// Ground sample distance, m (default: from the cube's georeferencing).
    pub gsd: Option<f64>,
    /// Gas: built-in name (ch4) or LUT sidecar JSON.
    pub gas: String,
    /// Seed of the wind meander.
    pub seed: u64,
    /// Standard deviation of the wind-direction meander, degrees (0 = straight plumes).
    pub meander_deg: f64,
}

/// What [`inject`] made.
#[derive(Debug, Clone, PartialEq)]
pub struct InjectSummary {
    /// Sources injected.
    pub sources: usize,
    /// Lines of the cube.
    pub lines: usize,
    /// Samples of the cube.
    pub samples: usize,
    /// Bands of the cube.
    pub bands: usize,
}

/// Injects the sources into the cube and writes `radiance.hdr` (same layout as an ENVI
/// input, else BIL little-endian float32) with the truth into `settings.output`.
/// `progress` counts lines.
pub fn inject(settings: &InjectSettings, progress: Progress<'_>) -> Result<InjectSummary> {
    let cube_path = &settings.cube;
    let cube = plumewatch_io::open_cube(cube_path)?;
    {
        let cube_files = plumewatch_io::cube::cube_files(cube_path);
        let mut inputs: Vec<&Path> = cube_files.iter().map(|p| p.as_path()).collect();
        inputs.push(&settings.sources);
        inputs.push(Path::new(&settings.gas));
        super::check_output(&settings.output, &inputs)?;
    }
    if !(settings.meander_deg.is_finite() && (0.0..=90.0).contains(&settings.meander_deg)) {
        bail!(
            "--meander-deg {}: expected a standard deviation of 0–90 degrees",
            settings.meander_deg
        );
    }
    let meta = cube.meta().clone();
    // Every band plane of the injected cube is held for the writer (f32), beside the
    // enhancement and truth rasters.
    let bytes = meta.lines as u128 * meta.samples as u128 * (meta.bands as u128 + 4) * 4;
    if let Some(msg) = plumewatch_io::memory::check_fits(bytes, "injecting into this cube") {
        bail!(
            "{}: dimensions: {} lines × {} samples × {} bands: {msg}",
            cube_path.display(),
            meta.lines,
            meta.samples,
            meta.bands
        );
    }
    let wl = meta.wavelength_nm.clone().with_context(|| {
        format!(
            "{}: wavelength: missing (injection needs band centres)",
            cube_path.display()
        )
    })?;
    plumewatch_io::envi::header::check_band_centres(&wl, cube_path)?;
    let fwhm = meta.fwhm_nm.clone().with_context(|| {
        format!(
            "{}: fwhm: missing (injection needs band widths)",
            cube_path.display()
        )
    })?;
    let gsd = match (settings.gsd, meta.georef.as_ref()) {
        (Some(g), _) => {
            if !(g.is_finite() && g > 0.0) {
                bail!("--gsd {g}: expected a positive number of metres");
            }
            g
        }
        (None, Some(g)) => gsd_from_georef(g, cube_path)?,
        (None, None) => bail!(
            "{}: georeferencing: missing, so the ground sample distance is unknown; give --gsd",
            cube_path.display()
        ),
    };
    let specs = plumewatch_io::truth::read_sources(&settings.sources)?;
    let sources = to_point_sources(
        &specs,
        meta.georef.as_ref(),
        &settings.sources,
        (meta.lines, meta.samples),
    )?;
    let lut = plumewatch_io::gas_lut::open(&settings.gas)?;
    let bands = BandModel::new(wl.clone(), fwhm)?;
    let tr = GasTransmittance::from_lut(&lut, &bands)?;
    let (lines, samples, nb) = (meta.lines, meta.samples, meta.bands);
    let grid = PlumeGrid {
        lines,
        samples,
        gsd_m: gsd,
    };
    let params = PlumeParams {
        meander_sigma_deg: settings.meander_deg,
        ..PlumeParams::for_gsd(gsd)
    };
    let (enh, truths) = render_sources(&grid, &sources, &params, settings.seed)?;

    let staging = super::Staging::new(&settings.output)?;
    // Read, inject, and gather band planes for the writer.
    let all: Vec<usize> = (0..nb).collect();
    let mut planes = vec![vec![0f32; lines * samples]; nb];
    let nodata = meta.nodata.map(|v| v as f32);
    let mut buf = vec![0f32; samples * nb];
    for l in 0..lines {
        cube.read_line(l, &all, &mut buf)
            .with_context(|| format!("{}: line {l}", cube_path.display()))?;
        tr.apply_line(&mut buf, &all, &enh[l * samples..(l + 1) * samples])?;
        for s in 0..samples {
            for (b, plane) in planes.iter_mut().enumerate() {
                let v = buf[s * nb + b];
                plane[l * samples + s] = match (v.is_nan(), nodata) {
                    (true, Some(nd)) => nd,
                    _ => v,
                };
            }
        }
        progress(l as u64 + 1, lines as u64);
    }
    // Same layout as the input when it is ENVI.
    let mut opts = EnviWriteOptions::from_meta(&meta);
    if plumewatch_io::cube::is_envi(cube_path) {
        let hdr = if cube_path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("hdr"))
        {
            cube_path.clone()
        } else {
            plumewatch_io::envi::find_header_file(cube_path).unwrap_or_else(|| cube_path.clone())
        };
        let h = plumewatch_io::envi::read_header(&hdr)?;
        opts = EnviWriteOptions::from_header(&h);
        opts.interleave = h.interleave;
        opts.byte_order = h.byte_order;
        opts.data_type = if h.data_type == DataType::F64 {
            DataType::F64
        } else {
            DataType::F32
        };
    } else {
        opts.interleave = Interleave::Bil;
        opts.byte_order = ByteOrder::Little;
    }
    opts.description = Some(format!(
        "{} with {} injected CH4 plume(s) (plumewatch simulate inject, seed {})",
        meta.description
            .clone()
            .unwrap_or_else(|| cube_path.display().to_string()),
        sources.len(),
        settings.seed
    ));
    let out_bands: Vec<OutputBand> = planes
        .iter()
        .map(|p| OutputBand {
            data: p,
            description: "",
            unit: "",
        })
        .collect();
    plumewatch_io::write_envi(
        &staging.dir().join("radiance.hdr"),
        lines,
        samples,
        &out_bands,
        &opts,
    )?;
    let ids: Vec<u32> = specs.iter().map(|s| s.id).collect();
    let (plume_pixels, max_enh) = enhancement_census(&enh);
    let truth = InjectTruth {
        bands: nb,
        gas: lut.gas.clone(),
        generator: format!("plumewatch simulate inject {}", env!("CARGO_PKG_VERSION")),
        geo_transform: meta.georef.as_ref().map(|g| g.geo_transform),
        gsd_m: gsd,
        input_cube: cube_path.display().to_string(),
        lines,
        physics: physics_record(&params),
        samples,
        scene_max_enhancement_ppm_m: max_enh,
        scene_plume_pixels: plume_pixels,
        seed: settings.seed,
        sources: truth_records(&sources, &ids, &truths, gsd, meta.georef.as_ref()),
        synthetic_plumes: true,
    };
    let rgb = quicklook_bands(&wl).map(|b| {
        planes[b]
            .iter()
            .map(|&v| if Some(v) == nodata { f32::NAN } else { v })
            .collect()
    });
    write_truth(
        staging.dir(),
        lines,
        samples,
        &enh,
        meta.georef.as_ref(),
        &truth,
        rgb,
        &sources,
    )?;
    staging.commit()?;
    Ok(InjectSummary {
        sources: sources.len(),
        lines,
        samples,
        bands: nb,
    })
}
