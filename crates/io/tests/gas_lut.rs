//! Gas LUTs as data: an ENVI file plus a JSON sidecar, and the errors for bad ones.

use plumewatch_core::{unit_absorption, BandModel};
use plumewatch_io::gas_lut;
use std::path::Path;

/// Writes a small float64 ENVI LUT (concentrations along samples, 1 line, BSQ) with a
/// Beer–Lambert absorption coefficient `k` (1/(ppm·m)) at every wavelength. Written by
/// hand: the fixture needs f64 values, which the cube writer does not produce.
fn write_lut(dir: &Path, name: &str, conc: &[f64], k: f64) -> std::path::PathBuf {
    let wl: Vec<f64> = (0..2001).map(|i| 2000.0 + 0.2 * i as f64).collect();
    // BSQ with one line: band-major, sample (concentration) fastest.
    let mut bytes = Vec::with_capacity(wl.len() * conc.len() * 8);
    for w in &wl {
        for c in conc {
            let v: f64 = 0.3 * (1.0 + (w - 2000.0) / 1000.0) * (k * c).exp();
            bytes.extend_from_slice(&v.to_le_bytes());
        }
    }
    let list: Vec<String> = wl.iter().map(|w| format!("{w:.3}")).collect();
    let header = format!(
        "ENVI\nsamples = {}\nlines = 1\nbands = {}\nheader offset = 0\nfile type = ENVI Standard\n\
         data type = 5\ninterleave = bsq\nbyte order = 0\nwavelength units = Nanometers\n\
         wavelength = {{{}}}\n",
        conc.len(),
        wl.len(),
        list.join(", ")
    );
    let hdr = dir.join(format!("{name}.hdr"));
    std::fs::write(&hdr, header).unwrap();
    std::fs::write(dir.join(format!("{name}.lut")), bytes).unwrap();
    hdr
}

#[test]
fn a_new_gas_is_added_as_data() {
    let dir = tempfile::tempdir().unwrap();
    let conc = [0.0, 1000.0, 5000.0];
    let hdr = write_lut(dir.path(), "nh3", &conc, -2e-6);
    std::fs::write(
        dir.path().join("nh3.json"),
        r#"{"gas": "NH3", "lut_header": "nh3.hdr", "concentrations_ppm_m": [0, 1000, 5000],
            "source": "synthetic test LUT"}"#,
    )
    .unwrap();
    let via_hdr = gas_lut::load(&hdr, None).unwrap();
    let via_json = gas_lut::load_sidecar(&dir.path().join("nh3.json")).unwrap();
    assert_eq!(via_hdr, via_json);
    assert_eq!(via_hdr.gas, "nh3");
    assert_eq!(via_hdr.concentrations_ppm_m, conc);
    let by_spec = gas_lut::open(dir.path().join("nh3.json").to_str().unwrap()).unwrap();
    assert_eq!(by_spec, via_hdr);
    // And its target is the coefficient we put in.
    let bands = BandModel::new(vec![2100.0, 2300.0], vec![6.0, 6.0]).unwrap();
    let t = unit_absorption(&via_hdr, &bands).unwrap();
    for a in t.absorption_per_ppm_m {
        assert!(((a + 2e-6) / 2e-6).abs() < 1e-9, "{a}");
    }
}

#[test]
fn bad_luts_and_sidecars_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let hdr = write_lut(dir.path(), "co2", &[0.0, 1000.0, 5000.0], -1e-6);
    // No sidecar beside the header.
    let e = gas_lut::load(&hdr, None).unwrap_err().to_string();
    assert!(e.contains("co2.hdr") && e.contains("sidecar"), "{e}");
    // Concentration count disagrees with the ENVI samples.
    let side = dir.path().join("co2.json");
    std::fs::write(
        &side,
        r#"{"gas": "co2", "concentrations_ppm_m": [0, 1000]}"#,
    )
    .unwrap();
    let e = gas_lut::load(&hdr, None).unwrap_err().to_string();
    assert!(e.contains("samples") && e.contains("expected 2"), "{e}");
    // Concentrations not increasing.
    std::fs::write(
        &side,
        r#"{"gas": "co2", "concentrations_ppm_m": [0, 5000, 1000]}"#,
    )
    .unwrap();
    let e = gas_lut::load(&hdr, None).unwrap_err().to_string();
    assert!(e.contains("strictly increasing"), "{e}");
    // Not JSON / missing field.
    std::fs::write(&side, r#"{"gas": "co2"}"#).unwrap();
    let e = gas_lut::load(&hdr, None).unwrap_err().to_string();
    assert!(
        e.contains("co2.json") && e.contains("concentrations_ppm_m"),
        "{e}"
    );
    // Sidecar without lut_header cannot stand alone.
    std::fs::write(
        &side,
        r#"{"gas": "co2", "concentrations_ppm_m": [0, 1000, 5000]}"#,
    )
    .unwrap();
    let e = gas_lut::load_sidecar(&side).unwrap_err().to_string();
    assert!(e.contains("lut_header"), "{e}");
    // Unknown built-in gas.
    let e = gas_lut::builtin("sf6").unwrap_err().to_string();
    assert!(e.contains("sf6") && e.contains("ch4"), "{e}");
}
