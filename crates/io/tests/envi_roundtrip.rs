//! Write → read round trip of the ENVI writer and the memory-mapped reader over every
//! interleave, data type and byte order, with random shapes, values, band subsets and
//! nodata.

use plumewatch_core::LineSource;
use plumewatch_io::envi::{ByteOrder, DataType, EnviCube, EnviWriteOptions, Interleave};
use plumewatch_io::{write_envi, GeoRef, OutputBand, RadianceCube};
use proptest::prelude::*;

/// A value of `t` that f32 holds exactly, drawn from `u` in [0, 1).
fn representable(t: DataType, u: f64) -> f32 {
    let span = |lo: f64, hi: f64| (lo + (hi - lo) * u).round() as f32;
    match t {
        DataType::U8 => span(0.0, 255.0),
        DataType::I16 => span(-32768.0, 32767.0),
        DataType::U16 => span(0.0, 65535.0),
        // f32 holds integers up to 2^24 exactly.
        DataType::I32 | DataType::I64 => span(-16_777_216.0, 16_777_216.0),
        DataType::U32 | DataType::U64 => span(0.0, 16_777_216.0),
        DataType::F32 | DataType::F64 => ((u - 0.5) * 2.0e4) as f32 * 1.0e-3,
    }
}

fn nodata_for(t: DataType) -> f64 {
    match t {
        DataType::U8 => 255.0,
        DataType::U16 | DataType::U32 | DataType::U64 => 0.0,
        _ => -9999.0,
    }
}

#[derive(Debug, Clone)]
struct Case {
    lines: usize,
    samples: usize,
    bands: usize,
    data_type: DataType,
    interleave: Interleave,
    byte_order: ByteOrder,
    with_nodata: bool,
    uniforms: Vec<f64>,
    holes: Vec<bool>,
    subset: Vec<usize>,
}

fn case() -> impl Strategy<Value = Case> {
    (
        1usize..6,
        1usize..7,
        1usize..6,
        0usize..DataType::ALL.len(),
        0usize..3,
        any::<bool>(),
        any::<bool>(),
    )
        .prop_flat_map(|(lines, samples, bands, t, il, be, with_nodata)| {
            let n = lines * samples * bands;
            (
                Just((lines, samples, bands, t, il, be, with_nodata)),
                prop::collection::vec(0.0f64..1.0, n),
                prop::collection::vec(prop::bool::weighted(0.15), n),
                prop::collection::vec(0..bands, 1..bands + 3),
            )
        })
        .prop_map(
            |((lines, samples, bands, t, il, be, with_nodata), uniforms, holes, subset)| Case {
                lines,
                samples,
                bands,
                data_type: DataType::ALL[t],
                interleave: Interleave::ALL[il],
                byte_order: if be {
                    ByteOrder::Big
                } else {
                    ByteOrder::Little
                },
                with_nodata,
                uniforms,
                holes,
                subset,
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn write_then_read_gives_back_every_value(c in case()) {
        let (l, s, nb) = (c.lines, c.samples, c.bands);
        let nodata = c.with_nodata.then(|| nodata_for(c.data_type));
        // Band-major values as the writer takes them: band b, line, sample.
        let mut planes = vec![vec![0f32; l * s]; nb];
        for (b, plane) in planes.iter_mut().enumerate() {
            for (i, v) in plane.iter_mut().enumerate() {
                let k = b * l * s + i;
                *v = representable(c.data_type, c.uniforms[k]);
                if let Some(nd) = nodata {
                    if c.holes[k] {
                        *v = f32::NAN;
                    } else if f64::from(*v) == nd {
                        *v = representable(c.data_type, 0.5);
                    }
                }
            }
        }
        let names: Vec<String> = (0..nb).map(|b| format!("band {b}")).collect();
        let bands: Vec<OutputBand> = planes
            .iter()
            .zip(&names)
            .map(|(p, n)| OutputBand { data: p, description: n, unit: "uW cm-2 sr-1 nm-1" })
            .collect();
        let wavelength: Vec<f64> = (0..nb).map(|b| 1400.0 + 7.25 * b as f64).collect();
        let opts = EnviWriteOptions {
            interleave: c.interleave,
            data_type: c.data_type,
            byte_order: c.byte_order,
            nodata,
            wavelength_nm: Some(wavelength.clone()),
            fwhm_nm: Some(vec![8.5; nb]),
            bad_bands: Some((0..nb).map(|b| b % 3 != 1).collect()),
            georef: Some(GeoRef {
                geo_transform: [609000.0, 60.0, 0.0, 3556000.0, 0.0, -60.0],
                wkt: None,
            }),
            description: Some("round trip".into()),
            ..EnviWriteOptions::default()
        };
        let dir = tempfile::tempdir().unwrap();
        let hdr = dir.path().join("cube.hdr");
        write_envi(&hdr, l, s, &bands, &opts).unwrap();
        let mut names_on_disk: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names_on_disk.sort();
        prop_assert_eq!(names_on_disk, vec!["cube.hdr".to_string(), "cube.img".to_string()]);

        let cube = EnviCube::open(&hdr).unwrap();
        let h = cube.header();
        prop_assert_eq!((h.lines, h.samples, h.bands), (l, s, nb));
        prop_assert_eq!(h.data_type, c.data_type);
        prop_assert_eq!(h.interleave, c.interleave);
        prop_assert_eq!(h.byte_order, c.byte_order);
        prop_assert!(cube.size_matches());
        let m = cube.meta();
        prop_assert_eq!(m.wavelength_nm.as_ref(), Some(&wavelength));
        prop_assert_eq!(m.bad_bands.as_ref(), opts.bad_bands.as_ref());
        prop_assert_eq!(m.band_names.as_ref(), Some(&names));
        prop_assert_eq!(m.georef.as_ref().map(|g| g.geo_transform), Some(opts.georef.as_ref().unwrap().geo_transform));

        let same = |a: f32, b: f32| (a.is_nan() && b.is_nan()) || a == b;
        let mut out = vec![0f32; s * c.subset.len()];
        let mut out64 = vec![0f64; s * c.subset.len()];
        for line in 0..l {
            cube.read_line(line, &c.subset, &mut out).unwrap();
            cube.read_line_f64(line, &c.subset, &mut out64).unwrap();
            for smp in 0..s {
                for (k, &b) in c.subset.iter().enumerate() {
                    let want = planes[b][line * s + smp];
                    let got = out[smp * c.subset.len() + k];
                    prop_assert!(same(got, want), "line {} sample {} band {}: {} vs {}", line, smp, b, got, want);
                    prop_assert!(same(out64[smp * c.subset.len() + k] as f32, want));
                }
            }
        }
        for (b, plane) in planes.iter().enumerate() {
            let band = cube.read_band_f64(b).unwrap();
            for (x, &y) in band.iter().zip(plane) {
                prop_assert!(same(*x as f32, y));
            }
        }
    }
}
