//! isofit parametric noise tables (`data/avirisng_noise.txt`, `data/emit_noise.txt`):
//! whitespace columns `wvl a b c [rmse]`, `#` comments; `NEdL = |a·√(b + L) + c|`.

use crate::{Error, Result};
use plumewatch_core::simulate::NoiseModel;
use std::path::Path;

/// The dark-noise share of the SNR-derived models: the dark and read noise equal the shot
/// noise of a quarter of the reference radiance (a stated assumption, see
/// [`NoiseModel::from_snr`]).
pub const DARK_FRACTION: f64 = 0.25;

/// The noise model of a sensor preset, if any: the bundled isofit table of `aviris-ng`
/// or `emit`, or the SNR-derived model of a drone class ([`crate::sensor::DroneClass`]).
pub fn builtin(sensor: &str) -> Option<Result<NoiseModel>> {
    if let Some(class) = crate::sensor::drone_class(sensor) {
        let label = format!("<built-in>/{}", class.name);
        return Some(from_snr(
            &label,
            class.snr,
            class.snr_radiance,
            class.range_nm(),
        ));
    }
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

/// A flat noise model from one SNR figure at one radiance over `range_nm`
/// ([`NoiseModel::from_snr`] with [`DARK_FRACTION`]); `label` names where the figure
/// came from in errors (`--snr`, a preset).
pub fn from_snr(label: &str, snr: f64, radiance: f64, range_nm: (f64, f64)) -> Result<NoiseModel> {
    NoiseModel::from_snr(snr, radiance, DARK_FRACTION, range_nm)
        .map_err(|e| Error::format(Path::new(label), "SNR", e.to_string()))
}

/// Parses `--snr VALUE@RADIANCE` (e.g. `250@1.5`: SNR 250 at 1.5 µW cm⁻² sr⁻¹ nm⁻¹).
pub fn parse_snr(s: &str) -> std::result::Result<(f64, f64), String> {
    let parsed = s.split_once('@').and_then(|(v, r)| {
        let (v, r): (f64, f64) = (v.trim().parse().ok()?, r.trim().parse().ok()?);
        (v.is_finite() && v > 0.0 && r.is_finite() && r > 0.0).then_some((v, r))
    });
    parsed.ok_or_else(|| {
        format!(
            "{s:?}: expected VALUE@RADIANCE, a positive signal-to-noise ratio at a positive radiance in µW cm⁻² sr⁻¹ nm⁻¹ (e.g. 250@1.5)"
        )
    })
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

    /// The drone presets give their stated SNR at their stated radiance and wavelength,
    /// and `--snr` values parse or are refused with the expected form.
    #[test]
    fn drone_presets_have_their_stated_snr() {
        for class in [crate::sensor::DRONE_SWIR, crate::sensor::DRONE_INGAAS] {
            let bands = BandModel::new(vec![class.snr_wavelength_nm], vec![class.fwhm_nm]).unwrap();
            let m = builtin(class.name).unwrap().unwrap();
            let got = class.snr_radiance / m.at_bands(&bands).nedl(0, class.snr_radiance);
            assert!((got - class.snr).abs() < 1e-6, "{}: SNR {got}", class.name);
        }
        assert_eq!(parse_snr("250@1.5"), Ok((250.0, 1.5)));
        assert_eq!(parse_snr(" 90 @ 0.4 "), Ok((90.0, 0.4)));
        for bad in [
            "250", "250@", "@1.5", "0@1", "250@-1", "nan@1", "x@y", "250@inf",
        ] {
            let e = parse_snr(bad).unwrap_err();
            assert!(e.contains("VALUE@RADIANCE"), "{bad}: {e}");
        }
    }
}
