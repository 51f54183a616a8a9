//! `kxian-trainer download --reference --source tushare`: reference data, point in time, from
//! Tushare Pro, written as `reference.json` (a [`ReferenceData`]) beside the manifest; the server's
//! job runner, or `kxian import`, stores it.
//!
//! | what | API | how it is asked |
//! | --- | --- | --- |
//! | industry, listing and delisting days | `stock_basic` | once per `list_status` (L, D, P) |
//! | index members over time | `index_weight` | per index over the window, paged |
//! | total / float shares, PE, PB | `daily_basic` | the whole market on each month's last trading day |
//! | ST / *ST periods | `namechange` | over the window, paged |
//! | suspensions | `suspend_d` | suspended days over the window, paged, joined into periods |
//! | northbound holdings | `hk_hold` | the whole market on each month's last trading day |

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Datelike, NaiveDate};
use kxian_shared::calendar::TradingCalendar;
use kxian_shared::reference::membership::{self, Snapshot};
use kxian_shared::reference::{
    IndustryRecord, NorthboundRecord, ReferenceData, SharesRecord, StatusKind, StatusRecord,
};
use serde_json::{Value, json};

use super::tushare::{Rows, TushareSource, column};
use super::{DownloadArgs, DownloadError};
use crate::progress::Progress;
use kxian_shared::jobs::{JobEvent, StageName, StagePlan};

/// The file a reference download writes into `--out`.
pub const REFERENCE_FILE: &str = "reference.json";

/// The indices `--index` defaults to: CSI 300, CSI 500, CSI 1000 and SSE 50.
pub const DEFAULT_INDICES: [&str; 4] = ["000300.SH", "000905.SH", "000852.SH", "000016.SH"];

/// `--from` when none is given: ten years before the last day.
const DEFAULT_YEARS: i32 = 10;

/// Tushare counts shares in 万股 (10,000 shares).
const WAN: f64 = 10_000.0;

fn ymd(d: NaiveDate) -> String {
    d.format("%Y%m%d").to_string()
}

fn parse_day(v: &Value) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(v.as_str()?, "%Y%m%d").ok()
}

/// The run's error: what went wrong, naming the API.
fn bad(error: String) -> DownloadError {
    DownloadError::List {
        what: "reference",
        error,
    }
}

/// A column's index, as the run's error (naming the API).
fn col(api: &str, fields: &[String], name: &str) -> Result<usize, DownloadError> {
    column(fields, name).map_err(|e| bad(format!("{api}: {e}")))
}

/// A text cell, or the record's error naming API, row and column.
fn text<'a>(
    api: &str,
    row: &'a [Value],
    i: usize,
    name: &str,
    n: usize,
) -> Result<&'a str, DownloadError> {
    row.get(i)
        .and_then(Value::as_str)
        .ok_or_else(|| bad(format!("{api}: row {} has no `{name}`", n + 1)))
}

fn day_cell(
    api: &str,
    row: &[Value],
    i: usize,
    name: &str,
    n: usize,
) -> Result<NaiveDate, DownloadError> {
    let t = text(api, row, i, name, n)?;
    NaiveDate::parse_from_str(t, "%Y%m%d").map_err(|_| {
        bad(format!(
            "{api}: row {}: `{name}` is `{t}`, not a day like 20240913",
            n + 1
        ))
    })
}

/// The run's window: `--from`..`--to`, by default the ten years up to today.
fn window(args: &DownloadArgs) -> (NaiveDate, NaiveDate) {
    let to = args.to.unwrap_or_else(|| chrono::Local::now().date_naive());
    let from = args.from.unwrap_or_else(|| {
        to.with_year(to.year() - DEFAULT_YEARS)
            .unwrap_or(to - chrono::Days::new(3653))
    });
    (from, to)
}

/// What the reference download fetched, by kind.
pub fn run(args: &DownloadArgs, indices: &[String]) -> Result<ReferenceData, DownloadError> {
    let (from, to) = window(args);
    let mut source = TushareSource {
        args,
        client: super::client(args, indices.len() as u64),
    };
    let token = source.token();
    // One call (a list, or a whole market's day), or every page over the window with the
    // window's days in the parameters; `date_field` is the rows' day, where pages are cut.
    let mut fetch = |api: &str, params: Value, date_field: &str, windowed: bool| {
        let ask = |end: Option<NaiveDate>| {
            let mut p = params.clone();
            if windowed {
                p["start_date"] = ymd(from).into();
                p["end_date"] = ymd(end.unwrap_or(to)).into();
            }
            json!({"api_name": api, "token": token, "params": p, "fields": ""})
        };
        source
            .pages(api, ask, date_field, windowed.then_some(from), windowed)?
            .map_err(|e| bad(format!("{api}: {e}")))
    };
    let month_ends = month_ends(from, to);
    let steps = 3 + indices.len() + 2 * month_ends.len() + 2;
    let mut progress = started(args, steps, "calls")?;
    let mut done = 0;
    let mut tick = |progress: &mut Progress, call: String, rows: usize| {
        done += 1;
        progress.bar().inc(1);
        progress.emit(&JobEvent::Call {
            stage: StageName::Download,
            index: done,
            total: steps,
            call,
            rows,
        });
    };

    let mut data = ReferenceData {
        source: "tushare".into(),
        ..ReferenceData::default()
    };

    // Industries and listing: one list per status; D and P are the delisted and paused ones a
    // point-in-time universe needs.
    for status in ["L", "D", "P"] {
        let rows = fetch(
            "stock_basic",
            json!({"list_status": status}),
            "list_date",
            false,
        )?;
        listings(&rows, &mut data)?;
        tick(&mut progress, format!("stock_basic {status}"), rows.1.len());
    }

    for index in indices {
        let rows = fetch(
            "index_weight",
            json!({"index_code": index}),
            "trade_date",
            true,
        )?;
        data.members
            .extend(membership::stays(index, &snapshots(&rows)?));
        tick(&mut progress, format!("index_weight {index}"), rows.1.len());
    }

    for day in &month_ends {
        let rows = fetch(
            "daily_basic",
            json!({"trade_date": ymd(*day)}),
            "trade_date",
            false,
        )?;
        shares(&rows, &mut data)?;
        tick(&mut progress, format!("daily_basic {day}"), rows.1.len());
        let rows = fetch(
            "hk_hold",
            json!({"trade_date": ymd(*day)}),
            "trade_date",
            false,
        )?;
        northbound(&rows, &mut data)?;
        tick(&mut progress, format!("hk_hold {day}"), rows.1.len());
    }

    let rows = fetch("namechange", json!({}), "start_date", true)?;
    st_periods(&rows, &mut data)?;
    tick(&mut progress, "namechange".into(), rows.1.len());

    let rows = fetch(
        "suspend_d",
        json!({"suspend_type": "S"}),
        "trade_date",
        true,
    )?;
    suspensions(&rows, TradingCalendar::embedded(), &mut data)?;
    tick(&mut progress, "suspend_d".into(), rows.1.len());
    progress.bar().finish_and_clear();
    data.check().map_err(|e| bad(e.to_string()))?;
    Ok(data)
}

/// A reference download's progress over `total` calls (or lists), its start announced.
pub(super) fn started(
    args: &DownloadArgs,
    total: usize,
    unit: &str,
) -> Result<Progress, DownloadError> {
    let mut progress =
        Progress::new(args.progress, total as u64, unit, None).map_err(|source| {
            DownloadError::Io {
                path: args.out.clone(),
                source,
            }
        })?;
    progress.emit(&JobEvent::Start {
        stage: StageName::Download,
        plan: StagePlan::Symbols { symbols: total },
    });
    Ok(progress)
}

/// The last trading day of each month in the window (the embedded calendar's).
fn month_ends(from: NaiveDate, to: NaiveDate) -> Vec<NaiveDate> {
    let days = TradingCalendar::embedded().trading_days_between(from, to);
    let mut out: Vec<NaiveDate> = Vec::new();
    for d in days {
        match out.last_mut() {
            Some(last) if (last.year(), last.month()) == (d.year(), d.month()) => *last = *d,
            _ => out.push(*d),
        }
    }
    out
}

/// `stock_basic`: each stock's industry (from its listing day: the source gives only today's)
/// and its listed period.
fn listings(rows: &Rows, data: &mut ReferenceData) -> Result<(), DownloadError> {
    let api = "stock_basic";
    let (fields, items) = rows;
    if items.is_empty() {
        return Ok(());
    }
    let code = col(api, fields, "ts_code")?;
    let industry = col(api, fields, "industry")?;
    let listed = col(api, fields, "list_date")?;
    let delisted = column(fields, "delist_date").ok();
    for (n, row) in items.iter().enumerate() {
        let symbol = text(api, row, code, "ts_code", n)?.to_string();
        let from = day_cell(api, row, listed, "list_date", n)?;
        let to = delisted.and_then(|i| row.get(i)).and_then(parse_day);
        if let Some(ind) = row
            .get(industry)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
        {
            data.industries.push(IndustryRecord {
                symbol: symbol.clone(),
                industry: ind.to_string(),
                from,
                to,
            });
        }
        data.status.push(StatusRecord {
            symbol,
            kind: StatusKind::Listed,
            from,
            to,
            note: None,
        });
    }
    Ok(())
}

/// `index_weight` rows as dated lists.
fn snapshots(rows: &Rows) -> Result<Vec<Snapshot>, DownloadError> {
    let api = "index_weight";
    let (fields, items) = rows;
    if items.is_empty() {
        return Ok(Vec::new());
    }
    let con = col(api, fields, "con_code")?;
    let date = col(api, fields, "trade_date")?;
    let weight = column(fields, "weight").ok();
    let mut by_day: BTreeMap<NaiveDate, Vec<(String, Option<f64>)>> = BTreeMap::new();
    for (n, row) in items.iter().enumerate() {
        let day = day_cell(api, row, date, "trade_date", n)?;
        let sym = text(api, row, con, "con_code", n)?.to_string();
        let w = weight.and_then(|i| row.get(i)).and_then(Value::as_f64);
        by_day.entry(day).or_default().push((sym, w));
    }
    Ok(by_day
        .into_iter()
        .map(|(date, members)| Snapshot { date, members })
        .collect())
}

/// `daily_basic` rows: shares in 万股 become shares.
fn shares(rows: &Rows, data: &mut ReferenceData) -> Result<(), DownloadError> {
    let api = "daily_basic";
    let (fields, items) = rows;
    if items.is_empty() {
        return Ok(());
    }
    let code = col(api, fields, "ts_code")?;
    let date = col(api, fields, "trade_date")?;
    let total = col(api, fields, "total_share")?;
    let float = col(api, fields, "float_share")?;
    let pe = column(fields, "pe").ok();
    let pb = column(fields, "pb").ok();
    for (n, row) in items.iter().enumerate() {
        let num = |i: Option<usize>| i.and_then(|i| row.get(i)).and_then(Value::as_f64);
        let (Some(t), Some(f)) = (num(Some(total)), num(Some(float))) else {
            continue; // a row without shares (a stock listed that day) says nothing
        };
        data.shares.push(SharesRecord {
            symbol: text(api, row, code, "ts_code", n)?.to_string(),
            date: day_cell(api, row, date, "trade_date", n)?,
            total_shares: t * WAN,
            float_shares: f * WAN,
            pe: num(pe),
            pb: num(pb),
        });
    }
    Ok(())
}

/// `hk_hold` rows of Shanghai and Shenzhen Connect (`exchange` SH or SZ; HK rows are the
/// southbound side): shares held and their share of the issued A shares.
fn northbound(rows: &Rows, data: &mut ReferenceData) -> Result<(), DownloadError> {
    let api = "hk_hold";
    let (fields, items) = rows;
    if items.is_empty() {
        return Ok(());
    }
    let code = col(api, fields, "ts_code")?;
    let date = col(api, fields, "trade_date")?;
    let vol = col(api, fields, "vol")?;
    let ratio = column(fields, "ratio").ok();
    let exchange = column(fields, "exchange").ok();
    for (n, row) in items.iter().enumerate() {
        let side = exchange.and_then(|i| row.get(i)).and_then(Value::as_str);
        if side.is_some_and(|x| x != "SH" && x != "SZ") {
            continue;
        }
        let Some(shares) = row.get(vol).and_then(Value::as_f64) else {
            continue;
        };
        data.northbound.push(NorthboundRecord {
            symbol: text(api, row, code, "ts_code", n)?.to_string(),
            date: day_cell(api, row, date, "trade_date", n)?,
            shares,
            ratio: ratio.and_then(|i| row.get(i)).and_then(Value::as_f64),
        });
    }
    Ok(())
}

/// `namechange`: a name with ST in it (`ST`, `*ST`) is an ST period from its start to its end.
fn st_periods(rows: &Rows, data: &mut ReferenceData) -> Result<(), DownloadError> {
    let api = "namechange";
    let (fields, items) = rows;
    if items.is_empty() {
        return Ok(());
    }
    let code = col(api, fields, "ts_code")?;
    let name = col(api, fields, "name")?;
    let start = col(api, fields, "start_date")?;
    let end = col(api, fields, "end_date")?;
    let mut seen = BTreeSet::new();
    let mut periods: BTreeMap<String, Vec<(NaiveDate, Option<NaiveDate>, String)>> =
        BTreeMap::new();
    for (n, row) in items.iter().enumerate() {
        let short = text(api, row, name, "name", n)?;
        if !short.to_ascii_uppercase().contains("ST") {
            continue;
        }
        let symbol = text(api, row, code, "ts_code", n)?.to_string();
        let from = day_cell(api, row, start, "start_date", n)?;
        if !seen.insert((symbol.clone(), from)) {
            continue; // pages overlap by a day
        }
        let to = row.get(end).and_then(parse_day);
        periods
            .entry(symbol)
            .or_default()
            .push((from, to, short.to_string()));
    }
    // ST followed by *ST (or back) is one period of ST.
    for (symbol, mut list) in periods {
        list.sort();
        let mut merged: Vec<(NaiveDate, Option<NaiveDate>, String)> = Vec::new();
        for (from, to, note) in list {
            match merged.last_mut() {
                Some(last) if last.1.is_none_or(|t| from <= t + chrono::Days::new(1)) => {
                    last.1 = match (last.1, to) {
                        (None, _) | (_, None) => None,
                        (Some(a), Some(b)) => Some(a.max(b)),
                    };
                    last.2 = format!("{} → {note}", last.2);
                }
                _ => merged.push((from, to, note)),
            }
        }
        for (from, to, note) in merged {
            data.status.push(StatusRecord {
                symbol: symbol.clone(),
                kind: StatusKind::St,
                from,
                to,
                note: Some(note),
            });
        }
    }
    Ok(())
}

/// `suspend_d` (one row per suspended day): consecutive trading days become one period.
fn suspensions(
    rows: &Rows,
    calendar: &TradingCalendar,
    data: &mut ReferenceData,
) -> Result<(), DownloadError> {
    let api = "suspend_d";
    let (fields, items) = rows;
    if items.is_empty() {
        return Ok(());
    }
    let code = col(api, fields, "ts_code")?;
    let date = col(api, fields, "trade_date")?;
    let kind = column(fields, "suspend_type").ok();
    let mut days: BTreeMap<String, BTreeSet<NaiveDate>> = BTreeMap::new();
    for (n, row) in items.iter().enumerate() {
        if kind
            .and_then(|k| row.get(k))
            .and_then(Value::as_str)
            .is_some_and(|k| k != "S")
        {
            continue; // R: the day it resumed
        }
        days.entry(text(api, row, code, "ts_code", n)?.to_string())
            .or_default()
            .insert(day_cell(api, row, date, "trade_date", n)?);
    }
    for (symbol, set) in days {
        let mut periods: Vec<(NaiveDate, NaiveDate)> = Vec::new();
        for d in set {
            match periods.last_mut() {
                // Only days the market was shut lie between the last suspended day and this one.
                Some(p)
                    if calendar
                        .trading_days_between(p.1 + chrono::Days::new(1), d)
                        .len()
                        <= 1 =>
                {
                    p.1 = d
                }
                _ => periods.push((d, d)),
            }
        }
        for (from, to) in periods {
            data.status.push(StatusRecord {
                symbol: symbol.clone(),
                kind: StatusKind::Suspended,
                from,
                to: Some(to),
                note: None,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(fields: &[&str], items: Vec<Vec<Value>>) -> Rows {
        (fields.iter().map(|s| s.to_string()).collect(), items)
    }

    #[test]
    fn suspended_days_join_across_weekends_but_not_across_a_traded_day() {
        let r = rows(
            &["ts_code", "trade_date", "suspend_type"],
            ["20240906", "20240909", "20240910", "20240912", "20240911"]
                .iter()
                .map(|d| vec![json!("600001.SH"), json!(d), json!("S")])
                .chain([vec![json!("600001.SH"), json!("20240919"), json!("S")]])
                .collect(),
        );
        let mut data = ReferenceData::default();
        suspensions(&r, TradingCalendar::embedded(), &mut data).unwrap();
        let spans: Vec<_> = data
            .status
            .iter()
            .map(|s| (s.from, s.to.unwrap()))
            .collect();
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        // Friday 6th to Thursday 12th is one period (the weekend between); the 19th is another
        // (the 13th and 18th traded).
        assert_eq!(
            spans,
            [
                (d("2024-09-06"), d("2024-09-12")),
                (d("2024-09-19"), d("2024-09-19"))
            ]
        );
    }

    #[test]
    fn st_and_star_st_names_make_one_period_and_other_renames_none() {
        let r = rows(
            &["ts_code", "name", "start_date", "end_date", "change_reason"],
            vec![
                vec![
                    json!("600002.SH"),
                    json!("ST甲"),
                    json!("20200506"),
                    json!("20210505"),
                    json!("ST"),
                ],
                vec![
                    json!("600002.SH"),
                    json!("*ST甲"),
                    json!("20210506"),
                    json!("20220505"),
                    json!("*ST"),
                ],
                vec![
                    json!("600002.SH"),
                    json!("甲股份"),
                    json!("20220506"),
                    Value::Null,
                    json!("撤销ST"),
                ],
                vec![
                    json!("600003.SH"),
                    json!("乙科技"),
                    json!("20190101"),
                    Value::Null,
                    json!("改名"),
                ],
            ],
        );
        let mut data = ReferenceData::default();
        st_periods(&r, &mut data).unwrap();
        assert_eq!(data.status.len(), 1);
        let s = &data.status[0];
        assert_eq!((s.symbol.as_str(), s.kind), ("600002.SH", StatusKind::St));
        assert_eq!(s.from.to_string(), "2020-05-06");
        assert_eq!(s.to.unwrap().to_string(), "2022-05-05");
        assert_eq!(s.note.as_deref(), Some("ST甲 → *ST甲"));
    }

    #[test]
    fn month_ends_are_the_last_trading_day_of_each_month() {
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        assert_eq!(
            month_ends(d("2024-08-15"), d("2024-10-15")),
            // 2024-09-30 was a Monday and traded; October's first week was a holiday.
            [d("2024-08-30"), d("2024-09-30"), d("2024-10-15")]
        );
    }
}
