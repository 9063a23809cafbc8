//! plumewatch-scan: the plumewatch pipeline as a library.
//!
//! Every front end — the command line, the real-time stream, the server and the Python
//! package — calls this crate: a validated [`ScanConfig`] goes in, [`scan`] runs
//! detection, plumes, sources, rates, sites and the detection-limit estimate, and a
//! [`ScanResult`] comes out, which output sinks write (COG rasters, GeoJSON, evidence
//! PNGs, the HTML report, `scan.json`) without recomputing anything.
//!
//! # Units
//! Radiance µW cm⁻² sr⁻¹ nm⁻¹, wavelengths nm, enhancement ppm·m, emission rate kg/h,
//! wind m/s at 10 m with the direction it blows from (degrees), ground sample
//! distance m.

/// Errors with a kind for exit codes, HTTP statuses and exception classes.
pub mod error;

pub use error::{Context, Error, ErrorKind, Result};
