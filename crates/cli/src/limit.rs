//! `plumewatch limit`: the detection limit of a real cube. Plumes over a range of
//! emission rates are injected at random positions (Beer–Lambert through the gas LUT),
//! the detector and CFAR plume finder run on each injected copy, and a logistic POD(Q)
//! curve is fitted, giving Q at 50% and 90% POD with 95% intervals; plus a map of the
//! minimum detectable enhancement per pixel.

use crate::gas_window::{parse_pair, parse_window};
use crate::progress;
use anyhow::{bail, Context};
use clap::Args;
use plumewatch_core::bands::window_bands;
use plumewatch_core::detect::{detect_cube, Algorithm, CubeInput, DetectParams};
use plumewatch_core::eval::{fit_logistic_pod, log_bins, wilson_interval};
use plumewatch_core::geo::GeoTransform;
use plumewatch_core::plume::narrowband::WindowSpectra;
use plumewatch_core::plume::CfarParams;
use plumewatch_core::raster::NODATA;
use plumewatch_core::rng::SeededRng;
use plumewatch_core::scan::{analyse_pass_with_spectra, PassParams};
use plumewatch_core::simulate::{
    render_plume, GasTransmittance, InjectedCube, PlumeGrid, PlumeParams, PointSource, Stability,
};
use plumewatch_core::{BandModel, VecCube};
use plumewatch_io::png_plot::{write_plot_png, Plot, Series, SeriesStyle};
use plumewatch_io::OutputBand;
use serde_json::json;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Instant;

/// Arguments of `plumewatch limit`.
#[derive(Debug, Args)]
pub struct LimitArgs {
    /// Radiance cube (ENVI, GeoTIFF, EMIT NetCDF).
    #[arg(long)]
    pub cube: PathBuf,
    /// Ground sample distance, m (default: from the georeferencing).
    #[arg(long)]
    pub gsd: Option<f64>,
    /// Wind speed of the injected plumes, m/s (directions are random).
    #[arg(long, default_value_t = 3.0)]
    pub wind: f64,
    /// Emission-rate range, kg/h: LO,HI (log-uniform; default 1,1000 for GSD ≤ 10 m,
    /// 100,30000 above).
    #[arg(long, value_parser = parse_pair)]
    pub q_range: Option<(f64, f64)>,
    /// Detection runs (each injects --per-run plumes at separated random positions).
    #[arg(long, default_value_t = 40)]
    pub runs: usize,
    /// Plumes injected per run.
    #[arg(long, default_value_t = 5)]
    pub per_run: usize,
    /// Per-pixel false-alarm rate of the CFAR seed threshold.
    #[arg(long, default_value_t = 1e-4)]
    pub far: f64,
    /// z at which a pixel counts as detectable for the minimum-detectable-enhancement map.
    #[arg(long, default_value_t = 3.72)]
    pub z_detect: f64,
    /// Gas: built-in name (ch4) or LUT sidecar JSON.
    #[arg(long, default_value = "ch4")]
    pub gas: String,
    /// Gas window, nm: LO,HI.
    #[arg(long, default_value = "2122,2488", value_parser = parse_window)]
    pub window: (f64, f64),
    /// Random seed (positions, rates, directions, meanders).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Report directory (created if missing).
    #[arg(short, long)]
    pub output: PathBuf,
}

/// Pixels of unrejected plumes found in a detection run (`lines × samples`).
/// Pixels of the plumes the scan pipeline would report (accepted, significant, and the
/// downwind fragments attached to them), with the detection maps. The same detector and
/// plume analysis as `plumewatch scan`, so the POD measured here is the scan's.
/// `wavelength_nm` holds the centres of `bands` (empty: no narrow-band check).
#[allow(clippy::too_many_arguments)]
fn detected_pixels(
    cube: &dyn plumewatch_core::LineSource,
    bands: &[usize],
    wavelength_nm: &[f64],
    absorption: &[f64],
    params: &DetectParams,
    pass: &PassParams,
    transform: &GeoTransform,
) -> anyhow::Result<(Vec<bool>, plumewatch_core::detect::DetectionMaps)> {
    let input = CubeInput {
        source: cube,
        window_bands: bands,
        unit_absorption: absorption,
        saturation_bands: &[],
        exclude: None,
    };
    let maps = detect_cube(&input, params, &|_| {})?;
    let spectra = WindowSpectra {
        source: cube,
        bands,
        wavelength_nm,
        unit_absorption: absorption,
    };
    let spectra = (wavelength_nm.len() == bands.len()).then_some(&spectra);
    let analysis = analyse_pass_with_spectra("limit", &maps, transform, None, None, spectra, pass)?;
    let mut mask = vec![false; maps.lines * maps.samples];
    for (p, l) in analysis.plumes.plumes.iter().zip(&analysis.located) {
        if p.rejection.is_none() && !l.not_significant {
            for &i in &p.pixels {
                mask[i as usize] = true;
            }
        }
    }
    Ok((mask, maps))
}

/// What a detection-limit estimate found.
pub struct PodEstimate {
    /// Logistic POD(Q) fit.
    pub fit: plumewatch_core::eval::LogisticPod,
    /// Injected emission rates, kg/h.
    pub q_kg_h: Vec<f64>,
    /// Whether each injected plume was detected.
    pub detected: Vec<bool>,
    /// Minimum detectable enhancement per pixel (z_detect × sigma, ppm·m; NODATA).
    pub mde: Vec<f32>,
    /// Pixels flagged in the cube before injection.
    pub clean_plume_pixels: usize,
}

/// Settings of [`estimate_pod`].
pub struct PodSettings {
    /// Ground sample distance, m.
    pub gsd_m: f64,
    /// Wind speed of the injected plumes, m/s (directions random).
    pub wind_m_s: f64,
    /// Emission-rate range, kg/h (log-uniform).
    pub q_range: (f64, f64),
    /// Injection runs (one detection each) and plumes per run.
    pub runs: usize,
    /// Plumes per run.
    pub per_run: usize,
    /// Per-pixel false-alarm rate of the CFAR seed threshold.
    pub far: f64,
    /// z of the minimum detectable enhancement map.
    pub z_detect: f64,
    /// RNG seed.
    pub seed: u64,
}

/// Injects plumes of random rate and position into `base` (the window bands of a real
/// cube, centred at `wavelength_nm`), runs the scan pipeline on each injected copy
/// (detection, plume analysis with the narrow-band check) and fits POD(Q).
pub fn estimate_pod(
    base: &VecCube,
    wavelength_nm: &[f64],
    absorption: &[f64],
    tr: &GasTransmittance,
    set: &PodSettings,
    progress: &dyn Fn(),
) -> anyhow::Result<PodEstimate> {
    let (lines, samples, nb) = (base.lines, base.samples, base.bands);
    let window_idx: Vec<usize> = (0..nb).collect();
    let params = DetectParams {
        algorithm: Algorithm::AlbedoMatchedFilter,
        ..DetectParams::default()
    };
    let pass = PassParams {
        cfar: CfarParams {
            far: set.far,
            ..CfarParams::default()
        },
        ..PassParams::default()
    };
    let transform = GeoTransform::north_up(0.0, 0.0, set.gsd_m)?;
    // The clean cube and every injected copy go through the same detection.
    let detect = |cube: &dyn plumewatch_core::LineSource| {
        detected_pixels(
            cube,
            &window_idx,
            wavelength_nm,
            absorption,
            &params,
            &pass,
            &transform,
        )
    };
    let (clean_mask, clean_maps) = detect(base)?;
    let clean_plume_pixels = clean_mask.iter().filter(|m| **m).count();
    let mde: Vec<f32> = clean_maps
        .sigma
        .iter()
        .map(|&s| {
            if s == NODATA || !s.is_finite() {
                NODATA
            } else {
                (set.z_detect as f32) * s
            }
        })
        .collect();
    let (qlo, qhi) = set.q_range;
    let grid = PlumeGrid {
        lines,
        samples,
        gsd_m: set.gsd_m,
    };
    let pparams = PlumeParams::default();
    let margin = (lines.min(samples) as f64 * 0.08).max(3.0);
    let min_sep = (lines.max(samples) as f64 / (set.per_run as f64 + 1.0)).max(10.0);
    let mut q_all = Vec::new();
    let mut det_all = Vec::new();
    let mut rng = SeededRng::derived(set.seed, 0x11);
    for run in 0..set.runs {
        // Positions: separated, away from the edges and from plumes already detected in
        // the clean cube.
        let mut sources: Vec<PointSource> = Vec::new();
        let mut tries = 0;
        while sources.len() < set.per_run && tries < 1000 {
            tries += 1;
            let row = rng.range(margin, lines as f64 - margin);
            let col = rng.range(margin, samples as f64 - margin);
            let near_clean = {
                let (r0, c0) = (row as isize, col as isize);
                let rad = 8isize;
                (-rad..=rad).any(|dr| {
                    (-rad..=rad).any(|dc| {
                        let (r, c) = (r0 + dr, c0 + dc);
                        r >= 0
                            && c >= 0
                            && (r as usize) < lines
                            && (c as usize) < samples
                            && clean_mask[r as usize * samples + c as usize]
                    })
                })
            };
            if near_clean
                || sources
                    .iter()
                    .any(|s| ((s.row - row).powi(2) + (s.col - col).powi(2)).sqrt() < min_sep)
            {
                continue;
            }
            sources.push(PointSource {
                row,
                col,
                rate_kg_h: (qlo.ln() + (qhi.ln() - qlo.ln()) * rng.uniform()).exp(),
                wind_speed_m_s: set.wind_m_s,
                wind_from_deg: rng.range(0.0, 360.0),
                stability: Stability::D,
            });
        }
        let mut total = vec![0f32; lines * samples];
        let mut rasters = Vec::new();
        for (i, s) in sources.iter().enumerate() {
            let (r, _) = render_plume(
                &grid,
                s,
                &pparams,
                SeededRng::derived(set.seed, (run * 100 + i) as u64).next_u64(),
            )?;
            for (a, b) in total.iter_mut().zip(&r) {
                *a += b;
            }
            rasters.push(r);
        }
        let injected = InjectedCube::new(base, tr, &total)?;
        let (mask, _) = detect(&injected)?;
        for (s, r) in sources.iter().zip(&rasters) {
            // Detected: at least 3 newly detected pixels where this plume adds ≥ 50 ppm·m
            // (or its single brightest pixel is newly detected).
            let peak = r
                .iter()
                .enumerate()
                .max_by(|a, b| a.1.total_cmp(b.1))
                .map_or(0, |(i, _)| i);
            let hits = r
                .iter()
                .enumerate()
                .filter(|(i, v)| **v >= 50.0 && mask[*i] && !clean_mask[*i])
                .count();
            q_all.push(s.rate_kg_h);
            det_all.push(hits >= 3 || (mask[peak] && !clean_mask[peak]));
        }
        progress();
    }
    let fit = fit_logistic_pod(&q_all, &det_all).context("fitting POD(Q)")?;
    Ok(PodEstimate {
        fit,
        q_kg_h: q_all,
        detected: det_all,
        mde,
        clean_plume_pixels,
    })
}

/// The default emission-rate range of the injections for a ground sample distance, kg/h.
pub fn default_q_range(gsd_m: f64) -> (f64, f64) {
    if gsd_m <= 10.0 {
        (1.0, 1000.0)
    } else {
        (100.0, 30_000.0)
    }
}

pub fn run(args: LimitArgs, quiet: bool) -> anyhow::Result<()> {
    let start = Instant::now();
    let _crs = plumewatch_io::open_crs_database_in_background();
    if args.runs == 0 || args.per_run == 0 {
        bail!("--runs and --per-run: expected at least 1 each");
    }
    if !(args.wind.is_finite() && args.wind >= 0.5) {
        bail!("--wind {}: expected at least 0.5 m/s", args.wind);
    }
    let cube = plumewatch_io::open_cube(&args.cube)?;
    let meta = cube.meta().clone();
    let path = &args.cube;
    let wl = meta.wavelength_nm.clone().with_context(|| {
        format!(
            "{}: wavelength: missing (limit needs band centres)",
            path.display()
        )
    })?;
    let fwhm = meta.fwhm_nm.clone().with_context(|| {
        format!(
            "{}: fwhm: missing (limit needs band widths)",
            path.display()
        )
    })?;
    let gsd = match (args.gsd, &meta.georef) {
        (Some(g), _) if g.is_finite() && g > 0.0 => g,
        (Some(g), _) => bail!("--gsd {g}: expected a positive number of metres"),
        (None, Some(g)) => g.geo_transform[1].abs(),
        (None, None) => bail!(
            "{}: georeferencing: missing, so the ground sample distance is unknown; give --gsd",
            path.display()
        ),
    };
    let (lo, hi) = args.window;
    let bands = window_bands(&wl, meta.bad_bands.as_deref(), lo, hi);
    if bands.len() < 2 {
        bail!(
            "{}: wavelength: {} band(s) in the window {lo}–{hi} nm (expected at least 2)",
            path.display(),
            bands.len()
        );
    }
    let model = BandModel::new(
        bands.iter().map(|&i| wl[i]).collect(),
        bands.iter().map(|&i| fwhm[i]).collect(),
    )?;
    let lut = plumewatch_io::gas_lut::open(&args.gas)?;
    let absorption = plumewatch_core::unit_absorption(&lut, &model)?.absorption_per_ppm_m;
    let tr = GasTransmittance::from_lut(&lut, &model)?;
    let (lines, samples, nb) = (meta.lines, meta.samples, bands.len());

    // The window bands of the whole cube, once, in memory.
    let base = VecCube::from_source(cube.as_ref(), &bands)
        .with_context(|| format!("{}: reading the gas-window bands", path.display()))?;
    let (qlo, qhi) = args.q_range.unwrap_or(default_q_range(gsd));
    let settings = PodSettings {
        gsd_m: gsd,
        wind_m_s: args.wind,
        q_range: (qlo, qhi),
        runs: args.runs,
        per_run: args.per_run,
        far: args.far,
        z_detect: args.z_detect,
        seed: args.seed,
    };
    let pb = progress::bar(args.runs as u64, "limit", quiet);
    let window_wl: Vec<f64> = bands.iter().map(|&i| wl[i]).collect();
    let est = estimate_pod(&base, &window_wl, &absorption, &tr, &settings, &|| {
        pb.inc(1)
    })?;
    pb.finish_and_clear();
    let (fit, q_all, det_all, mde, clean_sites) = (
        est.fit,
        est.q_kg_h,
        est.detected,
        est.mde,
        est.clean_plume_pixels,
    );
    let edges = log_bins(&[qlo, qhi], 6);
    let bins: Vec<serde_json::Value> = edges
        .windows(2)
        .map(|w| {
            let n = q_all.iter().filter(|q| **q >= w[0] && **q <= w[1]).count();
            let k = q_all
                .iter()
                .zip(&det_all)
                .filter(|(q, d)| **q >= w[0] && **q <= w[1] && **d)
                .count();
            let (a, b) = wilson_interval(k, n);
            json!({"q_lo_kg_h": w[0], "q_hi_kg_h": w[1], "n": n, "detected": k,
                   "pod": if n > 0 { k as f64 / n as f64 } else { f64::NAN }, "ci_lo": a, "ci_hi": b})
        })
        .collect();
    let pods: Vec<f64> = bins
        .iter()
        .filter_map(|b| b["pod"].as_f64().filter(|p| p.is_finite()))
        .collect();
    let pod_monotone = pods.windows(2).all(|w| w[1] >= w[0]);
    std::fs::create_dir_all(&args.output)
        .with_context(|| format!("{}: cannot create report directory", args.output.display()))?;
    plumewatch_io::write_cog(
        &args.output.join("min_detectable_enhancement.tif"),
        lines,
        samples,
        &[OutputBand {
            data: &mde,
            description: "minimum detectable CH4 enhancement (z_detect x sigma)",
            unit: "ppm·m",
        }],
        meta.georef.as_ref(),
        Some(NODATA as f64),
    )?;
    let mut mde_valid: Vec<f32> = mde.iter().copied().filter(|v| *v != NODATA).collect();
    mde_valid.sort_by(f32::total_cmp);
    let mde_median = mde_valid
        .get(mde_valid.len() / 2)
        .copied()
        .unwrap_or(f32::NAN);
    let elapsed = start.elapsed().as_secs_f64();
    let report = json!({
        "cube": path.display().to_string(),
        "lines": lines, "samples": samples, "window_bands": nb, "gsd_m": gsd,
        "wind_speed_m_s": args.wind, "q_range_kg_h": [qlo, qhi],
        "runs": args.runs, "plumes_per_run": args.per_run, "trials": q_all.len(),
        "detector": "albedo-corrected matched filter, per-column statistics; the scan pipeline (3x3 z averaging, CFAR plumes, rejection, scene-level significance)",
        "far_per_pixel": args.far,
        "detected_rule": ">= 3 newly detected plume pixels where the injected plume adds >= 50 ppm*m, or its peak pixel newly detected",
        "clean_cube_plume_pixels": clean_sites,
        "logistic_fit": fit,
        "pod_bins": bins,
        "pod_nondecreasing_in_q": pod_monotone,
        "median_min_detectable_enhancement_ppm_m": mde_median,
        "z_detect": args.z_detect,
        "elapsed_s": elapsed,
        "trials_q_kg_h": q_all, "trials_detected": det_all,
    });
    plumewatch_io::truth::write_json(&args.output.join("limit.json"), &report)?;
    let mut md = String::new();
    let _ = writeln!(md, "# plumewatch limit\n\n`{}`: {lines} × {samples} px, GSD {gsd} m, wind {} m/s, {} trials in {} runs ({elapsed:.1} s)\n", path.display(), args.wind, q_all.len(), args.runs);
    let _ = writeln!(md, "| | Q (kg/h) | 95% CI (kg/h) |\n|---|---|---|\n| 50% POD | {:.1} | {:.1}–{:.1} |\n| 90% POD | {:.1} | {:.1}–{:.1} |\n", fit.q50_kg_h, fit.q50_ci_kg_h.0, fit.q50_ci_kg_h.1, fit.q90_kg_h, fit.q90_ci_kg_h.0, fit.q90_ci_kg_h.1);
    let _ = writeln!(md, "Logistic slope {:.2} per decade of Q. Median minimum detectable enhancement (z = {}): {mde_median:.0} ppm·m.\n", fit.b, args.z_detect);
    let _ = writeln!(
        md,
        "| Q bin (kg/h) | trials | detected | POD |\n|---|---|---|---|"
    );
    for b in &bins {
        let _ = writeln!(
            md,
            "| {:.1}–{:.1} | {} | {} | {:.2} |",
            b["q_lo_kg_h"].as_f64().unwrap_or(0.0),
            b["q_hi_kg_h"].as_f64().unwrap_or(0.0),
            b["n"],
            b["detected"],
            b["pod"].as_f64().unwrap_or(f64::NAN)
        );
    }
    plumewatch_io::atomic::write_bytes(&args.output.join("limit.md"), md.as_bytes())?;
    let curve: Vec<(f64, f64)> = (0..=60)
        .map(|i| {
            let q = 10f64.powf(qlo.log10() + (qhi.log10() - qlo.log10()) * i as f64 / 60.0);
            (q, fit.pod(q))
        })
        .collect();
    write_plot_png(
        &args.output.join("pod.png"),
        &Plot {
            title: format!(
                "POD(Q): Q50 {:.1}, Q90 {:.1} kg/h",
                fit.q50_kg_h, fit.q90_kg_h
            ),
            x_label: "Q (kg/h)".into(),
            y_label: "POD".into(),
            log_x: true,
            x_range: Some((qlo, qhi)),
            y_range: Some((0.0, 1.0)),
            identity_line: false,
            series: vec![
                Series {
                    label: "logistic fit".into(),
                    points: curve,
                    color: [200, 30, 30],
                    style: SeriesStyle::Line,
                    y_bounds: None,
                },
                Series {
                    label: "binned (95% CI)".into(),
                    points: bins
                        .iter()
                        .map(|b| {
                            let (a, c) = (
                                b["q_lo_kg_h"].as_f64().unwrap_or(1.0),
                                b["q_hi_kg_h"].as_f64().unwrap_or(1.0),
                            );
                            ((a * c).sqrt(), b["pod"].as_f64().unwrap_or(f64::NAN))
                        })
                        .collect(),
                    color: [30, 30, 200],
                    style: SeriesStyle::Points,
                    y_bounds: Some(
                        bins.iter()
                            .map(|b| {
                                (
                                    b["ci_lo"].as_f64().unwrap_or(f64::NAN),
                                    b["ci_hi"].as_f64().unwrap_or(f64::NAN),
                                )
                            })
                            .collect(),
                    ),
                },
            ],
        },
    )?;
    if !quiet {
        eprint!("{md}");
        eprintln!("limit: report → {} ({elapsed:.1} s)", args.output.display());
    }
    Ok(())
}
