//! One flight line from detection maps to quantified plume detections: CFAR plumes,
//! false-positive rejection, source location and emission rate.
//!
//! The caller runs the detector ([`crate::detect::detect_cube`]) and hands the maps in,
//! so the same analysis serves whole files, streamed lines and servers; sites across
//! flight lines are then merged with [`crate::sites::merge_sites`].

use crate::detect::DetectionMaps;
use crate::geo::{downwind_pixel_unit, GeoTransform};
use crate::locate::{locate_source_weighted, SourceEstimate, SourceParams};
use crate::plume::narrowband::{
    narrowband_column, NarrowbandColumn, NarrowbandParams, WindowSpectra,
};
use crate::plume::vet::{CandidateEvidence, VettingFeatures, VettingParams};
use crate::plume::{find_plumes, CfarParams, PlumeInputs, PlumeSet, RejectParams, Rejection};
use crate::quantify::{quantify, Emission, PlumePixels, QuantifyParams, Wind};
use crate::raster::Grid;
use crate::sites::{Detection, SceneFigures};
use crate::Result;

mod maps;
pub use maps::{box_average_z, PassMaps, PixelValues};

/// Every tuning knob of the per-pass analysis, with documented defaults.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PassParams {
    /// CFAR threshold and plume clean-up.
    pub cfar: CfarParams,
    /// Known-false-positive rejection.
    pub reject: RejectParams,
    /// Narrow-band check against broad surface absorption features (applies when the
    /// radiance is given, see [`analyse_pass_with_spectra`]).
    #[serde(default)]
    pub narrowband: NarrowbandParams,
    /// Source location.
    pub source: SourceParams,
    /// Emission rate and its uncertainty.
    pub quantify: QuantifyParams,
    /// Downwind-fragment rule (see [`FragmentParams`]).
    pub fragments: FragmentParams,
    /// Half-width in pixels of the square window over which z is averaged before the
    /// CFAR test (default 1, i.e. 3 × 3; 0 tests single pixels). Plumes are spatially
    /// extended and pixel noise is nearly independent, so averaging over `n` pixels
    /// raises a plume's significance by up to `sqrt(n)`; the CFAR rule re-normalises the
    /// averaged score with its own robust per-column background, so the false-alarm
    /// rate stays calibrated.
    pub smoothing_radius: usize,
    /// Largest scene-level false-alarm probability of a reported source (default 0.01):
    /// a candidate whose [`crate::plume::Plume::false_alarm_probability`] is above it is
    /// kept in the results as "not significant" but not reported as a site.
    pub max_false_alarm_probability: f64,
    /// An operating point in the unit analysts use: the largest expected number of
    /// false sites per km² at a reported source's significance that vetting would
    /// keep, read from the scene's empirical null ([`crate::plume::null`]); a candidate
    /// above it is kept in the results as "not significant" but not reported as a
    /// site, and the Gaussian [`Self::max_false_alarm_probability`] no longer decides.
    /// `None` lets the Gaussian false-alarm probability decide (every candidate still
    /// carries its figure).
    ///
    /// Default [`DEFAULT_FALSE_SITES_PER_KM2`] (0.1 per km², the operating
    /// point; nothing fitted). The Gaussian limit held 0.028 false sites per km² on the
    /// detection benchmark's 512 × 256 twins but not on flight lines: on the twins of
    /// four held-out 600 × 5000 AVIRIS-NG lines (108 km²) it let through 0.45 per km²,
    /// the scene's own null 0.074, at the cost of 4 of the 240 sources of the
    /// 512 × 256 test seeds (BENCHMARKS.md, "The operating point on flight lines").
    #[serde(default = "default_false_sites_per_km2")]
    pub false_sites_per_km2: Option<f64>,
    /// With an operating point, a candidate whose figure expects at most this many
    /// false sites over the whole scene (its figure times the scene's area, the flight
    /// the stream's figures refer to) is significant even above
    /// [`Self::false_sites_per_km2`] (default 0.01, the share the Gaussian limit allows
    /// a scene). On a scene smaller than 0.1 km², such as a drone survey, 0.1 per km²
    /// asks for fewer than 0.01 false sites over the scene, stricter than the scan ever
    /// was: on the 256 × 256 drone-ingaas mosaic at 0.5 m of `cli/tests/mosaic.rs`
    /// (0.016 km²) a 150 kg/h source of significance 12.8 has a figure of 0.12 per km²,
    /// 0.002 false sites over the scene.
    #[serde(default = "default_false_sites_per_scene")]
    pub max_false_sites_per_scene: f64,
    /// Run the narrow-band check and estimate the emission rate of candidates that are
    /// not significant at the scene level too (default true, for the report). The
    /// stream turns it off: its alerts need reported sources only, and the check reads
    /// every candidate's spectra; such a candidate then stays "not significant" even
    /// where the check would have rejected it.
    #[serde(default = "yes")]
    pub analyse_not_significant: bool,
    /// Candidate vetting ([`crate::plume::vet`]): every candidate with an emission
    /// estimate gets its probability of being gas; with
    /// [`VettingParams::min_gas_probability`] set, a less likely one is not reported.
    #[serde(default)]
    pub vetting: VettingParams,
}

fn yes() -> bool {
    true
}

/// The default operating point of a scan and a stream, in false sites per km²
/// ([`PassParams::false_sites_per_km2`]).
pub const DEFAULT_FALSE_SITES_PER_KM2: f64 = 0.1;

fn default_false_sites_per_km2() -> Option<f64> {
    Some(DEFAULT_FALSE_SITES_PER_KM2)
}

fn default_false_sites_per_scene() -> f64 {
    0.01
}

impl Default for PassParams {
    fn default() -> Self {
        Self {
            cfar: CfarParams::default(),
            reject: RejectParams::default(),
            narrowband: NarrowbandParams::default(),
            // A deeper upwind end than the locator's own default: with the 3 × 3 z
            // averaging the CFAR mask can grow upwind into noise, and the source must
            // stay within reach (measured on emit_small source 1: 4.3 px off at 0.15,
            // 0.0 px at 0.35; avng_small unchanged).
            source: SourceParams {
                upwind_fraction: 0.35,
                ..SourceParams::default()
            },
            quantify: QuantifyParams::default(),
            fragments: FragmentParams::default(),
            smoothing_radius: 1,
            max_false_alarm_probability: 0.01,
            false_sites_per_km2: default_false_sites_per_km2(),
            max_false_sites_per_scene: default_false_sites_per_scene(),
            analyse_not_significant: true,
            vetting: VettingParams::default(),
        }
    }
}

impl PassParams {
    /// Whether a candidate with this Gaussian false-alarm probability and this
    /// calibrated figure (expected false sites per km² at its significance) is
    /// significant at the scene level of `area_km2`: with an operating point
    /// ([`Self::false_sites_per_km2`]) the calibrated figure decides, the scene's
    /// empirical null standing in for the Gaussian one (at most the operating point,
    /// or at most [`Self::max_false_sites_per_scene`] over the scene); without, the
    /// false-alarm probability.
    pub fn is_significant(
        &self,
        false_alarm_probability: f64,
        false_sites_per_km2: f64,
        area_km2: f64,
    ) -> bool {
        match self.false_sites_per_km2 {
            Some(limit) => {
                false_sites_per_km2 <= limit
                    || false_sites_per_km2 * area_km2 <= self.max_false_sites_per_scene
            }
            None => false_alarm_probability <= self.max_false_alarm_probability,
        }
    }
}

/// When a candidate counts as a detached downwind piece of a stronger plume.
///
/// Candidate B is a fragment of plume A when B's source lies downwind of A's source,
/// within `half_angle_deg` of the wind direction (or within `min_cross_px` of its axis),
/// and B is both less significant than A and lower at its peak: gas carried away from a
/// source only dilutes, so a piece of A's plume cannot hold more gas per pixel than A
/// does, while a second source downwind of the first (facilities along a road) can.
///
/// The dilution is also measured against A's emission rate: at a distance `x` downwind
/// A's gas spreads across the wind over `σ_y(x)` (Briggs' open-country coefficient for
/// a sunny day, `0.16 x / √(1 + 10⁻⁴ x)` m), so its column on the plume's axis is at
/// most `Q / (√(2π) σ_y(x) U)`. A candidate whose concentration at its own source (the
/// inverse-variance mean of its pixels next to its source, less two standard errors)
/// exceeds `dilution_factor` times that column holds more gas than A can deliver there
/// and is a source of its own. The factor allows for puffs, which are denser than the
/// time-averaged plume the formula describes, and for the error of A's rate.
/// Needs wind; without it no candidate is a fragment.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FragmentParams {
    /// Half-angle of the downwind corridor (default 20°, a plume's typical meander).
    pub half_angle_deg: f64,
    /// Corridor half-width near the source, in pixels (default 3).
    pub min_cross_px: f64,
    /// Longest distance downwind, in pixels, at which a fragment is attached
    /// (default 150 px).
    pub max_along_px: f64,
    /// How many times the column that the stronger plume's rate can carry to a
    /// candidate's source the candidate must hold there to be a source of its own
    /// (default 2.5; fitted on the tuning seeds 101–130 of the detection benchmark:
    /// of 13 candidates the rule marked there before it weighed the dilution, the 3 at
    /// a true source held 3.5, 3.8 and 0.5 times that column, the 10 true fragments at
    /// most 2.0; BENCHMARKS.md, "Where the misses above 80 kg/h went").
    #[serde(default = "default_dilution_factor")]
    pub dilution_factor: f64,
}

fn default_dilution_factor() -> f64 {
    2.5
}

impl Default for FragmentParams {
    fn default() -> Self {
        Self {
            half_angle_deg: 20.0,
            min_cross_px: 3.0,
            max_along_px: 150.0,
            dilution_factor: default_dilution_factor(),
        }
    }
}

/// What the fragment rule knows of the flow: the wind over the pass and its pixel size.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FragmentFlow {
    /// Downwind unit vector `(dcol, drow)` ([`downwind_pixel_unit`]).
    pub downwind: (f64, f64),
    /// Wind speed, m/s.
    pub wind_speed_m_s: f64,
    /// Ground sample distance, m.
    pub gsd_m: f64,
    /// Column mass of 1 ppm·m of the gas, kg/m² ([`QuantifyParams`]).
    pub column_mass_kg_m2_per_ppm_m: f64,
}

impl FragmentFlow {
    /// The flow of a pass with wind.
    pub fn new(transform: &GeoTransform, wind: &Wind, column_mass_kg_m2_per_ppm_m: f64) -> Self {
        Self {
            downwind: downwind_pixel_unit(transform, wind.from_deg),
            wind_speed_m_s: wind.speed_m_s,
            gsd_m: transform.gsd(),
            column_mass_kg_m2_per_ppm_m,
        }
    }

    /// The largest time-averaged column (ppm·m) a source of `rate_kg_h` puts on its
    /// plume's axis `along_px` pixels downwind (Briggs open country, class B).
    pub fn axis_column_ppm_m(&self, rate_kg_h: f64, along_px: f64) -> f64 {
        let x = along_px * self.gsd_m;
        let sigma_y = 0.16 * x / (1.0 + 1e-4 * x).sqrt();
        let speed = self.wind_speed_m_s.max(0.5);
        rate_kg_h
            / 3600.0
            / ((2.0 * std::f64::consts::PI).sqrt() * sigma_y * speed)
            / self.column_mass_kg_m2_per_ppm_m
    }
}

/// What the fragment rule needs of a candidate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FragmentCandidate {
    /// Source column (continuous pixels).
    pub col: f64,
    /// Source row.
    pub row: f64,
    /// Significance.
    pub significance: f64,
    /// Highest enhancement, ppm·m.
    pub peak_ppm_m: f64,
    /// Not rejected.
    pub accepted: bool,
    /// Its emission rate, kg/h, when estimated.
    pub rate_kg_h: Option<f64>,
    /// Its concentration at its source, when measured.
    pub head: Option<SourceColumn>,
}

impl FragmentCandidate {
    /// What the fragment rule needs of a located candidate.
    pub fn of(plume: &crate::plume::Plume, located: &PassPlume) -> Self {
        Self {
            col: located.source.col,
            row: located.source.row,
            significance: plume.significance,
            peak_ppm_m: plume.max_enhancement_ppm_m,
            accepted: plume.rejection.is_none() && !located.vetted_out,
            rate_kg_h: located.emission.as_ref().map(|e| e.rate_kg_h),
            head: located.source_column,
        }
    }
}

/// A plume's column at its source: the inverse-variance mean of the enhancement of
/// its pixels in the 3 × 3 pixels around the source estimate.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SourceColumn {
    /// Mean enhancement, ppm·m.
    pub ppm_m: f64,
    /// Its standard error, ppm·m.
    pub se_ppm_m: f64,
}

impl SourceColumn {
    /// The column of the plume `pixels` (linear indices, with `labels[i] == id`) at
    /// `source`, from the detection's `enhancement` and `sigma`; `None` when none of
    /// its pixels there has finite values.
    pub fn at(
        grid: Grid,
        labels: &[u32],
        id: u32,
        source: &SourceEstimate,
        enhancement: &[f32],
        sigma: &[f32],
    ) -> Option<Self> {
        let (r0, c0) = (source.row.floor(), source.col.floor());
        if !(r0 >= 0.0 && c0 >= 0.0 && r0 < grid.lines as f64 && c0 < grid.samples as f64) {
            return None;
        }
        let centre = grid.index(r0 as usize, c0 as usize);
        let own = grid.window3(centre).filter(|&i| labels[i] == id);
        crate::locate::inverse_variance_mean(own, enhancement, sigma)
            .map(|(ppm_m, se_ppm_m)| Self { ppm_m, se_ppm_m })
    }
}

/// Marks, for each plume, the id of the stronger plume it is a downwind fragment of
/// (see [`FragmentParams`]).
pub fn downwind_fragments(
    plumes: &[FragmentCandidate],
    ids: &[u32],
    flow: &FragmentFlow,
    params: &FragmentParams,
) -> Vec<Option<u32>> {
    let downwind = flow.downwind;
    let tan = params.half_angle_deg.to_radians().tan();
    plumes
        .iter()
        .map(|b| {
            if !b.accepted {
                return None;
            }
            plumes
                .iter()
                .zip(ids)
                .filter(|(a, _)| {
                    let (dc, dr) = (b.col - a.col, b.row - a.row);
                    let along = dc * downwind.0 + dr * downwind.1;
                    let cross = (dc * downwind.1 - dr * downwind.0).abs();
                    a.accepted
                        && a.significance > b.significance
                        && a.peak_ppm_m > b.peak_ppm_m
                        && along > 0.0
                        && along <= params.max_along_px
                        && cross <= (along * tan).max(params.min_cross_px)
                        && !holds_more_than_delivered(a, b, along, flow, params)
                })
                .max_by(|x, y| x.0.significance.total_cmp(&y.0.significance))
                .map(|(_, id)| *id)
        })
        .collect()
}

/// True when candidate `b`, `along_px` downwind of `a`, holds at its source more gas
/// than `a`'s rate can carry there (see [`FragmentParams::dilution_factor`]).
fn holds_more_than_delivered(
    a: &FragmentCandidate,
    b: &FragmentCandidate,
    along_px: f64,
    flow: &FragmentFlow,
    params: &FragmentParams,
) -> bool {
    match (a.rate_kg_h, b.head) {
        (Some(rate), Some(head)) if rate.is_finite() => {
            head.ppm_m - 2.0 * head.se_ppm_m
                > params.dilution_factor * flow.axis_column_ppm_m(rate, along_px)
        }
        _ => false,
    }
}

/// A plume candidate of one pass with its source and (when wind is known) emission rate.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PassPlume {
    /// Plume id within the pass (the value in [`PlumeSet::labels`]).
    pub plume_id: u32,
    /// Source position in continuous pixel coordinates.
    pub source: SourceEstimate,
    /// Source position in map coordinates (x = easting, y = northing).
    pub source_map: (f64, f64),
    /// Source uncertainty radius in map units (m).
    pub source_radius_m: f64,
    /// The candidate's column at its source (what the fragment rule weighs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_column: Option<SourceColumn>,
    /// Emission-rate estimate; `None` without wind, or for rejected candidates.
    pub emission: Option<Emission>,
    /// When this accepted candidate lies in the downwind corridor of a more significant
    /// plume of the same pass, that plume's id: the candidate is a detached piece of its
    /// plume (puffs carried downwind), not a source of its own, and is not reported as
    /// a site.
    pub fragment_of: Option<u32>,
    /// Its false-site figure, q-value over the pass and gas probability.
    #[serde(flatten)]
    pub figures: SceneFigures,
    /// True when its gas probability is below [`VettingParams::min_gas_probability`]:
    /// vetted out, not reported as a site.
    #[serde(default)]
    pub vetted_out: bool,
    /// True when the candidate's scene-level false-alarm probability is above
    /// [`PassParams::max_false_alarm_probability`], or its expected false sites per
    /// km² above [`PassParams::false_sites_per_km2`].
    pub not_significant: bool,
}

/// Result of [`analyse_pass`].
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PassAnalysis {
    /// Pass (flight line) name.
    pub pass: String,
    /// Candidates, accepted and rejected, with labels and CFAR statistics.
    pub plumes: PlumeSet,
    /// Source and emission of each candidate, in the order of `plumes.plumes`.
    pub located: Vec<PassPlume>,
    /// Wind used for this pass.
    pub wind: Option<Wind>,
    /// The scene-level false-alarm probability limit the analysis applied.
    pub max_false_alarm_probability: f64,
    /// The operating point the analysis applied, false sites per km², if any.
    #[serde(default)]
    pub false_sites_per_km2: Option<f64>,
    /// With the operating point, the false sites over the scene a candidate may expect
    /// and still be significant ([`PassParams::max_false_sites_per_scene`]).
    #[serde(default)]
    pub max_false_sites_per_scene: f64,
    /// The smallest gas probability of a reported source the analysis applied, if any.
    #[serde(default)]
    pub min_gas_probability: Option<f64>,
}

/// Finds, locates and quantifies the plumes of one pass.
///
/// `invalid` flags saturated or otherwise bad pixels (`lines × samples`, true = bad)
/// besides the NaN of the maps. Without `wind`, sources are placed at the enhancement
/// maximum and no emission rate is estimated.
///
/// # Units
/// The ground sample distance comes from `transform` (m); wind in m/s.
pub fn analyse_pass(
    pass: &str,
    maps: &DetectionMaps,
    transform: &GeoTransform,
    wind: Option<Wind>,
    invalid: Option<&[bool]>,
    params: &PassParams,
) -> Result<PassAnalysis> {
    analyse_pass_with_spectra(pass, maps, transform, wind, invalid, None, params)
}

/// [`analyse_pass`] with the pass's radiance in the gas window, so that candidates the
/// other rules accept also go through the narrow-band check
/// ([`crate::plume::narrowband`]): a candidate whose enhancement is a broad surface absorption
/// feature (asphalt, tar, plastics, clays, carbonates) rather than gas is rejected as
/// [`Rejection::BroadbandSurface`].
pub fn analyse_pass_with_spectra(
    pass: &str,
    maps: &DetectionMaps,
    transform: &GeoTransform,
    wind: Option<Wind>,
    invalid: Option<&[bool]>,
    spectra: Option<&WindowSpectra<'_>>,
    params: &PassParams,
) -> Result<PassAnalysis> {
    analyse_pass_focused(pass, maps, transform, wind, invalid, spectra, None, params)
}

/// [`analyse_pass_with_spectra`] where only candidates with a pixel in `focus`
/// (`lines × samples`) go through the narrow-band check; the others keep the verdict
/// of the other rules. For experiments that only ask about some pixels (the
/// detection limit asks about its injected plumes): the narrow-band check reads every
/// candidate's spectra, and the scene's own clutter candidates need not be read again.
#[allow(clippy::too_many_arguments)]
pub fn analyse_pass_focused(
    pass: &str,
    maps: &DetectionMaps,
    transform: &GeoTransform,
    wind: Option<Wind>,
    invalid: Option<&[bool]>,
    spectra: Option<&WindowSpectra<'_>>,
    focus: Option<&[bool]>,
    params: &PassParams,
) -> Result<PassAnalysis> {
    let prepared = PassMaps::new(maps, params.smoothing_radius)?;
    analyse_pass_prepared(
        pass, &prepared, transform, wind, invalid, spectra, focus, params,
    )
}

/// [`analyse_pass_focused`] on maps already prepared for the analysis (smoothed with
/// `params.smoothing_radius`).
#[allow(clippy::too_many_arguments)]
pub fn analyse_pass_prepared(
    pass: &str,
    maps: &PassMaps,
    transform: &GeoTransform,
    wind: Option<Wind>,
    invalid: Option<&[bool]>,
    spectra: Option<&WindowSpectra<'_>>,
    focus: Option<&[bool]>,
    params: &PassParams,
) -> Result<PassAnalysis> {
    if let Some(w) = &wind {
        w.validate()?;
    }
    if maps.radius != params.smoothing_radius {
        return Err(crate::Error::Invalid(format!(
            "pass analysis: maps smoothed with radius {}, parameters ask for {}",
            maps.radius, params.smoothing_radius
        )));
    }
    let grid = maps.grid;
    let (z, enhancement, albedo) = (&maps.z, &maps.enhancement, &maps.albedo);
    let inputs = PlumeInputs {
        grid,
        z,
        enhancement,
        albedo: Some(albedo),
        invalid,
        reference: maps.reference.as_ref(),
    };
    let mut plumes = find_plumes(&inputs, &params.cfar, &params.reject)?;
    let gsd = transform.gsd();
    let per_km2 = 1e6 / (gsd * gsd);
    if let (Some(w), true) = (&wind, plumes.null.evidence.is_empty()) {
        let components = std::mem::take(&mut plumes.null_components);
        plumes.null.evidence = null_evidence(maps, &components, transform, w, spectra, params)?;
    }
    let null = plumes
        .null
        .calibration(&params.vetting.model, params.vetting.min_gas_probability);
    let calibrated: Vec<f64> = plumes
        .plumes
        .iter()
        .map(|p| null.false_rate_per_pixel(p.significance) * per_km2)
        .collect();
    let area_km2 = plumes.n_valid as f64 / per_km2;
    if let Some(spectra) = spectra {
        let in_focus = |(p, f): &(&mut crate::plume::Plume, &f64)| {
            focus.is_none_or(|f| p.pixels.iter().any(|&i| f[i]))
                && (params.analyse_not_significant
                    || params.is_significant(p.false_alarm_probability, **f, area_km2))
        };
        for (p, _) in plumes
            .plumes
            .iter_mut()
            .zip(&calibrated)
            .filter(|(p, _)| p.rejection.is_none())
            .filter(in_focus)
        {
            let check = narrowband_column(
                spectra,
                grid,
                &p.pixels,
                &plumes.labels,
                enhancement,
                &params.narrowband,
            )?;
            p.narrowband = check;
            if let Some(nb) = check.filter(|nb| nb.is_surface(&params.narrowband)) {
                p.rejection = Some(Rejection::BroadbandSurface {
                    narrowband_ppm_m: nb.column_ppm_m,
                    se_ppm_m: nb.se_ppm_m,
                    matched_filter_ppm_m: nb.matched_filter_ppm_m,
                });
            }
        }
    }
    let downwind = wind.map(|w| downwind_pixel_unit(transform, w.from_deg));
    let (rate_enhancement, rate_sigma) = maps.rate_values();
    let mut located = Vec::with_capacity(plumes.plumes.len());
    for (n, p) in plumes.plumes.iter().enumerate() {
        let source = locate_source_weighted(
            grid,
            &p.pixels,
            enhancement,
            Some(&maps.sigma),
            downwind,
            &params.source,
        )?;
        let source_map = transform.pixel_to_map(source.col, source.row);
        let not_significant =
            !params.is_significant(p.false_alarm_probability, calibrated[n], area_km2);
        let wanted = params.analyse_not_significant || !not_significant;
        let emission = match (&wind, downwind, &p.rejection) {
            (Some(w), Some(dw), None) if wanted => Some(quantify(
                &PlumePixels {
                    grid,
                    pixels: &p.pixels,
                    enhancement: rate_enhancement,
                    sigma: Some(rate_sigma),
                },
                w,
                gsd,
                (source.col, source.row),
                dw,
                &params.quantify,
            )?),
            _ => None,
        };
        let gas_probability =
            VettingFeatures::of(p.significance, emission.as_ref(), p.narrowband.as_ref())
                .map(|f| params.vetting.model.gas_probability(&f));
        let vetted_out = p.rejection.is_none()
            && params
                .vetting
                .min_gas_probability
                .zip(gas_probability)
                .is_some_and(|(min, g)| g < min);
        located.push(PassPlume {
            plume_id: p.id,
            source,
            source_map,
            source_radius_m: source.radius_px * gsd,
            source_column: SourceColumn::at(
                grid,
                &plumes.labels,
                p.id,
                &source,
                enhancement,
                &maps.sigma,
            ),
            emission,
            fragment_of: None,
            figures: SceneFigures {
                false_sites_per_km2: calibrated[n].is_finite().then_some(calibrated[n]),
                q_value: None,
                gas_probability,
            },
            vetted_out,
            not_significant,
        });
    }
    let q_values = q_values(&plumes, &located, &calibrated, per_km2);
    for (l, q) in located.iter_mut().zip(q_values) {
        l.figures.q_value = q.is_finite().then_some(q);
    }
    if let Some(w) = &wind {
        let flow = FragmentFlow::new(transform, w, params.quantify.column_mass_kg_m2_per_ppm_m);
        let summary: Vec<FragmentCandidate> = plumes
            .plumes
            .iter()
            .zip(&located)
            .map(|(p, l)| FragmentCandidate::of(p, l))
            .collect();
        let ids: Vec<u32> = plumes.plumes.iter().map(|p| p.id).collect();
        for (l, f) in
            located
                .iter_mut()
                .zip(downwind_fragments(&summary, &ids, &flow, &params.fragments))
        {
            l.fragment_of = f;
        }
    }
    Ok(PassAnalysis {
        max_false_alarm_probability: params.max_false_alarm_probability,
        false_sites_per_km2: params.false_sites_per_km2,
        max_false_sites_per_scene: params.max_false_sites_per_scene,
        min_gas_probability: params.vetting.min_gas_probability,
        pass: pass.to_string(),
        plumes,
        located,
        wind,
    })
}

/// The empirical null of prepared maps ([`crate::plume::null`]): what the pass's
/// segmentation and rejection rules find on the negated score, over these maps alone,
/// with the vetting evidence of its candidates for the vetted false-site rate,
/// estimated with `wind` and `spectra` (the radiance of these maps' pixels) as the
/// analysis does (none without wind). The stream takes it from its warm-up lines.
pub fn empirical_null(
    maps: &PassMaps,
    transform: &GeoTransform,
    wind: Option<&Wind>,
    spectra: Option<&WindowSpectra<'_>>,
    params: &PassParams,
) -> Result<crate::plume::NullSample> {
    let inputs = PlumeInputs {
        grid: maps.grid,
        z: &maps.z,
        enhancement: &maps.enhancement,
        albedo: Some(&maps.albedo),
        invalid: None,
        reference: None,
    };
    let set = find_plumes(&inputs, &params.cfar, &params.reject)?;
    let mut null = set.null;
    if let Some(w) = wind {
        w.validate()?;
        null.evidence = null_evidence(maps, &set.null_components, transform, w, spectra, params)?;
    }
    Ok(null)
}

/// Vetting evidence of the null candidates (`components`, pixels on the negated
/// score): their sources located and emissions estimated on the negated rate
/// enhancement as a candidate's are on the enhancement, and, with `spectra`, the
/// narrow-band check on the negated enhancement (its column negated back: the null
/// candidate's narrow-band "gas" is what its spectra say against the target with the
/// sign flipped). Empty when vetting is off.
fn null_evidence(
    maps: &PassMaps,
    components: &[Vec<usize>],
    transform: &GeoTransform,
    wind: &Wind,
    spectra: Option<&WindowSpectra<'_>>,
    params: &PassParams,
) -> Result<Vec<CandidateEvidence>> {
    if params.vetting.min_gas_probability.is_none() || components.is_empty() {
        return Ok(Vec::new());
    }
    let grid = maps.grid;
    let gsd = transform.gsd();
    let dw = downwind_pixel_unit(transform, wind.from_deg);
    let negated = |v: &[f32]| -> Vec<f32> { v.iter().map(|x| -x).collect() };
    let enhancement = negated(&maps.enhancement);
    let (rate_enhancement, rate_sigma) = maps.rate_values();
    let rate_enhancement = negated(rate_enhancement);
    // Only the two point fluxes enter the evidence: no Monte-Carlo draws.
    let quantify_params = QuantifyParams {
        draws: 0,
        ..params.quantify
    };
    // The null candidates' own labels: each is the candidate of the narrow-band
    // check, and none is in another's background ring.
    let labels = spectra.map(|_| {
        let mut labels = vec![0u32; grid.len()];
        for (k, pixels) in components.iter().enumerate() {
            for &i in pixels {
                labels[i] = k as u32 + 1;
            }
        }
        labels
    });
    let mut evidence = Vec::with_capacity(components.len());
    for pixels in components {
        let source = locate_source_weighted(
            grid,
            pixels,
            &enhancement,
            Some(&maps.sigma),
            Some(dw),
            &params.source,
        )?;
        let emission = quantify(
            &PlumePixels {
                grid,
                pixels,
                enhancement: &rate_enhancement,
                sigma: Some(rate_sigma),
            },
            wind,
            gsd,
            (source.col, source.row),
            dw,
            &quantify_params,
        )?;
        let narrowband = match (spectra, &labels) {
            (Some(spectra), Some(labels)) => narrowband_column(
                spectra,
                grid,
                pixels,
                labels,
                &enhancement,
                &params.narrowband,
            )?
            .map(|nb| NarrowbandColumn {
                column_ppm_m: -nb.column_ppm_m,
                ..nb
            }),
            _ => None,
        };
        evidence.push(CandidateEvidence::of(&emission, narrowband.as_ref()));
    }
    Ok(evidence)
}

/// q-values of the candidates that pass the rejection rules and vetting (NaN for the
/// others):
/// at a threshold `s`, the expected false candidates of the scene (the null's rate per
/// km² times the scene's area) over the candidates kept at or above `s`; each
/// candidate's q-value is the smallest such ratio over the thresholds that keep it.
fn q_values(
    plumes: &PlumeSet,
    located: &[PassPlume],
    calibrated: &[f64],
    per_km2: f64,
) -> Vec<f64> {
    let area_km2 = plumes.n_valid as f64 / per_km2;
    let mut order: Vec<usize> = (0..plumes.plumes.len())
        .filter(|&i| {
            plumes.plumes[i].rejection.is_none()
                && !located[i].vetted_out
                && calibrated[i].is_finite()
        })
        .collect();
    // Most significant first: the k-th holds the k kept at its threshold.
    order.sort_by(|&a, &b| {
        plumes.plumes[b]
            .significance
            .total_cmp(&plumes.plumes[a].significance)
    });
    let mut q = vec![f64::NAN; plumes.plumes.len()];
    let mut running = f64::INFINITY;
    for (k, &i) in order.iter().enumerate().rev() {
        let fdr = (calibrated[i] * area_km2 / (k + 1) as f64).min(1.0);
        running = running.min(fdr);
        q[i] = running;
    }
    q
}

/// Pixels that may be plume (`lines × samples`, true = may be plume): the smoothed
/// significance, normalised by its column's robust background as the CFAR rule does,
/// above the growth threshold. The stream keeps these pixels out of its background
/// statistics, and a scan can re-estimate its statistics without them.
pub fn possible_plume_pixels(maps: &DetectionMaps, params: &PassParams) -> Result<Vec<bool>> {
    let prepared = PassMaps::new(maps, params.smoothing_radius)?;
    let grid = prepared.grid;
    let background = crate::plume::column_background(&prepared.z, grid)?;
    let zn = crate::plume::normalised_z(&prepared.z, grid, &background)?;
    let grow = params.cfar.growth_threshold()?;
    Ok(zn.iter().map(|&v| f64::from(v) > grow).collect())
}

/// Enhancement and sigma for emission rates (`lines × samples`, NaN where the
/// detection's values stand): every [`possible_plume_pixels`] pixel re-estimated
/// against its column's statistics with the detected gas taken out of all of them
/// ([`crate::detect::fixed::ColumnFilters::gas_free_outputs`]); hand them to
/// [`PassMaps::with_rate_values`]. `pixel(line, col)` gives the `nb` staged values the
/// filters were estimated on.
///
/// Detection keeps the full statistics: re-detecting with possibly-plume pixels left
/// out of the statistics (`scan --exclude-plume-pixels`) tripled the false sites of
/// the detection benchmark's tuning seeds (1.95 → 5.85 per km²), because the clutter
/// among them then stands out too. Rates measured in BENCHMARKS.md ("Detection
/// benchmark").
pub fn plume_free_rate_values<'a, F>(
    maps: &DetectionMaps,
    filters: &crate::detect::fixed::ColumnFilters,
    params: &PassParams,
    nb: usize,
    pixel: F,
) -> Result<(Vec<f32>, Vec<f32>)>
where
    F: Fn(usize, usize) -> &'a [f32] + Sync,
{
    let flagged = possible_plume_pixels(maps, params)?;
    let enhancement = crate::raster::nodata_as_nan(&maps.enhancement);
    let albedo = crate::raster::nodata_as_nan(&maps.albedo);
    filters.gas_free_outputs(&flagged, &enhancement, &albedo, nb, pixel)
}

impl PassAnalysis {
    /// Whether a candidate is reported as a source: not a known false positive, not a
    /// downwind fragment, significant at the scene level, not vetted out. (The reason
    /// in words, when it is not, is the scan library's `Verdict`.)
    pub fn is_reported(plume: &crate::plume::Plume, located: &PassPlume) -> bool {
        plume.rejection.is_none()
            && located.fragment_of.is_none()
            && !located.not_significant
            && !located.vetted_out
    }

    /// The accepted plumes that are not downwind fragments, as site detections (rates
    /// NaN where no emission was estimated).
    pub fn detections(&self) -> Vec<Detection> {
        self.plumes
            .plumes
            .iter()
            .zip(&self.located)
            .filter(|(p, l)| Self::is_reported(p, l))
            .map(|(p, l)| Detection {
                pass: self.pass.clone(),
                plume_id: p.id,
                x: l.source_map.0,
                y: l.source_map.1,
                radius: l.source_radius_m,
                rate_kg_h: l.emission.map_or(f64::NAN, |e| e.rate_kg_h),
                rate_sd_kg_h: l.emission.map_or(f64::NAN, |e| e.rate_sd_kg_h),
                max_enhancement_ppm_m: p.max_enhancement_ppm_m,
                significance: p.significance,
                false_alarm_probability: p.false_alarm_probability,
                figures: l.figures,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cand(col: f64, row: f64, significance: f64, peak: f64, accepted: bool) -> FragmentCandidate {
        FragmentCandidate {
            col,
            row,
            significance,
            peak_ppm_m: peak,
            accepted,
            rate_kg_h: None,
            head: None,
        }
    }

    /// Wind towards +col at 3 m/s over 3 m pixels.
    fn east() -> FragmentFlow {
        FragmentFlow {
            downwind: (1.0, 0.0),
            wind_speed_m_s: 3.0,
            gsd_m: 3.0,
            column_mass_kg_m2_per_ppm_m: crate::quantify::QuantifyParams::default()
                .column_mass_kg_m2_per_ppm_m,
        }
    }

    #[test]
    fn weaker_plume_in_the_downwind_corridor_is_a_fragment() {
        // Wind towards +col. Plume 1 at (10, 50), strong; plume 2 40 px downwind and
        // 5 px off axis, weaker: a fragment. Plume 3 40 px upwind: its own source.
        // Plume 4 downwind but 30 px off axis (beyond 20°): its own source.
        let plumes = [
            cand(10.0, 50.0, 12.0, 5000.0, true),
            cand(50.0, 55.0, 6.0, 1500.0, true),
            cand(-30.0, 50.0, 5.0, 1500.0, true),
            cand(50.0, 80.0, 5.0, 1500.0, true),
        ];
        let f = downwind_fragments(&plumes, &[1, 2, 3, 4], &east(), &FragmentParams::default());
        assert_eq!(f, vec![None, Some(1), None, None]);
    }

    #[test]
    fn stronger_downwind_plume_is_never_a_fragment_and_rejected_parents_do_not_count() {
        let plumes = [
            cand(10.0, 50.0, 5.0, 3000.0, true),
            cand(30.0, 50.0, 9.0, 3000.0, true),
            cand(0.0, 50.0, 20.0, 9000.0, false),
        ];
        let f = downwind_fragments(&plumes, &[1, 2, 3], &east(), &FragmentParams::default());
        assert_eq!(f, vec![None, None, None]);
    }

    /// Regression (held-out scene, seed 1001): a 450 kg/h source 110 px downwind of a
    /// 300 kg/h one was dismissed as its fragment because the upwind plume was larger
    /// and so more significant, although its own peak (8,400 ppm·m) was higher than
    /// the upwind plume's (6,400): dilution never raises the peak of a detached piece.
    #[test]
    fn a_second_source_downwind_with_a_higher_peak_is_not_a_fragment() {
        let plumes = [
            cand(40.0, 60.0, 30.0, 6400.0, true),
            cand(150.0, 60.0, 15.0, 8400.0, true),
        ];
        let f = downwind_fragments(&plumes, &[1, 2], &east(), &FragmentParams::default());
        assert_eq!(f, vec![None, None]);
    }

    /// Tuning seed 110 of the detection benchmark: an 81 kg/h source 122 px downwind of
    /// a 281 kg/h one (read as 170 kg/h), weaker and lower at its peak, was dismissed
    /// as its fragment, although the 871 ± 183 ppm·m at its source is six times what
    /// 170 kg/h can carry 366 m downwind at 3.2 m/s (about 143 ppm·m on the axis). A
    /// diluted piece of the upwind plume holding as little as the axis column allows
    /// stays a fragment.
    #[test]
    fn a_candidate_holding_more_gas_than_the_upwind_rate_can_carry_is_a_source() {
        let flow = FragmentFlow {
            wind_speed_m_s: 3.2,
            ..east()
        };
        let carried = flow.axis_column_ppm_m(170.0, 122.0);
        assert!((120.0..170.0).contains(&carried), "{carried}");
        // Halving the distance roughly doubles the column (σ_y ∝ x nearly).
        let near = flow.axis_column_ppm_m(170.0, 61.0);
        assert!((1.9..2.1).contains(&(near / carried)), "{}", near / carried);
        let parent = FragmentCandidate {
            rate_kg_h: Some(170.0),
            ..cand(10.0, 50.0, 14.8, 5537.0, true)
        };
        let with_head = |ppm_m: f64, se_ppm_m: f64| FragmentCandidate {
            head: Some(SourceColumn { ppm_m, se_ppm_m }),
            ..cand(132.0, 50.0, 6.4, 2018.0, true)
        };
        let params = FragmentParams::default();
        for (head, expected) in [
            (with_head(871.0, 183.0), None),
            // Within the factor (2.5 × ~143 ppm·m) after two standard errors.
            (with_head(500.0, 100.0), Some(1)),
            (with_head(871.0, 300.0), Some(1)),
            // No measured column: the rule as before.
            (cand(132.0, 50.0, 6.4, 2018.0, true), Some(1)),
        ] {
            let f = downwind_fragments(&[parent, head], &[1, 2], &flow, &params);
            assert_eq!(f, vec![None, expected], "{head:?}");
        }
        // Without the parent's rate nothing is weighed.
        let unrated = FragmentCandidate {
            rate_kg_h: None,
            ..parent
        };
        let f = downwind_fragments(&[unrated, with_head(871.0, 183.0)], &[1, 2], &flow, &params);
        assert_eq!(f, vec![None, Some(1)]);
    }

    /// The column at a source is the inverse-variance mean of the plume's own pixels
    /// in the 3 × 3 around it.
    #[test]
    fn the_source_column_weighs_the_plumes_own_pixels_by_their_precision() {
        let grid = Grid::new(4, 4);
        let mut labels = vec![0u32; 16];
        let mut e = vec![0.0f32; 16];
        let mut s = vec![100.0f32; 16];
        // Pixels (1,1) and (1,2) of plume 7; (2,1) of another plume.
        for (i, v, sd, id) in [
            (5, 1000.0, 100.0, 7),
            (6, 400.0, 200.0, 7),
            (9, 9000.0, 100.0, 3),
        ] {
            labels[i] = id;
            e[i] = v;
            s[i] = sd;
        }
        e[10] = f32::NAN;
        labels[10] = 7;
        let source = SourceEstimate {
            col: 1.6,
            row: 1.4,
            radius_px: 0.5,
            method: crate::locate::SourceMethod::UpwindEnd,
        };
        let c = SourceColumn::at(grid, &labels, 7, &source, &e, &s).unwrap();
        // Weights 1/100² and 1/200²: (1000·4 + 400·1) / 5 = 880.
        assert!((c.ppm_m - 880.0).abs() < 1e-9, "{c:?}");
        assert!((c.se_ppm_m - (1.0f64 / (1e-4 + 2.5e-5)).sqrt()).abs() < 1e-9);
        assert!(SourceColumn::at(grid, &labels, 9, &source, &e, &s).is_none());
    }

    /// The default operating point: at most 0.1 expected false sites per km², or at
    /// most 0.01 over the whole scene; without it, the Gaussian limit.
    #[test]
    fn the_operating_point_is_per_km2_or_per_scene_and_none_restores_the_gaussian_limit() {
        let p = PassParams::default();
        assert_eq!(p.false_sites_per_km2, Some(DEFAULT_FALSE_SITES_PER_KM2));
        // A flight line of 27 km²: the per-km² rate decides, whatever the Gaussian says.
        assert!(p.is_significant(1.0, 0.1, 27.0));
        assert!(!p.is_significant(1e-30, 0.11, 27.0));
        // A drone survey of 0.016 km²: 0.12 per km² is 0.002 false sites over it.
        assert!(p.is_significant(1.0, 0.12, 0.016));
        assert!(!p.is_significant(1e-30, 0.7, 0.016));
        let gaussian = PassParams {
            false_sites_per_km2: None,
            ..PassParams::default()
        };
        assert!(gaussian.is_significant(0.01, 50.0, 27.0));
        assert!(!gaussian.is_significant(0.011, 0.0, 27.0));
        // A configuration without the field gets the default; an explicit null the
        // Gaussian limit.
        let mut json = serde_json::to_value(&gaussian).unwrap();
        let fields = json.as_object_mut().unwrap();
        assert!(fields["false_sites_per_km2"].is_null());
        let null: PassParams = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(null.false_sites_per_km2, None);
        let fields = json.as_object_mut().unwrap();
        fields.remove("false_sites_per_km2");
        fields.remove("max_false_sites_per_scene");
        let missing: PassParams = serde_json::from_value(json).unwrap();
        assert_eq!(missing.false_sites_per_km2, Some(0.1));
        assert_eq!(missing.max_false_sites_per_scene, 0.01);
    }
}
