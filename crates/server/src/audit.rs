//! The tamper-evident audit trail.
//!
//! Every record carries `hash = SHA-256(JSON [seq, ts, user, action, object, client,
//! outcome, prev_hash])`, where `prev_hash` is the previous record's hash (64 zeros for
//! the first). The database refuses UPDATE and DELETE on the table (triggers); anyone
//! who goes around the triggers breaks the chain, and [`verify`] names the first
//! record that no longer fits.

use crate::db::{Backend, Db};
use crate::error::{Error, Result};
use futures_util::TryStreamExt;
use sha2::{Digest, Sha256};
use sqlx::Row;
use std::io::Write;
use tokio::sync::{mpsc, oneshot};

/// The `prev_hash` of the first record.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What happened, before it is numbered and chained.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Who: a user name, `-` when unauthenticated, `cli` for command-line administration.
    pub user: String,
    /// What: e.g. `sites.list`, `site.review`, `login`, `users.add`.
    pub action: String,
    /// On what: e.g. `site:12`, `campaign:gulf-2026`, a request path.
    pub object: String,
    /// From where: the client's IP address, or `local` for the command line.
    pub client: String,
    /// How it ended: `ok`, `denied`, `not_found`, `invalid`, `error`.
    pub outcome: String,
}

/// A stored audit record.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Record {
    /// Sequence number, 1, 2, 3, ... without gaps.
    pub seq: i64,
    /// UTC time, RFC 3339 with microseconds.
    pub ts: String,
    /// See [`Entry::user`].
    pub user: String,
    /// See [`Entry::action`].
    pub action: String,
    /// See [`Entry::object`].
    pub object: String,
    /// See [`Entry::client`].
    pub client: String,
    /// See [`Entry::outcome`].
    pub outcome: String,
    /// The previous record's hash.
    pub prev_hash: String,
    /// This record's hash.
    pub hash: String,
}

/// The hash of a record with these fields.
pub fn record_hash(seq: i64, ts: &str, e: &Entry, prev_hash: &str) -> String {
    let content = serde_json::json!([
        seq.to_string(),
        ts,
        e.user,
        e.action,
        e.object,
        e.client,
        e.outcome,
        prev_hash
    ]);
    hex::encode(Sha256::digest(content.to_string().as_bytes()))
}

/// Appends `entries`, in order, in one transaction; returns their sequence numbers.
pub async fn append(db: &Db, entries: &[Entry]) -> Result<Vec<i64>> {
    let mut tx = db.begin_write().await?;
    if db.backend == Backend::Postgres {
        // Serialises appenders across processes; SQLite's BEGIN IMMEDIATE already does.
        sqlx::query("SELECT pg_advisory_xact_lock(7158)")
            .execute(&mut *tx)
            .await?;
    }
    let last = sqlx::query("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1")
        .fetch_optional(&mut *tx)
        .await?;
    let (mut seq, mut prev) = match last {
        Some(row) => (row.try_get::<i64, _>(0)?, row.try_get::<String, _>(1)?),
        None => (0, GENESIS.to_string()),
    };
    let mut seqs = Vec::with_capacity(entries.len());
    for e in entries {
        seq += 1;
        let ts = crate::now();
        let hash = record_hash(seq, &ts, e, &prev);
        sqlx::query(
            "INSERT INTO audit (seq, ts, user_name, action, object, client, outcome, prev_hash, hash) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(seq)
        .bind(&ts)
        .bind(&e.user)
        .bind(&e.action)
        .bind(&e.object)
        .bind(&e.client)
        .bind(&e.outcome)
        .bind(&prev)
        .bind(&hash)
        .execute(&mut *tx)
        .await?;
        seqs.push(seq);
        prev = hash;
    }
    tx.commit().await?;
    Ok(seqs)
}

fn record_from_row(row: &sqlx::any::AnyRow) -> Result<Record> {
    Ok(Record {
        seq: row.try_get(0)?,
        ts: row.try_get(1)?,
        user: row.try_get(2)?,
        action: row.try_get(3)?,
        object: row.try_get(4)?,
        client: row.try_get(5)?,
        outcome: row.try_get(6)?,
        prev_hash: row.try_get(7)?,
        hash: row.try_get(8)?,
    })
}

const SELECT_RECORDS: &str =
    "SELECT seq, ts, user_name, action, object, client, outcome, prev_hash, hash FROM audit";

/// The result of [`verify`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verification {
    /// Records read.
    pub records: u64,
    /// The first record that breaks the chain and why; `None` when intact.
    pub first_broken: Option<(i64, String)>,
}

/// Checks the whole chain: sequence numbers without gaps, each `prev_hash` equal to the
/// previous record's hash, each hash equal to the hash of the record's content.
pub async fn verify(db: &Db) -> Result<Verification> {
    let sql = format!("{SELECT_RECORDS} ORDER BY seq");
    let mut rows = sqlx::query(&sql).fetch(&db.pool);
    let mut expected_seq = 1i64;
    let mut prev = GENESIS.to_string();
    let mut records = 0u64;
    while let Some(row) = rows.try_next().await? {
        let r = record_from_row(&row)?;
        records += 1;
        let broken = if r.seq != expected_seq {
            Some(format!(
                "sequence jumps from {} to {} (records removed)",
                expected_seq - 1,
                r.seq
            ))
        } else if r.prev_hash != prev {
            Some("its prev_hash is not the previous record's hash (a record before it was removed or replaced)".to_string())
        } else {
            let entry = Entry {
                user: r.user.clone(),
                action: r.action.clone(),
                object: r.object.clone(),
                client: r.client.clone(),
                outcome: r.outcome.clone(),
            };
            (record_hash(r.seq, &r.ts, &entry, &r.prev_hash) != r.hash)
                .then(|| "its content does not match its hash (the record was edited)".to_string())
        };
        if let Some(why) = broken {
            return Ok(Verification {
                records,
                first_broken: Some((r.seq, why)),
            });
        }
        expected_seq = r.seq + 1;
        prev = r.hash;
    }
    Ok(Verification {
        records,
        first_broken: None,
    })
}

/// Normalises a `--since` time: RFC 3339 (`2026-12-04T10:00:00Z`, offset or not) or a
/// date (`2026-12-04`, midnight UTC), to the stored form.
pub fn parse_since(since: &str) -> Result<String> {
    let text = if since.len() == 10 {
        format!("{since}T00:00:00Z")
    } else {
        since.to_string()
    };
    let t = humantime::parse_rfc3339_weak(text.trim_end_matches('Z')).map_err(|e| {
        Error::Input(format!(
            "invalid time {since:?} ({e}): expected RFC 3339 UTC like 2026-12-04T10:00:00Z or a date like 2026-12-04"
        ))
    })?;
    Ok(humantime::format_rfc3339_micros(t).to_string())
}

/// Writes every record at or after `since` (see [`parse_since`]) as JSON lines;
/// returns how many.
pub async fn export(db: &Db, since: Option<&str>, out: &mut dyn Write) -> Result<u64> {
    let since = match since {
        Some(s) => parse_since(s)?,
        None => String::new(),
    };
    let sql = format!("{SELECT_RECORDS} WHERE ts >= $1 ORDER BY seq");
    let mut rows = sqlx::query(&sql).bind(since).fetch(&db.pool);
    let mut n = 0;
    while let Some(row) = rows.try_next().await? {
        let r = record_from_row(&row)?;
        serde_json::to_writer(&mut *out, &r).map_err(|e| Error::io("audit export", e.into()))?;
        out.write_all(b"\n")
            .map_err(|e| Error::io("audit export", e))?;
        n += 1;
    }
    Ok(n)
}

/// The newest `limit` records, newest first, optionally only those of `action`.
pub async fn recent(db: &Db, limit: i64, action: Option<&str>) -> Result<Vec<Record>> {
    let rows = match action {
        Some(a) => {
            sqlx::query(&format!(
                "{SELECT_RECORDS} WHERE action = $1 ORDER BY seq DESC LIMIT $2"
            ))
            .bind(a.to_string())
            .bind(limit)
            .fetch_all(&db.pool)
            .await?
        }
        None => {
            sqlx::query(&format!("{SELECT_RECORDS} ORDER BY seq DESC LIMIT $1"))
                .bind(limit)
                .fetch_all(&db.pool)
                .await?
        }
    };
    rows.iter().map(record_from_row).collect()
}

type Pending = (Entry, oneshot::Sender<Result<i64, String>>);

/// Appends audit records from many requests, grouping those that arrive together into
/// one transaction (group commit). A request's record is committed before
/// [`Auditor::record`] returns.
#[derive(Debug, Clone)]
pub struct Auditor {
    tx: mpsc::Sender<Pending>,
}

impl Auditor {
    /// Starts the writer task on the current tokio runtime.
    pub fn start(db: Db) -> Auditor {
        let (tx, mut rx) = mpsc::channel::<Pending>(4096);
        tokio::spawn(async move {
            let mut batch: Vec<Pending> = Vec::with_capacity(512);
            while rx.recv_many(&mut batch, 512).await > 0 {
                let entries: Vec<Entry> = batch.iter().map(|(e, _)| e.clone()).collect();
                match append(&db, &entries).await {
                    Ok(seqs) => {
                        for ((_, done), seq) in batch.drain(..).zip(seqs) {
                            let _ = done.send(Ok(seq));
                        }
                    }
                    Err(e) => {
                        tracing::error!("audit append failed: {e}");
                        for (_, done) in batch.drain(..) {
                            let _ = done.send(Err(e.to_string()));
                        }
                    }
                }
            }
        });
        Auditor { tx }
    }

    /// Appends `entry` and waits until it is committed; returns its sequence number.
    pub async fn record(&self, entry: Entry) -> Result<i64> {
        let (done, wait) = oneshot::channel();
        self.tx
            .send((entry, done))
            .await
            .map_err(|_| Error::Config("the audit writer has stopped".into()))?;
        wait.await
            .map_err(|_| Error::Config("the audit writer has stopped".into()))?
            .map_err(|e| Error::Config(format!("audit trail unavailable: {e}")))
    }
}
