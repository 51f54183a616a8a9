//! A synthetic universe with a planted formula: each day's return is `beta` × the day before's
//! `-delta($close, 3) / std($close, 20)` plus noise (`beta` 0: no formula at all). Shared by the
//! miner's tests, the job test and the mining benchmark (included by path).
#![allow(dead_code)]

use chrono::{Datelike, NaiveDate, Weekday};
use kxian_shared::Bar;

pub(crate) const PLANTED: &str = "-delta($close, 3) / std($close, 20)";

/// A deterministic generator with normal draws.
struct Rng(u64);

impl Rng {
    fn unit(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
    fn normal(&mut self) -> f64 {
        let (u, v) = (self.unit().max(1e-12), self.unit());
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    }
}

/// `n` series of `days` weekday bars from `first`.
pub(crate) fn planted(
    n: usize,
    days: usize,
    first: NaiveDate,
    beta: f64,
    seed: u64,
) -> Vec<Vec<Bar>> {
    let mut dates = Vec::new();
    let mut d = first;
    while dates.len() < days {
        if !matches!(d.weekday(), Weekday::Sat | Weekday::Sun) {
            dates.push(d);
        }
        d = d.succ_opt().expect("a day");
    }
    let mut rng = Rng(seed);
    (0..n)
        .map(|k| {
            let mut closes = vec![20.0 + (k % 50) as f64 * 0.37];
            let mut bars = Vec::with_capacity(days);
            for (i, day) in dates.iter().enumerate() {
                let c = *closes.last().expect("a close");
                let signal = if i >= 20 {
                    let w = &closes[i - 19..=i];
                    let m = w.iter().sum::<f64>() / 20.0;
                    let sd = (w.iter().map(|x| (x - m).powi(2)).sum::<f64>() / 19.0).sqrt();
                    if sd > 0.0 {
                        -(c - closes[i - 3]) / sd
                    } else {
                        0.0
                    }
                } else {
                    0.0
                };
                let next = (c * (1.0 + beta * signal + 0.015 * rng.normal())).max(0.5);
                let cl = (next * 100.0).round() / 100.0;
                let v = (1e6 * (1.0 + rng.unit())).round();
                bars.push(Bar {
                    ts: day.and_hms_opt(0, 0, 0).expect("midnight"),
                    open: c,
                    high: ((c.max(cl) * 1.004) * 100.0).round() / 100.0,
                    low: ((c.min(cl) * 0.996) * 100.0).round() / 100.0,
                    close: cl,
                    volume: v,
                    amount: Some((v * cl).round()),
                });
                closes.push(cl);
            }
            bars
        })
        .collect()
}

/// A series as a CSV the importer reads (volume in shares, amount in CNY).
pub(crate) fn csv(bars: &[Bar]) -> String {
    let mut t = String::from("date,open,high,low,close,volume(shares),amount(cny)\n");
    for b in bars {
        t.push_str(&format!(
            "{},{},{},{},{},{},{}\n",
            b.ts.date(),
            b.open,
            b.high,
            b.low,
            b.close,
            b.volume,
            b.amount.unwrap_or_default()
        ));
    }
    t
}

/// `n` planted series of 700 days from 2018-01-02 stored as the machine's own (`6001xx.SH`);
/// their symbols.
pub(crate) async fn store_planted(
    store: &kxian_store::Store,
    n: usize,
) -> anyhow::Result<Vec<String>> {
    let first = NaiveDate::from_ymd_opt(2018, 1, 2).expect("a day");
    let mut symbols = Vec::new();
    for (k, bars) in planted(n, 700, first, 0.004, 5).iter().enumerate() {
        let sym = format!("6001{k:02}.SH");
        let opts = kxian_shared::api::ImportOptions {
            symbol: Some(sym.parse()?),
            ..Default::default()
        };
        let text = csv(bars);
        let parsed = kxian_shared::ingest::parse_file("p.csv", text.as_bytes(), &opts)?;
        store.import(&parsed, "test").await?;
        symbols.push(sym);
    }
    Ok(symbols)
}
