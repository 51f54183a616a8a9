//! Yahoo Finance's chart API, daily bars only: bar
//! starts in UTC turned into Shanghai dates, float32 prices rounded to the tick, volume in
//! shares and no amount. `adjclose` gives forward-adjusted (qfq-like) prices.

use chrono::{DateTime, NaiveDate};
use kxian_shared::{Adjustment, Bar, InstrumentKind, Symbol};

use super::eastmoney::Kline;
use super::http::{Client, FetchError};
use super::source::{BarSource, Fetched};
use super::{DownloadArgs, DownloadError};

/// `600519.SS`, `000001.SZ`; Yahoo has no Beijing listings.
pub fn ticker(symbol: &Symbol) -> Option<String> {
    let s = symbol.to_string();
    if s.ends_with(".BJ") {
        return None;
    }
    Some(s.replace(".SH", ".SS"))
}

fn tick(symbol: &Symbol) -> f64 {
    if symbol.kind() == InstrumentKind::Fund {
        0.001
    } else {
        0.01
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    Bars(Vec<Bar>),
    /// HTTP 404 / `error.code`: Yahoo does not know the ticker.
    Unknown(String),
}

/// Parses a chart answer; `adjusted` multiplies prices by `adjclose / close`.
pub fn parse(text: &str, symbol: &Symbol, adjusted: bool) -> Result<Answer, String> {
    let v: serde_json::Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    let chart = &v["chart"];
    if !chart["error"].is_null() {
        return Ok(Answer::Unknown(
            chart["error"]["description"]
                .as_str()
                .unwrap_or("not found")
                .to_string(),
        ));
    }
    let Some(r) = chart["result"].as_array().and_then(|a| a.first()) else {
        return Ok(Answer::Bars(Vec::new()));
    };
    let offset = r["meta"]["gmtoffset"].as_i64().unwrap_or(28_800);
    let ts = r["timestamp"].as_array().cloned().unwrap_or_default();
    let q = &r["indicators"]["quote"][0];
    let adj = &r["indicators"]["adjclose"][0]["adjclose"];
    // Divide by the ticks per yuan (an integer) so 837 ticks print as 8.37, not 8.370000000000001.
    let per_yuan = (1.0 / tick(symbol)).round();
    let round = |x: f64| (x * per_yuan).round() / per_yuan;
    let mut out = Vec::new();
    for (i, stamp) in ts.iter().enumerate() {
        let get = |k: &str| q[k][i].as_f64();
        let (Some(s), Some(o), Some(h), Some(l), Some(c)) = (
            stamp.as_i64(),
            get("open"),
            get("high"),
            get("low"),
            get("close"),
        ) else {
            continue;
        };
        let day: NaiveDate = DateTime::from_timestamp(s + offset, 0)
            .ok_or("bad timestamp")?
            .date_naive();
        let k = if adjusted {
            match adj[i].as_f64() {
                Some(a) if c > 0.0 => a / c,
                _ => continue,
            }
        } else {
            1.0
        };
        let (o, h, l, c) = (round(o), round(h), round(l), round(c));
        out.push(Bar {
            ts: day.and_hms_opt(0, 0, 0).expect("midnight"),
            open: o * k,
            high: h * k,
            low: l * k,
            close: c * k,
            volume: get("volume").unwrap_or(0.0),
            amount: None,
        });
    }
    Ok(Answer::Bars(out))
}

/// Yahoo Finance as a download source (daily bars, no amount).
pub(crate) struct YahooSource<'a> {
    pub(crate) args: &'a DownloadArgs,
    pub(crate) client: Client,
}

impl YahooSource<'_> {
    fn chart(
        &mut self,
        symbol: &Symbol,
        beg: Option<NaiveDate>,
    ) -> Result<(Kline, Option<String>), FetchError> {
        let a = self.args;
        let Some(ticker) = ticker(symbol) else {
            return Ok((Kline::Unknown, None));
        };
        let url = format!("{}/v8/finance/chart/{ticker}", a.yahoo_url);
        // Shanghai midnight of the first day, and the day after the last (period2 is exclusive).
        let secs = |d: NaiveDate| {
            d.and_hms_opt(0, 0, 0)
                .expect("midnight")
                .and_utc()
                .timestamp()
                - 28_800
        };
        let from = beg.map_or(0, secs);
        let to =
            a.to.map_or(4_102_444_800, |d| secs(d + chrono::Days::new(1)));
        let q = [
            ("interval", "1d".to_string()),
            ("period1", from.to_string()),
            ("period2", to.to_string()),
            ("events", "div,splits".to_string()),
        ];
        let fetched = self.client.get(&url, &q)?;
        if fetched.status == 404 {
            return Ok((Kline::Unknown, None));
        }
        match parse(&fetched.body, symbol, a.adjustment == Adjustment::Qfq) {
            Ok(Answer::Bars(bars)) => Ok((
                Kline::Bars { name: None, bars },
                Some(format!("chart/{ticker}?interval=1d")),
            )),
            Ok(Answer::Unknown(_)) => Ok((Kline::Unknown, None)),
            Err(e) => Err(FetchError::Transport {
                url,
                message: format!("malformed answer: {e}"),
                attempts: fetched.attempts,
            }),
        }
    }
}

impl BarSource for YahooSource<'_> {
    fn fetch(&mut self, symbol: &Symbol, beg: Option<NaiveDate>) -> Result<Fetched, DownloadError> {
        Ok(self.chart(symbol, beg))
    }

    fn ids(&self, symbol: &Symbol) -> Vec<String> {
        ticker(symbol).into_iter().collect()
    }

    fn requests(&self) -> u64 {
        self.client.requests
    }
}
