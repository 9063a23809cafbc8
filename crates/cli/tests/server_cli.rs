//! `plumewatch users`, `ingest` and `audit` as an administrator runs them: the token is
//! the last line of `users add`, every command is audited, `audit verify` exits 0 on
//! an intact trail and 1 naming the first broken record after tampering, and
//! `audit export --since` writes JSON lines.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn pw(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_plumewatch"))
        .args(args)
        .output()
        .unwrap()
}

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../server/tests/fixtures/scan_emit_small")
}

#[test]
fn users_ingest_and_audit_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("pw.db");
    let db = db.to_str().unwrap();
    let out = pw(&["users", "add", "ada", "--role", "admin", "--db", db]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let token = stdout.lines().last().unwrap();
    assert!(token.starts_with("pw_") && token.len() > 50, "{stdout}");
    let out = pw(&["users", "add", "ada", "--role", "admin", "--db", db]);
    assert_eq!(out.status.code(), Some(2), "a second ada");
    assert!(String::from_utf8_lossy(&out.stderr).contains("already exists"));
    let out = pw(&["users", "add", "bob", "--role", "root", "--db", db]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("viewer, analyst or admin"));
    assert!(pw(&["users", "grant", "ada", "gulf", "--db", db])
        .status
        .success());
    let out = pw(&[
        "ingest",
        fixture().to_str().unwrap(),
        "--campaign",
        "gulf",
        "--db",
        db,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("2 sites"));
    // The same folder again: recognised, nothing stored, exit 0.
    let out = pw(&[
        "ingest",
        fixture().to_str().unwrap(),
        "--campaign",
        "gulf",
        "--db",
        db,
    ]);
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("already ingested into campaign gulf as scan 1")
            && stdout.contains("nothing stored"),
        "{stdout}"
    );
    let out = pw(&[
        "ingest",
        dir.path().to_str().unwrap(),
        "--campaign",
        "gulf",
        "--db",
        db,
    ]);
    assert_eq!(out.status.code(), Some(2), "not a scan folder");
    // A complete output set is recognised by its scan.json (written last).
    assert!(String::from_utf8_lossy(&out.stderr).contains("scan.json missing"));
    let list = String::from_utf8(pw(&["users", "list", "--db", db]).stdout).unwrap();
    assert_eq!(list.trim(), "ada\tadmin\tgulf");

    let out = pw(&["audit", "verify", "--db", db]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let out = pw(&["audit", "export", "--db", db, "--since", "2000-01-01"]);
    assert!(out.status.success());
    let lines: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let actions: Vec<&str> = lines
        .iter()
        .map(|r| r["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "users.add",
            "users.add",
            "users.add",
            "users.grant",
            "ingest",
            "ingest",
            "ingest",
            "users.list"
        ]
    );
    assert_eq!(lines[1]["outcome"], "invalid");
    let out = pw(&["audit", "export", "--db", db, "--since", "next week"]);
    assert_eq!(out.status.code(), Some(2));

    // Tamper around the trigger: verify exits 1 and names record 4.
    plumewatch_server::commands::block_on(async {
        sqlx::any::install_default_drivers();
        let pool = sqlx::AnyPool::connect(&format!("sqlite://{db}"))
            .await
            .unwrap();
        let refused = sqlx::query("UPDATE audit SET user_name = 'x' WHERE seq = 4")
            .execute(&pool)
            .await;
        assert!(refused.is_err());
        sqlx::query("DROP TRIGGER audit_refuse_update")
            .execute(&pool)
            .await
            .unwrap();
        sqlx::query("UPDATE audit SET outcome = 'ok' WHERE seq = 5")
            .execute(&pool)
            .await
            .unwrap();
        sqlx::query("UPDATE audit SET user_name = 'nobody' WHERE seq = 4")
            .execute(&pool)
            .await
            .unwrap();
    });
    let out = pw(&["audit", "verify", "--db", db]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("TAMPERED") && text.contains("#4"), "{text}");
}
