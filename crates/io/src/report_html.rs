//! The self-contained HTML report of a scan: one file, no network access needed to
//! view it (images are embedded as data URIs, the table sorting is inline script).
//!
//! The report holds an overview of every flight line (quicklook with plume outlines and
//! site markers drawn as SVG on top), a sortable table of candidate sites, the evidence
//! of each site, the candidates that were rejected and why, the scene's detection limit,
//! and the run's metadata (inputs, version, parameters).

use crate::{atomic, Error, Result};
use base64::Engine;
use plumewatch_core::math::order_stats::percentile_sorted;
use plumewatch_core::raster::NODATA;
use std::fmt::Write as _;
use std::path::Path;

/// Everything the report shows. Plain values: the caller turns its results into these.
#[derive(Debug, Clone, Default)]
pub struct ReportInput {
    /// Title shown at the top of the page.
    pub title: String,
    /// When the run finished (UTC, ISO 8601).
    pub generated_utc: String,
    /// plumewatch version that produced the report.
    pub version: String,
    /// Run parameters as (name, value) pairs, shown as given.
    pub parameters: Vec<(String, String)>,
    /// One overview per flight line.
    pub overviews: Vec<Overview>,
    /// Candidate sites, in rank order.
    pub sites: Vec<SiteRow>,
    /// Candidates that were rejected, with the reason.
    pub rejected: Vec<RejectedRow>,
    /// Detection-limit summary of the scene, when it was estimated.
    pub detection_limit: Option<DetectionLimit>,
}

/// A flight line's quicklook with the plumes and sites found on it.
#[derive(Debug, Clone, Default)]
pub struct Overview {
    /// Name of the flight line (usually its file name).
    pub name: String,
    /// Input file path, as given.
    pub path: String,
    /// Cube size: lines, samples, bands.
    pub lines: usize,
    /// Cross-track samples.
    pub samples: usize,
    /// Bands.
    pub bands: usize,
    /// PNG bytes of the quicklook, one image pixel per cube pixel or scaled uniformly.
    pub quicklook_png: Vec<u8>,
    /// Width and height of the quicklook in image pixels.
    pub image_size: (u32, u32),
    /// Plume outlines in image pixel coordinates (x = sample, y = line), closed rings.
    pub plume_outlines: Vec<Vec<(f64, f64)>>,
    /// Site markers in image pixel coordinates with their labels.
    pub markers: Vec<(f64, f64, String)>,
    /// Footprint corners as (longitude, latitude) in degrees, when georeferenced.
    pub footprint_lon_lat: Vec<(f64, f64)>,
}

/// One candidate site.
#[derive(Debug, Clone, Default)]
pub struct SiteRow {
    /// Site identifier (stable within the run).
    pub id: String,
    /// Rank, 1 = strongest evidence.
    pub rank: usize,
    /// Source longitude, degrees (WGS84); NaN when the scene has no georeference.
    pub lon: f64,
    /// Source latitude, degrees (WGS84).
    pub lat: f64,
    /// Emission rate estimate, kg/h.
    pub rate_kg_h: f64,
    /// One-sigma uncertainty of the emission rate, kg/h.
    pub rate_sigma_kg_h: f64,
    /// Largest enhancement in the site's plumes, ppm·m.
    pub max_enhancement_ppm_m: f64,
    /// Largest significance (z = enhancement / sigma) in the site's plumes.
    pub max_z: f64,
    /// Probability that a plume this significant arises from noise alone in this scene.
    pub false_alarm_probability: f64,
    /// Number of plume detections merged into the site.
    pub detections: usize,
    /// Number of flight lines (passes) that saw it.
    pub passes: usize,
    /// Evidence image (PNG bytes), when one was drawn.
    pub evidence_png: Option<Vec<u8>>,
    /// Free text for the reviewer (e.g. which method estimated the rate).
    pub notes: String,
}

/// A candidate plume that was rejected.
#[derive(Debug, Clone, Default)]
pub struct RejectedRow {
    /// Candidate identifier.
    pub id: String,
    /// Flight line it was found on.
    pub flight_line: String,
    /// Pixel position (line, sample) of its peak.
    pub line: f64,
    /// Pixel sample of its peak.
    pub sample: f64,
    /// Why it was rejected, in words.
    pub reason: String,
}

/// The smallest source the scene could have revealed.
#[derive(Debug, Clone, Default)]
pub struct DetectionLimit {
    /// Emission rate at 50 % probability of detection, kg/h.
    pub q50_kg_h: f64,
    /// Emission rate at 90 % probability of detection, kg/h.
    pub q90_kg_h: f64,
    /// How it was estimated (wind, number of injections, confidence interval).
    pub method: String,
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn data_uri(png: &[u8]) -> String {
    format!(
        "data:image/png;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(png)
    )
}

/// A number for a table cell: fixed decimals, "–" for NaN.
fn cell(v: f64, decimals: usize) -> String {
    if v.is_finite() {
        format!("{v:.decimals$}")
    } else {
        "–".to_string()
    }
}

/// A probability in scientific notation, "–" for NaN.
fn prob(p: f64) -> String {
    if p.is_finite() {
        format!("{p:.1e}")
    } else {
        "–".to_string()
    }
}

const STYLE: &str = r#"
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#1b1f24;background:#f6f7f9}
header{background:#12263a;color:#fff;padding:14px 24px}
header h1{margin:0;font-size:20px}
header p{margin:4px 0 0;font-size:13px;opacity:.85}
main{padding:16px 24px;max-width:1400px}
section{background:#fff;border:1px solid #dde1e6;border-radius:6px;padding:12px 16px;margin-bottom:16px}
h2{font-size:16px;margin:0 0 10px}
table{border-collapse:collapse;font-size:13px;width:100%}
th,td{border-bottom:1px solid #e6e8eb;padding:4px 8px;text-align:right;white-space:nowrap}
th{background:#eef1f4;cursor:pointer;user-select:none;position:sticky;top:0}
th.asc::after{content:" \25B2"}th.desc::after{content:" \25BC"}
td.l,th.l{text-align:left}
.overviews{display:flex;flex-wrap:wrap;gap:16px}
figure{margin:0}
figcaption{font-size:12px;color:#555;margin-top:4px}
svg.ov{border:1px solid #ccc;background:#000;max-width:100%;height:auto}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(340px,1fr));gap:12px}
.card{border:1px solid #dde1e6;border-radius:6px;padding:8px}
.card img{width:100%;image-rendering:pixelated}
.card dl{display:grid;grid-template-columns:auto 1fr;gap:2px 10px;font-size:12px;margin:6px 0 0}
.card dt{color:#555}.card dd{margin:0}
.kv td{text-align:left}
.note{font-size:12px;color:#555}
"#;

const SCRIPT: &str = r#"
(function(){
  var table=document.getElementById('sites');
  if(!table){return;}
  var heads=table.tHead.rows[0].cells;
  for(var i=0;i<heads.length;i++){(function(col){
    heads[col].addEventListener('click',function(){
      var asc=!heads[col].classList.contains('asc');
      for(var j=0;j<heads.length;j++){heads[j].classList.remove('asc','desc');}
      heads[col].classList.add(asc?'asc':'desc');
      var body=table.tBodies[0];
      var rows=Array.prototype.slice.call(body.rows);
      rows.sort(function(a,b){
        var x=a.cells[col].getAttribute('data-v'),y=b.cells[col].getAttribute('data-v');
        var nx=parseFloat(x),ny=parseFloat(y);
        var c=(!isNaN(nx)&&!isNaN(ny))?nx-ny:String(x).localeCompare(String(y));
        return asc?c:-c;
      });
      rows.forEach(function(r){body.appendChild(r);});
    });
  })(i);}
})();
"#;

fn overview_svg(out: &mut String, ov: &Overview) {
    let (w, h) = ov.image_size;
    // Displayed 640 px along the longer side: small scenes are scaled up (pixelated),
    // long flight lines scaled down.
    let scale = 640.0 / f64::from(w.max(h).max(1));
    let (dw, dh) = (
        (f64::from(w) * scale).round(),
        (f64::from(h) * scale).round(),
    );
    let _ = write!(
        out,
        r#"<svg class="ov" viewBox="0 0 {w} {h}" width="{dw}" height="{dh}" xmlns="http://www.w3.org/2000/svg"><image href="{}" x="0" y="0" width="{w}" height="{h}" style="image-rendering:pixelated"/>"#,
        data_uri(&ov.quicklook_png)
    );
    let stroke = (f64::from(w.max(h)) / 400.0).max(0.8);
    for ring in &ov.plume_outlines {
        let pts: Vec<String> = ring.iter().map(|(x, y)| format!("{x:.2},{y:.2}")).collect();
        let _ = write!(
            out,
            r##"<polygon points="{}" fill="none" stroke="#00e5ff" stroke-width="{stroke:.2}"/>"##,
            pts.join(" ")
        );
    }
    for (x, y, label) in &ov.markers {
        let r = stroke * 4.0;
        let _ = write!(
            out,
            r##"<circle cx="{x:.2}" cy="{y:.2}" r="{r:.2}" fill="none" stroke="#ff2d55" stroke-width="{sw:.2}"><title>{t}</title></circle><text x="{tx:.2}" y="{ty:.2}" fill="#ff2d55" font-size="{fs:.1}" font-family="sans-serif">{t}</text>"##,
            sw = stroke * 1.5,
            t = escape(label),
            tx = x + r * 1.3,
            ty = y - r * 1.3,
            fs = r * 3.0,
        );
    }
    out.push_str("</svg>");
}

/// Encodes an 8-bit RGB image (`width × height × 3`, row-major) as PNG bytes.
pub fn encode_png(width: usize, height: usize, rgb: Vec<u8>) -> Vec<u8> {
    let mut bytes = Vec::new();
    if let Some(img) = image::RgbImage::from_raw(width as u32, height as u32, rgb) {
        // Encoding into memory cannot fail for a well-formed RGB buffer.
        let _ = img.write_to(
            &mut std::io::Cursor::new(&mut bytes),
            image::ImageFormat::Png,
        );
    }
    bytes
}

/// The overview quicklook of a flight line: surface brightness (the albedo factor,
/// stretched between its 2nd and 98th percentiles) in grey, with the accepted plume
/// pixels coloured by enhancement (yellow at 0 to red at the scene's 99th percentile of
/// plume enhancement). One image pixel per cube pixel; `-9999`/NaN are black.
///
/// `labels` are plume ids per pixel (0 = none) and `accepted[id - 1]` says whether
/// plume `id` was accepted.
pub fn quicklook_png(
    albedo: &[f32],
    enhancement: &[f32],
    labels: &[u32],
    accepted: &[bool],
    lines: usize,
    samples: usize,
) -> Vec<u8> {
    let valid = |v: f32| v.is_finite() && v != NODATA;
    let mut a: Vec<f32> = albedo.iter().copied().filter(|&v| valid(v)).collect();
    a.sort_by(f32::total_cmp);
    let pct = |v: &[f32], q: f64| percentile_sorted(v, q).unwrap_or(0.0);
    let (lo, hi) = (pct(&a, 0.02), pct(&a, 0.98));
    let span = if hi > lo { hi - lo } else { 1.0 };
    let is_plume = |i: usize| {
        let l = labels.get(i).copied().unwrap_or(0) as usize;
        l > 0 && accepted.get(l - 1).copied().unwrap_or(false)
    };
    let mut e: Vec<f32> = (0..lines * samples)
        .filter(|&i| is_plume(i) && valid(enhancement[i]))
        .map(|i| enhancement[i])
        .collect();
    e.sort_by(f32::total_cmp);
    let e_hi = pct(&e, 0.99).max(1.0);
    let mut rgb = vec![0u8; lines * samples * 3];
    for i in 0..lines * samples {
        let px = &mut rgb[i * 3..i * 3 + 3];
        if is_plume(i) && valid(enhancement[i]) {
            let t = (enhancement[i] / e_hi).clamp(0.0, 1.0);
            px.copy_from_slice(&[255, (230.0 * (1.0 - t)) as u8, 0]);
        } else if valid(albedo[i]) {
            let g = (((albedo[i] - lo) / span).clamp(0.0, 1.0) * 220.0 + 20.0) as u8;
            px.copy_from_slice(&[g, g, g]);
        }
    }
    encode_png(samples, lines, rgb)
}

/// Renders the report as one self-contained HTML document.
pub fn render_html(input: &ReportInput) -> String {
    let mut o = String::with_capacity(64 * 1024);
    let title = escape(&input.title);
    let _ = write!(
        o,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>{title}</title><style>{STYLE}</style></head><body>"
    );
    let _ = write!(
        o,
        "<header><h1>{title}</h1><p>plumewatch {} · generated {} · {} candidate site(s), {} rejected candidate(s)</p></header><main>",
        escape(&input.version),
        escape(&input.generated_utc),
        input.sites.len(),
        input.rejected.len()
    );

    o.push_str("<section><h2>Overview</h2><div class=\"overviews\">");
    for ov in &input.overviews {
        o.push_str("<figure>");
        overview_svg(&mut o, ov);
        let _ = write!(
            o,
            "<figcaption>{} — {} lines × {} samples × {} bands; cyan: plume outlines, red: candidate sites",
            escape(&ov.name),
            ov.lines,
            ov.samples,
            ov.bands
        );
        if !ov.footprint_lon_lat.is_empty() {
            let corners: Vec<String> = ov
                .footprint_lon_lat
                .iter()
                .map(|(lon, lat)| format!("{lat:.5}°, {lon:.5}°"))
                .collect();
            let _ = write!(
                o,
                "<br>footprint (lat, lon): {}",
                escape(&corners.join(" · "))
            );
        }
        o.push_str("</figcaption></figure>");
    }
    o.push_str("</div></section>");

    o.push_str("<section><h2>Candidate sites</h2>");
    if input.sites.is_empty() {
        o.push_str("<p>No candidate site passed the false-alarm threshold.</p>");
    } else {
        o.push_str("<p class=\"note\">Click a column to sort. Rate ± one sigma (wind and retrieval noise, Monte Carlo). P<sub>FA</sub>: probability that noise alone gives a plume this significant in this scene.</p>");
        o.push_str("<table id=\"sites\"><thead><tr><th>rank</th><th class=\"l\">site</th><th>lat °</th><th>lon °</th><th>rate kg/h</th><th>± kg/h</th><th>max ppm·m</th><th>max z</th><th>P<sub>FA</sub></th><th>detections</th><th>passes</th></tr></thead><tbody>");
        for s in &input.sites {
            let _ = write!(
                o,
                "<tr><td data-v=\"{rank}\">{rank}</td><td class=\"l\" data-v=\"{id}\"><a href=\"#site-{id}\">{id}</a></td><td data-v=\"{lat}\">{lat_s}</td><td data-v=\"{lon}\">{lon_s}</td><td data-v=\"{q}\">{q_s}</td><td data-v=\"{qs}\">{qs_s}</td><td data-v=\"{e}\">{e_s}</td><td data-v=\"{z}\">{z_s}</td><td data-v=\"{p}\">{p_s}</td><td data-v=\"{d}\">{d}</td><td data-v=\"{n}\">{n}</td></tr>",
                rank = s.rank,
                id = escape(&s.id),
                lat = s.lat,
                lat_s = cell(s.lat, 5),
                lon = s.lon,
                lon_s = cell(s.lon, 5),
                q = s.rate_kg_h,
                q_s = cell(s.rate_kg_h, 1),
                qs = s.rate_sigma_kg_h,
                qs_s = cell(s.rate_sigma_kg_h, 1),
                e = s.max_enhancement_ppm_m,
                e_s = cell(s.max_enhancement_ppm_m, 0),
                z = s.max_z,
                z_s = cell(s.max_z, 1),
                p = s.false_alarm_probability,
                p_s = prob(s.false_alarm_probability),
                d = s.detections,
                n = s.passes,
            );
        }
        o.push_str("</tbody></table>");
    }
    o.push_str("</section>");

    if !input.sites.is_empty() {
        o.push_str("<section><h2>Evidence</h2><div class=\"cards\">");
        for s in &input.sites {
            let _ = write!(
                o,
                "<div class=\"card\" id=\"site-{id}\"><b>#{} {id}</b>",
                s.rank,
                id = escape(&s.id)
            );
            if let Some(png) = &s.evidence_png {
                let _ = write!(
                    o,
                    "<img alt=\"evidence for site {}\" src=\"{}\">",
                    escape(&s.id),
                    data_uri(png)
                );
            }
            let _ = write!(
                o,
                "<dl><dt>rate</dt><dd>{} ± {} kg/h</dd><dt>max enhancement</dt><dd>{} ppm·m</dd><dt>max z</dt><dd>{}</dd><dt>P<sub>FA</sub></dt><dd>{}</dd><dt>location</dt><dd>{}°, {}°</dd><dt>notes</dt><dd>{}</dd></dl></div>",
                cell(s.rate_kg_h, 1),
                cell(s.rate_sigma_kg_h, 1),
                cell(s.max_enhancement_ppm_m, 0),
                cell(s.max_z, 1),
                prob(s.false_alarm_probability),
                cell(s.lat, 5),
                cell(s.lon, 5),
                escape(&s.notes)
            );
        }
        o.push_str("</div></section>");
    }

    if !input.rejected.is_empty() {
        o.push_str("<section><h2>Rejected candidates</h2><table><thead><tr><th class=\"l\">candidate</th><th class=\"l\">flight line</th><th>line</th><th>sample</th><th class=\"l\">reason</th></tr></thead><tbody>");
        for r in &input.rejected {
            let _ = write!(
                o,
                "<tr><td class=\"l\">{}</td><td class=\"l\">{}</td><td>{:.1}</td><td>{:.1}</td><td class=\"l\">{}</td></tr>",
                escape(&r.id),
                escape(&r.flight_line),
                r.line,
                r.sample,
                escape(&r.reason)
            );
        }
        o.push_str("</tbody></table></section>");
    }

    o.push_str("<section><h2>Detection limit</h2>");
    match &input.detection_limit {
        Some(dl) => {
            let _ = write!(
                o,
                "<p>Smallest source this scene reveals: <b>{} kg/h</b> at 50 % probability of detection, <b>{} kg/h</b> at 90 %.</p><p class=\"note\">{}</p>",
                cell(dl.q50_kg_h, 1),
                cell(dl.q90_kg_h, 1),
                escape(&dl.method)
            );
        }
        None => o.push_str("<p>Not estimated in this run.</p>"),
    }
    o.push_str("</section>");

    o.push_str("<section><h2>Run</h2><table class=\"kv\"><tbody>");
    for (k, v) in &input.parameters {
        let _ = write!(
            o,
            "<tr><td><b>{}</b></td><td>{}</td></tr>",
            escape(k),
            escape(v)
        );
    }
    for ov in &input.overviews {
        let _ = write!(
            o,
            "<tr><td><b>input</b></td><td>{}</td></tr>",
            escape(&ov.path)
        );
    }
    o.push_str("</tbody></table></section></main>");
    let _ = writeln!(o, "<script>{SCRIPT}</script></body></html>");
    o
}

/// Writes the report to `path` (atomically: a temporary name, then rename).
pub fn write_html(path: &Path, input: &ReportInput) -> Result<()> {
    let html = render_html(input);
    atomic::write_atomically(path, |tmp| {
        std::fs::write(tmp, html.as_bytes()).map_err(|e| Error::io(tmp, "cannot write report", e))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample_input() -> ReportInput {
        ReportInput {
            title: "scan <test>".into(),
            sites: vec![SiteRow {
                id: "S1".into(),
                rank: 1,
                lat: 32.1,
                lon: -104.2,
                rate_kg_h: 120.0,
                rate_sigma_kg_h: 40.0,
                max_enhancement_ppm_m: 900.0,
                max_z: 8.0,
                false_alarm_probability: 1e-6,
                detections: 1,
                passes: 1,
                ..Default::default()
            }],
            ..Default::default()
        }
    }

    #[test]
    fn text_is_escaped_and_sites_are_listed() {
        let html = render_html(&sample_input());
        assert!(html.contains("scan &lt;test&gt;"));
        assert!(!html.contains("scan <test>"));
        assert!(html.contains("href=\"#site-S1\""));
        assert!(html.contains("120.0"));
    }

    #[test]
    fn report_needs_no_network() {
        let html = render_html(&sample_input());
        for needle in ["http://", "https://", "src=\"//"] {
            let hits: Vec<_> = html.match_indices(needle).collect();
            // The only URL allowed is the SVG namespace identifier, which is never fetched.
            assert!(
                hits.iter()
                    .all(|(i, _)| html[*i..].starts_with("http://www.w3.org/2000/svg")),
                "report references {needle}"
            );
        }
    }
}
