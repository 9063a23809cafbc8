//! `plumewatch`: find hidden emission sources in imaging-spectrometer radiance.
//!
//! The binary is thin: it parses flags, runs a subcommand and maps errors to exit codes
//! (every error is printed on one line with its causes and exits with status 2).

mod detect;
mod info;
mod progress;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Find hidden emission sources (CH4 and other gases) in imaging-spectrometer radiance.
#[derive(Debug, Parser)]
#[command(name = "plumewatch", version, about, long_about = None)]
struct Cli {
    /// Print no progress bars or informational messages.
    #[arg(long, short, global = true)]
    quiet: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Describe a radiance file: dimensions, layout, band table, georeferencing, value census.
    Info(info::InfoArgs),
    /// Detect gas: per-pixel enhancement (ppm·m), albedo, sigma and z as a COG or ENVI file.
    Detect(detect::DetectArgs),
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let quiet = cli.quiet;
    match cli.command {
        Command::Info(args) => info::run(args, quiet),
        Command::Detect(args) => detect::run(args, quiet),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("plumewatch: error: {e:#}");
            ExitCode::from(2)
        }
    }
}
