//! `kxian-trainer predict --config FILE.toml`: a model's predictions for every stock of a
//! universe at each scheduled date, each computed from the bars up to and including that
//! date, written as CSV and Parquet and kept in the store.
//!
//! ```toml
//! [universe]                 # exactly the backtest file's section
//! store = "~/.local/share/kxian/kxian.db"
//! board = "index"
//! [model]
//! kind = "kronos"            # or "classifier" with path = "run/best"; the built-in model when omitted
//! [schedule]
//! every = "month_end"        # "day", "week_end", "month_end", or a number of bars
//! from = 2023-01-01
//! to = 2023-12-31
//! [forecast]
//! horizon = 5
//! samples = 8
//! lookback = 256
//! seed = 7
//! [output]
//! csv = "preds.csv"          # and/or parquet = "preds.parquet", store = "kxian.db"
//! ```
//!
//! Rows stream into a journal beside the output as each date finishes, so a killed run
//! resumes where it stopped (the rows already there are kept, not recomputed); the CSV,
//! Parquet file and stored set are written from the journal at the end.

pub mod evaluate;
mod journal;
pub mod model;
pub mod output;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use anyhow::Context as _;
use chrono::NaiveDate;
use kxian_shared::Bar;
use kxian_shared::calendar::TradingCalendar;
use kxian_shared::jobs::{JobEvent, StageName, StagePlan};
use kxian_shared::predictions::config::{self, PredictConfig};
use kxian_shared::predictions::rows::{PredictionRow, RowKind};
use kxian_shared::predictions::schedule::as_of_dates;
use serde::Serialize;

use crate::backtest::{self, BacktestError};
use crate::cli_error::BadInput;
use crate::device::{DeviceChoice, pick};
use crate::progress::{Progress, ProgressMode};
use crate::store::StoreReader;
use model::{Context, ModelId, SetModel};

#[derive(Debug, Clone, clap::Args)]
pub struct PredictArgs {
    /// The run's TOML file: `[universe]`, `[model]`, `[schedule]`, `[forecast]`, `[output]`.
    #[arg(long)]
    pub config: PathBuf,
    #[arg(long, value_enum, default_value_t = DeviceChoice::Auto)]
    pub device: DeviceChoice,
    /// Dates forecast at once (default: the machine's cores on the CPU, 1 on a GPU).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Start afresh even when a journal of an earlier run with other parameters is there.
    #[arg(long)]
    pub overwrite: bool,
    #[arg(long, value_enum, default_value_t = ProgressMode::Bar)]
    pub progress: ProgressMode,
    /// The stored set's owner and whose series the universe may read.
    #[command(flatten)]
    pub reader: StoreReader,
}

/// Rows a run could not make, by reason.
#[derive(Debug, Clone, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct Skipped {
    /// No bar on the as-of date (suspended, not yet listed, or delisted).
    pub no_bar: usize,
    /// Fewer bars up to the as-of date than the model's context.
    pub short_history: usize,
}

/// What a run did.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub kind: RowKind,
    pub model: ModelId,
    pub rows: usize,
    /// Rows already in the journal from an earlier run (kept, not recomputed).
    pub resumed_rows: usize,
    pub dates: usize,
    pub symbols: usize,
    pub skipped: Skipped,
    pub first_date: NaiveDate,
    pub last_date: NaiveDate,
    pub seconds: f64,
    /// New rows per second of this run.
    pub rows_per_s: f64,
    pub csv: Option<PathBuf>,
    pub parquet: Option<PathBuf>,
    /// The stored set's id.
    pub stored: Option<i64>,
}

/// Everything that decides the rows; a journal resumes only under the same.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct Params {
    pub universe: serde_json::Value,
    pub model: ModelId,
    pub schedule: serde_json::Value,
    pub forecast: serde_json::Value,
}

pub fn parse_config(path: &Path) -> Result<PredictConfig, BacktestError> {
    backtest::read_config(path, config::parse)
}

/// The universe's series, checked: every symbol named is there, and the bars are daily.
pub fn load_series(
    c: &PredictConfig,
    base: &Path,
    config_path: &Path,
    reader: StoreReader,
) -> anyhow::Result<BTreeMap<kxian_shared::Symbol, Vec<Bar>>> {
    let mut u = c.universe.clone();
    // The schedule's end bounds what is read: nothing after it can enter a row.
    if u.to.is_none() {
        u.to = c.schedule.to;
    }
    let universe = backtest::load_universe_as(&u, base, reader)?;
    let series = universe.series().clone();
    for s in &c.universe.symbols {
        let sym: kxian_shared::Symbol = s.parse().map_err(|e| {
            BadInput(format!(
                "{}: universe.symbols: {s}: {e}",
                config_path.display()
            ))
        })?;
        crate::ensure_input!(
            series.contains_key(&sym),
            "{}: universe.symbols: {sym} has no bars in the store (download it first)",
            config_path.display()
        );
    }
    for (sym, bars) in &series {
        if let Some(w) = bars.windows(2).find(|w| w[0].ts.date() == w[1].ts.date()) {
            crate::bail_input!(
                "{}: {sym} has two bars on {}: predictions are made on daily bars",
                config_path.display(),
                w[0].ts.date()
            );
        }
    }
    Ok(series)
}

/// The contexts of one date: every symbol with a bar on it and enough history.
fn contexts_at<'a>(
    series: &'a BTreeMap<kxian_shared::Symbol, Vec<Bar>>,
    names: &'a [String],
    skip: Option<&kxian_shared::Symbol>,
    date: NaiveDate,
    need: usize,
    skipped: &mut Skipped,
) -> Vec<Context<'a>> {
    let mut out = Vec::new();
    for ((sym, bars), name) in series.iter().zip(names) {
        if Some(sym) == skip {
            continue;
        }
        let Ok(t) = bars.binary_search_by_key(&date, |b| b.ts.date()) else {
            skipped.no_bar += 1;
            continue;
        };
        if t + 1 < need {
            skipped.short_history += 1;
            continue;
        }
        out.push(Context {
            symbol: name,
            as_of: date,
            bars: &bars[t + 1 - need..=t],
        });
    }
    out
}

fn journal_path(c: &PredictConfig, base: &Path, config_path: &Path) -> PathBuf {
    let first = c
        .output
        .csv
        .as_ref()
        .or(c.output.parquet.as_ref())
        .map(|p| backtest::resolve(base, p))
        .unwrap_or_else(|| config_path.to_path_buf());
    let mut name = first.into_os_string();
    name.push(".partial.jsonl");
    PathBuf::from(name)
}

pub fn run(args: &PredictArgs) -> anyhow::Result<Summary> {
    let started = Instant::now();
    let c = parse_config(&args.config)?;
    let base = args
        .config
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let series = load_series(&c, &base, &args.config, args.reader)?;
    let picked = pick(args.device)?;
    if args.progress == ProgressMode::Bar {
        eprintln!("device: {} ({})", picked.backend, picked.why);
    }
    let loaded = model::load(&c.model, &c.forecast, &base, &picked.device, &series)?;
    let m: &dyn SetModel = loaded.model.as_ref();

    let days: Vec<NaiveDate> = {
        let mut d: Vec<NaiveDate> = series
            .values()
            .flat_map(|b| b.iter().map(|x| x.ts.date()))
            .collect();
        d.sort_unstable();
        d.dedup();
        d
    };
    let dates = as_of_dates(
        &days,
        c.schedule.every,
        c.schedule.from,
        c.schedule.to,
        TradingCalendar::embedded(),
    );
    let (Some(&first_date), Some(&last_date)) = (dates.first(), dates.last()) else {
        crate::bail_input!(
            "{}: schedule: the universe has no trading day from {} to {} (its bars run from {} to {})",
            args.config.display(),
            c.schedule
                .from
                .map_or("the start".into(), |d| d.to_string()),
            c.schedule.to.map_or("the end".into(), |d| d.to_string()),
            days.first().map_or("-".into(), |d| d.to_string()),
            days.last().map_or("-".into(), |d| d.to_string()),
        );
    };

    let params = Params {
        universe: serde_json::to_value(&c.universe)?,
        model: loaded.id.clone(),
        schedule: serde_json::to_value(&c.schedule)?,
        forecast: serde_json::to_value(&c.forecast)?,
    };
    let journal_file = journal_path(&c, &base, &args.config);
    let mut journal = journal::Journal::open(&journal_file, &params, args.overwrite)?;
    let resumed_rows = journal.rows();

    // What each date needs: its contexts, less the rows the journal already holds.
    let names: Vec<String> = series.keys().map(|s| s.to_string()).collect();
    let mut skipped = Skipped::default();
    let mut work: Vec<(NaiveDate, Vec<Context>)> = Vec::new();
    for &d in &dates {
        let mut ctx = contexts_at(
            &series,
            &names,
            loaded.market.as_ref(),
            d,
            m.context(),
            &mut skipped,
        );
        ctx.retain(|x| !journal.has(x.symbol, d));
        if !ctx.is_empty() {
            work.push((d, ctx));
        }
    }
    let total: usize = work.iter().map(|w| w.1.len()).sum();
    let mut progress = Progress::new(args.progress, total as u64, "rows", None)?;
    progress.bar().set_message("predicting");
    progress.emit(&JobEvent::Start {
        stage: StageName::Predict,
        plan: StagePlan::Symbols { symbols: total },
    });

    // On the CPU, dates run side by side on the cores; a GPU takes one date's batch at a time.
    let threads = args
        .threads
        .unwrap_or_else(|| {
            if picked.backend.starts_with("cpu") {
                std::thread::available_parallelism().map_or(1, |n| n.get())
            } else {
                1
            }
        })
        .clamp(1, work.len().max(1));
    let batch = c.forecast.batch;
    let seed = c.forecast.seed;
    let next = AtomicUsize::new(0);
    // Finished dates wait here until every earlier one is written, so the journal is in
    // date order whatever the threads' timing.
    let done: Mutex<BTreeMap<usize, anyhow::Result<Vec<PredictionRow>>>> =
        Mutex::new(BTreeMap::new());
    let ready = std::sync::Condvar::new();
    let failed = std::sync::atomic::AtomicBool::new(false);
    let mut written = 0usize;
    let mut error: Option<anyhow::Error> = None;
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                loop {
                    if failed.load(Ordering::Relaxed) {
                        return;
                    }
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some((_, ctx)) = work.get(i) else { return };
                    let mut rows = Vec::with_capacity(ctx.len());
                    let mut out = Ok(());
                    for chunk in ctx.chunks(batch) {
                        // A panic in a model becomes this date's error: the writer below
                        // waits for every date's result, so a worker must never vanish.
                        let predicted =
                            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                                m.predict(chunk, seed)
                            }))
                            .unwrap_or_else(|p| {
                                let why = p
                                    .downcast_ref::<&str>()
                                    .map(|s| s.to_string())
                                    .or_else(|| p.downcast_ref::<String>().cloned())
                                    .unwrap_or_else(|| "a panic".into());
                                Err(anyhow::anyhow!("the model failed: {why}"))
                            });
                        match predicted {
                            Ok(r) => rows.extend(r),
                            Err(e) => {
                                out = Err(e);
                                break;
                            }
                        }
                    }
                    let result = out.map(|()| rows);
                    if result.is_err() {
                        failed.store(true, Ordering::Relaxed);
                    }
                    done.lock().expect("not poisoned").insert(i, result);
                    ready.notify_one();
                }
            });
        }
        for (i, (date, _)) in work.iter().enumerate() {
            let result = {
                let mut g = done.lock().expect("not poisoned");
                loop {
                    if let Some(r) = g.remove(&i) {
                        break r;
                    }
                    g = ready.wait(g).expect("not poisoned");
                }
            };
            let rows = match result {
                Ok(rows) => rows,
                Err(e) => {
                    error = Some(e.context(format!("predicting {date}")));
                    failed.store(true, Ordering::Relaxed);
                    break;
                }
            };
            if let Err(e) = journal.append(&rows) {
                error = Some(e);
                failed.store(true, Ordering::Relaxed);
                break;
            }
            written += rows.len();
            progress.bar().inc(rows.len() as u64);
            if args.progress == ProgressMode::Json {
                progress.emit(&JobEvent::Dated {
                    stage: StageName::Predict,
                    date: *date,
                    rows: rows.len(),
                    done: written,
                    total,
                });
            }
        }
    });
    progress.finish();
    if let Some(e) = error {
        return Err(e);
    }
    let seconds = started.elapsed().as_secs_f64();

    let rows_path = journal.finish()?;
    let kind = m.kind();
    let csv = c.output.csv.as_ref().map(|p| backtest::resolve(&base, p));
    let parquet = c
        .output
        .parquet
        .as_ref()
        .map(|p| backtest::resolve(&base, p));
    // The store keeps the set's Parquet file too (the server serves it as it is): write one
    // beside the journal when the file names none.
    let store_parquet = (c.output.store.is_some() && parquet.is_none()).then(|| {
        let mut p = rows_path.clone().into_os_string();
        p.push(".parquet");
        PathBuf::from(p)
    });
    let n = output::write_files(
        &rows_path,
        kind,
        csv.as_deref(),
        parquet.as_deref().or(store_parquet.as_deref()),
    )
    .with_context(|| format!("writing the set from {}", rows_path.display()))?;
    let stored = match &c.output.store {
        Some(db) => {
            let name = c.output.name.clone().unwrap_or_else(|| {
                args.config
                    .file_stem()
                    .map_or("predictions".into(), |s| s.to_string_lossy().into_owned())
            });
            Some(output::store_set(
                &backtest::resolve(&base, db),
                &output::SetMeta {
                    name,
                    owner: args.reader.as_user,
                    params: &params,
                    first_date,
                    last_date,
                    symbols: series.len() - usize::from(loaded.market.is_some()),
                    parquet: parquet.as_deref().or(store_parquet.as_deref()),
                },
                &rows_path,
            )?)
        }
        None => None,
    };
    if let Some(p) = &store_parquet {
        std::fs::remove_file(p).with_context(|| format!("removing {}", p.display()))?;
    }
    std::fs::remove_file(&rows_path)
        .with_context(|| format!("removing the finished journal {}", rows_path.display()))?;
    let summary = Summary {
        kind,
        model: loaded.id,
        rows: n,
        resumed_rows,
        dates: dates.len(),
        symbols: series.len() - usize::from(loaded.market.is_some()),
        skipped,
        first_date,
        last_date,
        seconds,
        rows_per_s: written as f64 / seconds,
        csv,
        parquet,
        stored,
    };
    progress.emit(&JobEvent::Done {
        stage: StageName::Predict,
        summary: kxian_shared::jobs::StageSummary::Predicted {
            rows: summary.rows,
            skipped_no_bar: summary.skipped.no_bar,
            skipped_short_history: summary.skipped.short_history,
            set: summary.stored,
        },
    });
    Ok(summary)
}

/// The summary as a person reads it.
pub fn describe(s: &Summary) -> String {
    let mut out = format!(
        "{} rows ({} kept from an earlier run) over {} dates from {} to {}, {} symbols; {:.1} s, {:.1} rows/s\n",
        s.rows,
        s.resumed_rows,
        s.dates,
        s.first_date,
        s.last_date,
        s.symbols,
        s.seconds,
        s.rows_per_s
    );
    if s.skipped != Skipped::default() {
        out.push_str(&format!(
            "skipped: {} (symbol, date) pairs without a bar on the date (suspended, not yet listed or delisted), {} with too little history for the model's context\n",
            s.skipped.no_bar, s.skipped.short_history
        ));
    }
    for p in [&s.csv, &s.parquet].into_iter().flatten() {
        out.push_str(&format!("wrote {}\n", p.display()));
    }
    if let Some(id) = s.stored {
        out.push_str(&format!("stored as prediction set {id}\n"));
    }
    out
}
