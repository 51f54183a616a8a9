//! `kind = "top_k"`: hold the K names with the highest score, where the score is an
//! expression of the [expression language](crate::expr), rebalanced daily, weekly, monthly or
//! every N trading days, optionally replacing at most `n_drop` holdings at a time (Qlib's
//! TopkDropout) and only among names a `filter` expression admits. Equal weights.
//!
//! ```toml
//! [strategy]
//! kind = "top_k"
//! score = "rank($close / ref($close, 20)) - rank(std($close / ref($close, 1), 20))"
//! k = 5                     # or top_fraction = 0.2
//! rebalance = "monthly"     # "daily", "weekly", "monthly" or a number of trading days
//! n_drop = 0                # 0: no limit
//! filter = "$volume > 0"    # optional; when it admits nobody on a rebalance, sell out
//! ```
//!
//! The score is computed once over the whole universe (for weekly and monthly rebalancing, its
//! cross-sections only on the last trading day of each period, the only days it is read); every
//! operator reads only its date and earlier ones (`crate::expr` tests each by truncation), so a
//! rebalance never sees later bars.

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use super::engine::{Context, Order, Strategy, Timing, Universe};
use super::schema::NumberOrName;
use crate::calendar::TradingCalendar;
use crate::domain::Symbol;
use crate::expr::ExprError;
use crate::predictions::rows::{PredictionRow, RowKind};

pub use super::fields::PRICE_FIELDS;
use super::fields::{PredictionSource, check_expressions, panel_for, symbol_index};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(try_from = "NumberOrName", into = "NumberOrName")]
pub enum Rebalance {
    Daily,
    Weekly,
    #[default]
    Monthly,
    /// Every N trading days, counted from the first.
    Days(usize),
}

impl TryFrom<NumberOrName> for Rebalance {
    type Error = String;
    fn try_from(v: NumberOrName) -> Result<Self, String> {
        match v {
            NumberOrName::N(n) if n >= 1 => Ok(Rebalance::Days(n as usize)),
            NumberOrName::N(n) => Err(format!("{n}: a number of days is at least 1")),
            NumberOrName::Name(s) => match s.as_str() {
                "daily" => Ok(Rebalance::Daily),
                "weekly" => Ok(Rebalance::Weekly),
                "monthly" => Ok(Rebalance::Monthly),
                other => Err(format!(
                    "`{other}`: expected \"daily\", \"weekly\", \"monthly\" or a number of trading days"
                )),
            },
        }
    }
}

impl From<Rebalance> for NumberOrName {
    fn from(r: Rebalance) -> Self {
        match r {
            Rebalance::Daily => NumberOrName::Name("daily".into()),
            Rebalance::Weekly => NumberOrName::Name("weekly".into()),
            Rebalance::Monthly => NumberOrName::Name("monthly".into()),
            Rebalance::Days(n) => NumberOrName::N(n as i64),
        }
    }
}

/// How a `top_k` strategy's chosen names share the equity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Weighting {
    #[default]
    Equal,
    /// In proportion to the score (a negative score counts as zero; equal when none is
    /// positive): meant for positive scores such as `pred.p_up` or `rank(…)`.
    Score,
    /// In proportion to 1 / the standard deviation of the last 20 daily returns.
    InverseVol,
    /// In proportion to float market cap: needs float shares from reference data.
    FloatCap,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TopK {
    pub score: String,
    #[serde(default)]
    pub k: Option<usize>,
    #[serde(default)]
    pub top_fraction: Option<f64>,
    #[serde(default)]
    pub n_drop: usize,
    #[serde(default)]
    pub rebalance: Rebalance,
    #[serde(default)]
    pub filter: Option<String>,
    /// How the chosen names share the equity.
    #[serde(default)]
    pub weighting: Weighting,
    /// A prediction set (a CSV of `kxian-trainer predict`, or a stored set by id or name):
    /// its columns become `pred.score`, `pred.p_up`, … while each forecast is in force.
    #[serde(default)]
    pub predictions: Option<PredictionSource>,
    /// The set's rows, attached by whoever read the file ([`TopK::attach`]).
    #[serde(skip)]
    pub rows: Option<std::sync::Arc<Vec<PredictionRow>>>,
}

impl TopK {
    fn check_expressions(&self, kind: Option<RowKind>) -> Result<(), String> {
        let exprs = [
            ("score", Some(self.score.as_str())),
            ("filter", self.filter.as_deref()),
        ];
        check_expressions(&exprs, self.predictions.is_some(), kind)
    }

    /// Attaches the prediction set's rows, checking the expressions against its columns.
    pub fn attach(&mut self, kind: RowKind, rows: Vec<PredictionRow>) -> Result<(), String> {
        self.check_expressions(Some(kind))?;
        self.rows = Some(std::sync::Arc::new(rows));
        Ok(())
    }

    /// Checks the expressions against the price fields and the sizes; the message names the key.
    pub fn validate(&self) -> Result<(), String> {
        self.check_expressions(None)?;
        if self.k == Some(0) {
            return Err("strategy.k: must be at least 1".into());
        }
        if let Some(f) = self.top_fraction
            && !(f > 0.0 && f <= 1.0)
        {
            return Err("strategy.top_fraction: must be in (0, 1]".into());
        }
        if self.k.is_some() && self.top_fraction.is_some() {
            return Err("strategy: give `k` or `top_fraction`, not both".into());
        }
        Ok(())
    }
}

/// The running strategy: the score (and filter) over the universe, by symbol and date.
#[derive(Clone)]
pub struct TopKStrategy {
    cfg: TopK,
    /// Shared, so a walk-forward's copies of the strategy do not copy the grids.
    score: std::sync::Arc<Vec<Vec<f64>>>,
    filter: Option<std::sync::Arc<Vec<Vec<f64>>>>,
    /// The panel's dates, ascending.
    dates: Vec<NaiveDate>,
    /// Whether each date ends its week or month (by the exchange calendar), for weekly and
    /// monthly rebalancing.
    period_end: Vec<bool>,
    symbols: crate::domain::SymbolMap<usize>,
    /// Whether each symbol has a bar on each date, as the score's grid: read instead of each
    /// name's last bar, which lies in memory of its own.
    present: std::sync::Arc<Vec<Vec<bool>>>,
    days: usize,
}

impl TopKStrategy {
    pub fn new(cfg: &TopK, universe: &Universe) -> Result<TopKStrategy, ExprError> {
        let mut exprs = vec![cfg.score.as_str()];
        exprs.extend(cfg.filter.as_deref());
        let panel = panel_for(
            universe,
            &exprs,
            cfg.predictions.is_some(),
            cfg.rows.as_deref().map(Vec::as_slice),
        );
        let calendar = TradingCalendar::embedded();
        let weekly = cfg.rebalance == Rebalance::Weekly;
        // Only a weekly or monthly strategy asks where periods end.
        let period_end: Vec<bool> = match cfg.rebalance {
            Rebalance::Weekly | Rebalance::Monthly => panel
                .dates
                .iter()
                .map(|&day| {
                    let next = calendar
                        .next_trading_days(day, 1)
                        .first()
                        .map_or(day, |d| d.0);
                    if weekly {
                        next.iso_week() != day.iso_week()
                    } else {
                        next.month() != day.month()
                    }
                })
                .collect(),
            Rebalance::Daily | Rebalance::Days(_) => Vec::new(),
        };
        // A weekly or monthly strategy reads its score and filter only at the ends of
        // periods: the cross-sections are worked out on those dates alone.
        let evaluate = |src: &str| match cfg.rebalance {
            Rebalance::Weekly | Rebalance::Monthly => panel.evaluate_at(src, &period_end),
            Rebalance::Daily | Rebalance::Days(_) => panel.evaluate(src),
        };
        let score = std::sync::Arc::new(evaluate(&cfg.score)?);
        let filter = cfg
            .filter
            .as_deref()
            .map(|f| evaluate(f).map(std::sync::Arc::new))
            .transpose()?;
        Ok(TopKStrategy {
            cfg: cfg.clone(),
            score,
            filter,
            symbols: symbol_index(universe, &panel),
            present: std::sync::Arc::new(panel.present),
            dates: panel.dates,
            period_end,
            days: 0,
        })
    }

    fn rebalances(&self, d: usize) -> bool {
        match self.cfg.rebalance {
            Rebalance::Daily => true,
            Rebalance::Weekly | Rebalance::Monthly => self.period_end[d],
            Rebalance::Days(n) => (self.days - 1).is_multiple_of(n),
        }
    }
}

impl TopKStrategy {
    /// Each target's share of equity, summing to just under 1 so fees never overdraw.
    fn weights(&self, ctx: &Context<'_>, d: usize, target: &[&Symbol]) -> Vec<f64> {
        let raw: Vec<f64> = match self.cfg.weighting {
            Weighting::Equal => vec![1.0; target.len()],
            // A name without a figure that day gets no weight (all without: equal, below).
            Weighting::FloatCap => target
                .iter()
                .map(|s| ctx.float_cap(s).filter(|c| c.is_finite()).unwrap_or(0.0))
                .collect(),
            Weighting::Score => target
                .iter()
                .map(|s| {
                    let v = self.symbols.get(*s).map_or(f64::NAN, |&i| self.score[i][d]);
                    if v.is_finite() { v.max(0.0) } else { 0.0 }
                })
                .collect(),
            Weighting::InverseVol => target
                .iter()
                .map(|s| {
                    let h = ctx.history(s);
                    let r: Vec<f64> = h[h.len().saturating_sub(21)..]
                        .windows(2)
                        .map(|w| w[1].close / w[0].close - 1.0)
                        .filter(|x| x.is_finite())
                        .collect();
                    let sd = super::metrics::sample_std(&r);
                    if r.len() >= 5 && sd > 0.0 {
                        1.0 / sd
                    } else {
                        0.0
                    }
                })
                .collect(),
        };
        let total: f64 = raw.iter().sum();
        if total > 0.0 {
            // The share first, then the cash margin: equal weights come out bit for bit as
            // the monthly rotation's.
            raw.iter().map(|w| w / total * 0.998).collect()
        } else {
            vec![1.0 / target.len() as f64 * 0.998; target.len()]
        }
    }
}

impl Strategy for TopKStrategy {
    fn on_day(&mut self, ctx: &Context<'_>) -> Vec<Order> {
        self.days += 1;
        let Ok(d) = self.dates.binary_search(&ctx.day) else {
            return Vec::new();
        };
        if !self.rebalances(d) {
            return Vec::new();
        }
        // Names with a bar today, a score and the filter's consent, best first.
        let mut ranked: Vec<(&Symbol, f64)> = Vec::new();
        let mut refused = false;
        for s in ctx.symbols() {
            let Some(&i) = self.symbols.get(s) else {
                continue;
            };
            // Only names with a bar today.
            if !self.present[i][d] {
                continue;
            }
            // A point-in-time universe buys only today's members of its index.
            if !ctx.is_member(s) {
                continue;
            }
            let v = self.score[i][d];
            let admitted = self
                .filter
                .as_ref()
                .is_none_or(|f| f[i][d].is_finite() && f[i][d] != 0.0);
            if v.is_finite() && admitted {
                ranked.push((s, v));
            }
            refused |= v.is_finite() && !admitted;
        }
        if ranked.is_empty() {
            // The filter admits no scored name today (a regime gate, say): hold none. With no
            // score at all yet, nothing changes.
            if !refused {
                return Vec::new();
            }
            return ctx
                .positions
                .iter()
                .filter(|(_, p)| p.shares > 0.0)
                .filter_map(|(s, _)| ctx.order_target_weight(s, 0.0, Timing::Open))
                .collect();
        }
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(b.0)));
        let n = match (self.cfg.k, self.cfg.top_fraction) {
            (Some(k), _) => k,
            (None, f) => (ranked.len() as f64 * f.unwrap_or(0.2)).round() as usize,
        }
        .clamp(1, ranked.len());
        let top: Vec<&Symbol> = ranked[..n].iter().map(|(s, _)| *s).collect();
        let held: Vec<&Symbol> = ctx
            .positions
            .iter()
            .filter(|(_, p)| p.shares > 0.0)
            .map(|(s, _)| s)
            .collect();
        let target: Vec<&Symbol> = if self.cfg.n_drop == 0 {
            top
        } else {
            // Drop at most n_drop of the holdings that fell out of the top, worst first, and
            // fill back up to n with the best names not held.
            let rank_of = |s: &Symbol| {
                ranked
                    .iter()
                    .position(|(r, _)| *r == s)
                    .unwrap_or(usize::MAX)
            };
            let mut out: Vec<&Symbol> = held.iter().copied().filter(|s| !top.contains(s)).collect();
            out.sort_by_key(|s| std::cmp::Reverse(rank_of(s)));
            let dropped: Vec<&Symbol> = out.into_iter().take(self.cfg.n_drop).collect();
            let mut keep: Vec<&Symbol> = held
                .iter()
                .copied()
                .filter(|s| !dropped.contains(s))
                .collect();
            for &(s, _) in &ranked {
                if keep.len() >= n {
                    break;
                }
                if !keep.contains(&s) {
                    keep.push(s);
                }
            }
            keep
        };
        let weights = self.weights(ctx, d, &target);
        let chosen: std::collections::BTreeSet<&Symbol> = target.iter().copied().collect();
        let mut orders: Vec<Order> = held
            .iter()
            .filter(|s| !chosen.contains(*s))
            .filter_map(|s| ctx.order_target_weight(s, 0.0, Timing::Open))
            .collect();
        for (s, w) in target.into_iter().zip(weights) {
            orders.extend(ctx.order_target_weight(s, w, Timing::Open));
        }
        orders
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backtest::engine::{EngineConfig, run};
    use crate::domain::Bar;
    use crate::rules::Side;

    fn universe(days: &[NaiveDate]) -> Universe {
        let mut u = Universe::new();
        // Six stocks drifting at different speeds: 600005 fastest, 600000 falling.
        for k in 0..6 {
            let drift = (k as f64 - 1.0) * 0.002;
            let bars = days
                .iter()
                .enumerate()
                .map(|(i, d)| {
                    let p = 10.0
                        * (1.0 + drift).powi(i as i32)
                        * (1.0 + 0.003 * ((i * (k + 3)) % 7) as f64);
                    Bar {
                        ts: d.and_hms_opt(0, 0, 0).unwrap(),
                        open: p,
                        high: p,
                        low: p,
                        close: p,
                        volume: 1e7,
                        amount: None,
                    }
                })
                .collect();
            u.insert(Symbol::parse(&format!("60000{k}")).unwrap(), bars);
        }
        u
    }

    fn days() -> Vec<NaiveDate> {
        TradingCalendar::embedded()
            .trading_days_between(
                NaiveDate::from_ymd_opt(2024, 1, 2).unwrap(),
                NaiveDate::from_ymd_opt(2024, 8, 30).unwrap(),
            )
            .to_vec()
    }

    fn cfg(text: &str) -> TopK {
        let c: TopK = toml::from_str(text).unwrap();
        c.validate().unwrap();
        c
    }

    #[test]
    fn top_k_on_momentum_buys_the_strongest_names_and_trades() {
        let d = days();
        let u = universe(&d);
        let c = cfg("score = \"$close / ref($close, 20) - 1\"\nk = 2\nrebalance = \"monthly\"\n");
        let mut s = TopKStrategy::new(&c, &u).unwrap();
        let r = run(&u, &EngineConfig::default(), &mut s);
        let bought: std::collections::BTreeSet<String> = r
            .fills
            .iter()
            .filter(|f| f.side == Side::Buy)
            .map(|f| f.symbol.to_string())
            .collect();
        assert!(!r.fills.is_empty(), "no trades");
        assert_eq!(
            bought.into_iter().collect::<Vec<_>>(),
            ["600004.SH", "600005.SH"],
            "{:?}",
            r.fills
        );
    }

    /// The fills up to a day are the same when the data stops at that day.
    #[test]
    fn a_rebalance_never_sees_a_later_bar() {
        let d = days();
        let c = cfg(
            "score = \"rank(ts_rank($close, 10)) + zscore(delta($close, 3))\"\nk = 3\nrebalance = 5\nn_drop = 1\n",
        );
        let full = universe(&d);
        let cut_day = d[100];
        let cut = universe(&d[..=100]);
        let a = run(
            &full,
            &EngineConfig::default(),
            &mut TopKStrategy::new(&c, &full).unwrap(),
        );
        let b = run(
            &cut,
            &EngineConfig::default(),
            &mut TopKStrategy::new(&c, &cut).unwrap(),
        );
        let upto = |r: &crate::backtest::engine::BacktestResult| {
            r.fills
                .iter()
                .filter(|f| f.day <= cut_day)
                .map(|f| format!("{f:?}"))
                .collect::<Vec<_>>()
        };
        assert!(upto(&a).len() > 5);
        assert_eq!(upto(&a), upto(&b));
    }

    /// A walk-forward grid serialises the strategy and reads it back: the schedule survives.
    #[test]
    fn the_config_reads_back_as_it_serialises() {
        for text in [
            "score = \"$close\"\nrebalance = 5\n",
            "score = \"$close\"\nrebalance = \"weekly\"\n",
        ] {
            let c = cfg(text);
            let back: TopK = toml::Value::try_from(&c).unwrap().try_into().unwrap();
            assert_eq!(back, c);
        }
    }

    #[test]
    fn a_bad_expression_names_the_key_and_the_column() {
        let c: TopK = toml::from_str("score = \"mean($close,\"\nk = 2\n").unwrap();
        let e = c.validate().unwrap_err();
        assert!(
            e.starts_with("strategy.score") && e.contains("column 13"),
            "{e}"
        );
        // A Kronos column asked of a classifier's set.
        let mut c: TopK =
            toml::from_str("score = \"pred.q10\"\npredictions = \"p.csv\"\n").unwrap();
        c.validate().unwrap();
        let e = c.attach(RowKind::Classifier, Vec::new()).unwrap_err();
        assert!(
            e.contains("strategy.score") && e.contains("pred.q10"),
            "{e}"
        );
        let c: TopK = toml::from_str("score = \"$close\"\nfilter = \"$volum > 0\"\n").unwrap();
        let e = c.validate().unwrap_err();
        assert!(
            e.contains("strategy.filter") && e.contains("$volume"),
            "{e}"
        );
    }
}
