use super::{Store, StoreError};
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    Queued,
    Running,
    Done,
    Failed,
    Cancelled,
}

impl JobState {
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Running => "running",
            JobState::Done => "done",
            JobState::Failed => "failed",
            JobState::Cancelled => "cancelled",
        }
    }

    fn parse(s: &str) -> Result<JobState, StoreError> {
        Ok(match s {
            "queued" => JobState::Queued,
            "running" => JobState::Running,
            "done" => JobState::Done,
            "failed" => JobState::Failed,
            "cancelled" => JobState::Cancelled,
            other => return Err(StoreError::Corrupt(format!("job state `{other}`"))),
        })
    }

    pub fn finished(self) -> bool {
        matches!(
            self,
            JobState::Done | JobState::Failed | JobState::Cancelled
        )
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct JobRow {
    pub id: i64,
    pub user_id: i64,
    pub user: String,
    pub kind: String,
    pub spec: serde_json::Value,
    pub state: JobState,
    pub attempts: i64,
    pub cancel_requested: bool,
    pub created_at: String,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    pub error: Option<String>,
    pub result: Option<serde_json::Value>,
}

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
    let json = |s: &str| {
        serde_json::from_str(s).map_err(|e| StoreError::Corrupt(format!("job {}: {e}", r.0)))
    };
    Ok(JobRow {
        id: r.0,
        user_id: r.1,
        user: r.2.clone(),
        kind: r.3.clone(),
        spec: json(&r.4)?,
        state: JobState::parse(&r.5)?,
        attempts: r.6,
        cancel_requested: r.7,
        created_at: r.8.clone(),
        started_at: r.9.clone(),
        finished_at: r.10.clone(),
        error: r.11.clone(),
        result: r.12.as_deref().map(json).transpose()?,
    })
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

impl Store {
    pub async fn create_job(
        &self,
        user: i64,
        kind: &str,
        spec: &serde_json::Value,
    ) -> Result<i64, StoreError> {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO jobs (user_id, kind, spec, state, created_at) VALUES (?, ?, ?, 'queued', ?) RETURNING id",
        )
        .bind(user)
        .bind(kind)
        .bind(spec.to_string())
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
        result: Option<&serde_json::Value>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE jobs SET state = ?, finished_at = ?, error = ?, result = ? WHERE id = ?",
        )
        .bind(state.as_str())
        .bind(now())
        .bind(error)
        .bind(result.map(|r| r.to_string()))
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

    /// Queues a failed or cancelled job again; `false` if it is not finished that way.
    pub async fn retry_job(&self, id: i64) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE jobs SET state = 'queued', cancel = 0, error = NULL, finished_at = NULL
             WHERE id = ? AND state IN ('failed', 'cancelled')",
        )
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Appends an event; returns its sequence number.
    pub async fn add_job_event(&self, id: i64, body: &str) -> Result<i64, StoreError> {
        let seq: i64 = sqlx::query_scalar(
            "INSERT INTO job_events (job_id, seq, at, body)
             VALUES (?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM job_events WHERE job_id = ?), ?, ?)
             RETURNING seq",
        )
        .bind(id)
        .bind(id)
        .bind(now())
        .bind(body)
        .fetch_one(&self.pool)
        .await?;
        Ok(seq)
    }

    /// Events after `after`, in order, as `(seq, body)`.
    pub async fn job_events(&self, id: i64, after: i64) -> Result<Vec<(i64, String)>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT seq, body FROM job_events WHERE job_id = ? AND seq > ? ORDER BY seq",
        )
        .bind(id)
        .bind(after)
        .fetch_all(&self.pool)
        .await?)
    }
}
