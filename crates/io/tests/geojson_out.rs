//! sites.geojson / plumes.geojson: valid RFC 7946 in WGS84, read back through GDAL's
//! GeoJSON driver.

use gdal::vector::LayerAccess;
use plumewatch_core::geo::GeoTransform;
use plumewatch_core::locate::{locate_source, SourceParams};
use plumewatch_core::plume::{find_plumes, CfarParams, PlumeInputs, RejectParams};
use plumewatch_core::raster::Grid;
use plumewatch_core::sites::{merge_sites, Detection, SiteParams};
use plumewatch_io::geojson_out::{write_plumes_geojson, write_sites_geojson, PlumeFeature};
use std::path::Path;

/// The scene CRS exactly as the bundled emit_small header states it (ESRI-style WKT).
fn scene_wkt() -> String {
    let hdr = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../data/scenes/emit_small/truth_enhancement.hdr");
    let text = std::fs::read_to_string(hdr).unwrap();
    let line = text
        .lines()
        .find(|l| l.starts_with("coordinate system string"))
        .unwrap();
    let start = line.find('{').unwrap() + 1;
    let end = line.rfind('}').unwrap();
    line[start..end].to_string()
}

#[test]
fn sites_are_points_in_lon_lat_with_rate_property() {
    // emit_small source 1 and 3 (truth_sources.json easting/northing), UTM 13N.
    let dets = vec![
        Detection {
            pass: "emit_small".into(),
            plume_id: 1,
            x: 609_391.193,
            y: 3_551_949.439,
            radius: 30.0,
            rate_kg_h: 3198.0,
            rate_sd_kg_h: 1600.0,
            max_enhancement_ppm_m: 4130.0,
            significance: 40.0,
            false_alarm_probability: 1e-12,
            figures: Default::default(),
        },
        Detection {
            pass: "emit_small".into(),
            plume_id: 2,
            x: 610_098.218,
            y: 3_549_200.169,
            radius: 30.0,
            rate_kg_h: 9084.0,
            rate_sd_kg_h: 4500.0,
            max_enhancement_ppm_m: 9632.0,
            significance: 90.0,
            false_alarm_probability: 0.0,
            figures: Default::default(),
        },
    ];
    let sites = merge_sites(&dets, &[], &SiteParams::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sites.geojson");
    write_sites_geojson(&path, &sites, &scene_wkt()).unwrap();
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        1,
        "no temp left"
    );

    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(v["type"], "FeatureCollection");
    let f = v["features"].as_array().unwrap();
    assert_eq!(f.len(), 2);
    // Rank 1 is the stronger site (source 3).
    assert_eq!(f[0]["properties"]["rank"], 1);
    assert_eq!(f[0]["properties"]["rate_kg_h"], 9084.0);
    assert_eq!(f[0]["geometry"]["type"], "Point");
    let c = f[1]["geometry"]["coordinates"].as_array().unwrap();
    let (lon, lat) = (c[0].as_f64().unwrap(), c[1].as_f64().unwrap());
    // UTM 13N (central meridian −105°): 109 km east of it at ~32° N is ≈ −103.84°.
    println!("source 1 at lon {lon:.6}, lat {lat:.6}");
    assert!(
        lon > -104.0 && lon < -103.7,
        "lon {lon} (axis order must be lon, lat)"
    );
    assert!(lat > 32.0 && lat < 32.2, "lat {lat}");
    // Source 3 lies 707.0 m east and 2749.3 m south of source 1 on the UTM grid. On the
    // ground that vector is as long (scale factor ≈ 1 here) but turned by the grid
    // convergence γ = Δλ·sin φ ≈ 0.62° (clockwise seen from true north, east of the
    // central meridian).
    let c0 = f[0]["geometry"]["coordinates"].as_array().unwrap();
    let (lon3, lat3) = (c0[0].as_f64().unwrap(), c0[1].as_f64().unwrap());
    let dn = (lat3 - lat) * 110_880.0;
    let de = (lon3 - lon) * 111_320.0 * (0.5 * (lat + lat3)).to_radians().cos();
    let grid_bearing = 707.0f64.atan2(-2749.3).to_degrees();
    let true_bearing = de.atan2(dn).to_degrees();
    let gamma = (lon + 105.0) * lat.to_radians().sin();
    println!("ground {de:.1} m E, {dn:.1} m N; bearing {true_bearing:.3}° vs grid {grid_bearing:.3}°, γ {gamma:.3}°");
    assert!(((de * de + dn * dn).sqrt() / 2838.8 - 1.0).abs() < 0.005);
    assert!((true_bearing - grid_bearing - gamma).abs() < 0.1);

    // GDAL's GeoJSON driver reads it back.
    let ds = gdal::Dataset::open(&path).unwrap();
    let mut layer = ds.layer(0).unwrap();
    assert_eq!(layer.feature_count(), 2);
    let feat = layer.features().next().unwrap();
    let idx = feat.field_index("rate_kg_h").unwrap();
    assert_eq!(feat.field_as_double(idx).unwrap(), Some(9084.0));
}

#[test]
fn plume_polygons_are_valid_ccw_and_have_the_plume_area() {
    let grid = Grid::new(80, 80);
    let gsd = 60.0;
    let transform = GeoTransform::north_up(609_000.0, 3_556_000.0, gsd).unwrap();
    // A smooth blob on unit noise (the CFAR rule needs a background spread).
    let mut rng = plumewatch_core::rng::SeededRng::new(4);
    let mut enh = vec![0f32; grid.len()];
    for r in 0..80 {
        for c in 0..80 {
            let d2 = ((r as f64 - 40.0).powi(2) + (c as f64 - 30.0).powi(2)) / 16.0;
            enh[r * 80 + c] = (800.0 * (-0.5 * d2).exp()) as f32;
        }
    }
    for e in enh.iter_mut() {
        *e += (100.0 * rng.normal()) as f32;
    }
    let z: Vec<f32> = enh.iter().map(|e| e / 100.0).collect();
    let set = find_plumes(
        &PlumeInputs {
            reference: None,
            grid,
            z: &z,
            enhancement: &enh,
            albedo: None,
            invalid: None,
        },
        &CfarParams {
            closing_radius: 0,
            ..CfarParams::default()
        },
        &RejectParams::default(),
    )
    .unwrap();
    assert_eq!(set.plumes.len(), 1);
    let plume = &set.plumes[0];
    let src = locate_source(
        grid,
        &plume.pixels,
        &enh,
        Some((1.0, 0.0)),
        &SourceParams::default(),
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plumes.geojson");
    write_plumes_geojson(
        &path,
        &[PlumeFeature {
            pass: "p1",
            plume,
            transform: &transform,
            source: Some(&src),
            emission: None,
        }],
        "EPSG:32613",
    )
    .unwrap();
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let f = &v["features"][0];
    assert_eq!(f["geometry"]["type"], "MultiPolygon");
    assert_eq!(f["properties"]["id"], "p1:1");
    assert_eq!(f["properties"]["rejected"], false);
    let mut area_m2 = 0.0;
    for poly in f["geometry"]["coordinates"].as_array().unwrap() {
        let ring: Vec<[f64; 2]> = poly[0]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| [p[0].as_f64().unwrap(), p[1].as_f64().unwrap()])
            .collect();
        assert_eq!(ring.first(), ring.last(), "closed ring");
        assert!(ring.len() >= 4);
        let a = plumewatch_core::plume::ring_signed_area(&ring);
        assert!(a > 0.0, "RFC 7946: exterior rings counter-clockwise");
        let lat = ring[0][1].to_radians();
        area_m2 += a * 110_900.0 * 111_320.0 * lat.cos();
    }
    let expected = plume.n_pixels as f64 * gsd * gsd;
    // UTM scale factor (~0.9996–1.0003 here) and the spherical conversion: 1 %.
    assert!(
        (area_m2 / expected - 1.0).abs() < 0.01,
        "{area_m2} vs {expected}"
    );

    // GDAL reads it and GEOS finds it valid.
    let ds = gdal::Dataset::open(&path).unwrap();
    let mut layer = ds.layer(0).unwrap();
    let feat = layer.features().next().unwrap();
    let g = feat.geometry().unwrap();
    assert!(g.is_valid(), "GEOS says the plume polygon is invalid");
}

#[test]
fn bad_crs_is_an_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sites.geojson");
    let e = write_sites_geojson(&path, &[], "not a CRS").unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains("sites.geojson") && msg.contains("CRS"),
        "{msg}"
    );
    assert!(!path.exists());
}
