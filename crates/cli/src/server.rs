//! `serve`, `ingest`, `users`, `audit`: flags for the plumewatch-server library.

use clap::{Args, Subcommand};
use plumewatch_server::commands as cmd;
use std::path::PathBuf;
use std::process::ExitCode;

/// Flags of `plumewatch serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// SQLite database file (created when missing) or a postgres:// URL.
    #[arg(long)]
    db: String,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: std::net::SocketAddr,
    /// Directory under which submitted scans may read cubes (no scans without it).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// PEM certificate chain (HTTPS).
    #[arg(long, requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// PEM private key (HTTPS).
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Serve plain HTTP on a non-loopback address (behind a TLS proxy only).
    #[arg(long)]
    insecure_http: bool,
    /// Scans run at once.
    #[arg(long, default_value_t = 1)]
    jobs: usize,
    /// Basemap for the viewer: an XYZ URL template (https://host/{z}/{x}/{y}.png) or a
    /// PMTiles file, served from this server (works offline)
    #[arg(long)]
    basemap: Option<String>,
}

pub fn serve(a: ServeArgs) -> anyhow::Result<ExitCode> {
    let opts = plumewatch_server::serve::ServeOptions {
        db: a.db,
        listen: a.listen,
        data_dir: a.data_dir,
        work_dir: None,
        tls_cert: a.tls_cert,
        tls_key: a.tls_key,
        insecure_http: a.insecure_http,
        concurrency: a.jobs,
        api: plumewatch_server::api::ApiConfig {
            basemap: a.basemap,
            ..Default::default()
        },
    };
    cmd::block_on(plumewatch_server::serve::serve(
        opts,
        plumewatch_server::jobs::default_runner(),
    ))?;
    Ok(ExitCode::SUCCESS)
}

/// Flags of `plumewatch ingest`.
#[derive(Debug, Args)]
pub struct IngestArgs {
    /// Output folder of `plumewatch scan -o`.
    scan_dir: PathBuf,
    /// Campaign the sites belong to (created when new).
    #[arg(long)]
    campaign: String,
    /// SQLite database file or postgres:// URL.
    #[arg(long)]
    db: String,
}

pub fn ingest(a: IngestArgs) -> anyhow::Result<ExitCode> {
    let done = cmd::block_on(cmd::ingest(&a.db, &a.scan_dir, &a.campaign))?;
    match &done.already_ingested_at {
        Some(at) => println!(
            "{}: already ingested into campaign {} as scan {} at {at} (the same files); nothing stored",
            a.scan_dir.display(),
            a.campaign,
            done.scan_id
        ),
        None => println!(
            "ingested scan {} into campaign {}: {} sites, {} plumes, {} flight lines ({} with a quicklook)",
            done.scan_id, a.campaign, done.sites, done.plumes, done.flight_lines, done.quicklooks
        ),
    }
    Ok(ExitCode::SUCCESS)
}

/// `plumewatch users`: accounts, roles and campaign grants.
#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// Create a user; prints its API token once, on the last line.
    Add {
        name: String,
        #[arg(long)]
        role: String,
        #[arg(long)]
        db: String,
    },
    /// Print a further API token for a user (last line).
    Token {
        name: String,
        #[arg(long)]
        db: String,
    },
    /// Let a user see a campaign (created when new).
    Grant {
        name: String,
        campaign: String,
        #[arg(long)]
        db: String,
    },
    /// Withdraw a grant.
    Revoke {
        name: String,
        campaign: String,
        #[arg(long)]
        db: String,
    },
    /// List users: name, role, campaigns.
    List {
        #[arg(long)]
        db: String,
    },
}

pub fn users(c: UsersCommand) -> anyhow::Result<ExitCode> {
    match c {
        UsersCommand::Add { name, role, db } => {
            let token = cmd::block_on(cmd::users_add(&db, &name, &role))?;
            println!("user {name} ({role}) created; its API token, shown only now:\n{token}");
        }
        UsersCommand::Token { name, db } => {
            println!("{}", cmd::block_on(cmd::users_token(&db, &name))?)
        }
        UsersCommand::Grant { name, campaign, db } => {
            cmd::block_on(cmd::users_grant(&db, &name, &campaign))?
        }
        UsersCommand::Revoke { name, campaign, db } => {
            cmd::block_on(cmd::users_revoke(&db, &name, &campaign))?
        }
        UsersCommand::List { db } => cmd::block_on(cmd::users_list(&db, &mut std::io::stdout()))?,
    }
    Ok(ExitCode::SUCCESS)
}

/// `plumewatch audit`: check and export the audit trail.
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check the hash chain: exit 0 when intact, 1 naming the first broken record.
    Verify {
        #[arg(long)]
        db: String,
    },
    /// Write records (JSON lines) at or after a time, e.g. 2026-12-04T10:00:00Z.
    Export {
        #[arg(long)]
        db: String,
        #[arg(long)]
        since: Option<String>,
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
}

pub fn audit(c: AuditCommand) -> anyhow::Result<ExitCode> {
    match c {
        AuditCommand::Verify { db } => {
            let v = cmd::block_on(cmd::audit_verify(&db))?;
            if let Some((seq, why)) = v.first_broken {
                println!("audit trail TAMPERED: first broken record is #{seq}: {why}");
                return Ok(ExitCode::from(1));
            }
            println!("audit trail intact: {} records", v.records);
        }
        AuditCommand::Export { db, since, output } => {
            let n = match &output {
                // Into memory first, then written whole under its name (never onto a
                // device or FIFO, never half-written).
                Some(p) => {
                    plumewatch_io::atomic::check_output_file(p)?;
                    let mut bytes = Vec::new();
                    let n = cmd::block_on(cmd::audit_export(&db, since.as_deref(), &mut bytes))?;
                    plumewatch_io::atomic::write_bytes(p, &bytes)?;
                    n
                }
                None => cmd::block_on(cmd::audit_export(
                    &db,
                    since.as_deref(),
                    &mut std::io::stdout().lock(),
                ))?,
            };
            eprintln!("{n} audit records exported");
        }
    }
    Ok(ExitCode::SUCCESS)
}
