//! A-share trading rules as data, each dated where it changed
//! (the exchanges' trading rules): daily price limits by board, ST status and
//! listing day; limit prices in exact tick arithmetic; tick sizes and lot rules; settlement
//! (T+1 vs T+0); and fees and taxes by trade date. The backtest engine applies these per bar.

mod fees;
mod limits;
mod lots;
mod settlement;

pub use fees::{FeeSchedule, Fees, Side, stamp_duty, transfer_fee};
pub use limits::{LimitPrices, ListingStatus, PriceBand, limit_prices, price_band, tick_size};
pub use lots::{LotRule, lot_rule};
pub use settlement::can_sell_same_day;

use chrono::NaiveDate;

/// A rule's date, for `const { date(…) }`: the rules compare every fill's day with these, and
/// a date built at compile time costs nothing there.
pub(crate) const fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    match NaiveDate::from_ymd_opt(y, m, d) {
        Some(d) => d,
        None => panic!("valid rule date"),
    }
}
