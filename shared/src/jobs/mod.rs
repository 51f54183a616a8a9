//! The job contract between the app, the server and the trainer: what a user submits
//! ([`JobSpec`]), the trainer's command line for it ([`JobSpec::trainer_args`]), every event a
//! job's stream carries ([`JobEvent`]), what a download leaves ([`Manifest`]), where a job's
//! files are ([`JobDir`]) and how the API lists jobs ([`JobInfo`]).

mod args;
mod card;
mod event;
mod info;
mod layout;
mod manifest;
mod spec;

pub use args::{Owner, TrainerContext};
pub use card::{evaluation_table, read_events};
pub use event::{ClassifierScores, JobEvent, Rate, StageName, StagePlan, StageSummary};
pub use info::{ImportedCount, JobInfo, JobList, JobResult, JobState};
pub use layout::{FETCHED_ID, JobDir, MANIFEST, MODEL_CARD, MODEL_FILES, MODEL_PARTS, RunDir};
pub use manifest::{Manifest, Outcome, SeriesRecord};
pub use spec::{
    BacktestJob, DEFAULT_MODEL_ID, DownloadJob, DownloadSource, FetchModelJob, FinetuneJob,
    JobKind, JobSpec, MAX_BACKTEST_FILE, MAX_DOWNLOAD_SYMBOLS, MAX_MINE_SECONDS,
    MAX_PREDICT_SYMBOLS, MAX_TRAIN_MODEL_SECONDS, MAX_TRAIN_SYMBOLS, MineJob, PredictJob, Stages,
    TrainModelJob, UniverseChoice, hub_repo_problem,
};

#[cfg(test)]
mod tests;
