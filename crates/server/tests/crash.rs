//! `kill -9` during ingest loses nothing committed and leaves no half-ingested scan;
//! jobs a killed server left running show as failed on restart and can be resubmitted.

mod common;

use common::{fixture_scan, fixture_site_count, rerun_fixture, CopyFixture};
use plumewatch_server::jobs::Jobs;
use plumewatch_server::Db;
use sqlx::Row;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The child: ingests new runs of the fixture scan (the same output set twice would be
/// stored once) again and again until killed.
#[test]
fn ingest_forever_child() {
    let Some(db) = std::env::var_os("PW_CRASH_CHILD_DB") else {
        return;
    };
    // Beside the database, in the parent's temporary folder (a killed child cleans
    // nothing up).
    let runs = std::path::Path::new(&db).with_file_name("runs");
    plumewatch_server::commands::block_on(async {
        let db = Db::open(db.to_str().unwrap()).await.unwrap();
        for i in 0u64.. {
            let run = runs.join(format!("run{i}"));
            rerun_fixture(&run);
            let stored = plumewatch_server::ingest::ingest(&db, &run, "crash")
                .await
                .unwrap();
            assert!(stored.already_ingested_at.is_none());
            std::fs::remove_dir_all(&run).unwrap();
        }
    });
}

async fn count(db: &Db, sql: &str) -> i64 {
    sqlx::query(sql)
        .fetch_one(&db.pool)
        .await
        .unwrap()
        .try_get(0)
        .unwrap()
}

#[tokio::test]
async fn kill_9_during_ingest_leaves_whole_scans_only() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("crash.db");
    let db_path = path.to_str().unwrap().to_string();
    let n_sites = fixture_site_count() as i64;
    let folder = plumewatch_server::ingest::read_scan_folder(&fixture_scan()).unwrap();
    let n_plumes = folder.plumes.len() as i64;
    drop(Db::open(&db_path).await.unwrap()); // schema in place before the child starts
    let mut seen_before_kill = 0;
    for round in 0..4u64 {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "ingest_forever_child",
                "--nocapture",
                "--test-threads",
                "1",
            ])
            .env("PW_CRASH_CHILD_DB", &db_path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Wait until this child has committed at least one scan, then kill it at a
        // moment that varies from round to round (usually mid-transaction).
        let db = Db::open(&db_path).await.unwrap();
        let start = count(&db, "SELECT COUNT(*) FROM scans").await;
        let t0 = Instant::now();
        while count(&db, "SELECT COUNT(*) FROM scans").await <= start {
            assert!(
                t0.elapsed() < Duration::from_secs(120),
                "child committed nothing"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        tokio::time::sleep(Duration::from_millis(3 + 7 * round)).await;
        seen_before_kill = count(&db, "SELECT COUNT(*) FROM scans").await;
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        db.pool.close().await;

        let db = Db::open(&db_path).await.unwrap();
        let scans = count(&db, "SELECT COUNT(*) FROM scans").await;
        assert!(
            scans >= seen_before_kill,
            "committed scans were lost: {scans} < {seen_before_kill}"
        );
        let rows = sqlx::query(
            "SELECT sc.id, (SELECT COUNT(*) FROM sites s WHERE s.scan_id = sc.id), \
             (SELECT COUNT(*) FROM plumes p WHERE p.scan_id = sc.id), \
             (SELECT COUNT(*) FROM flight_lines f WHERE f.scan_id = sc.id) FROM scans sc",
        )
        .fetch_all(&db.pool)
        .await
        .unwrap();
        for r in rows {
            let (id, s, p, f): (i64, i64, i64, i64) = (
                r.try_get(0).unwrap(),
                r.try_get(1).unwrap(),
                r.try_get(2).unwrap(),
                r.try_get(3).unwrap(),
            );
            assert_eq!((s, p, f), (n_sites, n_plumes, 1), "scan {id} is incomplete");
        }
        let orphans = count(
            &db,
            "SELECT COUNT(*) FROM sites WHERE scan_id NOT IN (SELECT id FROM scans)",
        )
        .await;
        assert_eq!(orphans, 0);
        let ok: String = sqlx::query("PRAGMA integrity_check")
            .fetch_one(&db.pool)
            .await
            .unwrap()
            .try_get(0)
            .unwrap();
        assert_eq!(ok, "ok");
    }
    assert!(seen_before_kill >= 4);
}

#[tokio::test]
async fn jobs_left_running_by_a_killed_server_show_failed_and_can_be_resubmitted() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path().join("j.db").to_str().unwrap())
        .await
        .unwrap();
    let user =
        plumewatch_server::users::add_user(&db, "ann", plumewatch_server::users::Role::Analyst)
            .await;
    assert!(user.is_ok());
    plumewatch_server::users::grant(&db, "ann", "gulf")
        .await
        .unwrap();
    // What a server killed mid-scan leaves behind.
    sqlx::query(
        "INSERT INTO jobs (campaign_id, user_id, config, status, created_at) \
         VALUES (1, 1, '{\"flight_lines\":[{\"cube\":\"line1.hdr\"}]}', 'running', '2026-01-01T00:00:00.000000Z')",
    )
    .execute(&db.pool)
    .await
    .unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(data.join("line1.hdr"), b"ENVI\n").unwrap();
    let jobs = Jobs::start(
        db.clone(),
        Arc::new(CopyFixture),
        Some(data),
        dir.path().join("work"),
        1,
    )
    .await
    .unwrap();
    let r = sqlx::query("SELECT status, message, config FROM jobs WHERE id = 1")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(r.try_get::<String, _>(0).unwrap(), "failed");
    assert!(r.try_get::<String, _>(1).unwrap().contains("resubmit"));
    // Resubmitted (same config, paths relative to the data directory): it runs.
    let id = jobs
        .submit(
            1,
            1,
            serde_json::json!({"flight_lines": [{"cube": "line1.hdr"}]}),
        )
        .await
        .unwrap();
    let t0 = Instant::now();
    loop {
        let r = sqlx::query("SELECT status, message FROM jobs WHERE id = $1")
            .bind(id)
            .fetch_one(&db.pool)
            .await
            .unwrap();
        let status: String = r.try_get(0).unwrap();
        if status == "succeeded" || status == "failed" {
            assert_eq!(
                status,
                "succeeded",
                "{}",
                r.try_get::<String, _>(1).unwrap()
            );
            break;
        }
        assert!(t0.elapsed() < Duration::from_secs(60), "job did not finish");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
