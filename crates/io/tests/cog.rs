//! Cloud-Optimized GeoTIFF output: values, georeferencing, nodata, band descriptions and
//! units survive a write → read through GDAL, and failures leave nothing behind.

use plumewatch_core::LineSource;
use plumewatch_io::gdal_raster::band_descriptions;
use plumewatch_io::{read_band_f32, write_cog, EnviCube, GdalCube, OutputBand, RadianceCube};
use std::path::PathBuf;

fn emit_small() -> EnviCube {
    let hdr =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../data/scenes/emit_small/radiance.hdr");
    EnviCube::open(&hdr).unwrap()
}

#[test]
fn cog_round_trip_keeps_values_georef_nodata_and_band_metadata() {
    let cube = emit_small();
    let m = cube.meta().clone();
    let (lines, samples) = (m.lines, m.samples);
    let mut b0 = cube.read_band_f32(20).unwrap();
    let b1 = cube.read_band_f32(120).unwrap();
    b0[7] = f32::NAN;
    b0[8] = -9999.0;
    let bands = [
        OutputBand {
            data: &b0,
            description: "radiance 1551 nm",
            unit: "uW cm-2 sr-1 nm-1",
        },
        OutputBand {
            data: &b1,
            description: "radiance 2296 nm",
            unit: "uW cm-2 sr-1 nm-1",
        },
    ];
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("bands.tif");
    write_cog(
        &out,
        lines,
        samples,
        &bands,
        m.georef.as_ref(),
        Some(-9999.0),
    )
    .unwrap();
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["bands.tif"], "no temporary file left");

    for (i, want) in [&b0, &b1].into_iter().enumerate() {
        let (l, s, got) = read_band_f32(&out, i + 1).unwrap();
        assert_eq!((l, s), (lines, samples));
        for (a, b) in got.iter().zip(want.iter()) {
            assert!(a.to_bits() == b.to_bits(), "{a} vs {b}");
        }
    }
    let d = band_descriptions(&out).unwrap();
    assert_eq!(
        d[0],
        (
            "radiance 1551 nm".to_string(),
            "uW cm-2 sr-1 nm-1".to_string()
        )
    );
    assert_eq!(d[1].0, "radiance 2296 nm");

    let g = GdalCube::open(&out).unwrap();
    let gm = g.meta();
    assert_eq!(gm.format, "GTiff");
    assert_eq!(gm.nodata, Some(-9999.0));
    assert_eq!(
        gm.georef.as_ref().unwrap().geo_transform,
        m.georef.as_ref().unwrap().geo_transform
    );
    assert!(gm
        .georef
        .as_ref()
        .unwrap()
        .wkt
        .as_deref()
        .unwrap()
        .contains("UTM"));
    assert_eq!(g.interleave(), Some("bip"));
    // The nodata value reads as NaN through the cube interface.
    let mut row = vec![0f32; samples * 2];
    g.read_line(0, &[0, 1], &mut row).unwrap();
    assert!(row[7 * 2].is_nan() && row[8 * 2].is_nan());
    assert_eq!(row[9 * 2], b0[9]);
    assert_eq!(row[9 * 2 + 1], b1[9]);
}

#[test]
fn cog_is_cloud_optimized() {
    let data = vec![1.5f32; 600 * 700];
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("big.tif");
    let bands = [OutputBand {
        data: &data,
        description: "x",
        unit: "ppm·m",
    }];
    write_cog(&out, 600, 700, &bands, None, None).unwrap();
    // A COG starts with GDAL's ghost header naming its layout.
    let head = std::fs::read(&out).unwrap();
    let text = String::from_utf8_lossy(&head[..600.min(head.len())]);
    assert!(text.contains("LAYOUT=IFDS_BEFORE_DATA"), "{text}");
    let d = band_descriptions(&out).unwrap();
    assert_eq!(d[0].1, "ppm·m");
}

#[test]
fn cog_refuses_wrong_band_length_and_leaves_nothing() {
    let data = vec![0f32; 10];
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("bad.tif");
    let bands = [OutputBand {
        data: &data,
        description: "",
        unit: "",
    }];
    let e = write_cog(&out, 3, 4, &bands, None, None)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("bad.tif")
            && e.contains("band 1")
            && e.contains("expected lines × samples = 12"),
        "{e}"
    );
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    // A directory that does not exist: GDAL fails, nothing is created.
    let e = write_cog(
        &dir.path().join("no/such/dir/x.tif"),
        2,
        5,
        &bands,
        None,
        None,
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("x.tif"), "{e}");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn cog_overviews_are_nodata_aware_block_means() {
    let (lines, samples) = (600usize, 700usize);
    let mut data: Vec<f32> = (0..lines * samples).map(|i| (i % 997) as f32).collect();
    // A 2 × 2 block entirely nodata, and one with a single valid value.
    for (l, s) in [
        (10, 20),
        (10, 21),
        (11, 20),
        (11, 21),
        (20, 40),
        (20, 41),
        (21, 40),
    ] {
        data[l * samples + s] = -9999.0;
    }
    data[30 * samples + 50] = f32::NAN;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("ovr.tif");
    let bands = [OutputBand {
        data: &data,
        description: "x",
        unit: "",
    }];
    write_cog(&out, lines, samples, &bands, None, Some(-9999.0)).unwrap();
    let ds = gdal::Dataset::open(&out).unwrap();
    let band = ds.rasterband(1).unwrap();
    // Factors 2 and 4: the coarsest level (150 × 175) fits one 256 × 256 tile.
    assert_eq!(band.overview_count().unwrap(), 2);
    let ov = band.overview(0).unwrap();
    assert_eq!(ov.size(), (350, 300));
    let got = ov.read_band_as::<f32>().unwrap().into_shape_and_vec().1;
    let at = |l: usize, s: usize| data[l * samples + s];
    for (oy, ox) in [(0usize, 0usize), (7, 300), (299, 349), (150, 3)] {
        let (y, x) = (2 * oy, 2 * ox);
        let want = (at(y, x) + at(y, x + 1) + at(y + 1, x) + at(y + 1, x + 1)) / 4.0;
        assert!((got[oy * 350 + ox] - want).abs() < 1e-3, "{oy},{ox}");
    }
    assert_eq!(got[5 * 350 + 10], -9999.0, "all-nodata block stays nodata");
    assert_eq!(
        got[10 * 350 + 20],
        at(21, 41),
        "one valid value is the mean"
    );
    let (y, x) = (30, 50);
    let want = (at(y, x + 1) + at(y + 1, x) + at(y + 1, x + 1)) / 3.0;
    assert!((got[15 * 350 + 25] - want).abs() < 1e-3, "NaN skipped");
}

/// Regression: a GDAL raster whose declared size exceeds memory made plumewatch ask for
/// the allocation and abort; it must be a clear error naming the file instead.
#[test]
fn gdal_raster_larger_than_memory_is_an_error_not_an_abort() {
    use gdal::raster::RasterCreationOptions;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge.tif");
    {
        let driver = gdal::DriverManager::get_driver_by_name("GTiff").unwrap();
        let options = RasterCreationOptions::from_iter([
            "BIGTIFF=YES",
            "SPARSE_OK=TRUE",
            "INTERLEAVE=PIXEL",
            "TILED=YES",
        ]);
        // 2^21 samples × 2^14 bands per line: 256 GiB per line of f64, a few KiB on disk.
        driver
            .create_with_band_type_with_options::<f32, _>(&path, 1 << 21, 2, 1 << 14, &options)
            .unwrap();
    }
    assert!(std::fs::metadata(&path).unwrap().len() < 64 << 20);
    let e = match plumewatch_io::open_cube(&path) {
        Err(e) => e.to_string(),
        Ok(_) => panic!("a raster larger than memory opened"),
    };
    assert!(
        e.contains("huge.tif") && e.contains("raster size") && e.contains("GiB"),
        "{e}"
    );
}

/// Plume ids must not be averaged: an overview of ids 0, 1, 2, 7 with fractional means
/// everywhere blocks mix would name plumes that do not exist.
#[test]
fn categorical_cog_overviews_hold_only_input_values_at_every_level() {
    use plumewatch_io::{write_cog_with_overviews, Overviews};
    let (lines, samples) = (1100usize, 900usize);
    // Rectangles of ids (so each id survives the coarsest level) whose edges mix ids
    // inside blocks at every level, plus scattered nodata.
    let data: Vec<f32> = (0..lines * samples)
        .map(|i| {
            let (l, s) = (i / samples, i % samples);
            match ((l / 37) * 3 + s / 53) % 5 {
                0 => 0.0,
                1 => 1.0,
                2 => 2.0,
                3 => 7.0,
                _ if (l + s) % 5 == 0 => 255.0,
                _ => 0.0,
            }
        })
        .collect();
    let present = [0.0f32, 1.0, 2.0, 7.0];
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("ids.tif");
    let bands = [OutputBand {
        data: &data,
        description: "plume id",
        unit: "1",
    }];
    write_cog_with_overviews(
        &out,
        lines,
        samples,
        &bands,
        None,
        Some(255.0),
        Overviews::Categorical,
    )
    .unwrap();
    let ds = gdal::Dataset::open(&out).unwrap();
    let band = ds.rasterband(1).unwrap();
    let levels = band.overview_count().unwrap();
    assert_eq!(levels, 3, "factors 2, 4 and 8");
    for k in 0..levels as usize {
        let ov = band.overview(k).unwrap();
        let got = ov.read_band_as::<f32>().unwrap().into_shape_and_vec().1;
        let mut seen: Vec<f32> = got.clone();
        seen.sort_by(f32::total_cmp);
        seen.dedup();
        assert!(
            seen.iter().all(|v| present.contains(v)),
            "overview {k} holds values not in the input: {seen:?}"
        );
        assert_eq!(seen, present, "overview {k} keeps every id");
    }
    // A 2 × 2 block of the first level is the mode of its four pixels.
    let ov = band.overview(0).unwrap();
    let got = ov.read_band_as::<f32>().unwrap().into_shape_and_vec().1;
    let w = samples / 2;
    for (oy, ox) in [(0usize, 0usize), (13, 77), (300, 400)] {
        let mut v: Vec<f32> = [(0, 0), (0, 1), (1, 0), (1, 1)]
            .iter()
            .map(|(dy, dx)| data[(2 * oy + dy) * samples + 2 * ox + dx])
            .filter(|&v| v != 255.0)
            .collect();
        v.sort_by(f32::total_cmp);
        let count = |x: f32| v.iter().filter(|&&y| y == x).count();
        let best = v
            .iter()
            .copied()
            .max_by(|a, b| count(*a).cmp(&count(*b)).then(a.total_cmp(b)));
        assert_eq!(Some(got[oy * w + ox]), best.or(Some(255.0)), "{oy},{ox}");
    }
    // The mean overviews of the same ids invent values: why ids need the mode.
    let mean = dir.path().join("mean.tif");
    write_cog(&mean, lines, samples, &bands, None, Some(255.0)).unwrap();
    let ds = gdal::Dataset::open(&mean).unwrap();
    let ov = ds.rasterband(1).unwrap().overview(0).unwrap();
    let got = ov.read_band_as::<f32>().unwrap().into_shape_and_vec().1;
    assert!(got.iter().any(|v| !present.contains(v) && *v != 255.0));
}
