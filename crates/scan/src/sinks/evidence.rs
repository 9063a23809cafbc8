//! The evidence PNG of each site, drawn from its most significant plume.

use crate::result::{LineResult, ScanResult};
use crate::Result;
use plumewatch_core::raster::nodata_as_nan;
use plumewatch_io::evidence_png::{render_evidence, Evidence, EvidenceParams};
use std::path::{Path, PathBuf};

/// An evidence PNG: where it was written and its bytes.
pub type EvidenceFile = (PathBuf, Vec<u8>);

/// Draws the evidence PNG of each site, writes it to `dir/evidence/S<rank>.png` and
/// returns (path, PNG bytes) per site (`None` where the site has no plume to draw).
pub fn write_evidence(dir: &Path, result: &ScanResult) -> Result<Vec<Option<EvidenceFile>>> {
    let ev_dir = dir.join("evidence");
    if !result.sites.is_empty() {
        std::fs::create_dir_all(&ev_dir).map_err(|e| {
            crate::Error::new(
                crate::ErrorKind::Io,
                format!("{}: cannot create directory: {e}", ev_dir.display()),
            )
        })?;
    }
    let mut out = Vec::with_capacity(result.sites.len());
    for site in &result.sites {
        let best = site
            .plumes
            .iter()
            .filter_map(|r| {
                let line = result.lines.iter().find(|l| l.name == r.pass)?;
                let i = line
                    .analysis
                    .plumes
                    .plumes
                    .iter()
                    .position(|q| q.id == r.plume_id)?;
                Some((line, i))
            })
            .max_by(|a, b| {
                let sig = |(l, i): &(&LineResult, usize)| l.analysis.plumes.plumes[*i].significance;
                sig(a).total_cmp(&sig(b))
            });
        let Some((line, i)) = best else {
            out.push(None);
            continue;
        };
        let png = render_site(line, i)?;
        let path = ev_dir.join(format!("{}.png", ScanResult::site_id(site)));
        plumewatch_io::atomic::write_bytes(&path, &png)?;
        out.push(Some((path, png)));
    }
    Ok(out)
}

/// The evidence PNG bytes of candidate `i` of `line`.
pub fn render_site(line: &LineResult, i: usize) -> Result<Vec<u8>> {
    let plume = &line.analysis.plumes.plumes[i];
    let located = &line.analysis.located[i];
    let enhancement = nodata_as_nan(&line.maps.enhancement);
    let source = (located.source.col, located.source.row);
    let wind = line.analysis.wind.map(|w| {
        (
            plumewatch_core::geo::downwind_pixel_unit(&line.transform, w.from_deg),
            w.speed_m_s,
        )
    });
    let evidence = Evidence {
        grid: line.grid(),
        enhancement: &enhancement,
        centre: source,
        outline: &plume.outline,
        source: Some(source),
        wind,
        gsd_m: line.transform.gsd(),
    };
    let (img, _) = render_evidence(&evidence, &EvidenceParams::default())?;
    let (w, h) = (img.width() as usize, img.height() as usize);
    Ok(plumewatch_io::report_html::encode_png(w, h, img.into_raw()))
}
