//! Nodata collars of mosaics through the readers: a collar of zeros declared as the
//! cube's nodata (ENVI `data ignore value`, GeoTIFF band nodata) is read as NaN, left
//! out of every tile's statistics and given no output, exactly as a NaN collar is.

use plumewatch_core::detect::{detect_cube, Algorithm, CubeInput, DetectParams, Grouping};
use plumewatch_core::raster::NODATA;
use plumewatch_core::{LineSource, VecCube};
use plumewatch_io::{EnviWriteOptions, GeoRef, OutputBand};

const LINES: usize = 60;
const SAMPLES: usize = 40;
const BANDS: usize = 8;

/// The whole top-left tile of a 2 × 2 grid and a 6 × 8 corner of the bottom-right one.
fn collar(l: usize, s: usize) -> bool {
    (l < 30 && s < 20) || (l >= 54 && s >= 32)
}

/// Background radiance (band fastest) with the collar set to `fill` in every band.
fn scene(fill: f32) -> Vec<f32> {
    let mut rng = plumewatch_core::rng::SeededRng::new(4);
    let mut data = Vec::with_capacity(LINES * SAMPLES * BANDS);
    for l in 0..LINES {
        for s in 0..SAMPLES {
            let common = rng.normal();
            for b in 0..BANDS {
                let v = 8.0 + 2.0 * (b as f64).sin() + 0.05 * rng.normal() + 0.02 * common;
                data.push(if collar(l, s) { fill } else { v as f32 });
            }
        }
    }
    data
}

/// Band planes (`lines × samples` each) of band-fastest values.
fn planes(data: &[f32]) -> Vec<Vec<f32>> {
    (0..BANDS)
        .map(|b| data.iter().skip(b).step_by(BANDS).copied().collect())
        .collect()
}

fn detect(source: &dyn LineSource, algorithm: Algorithm) -> Vec<f32> {
    let window: Vec<usize> = (0..BANDS).collect();
    let ua: Vec<f64> = (0..BANDS).map(|b| -1e-5 * (1.0 + (b % 3) as f64)).collect();
    let input = CubeInput {
        source,
        window_bands: &window,
        unit_absorption: &ua,
        saturation_bands: &[],
        exclude: None,
    };
    let params = DetectParams {
        algorithm,
        grouping: Grouping::Tiles(2),
        ..DetectParams::default()
    };
    detect_cube(&input, &params, &|_| {}).unwrap().enhancement
}

#[test]
fn zero_collar_declared_as_nodata_is_excluded_like_nan() {
    let dir = tempfile::tempdir().unwrap();
    let zeros = scene(0.0);
    let bands = planes(&zeros);
    let out: Vec<OutputBand> = bands
        .iter()
        .map(|p| OutputBand {
            data: p,
            description: "radiance",
            unit: "uW cm-2 sr-1 nm-1",
        })
        .collect();
    let georef = GeoRef {
        geo_transform: [500000.0, 0.5, 0.0, 4000000.0, 0.0, -0.5],
        wkt: Some(plumewatch_io::crs::wkt_of_epsg(32613).unwrap()),
    };
    let envi = dir.path().join("envi.hdr");
    plumewatch_io::write_envi(
        &envi,
        LINES,
        SAMPLES,
        &out,
        &EnviWriteOptions {
            nodata: Some(0.0),
            georef: Some(georef.clone()),
            ..EnviWriteOptions::default()
        },
    )
    .unwrap();
    let tif = dir.path().join("geotiff.tif");
    plumewatch_io::write_cog(&tif, LINES, SAMPLES, &out, Some(&georef), Some(0.0)).unwrap();
    let nan = VecCube::new(LINES, SAMPLES, BANDS, scene(f32::NAN)).unwrap();
    for algorithm in [Algorithm::MatchedFilter, Algorithm::Mag1c] {
        let want = detect(&nan, algorithm);
        for path in [&envi, &tif] {
            let cube = plumewatch_io::open_cube(path).unwrap();
            assert_eq!(cube.meta().nodata, Some(0.0), "{}", path.display());
            let mut line = vec![0f32; SAMPLES * BANDS];
            cube.read_line(0, &(0..BANDS).collect::<Vec<_>>(), &mut line)
                .unwrap();
            assert!(
                line[..20 * BANDS].iter().all(|v| v.is_nan()),
                "{}",
                path.display()
            );
            let got = detect(cube.as_ref(), algorithm);
            for (i, (g, w)) in got.iter().zip(&want).enumerate() {
                let (l, s) = (i / SAMPLES, i % SAMPLES);
                if collar(l, s) {
                    assert_eq!(*g, NODATA, "{}: ({l}, {s})", path.display());
                } else {
                    assert!(*g != NODATA && g.is_finite());
                }
                assert_eq!(
                    g.to_bits(),
                    w.to_bits(),
                    "{algorithm:?}, {}: ({l}, {s}) {g} against {w} with a NaN collar",
                    path.display()
                );
            }
        }
        // Undeclared, the zeros would enter the statistics of the bottom-right tile.
        let undeclared = VecCube::new(LINES, SAMPLES, BANDS, zeros.clone()).unwrap();
        let got = detect(&undeclared, algorithm);
        let changed = (30..54)
            .flat_map(|l| (20..32).map(move |s| l * SAMPLES + s))
            .filter(|&i| got[i] != want[i])
            .count();
        assert!(changed > 0, "{algorithm:?}");
    }
}
