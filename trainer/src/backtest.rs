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
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use kxian_shared::api::ImportOptions;
use kxian_shared::backtest::engine::{BacktestResult, EngineConfig, Strategy, Universe, run};
use kxian_shared::backtest::risk::{RiskLimits, RiskManaged};
use kxian_shared::backtest::strategies::{MonthlyRotation, SmaCross, Weighting};
use kxian_shared::{Adjustment, Frequency, Symbol};
use serde::{Deserialize, Serialize};

use crate::input::{self, InputError};
use crate::store::{self, StoreError, StoreSelection};

#[derive(Debug, Clone, clap::Args)]
pub struct BacktestArgs {
    /// The run's TOML file: [universe], [strategy], optional [engine] and [risk].
    #[arg(long)]
    pub config: PathBuf,
    /// Write the whole result (equity curve, fills, rejections, metrics) as JSON here.
    #[arg(long, short)]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct BacktestConfig {
    pub universe: UniverseConfig,
    pub strategy: StrategyConfig,
    #[serde(default)]
    pub engine: EngineConfig,
    #[serde(default)]
    pub risk: Option<RiskLimits>,
}

/// Where the bars come from: files, or the store by symbols or board.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct UniverseConfig {
    pub files: Vec<PathBuf>,
    /// Keep a file's valid rows and skip the invalid ones (reported), instead of refusing it.
    pub skip_invalid: bool,
    pub store: Option<PathBuf>,
    pub symbols: Vec<String>,
    pub board: Option<String>,
    pub frequency: Option<Frequency>,
    pub adjustment: Option<Adjustment>,
    #[serde(deserialize_with = "toml_date")]
    pub from: Option<NaiveDate>,
    #[serde(deserialize_with = "toml_date")]
    pub to: Option<NaiveDate>,
}

/// A day written as a TOML date (`from = 2015-01-05`) or as a string (`"2015-01-05"`).
fn toml_date<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<NaiveDate>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Day {
        Toml(toml::value::Datetime),
        Text(String),
    }
    let text = match Option::<Day>::deserialize(d)? {
        None => return Ok(None),
        Some(Day::Toml(t)) => t.to_string(),
        Some(Day::Text(s)) => s,
    };
    text.parse()
        .map(Some)
        .map_err(|_| serde::de::Error::custom(format!("`{text}` is not a day like 2015-01-05")))
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum StrategyConfig {
    MonthlyRotation(MonthlyRotation),
    SmaCross(SmaCross),
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
fn resolve(base: &Path, p: &Path) -> PathBuf {
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
    let text = std::fs::read_to_string(path).map_err(|source| BacktestError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let config: BacktestConfig = toml::from_str(&text).map_err(|e| BacktestError::Config {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    let check = |ok: bool, message: &str| {
        if ok {
            Ok(())
        } else {
            Err(BacktestError::Config {
                path: path.to_path_buf(),
                message: message.to_string(),
            })
        }
    };
    if let StrategyConfig::MonthlyRotation(m) = &config.strategy {
        check(
            m.top_fraction > 0.0 && m.top_fraction <= 1.0,
            "strategy.top_fraction: must be in (0, 1]",
        )?;
    }
    if let StrategyConfig::SmaCross(s) = &config.strategy {
        check(
            s.fast >= 1 && s.fast < s.slow,
            "strategy: sma_cross needs 1 <= fast < slow",
        )?;
    }
    check(
        config.engine.initial_cash.is_finite() && config.engine.initial_cash > 0.0,
        "engine.initial_cash: must be a positive amount",
    )?;
    Ok(config)
}

/// Loads the universe the config names.
pub fn load_universe(config: &BacktestConfig, base: &Path) -> Result<Universe, BacktestError> {
    let u = &config.universe;
    let mut universe = Universe::new();
    let in_range = |d: NaiveDate| u.from.is_none_or(|f| d >= f) && u.to.is_none_or(|t| d <= t);
    for f in &u.files {
        let opts = ImportOptions {
            skip_invalid: u.skip_invalid,
            ..ImportOptions::default()
        };
        let loaded = input::load(&resolve(base, f), &opts, None)?;
        let s = loaded.series;
        let bars = s
            .bars
            .into_iter()
            .filter(|b| in_range(b.ts.date()))
            .collect();
        universe.insert(s.symbol, bars);
    }
    if let Some(db) = &u.store {
        let sel = StoreSelection {
            store: Some(resolve(base, db)),
            symbols: u.symbols.clone(),
            board: u.board.clone(),
            frequency: u.frequency.unwrap_or(Frequency::Daily),
            adjustment: u.adjustment.unwrap_or(Adjustment::None),
            from: u.from,
            to: u.to,
        };
        for (symbol, bars) in store::load(&sel, &resolve(base, db))? {
            if let Ok(sym) = symbol.parse::<Symbol>() {
                universe.insert(sym, bars);
            }
        }
    }
    if universe.symbols().next().is_none() {
        return Err(BacktestError::EmptyUniverse {
            path: base.to_path_buf(),
        });
    }
    Ok(universe)
}

/// Runs the config's strategy (wrapped by the risk manager when `[risk]` is given).
pub fn backtest(config: &BacktestConfig, universe: &Universe) -> BacktestResult {
    fn go<S: Strategy>(
        s: S,
        risk: Option<RiskLimits>,
        u: &Universe,
        e: &EngineConfig,
    ) -> BacktestResult {
        match risk {
            Some(limits) => run(u, e, &mut RiskManaged::new(s, limits)),
            None => {
                let mut s = s;
                run(u, e, &mut s)
            }
        }
    }
    match &config.strategy {
        StrategyConfig::MonthlyRotation(m) => go(m.clone(), config.risk, universe, &config.engine),
        StrategyConfig::SmaCross(s) => go(s.clone(), config.risk, universe, &config.engine),
    }
}

/// The report a person reads: the run, its metrics, costs, trading and refusals.
pub fn report(config: &BacktestConfig, universe: &Universe, r: &BacktestResult) -> String {
    let mut s = String::new();
    let symbols = universe.symbols().count();
    let (first, last) = (r.dates.first(), r.dates.last());
    let strategy = match &config.strategy {
        StrategyConfig::MonthlyRotation(m) => format!(
            "monthly rotation, top {:.0} %, {} weights",
            m.top_fraction * 100.0,
            match m.weighting {
                Weighting::Equal => "equal",
                Weighting::ByReturn => "return-proportional",
            }
        ),
        StrategyConfig::SmaCross(c) => format!("SMA crossover {}/{}", c.fast, c.slow),
    };
    let _ = writeln!(s, "strategy      {strategy}");
    let _ = writeln!(
        s,
        "universe      {symbols} symbols, {} trading days{}",
        r.dates.len(),
        match (first, last) {
            (Some(a), Some(b)) => format!(" ({a} to {b})"),
            _ => String::new(),
        }
    );
    let rules = if config.engine.frictionless {
        "frictionless (fractional shares, no fees, no rules)".to_string()
    } else {
        let w = config.engine.rules;
        format!(
            "T+1 {}, price limits {}, lots {}, fees {}",
            on(w.t_plus_one),
            on(w.price_limits),
            on(w.lots),
            on(w.fees)
        )
    };
    let _ = writeln!(s, "rules         {rules}");
    let start = config.engine.initial_cash;
    let end = r.equity.last().copied().unwrap_or(start);
    let _ = writeln!(s, "equity        {start:.2} → {end:.2} CNY");
    match &r.metrics {
        Some(m) => {
            let rows = [
                ("total return", pct(m.total_return)),
                ("annual return", pct(m.annual_return)),
                ("volatility", pct(m.annual_volatility)),
                ("Sharpe", format!("{:.3}", m.sharpe)),
                ("Sortino", format!("{:.3}", m.sortino)),
                ("max drawdown", pct(m.max_drawdown)),
                ("drawdown days", m.max_drawdown_days.to_string()),
                ("Calmar", format!("{:.3}", m.calmar)),
                ("positive days", pct(m.positive_days)),
            ];
            for (k, v) in rows {
                let _ = writeln!(s, "{k:<14}{v}");
            }
        }
        None => {
            let _ = writeln!(s, "metrics       (too few days)");
        }
    }
    let win = r
        .win_rate()
        .map_or("no sells".to_string(), |w| format!("win rate {}", pct(w)));
    let _ = writeln!(
        s,
        "trades        {} fills ({} sells, {win}), turnover {:.2}×, exposure {}",
        r.fills.len(),
        r.sells,
        r.turnover,
        pct(r.exposure)
    );
    let _ = writeln!(
        s,
        "costs         {:.2} CNY (commission {:.2}, stamp duty {:.2}, transfer fee {:.2})",
        r.costs.total(),
        r.costs.commission,
        r.costs.stamp_duty,
        r.costs.transfer_fee
    );
    let mut refused: BTreeMap<String, usize> = BTreeMap::new();
    for x in &r.rejections {
        let reason = serde_json::to_value(x.reason)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        *refused.entry(reason).or_default() += 1;
    }
    let refused = if refused.is_empty() {
        "none".to_string()
    } else {
        refused
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let _ = writeln!(s, "refused       {refused}");
    s
}

fn on(b: bool) -> &'static str {
    if b { "on" } else { "off" }
}

fn pct(x: f64) -> String {
    format!("{:.2} %", x * 100.0)
}

/// The whole command: returns the report text and the result.
pub fn run_command(args: &BacktestArgs) -> Result<(String, BacktestResult), BacktestError> {
    let config = parse_config(&args.config)?;
    let base = args
        .config
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let universe = load_universe(&config, &base)?;
    let result = backtest(&config, &universe);
    Ok((report(&config, &universe, &result), result))
}
