//! Output sinks: a [`ScanResult`] written as files, none of which recomputes anything.
//!
//! The whole output set is one unit: it is written into a hidden sibling folder and
//! renamed into place when complete, so an interrupted or failed run leaves either the
//! previous complete set or nothing under the final name. A folder that holds anything
//! other than a previous plumewatch scan (recognised by its `scan.json`) is refused
//! unless the caller allows replacing it.

/// Evidence PNG of each site.
pub mod evidence;
/// The report of the standalone detection-limit experiment.
pub mod limit_report;
/// COG rasters of each flight line.
pub mod rasters;
/// `scan.json`: the typed record of a run.
pub mod record;
/// The self-contained HTML report.
pub mod report;

use crate::result::ScanResult;
use crate::{bail, Error, ErrorKind, Result};
use std::path::{Path, PathBuf};

pub use record::ScanRecord;

/// How [`write_outputs`] treats an existing output folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Replace {
    /// Replace an empty folder or a previous scan's output set; refuse anything else.
    #[default]
    PreviousScanOnly,
    /// Replace whatever folder is there.
    Anything,
}

/// Where [`write_outputs_from`] takes the flight lines' rasters from.
#[derive(Debug, Clone, Copy)]
pub enum RasterSource<'a> {
    /// Encode them from the lines' maps.
    Encode,
    /// The rasters [`rasters::write_line_rasters`] already wrote from these same lines,
    /// one folder per flight line in order: copied, not encoded again.
    Folders(&'a [PathBuf]),
}

/// Writes every output of `result` into the folder `out` (see the module docs):
/// rasters, `sites.geojson` and `plumes.geojson` (when the CRS is known), evidence
/// PNGs, `alerts.jsonl` (each reported source in the stream's alert schema),
/// `report.html` and `scan.json`. Returns the final paths written.
pub fn write_outputs(result: &ScanResult, out: &Path, replace: Replace) -> Result<Vec<PathBuf>> {
    write_outputs_from(result, out, replace, RasterSource::Encode)
}

/// [`write_outputs`] with the rasters taken from `rasters`.
pub fn write_outputs_from(
    result: &ScanResult,
    out: &Path,
    replace: Replace,
    rasters: RasterSource<'_>,
) -> Result<Vec<PathBuf>> {
    if let RasterSource::Folders(folders) = rasters {
        if folders.len() != result.lines.len() {
            return Err(Error::input(format!(
                "{}: {} raster folder(s) for {} flight line(s)",
                out.display(),
                folders.len(),
                result.lines.len()
            )));
        }
    }
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| {
            Error::input(format!(
                "{}: output folder: expected a folder name",
                out.display()
            ))
        })?;
    check_replaceable(out, replace)?;
    clean_stale_partials(&parent, &name);
    std::fs::create_dir_all(&parent).map_err(|e| {
        Error::new(
            ErrorKind::Io,
            format!(
                "{}: cannot create the output's parent folder: {e}",
                parent.display()
            ),
        )
    })?;
    let staging = parent.join(format!(".{name}.partial-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&staging);
    std::fs::create_dir(&staging).map_err(|e| {
        Error::new(
            ErrorKind::Io,
            format!(
                "{}: cannot create the staging folder: {e}",
                staging.display()
            ),
        )
    })?;
    let written = match write_set(result, &staging, rasters) {
        Ok(w) => w,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&staging);
            return Err(e.context(format!(
                "{}: output set not written (nothing was left under that name)",
                out.display()
            )));
        }
    };
    if let Err(e) = sync_dir(&staging).and_then(|()| swap_into_place(&staging, out, &parent, &name))
    {
        let _ = std::fs::remove_dir_all(&staging);
        return Err(e);
    }
    Ok(written
        .into_iter()
        .map(|p| out.join(p.strip_prefix(&staging).unwrap_or(&p)))
        .collect())
}

/// Writes the output set into `dir`; returns the paths written there.
fn write_set(result: &ScanResult, dir: &Path, source: RasterSource<'_>) -> Result<Vec<PathBuf>> {
    let mut written = Vec::new();
    for (i, line) in result.lines.iter().enumerate() {
        written.extend(match source {
            RasterSource::Encode => rasters::write_line_rasters(dir, line, &result.gas_name)?,
            RasterSource::Folders(f) => rasters::copy_line_rasters(dir, &line.name, &f[i])?,
        });
    }
    if let Some(crs) = &result.crs_wkt {
        let sites_path = dir.join("sites.geojson");
        plumewatch_io::geojson_out::write_sites_geojson(&sites_path, &result.sites, crs)?;
        let features = result.plume_features();
        let plumes_path = dir.join("plumes.geojson");
        plumewatch_io::geojson_out::write_plumes_geojson(&plumes_path, &features, crs)?;
        written.push(sites_path);
        written.push(plumes_path);
    }
    let evidence = evidence::write_evidence(dir, result)?;
    written.extend(evidence.iter().flatten().map(|(p, _)| p.clone()));
    // The reported sources as alert records, the schema `stream` raises them in.
    let alerts_path = dir.join("alerts.jsonl");
    let mut lines = String::new();
    for a in crate::stream::Alert::of_scan(result)? {
        let json = serde_json::to_string(&a)
            .map_err(|e| Error::new(ErrorKind::Compute, format!("alerts.jsonl: {e}")))?;
        lines.push_str(&json);
        lines.push('\n');
    }
    plumewatch_io::atomic::write_bytes(&alerts_path, lines.as_bytes())?;
    written.push(alerts_path);
    let report_path = dir.join("report.html");
    plumewatch_io::report_html::write_html(&report_path, &report::report_input(result, &evidence))?;
    written.push(report_path);
    let json_path = dir.join("scan.json");
    let mut outputs: Vec<String> = written
        .iter()
        .map(|p| p.strip_prefix(dir).unwrap_or(p).display().to_string())
        .collect();
    outputs.push("scan.json".into());
    let record = ScanRecord::new(result, outputs);
    let text = serde_json::to_string_pretty(&record)
        .map_err(|e| Error::new(ErrorKind::Compute, format!("scan.json: {e}")))?;
    plumewatch_io::atomic::write_bytes(&json_path, text.as_bytes())?;
    written.push(json_path);
    Ok(written)
}

/// Refuses to replace a folder that holds something other than a previous scan (or
/// anything that is not a folder). [`write_outputs`] checks this itself; front ends
/// call it before a scan too, so that a wrong `-o` fails before the work.
pub fn check_replaceable(out: &Path, replace: Replace) -> Result<()> {
    let meta = match std::fs::symlink_metadata(out) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => {
            return Err(Error::new(
                ErrorKind::Io,
                format!("{}: output folder: {e}", out.display()),
            ))
        }
    };
    if !meta.is_dir() {
        bail!(
            "{}: output folder: exists and is not a folder (a file, link, device, FIFO or socket); give a new or empty folder",
            out.display()
        );
    }
    if replace == Replace::Anything {
        return Ok(());
    }
    let mut entries = std::fs::read_dir(out).map_err(|e| {
        Error::new(
            ErrorKind::Io,
            format!("{}: output folder: {e}", out.display()),
        )
    })?;
    let empty = entries.next().is_none();
    if empty || out.join("scan.json").is_file() {
        return Ok(());
    }
    bail!(
        "{}: output folder: not empty and not a previous plumewatch scan (no scan.json); give a new or empty folder, or --overwrite to replace it",
        out.display()
    )
}

/// Cleans up after earlier runs that were interrupted (their process is gone): their
/// staging folders are removed, and a previous set one of them had moved aside is put
/// back when nothing took its place (a run killed between its two renames).
pub(crate) fn clean_stale_partials(parent: &Path, name: &str) {
    let (partial, old) = (format!(".{name}.partial-"), format!(".{name}.old-"));
    let Ok(entries) = std::fs::read_dir(parent) else {
        return;
    };
    let out = parent.join(name);
    for e in entries.flatten() {
        let file = e.file_name().to_string_lossy().into_owned();
        let (pid, moved_aside) = match (file.strip_prefix(&partial), file.strip_prefix(&old)) {
            (Some(pid), _) => (pid, false),
            (_, Some(pid)) => (pid, true),
            _ => continue,
        };
        let alive = pid
            .parse::<u32>()
            .is_ok_and(|pid| Path::new(&format!("/proc/{pid}")).exists());
        if alive {
            continue;
        }
        if moved_aside
            && std::fs::symlink_metadata(&out).is_err()
            && std::fs::rename(e.path(), &out).is_ok()
        {
            continue;
        }
        let _ = std::fs::remove_dir_all(e.path());
    }
}

/// Moves the finished `staging` folder onto `out`, keeping the previous set until the
/// new one is in place.
fn swap_into_place(staging: &Path, out: &Path, parent: &Path, name: &str) -> Result<()> {
    let io = |what: &str, p: &Path, e: std::io::Error| {
        Error::new(ErrorKind::Io, format!("{}: {what}: {e}", p.display()))
    };
    if out.exists() {
        let old = parent.join(format!(".{name}.old-{}", std::process::id()));
        std::fs::rename(out, &old)
            .map_err(|e| io("cannot move the previous output aside", out, e))?;
        if let Err(e) = std::fs::rename(staging, out) {
            let _ = std::fs::rename(&old, out);
            return Err(io("cannot move the finished output into place", out, e));
        }
        let _ = std::fs::remove_dir_all(&old);
    } else {
        std::fs::rename(staging, out)
            .map_err(|e| io("cannot move the finished output into place", out, e))?;
    }
    sync_dir(parent)
}

/// fsync of a folder, so that renames in it are durable.
fn sync_dir(dir: &Path) -> Result<()> {
    std::fs::File::open(dir)
        .and_then(|f| f.sync_all())
        .map_err(|e| {
            Error::new(
                ErrorKind::Io,
                format!("{}: cannot sync folder: {e}", dir.display()),
            )
        })
}
