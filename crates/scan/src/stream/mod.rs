//! Real-time detection, line by line: the engine behind `plumewatch stream`.
//!
//! A pushbroom sensor delivers one cross-track line (samples × bands) at a time.
//! [`Stream`] turns lines into alerts as they arrive, with memory that does not grow
//! with the length of the flight:
//!
//! 1. **Warm-up.** The first [`StreamSettings::warmup_lines`] lines are held until the
//!    per-column background statistics exist; then they are detected too (the
//!    catch-up pass), so no part of the flight goes unscanned.
//! 2. **Online statistics.** Each detector column keeps exponentially weighted moments
//!    of its background pixels ([`StreamSettings::memory_lines`]), fed every
//!    [`StreamSettings::stats_stride`]-th line in blocks (rank-k updates), without the
//!    pixels above the plume growth threshold. The filters (a Cholesky factor per
//!    column) are refreshed every [`StreamSettings::refresh_lines`] lines.
//! 3. **Detection** of each line with the scan's matched filters (`amf` or `mf`, the
//!    fixed-statistics form [`ColumnFilters`]).
//! 4. **Plumes across lines.** The CFAR rule's per-column background of the smoothed
//!    significance is kept over the last [`StreamSettings::z_memory_lines`] lines; the
//!    pixels above the growth threshold form runs that a tracker joins across lines.
//!    A plume is complete when nothing has joined it for
//!    [`StreamSettings::quiet_lines`] lines (or it has been open for
//!    [`StreamSettings::longest_plume_lines`]).
//! 5. **Analysis with the scan's code.** The complete plume's lines, with a margin, go
//!    through [`analyse_pass_prepared`] — the same segmentation, rejection (surface
//!    correlation, streaks, the narrow-band check), fragment rule, source location and
//!    emission rate as `scan` — against the stream's scene reference
//!    ([`SceneReference`]). Reported candidates become [`Alert`]s.
//!
//! Only the lines an open plume touches (plus margins) and the statistics are kept.
//!
//! A replay pushes lines in batches, and three stages then run side by side on the
//! cores: the new batch is detected, the batch before is tracked, and the plumes that
//! batch completed before it are analysed. Their results are settled line by line in
//! order, so the alerts are those of one line at a time (see [`Stream::push`]); a
//! sensor pushing one line at a time has each batch's plumes analysed at once.

pub mod input;
mod moments;
mod tracker;

use crate::config::Detector;
use crate::window::GasWindow;
use crate::{bail, Context, Result};
use moments::DecayingMoments;
use plumewatch_core::detect::fixed::ColumnFilters;
use plumewatch_core::detect::DetectionMaps;
use plumewatch_core::geo::GeoTransform;
use plumewatch_core::plume::column_background;
use plumewatch_core::plume::narrowband::WindowSpectra;
use plumewatch_core::plume::SceneReference;
use plumewatch_core::plume::{Plume, PlumeSet};
use plumewatch_core::quantify::Wind;
use plumewatch_core::raster::{nodata_to_nan, Grid};
use plumewatch_core::scan::{
    analyse_pass_prepared, plume_free_rate_values, PassAnalysis, PassMaps, PassParams,
};
use plumewatch_core::scan::{downwind_fragments, FragmentCandidate, FragmentFlow, PassPlume};
use rayon::prelude::*;
use std::collections::VecDeque;
use std::path::PathBuf;
use tracker::{Component, Tracker};

/// How many of the latest candidates [`Stream::candidates`] keeps (memory must not grow
/// with the flight).
pub const RECENT_CANDIDATES: usize = 2000;

/// The stream's knobs, with documented defaults.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct StreamSettings {
    /// Lines held before the first statistics (default 512: 512 samples of each
    /// column for the 50–80 bands of the 2.3 µm window of AVIRIS-NG, 7–10 pixels per
    /// band; 5 s of AVIRIS-NG flight at 100 lines/s). With 256 the covariance overfits
    /// the warm-up lines: their significance is narrower than that of the lines after
    /// them, and the CFAR background taken on them raised false alerts (measured on a
    /// simulated 600 × 5000 line).
    pub warmup_lines: usize,
    /// e-folding length of the background statistics in lines (default 2000: 20 s of
    /// AVIRIS-NG flight, about 6 km at 3 m pixels).
    pub memory_lines: f64,
    /// Every this many lines enter the statistics (default 2: half the cost of the
    /// rank-k updates; at a memory of 2000 lines each column still rests on ~1000
    /// pixels).
    pub stats_stride: usize,
    /// Keep the pixels above the growth threshold out of the statistics (default true:
    /// a plume otherwise inflates its columns' covariance along the gas signature).
    pub exclude_flagged: bool,
    /// Scale down the score of pixels far outside their column's statistics
    /// ([`plumewatch_core::detect::outlier`]; default true, as `scan`). Surfaces
    /// first met mid-flight lie outside the statistics of the lines before them: on
    /// a cluttered 600 × 5000 AVIRIS-NG line the alerts fell from 28 to 8 with it
    /// (BENCHMARKS.md).
    pub outlier_scaling: bool,
    /// Lines between refreshes of the filters (Cholesky factors) and of the CFAR
    /// background (default 512: 5 s of AVIRIS-NG flight, a quarter of the statistics'
    /// memory).
    pub refresh_lines: usize,
    /// Lines of the smoothed significance the CFAR background is taken over (default
    /// 1024).
    pub z_memory_lines: usize,
    /// Lines without growth after which a plume is complete (default 4).
    pub quiet_lines: usize,
    /// Longest plume, in lines, before it is analysed anyway (default 512).
    pub longest_plume_lines: usize,
    /// Longest wait, in lines after a plume's last line, for the plumes within the
    /// fragment rule's reach to be analysed (default 256: 2.6 s at 100 lines/s). A
    /// possible parent still growing then is not waited for, and a downwind piece of it
    /// may be alerted as a source.
    pub max_decision_lines: usize,
    /// Flight length, in lines, that a candidate's scene-level false-alarm probability
    /// refers to when the input's length is unknown (default 5000: a 600-sample
    /// AVIRIS-NG line of 3 M pixels). A replayed file uses its own length.
    pub reference_lines: usize,
    /// Folder for each alert's evidence PNG (`None`: no chips).
    pub evidence_dir: Option<PathBuf>,
    /// Folder where the detection maps of every line are spooled (four raw f32 files,
    /// 16 bytes per pixel on disk, none in memory) for the end-of-flight outputs
    /// ([`Stream::spooled_maps`]); `None`: not kept.
    pub spool_dir: Option<PathBuf>,
}

impl Default for StreamSettings {
    fn default() -> Self {
        Self {
            warmup_lines: 512,
            memory_lines: 2000.0,
            stats_stride: 2,
            refresh_lines: 512,
            exclude_flagged: true,
            outlier_scaling: true,
            z_memory_lines: 1024,
            quiet_lines: 4,
            longest_plume_lines: 512,
            reference_lines: 5000,
            max_decision_lines: 256,
            evidence_dir: None,
            spool_dir: None,
        }
    }
}

impl StreamSettings {
    /// Checks the settings.
    pub fn validate(&self) -> Result<()> {
        if self.warmup_lines < 16 {
            bail!(
                "warm-up: expected at least 16 lines, got {}",
                self.warmup_lines
            );
        }
        if !(self.memory_lines.is_finite() && self.memory_lines >= 1.0) {
            bail!(
                "statistics memory: expected at least 1 line, got {}",
                self.memory_lines
            );
        }
        for (name, v) in [
            ("statistics stride", self.stats_stride),
            ("refresh interval", self.refresh_lines),
            ("significance memory", self.z_memory_lines),
            ("longest plume", self.longest_plume_lines),
            ("longest decision wait", self.max_decision_lines),
            ("reference flight length", self.reference_lines),
        ] {
            if v == 0 {
                bail!("{name}: expected at least 1 line, got 0");
            }
        }
        Ok(())
    }
}

/// What the stream needs to know about the input before the first line.
#[derive(Debug, Clone)]
pub struct StreamSetup {
    /// Pass (flight line) name, used in alert ids.
    pub name: String,
    /// Cross-track samples of each line.
    pub samples: usize,
    /// The gas window, with band indices into the input's bands.
    pub window: GasWindow,
    /// Detector (`amf` or `mf`: the matched filters have a fixed-statistics form).
    pub detector: Detector,
    /// The scan's per-pass analysis settings (with the gas's column mass set).
    pub pass: PassParams,
    /// Raw pixel → map transform of line 0 (rows count lines from the first line).
    pub transform: GeoTransform,
    /// Map CRS of `transform` (WKT or `EPSG:n`), for latitude and longitude.
    pub crs: Option<String>,
    /// Wind at the time of the flight.
    pub wind: Option<Wind>,
    /// Number of lines, when known (a replayed file).
    pub total_lines: Option<usize>,
}

/// One input line: the staged band values ([`Stream::staged_bands`], `samples ×
/// staged bands`, band fastest) and, optionally, each sample's latitude and longitude.
#[derive(Debug, Clone, Default)]
pub struct InputLine {
    /// `samples × staged bands` values (radiance, NaN = no data).
    pub values: Vec<f32>,
    /// Latitude and longitude (degrees) of each sample, from a per-line geolocation
    /// stream.
    pub lat_lon: Option<Vec<[f64; 2]>>,
}

/// Line buffers the stream has let go of, for a reader to fill again
/// ([`Stream::line_pool`]): a replay reads lines faster than fresh memory is mapped in
/// (every new buffer of a line was zeroed and page-faulted in).
#[derive(Debug, Clone, Default)]
pub struct LinePool(std::sync::Arc<std::sync::Mutex<Vec<Vec<f32>>>>);

impl LinePool {
    /// Buffers kept at most: two of a replay's 64-line batches.
    const MOST: usize = 128;

    /// A buffer of `len` values for a line: one given back, holding its old values
    /// (the reader writes every value), or a new one of zeros.
    pub fn take(&self, len: usize) -> Vec<f32> {
        let spare = self.0.lock().ok().and_then(|mut v| v.pop());
        match spare {
            Some(mut b) => {
                b.resize(len, 0.0);
                b
            }
            None => vec![0.0; len],
        }
    }

    fn give(&self, buf: Vec<f32>) {
        if let Ok(mut v) = self.0.lock() {
            if v.len() < Self::MOST {
                v.push(buf);
            }
        }
    }
}

/// An alert: a reported source, as soon as its plume is complete. The same record
/// (`alerts.jsonl`, one JSON object per line) describes `scan`'s sites.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Alert {
    /// `<pass>-A<n>`, unique within the run.
    pub id: String,
    /// When the alert was raised (UTC, RFC 3339).
    pub time_utc: String,
    /// Flight line.
    pub pass: String,
    /// Source line (continuous, from the first line of the input).
    pub line: f64,
    /// Source sample (continuous).
    pub sample: f64,
    /// Latitude of the source, degrees (WGS84).
    pub lat: Option<f64>,
    /// Longitude of the source, degrees (WGS84).
    pub lon: Option<f64>,
    /// Source position in map coordinates (easting, northing).
    pub x: f64,
    /// See `x`.
    pub y: f64,
    /// Source uncertainty radius, m.
    pub source_radius_m: f64,
    /// Emission rate, kg/h (`None` without wind).
    pub rate_kg_h: Option<f64>,
    /// Standard deviation of the rate, kg/h.
    pub rate_sd_kg_h: Option<f64>,
    /// Highest enhancement in the plume, ppm·m.
    pub max_enhancement_ppm_m: f64,
    /// Significance (the peak robust-normalised score).
    pub significance: f64,
    /// Probability that a plume-free flight line of the reference length holds a
    /// candidate at least this significant (Gaussian null, as `scan`).
    pub false_alarm_probability: f64,
    /// Expected false sites per km² at this significance, from the empirical null of
    /// the warm-up lines (the scene's own for `scan`'s alerts).
    #[serde(default)]
    pub false_sites_per_km2: Option<f64>,
    /// Probability that it is gas (the vetting model, as `scan`'s sites).
    #[serde(default)]
    pub gas_probability: Option<f64>,
    /// Pixels of the plume.
    pub n_pixels: usize,
    /// First and last line of the plume.
    pub line_range: [usize; 2],
    /// The line whose arrival completed the plume.
    pub closed_by_line: usize,
    /// Wind used for the rate.
    pub wind: Option<Wind>,
    /// Evidence PNG (enhancement chip with outline and source).
    pub evidence_png: Option<String>,
}

impl Alert {
    /// The alert of candidate `(plume, located)` (pixel coordinates of the flight
    /// line) of pass `pass`, raised at `time_utc`.
    #[allow(clippy::too_many_arguments)]
    pub fn of_candidate(
        id: String,
        time_utc: String,
        pass: &str,
        (p, l): (&Plume, &PassPlume),
        (lat, lon): (Option<f64>, Option<f64>),
        closed_by_line: usize,
        wind: Option<Wind>,
        evidence_png: Option<String>,
    ) -> Self {
        Alert {
            id,
            time_utc,
            pass: pass.to_string(),
            line: l.source.row,
            sample: l.source.col,
            lat,
            lon,
            x: l.source_map.0,
            y: l.source_map.1,
            source_radius_m: l.source_radius_m,
            rate_kg_h: l.emission.map(|e| e.rate_kg_h),
            rate_sd_kg_h: l.emission.map(|e| e.rate_sd_kg_h),
            max_enhancement_ppm_m: p.max_enhancement_ppm_m,
            significance: p.significance,
            false_alarm_probability: p.false_alarm_probability,
            false_sites_per_km2: l.figures.false_sites_per_km2,
            gas_probability: l.figures.gas_probability,
            n_pixels: p.n_pixels,
            line_range: [p.bbox[0], p.bbox[2]],
            closed_by_line,
            wind,
            evidence_png,
        }
    }

    /// The alerts of a finished scan: one per reported source of each flight line, in
    /// the order of the lines and their plumes, the same record the stream raises
    /// (`alerts.jsonl` of a scan). Positions in WGS84 when the scan has a CRS; the
    /// evidence PNG is that of the site the source belongs to.
    pub fn of_scan(result: &crate::ScanResult) -> Result<Vec<Alert>> {
        let to = match &result.crs_wkt {
            Some(wkt) => Some(plumewatch_io::geojson_out::ToWgs84::new(
                wkt,
                &result.config.flight_lines[0].cube,
            )?),
            None => None,
        };
        let mut out = Vec::new();
        for line in &result.lines {
            let a = &line.analysis;
            for (p, l) in a.plumes.plumes.iter().zip(&a.located) {
                if !PassAnalysis::is_reported(p, l) {
                    continue;
                }
                let (lat, lon) = match &to {
                    Some(t) => {
                        let q = t.points(&[[l.source_map.0, l.source_map.1]], &line.path)?;
                        (Some(q[0][1]), Some(q[0][0]))
                    }
                    None => (None, None),
                };
                let site = result.sites.iter().find(|s| {
                    s.plumes
                        .iter()
                        .any(|r| r.pass == line.name && r.plume_id == p.id)
                });
                out.push(Alert::of_candidate(
                    format!("{}-P{}", line.name, p.id),
                    result.meta.generated_utc.clone(),
                    &line.name,
                    (p, l),
                    (lat, lon),
                    line.maps.lines.saturating_sub(1),
                    a.wind,
                    site.map(|s| format!("evidence/{}.png", crate::ScanResult::site_id(s))),
                ));
            }
        }
        Ok(out)
    }
}

/// A candidate the stream analysed (reported or not), for the end-of-run record.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct StreamCandidate {
    /// Source line and sample.
    pub line: f64,
    /// See `line`.
    pub sample: f64,
    /// Significance.
    pub significance: f64,
    /// Why it was not reported (`None`: reported as an alert).
    pub verdict: Option<String>,
}

/// What the stream has done so far.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct StreamStats {
    /// Lines received.
    pub lines: usize,
    /// Lines detected.
    pub lines_detected: usize,
    /// Alerts raised.
    pub alerts: usize,
    /// Plumes analysed.
    pub plumes_analysed: usize,
    /// Most lines held at once (warm-up, or the lines around open plumes).
    pub max_lines_held: usize,
    /// Filter refreshes.
    pub refreshes: usize,
    /// Seconds spent detecting lines (the matched filters).
    pub detect_s: f64,
    /// Seconds spent tracking lines (smoothing, thresholds, runs, statistics rows).
    pub track_s: f64,
    /// Seconds spent analysing complete plumes.
    pub analyse_s: f64,
    /// Seconds spent refreshing the statistics (rank-k folds, Cholesky factors, the
    /// CFAR background).
    pub refresh_s: f64,
}

/// A candidate of one block analysis, before the fragment rule across blocks.
struct Found {
    /// In block coordinates (for the evidence chip).
    block_plume: Plume,
    block_located: PassPlume,
    /// In flight coordinates.
    flight: (Plume, PassPlume),
    /// Peak pixel of the plume it is a fragment of.
    parent: Option<(usize, usize)>,
    verdict: crate::result::Verdict,
    /// The block's prepared maps and transform.
    block: std::sync::Arc<(PassMaps, GeoTransform)>,
}

/// An analysed candidate in flight coordinates, with the peak pixel of the plume it is a
/// downwind fragment of.
type Kept = (Plume, PassPlume, Option<(usize, usize)>);

struct Record {
    line: usize,
    staged: Vec<f32>,
    /// enhancement, albedo, sigma, z ([`plumewatch_core::raster::NODATA`] = none).
    maps: [Vec<f32>; 4],
    /// Per pixel, whether it may be in the statistics
    /// ([`ColumnFilters::valid`], found by the detection).
    valid: Vec<bool>,
    /// Enhancement and sigma for emission rates where they differ from `maps` (the
    /// warm-up lines, whose statistics held their plumes' gas; see
    /// [`Stream::warmup_rate_values`]); NaN keeps the detection's value.
    rate: Option<[Vec<f32>; 2]>,
    lat_lon: Option<Vec<[f64; 2]>>,
}

/// The real-time engine (see the module docs).
pub struct Stream {
    /// Shared with the analysis of tracked plumes, which runs beside the tracking of the
    /// next lines.
    setup: std::sync::Arc<StreamSetup>,
    settings: StreamSettings,
    staged_bands: Vec<usize>,
    window_positions: Vec<usize>,
    /// Shared with the detection of the next lines, which runs while the previous ones
    /// are tracked; a refresh replaces them (copy on write).
    filters: std::sync::Arc<ColumnFilters>,
    /// Seed and growth thresholds of the CFAR rule on the normalised score.
    thresholds: (f64, f64),
    ready: bool,
    moments: Vec<DecayingMoments>,
    /// Background rows waiting to be folded into `moments`, per column.
    pending_rows: Vec<Vec<f32>>,
    pending_lines: usize,
    ring: VecDeque<Record>,
    /// Smoothed significance of the last `z_memory_lines` tracked lines.
    zring: VecDeque<Vec<f32>>,
    /// Shared with the analyses of the plumes completed while it was in use.
    reference: Option<std::sync::Arc<SceneReference>>,
    tracker: Tracker,
    waiting: Vec<Component>,
    /// Plumes analysed whose fragment rule is not decided yet.
    analysed: Vec<(Component, Vec<Found>)>,
    /// Where the buffers of lines let go of return, when a reader takes from it.
    pool: Option<LinePool>,
    /// Rounds tracked whose plumes are analysed with the next batch of lines (a replay
    /// tracks a batch while the plumes of the one before are analysed).
    pending: Vec<Round>,
    tracked: usize,
    received: usize,
    seen_peaks: VecDeque<(usize, usize)>,
    /// The last [`RECENT_CANDIDATES`] candidates analysed.
    candidates: VecDeque<StreamCandidate>,
    /// Every analysed candidate in flight coordinates (pixel indices over all lines),
    /// when the maps are spooled for the end-of-flight outputs.
    kept: Vec<Kept>,
    /// Accepted candidates of the last lines (flight coordinates), for the fragment
    /// rule across blocks, with their peak pixels.
    parents: VecDeque<(FragmentCandidate, (usize, usize))>,
    spool: Option<Spool>,
    chips: Option<ChipWriter>,
    n_seed_pixels: usize,
    n_too_small: usize,
    to_wgs84: Option<plumewatch_io::geojson_out::ToWgs84>,
    stats: StreamStats,
}

impl Stream {
    /// Starts a stream.
    pub fn new(setup: StreamSetup, settings: StreamSettings) -> Result<Self> {
        settings.validate()?;
        // The CFAR rule's seed and growth thresholds, checked once.
        let thresholds = (
            setup.pass.cfar.seed_threshold()?,
            setup.pass.cfar.growth_threshold()?,
        );
        if setup.samples == 0 {
            bail!("samples: expected at least 1 sample per line");
        }
        let mut detect = setup.detector.detect_params();
        detect.outlier_scaling &= settings.outlier_scaling;
        if setup.detector == Detector::Mag1c {
            bail!("detector: the stream runs the matched filters (amf, mf); mag1c's iterations need the whole column");
        }
        detect.grouping = plumewatch_core::detect::Grouping::Columns(1);
        let (staged_bands, saturation_positions) = crate::pipeline::staged_band_list(&setup.window);
        let n_window = setup.window.bands.len();
        let filters = ColumnFilters::from_moments(
            vec![None; setup.samples],
            Vec::new(),
            n_window,
            &setup.window.unit_absorption,
            &saturation_positions,
            &detect,
        )?;
        let to_wgs84 = match &setup.crs {
            Some(wkt) => Some(plumewatch_io::geojson_out::ToWgs84::new(
                wkt,
                std::path::Path::new(&setup.name),
            )?),
            None => None,
        };
        Ok(Self {
            moments: vec![DecayingMoments::new(n_window); setup.samples],
            pending_rows: vec![Vec::new(); setup.samples],
            pending_lines: 0,
            window_positions: (0..n_window).collect(),
            staged_bands,
            filters: std::sync::Arc::new(filters),
            thresholds,
            ready: false,
            ring: VecDeque::new(),
            zring: VecDeque::new(),
            reference: None,
            tracker: Tracker::new(2 * setup.pass.cfar.closing_radius),
            waiting: Vec::new(),
            analysed: Vec::new(),
            pending: Vec::new(),
            pool: None,
            tracked: 0,
            received: 0,
            seen_peaks: VecDeque::new(),
            candidates: VecDeque::new(),
            kept: Vec::new(),
            parents: VecDeque::new(),
            chips: None,
            spool: match &settings.spool_dir {
                Some(d) => Some(Spool::create(d)?),
                None => None,
            },
            n_seed_pixels: 0,
            n_too_small: 0,
            to_wgs84,
            stats: StreamStats::default(),
            setup: std::sync::Arc::new(setup),
            settings,
        })
    }

    /// Input band indices each line must carry, in order: the window bands, then the
    /// saturation-screening bands not in the window.
    pub fn staged_bands(&self) -> &[usize] {
        &self.staged_bands
    }

    /// Progress so far.
    pub fn stats(&self) -> &StreamStats {
        &self.stats
    }

    /// The last [`RECENT_CANDIDATES`] candidates analysed (every candidate with its
    /// verdict is in the end-of-flight `scan.json`).
    pub fn candidates(&self) -> Vec<StreamCandidate> {
        self.candidates.iter().cloned().collect()
    }

    /// The pool the buffers of lines the stream lets go of return to, for the reader
    /// to take its next lines' buffers from ([`LinePool::take`]).
    pub fn line_pool(&mut self) -> LinePool {
        self.pool.get_or_insert_with(LinePool::default).clone()
    }

    /// The setup the stream runs with.
    pub fn setup(&self) -> &StreamSetup {
        &self.setup
    }

    /// The settings the stream runs with.
    pub fn settings(&self) -> &StreamSettings {
        &self.settings
    }

    /// Feeds lines (any number; a replay passes many at once, a sensor one) and
    /// returns the alerts they completed, in order.
    pub fn push(&mut self, lines: Vec<InputLine>) -> Result<Vec<Alert>> {
        let nb = self.staged_bands.len();
        let w = self.setup.samples;
        for (i, l) in lines.iter().enumerate() {
            if l.values.len() != w * nb {
                bail!(
                    "line {}: expected {} values ({w} samples × {nb} bands), got {}",
                    self.received + i,
                    w * nb,
                    l.values.len()
                );
            }
            if let Some(ll) = &l.lat_lon {
                if ll.len() != w {
                    bail!(
                        "line {}: geolocation: expected {w} positions, got {}",
                        self.received + i,
                        ll.len()
                    );
                }
            }
        }
        let first = self.received;
        self.received += lines.len();
        self.stats.lines = self.received;
        let mut records: Vec<Record> = lines
            .into_iter()
            .enumerate()
            .map(|(i, l)| Record {
                line: first + i,
                staged: l.values,
                maps: Default::default(),
                valid: Vec::new(),
                rate: None,
                lat_lon: l.lat_lon,
            })
            .collect();
        // A batch of lines (a replay) has its plumes analysed with the next batch; a
        // sensor delivering one line at a time has them analysed at once.
        let defer = records.len() > 1;
        if !self.ready {
            self.ring.extend(records);
            self.stats.max_lines_held = self.stats.max_lines_held.max(self.ring.len());
            if self.ring.len() < self.settings.warmup_lines {
                return Ok(Vec::new());
            }
            self.finish_warmup()?;
            let newest = self.received - 1;
            return self.advance(newest, false, defer);
        }
        // Three things run side by side, sharing the cores of a replay: the new lines
        // are detected (with the filters as they are now), the lines already detected
        // are tracked, and the plumes completed by the batch before are analysed.
        // The alerts a batch's lines complete come two batches later (or at the end):
        // its lines are tracked with the next batch, their plumes analysed with the one
        // after that.
        let newest = self.ring.back().map_or(0, |r| r.line);
        let filters = std::sync::Arc::clone(&self.filters);
        let (w, nb) = (self.setup.samples, self.staged_bands.len());
        let pending = std::mem::take(&mut self.pending);
        let ring = std::mem::take(&mut self.ring);
        let setup = std::sync::Arc::clone(&self.setup);
        let (staged_bands, window_positions) =
            (self.staged_bands.clone(), self.window_positions.clone());
        let (rounds, analysis, detection) = std::thread::scope(|scope| {
            let detection = scope.spawn(|| detect_with(&filters, &mut records, w, nb));
            let ctx = BlockContext {
                setup: &setup,
                ring: &ring,
                staged_bands: &staged_bands,
                window_positions: &window_positions,
            };
            let pending = &pending;
            let analysis = scope.spawn(move || {
                let t = std::time::Instant::now();
                (ctx.analyse_rounds(pending), t.elapsed().as_secs_f64())
            });
            let rounds = self.track_rounds(&ring, newest, false);
            (rounds, analysis.join(), detection.join())
        });
        self.ring = ring;
        let failed = |what: &str| {
            crate::Error::new(
                crate::ErrorKind::Compute,
                format!("{what} of a batch of lines failed"),
            )
        };
        let seconds = detection.map_err(|_| failed("detection"))?;
        let (results, analysis_s) = analysis.map_err(|_| failed("the plume analysis"))?;
        self.stats.analyse_s += analysis_s;
        let mut alerts = self.settle(pending, results)?;
        alerts.extend(self.conclude(rounds?, defer)?);
        self.detected(&records, seconds)?;
        self.ring.extend(records);
        self.stats.max_lines_held = self.stats.max_lines_held.max(self.ring.len());
        Ok(alerts)
    }

    /// The input has ended: tracks the last lines, analyses every open plume with the
    /// lines there are, and returns their alerts. (With fewer lines than the warm-up,
    /// the statistics are estimated from the lines there are.)
    pub fn finish(&mut self) -> Result<Vec<Alert>> {
        if self.received == 0 {
            return Ok(Vec::new());
        }
        if !self.ready {
            self.finish_warmup()?;
        }
        let newest = self.ring.back().map_or(0, |r| r.line);
        self.advance(newest, true, false)
    }

    /// Estimates the first statistics from the held lines, then detects them.
    fn finish_warmup(&mut self) -> Result<()> {
        let nbw = self.window_positions.len();
        let nb = self.staged_bands.len();
        let w = self.setup.samples;
        // Every warm-up line enters the first statistics (the filters are applied to
        // these same lines, and a covariance on few pixels would overfit them), folded
        // from the held lines in place, columns side by side; the refresh then finds
        // no pending rows and nothing to discount.
        let (ring, filters) = (&self.ring, &self.filters);
        self.moments
            .par_iter_mut()
            .enumerate()
            .try_for_each(|(c, m)| {
                let rows: Vec<&[f32]> = ring
                    .iter()
                    .map(|rec| &rec.staged[c * nb..(c + 1) * nb])
                    .filter(|v| filters.valid(v))
                    .map(|v| &v[..nbw])
                    .collect();
                m.fold_rows(&rows, 1.0)
            })?;
        self.pending_lines = 0;
        self.refresh_filters()?;
        if self.filters.columns.iter().all(Option::is_none) {
            bail!(
                "warm-up: no detector column has enough valid pixels in the first {} lines for statistics over {nbw} bands",
                self.ring.len()
            );
        }
        let mut held: Vec<Record> = self.ring.drain(..).collect();
        self.detect_records(&mut held)?;
        self.ring.extend(held);
        // The CFAR background and the empirical null of the warm-up lines, from their
        // maps prepared once as the analysis prepares them.
        let maps = self.warmup_maps();
        self.warmup_rate_values(&maps)?;
        let prepared = PassMaps::new(&maps, self.setup.pass.smoothing_radius)?;
        // The null candidates' narrow-band checks read the held lines in place.
        let view = BlockView {
            rows: self.ring.iter().map(|r| r.staged.as_slice()).collect(),
            s0: 0,
            samples: w,
            bands: nb,
        };
        let spectra = window_spectra(&self.setup, &self.window_positions, &view);
        let null = plumewatch_core::scan::empirical_null(
            &prepared,
            &self.setup.transform,
            self.setup.wind.as_ref(),
            Some(&spectra),
            &self.setup.pass,
        )?;
        self.reference = Some(std::sync::Arc::new(SceneReference {
            background: column_background(prepared.smoothed_z(), prepared.grid())?,
            n_valid: self.reference_pixels(),
            null: Some(null),
        }));
        self.ready = true;
        Ok(())
    }

    /// The held (warm-up) lines' maps.
    fn warmup_maps(&self) -> DetectionMaps {
        let band = |k: usize| -> Vec<f32> {
            self.ring
                .iter()
                .flat_map(|r| r.maps[k].iter().map(|&v| nodata_to_nan(v)))
                .collect()
        };
        DetectionMaps {
            lines: self.ring.len(),
            samples: self.setup.samples,
            enhancement: band(0),
            albedo: band(1),
            sigma: band(2),
            z: band(3),
            timings: Default::default(),
        }
    }

    /// Emission-rate values of the warm-up lines as `scan` makes them
    /// ([`plumewatch_core::scan::plume_free_rate_values`]): their statistics hold every
    /// warm-up pixel, plumes included, so the possibly-plume pixels are re-estimated
    /// with the detected gas taken out. Later lines need no such step: their statistics already
    /// leave flagged pixels out.
    fn warmup_rate_values(&mut self, maps: &DetectionMaps) -> Result<()> {
        if self.setup.wind.is_none() {
            return Ok(());
        }
        let (w, nb) = (self.setup.samples, self.staged_bands.len());
        let nbw = self.window_positions.len();
        let ring = &self.ring;
        // The first statistics hold every valid pixel of the warm-up lines and nothing
        // has been forgotten yet: their sums are the warm-up's moments.
        let moments = self
            .moments
            .iter()
            .map(|m| Ok(m.undiscounted()?.filter(|acc| acc.count() > nbw as u64)))
            .collect::<Result<Vec<_>>>()?;
        let warmup = self.filters.with_moments(moments)?;
        let (e, s) = plume_free_rate_values(maps, &warmup, &self.setup.pass, nb, |l, c| {
            &ring[l].staged[c * nb..(c + 1) * nb]
        })?;
        for ((rec, e), s) in self.ring.iter_mut().zip(e.chunks(w)).zip(s.chunks(w)) {
            if e.iter().any(|v| v.is_finite()) {
                rec.rate = Some([e.to_vec(), s.to_vec()]);
            }
        }
        Ok(())
    }

    fn reference_pixels(&self) -> usize {
        self.setup.samples
            * self
                .setup
                .total_lines
                .unwrap_or(self.settings.reference_lines)
                .max(self.received)
    }

    /// Applies the current filters to `records` (lines in parallel).
    fn detect_records(&mut self, records: &mut [Record]) -> Result<()> {
        let seconds = detect_with(
            &self.filters,
            records,
            self.setup.samples,
            self.staged_bands.len(),
        );
        self.detected(records, seconds)
    }

    /// Books lines just detected: counts, timing, the map spool.
    fn detected(&mut self, records: &[Record], seconds: f64) -> Result<()> {
        self.stats.lines_detected += records.len();
        self.stats.detect_s += seconds;
        if let Some(spool) = &mut self.spool {
            for r in records {
                spool.write(&r.maps)?;
            }
        }
        Ok(())
    }

    /// The detection maps of every line, read back from the spool (see
    /// [`StreamSettings::spool_dir`]); call after [`Stream::finish`].
    pub fn spooled_maps(&mut self) -> Result<DetectionMaps> {
        let Some(spool) = &mut self.spool else {
            bail!("the stream kept no maps (no spool folder was set)");
        };
        let [enhancement, albedo, sigma, z] = spool.read()?;
        Ok(DetectionMaps {
            lines: self.stats.lines_detected,
            samples: self.setup.samples,
            enhancement,
            albedo,
            sigma,
            z,
            timings: Default::default(),
        })
    }

    fn record(&self, line: usize) -> Option<&Record> {
        held(&self.ring, line)
    }

    /// Smoothed significance of line `line` from the held lines (rows beyond the
    /// newest are outside the scene, as at the edge of a file): the box average of
    /// [`plumewatch_core::scan::box_average_z`], computed for one line.
    fn smoothed_line(&self, ring: &VecDeque<Record>, line: usize, newest: usize) -> Vec<f32> {
        let r = self.setup.pass.smoothing_radius;
        let w = self.setup.samples;
        let lo = line
            .saturating_sub(r)
            .max(ring.front().map_or(0, |f| f.line));
        let hi = (line + r).min(newest);
        let rows: Vec<&[f32]> = (lo..=hi)
            .filter_map(|l| held(ring, l).map(|rec| rec.maps[3].as_slice()))
            .collect();
        let centre = held(ring, line).map(|rec| rec.maps[3].as_slice());
        // Column sums over the rows, then a running sum across samples.
        let mut col_sum = vec![0.0f64; w];
        let mut col_n = vec![0u32; w];
        for row in &rows {
            for ((s, n), &v) in col_sum.iter_mut().zip(col_n.iter_mut()).zip(row.iter()) {
                let v = nodata_to_nan(v);
                if v.is_finite() {
                    *s += f64::from(v);
                    *n += 1;
                }
            }
        }
        let mut out = vec![f32::NAN; w];
        for (j, o) in out.iter_mut().enumerate() {
            if !centre.is_some_and(|c| nodata_to_nan(c[j]).is_finite()) {
                continue;
            }
            let (j0, j1) = (j.saturating_sub(r), (j + r).min(w - 1));
            let (mut sum, mut n) = (0.0f64, 0u32);
            for k in j0..=j1 {
                sum += col_sum[k];
                n += col_n[k];
            }
            *o = (sum / f64::from(n).sqrt()) as f32;
        }
        out
    }

    /// Tracks every line whose smoothed significance is final, analyses the plumes that
    /// are complete (now, or with the next batch when `defer`: see [`Stream::push`]),
    /// and lets go of lines no open plume needs.
    ///
    /// The lines are tracked first, noting for each which plumes it completed (with the
    /// scene reference of that moment) and which seeded plumes were still open or
    /// waiting. The completed plumes of all the lines are then analysed side by side,
    /// and their results settled line by line in order, so the alerts are those of an
    /// analysis after every line.
    fn advance(&mut self, newest: usize, end: bool, defer: bool) -> Result<Vec<Alert>> {
        let pending = std::mem::take(&mut self.pending);
        let mut alerts = self.analyse_and_settle(pending)?;
        let ring = std::mem::take(&mut self.ring);
        let rounds = self.track_rounds(&ring, newest, end);
        self.ring = ring;
        alerts.extend(self.conclude(rounds?, defer && !end)?);
        Ok(alerts)
    }

    /// Keeps freshly tracked `rounds` for the next batch (`defer`) or analyses and
    /// settles them now, then lets go of the lines no plume needs any more.
    fn conclude(&mut self, rounds: Vec<Round>, defer: bool) -> Result<Vec<Alert>> {
        let alerts = if defer {
            self.pending = rounds;
            Vec::new()
        } else {
            self.analyse_and_settle(rounds)?
        };
        self.trim();
        Ok(alerts)
    }

    /// Tracks every line of `ring` (the held lines, taken out of the stream while the
    /// plumes of the batch before are analysed) whose smoothed significance is final,
    /// and returns each line's round.
    fn track_rounds(
        &mut self,
        ring: &VecDeque<Record>,
        newest: usize,
        end: bool,
    ) -> Result<Vec<Round>> {
        let r = self.setup.pass.smoothing_radius;
        let mut rounds = Vec::new();
        while self.tracked <= newest && (end || self.tracked + r <= newest) {
            let line = self.tracked;
            let t = std::time::Instant::now();
            self.track_line(ring, line, newest)?;
            self.stats.track_s += t.elapsed().as_secs_f64();
            self.tracked += 1;
            let quiet = self.tracker.take_quiet(
                line,
                self.settings.quiet_lines,
                self.settings.longest_plume_lines,
            );
            self.waiting.extend(quiet);
            rounds.push(self.round(line, end)?);
        }
        if end {
            let rest = self.tracker.take_all();
            let last = self.tracked.saturating_sub(1);
            self.waiting.extend(rest);
            rounds.push(self.round(last, true)?);
        }
        Ok(rounds)
    }

    fn track_line(&mut self, ring: &VecDeque<Record>, line: usize, newest: usize) -> Result<()> {
        let w = self.setup.samples;
        let zs = self.smoothed_line(ring, line, newest);
        let reference = self.reference.as_ref().expect("ready");
        let (k, grow) = self.thresholds;
        let rec = held(ring, line).context("a line to track was let go")?;
        let mut hot = vec![false; w];
        let mut seed = vec![false; w];
        for c in 0..w {
            let b = &reference.background[c];
            let zn = (f64::from(zs[c]) - b.median) / b.scale;
            let usable = zn.is_finite() && nodata_to_nan(rec.maps[0][c]).is_finite();
            hot[c] = usable && zn > grow;
            seed[c] = usable && zn > k;
        }
        // Background statistics: lines after the warm-up, every stride-th, without the
        // pixels that may be plume.
        let nb = self.staged_bands.len();
        let nbw = self.window_positions.len();
        if line >= self.settings.warmup_lines && line % self.settings.stats_stride == 0 {
            let (filters, pending) = (&self.filters, &mut self.pending_rows);
            for c in 0..w {
                let v = &rec.staged[c * nb..(c + 1) * nb];
                // Validity as the detection found it, or checked here where it did not.
                let valid = rec
                    .valid
                    .get(c)
                    .copied()
                    .unwrap_or_else(|| filters.valid(v));
                if !(hot[c] && self.settings.exclude_flagged) && valid {
                    pending[c].extend_from_slice(&v[..nbw]);
                }
            }
            self.pending_lines += 1;
        }
        self.tracker.push_line(line, &hot, &seed);
        self.zring.push_back(zs);
        while self.zring.len() > self.settings.z_memory_lines {
            self.zring.pop_front();
        }
        if line >= self.settings.warmup_lines
            && (line - self.settings.warmup_lines) % self.settings.refresh_lines
                == self.settings.refresh_lines - 1
        {
            self.refresh_filters()?;
            self.refresh_reference()?;
        }
        Ok(())
    }

    /// Folds the pending background rows into the moments and refreshes every
    /// column's filter.
    fn refresh_filters(&mut self) -> Result<()> {
        let t = std::time::Instant::now();
        let nbw = self.window_positions.len();
        let stride = self.settings.stats_stride as f64;
        let memory = self.settings.memory_lines;
        let lines = self.pending_lines as f64;
        let (norm, reg) = self.filters.estimation();
        let ua = self.filters.unit_absorption().to_vec();
        let scaled = self.filters.outlier_scaling();
        let updated: Vec<Option<plumewatch_core::detect::fixed::ColumnFilter>> = self
            .moments
            .par_iter_mut()
            .zip(self.pending_rows.par_iter_mut())
            .map(|(m, rows)| {
                // Each stats line discounts the past by exp(−stride / memory).
                let factor = (-(lines * stride) / memory).exp();
                m.fold(rows, if m.weight() > 0.0 { factor } else { 1.0 })?;
                rows.clear();
                // A column whose covariance cannot be factored keeps its filter.
                Ok((m.weight() > nbw as f64 + 1.0)
                    .then(|| m.filter(norm, reg, &ua, scaled).ok())
                    .flatten())
            })
            .collect::<Result<_>>()?;
        let filters = std::sync::Arc::make_mut(&mut self.filters);
        for (slot, f) in filters.columns.iter_mut().zip(updated) {
            if f.is_some() {
                *slot = f;
            }
        }
        self.pending_lines = 0;
        self.stats.refreshes += 1;
        self.stats.refresh_s += t.elapsed().as_secs_f64();
        Ok(())
    }

    fn refresh_reference(&mut self) -> Result<()> {
        let w = self.setup.samples;
        let z: Vec<f32> = self.zring.iter().flatten().copied().collect();
        let grid = Grid::new(z.len() / w, w);
        let null = self.reference.as_ref().and_then(|r| r.null.clone());
        self.reference = Some(std::sync::Arc::new(SceneReference {
            background: column_background(&z, grid)?,
            n_valid: self.reference_pixels(),
            null,
        }));
        Ok(())
    }

    /// Lines a complete plume needs beyond its own on each side: the rejection's
    /// neighbourhood window, the narrow-band ring, the smoothing and the closing.
    fn margin(&self, c: &Component) -> usize {
        let p = &self.setup.pass;
        let span = (c.last - c.first + 1).max(c.c1 - c.c0 + 1);
        (3usize.max(span / 2) + 1)
            .max(p.narrowband.ring_outer + 1)
            .max(p.smoothing_radius + p.cfar.closing_radius + 1)
            .max(p.reject.neighbourhood_radius + 1)
    }

    /// Takes the complete plumes whose margins have been tracked (`tracked` is the last
    /// line tracked) and notes the seeded plumes still open or waiting.
    fn round(&mut self, tracked: usize, end: bool) -> Result<Round> {
        let waiting = std::mem::take(&mut self.waiting);
        let mut ready = Vec::new();
        for c in waiting {
            let margin = self.margin(&c);
            if !end && c.last + margin > tracked {
                self.waiting.push(c);
            } else if c.seeded {
                ready.push((c, margin));
            }
        }
        let reference = std::sync::Arc::clone(
            self.reference
                .as_ref()
                .context("a plume tracked before the warm-up's statistics")?,
        );
        // Only a seeded plume can be more significant than a candidate (its parent);
        // an open plume that is not seeded yet is not waited for.
        let mut blockers: Vec<Component> = self.tracker.open_components();
        blockers.extend(self.waiting.iter().copied());
        blockers.retain(|c| c.seeded);
        Ok(Round {
            tracked,
            received: self.received - 1,
            end,
            ready,
            reference,
            blockers,
        })
    }

    /// Analyses the plumes of `rounds` side by side, then settles them.
    fn analyse_and_settle(&mut self, rounds: Vec<Round>) -> Result<Vec<Alert>> {
        if rounds.is_empty() {
            return Ok(Vec::new());
        }
        let t = std::time::Instant::now();
        let ctx = BlockContext {
            setup: &self.setup,
            ring: &self.ring,
            staged_bands: &self.staged_bands,
            window_positions: &self.window_positions,
        };
        let results = ctx.analyse_rounds(&rounds);
        self.stats.analyse_s += t.elapsed().as_secs_f64();
        self.settle(rounds, results)
    }

    /// Settles analysed rounds in order: each takes its plumes' candidates (those whose
    /// peaks an earlier block reported are not new) and reports those whose fragment
    /// rule can be decided — every line within the rule's reach has been tracked and
    /// every plume there analysed, so the rule sees each plume's possible parents as
    /// `scan` does. `results` are the analyses of the rounds' plumes, in order.
    fn settle(
        &mut self,
        rounds: Vec<Round>,
        results: Vec<Result<BlockAnalysis>>,
    ) -> Result<Vec<Alert>> {
        let mut results = results.into_iter();
        let reach = self.fragment_reach_lines();
        let mut alerts = Vec::new();
        for round in rounds {
            for (c, _) in round.ready {
                let (mut found, (n_seed_pixels, n_too_small)) = results
                    .next()
                    .context("a plume's analysis went missing")??;
                self.stats.plumes_analysed += 1;
                self.n_seed_pixels += n_seed_pixels;
                self.n_too_small += n_too_small;
                // A candidate whose peak an earlier block already reported is not new.
                found.retain(|f| {
                    let peak = (f.flight.0.peak_pixel[0], f.flight.0.peak_pixel[1]);
                    if self.seen_peaks.contains(&peak) {
                        return false;
                    }
                    self.seen_peaks.push_back(peak);
                    if self.seen_peaks.len() > 4096 {
                        self.seen_peaks.pop_front();
                    }
                    true
                });
                self.add_parents(&found, round.tracked + 1);
                self.analysed.push((c, found));
            }
            let analysed = std::mem::take(&mut self.analysed);
            for (c, found) in analysed {
                let waited = round.tracked.saturating_sub(c.last);
                let decided = round.end
                    || waited >= self.settings.max_decision_lines
                    || (c.last + reach <= round.tracked
                        && !round
                            .blockers
                            .iter()
                            .any(|o| o.first <= c.last + reach && c.first <= o.last + reach));
                if decided {
                    alerts.extend(self.report(found, round.received)?);
                } else {
                    self.analysed.push((c, found));
                }
            }
        }
        Ok(alerts)
    }

    /// Lines within which a plume's parent may lie along the wind.
    fn fragment_reach_lines(&self) -> usize {
        let f = &self.setup.pass.fragments;
        let Some((dc, dr)) = self.downwind() else {
            return 0;
        };
        // The corridor reaches max_along_px along the wind, within half_angle_deg.
        let (sin, cos) = f.half_angle_deg.to_radians().sin_cos();
        (f.max_along_px * (dr.abs() * cos + dc.abs() * sin) + f.min_cross_px).ceil() as usize + 1
    }

    fn downwind(&self) -> Option<(f64, f64)> {
        self.setup
            .wind
            .map(|w| plumewatch_core::geo::downwind_pixel_unit(&self.setup.transform, w.from_deg))
    }

    /// Keeps the accepted candidates of an analysis as possible parents for the
    /// fragment rule (flight coordinates, with their peak pixels), and lets go of those
    /// no plume still to be reported can reach.
    /// `now` is the number of lines tracked when they were found.
    fn add_parents(&mut self, found: &[Found], now: usize) {
        for f in found {
            let (p, l) = &f.flight;
            if p.rejection.is_none() {
                self.parents.push_back((
                    FragmentCandidate::of(p, l),
                    (p.peak_pixel[0], p.peak_pixel[1]),
                ));
            }
        }
        let oldest = self
            .analysed
            .iter()
            .map(|(c, _)| c.first)
            .chain(found.iter().map(|f| f.flight.0.bbox[0]))
            .min()
            .unwrap_or(now);
        let horizon = oldest
            .saturating_sub(2 * self.fragment_reach_lines() + self.settings.longest_plume_lines);
        self.parents.retain(|(f, _)| f.row >= horizon as f64);
    }

    /// Applies the fragment rule against every analysed plume within reach, records
    /// the candidates and raises the alerts of those reported.
    /// `closed_by` is the newest line received when the plume was tracked complete.
    fn report(&mut self, found: Vec<Found>, closed_by: usize) -> Result<Vec<Alert>> {
        let mut found = found;
        if let Some(w) = &self.setup.wind {
            let flow = FragmentFlow::new(
                &self.setup.transform,
                w,
                self.setup.pass.quantify.column_mass_kg_m2_per_ppm_m,
            );
            let reach = self.fragment_reach_lines() as f64;
            let summaries: Vec<FragmentCandidate> = found
                .iter()
                .map(|f| FragmentCandidate::of(&f.flight.0, &f.flight.1))
                .collect();
            for (f, me) in found.iter_mut().zip(&summaries) {
                // The rule for this candidate against every accepted candidate within
                // reach (the others of this round are among them).
                let (mut local, mut keys): (Vec<FragmentCandidate>, Vec<(usize, usize)>) = self
                    .parents
                    .iter()
                    .filter(|(q, _)| (q.row - me.row).abs() <= reach + 1.0)
                    .map(|(q, k)| (*q, *k))
                    .unzip();
                local.push(*me);
                keys.push((f.flight.0.peak_pixel[0], f.flight.0.peak_pixel[1]));
                let ids: Vec<u32> = (1..=local.len() as u32).collect();
                let marks = downwind_fragments(&local, &ids, &flow, &self.setup.pass.fragments);
                if let Some(Some(id)) = marks.last() {
                    f.parent = Some(keys[*id as usize - 1]);
                    f.flight.1.fragment_of = Some(0);
                    f.block_located.fragment_of = Some(0);
                    if f.flight.0.rejection.is_none() {
                        f.verdict = crate::result::Verdict::Fragment { of_plume: 0 };
                    }
                }
            }
        }
        let mut alerts = Vec::new();
        for f in found {
            let (p, l) = &f.flight;
            let reported = f.verdict.is_source();
            if self.candidates.len() == RECENT_CANDIDATES {
                self.candidates.pop_front();
            }
            self.candidates.push_back(StreamCandidate {
                line: l.source.row,
                sample: l.source.col,
                significance: p.significance,
                verdict: (!reported).then(|| format!("{:?}", f.verdict)),
            });
            if reported {
                alerts.push(self.alert(&f, closed_by)?);
            }
            // Kept for the end-of-flight outputs only (they need the maps too).
            if self.spool.is_some() {
                let Found { flight, parent, .. } = f;
                self.kept.push((flight.0, flight.1, parent));
            }
        }
        Ok(alerts)
    }

    fn alert(&mut self, f: &Found, closed_by: usize) -> Result<Alert> {
        let (p, l) = &f.flight;
        self.stats.alerts += 1;
        let id = format!("{}-A{}", self.setup.name, self.stats.alerts);
        let (lat, lon) = self.lat_lon(l.source.row, l.source.col, l.source_map)?;
        let evidence_png = match self.settings.evidence_dir.clone() {
            Some(dir) => Some(self.write_chip(&dir, &id, f)?),
            None => None,
        };
        Ok(Alert::of_candidate(
            id,
            crate::result::utc_now(),
            &self.setup.name,
            (p, l),
            (lat, lon),
            // The line whose arrival completed the decision.
            closed_by,
            self.setup.wind,
            evidence_png,
        ))
    }

    fn lat_lon(&self, row: f64, col: f64, map: (f64, f64)) -> Result<(Option<f64>, Option<f64>)> {
        let (r, s) = (row.round().max(0.0) as usize, col.round().max(0.0) as usize);
        if let Some(ll) = self.record(r).and_then(|rec| rec.lat_lon.as_ref()) {
            let p = ll[s.min(ll.len() - 1)];
            return Ok((Some(p[0]), Some(p[1])));
        }
        match &self.to_wgs84 {
            Some(t) => {
                let p = t.points(&[[map.0, map.1]], std::path::Path::new(&self.setup.name))?;
                Ok((Some(p[0][1]), Some(p[0][0])))
            }
            None => Ok((None, None)),
        }
    }

    /// Queues the evidence chip of an alert for the chip writer thread (rendering a PNG
    /// takes milliseconds that the alert must not wait for) and returns its path.
    fn write_chip(&mut self, dir: &std::path::Path, id: &str, f: &Found) -> Result<String> {
        let path = dir.join(format!("{id}.png"));
        let wind = self.setup.wind.map(|wd| {
            (
                plumewatch_core::geo::downwind_pixel_unit(&f.block.1, wd.from_deg),
                wd.speed_m_s,
            )
        });
        let job = ChipJob {
            path: path.clone(),
            block: std::sync::Arc::clone(&f.block),
            outline: f.block_plume.outline.clone(),
            source: (f.block_located.source.col, f.block_located.source.row),
            wind,
        };
        let writer = self.chips.get_or_insert_with(ChipWriter::start);
        writer.send(job)?;
        Ok(path.display().to_string())
    }

    /// Waits for every queued evidence chip to be written.
    pub fn flush_chips(&mut self) -> Result<()> {
        match self.chips.take() {
            Some(w) => w.finish(),
            None => Ok(()),
        }
    }

    /// The analysis of every line seen, in flight coordinates: the candidates the
    /// stream analysed (reported or not) with their verdicts, labels over
    /// `lines × samples`, and the scene reference the CFAR rule used last. With the
    /// stream's detection maps this is a [`crate::LineResult`] that `scan`'s output
    /// sinks write.
    pub fn flight_analysis(&self) -> Result<PassAnalysis> {
        let w = self.setup.samples;
        let lines = self.received;
        let mut labels = vec![0u32; lines * w];
        let mut plumes = Vec::with_capacity(self.kept.len());
        let mut located = Vec::with_capacity(self.kept.len());
        for (i, (p, l, parent)) in self.kept.iter().enumerate() {
            let id = i as u32 + 1;
            for &px in &p.pixels {
                if let Some(v) = labels.get_mut(px) {
                    *v = id;
                }
            }
            let mut p = p.clone();
            p.id = id;
            let mut l = l.clone();
            l.plume_id = id;
            // The parent's id in the flight (0 when the parent was not one of the
            // stream's own candidates).
            l.fragment_of = parent.map(|pk| {
                self.kept
                    .iter()
                    .position(|(q, _, _)| (q.peak_pixel[0], q.peak_pixel[1]) == pk)
                    .map_or(0, |j| j as u32 + 1)
            });
            plumes.push(p);
            located.push(l);
        }
        let reference = self.reference.clone();
        Ok(PassAnalysis {
            pass: self.setup.name.clone(),
            plumes: PlumeSet {
                plumes,
                labels,
                background: reference
                    .as_ref()
                    .map(|r| r.background.clone())
                    .unwrap_or_default(),
                seed_threshold: self.thresholds.0,
                n_seed_pixels: self.n_seed_pixels,
                n_too_small: self.n_too_small,
                n_valid: reference.as_ref().map_or(0, |r| r.n_valid),
                null: reference
                    .as_ref()
                    .and_then(|r| r.null.clone())
                    .unwrap_or_default(),
                null_components: Vec::new(),
            },
            located,
            wind: self.setup.wind,
            max_false_alarm_probability: self.setup.pass.max_false_alarm_probability,
            false_sites_per_km2: self.setup.pass.false_sites_per_km2,
            max_false_sites_per_scene: self.setup.pass.max_false_sites_per_scene,
            min_gas_probability: self.setup.pass.vetting.min_gas_probability,
        })
    }

    /// Lets go of the lines no open or waiting plume can still need.
    fn trim(&mut self) {
        let keep_before = 64usize;
        let r = self.setup.pass.smoothing_radius;
        let mut oldest = self.tracked.saturating_sub(r + 1);
        if let Some(o) = self.tracker.oldest_open_line() {
            oldest = oldest.min(o);
        }
        for c in &self.waiting {
            oldest = oldest.min(c.first);
        }
        for (c, _) in &self.analysed {
            oldest = oldest.min(c.first);
        }
        for (c, _) in self.pending.iter().flat_map(|r| &r.ready) {
            oldest = oldest.min(c.first);
        }
        let keep_from = oldest.saturating_sub(keep_before);
        while self.ring.front().is_some_and(|f| f.line < keep_from) {
            if let (Some(rec), Some(pool)) = (self.ring.pop_front(), &self.pool) {
                pool.give(rec.staged);
            }
        }
    }
}

/// A candidate of a block whose first pixel is (line, sample) `at` and whose width is
/// `widths.0` moved to flight coordinates (width `widths.1`).
fn in_flight(
    p: &Plume,
    l: &PassPlume,
    at: (usize, usize),
    widths: (usize, usize),
) -> (Plume, PassPlume) {
    let (lo, s0) = at;
    let (bw, fw) = widths;
    let mut p = p.clone();
    p.pixels
        .iter_mut()
        .for_each(|i| *i = (*i / bw + lo) * fw + (*i % bw + s0));
    p.bbox[0] += lo;
    p.bbox[2] += lo;
    p.bbox[1] += s0;
    p.bbox[3] += s0;
    p.peak_pixel[0] += lo;
    p.peak_pixel[1] += s0;
    for ring in &mut p.outline {
        for pt in ring.iter_mut() {
            pt[0] += s0 as f64;
            pt[1] += lo as f64;
        }
    }
    let mut l = l.clone();
    l.source.row += lo as f64;
    l.source.col += s0 as f64;
    (p, l)
}

/// Detection maps written to disk as they are made.
struct Spool {
    paths: [PathBuf; 4],
    files: [std::io::BufWriter<std::fs::File>; 4],
}

impl Spool {
    fn create(dir: &std::path::Path) -> Result<Self> {
        let io = |p: &std::path::Path, e: std::io::Error| {
            crate::Error::new(
                crate::ErrorKind::Io,
                format!("{}: cannot write the map spool: {e}", p.display()),
            )
        };
        std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
        let paths = ["enhancement", "albedo", "sigma", "z"].map(|n| dir.join(format!("{n}.f32")));
        let mut files = Vec::with_capacity(4);
        for p in &paths {
            files.push(std::io::BufWriter::with_capacity(
                1 << 20,
                std::fs::File::create(p).map_err(|e| io(p, e))?,
            ));
        }
        let files: [_; 4] = files.try_into().map_err(|_| crate::Error::input("spool"))?;
        Ok(Self { paths, files })
    }

    fn write(&mut self, maps: &[Vec<f32>; 4]) -> Result<()> {
        use std::io::Write;
        for ((f, m), p) in self.files.iter_mut().zip(maps).zip(&self.paths) {
            let bytes: Vec<u8> = m.iter().flat_map(|v| v.to_le_bytes()).collect();
            f.write_all(&bytes).map_err(|e| {
                crate::Error::new(
                    crate::ErrorKind::Io,
                    format!("{}: cannot write the map spool: {e}", p.display()),
                )
            })?;
        }
        Ok(())
    }

    fn read(&mut self) -> Result<[Vec<f32>; 4]> {
        use std::io::Write;
        let mut out: [Vec<f32>; 4] = Default::default();
        for ((f, p), o) in self.files.iter_mut().zip(&self.paths).zip(out.iter_mut()) {
            let fail = |e: std::io::Error| {
                crate::Error::new(
                    crate::ErrorKind::Io,
                    format!("{}: cannot read the map spool: {e}", p.display()),
                )
            };
            f.flush().map_err(fail)?;
            let bytes = std::fs::read(p).map_err(fail)?;
            *o = bytes
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect();
        }
        Ok(out)
    }
}

/// One evidence chip to draw.
struct ChipJob {
    path: PathBuf,
    block: std::sync::Arc<(PassMaps, GeoTransform)>,
    outline: Vec<Vec<[f64; 2]>>,
    source: (f64, f64),
    wind: Option<((f64, f64), f64)>,
}

/// A thread that draws and writes evidence chips in order.
struct ChipWriter {
    tx: Option<std::sync::mpsc::Sender<ChipJob>>,
    thread: Option<std::thread::JoinHandle<Result<()>>>,
}

impl ChipWriter {
    fn start() -> Self {
        let (tx, rx) = std::sync::mpsc::channel::<ChipJob>();
        let thread = std::thread::spawn(move || {
            for job in rx {
                let (maps, transform) = &*job.block;
                let evidence = plumewatch_io::evidence_png::Evidence {
                    grid: maps.grid(),
                    enhancement: maps.enhancement(),
                    centre: job.source,
                    outline: &job.outline,
                    source: Some(job.source),
                    wind: job.wind,
                    gsd_m: transform.gsd(),
                };
                plumewatch_io::evidence_png::write_evidence_png(
                    &job.path,
                    &evidence,
                    &plumewatch_io::evidence_png::EvidenceParams::default(),
                )?;
            }
            Ok(())
        });
        Self {
            tx: Some(tx),
            thread: Some(thread),
        }
    }

    fn send(&self, job: ChipJob) -> Result<()> {
        self.tx
            .as_ref()
            .and_then(|tx| tx.send(job).ok())
            .ok_or_else(|| {
                crate::Error::new(crate::ErrorKind::Io, "evidence chips: the writer stopped")
            })
    }

    fn finish(mut self) -> Result<()> {
        self.tx = None;
        match self.thread.take().map(|t| t.join()) {
            Some(Ok(r)) => r,
            Some(Err(_)) => Err(crate::Error::new(
                crate::ErrorKind::Io,
                "evidence chips: the writer failed",
            )),
            None => Ok(()),
        }
    }
}

impl Drop for ChipWriter {
    fn drop(&mut self) {
        self.tx = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The held line `line` of `ring` (lines in order), if still held.
fn held(ring: &VecDeque<Record>, line: usize) -> Option<&Record> {
    let front = ring.front()?.line;
    ring.get(line.checked_sub(front)?)
}

/// The gas window's spectra of held lines read through `view`, for the narrow-band
/// check.
fn window_spectra<'a>(
    setup: &'a StreamSetup,
    window_positions: &'a [usize],
    view: &'a BlockView<'a>,
) -> WindowSpectra<'a> {
    WindowSpectra {
        source: view,
        bands: window_positions,
        wavelength_nm: &setup.window.wavelength_nm,
        unit_absorption: &setup.window.unit_absorption,
    }
}

/// What a block's analysis found, and the CFAR's seed pixels and too-small components
/// in the block.
type BlockAnalysis = (Vec<Found>, (usize, usize));

/// One tracked line's share of the analysis (see [`Stream::advance`]).
struct Round {
    /// The line tracked last.
    tracked: usize,
    /// The newest line received then.
    received: usize,
    /// The input has ended: every waiting plume is complete, every analysed one decided.
    end: bool,
    /// Plumes the line completed, with their margins.
    ready: Vec<(Component, usize)>,
    /// The scene reference then.
    reference: std::sync::Arc<SceneReference>,
    /// Seeded plumes still open or waiting then.
    blockers: Vec<Component>,
}

/// What the analysis of a plume's block reads from the stream (shared by the blocks
/// analysed side by side).
struct BlockContext<'a> {
    setup: &'a StreamSetup,
    ring: &'a VecDeque<Record>,
    staged_bands: &'a [usize],
    window_positions: &'a [usize],
}

impl BlockContext<'_> {
    fn record(&self, line: usize) -> Option<&Record> {
        held(self.ring, line)
    }

    /// Analyses the plumes of `rounds` side by side, in order.
    fn analyse_rounds(&self, rounds: &[Round]) -> Vec<Result<BlockAnalysis>> {
        let jobs: Vec<(&Component, usize, &SceneReference)> = rounds
            .iter()
            .flat_map(|round| {
                let reference = round.reference.as_ref();
                round
                    .ready
                    .iter()
                    .map(move |(c, margin)| (c, *margin, reference))
            })
            .collect();
        jobs.par_iter()
            .map(|(c, margin, reference)| self.analyse(c, *margin, reference))
            .collect()
    }

    /// Runs the scan's analysis on the lines and samples around component `c`: what it
    /// found, and the CFAR's seed pixels and too-small components in the block.
    /// `full` is the scene reference in use when the plume was complete.
    fn analyse(
        &self,
        c: &Component,
        margin: usize,
        full: &SceneReference,
    ) -> Result<BlockAnalysis> {
        let width = self.setup.samples;
        let front = self.ring.front().map_or(0, |f| f.line);
        let lo = c.first.saturating_sub(margin).max(front);
        let hi = (c.last + margin).min(self.ring.back().map_or(0, |r| r.line));
        let (s0, s1) = (c.c0.saturating_sub(margin), (c.c1 + margin).min(width - 1));
        let (n, w) = (hi - lo + 1, s1 - s0 + 1);
        let nb = self.staged_bands.len();
        let mut maps = DetectionMaps {
            lines: n,
            samples: w,
            enhancement: Vec::with_capacity(n * w),
            albedo: Vec::with_capacity(n * w),
            sigma: Vec::with_capacity(n * w),
            z: Vec::with_capacity(n * w),
            timings: Default::default(),
        };
        for l in lo..=hi {
            let rec = self.record(l).context("a plume's line was let go")?;
            maps.enhancement.extend_from_slice(&rec.maps[0][s0..=s1]);
            maps.albedo.extend_from_slice(&rec.maps[1][s0..=s1]);
            maps.sigma.extend_from_slice(&rec.maps[2][s0..=s1]);
            maps.z.extend_from_slice(&rec.maps[3][s0..=s1]);
        }
        let pass = &self.setup.pass;
        let reference = SceneReference {
            background: full.background[s0..=s1].to_vec(),
            n_valid: full.n_valid,
            null: full.null.clone(),
        };
        let mut prepared = PassMaps::new(&maps, pass.smoothing_radius)?.within(reference)?;
        let rated = (lo..=hi)
            .filter_map(|l| self.record(l))
            .any(|r| r.rate.is_some());
        if rated {
            let (mut re, mut rs) = (Vec::with_capacity(n * w), Vec::with_capacity(n * w));
            for l in lo..=hi {
                let rec = self.record(l).context("a plume's line was let go")?;
                match &rec.rate {
                    Some([e, s]) => {
                        re.extend_from_slice(&e[s0..=s1]);
                        rs.extend_from_slice(&s[s0..=s1]);
                    }
                    None => {
                        re.extend(std::iter::repeat_n(f32::NAN, w));
                        rs.extend(std::iter::repeat_n(f32::NAN, w));
                    }
                }
            }
            prepared = prepared.with_rate_values(&re, &rs)?;
        }
        let mut gt = self.setup.transform.gt;
        gt[0] += lo as f64 * gt[2] + s0 as f64 * gt[1];
        gt[3] += lo as f64 * gt[5] + s0 as f64 * gt[4];
        let transform = GeoTransform::new(gt)?;
        let analysis = {
            // The block's radiance read in place from the held lines (no copy).
            let view = BlockView {
                rows: (lo..=hi)
                    .map(|l| self.record(l).map(|r| r.staged.as_slice()))
                    .collect::<Option<Vec<_>>>()
                    .context("a plume's line was let go")?,
                s0,
                samples: w,
                bands: nb,
            };
            let spectra = window_spectra(self.setup, self.window_positions, &view);
            analyse_pass_prepared(
                &self.setup.name,
                &prepared,
                &transform,
                self.setup.wind,
                None,
                Some(&spectra),
                None,
                pass,
            )?
        };
        let counts = (analysis.plumes.n_seed_pixels, analysis.plumes.n_too_small);
        let mut found = Vec::new();
        let block = std::sync::Arc::new((prepared, transform));
        for (p, l) in analysis.plumes.plumes.iter().zip(&analysis.located) {
            let peak = (p.peak_pixel[0] + lo, p.peak_pixel[1] + s0);
            let inside = (c.first..=c.last).contains(&peak.0) && (c.c0..=c.c1).contains(&peak.1);
            if !inside {
                continue;
            }
            // The fragment rule is applied across blocks (see `report`): the other
            // plumes of this block were not given the margins their own tests need.
            let mut l = l.clone();
            l.fragment_of = None;
            let l = &l;
            let verdict = crate::result::Verdict::of(&analysis, p, l);
            found.push(Found {
                block_plume: p.clone(),
                block_located: l.clone(),
                flight: in_flight(p, l, (lo, s0), (w, width)),
                parent: None,
                verdict,
                block: std::sync::Arc::clone(&block),
            });
        }
        Ok((found, counts))
    }
}

/// Samples `s0..s0 + samples` of held lines (each `width × bands`, band fastest) as a
/// cube, read in place.
struct BlockView<'a> {
    rows: Vec<&'a [f32]>,
    s0: usize,
    samples: usize,
    bands: usize,
}

impl plumewatch_core::LineSource for BlockView<'_> {
    fn lines(&self) -> usize {
        self.rows.len()
    }
    fn samples(&self) -> usize {
        self.samples
    }
    fn bands(&self) -> usize {
        self.bands
    }
    fn read_line(
        &self,
        line: usize,
        bands: &[usize],
        out: &mut [f32],
    ) -> plumewatch_core::Result<()> {
        self.read_line_cols(line, 0..self.samples, bands, out)
    }
    /// Samples `cols` (block coordinates) copied from the held line.
    fn read_line_cols(
        &self,
        line: usize,
        cols: std::ops::Range<usize>,
        bands: &[usize],
        out: &mut [f32],
    ) -> plumewatch_core::Result<()> {
        let (Some(row), true) = (
            self.rows.get(line),
            cols.start <= cols.end
                && cols.end <= self.samples
                && out.len() == cols.len() * bands.len(),
        ) else {
            return Err(plumewatch_core::Error::Invalid(format!(
                "line {line}, samples {}..{} of a {}-line block of {} samples, or a buffer of {} values for {} bands",
                cols.start,
                cols.end,
                self.rows.len(),
                self.samples,
                out.len(),
                bands.len()
            )));
        };
        if let Some(&b) = bands.iter().find(|&&b| b >= self.bands) {
            return Err(plumewatch_core::Error::Invalid(format!(
                "band {b} outside the block's {}",
                self.bands
            )));
        }
        // The window's bands are usually a run of staged positions: copied as slices.
        let run = bands
            .first()
            .filter(|&&b0| bands.iter().enumerate().all(|(k, &b)| b == b0 + k));
        let first = self.s0 + cols.start;
        for (c, dst) in out.chunks_exact_mut(bands.len().max(1)).enumerate() {
            let px = &row[(first + c) * self.bands..(first + c + 1) * self.bands];
            match run {
                Some(&b0) => dst.copy_from_slice(&px[b0..b0 + dst.len()]),
                None => {
                    for (o, &b) in dst.iter_mut().zip(bands) {
                        *o = px[b];
                    }
                }
            }
        }
        Ok(())
    }
    fn cheap_column_reads(&self) -> bool {
        true
    }
}

/// Applies `filters` to `records` (a few columns per task, all lines at once; see
/// [`ColumnFilters::apply_lines`]); the seconds it took.
fn detect_with(filters: &ColumnFilters, records: &mut [Record], w: usize, nb: usize) -> f64 {
    let t = std::time::Instant::now();
    let lines: Vec<&[f32]> = records.iter().map(|r| r.staged.as_slice()).collect();
    // Shapes were checked on arrival.
    if let Ok(outs) = filters.apply_lines(&lines, 0, w, nb) {
        for (r, out) in records.iter_mut().zip(outs) {
            let m = out.maps;
            r.maps = [m.enhancement, m.albedo, m.sigma, m.z];
            r.valid = out.valid;
        }
    }
    t.elapsed().as_secs_f64()
}
