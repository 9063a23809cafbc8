//! isofit parametric noise tables (`data/avirisng_noise.txt`, `data/emit_noise.txt`):
//! whitespace columns `wvl a b c [rmse]`, `#` comments; `NEdL = |a·√(b + L) + c|`.

use crate::{Error, Result};
use plumewatch_core::simulate::NoiseModel;
use std::path::Path;

/// The noise file bundled for a sensor preset (`aviris-ng` or `emit`), if any.
pub fn builtin(sensor: &str) -> Option<Result<NoiseModel>> {
    let (text, label) = match sensor.trim().to_ascii_lowercase().as_str() {
        "aviris-ng" | "avirisng" | "avng" => (
            include_str!("../../../data/noise/avirisng_noise.txt"),
            "<built-in>/avirisng_noise.txt",
        ),
        "emit" => (
            include_str!("../../../data/noise/emit_noise.txt"),
            "<built-in>/emit_noise.txt",
        ),
        _ => return None,
    };
    Some(parse_noise_model(text, Path::new(label)))
}

/// Reads an isofit parametric noise table.
pub fn read_noise_model(path: &Path) -> Result<NoiseModel> {
    let text = crate::read_small_text(path, "noise model")?;
    parse_noise_model(&text, path)
}

/// Parses an isofit parametric noise table (`path` is only used in messages).
pub fn parse_noise_model(text: &str, path: &Path) -> Result<NoiseModel> {
    let (mut w, mut a, mut b, mut c) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (i, line) in text.lines().enumerate() {
        let t = line.trim();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        let vals: Vec<f64> = t
            .split_whitespace()
            .map(|s| s.parse::<f64>())
            .collect::<std::result::Result<_, _>>()
            .map_err(|_| {
                Error::format(
                    path,
                    format!("line {}", i + 1),
                    format!("{t:?} is not a row of numbers (expected wvl a b c [rmse])"),
                )
            })?;
        if vals.len() < 4 {
            return Err(Error::format(
                path,
                format!("line {}", i + 1),
                format!("{} columns (expected wvl a b c [rmse])", vals.len()),
            ));
        }
        w.push(vals[0]);
        a.push(vals[1]);
        b.push(vals[2]);
        c.push(vals[3]);
    }
    NoiseModel::new(w, a, b, c).map_err(|e| Error::format(path, "rows", e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use plumewatch_core::BandModel;

    /// PROVENANCE.md: SNR ≈ 200 (AVIRIS-NG) and ≈ 280 (EMIT) at L = 0.4 near 2300 nm.
    #[test]
    fn snr_near_2300_nm_matches_provenance() {
        let bands = BandModel::new(vec![2300.0], vec![6.0]).unwrap();
        for (sensor, snr) in [("aviris-ng", 200.0), ("emit", 280.0)] {
            let m = builtin(sensor).unwrap().unwrap();
            let n = m.at_bands(&bands).nedl(0, 0.4);
            let got = 0.4 / n;
            assert!((got / snr - 1.0).abs() < 0.15, "{sensor}: SNR {got}");
        }
        assert!(builtin("hyspex").is_none());
        assert!(parse_noise_model("# x\n1 2\n", Path::new("n.txt")).is_err());
    }
}
