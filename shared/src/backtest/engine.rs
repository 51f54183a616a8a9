//! The daily-bar portfolio engine: cash, positions and fills under A-share rules.
//!
//! Timeline of one trading day `D`:
//! 1. shares bought before `D` become sellable (T+1);
//! 2. orders the strategy placed after the previous close with [`Timing::Open`] fill at
//!    `D`'s open, sells before buys; then [`Timing::Close`] orders at `D`'s close, likewise;
//! 3. positions are marked to `D`'s close;
//! 4. the strategy sees history up to and including `D` and places orders for `D + 1`.
//!
//! A strategy therefore never trades on a price it has not seen, and limit checks use only
//! the fill price and the previous close (a buy at the open is blocked only when the open is
//! at limit-up, not because the day closed there).

use super::metrics::{BootstrapCi, Metrics, metrics};
use crate::domain::{Bar, Symbol};
use crate::rules::{
    FeeSchedule, Fees, ListingStatus, Side, can_sell_same_day, limit_prices, lot_rule, price_band,
};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// Daily bars per symbol, each ascending by date.
#[derive(Debug, Clone, Default)]
pub struct Universe {
    series: BTreeMap<Symbol, Vec<Bar>>,
    /// Position of each symbol in `series`' order: the engine keeps per-symbol state in
    /// vectors in that order instead of maps.
    index: BTreeMap<Symbol, usize>,
    /// Every date on which at least one symbol has a bar, ascending.
    dates: Vec<NaiveDate>,
}

impl Universe {
    pub fn new() -> Universe {
        Universe::default()
    }

    pub fn insert(&mut self, symbol: Symbol, mut bars: Vec<Bar>) {
        bars.sort_by_key(|b| b.ts);
        let mut dates: Vec<NaiveDate> = bars.iter().map(|b| b.ts.date()).collect();
        if self.series.insert(symbol, bars).is_some() {
            // The replaced series may take dates with it: count every series afresh.
            dates = self
                .series
                .values()
                .flat_map(|b| b.iter().map(|b| b.ts.date()))
                .collect();
        } else {
            dates.extend_from_slice(&self.dates);
        }
        dates.sort_unstable();
        dates.dedup();
        self.dates = dates;
        self.index = self
            .series
            .keys()
            .enumerate()
            .map(|(i, s)| (s.clone(), i))
            .collect();
    }

    pub fn symbols(&self) -> impl Iterator<Item = &Symbol> {
        self.series.keys()
    }

    /// Every symbol's bars.
    pub fn series(&self) -> &BTreeMap<Symbol, Vec<Bar>> {
        &self.series
    }

    /// Every date on which at least one symbol has a bar.
    pub fn dates(&self) -> Vec<NaiveDate> {
        self.dates.clone()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Timing {
    Open,
    Close,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Slippage {
    None,
    /// A fixed cost in basis points of the price, against the trader.
    Bps {
        bps: f64,
    },
    /// Impact growing with the order's share of the bar's volume: `bps_at_full_volume × qty/volume`.
    VolumeImpact {
        bps_at_full_volume: f64,
    },
}

/// Which A-share rules apply; each can be switched off to compare with other engines.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RuleSwitches {
    pub t_plus_one: bool,
    pub price_limits: bool,
    pub lots: bool,
    pub fees: bool,
}

impl Default for RuleSwitches {
    fn default() -> Self {
        RuleSwitches {
            t_plus_one: true,
            price_limits: true,
            lots: true,
            fees: true,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct EngineConfig {
    pub initial_cash: f64,
    pub fees: FeeSchedule,
    pub slippage: Slippage,
    /// At most this fraction of a bar's volume per order (e.g. 0.1).
    pub max_participation: Option<f64>,
    pub rules: RuleSwitches,
    /// Fractional shares, no fees, no slippage, no rules: for comparing with other engines.
    pub frictionless: bool,
    /// Symbols under risk warning (ST) for the whole run.
    pub st: BTreeSet<Symbol>,
    /// Dated risk warnings: `{ "600000.SH" = [{ from = 2020-05-06, to = 2021-04-30 }] }`.
    pub st_periods: BTreeMap<Symbol, Vec<DateRange>>,
    /// Listing days, so the first days after an IPO get their own (or no) price limit.
    #[serde(deserialize_with = "day_map")]
    pub listed: BTreeMap<Symbol, NaiveDate>,
    /// Dated suspensions: orders on these days are refused even where the data has a bar
    /// (vendors often fill a suspended day with the last close and no volume).
    pub suspended: BTreeMap<Symbol, Vec<DateRange>>,
    /// Annual risk-free rate for Sharpe/Sortino.
    pub risk_free: f64,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            initial_cash: 1_000_000.0,
            fees: FeeSchedule::default(),
            slippage: Slippage::None,
            max_participation: None,
            rules: RuleSwitches::default(),
            frictionless: false,
            st: BTreeSet::new(),
            st_periods: BTreeMap::new(),
            listed: BTreeMap::new(),
            suspended: BTreeMap::new(),
            risk_free: 0.0,
        }
    }
}

/// Days `from` to `to`, both included; an open end runs to the end of the data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DateRange {
    #[serde(deserialize_with = "day")]
    pub from: NaiveDate,
    #[serde(default, deserialize_with = "opt_day")]
    pub to: Option<NaiveDate>,
}

impl DateRange {
    pub fn contains(&self, d: NaiveDate) -> bool {
        d >= self.from && self.to.is_none_or(|t| d <= t)
    }
}

/// A day as a TOML date (`2020-05-06`) or a string (`"2020-05-06"`, JSON).
#[derive(Deserialize)]
#[serde(untagged)]
enum DayText {
    Toml(toml::value::Datetime),
    Text(String),
}

fn parse_day<E: serde::de::Error>(d: DayText) -> Result<NaiveDate, E> {
    let text = match d {
        DayText::Toml(t) => t.to_string(),
        DayText::Text(s) => s,
    };
    text.parse()
        .map_err(|_| E::custom(format!("`{text}` is not a day like 2015-01-05")))
}

pub(crate) fn day<'de, D: serde::Deserializer<'de>>(d: D) -> Result<NaiveDate, D::Error> {
    parse_day(DayText::deserialize(d)?)
}

pub(crate) fn opt_day<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<NaiveDate>, D::Error> {
    Option::<DayText>::deserialize(d)?
        .map(parse_day)
        .transpose()
}

fn day_map<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<BTreeMap<Symbol, NaiveDate>, D::Error> {
    BTreeMap::<Symbol, DayText>::deserialize(d)?
        .into_iter()
        .map(|(k, v)| Ok((k, parse_day(v)?)))
        .collect()
}

impl EngineConfig {
    fn in_ranges(map: &BTreeMap<Symbol, Vec<DateRange>>, symbol: &Symbol, day: NaiveDate) -> bool {
        map.get(symbol)
            .is_some_and(|rs| rs.iter().any(|r| r.contains(day)))
    }

    /// The symbol's listing status on `day`, from what the config knows.
    pub fn status(&self, symbol: &Symbol, day: NaiveDate) -> ListingStatus {
        let day_of_listing = self.listed.get(symbol).and_then(|&l| {
            (day >= l).then(|| {
                crate::calendar::TradingCalendar::embedded()
                    .trading_days_between(l, day)
                    .len() as u32
            })
        });
        ListingStatus {
            st: self.st.contains(symbol) || Self::in_ranges(&self.st_periods, symbol, day),
            day_of_listing,
            ..Default::default()
        }
    }

    pub fn is_suspended(&self, symbol: &Symbol, day: NaiveDate) -> bool {
        Self::in_ranges(&self.suspended, symbol, day)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Order {
    pub symbol: Symbol,
    pub side: Side,
    /// Shares wanted; rounded to the board lot unless frictionless.
    pub shares: f64,
    pub timing: Timing,
}

#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Position {
    pub shares: f64,
    /// Shares that may be sold today (T+1 holds back today's buys).
    pub sellable: f64,
    /// Average cost per share of the shares held, fees included.
    pub avg_cost: f64,
}

/// What a strategy may look at after a day's close.
pub struct Context<'a> {
    pub day: NaiveDate,
    pub cash: f64,
    pub equity: f64,
    pub positions: &'a BTreeMap<Symbol, Position>,
    universe: &'a Universe,
    series: &'a [&'a [Bar]],
    /// Per symbol (in `universe` order), how many of its bars are on or before `day`.
    seen: &'a [usize],
    /// Per symbol (in `universe` order), the shares held.
    held: &'a [f64],
}

impl Context<'_> {
    /// Bars of `symbol` up to and including today (never later).
    pub fn history(&self, symbol: &Symbol) -> &[Bar] {
        match self.universe.index.get(symbol) {
            Some(&k) => &self.series[k][..self.seen[k]],
            None => &[],
        }
    }

    /// Every symbol with its bars up to and including today and the shares held, in symbol
    /// order: what a strategy that looks at every symbol every day reads, without lookups.
    pub fn histories(&self) -> impl Iterator<Item = (&Symbol, &[Bar], f64)> {
        self.universe
            .series
            .keys()
            .zip(self.series.iter().zip(self.seen.iter().zip(self.held)))
            .map(|(s, (bars, (&n, &held)))| (s, &bars[..n], held))
    }

    pub fn symbols(&self) -> impl Iterator<Item = &Symbol> {
        self.universe.symbols()
    }

    pub fn shares(&self, symbol: &Symbol) -> f64 {
        self.positions.get(symbol).map_or(0.0, |p| p.shares)
    }

    /// The order that moves `symbol` to `weight` of today's equity at today's close.
    pub fn order_target_weight(
        &self,
        symbol: &Symbol,
        weight: f64,
        timing: Timing,
    ) -> Option<Order> {
        let price = self.history(symbol).last()?.close;
        let delta = weight * self.equity / price - self.shares(symbol);
        (delta.abs() > 1e-9).then(|| Order {
            symbol: symbol.clone(),
            side: if delta > 0.0 { Side::Buy } else { Side::Sell },
            shares: delta.abs(),
            timing,
        })
    }
}

pub trait Strategy {
    /// Called after each day's close; the returned orders execute on the next trading day.
    fn on_day(&mut self, ctx: &Context<'_>) -> Vec<Order>;
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fill {
    pub day: NaiveDate,
    pub symbol: Symbol,
    pub side: Side,
    pub shares: f64,
    pub price: f64,
    pub fees: Fees,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RejectReason {
    /// No bar that day.
    Suspended,
    /// Buy at a price at limit-up.
    LimitUp,
    /// Sell at a price at limit-down.
    LimitDown,
    /// Only shares bought today are held.
    TPlusOne,
    NothingToSell,
    /// Less than one board lot after rounding or capping.
    BelowLot,
    NoCash,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rejection {
    pub day: NaiveDate,
    pub order: Order,
    pub reason: RejectReason,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BacktestResult {
    pub dates: Vec<NaiveDate>,
    /// Equity at each day's close.
    pub equity: Vec<f64>,
    pub fills: Vec<Fill>,
    pub rejections: Vec<Rejection>,
    pub costs: Fees,
    /// Traded value over average equity.
    pub turnover: f64,
    /// Average share of equity held in positions at the close (0 = always in cash).
    #[serde(default)]
    pub exposure: f64,
    /// Sell fills, and those whose proceeds per share (after fees) beat the average cost of
    /// the shares held: the win rate is `winning_sells / sells`.
    #[serde(default)]
    pub sells: usize,
    #[serde(default)]
    pub winning_sells: usize,
    pub metrics: Option<Metrics>,
    /// Block-bootstrap confidence intervals of Sharpe and max drawdown (the config's run).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bootstrap: Option<BootstrapCi>,
}

impl BacktestResult {
    /// Share of sells that closed above their cost; `None` when nothing was sold.
    pub fn win_rate(&self) -> Option<f64> {
        (self.sells > 0).then(|| self.winning_sells as f64 / self.sells as f64)
    }
}

struct Book {
    cash: f64,
    positions: BTreeMap<Symbol, Position>,
}

/// Runs `strategy` over every date of `universe`.
pub fn run(
    universe: &Universe,
    config: &EngineConfig,
    strategy: &mut dyn Strategy,
) -> BacktestResult {
    run_window(universe, config, strategy, None, None)
}

/// Runs `strategy` from `from` to `to` (inclusive), starting in cash on `from`. Bars before
/// `from` stay visible to the strategy as history, so indicators are warm on the first day.
pub fn run_window(
    universe: &Universe,
    config: &EngineConfig,
    strategy: &mut dyn Strategy,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
) -> BacktestResult {
    let dates: Vec<NaiveDate> = universe
        .dates()
        .into_iter()
        .filter(|d| from.is_none_or(|f| *d >= f) && to.is_none_or(|t| *d <= t))
        .collect();
    let mut book = Book {
        cash: config.initial_cash,
        positions: BTreeMap::new(),
    };
    let series: Vec<&[Bar]> = universe.series.values().map(Vec::as_slice).collect();
    // Each bar's day as its position in the universe's dates, so the daily walk compares
    // integers.
    let all = &universe.dates;
    let day_no: Vec<Vec<u32>> = series
        .iter()
        .map(|bars| {
            let mut j = 0;
            bars.iter()
                .map(|b| {
                    let d = b.ts.date();
                    while all[j] < d {
                        j += 1;
                    }
                    j as u32
                })
                .collect()
        })
        .collect();
    let first_no = dates
        .first()
        .map_or(0, |d0| all.partition_point(|d| d < d0) as u32);
    // Bars seen per symbol, advanced once a day: no lookup or search per bar.
    let mut seen: Vec<usize> = day_no
        .iter()
        .map(|n| n.partition_point(|&x| x < first_no))
        .collect();
    let mut close_now: Vec<f64> = seen
        .iter()
        .zip(&series)
        .map(|(&n, b)| if n > 0 { b[n - 1].close } else { 0.0 })
        .collect();
    let mut held = vec![0.0; series.len()];
    let mut pending: Vec<Order> = Vec::new();
    let mut result = BacktestResult {
        dates: dates.clone(),
        equity: Vec::with_capacity(dates.len()),
        fills: Vec::new(),
        rejections: Vec::new(),
        costs: Fees::default(),
        turnover: 0.0,
        exposure: 0.0,
        sells: 0,
        winning_sells: 0,
        metrics: None,
        bootstrap: None,
    };
    let mut exposure_sum = 0.0;
    let mut traded = 0.0;
    for (d_i, &day) in dates.iter().enumerate() {
        let today_no = first_no + d_i as u32;
        for k in 0..series.len() {
            let (n, nos) = (&mut seen[k], &day_no[k]);
            if *n < nos.len() && nos[*n] <= today_no {
                while *n < nos.len() && nos[*n] <= today_no {
                    *n += 1;
                }
                close_now[k] = series[k][*n - 1].close;
            }
        }
        for p in book.positions.values_mut() {
            p.sellable = p.shares;
        }
        for timing in [Timing::Open, Timing::Close] {
            let mut batch: Vec<&Order> = pending.iter().filter(|o| o.timing == timing).collect();
            batch.sort_by_key(|o| o.side != Side::Sell);
            for order in batch {
                let cost = book
                    .positions
                    .get(&order.symbol)
                    .map_or(0.0, |p| p.avg_cost);
                // Today's bar of the order's symbol, if it traded.
                let today = universe.index.get(&order.symbol).and_then(|&k| {
                    let n = seen[k];
                    (n > 0 && series[k][n - 1].ts.date() == day).then(|| (series[k], n - 1))
                });
                let outcome = execute(today, config, &mut book, day, order);
                if outcome.is_ok()
                    && let Some(&k) = universe.index.get(&order.symbol)
                {
                    held[k] = book.positions.get(&order.symbol).map_or(0.0, |p| p.shares);
                }
                match outcome {
                    Ok(fill) => {
                        if fill.side == Side::Sell && fill.shares > 0.0 {
                            result.sells += 1;
                            let net = (fill.shares * fill.price - fill.fees.total()) / fill.shares;
                            if net > cost {
                                result.winning_sells += 1;
                            }
                        }
                        traded += fill.shares * fill.price;
                        result.costs.commission += fill.fees.commission;
                        result.costs.stamp_duty += fill.fees.stamp_duty;
                        result.costs.transfer_fee += fill.fees.transfer_fee;
                        result.fills.push(fill);
                    }
                    Err(reason) => result.rejections.push(Rejection {
                        day,
                        order: order.clone(),
                        reason,
                    }),
                }
            }
        }
        // Positions are marked to their last close on or before today.
        let equity = book.cash + held.iter().zip(&close_now).map(|(h, c)| h * c).sum::<f64>();
        result.equity.push(equity);
        if equity > 0.0 {
            exposure_sum += ((equity - book.cash) / equity).clamp(0.0, 1.0);
        }
        let ctx = Context {
            day,
            cash: book.cash,
            equity,
            positions: &book.positions,
            universe,
            series: &series,
            seen: &seen,
            held: &held,
        };
        pending = strategy.on_day(&ctx);
    }
    let avg_equity = result.equity.iter().sum::<f64>() / result.equity.len().max(1) as f64;
    result.turnover = if avg_equity > 0.0 {
        traded / avg_equity
    } else {
        0.0
    };
    result.exposure = exposure_sum / result.equity.len().max(1) as f64;
    result.metrics = metrics(&result.equity, config.risk_free);
    result
}

fn execute(
    today: Option<(&[Bar], usize)>,
    config: &EngineConfig,
    book: &mut Book,
    day: NaiveDate,
    order: &Order,
) -> Result<Fill, RejectReason> {
    let strict = !config.frictionless;
    let (bars, i) = today.ok_or(RejectReason::Suspended)?;
    if strict && config.is_suspended(&order.symbol, day) {
        return Err(RejectReason::Suspended);
    }
    let bar = bars[i];
    let mut price = match order.timing {
        Timing::Open => bar.open,
        Timing::Close => bar.close,
    };
    let limits = (strict && config.rules.price_limits && i > 0)
        .then(|| {
            let band = price_band(&order.symbol, day, config.status(&order.symbol, day));
            limit_prices(&order.symbol, day, bars[i - 1].close, band)
        })
        .flatten();
    if let Some(l) = limits {
        match order.side {
            Side::Buy if price >= l.up - 1e-9 => return Err(RejectReason::LimitUp),
            Side::Sell if price <= l.down + 1e-9 => return Err(RejectReason::LimitDown),
            _ => {}
        }
    }
    let mut shares = order.shares.max(0.0);
    if strict && let Some(cap) = config.max_participation {
        shares = shares.min((bar.volume * cap).floor());
    }
    if strict {
        let bps = match config.slippage {
            Slippage::None => 0.0,
            Slippage::Bps { bps } => bps,
            Slippage::VolumeImpact { bps_at_full_volume } if bar.volume > 0.0 => {
                bps_at_full_volume * shares / bar.volume
            }
            Slippage::VolumeImpact { .. } => 0.0,
        };
        let sign = if order.side == Side::Buy { 1.0 } else { -1.0 };
        price *= 1.0 + sign * bps / 10_000.0;
        if let Some(l) = limits {
            price = price.clamp(l.down, l.up);
        }
    }
    let lots = strict && config.rules.lots;
    let rule = lot_rule(&order.symbol);
    let fees_for = |shares: f64, price: f64| {
        if strict && config.rules.fees {
            config
                .fees
                .fees(&order.symbol, day, order.side, price, shares as u64)
        } else {
            Fees::default()
        }
    };
    let position = book.positions.entry(order.symbol.clone()).or_default();
    match order.side {
        Side::Sell => {
            let t0 = !strict || !config.rules.t_plus_one || can_sell_same_day(&order.symbol, false);
            let available = if t0 {
                position.shares
            } else {
                position.sellable
            };
            if available <= 0.0 {
                return Err(if position.shares > 0.0 {
                    RejectReason::TPlusOne
                } else {
                    RejectReason::NothingToSell
                });
            }
            shares = shares.min(available);
            if lots {
                let holding = position.shares as u64;
                let mut q = shares.floor() as u64;
                if !rule.valid_sell(q, holding) {
                    q = if rule.step == 1 {
                        q
                    } else {
                        q / rule.min * rule.min
                    };
                    if !rule.valid_sell(q, holding) {
                        // The remainder could not be sold later: it goes with this order.
                        q = (available as u64).min(holding);
                    }
                }
                shares = q as f64;
            }
            if shares <= 0.0 {
                return Err(RejectReason::BelowLot);
            }
            let fees = fees_for(shares, price);
            book.cash += shares * price - fees.total();
            position.shares -= shares;
            position.sellable = (position.sellable - shares).max(0.0);
            if position.shares <= 1e-9 {
                *position = Position::default();
            }
            Ok(Fill {
                day,
                symbol: order.symbol.clone(),
                side: Side::Sell,
                shares,
                price,
                fees,
            })
        }
        Side::Buy => {
            if lots {
                shares = rule.round_buy(shares.floor() as u64) as f64;
                if shares <= 0.0 {
                    return Err(RejectReason::BelowLot);
                }
            }
            // Shrink to what the cash pays for, fees included.
            loop {
                let cost = shares * price + fees_for(shares, price).total();
                if cost <= book.cash + 1e-6 {
                    break;
                }
                let budget = book.cash - fees_for(shares, price).total();
                let affordable = (budget / price).min(shares * 0.999_999);
                let next = if lots {
                    rule.round_buy(affordable.max(0.0).floor() as u64) as f64
                } else {
                    affordable
                };
                if next <= 0.0 || next >= shares {
                    return Err(RejectReason::NoCash);
                }
                shares = next;
            }
            let fees = fees_for(shares, price);
            book.cash -= shares * price + fees.total();
            let held_cost = position.avg_cost * position.shares;
            position.shares += shares;
            position.avg_cost = (held_cost + shares * price + fees.total()) / position.shares;
            if !strict || !config.rules.t_plus_one || can_sell_same_day(&order.symbol, false) {
                position.sellable += shares;
            }
            Ok(Fill {
                day,
                symbol: order.symbol.clone(),
                side: Side::Buy,
                shares,
                price,
                fees,
            })
        }
    }
}
