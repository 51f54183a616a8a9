//! One exit-code policy for every command: bad input (a flag, a file, data that cannot serve
//! the run) exits 2, a run that fails on good input exits 1. clap's own usage errors exit 2
//! before any command starts. Errors are classified by their type, wherever in the chain of
//! causes they sit, so a command adds context freely without changing its exit code.

use std::fmt;
use std::io::Write;

use crate::backtest::BacktestError;
use crate::device::DeviceError;
use crate::download::DownloadError;
use crate::forecast::ForecastCmdError;
use crate::health::HealthError;
use crate::input::InputError;
use crate::models::ModelDirError;
use crate::store::StoreError;
use kxian_shared::ingest::ImportError;

/// Which side of the line a failure falls on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// The user's flags, files or data: exit 2.
    Input,
    /// The run itself: exit 1.
    Run,
}

/// What the user gave cannot serve the run (an out-of-range flag, too little data).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct BadInput(pub String);

/// `anyhow::ensure!` for bad input: exits 2 through [`CliError`].
#[macro_export]
macro_rules! ensure_input {
    ($cond:expr, $($fmt:tt)+) => {
        if !$cond {
            return Err(anyhow::Error::new($crate::cli_error::BadInput(format!($($fmt)+))));
        }
    };
}

/// `anyhow::bail!` for bad input.
#[macro_export]
macro_rules! bail_input {
    ($($fmt:tt)+) => {
        return Err(anyhow::Error::new($crate::cli_error::BadInput(format!($($fmt)+))))
    };
}

/// An error type that knows whether it is the user's input or the run.
pub trait Classify {
    fn failure(&self) -> Failure;
}

/// Errors that are always the user's input (a device asked for and not there included: the
/// flag is what to change).
macro_rules! always_input {
    ($($t:ty),+) => {
        $(impl Classify for $t {
            fn failure(&self) -> Failure {
                Failure::Input
            }
        })+
    };
}

always_input!(BadInput, ImportError, InputError, DeviceError);

impl Classify for StoreError {
    fn failure(&self) -> Failure {
        match self {
            StoreError::Query { .. } => Failure::Run,
            _ => Failure::Input,
        }
    }
}

impl Classify for ModelDirError {
    fn failure(&self) -> Failure {
        match self {
            ModelDirError::Write { .. } => Failure::Run,
            _ => Failure::Input,
        }
    }
}

impl Classify for ForecastCmdError {
    fn failure(&self) -> Failure {
        match self {
            ForecastCmdError::Forecast(_) => Failure::Run,
            ForecastCmdError::Model(e) => e.failure(),
            _ => Failure::Input,
        }
    }
}

impl Classify for BacktestError {
    fn failure(&self) -> Failure {
        match self {
            BacktestError::Run { .. } => Failure::Run,
            BacktestError::Store(e) => e.failure(),
            _ => Failure::Input,
        }
    }
}

impl Classify for DownloadError {
    fn failure(&self) -> Failure {
        match self {
            DownloadError::Io { .. } | DownloadError::Failed(_) => Failure::Run,
            DownloadError::Store(e) => e.failure(),
            _ => Failure::Input,
        }
    }
}

impl Classify for HealthError {
    fn failure(&self) -> Failure {
        match self {
            HealthError::Store(e) => e.failure(),
            HealthError::Against { .. } => Failure::Input,
        }
    }
}

/// A failed command: the error and its exit code.
pub struct CliError(anyhow::Error);

impl CliError {
    /// The first classified cause decides; anything unclassified (I/O while writing, a
    /// model that diverged) is the run's failure.
    pub fn failure(&self) -> Failure {
        macro_rules! classified {
            ($cause:expr, $($t:ty),+) => {
                $(if let Some(e) = $cause.downcast_ref::<$t>() {
                    return e.failure();
                })+
            };
        }
        for cause in self.0.chain() {
            classified!(
                cause,
                BadInput,
                ForecastCmdError,
                BacktestError,
                DownloadError,
                HealthError,
                StoreError,
                ModelDirError,
                InputError,
                ImportError,
                DeviceError
            );
        }
        Failure::Run
    }

    pub fn exit_code(&self) -> u8 {
        match self.failure() {
            Failure::Input => 2,
            Failure::Run => 1,
        }
    }
}

impl fmt::Display for CliError {
    /// The error and its causes, each said once: most messages already quote their source.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut said = String::new();
        for cause in self.0.chain() {
            let text = cause.to_string();
            if said.contains(&text) {
                continue;
            }
            if !said.is_empty() {
                said.push_str(": ");
            }
            said.push_str(&text);
        }
        f.write_str(&said)
    }
}

impl fmt::Debug for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl From<anyhow::Error> for CliError {
    fn from(e: anyhow::Error) -> Self {
        CliError(e)
    }
}

impl<E: Classify + std::error::Error + Send + Sync + 'static> From<E> for CliError {
    fn from(e: E) -> Self {
        CliError(e.into())
    }
}

/// Prints to stdout; a reader that went away (`| head`) is not a failure.
pub fn print_out(text: &str) -> Result<(), CliError> {
    match std::io::stdout().lock().write_all(text.as_bytes()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other.map_err(|e| CliError(anyhow::Error::new(e).context("writing to stdout"))),
    }
}

/// Writes a file the command produces; failing to is the run's failure.
pub fn write_file(path: &std::path::Path, text: &str) -> Result<(), CliError> {
    std::fs::write(path, text)
        .map_err(|e| CliError(anyhow::Error::new(e).context(format!("writing {}", path.display()))))
}
