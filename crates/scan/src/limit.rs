//! The detection limit of a flight line: plumes of random emission rate and position
//! injected into its own radiance (Beer–Lambert through the gas LUT) and found, or not,
//! by the scan's own detector, saturation screening and plume analysis; a logistic
//! POD(Q) fit gives the rate found half and nine times out of ten, with intervals.
//!
//! # Speed
//! Plumes change the radiance only where they are. For the matched filters the
//! background statistics per detector column are estimated once on the flight line
//! itself, and each injection run re-detects only the windows around its plumes with
//! them (the rest of the maps is the flight line's own); the plume analysis then runs
//! on the whole maps, as in the scan. mag1c, whose iterations have no fixed-statistics
//! form, re-detects the whole injected copy.

use crate::config::{Detector, LimitConfig};
use crate::pipeline::StagedBands;
use crate::progress::Progress;
use crate::window::GasWindow;
use crate::{Context, Result};
use plumewatch_core::detect::fixed::ColumnFilters;
use plumewatch_core::detect::{detect_cube, CubeInput, DetectionMaps};
use plumewatch_core::eval::{fit_logistic_pod, LogisticPod};
use plumewatch_core::geo::GeoTransform;
use plumewatch_core::plume::narrowband::WindowSpectra;
use plumewatch_core::raster::NODATA;
use plumewatch_core::rng::SeededRng;
use plumewatch_core::scan::{analyse_pass_with_spectra, PassParams};
use plumewatch_core::simulate::{
    render_plume, GasTransmittance, InjectedCube, PlumeGrid, PlumeParams, PointSource, Stability,
};
use plumewatch_core::{BandModel, LineSource};
use serde::{Deserialize, Serialize};
use std::path::Path;

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

/// Estimates the detection limit (see the module docs). `clean_maps` are the flight
/// line's own detection maps when already computed (by the scan).
pub fn estimate_detection_limit(
    inp: &LimitInputs<'_>,
    clean_maps: Option<&DetectionMaps>,
    progress: &dyn Progress,
) -> Result<DetectionLimit> {
    estimate_with(inp, clean_maps, &LimitExtras::default(), progress)
}

/// [`estimate_detection_limit`] with the standalone experiment's extra knobs.
pub fn estimate_with(
    inp: &LimitInputs<'_>,
    clean_maps: Option<&DetectionMaps>,
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
    let params = inp.detector.detect_params();
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
    let analyse = |cube: &dyn LineSource, maps: &DetectionMaps| -> Result<Vec<bool>> {
        let spectra = WindowSpectra {
            source: cube,
            bands: &window_pos,
            wavelength_nm: &inp.window.wavelength_nm,
            unit_absorption: &inp.window.unit_absorption,
        };
        let a = analyse_pass_with_spectra(
            inp.line,
            maps,
            &transform,
            None,
            None,
            Some(&spectra),
            inp.pass,
        )?;
        let mut mask = vec![false; lines * samples];
        for (p, l) in a.plumes.plumes.iter().zip(&a.located) {
            if p.rejection.is_none() && !l.not_significant {
                for &i in &p.pixels {
                    mask[i as usize] = true;
                }
            }
        }
        Ok(mask)
    };
    let full_detect = |cube: &dyn LineSource| -> Result<DetectionMaps> {
        Ok(detect_cube(
            &CubeInput {
                source: cube,
                window_bands: &window_pos,
                unit_absorption: &inp.window.unit_absorption,
                saturation_bands: &staged.saturation_positions,
                exclude: None,
            },
            &params,
            &|_| {},
        )?)
    };
    let owned_clean;
    let clean_maps = match clean_maps {
        Some(m) => m,
        None => {
            owned_clean = full_detect(base).with_context(ctx)?;
            &owned_clean
        }
    };
    let clean_mask = analyse(base, clean_maps).with_context(ctx)?;
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
    let filters = match inp.detector {
        Detector::Amf | Detector::Mf => Some(
            ColumnFilters::estimate(
                base,
                nb,
                &inp.window.unit_absorption,
                &staged.saturation_positions,
                &params,
            )
            .with_context(ctx)?,
        ),
        Detector::Mag1c => None,
    };
    let (qlo, qhi) = extras
        .q_range_kg_h
        .unwrap_or_else(|| default_q_range(inp.gsd_m));
    let wind_m_s = inp.wind_m_s.map_or(3.0, |w| w.max(0.5));
    let grid = PlumeGrid {
        lines,
        samples,
        gsd_m: inp.gsd_m,
    };
    let pparams = PlumeParams::default();
    let margin = (lines.min(samples) as f64 * 0.08).max(3.0);
    let min_sep = (lines.max(samples) as f64 / (set.per_run as f64 + 1.0)).max(10.0);
    let mut q_all = Vec::new();
    let mut det_all = Vec::new();
    let mut rng = SeededRng::derived(set.seed, 0x11);
    progress.stage(&format!("limit {}", inp.line), set.runs as u64);
    for run in 0..set.runs {
        let sources = place_sources(
            &mut rng,
            (lines, samples),
            margin,
            min_sep,
            set.per_run,
            &clean_mask,
            (qlo, qhi),
            wind_m_s,
        );
        let mut total = vec![0f32; lines * samples];
        let mut rasters = Vec::with_capacity(sources.len());
        for (i, s) in sources.iter().enumerate() {
            // One seed per (run, plume): distinct for any number of plumes per run.
            let seed = SeededRng::derived(set.seed, ((run as u64) << 32) | i as u64).next_u64();
            let (r, _) = render_plume(&grid, s, &pparams, seed).with_context(ctx)?;
            for (a, b) in total.iter_mut().zip(&r) {
                *a += b;
            }
            rasters.push(r);
        }
        let injected = InjectedCube::new(base, &tr, &total).with_context(ctx)?;
        let maps = match &filters {
            Some(f) => redetect_windows(f, &injected, clean_maps, &total, staged.cube.bands)?,
            None => full_detect(&injected).with_context(ctx)?,
        };
        let mask = analyse(&injected, &maps).with_context(ctx)?;
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
        progress.advance(1);
    }
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

/// The clean maps with the windows where `enhancement` is non-zero re-detected on
/// `injected` with the fixed column filters.
fn redetect_windows(
    filters: &ColumnFilters,
    injected: &dyn LineSource,
    clean: &DetectionMaps,
    enhancement: &[f32],
    nb: usize,
) -> Result<DetectionMaps> {
    let (lines, samples) = (clean.lines, clean.samples);
    let mut maps = clean.clone();
    // Rows and column span touched by the injected gas.
    let bands: Vec<usize> = (0..nb).collect();
    let mut buf = Vec::new();
    for line in 0..lines {
        let row = &enhancement[line * samples..(line + 1) * samples];
        // Pixels where the plumes add less than this cannot change the maps.
        let touched = |v: &f32| v.abs() > 1e-3;
        let Some(c0) = row.iter().position(touched) else {
            continue;
        };
        let c1 = samples - row.iter().rev().position(touched).unwrap_or(0);
        buf.resize((c1 - c0) * nb, 0.0);
        injected.read_line_cols(line, c0..c1, &bands, &mut buf)?;
        let out = filters.apply(&buf, 1, c0, c1 - c0, nb)?;
        let at = line * samples + c0..line * samples + c1;
        maps.enhancement[at.clone()].copy_from_slice(&out.enhancement);
        maps.albedo[at.clone()].copy_from_slice(&out.albedo);
        maps.sigma[at.clone()].copy_from_slice(&out.sigma);
        maps.z[at].copy_from_slice(&out.z);
    }
    Ok(maps)
}
