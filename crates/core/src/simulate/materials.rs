//! Surface materials of synthetic scenes: which library spectra play which role
//! (background, roads, objects, source pads) and the palette of spectra a scene uses.

use crate::rng::SeededRng;
use crate::simulate::library::SpectralLibrary;
use crate::BandModel;

/// Role of a surface material in the scene.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MaterialRole {
    /// Natural background (vegetation, soil, minerals).
    Background,
    /// Road surface.
    Road,
    /// Small man-made object.
    Object,
    /// Pad under an emission source.
    Pad,
    /// Roof of a building.
    Roof,
    /// Car or van on a car park.
    Vehicle,
    /// Plastic sheeting or tarp.
    Sheeting,
    /// Oil or tar stain on the ground.
    Stain,
    /// Pond or other open water.
    Water,
}

/// A material used in a scene.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct MaterialUse {
    /// Library spectrum name.
    pub name: String,
    /// Its role.
    pub role: MaterialRole,
}

pub(super) const BACKGROUND_KEYS: &[&str] = &[
    "Cheatgrass ANP92",
    "Dry_Long_Grass",
    "Sage_Brush",
    "Juniper_Bush",
    "Lodgepole-Pine",
    "Douglas-Fir",
    "Montmorillonite",
    "Kaolinite",
    "Desert_Varnish",
    "Calcite",
    "Gypsum",
    "Grass-Fescue",
];
pub(super) const ROAD_KEYS: &[&str] = &["Asphalt GDS376", "Concrete GDS375"];
pub(super) const OBJECT_KEYS: &[&str] = &[
    "Plastic_Tarp",
    "Sheet_Metal",
    "Painted_Aluminum",
    "Fiberglass",
    "Plastic GGA-54",
    "Asphalt_Shingle",
];
pub(super) const PAD_KEYS: &[&str] = &[
    "Concrete WTC01",
    "Asphalt_Tar",
    "Plywood",
    "Concrete GDS375",
];

pub(super) struct Palette {
    pub(super) spectra: Vec<Vec<f64>>,
    pub(super) uses: Vec<MaterialUse>,
}

impl Palette {
    pub(super) fn pick(
        &mut self,
        lib: &SpectralLibrary,
        bands: &BandModel,
        keys: &[&str],
        role: MaterialRole,
        n: usize,
        rng: &mut SeededRng,
    ) -> Vec<u16> {
        let mut candidates: Vec<usize> = Vec::new();
        for key in keys {
            let k = key.to_ascii_lowercase();
            for (i, name) in lib.names.iter().enumerate() {
                if name.to_ascii_lowercase().contains(&k) && !candidates.contains(&i) {
                    candidates.push(i);
                }
            }
        }
        let mut out = Vec::new();
        let mut tries = 0;
        while out.len() < n && !candidates.is_empty() && tries < 200 {
            tries += 1;
            let i = candidates.swap_remove(rng.below(candidates.len()));
            if let Some(spec) = lib.resample(i, bands) {
                out.push(self.spectra.len() as u16);
                self.spectra.push(spec);
                self.uses.push(MaterialUse {
                    name: lib.names[i].trim().to_string(),
                    role,
                });
            }
        }
        out
    }
}
