//! Evidence PNG for one site: an enhancement chip (colour-mapped, nearest-neighbour
//! upscaled) with a colour bar labelled in ppm·m, a scale bar in metres, the plume
//! outline, the source marker and a wind arrow with its speed.
//!
//! Drawing is done here with a few small raster routines; text uses the one 5 × 7
//! bitmap font of [`crate::png_plot`]; the `image` crate encodes the PNG.

use crate::atomic;
use crate::{Error, Result};
use image::{Rgb, RgbImage};
use plumewatch_core::raster::Grid;
use std::path::Path;

/// Colour of the plume outline.
pub const OUTLINE_RGB: [u8; 3] = [0, 255, 255];
/// Colour of the source marker.
pub const SOURCE_RGB: [u8; 3] = [255, 32, 32];
/// Colour of the wind arrow.
pub const WIND_RGB: [u8; 3] = [255, 255, 0];
/// Colour of no-data pixels and of the chip outside the scene.
pub const NODATA_RGB: [u8; 3] = [110, 110, 110];

/// What to draw.
#[derive(Debug, Clone, Copy)]
pub struct Evidence<'a> {
    /// Raster size of the enhancement.
    pub grid: Grid,
    /// Enhancement raster, `lines × samples` row-major (ppm·m, NaN = no data).
    pub enhancement: &'a [f32],
    /// Chip centre, continuous pixel `(col, row)` (usually the source).
    pub centre: (f64, f64),
    /// Plume outline rings in continuous pixel coordinates `[col, row]`.
    pub outline: &'a [Vec<[f64; 2]>],
    /// Source position, continuous pixel `(col, row)`.
    pub source: Option<(f64, f64)>,
    /// Downwind unit vector in pixel space `(dcol, drow)` and wind speed (m/s).
    pub wind: Option<((f64, f64), f64)>,
    /// Ground sample distance (m), for the scale bar.
    pub gsd_m: f64,
}

/// Rendering parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EvidenceParams {
    /// Chip half-size in raster pixels (default 32: a 65 × 65 pixel chip).
    pub chip_radius_px: usize,
    /// Target chip size in image pixels; the upscale factor is the integer that comes
    /// closest without exceeding it (default 390, at least 1×).
    pub target_chip_size: u32,
    /// Colour-scale limits in ppm·m; `None` = 0 to the chip's maximum.
    pub range_ppm_m: Option<(f64, f64)>,
}

impl Default for EvidenceParams {
    fn default() -> Self {
        Self {
            chip_radius_px: 32,
            target_chip_size: 390,
            range_ppm_m: None,
        }
    }
}

/// Where things landed in the image (for callers and tests).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EvidenceLayout {
    /// Raster column and row of the chip's upper-left pixel (may be negative).
    pub chip_origin: (i64, i64),
    /// Image pixels per raster pixel.
    pub scale: u32,
    /// Chip size in image pixels (square).
    pub chip_size: u32,
    /// Colour bar rectangle `[x, y, width, height]` in image pixels (top = maximum).
    pub colorbar: [u32; 4],
    /// Colour-scale limits (ppm·m).
    pub range_ppm_m: (f64, f64),
    /// Scale-bar length (m) and its length in image pixels.
    pub scale_bar: (f64, u32),
}

impl EvidenceLayout {
    /// Image position of the continuous raster position `(col, row)`.
    pub fn to_image(&self, col: f64, row: f64) -> (f64, f64) {
        (
            (col - self.chip_origin.0 as f64) * self.scale as f64,
            (row - self.chip_origin.1 as f64) * self.scale as f64,
        )
    }
}

/// The colour map (dark purple → orange → pale yellow, perceptually ordered), `t` in
/// [0, 1] (clamped).
pub fn colormap(t: f64) -> [u8; 3] {
    const STOPS: [[f64; 3]; 5] = [
        [0.0, 0.0, 4.0],
        [80.0, 18.0, 123.0],
        [183.0, 55.0, 121.0],
        [252.0, 137.0, 97.0],
        [252.0, 253.0, 191.0],
    ];
    let t = if t.is_finite() {
        t.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let x = t * (STOPS.len() - 1) as f64;
    let k = (x.floor() as usize).min(STOPS.len() - 2);
    let f = x - k as f64;
    let mut out = [0u8; 3];
    for (c, o) in out.iter_mut().enumerate() {
        *o = (STOPS[k][c] + f * (STOPS[k + 1][c] - STOPS[k][c])).round() as u8;
    }
    out
}

/// Renders the evidence image.
pub fn render_evidence(e: &Evidence<'_>, p: &EvidenceParams) -> Result<(RgbImage, EvidenceLayout)> {
    let ctx = Path::new("evidence PNG");
    e.grid
        .check("enhancement", e.enhancement.len())
        .map_err(|err| Error::format(ctx, "enhancement", err.to_string()))?;
    if !(e.gsd_m.is_finite() && e.gsd_m > 0.0) {
        return Err(Error::format(
            ctx,
            "gsd_m",
            format!("expected a ground sample distance > 0 m, got {}", e.gsd_m),
        ));
    }
    if !(e.centre.0.is_finite() && e.centre.1.is_finite()) {
        return Err(Error::format(
            ctx,
            "centre",
            format!("expected a finite pixel position, got {:?}", e.centre),
        ));
    }
    let r = p.chip_radius_px.max(1) as i64;
    let n = (2 * r + 1) as u32;
    let scale = (p.target_chip_size / n).max(1);
    let chip = n * scale;
    let origin = (e.centre.0.floor() as i64 - r, e.centre.1.floor() as i64 - r);
    let value = |col: i64, row: i64| -> f64 {
        if col < 0 || row < 0 || col as usize >= e.grid.samples || row as usize >= e.grid.lines {
            f64::NAN
        } else {
            e.enhancement[row as usize * e.grid.samples + col as usize] as f64
        }
    };
    let (vmin, vmax) = match p.range_ppm_m {
        Some((a, b)) if a.is_finite() && b.is_finite() && b > a => (a, b),
        Some(bad) => {
            return Err(Error::format(
                ctx,
                "range_ppm_m",
                format!("expected finite limits with max > min, got {bad:?}"),
            ))
        }
        None => {
            let mut m = f64::NEG_INFINITY;
            for row in origin.1..origin.1 + n as i64 {
                for col in origin.0..origin.0 + n as i64 {
                    let v = value(col, row);
                    if v.is_finite() {
                        m = m.max(v);
                    }
                }
            }
            (0.0, if m.is_finite() && m > 0.0 { m } else { 1.0 })
        }
    };
    let bar_w = 18u32;
    let width = chip + 12 + bar_w + 6 + 8 * 12;
    let height = chip;
    let mut img = RgbImage::from_pixel(width, height, Rgb([255, 255, 255]));
    // Chip.
    for cy in 0..n {
        for cx in 0..n {
            let v = value(origin.0 + cx as i64, origin.1 + cy as i64);
            let rgb = if v.is_finite() {
                colormap((v - vmin) / (vmax - vmin))
            } else {
                NODATA_RGB
            };
            for y in cy * scale..(cy + 1) * scale {
                for x in cx * scale..(cx + 1) * scale {
                    img.put_pixel(x, y, Rgb(rgb));
                }
            }
        }
    }
    let layout_tmp = EvidenceLayout {
        chip_origin: origin,
        scale,
        chip_size: chip,
        colorbar: [chip + 12, 20, bar_w, chip.saturating_sub(60).max(10)],
        range_ppm_m: (vmin, vmax),
        scale_bar: (0.0, 0),
    };
    let clip = |x: f64, y: f64| (x.clamp(-1e6, 1e6), y.clamp(-1e6, 1e6));
    // Outline.
    for ring in e.outline {
        for w in ring.windows(2) {
            let a = clip_pt(layout_tmp.to_image(w[0][0], w[0][1]), clip);
            let b = clip_pt(layout_tmp.to_image(w[1][0], w[1][1]), clip);
            draw_line(&mut img, a, b, 1, OUTLINE_RGB, chip);
        }
    }
    // Source marker: a ring with a cross.
    if let Some((c, rw)) = e.source {
        let (x, y) = layout_tmp.to_image(c, rw);
        draw_circle(&mut img, (x, y), 7.0, 2.0, [255, 255, 255], chip);
        draw_circle(&mut img, (x, y), 5.5, 1.5, SOURCE_RGB, chip);
        draw_line(&mut img, (x - 4.0, y), (x + 4.0, y), 0, SOURCE_RGB, chip);
        draw_line(&mut img, (x, y - 4.0), (x, y + 4.0), 0, SOURCE_RGB, chip);
    }
    // Wind arrow in the upper-left corner.
    if let Some(((dx, dy), speed)) = e.wind {
        let norm = (dx * dx + dy * dy).sqrt();
        if norm > 0.0 {
            let (ux, uy) = (dx / norm, dy / norm);
            let c = (34.0, 34.0);
            let half = 22.0;
            let tail = (c.0 - ux * half, c.1 - uy * half);
            let head = (c.0 + ux * half, c.1 + uy * half);
            draw_line(&mut img, tail, head, 1, WIND_RGB, chip);
            // Arrowhead: two barbs.
            for s in [-1.0, 1.0] {
                let (bx, by) = (-ux * 0.866 - s * uy * 0.5, -uy * 0.866 + s * ux * 0.5);
                draw_line(
                    &mut img,
                    head,
                    (head.0 + bx * 11.0, head.1 + by * 11.0),
                    1,
                    WIND_RGB,
                    chip,
                );
            }
            if speed.is_finite() {
                draw_text(&mut img, 8, 64, &format!("{speed:.1} m/s"), 1, WIND_RGB);
            }
        }
    }
    // Scale bar in the lower-left corner: the 1-2-5 length closest to a quarter of
    // the chip width.
    let target_m = chip as f64 / scale as f64 * e.gsd_m / 4.0;
    let mag = 10f64.powf(target_m.log10().floor());
    let len_m = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|k| k * mag)
        .min_by(|a, b| {
            (a / target_m)
                .ln()
                .abs()
                .total_cmp(&(b / target_m).ln().abs())
        })
        .unwrap_or(mag);
    let len_px = (len_m / e.gsd_m * scale as f64).round() as u32;
    let y0 = chip.saturating_sub(14);
    fill_rect(&mut img, 8, y0 - 2, len_px + 4, 8, [0, 0, 0]);
    fill_rect(&mut img, 10, y0, len_px, 4, [255, 255, 255]);
    let label = if len_m >= 1000.0 {
        format!("{} km", trim_float(len_m / 1000.0))
    } else {
        format!("{} m", trim_float(len_m))
    };
    draw_text(
        &mut img,
        10,
        y0.saturating_sub(18),
        &label,
        1,
        [255, 255, 255],
    );
    // Colour bar with labels (top = vmax).
    let [bx, by, bw, bh] = layout_tmp.colorbar;
    for y in 0..bh {
        let t = 1.0 - y as f64 / (bh - 1).max(1) as f64;
        let rgb = colormap(t);
        for x in 0..bw {
            img.put_pixel(bx + x, by + y, Rgb(rgb));
        }
    }
    let lx = bx + bw + 6;
    let black = [0, 0, 0];
    draw_text(&mut img, lx, by, &format_label(vmax), 1, black);
    draw_text(
        &mut img,
        lx,
        by + bh / 2 - 7,
        &format_label(0.5 * (vmin + vmax)),
        1,
        black,
    );
    draw_text(&mut img, lx, by + bh - 14, &format_label(vmin), 1, black);
    draw_text(&mut img, bx, by + bh + 10, "ppm m", 1, black);
    let layout = EvidenceLayout {
        scale_bar: (len_m, len_px),
        ..layout_tmp
    };
    Ok((img, layout))
}

/// Renders and writes the evidence PNG atomically.
pub fn write_evidence_png(
    path: &Path,
    e: &Evidence<'_>,
    p: &EvidenceParams,
) -> Result<EvidenceLayout> {
    let (img, layout) = render_evidence(e, p).map_err(|err| match err {
        Error::Format { field, message, .. } => Error::format(path, field, message),
        other => other,
    })?;
    atomic::write_atomically(path, |tmp| {
        img.save_with_format(tmp, image::ImageFormat::Png)
            .map_err(|err| Error::format(tmp, "PNG", format!("cannot encode: {err}")))
    })?;
    Ok(layout)
}

fn clip_pt(p: (f64, f64), clip: impl Fn(f64, f64) -> (f64, f64)) -> (f64, f64) {
    clip(p.0, p.1)
}

fn trim_float(v: f64) -> String {
    let s = format!("{v:.1}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

fn format_label(v: f64) -> String {
    if v.abs() >= 100.0 || v == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

fn put(img: &mut RgbImage, x: i64, y: i64, rgb: [u8; 3], max_x: u32) {
    if x >= 0 && y >= 0 && (x as u32) < max_x.min(img.width()) && (y as u32) < img.height() {
        img.put_pixel(x as u32, y as u32, Rgb(rgb));
    }
}

fn fill_rect(img: &mut RgbImage, x: u32, y: u32, w: u32, h: u32, rgb: [u8; 3]) {
    for yy in y..y.saturating_add(h) {
        for xx in x..x.saturating_add(w) {
            put(img, xx as i64, yy as i64, rgb, u32::MAX);
        }
    }
}

/// A line of half-width `hw` pixels (0 = one pixel), clipped to `x < max_x`.
fn draw_line(img: &mut RgbImage, a: (f64, f64), b: (f64, f64), hw: i64, rgb: [u8; 3], max_x: u32) {
    let len = ((b.0 - a.0).powi(2) + (b.1 - a.1).powi(2)).sqrt();
    let steps = (len * 2.0).ceil().max(1.0) as usize;
    for k in 0..=steps {
        let t = k as f64 / steps as f64;
        let x = (a.0 + t * (b.0 - a.0)).round() as i64;
        let y = (a.1 + t * (b.1 - a.1)).round() as i64;
        for dy in -hw..=hw {
            for dx in -hw..=hw {
                put(img, x + dx, y + dy, rgb, max_x);
            }
        }
    }
}

fn draw_circle(
    img: &mut RgbImage,
    c: (f64, f64),
    radius: f64,
    width: f64,
    rgb: [u8; 3],
    max_x: u32,
) {
    let r_out = radius + width / 2.0;
    let r_in = radius - width / 2.0;
    let (x0, x1) = ((c.0 - r_out).floor() as i64, (c.0 + r_out).ceil() as i64);
    let (y0, y1) = ((c.1 - r_out).floor() as i64, (c.1 + r_out).ceil() as i64);
    for y in y0..=y1 {
        for x in x0..=x1 {
            let d = ((x as f64 + 0.5 - c.0).powi(2) + (y as f64 + 0.5 - c.1).powi(2)).sqrt();
            if d >= r_in && d <= r_out {
                put(img, x, y, rgb, max_x);
            }
        }
    }
}

/// Draws `text` in the font of [`crate::png_plot`] with its top-left at (x, y), each
/// font pixel `2·size` image pixels.
fn draw_text(img: &mut RgbImage, x: u32, y: u32, text: &str, size: u32, rgb: [u8; 3]) {
    let px = 2 * size.max(1);
    for (dx, dy) in crate::png_plot::text_pixels(text) {
        fill_rect(img, x + dx as u32 * px, y + dy as u32 * px, px, px, rgb);
    }
}
