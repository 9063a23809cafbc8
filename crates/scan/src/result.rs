//! What a scan produces: per flight line the detection maps, the plume candidates with
//! a typed verdict, sources and rates; the merged, ranked sites; the detection limit;
//! and run metadata. Output sinks write it without recomputing anything.

use crate::config::ScanConfig;
use crate::glt::Ortho;
use crate::limit::DetectionLimit;
use plumewatch_core::detect::DetectionMaps;
use plumewatch_core::geo::GeoTransform;
use plumewatch_core::plume::{Plume, Rejection};
use plumewatch_core::raster::Grid;
use plumewatch_core::scan::{PassAnalysis, PassPlume};
use plumewatch_core::sites::{Site, SiteParams};
use plumewatch_io::GeoRef;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// Why a plume candidate is or is not reported as a source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum Verdict {
    /// Reported as a source (and part of a site).
    Source,
    /// A known false positive (follows brightness or an edge, a streak, an invalid
    /// neighbourhood, a broad surface absorption feature).
    Rejected {
        /// The rule that rejected it, with its measured value.
        rejection: Rejection,
    },
    /// A detached downwind piece of a more significant plume of the same flight line.
    Fragment {
        /// Id of the plume it belongs to.
        of_plume: u32,
    },
    /// Not significant at the scene level.
    NotSignificant {
        /// Its scene-level false-alarm probability.
        false_alarm_probability: f64,
        /// The largest false-alarm probability a reported source may have.
        limit: f64,
        /// Its expected false sites per km² (the scene's empirical null).
        #[serde(default)]
        false_sites_per_km2: Option<f64>,
        /// The operating point: the most false sites per km² a reported source may
        /// have.
        #[serde(default)]
        false_sites_limit_per_km2: Option<f64>,
        /// With the operating point, the most false sites over the scene a reported
        /// source's figure may expect.
        #[serde(default)]
        false_sites_limit_per_scene: f64,
    },
    /// Vetted out: its evidence makes gas less likely than the operating point asks
    /// ([`plumewatch_core::plume::vet`]).
    Vetted {
        /// Its probability of being gas.
        gas_probability: f64,
        /// The smallest gas probability a reported source may have.
        limit: f64,
    },
}

impl Verdict {
    /// The verdict of `plume` (with its located source) in `analysis`. Known false
    /// positives come first, then downwind fragments, then candidates that are not
    /// significant at the scene level, then those vetted out.
    pub fn of(analysis: &PassAnalysis, plume: &Plume, located: &PassPlume) -> Self {
        if let Some(r) = &plume.rejection {
            return Verdict::Rejected {
                rejection: r.clone(),
            };
        }
        if let Some(parent) = located.fragment_of {
            return Verdict::Fragment { of_plume: parent };
        }
        if located.not_significant {
            return Verdict::NotSignificant {
                false_alarm_probability: plume.false_alarm_probability,
                limit: analysis.max_false_alarm_probability,
                false_sites_per_km2: located.figures.false_sites_per_km2,
                false_sites_limit_per_km2: analysis.false_sites_per_km2,
                false_sites_limit_per_scene: analysis.max_false_sites_per_scene,
            };
        }
        if located.vetted_out {
            return Verdict::Vetted {
                gas_probability: located.figures.gas_probability.unwrap_or(f64::NAN),
                limit: analysis.min_gas_probability.unwrap_or(f64::NAN),
            };
        }
        Verdict::Source
    }

    /// True for [`Verdict::Source`].
    pub fn is_source(&self) -> bool {
        matches!(self, Verdict::Source)
    }

    /// Why the candidate is not a source, in words (`None` for sources); `line` names
    /// the flight line.
    pub fn explanation(&self, line: &str) -> Option<String> {
        match self {
            Verdict::Source => None,
            Verdict::Rejected { rejection } => Some(rejection.to_string()),
            Verdict::Fragment { of_plume } => Some(format!(
                "downwind fragment of plume {line}:{of_plume} (part of its plume, not a source of its own)"
            )),
            Verdict::NotSignificant {
                false_alarm_probability,
                limit,
                false_sites_per_km2,
                false_sites_limit_per_km2,
                false_sites_limit_per_scene,
            } => Some(match (false_sites_per_km2, false_sites_limit_per_km2) {
                (Some(f), Some(l)) => format!(
                    "not significant at the scene level ({f:.2} false sites per km² expected at this significance > {l} per km², the operating point, and more than {false_sites_limit_per_scene} over the scene)"
                ),
                (None, Some(l)) => format!(
                    "not significant at the scene level (no false-site figure for the operating point of {l} per km²)"
                ),
                (_, None) => format!(
                    "not significant at the scene level (false-alarm probability {false_alarm_probability:.2} > {limit})"
                ),
            }),
            Verdict::Vetted {
                gas_probability,
                limit,
            } => Some(format!(
                "vetted out: probability of gas {gas_probability:.2} < {limit} (significance, the agreement of its two flux estimates and its narrow-band column)"
            )),
        }
    }
}

/// One scanned flight line. Serializable, so that a flight line scanned in one process
/// (a distributed task) can be merged with others in another.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LineResult {
    /// Name in outputs.
    pub name: String,
    /// The radiance cube.
    pub path: PathBuf,
    /// Bands of the cube.
    pub bands: usize,
    /// Georeferencing of the output rasters (the GLT's map grid when orthorectified).
    pub georef: Option<GeoRef>,
    /// The GLT, when one was given.
    pub ortho: Option<Ortho>,
    /// Raw pixel → map transform (through the GLT's affine model when given).
    pub transform: GeoTransform,
    /// Which pixels shared background statistics (never `auto`: the choice made for
    /// this flight line).
    #[serde(default)]
    pub statistics: crate::config::Statistics,
    /// Surface classes of class-conditional statistics within `statistics` (0: none).
    #[serde(default)]
    pub surface_classes: usize,
    /// Detection maps (raw geometry).
    pub maps: DetectionMaps,
    /// Plume candidates, sources and rates.
    pub analysis: PassAnalysis,
    /// Verdict of each candidate, in the order of `analysis.plumes.plumes`.
    pub verdicts: Vec<Verdict>,
    /// Wall time of this flight line, s.
    pub seconds: f64,
}

impl LineResult {
    /// Raster size of the raw flight line.
    pub fn grid(&self) -> Grid {
        Grid::new(self.maps.lines, self.maps.samples)
    }
}

/// Version, time and duration of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunMeta {
    /// plumewatch version.
    pub plumewatch_version: String,
    /// When the scan finished, UTC (ISO 8601).
    pub generated_utc: String,
    /// Wall time of the scan, s.
    pub seconds: f64,
}

/// Everything a scan found.
#[derive(Debug, Clone)]
pub struct ScanResult {
    /// The configuration that produced it (complete: repeating it repeats the run).
    pub config: ScanConfig,
    /// The gas's name from its LUT, upper case (`CH4`), for labels.
    pub gas_name: String,
    /// Each flight line, in the configuration's order.
    pub lines: Vec<LineResult>,
    /// The map CRS shared by every flight line (WKT), when they carry one.
    pub crs_wkt: Option<String>,
    /// Site merging parameters used.
    pub site_params: SiteParams,
    /// Candidate sites, ranked (rank 1 = strongest evidence).
    pub sites: Vec<Site>,
    /// WGS84 (lon, lat) of each site, when the CRS is known.
    pub site_lon_lat: Vec<Option<[f64; 2]>>,
    /// The detection-limit estimate on the first flight line, when asked for.
    pub detection_limit: Option<DetectionLimit>,
    /// Run metadata.
    pub meta: RunMeta,
}

impl ScanResult {
    /// The id of a site in outputs (`S<rank>`).
    pub fn site_id(site: &Site) -> String {
        format!("S{}", site.rank)
    }

    /// Number of plume candidates over all flight lines.
    pub fn n_candidates(&self) -> usize {
        self.lines.iter().map(|l| l.verdicts.len()).sum()
    }

    /// Every plume candidate of every flight line as a GeoJSON feature to write (the
    /// `plumes.geojson` of the sinks, and what the Python package returns).
    pub fn plume_features(&self) -> Vec<plumewatch_io::geojson_out::PlumeFeature<'_>> {
        self.lines
            .iter()
            .flat_map(|l| {
                l.analysis
                    .plumes
                    .plumes
                    .iter()
                    .zip(&l.analysis.located)
                    .map(
                        move |(plume, loc)| plumewatch_io::geojson_out::PlumeFeature {
                            pass: &l.name,
                            plume,
                            transform: &l.transform,
                            source: Some(&loc.source),
                            emission: loc.emission.as_ref(),
                        },
                    )
            })
            .collect()
    }

    /// Number of candidates reported as sources.
    pub fn n_sources(&self) -> usize {
        self.lines
            .iter()
            .flat_map(|l| &l.verdicts)
            .filter(|v| v.is_source())
            .count()
    }
}

/// The current UTC time as ISO 8601 (`2026-12-04T15:51:44Z`).
pub fn utc_now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    utc_from_unix(secs)
}

/// ISO 8601 UTC of a Unix time in seconds (civil-from-days, Howard Hinnant's
/// algorithm).
pub fn utc_from_unix(secs: u64) -> String {
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn utc_dates_are_civil() {
        assert_eq!(super::utc_from_unix(0), "1970-01-01T00:00:00Z");
        assert_eq!(super::utc_from_unix(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(super::utc_from_unix(1_796_399_504), "2026-12-04T15:51:44Z");
    }
}
