//! Eastmoney's history K-line and spot-list endpoints as akshare requests them:
//! the secid rules per instrument kind, the query,
//! and the response parsed into canonical bars (volume lots → shares, amount in CNY).

use chrono::{NaiveDate, NaiveDateTime};
use kxian_shared::jobs::UniverseChoice;
use kxian_shared::{Adjustment, Bar, Exchange, Frequency, InstrumentKind, Symbol};

use super::DownloadArgs;
use super::DownloadError;
use super::http::{Client, FetchError};
use super::source::{BarSource, Fetched};

/// The static public token of the kline page (sent as-is, as akshare does).
pub const KLINE_UT: &str = "7eea3edcaed734bea9cbfc24409ed989";
/// The static public token of the spot lists.
pub const CLIST_UT: &str = "bd1d9ddb04089700cf9c27f6f7426281";
pub const KLINE_PATH: &str = "/api/qt/stock/kline/get";
/// One-minute bars of the last trading days (at most five).
pub const TRENDS_PATH: &str = "/api/qt/stock/trends2/get";
/// How many trading days of one-minute bars trends2 is asked for: the most it keeps.
pub const TRENDS_DAYS: &str = "5";
pub const CLIST_PATH: &str = "/api/qt/clist/get";
/// Market filter of the ETF spot list (push2delay answers it).
pub const ETF_FS: &str = "b:MK0021,b:MK0022,b:MK0023,b:MK0024,b:MK0827";
/// Market filter of every A share (SZ main, ChiNext, SH main, STAR, BSE).
pub const A_FS: &str = "m:0 t:6,m:0 t:80,m:1 t:2,m:1 t:23,m:0 t:81 s:2048";

/// `klt` of a frequency; 1-minute bars come from trends2, not kline/get.
pub fn klt(f: Frequency) -> Option<&'static str> {
    Some(match f {
        Frequency::M5 => "5",
        Frequency::M15 => "15",
        Frequency::M30 => "30",
        Frequency::M60 => "60",
        Frequency::Daily => "101",
        Frequency::Weekly => "102",
        Frequency::Monthly => "103",
        Frequency::M1 => return None,
    })
}

pub fn fqt(a: Adjustment) -> &'static str {
    match a {
        Adjustment::None => "0",
        Adjustment::Qfq => "1",
        Adjustment::Hfq => "2",
    }
}

/// The market ids to try for a symbol, most likely first. Stocks and funds follow the
/// exchange; an index's id is not derivable from its code, so akshare's probe order follows.
pub fn secids(symbol: &Symbol) -> Vec<String> {
    let code = symbol.code();
    let by_exchange = if symbol.exchange() == Exchange::Sse {
        "1"
    } else {
        "0"
    };
    match symbol.kind() {
        InstrumentKind::Index => {
            let mut ids: Vec<&str> = vec![by_exchange];
            for m in ["1", "0", "2", "47"] {
                if !ids.contains(&m) {
                    ids.push(m);
                }
            }
            ids.into_iter().map(|m| format!("{m}.{code}")).collect()
        }
        _ => vec![format!("{by_exchange}.{code}")],
    }
}

/// What a kline/get answer says.
#[derive(Debug, Clone, PartialEq)]
pub enum Kline {
    /// `data: null`: no such security under this secid.
    Unknown,
    Bars {
        name: Option<String>,
        bars: Vec<Bar>,
    },
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ParseError {
    #[error("the answer is not JSON: {0}")]
    Json(String),
    #[error("the answer has no `data` field")]
    NoData,
    #[error("kline {index} `{line}`: {why}")]
    Row {
        index: usize,
        line: String,
        why: String,
    },
}

fn num(cell: &str) -> Option<f64> {
    let c = cell.trim();
    if c.is_empty() || c == "-" {
        return None;
    }
    c.parse().ok().filter(|x: &f64| x.is_finite())
}

/// Parses a kline/get body. Bars with a `-` (suspension) in a price are dropped.
pub fn parse_kline(body: &str) -> Result<Kline, ParseError> {
    parse_rows(body, "klines")
}

/// Parses a trends2/get body: one-minute rows in kline/get's field order (the 09:30 item is the
/// opening auction's print, kept as its own bar).
pub fn parse_trends(body: &str) -> Result<Kline, ParseError> {
    parse_rows(body, "trends")
}

fn parse_rows(body: &str, key: &str) -> Result<Kline, ParseError> {
    let v: serde_json::Value =
        serde_json::from_str(body).map_err(|e| ParseError::Json(e.to_string()))?;
    let data = v.get("data").ok_or(ParseError::NoData)?;
    if data.is_null() {
        return Ok(Kline::Unknown);
    }
    let name = data["name"].as_str().map(str::to_string);
    let mut bars = Vec::new();
    let lines = data[key].as_array().cloned().unwrap_or_default();
    for (index, line) in lines.iter().enumerate() {
        let line = line.as_str().unwrap_or_default();
        let err = |why: &str| ParseError::Row {
            index,
            line: line.chars().take(80).collect(),
            why: why.to_string(),
        };
        let f: Vec<&str> = line.split(',').collect();
        if f.len() < 7 {
            return Err(err("fewer than 7 fields"));
        }
        let ts = if f[0].len() > 10 {
            NaiveDateTime::parse_from_str(f[0], "%Y-%m-%d %H:%M").map_err(|_| err("bad time"))?
        } else {
            NaiveDate::parse_from_str(f[0], "%Y-%m-%d")
                .map_err(|_| err("bad date"))?
                .and_hms_opt(0, 0, 0)
                .expect("midnight")
        };
        // f51 date, f52 open, f53 close, f54 high, f55 low, f56 volume (lots), f57 amount.
        let (Some(open), Some(close), Some(high), Some(low)) =
            (num(f[1]), num(f[2]), num(f[3]), num(f[4]))
        else {
            continue;
        };
        bars.push(Bar {
            ts,
            open,
            high,
            low,
            close,
            volume: num(f[5]).unwrap_or(0.0) * 100.0,
            amount: num(f[6]),
        });
    }
    Ok(Kline::Bars { name, bars })
}

/// One row of a spot list.
#[derive(Debug, Clone, PartialEq)]
pub struct Listed {
    pub symbol: Symbol,
    pub name: String,
    /// Float market cap in CNY on the day (`f21`), when the list gives it.
    pub float_cap: Option<f64>,
}

/// A clist/get page: its rows and the total the server announces.
pub fn parse_clist(body: &str, etf: bool) -> Result<(Vec<Listed>, usize), ParseError> {
    let v: serde_json::Value =
        serde_json::from_str(body).map_err(|e| ParseError::Json(e.to_string()))?;
    let data = v.get("data").ok_or(ParseError::NoData)?;
    let total = data["total"].as_u64().unwrap_or(0) as usize;
    let mut out = Vec::new();
    for row in data["diff"].as_array().into_iter().flatten() {
        let (Some(code), Some(market)) = (row["f12"].as_str(), row["f13"].as_u64()) else {
            continue;
        };
        let spelled = format!("{code}.{}", if market == 1 { "SH" } else { "SZ" });
        let spelled = if !etf && code.starts_with(['4', '8', '9']) && market == 0 {
            format!("{code}.BJ")
        } else {
            spelled
        };
        if let Ok(symbol) = spelled.parse::<Symbol>() {
            out.push(Listed {
                symbol,
                name: row["f14"].as_str().unwrap_or_default().to_string(),
                // "-" for a name that has not traded (suspended, new): no cap known.
                float_cap: row["f21"].as_f64().filter(|c| *c > 0.0),
            });
        }
    }
    Ok((out, total))
}

/// Eastmoney's kline API as a download source; it also serves the spot lists of `--universe`.
pub(crate) struct EastmoneySource<'a> {
    pub(crate) args: &'a DownloadArgs,
    pub(crate) client: Client,
}

impl EastmoneySource<'_> {
    /// The source's whole list; with `limit`, only that many names with the largest float
    /// market cap today (names without one last).
    pub(crate) fn list(
        &mut self,
        choice: UniverseChoice,
        limit: Option<usize>,
    ) -> Result<Vec<Symbol>, DownloadError> {
        let (fs, etf, what) = match choice {
            UniverseChoice::AllEtfs => (ETF_FS, true, "ETF"),
            UniverseChoice::AllA => (A_FS, false, "A-share"),
        };
        let url = format!("{}{}", self.args.eastmoney_list_url, CLIST_PATH);
        let mut out: Vec<Listed> = Vec::new();
        let mut page = 1usize;
        let mut pages = 1usize;
        while page <= pages {
            let q = [
                ("pn", page.to_string()),
                ("pz", "100".to_string()),
                ("po", "1".to_string()),
                ("np", "1".to_string()),
                ("ut", CLIST_UT.to_string()),
                ("fltt", "2".to_string()),
                ("invt", "2".to_string()),
                ("fid", "f12".to_string()),
                ("fs", fs.to_string()),
                ("fields", "f12,f13,f14,f21".to_string()),
            ];
            let fetched = self.client.get(&url, &q).map_err(|e| DownloadError::List {
                what,
                error: e.to_string(),
            })?;
            let (rows, total) =
                parse_clist(&fetched.body, etf).map_err(|e| DownloadError::List {
                    what,
                    error: e.to_string(),
                })?;
            if rows.is_empty() {
                break;
            }
            if page == 1 {
                pages = total.div_ceil(rows.len());
            }
            for r in rows {
                // Rows move between pages while the market is open: keep each once.
                if !out.iter().any(|o| o.symbol == r.symbol) {
                    out.push(r);
                }
            }
            page += 1;
        }
        if let Some(n) = limit {
            // Largest first; ties and names without a cap keep the list's order.
            out.sort_by(|a, b| {
                b.float_cap
                    .unwrap_or(-1.0)
                    .total_cmp(&a.float_cap.unwrap_or(-1.0))
            });
            out.truncate(n);
        }
        Ok(out.into_iter().map(|l| l.symbol).collect())
    }

    /// Bars of `symbol` from `beg`, probing market ids where the kind needs it.
    fn kline(
        &mut self,
        symbol: &Symbol,
        beg: Option<NaiveDate>,
    ) -> Result<(Kline, Option<String>), FetchError> {
        let a = self.args;
        let klt = klt(a.frequency).unwrap_or("101");
        let day = |d: NaiveDate| d.format("%Y%m%d").to_string();
        let query = |secid: &str| {
            vec![
                ("secid", secid.to_string()),
                ("klt", klt.to_string()),
                ("fqt", fqt(a.adjustment).to_string()),
                ("fields1", "f1,f2,f3,f4,f5,f6".to_string()),
                (
                    "fields2",
                    "f51,f52,f53,f54,f55,f56,f57,f58,f59,f60,f61".to_string(),
                ),
                ("beg", beg.map_or("0".to_string(), day)),
                ("end", a.to.map_or("20500101".to_string(), day)),
                ("ut", KLINE_UT.to_string()),
            ]
        };
        let request = |secid: &str| format!("secid={secid}&klt={klt}&fqt={}", fqt(a.adjustment));
        self.probe(symbol, KLINE_PATH, query, parse_kline, request)
    }

    /// Asks `path` under each market id of `symbol` in turn, until one knows the security.
    fn probe(
        &mut self,
        symbol: &Symbol,
        path: &str,
        query: impl Fn(&str) -> Vec<(&'static str, String)>,
        parse: fn(&str) -> Result<Kline, ParseError>,
        request: impl Fn(&str) -> String,
    ) -> Result<(Kline, Option<String>), FetchError> {
        let url = format!("{}{}", self.args.eastmoney_url, path);
        for secid in secids(symbol) {
            let fetched = self.client.get(&url, &query(&secid))?;
            if fetched.status >= 400 {
                return Err(FetchError::Status {
                    url,
                    status: fetched.status,
                    attempts: fetched.attempts,
                });
            }
            match parse(&fetched.body) {
                Ok(Kline::Unknown) => continue,
                Ok(k) => return Ok((k, Some(request(&secid)))),
                Err(e) => {
                    return Err(FetchError::Transport {
                        url,
                        message: format!("malformed answer for {secid}: {e}"),
                        attempts: fetched.attempts,
                    });
                }
            }
        }
        Ok((Kline::Unknown, None))
    }
}

impl EastmoneySource<'_> {
    /// One-minute bars of the last trading days (trends2 keeps five), probing market ids.
    fn trends(&mut self, symbol: &Symbol) -> Result<(Kline, Option<String>), FetchError> {
        let query = |secid: &str| {
            vec![
                ("secid", secid.to_string()),
                (
                    "fields1",
                    "f1,f2,f3,f4,f5,f6,f7,f8,f9,f10,f11,f12,f13".to_string(),
                ),
                ("fields2", "f51,f52,f53,f54,f55,f56,f57,f58".to_string()),
                ("iscr", "0".to_string()),
                ("ndays", TRENDS_DAYS.to_string()),
                ("ut", KLINE_UT.to_string()),
            ]
        };
        let request = |secid: &str| format!("secid={secid}&ndays={TRENDS_DAYS}");
        self.probe(symbol, TRENDS_PATH, query, parse_trends, request)
    }
}

impl BarSource for EastmoneySource<'_> {
    fn fetch(&mut self, symbol: &Symbol, beg: Option<NaiveDate>) -> Result<Fetched, DownloadError> {
        if self.args.frequency == Frequency::M1 {
            // trends2 answers the last days whatever is asked; the caller keeps what is in range.
            return Ok(self.trends(symbol));
        }
        Ok(self.kline(symbol, beg))
    }

    fn ids(&self, symbol: &Symbol) -> Vec<String> {
        secids(symbol)
    }

    fn requests(&self) -> u64 {
        self.client.requests
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secid_rules() {
        let s = |x: &str| x.parse::<Symbol>().unwrap();
        assert_eq!(secids(&s("600000")), ["1.600000"]);
        assert_eq!(secids(&s("000001.SZ")), ["0.000001"]);
        assert_eq!(secids(&s("510310")), ["1.510310"]);
        assert_eq!(secids(&s("159915")), ["0.159915"]);
        assert_eq!(
            secids(&s("000300.SH")),
            ["1.000300", "0.000300", "2.000300", "47.000300"]
        );
        assert_eq!(secids(&s("399006.SZ"))[0], "0.399006");
    }

    #[test]
    fn klines_become_canonical_bars() {
        let body = r#"{"rc":0,"data":{"code":"000001","name":"平安银行","klines":[
            "2024-09-02,10.12,10.11,10.21,10.09,968836,983898752.00,1.18,-0.49,-0.05,0.50",
            "2024-09-03,-,-,-,-,0,0.00,0,0,0,0"]}}"#;
        let Kline::Bars { name, bars } = parse_kline(body).unwrap() else {
            panic!("bars expected")
        };
        assert_eq!(name.as_deref(), Some("平安银行"));
        assert_eq!(bars.len(), 1, "the suspended day is dropped");
        let b = bars[0];
        assert_eq!(
            (b.open, b.close, b.high, b.low),
            (10.12, 10.11, 10.21, 10.09)
        );
        assert_eq!(b.volume, 96_883_600.0);
        assert_eq!(b.amount, Some(983_898_752.0));
        assert_eq!(
            parse_kline(r#"{"rc":0,"data":null}"#).unwrap(),
            Kline::Unknown
        );
        assert!(matches!(
            parse_kline("{\"rc\":0,\"data\":{\"klines\":[\"x\"]}}"),
            Err(ParseError::Row { .. })
        ));
        assert!(matches!(parse_kline("<html>"), Err(ParseError::Json(_))));
    }
}
