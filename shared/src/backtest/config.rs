//! A backtest as a TOML file: the universe, the strategy, the engine, the risk manager and an
//! optional walk-forward. The CLI and the browser read the same file with [`parse`] and run it
//! with [`run_config`]; only where the bars come from differs.
//!
//! ```toml
//! [universe]
//! board = "index"                            # or: symbols = ["000300.SH", "600000"]
//! from = 2015-01-05
//! to = 2024-09-19
//!
//! [strategy]
//! kind = "monthly_rotation"                  # or "sma_cross" (fast, slow), "signal"
//! top_fraction = 0.2
//!
//! [engine]
//! initial_cash = 100_000_000
//! ```

use super::engine::{BacktestResult, EngineConfig, Strategy, Universe, run_window};
use super::metrics::{bootstrap, returns};
use super::risk::{RiskLimits, RiskManaged};
use super::signals::{SignalRule, SignalStrategy, Signals};
use super::strategies::{MonthlyRotation, SmaCross, Weighting};
use super::walk_forward::{WalkForwardConfig, WalkForwardResult};
use crate::domain::{Adjustment, Frequency};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct BacktestConfig {
    pub universe: UniverseConfig,
    pub strategy: StrategyConfig,
    #[serde(default)]
    pub engine: EngineConfig,
    #[serde(default)]
    pub risk: Option<RiskLimits>,
    #[serde(default)]
    pub walk_forward: Option<WalkForwardConfig>,
}

/// Where the bars come from: files, or the store by symbols or board. The browser reads the
/// server's store and refuses `files` and `store`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
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

impl UniverseConfig {
    pub fn contains(&self, d: NaiveDate) -> bool {
        self.from.is_none_or(|f| d >= f) && self.to.is_none_or(|t| d <= t)
    }
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

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum StrategyConfig {
    MonthlyRotation(MonthlyRotation),
    SmaCross(SmaCross),
    Signal(SignalConfig),
}

/// `kind = "signal"`: where its probabilities come from, and the rule (see [`SignalRule`]).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct SignalConfig {
    /// A CSV of `symbol,date,p_up,p_down,p_flat` (as `evaluate-classifier --signals` writes).
    pub signals: Option<PathBuf>,
    pub buy_above: f64,
    pub sell_above: f64,
    pub min_confidence: f64,
    pub max_positions: usize,
    pub hold_days: Option<usize>,
}

impl Default for SignalConfig {
    fn default() -> Self {
        let r = SignalRule::default();
        SignalConfig {
            signals: None,
            buy_above: r.buy_above,
            sell_above: r.sell_above,
            min_confidence: r.min_confidence,
            max_positions: r.max_positions,
            hold_days: r.hold_days,
        }
    }
}

impl SignalConfig {
    pub fn rule(&self) -> SignalRule {
        SignalRule {
            buy_above: self.buy_above,
            sell_above: self.sell_above,
            min_confidence: self.min_confidence,
            max_positions: self.max_positions,
            hold_days: self.hold_days,
        }
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct ConfigError {
    pub message: String,
}

fn check(ok: bool, message: &str) -> Result<(), ConfigError> {
    if ok {
        Ok(())
    } else {
        Err(ConfigError {
            message: message.to_string(),
        })
    }
}

/// Reads and checks a config; the message names the key at fault.
pub fn parse(text: &str) -> Result<BacktestConfig, ConfigError> {
    let config: BacktestConfig = toml::from_str(text).map_err(|e| ConfigError {
        message: e.to_string(),
    })?;
    validate_strategy(&config.strategy)?;
    check(
        config.engine.initial_cash.is_finite() && config.engine.initial_cash > 0.0,
        "engine.initial_cash: must be a positive amount",
    )?;
    if let (Some(f), Some(t)) = (config.universe.from, config.universe.to) {
        check(f <= t, "universe: `from` is after `to`")?;
    }
    if let Some(w) = &config.walk_forward {
        w.validate(&config.strategy)?;
    }
    Ok(config)
}

pub(crate) fn validate_strategy(s: &StrategyConfig) -> Result<(), ConfigError> {
    match s {
        StrategyConfig::MonthlyRotation(m) => check(
            m.top_fraction > 0.0 && m.top_fraction <= 1.0,
            "strategy.top_fraction: must be in (0, 1]",
        ),
        StrategyConfig::SmaCross(s) => check(
            s.fast >= 1 && s.fast < s.slow,
            "strategy: sma_cross needs 1 <= fast < slow",
        ),
        StrategyConfig::Signal(c) => {
            let r = c.rule();
            check(
                (0.0..=1.0).contains(&r.buy_above) && (0.0..=1.0).contains(&r.sell_above),
                "strategy: buy_above and sell_above are probabilities in [0, 1]",
            )?;
            check(
                (0.0..=1.0).contains(&r.min_confidence),
                "strategy.min_confidence: must be in [0, 1]",
            )?;
            check(
                r.max_positions >= 1,
                "strategy.max_positions: must be at least 1",
            )?;
            check(
                r.hold_days != Some(0),
                "strategy.hold_days: must be at least 1",
            )?;
            check(
                c.signals.is_some(),
                "strategy.signals: a signal strategy needs the CSV of its probabilities",
            )
        }
    }
}

/// Runs `strategy` (wrapped by the risk manager when `[risk]` is given) between the dates.
pub fn run_strategy(
    strategy: &StrategyConfig,
    risk: Option<RiskLimits>,
    engine: &EngineConfig,
    universe: &Universe,
    signals: Option<&Signals>,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
) -> BacktestResult {
    fn go<S: Strategy>(
        s: S,
        risk: Option<RiskLimits>,
        u: &Universe,
        e: &EngineConfig,
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
    ) -> BacktestResult {
        match risk {
            Some(limits) => run_window(u, e, &mut RiskManaged::new(s, limits), from, to),
            None => {
                let mut s = s;
                run_window(u, e, &mut s, from, to)
            }
        }
    }
    let empty = Signals::default();
    match strategy {
        StrategyConfig::MonthlyRotation(m) => go(m.clone(), risk, universe, engine, from, to),
        StrategyConfig::SmaCross(s) => go(s.clone(), risk, universe, engine, from, to),
        StrategyConfig::Signal(c) => go(
            SignalStrategy::new(c.rule(), signals.unwrap_or(&empty)),
            risk,
            universe,
            engine,
            from,
            to,
        ),
    }
}

/// Bootstrap paths, block length in days and level of the report's confidence intervals.
pub const BOOTSTRAP: (usize, usize, f64) = (1000, 20, 0.95);

/// The config's run over its whole universe, with bootstrap intervals of Sharpe and drawdown.
pub fn run_config(
    config: &BacktestConfig,
    universe: &Universe,
    signals: Option<&Signals>,
) -> BacktestResult {
    let mut r = run_strategy(
        &config.strategy,
        config.risk,
        &config.engine,
        universe,
        signals,
        config.universe.from,
        config.universe.to,
    );
    let (paths, block, level) = BOOTSTRAP;
    r.bootstrap = bootstrap(
        &returns(&r.equity),
        config.engine.risk_free,
        paths,
        block,
        level,
        7,
    );
    r
}

/// Everything a config asks for: the run, its walk-forward when `[walk_forward]` is given,
/// and the report text of both. The CLI and the browser print exactly this.
pub struct Completed {
    pub result: BacktestResult,
    pub walk_forward: Option<WalkForwardResult>,
    pub report: String,
}

pub fn run_all(
    config: &BacktestConfig,
    universe: &Universe,
    signals: Option<&Signals>,
) -> Result<Completed, ConfigError> {
    let result = run_config(config, universe, signals);
    let mut report = report(config, universe, &result);
    let walk_forward = match &config.walk_forward {
        Some(wf) => {
            let w = super::walk_forward::walk_forward(
                wf,
                &config.strategy,
                config.risk,
                &config.engine,
                universe,
                signals,
                config.universe.from,
                config.universe.to,
            )?;
            report.push_str(&walk_forward_report(&w));
            Some(w)
        }
        None => None,
    };
    Ok(Completed {
        result,
        walk_forward,
        report,
    })
}

pub fn describe_strategy(s: &StrategyConfig) -> String {
    match s {
        StrategyConfig::MonthlyRotation(m) => format!(
            "monthly rotation, top {:.0} %, {} weights",
            m.top_fraction * 100.0,
            match m.weighting {
                Weighting::Equal => "equal",
                Weighting::ByReturn => "return-proportional",
            }
        ),
        StrategyConfig::SmaCross(c) => format!("SMA crossover {}/{}", c.fast, c.slow),
        StrategyConfig::Signal(c) => {
            let r = c.rule();
            format!(
                "signal: buy P(up) > {:.0} %, sell P(down) > {:.0} %, gate {:.0} pts, {} slots{}",
                r.buy_above * 100.0,
                r.sell_above * 100.0,
                r.min_confidence * 100.0,
                r.max_positions,
                r.hold_days
                    .map_or(String::new(), |h| format!(", exit after {h} days"))
            )
        }
    }
}

/// The report a person reads: the run, its metrics, costs, trading and refusals.
pub fn report(config: &BacktestConfig, universe: &Universe, r: &BacktestResult) -> String {
    let mut s = String::new();
    let symbols = universe.symbols().count();
    let (first, last) = (r.dates.first(), r.dates.last());
    let _ = writeln!(s, "strategy      {}", describe_strategy(&config.strategy));
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
            if let Some(b) = &r.bootstrap {
                let _ = writeln!(
                    s,
                    "{:.0} % CI      Sharpe {:.3} to {:.3}, max drawdown {} to {} ({} block-bootstrap paths, {}-day blocks)",
                    b.level * 100.0,
                    b.sharpe.low,
                    b.sharpe.high,
                    pct(b.max_drawdown.low),
                    pct(b.max_drawdown.high),
                    b.resamples,
                    b.block
                );
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
    let refused = refusals(r);
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

/// The walk-forward's folds and its out-of-sample metrics, appended to the report.
pub fn walk_forward_report(w: &WalkForwardResult) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "\nwalk-forward  {} folds, out of sample:", w.folds.len());
    for f in &w.folds {
        let test = f.test_metrics.as_ref().map_or("-".to_string(), |m| {
            format!("return {}, Sharpe {:.2}", pct(m.total_return), m.sharpe)
        });
        let chosen = if f.chosen.is_empty() {
            "(fixed)"
        } else {
            &f.chosen
        };
        let _ = writeln!(
            s,
            "  train {} to {} → {chosen} (score {:.2}); test {} to {}: {test}",
            f.train_from, f.train_to, f.train_score, f.test_from, f.test_to
        );
    }
    match &w.metrics {
        Some(m) => {
            let _ = writeln!(
                s,
                "  stitched     return {}, annual {}, Sharpe {:.3}, max drawdown {}",
                pct(m.total_return),
                pct(m.annual_return),
                m.sharpe,
                pct(m.max_drawdown)
            );
        }
        None => {
            let _ = writeln!(s, "  stitched     (too few days)");
        }
    }
    s
}

/// Refused orders counted by reason (the reason's JSON name).
pub fn refusals(r: &BacktestResult) -> BTreeMap<String, usize> {
    let mut refused: BTreeMap<String, usize> = BTreeMap::new();
    for x in &r.rejections {
        let reason = serde_json::to_value(x.reason)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        *refused.entry(reason).or_default() += 1;
    }
    refused
}

fn on(b: bool) -> &'static str {
    if b { "on" } else { "off" }
}

/// A fraction as a percentage with two decimals.
pub fn pct(x: f64) -> String {
    format!("{:.2} %", x * 100.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seed_rotation_parses_with_dates_either_way() {
        let c = parse(
            "[universe]\nboard = \"index\"\nfrom = 2015-01-05\nto = \"2024-09-19\"\n\
             [strategy]\nkind = \"monthly_rotation\"\n[engine]\ninitial_cash = 100_000_000\n",
        )
        .unwrap();
        assert_eq!(c.universe.from, NaiveDate::from_ymd_opt(2015, 1, 5));
        assert_eq!(c.universe.to, NaiveDate::from_ymd_opt(2024, 9, 19));
        assert_eq!(
            c.strategy,
            StrategyConfig::MonthlyRotation(MonthlyRotation {
                top_fraction: 0.2,
                weighting: Weighting::Equal
            })
        );
        assert_eq!(c.engine.initial_cash, 1e8);
    }

    #[test]
    fn mistakes_name_their_key() {
        let bad = [
            ("[universe]\n[strategy]\nkind = \"nope\"\n", "nope"),
            (
                "[universe]\n[strategy]\nkind = \"sma_cross\"\nfast = 20\nslow = 5\n",
                "fast < slow",
            ),
            (
                "[universe]\nfrom = 2020-01-01\nto = 2019-01-01\n[strategy]\nkind = \"monthly_rotation\"\n",
                "`from` is after `to`",
            ),
            (
                "[universe]\n[strategy]\nkind = \"signal\"\nbuy_above = 0.6\n",
                "strategy.signals",
            ),
            (
                "[universe]\n[strategy]\nkind = \"signal\"\nsignals = \"p.csv\"\nbuy_above = 1.5\n",
                "probabilities in [0, 1]",
            ),
            (
                "[universe]\nfrom = \"2015-13-01\"\n[strategy]\nkind = \"monthly_rotation\"\n",
                "is not a day",
            ),
            (
                "[universe]\n[strategy]\nkind = \"monthly_rotation\"\n[engine]\ninitial_cash = -1\n",
                "engine.initial_cash",
            ),
        ];
        for (text, want) in bad {
            let e = parse(text).unwrap_err().message;
            assert!(e.contains(want), "{text:?}: {e}");
        }
    }
}
