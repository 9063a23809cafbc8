//! The HTML report's content, assembled from a [`ScanResult`].

use super::evidence::EvidenceFile;
use crate::limit::{DetectionLimit, LimitEstimate};
use crate::pipeline::{detector_label, statistics_label};
use crate::result::ScanResult;
use plumewatch_io::report_html::{self, Overview, RejectedRow, ReportInput, SiteRow};

/// What the report shows of `result`, with each site's evidence PNG.
pub fn report_input(result: &ScanResult, evidence: &[Option<EvidenceFile>]) -> ReportInput {
    let overviews = result
        .lines
        .iter()
        .map(|l| {
            let (lines, samples) = (l.maps.lines, l.maps.samples);
            let accepted: Vec<bool> = l
                .analysis
                .plumes
                .plumes
                .iter()
                .map(|q| q.rejection.is_none())
                .collect();
            let png = report_html::quicklook_png(
                &l.maps.albedo,
                &l.maps.enhancement,
                &l.analysis.plumes.labels,
                &accepted,
                lines,
                samples,
            );
            let plume_outlines = l
                .analysis
                .plumes
                .plumes
                .iter()
                .filter(|q| q.rejection.is_none())
                .flat_map(|q| {
                    q.outline
                        .iter()
                        .map(|r| r.iter().map(|v| (v[0], v[1])).collect())
                })
                .collect();
            let markers = result
                .sites
                .iter()
                .filter_map(|s| {
                    let (c, r) = l.transform.map_to_pixel(s.x, s.y);
                    (c >= 0.0 && r >= 0.0 && c < samples as f64 && r < lines as f64)
                        .then(|| (c, r, ScanResult::site_id(s)))
                })
                .collect();
            Overview {
                name: l.name.clone(),
                path: l.path.display().to_string(),
                lines,
                samples,
                bands: l.bands,
                quicklook_png: png,
                image_size: (samples as u32, lines as u32),
                plume_outlines,
                markers,
                footprint_lon_lat: Vec::new(),
            }
        })
        .collect();
    let sites = result
        .sites
        .iter()
        .zip(&result.site_lon_lat)
        .zip(evidence)
        .map(|((s, ll), ev)| SiteRow {
            id: ScanResult::site_id(s),
            rank: s.rank,
            lon: ll.map_or(f64::NAN, |v| v[0]),
            lat: ll.map_or(f64::NAN, |v| v[1]),
            rate_kg_h: s.rate_kg_h,
            rate_sigma_kg_h: s.rate_sd_kg_h,
            max_enhancement_ppm_m: s.max_enhancement_ppm_m,
            max_z: s.significance,
            false_alarm_probability: s.false_alarm_probability,
            detections: s.n_detections,
            passes: s.n_passes_detected,
            evidence_png: ev.as_ref().map(|(_, png)| png.clone()),
            notes: format!(
                "seen on {} of {} covering pass(es); plumes: {}",
                s.n_passes_detected,
                s.n_passes_covering,
                s.plumes
                    .iter()
                    .map(|r| format!("{}:{}", r.pass, r.plume_id))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        })
        .collect();
    let rejected = result
        .lines
        .iter()
        .flat_map(|l| {
            l.analysis
                .plumes
                .plumes
                .iter()
                .zip(&l.verdicts)
                .filter_map(move |(q, v)| {
                    Some(RejectedRow {
                        id: format!("{}:{}", l.name, q.id),
                        flight_line: l.name.clone(),
                        line: q.peak_pixel[0] as f64,
                        sample: q.peak_pixel[1] as f64,
                        reason: v.explanation(&l.name)?,
                    })
                })
        })
        .collect();
    let c = &result.config;
    let mut parameters = vec![
        (
            "gas".to_string(),
            format!("{} ({})", result.gas_name, c.gas),
        ),
        (
            "detector".to_string(),
            detector_label(c.detector).to_string(),
        ),
        (
            "background statistics".to_string(),
            result
                .lines
                .iter()
                .map(|l| {
                    let classes = match l.surface_classes {
                        0 => String::new(),
                        k => format!(" and surface class ({k} classes)"),
                    };
                    format!("{}: {}{classes}", l.name, statistics_label(l.statistics))
                })
                .collect::<Vec<_>>()
                .join("; "),
        ),
        ("window".to_string(), c.window_nm.to_string()),
        (
            "false-alarm rate (per pixel)".to_string(),
            format!("{:e}", c.analysis.cfar.far),
        ),
        (
            "operating point".to_string(),
            match c.analysis.false_sites_per_km2 {
                Some(r) => format!(
                    "at most {r} false sites per km² (the scene's empirical null), or {} over the scene",
                    c.analysis.max_false_sites_per_scene
                ),
                None => format!(
                    "Gaussian false-alarm probability at most {} per scene",
                    c.analysis.max_false_alarm_probability
                ),
            },
        ),
        (
            "site merge distance".to_string(),
            format!("{} m", result.site_params.merge_distance),
        ),
        (
            "run time".to_string(),
            format!("{:.1} s", result.meta.seconds),
        ),
    ];
    for l in &result.lines {
        let wind = l
            .analysis
            .wind
            .map_or("none (no emission rates)".to_string(), |w| {
                format!("{} m/s from {}°", w.speed_m_s, w.from_deg)
            });
        parameters.push((format!("wind, {}", l.name), wind));
    }
    ReportInput {
        title: "plumewatch scan".into(),
        generated_utc: result.meta.generated_utc.clone(),
        version: result.meta.plumewatch_version.clone(),
        parameters,
        overviews,
        sites,
        rejected,
        detection_limit: result.detection_limit.as_ref().map(limit_summary),
    }
}

/// The report's detection-limit paragraph.
pub fn limit_summary(dl: &DetectionLimit) -> report_html::DetectionLimit {
    let method = format!(
        "{}: {} plumes of log-uniform rate {:.0}–{:.0} kg/h injected into the flight line's own radiance ({} detected), wind {} m/s, random directions; found by this scan's own detector ({}), saturation screening and plume analysis",
        dl.line,
        dl.q_kg_h.len(),
        dl.q_range_kg_h.0,
        dl.q_range_kg_h.1,
        dl.hits(),
        dl.wind_m_s,
        dl.detector.name(),
    );
    let nan = f64::NAN;
    let (q50, q90, tail) = match &dl.estimate {
        LimitEstimate::Fitted { fit } => (
            fit.q50_kg_h,
            fit.q90_kg_h,
            format!(
                "; logistic POD(Q) fit, 95% intervals Q50 {:.1}–{:.1}, Q90 {:.1}–{:.1} kg/h.",
                fit.q50_ci_kg_h.0, fit.q50_ci_kg_h.1, fit.q90_ci_kg_h.0, fit.q90_ci_kg_h.1
            ),
        ),
        LimitEstimate::AllDetected { q90_at_most_kg_h } => (
            nan,
            *q90_at_most_kg_h,
            format!("; every injected plume was found, so Q90 is at most {q90_at_most_kg_h:.1} kg/h (a bound: inject smaller rates for a fit)."),
        ),
        LimitEstimate::NoneDetected { q50_at_least_kg_h } => (
            *q50_at_least_kg_h,
            nan,
            format!("; no injected plume was found, so Q50 is at least {q50_at_least_kg_h:.1} kg/h (a bound: inject larger rates for a fit)."),
        ),
        LimitEstimate::Unfitted { reason } => (nan, nan, format!("; no POD(Q) fit: {reason}.")),
    };
    report_html::DetectionLimit {
        q50_kg_h: q50,
        q90_kg_h: q90,
        method: method + &tail,
    }
}
