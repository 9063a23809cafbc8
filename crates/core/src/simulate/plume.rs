//! Point-source plumes as Gaussian puffs along a meandering centre line, rendered as
//! pixel-integrated column enhancement (ppm·m).
//!
//! # Model
//! A continuous release of `Q` kg/h is cut into puffs. The wind has a constant speed
//! `U` and a direction that meanders as an Ornstein–Uhlenbeck process around its mean
//! (standard deviation `meander_sigma_deg`, correlation time `meander_tau_s`). The wind
//! is uniform in space, so every puff follows the same wind history: the puff released
//! `a` seconds ago sits at `source + ∫₀ᵃ w(s) ds`, where `w(s)` is the wind `s` seconds
//! ago. That curve is the plume's centre line.
//!
//! Each puff is an isotropic horizontal Gaussian in column mass with
//! `σ(x)² = σ₀² + (k·x / √(1 + 10⁻⁴·x))²` m, `x = U·a` the distance travelled and `k` the
//! Briggs (1973) rural horizontal dispersion coefficient of the Pasquill stability class.
//! Puffs are spaced at most `σ/2` apart along the path, so their sum is a smooth plume.
//! Column mass is integrated exactly over each pixel (differences of the normal CDF at the
//! pixel edges), so the mass in the raster is the released mass inside the scene.
//!
//! # Units
//! Rate kg/h, wind m/s, GSD m, enhancement ppm·m with
//! 1 ppm·m CH4 = [`crate::gas::PPM_M_TO_KG_M2`] kg/m² (ideal gas at 273.15 K, 101 325 Pa,
//! M = 16.043 g/mol, the convention of the bundled truth scenes).
//!
//! # Geometry
//! The grid is north-up: row (line) increases southward, column (sample) eastward, and
//! pixel `(i, j)` covers `[i, i+1) × [j, j+1)` in fractional (row, col) coordinates, so a
//! source at `row = 10.5, col = 20.5` sits at the centre of pixel (10, 20).

use crate::gas::PPM_M_TO_KG_M2;
use crate::math::normal::normal_cdf;
use crate::rng::SeededRng;
use crate::{Error, Result};

/// Pasquill–Gifford atmospheric stability class, from A (very unstable, fast lateral
/// spreading) to F (stable, narrow plumes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum Stability {
    /// Very unstable.
    A,
    /// Moderately unstable.
    B,
    /// Slightly unstable.
    C,
    /// Neutral (the default).
    #[default]
    D,
    /// Slightly stable.
    E,
    /// Stable.
    F,
}

impl Stability {
    /// Briggs (1973) open-country coefficient `k` of `σ_y = k·x·(1 + 10⁻⁴ x)^(-1/2)`.
    ///
    /// # Units
    /// Dimensionless (σ_y and x in m).
    pub fn briggs_k(self) -> f64 {
        match self {
            Self::A => 0.22,
            Self::B => 0.16,
            Self::C => 0.11,
            Self::D => 0.08,
            Self::E => 0.06,
            Self::F => 0.04,
        }
    }

    /// Parses "A" … "F" (case-insensitive).
    pub fn parse(s: &str) -> Result<Self> {
        match s.trim().to_ascii_uppercase().as_str() {
            "A" => Ok(Self::A),
            "B" => Ok(Self::B),
            "C" => Ok(Self::C),
            "D" => Ok(Self::D),
            "E" => Ok(Self::E),
            "F" => Ok(Self::F),
            other => Err(Error::Invalid(format!(
                "stability class {other:?}: expected one of A, B, C, D, E, F"
            ))),
        }
    }

    /// The class letter.
    pub fn letter(self) -> &'static str {
        match self {
            Self::A => "A",
            Self::B => "B",
            Self::C => "C",
            Self::D => "D",
            Self::E => "E",
            Self::F => "F",
        }
    }
}

/// A point source of known emission rate.
#[derive(Debug, Clone, PartialEq)]
pub struct PointSource {
    /// Fractional row (line) of the source; pixel `i` covers `[i, i+1)`.
    pub row: f64,
    /// Fractional column (sample) of the source; pixel `j` covers `[j, j+1)`.
    pub col: f64,
    /// Emission rate.
    ///
    /// # Units
    /// kg/h.
    pub rate_kg_h: f64,
    /// Mean wind speed.
    ///
    /// # Units
    /// m/s.
    pub wind_speed_m_s: f64,
    /// Mean wind direction in the meteorological convention: the direction the wind
    /// blows **from**, degrees clockwise from north (270 = westerly wind, plume goes east).
    pub wind_from_deg: f64,
    /// Stability class (sets the lateral spreading).
    pub stability: Stability,
}

/// Grid the plume is rendered on (north-up, square pixels).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PlumeGrid {
    /// Down-track lines (rows).
    pub lines: usize,
    /// Cross-track samples (columns).
    pub samples: usize,
    /// Ground sample distance.
    ///
    /// # Units
    /// m.
    pub gsd_m: f64,
}

/// Tuning of the puff model; the defaults suit 1–10 m GSD airborne scenes and 30–60 m
/// satellite scenes alike.
#[derive(Debug, Clone, PartialEq)]
pub struct PlumeParams {
    /// Standard deviation of the wind-direction meander, degrees (0 = straight plume).
    pub meander_sigma_deg: f64,
    /// Correlation time of the meander, s.
    pub meander_tau_s: f64,
    /// Puff width at release, m (the source's physical size).
    pub initial_sigma_m: f64,
    /// Largest spacing between consecutive puffs, in units of the local puff σ.
    pub max_spacing_sigma: f64,
    /// Puffs are evaluated out to this many σ from their centre.
    pub truncate_sigma: f64,
}

impl PlumeParams {
    /// The defaults with a source size that suits a ground sample distance of `gsd_m`:
    /// a puff width at release of half a pixel, between 0.1 m and the default 1.5 m.
    /// Airborne and satellite scenes (GSD ≥ 3 m) keep 1.5 m, where the source is inside
    /// one pixel anyway; at drone scale (0.1–1 m) the source is a decimetre vent or
    /// pipe, so the plume's near-source structure is resolved instead of starting as a
    /// 3.5 m wide cloud.
    ///
    /// # Units
    /// `gsd_m` in m.
    pub fn for_gsd(gsd_m: f64) -> Self {
        let d = Self::default();
        let initial_sigma_m = if gsd_m.is_finite() {
            (0.5 * gsd_m).clamp(0.1, d.initial_sigma_m)
        } else {
            d.initial_sigma_m
        };
        Self {
            initial_sigma_m,
            ..d
        }
    }
}

impl Default for PlumeParams {
    fn default() -> Self {
        Self {
            meander_sigma_deg: 15.0,
            meander_tau_s: 40.0,
            initial_sigma_m: 1.5,
            max_spacing_sigma: 0.5,
            truncate_sigma: 5.0,
        }
    }
}

/// What the renderer knows about one plume besides its raster.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct PlumeTruth {
    /// Number of puffs that were rendered.
    pub n_puffs: usize,
    /// Mass released over the simulated travel time, kg.
    pub released_kg: f64,
    /// Simulated travel time (age of the oldest puff), s.
    pub travel_time_s: f64,
    /// Time the gas spends inside the scene: the summed release interval of the puffs
    /// whose centre lies inside the grid, s. The mass in the scene is ≈ `Q ·` this.
    pub residence_time_in_scene_s: f64,
    /// Mass in the rendered raster (sum of column mass × pixel area), kg.
    pub mass_in_scene_kg: f64,
    /// Largest pixel enhancement of this plume, ppm·m.
    pub max_enhancement_ppm_m: f64,
    /// Centre line, fractional (row, col), from the source downwind, one point per puff
    /// (thinned to at most 64 points).
    pub centreline_rowcol: Vec<[f64; 2]>,
}

/// Fraction of a unit 1-D Gaussian (centre `mu`, width `sigma`) in each cell `[k, k+1)`
/// for `k` in `lo..hi`, written into `out`. Differences of the CDF telescope, so the
/// fractions add up to the mass between `lo` and `hi` exactly.
fn cell_fractions(mu: f64, sigma: f64, lo: usize, hi: usize, out: &mut Vec<f64>) {
    out.clear();
    let mut prev = normal_cdf((lo as f64 - mu) / sigma);
    for k in lo..hi {
        let next = normal_cdf((k as f64 + 1.0 - mu) / sigma);
        out.push(next - prev);
        prev = next;
    }
}

/// Horizontal puff width after travelling `x_m` metres with Briggs coefficient `k`.
///
/// # Units
/// m.
pub fn puff_sigma_m(x_m: f64, k: f64, initial_sigma_m: f64) -> f64 {
    let s = k * x_m / (1.0 + 1e-4 * x_m).sqrt();
    (initial_sigma_m * initial_sigma_m + s * s).sqrt()
}

fn validate(grid: &PlumeGrid, src: &PointSource, p: &PlumeParams) -> Result<()> {
    let bad = |what: &str, v: f64, want: &str| {
        Err(Error::Invalid(format!(
            "plume {what} = {v}: expected {want}"
        )))
    };
    if grid.lines == 0 || grid.samples == 0 {
        return Err(Error::Invalid(format!(
            "plume grid {} × {}: expected at least one line and one sample",
            grid.lines, grid.samples
        )));
    }
    if !(grid.gsd_m.is_finite() && grid.gsd_m > 0.0) {
        return bad("gsd_m", grid.gsd_m, "a positive number of metres");
    }
    if !(src.rate_kg_h.is_finite() && src.rate_kg_h >= 0.0) {
        return bad("rate_kg_h", src.rate_kg_h, "a finite rate ≥ 0 kg/h");
    }
    if !(src.wind_speed_m_s.is_finite() && src.wind_speed_m_s >= 0.1) {
        return bad("wind_speed_m_s", src.wind_speed_m_s, "at least 0.1 m/s");
    }
    if !src.wind_from_deg.is_finite() {
        return bad(
            "wind_from_deg",
            src.wind_from_deg,
            "a finite direction in degrees",
        );
    }
    if !(src.row.is_finite() && src.col.is_finite()) {
        return Err(Error::Invalid(format!(
            "plume source position ({}, {}): expected finite row and column",
            src.row, src.col
        )));
    }
    if !(p.meander_sigma_deg.is_finite() && p.meander_sigma_deg >= 0.0) {
        return bad("meander_sigma_deg", p.meander_sigma_deg, "≥ 0 degrees");
    }
    if !(p.meander_tau_s.is_finite() && p.meander_tau_s > 0.0) {
        return bad("meander_tau_s", p.meander_tau_s, "> 0 s");
    }
    if !(p.initial_sigma_m.is_finite() && p.initial_sigma_m > 0.0) {
        return bad("initial_sigma_m", p.initial_sigma_m, "> 0 m");
    }
    if !(p.max_spacing_sigma > 0.0 && p.max_spacing_sigma <= 2.0) {
        return bad("max_spacing_sigma", p.max_spacing_sigma, "in (0, 2]");
    }
    if !(p.truncate_sigma >= 3.0 && p.truncate_sigma.is_finite()) {
        return bad("truncate_sigma", p.truncate_sigma, "≥ 3");
    }
    Ok(())
}

/// Renders the column enhancement of one point source on `grid`.
///
/// Returns the raster (`lines × samples`, row major, ppm·m) and the plume's truth
/// record. `seed` fixes the wind meander; the same inputs give the same plume.
///
/// # Units
/// Enhancement in ppm·m (see [`PPM_M_TO_KG_M2`]).
pub fn render_plume(
    grid: &PlumeGrid,
    src: &PointSource,
    params: &PlumeParams,
    seed: u64,
) -> Result<(Vec<f32>, PlumeTruth)> {
    let (window, truth) = render_plume_window(grid, src, params, seed)?;
    Ok((window.to_raster(grid), truth))
}

/// A plume raster on the smallest window of the grid that holds every pixel a puff
/// reaches; pixels outside it are 0.
#[derive(Debug, Clone, PartialEq)]
pub struct PlumeWindow {
    /// First line of the window.
    pub row0: usize,
    /// First sample of the window.
    pub col0: usize,
    /// Lines of the window (0 when no puff reaches the grid).
    pub rows: usize,
    /// Samples of the window.
    pub cols: usize,
    /// Enhancement, `rows × cols`, row major, ppm·m.
    pub values: Vec<f32>,
}

impl PlumeWindow {
    /// Linear grid indices and values of the window's pixels, row major.
    pub fn pixels<'a>(&'a self, grid: &PlumeGrid) -> impl Iterator<Item = (usize, f32)> + 'a {
        let (samples, cols) = (grid.samples, self.cols.max(1));
        let (row0, col0) = (self.row0, self.col0);
        self.values
            .iter()
            .enumerate()
            .map(move |(k, &v)| ((row0 + k / cols) * samples + col0 + k % cols, v))
    }

    /// The whole-grid raster (`lines × samples`, row major).
    pub fn to_raster(&self, grid: &PlumeGrid) -> Vec<f32> {
        let mut raster = vec![0f32; grid.lines * grid.samples];
        for (i, v) in self.pixels(grid) {
            raster[i] = v;
        }
        raster
    }
}

/// [`render_plume`] on the plume's own window of the grid: the same values, without a
/// whole-grid raster (a plume crossing a long flight line covers a small part of it).
pub fn render_plume_window(
    grid: &PlumeGrid,
    src: &PointSource,
    params: &PlumeParams,
    seed: u64,
) -> Result<(PlumeWindow, PlumeTruth)> {
    validate(grid, src, params)?;
    let gsd = grid.gsd_m;
    let (nl, ns) = (grid.lines as f64, grid.samples as f64);
    let u = src.wind_speed_m_s;
    let k = src.stability.briggs_k();

    // Travel distance: far enough that the puffs leave the scene on any meander.
    let corners = [(0.0, 0.0), (0.0, ns), (nl, 0.0), (nl, ns)];
    let far_m = corners
        .iter()
        .map(|(r, c)| ((r - src.row).powi(2) + (c - src.col).powi(2)).sqrt() * gsd)
        .fold(0.0, f64::max);
    let reach = far_m + params.truncate_sigma * puff_sigma_m(far_m, k, params.initial_sigma_m);
    let x_max = 1.5 * reach + 10.0 * gsd;
    let t_max = x_max / u;

    // Wind history: direction anomaly (OU) on a fine grid of "seconds ago".
    let h = (params.meander_tau_s / 10.0).min(t_max / 50.0).max(1e-3);
    let n_w = (t_max / h).ceil() as usize + 2;
    let mut rng = SeededRng::new(seed);
    let sig = params.meander_sigma_deg.to_radians();
    let rho = (-h / params.meander_tau_s).exp();
    let innov = sig * (1.0 - rho * rho).sqrt();
    let to_rad = (src.wind_from_deg + 180.0).to_radians();
    // Cumulative displacement (east, north) in m at s = i·h seconds ago. The anomaly
    // starts at 0 for the current wind so that the near-source plume follows the
    // stated direction.
    let mut disp = Vec::with_capacity(n_w);
    disp.push([0.0f64, 0.0f64]);
    let mut anomaly = 0.0f64;
    let (mut e, mut n) = (0.0f64, 0.0f64);
    for _ in 1..n_w {
        let dir = to_rad + anomaly;
        e += u * dir.sin() * h;
        n += u * dir.cos() * h;
        disp.push([e, n]);
        anomaly = rho * anomaly + innov * rng.normal();
    }
    let position = |age_s: f64| -> (f64, f64) {
        let f = (age_s / h).clamp(0.0, (n_w - 1) as f64);
        let i = (f.floor() as usize).min(n_w - 2);
        let w = f - i as f64;
        let de = disp[i][0] * (1.0 - w) + disp[i + 1][0] * w;
        let dn = disp[i][1] * (1.0 - w) + disp[i + 1][1] * w;
        // North-up: row increases southward, column eastward.
        (src.row - dn / gsd, src.col + de / gsd)
    };

    // The puffs (release interval, position, spread), then the window they reach.
    struct Puff {
        dt: f64,
        r: f64,
        c: f64,
        sigma_px: f64,
    }
    let mut puffs = Vec::new();
    let mut edge = 0.0f64; // start of the current puff's release interval (age, s)
    while edge < t_max {
        let sigma_here = puff_sigma_m(u * edge, k, params.initial_sigma_m);
        let dt = (params.max_spacing_sigma * sigma_here / u).min(t_max - edge);
        let age = edge + 0.5 * dt;
        edge += dt;
        let sigma_px = puff_sigma_m(u * age, k, params.initial_sigma_m) / gsd;
        let (r, c) = position(age);
        puffs.push(Puff { dt, r, c, sigma_px });
    }
    let reach = |p: &Puff| -> Option<(usize, usize, usize, usize)> {
        let reach_px = params.truncate_sigma * p.sigma_px;
        let r0 = (p.r - reach_px).floor().max(0.0);
        let r1 = (p.r + reach_px).ceil().min(nl);
        let c0 = (p.c - reach_px).floor().max(0.0);
        let c1 = (p.c + reach_px).ceil().min(ns);
        (r0 < r1 && c0 < c1).then_some((r0 as usize, r1 as usize, c0 as usize, c1 as usize))
    };
    let (mut wr0, mut wr1, mut wc0, mut wc1) = (usize::MAX, 0, usize::MAX, 0);
    for (r0, r1, c0, c1) in puffs.iter().filter_map(reach) {
        (wr0, wr1, wc0, wc1) = (wr0.min(r0), wr1.max(r1), wc0.min(c0), wc1.max(c1));
    }
    let (wr0, wc0) = (wr0.min(wr1), wc0.min(wc1));
    let (rows, cols) = (wr1 - wr0, wc1 - wc0);
    let mut raster = vec![0.0f64; rows * cols];
    let rate_kg_s = src.rate_kg_h / 3600.0;
    let kg_per_pixel_to_ppm_m = 1.0 / (gsd * gsd * PPM_M_TO_KG_M2);
    let mut fr = Vec::new();
    let mut fc = Vec::new();
    let n_puffs = puffs.len();
    let mut residence = 0.0f64;
    let mut centre = Vec::with_capacity(n_puffs);
    for p in &puffs {
        centre.push([p.r, p.c]);
        if p.r >= 0.0 && p.r < nl && p.c >= 0.0 && p.c < ns {
            residence += p.dt;
        }
        let Some((r0, r1, c0, c1)) = reach(p) else {
            continue;
        };
        cell_fractions(p.r, p.sigma_px, r0, r1, &mut fr);
        cell_fractions(p.c, p.sigma_px, c0, c1, &mut fc);
        let scale = rate_kg_s * p.dt * kg_per_pixel_to_ppm_m;
        for (i, &a) in fr.iter().enumerate() {
            let at = (r0 - wr0 + i) * cols + (c0 - wc0);
            let row = &mut raster[at..at + (c1 - c0)];
            let a = a * scale;
            for (v, &b) in row.iter_mut().zip(fc.iter()) {
                *v += a * b;
            }
        }
    }
    let sum: f64 = raster.iter().sum();
    let max = raster.iter().cloned().fold(0.0, f64::max);
    let stride = centre.len().div_ceil(64).max(1);
    let truth = PlumeTruth {
        n_puffs,
        released_kg: rate_kg_s * t_max,
        travel_time_s: t_max,
        residence_time_in_scene_s: residence,
        mass_in_scene_kg: sum * gsd * gsd * PPM_M_TO_KG_M2,
        max_enhancement_ppm_m: max,
        centreline_rowcol: centre
            .iter()
            .step_by(stride)
            .map(|[r, c]| [(r * 100.0).round() / 100.0, (c * 100.0).round() / 100.0])
            .collect(),
    };
    let window = PlumeWindow {
        row0: wr0.min(grid.lines),
        col0: wc0.min(grid.samples),
        rows,
        cols,
        values: raster.into_iter().map(|v| v as f32).collect(),
    };
    Ok((window, truth))
}

/// Mass in an enhancement raster: Σ enhancement × pixel area × [`PPM_M_TO_KG_M2`].
///
/// # Units
/// `enhancement_ppm_m` in ppm·m, `gsd_m` in m; returns kg. Non-finite pixels are skipped.
pub fn raster_mass_kg(enhancement_ppm_m: &[f32], gsd_m: f64) -> f64 {
    enhancement_ppm_m
        .iter()
        .filter(|v| v.is_finite())
        .map(|&v| v as f64)
        .sum::<f64>()
        * gsd_m
        * gsd_m
        * PPM_M_TO_KG_M2
}
