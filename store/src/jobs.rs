//! The job queue: jobs in the contract's own types ([`kxian_shared::jobs`]), their events as
//! the JSON lines they were sent as.

use super::{Store, StoreError};
use kxian_shared::jobs::{JobEvent, JobInfo, JobResult, JobSpec};

pub use kxian_shared::jobs::JobState;

/// A stored job is the API's [`JobInfo`].
pub type JobRow = JobInfo;

type Raw = (
    i64,
    i64,
    String,
    String,
    String,
    String,
    i64,
    bool,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);

const COLUMNS: &str = "jobs.id, jobs.user_id, users.name, jobs.kind, jobs.spec, jobs.state, jobs.attempts, jobs.cancel,
    jobs.created_at, jobs.started_at, jobs.finished_at, jobs.error, jobs.result
    FROM jobs JOIN users ON users.id = jobs.user_id";

fn row(r: Raw) -> Result<JobRow, StoreError> {
    let id = r.0;
    let corrupt = |what: &str, e: String| StoreError::Corrupt(format!("job {id}: {what}: {e}"));
    Ok(JobInfo {
        id,
        user_id: r.1,
        user: r.2,
        kind: serde_json::from_value(serde_json::Value::String(r.3))
            .map_err(|e| corrupt("kind", e.to_string()))?,
        spec: serde_json::from_str(&r.4).map_err(|e| corrupt("spec", e.to_string()))?,
        state: r.5.parse().map_err(|e| corrupt("state", e))?,
        attempts: r.6,
        cancel_requested: r.7,
        created_at: r.8,
        started_at: r.9,
        finished_at: r.10,
        error: r.11,
        result: r
            .12
            .as_deref()
            .map(serde_json::from_str)
            .transpose()
            .map_err(|e| corrupt("result", e.to_string()))?,
    })
}

pub(crate) fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

impl Store {
    pub async fn create_job(&self, user: i64, spec: &JobSpec) -> Result<i64, StoreError> {
        let json = serde_json::to_string(spec).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO jobs (user_id, kind, spec, state, created_at) VALUES (?, ?, ?, 'queued', ?) RETURNING id",
        )
        .bind(user)
        .bind(spec.kind().as_str())
        .bind(json)
        .bind(now())
        .fetch_one(&self.pool)
        .await?;
        Ok(id)
    }

    pub async fn job(&self, id: i64) -> Result<Option<JobRow>, StoreError> {
        let r: Option<Raw> = sqlx::query_as(&format!("SELECT {COLUMNS} WHERE jobs.id = ?"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        r.map(row).transpose()
    }

    /// Jobs newest first: one user's, or everyone's.
    pub async fn jobs(&self, user: Option<i64>) -> Result<Vec<JobRow>, StoreError> {
        let rows: Vec<Raw> = match user {
            Some(u) => {
                sqlx::query_as(&format!(
                    "SELECT {COLUMNS} WHERE jobs.user_id = ? ORDER BY jobs.id DESC"
                ))
                .bind(u)
                .fetch_all(&self.pool)
                .await?
            }
            None => {
                sqlx::query_as(&format!("SELECT {COLUMNS} ORDER BY jobs.id DESC"))
                    .fetch_all(&self.pool)
                    .await?
            }
        };
        rows.into_iter().map(row).collect()
    }

    /// Queued and running jobs of a user (the quota counts them).
    pub async fn active_jobs(&self, user: i64) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT COUNT(*) FROM jobs WHERE user_id = ? AND state IN ('queued', 'running')",
        )
        .bind(user)
        .fetch_one(&self.pool)
        .await?)
    }

    /// Takes the oldest queued job and marks it running, atomically.
    pub async fn claim_job(&self) -> Result<Option<JobRow>, StoreError> {
        let id: Option<i64> = sqlx::query_scalar(
            "UPDATE jobs SET state = 'running', attempts = attempts + 1, started_at = ?
             WHERE id = (SELECT id FROM jobs WHERE state = 'queued' AND cancel = 0 ORDER BY id LIMIT 1)
             RETURNING id",
        )
        .bind(now())
        .fetch_optional(&self.pool)
        .await?;
        match id {
            Some(id) => self.job(id).await,
            None => Ok(None),
        }
    }

    /// Running jobs left by a server that died: queued again. Returns their ids.
    pub async fn requeue_orphans(&self) -> Result<Vec<i64>, StoreError> {
        Ok(sqlx::query_scalar(
            "UPDATE jobs SET state = 'queued' WHERE state = 'running' RETURNING id",
        )
        .fetch_all(&self.pool)
        .await?)
    }

    pub async fn finish_job(
        &self,
        id: i64,
        state: JobState,
        error: Option<&str>,
        result: Option<&JobResult>,
    ) -> Result<(), StoreError> {
        let result = result
            .map(serde_json::to_string)
            .transpose()
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        sqlx::query(
            "UPDATE jobs SET state = ?, finished_at = ?, error = ?, result = ? WHERE id = ?",
        )
        .bind(state.as_str())
        .bind(now())
        .bind(error)
        .bind(result)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Asks for a cancel. A queued job is cancelled at once; a running one is flagged for
    /// the runner. Returns the state after the call.
    pub async fn request_cancel(&self, id: i64) -> Result<Option<JobState>, StoreError> {
        sqlx::query(
            "UPDATE jobs SET state = 'cancelled', cancel = 1, finished_at = ? WHERE id = ? AND state = 'queued'",
        )
        .bind(now())
        .bind(id)
        .execute(&self.pool)
        .await?;
        sqlx::query("UPDATE jobs SET cancel = 1 WHERE id = ? AND state = 'running'")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(self.job(id).await?.map(|j| j.state))
    }

    /// Queues a failed or cancelled job again and answers it as queued; `None` if it is not
    /// finished that way.
    pub async fn retry_job(&self, id: i64) -> Result<Option<JobRow>, StoreError> {
        // The row is read in the same transaction: the runner may claim the job the moment
        // the update commits, and the answer is the job as retried.
        let mut tx = self.write_tx().await?;
        let done = sqlx::query(
            "UPDATE jobs SET state = 'queued', cancel = 0, error = NULL, finished_at = NULL
             WHERE id = ? AND state IN ('failed', 'cancelled')",
        )
        .bind(id)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            return Ok(None);
        }
        let r: Raw = sqlx::query_as(&format!("SELECT {COLUMNS} WHERE jobs.id = ?"))
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        row(r).map(Some)
    }

    /// Appends an event; returns its sequence number.
    pub async fn add_job_event(&self, id: i64, event: &JobEvent) -> Result<i64, StoreError> {
        let body = event.to_line();
        let seq: i64 = sqlx::query_scalar(
            "INSERT INTO job_events (job_id, seq, at, body)
             VALUES (?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM job_events WHERE job_id = ?), ?, ?)
             RETURNING seq",
        )
        .bind(id)
        .bind(id)
        .bind(now())
        .bind(&body)
        .fetch_one(&self.pool)
        .await?;
        Ok(seq)
    }

    /// Events after `after`, in order. A stored line that is not an event of the contract
    /// (a newer server's, say) is skipped, not fatal to the stream.
    pub async fn job_events(
        &self,
        id: i64,
        after: i64,
    ) -> Result<Vec<(i64, JobEvent)>, StoreError> {
        let rows: Vec<(i64, String)> = sqlx::query_as(
            "SELECT seq, body FROM job_events WHERE job_id = ? AND seq > ? ORDER BY seq",
        )
        .bind(id)
        .bind(after)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .filter_map(|(seq, body)| match serde_json::from_str(&body) {
                Ok(e) => Some((seq, e)),
                Err(e) => {
                    tracing::warn!(job = id, seq, "a stored event does not read: {e}");
                    None
                }
            })
            .collect())
    }
}
