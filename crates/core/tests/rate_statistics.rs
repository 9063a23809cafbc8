//! Emission-rate statistics: a plume's own gas in its column's statistics shrinks its
//! enhancement; taking the detected gas out of the statistics gives it back
//! (`ColumnFilters::gas_free_outputs`).

use plumewatch_core::detect::fixed::ColumnFilters;
use plumewatch_core::detect::{Algorithm, DetectParams, Grouping};
use plumewatch_core::rng::SeededRng;
use plumewatch_core::VecCube;

#[test]
fn taking_the_gas_out_of_the_statistics_recovers_a_strong_plume() {
    let (lines, samples, bands) = (300, 3, 6);
    let ua: Vec<f64> = (0..bands).map(|b| -2e-6 * (1.0 + b as f64)).collect();
    let mut rng = SeededRng::derived(11, 3);
    let mut data: Vec<f32> = (0..lines * samples * bands)
        .map(|i| 10.0 + (i % bands) as f32 * 0.3 + 0.02 * rng.normal() as f32)
        .collect();
    // 60 pixels of column 1 hold 2000 ppm·m: x · (1 + a · e).
    let truth = 2000.0;
    let plume: Vec<usize> = (100..160).collect();
    for &l in &plume {
        let i = (l * samples + 1) * bands;
        for (b, v) in data[i..i + bands].iter_mut().enumerate() {
            *v *= (1.0 + ua[b] * truth) as f32;
        }
    }
    let cube = VecCube::new(lines, samples, bands, data).unwrap();
    for algorithm in [Algorithm::MatchedFilter, Algorithm::AlbedoMatchedFilter] {
        let params = DetectParams {
            algorithm,
            grouping: Grouping::Columns(1),
            ..DetectParams::default()
        };
        let f = ColumnFilters::estimate(&cube, bands, &ua, &[], &params).unwrap();
        let full = f.apply(&cube.data, lines, 0, samples, bands).unwrap();
        let mean_over = |v: &[f32], idx: &[usize]| {
            idx.iter().map(|&i| f64::from(v[i])).sum::<f64>() / idx.len() as f64
        };
        let idx: Vec<usize> = plume.iter().map(|l| l * samples + 1).collect();
        let in_stats = mean_over(&full.enhancement, &idx);
        let mut flagged = vec![false; lines * samples];
        for &i in &idx {
            flagged[i] = true;
        }
        let (e, s) = f
            .gas_free_outputs(&flagged, &full.enhancement, &full.albedo, bands, |l, c| {
                let i = (l * samples + c) * bands;
                &cube.data[i..i + bands]
            })
            .unwrap();
        let gas_free = mean_over(&e, &idx);
        println!("{algorithm:?}: in the statistics {in_stats:.0}, gas taken out {gas_free:.0} ppm·m (truth {truth})");
        // The plume inside its column's statistics reads low; with its gas taken out
        // it reads within 10 % of the truth, with at most half the error.
        assert!(in_stats < 0.9 * truth, "{in_stats}");
        assert!((gas_free / truth - 1.0).abs() < 0.1, "{gas_free}");
        assert!(
            (gas_free - truth).abs() < 0.5 * (in_stats - truth).abs(),
            "{gas_free} vs {in_stats}"
        );
        // Only flagged pixels get values, each with its noise.
        for (i, (v, sd)) in e.iter().zip(&s).enumerate() {
            assert_eq!(v.is_finite(), flagged[i], "pixel {i}");
            assert_eq!(sd.is_finite(), flagged[i], "pixel {i}");
        }
    }
}
