//! PNG figures: RGB images (quicklooks), simple line/point plots drawn pixel by pixel,
//! and the one built-in 5×7 bitmap font ([`text_pixels`]) that every figure's text is
//! drawn with (the evidence chips of [`crate::evidence_png`] included; no plotting or
//! font crate: `plotters` needs system fonts or a TTF to render text).

use crate::{atomic, Error, Result};
use std::path::Path;

/// Writes an 8-bit RGB image (`width × height × 3` bytes, row major) as PNG, atomically.
pub fn write_rgb_png(path: &Path, width: usize, height: usize, rgb: &[u8]) -> Result<()> {
    if rgb.len() != width * height * 3 || width == 0 || height == 0 {
        return Err(Error::format(
            path,
            "pixels",
            format!(
                "{} bytes for {width} × {height} RGB (expected {})",
                rgb.len(),
                width * height * 3
            ),
        ));
    }
    let img = image::RgbImage::from_raw(width as u32, height as u32, rgb.to_vec())
        .ok_or_else(|| Error::format(path, "pixels", "buffer does not match the size"))?;
    atomic::write_atomically(path, |tmp| {
        img.save_with_format(tmp, image::ImageFormat::Png)
            .map_err(|e| Error::format(tmp, "PNG", format!("cannot encode: {e}")))
    })
}

/// Quicklook: left SWIR false colour (2–98% stretch) with the mask outline in magenta,
/// right log10 enhancement 10–10⁴ ppm·m; `marks` (fractional row, col: the sources) as
/// green crosses. `rgb` are the three bands, `enh` the enhancement (ppm·m) and `mask` the
/// truth mask, all `lines × samples`. Returns (width, height, RGB bytes).
pub fn truth_quicklook(
    lines: usize,
    samples: usize,
    rgb: &[Vec<f32>; 3],
    enh: &[f32],
    mask: &[f32],
    marks: &[(f64, f64)],
) -> (usize, usize, Vec<u8>) {
    let step = (lines.max(samples) / 1200 + 1).max(1);
    let (h, w) = (lines.div_ceil(step), samples.div_ceil(step));
    let width = 2 * w + 4;
    let mut px = vec![255u8; width * h * 3];
    let stretch: Vec<(f32, f32)> = rgb
        .iter()
        .map(|c| {
            let mut v: Vec<f32> = c.iter().copied().filter(|x| x.is_finite()).collect();
            if v.is_empty() {
                return (0.0, 1.0);
            }
            v.sort_by(f32::total_cmp);
            let lo = v[v.len() * 2 / 100];
            let hi = v[(v.len() * 98 / 100).min(v.len() - 1)];
            (lo, (hi - lo).max(1e-6))
        })
        .collect();
    for y in 0..h {
        for x in 0..w {
            let i = (y * step) * samples + x * step;
            let o = (y * width + x) * 3;
            for (k, c) in rgb.iter().enumerate() {
                let v = ((c[i] - stretch[k].0) / stretch[k].1).clamp(0.0, 1.0);
                px[o + k] = (v * 255.0) as u8;
            }
            let edge = mask[i] > 0.0
                && [(0i64, 1i64), (1, 0), (0, -1), (-1, 0)]
                    .iter()
                    .any(|(dy, dx)| {
                        let (yy, xx) = ((y * step) as i64 + dy, (x * step) as i64 + dx);
                        yy < 0
                            || xx < 0
                            || yy >= lines as i64
                            || xx >= samples as i64
                            || mask[yy as usize * samples + xx as usize] == 0.0
                    });
            if edge {
                px[o..o + 3].copy_from_slice(&[255, 0, 255]);
            }
            let e = enh[i];
            let t = if e > 10.0 {
                ((e.log10() - 1.0) / 3.0).clamp(0.0, 1.0)
            } else {
                0.0
            };
            let o2 = (y * width + w + 4 + x) * 3;
            // Black → red → yellow → white.
            let (r, g, b) = (
                (3.0 * t).min(1.0),
                (3.0 * t - 1.0).clamp(0.0, 1.0),
                (3.0 * t - 2.0).clamp(0.0, 1.0),
            );
            px[o2..o2 + 3].copy_from_slice(&[
                (r * 255.0) as u8,
                (g * 255.0) as u8,
                (b * 255.0) as u8,
            ]);
        }
    }
    for &(row, col) in marks {
        let (cy, cx) = ((row / step as f64) as i64, (col / step as f64) as i64);
        for d in -3i64..=3 {
            for (yy, xx) in [(cy + d, cx), (cy, cx + d)] {
                for off in [0usize, w + 4] {
                    if yy >= 0 && xx >= 0 && (yy as usize) < h && (xx as usize) < w {
                        let o = (yy as usize * width + xx as usize + off) * 3;
                        px[o..o + 3].copy_from_slice(&[0, 255, 0]);
                    }
                }
            }
        }
    }
    (width, h, px)
}

/// How a series is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeriesStyle {
    /// Connected line.
    Line,
    /// Filled squares.
    Points,
    /// Line with squares at the points.
    LinePoints,
}

/// One data series of a plot.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Legend label.
    pub label: String,
    /// (x, y) points; non-finite points are skipped.
    pub points: Vec<(f64, f64)>,
    /// Colour, RGB.
    pub color: [u8; 3],
    /// Drawing style.
    pub style: SeriesStyle,
    /// Optional vertical error bars (lower, upper) per point.
    pub y_bounds: Option<Vec<(f64, f64)>>,
}

/// A 2-D plot.
#[derive(Debug, Clone, PartialEq)]
pub struct Plot {
    /// Title (top).
    pub title: String,
    /// x-axis label.
    pub x_label: String,
    /// y-axis label.
    pub y_label: String,
    /// Logarithmic x axis (base 10; non-positive x skipped).
    pub log_x: bool,
    /// Axis ranges; `None` = from the data.
    pub x_range: Option<(f64, f64)>,
    /// y range; `None` = from the data.
    pub y_range: Option<(f64, f64)>,
    /// Draw the y = x line (parity plots).
    pub identity_line: bool,
    /// Series.
    pub series: Vec<Series>,
}

const FONT: &[(char, [u8; 7])] = &[
    ('0', [0x0E, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0E]),
    ('1', [0x04, 0x0C, 0x04, 0x04, 0x04, 0x04, 0x0E]),
    ('2', [0x0E, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1F]),
    ('3', [0x1F, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0E]),
    ('4', [0x02, 0x06, 0x0A, 0x12, 0x1F, 0x02, 0x02]),
    ('5', [0x1F, 0x10, 0x1E, 0x01, 0x01, 0x11, 0x0E]),
    ('6', [0x06, 0x08, 0x10, 0x1E, 0x11, 0x11, 0x0E]),
    ('7', [0x1F, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08]),
    ('8', [0x0E, 0x11, 0x11, 0x0E, 0x11, 0x11, 0x0E]),
    ('9', [0x0E, 0x11, 0x11, 0x0F, 0x01, 0x02, 0x0C]),
    ('A', [0x0E, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11]),
    ('B', [0x1E, 0x11, 0x11, 0x1E, 0x11, 0x11, 0x1E]),
    ('C', [0x0E, 0x11, 0x10, 0x10, 0x10, 0x11, 0x0E]),
    ('D', [0x1C, 0x12, 0x11, 0x11, 0x11, 0x12, 0x1C]),
    ('E', [0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x1F]),
    ('F', [0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x10]),
    ('G', [0x0E, 0x11, 0x10, 0x17, 0x11, 0x11, 0x0F]),
    ('H', [0x11, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11]),
    ('I', [0x0E, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0E]),
    ('J', [0x07, 0x02, 0x02, 0x02, 0x02, 0x12, 0x0C]),
    ('K', [0x11, 0x12, 0x14, 0x18, 0x14, 0x12, 0x11]),
    ('L', [0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x1F]),
    ('M', [0x11, 0x1B, 0x15, 0x15, 0x11, 0x11, 0x11]),
    ('N', [0x11, 0x11, 0x19, 0x15, 0x13, 0x11, 0x11]),
    ('O', [0x0E, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E]),
    ('P', [0x1E, 0x11, 0x11, 0x1E, 0x10, 0x10, 0x10]),
    ('Q', [0x0E, 0x11, 0x11, 0x11, 0x15, 0x12, 0x0D]),
    ('R', [0x1E, 0x11, 0x11, 0x1E, 0x14, 0x12, 0x11]),
    ('S', [0x0F, 0x10, 0x10, 0x0E, 0x01, 0x01, 0x1E]),
    ('T', [0x1F, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04]),
    ('U', [0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E]),
    ('V', [0x11, 0x11, 0x11, 0x11, 0x11, 0x0A, 0x04]),
    ('W', [0x11, 0x11, 0x11, 0x15, 0x15, 0x15, 0x0A]),
    ('X', [0x11, 0x11, 0x0A, 0x04, 0x0A, 0x11, 0x11]),
    ('Y', [0x11, 0x11, 0x11, 0x0A, 0x04, 0x04, 0x04]),
    ('Z', [0x1F, 0x01, 0x02, 0x04, 0x08, 0x10, 0x1F]),
    ('.', [0x00, 0x00, 0x00, 0x00, 0x00, 0x0C, 0x0C]),
    (',', [0x00, 0x00, 0x00, 0x00, 0x0C, 0x04, 0x08]),
    ('-', [0x00, 0x00, 0x00, 0x1F, 0x00, 0x00, 0x00]),
    ('+', [0x00, 0x04, 0x04, 0x1F, 0x04, 0x04, 0x00]),
    ('=', [0x00, 0x00, 0x1F, 0x00, 0x1F, 0x00, 0x00]),
    ('/', [0x00, 0x01, 0x02, 0x04, 0x08, 0x10, 0x00]),
    ('(', [0x02, 0x04, 0x08, 0x08, 0x08, 0x04, 0x02]),
    (')', [0x08, 0x04, 0x02, 0x02, 0x02, 0x04, 0x08]),
    (':', [0x00, 0x0C, 0x0C, 0x00, 0x0C, 0x0C, 0x00]),
    ('%', [0x18, 0x19, 0x02, 0x04, 0x08, 0x13, 0x03]),
    ('_', [0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x1F]),
    ('·', [0x00, 0x00, 0x00, 0x0C, 0x0C, 0x00, 0x00]),
    ('>', [0x08, 0x04, 0x02, 0x01, 0x02, 0x04, 0x08]),
    ('<', [0x02, 0x04, 0x08, 0x10, 0x08, 0x04, 0x02]),
    ('p', [0x00, 0x00, 0x1E, 0x11, 0x1E, 0x10, 0x10]),
    ('m', [0x00, 0x00, 0x1A, 0x15, 0x15, 0x15, 0x15]),
    ('k', [0x10, 0x10, 0x12, 0x14, 0x18, 0x14, 0x12]),
    ('s', [0x00, 0x00, 0x0F, 0x10, 0x0E, 0x01, 0x1E]),
];

/// Glyph of `c` in the 5 × 7 font (one byte per row, low 5 bits, MSB = left): its own
/// glyph, else its upper-case one; `None` draws as a blank.
fn glyph(c: char) -> Option<&'static [u8; 7]> {
    let find = |k: char| FONT.iter().find(|(g, _)| *g == k).map(|(_, rows)| rows);
    find(c).or_else(|| find(c.to_ascii_uppercase()))
}

/// The lit pixels of `text` in the 5 × 7 font, as (column, row) from its top-left at
/// one image pixel per font pixel; characters advance 6 columns.
pub fn text_pixels(text: &str) -> impl Iterator<Item = (i64, i64)> + '_ {
    text.chars().enumerate().flat_map(|(k, ch)| {
        let rows = glyph(ch).copied().unwrap_or([0; 7]);
        (0..7i64).flat_map(move |ry| {
            (0..5i64)
                .filter(move |rx| rows[ry as usize] & (0x10 >> rx) != 0)
                .map(move |rx| (6 * k as i64 + rx, ry))
        })
    })
}

/// An RGB canvas with drawing primitives.
struct Canvas {
    w: usize,
    h: usize,
    px: Vec<u8>,
}

impl Canvas {
    fn new(w: usize, h: usize) -> Self {
        Self {
            w,
            h,
            px: vec![255; w * h * 3],
        }
    }
    fn set(&mut self, x: i64, y: i64, c: [u8; 3]) {
        if x >= 0 && y >= 0 && (x as usize) < self.w && (y as usize) < self.h {
            let i = (y as usize * self.w + x as usize) * 3;
            self.px[i..i + 3].copy_from_slice(&c);
        }
    }
    fn line(&mut self, x0: f64, y0: f64, x1: f64, y1: f64, c: [u8; 3], thick: i64) {
        let n = ((x1 - x0).abs().max((y1 - y0).abs()).ceil() as usize).max(1);
        for i in 0..=n {
            let t = i as f64 / n as f64;
            let (x, y) = (x0 + (x1 - x0) * t, y0 + (y1 - y0) * t);
            for d in 0..thick {
                self.set(x.round() as i64, y.round() as i64 + d, c);
                self.set(x.round() as i64 + d, y.round() as i64, c);
            }
        }
    }
    fn square(&mut self, x: f64, y: f64, r: i64, c: [u8; 3]) {
        for dy in -r..=r {
            for dx in -r..=r {
                self.set(x.round() as i64 + dx, y.round() as i64 + dy, c);
            }
        }
    }
    /// Plot text is drawn in capitals.
    fn text(&mut self, x: i64, y: i64, s: &str, c: [u8; 3]) {
        for (dx, dy) in text_pixels(&s.to_ascii_uppercase()) {
            self.set(x + dx, y + dy, c);
        }
    }
    fn text_vertical(&mut self, x: i64, y: i64, s: &str, c: [u8; 3]) {
        // Rotated 90° counter-clockwise, reading bottom to top, starting at (x, y).
        for (dx, dy) in text_pixels(&s.to_ascii_uppercase()) {
            self.set(x + dy, y - dx, c);
        }
    }
}

fn fmt_tick(v: f64) -> String {
    let a = v.abs();
    if v == 0.0 {
        "0".into()
    } else if !(1e-3..1e5).contains(&a) {
        format!("{v:.0e}")
    } else if a >= 100.0 || (v.fract() == 0.0) {
        format!("{v:.0}")
    } else if a >= 1.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

fn nice_ticks(lo: f64, hi: f64) -> Vec<f64> {
    let span = (hi - lo).max(1e-12);
    let raw = span / 5.0;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| span / s <= 6.0)
        .unwrap_or(10.0 * mag);
    let mut t = (lo / step).ceil() * step;
    let mut out = Vec::new();
    while t <= hi + 1e-9 * span {
        out.push(t);
        t += step;
    }
    out
}

/// Renders `plot` into an RGB buffer of `width × height` pixels.
pub fn render_plot(plot: &Plot, width: usize, height: usize) -> Vec<u8> {
    let mut cv = Canvas::new(width, height);
    let (ml, mr, mt, mb) = (70.0, 20.0, 30.0, 50.0);
    let (pw, ph) = (width as f64 - ml - mr, height as f64 - mt - mb);
    let tx = |x: f64| if plot.log_x { x.log10() } else { x };
    let pts = || {
        plot.series
            .iter()
            .flat_map(|s| s.points.iter().copied())
            .filter(|(x, y)| x.is_finite() && y.is_finite() && (!plot.log_x || *x > 0.0))
    };
    let (mut x0, mut x1) = plot
        .x_range
        .map(|(a, b)| (tx(a), tx(b)))
        .unwrap_or_else(|| {
            pts().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), (x, _)| {
                (a.min(tx(x)), b.max(tx(x)))
            })
        });
    let (mut y0, mut y1) = plot.y_range.unwrap_or_else(|| {
        pts().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), (_, y)| {
            (a.min(y), b.max(y))
        })
    });
    if !(x0.is_finite() && x1.is_finite()) {
        (x0, x1) = (0.0, 1.0);
    }
    if !(y0.is_finite() && y1.is_finite()) {
        (y0, y1) = (0.0, 1.0);
    }
    if plot.identity_line && plot.x_range.is_none() && plot.y_range.is_none() {
        let (lo, hi) = (x0.min(y0), x1.max(y1));
        (x0, x1, y0, y1) = (lo, hi, lo, hi);
    }
    if x1 - x0 < 1e-12 {
        x1 = x0 + 1.0;
    }
    if y1 - y0 < 1e-12 {
        y1 = y0 + 1.0;
    }
    let px = |x: f64| ml + (tx(x) - x0) / (x1 - x0) * pw;
    let py = |y: f64| mt + (1.0 - (y - y0) / (y1 - y0)) * ph;
    let grey = [200, 200, 200];
    let black = [0, 0, 0];
    // Ticks and grid.
    let xticks: Vec<(f64, String)> = if plot.log_x {
        let (a, b) = (x0.floor() as i32, x1.ceil() as i32);
        (a..=b)
            .map(|e| 10f64.powi(e))
            .filter(|v| tx(*v) >= x0 - 1e-9 && tx(*v) <= x1 + 1e-9)
            .map(|v| (v, fmt_tick(v)))
            .collect()
    } else {
        nice_ticks(x0, x1)
            .into_iter()
            .map(|v| (v, fmt_tick(v)))
            .collect()
    };
    for (v, label) in &xticks {
        let x = px(*v);
        cv.line(x, mt, x, mt + ph, grey, 1);
        cv.text(
            x as i64 - 3 * label.len() as i64,
            (mt + ph + 6.0) as i64,
            label,
            black,
        );
    }
    for v in nice_ticks(y0, y1) {
        let y = py(v);
        cv.line(ml, y, ml + pw, y, grey, 1);
        let label = fmt_tick(v);
        cv.text(
            ml as i64 - 6 * label.len() as i64 - 4,
            y as i64 - 3,
            &label,
            black,
        );
    }
    // Axes.
    cv.line(ml, mt + ph, ml + pw, mt + ph, black, 1);
    cv.line(ml, mt, ml, mt + ph, black, 1);
    if plot.identity_line {
        let (a, b) = (x0.max(y0), x1.min(y1));
        if b > a {
            cv.line(px(a), py(a), px(b), py(b), [120, 120, 120], 1);
        }
    }
    // Series.
    let clip =
        |x: f64, y: f64| x >= ml - 1.0 && x <= ml + pw + 1.0 && y >= mt - 1.0 && y <= mt + ph + 1.0;
    for s in &plot.series {
        let valid: Vec<(usize, f64, f64)> = s
            .points
            .iter()
            .enumerate()
            .filter(|(_, (x, y))| x.is_finite() && y.is_finite() && (!plot.log_x || *x > 0.0))
            .map(|(i, (x, y))| (i, px(*x), py(*y)))
            .collect();
        if let Some(b) = &s.y_bounds {
            for &(i, x, _) in &valid {
                if let Some(&(lo, hi)) = b.get(i) {
                    if lo.is_finite() && hi.is_finite() {
                        let (ya, yb) = (py(lo).clamp(mt, mt + ph), py(hi).clamp(mt, mt + ph));
                        cv.line(x, ya, x, yb, s.color, 1);
                    }
                }
            }
        }
        if matches!(s.style, SeriesStyle::Line | SeriesStyle::LinePoints) {
            for w in valid.windows(2) {
                if clip(w[0].1, w[0].2) && clip(w[1].1, w[1].2) {
                    cv.line(w[0].1, w[0].2, w[1].1, w[1].2, s.color, 2);
                }
            }
        }
        if matches!(s.style, SeriesStyle::Points | SeriesStyle::LinePoints) {
            for &(_, x, y) in &valid {
                if clip(x, y) {
                    cv.square(x, y, 2, s.color);
                }
            }
        }
    }
    // Legend, title, labels.
    for (i, s) in plot.series.iter().enumerate() {
        let y = mt as i64 + 6 + 12 * i as i64;
        let x = (ml + pw) as i64 - 6 * s.label.len() as i64 - 22;
        cv.square(x as f64 + 6.0, y as f64 + 3.0, 3, s.color);
        cv.text(x + 14, y, &s.label, black);
    }
    cv.text(ml as i64, 10, &plot.title, black);
    cv.text(
        (ml + pw / 2.0) as i64 - 3 * plot.x_label.len() as i64,
        height as i64 - 18,
        &plot.x_label,
        black,
    );
    cv.text_vertical(
        8,
        (mt + ph / 2.0) as i64 + 3 * plot.y_label.len() as i64,
        &plot.y_label,
        black,
    );
    cv.px
}

/// Renders `plot` at 640 × 440 pixels and writes it as PNG, atomically.
pub fn write_plot_png(path: &Path, plot: &Plot) -> Result<()> {
    let (w, h) = (640, 440);
    write_rgb_png(path, w, h, &render_plot(plot, w, h))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plot_draws_series_in_its_colour_and_writes_a_png() {
        let plot = Plot {
            title: "POD vs Q".into(),
            x_label: "Q (kg/h)".into(),
            y_label: "POD".into(),
            log_x: true,
            x_range: None,
            y_range: Some((0.0, 1.0)),
            identity_line: false,
            series: vec![Series {
                label: "pod".into(),
                points: vec![(1.0, 0.0), (10.0, 0.5), (100.0, 1.0)],
                color: [200, 0, 0],
                style: SeriesStyle::LinePoints,
                y_bounds: None,
            }],
        };
        let px = render_plot(&plot, 320, 240);
        let red = px.chunks_exact(3).filter(|p| p == &[200, 0, 0]).count();
        assert!(red > 50, "{red} red pixels");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.png");
        write_plot_png(&path, &plot).unwrap();
        let img = image::open(&path).unwrap();
        assert_eq!((img.width(), img.height()), (640, 440));
        assert!(write_rgb_png(&path, 2, 2, &[0; 5]).is_err());
    }
}
