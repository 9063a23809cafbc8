//! The `simulate` workflows: plumes of known emission rate injected into any radiance
//! cube ([`inject`]), and semi-real synthetic scenes with plumes ([`scene`]), each
//! written with its truth (`truth_enhancement.tif`, `truth_mask.tif`,
//! `truth_sources.json`, `quicklook.png`).
//!
//! # Units
//! Emission rate kg/h, wind m/s (direction it blows from, degrees clockwise from north),
//! enhancement ppm·m, ground sample distance m.

mod inject;
mod scene;

pub use inject::{inject, InjectSettings, InjectSummary};
pub use plumewatch_core::simulate::Clutter;
pub use scene::{scene, SceneSettings, SceneSummary, MOSAIC_NODATA};

use crate::{bail, Context, Result};
use plumewatch_core::rng::SeededRng;
use plumewatch_core::simulate::{
    render_plume, PlumeGrid, PlumeParams, PlumeTruth, PointSource, Stability,
};
use plumewatch_io::png_plot::{truth_quicklook, write_rgb_png};
use plumewatch_io::truth::{PhysicsRecord, SourcePosition, SourceSpec, TruthSourceRecord};
use plumewatch_io::{GeoRef, OutputBand, Overviews};
use rayon::prelude::*;
use std::path::Path;

/// Enhancement above which a pixel belongs to the truth mask, ppm·m (as the bundled
/// truth scenes).
pub const MASK_THRESHOLD_PPM_M: f32 = 100.0;

/// Progress callback of the workflows: `(steps done, steps in all)`.
pub type Progress<'a> = &'a (dyn Fn(u64, u64) + Sync);

/// Square north-up GSD of a georeferencing, or an error naming the file.
fn gsd_from_georef(g: &GeoRef, path: &Path) -> Result<f64> {
    let gt = g.geo_transform;
    if gt[2] != 0.0 || gt[4] != 0.0 {
        bail!(
            "{}: georeferencing: rotated grid (geotransform {gt:?}); simulate needs a north-up grid",
            path.display()
        );
    }
    if ((gt[1].abs() - gt[5].abs()) / gt[1].abs()).abs() > 0.01 {
        bail!(
            "{}: georeferencing: pixels are {} × {} map units (expected square pixels); give --gsd",
            path.display(),
            gt[1].abs(),
            gt[5].abs()
        );
    }
    Ok(gt[1].abs())
}

/// Converts user source specs to point sources on the pixel grid of a
/// `lines × samples` scene; a source outside the scene is an error naming it.
pub fn to_point_sources(
    specs: &[SourceSpec],
    georef: Option<&GeoRef>,
    sources_path: &Path,
    (lines, samples): (usize, usize),
) -> Result<Vec<PointSource>> {
    specs
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let (row, col) = match s.position {
                SourcePosition::Pixel { row, col } => (row, col),
                SourcePosition::Map { easting, northing } => {
                    let g = georef.with_context(|| {
                        format!(
                            "{}: source {}: easting/northing given but the cube has no georeferencing (give row/col)",
                            sources_path.display(),
                            s.id
                        )
                    })?;
                    let t = plumewatch_core::geo::GeoTransform::new(g.geo_transform)?;
                    let (c, r) = t.map_to_pixel(easting, northing);
                    (r, c)
                }
            };
            if !(row >= 0.0 && row < lines as f64 && col >= 0.0 && col < samples as f64) {
                bail!(
                    "{}: sources[{i}] (id {}): position row {row:.1}, col {col:.1} is outside the scene (expected 0 ≤ row < {lines}, 0 ≤ col < {samples})",
                    sources_path.display(),
                    s.id
                );
            }
            let stability = match &s.stability {
                Some(st) => Stability::parse(st).with_context(|| {
                    format!("{}: source {}: stability", sources_path.display(), s.id)
                })?,
                None => Stability::D,
            };
            Ok(PointSource {
                row,
                col,
                rate_kg_h: s.rate_kg_h,
                wind_speed_m_s: s.wind_speed_m_s,
                wind_from_deg: s.wind_from_deg,
                stability,
            })
        })
        .collect()
}

/// Renders every source (in parallel) and sums the rasters: the scene's enhancement
/// (`lines × samples`, ppm·m) and each plume's truth.
pub fn render_sources(
    grid: &PlumeGrid,
    sources: &[PointSource],
    params: &PlumeParams,
    seed: u64,
) -> Result<(Vec<f32>, Vec<PlumeTruth>)> {
    let rendered: Vec<(Vec<f32>, PlumeTruth)> = sources
        .par_iter()
        .enumerate()
        .map(|(i, s)| {
            let plume_seed = SeededRng::derived(seed, 7_000 + i as u64).next_u64();
            render_plume(grid, s, params, plume_seed)
        })
        .collect::<std::result::Result<_, _>>()?;
    let mut total = vec![0f32; grid.lines * grid.samples];
    let mut truths = Vec::new();
    for (r, t) in rendered {
        for (a, b) in total.iter_mut().zip(&r) {
            *a += b;
        }
        truths.push(t);
    }
    Ok((total, truths))
}

/// The truth records of the sources.
fn truth_records(
    sources: &[PointSource],
    ids: &[u32],
    truths: &[PlumeTruth],
    gsd: f64,
    georef: Option<&GeoRef>,
) -> Vec<TruthSourceRecord> {
    sources
        .iter()
        .zip(ids)
        .zip(truths)
        .map(|((s, &id), t)| {
            let (e, n) = match georef.map(|g| g.geo_transform) {
                Some(t) => (
                    Some(t[0] + s.col * t[1] + s.row * t[2]),
                    Some(t[3] + s.col * t[4] + s.row * t[5]),
                ),
                None => (None, None),
            };
            let to = (s.wind_from_deg + 180.0).rem_euclid(360.0);
            TruthSourceRecord {
                q_kg_h: s.rate_kg_h,
                albedo_2200_2400_at_source: None,
                briggs_k: s.stability.briggs_k(),
                col: s.col,
                easting_m: e,
                gsd_m: gsd,
                id,
                mass_in_scene_kg: t.mass_in_scene_kg,
                max_enhancement_ppm_m: t.max_enhancement_ppm_m,
                northing_m: n,
                pixel_col: s.col.floor() as i64,
                pixel_row: s.row.floor() as i64,
                plume: t.clone(),
                rate_kg_h: s.rate_kg_h,
                residence_time_in_scene_s: t.residence_time_in_scene_s,
                row: s.row,
                stability: s.stability.letter(),
                wind_from_deg: s.wind_from_deg.rem_euclid(360.0),
                wind_speed_m_s: s.wind_speed_m_s,
                wind_to_deg: to,
                wind_u_m_s: s.wind_speed_m_s * to.to_radians().sin(),
                wind_v_m_s: s.wind_speed_m_s * to.to_radians().cos(),
            }
        })
        .collect()
}

fn physics_record(params: &PlumeParams) -> PhysicsRecord {
    PhysicsRecord {
        plume_model: "continuous release as Gaussian puffs along an OU-meandering uniform wind; sigma^2 = sigma0^2 + (k x / sqrt(1 + 1e-4 x))^2 m, k = Briggs rural coefficient of the stability class; pixel-integrated (erf), mass conserving",
        meander_sigma_deg: params.meander_sigma_deg,
        meander_tau_s: params.meander_tau_s,
        initial_sigma_m: params.initial_sigma_m,
        radiance_model: "L_out = L_in * T(c)/T(0) per band; ln L interpolated linearly in c between LUT concentrations (linear extrapolation beyond), LUT convolved with Gaussian band responses",
        ppm_m_to_kg_m2: plumewatch_core::gas::PPM_M_TO_KG_M2,
        ppm_m_conversion: "1 ppm*m CH4 at 273.15 K, 101325 Pa, M = 16.043 g/mol",
        mask_threshold_ppm_m: MASK_THRESHOLD_PPM_M,
        wind_convention: "wind_from_deg: direction the wind blows from, degrees clockwise from north (meteorological)",
    }
}

/// Pixels in the truth mask and the largest enhancement, ppm·m.
fn enhancement_census(enh: &[f32]) -> (usize, f32) {
    (
        enh.iter().filter(|v| **v >= MASK_THRESHOLD_PPM_M).count(),
        enh.iter().cloned().fold(0.0f32, f32::max),
    )
}

/// Writes `truth_enhancement.tif`, `truth_mask.tif` (nearest/mode overviews: it is
/// categorical), `truth_sources.json` and the quicklook.
#[allow(clippy::too_many_arguments)]
fn write_truth(
    out: &Path,
    lines: usize,
    samples: usize,
    enhancement: &[f32],
    georef: Option<&GeoRef>,
    truth: &impl serde::Serialize,
    quicklook_rgb: [Vec<f32>; 3],
    sources: &[PointSource],
) -> Result<()> {
    plumewatch_io::write_cog(
        &out.join("truth_enhancement.tif"),
        lines,
        samples,
        &[OutputBand {
            data: enhancement,
            description: "true CH4 enhancement",
            unit: "ppm·m",
        }],
        georef,
        None,
    )?;
    let mask: Vec<f32> = enhancement
        .iter()
        .map(|&v| f32::from(u8::from(v >= MASK_THRESHOLD_PPM_M)))
        .collect();
    plumewatch_io::gdal_raster::write_cog_with_overviews(
        &out.join("truth_mask.tif"),
        lines,
        samples,
        &[OutputBand {
            data: &mask,
            description: "true plume mask (enhancement >= 100 ppm·m)",
            unit: "1",
        }],
        georef,
        None,
        Overviews::Categorical,
    )?;
    plumewatch_io::truth::write_json(&out.join("truth_sources.json"), truth)?;
    let marks: Vec<(f64, f64)> = sources.iter().map(|s| (s.row, s.col)).collect();
    let (w, h, px) = truth_quicklook(lines, samples, &quicklook_rgb, enhancement, &mask, &marks);
    write_rgb_png(&out.join("quicklook.png"), w, h, &px)?;
    Ok(())
}

/// Indices of the bands nearest 2200, 1650 and 1550 nm (the quicklook's R, G, B).
fn quicklook_bands(wl: &[f64]) -> [usize; 3] {
    let near = |t: f64| {
        wl.iter()
            .enumerate()
            .min_by(|a, b| (a.1 - t).abs().total_cmp(&(b.1 - t).abs()))
            .map_or(0, |(i, _)| i)
    };
    [near(2200.0), near(1650.0), near(1550.0)]
}

/// Files a simulation writes into its output folder.
const OUTPUT_FILES: &[&str] = &[
    "radiance.hdr",
    "radiance.img",
    "radiance.tif",
    "truth_collar.tif",
    "truth_enhancement.tif",
    "truth_mask.tif",
    "truth_albedo.tif",
    "truth_sources.json",
    "quicklook.png",
];

/// Refuses an output folder that is not a folder, or whose outputs would replace any of
/// `inputs` (after symbolic links): `simulate inject -o` onto the input's own folder.
fn check_output(dir: &Path, inputs: &[&Path]) -> Result<()> {
    plumewatch_io::atomic::check_output_dir(dir)?;
    let outputs: Vec<std::path::PathBuf> = OUTPUT_FILES.iter().map(|f| dir.join(f)).collect();
    plumewatch_io::atomic::check_not_inputs(&outputs, inputs)?;
    Ok(())
}

/// A simulation's outputs written as a set: into a hidden sibling of the output folder,
/// moved into place by [`Staging::commit`] once all are written. Dropped without a
/// commit (an error on the way), the staging folder and everything in it are removed,
/// so a failed run leaves no output folder and no file of a partial set.
struct Staging {
    dir: std::path::PathBuf,
    out: std::path::PathBuf,
    committed: bool,
}

impl Staging {
    /// Makes the staging folder beside `out` (after cleaning up those of interrupted
    /// runs).
    fn new(out: &Path) -> Result<Self> {
        check_output(out, &[])?;
        let io = |what: &str, p: &Path, e: std::io::Error| {
            crate::Error::new(
                crate::ErrorKind::Io,
                format!("{}: {what}: {e}", p.display()),
            )
        };
        let parent = match out.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => std::path::PathBuf::from("."),
        };
        let name = out
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "simulation".into());
        std::fs::create_dir_all(&parent)
            .map_err(|e| io("cannot create the output's parent folder", &parent, e))?;
        crate::sinks::clean_stale_partials(&parent, &name);
        let dir = parent.join(format!(".{name}.partial-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir(&dir).map_err(|e| io("cannot create the staging folder", &dir, e))?;
        Ok(Self {
            dir,
            out: out.to_path_buf(),
            committed: false,
        })
    }

    /// Where the outputs are written.
    fn dir(&self) -> &Path {
        &self.dir
    }

    /// Moves the finished set into place: the staging folder becomes the output folder,
    /// or, when that exists already, each file is moved into it (replacing a previous
    /// simulation's file of the same name).
    fn commit(mut self) -> Result<()> {
        let io = |what: &str, p: &Path, e: std::io::Error| {
            crate::Error::new(
                crate::ErrorKind::Io,
                format!("{}: {what}: {e}", p.display()),
            )
        };
        if std::fs::symlink_metadata(&self.out).is_err() {
            std::fs::rename(&self.dir, &self.out)
                .map_err(|e| io("cannot move the finished output into place", &self.out, e))?;
        } else {
            let entries = std::fs::read_dir(&self.dir)
                .map_err(|e| io("cannot list the staging folder", &self.dir, e))?;
            for e in entries {
                let e = e.map_err(|e| io("cannot list the staging folder", &self.dir, e))?;
                let to = self.out.join(e.file_name());
                std::fs::rename(e.path(), &to)
                    .map_err(|e| io("cannot move the finished output into place", &to, e))?;
            }
            let _ = std::fs::remove_dir(&self.dir);
        }
        self.committed = true;
        Ok(())
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}
