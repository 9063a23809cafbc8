//! Evidence PNG: the chip shows the enhancement through the colour map, and the
//! outline, source marker, wind arrow, colour bar and scale bar are where they belong.

use plumewatch_core::plume::trace_outline;
use plumewatch_core::raster::Grid;
use plumewatch_io::evidence_png::{
    colormap, write_evidence_png, Evidence, EvidenceParams, OUTLINE_RGB, SOURCE_RGB, WIND_RGB,
};

fn scene() -> (Grid, Vec<f32>, Vec<usize>) {
    let grid = Grid::new(100, 120);
    let mut enh = vec![0f32; grid.len()];
    let mut pixels = Vec::new();
    for r in 0..100 {
        for c in 0..120 {
            // An elongated plume from (col 50, row 40) towards +col.
            let x = c as f64 - 50.0;
            let y = r as f64 - 40.0;
            let v = if x >= 0.0 {
                1000.0 * (-(y * y) / (2.0 * (1.0 + 0.2 * x).powi(2))).exp() / (1.0 + 0.2 * x)
            } else {
                0.0
            };
            enh[r * 120 + c] = v as f32;
            if v > 150.0 {
                pixels.push(r * 120 + c);
            }
        }
    }
    (grid, enh, pixels)
}

#[test]
fn overlays_and_colours_are_where_they_belong() {
    let (grid, enh, pixels) = scene();
    let (r0, c0, r1, c1) = pixels.iter().fold((usize::MAX, usize::MAX, 0, 0), |a, &i| {
        (
            a.0.min(i / 120),
            a.1.min(i % 120),
            a.2.max(i / 120),
            a.3.max(i % 120),
        )
    });
    let outline = trace_outline(&pixels, 120, [r0, c0, r1, c1]);
    let source = (50.5, 40.5);
    let e = Evidence {
        grid,
        enhancement: &enh,
        centre: source,
        outline: &outline,
        source: Some(source),
        // Wind from the west: downwind = +col.
        wind: Some(((1.0, 0.0), 4.2)),
        gsd_m: 3.0,
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("site-1.png");
    let layout = write_evidence_png(&path, &e, &EvidenceParams::default()).unwrap();
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        1,
        "no temp left"
    );
    let img = image::open(&path).unwrap().to_rgb8();
    assert_eq!(layout.scale, 6, "65-pixel chip upscaled 6× to 390");
    assert_eq!(img.height(), 390);
    let px = |x: f64, y: f64| img.get_pixel(x as u32, y as u32).0;

    // The colour scale runs from 0 to the chip maximum (1000 ppm·m at the source).
    assert_eq!(layout.range_ppm_m, (0.0, 1000.0));
    // A plume pixel away from the overlays shows its value through the colour map.
    let (col, row) = (65usize, 40usize);
    let v = enh[row * 120 + col] as f64;
    let (x, y) = layout.to_image(col as f64 + 0.5, row as f64 + 0.5);
    assert_eq!(px(x, y), colormap(v / 1000.0), "value {v}");
    // Background (upwind, no plume) is the colour of 0.
    let (x, y) = layout.to_image(30.5, 55.5);
    assert_eq!(px(x, y), colormap(0.0));

    // Source marker: red ring pixels 5.5 image pixels from the source.
    let (sx, sy) = layout.to_image(source.0, source.1);
    assert_eq!(px(sx + 5.5, sy), SOURCE_RGB);
    assert_eq!(px(sx, sy - 5.5), SOURCE_RGB);

    // Outline: the middle of every outline edge inside the chip is outline-coloured
    // (unless a marker sits on it).
    let mut checked = 0;
    for ring in &outline {
        for w in ring.windows(2) {
            let (mx, my) = layout.to_image(0.5 * (w[0][0] + w[1][0]), 0.5 * (w[0][1] + w[1][1]));
            if mx < 2.0 || my < 2.0 || mx > 386.0 || my > 386.0 {
                continue;
            }
            if (mx - sx).hypot(my - sy) < 10.0 || (mx < 110.0 && my < 90.0) {
                continue;
            }
            assert_eq!(px(mx, my), OUTLINE_RGB, "edge midpoint ({mx}, {my})");
            checked += 1;
        }
    }
    assert!(checked > 10, "{checked}");

    // Wind arrow: yellow pixels in the upper-left corner, elongated along +x, with the
    // head (more pixels) on the downwind side.
    let mut pts = Vec::new();
    for y in 0..60u32 {
        for x in 0..70u32 {
            if img.get_pixel(x, y).0 == WIND_RGB {
                pts.push((x as f64, y as f64));
            }
        }
    }
    assert!(pts.len() > 40, "{}", pts.len());
    let (xmin, xmax) = pts
        .iter()
        .fold((f64::MAX, f64::MIN), |a, p| (a.0.min(p.0), a.1.max(p.0)));
    let (ymin, ymax) = pts
        .iter()
        .fold((f64::MAX, f64::MIN), |a, p| (a.0.min(p.1), a.1.max(p.1)));
    assert!(xmax - xmin > 1.5 * (ymax - ymin), "arrow along the wind");
    let mean_x = pts.iter().map(|p| p.0).sum::<f64>() / pts.len() as f64;
    assert!(
        mean_x > 0.5 * (xmin + xmax),
        "arrowhead on the downwind (+x) side"
    );

    // Colour bar: top is the map's maximum colour, bottom its minimum, and its
    // brightness rises monotonically upwards.
    let [bx, by, bw, bh] = layout.colorbar;
    let cx = bx + bw / 2;
    assert_eq!(img.get_pixel(cx, by).0, colormap(1.0));
    assert_eq!(img.get_pixel(cx, by + bh - 1).0, colormap(0.0));
    let lum = |p: [u8; 3]| 0.299 * p[0] as f64 + 0.587 * p[1] as f64 + 0.114 * p[2] as f64;
    for y in by + 1..by + bh {
        assert!(lum(img.get_pixel(cx, y).0) <= lum(img.get_pixel(cx, y - 1).0) + 1.0);
    }

    // Scale bar: a 1-2-5 length, drawn at the right number of image pixels
    // (65 px × 3 m / 4 ≈ 49 m → 50 m = 100 image pixels at 6 per 3 m).
    assert_eq!(layout.scale_bar, (50.0, 100));
    let y_bar = 390 - 14 + 1;
    assert_eq!(img.get_pixel(10, y_bar).0, [255, 255, 255]);
    assert_eq!(img.get_pixel(109, y_bar).0, [255, 255, 255]);
    assert_ne!(img.get_pixel(112, y_bar).0, [255, 255, 255]);
}

#[test]
fn chip_beyond_the_scene_edge_and_bad_inputs() {
    let (grid, enh, _) = scene();
    let e = Evidence {
        grid,
        enhancement: &enh,
        centre: (2.0, 2.0),
        outline: &[],
        source: None,
        wind: None,
        gsd_m: 60.0,
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("edge.png");
    let layout = write_evidence_png(&path, &e, &EvidenceParams::default()).unwrap();
    let img = image::open(&path).unwrap().to_rgb8();
    // Outside the scene: no-data grey.
    assert_eq!(
        img.get_pixel(3, 3).0,
        plumewatch_io::evidence_png::NODATA_RGB
    );
    assert_eq!(layout.chip_origin, (-30, -30));
    // 65 × 60 m / 4 = 975 m → a 1 km bar.
    assert_eq!(layout.scale_bar.0, 1000.0);

    let bad = Evidence { gsd_m: 0.0, ..e };
    let msg = write_evidence_png(
        &dir.path().join("bad.png"),
        &bad,
        &EvidenceParams::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(msg.contains("bad.png") && msg.contains("gsd"), "{msg}");
    assert!(!dir.path().join("bad.png").exists());
    let short = Evidence {
        enhancement: &enh[..10],
        ..e
    };
    assert!(write_evidence_png(
        &dir.path().join("s.png"),
        &short,
        &EvidenceParams::default()
    )
    .is_err());
}
