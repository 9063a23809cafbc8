//! plumewatch for Python: the native module `plumewatch._native`.
//!
//! A thin PyO3 layer over `plumewatch-core` and `plumewatch-io` (and the scan library):
//! it converts types, releases the GIL around every computation and maps errors to the
//! exception classes of `plumewatch.errors`. The public Python API (xarray in and out,
//! Dask campaigns) lives in the pure-Python package `python/plumewatch`.

pub mod array_cube;
pub mod cube;
pub mod detect;
pub mod digest;
pub mod errors;
pub mod scan;
pub mod target;

use pyo3::prelude::*;

/// The native module.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_class::<cube::Cube>()?;
    m.add_function(wrap_pyfunction!(detect::detect_array, m)?)?;
    m.add_function(wrap_pyfunction!(detect::detect_path, m)?)?;
    m.add_function(wrap_pyfunction!(target::target, m)?)?;
    m.add_function(wrap_pyfunction!(digest::digest_files, m)?)?;
    m.add_class::<scan::NativeScanResult>()?;
    m.add_function(wrap_pyfunction!(scan::scan, m)?)?;
    m.add_function(wrap_pyfunction!(scan::line_names, m)?)?;
    m.add_function(wrap_pyfunction!(scan::scan_line, m)?)?;
    m.add_function(wrap_pyfunction!(scan::merge_lines, m)?)?;
    Ok(())
}
