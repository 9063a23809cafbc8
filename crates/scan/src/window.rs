//! The gas window of a cube: which bands the detector uses, the unit absorption target
//! at those bands, and the bands screened for saturation.

use crate::{bail, Context, Result};
use plumewatch_core::bands::window_bands;
use plumewatch_core::mask::{saturation_bands, Saturation};
use plumewatch_core::BandModel;
use plumewatch_io::CubeMeta;
use std::path::Path;

/// The 2.3 µm CH4 window, nm (mag1c's; the default of every sensor that covers it).
pub const CH4_WINDOW_2_3_UM: (f64, f64) = (2122.0, 2488.0);

/// The weaker 1.65 µm CH4 window, nm (the 2ν3 band, strongest near 1666 nm, and its
/// wings): the window of sensors that end below 2.1 µm, such as 900–1700 nm InGaAs
/// imagers. Its strongest unit absorption is about a sixth of the 2.3 µm window's.
pub const CH4_WINDOW_1_65_UM: (f64, f64) = (1560.0, 1720.0);

/// A gas window: one wavelength range `[lo, hi]` nm, or several stacked into one joint
/// detector (the bands of every range, with the gas target at each). Written in JSON as
/// `[lo, hi]` or `[[lo, hi], [lo, hi], …]`, on the command line as `LO,HI` or
/// `LO,HI+LO,HI`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(untagged)]
pub enum Window {
    /// One range, nm.
    One((f64, f64)),
    /// Several ranges stacked (a joint detector), nm.
    Joint(Vec<(f64, f64)>),
}

impl Window {
    /// The ranges, nm.
    pub fn ranges(&self) -> Vec<(f64, f64)> {
        match self {
            Window::One(r) => vec![*r],
            Window::Joint(rs) => rs.clone(),
        }
    }

    /// Checks that there is at least one range, each `0 < LO < HI`, and that ranges do
    /// not overlap; the message says what is wrong.
    pub fn check(&self) -> std::result::Result<(), String> {
        let mut rs = self.ranges();
        if rs.is_empty() {
            return Err("expected at least one wavelength range".into());
        }
        for &(lo, hi) in &rs {
            if !(lo.is_finite() && hi.is_finite() && lo > 0.0 && lo < hi) {
                return Err(format!(
                    "[{lo}, {hi}]: expected two wavelengths in nm with 0 < LO < HI"
                ));
            }
        }
        rs.sort_by(|a, b| a.0.total_cmp(&b.0));
        if let Some(w) = rs.windows(2).find(|w| w[1].0 <= w[0].1) {
            return Err(format!(
                "ranges [{}, {}] and [{}, {}] overlap; expected separate windows",
                w[0].0, w[0].1, w[1].0, w[1].1
            ));
        }
        Ok(())
    }

    /// Parses `LO,HI` or `LO,HI+LO,HI+…` (nm).
    pub fn parse(s: &str) -> std::result::Result<Self, String> {
        let ranges = s
            .split('+')
            .map(|part| {
                let (lo, hi) = part.split_once(',')?;
                Some((
                    lo.trim().parse::<f64>().ok()?,
                    hi.trim().parse::<f64>().ok()?,
                ))
            })
            .collect::<Option<Vec<_>>>();
        let window = match ranges {
            Some(r) if r.len() == 1 => Window::One(r[0]),
            Some(r) => Window::Joint(r),
            None => {
                return Err(format!(
                    "window {s:?}: expected LO,HI in nm (e.g. 2122,2488), or ranges joined by + for a joint window (e.g. 1560,1720+2122,2488)"
                ))
            }
        };
        window.check().map_err(|e| format!("window {s:?}: {e}"))?;
        Ok(window)
    }
}

impl<'de> serde::Deserialize<'de> for Window {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        #[derive(serde::Deserialize)]
        #[serde(untagged)]
        enum Repr {
            One((f64, f64)),
            Joint(Vec<(f64, f64)>),
        }
        match Repr::deserialize(d) {
            Ok(Repr::One(r)) => Ok(Window::One(r)),
            Ok(Repr::Joint(rs)) => Ok(Window::Joint(rs)),
            Err(_) => Err(serde::de::Error::custom(
                "window_nm: expected [LO, HI] in nm, or [[LO, HI], [LO, HI], …] for a joint window",
            )),
        }
    }
}

impl std::fmt::Display for Window {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = self
            .ranges()
            .iter()
            .map(|(lo, hi)| format!("{lo}–{hi}"))
            .collect();
        write!(f, "{} nm", parts.join(" + "))
    }
}

impl From<(f64, f64)> for Window {
    fn from(r: (f64, f64)) -> Self {
        Window::One(r)
    }
}

/// Usable bands a window needs to be chosen automatically.
pub const MIN_AUTO_WINDOW_BANDS: usize = 10;

/// The gas window for a sensor with band centres `wavelength_nm` (`good[i]` false for bad
/// bands): the 2.3 µm window when at least [`MIN_AUTO_WINDOW_BANDS`] usable bands lie in
/// it, else the 1.65 µm window when that many lie there.
///
/// # Errors
/// When neither window has enough bands: the message gives both counts and asks for
/// `--window`.
pub fn auto_window(wavelength_nm: &[f64], good: Option<&[bool]>) -> Result<(f64, f64)> {
    let count = |(lo, hi): (f64, f64)| window_bands(wavelength_nm, good, lo, hi).len();
    let (n23, n165) = (count(CH4_WINDOW_2_3_UM), count(CH4_WINDOW_1_65_UM));
    if n23 >= MIN_AUTO_WINDOW_BANDS {
        Ok(CH4_WINDOW_2_3_UM)
    } else if n165 >= MIN_AUTO_WINDOW_BANDS {
        Ok(CH4_WINDOW_1_65_UM)
    } else {
        bail!(
            "wavelength: {n23} usable band(s) in the 2.3 µm window (2122–2488 nm) and {n165} in the 1.65 µm window (1560–1720 nm), expected at least {MIN_AUTO_WINDOW_BANDS} in one; give the gas window with --window LO,HI"
        )
    }
}

/// Bands and target of a cube's gas window.
#[derive(Debug, Clone)]
pub struct GasWindow {
    /// Cube band indices (0-based) of the window.
    pub bands: Vec<usize>,
    /// Centre wavelength of each window band, nm.
    pub wavelength_nm: Vec<f64>,
    /// Unit absorption per window band, 1/(ppm·m).
    pub unit_absorption: Vec<f64>,
    /// Cube band indices screened for saturation (empty when screening is off).
    pub saturation_bands: Vec<usize>,
}

impl GasWindow {
    /// Selects the window `[lo, hi]` nm of the cube at `path` (leaving out bad bands and
    /// mag1c's excluded bands; `None`: [`auto_window`] for the cube's bands) and computes
    /// the gas target there, from the built-in or named gas LUT, or from a target file
    /// (plumewatch CSV or mag1c text) when given.
    pub fn for_cube(
        path: &Path,
        meta: &CubeMeta,
        gas: &str,
        window: Option<&Window>,
        target_file: Option<&Path>,
        saturation: Option<&Saturation>,
    ) -> Result<Self> {
        let wl = meta.wavelength_nm.as_deref().with_context(|| {
            format!(
                "{}: wavelength: the cube has no band centres; detection needs them",
                path.display()
            )
        })?;
        plumewatch_io::envi::header::check_band_centres(wl, path)?;
        let window = match window {
            Some(w) => w.clone(),
            None => Window::One(
                auto_window(wl, meta.bad_bands.as_deref())
                    .with_context(|| format!("{}", path.display()))?,
            ),
        };
        let mut bands: Vec<usize> = Vec::new();
        for (lo, hi) in window.ranges() {
            let in_range = window_bands(wl, meta.bad_bands.as_deref(), lo, hi);
            if window.ranges().len() > 1 && in_range.is_empty() {
                bail!(
                    "{}: wavelength: no usable band in the range {lo}–{hi} nm of the joint window {window}",
                    path.display()
                );
            }
            bands.extend(in_range);
        }
        bands.sort_unstable();
        bands.dedup();
        if bands.len() < 2 {
            bail!(
                "{}: wavelength: {} usable band(s) in the window {window} (expected at least 2)",
                path.display(),
                bands.len()
            );
        }
        let window_wl: Vec<f64> = bands.iter().map(|&i| wl[i]).collect();
        let unit_absorption = match target_file {
            Some(file) => plumewatch_io::target_file::read(file)?
                .values_for(&window_wl, 0.2)
                .with_context(|| {
                    format!(
                        "{}: target for the bands of {}",
                        file.display(),
                        path.display()
                    )
                })?,
            None => {
                let model = band_model(path, meta, &bands)?;
                let lut = plumewatch_io::gas_lut::open(gas)?;
                plumewatch_core::unit_absorption(&lut, &model)?.absorption_per_ppm_m
            }
        };
        let saturation_bands = saturation
            .map(|s| saturation_bands(wl, s))
            .unwrap_or_default();
        Ok(Self {
            bands,
            wavelength_nm: window_wl,
            unit_absorption,
            saturation_bands,
        })
    }
}

/// The band model (centres and FWHM, nm) of `bands` of the cube at `path`.
pub fn band_model(path: &Path, meta: &CubeMeta, bands: &[usize]) -> Result<BandModel> {
    let wl = meta.wavelength_nm.as_deref().with_context(|| {
        format!(
            "{}: wavelength: the cube has no band centres",
            path.display()
        )
    })?;
    let fwhm = meta.fwhm_nm.as_deref().with_context(|| {
        format!(
            "{}: fwhm: the cube has no band widths; give a target file or a header with fwhm",
            path.display()
        )
    })?;
    BandModel::new(
        bands.iter().map(|&i| wl[i]).collect(),
        bands.iter().map(|&i| fwhm[i]).collect(),
    )
    .with_context(|| format!("{}: band table", path.display()))
}

/// Most lines [`check_content`] reads, evenly spaced through the cube.
const CONTENT_SAMPLE_LINES: usize = 32;

/// Refuses a cube the detector cannot estimate statistics from, with an error naming the
/// cube at `path` and what is wrong, instead of a failure deep in the statistics:
/// fewer pixels in a statistics group (the lines of `grouping`'s detector columns, the
/// smallest tile, or the whole scene) than window bands plus one, or window bands (`bands`)
/// that hold no finite value, nothing above zero (all zero or negative) or one
/// constant value. The values are those of up to 32 lines spread evenly through the
/// cube (a cube that is valid in some of those lines passes).
pub fn check_content(
    path: &Path,
    source: &dyn plumewatch_core::LineSource,
    bands: &[usize],
    grouping: plumewatch_core::detect::Grouping,
) -> Result<()> {
    let (lines, samples) = (source.lines(), source.samples());
    use plumewatch_core::detect::Grouping;
    let pixels_per_group = match grouping {
        Grouping::Columns(g) => lines.saturating_mul(g.min(samples)),
        Grouping::Global => lines.saturating_mul(samples),
        // The smallest tile (the last ones take the remainder).
        Grouping::Tiles(n) => (lines / n.max(1)).saturating_mul(samples / n.max(1)),
    };
    if lines < 2 || pixels_per_group <= bands.len() {
        let fewer = match grouping {
            Grouping::Tiles(_) => "fewer statistics tiles",
            _ => "statistics over more detector columns",
        };
        bail!(
            "{}: lines: {lines} lines × {samples} samples give {pixels_per_group} pixels to each set of background statistics, and the {} window bands need at least {} (expected a larger cube, or {fewer})",
            path.display(),
            bands.len(),
            bands.len() + 1
        );
    }
    let step = lines.div_ceil(CONTENT_SAMPLE_LINES).max(1);
    let mut buf = vec![0f32; samples * bands.len()];
    let (mut finite, mut positive) = (0usize, 0usize);
    let (mut lo, mut hi) = (f32::INFINITY, f32::NEG_INFINITY);
    let mut read = 0;
    for l in (0..lines).step_by(step) {
        source
            .read_line(l, bands, &mut buf)
            .with_context(|| format!("{}: line {l}", path.display()))?;
        read += 1;
        for &v in &buf {
            if v.is_finite() {
                finite += 1;
                positive += usize::from(v > 0.0);
                lo = lo.min(v);
                hi = hi.max(v);
            }
        }
    }
    let what = format!(
        "{}: radiance: in the {} window bands of {read} lines spread through the cube",
        path.display(),
        bands.len()
    );
    if finite == 0 {
        bail!("{what}, every value is NaN, infinite or no data (expected at-sensor radiance)");
    }
    if positive == 0 {
        bail!("{what}, every value is zero or negative (min {lo}, max {hi}; expected positive at-sensor radiance)");
    }
    if lo == hi {
        bail!("{what}, every value is {lo} (a constant cube has no background statistics; expected varying radiance)");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_parse_print_and_round_trip() {
        assert_eq!(
            Window::parse("2122,2488"),
            Ok(Window::One((2122.0, 2488.0)))
        );
        let joint = Window::parse("1560,1720+2122,2488").unwrap();
        assert_eq!(joint.ranges(), vec![(1560.0, 1720.0), (2122.0, 2488.0)]);
        assert_eq!(joint.to_string(), "1560–1720 + 2122–2488 nm");
        for w in [Window::One((2122.0, 2488.0)), joint] {
            let text = serde_json::to_string(&w).unwrap();
            assert_eq!(serde_json::from_str::<Window>(&text).unwrap(), w);
        }
        assert_eq!(
            serde_json::to_string(&Window::One((1.0, 2.0))).unwrap(),
            "[1.0,2.0]"
        );
        for bad in [
            "",
            "2122",
            "2488,2122",
            "1560,1720+",
            "1560,2200+2122,2488",
            "a,b",
            "0,5",
        ] {
            assert!(Window::parse(bad).is_err(), "{bad}");
        }
        let e = serde_json::from_str::<Window>("\"x\"")
            .unwrap_err()
            .to_string();
        assert!(e.contains("window_nm") && e.contains("[LO, HI]"), "{e}");
    }

    /// The automatic window: 2.3 µm for a full-range sensor, 1.65 µm for one that ends
    /// at 1700 nm, and an error asking for --window for a VNIR sensor.
    #[test]
    fn auto_window_follows_the_sensor() {
        let wl: Vec<f64> = (0..267).map(|k| 900.0 + 6.0 * k as f64).collect();
        assert_eq!(auto_window(&wl, None).unwrap(), CH4_WINDOW_2_3_UM);
        let ingaas: Vec<f64> = (0..224).map(|k| 900.0 + 800.0 / 223.0 * k as f64).collect();
        assert_eq!(auto_window(&ingaas, None).unwrap(), CH4_WINDOW_1_65_UM);
        let vnir: Vec<f64> = (0..100).map(|k| 400.0 + 6.0 * k as f64).collect();
        let e = auto_window(&vnir, None).unwrap_err().to_string();
        assert!(e.contains("--window"), "{e}");
    }
}
