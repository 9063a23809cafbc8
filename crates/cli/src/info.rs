//! `plumewatch info FILE [--json]`: what a radiance file holds, and whether it is sound
//! ([`plumewatch_io::info::CubeInfo`]), printed as text or one JSON object.

use crate::progress;
use clap::Args;
use plumewatch_io::info::CubeInfo;
use std::path::PathBuf;

/// Arguments of `plumewatch info`.
#[derive(Debug, Args)]
pub struct InfoArgs {
    /// Radiance file: an ENVI header or data file, GeoTIFF, EMIT L1B NetCDF, HDF5, ...
    pub file: PathBuf,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
    /// Skip the value census (NaN/±Inf counts, finite range), which reads every value.
    #[arg(long)]
    pub no_values: bool,
}

/// Runs `plumewatch info`.
pub fn run(args: InfoArgs, quiet: bool) -> anyhow::Result<()> {
    let bar = progress::bar(0, "census", quiet);
    let info = CubeInfo::from_file(&args.file, !args.no_values, &|done, all| {
        bar.set_length(all);
        bar.set_position(done);
    })?;
    bar.finish_and_clear();
    if args.json {
        println!("{}", serde_json::to_string(&info)?);
    } else {
        print!("{}", info.to_text());
    }
    Ok(())
}
