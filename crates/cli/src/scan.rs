//! `plumewatch scan`: one or more flight lines → ranked, geolocated candidate emission
//! sites with their evidence (GeoJSON, COG rasters, evidence PNGs, HTML report, JSON).

use crate::gas_window::{parse_window, GasWindow};
use crate::progress;
use anyhow::{bail, Context};
use clap::{Args, ValueEnum};
use plumewatch_core::detect::{
    detect_cube, Algorithm, CubeInput, DetectParams, DetectionMaps, Grouping,
};
use plumewatch_core::geo::GeoTransform;
use plumewatch_core::ortho::Glt;
use plumewatch_core::plume::narrowband::WindowSpectra;
use plumewatch_core::quantify::Wind;
use plumewatch_core::raster::{nodata_as_nan, Grid, NODATA};
use plumewatch_core::scan::{analyse_pass_with_spectra, PassAnalysis, PassParams};
use plumewatch_core::sites::{merge_sites, PassFootprint, Site, SiteParams};
use plumewatch_io::evidence_png::{render_evidence, Evidence, EvidenceParams};
use plumewatch_io::geojson_out::{
    write_plumes_geojson, write_sites_geojson, PlumeFeature, ToWgs84,
};
use plumewatch_io::report_html::{
    self, DetectionLimit, Overview, RejectedRow, ReportInput, SiteRow,
};
use plumewatch_io::{GeoRef, OutputBand};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Detector used by `scan`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ScanAlgo {
    /// Albedo-corrected matched filter, statistics per detector column.
    Amf,
    /// Classic matched filter, statistics per detector column.
    Mf,
    /// mag1c: sparse, non-negative, albedo-corrected iterative matched filter.
    Mag1c,
}

/// Arguments of `plumewatch scan`.
#[derive(Debug, Args)]
pub struct ScanArgs {
    /// Radiance cubes, one per flight line (ENVI header or any GDAL raster).
    #[arg(required = true)]
    pub cubes: Vec<PathBuf>,
    /// Gas to look for: a built-in name (`ch4`) or a LUT sidecar/header path.
    #[arg(long, default_value = "ch4")]
    pub gas: String,
    /// Wind as SPEED,DIR: speed in m/s at 10 m, direction in degrees the wind blows FROM
    /// (meteorological; 270 = from the west). Needed for emission rates.
    #[arg(long, value_parser = parse_wind, conflicts_with = "wind_file")]
    pub wind: Option<Wind>,
    /// JSON wind file: `{"speed_m_s": S, "from_deg": D}` for all flight lines, or
    /// `{"default": {...}, "passes": {"<cube file name>": {...}}}` per flight line.
    #[arg(long)]
    pub wind_file: Option<PathBuf>,
    /// Geographic lookup table of each cube, in the order of the cubes (ENVI or any GDAL
    /// raster: band 1 = 1-based raw sample, band 2 = 1-based raw line, 0 = outside,
    /// negative = infilled; with the map grid's georeferencing). Output rasters are then
    /// orthorectified onto the GLT's grid and sources placed through it.
    #[arg(long)]
    pub glt: Vec<PathBuf>,
    /// Target false-alarm rate per pixel of the CFAR seed threshold.
    #[arg(long, default_value_t = 1e-4)]
    pub far: f64,
    /// Detector.
    #[arg(long, value_enum, default_value_t = ScanAlgo::Amf)]
    pub algo: ScanAlgo,
    /// Gas window LO,HI in nm.
    #[arg(long, value_parser = parse_window, default_value = "2122,2488")]
    pub window: (f64, f64),
    /// Ground sample distance in m, for cubes without georeferencing.
    #[arg(long)]
    pub gsd: Option<f64>,
    /// Detections closer than this (m) are merged into one site [default: 5 pixels of
    /// the coarsest flight line].
    #[arg(long)]
    pub merge_distance: Option<f64>,
    /// Injection runs of the detection-limit estimate in the report (5 plumes each,
    /// one detection per run; 0 skips it). Done on the first flight line.
    #[arg(long, default_value_t = 10)]
    pub limit_runs: usize,
    /// Output directory (created if missing).
    #[arg(short, long)]
    pub output: PathBuf,
}

fn parse_wind(s: &str) -> Result<Wind, String> {
    let bad = || {
        format!("wind {s:?}: expected SPEED,DIR (m/s at 10 m, degrees the wind blows from), e.g. 3.5,270")
    };
    let (a, b) = s.split_once(',').ok_or_else(bad)?;
    let wind = Wind {
        speed_m_s: a.trim().parse().map_err(|_| bad())?,
        from_deg: b.trim().parse().map_err(|_| bad())?,
    };
    if !(0.0..=360.0).contains(&wind.from_deg) {
        return Err(format!(
            "wind {s:?}: direction: expected 0–360 degrees (the direction the wind blows from)"
        ));
    }
    wind.validate().map_err(|e| format!("wind {s:?}: {e}"))?;
    Ok(wind)
}

/// Winds per flight line from `--wind` or `--wind-file`.
fn winds(args: &ScanArgs) -> anyhow::Result<Vec<Option<Wind>>> {
    let Some(path) = &args.wind_file else {
        return Ok(vec![args.wind; args.cubes.len()]);
    };
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("{}: cannot read wind file", path.display()))?;
    let v: serde_json::Value = serde_json::from_str(&text)
        .with_context(|| format!("{}: not valid JSON", path.display()))?;
    let one = |v: &serde_json::Value, field: &str| -> anyhow::Result<Wind> {
        let num = |k: &str| {
            v.get(k)
                .and_then(serde_json::Value::as_f64)
                .with_context(|| format!("{}: {field}.{k}: expected a number", path.display()))
        };
        let w = Wind {
            speed_m_s: num("speed_m_s")?,
            from_deg: num("from_deg")?,
        };
        w.validate()
            .with_context(|| format!("{}: {field}", path.display()))?;
        if !(0.0..=360.0).contains(&w.from_deg) {
            bail!(
                "{}: {field}.from_deg: expected 0–360 degrees, got {}",
                path.display(),
                w.from_deg
            );
        }
        Ok(w)
    };
    let default = if v.get("speed_m_s").is_some() {
        Some(one(&v, "wind")?)
    } else {
        v.get("default").map(|d| one(d, "default")).transpose()?
    };
    let passes = v.get("passes").and_then(serde_json::Value::as_object);
    args.cubes
        .iter()
        .map(|c| {
            let name = c
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            match passes.and_then(|p| p.get(&name)) {
                Some(w) => Ok(Some(one(w, &format!("passes.{name}"))?)),
                None => Ok(default),
            }
        })
        .collect()
}

/// Unique pass names from the cube file stems.
fn pass_names(cubes: &[PathBuf]) -> Vec<String> {
    let mut names: Vec<String> = Vec::with_capacity(cubes.len());
    for c in cubes {
        let stem = c
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "cube".into());
        let stem = if stem == "radiance" {
            // scenes often name every cube radiance.hdr: use the folder name too
            c.parent()
                .and_then(|p| p.file_name())
                .map(|p| format!("{}_{stem}", p.to_string_lossy()))
                .unwrap_or(stem)
        } else {
            stem
        };
        let mut name = stem.clone();
        let mut k = 2;
        while names.contains(&name) {
            name = format!("{stem}_{k}");
            k += 1;
        }
        names.push(name);
    }
    names
}

/// One processed flight line.
struct Pass {
    name: String,
    /// The GLT, its map georeferencing, and the RMS (m) of the affine raw → map model.
    ortho: Option<(Glt, GeoRef, f64)>,
    path: PathBuf,
    bands: usize,
    georef: Option<GeoRef>,
    transform: GeoTransform,
    maps: DetectionMaps,
    analysis: PassAnalysis,
    seconds: f64,
    /// Detection-limit estimate (first pass only, when asked for).
    limit: Option<crate::limit::PodEstimate>,
}

fn detect_params(algo: ScanAlgo) -> DetectParams {
    let algorithm = match algo {
        ScanAlgo::Amf => Algorithm::AlbedoMatchedFilter,
        ScanAlgo::Mf => Algorithm::MatchedFilter,
        ScanAlgo::Mag1c => Algorithm::Mag1c,
    };
    DetectParams {
        algorithm,
        grouping: Grouping::Columns(1),
        // Saturated pixels stay out of the background statistics (mag1c's rule).
        saturation: Some(plumewatch_core::mask::Saturation::default()),
        ..DetectParams::default()
    }
}

/// Reads a GLT file and relates it to a raw grid: (GLT, map georef, affine raw → map
/// transform, its RMS residual in m).
fn read_glt(path: &Path, raw: Grid) -> anyhow::Result<(Glt, GeoRef, GeoTransform, f64)> {
    let cube = plumewatch_io::open_cube(path)?;
    let meta = cube.meta().clone();
    if meta.bands < 2 {
        bail!(
            "{}: bands: a GLT needs 2 bands (raw sample, raw line), found {}",
            path.display(),
            meta.bands
        );
    }
    let georef = meta.georef.clone().with_context(|| {
        format!(
            "{}: map info: a GLT must carry the georeferencing of its map grid",
            path.display()
        )
    })?;
    let (lines, samples) = (meta.lines, meta.samples);
    let (mut sample_band, mut line_band) = (Vec::with_capacity(lines * samples), Vec::new());
    line_band.reserve(lines * samples);
    let mut buf = vec![0f32; samples * 2];
    for line in 0..lines {
        cube.read_line(line, &[0, 1], &mut buf)?;
        sample_band.extend(buf.iter().step_by(2));
        line_band.extend(buf.iter().skip(1).step_by(2));
    }
    let glt = Glt::from_one_based(&sample_band, &line_band, Grid::new(lines, samples), raw)
        .with_context(|| format!("{}: GLT values", path.display()))?;
    let map = GeoTransform::new(georef.geo_transform)
        .with_context(|| format!("{}: map info", path.display()))?;
    let (raw_to_map, rms) = glt
        .raw_affine(&map)
        .with_context(|| format!("{}: GLT geometry", path.display()))?;
    Ok((glt, georef, raw_to_map, rms))
}

/// One flight line to process.
struct PassJob<'a> {
    name: &'a str,
    path: &'a Path,
    glt: Option<&'a Path>,
    wind: Option<Wind>,
    /// Estimate the detection limit on this line.
    want_limit: bool,
}

fn process_pass(
    args: &ScanArgs,
    job: &PassJob<'_>,
    params: &PassParams,
    quiet: bool,
) -> anyhow::Result<Pass> {
    let PassJob {
        name,
        path,
        glt,
        wind,
        want_limit,
    } = *job;
    let start = Instant::now();
    let cube = plumewatch_io::open_cube(path)?;
    let meta = cube.meta().clone();
    let detect = detect_params(args.algo);
    let window = GasWindow::for_cube(
        path,
        &meta,
        &args.gas,
        args.window,
        None,
        detect.saturation.as_ref(),
    )?;
    let ortho = match glt {
        Some(g) => Some(read_glt(g, Grid::new(meta.lines, meta.samples))?),
        None => None,
    };
    let transform = match (&meta.georef, args.gsd) {
        _ if ortho.is_some() => ortho.as_ref().map(|o| o.2).context("GLT")?,
        (Some(g), _) => GeoTransform::new(g.geo_transform)
            .with_context(|| format!("{}: map info: unusable geotransform", path.display()))?,
        (None, Some(gsd)) => GeoTransform::north_up(0.0, 0.0, gsd)?,
        (None, None) => bail!(
            "{}: map info: the cube has no georeferencing; give its ground sample distance with --gsd M",
            path.display()
        ),
    };
    let total = if matches!(detect.grouping, Grouping::Global) {
        meta.lines
    } else {
        meta.samples
    };
    let pb = progress::bar(total as u64, &format!("detect {name}"), quiet);
    let input = CubeInput {
        source: cube.as_ref(),
        window_bands: &window.bands,
        unit_absorption: &window.unit_absorption,
        saturation_bands: &window.saturation_bands,
        exclude: None,
    };
    let maps = detect_cube(&input, &detect, &|n| pb.inc(n))
        .with_context(|| format!("{}: detection failed", path.display()))?;
    pb.finish_and_clear();
    let wavelength_nm: Vec<f64> = meta
        .wavelength_nm
        .as_deref()
        .map(|wl| window.bands.iter().map(|&b| wl[b]).collect())
        .unwrap_or_default();
    let spectra = WindowSpectra {
        source: cube.as_ref(),
        bands: &window.bands,
        wavelength_nm: &wavelength_nm,
        unit_absorption: &window.unit_absorption,
    };
    let spectra = (wavelength_nm.len() == window.bands.len()).then_some(&spectra);
    let analysis = analyse_pass_with_spectra(name, &maps, &transform, wind, None, spectra, params)
        .with_context(|| format!("{}: plume analysis failed", path.display()))?;
    let limit = if want_limit && args.limit_runs > 0 {
        Some(detection_limit(
            args,
            cube.as_ref(),
            &meta,
            &window,
            &transform,
            wind,
            quiet,
        )?)
    } else {
        None
    };
    if let Some((_, _, t, rms)) = &ortho {
        if !quiet && *rms > t.gsd() {
            eprintln!(
                "scan: {}: the GLT's raw → map geometry is not affine (RMS {rms:.1} m > one pixel); source positions are approximate",
                path.display()
            );
        }
    }
    let georef = ortho
        .as_ref()
        .map_or_else(|| meta.georef.clone(), |o| Some(o.1.clone()));
    Ok(Pass {
        name: name.to_string(),
        georef,
        ortho: ortho.map(|(g, georef, _, rms)| (g, georef, rms)),
        path: path.to_path_buf(),
        bands: meta.bands,
        transform,
        maps,
        analysis,
        seconds: start.elapsed().as_secs_f64(),
        limit,
    })
}

/// The smallest source this flight line reveals: plumes of random rate injected into
/// the cube's own radiance and found (or not) by the same pipeline; see
/// [`crate::limit::estimate_pod`].
fn detection_limit(
    args: &ScanArgs,
    cube: &dyn plumewatch_io::RadianceCube,
    meta: &plumewatch_io::CubeMeta,
    window: &GasWindow,
    transform: &GeoTransform,
    wind: Option<Wind>,
    quiet: bool,
) -> anyhow::Result<crate::limit::PodEstimate> {
    let base = plumewatch_core::VecCube::from_source(cube, &window.bands)?;
    let wl = meta.wavelength_nm.as_deref().unwrap_or_default();
    let fwhm = meta.fwhm_nm.as_deref().unwrap_or_default();
    let model = plumewatch_core::BandModel::new(
        window
            .bands
            .iter()
            .filter_map(|&i| wl.get(i).copied())
            .collect(),
        window
            .bands
            .iter()
            .filter_map(|&i| fwhm.get(i).copied())
            .collect(),
    )
    .context("detection limit: the cube's band table")?;
    let lut = plumewatch_io::gas_lut::open(&args.gas)?;
    let tr = plumewatch_core::simulate::GasTransmittance::from_lut(&lut, &model)?;
    let gsd = transform.gsd();
    let settings = crate::limit::PodSettings {
        gsd_m: gsd,
        wind_m_s: wind.map_or(3.0, |w| w.speed_m_s.max(0.5)),
        q_range: crate::limit::default_q_range(gsd),
        runs: args.limit_runs,
        per_run: 5,
        far: args.far,
        z_detect: 3.72,
        seed: 1,
    };
    let pb = progress::bar(args.limit_runs as u64, "limit", quiet);
    let window_wl: Vec<f64> = window
        .bands
        .iter()
        .filter_map(|&i| wl.get(i).copied())
        .collect();
    let est = crate::limit::estimate_pod(
        &base,
        &window_wl,
        &window.unit_absorption,
        &tr,
        &settings,
        &|| pb.inc(1),
    )?;
    pb.finish_and_clear();
    Ok(est)
}

fn write_rasters(out: &Path, pass: &Pass) -> anyhow::Result<Vec<PathBuf>> {
    let (lines, samples) = (pass.maps.lines, pass.maps.samples);
    let labels: Vec<f32> = pass
        .analysis
        .plumes
        .labels
        .iter()
        .map(|&l| l as f32)
        .collect();
    let mask: Vec<f32> = pass
        .analysis
        .plumes
        .labels
        .iter()
        .map(|&l| {
            let accepted = l > 0
                && pass
                    .analysis
                    .plumes
                    .plumes
                    .get(l as usize - 1)
                    .is_some_and(|p| p.rejection.is_none());
            f32::from(u8::from(accepted))
        })
        .collect();
    let rasters: [(&str, &[f32], &str, &str); 5] = [
        (
            "enhancement",
            &pass.maps.enhancement,
            "CH4 enhancement",
            "ppm·m",
        ),
        (
            "sigma",
            &pass.maps.sigma,
            "sigma (noise-equivalent enhancement)",
            "ppm·m",
        ),
        ("z", &pass.maps.z, "z-score (enhancement / sigma)", "1"),
        ("plume_mask", &mask, "accepted plume pixels (1)", "1"),
        ("plume_id", &labels, "candidate plume id (0 = none)", "1"),
    ];
    let mut written = Vec::new();
    let raw = Grid::new(lines, samples);
    for (suffix, data, description, unit) in rasters {
        let path = out.join(format!("{}_{suffix}.tif", pass.name));
        let nodata = matches!(suffix, "enhancement" | "sigma" | "z").then_some(f64::from(NODATA));
        match &pass.ortho {
            Some((glt, georef, _)) => {
                let ortho = glt.apply(data, raw, nodata.map_or(0.0, |v| v as f32))?;
                plumewatch_io::write_cog(
                    &path,
                    glt.lines,
                    glt.samples,
                    &[OutputBand {
                        data: &ortho,
                        description,
                        unit,
                    }],
                    Some(georef),
                    nodata,
                )?;
            }
            None => plumewatch_io::write_cog(
                &path,
                lines,
                samples,
                &[OutputBand {
                    data,
                    description,
                    unit,
                }],
                pass.georef.as_ref(),
                nodata,
            )?,
        }
        written.push(path);
    }
    Ok(written)
}

fn crs_of(passes: &[Pass]) -> anyhow::Result<Option<String>> {
    let wkts: Vec<Option<&str>> = passes
        .iter()
        .map(|p| p.georef.as_ref().and_then(|g| g.wkt.as_deref()))
        .collect();
    let first = wkts[0];
    if let Some((p, _)) = passes.iter().zip(&wkts).find(|(_, w)| **w != first) {
        // Different CRS strings may still be the same CRS; compare through GDAL.
        let same = match (first, wkts.iter().find(|w| **w != first).copied().flatten()) {
            (Some(a), Some(b)) => {
                let sa = gdal_same_crs(a, b);
                sa.unwrap_or(false)
            }
            _ => false,
        };
        if !same {
            bail!(
                "{}: coordinate system string: differs from the first flight line's; sites are merged in one map CRS (reproject the lines to one CRS first)",
                p.path.display()
            );
        }
    }
    Ok(first.map(str::to_string))
}

fn gdal_same_crs(a: &str, b: &str) -> Option<bool> {
    let to_a = ToWgs84::new(a, Path::new("crs")).ok()?;
    let to_b = ToWgs84::new(b, Path::new("crs")).ok()?;
    let pa = to_a
        .points(&[[500_000.0, 4_000_000.0]], Path::new("crs"))
        .ok()?;
    let pb = to_b
        .points(&[[500_000.0, 4_000_000.0]], Path::new("crs"))
        .ok()?;
    Some((pa[0][0] - pb[0][0]).abs() < 1e-9 && (pa[0][1] - pb[0][1]).abs() < 1e-9)
}

/// Runs `plumewatch scan`.
pub fn run(args: ScanArgs, quiet: bool) -> anyhow::Result<()> {
    let start = Instant::now();
    let _crs = plumewatch_io::open_crs_database_in_background();
    let winds = winds(&args)?;
    let params = PassParams {
        cfar: plumewatch_core::plume::CfarParams {
            far: args.far,
            ..Default::default()
        },
        ..PassParams::default()
    };
    params.cfar.seed_threshold().context("--far")?;
    std::fs::create_dir_all(&args.output)
        .with_context(|| format!("{}: cannot create output directory", args.output.display()))?;
    let names = pass_names(&args.cubes);
    let mut passes = Vec::with_capacity(args.cubes.len());
    if !args.glt.is_empty() && args.glt.len() != args.cubes.len() {
        bail!(
            "--glt: expected one GLT per cube ({} cubes), got {}",
            args.cubes.len(),
            args.glt.len()
        );
    }
    for (i, ((cube, name), wind)) in args.cubes.iter().zip(&names).zip(&winds).enumerate() {
        let glt = args.glt.get(i).map(PathBuf::as_path);
        let job = PassJob {
            name,
            path: cube,
            glt,
            wind: *wind,
            want_limit: i == 0,
        };
        passes.push(process_pass(&args, &job, &params, quiet)?);
    }
    let crs = crs_of(&passes)?;

    let detections: Vec<_> = passes
        .iter()
        .flat_map(|p| p.analysis.detections())
        .collect();
    let footprints: Vec<PassFootprint> = passes
        .iter()
        .map(|p| PassFootprint {
            pass: p.name.clone(),
            grid: Grid::new(p.maps.lines, p.maps.samples),
            transform: p.transform,
        })
        .collect();
    let coarsest_gsd = passes.iter().map(|p| p.transform.gsd()).fold(0.0, f64::max);
    let site_params = SiteParams {
        merge_distance: args.merge_distance.unwrap_or(5.0 * coarsest_gsd),
    };
    let sites = merge_sites(&detections, &footprints, &site_params)?;

    let mut outputs = Vec::new();
    for p in &passes {
        outputs.extend(write_rasters(&args.output, p)?);
    }
    let lon_lat: Vec<[f64; 2]> = match &crs {
        Some(crs) => {
            let sites_path = args.output.join("sites.geojson");
            write_sites_geojson(&sites_path, &sites, crs)?;
            let features: Vec<PlumeFeature<'_>> = passes
                .iter()
                .flat_map(|p| {
                    p.analysis
                        .plumes
                        .plumes
                        .iter()
                        .zip(&p.analysis.located)
                        .map(move |(plume, l)| PlumeFeature {
                            pass: &p.name,
                            plume,
                            transform: &p.transform,
                            source: Some(&l.source),
                            emission: l.emission.as_ref(),
                        })
                })
                .collect();
            let plumes_path = args.output.join("plumes.geojson");
            write_plumes_geojson(&plumes_path, &features, crs)?;
            outputs.push(sites_path);
            outputs.push(plumes_path);
            let to = ToWgs84::new(crs, &args.output)?;
            to.points(
                &sites.iter().map(|s| [s.x, s.y]).collect::<Vec<_>>(),
                &args.output,
            )?
        }
        None => {
            if !quiet {
                eprintln!("scan: no coordinate system: GeoJSON outputs skipped, sites in pixel-based map units");
            }
            vec![[f64::NAN, f64::NAN]; sites.len()]
        }
    };

    let evidence = write_evidence(&args.output, &passes, &sites)?;
    outputs.extend(evidence.iter().flatten().map(|(path, _)| path.clone()));
    let report = report_input(
        &args,
        &site_params,
        &passes,
        &sites,
        &lon_lat,
        &evidence,
        start.elapsed().as_secs_f64(),
    );
    let report_path = args.output.join("report.html");
    report_html::write_html(&report_path, &report)?;
    outputs.push(report_path);

    let scan_json = scan_json(
        &args,
        &passes,
        &sites,
        &lon_lat,
        &params,
        &site_params,
        &outputs,
    );
    let json_path = args.output.join("scan.json");
    let text = serde_json::to_string_pretty(&scan_json)?;
    plumewatch_io::atomic::write_bytes(&json_path, text.as_bytes())?;

    if !quiet {
        let accepted = detections.len();
        let candidates: usize = passes.iter().map(|p| p.analysis.plumes.plumes.len()).sum();
        let rejected = candidates - accepted;
        eprintln!(
            "scan: {} flight line(s), {candidates} plume candidate(s): {accepted} accepted as sources, {rejected} rejected or dismissed (reasons in report.html), {} site(s) in {:.1} s → {}",
            passes.len(),
            sites.len(),
            start.elapsed().as_secs_f64(),
            args.output.display()
        );
        for (s, ll) in sites.iter().zip(&lon_lat) {
            let ns = if ll[1] < 0.0 { 'S' } else { 'N' };
            let ew = if ll[0] < 0.0 { 'W' } else { 'E' };
            eprintln!(
                "  #{:<3} {:>8.5}°{ns} {:>9.5}°{ew}  {:>8.1} ± {:<7.1} kg/h  max {:>7.0} ppm·m  z {:>5.1}  P_FA {:.1e}",
                s.rank, ll[1].abs(), ll[0].abs(), s.rate_kg_h, s.rate_sd_kg_h, s.max_enhancement_ppm_m, s.significance, s.false_alarm_probability
            );
        }
    }
    Ok(())
}

/// Draws the evidence PNG of each site from its most significant plume, writes it to
/// `OUTDIR/evidence/<site>.png` and returns (path, PNG bytes) per site.
/// An evidence PNG: where it was written and its bytes.
type EvidenceFile = (PathBuf, Vec<u8>);

fn write_evidence(
    out: &Path,
    passes: &[Pass],
    sites: &[Site],
) -> anyhow::Result<Vec<Option<EvidenceFile>>> {
    let dir = out.join("evidence");
    if !sites.is_empty() {
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("{}: cannot create directory", dir.display()))?;
    }
    let mut result = Vec::with_capacity(sites.len());
    for site in sites {
        let best = site
            .plumes
            .iter()
            .filter_map(|r| {
                let pass = passes.iter().find(|p| p.name == r.pass)?;
                let i = pass
                    .analysis
                    .plumes
                    .plumes
                    .iter()
                    .position(|q| q.id == r.plume_id)?;
                Some((pass, i))
            })
            .max_by(|a, b| {
                let sig = |(p, i): &(&Pass, usize)| p.analysis.plumes.plumes[*i].significance;
                sig(a).total_cmp(&sig(b))
            });
        let Some((pass, i)) = best else {
            result.push(None);
            continue;
        };
        let plume = &pass.analysis.plumes.plumes[i];
        let located = &pass.analysis.located[i];
        let enhancement = nodata_as_nan(&pass.maps.enhancement);
        let source = (located.source.col, located.source.row);
        let wind = pass.analysis.wind.map(|w| {
            (
                plumewatch_core::geo::downwind_pixel_unit(&pass.transform, w.from_deg),
                w.speed_m_s,
            )
        });
        let evidence = Evidence {
            grid: Grid::new(pass.maps.lines, pass.maps.samples),
            enhancement: &enhancement,
            centre: source,
            outline: &plume.outline,
            source: Some(source),
            wind,
            gsd_m: pass.transform.gsd(),
        };
        let (img, _) = render_evidence(&evidence, &EvidenceParams::default())?;
        let (w, h) = (img.width() as usize, img.height() as usize);
        let png = report_html::encode_png(w, h, img.into_raw());
        let path = dir.join(format!("{}.png", site_id(site)));
        plumewatch_io::atomic::write_bytes(&path, &png)?;
        result.push(Some((path, png)));
    }
    Ok(result)
}

fn site_id(s: &Site) -> String {
    format!("S{}", s.rank)
}

fn report_input(
    args: &ScanArgs,
    site_params: &SiteParams,
    passes: &[Pass],
    sites: &[Site],
    lon_lat: &[[f64; 2]],
    evidence: &[Option<EvidenceFile>],
    seconds: f64,
) -> ReportInput {
    let overviews = passes
        .iter()
        .map(|p| {
            let (lines, samples) = (p.maps.lines, p.maps.samples);
            let accepted: Vec<bool> = p
                .analysis
                .plumes
                .plumes
                .iter()
                .map(|q| q.rejection.is_none())
                .collect();
            let png = report_html::quicklook_png(
                &p.maps.albedo,
                &p.maps.enhancement,
                &p.analysis.plumes.labels,
                &accepted,
                lines,
                samples,
            );
            let plume_outlines = p
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
            let markers = sites
                .iter()
                .filter_map(|s| {
                    let (c, r) = p.transform.map_to_pixel(s.x, s.y);
                    (c >= 0.0 && r >= 0.0 && c < samples as f64 && r < lines as f64)
                        .then(|| (c, r, site_id(s)))
                })
                .collect();
            Overview {
                name: p.name.clone(),
                path: p.path.display().to_string(),
                lines,
                samples,
                bands: p.bands,
                quicklook_png: png,
                image_size: (samples as u32, lines as u32),
                plume_outlines,
                markers,
                footprint_lon_lat: Vec::new(),
            }
        })
        .collect();
    let site_rows = sites
        .iter()
        .zip(lon_lat)
        .zip(evidence)
        .map(|((s, ll), ev)| SiteRow {
            id: site_id(s),
            rank: s.rank,
            lon: ll[0],
            lat: ll[1],
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
    let rejected = passes
        .iter()
        .flat_map(|p| {
            p.analysis
                .plumes
                .plumes
                .iter()
                .zip(&p.analysis.located)
                .filter_map(move |(q, l)| {
                    let reason = p.analysis.dismissal(q, l)?;
                    Some(RejectedRow {
                        id: format!("{}:{}", p.name, q.id),
                        flight_line: p.name.clone(),
                        line: q.peak_pixel[0] as f64,
                        sample: q.peak_pixel[1] as f64,
                        reason,
                    })
                })
        })
        .collect();
    let mut parameters = vec![
        ("gas".to_string(), args.gas.clone()),
        ("detector".to_string(), format!("{:?}", args.algo)),
        (
            "window".to_string(),
            format!("{}–{} nm", args.window.0, args.window.1),
        ),
        (
            "false-alarm rate (per pixel)".to_string(),
            format!("{:e}", args.far),
        ),
        (
            "site merge distance".to_string(),
            format!("{} m", site_params.merge_distance),
        ),
        ("run time".to_string(), format!("{seconds:.1} s")),
    ];
    for p in passes {
        let wind = p
            .analysis
            .wind
            .map_or("none (no emission rates)".to_string(), |w| {
                format!("{} m/s from {}°", w.speed_m_s, w.from_deg)
            });
        parameters.push((format!("wind, {}", p.name), wind));
    }
    ReportInput {
        title: "plumewatch scan".into(),
        generated_utc: utc_now(),
        version: env!("CARGO_PKG_VERSION").into(),
        parameters,
        overviews,
        sites: site_rows,
        rejected,
        detection_limit: passes.first().and_then(|p| {
            let est = p.limit.as_ref()?;
            let f = &est.fit;
            let hits = est.detected.iter().filter(|d| **d).count();
            Some(DetectionLimit {
                q50_kg_h: f.q50_kg_h,
                q90_kg_h: f.q90_kg_h,
                method: format!(
                    "{}: {} plumes of log-uniform rate injected into the flight line's own radiance ({} detected), wind {} m/s, random directions; found by this scan's own detector and plume analysis; logistic POD(Q) fit, 95% intervals Q50 {:.1}–{:.1}, Q90 {:.1}–{:.1} kg/h.",
                    p.name,
                    est.q_kg_h.len(),
                    hits,
                    p.analysis.wind.map_or(3.0, |w| w.speed_m_s.max(0.5)),
                    f.q50_ci_kg_h.0,
                    f.q50_ci_kg_h.1,
                    f.q90_ci_kg_h.0,
                    f.q90_ci_kg_h.1
                ),
            })
        }),
    }
}

fn utc_now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // civil-from-days (Howard Hinnant's algorithm)
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

fn scan_json(
    args: &ScanArgs,
    passes: &[Pass],
    sites: &[Site],
    lon_lat: &[[f64; 2]],
    params: &PassParams,
    site_params: &SiteParams,
    outputs: &[PathBuf],
) -> serde_json::Value {
    let passes_json: Vec<_> = passes
        .iter()
        .map(|p| {
            let plumes: Vec<_> = p
                .analysis
                .plumes
                .plumes
                .iter()
                .zip(&p.analysis.located)
                .map(|(q, l)| {
                    json!({
                        "plume": q,
                        "source": l.source,
                        "source_map": [l.source_map.0, l.source_map.1],
                        "source_radius_m": l.source_radius_m,
                        "emission": l.emission,
                        "rejection_text": q.rejection.as_ref().map(ToString::to_string),
                        "fragment_of": l.fragment_of,
                        "not_significant": l.not_significant,
                        "reported_as_site": p.analysis.dismissal(q, l).is_none(),
                        "dismissal": p.analysis.dismissal(q, l),
                    })
                })
                .collect();
            json!({
                "name": p.name,
                "path": p.path.display().to_string(),
                "lines": p.maps.lines,
                "samples": p.maps.samples,
                "bands": p.bands,
                "geo_transform": p.transform.gt,
                "glt_affine_rms_m": p.ortho.as_ref().map(|o| o.2),
                "wind": p.analysis.wind,
                "cfar": {
                    "seed_threshold": p.analysis.plumes.seed_threshold,
                    "n_seed_pixels": p.analysis.plumes.n_seed_pixels,
                    "n_valid_pixels": p.analysis.plumes.n_valid,
                    "n_too_small": p.analysis.plumes.n_too_small,
                },
                "seconds": p.seconds,
                "plumes": plumes,
            })
        })
        .collect();
    let sites_json: Vec<_> = sites
        .iter()
        .zip(lon_lat)
        .map(|(s, ll)| {
            let mut v = serde_json::to_value(s).unwrap_or_default();
            if let Some(o) = v.as_object_mut() {
                o.insert("id".into(), json!(site_id(s)));
                o.insert(
                    "lon".into(),
                    if ll[0].is_finite() {
                        json!(ll[0])
                    } else {
                        serde_json::Value::Null
                    },
                );
                o.insert(
                    "lat".into(),
                    if ll[1].is_finite() {
                        json!(ll[1])
                    } else {
                        serde_json::Value::Null
                    },
                );
            }
            v
        })
        .collect();
    json!({
        "plumewatch_version": env!("CARGO_PKG_VERSION"),
        "generated_utc": utc_now(),
        "units": {
            "enhancement": "ppm·m", "rate": "kg/h", "wind": "m/s (10 m), direction the wind blows from, degrees",
            "map": "scene CRS units (m)", "lon_lat": "WGS84 degrees"
        },
        "parameters": {
            "gas": args.gas,
            "detector": format!("{:?}", args.algo),
            "window_nm": [args.window.0, args.window.1],
            "far": args.far,
            "pass": params,
            "sites": site_params,
        },
        "passes": passes_json,
        "sites": sites_json,
        "outputs": outputs.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
    })
}
