//! The complete configuration of a scan: flight lines, detector, gas window and every
//! analysis knob, with documented defaults. It serialises to JSON (`--print-config`,
//! `scan.json`) and reads back strictly (unknown fields are errors), so any run can be
//! repeated exactly with `plumewatch scan --config FILE.json -o OUT`.

use crate::{bail, Context, Error, Result};
use plumewatch_core::detect::{Algorithm, DetectParams, Grouping};
use plumewatch_core::quantify::Wind;
use plumewatch_core::scan::PassParams;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Detector run on every flight line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Detector {
    /// Albedo-corrected matched filter, statistics per detector column (the default).
    #[default]
    Amf,
    /// Classic matched filter, statistics per detector column.
    Mf,
    /// mag1c: sparse, non-negative, albedo-corrected iterative matched filter.
    Mag1c,
}

impl Detector {
    /// The core detection parameters of this detector as the scan runs it: statistics
    /// per detector column (a scan sets the grouping of each flight line from
    /// [`ScanConfig::stats`]), saturated pixels left out of the statistics (mag1c's
    /// rule), and for the matched filters the outlier scaling of
    /// [`plumewatch_core::detect::outlier`] (a scan turns it off with
    /// [`ScanConfig::outlier_scaling`]).
    pub fn detect_params(self) -> DetectParams {
        let algorithm = match self {
            Detector::Amf => Algorithm::AlbedoMatchedFilter,
            Detector::Mf => Algorithm::MatchedFilter,
            Detector::Mag1c => Algorithm::Mag1c,
        };
        DetectParams {
            algorithm,
            grouping: Grouping::Columns(1),
            saturation: Some(plumewatch_core::mask::Saturation::default()),
            outlier_scaling: self != Detector::Mag1c,
            ..DetectParams::default()
        }
    }

    /// Name as written in configurations and reports (`amf`, `mf`, `mag1c`).
    pub fn name(self) -> &'static str {
        match self {
            Detector::Amf => "amf",
            Detector::Mf => "mf",
            Detector::Mag1c => "mag1c",
        }
    }
}

/// Which pixels share background statistics (`stats` in the configuration, `--stats`
/// on the command line): written `auto`, `columns`, `global` or `tiles:N`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Statistics {
    /// Chosen from each flight line ([`Statistics::resolve`]): per detector column for
    /// raw pushbroom cubes, tiles for georeferenced mosaics and frame images.
    #[default]
    Auto,
    /// Per detector column (pushbroom sensors; the detector's column groups).
    Columns,
    /// One set of statistics for the whole scene.
    Global,
    /// An N × N grid of tiles, each with its own statistics (mosaics, frame images).
    Tiles(usize),
}

/// Whether a scan applies the outlier scaling ([`ScanConfig::outlier_scaling`]) to
/// statistics grouped as `grouping`: with per-column (and so class) statistics, not
/// with tiles or global statistics.
pub fn scales_outliers(grouping: Grouping) -> bool {
    matches!(grouping, Grouping::Columns(_))
}

/// Tiles per side of the statistics of a georeferenced mosaic when none are asked for.
pub const MOSAIC_TILES: usize = 8;

/// Fewest pixels per window band a tile of the automatic choice holds: fewer tiles
/// are used on a mosaic too small for [`MOSAIC_TILES`] tiles of that size (a
/// covariance from barely more pixels than bands is too noisy to filter with).
pub const MIN_TILE_PIXELS_PER_BAND: usize = 10;

impl Statistics {
    /// The grouping of the statistics of a flight line: `columns` groups of
    /// `column_group` detector columns; `auto` is `columns` for a raw pushbroom cube
    /// and tiles for a georeferenced mosaic ([`is_mosaic`]): [`MOSAIC_TILES`] per
    /// side, fewer when the
    /// smallest tile would hold under [`MIN_TILE_PIXELS_PER_BAND`] pixels per window
    /// band (`window_bands`).
    pub fn resolve(
        self,
        meta: &plumewatch_io::CubeMeta,
        has_glt: bool,
        window_bands: usize,
        column_group: usize,
    ) -> Grouping {
        match self {
            Statistics::Columns => Grouping::Columns(column_group),
            Statistics::Global => Grouping::Global,
            Statistics::Tiles(n) => Grouping::Tiles(n),
            Statistics::Auto if !is_mosaic(meta, has_glt) => Grouping::Columns(column_group),
            Statistics::Auto => {
                let need = MIN_TILE_PIXELS_PER_BAND * window_bands.max(1);
                let n = (1..=MOSAIC_TILES)
                    .rev()
                    .find(|&n| (meta.lines / n) * (meta.samples / n) >= need)
                    .unwrap_or(1);
                Grouping::Tiles(n)
            }
        }
    }

    /// The statistics a grouping describes (column groups of any width are `columns`).
    pub fn of_grouping(g: Grouping) -> Self {
        match g {
            Grouping::Columns(_) => Statistics::Columns,
            Grouping::Global => Statistics::Global,
            Grouping::Tiles(n) => Statistics::Tiles(n),
        }
    }
}

/// Whether a cube is a georeferenced mosaic rather than a raw pushbroom line: a
/// GeoTIFF, or another cube with a geotransform or map info *and* a nodata (ENVI `data
/// ignore value`) for its collar, unless a GLT is given (then the cube is in raw
/// geometry and the GLT maps it).
///
/// Map info alone does not make a mosaic: raw pushbroom radiance often carries an
/// approximate map info (AVIRIS-NG radiance headers, the bundled AVIRIS-NG- and
/// EMIT-like scenes) while its samples are still detector columns.
pub fn is_mosaic(meta: &plumewatch_io::CubeMeta, has_glt: bool) -> bool {
    !has_glt && (meta.format == "GTiff" || (meta.georef.is_some() && meta.nodata.is_some()))
}

impl std::str::FromStr for Statistics {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, String> {
        let bad = || {
            format!(
                "stats {s:?}: expected columns, global, tiles:N (N ≥ 1 tiles per side, e.g. tiles:8) or auto"
            )
        };
        match s.trim() {
            "auto" => Ok(Statistics::Auto),
            "columns" => Ok(Statistics::Columns),
            "global" => Ok(Statistics::Global),
            t => {
                let n = t.strip_prefix("tiles:").ok_or_else(bad)?;
                match n.trim().parse::<usize>() {
                    Ok(n) if n >= 1 => Ok(Statistics::Tiles(n)),
                    _ => Err(bad()),
                }
            }
        }
    }
}

impl std::fmt::Display for Statistics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Statistics::Auto => f.write_str("auto"),
            Statistics::Columns => f.write_str("columns"),
            Statistics::Global => f.write_str("global"),
            Statistics::Tiles(n) => write!(f, "tiles:{n}"),
        }
    }
}

impl TryFrom<String> for Statistics {
    type Error = String;

    fn try_from(s: String) -> std::result::Result<Self, String> {
        s.parse()
    }
}

impl From<Statistics> for String {
    fn from(s: Statistics) -> Self {
        s.to_string()
    }
}

/// One flight line (pass) to scan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlightLine {
    /// Radiance cube: ENVI header or any raster GDAL reads.
    pub cube: PathBuf,
    /// Geographic lookup table of the cube (band 1 = 1-based raw sample, band 2 =
    /// 1-based raw line, 0 = outside); outputs are then orthorectified onto its grid.
    #[serde(default)]
    pub glt: Option<PathBuf>,
    /// Wind during the flight line (needed for emission rates).
    #[serde(default)]
    pub wind: Option<Wind>,
    /// Name of the flight line in outputs (default: from the cube's file name, made
    /// unique).
    #[serde(default)]
    pub name: Option<String>,
}

impl FlightLine {
    /// A flight line of `cube` with no GLT, wind or name.
    pub fn new(cube: impl Into<PathBuf>) -> Self {
        Self {
            cube: cube.into(),
            glt: None,
            wind: None,
            name: None,
        }
    }
}

/// The detection-limit estimate that a scan reports: plumes of known rate injected
/// into the first flight line's own radiance and found (or not) by the scan's own
/// detector and plume analysis.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitConfig {
    /// Injection runs (default 10; 0 skips the estimate).
    pub runs: usize,
    /// Plumes injected per run (default 5).
    pub per_run: usize,
    /// Random seed of positions, rates, directions and meanders (default 1).
    pub seed: u64,
}

impl Default for LimitConfig {
    fn default() -> Self {
        Self {
            runs: 10,
            per_run: 5,
            seed: 1,
        }
    }
}

/// Everything a scan needs. See the module docs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScanConfig {
    /// The flight lines, in order (the detection limit is estimated on the first).
    pub flight_lines: Vec<FlightLine>,
    /// Gas: a built-in name (`ch4`) or a LUT sidecar (`.json`) / ENVI header path.
    #[serde(default = "default_gas")]
    pub gas: String,
    /// Detector.
    #[serde(default)]
    pub detector: Detector,
    /// Which pixels share background statistics: `auto` (per detector column for raw
    /// pushbroom cubes, tiles for georeferenced mosaics, see [`is_mosaic`]),
    /// `columns`, `global` or `tiles:N`.
    #[serde(default)]
    pub stats: Statistics,
    /// Gas window (nm): the bands between these wavelengths are used.
    #[serde(default = "default_window")]
    pub window_nm: crate::window::Window,
    /// Ground sample distance (m) for cubes without georeferencing.
    #[serde(default)]
    pub gsd_m: Option<f64>,
    /// Detections closer than this (m) are merged into one site (default: 5 pixels of
    /// the coarsest flight line).
    #[serde(default)]
    pub merge_distance_m: Option<f64>,
    /// The detection-limit estimate.
    #[serde(default)]
    pub detection_limit: LimitConfig,
    /// Per-flight-line analysis: CFAR (`analysis.cfar.far` is the per-pixel false-alarm
    /// rate of the seed threshold), rejection, narrow-band check, source location,
    /// quantification, fragments, significance.
    #[serde(default)]
    pub analysis: PassParams,
    /// Estimate the background statistics a second time without the pixels the first
    /// pass flags as possible plume (smoothed normalised score above the growth
    /// threshold), as the stream keeps flagged pixels out of its statistics: a large
    /// plume otherwise inflates its columns' covariance along the gas signature and
    /// weakens its own response and every other plume's in those columns. Default
    /// false (one pass).
    #[serde(default)]
    pub exclude_plume_pixels: bool,
    /// Surface classes of class-conditional background statistics (a mean and
    /// covariance per class and detector column, [`plumewatch_core::detect::classes`]),
    /// for the matched filters (amf, mf) with per-column statistics; 0 keeps one set
    /// per column. Default 8, chosen by the detection benchmark (BENCHMARKS.md).
    /// Without class statistics (0, mag1c, tiles, global) the default vetting becomes
    /// the one fitted for per-column statistics
    /// ([`plumewatch_core::plume::vet::VettingParams::for_column_statistics`]).
    #[serde(default = "default_classes")]
    pub classes: usize,
    /// Divide the matched filters' z-score of pixels far outside their background
    /// statistics by how far ([`plumewatch_core::detect::outlier`]): surfaces the
    /// statistics do not hold — rare roofs and tarps, minerals whose absorption
    /// features overlap the gas's — stop standing out as gas. Default true; it applies
    /// to per-column and class statistics (pushbroom lines, where it was measured to
    /// cut false sites and find more sources) and not to tiles or global statistics
    /// (mosaics, frame images): on a simulated 0.5 m drone mosaic, where a source's
    /// pad spans many pixels, it lowered the plume over a pad below the operating
    /// point and gained nothing on the plume-free twin (BENCHMARKS.md). No effect on
    /// mag1c.
    #[serde(default = "default_true")]
    pub outlier_scaling: bool,
}

fn default_true() -> bool {
    true
}

fn default_classes() -> usize {
    8
}

fn default_gas() -> String {
    "ch4".into()
}

fn default_window() -> crate::window::Window {
    crate::window::Window::One(crate::window::CH4_WINDOW_2_3_UM)
}

impl ScanConfig {
    /// A configuration with every default for `flight_lines`.
    pub fn new(flight_lines: Vec<FlightLine>) -> Self {
        Self {
            flight_lines,
            gas: default_gas(),
            detector: Detector::default(),
            stats: Statistics::default(),
            window_nm: default_window(),
            gsd_m: None,
            merge_distance_m: None,
            detection_limit: LimitConfig::default(),
            analysis: PassParams::default(),
            exclude_plume_pixels: false,
            classes: default_classes(),
            outlier_scaling: true,
        }
    }

    /// Reads a configuration written by `--print-config` or `scan.json`'s `config`;
    /// relative cube and GLT paths are taken relative to the current directory.
    pub fn from_json(text: &str, path: &Path) -> Result<Self> {
        let config: Self = serde_json::from_str(text).map_err(|e| {
            Error::input(format!(
                "{}: scan configuration: {e} (expected the JSON that `plumewatch scan --print-config` writes)",
                path.display()
            ))
        })?;
        config
            .validate()
            .with_context(|| format!("{}", path.display()))?;
        Ok(config)
    }

    /// Reads a configuration file (see [`ScanConfig::from_json`]).
    pub fn read(path: &Path) -> Result<Self> {
        let text = plumewatch_io::read_small_text(path, "scan configuration")?;
        Self::from_json(&text, path)
    }

    /// The configuration as pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// Checks every value; the error names the field and what was expected.
    pub fn validate(&self) -> Result<()> {
        if self.flight_lines.is_empty() {
            bail!("flight_lines: expected at least one flight line");
        }
        if let Err(e) = self.window_nm.check() {
            bail!("window_nm: {e}");
        }
        if let Some(g) = self.gsd_m {
            if !(g.is_finite() && g > 0.0) {
                bail!("gsd_m: expected a positive number of metres, got {g}");
            }
        }
        if self.classes == 1 || self.classes > 64 {
            bail!(
                "classes: expected 0 (one set of statistics per column) or 2 to 64 surface classes, got {}",
                self.classes
            );
        }
        if let Some(d) = self.merge_distance_m {
            if !(d.is_finite() && d >= 0.0) {
                bail!("merge_distance_m: expected a distance ≥ 0 m, got {d}");
            }
        }
        if let Some(fs) = self
            .analysis
            .false_sites_per_km2
            .filter(|f| !(*f > 0.0 && f.is_finite()))
        {
            bail!(
                "analysis.false_sites_per_km2: expected a positive number of false sites per km², got {fs}"
            );
        }
        let per_scene = self.analysis.max_false_sites_per_scene;
        if !(per_scene >= 0.0 && per_scene.is_finite()) {
            bail!(
                "analysis.max_false_sites_per_scene: expected a number of false sites over the scene ≥ 0, got {per_scene}"
            );
        }
        let far = self.analysis.cfar.far;
        if !(far > 0.0 && far < 0.5) {
            bail!(
                "analysis.cfar.far: expected a per-pixel false-alarm rate in (0, 0.5), got {far}"
            );
        }
        self.analysis
            .cfar
            .seed_threshold()
            .context("analysis.cfar")?;
        if self.detection_limit.runs > 0 && self.detection_limit.per_run == 0 {
            bail!("detection_limit.per_run: expected at least 1 plume per run");
        }
        if self.gas.trim().is_empty() {
            bail!("gas: expected a gas name (ch4) or a LUT path");
        }
        let mut names = std::collections::BTreeSet::new();
        for (i, line) in self.flight_lines.iter().enumerate() {
            if let Some(w) = &line.wind {
                validate_wind(w).with_context(|| format!("flight_lines[{i}].wind"))?;
            }
            if let Some(n) = &line.name {
                if n.is_empty() || n.contains(['/', '\\']) || n.chars().any(char::is_control) {
                    bail!("flight_lines[{i}].name: {n:?}: expected a name without slashes or control characters");
                }
                if !names.insert(n.clone()) {
                    bail!("flight_lines[{i}].name: {n:?} is used by another flight line");
                }
            }
        }
        // The same cube twice would count its plumes twice as independent evidence.
        let mut seen: BTreeMap<PathBuf, usize> = BTreeMap::new();
        for (i, line) in self.flight_lines.iter().enumerate() {
            // An ENVI cube named by its header or by its data file is one cube.
            let named = if plumewatch_io::cube::is_envi(&line.cube) {
                plumewatch_io::envi::find_header_file(&line.cube)
                    .unwrap_or_else(|| line.cube.clone())
            } else {
                line.cube.clone()
            };
            let key = std::fs::canonicalize(&named).unwrap_or(named);
            if let Some(j) = seen.insert(key, i) {
                bail!(
                    "flight_lines[{i}].cube: {} is the same file as flight_lines[{j}]; each flight line must be scanned once (repeating a cube would double its evidence)",
                    line.cube.display()
                );
            }
        }
        Ok(())
    }

    /// Flight-line names used in outputs: given names, else the cube's file stem
    /// (`<folder>_radiance` for cubes named `radiance.*`), made unique with `_2`, `_3`.
    pub fn line_names(&self) -> Vec<String> {
        let mut names: Vec<String> = Vec::with_capacity(self.flight_lines.len());
        let given: Vec<&str> = self
            .flight_lines
            .iter()
            .filter_map(|l| l.name.as_deref())
            .collect();
        for line in &self.flight_lines {
            if let Some(n) = &line.name {
                names.push(n.clone());
                continue;
            }
            let c = &line.cube;
            let stem = c
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| "cube".into());
            let stem = if stem == "radiance" {
                c.parent()
                    .and_then(|p| p.file_name())
                    .map(|p| format!("{}_{stem}", p.to_string_lossy()))
                    .unwrap_or(stem)
            } else {
                stem
            };
            let stem: String = stem
                .chars()
                .map(|ch| if ch.is_control() { '_' } else { ch })
                .collect();
            let mut name = stem.clone();
            let mut k = 2;
            while names.contains(&name) || given.contains(&name.as_str()) {
                name = format!("{stem}_{k}");
                k += 1;
            }
            names.push(name);
        }
        names
    }
}

/// Checks a wind: finite speed in (0, 100] m/s, direction 0–360° (blowing from).
pub fn validate_wind(w: &Wind) -> Result<()> {
    if !(w.speed_m_s.is_finite() && w.speed_m_s > 0.0 && w.speed_m_s <= 100.0) {
        bail!(
            "speed_m_s: expected a wind speed in (0, 100] m/s, got {}",
            w.speed_m_s
        );
    }
    if !(w.from_deg.is_finite() && (0.0..=360.0).contains(&w.from_deg)) {
        bail!(
            "from_deg: expected 0–360 degrees (the direction the wind blows from), got {}",
            w.from_deg
        );
    }
    Ok(())
}

/// A wind file: one wind for every flight line (`{"speed_m_s": S, "from_deg": D}`) or
/// a default and winds per flight line keyed by cube file name
/// (`{"default": {...}, "passes": {"line1.hdr": {...}}}`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WindFile {
    /// Wind speed (m/s) for every flight line (with `from_deg`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub speed_m_s: Option<f64>,
    /// Direction the wind blows from (degrees) for every flight line (with `speed_m_s`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_deg: Option<f64>,
    /// Wind of the flight lines not named in `passes`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<StrictWind>,
    /// Wind per flight line, keyed by the cube's file name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub passes: BTreeMap<String, StrictWind>,
}

/// A wind in a wind file: both fields required, nothing else allowed.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StrictWind {
    /// Speed, m/s at 10 m.
    pub speed_m_s: f64,
    /// Direction the wind blows from, degrees.
    pub from_deg: f64,
}

impl From<StrictWind> for Wind {
    fn from(w: StrictWind) -> Self {
        Wind {
            speed_m_s: w.speed_m_s,
            from_deg: w.from_deg,
        }
    }
}

impl WindFile {
    /// Reads and checks a wind file.
    pub fn read(path: &Path) -> Result<Self> {
        let text = plumewatch_io::read_small_text(path, "wind file")?;
        Self::parse(&text, path)
    }

    /// Parses and checks the text of a wind file (`path` names it in messages).
    pub fn parse(text: &str, path: &Path) -> Result<Self> {
        // serde reads a struct from an array by field order too (`[3, 270]`); a wind
        // file has no lists, so any array is the wrong shape, not a wind.
        fn has_array(v: &serde_json::Value) -> bool {
            match v {
                serde_json::Value::Array(_) => true,
                serde_json::Value::Object(m) => m.values().any(has_array),
                _ => false,
            }
        }
        if serde_json::from_str::<serde_json::Value>(text).is_ok_and(|v| has_array(&v)) {
            bail!(
                "{}: wind file: holds a JSON array (expected {{\"speed_m_s\": S, \"from_deg\": D}} or {{\"default\": {{...}}, \"passes\": {{\"<cube file name>\": {{...}}}}}})",
                path.display()
            );
        }
        let file: Self = serde_json::from_str(text).map_err(|e| {
            Error::input(format!(
                "{}: wind file: {e} (expected {{\"speed_m_s\": S, \"from_deg\": D}} or {{\"default\": {{...}}, \"passes\": {{\"<cube file name>\": {{...}}}}}})",
                path.display()
            ))
        })?;
        let ctx = |field: &str| format!("{}: {field}", path.display());
        match (file.speed_m_s, file.from_deg) {
            (Some(s), Some(d)) => {
                if file.default.is_some() || !file.passes.is_empty() {
                    bail!("{}: expected either one wind (speed_m_s, from_deg) or default/passes, not both", path.display());
                }
                validate_wind(&Wind {
                    speed_m_s: s,
                    from_deg: d,
                })
                .with_context(|| ctx("wind"))?;
            }
            (None, None) => {
                if file.default.is_none() && file.passes.is_empty() {
                    bail!("{}: wind file: no wind given (expected speed_m_s and from_deg, or default and/or passes)", path.display());
                }
            }
            _ => bail!(
                "{}: wind file: speed_m_s and from_deg must be given together",
                path.display()
            ),
        }
        if let Some(w) = file.default {
            validate_wind(&w.into()).with_context(|| ctx("default"))?;
        }
        for (name, w) in &file.passes {
            validate_wind(&(*w).into()).with_context(|| ctx(&format!("passes.{name}")))?;
        }
        Ok(file)
    }

    /// The wind of the flight line whose cube is `cube` (by file name), if any.
    pub fn wind_for(&self, cube: &Path) -> Option<Wind> {
        if let (Some(s), Some(d)) = (self.speed_m_s, self.from_deg) {
            return Some(Wind {
                speed_m_s: s,
                from_deg: d,
            });
        }
        let name = cube.file_name()?.to_string_lossy().into_owned();
        self.passes
            .get(&name)
            .or(self.default.as_ref())
            .map(|w| (*w).into())
    }

    /// Names in `passes` that match none of `cubes` (probably a typo).
    pub fn unmatched(&self, cubes: &[PathBuf]) -> Vec<String> {
        self.passes
            .keys()
            .filter(|k| {
                !cubes
                    .iter()
                    .any(|c| c.file_name().is_some_and(|n| n.to_string_lossy() == **k))
            })
            .cloned()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_round_trips_through_json() {
        let mut c = ScanConfig::new(vec![FlightLine {
            wind: Some(Wind {
                speed_m_s: 6.0,
                from_deg: 300.0,
            }),
            ..FlightLine::new("a/radiance.hdr")
        }]);
        c.detector = Detector::Mag1c;
        c.stats = Statistics::Tiles(4);
        c.analysis.cfar.far = 1e-5;
        assert!(
            c.to_json().contains(r#""stats": "tiles:4""#),
            "{}",
            c.to_json()
        );
        let back = ScanConfig::from_json(&c.to_json(), Path::new("c.json")).unwrap();
        assert_eq!(back, c);
        // Found by the 30 CPU-minute JSON fuzz run: without serde_json's exact float
        // parser, 0.9007199254740992 read back as ...993, so a configuration written
        // next to a scan did not reproduce it.
        c.analysis.source.upwind_fraction = 0.9007199254740992;
        let back = ScanConfig::from_json(&c.to_json(), Path::new("c.json")).unwrap();
        assert_eq!(
            back.analysis.source.upwind_fraction.to_bits(),
            0.9007199254740992f64.to_bits()
        );
        assert_eq!(back, c);
    }

    /// The operating point reads back, `null` as the Gaussian limit, and a scene floor
    /// that is not a count is refused with the field's name.
    #[test]
    fn the_operating_point_round_trips_and_bad_floors_are_refused() {
        let mut c = ScanConfig::new(vec![FlightLine::new("a/radiance.hdr")]);
        assert_eq!(c.analysis.false_sites_per_km2, Some(0.1));
        c.analysis.false_sites_per_km2 = None;
        let json = c.to_json();
        assert!(json.contains(r#""false_sites_per_km2": null"#), "{json}");
        let back = ScanConfig::from_json(&json, Path::new("c.json")).unwrap();
        assert_eq!(back.analysis.false_sites_per_km2, None);
        for bad in [-1.0, f64::NAN] {
            c.analysis.max_false_sites_per_scene = bad;
            let err = c.validate().unwrap_err().to_string();
            assert!(err.contains("max_false_sites_per_scene"), "{err}");
        }
    }

    #[test]
    fn statistics_parse_and_print_the_same_words() {
        for (text, stats) in [
            ("auto", Statistics::Auto),
            ("columns", Statistics::Columns),
            ("global", Statistics::Global),
            ("tiles:8", Statistics::Tiles(8)),
        ] {
            assert_eq!(text.parse::<Statistics>(), Ok(stats));
            assert_eq!(stats.to_string(), text);
        }
        for bad in ["tiles:0", "tiles:x", "tiles:", "rows", "tiles:-1", ""] {
            let e = bad.parse::<Statistics>().unwrap_err();
            assert!(e.contains("tiles:N"), "{bad}: {e}");
        }
        let e = ScanConfig::from_json(
            r#"{"flight_lines": [{"cube": "a.hdr"}], "stats": "tiles:0"}"#,
            Path::new("c.json"),
        )
        .unwrap_err();
        assert!(e.to_string().contains("tiles:N"), "{e}");
    }

    /// The automatic choice: detector columns for raw pushbroom cubes (no
    /// georeferencing, map info without a collar value, or a GLT), tiles for mosaics,
    /// fewer tiles on a small mosaic.
    #[test]
    fn automatic_statistics_follow_the_geometry_of_the_cube() {
        let mut meta = plumewatch_io::CubeMeta {
            path: "m.hdr".into(),
            format: "ENVI".into(),
            lines: 2000,
            samples: 2000,
            bands: 100,
            wavelength_nm: None,
            fwhm_nm: None,
            bad_bands: None,
            nodata: None,
            georef: None,
            band_names: None,
            description: None,
        };
        let auto = Statistics::Auto;
        assert_eq!(auto.resolve(&meta, false, 60, 1), Grouping::Columns(1));
        meta.georef = Some(plumewatch_io::GeoRef {
            geo_transform: [0.0, 0.5, 0.0, 0.0, 0.0, -0.5],
            wkt: None,
        });
        // Map info without a collar value: raw radiance with approximate map info.
        assert_eq!(auto.resolve(&meta, false, 60, 1), Grouping::Columns(1));
        meta.nodata = Some(-9999.0);
        assert_eq!(auto.resolve(&meta, false, 60, 1), Grouping::Tiles(8));
        assert_eq!(auto.resolve(&meta, true, 60, 1), Grouping::Columns(1));
        (meta.lines, meta.samples) = (100, 60);
        // 600 pixels per tile needed: 4 × 4 tiles of 25 × 15 = 375 are too few, 3 × 3
        // of 33 × 20 = 660 enough.
        assert_eq!(auto.resolve(&meta, false, 60, 1), Grouping::Tiles(3));
        (meta.georef, meta.nodata) = (None, None);
        meta.format = "GTiff".into();
        assert_eq!(auto.resolve(&meta, false, 60, 1), Grouping::Tiles(3));
        assert_eq!(
            Statistics::Columns.resolve(&meta, false, 60, 3),
            Grouping::Columns(3)
        );
    }

    #[test]
    fn unknown_config_fields_are_refused_with_the_field_named() {
        let e = ScanConfig::from_json(
            r#"{"flight_lines": [{"cube": "a.hdr"}], "detectr": "mf"}"#,
            Path::new("c.json"),
        )
        .unwrap_err();
        assert!(e.to_string().contains("detectr"), "{e}");
        assert!(e.to_string().starts_with("c.json"), "{e}");
    }

    #[test]
    fn wind_file_with_unknown_key_is_an_error_not_no_wind() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("wind.json");
        std::fs::write(&p, r#"{"speed": 3, "from_deg": 270}"#).unwrap();
        let e = WindFile::read(&p).unwrap_err();
        assert!(e.to_string().contains("speed"), "{e}");
        std::fs::write(&p, r#"{"default": {"speed_m_s": 1e30, "from_deg": 10}}"#).unwrap();
        let e = WindFile::read(&p).unwrap_err();
        assert!(e.to_string().contains("default"), "{e}");
    }

    #[test]
    fn line_names_are_unique_and_use_the_folder_for_radiance_cubes() {
        let c = ScanConfig::new(vec![
            FlightLine::new("x/emit_small/radiance.hdr"),
            FlightLine::new("y/emit_small/radiance.hdr"),
            FlightLine::new("line7.hdr"),
        ]);
        assert_eq!(
            c.line_names(),
            ["emit_small_radiance", "emit_small_radiance_2", "line7"]
        );
    }
}
