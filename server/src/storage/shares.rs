use super::{Store, StoreError};
use crate::models::sha256_hex;

/// A stored snapshot: its JSON exactly as it was written.
#[derive(Debug, Clone)]
pub struct StoredShare {
    pub created_at: String,
    pub body: String,
}

impl Store {
    /// Inserts a new snapshot; `Ok(false)` when the id is taken (the caller draws another).
    pub async fn insert_share(&self, id: &str, body: &str) -> Result<bool, StoreError> {
        let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let done = sqlx::query(
            "INSERT INTO shares (id, created_at, sha256, body) VALUES (?, ?, ?, ?)
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(id)
        .bind(now)
        .bind(sha256_hex(body.as_bytes()))
        .bind(body)
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
