//! `target`: a gas's unit absorption spectrum on given bands.

use crate::errors::{to_py, Outcome};
use numpy::PyArray1;
use plumewatch_core::BandModel;
use pyo3::prelude::*;

/// Unit absorption (1/(ppm·m), negative where the gas absorbs) of `gas` (built-in
/// name or LUT sidecar) for bands with centres `wavelength` and widths `fwhm` (nm).
#[pyfunction]
pub fn target<'py>(
    py: Python<'py>,
    gas: String,
    wavelength: Vec<f64>,
    fwhm: Vec<f64>,
) -> PyResult<Bound<'py, PyArray1<f64>>> {
    let result = py.detach(|| -> Outcome<Vec<f64>> {
        let lut = plumewatch_io::gas_lut::open(&gas)?;
        let bands = BandModel::new(wavelength, fwhm)?;
        Ok(plumewatch_core::unit_absorption(&lut, &bands)?.absorption_per_ppm_m)
    });
    Ok(PyArray1::from_vec(py, to_py(py, result)?))
}
