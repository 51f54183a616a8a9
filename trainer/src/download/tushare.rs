//! Tushare Pro's HTTP API: `daily`, `fund_daily` and
//! `index_daily` bars (volume in lots, amount in thousand CNY), and `adj_factor` for qfq/hfq.
//! The token travels in the request body only; errors never carry it.

use std::time::Duration;

use chrono::NaiveDate;
use kxian_shared::{Adjustment, Bar, InstrumentKind, Symbol};

use super::eastmoney::Kline;
use super::http::{Client, FetchError};
use super::source::{BarSource, Fetched};
use super::{DownloadArgs, DownloadError};

/// What a Tushare answer says.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    Rows {
        fields: Vec<String>,
        items: Vec<Vec<serde_json::Value>>,
        has_more: bool,
    },
    /// 40101: the token is wrong; every later call would fail too.
    BadToken,
    /// 40203 "最多访问": a rate or daily quota.
    RateLimited(String),
    /// 40203 or 2002 without the rate wording: the account's points do not cover this API.
    NoPermission(String),
    Error {
        code: i64,
        msg: String,
    },
}

pub fn api_for(symbol: &Symbol) -> &'static str {
    match symbol.kind() {
        InstrumentKind::Index => "index_daily",
        InstrumentKind::Fund => "fund_daily",
        _ => "daily",
    }
}

pub fn body(
    api: &str,
    token: &str,
    symbol: &Symbol,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
) -> serde_json::Value {
    let day = |d: Option<NaiveDate>| d.map_or(String::new(), |d| d.format("%Y%m%d").to_string());
    serde_json::json!({
        "api_name": api,
        "token": token,
        "params": {"ts_code": symbol.ts_code(), "start_date": day(from), "end_date": day(to)},
        "fields": ""
    })
}

pub fn parse(text: &str) -> Result<Answer, String> {
    let v: serde_json::Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    let code = v["code"].as_i64().ok_or("no `code` in the answer")?;
    let msg = v["msg"].as_str().unwrap_or_default().to_string();
    Ok(match code {
        0 => {
            let data = &v["data"];
            let fields = data["fields"]
                .as_array()
                .ok_or("no `data.fields`")?
                .iter()
                .map(|f| f.as_str().unwrap_or_default().to_string())
                .collect();
            let items = data["items"]
                .as_array()
                .ok_or("no `data.items`")?
                .iter()
                .map(|r| r.as_array().cloned().unwrap_or_default())
                .collect();
            Answer::Rows {
                fields,
                items,
                has_more: data["has_more"].as_bool().unwrap_or(false),
            }
        }
        40101 => Answer::BadToken,
        40203 if msg.contains("最多访问") => Answer::RateLimited(msg),
        40203 | 2002 => Answer::NoPermission(msg),
        _ => Answer::Error { code, msg },
    })
}

pub(crate) fn column(fields: &[String], name: &str) -> Result<usize, String> {
    fields
        .iter()
        .position(|f| f == name)
        .ok_or_else(|| format!("the answer has no `{name}` column"))
}

/// Bars from `daily`/`fund_daily`/`index_daily` rows, ascending, in canonical units.
pub fn bars(fields: &[String], items: &[Vec<serde_json::Value>]) -> Result<Vec<Bar>, String> {
    let c = |n| column(fields, n);
    let (d, o, h, l, cl, v, a) = (
        c("trade_date")?,
        c("open")?,
        c("high")?,
        c("low")?,
        c("close")?,
        c("vol")?,
        c("amount")?,
    );
    let mut out = Vec::with_capacity(items.len());
    for row in items {
        let num = |i: usize| row.get(i).and_then(|x| x.as_f64());
        let Some(day) = row.get(d).and_then(|x| x.as_str()) else {
            continue;
        };
        let day =
            NaiveDate::parse_from_str(day, "%Y%m%d").map_err(|_| format!("trade_date `{day}`"))?;
        let (Some(open), Some(high), Some(low), Some(close)) = (num(o), num(h), num(l), num(cl))
        else {
            continue;
        };
        out.push(Bar {
            ts: day.and_hms_opt(0, 0, 0).expect("midnight"),
            open,
            high,
            low,
            close,
            volume: num(v).unwrap_or(0.0) * 100.0,
            amount: num(a).map(|x| x * 1000.0),
        });
    }
    out.sort_by_key(|b| b.ts);
    // Pages meet at a day boundary; a row seen twice is kept once.
    out.dedup_by_key(|b| b.ts);
    Ok(out)
}

/// `adj_factor` rows as (day, factor).
pub fn factors(
    fields: &[String],
    items: &[Vec<serde_json::Value>],
) -> Result<Vec<(NaiveDate, f64)>, String> {
    let (d, f) = (column(fields, "trade_date")?, column(fields, "adj_factor")?);
    let mut out: Vec<(NaiveDate, f64)> = items
        .iter()
        .filter_map(|r| {
            let day = NaiveDate::parse_from_str(r.get(d)?.as_str()?, "%Y%m%d").ok()?;
            Some((day, r.get(f)?.as_f64()?))
        })
        .collect();
    out.sort_by_key(|x| x.0);
    out.dedup_by_key(|x| x.0);
    Ok(out)
}

/// qfq (`latest`: prices × f(t) / f(newest)) or hfq (prices × f(t)), as the Tushare SDK's
/// `pro_bar` does; bars without a factor that day are dropped.
pub fn adjust(bars: &[Bar], factors: &[(NaiveDate, f64)], forward: bool) -> Vec<Bar> {
    let Some(&(_, newest)) = factors.last() else {
        return Vec::new();
    };
    bars.iter()
        .filter_map(|b| {
            let i = factors.binary_search_by_key(&b.ts.date(), |x| x.0).ok()?;
            let k = if forward {
                factors[i].1 / newest
            } else {
                factors[i].1
            };
            Some(Bar {
                open: b.open * k,
                high: b.high * k,
                low: b.low * k,
                close: b.close * k,
                ..*b
            })
        })
        .collect()
}

/// Tushare Pro as a download source (daily bars; qfq/hfq from the adjustment factors).
pub(crate) struct TushareSource<'a> {
    pub(crate) args: &'a DownloadArgs,
    pub(crate) client: Client,
}

impl TushareSource<'_> {
    /// One Tushare call, waiting out the per-minute quota a few times.
    fn call(
        &mut self,
        body: &serde_json::Value,
    ) -> Result<Result<Answer, FetchError>, DownloadError> {
        let url = self.args.tushare_url.clone();
        for _ in 0..4 {
            let fetched = match self.client.post_json(&url, &body.to_string()) {
                Ok(f) => f,
                Err(e) => return Ok(Err(e)),
            };
            match parse(&fetched.body) {
                Ok(Answer::BadToken) => {
                    return Err(DownloadError::Args(
                        "Tushare refused the token (40101): check --tushare-token / KXIAN_TUSHARE_TOKEN".into(),
                    ));
                }
                Ok(Answer::RateLimited(msg)) => {
                    tracing::warn!("Tushare quota: {msg}; waiting");
                    std::thread::sleep(Duration::from_millis(self.args.tushare_quota_wait_ms));
                }
                Ok(a) => return Ok(Ok(a)),
                Err(e) => {
                    return Ok(Err(FetchError::Transport {
                        url,
                        message: format!("malformed answer: {e}"),
                        attempts: fetched.attempts,
                    }));
                }
            }
        }
        Ok(Err(FetchError::Status {
            url,
            status: 429,
            attempts: 4,
        }))
    }

    /// Every row of `api` for `symbol` from `beg` to `--to` (see [`Self::pages`]).
    fn all_rows(
        &mut self,
        api: &str,
        symbol: &Symbol,
        beg: Option<NaiveDate>,
    ) -> Result<Result<Rows, FetchError>, DownloadError> {
        let token = self.token();
        let ask = |end: Option<NaiveDate>| body(api, &token, symbol, beg, end);
        self.pages(api, ask, "trade_date", beg, false)
    }

    pub(crate) fn token(&self) -> String {
        self.args
            .tushare_token
            .as_ref()
            .map_or(String::new(), |t| t.expose().to_string())
    }

    /// Every row `ask(end)` answers, from `beg` to `--to`. An answer holds at most the API's row
    /// cap (6,000 for `daily`), newest first, and says `has_more` when it was cut: the next call
    /// asks for the days before the oldest `date_field` it got, until an answer is whole. Where
    /// one day has many rows (`shared_days`: a constituent list, a whole market's day), the cut
    /// may fall inside a day, so the oldest day is dropped and asked for again.
    pub(crate) fn pages(
        &mut self,
        api: &str,
        ask: impl Fn(Option<NaiveDate>) -> serde_json::Value,
        date_field: &str,
        beg: Option<NaiveDate>,
        shared_days: bool,
    ) -> Result<Result<Rows, FetchError>, DownloadError> {
        let a = self.args;
        let as_error = |msg: String| answer_error(a, msg);
        let mut end = a.to;
        let mut fields: Vec<String> = Vec::new();
        let mut all: Vec<Vec<serde_json::Value>> = Vec::new();
        for _ in 0..MAX_PAGES {
            let answer = match self.call(&ask(end))? {
                Ok(x) => x,
                Err(e) => return Ok(Err(e)),
            };
            let (f, mut items, has_more) = match answer {
                Answer::Rows {
                    fields,
                    items,
                    has_more,
                } => (fields, items, has_more),
                Answer::NoPermission(m) => {
                    return Ok(Err(as_error(format!("no permission for {api}: {m}"))));
                }
                Answer::Error { code, msg } => {
                    return Ok(Err(as_error(format!("{api}: {code} {msg}"))));
                }
                _ => return Ok(Err(as_error(format!("{api}: unexpected answer")))),
            };
            if items.is_empty() && !has_more {
                if all.is_empty() {
                    fields = f;
                }
                return Ok(Ok((fields, all)));
            }
            if !all.is_empty() && f != fields {
                return Ok(Err(as_error(format!(
                    "{api}: the columns changed between pages ({fields:?}, then {f:?})"
                ))));
            }
            let oldest = match oldest_day(&f, &items, date_field) {
                Ok(d) => d,
                Err(e) => return Ok(Err(as_error(format!("{api}: {e}")))),
            };
            let cut = oldest.filter(|_| has_more);
            let next = match cut {
                Some(oldest) if shared_days => {
                    let at = column(&f, date_field).expect("checked by oldest_day");
                    let day = oldest.format("%Y%m%d").to_string();
                    items.retain(|r| r.get(at).and_then(|x| x.as_str()) != Some(day.as_str()));
                    if items.is_empty() {
                        return Ok(Err(as_error(format!(
                            "{api}: one day ({oldest}) has more rows than an answer holds"
                        ))));
                    }
                    Some(oldest)
                }
                Some(oldest) => oldest.pred_opt(),
                None => None,
            };
            fields = f;
            all.extend(items);
            // The row cap cut this answer: ask again for what lies before what was kept.
            match next {
                Some(before) if beg.is_none_or(|b| before >= b) => end = Some(before),
                _ => return Ok(Ok((fields, all))),
            }
        }
        Ok(Err(as_error(format!(
            "{api}: still cut after {MAX_PAGES} pages; narrow --from/--to"
        ))))
    }
}

/// An answer Tushare gave but that holds no usable rows, as the symbol's outcome.
fn answer_error(args: &DownloadArgs, message: String) -> FetchError {
    FetchError::Transport {
        url: args.tushare_url.clone(),
        message,
        attempts: 1,
    }
}

/// An answer's column names and rows.
pub(crate) type Rows = (Vec<String>, Vec<Vec<serde_json::Value>>);

/// More pages than any real history needs (6,000 daily rows a page is 24 years).
const MAX_PAGES: usize = 200;

/// The oldest `date_field` among the rows (`None` for no rows).
fn oldest_day(
    fields: &[String],
    items: &[Vec<serde_json::Value>],
    date_field: &str,
) -> Result<Option<NaiveDate>, String> {
    let d = column(fields, date_field)?;
    let mut oldest: Option<NaiveDate> = None;
    for row in items {
        let Some(day) = row.get(d).and_then(|x| x.as_str()) else {
            continue;
        };
        let day = NaiveDate::parse_from_str(day, "%Y%m%d")
            .map_err(|_| format!("{date_field} `{day}`"))?;
        oldest = Some(oldest.map_or(day, |o| o.min(day)));
    }
    Ok(oldest)
}

impl BarSource for TushareSource<'_> {
    fn fetch(&mut self, symbol: &Symbol, beg: Option<NaiveDate>) -> Result<Fetched, DownloadError> {
        let a = self.args;
        let api = api_for(symbol);
        let as_error = |msg: String| answer_error(a, msg);
        let (fields, items) = match self.all_rows(api, symbol, beg)? {
            Ok(x) => x,
            Err(e) => return Ok(Err(e)),
        };
        let mut bars = match bars(&fields, &items) {
            Ok(b) => b,
            Err(e) => return Ok(Err(as_error(e))),
        };
        if a.adjustment != Adjustment::None {
            let fapi = if api == "fund_daily" {
                "fund_adj"
            } else {
                "adj_factor"
            };
            let (ff, fi) = match self.all_rows(fapi, symbol, beg)? {
                Ok(x) => x,
                Err(e) => return Ok(Err(e)),
            };
            let factors = match factors(&ff, &fi) {
                Ok(f) => f,
                Err(e) => return Ok(Err(as_error(e))),
            };
            bars = adjust(&bars, &factors, a.adjustment == Adjustment::Qfq);
        }
        Ok(Ok((
            Kline::Bars { name: None, bars },
            Some(format!("api_name={api}&ts_code={}", symbol.ts_code())),
        )))
    }

    fn ids(&self, symbol: &Symbol) -> Vec<String> {
        vec![symbol.ts_code()]
    }

    fn requests(&self) -> u64 {
        self.client.requests
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn factors_adjust_forward_and_backward() {
        let d = |x: u32| NaiveDate::from_ymd_opt(2024, 6, x).unwrap();
        let bar = |x: u32, c: f64| Bar {
            ts: d(x).and_hms_opt(0, 0, 0).unwrap(),
            open: c,
            high: c,
            low: c,
            close: c,
            volume: 1.0,
            amount: None,
        };
        let bars = [bar(13, 10.8), bar(14, 10.1), bar(17, 10.2)];
        // A dividend on the 14th: the factor steps from 100 to 107.
        let f = [(d(13), 100.0), (d(14), 107.0), (d(17), 107.0)];
        let q = adjust(&bars, &f, true);
        assert!((q[0].close - 10.8 * 100.0 / 107.0).abs() < 1e-12);
        assert_eq!(q[2].close, 10.2, "the newest bar is unchanged in qfq");
        let h = adjust(&bars, &f, false);
        assert_eq!(h[0].close, 1080.0);
        assert_eq!(
            adjust(&bars, &f[1..], true).len(),
            2,
            "a day without a factor is dropped"
        );
        assert_eq!(
            parse(r#"{"code":40203,"msg":"抱歉，您每分钟最多访问该接口500次","data":null}"#)
                .unwrap(),
            Answer::RateLimited("抱歉，您每分钟最多访问该接口500次".into())
        );
        assert!(matches!(
            parse(r#"{"code":40203,"msg":"抱歉，您没有接口访问权限","data":null}"#).unwrap(),
            Answer::NoPermission(_)
        ));
    }
}
