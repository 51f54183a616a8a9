use super::{Store, StoreError};
use crate::digest::sha256_hex;

/// A stored snapshot: its JSON exactly as it was written.
#[derive(Debug, Clone)]
pub struct StoredShare {
    pub created_at: String,
    pub body: String,
}

impl Store {
    /// Inserts a new snapshot made by `creator` (`user:ID` or `ip:ADDRESS`); `Ok(false)` when
    /// the id is taken (the caller draws another).
    pub async fn insert_share(
        &self,
        id: &str,
        body: &str,
        creator: &str,
    ) -> Result<bool, StoreError> {
        let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let done = sqlx::query(
            "INSERT INTO shares (id, created_at, sha256, body, creator, bytes) VALUES (?, ?, ?, ?, ?, ?)
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(id)
        .bind(now)
        .bind(sha256_hex(body.as_bytes()))
        .bind(body)
        .bind(creator)
        .bind(body.len() as i64)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Bytes of share links `creator` keeps in the store.
    pub async fn share_bytes_of(&self, creator: &str) -> Result<u64, StoreError> {
        let n: i64 =
            sqlx::query_scalar("SELECT COALESCE(SUM(bytes), 0) FROM shares WHERE creator = ?")
                .bind(creator)
                .fetch_one(&self.pool)
                .await?;
        Ok(n.max(0) as u64)
    }

    /// Deletes a share link (an admin's `kxian share delete`); `false` when there is none.
    pub async fn delete_share(&self, id: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM shares WHERE id = ?")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn share(&self, id: &str) -> Result<Option<StoredShare>, StoreError> {
        let row: Option<(String, String, String)> =
            sqlx::query_as("SELECT created_at, sha256, body FROM shares WHERE id = ?")
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
        let Some((created_at, sha, body)) = row else {
            return Ok(None);
        };
        if sha256_hex(body.as_bytes()) != sha {
            return Err(StoreError::Corrupt(format!(
                "share {id}: its content no longer matches its hash"
            )));
        }
        Ok(Some(StoredShare { created_at, body }))
    }
}
