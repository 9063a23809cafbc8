//! Rasters through GDAL: a [`RadianceCube`] for every format the native ENVI reader
//! does not cover (GeoTIFF, EMIT L1B NetCDF, HDF5, ...), Cloud-Optimized GeoTIFF output
//! and single-band reads.
//!
//! EMIT L1B radiance NetCDF is read through GDAL's multidimensional API: the `radiance`
//! array (downtrack × crosstrack × bands, which is already line × sample × band) and
//! `wavelengths` / `fwhm` from the `sensor_band_parameters` group. Other files are read
//! as classic GDAL rasters (x = sample, y = line, raster bands = spectral bands).

use crate::cube::{CubeMeta, GeoRef, RadianceCube};
use crate::{atomic, Error, Result};
use gdal::errors::GdalError;
use gdal::raster::{Buffer, RasterCreationOptions};
use gdal::{Dataset, DatasetOptions, DriverManager, GdalOpenFlags, Metadata};
use std::path::Path;
use std::sync::{Mutex, Once};

/// One output band: `data` is lines × samples, row-major (line slowest).
#[derive(Debug, Clone, Copy)]
pub struct OutputBand<'a> {
    /// `lines × samples` values, line slowest.
    pub data: &'a [f32],
    /// What the band holds (`"CH4 enhancement"`); written as the band description.
    pub description: &'a str,
    /// The band's unit (`"ppm·m"`); written as band metadata item `UNITS`.
    pub unit: &'a str,
}

/// Keeps GDAL from printing its own error messages on stderr: plumewatch reports every
/// failure once, through its own error type.
fn quiet_gdal() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| gdal::config::set_error_handler(|_, _, _| {}));
}

fn gdal_err(path: &Path) -> impl Fn(GdalError) -> Error + '_ {
    move |e| Error::Gdal {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

/// Opens `path` as a classic raster, with GDAL's own reason when it cannot.
fn open_raster(path: &Path) -> Result<Dataset> {
    let opts = DatasetOptions {
        open_flags: GdalOpenFlags::GDAL_OF_RASTER
            | GdalOpenFlags::GDAL_OF_READONLY
            | GdalOpenFlags::GDAL_OF_VERBOSE_ERROR,
        ..Default::default()
    };
    Dataset::open_ex(path, opts).map_err(|e| {
        let detail = match &e {
            GdalError::NullPointer { msg, .. } if !msg.is_empty() => msg.clone(),
            other => other.to_string(),
        };
        Error::format(
            path,
            "format",
            format!(
                "GDAL cannot read it as a raster ({}); expected an ENVI header or data file, GeoTIFF, NetCDF, HDF5 or another GDAL raster format",
                detail.trim().trim_end_matches('.')
            ),
        )
    })
}

fn check_input_path(path: &Path) -> Result<()> {
    crate::cube::check_input_file(path, "a raster file")?;
    // Surface "not found" / "permission denied" as the OS says it, before GDAL turns
    // them into "not recognized as a supported file format".
    std::fs::File::open(path).map_err(|e| Error::io(path, "cannot open", e))?;
    Ok(())
}

/// How the values of a [`GdalCube`] are laid out.
#[derive(Debug)]
enum Layout {
    /// Classic raster: one GDAL band per spectral band; per band (scale, offset, nodata).
    Classic(Vec<(f64, f64, Option<f64>)>),
    /// Multidimensional array `name` (line, sample, band) in a NetCDF/HDF5 file.
    MdArray { name: String, nodata: Option<f64> },
}

/// A radiance cube read through GDAL.
///
/// GDAL datasets are not thread-safe, so reads are serialised by a mutex: fine for
/// GeoTIFF and NetCDF inputs, whose decoding dominates; ENVI files use the lock-free
/// native [`crate::envi::EnviCube`].
pub struct GdalCube {
    meta: CubeMeta,
    data_type: String,
    interleave: Option<String>,
    layout: Layout,
    dataset: Mutex<Dataset>,
    scratch: Mutex<Vec<f32>>,
}

impl std::fmt::Debug for GdalCube {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GdalCube")
            .field("meta", &self.meta)
            .field("layout", &self.layout)
            .finish_non_exhaustive()
    }
}

impl GdalCube {
    /// Opens `path` with GDAL. NetCDF/HDF5 files with a 3-D `radiance` array (EMIT L1B)
    /// are read through the multidimensional API; everything else as a classic raster.
    pub fn open(path: &Path) -> Result<Self> {
        quiet_gdal();
        check_input_path(path)?;
        if let Some(cube) = Self::open_emit(path)? {
            return Ok(cube);
        }
        let ds = open_raster(path)?;
        let (samples, lines) = ds.raster_size();
        let bands = ds.raster_count();
        if samples == 0 || lines == 0 || bands == 0 {
            let subs = ds
                .metadata_domain("SUBDATASETS")
                .unwrap_or_default()
                .into_iter()
                .filter(|s| s.contains("_NAME="))
                .filter_map(|s| s.split_once('=').map(|(_, v)| v.to_string()))
                .collect::<Vec<_>>();
            return Err(Error::format(
                path,
                "raster",
                if subs.is_empty() {
                    format!("has {samples} × {lines} pixels and {bands} bands (expected a non-empty raster)")
                } else {
                    format!(
                        "holds subdatasets, not one raster (open one of: {})",
                        subs.join(", ")
                    )
                },
            ));
        }
        // Buffers are sized from the declared dimensions: refuse sizes this machine cannot
        // hold before allocating (a clear error, not an allocation abort).
        let line_bytes = (samples as u128) * (bands as u128) * 8;
        if let Some(msg) = crate::memory::check_fits(line_bytes * 4, "one line of this raster") {
            return Err(Error::format(
                path,
                "raster size",
                format!("{samples} samples × {bands} bands per line: {msg}"),
            ));
        }
        let mut per_band = Vec::with_capacity(bands);
        let mut wavelength = Vec::with_capacity(bands);
        let mut fwhm = Vec::with_capacity(bands);
        let mut names = Vec::with_capacity(bands);
        for b in 1..=bands {
            let band = ds.rasterband(b).map_err(gdal_err(path))?;
            per_band.push((
                band.scale().unwrap_or(1.0),
                band.offset().unwrap_or(0.0),
                band.no_data_value(),
            ));
            let units = band
                .metadata_item("wavelength_units", "")
                .or_else(|| ds.metadata_item("wavelength_units", ""));
            let scale = match units.as_deref().map(str::to_ascii_lowercase).as_deref() {
                Some("micrometers" | "micrometer" | "microns" | "um") => 1000.0,
                _ => 1.0,
            };
            let num = |key: &str| {
                band.metadata_item(key, "")
                    .or_else(|| band.metadata_item(&key.to_ascii_uppercase(), ""))
                    .and_then(|v| v.trim().parse::<f64>().ok())
                    .map(|x| x * scale)
            };
            wavelength.push(num("wavelength"));
            fwhm.push(num("fwhm"));
            names.push(band.description().unwrap_or_default());
        }
        let all = |v: Vec<Option<f64>>| v.into_iter().collect::<Option<Vec<f64>>>();
        let georef = ds.geo_transform().ok().map(|t| GeoRef {
            geo_transform: t,
            wkt: Some(ds.projection()).filter(|w| !w.is_empty()),
        });
        let nodata = per_band.first().and_then(|p| p.2);
        let meta = CubeMeta {
            path: path.to_path_buf(),
            format: ds.driver().short_name(),
            lines,
            samples,
            bands,
            wavelength_nm: all(wavelength),
            fwhm_nm: all(fwhm),
            bad_bands: None,
            nodata,
            georef,
            band_names: Some(names).filter(|n| n.iter().any(|s| !s.is_empty())),
            description: None,
        };
        let data_type = ds
            .rasterband(1)
            .map(|b| gdal_type_name(&b.band_type().name()))
            .unwrap_or_default();
        let interleave = ds.metadata_item("INTERLEAVE", "IMAGE_STRUCTURE").map(|i| {
            match i.to_ascii_uppercase().as_str() {
                "PIXEL" => "bip".to_string(),
                "LINE" => "bil".to_string(),
                "BAND" => "bsq".to_string(),
                _ => i.to_ascii_lowercase(),
            }
        });
        Ok(Self {
            meta,
            data_type,
            interleave,
            layout: Layout::Classic(per_band),
            dataset: Mutex::new(ds),
            scratch: Mutex::new(Vec::new()),
        })
    }

    /// EMIT-style NetCDF/HDF5: a 3-D `radiance` array at the root.
    fn open_emit(path: &Path) -> Result<Option<Self>> {
        let opts = DatasetOptions {
            open_flags: GdalOpenFlags::GDAL_OF_MULTIDIM_RASTER | GdalOpenFlags::GDAL_OF_READONLY,
            ..Default::default()
        };
        let Ok(ds) = Dataset::open_ex(path, opts) else {
            return Ok(None);
        };
        let meta = {
            let Ok(root) = ds.root_group() else {
                return Ok(None);
            };
            let Ok(rad) = root.open_md_array("radiance", Default::default()) else {
                return Ok(None);
            };
            let dims = rad.dimensions().map_err(gdal_err(path))?;
            if dims.len() != 3 {
                return Err(Error::format(
                    path,
                    "radiance",
                    format!(
                        "has {} dimensions (expected 3: downtrack, crosstrack, bands)",
                        dims.len()
                    ),
                ));
            }
            let (lines, samples, bands) = (dims[0].size(), dims[1].size(), dims[2].size());
            if lines == 0 || samples == 0 || bands == 0 {
                return Err(Error::format(
                    path,
                    "radiance",
                    format!("has shape {lines} × {samples} × {bands} (expected no zero-sized dimension)"),
                ));
            }
            let nodata = rad.no_data_value_as_double();
            let dtype = rad.datatype();
            let data_type = if dtype.class().is_numeric() {
                gdal::raster::GdalDataType::try_from(dtype.numeric_datatype())
                    .map(|t| gdal_type_name(&t.name()))
                    .unwrap_or_else(|_| dtype.name())
            } else {
                dtype.name()
            };
            let table = |name: &str| -> Result<Option<Vec<f64>>> {
                let Ok(group) = root.open_group("sensor_band_parameters", Default::default())
                else {
                    return Ok(None);
                };
                let Ok(arr) = group.open_md_array(name, Default::default()) else {
                    return Ok(None);
                };
                let n = arr.num_elements() as usize;
                if n != bands {
                    return Err(Error::format(
                        path,
                        format!("sensor_band_parameters/{name}"),
                        format!("has {n} values (expected one per band: {bands})"),
                    ));
                }
                let v: Vec<f64> = arr
                    .read_as::<f64>(vec![0], vec![n])
                    .map_err(gdal_err(path))?;
                let unit = arr.unit().to_ascii_lowercase();
                let scale = if unit.starts_with("micro") || unit == "um" {
                    1000.0
                } else {
                    1.0
                };
                Ok(Some(v.into_iter().map(|x| x * scale).collect()))
            };
            let wavelength_nm = table("wavelengths")?;
            let fwhm_nm = table("fwhm")?;
            let bad_bands =
                table("good_wavelengths")?.map(|g| g.iter().map(|&x| x != 0.0).collect());
            let description = root
                .attribute("summary")
                .ok()
                .map(|a| a.read_as_string())
                .filter(|s| !s.is_empty());
            (
                CubeMeta {
                    path: path.to_path_buf(),
                    format: ds.driver().short_name(),
                    lines,
                    samples,
                    bands,
                    wavelength_nm,
                    fwhm_nm,
                    bad_bands,
                    nodata,
                    // EMIT L1B radiance is in raw instrument geometry: its `geotransform`
                    // attribute describes the GLT output grid, not these pixels.
                    georef: None,
                    band_names: None,
                    description,
                },
                nodata,
                data_type,
            )
        };
        let (meta, nodata, data_type) = meta;
        Ok(Some(Self {
            meta,
            data_type,
            // (downtrack, crosstrack, bands) is band-interleaved-by-pixel.
            interleave: Some("bip".into()),
            layout: Layout::MdArray {
                name: "radiance".into(),
                nodata,
            },
            dataset: Mutex::new(ds),
            scratch: Mutex::new(Vec::new()),
        }))
    }

    /// The stored data type, lower-case GDAL name (`"float32"`, `"int16"`, ...).
    pub fn data_type(&self) -> &str {
        &self.data_type
    }

    /// The storage interleave as `"bsq"`, `"bil"` or `"bip"`, when GDAL reports it.
    pub fn interleave(&self) -> Option<&str> {
        self.interleave.as_deref()
    }

    fn read_line_io(&self, line: usize, bands: &[usize], out: &mut [f32]) -> Result<()> {
        let m = &self.meta;
        let path = m.path.as_path();
        if line >= m.lines {
            return Err(Error::format(
                path,
                "line",
                format!("line {line} is outside 0..{}", m.lines),
            ));
        }
        if let Some(&b) = bands.iter().find(|&&b| b >= m.bands) {
            return Err(Error::format(
                path,
                "band",
                format!("band index {b} is outside 0..{}", m.bands),
            ));
        }
        let nb = bands.len();
        if out.len() != m.samples * nb {
            return Err(Error::format(
                path,
                "line buffer",
                format!(
                    "has {} values (expected samples × bands = {} × {nb})",
                    out.len(),
                    m.samples
                ),
            ));
        }
        if nb == 0 {
            return Ok(());
        }
        let ds = self.dataset.lock().unwrap_or_else(|e| e.into_inner());
        let mut scratch = self.scratch.lock().unwrap_or_else(|e| e.into_inner());
        match &self.layout {
            Layout::Classic(per_band) => {
                scratch.resize(m.samples, 0.0);
                for (k, &b) in bands.iter().enumerate() {
                    let band = ds.rasterband(b + 1).map_err(gdal_err(path))?;
                    band.read_into_slice::<f32>(
                        (0, line as isize),
                        (m.samples, 1),
                        (m.samples, 1),
                        &mut scratch[..],
                        None,
                    )
                    .map_err(gdal_err(path))?;
                    let (scale, offset, nodata) = per_band[b];
                    let nodata = nodata.map(|x| x as f32);
                    for (d, &v) in out[k..].iter_mut().step_by(nb).zip(scratch.iter()) {
                        *d = if nodata == Some(v) {
                            f32::NAN
                        } else if scale == 1.0 && offset == 0.0 {
                            v
                        } else {
                            (f64::from(v) * scale + offset) as f32
                        };
                    }
                }
            }
            Layout::MdArray { name, nodata } => {
                let root = ds.root_group().map_err(gdal_err(path))?;
                let arr = root
                    .open_md_array(name, Default::default())
                    .map_err(gdal_err(path))?;
                scratch.resize(m.samples * m.bands, 0.0);
                arr.read_into_slice::<f32>(
                    &mut scratch[..],
                    vec![line as u64, 0, 0],
                    vec![1, m.samples, m.bands],
                )
                .map_err(gdal_err(path))?;
                let nodata = nodata.map(|x| x as f32);
                for (px, dst) in scratch.chunks_exact(m.bands).zip(out.chunks_exact_mut(nb)) {
                    for (d, &b) in dst.iter_mut().zip(bands) {
                        let v = px[b];
                        *d = if nodata == Some(v) { f32::NAN } else { v };
                    }
                }
            }
        }
        Ok(())
    }
}

impl plumewatch_core::LineSource for GdalCube {
    fn lines(&self) -> usize {
        self.meta.lines
    }
    fn samples(&self) -> usize {
        self.meta.samples
    }
    fn bands(&self) -> usize {
        self.meta.bands
    }
    fn read_line(
        &self,
        line: usize,
        bands: &[usize],
        out: &mut [f32],
    ) -> plumewatch_core::Result<()> {
        Ok(self.read_line_io(line, bands, out)?)
    }
}

impl RadianceCube for GdalCube {
    fn meta(&self) -> &CubeMeta {
        &self.meta
    }
}

/// Opens PROJ's CRS database on a background thread, for a command that will
/// georeference outputs later. The first use of the database in a process costs
/// 5–10 ms when its file is in the page cache and tens of milliseconds when it is read
/// from disk; the handle is then shared by every thread, so this hides that behind the
/// caller's own work. Failures are left to the later use to report.
///
/// Keep the guard until the command ends: dropping it waits for the thread, so the
/// process never exits (running GDAL's and PROJ's static destructors) while the thread
/// is inside them.
#[must_use = "dropping the guard waits for the thread at once"]
pub fn open_crs_database_in_background() -> CrsDatabaseWarmup {
    CrsDatabaseWarmup(Some(std::thread::spawn(|| {
        quiet_gdal();
        let _ = gdal::spatial_ref::SpatialRef::from_epsg(4326);
    })))
}

/// Guard of [`open_crs_database_in_background`]: waits for the thread when dropped.
pub struct CrsDatabaseWarmup(Option<std::thread::JoinHandle<()>>);

impl Drop for CrsDatabaseWarmup {
    fn drop(&mut self) {
        if let Some(t) = self.0.take() {
            let _ = t.join();
        }
    }
}

/// Writes a float32 Cloud-Optimized GeoTIFF atomically, with georeferencing, nodata,
/// band descriptions and band metadata item `UNITS`: 256 × 256 tiles, ZSTD level 1
/// compressed on every core, and internal overviews (factors 2, 4, … until a level fits
/// one tile) that are nodata-aware block means computed here in parallel — GDAL's own
/// overview pass (a temporary file, compressed twice) cost more than the full-resolution
/// data. No predictor: on detection maps the floating-point predictor made files larger
/// and slower to write (BENCHMARKS.md).
///
/// The overviews are means: for continuous quantities. Categorical rasters (plume ids,
/// masks) go through [`write_cog_with_overviews`] with [`Overviews::Categorical`].
pub fn write_cog(
    path: &Path,
    lines: usize,
    samples: usize,
    bands: &[OutputBand],
    georef: Option<&GeoRef>,
    nodata: Option<f64>,
) -> Result<()> {
    write_cog_with_overviews(path, lines, samples, bands, georef, nodata, Overviews::Mean)
}

/// How the overview levels of a COG are computed from the full-resolution values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Overviews {
    /// Mean of the valid values of each block: continuous quantities (radiance,
    /// enhancement, z).
    #[default]
    Mean,
    /// Mode (most frequent valid value) of each block, ties to the larger value so a
    /// small plume stays visible: categorical rasters (plume ids, masks). Every overview
    /// value is a value of the input, never an average of ids.
    Categorical,
}

/// [`write_cog`] with the overview resampling chosen by `overviews`.
pub fn write_cog_with_overviews(
    path: &Path,
    lines: usize,
    samples: usize,
    bands: &[OutputBand],
    georef: Option<&GeoRef>,
    nodata: Option<f64>,
    overviews: Overviews,
) -> Result<()> {
    quiet_gdal();
    if lines == 0 || samples == 0 || bands.is_empty() {
        return Err(Error::format(
            path,
            "dimensions",
            format!(
                "{lines} lines × {samples} samples × {} bands (expected all positive)",
                bands.len()
            ),
        ));
    }
    if let Some((i, b)) = bands
        .iter()
        .enumerate()
        .find(|(_, b)| b.data.len() != lines * samples)
    {
        return Err(Error::format(
            path,
            format!("band {}", i + 1),
            format!(
                "has {} values (expected lines × samples = {})",
                b.data.len(),
                lines * samples
            ),
        ));
    }
    let err = gdal_err(path);
    let mem = DriverManager::get_driver_by_name("MEM").map_err(&err)?;
    let mut ds = mem
        .create_with_band_type::<f32, _>("", samples, lines, bands.len())
        .map_err(&err)?;
    if let Some(g) = georef {
        ds.set_geo_transform(&g.geo_transform).map_err(&err)?;
        if let Some(wkt) = &g.wkt {
            ds.set_projection(wkt).map_err(&err)?;
        }
    }
    for (i, b) in bands.iter().enumerate() {
        let mut band = ds.rasterband(i + 1).map_err(&err)?;
        // In strips through one small buffer, not a full-size copy of every band.
        let strip = (STRIP_VALUES / samples).clamp(1, lines);
        let mut buf = Buffer::new((samples, strip), vec![0f32; samples * strip]);
        for y0 in (0..lines).step_by(strip) {
            let h = strip.min(lines - y0);
            if h != strip {
                buf = Buffer::new((samples, h), vec![0f32; samples * h]);
            }
            buf.data_mut()
                .copy_from_slice(&b.data[y0 * samples..(y0 + h) * samples]);
            band.write((0, y0 as isize), (samples, h), &mut buf)
                .map_err(&err)?;
        }
        if let Some(v) = nodata {
            band.set_no_data_value(Some(v)).map_err(&err)?;
        }
        band.set_description(b.description).map_err(&err)?;
        if !b.unit.is_empty() {
            band.set_metadata_item("UNITS", b.unit, "").map_err(&err)?;
        }
    }
    let factors = overview_factors(lines, samples, COG_TILE);
    if !factors.is_empty() {
        let levels: Vec<i32> = factors.iter().map(|&f| f as i32).collect();
        // "NONE" allocates the overview bands without computing them.
        ds.build_overviews("NONE", &levels, &[]).map_err(&err)?;
        for (i, b) in bands.iter().enumerate() {
            let band = ds.rasterband(i + 1).map_err(&err)?;
            let levels: Vec<(usize, usize, Vec<f32>)> = match overviews {
                Overviews::Mean => BlockSums::first(b.data, lines, samples, nodata)
                    .pyramid(factors.len())
                    .into_iter()
                    .map(|level| level.means(nodata))
                    .collect(),
                Overviews::Categorical => factors
                    .iter()
                    .map(|&f| block_modes(b.data, lines, samples, f, nodata))
                    .collect(),
            };
            for ((k, &f), (h, w, data)) in factors.iter().enumerate().zip(levels) {
                let mut ov = band.overview(k).map_err(&err)?;
                if ov.size() != (w, h) {
                    let (gw, gh) = ov.size();
                    return Err(Error::format(
                        path,
                        format!("overview at factor {f}"),
                        format!("GDAL made it {gw} × {gh} (expected {w} × {h})"),
                    ));
                }
                let mut buf = Buffer::new((w, h), data);
                ov.write((0, 0), (w, h), &mut buf).map_err(&err)?;
            }
        }
    }
    let cog = DriverManager::get_driver_by_name("COG").map_err(&err)?;
    let tile = format!("BLOCKSIZE={COG_TILE}");
    let opts = RasterCreationOptions::from_iter([
        "COMPRESS=ZSTD",
        "LEVEL=1",
        "NUM_THREADS=ALL_CPUS",
        "BIGTIFF=IF_SAFER",
        tile.as_str(),
        if factors.is_empty() {
            "OVERVIEWS=NONE"
        } else {
            "OVERVIEWS=FORCE_USE_EXISTING"
        },
    ]);
    atomic::write_atomically(path, |tmp| {
        // Errors name the final path: the temporary name means nothing to the user.
        let out = ds.create_copy(&cog, tmp, &opts).map_err(gdal_err(path))?;
        out.close().map_err(gdal_err(path))
    })
}

/// A radiance cube to write as a GeoTIFF with [`write_geotiff_cube`].
#[derive(Debug, Clone, Copy)]
pub struct GeoTiffCube<'a> {
    /// Lines (raster rows).
    pub lines: usize,
    /// Samples (raster columns).
    pub samples: usize,
    /// Bands.
    pub bands: usize,
    /// Values, `lines × samples × bands`, band fastest (band-interleaved-by-pixel
    /// order), µW cm⁻² sr⁻¹ nm⁻¹ for radiance.
    pub data: &'a [f32],
    /// Band centres, nm (band metadata item `wavelength`, `wavelength_units` =
    /// `nanometers`, as the GeoTIFF reader expects).
    pub wavelength_nm: &'a [f64],
    /// Band FWHM, nm (band metadata item `fwhm`).
    pub fwhm_nm: &'a [f64],
    /// The nodata value declared on every band (its pixels read back as NaN).
    pub nodata: Option<f64>,
    /// Geotransform and CRS.
    pub georef: Option<&'a GeoRef>,
    /// Free text written as the TIFF image description.
    pub description: &'a str,
}

/// Lines transposed to band planes per block by [`write_geotiff_cube`].
const GEOTIFF_BLOCK_LINES: usize = 64;

/// Writes a radiance cube as an uncompressed, band-interleaved, striped GeoTIFF,
/// atomically (temporary name, renamed when complete), with the band centres and FWHM
/// as band metadata and the nodata value on every band. The cube is transposed to band
/// planes 64 lines at a time: no full-size copy. BigTIFF when the file needs it.
///
/// Band-interleaved strips keep the line-by-line reads of [`GdalCube`] cheap: one line
/// of one band is one contiguous run of the file.
pub fn write_geotiff_cube(path: &Path, cube: &GeoTiffCube<'_>) -> Result<()> {
    quiet_gdal();
    let (lines, samples, nb) = (cube.lines, cube.samples, cube.bands);
    if lines == 0 || samples == 0 || nb == 0 {
        return Err(Error::format(
            path,
            "dimensions",
            format!("{lines} lines × {samples} samples × {nb} bands (expected all positive)"),
        ));
    }
    for (what, len) in [
        ("values", cube.data.len()),
        ("band centres", cube.wavelength_nm.len() * lines * samples),
        ("FWHM", cube.fwhm_nm.len() * lines * samples),
    ] {
        if len != lines * samples * nb {
            return Err(Error::format(
                path,
                what,
                format!("do not match {lines} lines × {samples} samples × {nb} bands"),
            ));
        }
    }
    use rayon::prelude::*;
    let driver = DriverManager::get_driver_by_name("GTiff").map_err(gdal_err(path))?;
    let opts = RasterCreationOptions::from_iter([
        "INTERLEAVE=BAND",
        "TILED=NO",
        "COMPRESS=NONE",
        "BIGTIFF=IF_NEEDED",
    ]);
    atomic::write_atomically(path, |tmp| {
        let err = gdal_err(path);
        let mut ds = driver
            .create_with_band_type_with_options::<f32, _>(tmp, samples, lines, nb, &opts)
            .map_err(&err)?;
        if let Some(g) = cube.georef {
            ds.set_geo_transform(&g.geo_transform).map_err(&err)?;
            if let Some(wkt) = &g.wkt {
                ds.set_projection(wkt).map_err(&err)?;
            }
        }
        if !cube.description.is_empty() {
            ds.set_metadata_item("TIFFTAG_IMAGEDESCRIPTION", cube.description, "")
                .map_err(&err)?;
        }
        ds.set_metadata_item("wavelength_units", "nanometers", "")
            .map_err(&err)?;
        for b in 0..nb {
            let mut band = ds.rasterband(b + 1).map_err(&err)?;
            band.set_metadata_item("wavelength", &cube.wavelength_nm[b].to_string(), "")
                .map_err(&err)?;
            band.set_metadata_item("fwhm", &cube.fwhm_nm[b].to_string(), "")
                .map_err(&err)?;
            band.set_metadata_item("wavelength_units", "nanometers", "")
                .map_err(&err)?;
            band.set_description(&format!("{:.2} nm", cube.wavelength_nm[b]))
                .map_err(&err)?;
            if let Some(v) = cube.nodata {
                band.set_no_data_value(Some(v)).map_err(&err)?;
            }
        }
        let mut planes = vec![0f32; GEOTIFF_BLOCK_LINES * samples * nb];
        for y0 in (0..lines).step_by(GEOTIFF_BLOCK_LINES) {
            let h = GEOTIFF_BLOCK_LINES.min(lines - y0);
            let block = &cube.data[y0 * samples * nb..(y0 + h) * samples * nb];
            planes[..h * samples * nb]
                .par_chunks_mut(h * samples)
                .enumerate()
                .for_each(|(b, plane)| {
                    for (d, px) in plane.iter_mut().zip(block.chunks_exact(nb)) {
                        *d = px[b];
                    }
                });
            for b in 0..nb {
                let mut band = ds.rasterband(b + 1).map_err(&err)?;
                let plane = planes[b * h * samples..(b + 1) * h * samples].to_vec();
                let mut buf = Buffer::new((samples, h), plane);
                band.write((0, y0 as isize), (samples, h), &mut buf)
                    .map_err(&err)?;
            }
        }
        ds.close().map_err(&err)
    })
}

/// The mode of the valid values (not NaN, not `nodata`) of each `f × f` block of the
/// `lines × samples` values, ties to the larger value; `nodata` (or NaN) where a block
/// has none. Returns (blocks down, blocks across, modes).
fn block_modes(
    data: &[f32],
    lines: usize,
    samples: usize,
    f: usize,
    nodata: Option<f64>,
) -> (usize, usize, Vec<f32>) {
    use rayon::prelude::*;
    let fill = nodata.map_or(f32::NAN, |v| v as f32);
    let valid = |v: f32| !v.is_nan() && v != fill;
    let (h, w) = (lines.div_ceil(f), samples.div_ceil(f));
    let rows: Vec<Vec<f32>> = (0..h)
        .into_par_iter()
        .map(|by| {
            let mut values = Vec::with_capacity(f * f);
            (0..w)
                .map(|bx| {
                    values.clear();
                    for y in by * f..((by + 1) * f).min(lines) {
                        let row = &data[y * samples..(y + 1) * samples];
                        let cols = bx * f..((bx + 1) * f).min(samples);
                        values.extend(row[cols].iter().copied().filter(|&v| valid(v)));
                    }
                    values.sort_by(f32::total_cmp);
                    // Runs of equal values; the longest wins, the later (larger) on ties.
                    let mut best = (0usize, fill);
                    let mut start = 0;
                    for i in 1..=values.len() {
                        if i == values.len() || values[i] != values[start] {
                            if i - start >= best.0 {
                                best = (i - start, values[start]);
                            }
                            start = i;
                        }
                    }
                    best.1
                })
                .collect()
        })
        .collect();
    (h, w, rows.concat())
}

/// Values per strip when copying a band into GDAL's in-memory dataset.
const STRIP_VALUES: usize = 1 << 18;

/// Tile size of the COGs written here.
const COG_TILE: usize = 256;

/// Overview decimation factors 2, 4, … until the coarsest level fits one `tile`.
fn overview_factors(lines: usize, samples: usize, tile: usize) -> Vec<usize> {
    let mut out = Vec::new();
    let mut f = 1usize;
    while lines.max(samples).div_ceil(f) > tile {
        f *= 2;
        out.push(f);
    }
    out
}

/// Sums and counts of the valid values (not NaN, not `nodata`) of the blocks of one
/// overview level: `h × w` blocks of `f × f` pixels (edge blocks clipped), so
/// `h = ⌈lines / f⌉`. Each level follows from the previous one by adding 2 × 2 blocks,
/// so the means of every level come from one pass over the full-resolution data.
struct BlockSums {
    h: usize,
    w: usize,
    sum: Vec<f64>,
    n: Vec<u32>,
}

impl BlockSums {
    /// Factor 2, from the full-resolution `lines × samples` values.
    fn first(data: &[f32], lines: usize, samples: usize, nodata: Option<f64>) -> Self {
        // NaN when there is no nodata value: it equals nothing, NaN included.
        let nd = nodata.map_or(f32::NAN, |v| v as f32);
        let valid = |v: f32| !v.is_nan() & (v != nd);
        let value = |v: f32, ok: bool| if ok { f64::from(v) } else { 0.0 };
        Self::reduce(lines, samples, |y, sums, counts| {
            for yy in 2 * y..(2 * y + 2).min(lines) {
                let row = &data[yy * samples..(yy + 1) * samples];
                let pairs = row.chunks_exact(2);
                if let (&[v], Some(s), Some(n)) =
                    (pairs.remainder(), sums.last_mut(), counts.last_mut())
                {
                    *s += value(v, valid(v));
                    *n += u32::from(valid(v));
                }
                for ((s, n), p) in sums.iter_mut().zip(counts.iter_mut()).zip(pairs) {
                    let (a, b) = (valid(p[0]), valid(p[1]));
                    *s += value(p[0], a) + value(p[1], b);
                    *n += u32::from(a) + u32::from(b);
                }
            }
        })
    }

    /// This level and the next `levels − 1` (each of twice the factor).
    fn pyramid(self, levels: usize) -> Vec<Self> {
        let mut out = vec![self];
        while out.len() < levels {
            let prev = out.last().expect("one level");
            let next = Self::reduce(prev.h, prev.w, |y, sums, counts| {
                for yy in 2 * y..(2 * y + 2).min(prev.h) {
                    let row = yy * prev.w..(yy + 1) * prev.w;
                    let (ps, pn) = (&prev.sum[row.clone()], &prev.n[row]);
                    for ((s, n), (a, b)) in sums
                        .iter_mut()
                        .zip(counts.iter_mut())
                        .zip(ps.chunks(2).zip(pn.chunks(2)))
                    {
                        *s += a.iter().sum::<f64>();
                        *n += b.iter().sum::<u32>();
                    }
                }
            });
            out.push(next);
        }
        out
    }

    /// The level of 2 × 2 blocks of an `h × w` grid: `row(y, sums, counts)` adds the
    /// valid values of the blocks of output row `y` into its zeroed sums and counts;
    /// rows in parallel.
    fn reduce(h: usize, w: usize, row: impl Fn(usize, &mut [f64], &mut [u32]) + Sync) -> Self {
        use rayon::prelude::*;
        let (h2, w2) = (h.div_ceil(2), w.div_ceil(2));
        let mut sum = vec![0f64; h2 * w2];
        let mut n = vec![0u32; h2 * w2];
        sum.par_chunks_mut(w2.max(1))
            .zip(n.par_chunks_mut(w2.max(1)))
            .enumerate()
            .for_each(|(y, (s, c))| row(y, s, c));
        Self {
            h: h2,
            w: w2,
            sum,
            n,
        }
    }

    /// (h, w, means): a block with no valid value is `nodata` (NaN without one).
    fn means(&self, nodata: Option<f64>) -> (usize, usize, Vec<f32>) {
        let fill = nodata.map_or(f32::NAN, |v| v as f32);
        let means = self
            .sum
            .iter()
            .zip(&self.n)
            .map(|(&s, &n)| {
                if n > 0 {
                    (s / f64::from(n)) as f32
                } else {
                    fill
                }
            })
            .collect();
        (self.h, self.w, means)
    }
}

/// Reads band `band` (1-based) of any GDAL raster as f32: (lines, samples, values
/// `lines × samples` row-major). Nodata values are returned as stored (not NaN).
pub fn read_band_f32(path: &Path, band: usize) -> Result<(usize, usize, Vec<f32>)> {
    quiet_gdal();
    check_input_path(path)?;
    let ds = open_raster(path)?;
    let count = ds.raster_count();
    if band == 0 || band > count {
        return Err(Error::format(
            path,
            "band",
            format!("band {band} does not exist (expected 1..={count})"),
        ));
    }
    let b = ds.rasterband(band).map_err(gdal_err(path))?;
    let (samples, lines) = b.size();
    let buf = b.read_band_as::<f32>().map_err(gdal_err(path))?;
    let (_, data) = buf.into_shape_and_vec();
    Ok((lines, samples, data))
}

/// The GDAL affine geotransform of a raster (`[x0, dx/dcol, dx/drow, y0, dy/dcol,
/// dy/drow]`, map units; pixel corners), or an error naming the file when it has none.
pub fn read_geo_transform(path: &Path) -> Result<[f64; 6]> {
    quiet_gdal();
    check_input_path(path)?;
    let ds = open_raster(path)?;
    ds.geo_transform().map_err(|_| {
        Error::format(
            path,
            "geotransform",
            "missing (expected a georeferenced raster)",
        )
    })
}

/// Band descriptions and `UNITS` metadata of every band of a raster (for checking
/// outputs).
pub fn band_descriptions(path: &Path) -> Result<Vec<(String, String)>> {
    quiet_gdal();
    check_input_path(path)?;
    let ds = open_raster(path)?;
    (1..=ds.raster_count())
        .map(|i| {
            let b = ds.rasterband(i).map_err(gdal_err(path))?;
            Ok((
                b.description().unwrap_or_default(),
                b.metadata_item("UNITS", "").unwrap_or_default(),
            ))
        })
        .collect()
}

/// GDAL's data type name in plumewatch's lower-case spelling (`Byte` → `uint8`).
fn gdal_type_name(name: &str) -> String {
    match name {
        "Byte" => "uint8".into(),
        other => other.to_ascii_lowercase(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The pyramid of block sums gives, at every factor, the mean of the valid values
    /// of each `f × f` block of the full-resolution data (edge blocks clipped), and
    /// `nodata` where a block has none.
    #[test]
    fn overview_pyramid_is_the_direct_block_mean_at_every_factor() {
        let (lines, samples) = (37usize, 53usize);
        let nd = -9999.0f32;
        let mut data: Vec<f32> = (0..lines * samples)
            .map(|i| ((i * 7919) % 1013) as f32 * 0.37 - 150.0)
            .collect();
        // A 4 × 4 block of nodata (one whole block at factors 2 and 4), scattered
        // nodata and NaN.
        for y in 8..12 {
            for x in 16..20 {
                data[y * samples + x] = nd;
            }
        }
        for i in (3..data.len()).step_by(11) {
            data[i] = if i % 2 == 0 { nd } else { f32::NAN };
        }
        let levels = BlockSums::first(&data, lines, samples, Some(f64::from(nd))).pyramid(6);
        for (k, level) in levels.iter().enumerate() {
            let f = 2usize << k;
            let (h, w, got) = level.means(Some(f64::from(nd)));
            assert_eq!(
                (h, w),
                (lines.div_ceil(f), samples.div_ceil(f)),
                "factor {f}"
            );
            for oy in 0..h {
                for ox in 0..w {
                    let (mut s, mut n) = (0f64, 0u32);
                    for y in oy * f..((oy + 1) * f).min(lines) {
                        for x in ox * f..((ox + 1) * f).min(samples) {
                            let v = data[y * samples + x];
                            if !v.is_nan() && v != nd {
                                s += f64::from(v);
                                n += 1;
                            }
                        }
                    }
                    let want = if n > 0 { (s / f64::from(n)) as f32 } else { nd };
                    let g = got[oy * w + ox];
                    assert!(
                        (g - want).abs() <= 1e-4 * want.abs().max(1.0),
                        "factor {f} block ({oy}, {ox}): {g} vs {want}"
                    );
                }
            }
        }
        let (_, w, l1) = levels[0].means(Some(f64::from(nd)));
        assert_eq!(l1[4 * w + 8], nd, "all-nodata block");
        assert_eq!(levels[5].means(None).2.len(), 1, "factor 64: one block");
    }
}
