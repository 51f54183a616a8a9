//! `kxian-trainer download --source tdx` against a loopback TDX quote server (the legacy
//! protocol, `tests/tests/common/tdx_mock.rs`): the same bars as Eastmoney's in canonical
//! units, paging back over a long history, minute stamps, and failover when a server answers
//! bar requests with empty bodies as public servers have since July 2026.

#[path = "../../tests/tests/common/tdx_mock.rs"]
mod tdx_mock;

use crate::eastmoney_mock::Mock;
use chrono::{Datelike, NaiveDate, NaiveDateTime};
use kxian_shared::Bar;
use kxian_shared::api::ImportOptions;
use kxian_trainer::download::tdx::wire::{self, WireBar};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};
use tdx_mock::{Book, Mode, TdxMock};

fn run(out: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kxian-trainer"))
        .args(["download", "--out"])
        .arg(out)
        .args(["--to", "2024-09-13", "--min-interval-ms", "5"])
        .args(["--backoff-ms", "5", "--attempts", "2", "--timeout-s", "5"])
        .args(args)
        .env_remove("KXIAN_TDX_HOST")
        .output()
        .unwrap()
}

fn manifest(out: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap()
}

fn read_csv(path: &Path) -> Vec<Bar> {
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    let bytes = std::fs::read(path).unwrap();
    kxian_shared::ingest::parse_file(&name, &bytes, &ImportOptions::default())
        .unwrap()
        .series
        .remove(0)
        .bars
}

/// Canonical bars back in the wire's units (volume in lots).
fn to_wire(bars: &[Bar]) -> Vec<WireBar> {
    bars.iter()
        .map(|b| WireBar {
            ts: b.ts,
            open: b.open,
            high: b.high,
            low: b.low,
            close: b.close,
            volume: b.volume / 100.0,
            amount: b.amount.unwrap_or(0.0),
        })
        .collect()
}

/// `n` weekday bars ending on 2024-09-13 whose close walks with the day number.
fn long_history(n: usize) -> Vec<WireBar> {
    let mut days = Vec::new();
    let mut d = NaiveDate::from_ymd_opt(2024, 9, 13).unwrap();
    while days.len() < n {
        if d.weekday().number_from_monday() <= 5 {
            days.push(d);
        }
        d = d.pred_opt().unwrap();
    }
    days.reverse();
    days.iter()
        .enumerate()
        .map(|(i, d)| {
            let close = 10.0 + (i % 97) as f64 / 100.0;
            WireBar {
                ts: d.and_hms_opt(0, 0, 0).unwrap(),
                open: close - 0.05,
                high: close + 0.1,
                low: close - 0.1,
                close,
                volume: 1000.0 + i as f64,
                amount: 1_048_576.0,
            }
        })
        .collect()
}

/// Eastmoney's recorded 000001.SZ daily bars, downloaded from its mock.
fn eastmoney_000001(dir: &Path) -> Vec<Bar> {
    let em = Mock::start(BTreeMap::new());
    let out = dir.join("em");
    let o = Command::new(env!("CARGO_BIN_EXE_kxian-trainer"))
        .args(["download", "--out"])
        .arg(&out)
        .args([
            "--symbols",
            "000001.SZ",
            "--from",
            "2024-09-02",
            "--to",
            "2024-09-13",
        ])
        .args(["--eastmoney-url", &em.base, "--min-interval-ms", "5"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    read_csv(&out.join("000001.SZ.daily.none.csv"))
}

#[test]
fn tdx_bars_match_eastmoney_page_back_over_long_histories_and_stamp_minutes_at_bar_end() {
    let dir = tempfile::tempdir().unwrap();
    let em = eastmoney_000001(dir.path());
    assert_eq!(em.len(), 10);
    let long = long_history(1000);
    let at = |t: &str| NaiveDateTime::parse_from_str(t, "%Y-%m-%d %H:%M").unwrap();
    // The 48 five-minute bars of a day, stamped at their end.
    let mut minutes = Vec::new();
    for (start, n) in [(9 * 60 + 35, 24), (13 * 60 + 5, 24)] {
        for k in 0..n {
            let m = start + 5 * k;
            let c = 11.0 + k as f64 / 100.0;
            minutes.push(WireBar {
                ts: at(&format!("2024-09-13 {:02}:{:02}", m / 60, m % 60)),
                open: c,
                high: c + 0.02,
                low: c - 0.01,
                close: c + 0.01,
                volume: 500.0,
                amount: 552_960.0,
            });
        }
    }
    let index: Vec<WireBar> = to_wire(&em)
        .into_iter()
        .map(|b| WireBar {
            open: b.open * 300.0,
            high: b.high * 300.0,
            low: b.low * 300.0,
            close: b.close * 300.0,
            ..b
        })
        .collect();
    let book: Book = BTreeMap::from([
        ((0, "000001".into(), 9), (false, to_wire(&em))),
        ((1, "600000".into(), 9), (false, long.clone())),
        ((1, "000300".into(), 9), (true, index.clone())),
        ((0, "000001".into(), 0), (false, minutes.clone())),
    ]);
    let tdx = TdxMock::start(book, Mode::Serve);
    let out = dir.path().join("tdx");
    let o = run(
        &out,
        &[
            "--source",
            "tdx",
            "--tdx-host",
            &tdx.addr,
            "--from",
            "2020-01-01",
            "--symbols",
            "000001.SZ,600000.SH,000300.SH,510300.SH",
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let m = manifest(&out);
    assert_eq!(m["source"], "tdx");

    // The same bars as Eastmoney's: prices and shares exact, amounts to float32 precision.
    let bars = read_csv(&out.join("000001.SZ.daily.none.csv"));
    assert_eq!(bars.len(), em.len());
    for (t, e) in bars.iter().zip(&em) {
        assert_eq!(
            (t.ts, t.open, t.high, t.low, t.close, t.volume),
            (e.ts, e.open, e.high, e.low, e.close, e.volume)
        );
        let (ta, ea) = (t.amount.unwrap(), e.amount.unwrap());
        assert!((ta - ea).abs() <= ea * 1e-7, "{}: {ta} vs {ea}", e.ts);
    }
    assert_eq!(
        m["series"]["000001.SZ"]["sources"],
        serde_json::json!(["tdx"])
    );

    // 1,000 bars arrive in two pages (800 back from the newest, then the 200 before), in
    // order and once each.
    let long_bars = read_csv(&out.join("600000.SH.daily.none.csv"));
    assert_eq!(long_bars.len(), 1000);
    assert!(long_bars.windows(2).all(|w| w[0].ts < w[1].ts));
    for (b, w) in long_bars.iter().zip(&long) {
        assert_eq!((b.ts, b.close, b.volume), (w.ts, w.close, w.volume * 100.0));
    }
    let pages: Vec<(u16, u16)> = tdx
        .requests()
        .iter()
        .filter(|r| &r.code == b"600000")
        .map(|r| (r.start, r.count))
        .collect();
    assert_eq!(pages, [(0, 800), (800, 800)]);

    // An index's rows carry four more bytes each; its points arrive as sent.
    let idx = read_csv(&out.join("000300.SH.daily.none.csv"));
    assert_eq!(idx.len(), 10);
    assert!((idx[9].close - index[9].close).abs() < 1e-9);

    // Funds are not served (their price scale is unverified): unknown, with the id tried.
    assert_eq!(m["series"]["510300.SH"]["outcome"]["status"], "unknown");
    assert_eq!(
        m["series"]["510300.SH"]["outcome"]["tried"],
        serde_json::json!(["1.510300"])
    );

    // Five-minute bars, stamped at their end like Eastmoney's.
    let out5 = dir.path().join("tdx5");
    let o = run(
        &out5,
        &[
            "--source",
            "tdx",
            "--tdx-host",
            &tdx.addr,
            "--frequency",
            "5m",
            "--from",
            "2024-09-13",
            "--symbols",
            "000001.SZ",
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let five = read_csv(&out5.join("000001.SZ.5m.none.csv"));
    assert_eq!(five.len(), 48);
    assert_eq!(five[0].ts, at("2024-09-13 09:35"));
    assert_eq!(five[47].ts, at("2024-09-13 15:00"));
    assert_eq!(five[0].volume, 50_000.0);
    assert!(
        tdx.requests()
            .iter()
            .any(|r| r.category == wire::category(kxian_shared::Frequency::M5))
    );
}

#[test]
fn an_empty_tdx_answer_or_a_dead_host_hands_the_symbol_to_the_next_source() {
    let dir = tempfile::tempdir().unwrap();
    let em = Mock::start(BTreeMap::new());
    let silent = TdxMock::start(Book::new(), Mode::EmptyBodies);
    let out = dir.path().join("dl");
    let o = run(
        &out,
        &[
            "--source",
            "tdx,eastmoney",
            "--tdx-host",
            &silent.addr,
            "--eastmoney-url",
            &em.base,
            "--from",
            "2024-09-02",
            "--symbols",
            "000001.SZ",
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let s = &manifest(&out)["series"]["000001.SZ"];
    assert_eq!(s["sources"], serde_json::json!(["eastmoney"]), "{s}");
    assert_eq!(s["outcome"]["new_bars"], 10, "{s}");
    let passed = s["passed_over"][0].as_str().unwrap();
    assert!(
        passed.starts_with("tdx: ") && passed.contains("July 2026"),
        "{passed}"
    );

    // A host that refuses connections, then a live one: the live one serves.
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().to_string()
    };
    let live = TdxMock::start(
        BTreeMap::from([((0, "000001".into(), 9), (false, long_history(5)))]),
        Mode::Serve,
    );
    let out2 = dir.path().join("dl2");
    let hosts = format!("{dead},{}", live.addr);
    let o = run(
        &out2,
        &[
            "--source",
            "tdx",
            "--tdx-host",
            &hosts,
            "--symbols",
            "000001.SZ",
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(manifest(&out2)["series"]["000001.SZ"]["bars"], 5);

    // Only dead hosts: the symbol failed, naming them, and the run failed (exit 1).
    let o = run(
        &dir.path().join("dl3"),
        &[
            "--source",
            "tdx",
            "--tdx-host",
            &dead,
            "--symbols",
            "000001.SZ",
        ],
    );
    assert_eq!(o.status.code(), Some(1));
    let m = manifest(&dir.path().join("dl3"));
    let err = m["series"]["000001.SZ"]["outcome"]["error"]
        .as_str()
        .unwrap();
    assert!(
        err.contains("no TDX server answered") && err.contains(&dead),
        "{err}"
    );
}

#[test]
fn tdx_without_a_host_or_with_adjusted_prices_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let o = run(dir.path(), &["--source", "tdx", "--symbols", "000001.SZ"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--tdx-host"));
    let o = run(
        dir.path(),
        &[
            "--source",
            "tdx",
            "--tdx-host",
            "127.0.0.1:7709",
            "--adjustment",
            "qfq",
            "--symbols",
            "000001.SZ",
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("raw prices only"));
}
