//! The scan job queue: jobs run with bounded concurrency, report progress to any
//! number of listeners (Server-Sent Events), and store their results with
//! [`crate::ingest`] in one transaction per scan.
//!
//! A job's flight-line cubes must lie under the server's `--data-dir`: paths are
//! relative to it, and absolute paths, `..` and links leading outside are refused.

use crate::db::Db;
use crate::error::{Error, Result};
use serde_json::Value;
use sqlx::Row;
use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex};
use tokio::sync::{watch, Semaphore};

/// Runs one scan: reads the flight lines of `config` (paths already resolved under the
/// data directory) and writes a `scan` output folder to `out_dir`, reporting progress
/// as (stage, fraction 0-1).
pub trait ScanRunner: Send + Sync + std::fmt::Debug {
    /// Checks `config` when the job is submitted, so a bad one is refused (400) rather
    /// than queued to fail.
    fn check(&self, _config: &Value) -> Result<()> {
        Ok(())
    }
    /// Runs the scan (blocking; called on a blocking thread).
    fn run(&self, config: &Value, out_dir: &Path, progress: &ProgressFn<'_>) -> Result<()>;
}

/// Where a runner reports progress: (stage, fraction done 0-1).
pub type ProgressFn<'a> = dyn Fn(&str, f64) + Sync + 'a;

/// A job's state as shown to clients.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct JobState {
    /// Job id.
    pub id: i64,
    /// queued, running, succeeded or failed.
    pub status: String,
    /// Current stage.
    pub stage: String,
    /// Fraction done, 0-1.
    pub progress: f64,
    /// Why it failed, or a summary when it succeeded.
    pub message: String,
    /// The stored scan, once succeeded.
    pub scan_id: Option<i64>,
}

impl JobState {
    /// Whether the job has ended.
    pub fn finished(&self) -> bool {
        self.status == "succeeded" || self.status == "failed"
    }
}

#[derive(Debug)]
struct Inner {
    db: Db,
    runner: Arc<dyn ScanRunner>,
    data_dir: Option<PathBuf>,
    work_dir: PathBuf,
    slots: Arc<Semaphore>,
    live: Mutex<HashMap<i64, watch::Sender<JobState>>>,
}

/// The job queue (cheap to clone).
#[derive(Debug, Clone)]
pub struct Jobs {
    inner: Arc<Inner>,
}

/// Resolves `rel` (a path relative to `data_dir`) to a file under `data_dir`; refuses
/// absolute paths, `..`, and anything (links included) that ends up outside.
pub fn resolve_data_path(data_dir: &Path, rel: &str) -> Result<PathBuf> {
    let p = Path::new(rel);
    if rel.is_empty() || rel.contains('\0') {
        return Err(Error::Input("cube path is empty".into()));
    }
    if p.components()
        .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir))
    {
        return Err(Error::Input(format!(
            "cube path {rel:?} must be relative to the server's data directory, without `..`"
        )));
    }
    let root = data_dir
        .canonicalize()
        .map_err(|e| Error::Config(format!("data directory {}: {e}", data_dir.display())))?;
    let full = root
        .join(p)
        .canonicalize()
        .map_err(|_| Error::Input(format!("cube {rel:?} not found in the data directory")))?;
    if !full.starts_with(&root) || !full.is_file() {
        return Err(Error::Input(format!(
            "cube {rel:?} not found in the data directory"
        )));
    }
    Ok(full)
}

impl Jobs {
    /// A queue running at most `concurrency` scans at once with `runner`; outputs go
    /// to folders under `work_dir`. Jobs left queued or running by a previous server
    /// are marked failed (they can be resubmitted).
    pub async fn start(
        db: Db,
        runner: Arc<dyn ScanRunner>,
        data_dir: Option<PathBuf>,
        work_dir: PathBuf,
        concurrency: usize,
    ) -> Result<Jobs> {
        sqlx::query(
            "UPDATE jobs SET status = 'failed', message = 'the server stopped before this job finished; resubmit it', \
             finished_at = $1 WHERE status IN ('queued', 'running')",
        )
        .bind(crate::now())
        .execute(&db.pool)
        .await?;
        Ok(Jobs {
            inner: Arc::new(Inner {
                db,
                runner,
                data_dir,
                work_dir,
                slots: Arc::new(Semaphore::new(concurrency.max(1))),
                live: Mutex::new(HashMap::new()),
            }),
        })
    }

    /// Checks `config` (a ScanConfig as JSON) and rewrites each flight line's `cube`
    /// and `glt` to the resolved path under the data directory.
    pub fn resolve_config(&self, mut config: Value) -> Result<Value> {
        let data_dir = self.inner.data_dir.as_deref().ok_or_else(|| {
            Error::Input("this server has no --data-dir: scans cannot be submitted".into())
        })?;
        let lines = config
            .get_mut("flight_lines")
            .and_then(Value::as_array_mut)
            .filter(|l| !l.is_empty())
            .ok_or_else(|| {
                Error::Input("config.flight_lines: expected a non-empty array".into())
            })?;
        for (i, line) in lines.iter_mut().enumerate() {
            let obj = line.as_object_mut().ok_or_else(|| {
                Error::Input(format!("config.flight_lines[{i}]: expected an object"))
            })?;
            for key in ["cube", "glt"] {
                match obj.get(key) {
                    None | Some(Value::Null) if key == "glt" => {}
                    Some(Value::String(rel)) => {
                        let full = resolve_data_path(data_dir, rel)?;
                        obj.insert(key.into(), Value::String(full.display().to_string()));
                    }
                    _ => {
                        return Err(Error::Input(format!(
                            "config.flight_lines[{i}].{key}: expected a path relative to the data directory"
                        )))
                    }
                }
            }
        }
        Ok(config)
    }

    /// Queues a scan of `config` for `campaign` on behalf of `user_id`; returns the
    /// job id.
    pub async fn submit(&self, user_id: i64, campaign_id: i64, config: Value) -> Result<i64> {
        let config = self.resolve_config(config)?;
        self.inner.runner.check(&config)?;
        let id: i64 = sqlx::query(
            "INSERT INTO jobs (campaign_id, user_id, config, status, created_at) VALUES ($1, $2, $3, 'queued', $4) RETURNING id",
        )
        .bind(campaign_id)
        .bind(user_id)
        .bind(config.to_string())
        .bind(crate::now())
        .fetch_one(&self.inner.db.pool)
        .await?
        .try_get(0)?;
        let initial = JobState {
            id,
            status: "queued".into(),
            stage: String::new(),
            progress: 0.0,
            message: String::new(),
            scan_id: None,
        };
        let (tx, _) = watch::channel(initial);
        self.inner
            .live
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id, tx.clone());
        let jobs = self.clone();
        tokio::spawn(async move { jobs.run(id, campaign_id, config, tx).await });
        Ok(id)
    }

    async fn run(&self, id: i64, campaign_id: i64, config: Value, tx: watch::Sender<JobState>) {
        let Ok(_permit) = self.inner.slots.clone().acquire_owned().await else {
            return;
        };
        let db = &self.inner.db;
        let _ = sqlx::query("UPDATE jobs SET status = 'running' WHERE id = $1")
            .bind(id)
            .execute(&db.pool)
            .await;
        tx.send_modify(|s| s.status = "running".into());
        let out_dir = self.inner.work_dir.join(format!("job-{id}"));
        let runner = self.inner.runner.clone();
        let progress_tx = tx.clone();
        let dir = out_dir.clone();
        let result = tokio::task::spawn_blocking(move || {
            std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
            runner.run(&config, &dir, &|stage, fraction| {
                progress_tx.send_modify(|s| {
                    s.stage = stage.to_string();
                    s.progress = fraction.clamp(0.0, 1.0);
                });
            })
        })
        .await
        .unwrap_or_else(|e| Err(Error::Config(format!("the scan panicked: {e}"))));
        let campaign: Result<String> = sqlx::query("SELECT name FROM campaigns WHERE id = $1")
            .bind(campaign_id)
            .fetch_one(&db.pool)
            .await
            .and_then(|r| r.try_get(0))
            .map_err(Error::from);
        let stored = match (result, campaign) {
            (Ok(()), Ok(campaign)) => crate::ingest::ingest(db, &out_dir, &campaign).await,
            (Err(e), _) | (_, Err(e)) => Err(e),
        };
        let (status, message, scan_id) = match stored {
            Ok(s) => (
                "succeeded",
                match &s.already_ingested_at {
                    Some(at) => format!(
                        "the same output set was already stored as scan {} at {at}; nothing stored",
                        s.scan_id
                    ),
                    None => format!("{} sites, {} plumes stored", s.sites, s.plumes),
                },
                Some(s.scan_id),
            ),
            Err(e) => ("failed", e.to_string(), None),
        };
        let _ = sqlx::query(
            "UPDATE jobs SET status = $1, message = $2, scan_id = $3, progress = $4, finished_at = $5 WHERE id = $6",
        )
        .bind(status)
        .bind(&message)
        .bind(scan_id)
        .bind(if status == "succeeded" { 1.0 } else { tx.borrow().progress })
        .bind(crate::now())
        .bind(id)
        .execute(&db.pool)
        .await;
        tx.send_modify(|s| {
            s.status = status.into();
            s.message = message;
            s.scan_id = scan_id;
            if status == "succeeded" {
                s.progress = 1.0;
            }
        });
        self.inner
            .live
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&id);
    }

    /// A receiver of job `id`'s live state while it is queued or running.
    pub fn subscribe(&self, id: i64) -> Option<watch::Receiver<JobState>> {
        self.inner
            .live
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&id)
            .map(watch::Sender::subscribe)
    }
}

/// The runner of a server built without a scan pipeline: every job fails saying so.
#[derive(Debug)]
pub struct NoScanner;

impl ScanRunner for NoScanner {
    fn run(&self, _: &Value, _: &Path, _: &ProgressFn<'_>) -> Result<()> {
        Err(Error::Config(
            "this server was started without a scan pipeline".into(),
        ))
    }
}

/// Runs the scan library: `config` is a [`plumewatch_scan::ScanConfig`] as JSON
/// (unknown fields refused), the outputs are those of `plumewatch scan -o`.
#[derive(Debug)]
pub struct LibraryScanner;

fn scan_error(e: plumewatch_scan::Error) -> Error {
    match e.kind() {
        plumewatch_scan::ErrorKind::Input => Error::Input(e.to_string()),
        _ => Error::Config(e.to_string()),
    }
}

fn scan_config(config: &Value) -> Result<plumewatch_scan::ScanConfig> {
    let config: plumewatch_scan::ScanConfig =
        serde_json::from_value(config.clone()).map_err(|e| Error::Input(format!("config: {e}")))?;
    config.validate().map_err(scan_error)?;
    Ok(config)
}

/// Turns the library's stage/advance calls into (stage, fraction) reports.
struct JobProgress<'a> {
    report: &'a ProgressFn<'a>,
    stage: Mutex<(String, u64, u64)>,
}

impl plumewatch_scan::Progress for JobProgress<'_> {
    fn stage(&self, what: &str, total: u64) {
        *self.stage.lock().unwrap_or_else(|e| e.into_inner()) = (what.to_string(), total, 0);
        (self.report)(what, 0.0);
    }
    fn advance(&self, n: u64) {
        let mut s = self.stage.lock().unwrap_or_else(|e| e.into_inner());
        s.2 += n;
        let fraction = if s.1 > 0 {
            s.2 as f64 / s.1 as f64
        } else {
            0.0
        };
        (self.report)(&s.0, fraction);
    }
}

impl ScanRunner for LibraryScanner {
    fn check(&self, config: &Value) -> Result<()> {
        scan_config(config).map(|_| ())
    }
    fn run(&self, config: &Value, out_dir: &Path, progress: &ProgressFn<'_>) -> Result<()> {
        let config = scan_config(config)?;
        let p = JobProgress {
            report: progress,
            stage: Mutex::new((String::new(), 0, 0)),
        };
        let result = plumewatch_scan::scan(&config, &p).map_err(scan_error)?;
        (progress)("write", 1.0);
        plumewatch_scan::write_outputs(
            &result,
            out_dir,
            plumewatch_scan::Replace::PreviousScanOnly,
        )
        .map_err(scan_error)?;
        Ok(())
    }
}

/// The runner `plumewatch serve` uses: the scan library.
pub fn default_runner() -> Arc<dyn ScanRunner> {
    Arc::new(LibraryScanner)
}
