//! Daily price limits (涨跌幅限制), docs/a-share-rules.md §2.

use super::date;
use crate::domain::{Board, Exchange, Symbol};
use chrono::NaiveDate;

/// What a symbol's price may do on one trading day, relative to the reference price.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PriceBand {
    /// No daily limit (IPO window, indices, dates before limits existed).
    Unlimited,
    /// ± this many basis points of the reference (1,000 = 10 %).
    Symmetric { bps: u32 },
    /// Main-board approval-regime listing day: +44 % / −36 % of the issue price.
    Asymmetric { up_bps: u32, down_bps: u32 },
}

/// Facts about the instrument on the day that the code alone does not tell.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ListingStatus {
    /// Under risk warning (ST / *ST) that day.
    pub st: bool,
    /// 1-based trading day since listing, when known (1 = listing day).
    pub day_of_listing: Option<u32>,
    /// A fund holding only 20 %-band stocks (STAR/ChiNext ETFs). 588/589 codes and
    /// 159915 are recognised without it.
    pub twenty_pct_fund: bool,
}

fn pct(p: u32) -> PriceBand {
    PriceBand::Symmetric { bps: p * 100 }
}

/// The band in force for `symbol` on `day` (no look-ahead: it depends only on the day's
/// status, never on the day's prices).
pub fn price_band(symbol: &Symbol, day: NaiveDate, status: ListingStatus) -> PriceBand {
    let listing = status.day_of_listing;
    let first_five = listing.is_some_and(|d| (1..=5).contains(&d));
    match symbol.board() {
        Board::Index | Board::ConvertibleBond | Board::Other => PriceBand::Unlimited,
        Board::Star => {
            if day < const { date(2019, 7, 22) } || first_five {
                PriceBand::Unlimited
            } else {
                pct(20)
            }
        }
        Board::ChiNext => {
            if day >= const { date(2020, 8, 24) } {
                if first_five {
                    PriceBand::Unlimited
                } else {
                    pct(20)
                }
            } else if day >= const { date(2009, 10, 30) } {
                if listing == Some(1) {
                    PriceBand::Unlimited
                } else {
                    pct(10)
                }
            } else {
                PriceBand::Unlimited
            }
        }
        Board::Bse => {
            if day < const { date(2021, 11, 15) } || listing == Some(1) {
                PriceBand::Unlimited
            } else {
                pct(30)
            }
        }
        Board::Main | Board::BShare => {
            if day < const { date(1996, 12, 16) } {
                return PriceBand::Unlimited;
            }
            if day >= const { date(2023, 4, 10) } && first_five && symbol.board() == Board::Main {
                return PriceBand::Unlimited;
            }
            let approval_start = match symbol.exchange() {
                Exchange::Sse => const { date(2013, 12, 13) },
                _ => const { date(2014, 6, 13) },
            };
            if listing == Some(1) {
                return if day >= approval_start && day < const { date(2023, 4, 10) } {
                    PriceBand::Asymmetric {
                        up_bps: 4_400,
                        down_bps: 3_600,
                    }
                } else {
                    PriceBand::Unlimited
                };
            }
            let st_is_5pct = day >= const { date(1998, 4, 22) } && day < const { date(2026, 7, 6) };
            if status.st && st_is_5pct {
                pct(5)
            } else {
                pct(10)
            }
        }
        Board::Etf | Board::Lof => {
            let twenty_from = match symbol.exchange() {
                Exchange::Sse => date(2020, 8, 21),
                _ => date(2020, 8, 24),
            };
            let code = symbol.code();
            let twenty = status.twenty_pct_fund
                || code.starts_with("588")
                || code.starts_with("589")
                || code == "159915";
            if twenty && day >= twenty_from {
                pct(20)
            } else {
                pct(10)
            }
        }
        Board::Reit => {
            if listing == Some(1) {
                pct(30)
            } else {
                pct(10)
            }
        }
    }
}

/// Price tick in CNY: 0.001 for funds, 0.01 for stocks (SSE B shares quote US$0.001).
pub fn tick_size(symbol: &Symbol) -> f64 {
    match symbol.board() {
        Board::Etf | Board::Lof | Board::Reit => 0.001,
        Board::BShare if symbol.exchange() == Exchange::Sse => 0.001,
        _ => 0.01,
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LimitPrices {
    pub up: f64,
    pub down: f64,
}

/// Limit-up and limit-down prices for a reference price (previous close, or the exchange's
/// ex-rights reference; the issue price on an asymmetric listing day).
///
/// Arithmetic is in integer ticks with half-up rounding, as the exchanges compute it
/// (`4.26 × 1.1` gives 4.69, which binary floats get wrong). The one-tick floor (a limit at
/// least one tick away from the reference) applies on SZSE since 2011-02-28 and on SSE since
/// 2023-04-10. `None` for an unlimited band or a non-positive reference.
pub fn limit_prices(
    symbol: &Symbol,
    day: NaiveDate,
    reference: f64,
    band: PriceBand,
) -> Option<LimitPrices> {
    let (up_bps, down_bps) = match band {
        PriceBand::Unlimited => return None,
        PriceBand::Symmetric { bps } => (bps, bps),
        PriceBand::Asymmetric { up_bps, down_bps } => (up_bps, down_bps),
    };
    let tick = tick_size(symbol);
    let r = (reference / tick).round() as i64;
    if r <= 0 {
        return None;
    }
    // round_half_up(r × (10000 ± bps) / 10000) for positive values.
    let scaled = |factor: i64| (r * factor * 2 + 10_000) / 20_000;
    let mut up = scaled(10_000 + i64::from(up_bps));
    let mut down = scaled(10_000 - i64::from(down_bps));
    let floor_from = match symbol.exchange() {
        Exchange::Sse => date(2023, 4, 10),
        _ => date(2011, 2, 28),
    };
    if day >= floor_from {
        up = up.max(r + 1);
        down = down.min(r - 1);
    }
    let to_price = |t: i64| (t as f64 * tick * 1e4).round() / 1e4;
    Some(LimitPrices {
        up: to_price(up),
        down: to_price(down.max(0)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sym(s: &str) -> Symbol {
        Symbol::parse(s).unwrap()
    }

    fn limits(s: &str, day: NaiveDate, reference: f64, status: ListingStatus) -> (f64, f64) {
        let symbol = sym(s);
        let band = price_band(&symbol, day, status);
        let l = limit_prices(&symbol, day, reference, band).expect("limited");
        (l.up, l.down)
    }

    #[test]
    fn the_specs_worked_examples() {
        let d = date(2024, 9, 13);
        let normal = ListingStatus::default();
        let st = ListingStatus {
            st: true,
            ..Default::default()
        };
        assert_eq!(limits("600000", d, 10.00, normal), (11.00, 9.00));
        assert_eq!(limits("600000", d, 4.26, normal), (4.69, 3.83));
        assert_eq!(limits("600000", date(2026, 7, 3), 3.33, st), (3.50, 3.16));
        assert_eq!(limits("600000", date(2026, 7, 6), 3.33, st), (3.66, 3.00));
        assert_eq!(limits("688055", d, 45.67, normal), (54.80, 36.54));
        assert_eq!(limits("300006", d, 45.67, normal), (54.80, 36.54));
        assert_eq!(limits("920819", d, 12.34, normal), (16.04, 8.64));
        assert_eq!(limits("510300", d, 3.259, normal), (3.585, 2.933));
        assert_eq!(limits("000001", d, 0.04, normal), (0.05, 0.03));
    }

    #[test]
    fn one_tick_floor_is_dated_per_exchange() {
        let normal = ListingStatus::default();
        // SSE before 2023-04-10: a ¥0.04 stock's limits equal the reference.
        assert_eq!(
            limits("600000", date(2020, 1, 2), 0.04, normal),
            (0.04, 0.04)
        );
        assert_eq!(
            limits("600000", date(2023, 4, 10), 0.04, normal),
            (0.05, 0.03)
        );
        assert_eq!(
            limits("000001", date(2011, 2, 28), 0.04, normal),
            (0.05, 0.03)
        );
    }

    #[test]
    fn bands_change_on_their_dates() {
        let normal = ListingStatus::default();
        assert_eq!(
            price_band(&sym("300006"), date(2020, 8, 21), normal),
            pct(10)
        );
        assert_eq!(
            price_band(&sym("300006"), date(2020, 8, 24), normal),
            pct(20)
        );
        assert_eq!(
            price_band(&sym("688055"), date(2019, 7, 19), normal),
            PriceBand::Unlimited
        );
        assert_eq!(
            price_band(&sym("600000"), date(1996, 12, 13), normal),
            PriceBand::Unlimited
        );
        assert_eq!(
            price_band(&sym("000300.SH"), date(2024, 1, 2), normal),
            PriceBand::Unlimited
        );
        // ChiNext ST shares the 20 % band since 2020-08-24.
        let st = ListingStatus {
            st: true,
            ..Default::default()
        };
        assert_eq!(price_band(&sym("300006"), date(2024, 1, 2), st), pct(20));
        assert_eq!(
            price_band(&sym("588000"), date(2024, 1, 2), normal),
            pct(20)
        );
        assert_eq!(
            price_band(&sym("510300"), date(2024, 1, 2), normal),
            pct(10)
        );
    }

    #[test]
    fn new_listings() {
        let day = |n| ListingStatus {
            day_of_listing: Some(n),
            ..Default::default()
        };
        let d = date(2024, 9, 13);
        for s in ["688055", "300006", "600000"] {
            assert_eq!(price_band(&sym(s), d, day(5)), PriceBand::Unlimited, "{s}");
        }
        assert_eq!(price_band(&sym("688055"), d, day(6)), pct(20));
        assert_eq!(price_band(&sym("600000"), d, day(6)), pct(10));
        assert_eq!(price_band(&sym("920819"), d, day(1)), PriceBand::Unlimited);
        assert_eq!(price_band(&sym("920819"), d, day(2)), pct(30));
        // Approval regime: +44 % / −36 % of the issue price on day 1, 10 % from day 2.
        let old = date(2018, 6, 1);
        let band = price_band(&sym("603999"), old, day(1));
        assert_eq!(
            band,
            PriceBand::Asymmetric {
                up_bps: 4_400,
                down_bps: 3_600
            }
        );
        let l = limit_prices(&sym("603999"), old, 10.0, band).unwrap();
        assert_eq!((l.up, l.down), (14.40, 6.40));
        assert_eq!(price_band(&sym("603999"), old, day(2)), pct(10));
    }
}
