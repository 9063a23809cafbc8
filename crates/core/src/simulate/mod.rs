//! Plume simulation: point-source plumes of known emission rate, Beer–Lambert injection
//! into radiance, and semi-real synthetic scenes.
//!
//! - [`plume`]: Gaussian puffs along a meandering centre line → column enhancement (ppm·m).
//! - [`inject`]: Beer–Lambert transmittance T(c)/T(0) through the gas LUT, per pixel.
//! - [`scene`]: library surfaces × LUT atmosphere + isofit noise + pushbroom striping.
//! Every simulation step draws from [`crate::rng::SeededRng`], so a seed fixes a scene.

/// Built-up and industrial clutter: buildings and shadows, car parks, sheeting, stains.
pub mod clutter;
/// The footprint of a flight strip on a mosaic grid and its nodata collar.
pub mod footprint;
/// Beer–Lambert injection of an enhancement into radiance.
pub mod inject;
/// Reflectance spectral libraries resampled to a sensor's bands.
pub mod library;
/// Surface materials of synthetic scenes and the library spectra that play them.
pub mod materials;
/// The parametric instrument noise model.
pub mod noise;
/// Point-source plumes as Gaussian puffs along a meandering centre line.
pub mod plume;
/// Semi-real synthetic radiance scenes from library spectra, the gas LUT and a noise model.
pub mod scene;

pub use clutter::Clutter;
pub use footprint::StripFootprint;
pub use inject::{GasTransmittance, InjectedCube};
pub use library::SpectralLibrary;
pub use materials::{MaterialRole, MaterialUse};
pub use noise::{BandNoise, NoiseModel};
pub use plume::{
    puff_sigma_m, raster_mass_kg, render_plume, render_plume_window, PlumeGrid, PlumeParams,
    PlumeTruth, PlumeWindow, PointSource, Stability,
};
pub use scene::{
    random_sources, random_sources_where, render_scene, Scene, SceneConfig, SceneIngredients,
};
