//! The detection limit of a flight line: plumes of random emission rate and position
//! injected into its own radiance (Beer–Lambert through the gas LUT) and found, or not,
//! by the scan's own detector, saturation screening and plume analysis; a logistic
//! POD(Q) fit gives the rate found half and nine times out of ten, with intervals.
//!
//! # Speed
//! The window bands are read once (shared with the scan), the flight line's own
//! analysis is reused for the clean scene, and the injection runs go in parallel. For
//! the matched filters each detector column's moments are kept, updated by the pixels
//! an injection changes (rank-one updates) and only the changed columns are filtered
//! again: the same maps as re-detecting the whole injected copy, which mag1c does.

use crate::config::{Detector, LimitConfig};
use crate::pipeline::StagedBands;
use crate::progress::Progress;
use crate::window::GasWindow;
use crate::{Context, Result};
use plumewatch_core::detect::fixed::ColumnFilters;
use plumewatch_core::detect::{
    detect_cube, detect_cube_with_filters, CubeInput, DetectionMaps, Grouping,
};
use plumewatch_core::eval::{fit_logistic_pod, LogisticPod};
use plumewatch_core::geo::GeoTransform;
use plumewatch_core::plume::narrowband::WindowSpectra;
use plumewatch_core::raster::NODATA;
use plumewatch_core::rng::SeededRng;
use plumewatch_core::scan::{
    analyse_pass_prepared, PassAnalysis, PassMaps, PassParams, PixelValues,
};
use plumewatch_core::simulate::{
    render_plume_window, GasTransmittance, InjectedCube, PlumeGrid, PlumeParams, PointSource,
    Stability,
};
use plumewatch_core::{BandModel, LineSource};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::sync::Mutex;

/// The detection limit, fitted or, when every or no injected plume was found, a bound.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum LimitEstimate {
    /// A logistic POD(Q) fit.
    Fitted {
        /// The fit with Q50/Q90 and their 95 % intervals.
        fit: LogisticPod,
    },
    /// Every injected plume was found: the rate found nine times out of ten is below
    /// the smallest injected rate.
    AllDetected {
        /// Smallest injected rate, kg/h (Q90 is at most this).
        q90_at_most_kg_h: f64,
    },
    /// No injected plume was found: the rate found half the time is above the
    /// largest injected rate.
    NoneDetected {
        /// Largest injected rate, kg/h (Q50 is at least this).
        q50_at_least_kg_h: f64,
    },
    /// The trials could not be fitted (for example no overlap between the rates found
    /// and missed): the binned detections are the result.
    Unfitted {
        /// Why the fit failed.
        reason: String,
    },
}

/// What a detection-limit estimate found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DetectionLimit {
    /// Flight line it was estimated on.
    pub line: String,
    /// The fit or bound.
    pub estimate: LimitEstimate,
    /// Injected emission rates, kg/h.
    pub q_kg_h: Vec<f64>,
    /// Whether each injected plume was detected.
    pub detected: Vec<bool>,
    /// Wind speed of the injected plumes, m/s (directions random).
    pub wind_m_s: f64,
    /// Injected rate range, kg/h (log-uniform).
    pub q_range_kg_h: (f64, f64),
    /// Detector used (the scan's).
    pub detector: Detector,
    /// Candidate pixels in the flight line before injection (injections avoid them).
    pub clean_plume_pixels: usize,
    /// Minimum detectable enhancement per pixel, `z_detect × sigma`, ppm·m
    /// ([`NODATA`] where there is no output); not serialised.
    #[serde(skip)]
    pub mde: Vec<f32>,
}

impl DetectionLimit {
    /// Number of plumes detected.
    pub fn hits(&self) -> usize {
        self.detected.iter().filter(|d| **d).count()
    }
}

/// The default emission-rate range of the injections for a ground sample distance, kg/h.
pub fn default_q_range(gsd_m: f64) -> (f64, f64) {
    if gsd_m <= 10.0 {
        (1.0, 1000.0)
    } else {
        (100.0, 30_000.0)
    }
}

/// What [`estimate_detection_limit`] works on.
pub struct LimitInputs<'a> {
    /// Flight-line name.
    pub line: &'a str,
    /// The cube (for messages).
    pub path: &'a Path,
    /// The flight line's window and saturation bands.
    pub staged: &'a StagedBands,
    /// The gas window.
    pub window: &'a GasWindow,
    /// Band model (centres, FWHM) of every staged band: the window bands, then the
    /// screening bands outside the window (the gas absorbs in both).
    pub band_model: BandModel,
    /// Gas (built-in name or LUT path).
    pub gas: &'a str,
    /// The scan's detector.
    pub detector: Detector,
    /// The scan's per-line analysis.
    pub pass: &'a PassParams,
    /// Ground sample distance, m.
    pub gsd_m: f64,
    /// Wind speed of the flight line, m/s (3 m/s when unknown).
    pub wind_m_s: Option<f64>,
    /// Runs, plumes per run, seed.
    pub settings: LimitConfig,
}

/// Extra knobs of the standalone `limit` experiment.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LimitExtras {
    /// Rate range, kg/h (default from the GSD).
    pub q_range_kg_h: Option<(f64, f64)>,
    /// z of the minimum-detectable-enhancement map (default 3.72).
    pub z_detect: f64,
}

impl Default for LimitExtras {
    fn default() -> Self {
        Self {
            q_range_kg_h: None,
            z_detect: 3.72,
        }
    }
}

/// The flight line's own detection maps and plume analysis, when the scan already has
/// them.
#[derive(Clone, Copy)]
pub struct CleanScene<'a> {
    /// Detection maps of the flight line.
    pub maps: &'a DetectionMaps,
    /// Its plume analysis (with the same detector and analysis parameters).
    pub analysis: &'a PassAnalysis,
    /// The per-column matched filters of its detection
    /// ([`plumewatch_core::detect::detect_cube_with_filters`]), for the matched
    /// filters: estimated once, applied to every run.
    pub filters: Option<&'a ColumnFilters>,
    /// Which pixels shared the statistics of its detection; the injected scenes are
    /// detected with the same (without a clean scene: the detector's own, per
    /// detector column).
    pub grouping: Grouping,
}

/// Estimates the detection limit (see the module docs), reusing the flight line's own
/// maps and analysis when given.
pub fn estimate_detection_limit(
    inp: &LimitInputs<'_>,
    clean: Option<CleanScene<'_>>,
    progress: &dyn Progress,
) -> Result<DetectionLimit> {
    estimate_with(inp, clean, &LimitExtras::default(), progress)
}

/// [`estimate_detection_limit`] with the standalone experiment's extra knobs.
pub fn estimate_with(
    inp: &LimitInputs<'_>,
    clean: Option<CleanScene<'_>>,
    extras: &LimitExtras,
    progress: &dyn Progress,
) -> Result<DetectionLimit> {
    let ctx = || format!("{}: detection limit", inp.path.display());
    let staged = inp.staged;
    let base = &staged.cube;
    let (lines, samples) = (base.lines, base.samples);
    let nb = staged.n_window;
    let set = inp.settings;
    let window_pos = staged.window_positions();
    let mut params = inp.detector.detect_params();
    if let Some(c) = &clean {
        params.grouping = c.grouping;
        // As the scan detected: with its grouping, and as its filters were built.
        params.outlier_scaling &= crate::config::scales_outliers(c.grouping);
        if let Some(f) = c.filters {
            params.outlier_scaling = f.outlier_scaling();
        }
    }
    if inp.band_model.center_nm.len() != staged.cube.bands {
        return Err(crate::Error::input(format!(
            "{}: detection limit: band table of {} staged bands, expected {}",
            inp.path.display(),
            inp.band_model.center_nm.len(),
            staged.cube.bands
        )));
    }
    let lut = plumewatch_io::gas_lut::open(inp.gas)?;
    let tr = GasTransmittance::from_lut(&lut, &inp.band_model).with_context(ctx)?;
    let transform = GeoTransform::north_up(0.0, 0.0, inp.gsd_m)?;
    let analyse =
        |cube: &dyn LineSource, maps: &PassMaps, focus: Option<&[bool]>| -> Result<Vec<bool>> {
            let spectra = WindowSpectra {
                source: cube,
                bands: &window_pos,
                wavelength_nm: &inp.window.wavelength_nm,
                unit_absorption: &inp.window.unit_absorption,
            };
            let a = analyse_pass_prepared(
                inp.line,
                maps,
                &transform,
                None,
                None,
                Some(&spectra),
                focus,
                inp.pass,
            )?;
            Ok(reported_mask(&a, lines * samples))
        };
    let clean_input = CubeInput {
        source: base,
        window_bands: &window_pos,
        unit_absorption: &inp.window.unit_absorption,
        saturation_bands: &staged.saturation_positions,
        exclude: None,
    };
    let full_detect = |cube: &dyn LineSource| -> Result<DetectionMaps> {
        Ok(detect_cube(
            &CubeInput {
                source: cube,
                ..clean_input
            },
            &params,
            &|_| {},
        )?)
    };
    let owned_clean;
    let owned_filters;
    let (clean_maps, clean_mask, clean_filters) = match clean {
        Some(c) => (
            c.maps,
            reported_mask(c.analysis, lines * samples),
            c.filters,
        ),
        None => {
            (owned_clean, owned_filters) =
                detect_cube_with_filters(&clean_input, &params, &|_| {}).with_context(ctx)?;
            let prepared =
                PassMaps::new(&owned_clean, inp.pass.smoothing_radius).with_context(ctx)?;
            let mask = analyse(base, &prepared, None).with_context(ctx)?;
            (&owned_clean, mask, owned_filters.as_ref())
        }
    };
    let clean_plume_pixels = clean_mask.iter().filter(|m| **m).count();
    let mde: Vec<f32> = clean_maps
        .sigma
        .iter()
        .map(|&s| {
            if s == NODATA || !s.is_finite() {
                NODATA
            } else {
                (extras.z_detect as f32) * s
            }
        })
        .collect();
    // The matched filters: each column's statistics are updated by the pixels the
    // plumes change (as a re-estimate on the injected scene would have them: a strong
    // plume lowers its own response through its column's covariance, and the scan's
    // rejection rules were set on that response) and only the changed columns are
    // filtered again. mag1c re-detects the whole injected copy.
    // The detection's own filters where it kept them; estimated from the pixels
    // otherwise (a detection without per-column statistics to keep).
    let estimated;
    let filters = match (inp.detector, clean_filters) {
        (Detector::Mag1c, _) => None,
        // Statistics not per detector column: the injected scenes are detected again.
        _ if params.grouping != Grouping::Columns(1) => None,
        (_, Some(f)) => Some(f),
        (Detector::Amf | Detector::Mf, None) => {
            estimated = ColumnFilters::estimate(
                base,
                nb,
                &inp.window.unit_absorption,
                &staged.saturation_positions,
                &params,
            )
            .with_context(ctx)?;
            Some(&estimated)
        }
    };
    // The clean line's maps as the analysis reads them, once; each run of the matched
    // filters takes a copy from `spare` (made once per thread), sets the pixels it
    // re-detected, and puts the clean values back when done.
    let clean_pass = match filters {
        Some(_) => Some(PassMaps::new(clean_maps, inp.pass.smoothing_radius).with_context(ctx)?),
        None => None,
    };
    let spare: Mutex<Vec<PassMaps>> = Mutex::new(Vec::new());
    let (qlo, qhi) = extras
        .q_range_kg_h
        .unwrap_or_else(|| default_q_range(inp.gsd_m));
    let wind_m_s = inp.wind_m_s.map_or(3.0, |w| w.max(0.5));
    let grid = PlumeGrid {
        lines,
        samples,
        gsd_m: inp.gsd_m,
    };
    let pparams = PlumeParams::for_gsd(inp.gsd_m);
    let margin = (lines.min(samples) as f64 * 0.08).max(3.0);
    let min_sep = (lines.max(samples) as f64 / (set.per_run as f64 + 1.0)).max(10.0);
    // Positions and rates of every run first (one random sequence, as many threads as
    // there are), then the runs in parallel: the result does not depend on the threads.
    let mut rng = SeededRng::derived(set.seed, 0x11);
    let placed: Vec<Vec<PointSource>> = (0..set.runs)
        .map(|_| {
            place_sources(
                &mut rng,
                (lines, samples),
                margin,
                min_sep,
                set.per_run,
                &clean_mask,
                (qlo, qhi),
                wind_m_s,
            )
        })
        .collect();
    progress.stage(&format!("limit {}", inp.line), set.runs as u64);
    let one_run = |run: usize, sources: &[PointSource]| -> Result<Vec<(f64, bool)>> {
        let mut total = vec![0f32; lines * samples];
        let mut windows = Vec::with_capacity(sources.len());
        for (i, s) in sources.iter().enumerate() {
            let seed = plume_seed(set.seed, run, i);
            let (w, _) = render_plume_window(&grid, s, &pparams, seed).with_context(ctx)?;
            for (at, v) in w.pixels(&grid) {
                total[at] += v;
            }
            windows.push(w);
        }
        let injected = InjectedCube::new(base, &tr, &total).with_context(ctx)?;
        let (mut maps, changed) = match (filters, &clean_pass) {
            (Some(f), Some(clean_pass)) => {
                let changes = redetect_columns(f, base, &tr, &total)?;
                let taken = spare.lock().map_err(|_| poisoned())?.pop();
                let mut maps = taken.unwrap_or_else(|| clean_pass.clone());
                maps.set(&changes).with_context(ctx)?;
                (
                    maps,
                    Some(changes.into_iter().map(|c| c.0).collect::<Vec<_>>()),
                )
            }
            _ => {
                let maps = full_detect(&injected).with_context(ctx)?;
                let prepared = PassMaps::new(&maps, inp.pass.smoothing_radius).with_context(ctx)?;
                (prepared, None)
            }
        };
        // Each plume's pixels where it adds ≥ 50 ppm·m, and its brightest pixel (the
        // last of equal ones, in grid order).
        let plumes: Vec<(Vec<usize>, usize)> = windows
            .iter()
            .map(|w| {
                let strong = w.pixels(&grid).filter(|(_, v)| *v >= 50.0).map(|(i, _)| i);
                let peak = w
                    .pixels(&grid)
                    .max_by(|a, b| a.1.total_cmp(&b.1))
                    .filter(|(_, v)| *v > 0.0)
                    .map_or(lines * samples - 1, |(i, _)| i);
                (strong.collect(), peak)
            })
            .collect();
        // Only candidates on the pixels the rule below reads (where a plume adds
        // ≥ 50 ppm·m, and each plume's peak) decide detections.
        let mut focus: Vec<bool> = total.iter().map(|v| *v >= 50.0).collect();
        for (_, peak) in &plumes {
            focus[*peak] = true;
        }
        let mask = analyse(&injected, &maps, Some(&focus)).with_context(ctx);
        if let (Some(changed), Some(clean_pass)) = (changed, &clean_pass) {
            maps.restore(clean_pass, &changed).with_context(ctx)?;
            spare.lock().map_err(|_| poisoned())?.push(maps);
        }
        let mask = mask?;
        let found = sources
            .iter()
            .zip(&plumes)
            .map(|(s, (strong, peak))| {
                // Detected: at least 3 newly detected pixels where this plume adds
                // ≥ 50 ppm·m (or its single brightest pixel is newly detected).
                let hits = strong
                    .iter()
                    .filter(|&&i| mask[i] && !clean_mask[i])
                    .count();
                (
                    s.rate_kg_h,
                    hits >= 3 || (mask[*peak] && !clean_mask[*peak]),
                )
            })
            .collect();
        progress.advance(1);
        Ok(found)
    };
    let runs: Vec<Vec<(f64, bool)>> = placed
        .par_iter()
        .enumerate()
        .map(|(run, sources)| one_run(run, sources))
        .collect::<Result<_>>()?;
    let (q_all, det_all): (Vec<f64>, Vec<bool>) = runs.into_iter().flatten().unzip();
    progress.finish();
    Ok(DetectionLimit {
        line: inp.line.to_string(),
        estimate: fit_or_bound(&q_all, &det_all),
        q_kg_h: q_all,
        detected: det_all,
        wind_m_s,
        q_range_kg_h: (qlo, qhi),
        detector: inp.detector,
        clean_plume_pixels,
        mde,
    })
}

/// Pixels of the candidates that are neither rejected nor insignificant (downwind
/// fragments count: they are gas).
fn reported_mask(a: &PassAnalysis, n: usize) -> Vec<bool> {
    let mut mask = vec![false; n];
    for (p, l) in a.plumes.plumes.iter().zip(&a.located) {
        if p.rejection.is_none() && !l.not_significant {
            for &i in &p.pixels {
                mask[i] = true;
            }
        }
    }
    mask
}

/// A logistic fit, or a bound when every or no trial was detected, or the reason the
/// fit failed.
pub fn fit_or_bound(q: &[f64], detected: &[bool]) -> LimitEstimate {
    let hits = detected.iter().filter(|d| **d).count();
    if !q.is_empty() && hits == q.len() {
        return LimitEstimate::AllDetected {
            q90_at_most_kg_h: q.iter().copied().fold(f64::INFINITY, f64::min),
        };
    }
    if !q.is_empty() && hits == 0 {
        return LimitEstimate::NoneDetected {
            q50_at_least_kg_h: q.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        };
    }
    match fit_logistic_pod(q, detected) {
        Ok(fit) => LimitEstimate::Fitted { fit },
        Err(e) => LimitEstimate::Unfitted {
            reason: e.to_string(),
        },
    }
}

/// The meander seed of plume `i` of run `run`: distinct for any number of runs and
/// plumes per run.
pub fn plume_seed(seed: u64, run: usize, i: usize) -> u64 {
    SeededRng::derived(seed, ((run as u64) << 32) | i as u64).next_u64()
}

/// Separated random sources away from the edges and from plumes already in the scene.
#[allow(clippy::too_many_arguments)]
fn place_sources(
    rng: &mut SeededRng,
    (lines, samples): (usize, usize),
    margin: f64,
    min_sep: f64,
    per_run: usize,
    clean_mask: &[bool],
    (qlo, qhi): (f64, f64),
    wind_m_s: f64,
) -> Vec<PointSource> {
    let mut sources: Vec<PointSource> = Vec::new();
    let mut tries = 0;
    while sources.len() < per_run && tries < 1000 {
        tries += 1;
        let row = rng.range(margin, lines as f64 - margin);
        let col = rng.range(margin, samples as f64 - margin);
        let (r0, c0) = (row as isize, col as isize);
        let rad = 8isize;
        let near_clean = (-rad..=rad).any(|dr| {
            (-rad..=rad).any(|dc| {
                let (r, c) = (r0 + dr, c0 + dc);
                r >= 0
                    && c >= 0
                    && (r as usize) < lines
                    && (c as usize) < samples
                    && clean_mask[r as usize * samples + c as usize]
            })
        });
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
            wind_speed_m_s: wind_m_s,
            wind_from_deg: rng.range(0.0, 360.0),
            stability: Stability::D,
        });
    }
    sources
}

/// Enhancement (ppm·m) below which an injected plume leaves a pixel as it was (see
/// [`redetect_columns`]). Measured on the 600 × 5000 AVIRIS-NG benchmark line: 1 and
/// 10 ppm·m give the same detections and POD(Q) fit as re-detecting whole copies.
const TOUCHED_PPM_M: f32 = 10.0;

/// The new values of the pixels that change when every column the plumes reach is
/// re-detected with its statistics updated by the changed pixels (the other pixels
/// keep the clean maps' values).
fn redetect_columns(
    filters: &ColumnFilters,
    base: &plumewatch_core::VecCube,
    tr: &GasTransmittance,
    enhancement: &[f32],
) -> Result<Vec<(usize, PixelValues)>> {
    let (lines, samples, nb) = (base.lines, base.samples, base.bands);
    let all_bands: Vec<usize> = (0..nb).collect();
    // Pixels where the plumes add less than TOUCHED_PPM_M keep the flight line's own
    // values: a tenth or less of a pixel's noise-equivalent enhancement (100–300 ppm·m
    // at 3 m), and the detection rule counts only pixels where a plume adds 50 ppm·m or
    // more.
    let mut rows_of: Vec<Vec<usize>> = vec![Vec::new(); samples];
    for (i, v) in enhancement.iter().enumerate() {
        if v.abs() >= TOUCHED_PPM_M {
            rows_of[i % samples].push(i / samples);
        }
    }
    let columns: Vec<usize> = (0..samples).filter(|&c| !rows_of[c].is_empty()).collect();
    // Each changed column: its statistics updated by the changed pixels (the plumes'
    // own suppression of their response), then filtered again where the plumes are
    // and `MARGIN` lines around; farther lines keep the flight line's own values (the
    // update moves them by a fraction of their noise and they only enter the column's
    // robust CFAR background).
    const MARGIN: usize = 16;
    let redone: Vec<(
        usize,
        Vec<usize>,
        Option<plumewatch_core::detect::fixed::WindowOutputs>,
    )> = columns
        .par_iter()
        .map(|&col| {
            let touched = &rows_of[col];
            let mut rows: Vec<usize> = Vec::new();
            for &l in touched {
                let (lo, hi) = (l.saturating_sub(MARGIN), (l + MARGIN).min(lines - 1));
                let from = rows.last().map_or(lo, |&last| lo.max(last + 1));
                rows.extend(from..=hi);
            }
            let mut values = Vec::with_capacity(rows.len() * nb);
            for &line in &rows {
                let i = (line * samples + col) * nb;
                values.extend_from_slice(&base.data[i..i + nb]);
            }
            let mut changes_old = Vec::with_capacity(touched.len() * nb);
            let mut k = 0;
            for (r, &line) in rows.iter().enumerate() {
                if k < touched.len() && touched[k] == line {
                    k += 1;
                    changes_old.extend_from_slice(&values[r * nb..(r + 1) * nb]);
                    let at = line * samples + col;
                    tr.apply_line(
                        &mut values[r * nb..(r + 1) * nb],
                        &all_bands,
                        &enhancement[at..=at],
                    )?;
                }
            }
            let mut changes: Vec<(usize, &[f32], &[f32])> = Vec::with_capacity(touched.len());
            let mut k = 0;
            for (r, &line) in rows.iter().enumerate() {
                if k < touched.len() && touched[k] == line {
                    changes.push((
                        line,
                        &changes_old[k * nb..(k + 1) * nb],
                        &values[r * nb..(r + 1) * nb],
                    ));
                    k += 1;
                }
            }
            let out = filters
                .updated_column_at(col, &changes)?
                .map(|f| filters.apply_column_at(col, &f, &rows, &values, nb));
            Ok((col, rows, out))
        })
        .collect::<Result<_>>()?;
    let mut changes = Vec::with_capacity(redone.iter().map(|r| r.1.len()).sum());
    for (col, rows, out) in redone {
        for (i, &line) in rows.iter().enumerate() {
            let at = line * samples + col;
            changes.push((
                at,
                match &out {
                    Some(o) => [o.enhancement[i], o.albedo[i], o.sigma[i], o.z[i]],
                    None => [NODATA; 4],
                },
            ));
        }
    }
    Ok(changes)
}

/// A run panicked while holding the spare maps (the panic itself is reported too).
fn poisoned() -> crate::Error {
    crate::Error::new(
        crate::error::ErrorKind::Compute,
        "detection limit: a run failed while holding its maps",
    )
}
