//! Yahoo Finance's chart API, daily bars only: bar
//! starts in UTC turned into Shanghai dates, float32 prices rounded to the tick, volume in
//! shares and no amount. `adjclose` gives forward-adjusted (qfq-like) prices.

use chrono::{DateTime, NaiveDate};
use kxian_shared::{Bar, InstrumentKind, Symbol};

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
