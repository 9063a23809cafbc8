//! `scan`: the scan library's pipeline behind a Python handle.

use crate::errors::{to_py, Error, Outcome};
use plumewatch_io::geojson_out::{plumes_feature_collection, sites_feature_collection, ToWgs84};
use plumewatch_scan::{NoProgress, Progress, RasterSource, Replace, ScanConfig, ScanResult};
use pyo3::prelude::*;
use std::path::{Path, PathBuf};

/// Runs `f` on a thread pool of `threads` threads (all cores when `None`).
pub fn with_threads<T: Send>(
    threads: Option<usize>,
    f: impl FnOnce() -> Outcome<T> + Send,
) -> Outcome<T> {
    match threads {
        None => f(),
        Some(n) => rayon::ThreadPoolBuilder::new()
            .num_threads(n.max(1))
            .build()
            .map_err(|e| Error::input(format!("threads={n}: cannot start the thread pool: {e}")))?
            .install(f),
    }
}

fn parse_config(json: &str) -> Outcome<ScanConfig> {
    ScanConfig::from_json(json, Path::new("config"))
}

/// The result of a scan, held in Rust; Python reads it through `plumewatch.ScanResult`.
#[pyclass(name = "NativeScanResult", module = "plumewatch._native", frozen)]
pub struct NativeScanResult {
    result: ScanResult,
    /// For a merge of scanned lines: their folders, whose rasters the outputs copy.
    line_folders: Option<Vec<PathBuf>>,
}

impl NativeScanResult {
    /// Sites and plumes as GeoJSON text, as the sinks write them (empty collections
    /// when the flight lines have no CRS, where the sinks write no GeoJSON).
    fn collections(&self) -> Outcome<(String, String)> {
        let empty = || r#"{"type":"FeatureCollection","features":[]}"#.to_string();
        let Some(crs) = &self.result.crs_wkt else {
            return Ok((empty(), empty()));
        };
        let context = Path::new("scan");
        let to = ToWgs84::new(crs, context)?;
        let sites = sites_feature_collection(&self.result.sites, &to, context)?;
        let features = self.result.plume_features();
        let plumes = plumes_feature_collection(&features, &to, context)?;
        Ok((sites.to_string(), plumes.to_string()))
    }
}

#[pymethods]
impl NativeScanResult {
    /// Sites as a GeoJSON FeatureCollection (text), WGS84.
    fn sites_geojson(&self, py: Python<'_>) -> PyResult<String> {
        to_py(py, self.collections().map(|(s, _)| s))
    }

    /// Plume candidates as a GeoJSON FeatureCollection (text), WGS84.
    fn plumes_geojson(&self, py: Python<'_>) -> PyResult<String> {
        to_py(py, self.collections().map(|(_, p)| p))
    }

    /// The complete configuration as JSON.
    fn config_json(&self) -> String {
        self.result.config.to_json()
    }

    /// Writes every output into `out` (as `plumewatch scan -o OUT`); returns the paths.
    /// A merge of scanned lines copies their rasters instead of encoding them again.
    fn write_outputs(&self, py: Python<'_>, out: PathBuf) -> PyResult<Vec<PathBuf>> {
        let written = py.detach(|| {
            let rasters = match &self.line_folders {
                Some(f) => RasterSource::Folders(f),
                None => RasterSource::Encode,
            };
            plumewatch_scan::write_outputs_from(
                &self.result,
                &out,
                Replace::PreviousScanOnly,
                rasters,
            )
        });
        to_py(py, written)
    }
}

/// Progress sent to a Python object with `stage(what, total)`, `advance(n)` and
/// `finish()` methods (a tqdm adapter); each call takes the GIL only for itself.
struct PyProgress(Py<PyAny>);

impl Progress for PyProgress {
    fn stage(&self, what: &str, total: u64) {
        Python::attach(|py| {
            let _ = self.0.call_method1(py, "stage", (what, total));
        });
    }
    fn advance(&self, n: u64) {
        Python::attach(|py| {
            let _ = self.0.call_method1(py, "advance", (n,));
        });
    }
    fn finish(&self) {
        Python::attach(|py| {
            let _ = self.0.call_method0(py, "finish");
        });
    }
}

/// Runs the scan described by `config_json` (a `ScanConfig`) with the GIL released;
/// `progress` (optional) receives `stage`/`advance`/`finish` calls.
#[pyfunction]
#[pyo3(signature = (config_json, threads=None, progress=None))]
pub fn scan(
    py: Python<'_>,
    config_json: String,
    threads: Option<usize>,
    progress: Option<Py<PyAny>>,
) -> PyResult<NativeScanResult> {
    let reporter = progress.map(PyProgress);
    let result = py.detach(|| {
        with_threads(threads, || {
            let config = parse_config(&config_json)?;
            match &reporter {
                Some(p) => plumewatch_scan::scan(&config, p),
                None => plumewatch_scan::scan(&config, &NoProgress),
            }
        })
    });
    to_py(py, result).map(|result| NativeScanResult {
        result,
        line_folders: None,
    })
}

/// The names the flight lines of `config_json` get in outputs.
#[pyfunction]
pub fn line_names(py: Python<'_>, config_json: String) -> PyResult<Vec<String>> {
    to_py(py, parse_config(&config_json).map(|c| c.line_names()))
}

/// The file in a flight line's folder that holds its scanned result (MessagePack of
/// the library's `LineScan`: maps, plumes, sources, rates, verdicts, detection limit).
const LINE_RECORD: &str = "line.msgpack";

/// Scans flight line `index` of `config_json` on its own (a campaign task) and writes
/// its rasters and its result record into `folder`; GIL released.
#[pyfunction]
#[pyo3(signature = (config_json, index, folder, threads=None))]
pub fn scan_line(
    py: Python<'_>,
    config_json: String,
    index: usize,
    folder: PathBuf,
    threads: Option<usize>,
) -> PyResult<Vec<PathBuf>> {
    let written = py.detach(|| {
        with_threads(threads, || {
            let config = parse_config(&config_json)?;
            let scanned = plumewatch_scan::pipeline::scan_line_at(&config, index, &NoProgress)?;
            // The name the merged scan writes into the band descriptions ("CH4"), so
            // the reduce can copy these rasters as they are.
            let gas_name = plumewatch_scan::pipeline::gas_display_name(&config)?;
            std::fs::create_dir_all(&folder).map_err(|e| {
                Error::new(
                    plumewatch_scan::ErrorKind::Io,
                    format!(
                        "{}: cannot create the flight line's folder: {e}",
                        folder.display()
                    ),
                )
            })?;
            let mut written = plumewatch_scan::sinks::rasters::write_line_rasters(
                &folder,
                &scanned.line,
                &gas_name,
            )?;
            let bytes = rmp_serde::to_vec_named(&scanned).map_err(|e| {
                Error::new(
                    plumewatch_scan::ErrorKind::Compute,
                    format!(
                        "flight line {}: cannot encode its result: {e}",
                        scanned.line.name
                    ),
                )
            })?;
            let record = folder.join(LINE_RECORD);
            plumewatch_io::atomic::write_bytes(&record, &bytes)?;
            written.push(record);
            Ok(written)
        })
    });
    to_py(py, written)
}

/// Reads the result record that [`scan_line`] wrote into `folder`.
fn read_line_record(folder: &Path) -> Outcome<plumewatch_scan::pipeline::LineScan> {
    let path = folder.join(LINE_RECORD);
    let bytes = std::fs::read(&path).map_err(|e| {
        Error::new(
            plumewatch_scan::ErrorKind::Io,
            format!("{}: cannot read: {e}", path.display()),
        )
    })?;
    rmp_serde::from_slice(&bytes).map_err(|e| {
        Error::input(format!(
            "{}: not a flight line record of this plumewatch version: {e}",
            path.display()
        ))
    })
}

/// Merges the flight lines scanned into `folders` (in the order of
/// `config_json`'s flight lines) into sites, as the multi-line scan does; GIL released.
/// `elapsed_s` is the campaign's wall time so far (for the run's duration).
#[pyfunction]
#[pyo3(signature = (config_json, folders, elapsed_s=0.0, threads=None))]
pub fn merge_lines(
    py: Python<'_>,
    config_json: String,
    folders: Vec<PathBuf>,
    elapsed_s: f64,
    threads: Option<usize>,
) -> PyResult<NativeScanResult> {
    let result = py.detach(|| {
        with_threads(threads, || {
            let config = parse_config(&config_json)?;
            if folders.len() != config.flight_lines.len() {
                return Err(Error::input(format!(
                    "merge: {} flight line folder(s) for {} flight line(s)",
                    folders.len(),
                    config.flight_lines.len()
                )));
            }
            let mut lines = Vec::with_capacity(folders.len());
            let mut limit = None;
            for folder in &folders {
                let scanned = read_line_record(folder)?;
                lines.push(scanned.line);
                if scanned.detection_limit.is_some() {
                    limit = scanned.detection_limit;
                }
            }
            let start = std::time::Instant::now()
                .checked_sub(std::time::Duration::from_secs_f64(elapsed_s.max(0.0)))
                .unwrap_or_else(std::time::Instant::now);
            plumewatch_scan::pipeline::merge_lines(&config, lines, limit, start)
        })
    });
    to_py(py, result).map(|result| NativeScanResult {
        result,
        line_folders: Some(folders),
    })
}
