//! The clutter of built-up and industrial ground that a scene adds on top of its
//! natural background, roads and objects (`Clutter::Full`, the default): buildings with
//! their shadows, car parks with cars, tracks and roads of several surfaces and widths,
//! plastic sheeting and tarps, painted storage tanks with shadows, oil-stained ground,
//! ponds, dark burn scars, and dark or bright pads with equipment where sources sit.
//!
//! Every feature is drawn from its own random stream (`SeededRng::derived(seed, 3)`),
//! after the scene's first stream has drawn everything it draws for `Clutter::Light`,
//! so a light scene and a full one share their background, roads and objects, and a
//! plume-free twin (same seed, same pads) gets the same clutter as its plume scene.
//!
//! # Geometry
//! Features are rotated rectangles and ellipses in pixel coordinates (row, col). A
//! pixel's share of a feature is read from its centre's distance to the edge with a
//! one-pixel linear ramp, as for the roads, so sub-pixel features (cars at 3 m, thin
//! tracks) mix linearly by area. Three layers compose a pixel:
//! - *cover* (roads, roofs, car parks, sheets, tanks, ponds, scars, pads): the largest
//!   share wins against the scene's own roads and objects;
//! - *top* (cars on a car park, oil stains, equipment): mixed over whatever lies below;
//! - *shade* (the shadow a building or tank casts away from the sun, minus its own
//!   footprint): the pixel's reflectance times `1 − f·(1 − k)`, where `k` (0.08–0.25) is
//!   the share of diffuse light a shadow still receives in the SWIR.
//!
//! # Densities (per km²; counts scale with the scene's area)
//! Buildings 25 (8–40 m × 6–25 m, 3–12 m tall), car parks 2 (20–70 × 15–50 m, cars
//! 2 × 4.6 m in 2.5 m slots, 30–95 % occupied), tracks and secondary roads 2 (3–20 m
//! wide, 100–600 m long), plastic sheets and tarps 15 (3–25 m), tanks 5 (5–20 m
//! across), oil stains 12 (2–4 soft blobs of 2–10 m, half of them beside a pad or a
//! road), ponds 0.8 (10–80 m semi-axes), burn scars 0.5 (50–200 m).

use crate::rng::SeededRng;
use crate::simulate::library::SpectralLibrary;
use crate::simulate::materials::{MaterialRole, Palette};
use crate::BandModel;

/// How much man-made clutter a synthetic scene holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Clutter {
    /// Natural background, a few straight roads and small objects, a pad under every
    /// source (the scenes of earlier releases, surface for surface).
    Light,
    /// Everything `Light` has, plus buildings and their shadows, car parks with cars,
    /// tracks, plastic sheeting, painted tanks, oil stains, ponds, burn scars, and dark
    /// or bright pads with equipment under the sources (the default).
    #[default]
    Full,
}

/// Library name fragments of each clutter role.
const ROOF_KEYS: &[&str] = &[
    "Asphalt_Shingle",
    "Roofing_Felt",
    "GalvanizedSheetMetal",
    "Fiberglass GDS335",
    "Brick GDS350",
    "Brick GDS355",
    "Asphalt_Tar GDS346",
    "Painted_Aluminum",
];
const PAVING_KEYS: &[&str] = &[
    "Asphalt GDS376",
    "Concrete GDS375",
    "Brick GDS347",
    "Brick GDS348",
    "Asphalt_Tar",
];
const VEHICLE_KEYS: &[&str] = &[
    "Painted_Aluminum",
    "GalvanizedSheetMetal",
    "Coated_Steel",
    "Plastic_ABS",
    "Plastic_PVC",
    "Nylon_Fabric GDS431",
    "Plastic_LDPE GDS405",
];
const SHEET_KEYS: &[&str] = &[
    "Plastic_HDPE",
    "Plastic_LDPE",
    "Plastic_PVC",
    "Plastic_Vinyl GDS372",
    "Plastic_Tarp",
    "Polystyrene",
    "Plastic_PETE",
];
const TANK_KEYS: &[&str] = &["Painted_Aluminum", "GalvanizedSheetMetal", "Coated_Steel"];
const STAIN_KEYS: &[&str] = &[
    "Kerogen",
    "Carbon_Black",
    "Tar_Paper GDS285B",
    "Asphalt_Tar",
];
const WATER_KEYS: &[&str] = &["Seawater_Coast", "Water+Montmor"];
const SCAR_KEYS: &[&str] = &["BurnArea", "Desert_Varnish"];
const DARK_PAD_KEYS: &[&str] = &[
    "Asphalt_Tar GDS346",
    "Roofing_Felt",
    "Plastic_HDPE GDS351",
    "Plastic_LDPE GDS405",
    "Tar_Paper GDS285A",
];
const BRIGHT_PAD_KEYS: &[&str] = &[
    "Concrete GDS375",
    "Plastic_PVC",
    "Fiberglass GDS335",
    "Plastic_HDPE GDS384",
];

/// A feature's outline in pixel coordinates (row, col).
#[derive(Debug, Clone, Copy)]
enum Shape {
    /// Centre, half length and half width, and the unit vector of the length axis.
    Rect {
        r: f64,
        c: f64,
        half_len: f64,
        half_wid: f64,
        ur: f64,
        uc: f64,
    },
    /// Centre, semi-axes and the unit vector of the first axis; `soft` ramps the share
    /// from the centre out (stains, scars) instead of a one-pixel edge.
    Ellipse {
        r: f64,
        c: f64,
        a: f64,
        b: f64,
        ur: f64,
        uc: f64,
        soft: bool,
    },
}

impl Shape {
    fn rect(r: f64, c: f64, half_len: f64, half_wid: f64, angle: f64) -> Self {
        Shape::Rect {
            r,
            c,
            half_len,
            half_wid,
            ur: angle.cos(),
            uc: angle.sin(),
        }
    }

    fn ellipse(r: f64, c: f64, a: f64, b: f64, angle: f64, soft: bool) -> Self {
        Shape::Ellipse {
            r,
            c,
            a,
            b,
            ur: angle.cos(),
            uc: angle.sin(),
            soft,
        }
    }

    /// The same outline moved by (`dr`, `dc`) pixels.
    fn shifted(self, dr: f64, dc: f64) -> Self {
        match self {
            Shape::Rect {
                r,
                c,
                half_len,
                half_wid,
                ur,
                uc,
            } => Shape::Rect {
                r: r + dr,
                c: c + dc,
                half_len,
                half_wid,
                ur,
                uc,
            },
            Shape::Ellipse {
                r,
                c,
                a,
                b,
                ur,
                uc,
                soft,
            } => Shape::Ellipse {
                r: r + dr,
                c: c + dc,
                a,
                b,
                ur,
                uc,
                soft,
            },
        }
    }

    /// Row and column half extents of the bounding box around the centre.
    fn reach(&self) -> (f64, f64, f64, f64) {
        let (r, c, p, q, ur, uc) = match *self {
            Shape::Rect {
                r,
                c,
                half_len,
                half_wid,
                ur,
                uc,
            } => (r, c, half_len, half_wid, ur, uc),
            Shape::Ellipse {
                r, c, a, b, ur, uc, ..
            } => (r, c, a, b, ur, uc),
        };
        let dr = p * ur.abs() + q * uc.abs() + 1.0;
        let dc = p * uc.abs() + q * ur.abs() + 1.0;
        (r - dr, r + dr, c - dc, c + dc)
    }

    /// Share (0–1) of the pixel centred at (`rc`, `cc`) that the shape covers.
    fn fraction(&self, rc: f64, cc: f64) -> f64 {
        match *self {
            Shape::Rect {
                r,
                c,
                half_len,
                half_wid,
                ur,
                uc,
            } => {
                let (dr, dc) = (rc - r, cc - c);
                let u = (dr * ur + dc * uc).abs();
                let v = (-dr * uc + dc * ur).abs();
                let fu = (half_len + 0.5 - u).clamp(0.0, (2.0 * half_len).min(1.0));
                let fv = (half_wid + 0.5 - v).clamp(0.0, (2.0 * half_wid).min(1.0));
                fu * fv
            }
            Shape::Ellipse {
                r,
                c,
                a,
                b,
                ur,
                uc,
                soft,
            } => {
                let (dr, dc) = (rc - r, cc - c);
                let u = (dr * ur + dc * uc) / a;
                let v = (-dr * uc + dc * ur) / b;
                let d = (u * u + v * v).sqrt();
                if soft {
                    (1.0 - d * d).max(0.0)
                } else {
                    ((1.0 - d) * a.min(b) + 0.5).clamp(0.0, (2.0 * a.min(b)).min(1.0))
                }
            }
        }
    }
}

/// What a feature does to the pixels it covers.
#[derive(Debug, Clone, Copy)]
enum Effect {
    /// Replaces the ground with a material (largest share wins).
    Cover(u16),
    /// Mixes a material over whatever lies below, at `strength` × the share.
    Top(u16, f64),
    /// Shades the pixel to `k` of its light, except on the caster's own footprint.
    Shade { k: f64, caster: Shape },
}

#[derive(Debug, Clone, Copy)]
struct Feature {
    shape: Shape,
    effect: Effect,
}

/// What the full clutter contributes to one pixel.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct PixelClutter {
    /// Cover material and its share (share 0: none).
    pub(super) cover: (u16, f32),
    /// Top material and its share (share 0: none).
    pub(super) top: (u16, f32),
    /// Light factor of shadows, 1 in full sun.
    pub(super) shade: f32,
}

/// Side of the square cells that index the features, pixels.
const CELL: f64 = 32.0;

/// The full clutter of a scene, indexed by cells of the pixel grid.
pub(super) struct ClutterLayer {
    features: Vec<Feature>,
    /// Per cell (row-major, `cell_cols` wide), the features whose box touches it, in
    /// drawing order.
    cells: Vec<Vec<u32>>,
    cell_cols: usize,
    /// Pad material per pad, replacing the light scene's pad (`None`: the library has
    /// no dark or bright pad spectrum of the kind drawn; the light pad stays).
    pub(super) pads: Vec<Option<u16>>,
}

/// A straight road: a point of its centre line and its unit normal (row, col, normal
/// row, normal col), and its half width, pixels.
pub(super) type RoadAxis = ((f64, f64, f64, f64), f64);

/// Scene-wide inputs of [`ClutterLayer::draw`].
pub(super) struct ClutterInputs<'a> {
    pub(super) lines: usize,
    pub(super) samples: usize,
    pub(super) gsd_m: f64,
    pub(super) seed: u64,
    pub(super) library: &'a SpectralLibrary,
    pub(super) bands: &'a BandModel,
    /// Source positions (fractional row, col) that have pads.
    pub(super) pads: &'a [(f64, f64)],
    /// The light scene's roads: a point on the centre line (row, col), the unit normal,
    /// and the half width, pixels.
    pub(super) roads: &'a [RoadAxis],
}

/// One of `materials` at random, `None` when the library gave none for the role.
fn choose(materials: &[u16], rng: &mut SeededRng) -> Option<u16> {
    (!materials.is_empty()).then(|| materials[rng.below(materials.len())])
}

/// A Poisson-like count: the expected `mean` rounded down, plus one with the
/// remainder's probability.
fn count(mean: f64, rng: &mut SeededRng) -> usize {
    let whole = mean.floor();
    whole as usize + usize::from(rng.uniform() < mean - whole)
}

impl ClutterLayer {
    /// Draws the full clutter of a scene; materials join `pal`.
    pub(super) fn draw(inp: &ClutterInputs<'_>, pal: &mut Palette) -> Self {
        let mut rng = SeededRng::derived(inp.seed, 3);
        let (lib, bands) = (inp.library, inp.bands);
        let mut pick = |keys: &[&str], role: MaterialRole, n: usize, rng: &mut SeededRng| {
            pal.pick(lib, bands, keys, role, n, rng)
        };
        let roofs = pick(ROOF_KEYS, MaterialRole::Roof, 4, &mut rng);
        let paving = pick(PAVING_KEYS, MaterialRole::Road, 3, &mut rng);
        let vehicles = pick(VEHICLE_KEYS, MaterialRole::Vehicle, 4, &mut rng);
        let sheets = pick(SHEET_KEYS, MaterialRole::Sheeting, 4, &mut rng);
        let tanks = pick(TANK_KEYS, MaterialRole::Object, 2, &mut rng);
        let stains = pick(STAIN_KEYS, MaterialRole::Stain, 2, &mut rng);
        let water = pick(WATER_KEYS, MaterialRole::Water, 1, &mut rng);
        let scars = pick(SCAR_KEYS, MaterialRole::Background, 1, &mut rng);
        let dark_pads = pick(DARK_PAD_KEYS, MaterialRole::Pad, 2, &mut rng);
        let bright_pads = pick(BRIGHT_PAD_KEYS, MaterialRole::Pad, 2, &mut rng);

        let (nl, ns, gsd) = (inp.lines as f64, inp.samples as f64, inp.gsd_m);
        let area_km2 = nl * ns * gsd * gsd / 1e6;
        let px = |m: f64| m / gsd;
        let tau = std::f64::consts::TAU;
        // The sun: zenith 20–50°, azimuth anywhere; shadows fall away from it.
        let sun_zenith = rng.range(20f64, 50.0).to_radians();
        let sun_az = rng.range(0.0, tau);
        // Image rows run south, columns east: the shadow of a unit height points to
        // (row +cos az, col −sin az) for a sun at azimuth az clockwise from north.
        let (shadow_r, shadow_c) = (sun_az.cos(), -sun_az.sin());
        let shade_k = rng.range(0.08, 0.25);
        let mut features = Vec::new();
        let pos = |rng: &mut SeededRng| (rng.range(0.0, nl), rng.range(0.0, ns));
        let cast = |features: &mut Vec<Feature>, shape: Shape, height_m: f64, material: u16| {
            let len = px(height_m * sun_zenith.tan());
            features.push(Feature {
                shape: shape.shifted(len * shadow_r, len * shadow_c),
                effect: Effect::Shade {
                    k: shade_k,
                    caster: shape,
                },
            });
            features.push(Feature {
                shape,
                effect: Effect::Cover(material),
            });
        };

        // Burn scars and ponds first: everything else may lie on them.
        let ellipses = |features: &mut Vec<Feature>,
                        material: Option<&u16>,
                        per_km2: f64,
                        (a0, a1): (f64, f64),
                        (b0, b1): (f64, f64),
                        rng: &mut SeededRng| {
            let Some(&m) = material else { return };
            for _ in 0..count(per_km2 * area_km2, rng) {
                let (r, c) = pos(rng);
                let (a, b) = (px(rng.range(a0, a1)), px(rng.range(b0, b1)));
                features.push(Feature {
                    shape: Shape::ellipse(r, c, a, b, rng.range(0.0, tau), false),
                    effect: Effect::Cover(m),
                });
            }
        };
        ellipses(
            &mut features,
            scars.first(),
            0.5,
            (50.0, 200.0),
            (40.0, 150.0),
            &mut rng,
        );
        ellipses(
            &mut features,
            water.first(),
            0.8,
            (10.0, 80.0),
            (10.0, 60.0),
            &mut rng,
        );
        // Tracks and secondary roads.
        let mut tracks = Vec::new();
        for _ in 0..count(2.0 * area_km2, &mut rng) {
            let (r, c) = pos(&mut rng);
            let shape = Shape::rect(
                r,
                c,
                px(rng.range(50.0, 300.0)),
                px(rng.range(3.0, 20.0)) / 2.0,
                rng.range(0.0, tau),
            );
            tracks.push(shape);
            if let Some(m) = choose(&paving, &mut rng) {
                features.push(Feature {
                    shape,
                    effect: Effect::Cover(m),
                });
            }
        }
        // Car parks with their cars.
        for _ in 0..count(2.0 * area_km2, &mut rng) {
            let (r, c) = pos(&mut rng);
            let (len, wid) = (rng.range(20.0, 70.0), rng.range(15.0, 50.0));
            let angle = rng.range(0.0, tau);
            let (ur, uc) = (angle.cos(), angle.sin());
            if let Some(m) = choose(&paving, &mut rng) {
                features.push(Feature {
                    shape: Shape::rect(r, c, px(len / 2.0), px(wid / 2.0), angle),
                    effect: Effect::Cover(m),
                });
            }
            let occupancy = rng.range(0.3, 0.95);
            // Double rows of cars (5 m deep each, back to back) with a 6 m aisle
            // between pairs, across the width; slots of 2.5 m along the length.
            for k in 0.. {
                let v = -wid / 2.0 + 2.5 + 16.0 * (k / 2) as f64 + 5.0 * (k % 2) as f64;
                if v > wid / 2.0 - 2.5 {
                    break;
                }
                let mut u = -len / 2.0 + 1.25;
                while u < len / 2.0 - 1.2 {
                    if rng.uniform() < occupancy {
                        if let Some(m) = choose(&vehicles, &mut rng) {
                            // A car lies across its row: its length along the width.
                            let (cr, cc) = (r + px(u * ur - v * uc), c + px(u * uc + v * ur));
                            features.push(Feature {
                                shape: Shape::rect(cr, cc, px(2.3), px(0.9), angle + tau / 4.0),
                                effect: Effect::Top(m, 1.0),
                            });
                        }
                    }
                    u += 2.5;
                }
            }
        }
        // A rectangle anywhere, its sides drawn from the ranges (m), any orientation.
        let random_rect = |rng: &mut SeededRng, (l0, l1): (f64, f64), (w0, w1): (f64, f64)| {
            let (r, c) = pos(rng);
            Shape::rect(
                r,
                c,
                px(rng.range(l0, l1)) / 2.0,
                px(rng.range(w0, w1)) / 2.0,
                rng.range(0.0, tau),
            )
        };
        // Buildings with their shadows.
        for _ in 0..count(25.0 * area_km2, &mut rng) {
            let shape = random_rect(&mut rng, (8.0, 40.0), (6.0, 25.0));
            let height = rng.range(3.0, 12.0);
            if let Some(m) = choose(&roofs, &mut rng) {
                cast(&mut features, shape, height, m);
            }
        }
        // Painted storage tanks with their shadows.
        for _ in 0..count(5.0 * area_km2, &mut rng) {
            let (r, c) = pos(&mut rng);
            let radius = px(rng.range(2.5, 10.0));
            let shape = Shape::ellipse(r, c, radius, radius, 0.0, false);
            let height = rng.range(4.0, 15.0);
            if let Some(m) = choose(&tanks, &mut rng) {
                cast(&mut features, shape, height, m);
            }
        }
        // Plastic sheeting and tarps.
        for _ in 0..count(15.0 * area_km2, &mut rng) {
            let shape = random_rect(&mut rng, (3.0, 25.0), (3.0, 25.0));
            if let Some(m) = choose(&sheets, &mut rng) {
                features.push(Feature {
                    shape,
                    effect: Effect::Cover(m),
                });
            }
        }
        // Oil stains: half beside a pad, a road or a track, half anywhere.
        for _ in 0..count(12.0 * area_km2, &mut rng) {
            let (mut r, mut c) = pos(&mut rng);
            let anchors = inp.pads.len() + inp.roads.len() + tracks.len();
            if rng.uniform() < 0.5 && anchors > 0 {
                let k = rng.below(anchors);
                let off = px(rng.range(-30.0, 30.0));
                if k < inp.pads.len() {
                    let (pr, pc) = inp.pads[k];
                    (r, c) = (pr + off, pc + px(rng.range(-30.0, 30.0)));
                } else if k < inp.pads.len() + inp.roads.len() {
                    // A point of the road's centre line, beside it.
                    let ((r0, c0, nr, nc), hw) = inp.roads[k - inp.pads.len()];
                    let along = rng.range(-nl.max(ns), nl.max(ns));
                    let side = (hw + px(rng.range(1.0, 5.0))) * off.signum();
                    (r, c) = (r0 - along * nc + side * nr, c0 + along * nr + side * nc);
                } else if let Shape::Rect {
                    r: tr,
                    c: tc,
                    half_len,
                    ur,
                    uc,
                    ..
                } = tracks[k - inp.pads.len() - inp.roads.len()]
                {
                    let along = rng.range(-half_len, half_len);
                    (r, c) = (tr + along * ur + off * 0.2, tc + along * uc - off * 0.2);
                }
            }
            let Some(material) = choose(&stains, &mut rng) else {
                continue;
            };
            let strength = rng.range(0.3, 0.9);
            for _ in 0..2 + rng.below(3) {
                let size = px(rng.range(2.0, 10.0));
                features.push(Feature {
                    shape: Shape::ellipse(
                        r + px(rng.range(-5.0, 5.0)),
                        c + px(rng.range(-5.0, 5.0)),
                        size,
                        size * rng.range(0.4, 1.0),
                        rng.range(0.0, tau),
                        true,
                    ),
                    effect: Effect::Top(material, strength),
                });
            }
        }
        // Pads: dark or bright, each with a piece of equipment beside the source.
        let mut pads = Vec::with_capacity(inp.pads.len());
        for &(r, c) in inp.pads {
            let set = if rng.uniform() < 0.5 {
                &dark_pads
            } else {
                &bright_pads
            };
            pads.push(choose(set, &mut rng));
            let angle = rng.range(0.0, tau);
            let d = px(rng.range(2.0, 6.0));
            let shape = Shape::rect(
                r + d * angle.cos(),
                c + d * angle.sin(),
                px(rng.range(1.0, 3.0)),
                px(rng.range(0.7, 2.0)),
                rng.range(0.0, tau),
            );
            if let Some(m) = choose(&tanks, &mut rng) {
                features.push(Feature {
                    shape,
                    effect: Effect::Top(m, 1.0),
                });
            }
        }

        // Index the features by cell.
        let (cell_rows, cell_cols) = (
            (nl / CELL).ceil().max(1.0) as usize,
            (ns / CELL).ceil().max(1.0) as usize,
        );
        let mut cells = vec![Vec::new(); cell_rows * cell_cols];
        for (i, f) in features.iter().enumerate() {
            let (r0, r1, c0, c1) = f.shape.reach();
            if r1 < 0.0 || c1 < 0.0 || r0 > nl || c0 > ns {
                continue;
            }
            let cr = |v: f64| ((v.max(0.0) / CELL) as usize).min(cell_rows - 1);
            let cc = |v: f64| ((v.max(0.0) / CELL) as usize).min(cell_cols - 1);
            for a in cr(r0)..=cr(r1) {
                for b in cc(c0)..=cc(c1) {
                    cells[a * cell_cols + b].push(i as u32);
                }
            }
        }
        Self {
            features,
            cells,
            cell_cols,
            pads,
        }
    }

    /// The clutter of the pixel at (`row`, `col`) (its centre at +0.5).
    pub(super) fn at(&self, row: usize, col: usize) -> PixelClutter {
        let (rc, cc) = (row as f64 + 0.5, col as f64 + 0.5);
        let cell = (row / CELL as usize) * self.cell_cols + col / CELL as usize;
        let mut out = PixelClutter {
            cover: (0, 0.0),
            top: (0, 0.0),
            shade: 1.0,
        };
        for &i in &self.cells[cell] {
            let f = &self.features[i as usize];
            let share = f.shape.fraction(rc, cc);
            if share <= 0.0 {
                continue;
            }
            match f.effect {
                Effect::Cover(m) => {
                    if share as f32 >= out.cover.1 {
                        out.cover = (m, share as f32);
                    }
                }
                Effect::Top(m, strength) => {
                    let s = (share * strength) as f32;
                    if s >= out.top.1 {
                        out.top = (m, s);
                    }
                }
                Effect::Shade { k, caster } => {
                    let s = (share - caster.fraction(rc, cc)).max(0.0);
                    out.shade *= (1.0 - s * (1.0 - k)) as f32;
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rectangle_covers_its_area_and_a_ramp_at_its_edges() {
        // 6 × 4 px, rotated 30°: summed shares equal the area within a few per cent.
        let s = Shape::rect(50.0, 50.0, 3.0, 2.0, 30f64.to_radians());
        let total: f64 = (0..100)
            .flat_map(|r| (0..100).map(move |c| (r, c)))
            .map(|(r, c)| s.fraction(r as f64 + 0.5, c as f64 + 0.5))
            .sum();
        assert!((total - 24.0).abs() < 1.0, "area {total}");
        assert_eq!(s.fraction(50.0, 50.0), 1.0);
        assert_eq!(s.fraction(80.0, 80.0), 0.0);
        // A car (2 × 4.6 m) at 3 m covers about its area in sub-pixel shares.
        let car = Shape::rect(10.2, 10.7, 2.3 / 3.0, 0.9 / 3.0, 0.4);
        let total: f64 = (0..20)
            .flat_map(|r| (0..20).map(move |c| (r, c)))
            .map(|(r, c)| car.fraction(r as f64 + 0.5, c as f64 + 0.5))
            .sum();
        assert!(
            (total - 4.6 * 1.8 / 9.0).abs() < 0.35,
            "car area {total} px"
        );
    }

    #[test]
    fn shadows_fall_beside_their_caster_not_on_it() {
        let roof = Shape::rect(20.0, 20.0, 5.0, 5.0, 0.0);
        let layer = ClutterLayer {
            features: vec![
                Feature {
                    shape: roof.shifted(4.0, 0.0),
                    effect: Effect::Shade {
                        k: 0.1,
                        caster: roof,
                    },
                },
                Feature {
                    shape: roof,
                    effect: Effect::Cover(7),
                },
            ],
            cells: vec![vec![0, 1]],
            cell_cols: 1,
            pads: vec![],
        };
        let on_roof = layer.at(20, 20);
        assert_eq!(on_roof.cover, (7, 1.0));
        assert_eq!(on_roof.shade, 1.0);
        let shadow = layer.at(27, 20);
        assert_eq!(shadow.cover.1, 0.0);
        assert!((shadow.shade - 0.1).abs() < 1e-6, "{}", shadow.shade);
        assert_eq!(layer.at(31, 20).shade, 1.0);
    }
}
