//! `simulate scene`: semi-real synthetic radiance scenes with plumes.

use super::{
    enhancement_census, physics_record, quicklook_bands, render_sources, to_point_sources,
    truth_records, write_truth, Progress,
};
use crate::{bail, Context, Result};
use plumewatch_core::simulate::{
    random_sources_where, render_scene, Clutter, GasTransmittance, PlumeGrid, PlumeParams,
    PointSource, SceneConfig, SceneIngredients, StripFootprint,
};
use plumewatch_io::envi::{EnviWriteOptions, Interleave};
use plumewatch_io::truth::{
    InstrumentRecord, MosaicRecord, SceneGeoRecord, SceneTruth, SurfacesRecord,
};
use plumewatch_io::{GeoRef, GeoTiffCube, OutputBand, Overviews};
use rayon::prelude::*;
use std::path::{Path, PathBuf};

/// What scene to build.
#[derive(Debug, Clone, PartialEq)]
pub struct SceneSettings {
    /// Sensor: a preset (`aviris-ng`, `emit`, `drone-swir`, `drone-ingaas`) or a band
    /// table file.
    pub sensor: String,
    /// Down-track lines.
    pub lines: usize,
    /// Cross-track samples.
    pub samples: usize,
    /// Ground sample distance, m.
    pub gsd: f64,
    /// Seed: the same seed and settings give the same scene.
    pub seed: u64,
    /// Sources JSON (as for inject); else `random_sources` random ones.
    pub sources: Option<PathBuf>,
    /// Number of random sources (emission rate log-uniform in `rate_range`).
    pub random_sources: Option<usize>,
    /// Emission-rate range of random sources, kg/h (default 5–500 for GSD ≤ 10 m,
    /// 300–10000 above).
    pub rate_range: Option<(f64, f64)>,
    /// One wind for every random source: (speed m/s, direction it blows from in degrees
    /// clockwise from north); else each random source draws its own.
    pub wind: Option<(f64, f64)>,
    /// Build the scene without plumes (the plume-free twin).
    pub no_plumes: bool,
    /// Man-made clutter: [`Clutter::Full`] (buildings, shadows, car parks, sheeting,
    /// stains, ponds, dark or bright pads) or [`Clutter::Light`] (earlier scenes).
    pub clutter: Clutter,
    /// Write the scene as a georeferenced mosaic instead of a raw pushbroom line:
    /// `radiance.tif` (GeoTIFF, band centres and FWHM in its metadata) with a nodata
    /// collar around a rotated flight-strip footprint ([`StripFootprint`]), no
    /// pushbroom column striping, sources only inside the footprint, and
    /// `truth_collar.tif`.
    pub mosaic: bool,
    /// isofit parametric noise table (default: the bundled table of a preset sensor).
    pub noise: Option<PathBuf>,
    /// Noise from one figure instead: (SNR, radiance in µW cm⁻² sr⁻¹ nm⁻¹ where it holds);
    /// see [`plumewatch_io::noise_model::from_snr`].
    pub snr: Option<(f64, f64)>,
    /// ENVI spectral library header (default: the USGS splib06a library in the data
    /// directory, see [`plumewatch_io::data_dir`]).
    pub library: Option<PathBuf>,
    /// Gas: built-in name (ch4) or LUT sidecar JSON.
    pub gas: String,
    /// Output directory (created if missing).
    pub output: PathBuf,
}

/// What [`scene`] made.
#[derive(Debug, Clone, PartialEq)]
pub struct SceneSummary {
    /// Sources with plumes in the scene (0 with `no_plumes`).
    pub sources: usize,
    /// Lines.
    pub lines: usize,
    /// Samples.
    pub samples: usize,
    /// Bands simulated.
    pub bands: usize,
}

/// The nodata value of a mosaic's collar (every band).
pub const MOSAIC_NODATA: f64 = -9999.0;

/// The radiance model of the scenes in words: raw pushbroom lines and mosaics.
const PUSHBROOM_MODEL: &str = "L = rho * cos(30 deg) * L_LUT(0) * T(c)/T(0); L_meas = gain[col,band]*(L + N(0, NEdL(L)^2)) + offset[col,band]";
const MOSAIC_MODEL: &str = "L = rho * cos(30 deg) * L_LUT(0) * T(c)/T(0); L_meas = L + N(0, NEdL(L)^2) inside the footprint (a mosaic of many frames has no detector columns aligned with its grid: no column gain or offset), nodata in the collar";

/// UTM zone 13N WKT of the synthetic scenes (a made-up location, as the bundled scenes).
const UTM13N_WKT: &str = r#"PROJCS["WGS 84 / UTM zone 13N",GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563]],PRIMEM["Greenwich",0],UNIT["degree",0.0174532925199433]],PROJECTION["Transverse_Mercator"],PARAMETER["latitude_of_origin",0],PARAMETER["central_meridian",-105],PARAMETER["scale_factor",0.9996],PARAMETER["false_easting",500000],PARAMETER["false_northing",0],UNIT["metre",1],AXIS["Easting",EAST],AXIS["Northing",NORTH],AUTHORITY["EPSG","32613"]]"#;

/// Builds the scene and writes `radiance.hdr` (or, with `mosaic`, `radiance.tif` and
/// `truth_collar.tif`), `truth_albedo.tif` and the truth into `settings.output`.
/// `progress` counts four steps.
pub fn scene(args: &SceneSettings, progress: Progress<'_>) -> Result<SceneSummary> {
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
    if let (Some(_), Some(_)) = (&args.sources, args.wind) {
        bail!("--wind sets the wind of random sources: give each source's wind in the --sources file instead");
    }
    if let Some((speed, _)) = args.wind {
        if !(speed.is_finite() && speed > 0.0) {
            bail!("--wind {speed},...: expected a positive wind speed in m/s");
        }
    }
    let bands = full_bands.subset(&idx);
    // A raw line: the radiance, its band planes for the ENVI writer and the truth rasters,
    // three copies of the cube in f32 at the peak. A mosaic is written from the radiance
    // itself (64 lines at a time): one copy, and a few single-band rasters.
    let (copies, rasters) = if args.mosaic { (1, 8) } else { (3, 4) };
    let bytes =
        args.lines as u128 * args.samples as u128 * (bands.len() as u128 * copies + rasters) * 4;
    if let Some(msg) = plumewatch_io::memory::check_fits(
        bytes,
        &format!(
            "--lines {} --samples {}: a scene of {} bands",
            args.lines,
            args.samples,
            bands.len()
        ),
    ) {
        bail!("{msg} (expected a scene that fits in memory)");
    }
    let noise = match (&args.noise, args.snr) {
        (Some(p), _) => plumewatch_io::noise_model::read_noise_model(p)?,
        (None, Some((snr, radiance))) => {
            let lo = bands.center_nm.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = bands.center_nm.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            plumewatch_io::noise_model::from_snr("--snr", snr, radiance, (lo, hi + 1.0))?
        }
        (None, None) if preset => plumewatch_io::noise_model::builtin(&args.sensor)
            .context("no built-in noise model")??,
        (None, None) => bail!(
            "--sensor {}: not a preset sensor, so give its noise with --noise FILE or --snr VALUE@RADIANCE",
            args.sensor
        ),
    };
    let lib_path = match &args.library {
        Some(p) => p.clone(),
        None => plumewatch_io::data_dir::data_file("surfaces/s06av95a_envi.hdr")
            .context("the default spectral library (give --library HDR)")?,
    };
    let library = plumewatch_io::spectral_library::read_spectral_library(&lib_path)
        .context("reading the spectral library (give --library HDR)")?;
    let convolved = plumewatch_core::convolve_lut(&lut, &bands)?;
    let tr = GasTransmittance::new(&convolved, &lut.concentrations_ppm_m)?;
    let mut config = SceneConfig::new(args.lines, args.samples, args.gsd, args.seed);
    config.striping = !args.mosaic;
    config.clutter = args.clutter;
    let footprint = args
        .mosaic
        .then(|| StripFootprint::random(args.lines, args.samples, args.seed));
    let margin = StripFootprint::source_margin_px(args.gsd, args.lines, args.samples);
    let (ul_e, ul_n) = (600_000.0, 3_500_000.0);
    let georef = GeoRef {
        geo_transform: [ul_e, args.gsd, 0.0, ul_n, 0.0, -args.gsd],
        wkt: Some(UTM13N_WKT.to_string()),
    };
    let (sources, ids): (Vec<PointSource>, Vec<u32>) = if let Some(p) = &args.sources {
        let specs = plumewatch_io::truth::read_sources(p)?;
        let sources = to_point_sources(&specs, Some(&georef), p, (args.lines, args.samples))?;
        if let Some(fp) = &footprint {
            if let Some((s, spec)) = sources
                .iter()
                .zip(&specs)
                .find(|(s, _)| !fp.inside(s.row, s.col, 0.0))
            {
                bail!(
                    "{}: source {}: row {:.1}, col {:.1} is in the mosaic's nodata collar (--mosaic, seed {}; expected a position inside the footprint, whose corners are {})",
                    p.display(),
                    spec.id,
                    s.row,
                    s.col,
                    args.seed,
                    fp.corners()
                        .iter()
                        .map(|(r, c)| format!("({r:.0}, {c:.0})"))
                        .collect::<Vec<_>>()
                        .join(", ")
                );
            }
        }
        (sources, specs.iter().map(|s| s.id).collect())
    } else {
        let k = args.random_sources.unwrap_or(0);
        let range = args.rate_range.unwrap_or(if args.gsd <= 10.0 {
            (5.0, 500.0)
        } else {
            (300.0, 10_000.0)
        });
        let mut sources = random_sources_where(&config, k, range, args.seed, |r, c| {
            footprint.is_none_or(|fp| fp.inside(r, c, margin))
        })?;
        if let Some((speed, from)) = args.wind {
            for s in &mut sources {
                s.wind_speed_m_s = speed;
                s.wind_from_deg = from;
            }
        }
        (sources, (1..=k as u32).collect())
    };
    progress(1, 4);
    let grid = PlumeGrid {
        lines: args.lines,
        samples: args.samples,
        gsd_m: args.gsd,
    };
    let params = PlumeParams::for_gsd(args.gsd);
    let (enh, truths) = if args.no_plumes || sources.is_empty() {
        (vec![0f32; args.lines * args.samples], Vec::new())
    } else {
        render_sources(&grid, &sources, &params, args.seed)?
    };
    progress(2, 4);
    let pads: Vec<(f64, f64)> = sources.iter().map(|s| (s.row, s.col)).collect();
    let ing = SceneIngredients {
        bands: &bands,
        lut_radiance_zero: &convolved[0],
        transmittance: &tr,
        library: &library,
        noise: &noise,
    };
    let mut scene = render_scene(&config, &ing, (!args.no_plumes).then_some(&enh[..]), &pads)?;
    progress(3, 4);
    let staging = super::Staging::new(&args.output)?;
    let (lines, samples, nb) = (scene.lines, scene.samples, scene.bands);
    let description = format!(
        "SYNTHETIC {} at-sensor radiance (uW cm-2 sr-1 nm-1){}{}; NOT real data. seed={} gsd={} m; plumewatch simulate scene",
        args.sensor,
        if args.no_plumes { " without plumes" } else { " with injected CH4 plumes" },
        if args.mosaic { ", georeferenced mosaic with a nodata collar" } else { "" },
        args.seed,
        args.gsd
    );
    let collar = footprint.map(|fp| fp.collar_mask(lines, samples));
    if let Some(collar) = &collar {
        scene
            .radiance
            .par_chunks_mut(nb)
            .zip(collar.par_iter())
            .filter(|(_, c)| **c)
            .for_each(|(px, _)| px.fill(MOSAIC_NODATA as f32));
        plumewatch_io::write_geotiff_cube(
            &staging.dir().join("radiance.tif"),
            &GeoTiffCube {
                lines,
                samples,
                bands: nb,
                data: &scene.radiance,
                wavelength_nm: &bands.center_nm,
                fwhm_nm: &bands.fwhm_nm,
                nodata: Some(MOSAIC_NODATA),
                georef: Some(&georef),
                description: &description,
            },
        )?;
        let mask: Vec<f32> = collar.iter().map(|&c| f32::from(u8::from(c))).collect();
        plumewatch_io::gdal_raster::write_cog_with_overviews(
            &staging.dir().join("truth_collar.tif"),
            lines,
            samples,
            &[OutputBand {
                data: &mask,
                description: "mosaic collar (1 = no data, outside the flight strip's footprint)",
                unit: "1",
            }],
            Some(&georef),
            None,
            Overviews::Categorical,
        )?;
    } else {
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
            description: Some(description),
            ..EnviWriteOptions::default()
        };
        plumewatch_io::write_envi(
            &staging.dir().join("radiance.hdr"),
            lines,
            samples,
            &out_bands,
            &opts,
        )?;
    }
    plumewatch_io::write_cog(
        &staging.dir().join("truth_albedo.tif"),
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
    let mut records = truth_records(&sources, &ids, &truths, args.gsd, Some(&georef));
    for (v, s) in records.iter_mut().zip(&sources) {
        let (r, c) = (
            s.row.floor().max(0.0) as usize,
            s.col.floor().max(0.0) as usize,
        );
        if r < lines && c < samples {
            v.albedo_2200_2400_at_source = Some(scene.albedo[r * samples + c]);
        }
    }
    let g = &scene.column_gain_percent;
    let gain_std = {
        let m = g.iter().sum::<f64>() / g.len() as f64;
        (g.iter().map(|x| (x - m).powi(2)).sum::<f64>() / g.len() as f64).sqrt()
    };
    let (plume_pixels, max_enh) = enhancement_census(&enh);
    let mosaic = footprint.zip(collar.as_ref()).map(|(fp, collar)| {
        let t = georef.geo_transform;
        let corners = fp.corners();
        let collar_pixels = collar.iter().filter(|c| **c).count();
        MosaicRecord {
            radiance_file: "radiance.tif",
            nodata: MOSAIC_NODATA,
            collar_file: "truth_collar.tif",
            collar_pixels,
            valid_fraction: 1.0 - collar_pixels as f64 / collar.len() as f64,
            footprint: "rotated rectangle (a flight strip resampled onto the north-up grid); a pixel is collar when its centre lies outside it",
            heading_deg: fp.heading_deg,
            footprint_corners_px: corners.iter().map(|&(r, c)| [r, c]).collect(),
            footprint_corners_map: corners
                .iter()
                .map(|&(r, c)| [t[0] + c * t[1] + r * t[2], t[3] + c * t[4] + r * t[5]])
                .collect(),
            source_margin_px: margin,
        }
    });
    let truth = SceneTruth {
        bands: nb,
        generator: format!("plumewatch simulate scene {}", env!("CARGO_PKG_VERSION")),
        geo: SceneGeoRecord {
            crs: "WGS 84 / UTM zone 13N (synthetic location)",
            image_axes: "row = line (down-track, southward), col = sample (cross-track, eastward)",
            pixel_center: format!("E = {ul_e} + (col + 0.5)*gsd, N = {ul_n} - (row + 0.5)*gsd"),
            ul_corner_easting_m: ul_e,
            ul_corner_northing_m: ul_n,
        },
        gsd_m: args.gsd,
        instrument: InstrumentRecord {
            column_gain_percent_std: gain_std,
        },
        lines,
        mosaic,
        noise_model: match (&args.noise, args.snr) {
            (Some(p), _) => p.display().to_string(),
            (None, Some((snr, l))) => format!(
                "SNR {snr} at {l} uW cm-2 sr-1 nm-1, NEdL = a*sqrt(b + L), b = {} * {l}",
                plumewatch_io::noise_model::DARK_FRACTION
            ),
            (None, None) => match plumewatch_io::sensor::drone_class(&args.sensor) {
                Some(c) => format!(
                    "built-in nominal {}: SNR {} at {} uW cm-2 sr-1 nm-1 near {} nm, NEdL = a*sqrt(b + L), b = {} * {}",
                    c.name,
                    c.snr,
                    c.snr_radiance,
                    c.snr_wavelength_nm,
                    plumewatch_io::noise_model::DARK_FRACTION,
                    c.snr_radiance
                ),
                None => format!("built-in isofit table for {}", args.sensor),
            },
        },
        physics: physics_record(&params),
        plumes_enabled: !args.no_plumes,
        samples,
        scene_max_enhancement_ppm_m: max_enh,
        scene_model: if args.mosaic {
            MOSAIC_MODEL
        } else {
            PUSHBROOM_MODEL
        },
        scene_plume_pixels: plume_pixels,
        seed: args.seed,
        sensor: args.sensor.clone(),
        sources: records,
        surfaces: SurfacesRecord {
            clutter: match args.clutter {
                Clutter::Full => "full",
                Clutter::Light => "light",
            },
            materials: scene.materials.clone(),
        },
        synthetic: true,
        wavelength_range_nm: [bands.center_nm[0], bands.center_nm[nb - 1]],
    };
    let rgb = quicklook_bands(&bands.center_nm).map(|b| {
        scene
            .radiance
            .par_chunks(nb)
            .map(|px| {
                let v = px[b];
                if f64::from(v) == MOSAIC_NODATA && args.mosaic {
                    f32::NAN
                } else {
                    v
                }
            })
            .collect::<Vec<f32>>()
    });
    write_truth(
        staging.dir(),
        lines,
        samples,
        &enh,
        Some(&georef),
        &truth,
        rgb,
        &sources,
    )?;
    progress(4, 4);
    staging.commit()?;
    // A previous simulation of the other kind in the same folder: its radiance would not
    // match this truth.
    let stale: &[&str] = if args.mosaic {
        &["radiance.hdr", "radiance.img"]
    } else {
        &["radiance.tif", "truth_collar.tif"]
    };
    for f in stale {
        let _ = std::fs::remove_file(args.output.join(f));
    }
    Ok(SceneSummary {
        sources: if args.no_plumes { 0 } else { sources.len() },
        lines,
        samples,
        bands: nb,
    })
}
