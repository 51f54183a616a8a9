//! `kxian-trainer forecast`: a Kronos forecast of any file the importers accept.
//! Arguments are checked into a [`ForecastPlan`] before any model is loaded.

use std::path::{Path, PathBuf};
use std::time::Instant;

use chrono::NaiveDateTime;
use kxian_shared::Frequency;
use kxian_shared::api::{
    FORECAST_COLUMNS, ForecastInputSummary, ForecastModelInfo, ForecastParams, ForecastQuantiles,
    ForecastReport, ForecastTokens, ImportOptions, ModelSummary,
};
use kxian_shared::calendar::TradingCalendar;
use kxian_shared::features;
use kxian_shared::model::checkpoint::{check_pair, parameter_count};
use kxian_shared::model::forecast::{CacheMode, ForecastConfig, ForecastInput, Progress, forecast};
use kxian_shared::model::{PredictorConfig, Sampling};

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
        match self {
            Self::Forecast(_) => 1,
            _ => 2,
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

fn label(ts: NaiveDateTime, f: Frequency) -> String {
    if f.is_intraday() {
        ts.format("%Y-%m-%d %H:%M").to_string()
    } else {
        ts.format("%Y-%m-%d").to_string()
    }
}

fn default_context(p: &PredictorConfig) -> usize {
    let mini = PredictorConfig::kronos_mini();
    if (p.d_model, p.n_layers) == (mini.d_model, mini.n_layers) {
        2048
    } else {
        512
    }
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
    let bars = &series.bars;
    let rows = features::kline_rows(bars);
    let stamps: Vec<[u32; 5]> = bars.iter().map(|b| features::stamp(b.ts)).collect();
    let last = bars.last().expect("input::load rejects empty series");
    let future = TradingCalendar::embedded().next_bars(last.ts, series.frequency, args.horizon);
    let future_stamps: Vec<[u32; 5]> = future.iter().map(|b| features::stamp(b.ts)).collect();

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
    let out = forecast(
        &tokenizer,
        &predictor,
        &ForecastInput {
            rows: &rows,
            stamps: &stamps,
            future_stamps: &future_stamps,
            forced: None,
        },
        &cfg,
        &picked.device,
        &mut |p: Progress| {
            bar.set_position(p.step as u64);
            true
        },
    )?;
    bar.finish_and_clear();
    let elapsed_ms = started.elapsed().as_secs_f64() * 1e3;
    tracing::info!(
        elapsed_ms,
        bars = args.horizon,
        samples = args.samples,
        "forecast done"
    );

    let f = series.frequency;
    Ok(ForecastReport {
        symbol: series.symbol.to_string(),
        frequency: f.as_str().to_string(),
        input: ForecastInputSummary {
            file: args.input.display().to_string(),
            lookback: bars.len(),
            first: label(bars[0].ts, f),
            last: label(last.ts, f),
            last_close: last.close,
        },
        timestamps: future.iter().map(|b| label(b.ts, f)).collect(),
        provisional: future.iter().map(|b| b.provisional).collect(),
        columns: FORECAST_COLUMNS.iter().map(|c| c.to_string()).collect(),
        mean: out.mean,
        quantiles: ForecastQuantiles {
            p10: out.quantiles.p10,
            p50: out.quantiles.p50,
            p90: out.quantiles.p90,
        },
        paths: out.paths,
        p_up: out.p_up,
        tokens: ForecastTokens {
            s1: out.tokens.row(0).0.to_vec(),
            s2: out.tokens.row(0).1.to_vec(),
        },
        params: ForecastParams {
            horizon: cfg.horizon,
            temperature: cfg.sampling.temperature,
            top_k: cfg.sampling.top_k,
            top_p: cfg.sampling.top_p,
            samples: cfg.samples,
            seed: cfg.seed,
            max_context,
            cache: serde_json::to_value(cfg.cache)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default(),
            repair_ohlc: cfg.repair_ohlc,
        },
        model: ForecastModelInfo {
            tokenizer: ModelSummary {
                name: names.0,
                parameters: parameter_count(&tokenizer),
            },
            predictor: ModelSummary {
                name: names.1,
                parameters: parameter_count(&predictor),
            },
            backend: picked.backend.to_string(),
            device_reason: picked.why,
            elapsed_ms,
            ms_per_bar: elapsed_ms / args.horizon as f64,
        },
    })
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

/// The report as CSV: one row per future bar with the mean, the close quantiles and P(up).
pub fn to_csv(r: &ForecastReport) -> String {
    let mut s = String::from(
        "timestamp,open,high,low,close,volume,amount,close_p10,close_p50,close_p90,p_up\n",
    );
    for (i, ts) in r.timestamps.iter().enumerate() {
        let m = r.mean[i];
        s.push_str(&format!(
            "{ts},{},{},{},{},{},{},{},{},{},{}\n",
            m[0],
            m[1],
            m[2],
            m[3],
            m[4],
            m[5],
            r.quantiles.p10[i][3],
            r.quantiles.p50[i][3],
            r.quantiles.p90[i][3],
            r.p_up[i]
        ));
    }
    s
}
