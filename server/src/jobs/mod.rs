//! Hosted jobs: what a user may submit ([`JobSpec`]), and the handle the API and the runner
//! share ([`Jobs`]). The queue itself is the store's `jobs` table, so it survives restarts;
//! the runner ([`runner`]) starts `kxian-trainer` as a child process per job.

pub mod runner;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use tokio::sync::{Notify, broadcast};

/// A job as submitted. Everything is checked before it is queued.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum JobSpec {
    /// Bars from a market-data source into the store.
    Download {
        #[serde(default)]
        symbols: Vec<String>,
        /// `all-etfs` or `all-a`: the source's whole list.
        #[serde(default)]
        universe: Option<String>,
        #[serde(default = "daily")]
        frequency: String,
        #[serde(default = "none")]
        adjustment: String,
        #[serde(default)]
        from: Option<NaiveDate>,
        #[serde(default)]
        to: Option<NaiveDate>,
    },
    /// Finetune the built-in model (or train from scratch) on series of the store.
    Finetune {
        symbols: Vec<String>,
        /// `tokenizer`, `predictor` or `both`.
        #[serde(default = "both")]
        stages: String,
        #[serde(default = "one")]
        epochs: u32,
        #[serde(default = "sixteen")]
        batch_size: u32,
        #[serde(default)]
        lr: Option<f64>,
        #[serde(default = "ninety")]
        lookback: u32,
        #[serde(default = "ten")]
        horizon: u32,
        /// Stop each stage after this many seconds.
        #[serde(default)]
        max_seconds: Option<f64>,
    },
}

fn daily() -> String {
    "daily".into()
}
fn none() -> String {
    "none".into()
}
fn both() -> String {
    "both".into()
}
fn one() -> u32 {
    1
}
fn sixteen() -> u32 {
    16
}
fn ninety() -> u32 {
    90
}
fn ten() -> u32 {
    10
}

impl JobSpec {
    pub fn kind(&self) -> &'static str {
        match self {
            JobSpec::Download { .. } => "download",
            JobSpec::Finetune { .. } => "finetune",
        }
    }

    /// The problem with the spec, naming the field.
    pub fn check(&self) -> Result<(), String> {
        let symbols_ok = |symbols: &[String]| -> Result<(), String> {
            for s in symbols {
                s.parse::<kxian_shared::Symbol>()
                    .map_err(|e| format!("symbols: `{s}`: {e}"))?;
            }
            Ok(())
        };
        match self {
            JobSpec::Download {
                symbols,
                universe,
                frequency,
                adjustment,
                from,
                to,
            } => {
                symbols_ok(symbols)?;
                if symbols.is_empty() && universe.is_none() {
                    return Err("symbols: give symbols or a universe (all-etfs, all-a)".into());
                }
                if let Some(u) = universe
                    && u != "all-etfs"
                    && u != "all-a"
                {
                    return Err(format!("universe: `{u}` is not all-etfs or all-a"));
                }
                frequency
                    .parse::<kxian_shared::Frequency>()
                    .map_err(|e| format!("frequency: {e}"))?;
                adjustment
                    .parse::<kxian_shared::Adjustment>()
                    .map_err(|e| format!("adjustment: {e}"))?;
                if let (Some(f), Some(t)) = (from, to)
                    && f > t
                {
                    return Err("from: after `to`".into());
                }
                Ok(())
            }
            JobSpec::Finetune {
                symbols,
                stages,
                epochs,
                batch_size,
                lookback,
                horizon,
                ..
            } => {
                symbols_ok(symbols)?;
                if symbols.is_empty() {
                    return Err("symbols: at least one series to train on".into());
                }
                if !["tokenizer", "predictor", "both"].contains(&stages.as_str()) {
                    return Err(format!(
                        "stages: `{stages}` is not tokenizer, predictor or both"
                    ));
                }
                if !(1..=100).contains(epochs) || !(1..=1024).contains(batch_size) {
                    return Err("epochs: 1 to 100; batch_size: 1 to 1024".into());
                }
                if *lookback < 2 || *horizon < 1 {
                    return Err("lookback: at least 2; horizon: at least 1".into());
                }
                Ok(())
            }
        }
    }
}

/// Where and how jobs run.
#[derive(Debug, Clone)]
pub struct RunnerConfig {
    /// The `kxian-trainer` binary.
    pub trainer: PathBuf,
    /// One folder per job (work files and `log.txt`).
    pub work: PathBuf,
    /// The store's file, which download and training jobs read.
    pub db: PathBuf,
    /// Jobs run at once on this machine.
    pub slots: usize,
    /// Queued plus running jobs one user may have.
    pub quota: i64,
    /// Extra environment for the trainer (e.g. a source's base URL).
    pub env: Vec<(String, String)>,
    /// Where finished training jobs put their models (served by /api/models).
    pub models: Option<PathBuf>,
}

#[derive(Debug, Default)]
struct Inner {
    wake: Notify,
    channels: Mutex<HashMap<i64, broadcast::Sender<(i64, String)>>>,
    cancels: Mutex<HashMap<i64, Arc<Notify>>>,
    config: Mutex<Option<RunnerConfig>>,
}

/// Cheap to clone; the API and the runner hold the same one.
#[derive(Debug, Clone, Default)]
pub struct Jobs {
    inner: Arc<Inner>,
}

impl Jobs {
    pub fn new(config: RunnerConfig) -> Jobs {
        let jobs = Jobs::default();
        *jobs.inner.config.lock().expect("not poisoned") = Some(config);
        jobs
    }

    pub fn config(&self) -> Option<RunnerConfig> {
        self.inner.config.lock().expect("not poisoned").clone()
    }

    /// Tells the runner to look at the queue.
    pub fn wake(&self) {
        self.inner.wake.notify_one();
    }

    pub(crate) async fn woken(&self) {
        self.inner.wake.notified().await;
    }

    /// Live events of job `id` as `(seq, json)`.
    pub fn subscribe(&self, id: i64) -> broadcast::Receiver<(i64, String)> {
        self.sender(id).subscribe()
    }

    pub(crate) fn sender(&self, id: i64) -> broadcast::Sender<(i64, String)> {
        self.inner
            .channels
            .lock()
            .expect("not poisoned")
            .entry(id)
            .or_insert_with(|| broadcast::channel(1024).0)
            .clone()
    }

    /// Asks a running job's process to stop.
    pub fn cancel(&self, id: i64) {
        if let Some(n) = self.inner.cancels.lock().expect("not poisoned").get(&id) {
            n.notify_one();
        }
    }

    pub(crate) fn cancel_handle(&self, id: i64) -> Arc<Notify> {
        Arc::clone(
            self.inner
                .cancels
                .lock()
                .expect("not poisoned")
                .entry(id)
                .or_default(),
        )
    }

    pub(crate) fn forget(&self, id: i64) {
        self.inner.cancels.lock().expect("not poisoned").remove(&id);
    }
}
