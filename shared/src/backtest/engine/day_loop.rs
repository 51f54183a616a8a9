//! The day loop: fills at the open and the close, marks to market, asks the strategy for
//! the next day's orders.

use super::*;
use crate::backtest::metrics::metrics;
use crate::domain::{Bar, Symbol};
use crate::rules::{Fees, Side, can_sell_same_day, limit_prices, lot_rule, price_band};
use chrono::NaiveDate;
use std::collections::BTreeMap;

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
    let first_no = dates
        .first()
        .map_or(0, |d0| universe.dates.partition_point(|d| d < d0));
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
    let mut unsettled = false;
    let mut traded = 0.0;
    let (closes, seen_by_day) = (universe.closes(), universe.seen());
    for (d_i, &day) in dates.iter().enumerate() {
        // Each symbol's bars so far and last close on or before today, from the universe's
        // tables.
        let row = (first_no + d_i) * series.len();
        let close_now = &closes[row..row + series.len()];
        let seen = &seen_by_day[row..row + series.len()];
        // Only a buy leaves a position with shares it cannot sell yet: after a day without
        // one there is nothing to settle.
        if unsettled {
            for p in book.positions.values_mut() {
                p.sellable = p.shares;
            }
            unsettled = false;
        }
        for timing in [Timing::Open, Timing::Close] {
            let mut batch: Vec<&Order> = pending.iter().filter(|o| o.timing == timing).collect();
            batch.sort_by_key(|o| o.side != Side::Sell);
            // Each order's symbol and today's bar, if it traded, found for the whole batch
            // before any executes: the bars lie far apart, and loads issued together wait
            // for memory together instead of one after another.
            let found: Vec<_> = batch
                .iter()
                .map(|order| {
                    let at = universe.index.get(&order.symbol).copied();
                    let today = at.and_then(|k| {
                        let n = seen[k] as usize;
                        (n > 0 && series[k][n - 1].ts.date() == day).then(|| (series[k], n - 1))
                    });
                    (at, today)
                })
                .collect();
            for (order, (at, today)) in batch.into_iter().zip(found) {
                let cost = book
                    .positions
                    .get(&order.symbol)
                    .map_or(0.0, |p| p.avg_cost);
                let outcome = execute(today, config, &mut book, day, order);
                if outcome.is_ok()
                    && let Some(k) = at
                {
                    held[k] = book.positions.get(&order.symbol).map_or(0.0, |p| p.shares);
                }
                match outcome {
                    Ok(fill) => {
                        unsettled |= fill.side == Side::Buy;
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
        let equity = book.cash + held.iter().zip(close_now).map(|(h, c)| h * c).sum::<f64>();
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
            seen,
            held: &held,
            closes: close_now,
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
