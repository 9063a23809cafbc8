//! Opening radiance cubes: metadata for `open_cube`, the ENVI layout for a zero-copy
//! `numpy.memmap`, and a lazy line reader for every other format.

use crate::errors::{to_py, Outcome};
use numpy::{PyArray1, PyArray3, PyArrayMethods};
use plumewatch_io::envi::ByteOrder;
use plumewatch_io::{CubeMeta, EnviCube, GdalCube, RadianceCube};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use std::path::PathBuf;

/// An open radiance cube (memory-mapped ENVI or GDAL) that Python reads lazily.
#[pyclass(name = "Cube", module = "plumewatch._native", frozen)]
pub struct Cube {
    cube: Box<dyn RadianceCube>,
    /// The layout of the ENVI data file, for `numpy.memmap` (None for GDAL formats).
    envi: Option<EnviLayout>,
}

/// Where and how an ENVI file stores its values.
#[derive(Debug, Clone)]
struct EnviLayout {
    data_path: PathBuf,
    header_offset: usize,
    dtype: &'static str,
    big_endian: bool,
    interleave: &'static str,
    scaled: bool,
}

fn meta_dict<'py>(py: Python<'py>, meta: &CubeMeta) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("path", &meta.path)?;
    d.set_item("format", &meta.format)?;
    d.set_item("lines", meta.lines)?;
    d.set_item("samples", meta.samples)?;
    d.set_item("bands", meta.bands)?;
    d.set_item("wavelength_nm", &meta.wavelength_nm)?;
    d.set_item("fwhm_nm", &meta.fwhm_nm)?;
    d.set_item("good_bands", &meta.bad_bands)?;
    d.set_item("nodata", meta.nodata)?;
    d.set_item(
        "geo_transform",
        meta.georef.as_ref().map(|g| g.geo_transform.to_vec()),
    )?;
    d.set_item("crs_wkt", meta.georef.as_ref().and_then(|g| g.wkt.clone()))?;
    d.set_item("band_names", &meta.band_names)?;
    d.set_item("description", &meta.description)?;
    Ok(d)
}

#[pymethods]
impl Cube {
    /// Opens the cube at `path` (ENVI header or data file, GeoTIFF, EMIT NetCDF, ...).
    #[new]
    fn open(py: Python<'_>, path: PathBuf) -> PyResult<Self> {
        let opened = py.detach(|| -> Outcome<Self> {
            plumewatch_io::cube::check_input_file(&path, "a radiance file")?;
            if plumewatch_io::cube::is_envi(&path) {
                let cube = EnviCube::open(&path)?;
                let h = cube.header();
                let envi = EnviLayout {
                    data_path: cube.data_path().to_path_buf(),
                    header_offset: h.header_offset,
                    dtype: h.data_type.name(),
                    big_endian: h.byte_order == ByteOrder::Big,
                    interleave: h.interleave.name(),
                    scaled: h.data_gain_values.is_some() || h.data_offset_values.is_some(),
                };
                Ok(Self {
                    cube: Box::new(cube),
                    envi: Some(envi),
                })
            } else {
                Ok(Self {
                    cube: Box::new(GdalCube::open(&path)?),
                    envi: None,
                })
            }
        });
        to_py(py, opened)
    }

    /// Metadata: path, format, lines, samples, bands, wavelength_nm, fwhm_nm,
    /// good_bands, nodata, geo_transform (GDAL order), crs_wkt, band_names, description.
    fn meta<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        meta_dict(py, self.cube.meta())
    }

    /// The ENVI data file's layout (data_path, header_offset, dtype, big_endian,
    /// interleave, scaled), or None for other formats.
    fn envi_layout<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyDict>>> {
        let Some(e) = &self.envi else {
            return Ok(None);
        };
        let d = PyDict::new(py);
        d.set_item("data_path", &e.data_path)?;
        d.set_item("header_offset", e.header_offset)?;
        d.set_item("dtype", e.dtype)?;
        d.set_item("big_endian", e.big_endian)?;
        d.set_item("interleave", e.interleave)?;
        d.set_item("scaled", e.scaled)?;
        Ok(Some(d))
    }

    /// Lines `start..stop` in the band indices `bands`, as float32 (lines, samples,
    /// bands) radiance with gain/offset applied and no data as NaN; GIL released.
    fn read<'py>(
        &self,
        py: Python<'py>,
        start: usize,
        stop: usize,
        bands: Vec<usize>,
    ) -> PyResult<Bound<'py, PyArray3<f32>>> {
        let samples = self.cube.meta().samples;
        let stop = stop.max(start);
        let nb = bands.len();
        let result = py.detach(|| -> Outcome<Vec<f32>> {
            let mut out = vec![0f32; (stop - start) * samples * nb];
            if samples * nb > 0 {
                for (line, buf) in (start..stop).zip(out.chunks_exact_mut(samples * nb)) {
                    self.cube.read_line(line, &bands, buf)?;
                }
            }
            Ok(out)
        });
        let values = to_py(py, result)?;
        PyArray1::from_vec(py, values).reshape([stop - start, samples, nb])
    }
}
