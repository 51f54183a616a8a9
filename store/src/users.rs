use super::{Store, StoreError};
use crate::digest::sha256_hex;
use serde::Serialize;

/// An account. Tokens are looked up by their hash; the store never holds a token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct User {
    pub id: i64,
    pub name: String,
    pub admin: bool,
}

/// Who reads: series of other users are invisible unless the viewer is an admin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Viewer {
    pub user: Option<i64>,
    pub admin: bool,
}

impl Viewer {
    /// The local machine itself (the embedded load, `kxian import`): an admin with no account,
    /// whose writes are public.
    pub const SYSTEM: Viewer = Viewer {
        user: None,
        admin: true,
    };

    /// What `user` reads and writes as.
    pub fn of(user: &User) -> Viewer {
        Viewer {
            user: Some(user.id),
            admin: user.admin,
        }
    }

    /// The SQL condition on a `series` alias `r`, with its two binds (user id, admin flag).
    pub(crate) const SEES: &'static str = "(r.owner_id IS NULL OR r.owner_id = ? OR ? = 1)";

    /// The order among several visible series of one key (one bind, the user id): the
    /// viewer's own, then the public one, then (for an admin) other users'.
    pub(crate) const PREFERS: &'static str =
        "CASE WHEN r.owner_id = ? THEN 0 WHEN r.owner_id IS NULL THEN 1 ELSE 2 END, r.id";

    pub fn sees(&self, owner: Option<i64>) -> bool {
        self.admin || owner.is_none() || owner == self.user
    }
}

fn stamp(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn now() -> String {
    stamp(chrono::Utc::now())
}

/// Hex digits of a token's hash that name it in listings and `kxian user revoke`.
pub const TOKEN_ID_LEN: usize = 12;

/// What a token is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// Made by `kxian user add/token`; sent as `Authorization: Bearer`.
    Api,
    /// Made by signing in in the browser; held in the HttpOnly cookie, ended by signing out.
    Session,
}

impl TokenKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenKind::Api => "api",
            TokenKind::Session => "session",
        }
    }
}

/// A token as listed: never the token, only the start of its hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TokenInfo {
    pub id: String,
    pub kind: String,
    pub label: String,
    pub created_at: String,
    pub expires_at: Option<String>,
    pub expired: bool,
}

impl Store {
    pub async fn user_count(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM users")
            .fetch_one(&self.pool)
            .await?)
    }

    /// Creates a user; `Ok(None)` when the name is taken.
    pub async fn create_user(&self, name: &str, admin: bool) -> Result<Option<User>, StoreError> {
        let done = sqlx::query(
            "INSERT INTO users (name, admin, created_at) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(admin)
        .bind(now())
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 0 {
            return Ok(None);
        }
        self.user_by_name(name).await
    }

    pub async fn user_by_id(&self, id: i64) -> Result<Option<User>, StoreError> {
        let row: Option<(i64, String, bool)> =
            sqlx::query_as("SELECT id, name, admin FROM users WHERE id = ?")
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(|(id, name, admin)| User { id, name, admin }))
    }

    pub async fn user_by_name(&self, name: &str) -> Result<Option<User>, StoreError> {
        let row: Option<(i64, String, bool)> =
            sqlx::query_as("SELECT id, name, admin FROM users WHERE name = ?")
                .bind(name)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(|(id, name, admin)| User { id, name, admin }))
    }

    /// Stores the hash of API token `token` for `user`, never expiring.
    pub async fn add_token(&self, user: i64, token: &str, label: &str) -> Result<(), StoreError> {
        self.add_token_with(user, token, label, TokenKind::Api, None)
            .await
    }

    /// Stores the hash of `token` for `user`: an API token or a browser session, expiring at
    /// `expires` (never when `None`).
    pub async fn add_token_with(
        &self,
        user: i64,
        token: &str,
        label: &str,
        kind: TokenKind,
        expires: Option<chrono::DateTime<chrono::Utc>>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO tokens (sha256, user_id, label, created_at, kind, expires_at) VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(sha256_hex(token.as_bytes()))
        .bind(user)
        .bind(label)
        .bind(now())
        .bind(kind.as_str())
        .bind(expires.map(stamp))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The user a live (not expired) token of any kind belongs to.
    pub async fn user_by_token(&self, token: &str) -> Result<Option<User>, StoreError> {
        Ok(self.credential(token).await?.map(|(u, _)| u))
    }

    /// The user a live token belongs to, and what kind of token it is.
    pub async fn credential(&self, token: &str) -> Result<Option<(User, TokenKind)>, StoreError> {
        let row: Option<(i64, String, bool, String)> = sqlx::query_as(
            "SELECT users.id, users.name, users.admin, tokens.kind FROM tokens JOIN users ON users.id = tokens.user_id
             WHERE tokens.sha256 = ? AND (tokens.expires_at IS NULL OR tokens.expires_at > ?)",
        )
        .bind(sha256_hex(token.as_bytes()))
        .bind(now())
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|(id, name, admin, kind)| {
            let kind = if kind == "session" {
                TokenKind::Session
            } else {
                TokenKind::Api
            };
            (User { id, name, admin }, kind)
        }))
    }

    /// The tokens and sessions of `user`, oldest first (never the tokens themselves).
    pub async fn tokens_of(&self, user: i64) -> Result<Vec<TokenInfo>, StoreError> {
        let rows: Vec<(String, String, String, String, Option<String>)> = sqlx::query_as(
            "SELECT sha256, kind, label, created_at, expires_at FROM tokens WHERE user_id = ?
             ORDER BY created_at, sha256",
        )
        .bind(user)
        .fetch_all(&self.pool)
        .await?;
        let live = now();
        Ok(rows
            .into_iter()
            .map(|(sha, kind, label, created_at, expires_at)| TokenInfo {
                id: sha[..TOKEN_ID_LEN.min(sha.len())].to_string(),
                kind,
                label,
                created_at,
                expired: expires_at.as_deref().is_some_and(|e| e <= live.as_str()),
                expires_at,
            })
            .collect())
    }

    /// Revokes `user`'s tokens and sessions: every one, or the one whose id (a prefix of its
    /// hash, as [`Store::tokens_of`] lists it) is `id`. Returns how many went.
    pub async fn revoke_tokens(&self, user: i64, id: Option<&str>) -> Result<u64, StoreError> {
        let done = match id {
            None => {
                sqlx::query("DELETE FROM tokens WHERE user_id = ?")
                    .bind(user)
                    .execute(&self.pool)
                    .await?
            }
            Some(id) => {
                if id.len() < 8 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Ok(0);
                }
                sqlx::query("DELETE FROM tokens WHERE user_id = ? AND substr(sha256, 1, ?) = ?")
                    .bind(user)
                    .bind(id.len() as i64)
                    .bind(id.to_ascii_lowercase())
                    .execute(&self.pool)
                    .await?
            }
        };
        Ok(done.rows_affected())
    }

    /// Ends a browser session (signing out); API tokens are not ended this way.
    pub async fn end_session(&self, token: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM tokens WHERE sha256 = ? AND kind = 'session'")
            .bind(sha256_hex(token.as_bytes()))
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// The first admin (the local install's own account).
    pub async fn first_admin(&self) -> Result<Option<User>, StoreError> {
        let row: Option<(i64, String, bool)> =
            sqlx::query_as("SELECT id, name, admin FROM users WHERE admin = 1 ORDER BY id LIMIT 1")
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(|(id, name, admin)| User { id, name, admin }))
    }

    /// Sets (or with an empty value, removes) a user's credential, sealed at rest.
    pub async fn set_secret(&self, user: i64, name: &str, value: &str) -> Result<(), StoreError> {
        if value.is_empty() {
            sqlx::query("DELETE FROM secrets WHERE user_id = ? AND name = ?")
                .bind(user)
                .bind(name)
                .execute(&self.pool)
                .await?;
            return Ok(());
        }
        sqlx::query(
            "INSERT INTO secrets (user_id, name, value, updated_at) VALUES (?, ?, ?, ?)
             ON CONFLICT (user_id, name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        )
        .bind(user)
        .bind(name)
        .bind(self.key.seal(user, name, value)?)
        .bind(now())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn secret(&self, user: i64, name: &str) -> Result<Option<String>, StoreError> {
        let stored: Option<String> =
            sqlx::query_scalar("SELECT value FROM secrets WHERE user_id = ? AND name = ?")
                .bind(user)
                .bind(name)
                .fetch_optional(&self.pool)
                .await?;
        stored.map(|v| self.key.open(user, name, &v)).transpose()
    }

    /// Seals the secrets a store from before sealing holds in plain text.
    pub(crate) async fn seal_plain_secrets(&self) -> Result<(), StoreError> {
        let rows: Vec<(i64, String, String)> =
            sqlx::query_as("SELECT user_id, name, value FROM secrets")
                .fetch_all(&self.pool)
                .await?;
        for (user, name, value) in rows {
            if !super::sealed::SealKey::is_sealed(&value) {
                sqlx::query("UPDATE secrets SET value = ? WHERE user_id = ? AND name = ?")
                    .bind(self.key.seal(user, &name, &value)?)
                    .bind(user)
                    .bind(&name)
                    .execute(&self.pool)
                    .await?;
            }
        }
        Ok(())
    }

    /// The stored (sealed) form of a secret, for tests that check nothing is in plain text.
    pub async fn secret_at_rest(
        &self,
        user: i64,
        name: &str,
    ) -> Result<Option<String>, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT value FROM secrets WHERE user_id = ? AND name = ?")
                .bind(user)
                .bind(name)
                .fetch_optional(&self.pool)
                .await?,
        )
    }
}
