//! Fuzzes the ENVI header parser: any bytes must give `Ok` or a typed error, never a
//! panic, and a header that parses must survive `to_text` → `parse_header` unchanged in
//! the fields that describe the data layout and band table.
//!
//! The parser's source file is compiled here as is (`#[path]`), with the two names it
//! takes from `plumewatch_io` (`Error::format`, `Result`) provided by a shim below.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::Path;

#[allow(dead_code, missing_docs)]
#[path = "../../crates/io/src/envi/header.rs"]
mod header;

/// Stand-in for `plumewatch_io::Error` (only `Error::format` is used by the parser).
#[derive(Debug)]
pub struct Error(String);

impl Error {
    /// Same signature as `plumewatch_io::Error::format`.
    pub fn format(path: &Path, field: impl Into<String>, message: impl Into<String>) -> Self {
        Self(format!("{}: {}: {}", path.display(), field.into(), message.into()))
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Stand-in for `plumewatch_io::Result`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let path = Path::new("fuzz.hdr");
    if let Ok(h) = header::parse_header(&text, path) {
        let again = header::parse_header(&h.to_text(), path).unwrap_or_else(|e| {
            panic!("formatted header does not parse back: {e}\n{}", h.to_text())
        });
        assert_eq!((again.samples, again.lines, again.bands), (h.samples, h.lines, h.bands));
        assert_eq!(again.data_type, h.data_type);
        assert_eq!(again.interleave, h.interleave);
        assert_eq!(again.byte_order, h.byte_order);
        assert_eq!(again.header_offset, h.header_offset);
        assert_eq!(again.wavelength_nm, h.wavelength_nm);
        assert_eq!(again.fwhm_nm, h.fwhm_nm);
        assert_eq!(again.bbl, h.bbl);
        assert_eq!(again.map_info.is_some(), h.map_info.is_some());
        let _ = h.data_bytes();
        if let Some(m) = &h.map_info {
            let _ = m.geo_transform();
        }
    }
});
