//! Streaming speed of `read_line` on the memory-mapped ENVI reader, every interleave.
//! A measurement, not a check: run with
//! `cargo test -p plumewatch-io --test read_throughput -- --ignored --nocapture`
//! (the test profile is optimised). Uses `../shared/data/scenes/avng_small` when present,
//! the bundled `emit_small` otherwise.

use plumewatch_core::LineSource;
use plumewatch_io::envi::{EnviWriteOptions, Interleave};
use plumewatch_io::{write_envi, EnviCube, OutputBand, RadianceCube};
use std::path::{Path, PathBuf};
use std::time::Instant;

fn scene() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let avng = root.join("../shared/data/scenes/avng_small/radiance.hdr");
    if avng.is_file() {
        avng
    } else {
        eprintln!("note: ../shared/data absent; timing the bundled emit_small");
        root.join("data/scenes/emit_small/radiance.hdr")
    }
}

/// Best of 3 full passes: (seconds, bytes of f32 delivered).
fn time_pass(cube: &EnviCube, bands: &[usize]) -> (f64, usize) {
    let (l, s) = (cube.lines(), cube.samples());
    let mut buf = vec![0f32; s * bands.len()];
    let mut best = f64::INFINITY;
    let mut checksum = 0f64;
    for _ in 0..3 {
        let t = Instant::now();
        for line in 0..l {
            cube.read_line(line, bands, &mut buf).unwrap();
            checksum += f64::from(buf[line % buf.len()]);
        }
        best = best.min(t.elapsed().as_secs_f64());
    }
    assert!(checksum.is_finite());
    (best, l * s * bands.len() * 4)
}

#[test]
#[ignore = "timing measurement; run on demand"]
fn read_line_throughput() {
    let src = EnviCube::open(&scene()).unwrap();
    let m = src.meta().clone();
    let all: Vec<usize> = (0..m.bands).collect();
    let window = m.bands_in_window(2122.0, 2488.0);
    let dir = tempfile::tempdir().unwrap();
    let planes: Vec<Vec<f32>> = (0..m.bands)
        .map(|b| src.read_band_f32(b).unwrap())
        .collect();
    let out: Vec<OutputBand> = planes
        .iter()
        .map(|p| OutputBand {
            data: p,
            description: "",
            unit: "",
        })
        .collect();
    println!(
        "scene {} ({} lines × {} samples × {} bands, {} px)",
        scene().display(),
        m.lines,
        m.samples,
        m.bands,
        m.lines * m.samples
    );
    for il in Interleave::ALL {
        let path = dir.path().join(format!("cube_{}.hdr", il.name()));
        let opts = EnviWriteOptions {
            interleave: il,
            ..EnviWriteOptions::from_meta(&m)
        };
        write_envi(&path, m.lines, m.samples, &out, &opts).unwrap();
        let cube = EnviCube::open(&path).unwrap();
        for (what, bands) in [("all bands", &all), ("2122–2488 nm", &window)] {
            let (secs, bytes) = time_pass(&cube, bands);
            println!(
                "{:>3} {:>13} ({:>3} bands): {:.4} s, {:.2} GB/s",
                il.name(),
                what,
                bands.len(),
                secs,
                bytes as f64 / secs / 1e9
            );
        }
    }
}
