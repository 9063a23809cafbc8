//! What the `plumewatch` subcommands `serve`, `ingest`, `users` and `audit` do, each
//! one call (the binary only parses flags). Command-line administration is audited as
//! user `cli` from client `local`.

use crate::audit::{self, Entry};
use crate::error::Result;
use crate::users::{self, Role};
use crate::Db;
use std::io::Write;
use std::path::Path;

/// Runs `future` on a new multi-threaded tokio runtime.
pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("cannot start the tokio runtime")
        .block_on(future)
}

async fn audited<T>(db: &Db, action: &str, object: String, result: Result<T>) -> Result<T> {
    let outcome = match &result {
        Ok(_) => "ok".to_string(),
        Err(crate::Error::NotFound(_)) => "not_found".into(),
        Err(crate::Error::Input(_)) => "invalid".into(),
        Err(_) => "error".into(),
    };
    let entry = Entry {
        user: "cli".into(),
        action: action.into(),
        object,
        client: "local".into(),
        outcome,
    };
    audit::append(db, &[entry]).await?;
    result
}

/// `plumewatch users add NAME --role ROLE`: creates the user; returns its token.
pub async fn users_add(db: &str, name: &str, role: &str) -> Result<String> {
    let db = Db::open(db).await?;
    let r = match role.parse::<Role>() {
        Ok(parsed) => users::add_user(&db, name, parsed).await,
        Err(e) => Err(e),
    };
    audited(&db, "users.add", format!("user:{name} role={role}"), r).await
}

/// `plumewatch users token NAME`: a further API token for an existing user.
pub async fn users_token(db: &str, name: &str) -> Result<String> {
    let db = Db::open(db).await?;
    let r = users::new_token(&db, name).await;
    audited(&db, "users.token", format!("user:{name}"), r).await
}

/// `plumewatch users grant NAME CAMPAIGN`.
pub async fn users_grant(db: &str, name: &str, campaign: &str) -> Result<()> {
    let db = Db::open(db).await?;
    let r = users::grant(&db, name, campaign).await;
    audited(
        &db,
        "users.grant",
        format!("user:{name} campaign:{campaign}"),
        r,
    )
    .await
}

/// `plumewatch users revoke NAME CAMPAIGN`.
pub async fn users_revoke(db: &str, name: &str, campaign: &str) -> Result<()> {
    let db = Db::open(db).await?;
    let r = users::revoke(&db, name, campaign).await;
    audited(
        &db,
        "users.revoke",
        format!("user:{name} campaign:{campaign}"),
        r,
    )
    .await
}

/// `plumewatch users list`: one line per user: name, role, granted campaigns.
pub async fn users_list(db: &str, out: &mut dyn Write) -> Result<()> {
    let db = Db::open(db).await?;
    let list = users::list_users(&db).await;
    let list = audited(&db, "users.list", "users".into(), list).await?;
    for (u, campaigns) in list {
        writeln!(
            out,
            "{}\t{}\t{}",
            u.name,
            u.role.as_str(),
            campaigns.join(",")
        )
        .map_err(|e| crate::Error::io("stdout", e))?;
    }
    Ok(())
}

/// `plumewatch ingest SCAN_DIR --campaign NAME`.
pub async fn ingest(db: &str, dir: &Path, campaign: &str) -> Result<crate::ingest::Ingested> {
    let db = Db::open(db).await?;
    let r = crate::ingest::ingest(&db, dir, campaign).await;
    let object = match &r {
        Ok(i) => format!(
            "scan:{} campaign:{campaign} dir:{}{}",
            i.scan_id,
            dir.display(),
            if i.already_ingested_at.is_some() {
                " already ingested"
            } else {
                ""
            }
        ),
        Err(_) => format!("campaign:{campaign} dir:{}", dir.display()),
    };
    audited(&db, "ingest", object, r).await
}

/// `plumewatch audit verify`: the chain check (see [`audit::verify`]).
pub async fn audit_verify(db: &str) -> Result<audit::Verification> {
    let db = Db::open(db).await?;
    audit::verify(&db).await
}

/// `plumewatch audit export --since T`: JSON lines to `out`; returns the count.
pub async fn audit_export(db: &str, since: Option<&str>, out: &mut dyn Write) -> Result<u64> {
    let db = Db::open(db).await?;
    let n = audit::export(&db, since, out).await;
    audited(
        &db,
        "audit.export",
        format!("since:{}", since.unwrap_or("start")),
        n,
    )
    .await
}
