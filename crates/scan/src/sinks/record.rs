//! `scan.json`: the typed record of a run — its complete configuration (so the run can
//! be repeated exactly), every flight line's candidates with their verdicts, the
//! sites, the detection limit and the files written. Other tools read it back with
//! [`ScanRecord::read`].

use crate::config::ScanConfig;
use crate::limit::DetectionLimit;
use crate::result::{ScanResult, Verdict};
use crate::{Error, Result};
use plumewatch_core::locate::SourceEstimate;
use plumewatch_core::plume::Plume;
use plumewatch_core::quantify::{Emission, Wind};
use plumewatch_core::sites::{PlumeRef, SceneFigures};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Units of the numbers in the record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Units {
    /// Enhancement.
    pub enhancement: String,
    /// Emission rate.
    pub rate: String,
    /// Wind.
    pub wind: String,
    /// Map coordinates.
    pub map: String,
    /// Longitude and latitude.
    pub lon_lat: String,
}

impl Default for Units {
    fn default() -> Self {
        Self {
            enhancement: "ppm·m".into(),
            rate: "kg/h".into(),
            wind: "m/s (10 m), direction the wind blows from, degrees".into(),
            map: "scene CRS units (m)".into(),
            lon_lat: "WGS84 degrees".into(),
        }
    }
}

/// CFAR statistics of a flight line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CfarRecord {
    /// Seed threshold on the smoothed z.
    pub seed_threshold: f64,
    /// Pixels above it.
    pub n_seed_pixels: usize,
    /// Pixels with output.
    pub n_valid_pixels: usize,
    /// Components below the minimum size.
    pub n_too_small: usize,
    /// The empirical null: peak scores of the candidates found on the negated score,
    /// descending (see `plumewatch_core::plume::null`).
    #[serde(default)]
    pub null_peaks: Vec<f64>,
}

/// One plume candidate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlumeRecord {
    /// The candidate (pixels, outline, significance, rejection).
    pub plume: Plume,
    /// Source in continuous pixel coordinates.
    pub source: SourceEstimate,
    /// Source in map coordinates (x, y).
    pub source_map: (f64, f64),
    /// Source uncertainty radius, m.
    pub source_radius_m: f64,
    /// The candidate's column at its source, which the fragment rule weighs against
    /// what a stronger plume upwind can carry there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_column: Option<plumewatch_core::scan::SourceColumn>,
    /// Emission rate, when quantified.
    pub emission: Option<Emission>,
    /// Why it is or is not a source.
    pub verdict: Verdict,
    /// Its false-site figure, q-value and gas probability.
    #[serde(flatten)]
    pub figures: SceneFigures,
    /// True when reported as (part of) a site.
    pub reported_as_site: bool,
    /// The verdict in words, when not a source.
    pub dismissal: Option<String>,
}

/// One flight line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PassRecord {
    /// Name in outputs.
    pub name: String,
    /// The cube.
    pub path: String,
    /// Lines.
    pub lines: usize,
    /// Samples.
    pub samples: usize,
    /// Bands.
    pub bands: usize,
    /// Raw pixel → map transform (GDAL coefficients).
    pub geo_transform: [f64; 6],
    /// RMS of the GLT's affine model, m, when a GLT was given.
    pub glt_affine_rms_m: Option<f64>,
    /// Which pixels shared background statistics (`columns`, `global`, `tiles:N`).
    #[serde(default)]
    pub statistics: crate::config::Statistics,
    /// Surface classes of class-conditional statistics (a mean and covariance per
    /// class and column; 0: one set per column or tile).
    #[serde(default)]
    pub surface_classes: usize,
    /// Wind used.
    pub wind: Option<Wind>,
    /// CFAR statistics.
    pub cfar: CfarRecord,
    /// Wall time, s.
    pub seconds: f64,
    /// Candidates.
    pub plumes: Vec<PlumeRecord>,
}

/// One site. Rates are `null` where no flight line had wind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SiteRecord {
    /// `S<rank>`.
    pub id: String,
    /// Rank, 1 = strongest evidence.
    pub rank: usize,
    /// Easting (scene CRS).
    pub x: f64,
    /// Northing (scene CRS).
    pub y: f64,
    /// Location uncertainty radius, m.
    pub radius: f64,
    /// Emission rate, kg/h.
    pub rate_kg_h: Option<f64>,
    /// Its 1-σ uncertainty, kg/h.
    pub rate_sd_kg_h: Option<f64>,
    /// Highest enhancement, ppm·m.
    pub max_enhancement_ppm_m: f64,
    /// Combined significance.
    pub significance: f64,
    /// Probability that every detection of the site is a false alarm.
    pub false_alarm_probability: f64,
    /// Its false-site figure, q-value and gas probability.
    #[serde(flatten)]
    pub figures: SceneFigures,
    /// Detections merged.
    pub n_detections: usize,
    /// Flight lines with a detection.
    pub n_passes_detected: usize,
    /// Flight lines covering the site.
    pub n_passes_covering: usize,
    /// Ranking score.
    pub evidence_score: f64,
    /// Its plumes.
    pub plumes: Vec<PlumeRef>,
    /// WGS84 longitude.
    pub lon: Option<f64>,
    /// WGS84 latitude.
    pub lat: Option<f64>,
}

/// The whole record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScanRecord {
    /// plumewatch version.
    pub plumewatch_version: String,
    /// When the scan finished, UTC.
    pub generated_utc: String,
    /// Wall time of the scan, s.
    pub seconds: f64,
    /// Units.
    pub units: Units,
    /// The gas's name (from its LUT).
    pub gas_name: String,
    /// The complete configuration.
    pub config: ScanConfig,
    /// Flight lines.
    pub passes: Vec<PassRecord>,
    /// Sites, in rank order.
    pub sites: Vec<SiteRecord>,
    /// Detection limit, when estimated.
    pub detection_limit: Option<DetectionLimit>,
    /// Files of the output set, relative to its folder.
    pub outputs: Vec<String>,
}

fn finite(v: f64) -> Option<f64> {
    v.is_finite().then_some(v)
}

impl ScanRecord {
    /// The record of `result`, listing `outputs`.
    pub fn new(result: &ScanResult, outputs: Vec<String>) -> Self {
        let passes = result
            .lines
            .iter()
            .map(|l| {
                let a = &l.analysis;
                PassRecord {
                    name: l.name.clone(),
                    path: l.path.display().to_string(),
                    lines: l.maps.lines,
                    samples: l.maps.samples,
                    bands: l.bands,
                    geo_transform: l.transform.gt,
                    glt_affine_rms_m: l.ortho.as_ref().map(|o| o.affine_rms_m),
                    statistics: l.statistics,
                    surface_classes: l.surface_classes,
                    wind: a.wind,
                    cfar: CfarRecord {
                        seed_threshold: a.plumes.seed_threshold,
                        n_seed_pixels: a.plumes.n_seed_pixels,
                        n_valid_pixels: a.plumes.n_valid,
                        n_too_small: a.plumes.n_too_small,
                        null_peaks: a.plumes.null.peaks.clone(),
                    },
                    seconds: l.seconds,
                    plumes: a
                        .plumes
                        .plumes
                        .iter()
                        .zip(&a.located)
                        .zip(&l.verdicts)
                        .map(|((q, loc), v)| PlumeRecord {
                            plume: q.clone(),
                            source: loc.source,
                            source_map: loc.source_map,
                            source_radius_m: loc.source_radius_m,
                            source_column: loc.source_column,
                            emission: loc.emission,
                            verdict: v.clone(),
                            figures: loc.figures,
                            reported_as_site: v.is_source(),
                            dismissal: v.explanation(&l.name),
                        })
                        .collect(),
                }
            })
            .collect();
        let sites = result
            .sites
            .iter()
            .zip(&result.site_lon_lat)
            .map(|(s, ll)| SiteRecord {
                id: ScanResult::site_id(s),
                rank: s.rank,
                x: s.x,
                y: s.y,
                radius: s.radius,
                rate_kg_h: finite(s.rate_kg_h),
                rate_sd_kg_h: finite(s.rate_sd_kg_h),
                max_enhancement_ppm_m: s.max_enhancement_ppm_m,
                significance: s.significance,
                false_alarm_probability: s.false_alarm_probability,
                figures: s.figures,
                n_detections: s.n_detections,
                n_passes_detected: s.n_passes_detected,
                n_passes_covering: s.n_passes_covering,
                evidence_score: s.evidence_score,
                plumes: s.plumes.clone(),
                lon: ll.map(|v| v[0]),
                lat: ll.map(|v| v[1]),
            })
            .collect();
        Self {
            plumewatch_version: result.meta.plumewatch_version.clone(),
            generated_utc: result.meta.generated_utc.clone(),
            seconds: result.meta.seconds,
            units: Units::default(),
            gas_name: result.gas_name.clone(),
            config: result.config.clone(),
            passes,
            sites,
            detection_limit: result.detection_limit.clone(),
            outputs,
        }
    }

    /// Reads a `scan.json`.
    pub fn read(path: &Path) -> Result<Self> {
        let text = plumewatch_io::read_small_text(path, "scan record")?;
        serde_json::from_str(&text).map_err(|e| {
            Error::input(format!(
                "{}: scan record: {e} (expected the scan.json that `plumewatch scan` writes)",
                path.display()
            ))
        })
    }
}
