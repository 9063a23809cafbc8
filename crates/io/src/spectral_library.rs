//! ENVI spectral libraries (`.sli` + `.hdr`), for example the USGS splib06a library
//! convolved to AVIRIS channels.
//!
//! Layout: `lines` = spectra, `samples` = channels, one band; wavelengths in the header
//! (converted to nm by the ENVI header parser); names in `spectra names`. USGS marks
//! deleted channels with −1.23e34; every value below −1e30 (or not finite) becomes NaN.

use crate::envi::{find_data_file, read_header, ByteOrder, DataType};
use crate::{Error, Result};
use plumewatch_core::simulate::SpectralLibrary;
use std::path::{Path, PathBuf};

/// Reads the spectral library whose header is `hdr` (the data file is `stem.sli`, or
/// any name the ENVI reader finds beside the header).
///
/// # Errors
/// When a file cannot be read, the header is not a spectral library with one band and
/// float32/float64 data, the names or wavelengths are missing or miscounted, or the
/// data file is shorter than the header promises.
pub fn read_spectral_library(hdr: &Path) -> Result<SpectralLibrary> {
    let h = read_header(hdr)?;
    if h.bands != 1 {
        return Err(Error::format(
            hdr,
            "bands",
            format!("{} (expected 1 for a spectral library)", h.bands),
        ));
    }
    let size = match h.data_type {
        DataType::F32 => 4,
        DataType::F64 => 8,
        other => {
            return Err(Error::format(
                hdr,
                "data type",
                format!("{} (expected 4 = float32 or 5 = float64)", other.name()),
            ))
        }
    };
    let wavelength_nm = h.wavelength_nm.clone().ok_or_else(|| {
        Error::format(
            hdr,
            "wavelength",
            "missing (expected one wavelength per channel)",
        )
    })?;
    let names_raw = h.other("spectra names").ok_or_else(|| {
        Error::format(
            hdr,
            "spectra names",
            "missing (expected one name per spectrum)",
        )
    })?;
    let names: Vec<String> = names_raw
        .trim()
        .trim_start_matches('{')
        .trim_end_matches('}')
        .split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    if names.len() != h.lines {
        return Err(Error::format(
            hdr,
            "spectra names",
            format!(
                "has {} names (expected one per spectrum: {})",
                names.len(),
                h.lines
            ),
        ));
    }
    let sli: PathBuf = hdr.with_extension("sli");
    let data_path = if sli.is_file() {
        sli
    } else {
        find_data_file(hdr)?
    };
    let bytes = std::fs::read(&data_path).map_err(|e| Error::io(&data_path, "cannot read", e))?;
    let need = h.header_offset + h.lines * h.samples * size;
    if bytes.len() < need {
        return Err(Error::format(
            &data_path,
            "size",
            format!(
                "{} bytes (expected at least {need} from the header)",
                bytes.len()
            ),
        ));
    }
    let body = &bytes[h.header_offset..need];
    let value = |chunk: &[u8]| -> f64 {
        let v = match (size, h.byte_order) {
            (4, ByteOrder::Little) => f32::from_le_bytes(chunk.try_into().unwrap()) as f64,
            (4, ByteOrder::Big) => f32::from_be_bytes(chunk.try_into().unwrap()) as f64,
            (_, ByteOrder::Little) => f64::from_le_bytes(chunk.try_into().unwrap()),
            (_, ByteOrder::Big) => f64::from_be_bytes(chunk.try_into().unwrap()),
        };
        if v.is_finite() && v > -1e30 {
            v
        } else {
            f64::NAN
        }
    };
    let reflectance: Vec<Vec<f64>> = body
        .chunks_exact(h.samples * size)
        .map(|row| row.chunks_exact(size).map(value).collect())
        .collect();
    SpectralLibrary::new(names, wavelength_nm, reflectance)
        .map_err(|e| Error::format(hdr, "spectra", e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_bundled_usgs_library() {
        let hdr =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/surfaces/s06av95a_envi.hdr");
        let lib = read_spectral_library(&hdr).unwrap();
        assert_eq!(lib.names.len(), 1365);
        assert_eq!(lib.wavelength_nm.len(), 224);
        // Header is in µm: 0.383–2.508 µm → nm.
        assert!((lib.wavelength_nm[0] - 383.0).abs() < 5.0);
        assert!((lib.wavelength_nm[223] - 2508.0).abs() < 5.0);
        assert!(lib.names[0].starts_with("Acmite"));
        // Deleted channels are NaN, the rest reflectances in [0, 1.5].
        let all: Vec<f64> = lib.reflectance.iter().flatten().copied().collect();
        assert!(all.iter().any(|v| v.is_nan()));
        assert!(all
            .iter()
            .filter(|v| v.is_finite())
            .all(|v| *v > -0.1 && *v < 1.6));
        // Green vegetation is darker in the red than in the near infrared.
        let oak = lib.find("Oak Oak-Leaf-1").unwrap();
        let at = |w: f64| {
            let i = lib.wavelength_nm.iter().position(|x| *x >= w).unwrap();
            lib.reflectance[oak][i]
        };
        assert!(at(850.0) > 2.0 * at(670.0));
    }
}
