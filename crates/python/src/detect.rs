//! `detect`: radiance → enhancement (ppm·m), albedo, sigma (ppm·m) and z, with the
//! parameters and core calls of the CLI's `plumewatch detect`.

use crate::array_cube::ArrayCube;
use crate::errors::{into_pyerr, to_py, Error, Outcome};
use numpy::{PyArray1, PyArrayMethods, PyReadonlyArray3};
use plumewatch_core::detect::{
    detect_cube, Algorithm, CubeInput, DetectParams, DetectionMaps, Grouping, Mag1cParams,
    Precision,
};
use plumewatch_core::mask::{CensorRule, Saturation};
use plumewatch_core::raster::nodata_to_nan;
use plumewatch_core::stats::Regularization;
use plumewatch_core::LineSource;
use plumewatch_io::CubeMeta;
use plumewatch_scan::window::GasWindow;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use std::path::{Path, PathBuf};

/// Detection options, one per CLI flag of `plumewatch detect` (extracted from a dict
/// that the Python layer builds with every key).
#[derive(Debug, Clone, FromPyObject)]
#[pyo3(from_item_all)]
pub struct DetectOptions {
    /// Gas: built-in name (`ch4`) or a LUT sidecar (.json).
    pub gas: String,
    /// `mag1c`, `mf`, `amf` or `ace`.
    pub algo: String,
    /// Gas window (lo, hi), nm; `None`: chosen from the cube's bands as the CLI does
    /// (2.3 µm when covered, else 1.65 µm).
    pub window: Option<(f64, f64)>,
    /// Columns per statistics group.
    pub group: usize,
    /// One set of statistics for the whole scene.
    pub global_stats: bool,
    /// mag1c iterations.
    pub iterations: usize,
    /// Every pixel in f64.
    pub f64: bool,
    /// `none`, `blend` or `ledoit-wolf`.
    pub regularization: String,
    /// Diagonal weight of `blend`, in [0, 1].
    pub alpha: f64,
    /// `none`, `repeated` or `mag1c`.
    pub censor: String,
    /// Saturation threshold, µW cm⁻² sr⁻¹ nm⁻¹; `None` = no screening.
    pub saturation_threshold: Option<f32>,
    /// Second pass without pixels whose first-pass z exceeds this.
    pub exclude_z: Option<f64>,
    /// mf, amf: the outlier scaling of the z-score (`--outlier-scaling`).
    pub outlier_scaling: bool,
    /// mag1c: albedo correction.
    pub albedo_correction: bool,
    /// mag1c: sparsity (reweighting) term.
    pub sparsity: bool,
    /// Target spectrum file instead of the gas LUT.
    pub target: Option<PathBuf>,
}

fn choice<T: Copy>(what: &str, value: &str, choices: &[(&str, T)]) -> Outcome<T> {
    choices
        .iter()
        .find(|(name, _)| *name == value)
        .map(|&(_, v)| v)
        .ok_or_else(|| {
            let names: Vec<&str> = choices.iter().map(|(n, _)| *n).collect();
            Error::input(format!(
                "{what}={value:?}: expected one of {}",
                names.join(", ")
            ))
        })
}

impl DetectOptions {
    /// The core parameters, as the CLI builds them from its flags.
    pub fn params(&self) -> Outcome<DetectParams> {
        let algorithm = choice(
            "algo",
            &self.algo,
            &[
                ("mag1c", Algorithm::Mag1c),
                ("mf", Algorithm::MatchedFilter),
                ("amf", Algorithm::AlbedoMatchedFilter),
                ("ace", Algorithm::Ace),
            ],
        )?;
        let regularization = match self.regularization.as_str() {
            "none" => Regularization::None,
            "blend" => Regularization::DiagonalBlend { alpha: self.alpha },
            "ledoit-wolf" => Regularization::LedoitWolf,
            other => {
                return Err(Error::input(format!(
                    "regularization={other:?}: expected one of none, blend, ledoit-wolf"
                )))
            }
        };
        let censor = choice(
            "censor",
            &self.censor,
            &[
                ("none", CensorRule::None),
                ("repeated", CensorRule::Repeated),
                ("mag1c", CensorRule::Mag1cExact),
            ],
        )?;
        if let Some((lo, hi)) = self.window {
            if !(lo > 0.0 && lo < hi && hi.is_finite()) {
                return Err(Error::input(format!(
                    "window ({lo}, {hi}): expected two wavelengths in nm, LO,HI with LO < HI (e.g. 2122,2488)"
                )));
            }
        }
        Ok(DetectParams {
            algorithm,
            precision: if self.f64 {
                Precision::F64
            } else {
                Precision::F32
            },
            grouping: if self.global_stats {
                Grouping::Global
            } else {
                Grouping::Columns(self.group)
            },
            normalization: None,
            regularization,
            censor,
            saturation: self.saturation_threshold.map(|threshold| Saturation {
                threshold,
                ..Saturation::default()
            }),
            mag1c: Mag1cParams {
                iterations: self.iterations,
                sparsity: self.sparsity,
                albedo_correction: self.albedo_correction,
                ..Mag1cParams::default()
            },
            exclude_z: self.exclude_z,
            outlier_scaling: self.outlier_scaling,
        })
    }
}

/// Maps and the window they were computed in.
struct Detection {
    maps: DetectionMaps,
    window: GasWindow,
    /// The window range asked for or chosen, nm.
    window_nm: (f64, f64),
}

/// Window, target and detection over `source`, as the CLI's `detect` runs them.
fn run(
    meta: &CubeMeta,
    source: &dyn LineSource,
    options: &DetectOptions,
    progress: Option<&Py<PyAny>>,
) -> Outcome<Detection> {
    let params = options.params()?;
    let label = meta.path.display();
    let window_nm = match (options.window, meta.wavelength_nm.as_deref()) {
        (Some(w), _) => w,
        (None, Some(wl)) => plumewatch_scan::window::auto_window(wl, meta.bad_bands.as_deref())
            .map_err(|e| e.context(format!("{label}")))?,
        // No band centres: `for_cube` names what is missing.
        (None, None) => plumewatch_scan::window::CH4_WINDOW_2_3_UM,
    };
    let window = GasWindow::for_cube(
        &meta.path,
        meta,
        &options.gas,
        Some(&window_nm.into()),
        options.target.as_deref(),
        params.saturation.as_ref(),
    )?;
    // The same refusal of a cube the statistics cannot use as the CLI's `detect`.
    plumewatch_scan::window::check_content(&meta.path, source, &window.bands, params.grouping)?;
    let input = CubeInput {
        source,
        window_bands: &window.bands,
        unit_absorption: &window.unit_absorption,
        saturation_bands: &window.saturation_bands,
        exclude: None,
    };
    // Progress goes to a Python callable (tqdm's `update`), taking the GIL only for
    // the call: once per finished column (or line, for global statistics).
    let report = |n: u64| {
        if let Some(callback) = progress {
            Python::attach(|py| {
                let _ = callback.call1(py, (n,));
            });
        }
    };
    let mut maps = detect_cube(&input, &params, &report)
        .map_err(|e| Error::from(e).context(format!("{label}: detection failed")))?;
    for map in [
        &mut maps.enhancement,
        &mut maps.albedo,
        &mut maps.sigma,
        &mut maps.z,
    ] {
        for v in map.iter_mut() {
            *v = nodata_to_nan(*v);
        }
    }
    Ok(Detection {
        maps,
        window,
        window_nm,
    })
}

/// The maps as a dict of `lines × samples` float32 arrays (moved, not copied) with the
/// window bands, target and phase times.
fn to_dict(py: Python<'_>, d: Detection) -> PyResult<Bound<'_, PyDict>> {
    let out = PyDict::new(py);
    let (lines, samples) = (d.maps.lines, d.maps.samples);
    for (name, map) in [
        ("enhancement", d.maps.enhancement),
        ("albedo", d.maps.albedo),
        ("sigma", d.maps.sigma),
        ("z", d.maps.z),
    ] {
        out.set_item(name, PyArray1::from_vec(py, map).reshape([lines, samples])?)?;
    }
    out.set_item("window_nm", vec![d.window_nm.0, d.window_nm.1])?;
    out.set_item("window_bands", d.window.bands)?;
    out.set_item(
        "unit_absorption",
        PyArray1::from_vec(py, d.window.unit_absorption),
    )?;
    out.set_item("read_s", d.maps.timings.read.as_secs_f64())?;
    out.set_item("compute_s", d.maps.timings.compute.as_secs_f64())?;
    Ok(out)
}

/// The band table and no-data value given with a numpy array (a dict with every key).
#[derive(Debug, Clone, FromPyObject)]
#[pyo3(from_item_all)]
pub struct ArrayBands {
    /// Band centres, nm, one per band.
    pub wavelength: Option<Vec<f64>>,
    /// Band FWHM, nm, one per band.
    pub fwhm: Option<Vec<f64>>,
    /// Per band: `true` = good band.
    pub good_bands: Option<Vec<bool>>,
    /// Raw value marking missing pixels.
    pub nodata: Option<f64>,
}

/// The metadata of a numpy array: its band table, named "array" in messages.
fn array_meta(view: &numpy::ndarray::ArrayView3<'_, f32>, bands: ArrayBands) -> CubeMeta {
    let shape = view.shape();
    CubeMeta {
        path: Path::new("array").to_path_buf(),
        format: "numpy".into(),
        lines: shape[0],
        samples: shape[1],
        bands: shape[2],
        wavelength_nm: bands.wavelength,
        fwhm_nm: bands.fwhm,
        bad_bands: bands.good_bands,
        nodata: bands.nodata,
        georef: None,
        band_names: None,
        description: None,
    }
}

/// Detects gas in a float32 array (line, sample, band), read in place with the GIL
/// released. `bands.nodata` marks missing values (read as NaN); `progress`, when given,
/// is called with the number of columns (lines for global statistics) finished.
#[pyfunction]
#[pyo3(signature = (cube, bands, options, progress=None))]
pub fn detect_array<'py>(
    py: Python<'py>,
    cube: PyReadonlyArray3<'py, f32>,
    bands: ArrayBands,
    options: DetectOptions,
    progress: Option<Py<PyAny>>,
) -> PyResult<Bound<'py, PyDict>> {
    let view = cube.as_array();
    let nbands = view.shape()[2];
    for (name, len) in [
        ("wavelengths", bands.wavelength.as_ref().map(Vec::len)),
        ("fwhm", bands.fwhm.as_ref().map(Vec::len)),
        ("good_bands", bands.good_bands.as_ref().map(Vec::len)),
    ] {
        if let Some(len) = len.filter(|&n| n != nbands) {
            let message =
                format!("array: {name}: {len} values for {nbands} bands (expected one per band)");
            return Err(into_pyerr(py, Error::input(message)));
        }
    }
    let meta = array_meta(&view, bands);
    let source = ArrayCube::new(view, meta.nodata.map(|v| v as f32));
    let result = py.detach(|| run(&meta, &source, &options, progress.as_ref()));
    to_dict(py, to_py(py, result)?)
}

/// Detects gas in the cube file at `path`, opened and read exactly as the CLI's
/// `detect` opens and reads it (memory-mapped ENVI, or GDAL), with the GIL released;
/// `progress` as for [`detect_array`].
#[pyfunction]
#[pyo3(signature = (path, options, progress=None))]
pub fn detect_path<'py>(
    py: Python<'py>,
    path: PathBuf,
    options: DetectOptions,
    progress: Option<Py<PyAny>>,
) -> PyResult<Bound<'py, PyDict>> {
    let result = py.detach(|| -> Outcome<Detection> {
        let cube = plumewatch_io::open_cube(&path)?;
        // Messages name the path as given (as the CLI's do), not the data file.
        let meta = CubeMeta {
            path: path.clone(),
            ..cube.meta().clone()
        };
        let detection = run(&meta, cube.as_ref(), &options, progress.as_ref());
        // Unmapping a large cube takes tens of milliseconds: the CLI overlaps it with
        // writing; here it happens beside the caller's next steps.
        std::thread::spawn(move || drop(cube));
        detection
    });
    to_dict(py, to_py(py, result)?)
}
