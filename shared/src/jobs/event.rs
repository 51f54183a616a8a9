//! Every line a job's event stream carries: what the trainer prints with `--progress json`
//! (and writes to `metrics.jsonl`), and what the server adds around it. One type from the
//! trainer's stdout through the store and server-sent events to the app.

use serde::{Deserialize, Deserializer, Serialize};

use super::info::{JobResult, JobState};
use super::manifest::Outcome;

/// The part of a job an event belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StageName {
    Tokenizer,
    Predictor,
    Classifier,
    Download,
    /// A published model from the hub.
    Fetch,
    /// A prediction set.
    Predict,
    /// A backtest's run over its universe.
    Backtest,
    /// A formula search.
    Mine,
    /// A model of the zoo (`train-model`).
    Model,
}

impl StageName {
    pub fn as_str(self) -> &'static str {
        match self {
            StageName::Tokenizer => "tokenizer",
            StageName::Predictor => "predictor",
            StageName::Classifier => "classifier",
            StageName::Download => "download",
            StageName::Fetch => "fetch",
            StageName::Predict => "predict",
            StageName::Backtest => "backtest",
            StageName::Mine => "mine",
            StageName::Model => "model",
        }
    }
}

/// What a stage will work through.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum StagePlan {
    /// Kronos: windows of bars.
    Windows {
        train_windows: usize,
        val_windows: usize,
        steps: usize,
        parameters: usize,
    },
    /// The classifier: labelled days, and how often each class occurs (up, down, flat).
    Samples {
        train_samples: usize,
        val_samples: usize,
        steps: usize,
        parameters: usize,
        class_freq: [f64; 3],
    },
    /// A download: symbols to fetch.
    Symbols { symbols: usize },
    /// A fetch: one repository's files and their bytes.
    Files {
        repo: String,
        files: usize,
        bytes: u64,
    },
}

/// Throughput of a training step.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Rate {
    Bars { bars_per_s: f64 },
    Samples { samples_per_s: f64 },
}

/// The classifier's validation scores at the end of an epoch.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ClassifierScores {
    pub val_brier: f64,
    pub val_brier_baseline: f64,
    pub val_accuracy: f64,
    /// A zoo classifier's 积分制 score of its decisions on validation (above 0 beats
    /// standing aside).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub val_points: Option<f64>,
}

/// How a stage ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum StageSummary {
    /// A training stage: its best validation loss and where that checkpoint is.
    Trained {
        #[serde(deserialize_with = "nan_if_null")]
        best_val_loss: f32,
        checkpoint: String,
    },
    /// A download: symbols by outcome, and requests made.
    Downloaded {
        downloaded: usize,
        up_to_date: usize,
        empty: usize,
        unknown: usize,
        failed: usize,
        requests: u64,
    },
    /// A fetch: the model folder's id on the trainer's side, and what it holds.
    Fetched {
        model: String,
        files: usize,
        bytes: u64,
    },
    Predicted {
        rows: usize,
        skipped_no_bar: usize,
        skipped_short_history: usize,
        /// The stored set's id, when the run kept it in a store.
        set: Option<i64>,
    },
    /// A backtest: its trades and how it did.
    Backtested {
        fills: usize,
        total_return: Option<f64>,
        sharpe: Option<f64>,
    },
}

/// One event of a job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum JobEvent {
    /// A stage begins.
    Start {
        stage: StageName,
        #[serde(flatten)]
        plan: StagePlan,
    },
    /// The validation loss before the first step.
    Baseline {
        stage: StageName,
        #[serde(deserialize_with = "nan_if_null")]
        val_loss: f32,
    },
    Step {
        stage: StageName,
        epoch: usize,
        step: usize,
        #[serde(deserialize_with = "nan_if_null")]
        loss: f32,
        lr: f64,
        #[serde(flatten)]
        rate: Rate,
    },
    Epoch {
        stage: StageName,
        epoch: usize,
        #[serde(deserialize_with = "nan_if_null")]
        train_loss: f32,
        #[serde(deserialize_with = "nan_if_null")]
        val_loss: f32,
        /// This epoch's checkpoint is the best so far.
        best: bool,
        #[serde(flatten)]
        scores: Option<ClassifierScores>,
    },
    Done {
        stage: StageName,
        #[serde(flatten)]
        summary: StageSummary,
    },
    /// A download finished one symbol.
    Symbol {
        stage: StageName,
        index: usize,
        total: usize,
        symbol: String,
        #[serde(flatten)]
        outcome: Outcome,
    },
    /// A fetch's progress through one file: `received` of `size` bytes so far, then once
    /// more when the file is in place, with how it got there (`downloaded`, `resumed`,
    /// `present`).
    File {
        stage: StageName,
        repo: String,
        file: String,
        received: u64,
        size: u64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        how: Option<String>,
    },
    /// A reference download finished one API call (`stock_basic L`, `index_weight 000905.SH`,
    /// `daily_basic 2024-01-31`, …) with the rows it answered.
    Call {
        stage: StageName,
        index: usize,
        total: usize,
        call: String,
        rows: usize,
    },
    /// The server started the trainer (attempt 1 on, the subcommand run).
    /// The rows of one more as-of date are written (`done` of `total` rows).
    Dated {
        stage: StageName,
        date: chrono::NaiveDate,
        rows: usize,
        done: usize,
        total: usize,
    },
    /// A formula search finished a generation: the best training IC so far and its formula.
    Generation {
        stage: StageName,
        generation: usize,
        generations: usize,
        tried: usize,
        #[serde(deserialize_with = "crate::json_nan::f64_or_nan")]
        best_train_ic: f64,
        formula: String,
    },
    Started {
        attempt: i64,
        command: String,
    },
    /// The server stopped while the job ran; it is queued again and resumes.
    Requeued {
        reason: String,
    },
    /// A user queued a failed or cancelled job again.
    Retried {
        attempt: i64,
    },
    /// The job is over; always the last event of an attempt.
    End {
        state: JobState,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        result: Option<JobResult>,
    },
}

impl JobEvent {
    /// The `event` name on the wire.
    pub fn name(&self) -> &'static str {
        match self {
            JobEvent::Start { .. } => "start",
            JobEvent::Baseline { .. } => "baseline",
            JobEvent::Step { .. } => "step",
            JobEvent::Epoch { .. } => "epoch",
            JobEvent::Done { .. } => "done",
            JobEvent::Symbol { .. } => "symbol",
            JobEvent::File { .. } => "file",
            JobEvent::Call { .. } => "call",
            JobEvent::Generation { .. } => "generation",
            JobEvent::Dated { .. } => "dated",
            JobEvent::Started { .. } => "started",
            JobEvent::Requeued { .. } => "requeued",
            JobEvent::Retried { .. } => "retried",
            JobEvent::End { .. } => "end",
        }
    }

    /// One line of JSON, as the trainer prints it and the store keeps it.
    pub fn to_line(&self) -> String {
        serde_json::to_string(self).expect("events serialise")
    }

    pub fn is_end(&self) -> bool {
        matches!(self, JobEvent::End { .. })
    }
}

/// A loss that went non-finite is printed as `null` by JSON; it reads back as NaN.
fn nan_if_null<'de, D: Deserializer<'de>>(d: D) -> Result<f32, D::Error> {
    Ok(Option::<f32>::deserialize(d)?.unwrap_or(f32::NAN))
}
