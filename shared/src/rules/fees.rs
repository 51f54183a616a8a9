//! Fees and taxes by trade date (docs/a-share-rules.md §5).
//!
//! Stamp duty and the ChinaClear transfer fee are law, dated here. Commission is the
//! broker's and therefore a [`FeeSchedule`] setting, charged with a per-order minimum.
//! Periods before 2008-09-19 are from press records of the Ministry of Finance's changes
//! (secondary sources), as is the pre-2015 SSE per-share transfer fee.

use super::date;
use crate::domain::{Board, Exchange, Symbol};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    Buy,
    Sell,
}

/// The broker's part: commission rates and per-order minimums, stocks and funds apart.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FeeSchedule {
    /// Commission on stock turnover (0.00025 = 0.025 %).
    pub stock_commission: f64,
    /// Minimum commission per stock order, CNY.
    pub stock_min_commission: f64,
    pub fund_commission: f64,
    pub fund_min_commission: f64,
    /// Charge the seller's stamp duty (the law; off only to reproduce a cost model without it).
    pub stamp_duty: bool,
    /// Charge ChinaClear's transfer fee (the law; off as above).
    pub transfer_fee: bool,
}

impl Default for FeeSchedule {
    /// Realistic retail defaults: 0.025 % with a ¥5 minimum for stocks; 0.01 % with a ¥0.1
    /// minimum for funds (most brokers waive the ¥5 minimum on ETFs).
    fn default() -> Self {
        FeeSchedule {
            stock_commission: 0.000_25,
            stock_min_commission: 5.0,
            fund_commission: 0.000_1,
            fund_min_commission: 0.1,
            stamp_duty: true,
            transfer_fee: true,
        }
    }
}

/// What one order pays, CNY.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Fees {
    pub commission: f64,
    pub stamp_duty: f64,
    pub transfer_fee: f64,
}

impl Fees {
    pub fn total(&self) -> f64 {
        self.commission + self.stamp_duty + self.transfer_fee
    }
}

fn is_fund(symbol: &Symbol) -> bool {
    matches!(symbol.board(), Board::Etf | Board::Lof | Board::Reit)
}

/// Stamp duty rate on stock turnover for one side on `day` (funds pay none).
pub fn stamp_duty(day: NaiveDate, side: Side) -> f64 {
    if day >= const { date(2023, 8, 28) } {
        if side == Side::Sell { 0.000_5 } else { 0.0 }
    } else if day >= const { date(2008, 9, 19) } {
        if side == Side::Sell { 0.001 } else { 0.0 }
    } else if day >= const { date(2008, 4, 24) } {
        0.001
    } else if day >= const { date(2007, 5, 30) } {
        0.003
    } else if day >= const { date(2005, 1, 24) } {
        0.001
    } else {
        0.002
    }
}

/// Transfer fee for a stock order of `shares` at `turnover` CNY on `day`. Since 2015-08-01
/// it is a share of turnover on both exchanges; before, SSE charged per share and SZSE none.
pub fn transfer_fee(exchange: Exchange, day: NaiveDate, shares: u64, turnover: f64) -> f64 {
    if day >= const { date(2022, 4, 29) } {
        turnover * 0.000_01
    } else if day >= const { date(2015, 8, 1) } {
        turnover * 0.000_02
    } else if exchange == Exchange::Sse {
        let per_share = if day >= const { date(2012, 9, 1) } {
            0.000_6
        } else {
            0.001
        };
        (shares as f64 * per_share).max(1.0)
    } else {
        0.0
    }
}

impl FeeSchedule {
    /// Fees of one filled order of `shares` at `price` on `day`.
    pub fn fees(
        &self,
        symbol: &Symbol,
        day: NaiveDate,
        side: Side,
        price: f64,
        shares: u64,
    ) -> Fees {
        let turnover = price * shares as f64;
        if shares == 0 {
            return Fees::default();
        }
        if is_fund(symbol) {
            return Fees {
                commission: (turnover * self.fund_commission).max(self.fund_min_commission),
                ..Default::default()
            };
        }
        Fees {
            commission: (turnover * self.stock_commission).max(self.stock_min_commission),
            stamp_duty: if self.stamp_duty {
                turnover * stamp_duty(day, side)
            } else {
                0.0
            },
            transfer_fee: if self.transfer_fee {
                transfer_fee(symbol.exchange(), day, shares, turnover)
            } else {
                0.0
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn small_orders_are_dominated_by_the_minimum_commission() {
        // The spec's example: 100 shares of a ¥10 stock → ¥5 commission + ¥0.01 transfer.
        let f = FeeSchedule::default().fees(
            &Symbol::parse("600000").unwrap(),
            date(2024, 9, 13),
            Side::Buy,
            10.0,
            100,
        );
        assert!(
            close(f.commission, 5.0) && close(f.transfer_fee, 0.01) && f.stamp_duty == 0.0,
            "{f:?}"
        );
    }

    #[test]
    fn stamp_duty_is_on_sells_at_the_rate_of_the_day() {
        let s = Symbol::parse("000001").unwrap();
        let sched = FeeSchedule::default();
        let before = sched.fees(&s, date(2023, 8, 25), Side::Sell, 10.0, 100_000);
        let after = sched.fees(&s, date(2023, 8, 28), Side::Sell, 10.0, 100_000);
        assert!(close(before.stamp_duty, 1_000.0), "{before:?}");
        assert!(close(after.stamp_duty, 500.0), "{after:?}");
        assert!(close(after.commission, 250.0));
        assert!(close(after.transfer_fee, 10.0));
        assert!(close(
            sched
                .fees(&s, date(2007, 6, 1), Side::Buy, 10.0, 100_000)
                .stamp_duty,
            3_000.0
        ));
        assert!(close(
            transfer_fee(Exchange::Szse, date(2018, 1, 2), 100_000, 1_000_000.0),
            20.0
        ));
    }

    #[test]
    fn funds_pay_commission_only() {
        let f = FeeSchedule::default().fees(
            &Symbol::parse("510300").unwrap(),
            date(2024, 9, 13),
            Side::Sell,
            3.5,
            10_000,
        );
        assert_eq!((f.stamp_duty, f.transfer_fee), (0.0, 0.0));
        assert!(close(f.commission, 3.5), "{f:?}");
    }

    #[test]
    fn seed_002_cost_model_is_commission_only() {
        // Seed 002's model: commission 0.03 %, no stamp duty or transfer fee.
        let sched: FeeSchedule = toml::from_str(
            "stock_commission = 0.0003\nstock_min_commission = 0\nstamp_duty = false\ntransfer_fee = false",
        )
        .unwrap();
        let s = Symbol::parse("600000").unwrap();
        let f = sched.fees(&s, date(2024, 9, 13), Side::Sell, 10.0, 100_000);
        assert!(close(f.commission, 300.0), "{f:?}");
        assert_eq!((f.stamp_duty, f.transfer_fee), (0.0, 0.0));
        let law = FeeSchedule::default().fees(&s, date(2024, 9, 13), Side::Sell, 10.0, 100_000);
        assert!(law.stamp_duty > 0.0 && law.transfer_fee > 0.0);
    }
}
