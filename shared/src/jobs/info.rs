//! A job as the API lists it, and what it left when it finished.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::manifest::Outcome;
use super::spec::{JobKind, JobSpec};

/// Where a job is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    Queued,
    Running,
    Done,
    Failed,
    Cancelled,
}

impl JobState {
    pub const ALL: [JobState; 5] = [
        JobState::Queued,
        JobState::Running,
        JobState::Done,
        JobState::Failed,
        JobState::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Running => "running",
            JobState::Done => "done",
            JobState::Failed => "failed",
            JobState::Cancelled => "cancelled",
        }
    }

    /// Done, failed or cancelled: nothing more happens unless it is retried.
    pub fn finished(self) -> bool {
        matches!(
            self,
            JobState::Done | JobState::Failed | JobState::Cancelled
        )
    }
}

impl std::str::FromStr for JobState {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        JobState::ALL
            .into_iter()
            .find(|j| j.as_str() == s)
            .ok_or_else(|| format!("job state `{s}`"))
    }
}

/// Bars a download wrote into one series of the store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportedCount {
    pub symbol: String,
    pub inserted: u64,
    pub updated: u64,
}

/// What a finished job left.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum JobResult {
    /// A download: the series written, and how every symbol went.
    Download {
        imported: Vec<ImportedCount>,
        outcomes: BTreeMap<String, Outcome>,
    },
    /// A model of the zoo: the model it became (served by `/api/models` with its card) and the
    /// card's held-out figures. Before `Model`: an untagged result with a card is this one.
    Zoo {
        model: String,
        card: Box<crate::zoo::card::Card>,
        /// The test part's outputs, stored as the owner's prediction set `job-<id>` for
        /// backtests (none for a target with no set, e.g. volatility alone).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        set: Option<i64>,
    },
    /// A finetune: the model it became, served by `/api/models`.
    Model { model: String },
    /// A finetune on a server without a models folder: the run folder.
    Run { run: String },
    /// A prediction set, stored for the job's owner (`/api/predictions/{set}`).
    Predictions { set: i64, rows: usize },
    /// A backtest: the report as the CLI prints it, and its trades.
    Backtest { report: String, fills: usize },
    /// Reference data, stored: how many records of each kind.
    Reference {
        industries: usize,
        shares: usize,
        members: usize,
        status: usize,
        /// Absent in results from before northbound holdings were downloaded.
        #[serde(default)]
        northbound: usize,
    },
    /// A cross-check: how the source's bars compare with the stored series, nothing stored.
    Checked(crate::health::CheckedSource),
    /// A formula search: what it tried and the formulas it accepted.
    Mined(Box<crate::mine::MineReport>),
}

/// A job as the API lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobInfo {
    pub id: i64,
    pub user_id: i64,
    /// The owner's name.
    pub user: String,
    pub kind: JobKind,
    pub spec: JobSpec,
    pub state: JobState,
    pub attempts: i64,
    #[serde(default)]
    pub cancel_requested: bool,
    pub created_at: String,
    #[serde(default)]
    pub started_at: Option<String>,
    #[serde(default)]
    pub finished_at: Option<String>,
    #[serde(default)]
    pub error: Option<String>,
    #[serde(default)]
    pub result: Option<JobResult>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobList {
    pub jobs: Vec<JobInfo>,
}
