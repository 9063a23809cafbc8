//! Coordinate reference systems compared through GDAL (OSRIsSame), so that two WKT
//! strings that spell the same CRS differently compare equal.

use crate::{Error, Result};
use gdal::spatial_ref::SpatialRef;
use std::path::Path;

/// Whether the coordinate systems `a` and `b` (WKT or any definition GDAL accepts)
/// are the same. `context_a` and `context_b` name the files they come from in errors.
pub fn same_crs(a: &str, b: &str, context_a: &Path, context_b: &Path) -> Result<bool> {
    let parse = |wkt: &str, ctx: &Path| {
        SpatialRef::from_definition(wkt).map_err(|e| {
            Error::format(
                ctx,
                "coordinate system",
                format!("GDAL cannot read it: {e}"),
            )
        })
    };
    Ok(parse(a, context_a)? == parse(b, context_b)?)
}

/// The WKT of an EPSG code.
pub fn wkt_of_epsg(epsg: u32) -> Result<String> {
    SpatialRef::from_epsg(epsg)
        .and_then(|s| s.to_wkt())
        .map_err(|e| Error::format(Path::new("EPSG"), "code", format!("{epsg}: {e}")))
}

/// The WKT of an EPSG code, pretty-printed (the same CRS spelled differently).
pub fn pretty_wkt_of_epsg(epsg: u32) -> Result<String> {
    SpatialRef::from_epsg(epsg)
        .and_then(|s| s.to_pretty_wkt())
        .map_err(|e| Error::format(Path::new("EPSG"), "code", format!("{epsg}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_crs_spelled_differently_is_the_same_and_zones_differ() {
        let here = Path::new("x");
        let a = SpatialRef::from_epsg(32613).unwrap().to_wkt().unwrap();
        let b = SpatialRef::from_epsg(32613)
            .unwrap()
            .to_pretty_wkt()
            .unwrap();
        let c = SpatialRef::from_epsg(32614).unwrap().to_wkt().unwrap();
        assert!(same_crs(&a, &b, here, here).unwrap());
        assert!(!same_crs(&a, &c, here, here).unwrap());
        assert!(same_crs("not a crs", &a, here, here).is_err());
    }
}
