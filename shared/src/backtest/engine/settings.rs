//! How the engine trades: order timing, slippage, which A-share rules apply, fees and
//! dated inputs (listings, suspensions).

use crate::domain::Symbol;
use crate::rules::{FeeSchedule, ListingStatus};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

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
    /// Dated ST periods, listing days and suspensions from stored reference data, for the
    /// names the file's own keys (`st`, `st_periods`, `listed`, `suspended`) do not give: those
    /// override the store.
    pub fn apply_reference_status(&mut self, status: &[crate::reference::StatusRecord]) {
        use crate::reference::StatusKind;
        let (st_given, listed_given, suspended_given): (
            BTreeSet<Symbol>,
            BTreeSet<Symbol>,
            BTreeSet<Symbol>,
        ) = (
            self.st_periods.keys().cloned().collect(),
            self.listed.keys().cloned().collect(),
            self.suspended.keys().cloned().collect(),
        );
        for r in status {
            let Ok(sym) = r.symbol.parse::<Symbol>() else {
                continue;
            };
            let range = DateRange {
                from: r.from,
                to: r.to,
            };
            match r.kind {
                StatusKind::St if !st_given.contains(&sym) && !self.st.contains(&sym) => {
                    self.st_periods.entry(sym).or_default().push(range)
                }
                StatusKind::Suspended if !suspended_given.contains(&sym) => {
                    self.suspended.entry(sym).or_default().push(range)
                }
                StatusKind::Listed if !listed_given.contains(&sym) => {
                    self.listed.insert(sym, r.from);
                }
                _ => {}
            }
        }
    }

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
