//! Users, roles, campaign grants and API tokens.
//!
//! A token is `pw_<key id>_<secret>`: the key id (public, 16 hex digits) finds the row,
//! and the SHA-256 of the secret is compared with the stored hash in constant time. The
//! secret itself is shown once and never stored.

use crate::db::Db;
use crate::error::{Error, Result};
use base64::Engine;
use sha2::{Digest, Sha256};
use sqlx::Row;
use subtle::ConstantTimeEq;

/// What a user may do.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Reads sites, evidence and exports of granted campaigns.
    Viewer,
    /// A viewer who also reviews sites and submits scans.
    Analyst,
    /// An analyst who also manages users and grants and reads the audit trail.
    Admin,
}

impl Role {
    /// The role's name as stored and shown (`viewer`, `analyst`, `admin`).
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Analyst => "analyst",
            Role::Admin => "admin",
        }
    }
}

impl std::str::FromStr for Role {
    type Err = Error;
    fn from_str(s: &str) -> Result<Role> {
        match s {
            "viewer" => Ok(Role::Viewer),
            "analyst" => Ok(Role::Analyst),
            "admin" => Ok(Role::Admin),
            other => Err(Error::Input(format!(
                "unknown role {other:?}: expected viewer, analyst or admin"
            ))),
        }
    }
}

/// An authenticated user.
#[derive(Debug, Clone, serde::Serialize)]
pub struct User {
    /// Database id.
    pub id: i64,
    /// Unique name.
    pub name: String,
    /// What the user may do.
    pub role: Role,
}

/// What kind of credential a token is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// A long-lived API token (`Authorization: Bearer`).
    Api,
    /// A browser session (cookie), which expires and needs a CSRF token to change state.
    Session,
}

impl TokenKind {
    fn as_str(self) -> &'static str {
        match self {
            TokenKind::Api => "api",
            TokenKind::Session => "session",
        }
    }
}

/// A token found valid: its user and kind, and the stored CSRF hash of a session.
#[derive(Debug, Clone)]
pub struct Authenticated {
    /// The token's user.
    pub user: User,
    /// API token or session.
    pub kind: TokenKind,
    /// The token's key id (public part).
    pub key_id: String,
    csrf_hash: Option<String>,
}

impl Authenticated {
    /// Whether `csrf` is this session's CSRF token (constant-time).
    pub fn csrf_matches(&self, csrf: &str) -> bool {
        match &self.csrf_hash {
            Some(stored) => bool::from(sha256_hex(csrf).as_bytes().ct_eq(stored.as_bytes())),
            None => false,
        }
    }
}

/// SHA-256 of `s`, lower-case hex.
pub fn sha256_hex(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

/// `n` random bytes from the operating system, base64url without padding.
pub fn random_secret(n: usize) -> String {
    let mut bytes = vec![0u8; n];
    getrandom::fill(&mut bytes).expect("the operating system's random source failed");
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn random_key_id() -> String {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).expect("the operating system's random source failed");
    hex::encode(bytes)
}

/// Splits `pw_<key id>_<secret>`; `None` when the shape is wrong.
fn split_token(token: &str) -> Option<(&str, &str)> {
    let rest = token.strip_prefix("pw_")?;
    let (key, secret) = rest.split_once('_')?;
    (key.len() == 16 && key.bytes().all(|b| b.is_ascii_hexdigit()) && !secret.is_empty())
        .then_some((key, secret))
}

fn parse_role(s: &str) -> Result<Role> {
    s.parse()
}

/// Creates user `name` with `role` and returns a new API token (shown once).
pub async fn add_user(db: &Db, name: &str, role: Role) -> Result<String> {
    check_name(name, "user name")?;
    let mut tx = db.begin_write().await?;
    let exists = sqlx::query("SELECT id FROM users WHERE name = $1")
        .bind(name)
        .fetch_optional(&mut *tx)
        .await?;
    if exists.is_some() {
        return Err(Error::Input(format!("user {name:?} already exists")));
    }
    let row =
        sqlx::query("INSERT INTO users (name, role, created_at) VALUES ($1, $2, $3) RETURNING id")
            .bind(name)
            .bind(role.as_str())
            .bind(crate::now())
            .fetch_one(&mut *tx)
            .await?;
    let id: i64 = row.try_get(0)?;
    let token = insert_token(&mut tx, id, TokenKind::Api, None, None).await?;
    tx.commit().await?;
    Ok(token)
}

/// Issues another API token for existing user `name` (shown once).
pub async fn new_token(db: &Db, name: &str) -> Result<String> {
    let user = find_user(db, name).await?;
    let mut tx = db.begin_write().await?;
    let token = insert_token(&mut tx, user.id, TokenKind::Api, None, None).await?;
    tx.commit().await?;
    Ok(token)
}

/// Stores a new token of `kind` for `user_id`; returns it (the secret is not stored).
pub(crate) async fn insert_token(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    user_id: i64,
    kind: TokenKind,
    csrf: Option<&str>,
    expires_at: Option<String>,
) -> Result<String> {
    let key_id = random_key_id();
    let secret = random_secret(32);
    sqlx::query(
        "INSERT INTO tokens (key_id, user_id, kind, secret_hash, csrf_hash, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&key_id)
    .bind(user_id)
    .bind(kind.as_str())
    .bind(sha256_hex(&secret))
    .bind(csrf.map(sha256_hex))
    .bind(crate::now())
    .bind(expires_at)
    .execute(&mut **tx)
    .await?;
    Ok(format!("pw_{key_id}_{secret}"))
}

/// Checks `token` of `kind`: `Ok(None)` when it is malformed, unknown, expired or does
/// not match. The hash comparison is constant-time.
pub async fn authenticate(db: &Db, token: &str, kind: TokenKind) -> Result<Option<Authenticated>> {
    let Some((key_id, secret)) = split_token(token) else {
        return Ok(None);
    };
    let row = sqlx::query(
        "SELECT t.secret_hash, t.csrf_hash, t.expires_at, u.id, u.name, u.role \
         FROM tokens t JOIN users u ON u.id = t.user_id WHERE t.key_id = $1 AND t.kind = $2",
    )
    .bind(key_id)
    .bind(kind.as_str())
    .fetch_optional(&db.pool)
    .await?;
    let presented = sha256_hex(secret);
    let Some(row) = row else {
        // Same work as a hit, so timing does not tell whether the key id exists.
        let _ = presented.as_bytes().ct_eq(presented.as_bytes());
        return Ok(None);
    };
    let stored: String = row.try_get(0)?;
    if !bool::from(presented.as_bytes().ct_eq(stored.as_bytes())) {
        return Ok(None);
    }
    let expires_at: Option<String> = row.try_get(2)?;
    if let Some(expires) = expires_at {
        if expires <= crate::now() {
            return Ok(None);
        }
    }
    let role: String = row.try_get(5)?;
    Ok(Some(Authenticated {
        user: User {
            id: row.try_get(3)?,
            name: row.try_get(4)?,
            role: parse_role(&role)?,
        },
        kind,
        key_id: key_id.to_string(),
        csrf_hash: row.try_get(1)?,
    }))
}

/// Removes the session with key id `key_id` (sign-out).
pub async fn end_session(db: &Db, key_id: &str) -> Result<()> {
    sqlx::query("DELETE FROM tokens WHERE key_id = $1 AND kind = 'session'")
        .bind(key_id)
        .execute(&db.pool)
        .await?;
    Ok(())
}

/// The user called `name`.
pub async fn find_user(db: &Db, name: &str) -> Result<User> {
    let row = sqlx::query("SELECT id, name, role FROM users WHERE name = $1")
        .bind(name)
        .fetch_optional(&db.pool)
        .await?
        .ok_or_else(|| Error::NotFound(format!("no user named {name:?}")))?;
    let role: String = row.try_get(2)?;
    Ok(User {
        id: row.try_get(0)?,
        name: row.try_get(1)?,
        role: parse_role(&role)?,
    })
}

/// Every user with the campaigns granted to each, by name.
pub async fn list_users(db: &Db) -> Result<Vec<(User, Vec<String>)>> {
    let rows = sqlx::query("SELECT id, name, role FROM users ORDER BY name")
        .fetch_all(&db.pool)
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let role: String = row.try_get(2)?;
        let user = User {
            id: row.try_get(0)?,
            name: row.try_get(1)?,
            role: parse_role(&role)?,
        };
        let campaigns = sqlx::query(
            "SELECT c.name FROM grants g JOIN campaigns c ON c.id = g.campaign_id \
             WHERE g.user_id = $1 ORDER BY c.name",
        )
        .bind(user.id)
        .fetch_all(&db.pool)
        .await?
        .iter()
        .map(|r| r.try_get::<String, _>(0))
        .collect::<Result<Vec<_>, _>>()?;
        out.push((user, campaigns));
    }
    Ok(out)
}

/// Checks a user or campaign name: 1-64 characters of letters, digits, `-`, `_`, `.`.
pub fn check_name(name: &str, what: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.');
    if ok {
        Ok(())
    } else {
        Err(Error::Input(format!(
            "invalid {what} {name:?}: use 1-64 letters, digits, '-', '_' or '.'"
        )))
    }
}

/// The id of campaign `name`, creating it when `create` is set.
pub async fn campaign_id(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    name: &str,
    create: bool,
) -> Result<i64> {
    check_name(name, "campaign name")?;
    if let Some(row) = sqlx::query("SELECT id FROM campaigns WHERE name = $1")
        .bind(name)
        .fetch_optional(&mut **tx)
        .await?
    {
        return Ok(row.try_get(0)?);
    }
    if !create {
        return Err(Error::NotFound(format!("no campaign named {name:?}")));
    }
    let row = sqlx::query("INSERT INTO campaigns (name, created_at) VALUES ($1, $2) RETURNING id")
        .bind(name)
        .bind(crate::now())
        .fetch_one(&mut **tx)
        .await?;
    Ok(row.try_get(0)?)
}

/// Grants user `name` access to `campaign` (created when new). Granting twice is fine.
pub async fn grant(db: &Db, name: &str, campaign: &str) -> Result<()> {
    let user = find_user(db, name).await?;
    let mut tx = db.begin_write().await?;
    let campaign = campaign_id(&mut tx, campaign, true).await?;
    let exists = sqlx::query("SELECT 1 FROM grants WHERE user_id = $1 AND campaign_id = $2")
        .bind(user.id)
        .bind(campaign)
        .fetch_optional(&mut *tx)
        .await?;
    if exists.is_none() {
        sqlx::query("INSERT INTO grants (user_id, campaign_id) VALUES ($1, $2)")
            .bind(user.id)
            .bind(campaign)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Revokes user `name`'s access to `campaign`; an error when there was no such grant.
pub async fn revoke(db: &Db, name: &str, campaign: &str) -> Result<()> {
    let user = find_user(db, name).await?;
    let mut tx = db.begin_write().await?;
    let campaign_id = campaign_id(&mut tx, campaign, false).await?;
    let done = sqlx::query("DELETE FROM grants WHERE user_id = $1 AND campaign_id = $2")
        .bind(user.id)
        .bind(campaign_id)
        .execute(&mut *tx)
        .await?;
    if done.rows_affected() == 0 {
        return Err(Error::NotFound(format!(
            "user {name:?} has no grant on campaign {campaign:?}"
        )));
    }
    tx.commit().await?;
    Ok(())
}

/// The campaign ids user `user_id` may see.
pub async fn granted_campaigns(db: &Db, user_id: i64) -> Result<Vec<i64>> {
    let rows =
        sqlx::query("SELECT campaign_id FROM grants WHERE user_id = $1 ORDER BY campaign_id")
            .bind(user_id)
            .fetch_all(&db.pool)
            .await?;
    rows.iter()
        .map(|r| r.try_get::<i64, _>(0).map_err(Error::from))
        .collect()
}
