//! Reference data, point in time: what was true of a stock on a day besides its bars. Each
//! record carries the days it held (`from`, and `to` unless it still holds) so a backtest asks
//! "on 2023-12-01" and gets that day's answer, never today's.
//!
//! - [`IndustryRecord`]: the industry a source classifies a stock in, mapped to seed 003's 11
//!   sectors by the table in [`sectors`].
//! - [`SharesRecord`]: total and float shares on a day (market cap and float cap follow from a
//!   close), with PE and PB where the source has them.
//! - [`MemberRecord`]: a stock's stay in an index ([`membership`] builds them from the dated
//!   constituent lists sources publish).
//! - [`StatusRecord`]: listing, ST / *ST periods and suspensions.
//!
//! [`ReferenceData::check`] refuses what cannot be true, naming the record: an industry the
//! sector table does not know, ranges that overlap, negative shares, a member list dated before
//! its index existed.

pub mod membership;
pub mod sectors;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

pub use sectors::Sector;

/// What `kxian-trainer download --reference` writes (`reference.json`) and the store imports.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReferenceData {
    /// Which source gave it (`tushare`, `eastmoney`, …), kept beside every record in the store.
    pub source: String,
    pub industries: Vec<IndustryRecord>,
    pub shares: Vec<SharesRecord>,
    pub members: Vec<MemberRecord>,
    pub status: Vec<StatusRecord>,
    /// Northbound (Stock Connect) holdings per stock and day.
    pub northbound: Vec<NorthboundRecord>,
    /// Dated lists of an index's members (CSIndex publishes today's): stored by carrying the
    /// stored stays forward to each list's day, not by replacing them.
    pub member_lists: Vec<MemberList>,
}

/// An index's members on one day, as a source published them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemberList {
    pub index: String,
    pub date: NaiveDate,
    pub symbols: Vec<String>,
}

impl MemberList {
    fn name(&self, i: usize) -> String {
        format!("member_lists[{i}] {} {}", self.index, self.date)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IndustryRecord {
    pub symbol: String,
    /// The source's industry, a name (`银行`) or a Shenwan code (`801780`).
    pub industry: String,
    pub from: NaiveDate,
    #[serde(default)]
    pub to: Option<NaiveDate>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SharesRecord {
    pub symbol: String,
    pub date: NaiveDate,
    /// Shares, not the 万股 some sources count in.
    pub total_shares: f64,
    pub float_shares: f64,
    #[serde(default)]
    pub pe: Option<f64>,
    #[serde(default)]
    pub pb: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemberRecord {
    /// The index, canonical (`000905.SH`).
    pub index: String,
    pub symbol: String,
    pub from: NaiveDate,
    #[serde(default)]
    pub to: Option<NaiveDate>,
    /// Its weight in the list it joined with, in percent, where the source gives one.
    #[serde(default)]
    pub weight: Option<f64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StatusKind {
    /// Listed: from the listing day to the delisting day (open while it trades).
    Listed,
    /// ST or *ST: the 5 % price limit on the main board, and no buying in most strategies.
    St,
    /// Suspended: no trading on these days.
    Suspended,
}

impl StatusKind {
    pub fn as_str(self) -> &'static str {
        match self {
            StatusKind::Listed => "listed",
            StatusKind::St => "st",
            StatusKind::Suspended => "suspended",
        }
    }

    pub fn parse(s: &str) -> Option<StatusKind> {
        [StatusKind::Listed, StatusKind::St, StatusKind::Suspended]
            .into_iter()
            .find(|k| k.as_str() == s)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusRecord {
    pub symbol: String,
    pub kind: StatusKind,
    pub from: NaiveDate,
    #[serde(default)]
    pub to: Option<NaiveDate>,
    /// What the source said (`*ST`, `停牌`, a reason), for the reader.
    #[serde(default)]
    pub note: Option<String>,
}

/// What investors in Hong Kong held of a stock through Stock Connect (北向持股) at a day's
/// close, as HKEX discloses it the next morning.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NorthboundRecord {
    pub symbol: String,
    pub date: NaiveDate,
    /// Shares held.
    pub shares: f64,
    /// Of the stock's issued A shares, in percent, where the source gives it.
    #[serde(default)]
    pub ratio: Option<f64>,
}

impl NorthboundRecord {
    fn name(&self, i: usize) -> String {
        format!("northbound[{i}] {} {}", self.symbol, self.date)
    }
}

/// A record that cannot be true, named: `members[3] 000905.SH 600001.SH 2023-01-03..: …`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{record}: {problem}")]
pub struct RefError {
    pub record: String,
    pub problem: String,
}

fn span(from: NaiveDate, to: Option<NaiveDate>) -> String {
    match to {
        Some(t) => format!("{from}..{t}"),
        None => format!("{from}.."),
    }
}

impl IndustryRecord {
    fn name(&self, i: usize) -> String {
        format!(
            "industries[{i}] {} {} {}",
            self.symbol,
            self.industry,
            span(self.from, self.to)
        )
    }
}

impl MemberRecord {
    fn name(&self, i: usize) -> String {
        format!(
            "members[{i}] {} {} {}",
            self.index,
            self.symbol,
            span(self.from, self.to)
        )
    }

    /// Whether the stock was in the index on `day`.
    pub fn holds_on(&self, day: NaiveDate) -> bool {
        self.from <= day && self.to.is_none_or(|t| day <= t)
    }
}

impl StatusRecord {
    fn name(&self, i: usize) -> String {
        format!(
            "status[{i}] {} {} {}",
            self.symbol,
            self.kind.as_str(),
            span(self.from, self.to)
        )
    }

    pub fn holds_on(&self, day: NaiveDate) -> bool {
        self.from <= day && self.to.is_none_or(|t| day <= t)
    }
}

/// The first day an index has constituents: its base day. A member list dated earlier cannot be
/// real. Indices not listed here are not checked.
pub fn index_base_day(index: &str) -> Option<NaiveDate> {
    let d = |y, m, d| NaiveDate::from_ymd_opt(y, m, d);
    match index {
        "000016.SH" => d(2003, 12, 31), // SSE 50
        "000300.SH" | "399300.SZ" => d(2004, 12, 31),
        "000905.SH" => d(2004, 12, 31), // CSI 500
        "000852.SH" => d(2004, 12, 31), // CSI 1000
        "000688.SH" => d(2019, 12, 31), // STAR 50
        "399006.SZ" => d(2010, 5, 31),  // ChiNext
        _ => None,
    }
}

impl ReferenceData {
    /// Everything that cannot be true, as the first error found, naming the record.
    pub fn check(&self) -> Result<(), RefError> {
        let bad = |record: String, problem: String| Err(RefError { record, problem });
        for (i, r) in self.industries.iter().enumerate() {
            if sectors::sector_of(&r.industry).is_none() {
                return bad(
                    r.name(i),
                    format!(
                        "unknown industry code `{}`: add it to the sector table (shared/src/reference/sectors.csv)",
                        r.industry
                    ),
                );
            }
            if let Err(p) = ordered(r.from, r.to) {
                return bad(r.name(i), p);
            }
        }
        no_overlap(
            self.industries
                .iter()
                .map(|r| (r.symbol.as_str(), r.from, r.to)),
            |i| self.industries[i].name(i),
        )?;

        for (i, r) in self.shares.iter().enumerate() {
            let name = || format!("shares[{i}] {} {}", r.symbol, r.date);
            for (what, v) in [
                ("total_shares", r.total_shares),
                ("float_shares", r.float_shares),
            ] {
                if !v.is_finite() || v < 0.0 {
                    return bad(name(), format!("{what} is {v}; shares cannot be negative"));
                }
            }
            if r.float_shares > r.total_shares * (1.0 + 1e-9) {
                return bad(
                    name(),
                    format!(
                        "float_shares {} exceed total_shares {}",
                        r.float_shares, r.total_shares
                    ),
                );
            }
        }

        for (i, r) in self.members.iter().enumerate() {
            if let Err(p) = ordered(r.from, r.to) {
                return bad(r.name(i), p);
            }
            if let Some(base) = index_base_day(&r.index).filter(|b| r.from < *b) {
                return bad(
                    r.name(i),
                    format!(
                        "{} did not exist on {} (its base day is {base})",
                        r.index, r.from
                    ),
                );
            }
        }
        no_overlap(
            self.members
                .iter()
                .map(|r| ((r.index.as_str(), r.symbol.as_str()), r.from, r.to)),
            |i| self.members[i].name(i),
        )?;

        for (i, l) in self.member_lists.iter().enumerate() {
            if l.symbols.is_empty() {
                return bad(l.name(i), "lists no member".into());
            }
            if let Some(base) = index_base_day(&l.index).filter(|b| l.date < *b) {
                return bad(
                    l.name(i),
                    format!(
                        "{} did not exist on {} (its base day is {base})",
                        l.index, l.date
                    ),
                );
            }
            if self.members.iter().any(|m| m.index == l.index) {
                return bad(
                    l.name(i),
                    format!(
                        "the file also holds a whole history of {}; give one or the other",
                        l.index
                    ),
                );
            }
            let mut seen = BTreeSet::new();
            if let Some(dup) = l.symbols.iter().find(|s| !seen.insert(s.as_str())) {
                return bad(l.name(i), format!("lists {dup} twice"));
            }
        }

        for (i, r) in self.northbound.iter().enumerate() {
            if !r.shares.is_finite() || r.shares < 0.0 {
                return bad(
                    r.name(i),
                    format!("shares is {}; holdings cannot be negative", r.shares),
                );
            }
            if let Some(x) = r.ratio.filter(|x| !(0.0..=100.0).contains(x)) {
                return bad(r.name(i), format!("ratio is {x}; a percentage is 0 to 100"));
            }
        }
        let mut seen: Vec<(&str, NaiveDate, usize)> = self
            .northbound
            .iter()
            .enumerate()
            .map(|(i, r)| (r.symbol.as_str(), r.date, i))
            .collect();
        seen.sort_unstable();
        if let Some(w) = seen
            .windows(2)
            .find(|w| (w[0].0, w[0].1) == (w[1].0, w[1].1))
        {
            return bad(
                self.northbound[w[1].2].name(w[1].2),
                format!(
                    "a second holding for the same day (the first is northbound[{}])",
                    w[0].2
                ),
            );
        }

        for (i, r) in self.status.iter().enumerate() {
            if let Err(p) = ordered(r.from, r.to) {
                return bad(r.name(i), p);
            }
        }
        no_overlap(
            self.status
                .iter()
                .map(|r| ((r.symbol.as_str(), r.kind), r.from, r.to)),
            |i| self.status[i].name(i),
        )
    }
}

fn ordered(from: NaiveDate, to: Option<NaiveDate>) -> Result<(), String> {
    match to {
        Some(t) if t < from => Err(format!("ends ({t}) before it starts ({from})")),
        _ => Ok(()),
    }
}

/// Ranges of one key that overlap, both named by `name` (of the record's position): names are
/// made only for the error, not for the thousands of records that pass.
fn no_overlap<K: Ord>(
    ranges: impl Iterator<Item = (K, NaiveDate, Option<NaiveDate>)>,
    name: impl Fn(usize) -> String,
) -> Result<(), RefError> {
    let mut ranges: Vec<(K, NaiveDate, Option<NaiveDate>, usize)> = ranges
        .enumerate()
        .map(|(i, (k, from, to))| (k, from, to, i))
        .collect();
    ranges.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
    for w in ranges.windows(2) {
        let (a, b) = (&w[0], &w[1]);
        if a.0 == b.0 && a.2.is_none_or(|end| b.1 <= end) {
            return Err(RefError {
                record: name(b.3),
                problem: format!("overlaps {}", name(a.3)),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
