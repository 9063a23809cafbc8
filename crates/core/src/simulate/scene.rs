//! Semi-real synthetic radiance scenes from real ingredients: USGS library reflectance,
//! the gas LUT's zero-enhancement radiance as the atmosphere, the instrument's
//! parametric noise model and pushbroom column gain/offset striping.
//!
//! # Radiance model
//! Per pixel and band: `L = ρ(λ) · s · L_LUT(0, λ) · T(c)/T(0)`, where `L_LUT(0, λ)` is the
//! gas LUT convolved to the band at zero enhancement (at-sensor radiance over a
//! unit-albedo surface), `s = radiance_scale` (default cos 30° ≈ 0.866, the convention of
//! the bundled truth scenes, `ρ_ref = 1.1547`) and `T(c)/T(0)` the plume's transmittance
//! ([`crate::simulate::GasTransmittance`]). Then the sensor: `L_meas = g[col, band]·(L +
//! n) + o[col, band]` with `n ~ N(0, NEdL(L)²)`, `NEdL = |a·√(b + L) + c|` (isofit's
//! parametric model), per-column gain `g = 1 + N(0, 1%)` (clipped ±2%) with smooth
//! spectral modulation and 0.2% per-element jitter, and offset
//! `o = (0.5·N(0,1)[col] + 0.25·N(0,1)[col, band]) · NEdL(ρ = 0.25)`. Gain and offset are
//! constant down-track, as in a pushbroom instrument.
//!
//! # Surface
//! Background patches (jittered-grid Voronoi cells, ≈150 m) of vegetation, soil and
//! mineral spectra with smooth brightness texture; straight roads (asphalt or concrete,
//! 5–10 m wide); small man-made objects (tarps, metal, roofing, 5–30 m); a pad under
//! every source. Sub-pixel features are mixed linearly by their area fraction. With
//! [`Clutter::Full`] (the default) the built-up and industrial clutter of
//! [`crate::simulate::clutter`] lies on top: buildings and their shadows, car parks
//! with cars, tracks, plastic sheeting, painted tanks, oil stains, ponds, burn scars,
//! and dark or bright pads with equipment under the sources. A pixel's reflectance is
//! `shade · ((1 − t)·((1 − f)·b·ρ_base + f·ρ_cover) + t·ρ_top)`.
//!
//! # Units
//! Radiance µW cm⁻² sr⁻¹ nm⁻¹, wavelengths nm, GSD m, enhancement ppm·m.

use crate::rng::SeededRng;
use crate::simulate::clutter::{Clutter, ClutterInputs, ClutterLayer, PixelClutter};
use crate::simulate::inject::GasTransmittance;
use crate::simulate::library::SpectralLibrary;
use crate::simulate::materials::{
    MaterialRole, MaterialUse, Palette, BACKGROUND_KEYS, OBJECT_KEYS, PAD_KEYS, ROAD_KEYS,
};
use crate::simulate::noise::NoiseModel;
use crate::simulate::plume::{PointSource, Stability};
use crate::{BandModel, Error, Result};
use rayon::prelude::*;

/// Size, seed and instrument settings of a synthetic scene.
#[derive(Debug, Clone, PartialEq)]
pub struct SceneConfig {
    /// Down-track lines.
    pub lines: usize,
    /// Cross-track samples.
    pub samples: usize,
    /// Ground sample distance, m.
    pub gsd_m: f64,
    /// Seed: the same seed and inputs give the same scene, bit for bit.
    pub seed: u64,
    /// Multiplier of the LUT radiance (sun and geometry), default cos 30°.
    pub radiance_scale: f64,
    /// Noise on (default); off gives the noise-free radiance (for tests).
    pub noise: bool,
    /// Pushbroom gain/offset striping on (default).
    pub striping: bool,
    /// Typical background patch size, m.
    pub patch_size_m: f64,
    /// Man-made clutter (default [`Clutter::Full`]).
    pub clutter: Clutter,
}

impl SceneConfig {
    /// Defaults for a `lines × samples` scene at `gsd_m` with `seed`.
    pub fn new(lines: usize, samples: usize, gsd_m: f64, seed: u64) -> Self {
        Self {
            lines,
            samples,
            gsd_m,
            seed,
            radiance_scale: 30f64.to_radians().cos(),
            noise: true,
            striping: true,
            patch_size_m: 150.0,
            clutter: Clutter::Full,
        }
    }

    fn validate(&self) -> Result<()> {
        if self.lines == 0 || self.samples == 0 {
            return Err(Error::Invalid(format!(
                "scene size {} × {}: expected at least one line and one sample",
                self.lines, self.samples
            )));
        }
        if !(self.gsd_m.is_finite() && self.gsd_m > 0.0) {
            return Err(Error::Invalid(format!(
                "scene gsd_m = {}: expected a positive number of metres",
                self.gsd_m
            )));
        }
        if !(self.radiance_scale.is_finite() && self.radiance_scale > 0.0) {
            return Err(Error::Invalid(format!(
                "scene radiance_scale = {}: expected > 0",
                self.radiance_scale
            )));
        }
        if !(self.patch_size_m.is_finite() && self.patch_size_m > 0.0) {
            return Err(Error::Invalid(format!(
                "scene patch_size_m = {}: expected > 0 m",
                self.patch_size_m
            )));
        }
        Ok(())
    }
}

/// The physical inputs of a scene, already on the sensor's bands.
#[derive(Debug, Clone)]
pub struct SceneIngredients<'a> {
    /// The sensor's bands (the scene's bands).
    pub bands: &'a BandModel,
    /// Gas LUT radiance at zero enhancement convolved to the bands (unit albedo).
    pub lut_radiance_zero: &'a [f64],
    /// Transmittance table of the gas on the bands.
    pub transmittance: &'a GasTransmittance,
    /// Reflectance library.
    pub library: &'a SpectralLibrary,
    /// Instrument noise model.
    pub noise: &'a NoiseModel,
}

/// A finished scene.
#[derive(Debug, Clone, PartialEq)]
pub struct Scene {
    /// Down-track lines.
    pub lines: usize,
    /// Cross-track samples.
    pub samples: usize,
    /// Bands.
    pub bands: usize,
    /// Radiance, `lines × samples × bands`, band fastest, µW cm⁻² sr⁻¹ nm⁻¹.
    pub radiance: Vec<f32>,
    /// Mean surface reflectance 2200–2400 nm per pixel (`lines × samples`).
    pub albedo: Vec<f32>,
    /// Materials drawn from the library.
    pub materials: Vec<MaterialUse>,
    /// Per-column gain (mean over bands) minus 1, in per cent, per sample.
    pub column_gain_percent: Vec<f64>,
}

/// A road: line (row, col, normal row, normal col) in pixels, half width in pixels,
/// material.
type RoadLine = ((f64, f64, f64, f64), f64, u16);

/// Per-pixel surface: two materials mixed by a fraction, and a brightness factor of
/// the base, then a top material mixed over both and the light a shadow leaves.
#[derive(Debug, Clone, Copy)]
struct PixelSurface {
    base: u16,
    cover: u16,
    frac: f32,
    bright: f32,
    top: u16,
    top_frac: f32,
    shade: f32,
}

/// Draws `k` random sources for a `config` scene: positions inside the central 80% of
/// the scene, emission rates log-uniform in `rate_range_kg_h`, wind 1.5–6 m/s from a
/// random direction, stability B–E.
pub fn random_sources(
    config: &SceneConfig,
    k: usize,
    rate_range_kg_h: (f64, f64),
    seed: u64,
) -> Vec<PointSource> {
    random_sources_where(config, k, rate_range_kg_h, seed, |_, _| true)
        .expect("every position is allowed")
}

/// Tries per source of [`random_sources_where`] before it gives up.
const PLACEMENT_TRIES: usize = 100_000;

/// [`random_sources`] with positions restricted to those where `allowed(row, col)`
/// holds (e.g. inside a mosaic's footprint, away from its nodata collar): positions are
/// drawn again until one is allowed. With every position allowed the sources are those
/// of [`random_sources`], draw for draw.
///
/// # Errors
/// When no allowed position turns up in 100 000 draws for a source.
pub fn random_sources_where(
    config: &SceneConfig,
    k: usize,
    rate_range_kg_h: (f64, f64),
    seed: u64,
    allowed: impl Fn(f64, f64) -> bool,
) -> Result<Vec<PointSource>> {
    let mut rng = SeededRng::derived(seed, 0x5eed_5eed);
    let (lo, hi) = rate_range_kg_h;
    let (nl, ns) = (config.lines as f64, config.samples as f64);
    (0..k)
        .map(|i| {
            let mut tries = 0;
            let (row, col) = loop {
                let (row, col) = (rng.range(0.1 * nl, 0.9 * nl), rng.range(0.1 * ns, 0.9 * ns));
                if allowed(row, col) {
                    break (row, col);
                }
                tries += 1;
                if tries >= PLACEMENT_TRIES {
                    return Err(Error::Invalid(format!(
                        "random source {}: no allowed position in the central 80% of the {} × {} scene after {PLACEMENT_TRIES} draws (expected a footprint that leaves room for sources)",
                        i + 1,
                        config.lines,
                        config.samples
                    )));
                }
            };
            Ok(PointSource {
                row,
                col,
                rate_kg_h: (lo.ln() + (hi.ln() - lo.ln()) * rng.uniform()).exp(),
                wind_speed_m_s: rng.range(1.5, 6.0),
                wind_from_deg: rng.range(0.0, 360.0),
                stability: [Stability::B, Stability::C, Stability::D, Stability::E][rng.below(4)],
            })
        })
        .collect()
}

/// Area fraction of pixel `(r, c)` within distance `half_width` of the line through
/// `(r0, c0)` with unit normal `(nr, nc)` (all in pixels), by the pixel centre's
/// distance with a one-pixel linear ramp.
fn band_fraction(r: f64, c: f64, line: (f64, f64, f64, f64), half_width: f64) -> f64 {
    let (r0, c0, nr, nc) = line;
    let d = ((r - r0) * nr + (c - c0) * nc).abs();
    let full = (2.0 * half_width).min(1.0);
    (half_width + 0.5 - d).clamp(0.0, full)
}

fn rect_fraction(r: f64, c: f64, rect: (f64, f64, f64, f64)) -> f64 {
    // Pixel [r, r+1) × [c, c+1) overlap with [r0, r1) × [c0, c1).
    let (r0, r1, c0, c1) = rect;
    let h = (r + 1.0).min(r1) - r.max(r0);
    let w = (c + 1.0).min(c1) - c.max(c0);
    if h > 0.0 && w > 0.0 {
        h * w
    } else {
        0.0
    }
}

/// Builds a scene: surface, radiance with the plumes of `enhancement_ppm_m`
/// (`lines × samples`, or `None` for a plume-free scene), noise and striping. `pads`
/// are source positions (fractional row, col) that get a pad under them.
///
/// # Errors
/// When the configuration is invalid, the ingredients disagree on the number of bands,
/// or the library has no usable spectrum for a role.
pub fn render_scene(
    config: &SceneConfig,
    ing: &SceneIngredients<'_>,
    enhancement_ppm_m: Option<&[f32]>,
    pads: &[(f64, f64)],
) -> Result<Scene> {
    config.validate()?;
    let nb = ing.bands.len();
    if ing.lut_radiance_zero.len() != nb || ing.transmittance.bands() != nb {
        return Err(Error::Shape {
            what: "scene ingredients bands (LUT radiance, transmittance)".into(),
            expected: nb,
            got: ing.lut_radiance_zero.len().min(ing.transmittance.bands()),
        });
    }
    let (lines, samples) = (config.lines, config.samples);
    if let Some(e) = enhancement_ppm_m {
        if e.len() != lines * samples {
            return Err(Error::Shape {
                what: "scene enhancement raster (lines × samples)".into(),
                expected: lines * samples,
                got: e.len(),
            });
        }
    }
    let gsd = config.gsd_m;
    let mut rng = SeededRng::derived(config.seed, 1);
    let mut pal = Palette {
        spectra: Vec::new(),
        uses: Vec::new(),
    };
    let lib = ing.library;
    let bg = pal.pick(
        lib,
        ing.bands,
        BACKGROUND_KEYS,
        MaterialRole::Background,
        7,
        &mut rng,
    );
    let roads = pal.pick(lib, ing.bands, ROAD_KEYS, MaterialRole::Road, 2, &mut rng);
    let objects = pal.pick(
        lib,
        ing.bands,
        OBJECT_KEYS,
        MaterialRole::Object,
        4,
        &mut rng,
    );
    let pad_mats = pal.pick(lib, ing.bands, PAD_KEYS, MaterialRole::Pad, 3, &mut rng);
    for (what, v) in [
        ("background", &bg),
        ("road", &roads),
        ("object", &objects),
        ("pad", &pad_mats),
    ] {
        if v.is_empty() {
            return Err(Error::Invalid(format!(
                "spectral library has no usable {what} spectrum covering the sensor's bands"
            )));
        }
    }

    // 1. Background: jittered-grid Voronoi cells.
    let cell = (config.patch_size_m / gsd).max(1.0);
    let (gr, gc) = (
        (lines as f64 / cell).ceil() as usize + 1,
        (samples as f64 / cell).ceil() as usize + 1,
    );
    let seeds: Vec<(f64, f64, u16, f32)> = (0..gr * gc)
        .map(|i| {
            let (a, b) = ((i / gc) as f64, (i % gc) as f64);
            (
                (a + rng.uniform()) * cell,
                (b + rng.uniform()) * cell,
                bg[rng.below(bg.len())],
                rng.range(0.75, 1.25) as f32,
            )
        })
        .collect();
    // Smooth brightness texture: a few random plane waves (wavelengths 50–400 m).
    let waves: Vec<(f64, f64, f64)> = (0..6)
        .map(|_| {
            let th = rng.range(0.0, std::f64::consts::TAU);
            let k = std::f64::consts::TAU / (rng.range(50.0, 400.0) / gsd);
            (
                k * th.cos(),
                k * th.sin(),
                rng.range(0.0, std::f64::consts::TAU),
            )
        })
        .collect();
    // 2. Roads, objects, pads.
    let n_roads = 1 + rng.below(3);
    let road_lines: Vec<RoadLine> = (0..n_roads)
        .map(|_| {
            let th = rng.range(0.0, std::f64::consts::PI);
            (
                (
                    rng.range(0.0, lines as f64),
                    rng.range(0.0, samples as f64),
                    th.cos(),
                    th.sin(),
                ),
                rng.range(5.0, 10.0) / gsd / 2.0,
                roads[rng.below(roads.len())],
            )
        })
        .collect();
    let area_km2 = lines as f64 * samples as f64 * gsd * gsd / 1e6;
    let n_objects = ((area_km2 * 40.0).round() as usize).clamp(3, 400);
    let mut rects: Vec<((f64, f64, f64, f64), u16)> = (0..n_objects)
        .map(|_| {
            let (h, w) = (rng.range(5.0, 30.0) / gsd, rng.range(5.0, 30.0) / gsd);
            let (r, c) = (rng.range(0.0, lines as f64), rng.range(0.0, samples as f64));
            ((r, r + h, c, c + w), objects[rng.below(objects.len())])
        })
        .collect();
    for &(r, c) in pads {
        let half = rng.range(8.0, 20.0) / gsd;
        rects.push((
            (r - half, r + half, c - half, c + half),
            pad_mats[rng.below(pad_mats.len())],
        ));
    }
    let clutter = match config.clutter {
        Clutter::Light => None,
        Clutter::Full => {
            let roads: Vec<_> = road_lines.iter().map(|&(l, hw, _)| (l, hw)).collect();
            let layer = ClutterLayer::draw(
                &ClutterInputs {
                    lines,
                    samples,
                    gsd_m: gsd,
                    seed: config.seed,
                    library: lib,
                    bands: ing.bands,
                    pads,
                    roads: &roads,
                },
                &mut pal,
            );
            // The pads are the last rectangles: dark or bright ones replace them.
            let first_pad = rects.len() - pads.len();
            for (rect, m) in rects[first_pad..].iter_mut().zip(&layer.pads) {
                if let Some(m) = m {
                    rect.1 = *m;
                }
            }
            Some(layer)
        }
    };
    let surface: Vec<PixelSurface> = (0..lines * samples)
        .into_par_iter()
        .map(|i| {
            let (r, c) = ((i / samples) as f64, (i % samples) as f64);
            let (rc, cc) = (r + 0.5, c + 0.5);
            let (a, b) = ((rc / cell) as isize, (cc / cell) as isize);
            let mut best = (f64::INFINITY, 0u16, 1.0f32);
            for da in -1..=1 {
                for db in -1..=1 {
                    let (x, y) = (a + da, b + db);
                    if x < 0 || y < 0 || x as usize >= gr || y as usize >= gc {
                        continue;
                    }
                    let s = seeds[x as usize * gc + y as usize];
                    let d = (s.0 - rc).powi(2) + (s.1 - cc).powi(2);
                    if d < best.0 {
                        best = (d, s.2, s.3);
                    }
                }
            }
            let tex: f64 = waves
                .iter()
                .map(|(kr, kc, ph)| (kr * rc + kc * cc + ph).sin())
                .sum::<f64>()
                / waves.len() as f64;
            let mut px = PixelSurface {
                base: best.1,
                cover: best.1,
                frac: 0.0,
                bright: best.2 * (1.0 + 0.15 * tex) as f32,
                top: 0,
                top_frac: 0.0,
                shade: 1.0,
            };
            for (line, hw, m) in &road_lines {
                let f = band_fraction(rc, cc, *line, *hw) as f32;
                if f > px.frac {
                    px.cover = *m;
                    px.frac = f;
                }
            }
            for (rect, m) in &rects {
                let f = rect_fraction(r, c, *rect) as f32;
                if f > 0.0 && f >= px.frac {
                    px.cover = *m;
                    px.frac = f;
                }
            }
            if let Some(layer) = &clutter {
                let PixelClutter { cover, top, shade } = layer.at(i / samples, i % samples);
                if cover.1 > 0.0 && cover.1 >= px.frac {
                    (px.cover, px.frac) = cover;
                }
                (px.top, px.top_frac, px.shade) = (top.0, top.1.min(1.0), shade);
            }
            px
        })
        .collect();

    // 3. Instrument: per-column gain and offset.
    let bn = ing.noise.at_bands(ing.bands);
    let mut gain = vec![1.0f64; samples * nb];
    let mut offset = vec![0.0f64; samples * nb];
    let mut column_gain_percent = vec![0.0; samples];
    if config.striping {
        let mut irng = SeededRng::derived(config.seed, 2);
        for s in 0..samples {
            let g = (0.01 * irng.normal()).clamp(-0.02, 0.02);
            let ph = irng.range(0.0, std::f64::consts::TAU);
            let o = 0.5 * irng.normal();
            let mut sum = 0.0;
            for b in 0..nb {
                let modul = 1.0 + 0.3 * (ph + b as f64 * 0.05).sin();
                let gv = 1.0 + g * modul + 0.002 * irng.normal();
                gain[s * nb + b] = gv;
                sum += gv - 1.0;
                let ref_l = 0.25 * config.radiance_scale * ing.lut_radiance_zero[b];
                offset[s * nb + b] = (o + 0.25 * irng.normal()) * bn.nedl(b, ref_l);
            }
            column_gain_percent[s] = 100.0 * sum / nb as f64;
        }
    }

    // 4. Radiance, line by line (one RNG stream per line: deterministic in parallel).
    let l0: Vec<f64> = ing
        .lut_radiance_zero
        .iter()
        .map(|v| v * config.radiance_scale)
        .collect();
    let albedo_bands = ing.bands.indices_in_window(2200.0, 2400.0);
    let all_bands: Vec<usize> = (0..nb).collect();
    let mut radiance = vec![0f32; lines * samples * nb];
    let mut albedo = vec![0f32; lines * samples];
    radiance
        .par_chunks_mut(samples * nb)
        .zip(albedo.par_chunks_mut(samples))
        .enumerate()
        .try_for_each(|(line, (out, alb))| -> Result<()> {
            let mut lrng = SeededRng::derived(config.seed, 1000 + line as u64);
            let mut refl = vec![0.0f64; nb];
            for s in 0..samples {
                let px = surface[line * samples + s];
                let (sa, sb, st) = (
                    &pal.spectra[px.base as usize],
                    &pal.spectra[px.cover as usize],
                    &pal.spectra[px.top as usize],
                );
                let (f, t, shade) = (px.frac as f64, px.top_frac as f64, px.shade as f64);
                for b in 0..nb {
                    let below = px.bright as f64 * (1.0 - f) * sa[b] + f * sb[b];
                    refl[b] = shade * ((1.0 - t) * below + t * st[b]);
                    out[s * nb + b] = (refl[b] * l0[b]) as f32;
                }
                alb[s] = if albedo_bands.is_empty() {
                    f32::NAN
                } else {
                    (albedo_bands.iter().map(|&b| refl[b]).sum::<f64>() / albedo_bands.len() as f64)
                        as f32
                };
            }
            if let Some(e) = enhancement_ppm_m {
                ing.transmittance.apply_line(
                    out,
                    &all_bands,
                    &e[line * samples..(line + 1) * samples],
                )?;
            }
            for s in 0..samples {
                for b in 0..nb {
                    let v = &mut out[s * nb + b];
                    let l = *v as f64;
                    let n = if config.noise {
                        bn.nedl(b, l) * lrng.normal()
                    } else {
                        0.0
                    };
                    *v = (gain[s * nb + b] * (l + n) + offset[s * nb + b]) as f32;
                }
            }
            Ok(())
        })?;
    Ok(Scene {
        lines,
        samples,
        bands: nb,
        radiance,
        albedo,
        materials: pal.uses,
        column_gain_percent,
    })
}
