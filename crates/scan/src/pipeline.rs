//! The scan: each flight line from radiance to located, quantified plume candidates,
//! then sites merged across flight lines and the detection-limit estimate.
//!
//! Each flight line's window bands are read once: detection, the narrow-band check and
//! the detection-limit estimate all work from that one staged copy.

use crate::config::{Detector, FlightLine, ScanConfig, Statistics};
use crate::glt::{read_glt, Ortho};
use crate::limit::{estimate_detection_limit, DetectionLimit, LimitInputs};
use crate::progress::Progress;
use crate::result::{utc_now, LineResult, RunMeta, ScanResult, Verdict};
use crate::window::GasWindow;
use crate::{bail, Context, Result};
use plumewatch_core::detect::{
    detect_by_class, detect_cube, detect_cube_with_filters, ClassSettings, CubeInput,
};
use plumewatch_core::geo::GeoTransform;
use plumewatch_core::plume::narrowband::WindowSpectra;
use plumewatch_core::raster::Grid;
use plumewatch_core::scan::{analyse_pass_prepared, plume_free_rate_values, PassMaps};
use plumewatch_core::sites::{merge_sites, PassFootprint, SiteParams};
use plumewatch_core::VecCube;
use std::path::Path;
use std::time::Instant;

/// Runs the whole scan described by `config`: every flight line, sites, detection
/// limit. Nothing is written; see [`crate::sinks::write_outputs`].
pub fn scan(config: &ScanConfig, progress: &dyn Progress) -> Result<ScanResult> {
    let start = Instant::now();
    config.validate()?;
    // An unknown gas fails before any flight line is read.
    gas_display_name(config)?;
    let mut lines = Vec::with_capacity(config.flight_lines.len());
    let mut detection_limit = None;
    for index in 0..config.flight_lines.len() {
        let scanned = scan_line_at(config, index, progress)?;
        lines.push(scanned.line);
        if scanned.detection_limit.is_some() {
            detection_limit = scanned.detection_limit;
        }
    }
    merge_lines(config, lines, detection_limit, start)
}

/// One flight line scanned on its own (see [`scan_line_at`]).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct LineScan {
    /// The flight line's maps, plumes, sources and rates.
    pub line: LineResult,
    /// The detection-limit estimate (on the first flight line only, when asked for).
    pub detection_limit: Option<DetectionLimit>,
}

/// Scans flight line `index` of `config` exactly as [`scan`] does (the detection
/// limit on the first line when asked for), for front ends that scan the lines of a
/// campaign in separate tasks and merge them with [`merge_lines`].
pub fn scan_line_at(
    config: &ScanConfig,
    index: usize,
    progress: &dyn Progress,
) -> Result<LineScan> {
    let names = config.line_names();
    let (Some(line), Some(name)) = (config.flight_lines.get(index), names.get(index)) else {
        bail!(
            "flight line {index}: the configuration has {} flight line(s)",
            config.flight_lines.len()
        );
    };
    let want_limit = index == 0 && config.detection_limit.runs > 0;
    let (line, detection_limit) = scan_line(config, line, name, want_limit, progress)
        .with_context(|| format!("flight line {name}"))?;
    Ok(LineScan {
        line,
        detection_limit,
    })
}

/// The gas's name in outputs (the LUT's, upper case).
pub fn gas_display_name(config: &ScanConfig) -> Result<String> {
    Ok(plumewatch_io::gas_lut::open(&config.gas)?
        .gas
        .to_uppercase())
}

/// Merges scanned flight lines (in the order of `config.flight_lines`) into sites as
/// [`scan`] does: one map CRS, detections merged across lines, WGS84 positions.
/// `start` is when the scan began (for the run's wall time).
pub fn merge_lines(
    config: &ScanConfig,
    lines: Vec<LineResult>,
    detection_limit: Option<DetectionLimit>,
    start: Instant,
) -> Result<ScanResult> {
    let gas_name = gas_display_name(config)?;
    let crs_wkt = common_crs(&lines)?;
    let detections: Vec<_> = lines.iter().flat_map(|l| l.analysis.detections()).collect();
    let footprints: Vec<PassFootprint> = lines
        .iter()
        .map(|l| PassFootprint {
            pass: l.name.clone(),
            grid: l.grid(),
            transform: l.transform,
        })
        .collect();
    let coarsest_gsd = lines.iter().map(|l| l.transform.gsd()).fold(0.0, f64::max);
    let site_params = SiteParams {
        merge_distance: config.merge_distance_m.unwrap_or(5.0 * coarsest_gsd),
    };
    let sites = merge_sites(&detections, &footprints, &site_params)?;
    let site_lon_lat = match &crs_wkt {
        Some(wkt) => {
            let context = &config.flight_lines[0].cube;
            let to = plumewatch_io::geojson_out::ToWgs84::new(wkt, context)?;
            let xy: Vec<[f64; 2]> = sites.iter().map(|s| [s.x, s.y]).collect();
            to.points(&xy, context)?.into_iter().map(Some).collect()
        }
        None => vec![None; sites.len()],
    };
    Ok(ScanResult {
        config: config.clone(),
        gas_name,
        lines,
        crs_wkt,
        site_params,
        sites,
        site_lon_lat,
        detection_limit,
        meta: RunMeta {
            plumewatch_version: env!("CARGO_PKG_VERSION").into(),
            generated_utc: utc_now(),
            seconds: start.elapsed().as_secs_f64(),
        },
    })
}

/// The window bands and the screening bands of a cube, staged once in memory: the
/// window first (positions `0..n_window`), then the saturation bands not in it.
pub struct StagedBands {
    /// The staged values.
    pub cube: VecCube,
    /// Cube band index of each staged position.
    pub bands: Vec<usize>,
    /// Number of window bands (the first positions).
    pub n_window: usize,
    /// Positions of the saturation bands in `cube`.
    pub saturation_positions: Vec<usize>,
}

impl StagedBands {
    /// Reads the window and saturation bands of `window` from `source`, in parallel.
    pub fn read(source: &dyn plumewatch_core::LineSource, window: &GasWindow) -> Result<Self> {
        let (bands, saturation_positions) = staged_band_list(window);
        // The staged bands (f32) and the scan's per-pixel maps and masks (~40 bytes).
        let pixels = (source.lines() as u128) * (source.samples() as u128);
        let bytes = pixels * (bands.len() as u128 * 4 + 40);
        if let Some(msg) = plumewatch_io::memory::check_fits(bytes, "scanning this cube") {
            bail!(
                "{msg} ({} lines × {} samples, {} bands read)",
                source.lines(),
                source.samples(),
                bands.len()
            );
        }
        Ok(Self {
            cube: VecCube::from_source(source, &bands)?,
            bands,
            n_window: window.bands.len(),
            saturation_positions,
        })
    }

    /// Positions of the window bands in the staged cube.
    pub fn window_positions(&self) -> Vec<usize> {
        (0..self.n_window).collect()
    }
}

/// The cube bands a scan stages for `window`, in order (the window bands, then the
/// saturation-screening bands not in it), and the positions of the saturation bands
/// among them.
pub fn staged_band_list(window: &GasWindow) -> (Vec<usize>, Vec<usize>) {
    let mut bands = window.bands.clone();
    let mut saturation_positions = Vec::with_capacity(window.saturation_bands.len());
    for &b in &window.saturation_bands {
        match bands.iter().position(|&x| x == b) {
            Some(p) => saturation_positions.push(p),
            None => {
                bands.push(b);
                saturation_positions.push(bands.len() - 1);
            }
        }
    }
    (bands, saturation_positions)
}

/// Raw pixel → map transform of a flight line: the GLT's affine model, the cube's own
/// georeferencing, or a north-up grid of `gsd_m` from the origin.
fn line_transform(
    path: &Path,
    georef: Option<&plumewatch_io::GeoRef>,
    ortho: Option<&Ortho>,
    gsd_m: Option<f64>,
) -> Result<GeoTransform> {
    if let Some(o) = ortho {
        return Ok(o.raw_to_map);
    }
    match (georef, gsd_m) {
        (Some(g), _) => GeoTransform::new(g.geo_transform)
            .with_context(|| format!("{}: map info: unusable geotransform", path.display())),
        (None, Some(gsd)) => Ok(GeoTransform::north_up(0.0, 0.0, gsd)?),
        (None, None) => bail!(
            "{}: map info: the cube has no georeferencing; give its ground sample distance (--gsd M, or gsd_m in the configuration)",
            path.display()
        ),
    }
}

fn scan_line(
    config: &ScanConfig,
    line: &FlightLine,
    name: &str,
    want_limit: bool,
    progress: &dyn Progress,
) -> Result<(LineResult, Option<DetectionLimit>)> {
    let start = Instant::now();
    let path = line.cube.as_path();
    let cube = plumewatch_io::open_cube(path)?;
    let meta = cube.meta().clone();
    let mut detect = config.detector.detect_params();
    detect.outlier_scaling &= config.outlier_scaling;
    let window = GasWindow::for_cube(
        path,
        &meta,
        &config.gas,
        Some(&config.window_nm),
        None,
        detect.saturation.as_ref(),
    )?;
    detect.grouping = config
        .stats
        .resolve(&meta, line.glt.is_some(), window.bands.len(), 1);
    detect.outlier_scaling &= crate::config::scales_outliers(detect.grouping);
    crate::window::check_content(path, cube.as_ref(), &window.bands, detect.grouping)?;
    let ortho = match &line.glt {
        Some(g) => Some(read_glt(g, Grid::new(meta.lines, meta.samples))?),
        None => None,
    };
    let transform = line_transform(path, meta.georef.as_ref(), ortho.as_ref(), config.gsd_m)?;
    progress.stage(&format!("read {name}"), 1);
    let staged = StagedBands::read(cube.as_ref(), &window)
        .with_context(|| format!("{}: reading the gas-window bands", path.display()))?;
    progress.finish();
    drop(cube);
    let window_positions = staged.window_positions();
    // The driver counts lines for global statistics, columns otherwise.
    let total = match detect.grouping {
        plumewatch_core::detect::Grouping::Global => meta.lines,
        _ => meta.samples,
    };
    progress.stage(&format!("detect {name}"), total as u64);
    let run = |exclude: Option<&[bool]>| {
        let input = CubeInput {
            source: &staged.cube,
            window_bands: &window_positions,
            unit_absorption: &window.unit_absorption,
            saturation_bands: &staged.saturation_positions,
            exclude,
        };
        // The detection-limit estimate and the emission rates reuse the detection's
        // per-column filters.
        if want_limit || line.wind.is_some() {
            detect_cube_with_filters(&input, &detect, &|n| progress.advance(n))
        } else {
            detect_cube(&input, &detect, &|n| progress.advance(n)).map(|m| (m, None))
        }
        .with_context(|| format!("{}: detection", path.display()))
    };
    let (mut maps, mut filters) = run(None)?;
    progress.finish();
    let by_class = config.classes > 0
        && detect.grouping == plumewatch_core::detect::Grouping::Columns(1)
        && matches!(config.detector, Detector::Amf | Detector::Mf);
    // With --exclude-plume-pixels, the pixels the per-column pass flags as possible
    // plume are kept out of the second pass's statistics and out of the class
    // statistics. Not by default: on the tuning seeds keeping them out of the class
    // statistics raised the twins' candidates from 47 to 356 (the clutter the first
    // pass flags then stands far out of a background that no longer holds it), though
    // it lets extended plumes keep their full response (BENCHMARKS.md).
    let plume_pixels = if config.exclude_plume_pixels {
        Some(plumewatch_core::scan::possible_plume_pixels(
            &maps,
            &config.analysis,
        )?)
    } else {
        None
    };
    if let Some(mask) = plume_pixels.as_ref() {
        progress.stage(&format!("detect {name} without plume pixels"), total as u64);
        (maps, filters) = run(Some(mask))?;
        progress.finish();
    }
    // The per-column maps, kept for the detection limit (its runs re-detect with the
    // per-column filters, so they start from the per-column maps).
    let mut column_maps = None;
    if by_class {
        let settings = ClassSettings {
            classes: config.classes,
            ..ClassSettings::default()
        };
        let t = Instant::now();
        let class_maps = detect_by_class(
            &staged.cube,
            &window_positions,
            &window.unit_absorption,
            plume_pixels.as_deref(),
            filters.as_ref(),
            &detect,
            settings,
        )
        .with_context(|| format!("{}: class-conditional statistics", path.display()))?;
        let timings = maps.timings;
        let per_column = std::mem::replace(&mut maps, class_maps.maps);
        if want_limit {
            column_maps = Some(per_column);
        }
        maps.timings = timings;
        maps.timings.compute += t.elapsed();
    }
    let spectra = WindowSpectra {
        source: &staged.cube,
        bands: &window_positions,
        wavelength_nm: &window.wavelength_nm,
        unit_absorption: &window.unit_absorption,
    };
    let mut pass = config.analysis.clone();
    if !by_class {
        pass.vetting = pass.vetting.for_column_statistics();
    }
    pass.quantify.column_mass_kg_m2_per_ppm_m =
        plumewatch_io::gas_lut::column_mass_kg_m2_per_ppm_m(&config.gas)?;
    let mut prepared = PassMaps::new(&maps, pass.smoothing_radius)?;
    // Emission rates against statistics without the plume pixels (matched filters
    // with per-column statistics; the other detectors keep the detection's values).
    if let (Some(f), Some(_)) = (filters.as_ref(), line.wind) {
        let cube = &staged.cube;
        let nb = cube.bands;
        let (e, s) = plume_free_rate_values(&maps, f, &pass, nb, |l, c| {
            let i = (l * cube.samples + c) * nb;
            &cube.data[i..i + nb]
        })
        .with_context(|| {
            format!(
                "{}: plume-free statistics for emission rates",
                path.display()
            )
        })?;
        prepared = prepared.with_rate_values(&e, &s)?;
    }
    let analysis = analyse_pass_prepared(
        name,
        &prepared,
        &transform,
        line.wind,
        None,
        Some(&spectra),
        None,
        &pass,
    )
    .with_context(|| format!("{}: plume analysis", path.display()))?;
    let limit = if want_limit {
        // The detection limit's runs re-detect with the per-column filters (class
        // statistics are not updated by the injected plumes), from the per-column maps,
        // with the vetting fitted for per-column statistics (already the pass's without
        // class statistics): the limit is that of per-column detection (the class
        // statistics' own limit is not estimated yet).
        let mut limit_pass = pass.clone();
        limit_pass.vetting = limit_pass.vetting.for_column_statistics();
        let inputs = LimitInputs {
            line: name,
            path,
            staged: &staged,
            window: &window,
            band_model: crate::window::band_model(path, &meta, &staged.bands)?,
            gas: &config.gas,
            detector: config.detector,
            pass: &limit_pass,
            gsd_m: transform.gsd(),
            wind_m_s: line.wind.map(|w| w.speed_m_s),
            settings: config.detection_limit,
        };
        Some(estimate_detection_limit(
            &inputs,
            Some(crate::limit::CleanScene {
                maps: column_maps.as_ref().unwrap_or(&maps),
                analysis: &analysis,
                filters: filters.as_ref(),
                grouping: detect.grouping,
            }),
            progress,
        )?)
    } else {
        None
    };
    let verdicts = analysis
        .plumes
        .plumes
        .iter()
        .zip(&analysis.located)
        .map(|(p, l)| Verdict::of(&analysis, p, l))
        .collect();
    let georef = ortho
        .as_ref()
        .map_or_else(|| meta.georef.clone(), |o| Some(o.georef.clone()));
    Ok((
        LineResult {
            name: name.to_string(),
            path: path.to_path_buf(),
            bands: meta.bands,
            georef,
            ortho,
            transform,
            statistics: Statistics::of_grouping(detect.grouping),
            surface_classes: if by_class { config.classes } else { 0 },
            maps,
            analysis,
            verdicts,
            seconds: start.elapsed().as_secs_f64(),
        },
        limit,
    ))
}

/// The one map CRS of all flight lines. Every pair of differing CRS strings is
/// compared through GDAL; lines without a CRS mix with none that has one.
fn common_crs(lines: &[LineResult]) -> Result<Option<String>> {
    let crs: Vec<(&Path, Option<&str>)> = lines
        .iter()
        .map(|l| {
            (
                l.path.as_path(),
                l.georef.as_ref().and_then(|g| g.wkt.as_deref()),
            )
        })
        .collect();
    one_crs(&crs)
}

/// The CRS shared by every `(file, CRS)` pair; an error naming the first pair that
/// differs.
pub fn one_crs(lines: &[(&Path, Option<&str>)]) -> Result<Option<String>> {
    for (i, (pa, a)) in lines.iter().enumerate() {
        for (pb, b) in &lines[i + 1..] {
            let same = match (a, b) {
                (None, None) => true,
                (Some(x), Some(y)) if x == y => true,
                (Some(x), Some(y)) => plumewatch_io::crs::same_crs(x, y, pa, pb)?,
                _ => false,
            };
            if !same {
                bail!(
                    "{}: coordinate system: differs from that of {}; sites are merged in one map CRS (reproject the flight lines to one CRS first)",
                    pb.display(),
                    pa.display()
                );
            }
        }
    }
    Ok(lines.first().and_then(|l| l.1.map(str::to_string)))
}

/// Flight lines for `cubes` with the wind of `winds` (one per cube) and GLTs `glts`
/// (none, or one per cube).
pub fn flight_lines(
    cubes: &[std::path::PathBuf],
    glts: &[std::path::PathBuf],
    winds: &[Option<plumewatch_core::quantify::Wind>],
) -> Result<Vec<FlightLine>> {
    if !glts.is_empty() && glts.len() != cubes.len() {
        bail!(
            "--glt: expected one GLT per cube ({} cubes), got {}",
            cubes.len(),
            glts.len()
        );
    }
    Ok(cubes
        .iter()
        .enumerate()
        .map(|(i, c)| FlightLine {
            cube: c.clone(),
            glt: glts.get(i).cloned(),
            wind: winds.get(i).copied().flatten(),
            name: None,
        })
        .collect())
}

/// Which detector a line ran (for reports).
pub fn detector_label(d: Detector) -> &'static str {
    match d {
        Detector::Amf => "albedo-corrected matched filter (amf)",
        Detector::Mf => "matched filter (mf)",
        Detector::Mag1c => "mag1c (sparse, non-negative, albedo-corrected)",
    }
}

/// What a flight line's background statistics were (for reports).
pub fn statistics_label(s: Statistics) -> String {
    match s {
        Statistics::Auto => "chosen from each flight line".into(),
        Statistics::Columns => "per detector column".into(),
        Statistics::Global => "one set for the whole scene".into(),
        Statistics::Tiles(n) => format!("per tile, {n} × {n} tiles"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wkt(epsg: u32) -> String {
        gdal_wkt(epsg)
    }

    fn gdal_wkt(epsg: u32) -> String {
        plumewatch_io::crs::wkt_of_epsg(epsg).unwrap()
    }

    /// Regression: only the first differing CRS was checked, and by projecting one
    /// point; a third line in another zone slipped through after a second line whose
    /// WKT was spelled differently but meant the same CRS.
    #[test]
    fn every_pair_of_flight_line_crs_is_compared_through_gdal() {
        let (a, a2, b) = (
            wkt(32613),
            plumewatch_io::crs::pretty_wkt_of_epsg(32613).unwrap(),
            wkt(32614),
        );
        let (p1, p2, p3) = (
            Path::new("l1.hdr"),
            Path::new("l2.hdr"),
            Path::new("l3.hdr"),
        );
        let same = one_crs(&[(p1, Some(&a)), (p2, Some(&a2))]).unwrap();
        assert_eq!(same.as_deref(), Some(a.as_str()));
        let e = one_crs(&[(p1, Some(&a)), (p2, Some(&a2)), (p3, Some(&b))]).unwrap_err();
        assert!(
            e.to_string().starts_with("l3.hdr: coordinate system"),
            "{e}"
        );
        let e = one_crs(&[(p1, Some(&a)), (p2, None)]).unwrap_err();
        assert!(e.to_string().starts_with("l2.hdr"), "{e}");
    }
}
