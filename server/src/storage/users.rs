use super::{Store, StoreError};
use crate::models::sha256_hex;
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
    /// The SQL condition on a `series` alias `r`, with its two binds (user id, admin flag).
    pub(crate) const SEES: &'static str = "(r.owner_id IS NULL OR r.owner_id = ? OR ? = 1)";

    pub fn sees(&self, owner: Option<i64>) -> bool {
        self.admin || owner.is_none() || owner == self.user
    }
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
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

    pub async fn user_by_name(&self, name: &str) -> Result<Option<User>, StoreError> {
        let row: Option<(i64, String, bool)> =
            sqlx::query_as("SELECT id, name, admin FROM users WHERE name = ?")
                .bind(name)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(|(id, name, admin)| User { id, name, admin }))
    }

    /// Stores the hash of `token` for `user`.
    pub async fn add_token(&self, user: i64, token: &str, label: &str) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO tokens (sha256, user_id, label, created_at) VALUES (?, ?, ?, ?)")
            .bind(sha256_hex(token.as_bytes()))
            .bind(user)
            .bind(label)
            .bind(now())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The user a token belongs to.
    pub async fn user_by_token(&self, token: &str) -> Result<Option<User>, StoreError> {
        let row: Option<(i64, String, bool)> = sqlx::query_as(
            "SELECT users.id, users.name, users.admin FROM tokens JOIN users ON users.id = tokens.user_id
             WHERE tokens.sha256 = ?",
        )
        .bind(sha256_hex(token.as_bytes()))
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|(id, name, admin)| User { id, name, admin }))
    }

    /// The first admin (the local install's own account).
    pub async fn first_admin(&self) -> Result<Option<User>, StoreError> {
        let row: Option<(i64, String, bool)> =
            sqlx::query_as("SELECT id, name, admin FROM users WHERE admin = 1 ORDER BY id LIMIT 1")
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(|(id, name, admin)| User { id, name, admin }))
    }

    /// Sets (or with an empty value, removes) a user's credential.
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
        .bind(value)
        .bind(now())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn secret(&self, user: i64, name: &str) -> Result<Option<String>, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT value FROM secrets WHERE user_id = ? AND name = ?")
                .bind(user)
                .bind(name)
                .fetch_optional(&self.pool)
                .await?,
        )
    }
}
