//! The database: one connection pool over SQLite (the embedded default, WAL mode) or
//! PostgreSQL, with versioned migrations for each.

use crate::error::{Error, Result};
use sha2::{Digest, Sha256};
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Row};
use std::str::FromStr;
use std::time::Duration;

/// Which database engine a [`Db`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// An SQLite file (bundled library, WAL journal).
    Sqlite,
    /// A PostgreSQL server reached through a `postgres://` URL.
    Postgres,
}

/// A versioned migration: its number, a description and the SQL of each backend.
struct Migration {
    version: i64,
    description: &'static str,
    sqlite: &'static str,
    postgres: &'static str,
}

/// Every migration, oldest first. Applied migrations are recorded with the SHA-256 of
/// their SQL; a changed migration is refused rather than silently skipped.
const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        description: "users, tokens, campaigns, grants, scans, sites, plumes, reviews, jobs, audit",
        sqlite: include_str!("../migrations/sqlite/0001_init.sql"),
        postgres: include_str!("../migrations/postgres/0001_init.sql"),
    },
    Migration {
        version: 2,
        description: "flight-line quicklooks; scans' content hash (idempotent ingest)",
        sqlite: include_str!("../migrations/sqlite/0002_quicklook_scan_hash.sql"),
        postgres: include_str!("../migrations/postgres/0002_quicklook_scan_hash.sql"),
    },
];

/// The server's database handle (cheap to clone).
#[derive(Debug, Clone)]
pub struct Db {
    /// The connection pool.
    pub pool: AnyPool,
    /// The engine behind the pool.
    pub backend: Backend,
}

impl Db {
    /// Opens `url`: a `postgres://` or `postgresql://` URL, an `sqlite:` URL, or a plain
    /// file path (an SQLite database, created when missing). Applies pending migrations.
    pub async fn open(url: &str) -> Result<Db> {
        sqlx::any::install_default_drivers();
        let (backend, url) = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            (Backend::Postgres, url.to_string())
        } else if url.starts_with("sqlite:") {
            (Backend::Sqlite, url.to_string())
        } else {
            (Backend::Sqlite, format!("sqlite://{url}?mode=rwc"))
        };
        if backend == Backend::Sqlite {
            check_sqlite_file(&url)?;
        }
        let options = AnyConnectOptions::from_str(&url)
            .map_err(|e| Error::Config(format!("database URL {url:?}: {e}")))?;
        let pool_options = AnyPoolOptions::new()
            .max_connections(if backend == Backend::Sqlite { 8 } else { 16 })
            .acquire_timeout(Duration::from_secs(10));
        let pool_options = if backend == Backend::Sqlite {
            pool_options.after_connect(|conn, _| {
                Box::pin(async move {
                    use sqlx::Executor;
                    conn.execute(
                        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                         PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000;",
                    )
                    .await?;
                    Ok(())
                })
            })
        } else {
            pool_options
        };
        let pool = pool_options
            .connect_with(options)
            .await
            .map_err(|e| Error::Config(format!("cannot open database {url:?}: {e}")))?;
        let db = Db { pool, backend };
        db.migrate().await?;
        Ok(db)
    }

    /// Applies the migrations not yet recorded in `schema_migrations`, each in its own
    /// transaction.
    async fn migrate(&self) -> Result<()> {
        use sqlx::Executor;
        (&self.pool)
            .execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations (
                version BIGINT PRIMARY KEY, description TEXT NOT NULL,
                checksum TEXT NOT NULL, applied_at TEXT NOT NULL)",
            )
            .await?;
        for m in MIGRATIONS {
            let sql = match self.backend {
                Backend::Sqlite => m.sqlite,
                Backend::Postgres => m.postgres,
            };
            let checksum = hex::encode(Sha256::digest(sql.as_bytes()));
            let mut tx = self.pool.begin().await?;
            if self.backend == Backend::Postgres {
                // Two servers starting at once must not both apply a migration.
                sqlx::query("SELECT pg_advisory_xact_lock(7157)")
                    .execute(&mut *tx)
                    .await?;
            }
            let applied = sqlx::query("SELECT checksum FROM schema_migrations WHERE version = $1")
                .bind(m.version)
                .fetch_optional(&mut *tx)
                .await?;
            if let Some(row) = applied {
                let stored: String = row.try_get(0)?;
                if stored != checksum {
                    return Err(Error::Config(format!(
                        "migration {} ({}) was changed after it was applied to this database; \
                         restore its original SQL or add a new migration",
                        m.version, m.description
                    )));
                }
                continue;
            }
            // Several statements (and PL/pgSQL bodies): sent as one simple query.
            tx.execute(sql).await?;
            sqlx::query(
                "INSERT INTO schema_migrations (version, description, checksum, applied_at) \
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(m.version)
            .bind(m.description)
            .bind(checksum)
            .bind(crate::now())
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
        }
        Ok(())
    }

    /// Begins a write transaction. On SQLite it takes the write lock at once
    /// (`BEGIN IMMEDIATE`), so two writers never deadlock upgrading read locks.
    pub async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>> {
        let tx = match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool.begin().await?,
        };
        Ok(tx)
    }
}

/// Refuses an SQLite URL whose file exists and is not an SQLite database (a text file,
/// a folder, a FIFO), with an error naming it, instead of a connection timeout.
fn check_sqlite_file(url: &str) -> Result<()> {
    let rest = url.trim_start_matches("sqlite:").trim_start_matches("//");
    let file = rest.split('?').next().unwrap_or_default();
    if file.is_empty() || file == ":memory:" {
        return Ok(());
    }
    let path = std::path::Path::new(file);
    let Ok(meta) = std::fs::metadata(path) else {
        return Ok(());
    };
    let bad = |what: &str| {
        Err(Error::Config(format!(
            "database {}: {what} (expected an SQLite database file, or a new file name)",
            path.display()
        )))
    };
    if !meta.is_file() {
        return bad("not a regular file (a folder, FIFO or device)");
    }
    if meta.len() == 0 {
        return Ok(());
    }
    let mut head = [0u8; 16];
    let read = std::fs::File::open(path).and_then(|mut f| {
        use std::io::Read;
        f.read(&mut head)
    });
    match read {
        Ok(16) if &head == b"SQLite format 3\0" => Ok(()),
        Ok(_) => bad("not an SQLite database (its first bytes are not \"SQLite format 3\")"),
        Err(e) => bad(&format!("cannot read: {e}")),
    }
}
