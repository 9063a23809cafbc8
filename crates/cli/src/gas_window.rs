//! Parsers of `LO,HI` flag values (gas windows, rate ranges). The gas window itself
//! lives in the library (`plumewatch_scan::window::GasWindow`).

pub use plumewatch_scan::window::GasWindow;

/// Two finite positive numbers `LO,HI` with `LO < HI`, or `None`.
fn positive_pair(s: &str) -> Option<(f64, f64)> {
    let (lo, hi) = s.split_once(',')?;
    let (lo, hi): (f64, f64) = (lo.trim().parse().ok()?, hi.trim().parse().ok()?);
    (lo > 0.0 && lo < hi && hi.is_finite()).then_some((lo, hi))
}

/// Parses `LO,HI`: two positive numbers with `LO < HI` (rate ranges and the like).
pub fn parse_pair(s: &str) -> Result<(f64, f64), String> {
    positive_pair(s)
        .ok_or_else(|| format!("{s:?}: expected two positive numbers LO,HI with LO < HI"))
}

/// Parses a wavelength window `LO,HI` in nm (`--window`).
pub fn parse_window(s: &str) -> Result<(f64, f64), String> {
    positive_pair(s).ok_or_else(|| {
        format!("window {s:?}: expected two wavelengths in nm, LO,HI with LO < HI (e.g. 2122,2488)")
    })
}
