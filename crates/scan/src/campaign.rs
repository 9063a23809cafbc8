//! The detection benchmark's scoring: many simulated scenes, each with its plume-free
//! twin, scored together — false sites per km² on the twins and on the plume scenes,
//! probability of detection (POD) per emission-rate bin (all sources, and sources over
//! dark ground separately), a logistic POD(Q) fit with Q50/Q90 and their intervals,
//! localisation error, emission-rate parity and the coverage of the rate intervals.
//!
//! # Rules
//! - A source is detected when a site lies within `source_radius_px` pixels of it
//!   (one-to-one, nearest pairs first).
//! - A site of a plume scene is false when it matches no source, lies farther than
//!   `source_radius_px` from every source and is not on gas: no truth-mask pixel within
//!   `gas_margin_px` of its pixel. Every site of a twin is false.
//! - "Dark ground": the surface reflectance at the source (2200–2400 nm mean, from the
//!   truth) below `dark_albedo`.
//!
//! # Units
//! Emission rate kg/h, distances pixels and m, areas km².

use crate::{bail, Context, Result};
use plumewatch_core::eval::{fit_logistic_pod, pod_per_bin, LogisticPod, PodBin};
use plumewatch_core::math::order_stats::median_in_place;
use plumewatch_io::truth::{read_sites, read_truth, SiteRecord};
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// One scene of the campaign: its truth, the sites the scan found on it and, for the
/// false-site rate on clean ground, the sites found on its plume-free twin.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CampaignScene {
    /// Name in the report.
    pub name: String,
    /// Truth directory (`simulate scene` output): `truth_sources.json`, `truth_mask.tif`.
    pub truth: PathBuf,
    /// `sites.geojson` of the scan of the scene.
    pub sites: PathBuf,
    /// `sites.geojson` of the scan of its plume-free twin.
    #[serde(default)]
    pub twin_sites: Option<PathBuf>,
    /// Scans of the twin at other operating points, for the calibration table.
    #[serde(default)]
    pub calibration: Vec<CalibrationScan>,
}

/// The twin scanned at one requested operating point.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CalibrationScan {
    /// Requested false sites per km² (`scan --false-sites-per-km2`).
    pub false_sites_per_km2: f64,
    /// The `sites.geojson` of that scan.
    pub sites: PathBuf,
}

/// Requested against observed false sites per km² on the plume-free twins.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CalibrationPoint {
    /// Requested, per km².
    pub requested_per_km2: f64,
    /// Sites on the twins (all false).
    pub false_sites: usize,
    /// Twin area, km².
    pub area_km2: f64,
    /// Observed, per km².
    pub observed_per_km2: f64,
    /// Exact (Garwood) Poisson 95 % interval of the observed rate, per km².
    pub interval_per_km2: (f64, f64),
}

/// The scoring rules (see the module documentation), with the benchmark's defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CampaignRules {
    /// A site within this many pixels of a source detects it (default 5).
    pub source_radius_px: f64,
    /// A site within this many pixels of a truth-mask pixel is on gas (default 1).
    pub gas_margin_px: usize,
    /// Sources over ground darker than this are "dark" (default 0.1).
    pub dark_albedo: f64,
    /// Emission-rate bin edges, kg/h (default 2, 5, 10, 20, 50, 100, 300).
    pub bin_edges_kg_h: Vec<f64>,
}

impl Default for CampaignRules {
    fn default() -> Self {
        Self {
            source_radius_px: 5.0,
            gas_margin_px: 1,
            dark_albedo: 0.1,
            bin_edges_kg_h: vec![2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 300.0],
        }
    }
}

/// One true source and what the scan made of it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SourceTrial {
    /// Scene name.
    pub scene: String,
    /// Source id in the scene's truth.
    pub id: u32,
    /// True rate, kg/h.
    pub rate_kg_h: f64,
    /// Surface reflectance at the source, if the truth states it.
    pub albedo: Option<f64>,
    /// Whether a site detects it.
    pub detected: bool,
    /// Distance to that site, pixels.
    pub distance_px: Option<f64>,
    /// The site's rate, kg/h.
    pub estimated_rate_kg_h: Option<f64>,
    /// The site's rate standard deviation, kg/h.
    pub estimated_rate_sd_kg_h: Option<f64>,
}

/// A false site.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FalseSite {
    /// Scene name.
    pub scene: String,
    /// True on the plume-free twin.
    pub twin: bool,
    /// Pixel column and row of the site.
    pub col: f64,
    /// Pixel row.
    pub row: f64,
    /// The site's significance, if the sites file states it.
    pub significance: Option<f64>,
}

/// POD over one group of sources: per bin and the logistic fit.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PodSummary {
    /// Sources in the group.
    pub n: usize,
    /// Of which detected.
    pub detected: usize,
    /// POD per emission-rate bin with Wilson 95 % intervals.
    pub bins: Vec<PodBin>,
    /// Logistic POD(Q) in log10 Q with Q50/Q90 and delta-method 95 % intervals (None
    /// when the trials cannot be fitted: all found or all missed).
    pub fit: Option<LogisticPod>,
}

/// Rate parity of the detected sources.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RateParity {
    /// Detected sources with a rate estimate.
    pub n: usize,
    /// Least-squares slope of Q̂ on Q through the origin.
    pub slope_through_origin: f64,
    /// Median |Q̂ − Q| / Q.
    pub median_abs_rel_error: f64,
    /// Median (Q̂ − Q) / Q.
    pub median_rel_bias: f64,
    /// Fraction of sources whose ±1 sd interval covers the truth (nominal 68 %).
    pub coverage_1sd: Option<f64>,
    /// Fraction whose ±1.96 sd interval covers the truth (nominal 95 %).
    pub coverage_2sd: Option<f64>,
}

/// The campaign's scores (`detection.json`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CampaignReport {
    /// The rules applied.
    pub rules: CampaignRules,
    /// Scenes scored.
    pub scenes: usize,
    /// Area of the twins scored, km².
    pub twin_area_km2: f64,
    /// False sites on the twins.
    pub twin_false_sites: usize,
    /// False sites per km² on the twins.
    pub twin_false_sites_per_km2: f64,
    /// Area of the plume scenes, km².
    pub plume_area_km2: f64,
    /// False sites on the plume scenes.
    pub plume_false_sites: usize,
    /// False sites per km² on the plume scenes.
    pub plume_false_sites_per_km2: f64,
    /// Sites on gas that detect no source (downwind pieces of a plume): neither
    /// detections nor false.
    pub sites_on_gas_unmatched: usize,
    /// POD over every source.
    pub pod: PodSummary,
    /// POD over sources on dark ground.
    pub pod_dark: PodSummary,
    /// POD over the other sources with a stated albedo.
    pub pod_not_dark: PodSummary,
    /// Median localisation error of detected sources, pixels.
    pub localisation_median_px: Option<f64>,
    /// 90th percentile of the localisation error, pixels.
    pub localisation_p90_px: Option<f64>,
    /// Rate parity (None when no detection has a rate).
    pub rate: Option<RateParity>,
    /// Every source.
    pub trials: Vec<SourceTrial>,
    /// Every false site.
    pub false_sites: Vec<FalseSite>,
    /// Requested against observed false sites per km² on the twins.
    pub calibration: Vec<CalibrationPoint>,
}

/// Chi-square quantile (Wilson–Hilferty; within 1 % for 2 or more degrees of freedom).
fn chi2_quantile(p: f64, dof: f64) -> f64 {
    let z = plumewatch_core::math::normal::normal_quantile(p);
    let a = 2.0 / (9.0 * dof);
    dof * (1.0 - a + z * a.sqrt()).powi(3).max(0.0)
}

/// Garwood 95 % interval of a Poisson count.
fn poisson_interval(k: usize) -> (f64, f64) {
    let lo = if k == 0 {
        0.0
    } else {
        0.5 * chi2_quantile(0.025, 2.0 * k as f64)
    };
    (lo, 0.5 * chi2_quantile(0.975, 2.0 * k as f64 + 2.0))
}

/// The calibration table over the scenes' calibration scans.
fn calibration(scenes: &[CampaignScene]) -> Result<Vec<CalibrationPoint>> {
    let mut rates: Vec<f64> = scenes
        .iter()
        .flat_map(|s| s.calibration.iter().map(|c| c.false_sites_per_km2))
        .collect();
    rates.sort_by(f64::total_cmp);
    rates.dedup();
    let mut areas = Vec::with_capacity(scenes.len());
    for sc in scenes.iter().filter(|s| !s.calibration.is_empty()) {
        areas.push(area_km2(&read_scene_truth(&sc.truth)?));
    }
    rates
        .into_iter()
        .map(|rate| {
            let (mut n, mut area) = (0usize, 0.0);
            for (sc, a) in scenes
                .iter()
                .filter(|s| !s.calibration.is_empty())
                .zip(&areas)
            {
                let Some(c) = sc
                    .calibration
                    .iter()
                    .find(|c| c.false_sites_per_km2 == rate)
                else {
                    bail!(
                        "detection benchmark: scene {} has no calibration scan at {rate} per km²",
                        sc.name
                    );
                };
                n += read_sites(&c.sites)?.len();
                area += a;
            }
            let (lo, hi) = poisson_interval(n);
            Ok(CalibrationPoint {
                requested_per_km2: rate,
                false_sites: n,
                area_km2: area,
                observed_per_km2: n as f64 / area,
                interval_per_km2: (lo / area, hi / area),
            })
        })
        .collect()
}

/// Inverse of a north-up or rotated affine geotransform: map (x, y) → (col, row).
fn map_to_pixel(gt: &[f64; 6], x: f64, y: f64) -> Option<(f64, f64)> {
    let det = gt[1] * gt[5] - gt[2] * gt[4];
    if det == 0.0 || !det.is_finite() {
        return None;
    }
    let (dx, dy) = (x - gt[0], y - gt[3]);
    Some((
        (gt[5] * dx - gt[2] * dy) / det,
        (-gt[4] * dx + gt[1] * dy) / det,
    ))
}

struct SceneTruth {
    lines: usize,
    samples: usize,
    gsd: f64,
    gt: [f64; 6],
    mask: Vec<bool>,
    sources: Vec<plumewatch_io::truth::TruthPoint>,
}

fn read_scene_truth(dir: &Path) -> Result<SceneTruth> {
    let truth_json = dir.join("truth_sources.json");
    let truth = read_truth(&truth_json)?;
    let mask_path = dir.join("truth_mask.tif");
    let (lines, samples, m) = plumewatch_io::read_band_f32(&mask_path, 1)?;
    let gt = plumewatch_io::gdal_raster::read_geo_transform(&mask_path)?;
    let gsd = truth.gsd_m.with_context(|| {
        format!(
            "{}: gsd_m: missing (expected the ground sample distance in m)",
            truth_json.display()
        )
    })?;
    Ok(SceneTruth {
        lines,
        samples,
        gsd,
        gt,
        mask: m.iter().map(|v| *v > 0.5).collect(),
        sources: truth.sources,
    })
}

fn area_km2(t: &SceneTruth) -> f64 {
    (t.lines * t.samples) as f64 * t.gsd * t.gsd / 1e6
}

fn on_gas(t: &SceneTruth, col: f64, row: f64, margin: usize) -> bool {
    let (c, r) = (col.floor() as i64, row.floor() as i64);
    let m = margin as i64;
    (r - m..=r + m).any(|rr| {
        (c - m..=c + m).any(|cc| {
            rr >= 0
                && cc >= 0
                && (rr as usize) < t.lines
                && (cc as usize) < t.samples
                && t.mask[rr as usize * t.samples + cc as usize]
        })
    })
}

fn site_pixels(t: &SceneTruth, sites: &[SiteRecord], path: &Path) -> Result<Vec<(f64, f64)>> {
    sites
        .iter()
        .map(|s| {
            map_to_pixel(&t.gt, s.x, s.y).with_context(|| {
                format!(
                    "{}: the truth's geotransform cannot be inverted",
                    path.display()
                )
            })
        })
        .collect()
}

fn pod_summary(trials: &[&SourceTrial], edges: &[f64]) -> PodSummary {
    let pairs: Vec<(f64, bool)> = trials.iter().map(|t| (t.rate_kg_h, t.detected)).collect();
    let bins = pod_per_bin(&pairs, edges);
    let rates: Vec<f64> = trials.iter().map(|t| t.rate_kg_h).collect();
    let found: Vec<bool> = trials.iter().map(|t| t.detected).collect();
    PodSummary {
        n: trials.len(),
        detected: found.iter().filter(|d| **d).count(),
        bins,
        fit: fit_logistic_pod(&rates, &found).ok(),
    }
}

fn quantile(v: &mut [f64], q: f64) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let i = ((v.len() - 1) as f64 * q).round() as usize;
    Some(v[i])
}

fn rate_parity(trials: &[SourceTrial]) -> Option<RateParity> {
    let est: Vec<(f64, f64, Option<f64>)> = trials
        .iter()
        .filter(|t| t.detected)
        .filter_map(|t| {
            Some((
                t.rate_kg_h,
                t.estimated_rate_kg_h?,
                t.estimated_rate_sd_kg_h,
            ))
        })
        .collect();
    if est.is_empty() {
        return None;
    }
    let sxy: f64 = est.iter().map(|(q, e, _)| q * e).sum();
    let sxx: f64 = est.iter().map(|(q, _, _)| q * q).sum();
    let mut abs: Vec<f64> = est.iter().map(|(q, e, _)| ((e - q) / q).abs()).collect();
    let mut rel: Vec<f64> = est.iter().map(|(q, e, _)| (e - q) / q).collect();
    let with_sd: Vec<(f64, f64, f64)> = est
        .iter()
        .filter_map(|(q, e, sd)| sd.filter(|s| *s > 0.0).map(|s| (*q, *e, s)))
        .collect();
    let coverage = |k: f64| {
        (!with_sd.is_empty()).then(|| {
            with_sd
                .iter()
                .filter(|(q, e, s)| (e - q).abs() <= k * s)
                .count() as f64
                / with_sd.len() as f64
        })
    };
    Some(RateParity {
        n: est.len(),
        slope_through_origin: sxy / sxx,
        median_abs_rel_error: median_in_place(&mut abs),
        median_rel_bias: median_in_place(&mut rel),
        coverage_1sd: coverage(1.0),
        coverage_2sd: coverage(1.96),
    })
}

/// Scores every scene of `scenes` under `rules`.
pub fn score_campaign(scenes: &[CampaignScene], rules: &CampaignRules) -> Result<CampaignReport> {
    if scenes.is_empty() {
        bail!("detection benchmark: no scene to score");
    }
    if !(rules.source_radius_px > 0.0 && rules.source_radius_px.is_finite()) {
        bail!(
            "detection benchmark: source radius {} px: expected a positive number",
            rules.source_radius_px
        );
    }
    let mut trials = Vec::new();
    let mut false_sites = Vec::new();
    let (mut twin_area, mut plume_area, mut on_gas_unmatched) = (0.0, 0.0, 0usize);
    for sc in scenes {
        let t = read_scene_truth(&sc.truth)?;
        plume_area += area_km2(&t);
        let sites = read_sites(&sc.sites)?;
        let px = site_pixels(&t, &sites, &sc.sites)?;
        // One-to-one matching, nearest pairs first.
        let mut pairs: Vec<(f64, usize, usize)> = Vec::new();
        for (ti, s) in t.sources.iter().enumerate() {
            for (di, (c, r)) in px.iter().enumerate() {
                let d = ((s.col - c).powi(2) + (s.row - r).powi(2)).sqrt();
                if d <= rules.source_radius_px {
                    pairs.push((d, ti, di));
                }
            }
        }
        pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
        let mut t_match: Vec<Option<(usize, f64)>> = vec![None; t.sources.len()];
        let mut d_used = vec![false; sites.len()];
        for (d, ti, di) in pairs {
            if t_match[ti].is_none() && !d_used[di] {
                t_match[ti] = Some((di, d));
                d_used[di] = true;
            }
        }
        for (s, m) in t.sources.iter().zip(&t_match) {
            let site = m.map(|(di, _)| &sites[di]);
            trials.push(SourceTrial {
                scene: sc.name.clone(),
                id: s.id,
                rate_kg_h: s.rate_kg_h,
                albedo: s.albedo_at_source,
                detected: m.is_some(),
                distance_px: m.map(|(_, d)| d),
                estimated_rate_kg_h: site.and_then(|s| s.rate_kg_h),
                estimated_rate_sd_kg_h: site.and_then(|s| s.rate_sd_kg_h),
            });
        }
        for (di, (c, r)) in px.iter().enumerate() {
            if d_used[di] {
                continue;
            }
            let near_source = t.sources.iter().any(|s| {
                ((s.col - c).powi(2) + (s.row - r).powi(2)).sqrt() <= rules.source_radius_px
            });
            if near_source || on_gas(&t, *c, *r, rules.gas_margin_px) {
                on_gas_unmatched += 1;
                continue;
            }
            false_sites.push(FalseSite {
                scene: sc.name.clone(),
                twin: false,
                col: *c,
                row: *r,
                significance: sites[di].significance,
            });
        }
        if let Some(twin) = &sc.twin_sites {
            twin_area += area_km2(&t);
            let sites = read_sites(twin)?;
            for ((c, r), s) in site_pixels(&t, &sites, twin)?.into_iter().zip(&sites) {
                false_sites.push(FalseSite {
                    scene: sc.name.clone(),
                    twin: true,
                    col: c,
                    row: r,
                    significance: s.significance,
                });
            }
        }
    }
    let twin_false = false_sites.iter().filter(|f| f.twin).count();
    let plume_false = false_sites.len() - twin_false;
    let all: Vec<&SourceTrial> = trials.iter().collect();
    let dark: Vec<&SourceTrial> = trials
        .iter()
        .filter(|t| t.albedo.is_some_and(|a| a < rules.dark_albedo))
        .collect();
    let not_dark: Vec<&SourceTrial> = trials
        .iter()
        .filter(|t| t.albedo.is_some_and(|a| a >= rules.dark_albedo))
        .collect();
    let mut dist: Vec<f64> = trials.iter().filter_map(|t| t.distance_px).collect();
    let per_km2 = |n: usize, a: f64| if a > 0.0 { n as f64 / a } else { f64::NAN };
    Ok(CampaignReport {
        rules: rules.clone(),
        scenes: scenes.len(),
        twin_area_km2: twin_area,
        twin_false_sites: twin_false,
        twin_false_sites_per_km2: per_km2(twin_false, twin_area),
        plume_area_km2: plume_area,
        plume_false_sites: plume_false,
        plume_false_sites_per_km2: per_km2(plume_false, plume_area),
        sites_on_gas_unmatched: on_gas_unmatched,
        pod: pod_summary(&all, &rules.bin_edges_kg_h),
        pod_dark: pod_summary(&dark, &rules.bin_edges_kg_h),
        pod_not_dark: pod_summary(&not_dark, &rules.bin_edges_kg_h),
        localisation_median_px: quantile(&mut dist, 0.5),
        localisation_p90_px: quantile(&mut dist, 0.9),
        rate: rate_parity(&trials),
        trials,
        false_sites,
        calibration: calibration(scenes)?,
    })
}

fn pod_table(md: &mut String, title: &str, p: &PodSummary) {
    let _ = writeln!(
        md,
        "### {title}: {} of {} sources found\n\n| Q (kg/h) | sources | found | POD | 95 % interval |\n|---|---|---|---|---|",
        p.detected, p.n
    );
    for b in &p.bins {
        let pod = if b.n > 0 {
            format!("{:.2}", b.pod)
        } else {
            "–".into()
        };
        let ci = if b.n > 0 {
            format!("{:.2}–{:.2}", b.ci_lo, b.ci_hi)
        } else {
            "–".into()
        };
        let _ = writeln!(
            md,
            "| {}–{} | {} | {} | {pod} | {ci} |",
            b.q_lo_kg_h, b.q_hi_kg_h, b.n, b.detected
        );
    }
    match &p.fit {
        Some(f) => {
            let _ = writeln!(
                md,
                "\nLogistic POD(Q): Q50 = {:.0} kg/h (95 % interval {:.0}–{:.0}), Q90 = {:.0} kg/h ({:.0}–{:.0}).\n",
                f.q50_kg_h, f.q50_ci_kg_h.0, f.q50_ci_kg_h.1, f.q90_kg_h, f.q90_ci_kg_h.0, f.q90_ci_kg_h.1
            );
        }
        None => md.push_str("\nNo logistic fit (every source found, or none).\n\n"),
    }
}

impl CampaignReport {
    /// The report as Markdown (`detection.md`).
    pub fn markdown(&self) -> String {
        let mut md = String::new();
        let _ = writeln!(
            md,
            "# Detection benchmark\n\n{} scenes. A source is found by a site within {} px; a site of a plume scene is false when it is farther than {} px from every source and more than {} px from the truth mask; every site of a plume-free twin is false.\n",
            self.scenes, self.rules.source_radius_px, self.rules.source_radius_px, self.rules.gas_margin_px
        );
        let _ = writeln!(
            md,
            "| | area (km²) | false sites | per km² |\n|---|---|---|---|\n| plume-free twins | {:.2} | {} | {:.3} |\n| plume scenes | {:.2} | {} | {:.3} |\n",
            self.twin_area_km2,
            self.twin_false_sites,
            self.twin_false_sites_per_km2,
            self.plume_area_km2,
            self.plume_false_sites,
            self.plume_false_sites_per_km2
        );
        let _ = writeln!(
            md,
            "Sites on gas away from its source (neither found nor false): {}.\n",
            self.sites_on_gas_unmatched
        );
        pod_table(&mut md, "All sources", &self.pod);
        pod_table(
            &mut md,
            &format!(
                "Sources on dark ground (albedo < {})",
                self.rules.dark_albedo
            ),
            &self.pod_dark,
        );
        pod_table(&mut md, "Sources on other ground", &self.pod_not_dark);
        if let (Some(m), Some(p)) = (self.localisation_median_px, self.localisation_p90_px) {
            let _ = writeln!(
                md,
                "Localisation error of found sources: median {m:.1} px, 90th percentile {p:.1} px.\n"
            );
        }
        if !self.calibration.is_empty() {
            md.push_str("### Calibration on the plume-free twins\n\n| requested (per km²) | false sites | area (km²) | observed (per km²) | 95 % interval | observed / requested |\n|---|---|---|---|---|---|\n");
            for c in &self.calibration {
                let _ = writeln!(
                    md,
                    "| {} | {} | {:.1} | {:.3} | {:.3}–{:.3} | {:.2} |",
                    c.requested_per_km2,
                    c.false_sites,
                    c.area_km2,
                    c.observed_per_km2,
                    c.interval_per_km2.0,
                    c.interval_per_km2.1,
                    c.observed_per_km2 / c.requested_per_km2
                );
            }
            md.push('\n');
        }
        if let Some(r) = &self.rate {
            let cov =
                |c: Option<f64>| c.map_or("–".to_string(), |c| format!("{:.0} %", c * 100.0));
            let _ = writeln!(
                md,
                "Rates of {} found sources: parity slope (through the origin) {:.2}, median |ΔQ|/Q {:.0} %, median bias {:+.0} %; ±1 sd intervals cover {} (nominal 68 %), ±1.96 sd {} (nominal 95 %).",
                r.n,
                r.slope_through_origin,
                r.median_abs_rel_error * 100.0,
                r.median_rel_bias * 100.0,
                cov(r.coverage_1sd),
                cov(r.coverage_2sd)
            );
        }
        md
    }
}

/// Reads a campaign manifest: a JSON list of [`CampaignScene`].
pub fn read_manifest(path: &Path) -> Result<Vec<CampaignScene>> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| crate::Error::new(crate::ErrorKind::Input, e.to_string()))
        .with_context(|| format!("{}: cannot read the campaign manifest", path.display()))?;
    serde_json::from_str(&text)
        .map_err(|e| crate::Error::new(crate::ErrorKind::Input, e.to_string()))
        .with_context(|| {
            format!(
                "{}: expected a JSON list of {{name, truth, sites, twin_sites}}",
                path.display()
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poisson_intervals_match_the_tables() {
        // Garwood 95 % limits: k = 0 → (0, 3.689); k = 5 → (1.62, 11.67).
        let (lo, hi) = poisson_interval(0);
        assert!(lo == 0.0 && (hi - 3.689).abs() < 0.05, "{hi}");
        let (lo, hi) = poisson_interval(5);
        assert!(
            (lo - 1.623).abs() < 0.05 && (hi - 11.668).abs() < 0.1,
            "{lo} {hi}"
        );
    }

    #[test]
    fn map_to_pixel_inverts_a_rotated_transform() {
        let gt = [500.0, 2.0, 1.0, 4000.0, 0.5, -3.0];
        let (c, r) = (12.25, 40.5);
        let x = gt[0] + c * gt[1] + r * gt[2];
        let y = gt[3] + c * gt[4] + r * gt[5];
        let (c2, r2) = map_to_pixel(&gt, x, y).unwrap();
        assert!((c2 - c).abs() < 1e-9 && (r2 - r).abs() < 1e-9);
    }

    #[test]
    fn rate_parity_of_exact_estimates_is_one_with_full_coverage() {
        let t = |q: f64, e: f64, sd: f64| SourceTrial {
            scene: "a".into(),
            id: 1,
            rate_kg_h: q,
            albedo: None,
            detected: true,
            distance_px: Some(0.0),
            estimated_rate_kg_h: Some(e),
            estimated_rate_sd_kg_h: Some(sd),
        };
        let r = rate_parity(&[t(10.0, 10.0, 1.0), t(100.0, 100.0, 5.0)]).unwrap();
        assert!((r.slope_through_origin - 1.0).abs() < 1e-12);
        assert_eq!(r.coverage_1sd, Some(1.0));
        let r = rate_parity(&[t(10.0, 20.0, 1.0), t(100.0, 100.0, 5.0)]).unwrap();
        assert_eq!(r.coverage_1sd, Some(0.5));
        assert!((r.median_abs_rel_error - 0.5).abs() < 1e-12);
    }
}
