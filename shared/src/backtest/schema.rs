//! The backtest file's schema: `[universe]`, `[strategy]`, `[engine]`, `[risk]` and
//! `[walk_forward]`, read and checked by [`parse`] with messages that name the key at fault.

use super::engine::EngineConfig;
use super::metrics::Metrics;
use super::risk::RiskLimits;
use super::signals::SignalRule;
use super::strategies::{MonthlyRotation, SmaCross};
use crate::domain::{Adjustment, Frequency};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
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
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
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
    /// Bars of each symbol before `from` that reach the strategy as history, so indicators
    /// are warm on the first day; nothing is traded on them.
    pub warmup: usize,
    /// The index the report compares with (default: CSI 300, `000300.SH`, when the store has
    /// it). Read from the store; never traded.
    pub benchmark: Option<String>,
    /// A point-in-time universe: the members of this index (`000905.SH`) as the store's
    /// reference data has them — on each day, only that day's members may be bought.
    pub index: Option<String>,
    /// With `index`: the members of this one day, for the whole run (seed 002's "fix the
    /// starting 500"); a member delisted later stays until its bars end.
    #[serde(deserialize_with = "toml_date")]
    pub at: Option<NaiveDate>,
}

impl Default for UniverseConfig {
    fn default() -> Self {
        UniverseConfig {
            files: Vec::new(),
            skip_invalid: false,
            store: None,
            symbols: Vec::new(),
            board: None,
            frequency: None,
            adjustment: None,
            from: None,
            to: None,
            warmup: 250,
            benchmark: None,
            index: None,
            at: None,
        }
    }
}

impl UniverseConfig {
    pub fn contains(&self, d: NaiveDate) -> bool {
        self.from.is_none_or(|f| d >= f) && self.to.is_none_or(|t| d <= t)
    }

    /// The first day to read from a store so that `warmup` bars before `from` are there: two
    /// calendar days per bar covers weekends, holidays and most suspensions.
    pub fn read_from(&self) -> Option<NaiveDate> {
        self.from
            .map(|f| f - chrono::Days::new(2 * self.warmup as u64 + 10))
    }

    /// A series cut to the run: bars up to `to`, and at most `warmup` of them before `from`.
    pub fn trim(&self, mut bars: Vec<crate::Bar>) -> Vec<crate::Bar> {
        if let Some(t) = self.to {
            bars.retain(|b| b.ts.date() <= t);
        }
        if let Some(f) = self.from {
            let first = bars.partition_point(|b| b.ts.date() < f);
            bars.drain(..first.saturating_sub(self.warmup));
        }
        bars
    }

    /// The benchmark index's bars: its whole history up to `to`, so the market regime on any
    /// day reads every earlier bar, as on the full series.
    pub fn trim_index(&self, mut bars: Vec<crate::Bar>) -> Vec<crate::Bar> {
        if let Some(t) = self.to {
            bars.retain(|b| b.ts.date() <= t);
        }
        bars
    }

    /// The benchmark index to look for, and whether the file named it (then it must exist).
    pub fn benchmark_symbol(&self) -> (String, bool) {
        match &self.benchmark {
            Some(b) => (b.clone(), true),
            None => ("000300.SH".into(), false),
        }
    }

    /// The names of a point-in-time universe from its index's stays (`stays`, every stored one):
    /// with `at`, that day's members; else every member at some time in `from`..`to`. The error
    /// says what the store lacks.
    pub fn members_of(
        &self,
        index: &str,
        stays: &[crate::reference::MemberRecord],
    ) -> Result<BTreeMap<String, crate::backtest::engine::Stays>, String> {
        let Some(first) = stays.iter().map(|m| m.from).min() else {
            return Err(format!(
                "universe.index: the store holds no members of {index}; download them with `kxian-trainer download --reference --source tushare --index {index}` and store them with `kxian import reference.json`"
            ));
        };
        let mut out: BTreeMap<String, crate::backtest::engine::Stays> = BTreeMap::new();
        for m in stays.iter().filter(|m| m.index == index) {
            let keep = match self.at {
                Some(at) => m.holds_on(at),
                None => {
                    self.to.is_none_or(|t| m.from <= t)
                        && self.from.is_none_or(|f| m.to.is_none_or(|e| e >= f))
                }
            };
            if keep {
                out.entry(m.symbol.clone())
                    .or_default()
                    .push((m.from, m.to));
            }
        }
        if out.is_empty() {
            let when = match self.at {
                Some(at) => format!("on {at}"),
                None => "in the run's dates".into(),
            };
            return Err(format!(
                "universe.index: the store has no members of {index} {when}; its lists start on {first}"
            ));
        }
        Ok(out)
    }

    /// The engine is daily: intraday bars are refused, naming the frequency.
    pub fn check_daily(&self, what: &str, frequency: Frequency) -> Result<(), ConfigError> {
        if frequency == Frequency::Daily {
            return Ok(());
        }
        Err(ConfigError {
            message: format!(
                "{what}: {} bars; the backtest engine trades daily bars (T+1 settles by day, price limits are daily), so intraday universes are refused — use daily bars",
                frequency.as_str()
            ),
        })
    }
}

/// A schedule written as a name or a number (`"monthly"`, `5`): how `every` and `rebalance`
/// read and write, so a config serialised for a walk-forward grid reads back the same.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub(crate) enum NumberOrName {
    N(i64),
    Name(String),
}

/// A day written as a TOML date (`from = 2015-01-05`) or as a string (`"2015-01-05"`).
pub(crate) fn toml_date<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<NaiveDate>, D::Error> {
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
    TopK(super::top_k::TopK),
    Threshold(super::threshold::Threshold),
}

impl StrategyConfig {
    /// The expressions a `top_k` or `threshold` strategy is written in.
    pub fn expressions(&self) -> Vec<&str> {
        match self {
            StrategyConfig::TopK(t) => std::iter::once(t.score.as_str())
                .chain(t.filter.as_deref())
                .collect(),
            StrategyConfig::Threshold(t) => [t.buy.as_str(), t.sell.as_str()]
                .into_iter()
                .chain(t.rank.as_deref())
                .collect(),
            _ => Vec::new(),
        }
    }

    /// The prediction set a `top_k` or `threshold` strategy reads its `pred.` fields from.
    pub fn predictions(&self) -> Option<&super::fields::PredictionSource> {
        match self {
            StrategyConfig::TopK(t) => t.predictions.as_ref(),
            StrategyConfig::Threshold(t) => t.predictions.as_ref(),
            _ => None,
        }
    }

    /// Attaches a set's rows to a `top_k` or `threshold` strategy, checking its expressions
    /// against the set's columns; the other kinds read no set.
    pub fn attach(
        &mut self,
        kind: crate::predictions::rows::RowKind,
        rows: Vec<crate::predictions::rows::PredictionRow>,
    ) -> Result<(), String> {
        match self {
            StrategyConfig::TopK(t) => t.attach(kind, rows),
            StrategyConfig::Threshold(t) => t.attach(kind, rows),
            _ => Ok(()),
        }
    }
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

pub(crate) fn check(ok: bool, message: &str) -> Result<(), ConfigError> {
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
    let mut config: BacktestConfig = toml::from_str(text).map_err(|e| ConfigError {
        message: e.to_string(),
    })?;
    // A retraining walk-forward makes the strategy's predictions itself.
    if config.walk_forward.as_ref().is_some_and(|w| w.retrain) {
        let refit = Some(super::fields::PredictionSource::Refitted);
        match &mut config.strategy {
            StrategyConfig::TopK(t) => t.predictions = t.predictions.take().or(refit),
            StrategyConfig::Threshold(t) => t.predictions = t.predictions.take().or(refit),
            _ => {}
        }
    }
    validate_strategy(&config.strategy)?;
    check(
        config.engine.initial_cash.is_finite() && config.engine.initial_cash > 0.0,
        "engine.initial_cash: must be a positive amount",
    )?;
    if let (Some(f), Some(t)) = (config.universe.from, config.universe.to) {
        check(f <= t, "universe: `from` is after `to`")?;
    }
    if let Some(f) = config.universe.frequency {
        config.universe.check_daily("universe.frequency", f)?;
    }
    let u = &config.universe;
    check(
        u.at.is_none() || u.index.is_some(),
        "universe.at: the members of which index? give universe.index too",
    )?;
    check(
        u.index.is_none() || (u.symbols.is_empty() && u.board.is_none() && u.files.is_empty()),
        "universe.index: the index's members are the universe; leave out symbols, board and files",
    )?;
    if let Some(i) = &u.index {
        let sym: crate::Symbol = i.parse().map_err(|e| ConfigError {
            message: format!("universe.index `{i}`: {e}"),
        })?;
        check(
            sym.kind() == crate::InstrumentKind::Index,
            "universe.index: not an index (e.g. 000905.SH for CSI 500)",
        )?;
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
        StrategyConfig::TopK(t) => t.validate().map_err(|message| ConfigError { message }),
        StrategyConfig::Threshold(t) => t.validate().map_err(|message| ConfigError { message }),
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Objective {
    #[default]
    Sharpe,
    TotalReturn,
    Calmar,
    /// The smallest maximum drawdown.
    #[serde(alias = "min_drawdown")]
    MinMaxDrawdown,
}

impl Objective {
    pub(crate) fn score(self, m: Option<&Metrics>) -> f64 {
        let Some(m) = m else {
            return f64::NEG_INFINITY;
        };
        let v = match self {
            Objective::Sharpe => m.sharpe,
            Objective::TotalReturn => m.total_return,
            Objective::Calmar => m.calmar,
            Objective::MinMaxDrawdown => -m.max_drawdown,
        };
        if v.is_finite() { v } else { f64::NEG_INFINITY }
    }
}

/// `[walk_forward]`: window lengths in trading days, and the parameter grid.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct WalkForwardConfig {
    pub train_days: usize,
    pub test_days: usize,
    /// Strategy parameter → candidate values, e.g. `grid = { fast = [5, 10], slow = [20, 60] }`.
    /// Every combination is tried on each training window; an empty grid keeps the strategy's
    /// own parameters (a plain out-of-sample split).
    #[serde(default)]
    pub grid: BTreeMap<String, Vec<toml::Value>>,
    #[serde(default)]
    pub objective: Objective,
    /// Refit the model on each training window and trade its predictions on the following
    /// test window (PyBroker's walk-forward): the strategy's `pred.` fields come from the
    /// refitted models, stitched. Runs in `kxian-trainer backtest` (it trains).
    #[serde(default)]
    pub retrain: bool,
    /// With `retrain`: the model refitted on each window.
    #[serde(default)]
    pub model: Option<RetrainModel>,
}

/// The model a retraining walk-forward refits, and its training options.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RetrainModel {
    /// `"classifier"`: the up/down/flat classifier (the zoo's models will follow).
    pub kind: String,
    /// `train-classifier`'s options by name, e.g. `{ horizon = 5, epochs = 4, d_model = 32 }`.
    #[serde(default)]
    pub train: BTreeMap<String, toml::Value>,
}

const MAX_COMBINATIONS: usize = 256;

impl WalkForwardConfig {
    pub fn validate(&self, strategy: &StrategyConfig) -> Result<(), ConfigError> {
        let err = |m: String| Err(ConfigError { message: m });
        if self.train_days < 20 {
            return err("walk_forward.train_days: at least 20 trading days".into());
        }
        if self.test_days < 5 {
            return err("walk_forward.test_days: at least 5 trading days".into());
        }
        if self.retrain {
            let Some(m) = &self.model else {
                return err("walk_forward.model: retrain needs the model to refit, e.g. [walk_forward.model] kind = \"classifier\"".into());
            };
            if m.kind != "classifier" {
                return err(format!(
                    "walk_forward.model.kind: `{}`; the model refitted on each window is \"classifier\"",
                    m.kind
                ));
            }
            if !self.grid.is_empty() {
                return err(
                    "walk_forward.grid: with retrain the model is what is refitted; give no grid"
                        .into(),
                );
            }
            if !matches!(
                strategy,
                StrategyConfig::TopK(_) | StrategyConfig::Threshold(_)
            ) {
                return err("walk_forward.retrain: the strategy trades the refitted model's pred.* fields: use kind = \"top_k\" or \"threshold\"".into());
            }
        } else if self.model.is_some() {
            return err("walk_forward.model: only with retrain = true".into());
        }
        let n: usize = self.grid.values().map(Vec::len).product();
        if self.grid.values().any(Vec::is_empty) {
            return err("walk_forward.grid: every parameter needs at least one value".into());
        }
        if n > MAX_COMBINATIONS {
            return err(format!(
                "walk_forward.grid: {n} combinations, more than {MAX_COMBINATIONS}"
            ));
        }
        for c in self.candidates(strategy)? {
            validate_strategy(&c.1).map_err(|e| ConfigError {
                message: format!("walk_forward.grid {}: {}", c.0, e.message),
            })?;
        }
        Ok(())
    }

    /// Every combination of the grid applied to `base`, with a label like `fast=5 slow=20`.
    pub fn candidates(
        &self,
        base: &StrategyConfig,
    ) -> Result<Vec<(String, StrategyConfig)>, ConfigError> {
        let base_value = toml::Value::try_from(base).map_err(|e| ConfigError {
            message: format!("strategy: {e}"),
        })?;
        let mut combos: Vec<Vec<(&String, &toml::Value)>> = vec![Vec::new()];
        for (k, values) in &self.grid {
            combos = combos
                .into_iter()
                .flat_map(|c| {
                    values.iter().map(move |v| {
                        let mut c = c.clone();
                        c.push((k, v));
                        c
                    })
                })
                .collect();
        }
        combos
            .into_iter()
            .map(|combo| {
                let mut v = base_value.clone();
                let table = v.as_table_mut().expect("a strategy serialises to a table");
                let mut label = Vec::new();
                for (k, x) in combo {
                    if k == "kind" {
                        return Err(ConfigError {
                            message: "walk_forward.grid: `kind` cannot vary".into(),
                        });
                    }
                    table.insert(k.clone(), x.clone());
                    label.push(format!("{k}={x}"));
                }
                let mut s: StrategyConfig =
                    v.try_into().map_err(|e: toml::de::Error| ConfigError {
                        message: format!("walk_forward.grid: {}", e.message()),
                    })?;
                // Rows read from a file are not part of the TOML: carry them over.
                match (&mut s, base) {
                    (StrategyConfig::TopK(new), StrategyConfig::TopK(old)) => {
                        new.rows = old.rows.clone()
                    }
                    (StrategyConfig::Threshold(new), StrategyConfig::Threshold(old)) => {
                        new.rows = old.rows.clone()
                    }
                    _ => {}
                }
                Ok((label.join(" "), s))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backtest::strategies::Weighting;

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
        // The objectives by name, the new one included.
        for (name, want) in [
            ("sharpe", Objective::Sharpe),
            ("min_max_drawdown", Objective::MinMaxDrawdown),
            ("min_drawdown", Objective::MinMaxDrawdown),
        ] {
            let w: WalkForwardConfig = toml::from_str(&format!(
                "train_days = 60\ntest_days = 20\nobjective = \"{name}\""
            ))
            .unwrap();
            assert_eq!(w.objective, want);
        }
        let m = crate::backtest::metrics::metrics(&[100.0, 90.0, 95.0], 0.0);
        assert!((Objective::MinMaxDrawdown.score(m.as_ref()) + 0.1).abs() < 1e-12);
        let retrain_without_model = parse(
            "[universe]\nsymbols = [\"600000\"]\n[strategy]\nkind = \"top_k\"\nscore = \"pred.p_up\"\n[walk_forward]\ntrain_days = 60\ntest_days = 20\nretrain = true\n",
        )
        .unwrap_err();
        assert!(
            retrain_without_model.message.contains("walk_forward.model"),
            "{retrain_without_model:?}"
        );

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
