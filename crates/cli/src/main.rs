//! `plumewatch`: find hidden emission sources in imaging-spectrometer radiance.
//!
//! The binary is thin: it parses flags, runs a subcommand and maps errors to exit codes
//! (every error is printed on one line with its causes and exits with status 2).

mod detect;
mod eval;
mod gas_window;
mod info;
mod limit;
mod progress;
mod scan;
mod server;
mod simulate;
mod stream;
mod stream_sse;
mod target;

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
    /// Scan flight lines for emission sources: plumes, sources, rates, ranked sites, report.
    Scan(scan::ScanArgs),
    /// Simulate plumes of known emission rate: inject into a cube, or build a synthetic scene.
    Simulate(simulate::SimulateArgs),
    /// Score detections against simulation truth: pixel ROC/PR, POD vs Q, false sites, rate error.
    Eval(eval::EvalArgs),
    /// Detection limit of a cube: inject plumes over a range of Q, detect, fit POD(Q).
    Limit(limit::LimitArgs),
    /// Describe a radiance file: dimensions, layout, band table, georeferencing, value census.
    Info(info::InfoArgs),
    /// Detect gas: per-pixel enhancement (ppm·m), albedo, sigma and z as a COG or ENVI file.
    Detect(detect::DetectArgs),
    /// Unit absorption target of a gas for a sensor's bands (CSV, 1/(ppm·m)).
    Target(target::TargetArgs),
    /// Real-time detection line by line (cube replay, stdin or TCP frames) with alerts.
    Stream(stream::StreamArgs),
    /// Serve sites to analysts: HTTP API, access control, audit trail, web viewer.
    Serve(server::ServeArgs),
    /// Import a `scan` output folder into a server database (one transaction).
    Ingest(server::IngestArgs),
    /// Manage server users, roles and campaign grants.
    #[command(subcommand)]
    Users(server::UsersCommand),
    /// Verify or export the server's audit trail.
    #[command(subcommand)]
    Audit(server::AuditCommand),
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let quiet = cli.quiet;
    let done = match cli.command {
        Command::Scan(args) => scan::run(args, quiet),
        Command::Simulate(args) => simulate::run(args, quiet),
        Command::Eval(args) => eval::run(args, quiet),
        Command::Limit(args) => limit::run(args, quiet),
        Command::Info(args) => info::run(args, quiet),
        Command::Detect(args) => detect::run(args, quiet),
        Command::Target(args) => target::run(args, quiet),
        Command::Stream(args) => stream::run(args, quiet),
        Command::Serve(args) => return server::serve(args),
        Command::Ingest(args) => return server::ingest(args),
        Command::Users(c) => return server::users(c),
        Command::Audit(c) => return server::audit(c),
    };
    done.map(|()| ExitCode::SUCCESS)
}

fn main() -> ExitCode {
    // A cube's data file truncated by another program while it is mapped: an error
    // naming it and status 2, instead of death by SIGBUS.
    plumewatch_io::mapped::exit_on_truncated_mapping("plumewatch: error: ");
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            // Control characters (a newline or an escape sequence in a file name) are
            // shown escaped, so that the message stays one line and cannot rewrite the
            // terminal.
            eprintln!(
                "plumewatch: error: {}",
                progress::printable_text(&format!("{e:#}"))
            );
            ExitCode::from(2)
        }
    }
}
