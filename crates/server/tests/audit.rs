//! The audit trail refuses UPDATE and DELETE, and `verify` finds tampering done
//! around the triggers, naming the first broken record; on SQLite and PostgreSQL.

mod common;

use common::PgCluster;
use plumewatch_server::audit::{self, Entry};
use plumewatch_server::{Backend, Db};

fn entry(i: usize) -> Entry {
    Entry {
        user: format!("user{}", i % 3),
        action: "site.read".into(),
        object: format!("site:{i}"),
        client: "127.0.0.1".into(),
        outcome: "ok 200".into(),
    }
}

async fn fresh(url: &str) -> Db {
    let db = Db::open(url).await.unwrap();
    let entries: Vec<Entry> = (1..=10).map(entry).collect();
    assert_eq!(
        audit::append(&db, &entries[..4]).await.unwrap(),
        vec![1, 2, 3, 4]
    );
    assert_eq!(
        audit::append(&db, &entries[4..]).await.unwrap(),
        vec![5, 6, 7, 8, 9, 10]
    );
    db
}

async fn tamper_suite(url_a: &str, url_b: &str) {
    let db = fresh(url_a).await;
    let v = audit::verify(&db).await.unwrap();
    assert_eq!((v.records, v.first_broken.clone()), (10, None));
    // The triggers refuse changes.
    let e = sqlx::query("UPDATE audit SET outcome = 'denied 403' WHERE seq = 3")
        .execute(&db.pool)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("append-only"), "{e}");
    let e = sqlx::query("DELETE FROM audit WHERE seq = 3")
        .execute(&db.pool)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("append-only"), "{e}");
    if db.backend == Backend::Postgres {
        let e = sqlx::query("TRUNCATE audit")
            .execute(&db.pool)
            .await
            .unwrap_err();
        assert!(e.to_string().contains("append-only"), "{e}");
    }
    assert_eq!(audit::verify(&db).await.unwrap().first_broken, None);

    // Someone with the database file or superuser rights goes around the triggers.
    let (off, on) = match db.backend {
        Backend::Sqlite => ("DROP TRIGGER audit_refuse_update", ""),
        Backend::Postgres => (
            "ALTER TABLE audit DISABLE TRIGGER USER",
            "ALTER TABLE audit ENABLE TRIGGER USER",
        ),
    };
    sqlx::raw_sql(off).execute(&db.pool).await.unwrap();
    sqlx::query("UPDATE audit SET object = 'site:999' WHERE seq = 7")
        .execute(&db.pool)
        .await
        .unwrap();
    sqlx::query("UPDATE audit SET outcome = 'ok 201' WHERE seq = 4")
        .execute(&db.pool)
        .await
        .unwrap();
    let v = audit::verify(&db).await.unwrap();
    let (seq, why) = v.first_broken.expect("tampering not detected");
    assert_eq!(seq, 4, "{why}");
    assert!(why.contains("edited"), "{why}");
    if !on.is_empty() {
        sqlx::raw_sql(on).execute(&db.pool).await.unwrap();
    }

    // Removing a record (and re-hashing nothing) breaks the chain at the next one.
    let db = fresh(url_b).await;
    let off = match db.backend {
        Backend::Sqlite => "DROP TRIGGER audit_refuse_delete",
        Backend::Postgres => "ALTER TABLE audit DISABLE TRIGGER USER",
    };
    sqlx::raw_sql(off).execute(&db.pool).await.unwrap();
    sqlx::query("DELETE FROM audit WHERE seq = 6")
        .execute(&db.pool)
        .await
        .unwrap();
    let (seq, why) = audit::verify(&db).await.unwrap().first_broken.unwrap();
    assert_eq!(seq, 7);
    assert!(why.contains("removed"), "{why}");
    // A second removal earlier in the chain: verify names the earliest break.
    sqlx::query("DELETE FROM audit WHERE seq = 2")
        .execute(&db.pool)
        .await
        .unwrap();
    let (seq, _) = audit::verify(&db).await.unwrap().first_broken.unwrap();
    assert_eq!(seq, 3);
}

#[tokio::test]
async fn audit_tamper_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.db");
    let b = dir.path().join("b.db");
    tamper_suite(a.to_str().unwrap(), b.to_str().unwrap()).await;
}

#[tokio::test]
async fn audit_tamper_postgres() {
    let Some(pg) = PgCluster::start() else { return };
    let db = Db::open(&pg.url).await.unwrap();
    sqlx::query("CREATE DATABASE second")
        .execute(&db.pool)
        .await
        .unwrap();
    let second = format!("{}/second", pg.url.rsplit_once('/').unwrap().0);
    tamper_suite(&pg.url, &second).await;
}

#[tokio::test]
async fn audit_export_since() {
    let dir = tempfile::tempdir().unwrap();
    let db = fresh(dir.path().join("e.db").to_str().unwrap()).await;
    let mut all = Vec::new();
    assert_eq!(audit::export(&db, None, &mut all).await.unwrap(), 10);
    let lines: Vec<audit::Record> = String::from_utf8(all)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 10);
    assert_eq!(lines[0].prev_hash, audit::GENESIS);
    assert!(lines.windows(2).all(|w| w[1].prev_hash == w[0].hash));
    let since = lines[5].ts.clone();
    let mut out = Vec::new();
    let n = audit::export(&db, Some(&since), &mut out).await.unwrap();
    assert_eq!(n, 5, "records at or after the 6th record's time");
    assert_eq!(
        audit::export(&db, Some("2999-01-01"), &mut Vec::new())
            .await
            .unwrap(),
        0
    );
    assert!(audit::export(&db, Some("last tuesday"), &mut Vec::new())
        .await
        .is_err());
}
