//! Hosted jobs: what a user may submit ([`JobSpec`]), and the handle the API and the runner
//! share ([`Jobs`]). The queue itself is the store's `jobs` table, so it survives restarts;
//! the runner ([`runner`]) starts `kxian-trainer` as a child process per job.

mod check;
pub mod runner;

pub use kxian_shared::jobs::{JobEvent, JobSpec};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use tokio::sync::{Notify, broadcast};

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
    channels: Mutex<HashMap<i64, broadcast::Sender<(i64, JobEvent)>>>,
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

    /// Live events of job `id` as `(seq, event)`.
    pub fn subscribe(&self, id: i64) -> broadcast::Receiver<(i64, JobEvent)> {
        self.sender(id).subscribe()
    }

    pub(crate) fn sender(&self, id: i64) -> broadcast::Sender<(i64, JobEvent)> {
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
