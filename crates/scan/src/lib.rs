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
/// The scan configuration: flight lines, detector, window, every knob, wind files.
pub mod config;
/// Geographic lookup tables.
pub mod glt;
/// The detection limit: injected plumes found by the scan's own pipeline, POD(Q).
pub mod limit;
/// The scan itself: flight lines to sites.
pub mod pipeline;
/// Progress reporting to any front end.
pub mod progress;
/// What a scan produces, with a typed verdict per candidate.
pub mod result;
/// Output sinks: rasters, GeoJSON, evidence, report, `scan.json`.
pub mod sinks;
/// Real-time detection, line by line.
pub mod stream;
/// The gas window of a cube and its target.
pub mod window;

pub use config::{Detector, FlightLine, LimitConfig, ScanConfig, Statistics, WindFile};
pub use pipeline::scan;
pub use progress::{NoProgress, Progress};
pub use result::{LineResult, ScanResult, Verdict};
pub use sinks::{write_outputs, write_outputs_from, RasterSource, Replace, ScanRecord};
/// The detection benchmark's scoring: many scenes with plume-free twins together.
pub mod campaign;
/// The `eval` workflow: detections scored against simulation truth.
pub mod eval;
/// The `simulate` workflows: plumes injected into a cube, synthetic scenes, with truth.
pub mod simulate;
