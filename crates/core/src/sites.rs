//! Candidate sites: detections merged across flight lines (passes) within a distance,
//! ranked by evidence.
//!
//! # Units
//! Map coordinates and distances in the scene CRS's units (m for UTM), emission rates in
//! kg/h, enhancement in ppm·m.
//!
//! # Interpretation
//! A site's combined significance is Stouffer's `Σ zᵢ / √n` over its detections, its
//! false-alarm probability the product of theirs (all detections would have to be false,
//! passes taken as independent), and its persistence the fraction of the passes that
//! covered it in which it was detected. The evidence score that ranks sites is
//! `significance × sqrt(persistence)`, ties broken by emission rate.

use crate::geo::GeoTransform;
use crate::raster::Grid;
use crate::{Error, Result};

/// One accepted plume with its source and emission rate, in map coordinates.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Detection {
    /// Flight line (pass) the plume was found in.
    pub pass: String,
    /// Plume id within that pass.
    pub plume_id: u32,
    /// Source easting (map x).
    pub x: f64,
    /// Source northing (map y).
    pub y: f64,
    /// Source location uncertainty radius (map units).
    pub radius: f64,
    /// Emission rate (kg/h).
    pub rate_kg_h: f64,
    /// 1-σ uncertainty of the emission rate (kg/h).
    pub rate_sd_kg_h: f64,
    /// Highest enhancement of the plume (ppm·m).
    pub max_enhancement_ppm_m: f64,
    /// Significance of the plume (robust z units).
    pub significance: f64,
    /// False-alarm probability of the plume.
    pub false_alarm_probability: f64,
    /// Its false-site figure, q-value over the pass and gas probability.
    #[serde(flatten)]
    pub figures: SceneFigures,
}

/// The scene-level figures a reviewer weighs with every candidate, detection and site
/// (each `None` where unknown).
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct SceneFigures {
    /// Expected false sites per km² at least as significant that vetting would keep,
    /// from the scene's empirical null ([`crate::plume::null`]); for a site, the
    /// smallest of its detections'.
    #[serde(default)]
    pub false_sites_per_km2: Option<f64>,
    /// q-value over the pass: the smallest expected fraction of false sites among the
    /// candidates kept at any threshold that keeps this one (rejected and vetted-out
    /// candidates have none); for a site, the smallest of its detections'.
    #[serde(default)]
    pub q_value: Option<f64>,
    /// Probability that it is gas ([`crate::plume::vet`]; needs an emission estimate);
    /// for a site, the highest of its detections'.
    #[serde(default)]
    pub gas_probability: Option<f64>,
}

impl SceneFigures {
    /// The figures of a site merged from these detections' (the strongest evidence of
    /// each kind).
    pub fn merged<'a>(figures: impl Iterator<Item = &'a SceneFigures> + Clone) -> Self {
        let min =
            |v: fn(&SceneFigures) -> Option<f64>| figures.clone().filter_map(v).reduce(f64::min);
        Self {
            false_sites_per_km2: min(|f| f.false_sites_per_km2),
            q_value: min(|f| f.q_value),
            gas_probability: figures
                .clone()
                .filter_map(|f| f.gas_probability)
                .reduce(f64::max),
        }
    }
}

/// Where a pass looked: its raster size and geotransform (to count the passes that
/// covered a site, detected or not).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PassFootprint {
    /// Pass name, as in [`Detection::pass`].
    pub pass: String,
    /// Raster size of the pass.
    pub grid: Grid,
    /// Its geotransform.
    pub transform: GeoTransform,
}

impl PassFootprint {
    /// True when the map point `(x, y)` falls inside the pass's raster.
    pub fn covers(&self, x: f64, y: f64) -> bool {
        let (c, r) = self.transform.map_to_pixel(x, y);
        c >= 0.0 && r >= 0.0 && c < self.grid.samples as f64 && r < self.grid.lines as f64
    }
}

/// Parameters of site merging.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SiteParams {
    /// Detections whose sources lie within this distance of each other (single linkage)
    /// form one site (default 100 m: a facility's extent and ~1.5 EMIT pixels).
    ///
    /// # Units
    /// Map units (m).
    pub merge_distance: f64,
}

impl Default for SiteParams {
    fn default() -> Self {
        Self {
            merge_distance: 100.0,
        }
    }
}

/// Reference to one plume of a site.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PlumeRef {
    /// Pass name.
    pub pass: String,
    /// Plume id within the pass.
    pub plume_id: u32,
}

/// A candidate emission site.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Site {
    /// 1-based rank (1 = strongest evidence).
    pub rank: usize,
    /// Location easting (map x): inverse-variance weighted mean of its detections.
    pub x: f64,
    /// Location northing (map y).
    pub y: f64,
    /// Location uncertainty radius (map units).
    pub radius: f64,
    /// Emission rate, inverse-variance weighted mean of its detections (kg/h).
    pub rate_kg_h: f64,
    /// 1-σ uncertainty of the emission rate (kg/h).
    pub rate_sd_kg_h: f64,
    /// Highest enhancement over its plumes (ppm·m).
    pub max_enhancement_ppm_m: f64,
    /// Combined significance (Stouffer).
    pub significance: f64,
    /// Probability that every detection of the site is a false alarm.
    pub false_alarm_probability: f64,
    /// The strongest of its detections' figures.
    #[serde(flatten)]
    pub figures: SceneFigures,
    /// Number of detections (plumes).
    pub n_detections: usize,
    /// Number of passes with a detection.
    pub n_passes_detected: usize,
    /// Number of passes that covered the site (at least `n_passes_detected`).
    pub n_passes_covering: usize,
    /// Ranking score, `significance × sqrt(n_passes_detected / n_passes_covering)`.
    pub evidence_score: f64,
    /// Its plumes.
    pub plumes: Vec<PlumeRef>,
}

/// Merges `detections` into sites (single linkage within `params.merge_distance`) and
/// ranks them by evidence. `footprints` (may be empty) count the passes covering each
/// site for its persistence.
pub fn merge_sites(
    detections: &[Detection],
    footprints: &[PassFootprint],
    params: &SiteParams,
) -> Result<Vec<Site>> {
    if !(params.merge_distance.is_finite() && params.merge_distance >= 0.0) {
        return Err(Error::Invalid(format!(
            "site merge distance: expected a finite distance ≥ 0, got {}",
            params.merge_distance
        )));
    }
    if let Some(d) = detections
        .iter()
        .find(|d| !(d.x.is_finite() && d.y.is_finite()))
    {
        return Err(Error::Invalid(format!(
            "detection {}/{}: expected finite map coordinates, got ({}, {})",
            d.pass, d.plume_id, d.x, d.y
        )));
    }
    // Union–find single linkage.
    let n = detections.len();
    let mut parent: Vec<usize> = (0..n).collect();
    fn find(p: &mut [usize], mut i: usize) -> usize {
        while p[i] != i {
            p[i] = p[p[i]];
            i = p[i];
        }
        i
    }
    let d2 = params.merge_distance * params.merge_distance;
    for i in 0..n {
        for j in i + 1..n {
            let (a, b) = (&detections[i], &detections[j]);
            if (a.x - b.x).powi(2) + (a.y - b.y).powi(2) <= d2 {
                let (ri, rj) = (find(&mut parent, i), find(&mut parent, j));
                if ri != rj {
                    parent[ri.max(rj)] = ri.min(rj);
                }
            }
        }
    }
    let mut groups: std::collections::BTreeMap<usize, Vec<usize>> = Default::default();
    for i in 0..n {
        let r = find(&mut parent, i);
        groups.entry(r).or_default().push(i);
    }
    let mut sites: Vec<Site> = groups
        .values()
        .map(|members| site_of(members.iter().map(|&i| &detections[i]), footprints))
        .collect();
    sites.sort_by(|a, b| {
        b.evidence_score
            .total_cmp(&a.evidence_score)
            .then(b.rate_kg_h.total_cmp(&a.rate_kg_h))
    });
    for (k, s) in sites.iter_mut().enumerate() {
        s.rank = k + 1;
    }
    Ok(sites)
}

/// Inverse-variance weighted rate and its uncertainty over `rated` (detections with a
/// finite rate); (NaN, NaN) when there are none.
fn combined_rate(rated: &[&Detection]) -> (f64, f64) {
    if rated.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    let k = rated.len() as f64;
    let wr: Vec<f64> = rated
        .iter()
        .map(|d| {
            let sd = if d.rate_sd_kg_h.is_finite() && d.rate_sd_kg_h > 0.0 {
                d.rate_sd_kg_h
            } else {
                d.rate_kg_h.abs().max(1e-9)
            };
            1.0 / (sd * sd)
        })
        .collect();
    let wrsum: f64 = wr.iter().sum();
    let rate = rated
        .iter()
        .zip(&wr)
        .map(|(d, w)| d.rate_kg_h * w)
        .sum::<f64>()
        / wrsum;
    let mut rate_sd = (1.0 / wrsum).sqrt();
    if rated.len() > 1 {
        let mean = rated.iter().map(|d| d.rate_kg_h).sum::<f64>() / k;
        let sd = (rated
            .iter()
            .map(|d| (d.rate_kg_h - mean).powi(2))
            .sum::<f64>()
            / (k - 1.0))
            .sqrt();
        rate_sd = rate_sd.max(sd / k.sqrt());
    }
    (rate, rate_sd)
}

fn site_of<'a>(members: impl Iterator<Item = &'a Detection>, footprints: &[PassFootprint]) -> Site {
    let m: Vec<&Detection> = members.collect();
    let k = m.len() as f64;
    // Location: weights 1/radius² (radius floored to avoid infinite weights).
    let wl: Vec<f64> = m.iter().map(|d| 1.0 / d.radius.max(1e-6).powi(2)).collect();
    let wsum: f64 = wl.iter().sum();
    let x = m.iter().zip(&wl).map(|(d, w)| d.x * w).sum::<f64>() / wsum;
    let y = m.iter().zip(&wl).map(|(d, w)| d.y * w).sum::<f64>() / wsum;
    let spread = (m
        .iter()
        .map(|d| (d.x - x).powi(2) + (d.y - y).powi(2))
        .sum::<f64>()
        / k)
        .sqrt();
    let radius = (1.0 / wsum).sqrt().max(spread);
    // Rate: inverse-variance weighted mean of the detections that have a rate (a flight
    // line without wind has none); uncertainty at least the scatter's error. NaN when
    // no detection has a rate.
    let rated: Vec<&Detection> = m
        .iter()
        .copied()
        .filter(|d| d.rate_kg_h.is_finite())
        .collect();
    let (rate, rate_sd) = combined_rate(&rated);
    let significance = m.iter().map(|d| d.significance).sum::<f64>() / k.sqrt();
    let fap = m
        .iter()
        .map(|d| d.false_alarm_probability.clamp(0.0, 1.0))
        .product::<f64>();
    let mut passes: Vec<&str> = m.iter().map(|d| d.pass.as_str()).collect();
    passes.sort_unstable();
    passes.dedup();
    let covering = footprints.iter().filter(|f| f.covers(x, y)).count();
    let n_passes_covering = covering.max(passes.len());
    let persistence = passes.len() as f64 / n_passes_covering as f64;
    Site {
        rank: 0,
        x,
        y,
        radius,
        rate_kg_h: rate,
        rate_sd_kg_h: rate_sd,
        max_enhancement_ppm_m: m
            .iter()
            .map(|d| d.max_enhancement_ppm_m)
            .fold(f64::NEG_INFINITY, f64::max),
        significance,
        false_alarm_probability: fap,
        figures: SceneFigures::merged(m.iter().map(|d| &d.figures)),
        n_detections: m.len(),
        n_passes_detected: passes.len(),
        n_passes_covering,
        evidence_score: significance * persistence.sqrt(),
        plumes: m
            .iter()
            .map(|d| PlumeRef {
                pass: d.pass.clone(),
                plume_id: d.plume_id,
            })
            .collect(),
    }
}
