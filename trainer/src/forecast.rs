//! `kxian-trainer forecast`: a Kronos forecast of any file the importers accept.
//! Arguments are checked (`check_args`) before any model is loaded.

use std::path::{Path, PathBuf};
use std::time::Instant;

use kxian_shared::api::{ForecastReport, ImportOptions};
use kxian_shared::model::Sampling;
use kxian_shared::model::checkpoint::check_pair;
use kxian_shared::model::forecast::{CacheMode, ForecastConfig, Progress, block_on};
use kxian_shared::model::report::{
    ReportDevice, ReportInput, ReportModels, default_context, forecast_report,
};

use crate::device::{DeviceChoice, pick};
use crate::input::{self, InputError};
use crate::models::{self, ModelDirError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    Json,
    Csv,
}

/// The command line of `forecast`.
#[derive(Debug, Clone, clap::Args)]
pub struct ForecastArgs {
    /// Tokenizer directory (config.json + model.safetensors), e.g. Kronos-Tokenizer-2k.
    /// Without --tokenizer and --predictor, Kxian's built-in default model runs.
    #[arg(long, requires = "predictor")]
    pub tokenizer: Option<PathBuf>,
    /// Predictor directory, e.g. Kronos-mini.
    #[arg(long, requires = "tokenizer")]
    pub predictor: Option<PathBuf>,
    /// Bars to forecast from: any CSV/XLSX/HQChart JSON the importer reads.
    #[arg(long)]
    pub input: PathBuf,
    /// The symbol to take from a file that holds several.
    #[arg(long)]
    pub symbol: Option<String>,
    /// History bars the model sees: the file's last N rows (default: 400, or the max
    /// context when smaller).
    #[arg(long)]
    pub lookback: Option<usize>,
    /// Future bars to forecast.
    #[arg(long, default_value_t = 30)]
    pub horizon: usize,
    /// Sampling temperature (> 0); lower is more conservative.
    #[arg(long, default_value_t = 1.0)]
    pub temperature: f32,
    /// Keep only the K most likely tokens (0 = off; 1 = deterministic arg-max; when > 0,
    /// top-p is ignored, as in the reference).
    #[arg(long, default_value_t = 0)]
    pub top_k: usize,
    /// Nucleus sampling: keep the smallest set of tokens reaching this probability (1 = off).
    #[arg(long, default_value_t = 0.9)]
    pub top_p: f32,
    /// Sample paths; quantiles and P(up) come from them.
    #[arg(long, default_value_t = 1)]
    pub samples: usize,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Longest token window (default: 2048 for the Kronos-mini shape, 512 otherwise).
    #[arg(long)]
    pub max_context: Option<usize>,
    /// K/V cache: exact (equals the reference), absolute (faster once the window slides,
    /// not the reference's arithmetic) or off (the reference's full recompute).
    #[arg(long, default_value = "exact")]
    pub cache: CacheMode,
    /// Make forecast bars OHLC-consistent (off by default, for parity with the reference).
    #[arg(long)]
    pub repair_ohlc: bool,
    #[arg(long, value_enum, default_value_t = DeviceChoice::Auto)]
    pub device: DeviceChoice,
    #[arg(long, value_enum, default_value_t = OutputFormat::Json)]
    pub format: OutputFormat,
    /// Write here instead of standard output.
    #[arg(long, short)]
    pub output: Option<PathBuf>,
    /// No progress bar.
    #[arg(long, short)]
    pub quiet: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum ForecastCmdError {
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Input(#[from] InputError),
    #[error(transparent)]
    Model(#[from] ModelDirError),
    #[error("{tokenizer} and {predictor}: {message}")]
    Pair {
        tokenizer: String,
        predictor: String,
        message: String,
    },
    #[error(transparent)]
    Device(#[from] crate::device::DeviceError),
    #[error("forecast failed: {0}")]
    Forecast(#[from] kxian_shared::model::ForecastError),
}

impl ForecastCmdError {
    /// 2 for bad usage or input, 1 when the run itself failed.
    pub fn exit_code(&self) -> u8 {
        use crate::cli_error::{Classify, Failure};
        match self.failure() {
            Failure::Input => 2,
            Failure::Run => 1,
        }
    }
}

fn check_args(a: &ForecastArgs) -> Result<(), ForecastCmdError> {
    let usage = |m: String| Err(ForecastCmdError::Usage(m));
    if a.horizon == 0 {
        return usage("--horizon must be at least 1".into());
    }
    if a.samples == 0 {
        return usage("--samples must be at least 1".into());
    }
    if a.lookback == Some(0) {
        return usage("--lookback must be at least 1".into());
    }
    if a.max_context == Some(0) {
        return usage("--max-context must be at least 1".into());
    }
    let s = Sampling {
        temperature: a.temperature,
        top_k: a.top_k,
        top_p: a.top_p,
    };
    s.validate()
        .map_err(|m| ForecastCmdError::Usage(format!("--{m}")))
}

fn dir_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| p.display().to_string())
}

/// Runs the command and returns the report (the caller prints it).
pub fn run(args: &ForecastArgs) -> Result<ForecastReport, ForecastCmdError> {
    check_args(args)?;
    let picked = pick(args.device)?;
    if !args.quiet {
        eprintln!("device: {} ({})", picked.backend, picked.why);
    }
    let (tokenizer, predictor, names) = match (&args.tokenizer, &args.predictor) {
        (Some(t), Some(p)) => {
            let tokenizer = models::load_tokenizer(t, &picked.device)?;
            let predictor = models::load_predictor(p, &picked.device)?;
            check_pair(&tokenizer.config, &predictor.config).map_err(|e| {
                ForecastCmdError::Pair {
                    tokenizer: t.display().to_string(),
                    predictor: p.display().to_string(),
                    message: e.to_string(),
                }
            })?;
            (tokenizer, predictor, (dir_name(t), dir_name(p)))
        }
        _ => {
            let (t, p) = models::load_default(&picked.device).map_err(|e| {
                ForecastCmdError::Usage(format!("the built-in model does not load: {e}"))
            })?;
            let name = models::default_model::NAME.to_string();
            (
                t,
                p,
                (format!("{name}/tokenizer"), format!("{name}/predictor")),
            )
        }
    };
    let max_context = args
        .max_context
        .unwrap_or_else(|| default_context(&predictor.config));
    let lookback = args.lookback.unwrap_or(400.min(max_context));

    let opts = ImportOptions {
        symbol: match &args.symbol {
            Some(s) => Some(
                s.parse()
                    .map_err(|e| ForecastCmdError::Usage(format!("--symbol: {e}")))?,
            ),
            None => None,
        },
        ..ImportOptions::default()
    };
    let model_input = input::load(&args.input, &opts, Some(lookback))?;
    let series = &model_input.series;
    let cfg = ForecastConfig {
        horizon: args.horizon,
        sampling: Sampling {
            temperature: args.temperature,
            top_k: args.top_k,
            top_p: args.top_p,
        },
        samples: args.samples,
        seed: args.seed,
        max_context,
        cache: args.cache,
        repair_ohlc: args.repair_ohlc,
    };
    let bar = progress_bar(args.quiet, args.horizon);
    let started = Instant::now();
    let symbol = series.symbol.to_string();
    let mut report = block_on(forecast_report(
        &ReportModels {
            tokenizer: &tokenizer,
            predictor: &predictor,
            tokenizer_name: names.0,
            predictor_name: names.1,
        },
        &ReportInput {
            symbol: &symbol,
            frequency: series.frequency,
            source: args.input.display().to_string(),
            bars: &series.bars,
        },
        &cfg,
        &ReportDevice {
            device: &picked.device,
            backend: picked.backend.to_string(),
            reason: picked.why,
        },
        &mut |p: Progress| {
            bar.set_position(p.step as u64);
            true
        },
        None,
    ))?;
    bar.finish_and_clear();
    let elapsed_ms = started.elapsed().as_secs_f64() * 1e3;
    tracing::info!(
        elapsed_ms,
        bars = args.horizon,
        samples = args.samples,
        "forecast done"
    );
    report.model.elapsed_ms = elapsed_ms;
    report.model.ms_per_bar = elapsed_ms / args.horizon as f64;
    Ok(report)
}

fn progress_bar(quiet: bool, len: usize) -> indicatif::ProgressBar {
    use std::io::IsTerminal;
    if quiet || !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(len as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} forecasting bar {pos}/{len} [{bar:30}] {elapsed} (ETA {eta})",
        )
        .expect("valid template")
        .progress_chars("=> "),
    );
    bar
}
