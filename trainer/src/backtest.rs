//! `kxian-trainer backtest --config FILE.toml`: a strategy over a universe from the local
//! store or from files, under the A-share rules of `kxian_shared::backtest`, printed as a
//! report and written as JSON. The same engine and strategies run in the browser.
//!
//! ```toml
//! [universe]
//! store = "~/.local/share/kxian/kxian.db"   # or: files = ["a.csv", "b.json"]
//! board = "index"                            # or: symbols = ["000300.SH", "600000"]
//! from = 2015-01-05
//! to = 2024-09-19
//!
//! [strategy]
//! kind = "monthly_rotation"                  # or "sma_cross" with fast = 5, slow = 20
//! top_fraction = 0.2
//! weighting = "equal"                        # or "by_return"
//!
//! [engine]
//! initial_cash = 100_000_000
//! slippage = { kind = "bps", bps = 1 }
//!
//! [risk]                                     # optional
//! stop_loss = 0.08
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use kxian_shared::api::ImportOptions;
use kxian_shared::backtest::benchmarks::Benchmark;
use kxian_shared::backtest::config::{self, BacktestConfig, StrategyConfig, UniverseConfig};
use kxian_shared::backtest::engine::{BacktestResult, PointInTime, Stays, Universe};
use kxian_shared::backtest::signals::Signals;
use kxian_shared::backtest::walk_forward::WalkForwardResult;
use kxian_shared::jobs::{JobEvent, StageName, StagePlan, StageSummary};
use kxian_shared::predictions::evaluate::ScoreReport;
use kxian_shared::{Adjustment, Frequency, Symbol};
use serde::Serialize;

use crate::input::{self, InputError};
use crate::store::{self, StoreError, StoreSelection};

#[derive(Debug, Clone, clap::Args)]
pub struct BacktestArgs {
    /// The run's TOML file: `[universe]`, `[strategy]`, optional `[engine]`, `[risk]` and `[walk_forward]`.
    #[arg(long)]
    pub config: PathBuf,
    /// Write the whole result (equity curve, fills, rejections, metrics) as JSON here.
    #[arg(long, short)]
    pub output: Option<PathBuf>,
    /// Where a retraining walk-forward keeps each fold's model and predictions (default: a
    /// temporary folder, removed afterwards).
    #[arg(long)]
    pub work: Option<PathBuf>,
    /// The store a universe reads when its file names neither `files` nor `store` (default:
    /// the one `kxian serve` uses, so the browser's examples run here as they are).
    #[arg(long)]
    pub store: Option<PathBuf>,
    /// `json`: job events on standard output (the report then goes to standard error and
    /// `--output`), for the server's job runner.
    #[arg(long, value_enum, default_value_t = crate::progress::ProgressMode::Bar)]
    pub progress: crate::progress::ProgressMode,
    #[command(flatten)]
    pub reader: store::StoreReader,
}

/// What `--output` writes: the run over the whole range, and the walk-forward when asked for.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    /// The report as printed.
    pub report: String,
    #[serde(flatten)]
    pub result: BacktestResult,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub walk_forward: Option<WalkForwardResult>,
    pub benchmarks: Vec<Benchmark>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub score_ic: Option<ScoreReport>,
}

#[derive(Debug, thiserror::Error)]
pub enum BacktestError {
    #[error("{path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Config { path: PathBuf, message: String },
    /// A valid file whose run failed (a walk-forward the data cannot fill, say).
    #[error("{path}: the run failed: {message}")]
    Run { path: PathBuf, message: String },
    #[error(transparent)]
    Input(#[from] InputError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(
        "{path}: the universe is empty (give [universe] files, or a store with symbols or a board)"
    )]
    EmptyUniverse { path: PathBuf },
}

/// Relative paths in the file are relative to the file; `~/` is the home folder.
pub(crate) fn resolve(base: &Path, p: &Path) -> PathBuf {
    if let Ok(rest) = p.strip_prefix("~")
        && let Some(home) = std::env::var_os("HOME")
    {
        return PathBuf::from(home).join(rest);
    }
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        base.join(p)
    }
}

pub fn parse_config(path: &Path) -> Result<BacktestConfig, BacktestError> {
    read_config(path, config::parse)
}

/// Reads a TOML file with `parse`; either failure names the file.
pub(crate) fn read_config<T>(
    path: &Path,
    parse: impl FnOnce(&str) -> Result<T, config::ConfigError>,
) -> Result<T, BacktestError> {
    let text = std::fs::read_to_string(path).map_err(|source| BacktestError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse(&text).map_err(|e| BacktestError::Config {
        path: path.to_path_buf(),
        message: e.message,
    })
}

/// Loads the universe the config names.
pub fn load_universe(u: &UniverseConfig, base: &Path) -> Result<Universe, BacktestError> {
    load_universe_as(u, base, store::StoreReader::default())
}

/// Loads the universe the config names, reading the store as `reader`.
pub fn load_universe_as(
    u: &UniverseConfig,
    base: &Path,
    reader: store::StoreReader,
) -> Result<Universe, BacktestError> {
    let mut universe = Universe::new();
    for f in &u.files {
        let opts = ImportOptions {
            skip_invalid: u.skip_invalid,
            ..ImportOptions::default()
        };
        let path = resolve(base, f);
        let loaded = input::load(&path, &opts, None)?;
        let s = loaded.series;
        u.check_daily(&path.display().to_string(), s.frequency)
            .map_err(|e| BacktestError::Config {
                path: path.clone(),
                message: e.message,
            })?;
        // An index among the universe's own files is its benchmark too (the regime reads it).
        if u.benchmark_symbol().0.parse::<Symbol>().ok().as_ref() == Some(&s.symbol) {
            universe.set_benchmark(s.symbol.clone(), u.trim_index(s.bars.clone()));
        }
        universe.insert(s.symbol, u.trim(s.bars));
    }
    if let Some(db) = &u.store {
        let members = match &u.index {
            Some(index) => Some(index_universe(u, index, &resolve(base, db))?),
            None => None,
        };
        let sel = StoreSelection {
            store: Some(resolve(base, db)),
            symbols: match &members {
                Some(m) => m.keys().cloned().collect(),
                None => u.symbols.clone(),
            },
            board: u.board.clone(),
            frequency: u.frequency.unwrap_or(Frequency::Daily),
            adjustment: u.adjustment.unwrap_or(Adjustment::None),
            from: u.read_from(),
            to: u.to,
            reader,
        };
        for (symbol, bars) in store::load(&sel, &resolve(base, db))? {
            if let Ok(sym) = symbol.parse::<Symbol>() {
                universe.insert(sym, u.trim(bars));
            }
        }
        if let Some(m) = &members {
            let missing: Vec<&String> = m
                .keys()
                .filter(|s| {
                    s.parse::<Symbol>()
                        .map_or(true, |s| !universe.series().contains_key(&s))
                })
                .collect();
            if !missing.is_empty() {
                // A member without bars cannot be bought: say so rather than quietly shrinking
                // the index towards its survivors.
                tracing::warn!(
                    "{} of {} members of {} have no bars in the store (first: {}); download them",
                    missing.len(),
                    m.len(),
                    u.index.as_deref().unwrap_or_default(),
                    missing
                        .iter()
                        .take(5)
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                );
            }
        }
        let names: Vec<String> = universe.symbols().map(|s| s.to_string()).collect();
        let reference = store::reference_of(&resolve(base, db), &names)?;
        let dated = PointInTime::from_reference(reference, members.filter(|_| u.at.is_none()));
        universe.set_point_in_time(dated);
        let (index, named) = u.benchmark_symbol();
        let sel = StoreSelection {
            symbols: vec![index],
            board: None,
            adjustment: Adjustment::None,
            from: None,
            ..sel
        };
        match store::load(&sel, &resolve(base, db)) {
            Ok(found) => {
                for (symbol, bars) in found {
                    if let Ok(sym) = symbol.parse::<Symbol>() {
                        universe.set_benchmark(sym, u.trim_index(bars));
                    }
                }
            }
            Err(e) if named => return Err(e.into()),
            Err(_) => {}
        }
    }
    if universe.symbols().next().is_none() {
        return Err(BacktestError::EmptyUniverse {
            path: base.to_path_buf(),
        });
    }
    Ok(universe)
}

/// The names of a point-in-time universe with their stays in `index`, from the store.
fn index_universe(
    u: &UniverseConfig,
    index: &str,
    db: &Path,
) -> Result<BTreeMap<String, Stays>, BacktestError> {
    let index = index
        .parse::<Symbol>()
        .map(|s| s.to_string())
        .unwrap_or_else(|_| index.to_string());
    let stays = store::index_members(db, &index)?;
    u.members_of(&index, &stays)
        .map_err(|message| BacktestError::Config {
            path: db.to_path_buf(),
            message,
        })
}

/// The probabilities a signal strategy trades on; symbols outside the universe are dropped.
fn load_signals(
    config: &BacktestConfig,
    base: &Path,
    universe: &Universe,
) -> Result<Option<Signals>, BacktestError> {
    let StrategyConfig::Signal(c) = &config.strategy else {
        return Ok(None);
    };
    let Some(file) = &c.signals else {
        return Ok(None);
    };
    let path = resolve(base, file);
    let text = std::fs::read_to_string(&path).map_err(|source| BacktestError::Read {
        path: path.clone(),
        source,
    })?;
    let mut signals = Signals::from_csv(&text).map_err(|e| BacktestError::Config {
        path: path.clone(),
        message: e.to_string(),
    })?;
    let known: std::collections::BTreeSet<&Symbol> = universe.symbols().collect();
    signals.by_symbol.retain(|s, _| known.contains(s));
    if signals.is_empty() {
        return Err(BacktestError::Config {
            path,
            message: "no probabilities for any symbol of the universe".into(),
        });
    }
    Ok(Some(signals))
}

/// Reads a `top_k` or `threshold` strategy's prediction set (`predictions = "preds.csv"`, a
/// stored set's id or `{ name = "…" }` from the universe's store) into its `pred.` fields.
fn attach_predictions(
    config: &mut BacktestConfig,
    base: &Path,
    config_path: &Path,
    reader: store::StoreReader,
) -> Result<(), BacktestError> {
    use crate::predict::evaluate::{StorePick, store_rows};
    use kxian_shared::backtest::fields::PredictionSource;
    let Some(source) = config.strategy.predictions().cloned() else {
        return Ok(());
    };
    let bad = |path: &Path, message: String| BacktestError::Config {
        path: path.to_path_buf(),
        message,
    };
    let (kind, rows) = match &source {
        // Made by the retraining walk-forward.
        PredictionSource::Refitted => return Ok(()),
        PredictionSource::File(file) => {
            let path = resolve(base, file);
            let text = std::fs::read_to_string(&path).map_err(|source| BacktestError::Read {
                path: path.clone(),
                source,
            })?;
            kxian_shared::predictions::rows::from_csv(&text)
                .map_err(|e| bad(&path, e.to_string()))?
        }
        PredictionSource::Id(_) | PredictionSource::Named { .. } => {
            let Some(db) = &config.universe.store else {
                return Err(bad(
                    config_path,
                    format!(
                        "strategy.predictions: {source} is read from the universe's store; give [universe] store"
                    ),
                ));
            };
            let pick = match &source {
                PredictionSource::Id(id) => StorePick::Id(*id),
                PredictionSource::Named { name } => StorePick::Name(name),
                PredictionSource::File(_) | PredictionSource::Refitted => unreachable!(),
            };
            let db = resolve(base, db);
            store_rows(&db, reader, pick)
                .map_err(|e| bad(config_path, format!("strategy.predictions: {e:#}")))?
        }
    };
    config
        .strategy
        .attach(kind, rows)
        .map_err(|message| bad(config_path, message))
}

/// The whole command: returns the report text and the result.
pub fn run_command(args: &BacktestArgs) -> anyhow::Result<(String, Outcome)> {
    let mut config = parse_config(&args.config)?;
    let base = args
        .config
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let u = &config.universe;
    if u.files.is_empty()
        && u.store.is_none()
        && (!u.symbols.is_empty() || u.board.is_some() || u.index.is_some())
    {
        config.universe.store = Some(args.store.clone().unwrap_or_else(kxian_store::default_path));
    }
    attach_predictions(&mut config, &base, &args.config, args.reader)?;
    let universe = load_universe_as(&config.universe, &base, args.reader)?;
    config.engine.apply_reference_status(universe.status());
    config::check_reference(&config, &universe).map_err(|e| BacktestError::Config {
        path: args.config.clone(),
        message: e.message,
    })?;
    if kxian_shared::backtest::fields::reads_regime(&config.strategy.expressions())
        && kxian_shared::backtest::fields::regime_index(&universe).is_none()
    {
        return Err(BacktestError::Config {
            path: args.config.clone(),
            message: format!(
                "strategy: `regime.*` is the market regime of the universe's index ({}), which is neither in the store nor among the universe's files",
                config.universe.benchmark_symbol().0
            ),
        }
        .into());
    }
    let mut progress = crate::progress::Progress::new(args.progress, 0, "folds", None)?;
    progress.emit(&JobEvent::Start {
        stage: StageName::Backtest,
        plan: StagePlan::Symbols {
            symbols: universe.symbols().count(),
        },
    });
    let (report, outcome) = if config.walk_forward.as_ref().is_some_and(|w| w.retrain) {
        refitted_run(args, config, &base, &universe)?
    } else {
        plain_run(args, &config, &base, &universe)?
    };
    let m = outcome.result.metrics.as_ref();
    progress.emit(&JobEvent::Done {
        stage: StageName::Backtest,
        summary: StageSummary::Backtested {
            fills: outcome.result.fills.len(),
            total_return: m.map(|m| m.total_return),
            sharpe: m.map(|m| m.sharpe),
        },
    });
    Ok((report, outcome))
}

/// The file's run, its walk-forward over a grid when asked, and the report.
fn plain_run(
    args: &BacktestArgs,
    config: &BacktestConfig,
    base: &Path,
    universe: &Universe,
) -> anyhow::Result<(String, Outcome)> {
    let signals = load_signals(config, base, universe)?;
    let done =
        config::run_all(config, universe, signals.as_ref()).map_err(|e| BacktestError::Run {
            path: args.config.clone(),
            message: e.message,
        })?;
    Ok((
        done.report.clone(),
        Outcome {
            report: done.report,
            result: done.result,
            walk_forward: done.walk_forward,
            benchmarks: done.benchmarks,
            score_ic: done.score_ic,
        },
    ))
}

/// `[walk_forward] retrain = true`: refit on every fold, then the strategy on the stitched
/// out-of-sample predictions from the first test day on, with the folds beside it.
fn refitted_run(
    args: &BacktestArgs,
    mut config: BacktestConfig,
    base: &Path,
    universe: &Universe,
) -> anyhow::Result<(String, Outcome)> {
    use kxian_shared::backtest::metrics::metrics;
    use kxian_shared::backtest::walk_forward::Fold;
    let Some(db) = config.universe.store.as_ref().map(|d| resolve(base, d)) else {
        crate::bail_input!(
            "{}: walk_forward.retrain reads the universe from a store (give [universe] store, or no files)",
            args.config.display()
        );
    };
    let temp;
    let work = match &args.work {
        Some(w) => w.clone(),
        None => {
            temp = tempfile::tempdir()?;
            temp.path().to_path_buf()
        }
    };
    let (rows, refits) =
        crate::retrain::refit(&config, universe, &db, &work, (args.reader, args.progress))?;
    let first_test = refits.first().map(|r| r.window.test_from);
    config
        .strategy
        .attach(kxian_shared::predictions::rows::RowKind::Classifier, rows)
        .map_err(|message| BacktestError::Config {
            path: args.config.clone(),
            message,
        })?;
    // The record is out of sample: it starts on the first test day.
    config.universe.from = first_test.or(config.universe.from);
    let done = config::run_all(&config, universe, None).map_err(|e| BacktestError::Run {
        path: args.config.clone(),
        message: e.message,
    })?;
    let r = &done.result;
    let folds: Vec<Fold> = refits
        .iter()
        .map(|f| {
            let at = |d| r.dates.partition_point(|x| *x < d);
            let (a, b) = (
                at(f.window.test_from),
                at(f.window.test_to + chrono::Days::new(1)),
            );
            Fold {
                train_from: f.window.train_from,
                train_to: f.window.train_to,
                test_from: f.window.test_from,
                test_to: f.window.test_to,
                chosen: format!(
                    "refitted: validation log loss {:.4}, {} rows",
                    f.best_val_loss, f.rows
                ),
                train_score: f64::from(f.best_val_loss),
                test_metrics: metrics(&r.equity[a.saturating_sub(1)..b], config.engine.risk_free),
            }
        })
        .collect();
    let walk_forward = kxian_shared::backtest::walk_forward::WalkForwardResult {
        folds,
        dates: r.dates.clone(),
        equity: r.equity.clone(),
        metrics: r.metrics,
    };
    let report = done.report + &config::walk_forward_report(&walk_forward);
    Ok((
        report.clone(),
        Outcome {
            report,
            result: done.result,
            walk_forward: Some(walk_forward),
            benchmarks: done.benchmarks,
            score_ic: done.score_ic,
        },
    ))
}
