//! `plumewatch serve`: candidate sites shared behind access control, with a
//! tamper-evident audit trail, analyst review, scan jobs and an embedded web viewer.
//!
//! The library is what the `plumewatch` binary's `serve`, `ingest`, `users` and
//! `audit` subcommands call:
//!
//! - [`db`]: one SQL layer over SQLite (default, WAL) and PostgreSQL, with migrations;
//! - [`users`]: users, roles, campaign grants, API tokens and sessions;
//! - [`audit`]: the SHA-256 hash-chained, append-only audit trail;
//! - [`ingest`]: imports a `plumewatch scan` output folder in one transaction;
//! - [`api`]: the HTTP API and the web viewer ([`serve`] runs it).

pub mod api;
pub mod audit;
pub mod basemap;
pub mod commands;
pub mod db;
pub mod error;
pub mod ingest;
pub mod jobs;
pub mod serve;
pub mod tiles;
pub mod users;
pub mod web;

pub use db::{Backend, Db};
pub use error::{Error, Result};

/// The current UTC time as stored everywhere: RFC 3339 with microseconds
/// (`2026-12-04T15:54:08.123456Z`), so text order is time order.
pub fn now() -> String {
    humantime::format_rfc3339_micros(std::time::SystemTime::now()).to_string()
}

/// [`now`] shifted by `seconds` (for expiry times).
pub fn now_plus(seconds: u64) -> String {
    humantime::format_rfc3339_micros(
        std::time::SystemTime::now() + std::time::Duration::from_secs(seconds),
    )
    .to_string()
}
