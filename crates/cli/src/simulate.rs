//! `plumewatch simulate inject | scene`: plumes of known emission rate in any radiance
//! cube, and semi-real synthetic scenes, with their truth.

use crate::gas_window::parse_pair;
use crate::progress;
use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use plumewatch_core::gas::PPM_M_TO_KG_M2;
use plumewatch_core::math::order_stats::percentiles_f32;
use plumewatch_core::rng::SeededRng;
use plumewatch_core::simulate::{
    random_sources, render_plume, render_scene, GasTransmittance, PlumeGrid, PlumeParams,
    PlumeTruth, PointSource, SceneConfig, SceneIngredients, Stability,
};
use plumewatch_core::BandModel;
use plumewatch_io::envi::{ByteOrder, DataType, EnviWriteOptions, Interleave};
use plumewatch_io::truth::{SourcePosition, SourceSpec};
use plumewatch_io::{GeoRef, OutputBand};
use rayon::prelude::*;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Enhancement above which a pixel belongs to the truth mask, ppm·m (as the bundled
/// truth scenes).
pub const MASK_THRESHOLD_PPM_M: f32 = 100.0;

/// `plumewatch simulate` subcommands.
#[derive(Debug, Subcommand)]
pub enum SimulateCommand {
    /// Add plumes of known emission rate to a radiance cube (Beer–Lambert through the gas LUT).
    Inject(InjectArgs),
    /// Build a semi-real synthetic radiance scene (library surfaces, LUT atmosphere,
    /// instrument noise, pushbroom striping) with plumes.
    Scene(SceneArgs),
}

/// Arguments of `plumewatch simulate`.
#[derive(Debug, Args)]
pub struct SimulateArgs {
    #[command(subcommand)]
    pub command: SimulateCommand,
}

/// Arguments of `plumewatch simulate inject`.
#[derive(Debug, Args)]
pub struct InjectArgs {
    /// Radiance cube (ENVI, GeoTIFF, EMIT NetCDF).
    #[arg(long)]
    pub cube: PathBuf,
    /// Sources JSON: `row`/`col` or `easting`/`northing`, `rate_kg_h`, `wind_speed_m_s`,
    /// `wind_dir_deg` (direction the wind blows FROM, degrees clockwise from north),
    /// optional `stability` (A–F).
    #[arg(long)]
    pub sources: PathBuf,
    /// Output directory (created if missing).
    #[arg(short, long)]
    pub output: PathBuf,
    /// Ground sample distance, m (default: from the cube's georeferencing).
    #[arg(long)]
    pub gsd: Option<f64>,
    /// Gas: built-in name (ch4) or LUT sidecar JSON.
    #[arg(long, default_value = "ch4")]
    pub gas: String,
    /// Seed of the wind meander.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Standard deviation of the wind-direction meander, degrees (0 = straight plumes).
    #[arg(long, default_value_t = 15.0)]
    pub meander_deg: f64,
}

/// Arguments of `plumewatch simulate scene`.
#[derive(Debug, Args)]
pub struct SceneArgs {
    /// Sensor: `aviris-ng`, `emit`, or a band table file (CSV `band,wavelength_nm,fwhm_nm`
    /// or ENVI header). Only bands inside the gas LUT's range (1400–2500 nm for CH4) are
    /// simulated.
    #[arg(long)]
    pub sensor: String,
    /// Down-track lines.
    #[arg(long)]
    pub lines: usize,
    /// Cross-track samples.
    #[arg(long)]
    pub samples: usize,
    /// Ground sample distance, m.
    #[arg(long)]
    pub gsd: f64,
    /// Seed: the same seed and arguments give the same scene.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Sources JSON (as for `inject`).
    #[arg(long, conflicts_with = "random_sources")]
    pub sources: Option<PathBuf>,
    /// Number of random sources (emission rate log-uniform in --rate-range).
    #[arg(long)]
    pub random_sources: Option<usize>,
    /// Emission-rate range of random sources, kg/h: LO,HI (default 5,500 for GSD ≤ 10 m,
    /// 300,10000 above).
    #[arg(long, value_parser = parse_pair)]
    pub rate_range: Option<(f64, f64)>,
    /// Build the scene without plumes (the plume-free twin: same surface and noise).
    #[arg(long)]
    pub no_plumes: bool,
    /// isofit parametric noise table (default: the bundled table of a preset sensor).
    #[arg(long)]
    pub noise: Option<PathBuf>,
    /// ENVI spectral library header (default: the bundled USGS splib06a library).
    #[arg(long)]
    pub library: Option<PathBuf>,
    /// Gas: built-in name (ch4) or LUT sidecar JSON.
    #[arg(long, default_value = "ch4")]
    pub gas: String,
    /// Output directory (created if missing).
    #[arg(short, long)]
    pub output: PathBuf,
}

/// Runs `plumewatch simulate`.
pub fn run(args: SimulateArgs, quiet: bool) -> anyhow::Result<()> {
    match args.command {
        SimulateCommand::Inject(a) => run_inject(a, quiet),
        SimulateCommand::Scene(a) => run_scene(a, quiet),
    }
}

/// Square north-up GSD of a georeferencing, or an error naming the file.
fn gsd_from_georef(g: &GeoRef, path: &Path) -> anyhow::Result<f64> {
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

/// Converts user source specs to point sources on the pixel grid.
pub fn to_point_sources(
    specs: &[SourceSpec],
    georef: Option<&GeoRef>,
    sources_path: &Path,
) -> anyhow::Result<Vec<PointSource>> {
    specs
        .iter()
        .map(|s| {
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

/// Renders every source (in parallel) and sums the rasters.
pub fn render_sources(
    grid: &PlumeGrid,
    sources: &[PointSource],
    params: &PlumeParams,
    seed: u64,
) -> anyhow::Result<(Vec<f32>, Vec<PlumeTruth>)> {
    let rendered: Vec<(Vec<f32>, PlumeTruth)> = sources
        .par_iter()
        .enumerate()
        .map(|(i, s)| {
            let plume_seed = SeededRng::derived(seed, 7_000 + i as u64).next_u64();
            render_plume(grid, s, params, plume_seed)
        })
        .collect::<Result<_, _>>()?;
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

fn pixel_to_map(g: Option<&GeoRef>, row: f64, col: f64) -> (Option<f64>, Option<f64>) {
    match g {
        Some(g) => {
            let t = g.geo_transform;
            (
                Some(t[0] + col * t[1] + row * t[2]),
                Some(t[3] + col * t[4] + row * t[5]),
            )
        }
        None => (None, None),
    }
}

/// The `sources` array of `truth_sources.json`.
fn truth_sources_json(
    sources: &[PointSource],
    ids: &[u32],
    truths: &[PlumeTruth],
    gsd: f64,
    georef: Option<&GeoRef>,
) -> Vec<Value> {
    sources
        .iter()
        .zip(ids)
        .zip(truths)
        .map(|((s, id), t)| {
            let (e, n) = pixel_to_map(georef, s.row, s.col);
            let to = (s.wind_from_deg + 180.0).rem_euclid(360.0);
            json!({
                "id": id,
                "row": s.row,
                "col": s.col,
                "pixel_row": s.row.floor() as i64,
                "pixel_col": s.col.floor() as i64,
                "easting_m": e,
                "northing_m": n,
                "Q_kg_h": s.rate_kg_h,
                "rate_kg_h": s.rate_kg_h,
                "wind_speed_m_s": s.wind_speed_m_s,
                "wind_from_deg": s.wind_from_deg.rem_euclid(360.0),
                "wind_to_deg": to,
                "wind_u_m_s": s.wind_speed_m_s * to.to_radians().sin(),
                "wind_v_m_s": s.wind_speed_m_s * to.to_radians().cos(),
                "stability": s.stability.letter(),
                "briggs_k": s.stability.briggs_k(),
                "gsd_m": gsd,
                "mass_in_scene_kg": t.mass_in_scene_kg,
                "residence_time_in_scene_s": t.residence_time_in_scene_s,
                "max_enhancement_ppm_m": t.max_enhancement_ppm_m,
                "plume": t,
            })
        })
        .collect()
}

fn physics_json(params: &PlumeParams) -> Value {
    json!({
        "plume_model": "continuous release as Gaussian puffs along an OU-meandering uniform wind; sigma^2 = sigma0^2 + (k x / sqrt(1 + 1e-4 x))^2 m, k = Briggs rural coefficient of the stability class; pixel-integrated (erf), mass conserving",
        "meander_sigma_deg": params.meander_sigma_deg,
        "meander_tau_s": params.meander_tau_s,
        "initial_sigma_m": params.initial_sigma_m,
        "radiance_model": "L_out = L_in * T(c)/T(0) per band; ln L interpolated linearly in c between LUT concentrations (linear extrapolation beyond), LUT convolved with Gaussian band responses",
        "ppm_m_to_kg_m2": PPM_M_TO_KG_M2,
        "ppm_m_conversion": "1 ppm*m CH4 at 273.15 K, 101325 Pa, M = 16.043 g/mol",
        "mask_threshold_ppm_m": MASK_THRESHOLD_PPM_M,
        "wind_convention": "wind_from_deg: direction the wind blows from, degrees clockwise from north (meteorological)",
    })
}

/// Writes `truth_enhancement.tif`, `truth_mask.tif`, the JSON and the quicklook.
#[allow(clippy::too_many_arguments)]
fn write_truth(
    out: &Path,
    lines: usize,
    samples: usize,
    enhancement: &[f32],
    georef: Option<&GeoRef>,
    truth: &Value,
    quicklook_rgb: Option<[Vec<f32>; 3]>,
    sources: &[PointSource],
) -> anyhow::Result<()> {
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
    plumewatch_io::write_cog(
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
    )?;
    plumewatch_io::truth::write_json(&out.join("truth_sources.json"), truth)?;
    if let Some(rgb) = quicklook_rgb {
        let (w, h, px) = quicklook(lines, samples, &rgb, enhancement, &mask, sources);
        plumewatch_io::png_plot::write_rgb_png(&out.join("quicklook.png"), w, h, &px)?;
    }
    Ok(())
}

/// Quicklook: left SWIR false colour (2–98% stretch) with the mask outline in magenta,
/// right log10 enhancement 10–10⁴ ppm·m; sources as green crosses.
fn quicklook(
    lines: usize,
    samples: usize,
    rgb: &[Vec<f32>; 3],
    enh: &[f32],
    mask: &[f32],
    sources: &[PointSource],
) -> (usize, usize, Vec<u8>) {
    let step = (lines.max(samples) / 1200 + 1).max(1);
    let (h, w) = (lines.div_ceil(step), samples.div_ceil(step));
    let width = 2 * w + 4;
    let mut px = vec![255u8; width * h * 3];
    let stretch: Vec<(f32, f32)> = rgb
        .iter()
        .map(|c| {
            let Some(p) = percentiles_f32(c, &[0.02, 0.98]) else {
                return (0.0, 1.0);
            };
            let (lo, hi) = (p[0], p[1]);
            (lo, (hi - lo).max(1e-6))
        })
        .collect();
    for y in 0..h {
        for x in 0..w {
            let i = (y * step) * samples + x * step;
            let o = (y * width + x) * 3;
            for (k, c) in rgb.iter().enumerate() {
                let v = ((c[i] - stretch[k].0) / stretch[k].1).clamp(0.0, 1.0);
                px[o + k] = (v * 255.0) as u8;
            }
            let edge = mask[i] > 0.0
                && [(0i64, 1i64), (1, 0), (0, -1), (-1, 0)]
                    .iter()
                    .any(|(dy, dx)| {
                        let (yy, xx) = ((y * step) as i64 + dy, (x * step) as i64 + dx);
                        yy < 0
                            || xx < 0
                            || yy >= lines as i64
                            || xx >= samples as i64
                            || mask[yy as usize * samples + xx as usize] == 0.0
                    });
            if edge {
                px[o..o + 3].copy_from_slice(&[255, 0, 255]);
            }
            let e = enh[i];
            let t = if e > 10.0 {
                ((e.log10() - 1.0) / 3.0).clamp(0.0, 1.0)
            } else {
                0.0
            };
            let o2 = (y * width + w + 4 + x) * 3;
            // Black → red → yellow → white.
            let (r, g, b) = (
                (3.0 * t).min(1.0),
                (3.0 * t - 1.0).clamp(0.0, 1.0),
                (3.0 * t - 2.0).clamp(0.0, 1.0),
            );
            px[o2..o2 + 3].copy_from_slice(&[
                (r * 255.0) as u8,
                (g * 255.0) as u8,
                (b * 255.0) as u8,
            ]);
        }
    }
    for s in sources {
        let (cy, cx) = ((s.row / step as f64) as i64, (s.col / step as f64) as i64);
        for d in -3i64..=3 {
            for (yy, xx) in [(cy + d, cx), (cy, cx + d)] {
                for off in [0usize, w + 4] {
                    if yy >= 0 && xx >= 0 && (yy as usize) < h && (xx as usize) < w {
                        let o = (yy as usize * width + xx as usize + off) * 3;
                        px[o..o + 3].copy_from_slice(&[0, 255, 0]);
                    }
                }
            }
        }
    }
    (width, h, px)
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

fn create_dir(dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("{}: cannot create output directory", dir.display()))
}

fn run_inject(args: InjectArgs, quiet: bool) -> anyhow::Result<()> {
    let start = Instant::now();
    let cube = plumewatch_io::open_cube(&args.cube)?;
    let meta = cube.meta().clone();
    let cube_path = &args.cube;
    let wl = meta.wavelength_nm.clone().with_context(|| {
        format!(
            "{}: wavelength: missing (injection needs band centres)",
            cube_path.display()
        )
    })?;
    let fwhm = meta.fwhm_nm.clone().with_context(|| {
        format!(
            "{}: fwhm: missing (injection needs band widths)",
            cube_path.display()
        )
    })?;
    let gsd = match (args.gsd, meta.georef.as_ref()) {
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
    let specs = plumewatch_io::truth::read_sources(&args.sources)?;
    let sources = to_point_sources(&specs, meta.georef.as_ref(), &args.sources)?;
    let lut = plumewatch_io::gas_lut::open(&args.gas)?;
    let bands = BandModel::new(wl.clone(), fwhm)?;
    let tr = GasTransmittance::from_lut(&lut, &bands)?;
    let (lines, samples, nb) = (meta.lines, meta.samples, meta.bands);
    let grid = PlumeGrid {
        lines,
        samples,
        gsd_m: gsd,
    };
    let params = PlumeParams {
        meander_sigma_deg: args.meander_deg,
        ..PlumeParams::default()
    };
    let (enh, truths) = render_sources(&grid, &sources, &params, args.seed)?;

    create_dir(&args.output)?;
    // Read, inject, and gather band planes for the writer.
    let pb = progress::bar(lines as u64, "inject", quiet);
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
        pb.inc(1);
    }
    pb.finish_and_clear();
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
        args.seed
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
        &args.output.join("radiance.hdr"),
        lines,
        samples,
        &out_bands,
        &opts,
    )?;
    let ids: Vec<u32> = specs.iter().map(|s| s.id).collect();
    let truth = json!({
        "generator": format!("plumewatch simulate inject {}", env!("CARGO_PKG_VERSION")),
        "synthetic_plumes": true,
        "input_cube": cube_path.display().to_string(),
        "seed": args.seed,
        "lines": lines,
        "samples": samples,
        "bands": nb,
        "gsd_m": gsd,
        "gas": lut.gas,
        "geo_transform": meta.georef.as_ref().map(|g| g.geo_transform),
        "physics": physics_json(&params),
        "scene_plume_pixels": enh.iter().filter(|v| **v >= MASK_THRESHOLD_PPM_M).count(),
        "scene_max_enhancement_ppm_m": enh.iter().cloned().fold(0.0f32, f32::max),
        "sources": truth_sources_json(&sources, &ids, &truths, gsd, meta.georef.as_ref()),
    });
    let qb = quicklook_bands(&wl);
    let rgb = [qb[0], qb[1], qb[2]].map(|b| {
        planes[b]
            .iter()
            .map(|&v| if Some(v) == nodata { f32::NAN } else { v })
            .collect()
    });
    write_truth(
        &args.output,
        lines,
        samples,
        &enh,
        meta.georef.as_ref(),
        &truth,
        Some(rgb),
        &sources,
    )?;
    if !quiet {
        eprintln!(
            "simulate inject: {} source(s) into {lines} × {samples} × {nb} in {:.2} s → {}",
            sources.len(),
            start.elapsed().as_secs_f64(),
            args.output.display()
        );
    }
    Ok(())
}

/// The bundled data directory of the source tree (for default inputs).
fn bundled(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../data")
        .join(rel)
}

/// UTM zone 13N WKT of the synthetic scenes (a made-up location, as the bundled scenes).
const UTM13N_WKT: &str = r#"PROJCS["WGS 84 / UTM zone 13N",GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563]],PRIMEM["Greenwich",0],UNIT["degree",0.0174532925199433]],PROJECTION["Transverse_Mercator"],PARAMETER["latitude_of_origin",0],PARAMETER["central_meridian",-105],PARAMETER["scale_factor",0.9996],PARAMETER["false_easting",500000],PARAMETER["false_northing",0],UNIT["metre",1],AXIS["Easting",EAST],AXIS["Northing",NORTH],AUTHORITY["EPSG","32613"]]"#;

fn run_scene(args: SceneArgs, quiet: bool) -> anyhow::Result<()> {
    let start = Instant::now();
    if args.lines == 0 || args.samples == 0 {
        bail!(
            "--lines {} --samples {}: expected at least 1 each",
            args.lines,
            args.samples
        );
    }
    if !(args.gsd.is_finite() && args.gsd > 0.0) {
        bail!("--gsd {}: expected a positive number of metres", args.gsd);
    }
    let pb = progress::bar(4, "scene", quiet);
    let (full_bands, preset) = match plumewatch_io::sensor::preset(&args.sensor) {
        Some(b) => (b, true),
        None => (
            plumewatch_io::sensor::load(Path::new(&args.sensor), None)?,
            false,
        ),
    };
    let lut = plumewatch_io::gas_lut::open(&args.gas)?;
    let (lut_lo, lut_hi) = lut.wavelength_range_nm();
    let idx = full_bands.indices_in_window(lut_lo, lut_hi);
    if idx.len() < 10 {
        bail!(
            "--sensor {}: {} band(s) inside the {} LUT range {lut_lo:.0}–{lut_hi:.0} nm (expected at least 10)",
            args.sensor,
            idx.len(),
            lut.gas
        );
    }
    let bands = full_bands.subset(&idx);
    let noise = match &args.noise {
        Some(p) => plumewatch_io::noise_model::read_noise_model(p)?,
        None if preset => plumewatch_io::noise_model::builtin(&args.sensor)
            .context("no built-in noise model")??,
        None => bail!(
            "--sensor {}: not a preset sensor, so give its noise table with --noise FILE",
            args.sensor
        ),
    };
    let lib_path = args
        .library
        .clone()
        .unwrap_or_else(|| bundled("surfaces/s06av95a_envi.hdr"));
    let library = plumewatch_io::spectral_library::read_spectral_library(&lib_path)
        .context("reading the spectral library (give --library HDR)")?;
    let convolved = plumewatch_core::convolve_lut(&lut, &bands)?;
    let tr = GasTransmittance::new(&convolved, &lut.concentrations_ppm_m)?;
    let config = SceneConfig::new(args.lines, args.samples, args.gsd, args.seed);
    let (ul_e, ul_n) = (600_000.0, 3_500_000.0);
    let georef = GeoRef {
        geo_transform: [ul_e, args.gsd, 0.0, ul_n, 0.0, -args.gsd],
        wkt: Some(UTM13N_WKT.to_string()),
    };
    let (sources, ids): (Vec<PointSource>, Vec<u32>) = if let Some(p) = &args.sources {
        let specs = plumewatch_io::truth::read_sources(p)?;
        (
            to_point_sources(&specs, Some(&georef), p)?,
            specs.iter().map(|s| s.id).collect(),
        )
    } else {
        let k = args.random_sources.unwrap_or(0);
        let range = args.rate_range.unwrap_or(if args.gsd <= 10.0 {
            (5.0, 500.0)
        } else {
            (300.0, 10_000.0)
        });
        (
            random_sources(&config, k, range, args.seed),
            (1..=k as u32).collect(),
        )
    };
    pb.inc(1);
    let grid = PlumeGrid {
        lines: args.lines,
        samples: args.samples,
        gsd_m: args.gsd,
    };
    let params = PlumeParams::default();
    let (enh, truths) = if args.no_plumes || sources.is_empty() {
        (vec![0f32; args.lines * args.samples], Vec::new())
    } else {
        render_sources(&grid, &sources, &params, args.seed)?
    };
    pb.inc(1);
    let pads: Vec<(f64, f64)> = sources.iter().map(|s| (s.row, s.col)).collect();
    let ing = SceneIngredients {
        bands: &bands,
        lut_radiance_zero: &convolved[0],
        transmittance: &tr,
        library: &library,
        noise: &noise,
    };
    let scene = render_scene(&config, &ing, (!args.no_plumes).then_some(&enh[..]), &pads)?;
    pb.inc(1);
    create_dir(&args.output)?;
    let (lines, samples, nb) = (scene.lines, scene.samples, scene.bands);
    let planes: Vec<Vec<f32>> = (0..nb)
        .into_par_iter()
        .map(|b| {
            (0..lines * samples)
                .map(|i| scene.radiance[i * nb + b])
                .collect()
        })
        .collect();
    let out_bands: Vec<OutputBand> = planes
        .iter()
        .map(|p| OutputBand {
            data: p,
            description: "",
            unit: "",
        })
        .collect();
    let opts = EnviWriteOptions {
        interleave: Interleave::Bil,
        georef: Some(georef.clone()),
        wavelength_nm: Some(bands.center_nm.clone()),
        fwhm_nm: Some(bands.fwhm_nm.clone()),
        description: Some(format!(
            "SYNTHETIC {} at-sensor radiance (uW cm-2 sr-1 nm-1){}; NOT real data. seed={} gsd={} m; plumewatch simulate scene",
            args.sensor,
            if args.no_plumes { " without plumes" } else { " with injected CH4 plumes" },
            args.seed,
            args.gsd
        )),
        ..EnviWriteOptions::default()
    };
    plumewatch_io::write_envi(
        &args.output.join("radiance.hdr"),
        lines,
        samples,
        &out_bands,
        &opts,
    )?;
    plumewatch_io::write_cog(
        &args.output.join("truth_albedo.tif"),
        lines,
        samples,
        &[OutputBand {
            data: &scene.albedo,
            description: "mean surface reflectance 2200-2400 nm",
            unit: "1",
        }],
        Some(&georef),
        None,
    )?;
    let mut src_json = truth_sources_json(&sources, &ids, &truths, args.gsd, Some(&georef));
    for (v, s) in src_json.iter_mut().zip(&sources) {
        let (r, c) = (
            s.row.floor().max(0.0) as usize,
            s.col.floor().max(0.0) as usize,
        );
        if r < lines && c < samples {
            v["albedo_2200_2400_at_source"] = json!(scene.albedo[r * samples + c]);
        }
    }
    let g = scene.column_gain_percent.clone();
    let gain_std = {
        let m = g.iter().sum::<f64>() / g.len() as f64;
        (g.iter().map(|x| (x - m).powi(2)).sum::<f64>() / g.len() as f64).sqrt()
    };
    let truth = json!({
        "generator": format!("plumewatch simulate scene {}", env!("CARGO_PKG_VERSION")),
        "synthetic": true,
        "seed": args.seed,
        "sensor": args.sensor,
        "lines": lines,
        "samples": samples,
        "bands": nb,
        "gsd_m": args.gsd,
        "wavelength_range_nm": [bands.center_nm[0], bands.center_nm[nb - 1]],
        "geo": {
            "crs": "WGS 84 / UTM zone 13N (synthetic location)",
            "ul_corner_easting_m": ul_e,
            "ul_corner_northing_m": ul_n,
            "pixel_center": format!("E = {ul_e} + (col + 0.5)*gsd, N = {ul_n} - (row + 0.5)*gsd"),
            "image_axes": "row = line (down-track, southward), col = sample (cross-track, eastward)",
        },
        "physics": physics_json(&params),
        "scene_model": "L = rho * cos(30 deg) * L_LUT(0) * T(c)/T(0); L_meas = gain[col,band]*(L + N(0, NEdL(L)^2)) + offset[col,band]",
        "noise_model": args.noise.as_ref().map_or(format!("built-in isofit table for {}", args.sensor), |p| p.display().to_string()),
        "instrument": {"column_gain_percent_std": gain_std},
        "surfaces": {"materials": scene.materials},
        "plumes_enabled": !args.no_plumes,
        "scene_plume_pixels": enh.iter().filter(|v| **v >= MASK_THRESHOLD_PPM_M).count(),
        "scene_max_enhancement_ppm_m": enh.iter().cloned().fold(0.0f32, f32::max),
        "sources": src_json,
    });
    let qb = quicklook_bands(&bands.center_nm);
    let rgb = qb.map(|b| planes[b].clone());
    write_truth(
        &args.output,
        lines,
        samples,
        &enh,
        Some(&georef),
        &truth,
        Some(rgb),
        &sources,
    )?;
    pb.inc(1);
    pb.finish_and_clear();
    if !quiet {
        eprintln!(
            "simulate scene: {lines} × {samples} × {nb} ({}), {} source(s), in {:.2} s → {}",
            args.sensor,
            if args.no_plumes { 0 } else { sources.len() },
            start.elapsed().as_secs_f64(),
            args.output.display()
        );
    }
    Ok(())
}
