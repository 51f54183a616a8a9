//! `cargo run --release -p kxian-trainer --example download_update -- [symbols] [latency_ms] [interval_ms]`
//!
//! How long an incremental daily update of a whole market takes: a loopback Eastmoney mock
//! that answers any stock with generated bars up to "today", with `latency_ms` before each
//! answer; a first run fills the folder (no waiting), then the measured run fetches the one
//! new day of every symbol at the downloader's per-host interval (`interval_ms`).

use kxian_trainer::download::{self, DownloadArgs, Outcome};
use kxian_trainer::train::ProgressMode;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Trading days of the generated market: 2024-09-02 to `last`.
fn days(last: &str) -> Vec<chrono::NaiveDate> {
    let cal = kxian_shared::calendar::TradingCalendar::embedded();
    cal.trading_days_between(
        chrono::NaiveDate::from_ymd_opt(2024, 9, 2).unwrap(),
        last.parse().unwrap(),
    )
    .to_vec()
}

fn mock(latency: Duration, today: Arc<std::sync::Mutex<String>>, served: Arc<AtomicU64>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let today = today.lock().unwrap().clone();
            let served = Arc::clone(&served);
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut line = String::new();
                let _ = reader.read_line(&mut line);
                loop {
                    let mut h = String::new();
                    if reader.read_line(&mut h).is_err() || h.trim().is_empty() {
                        break;
                    }
                }
                let q = line
                    .split_whitespace()
                    .nth(1)
                    .unwrap_or_default()
                    .to_string();
                let param = |k: &str| {
                    q.split(['?', '&'])
                        .find_map(|kv| kv.strip_prefix(&format!("{k}=")))
                        .unwrap_or_default()
                        .to_string()
                };
                let (secid, beg) = (param("secid"), param("beg"));
                let code: u64 = secid.rsplit('.').next().unwrap_or("1").parse().unwrap_or(1);
                let lines: Vec<String> = days(&today)
                    .iter()
                    .filter(|d| beg == "0" || d.format("%Y%m%d").to_string() >= beg)
                    .map(|d| {
                        let p = 10.0 + (code % 97) as f64 / 10.0 + d.ordinal() as f64 / 100.0;
                        format!(
                            "{d},{p:.2},{:.2},{:.2},{:.2},1000,{:.2},0,0,0,0",
                            p + 0.05,
                            p + 0.1,
                            p - 0.1,
                            p * 1e5
                        )
                    })
                    .collect();
                let body = serde_json::json!({"rc": 0, "data": {"code": secid, "name": "gen", "klines": lines}}).to_string();
                std::thread::sleep(latency);
                served.fetch_add(1, Ordering::SeqCst);
                let _ = write!(
                    stream,
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
            });
        }
    });
    base
}

use chrono::Datelike;

fn main() {
    let mut a = std::env::args().skip(1);
    let n: usize = a.next().and_then(|x| x.parse().ok()).unwrap_or(5000);
    let latency = Duration::from_millis(a.next().and_then(|x| x.parse().ok()).unwrap_or(60));
    let interval: u64 = a.next().and_then(|x| x.parse().ok()).unwrap_or(100);
    let today = Arc::new(std::sync::Mutex::new("2024-09-12".to_string()));
    let served = Arc::new(AtomicU64::new(0));
    let base = mock(Duration::ZERO, Arc::clone(&today), Arc::clone(&served));
    let slow = mock(latency, Arc::clone(&today), Arc::clone(&served));
    let symbols: Vec<String> = (0..n)
        .map(|k| {
            if k % 2 == 0 {
                format!("{:06}", 600_000 + k / 2)
            } else {
                format!("{:06}", 1 + k / 2)
            }
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let args = |url: &str, interval_ms: u64| DownloadArgs {
        source: vec![download::Source::Eastmoney],
        symbols: symbols.clone(),
        universe: None,
        limit: None,
        reference: false,
        index: Vec::new(),
        csindex: false,
        frequency: kxian_shared::Frequency::Daily,
        adjustment: kxian_shared::Adjustment::None,
        from: None,
        to: None,
        out: dir.path().to_path_buf(),
        store: None,
        reader: Default::default(),
        eastmoney_url: url.to_string(),
        eastmoney_list_url: url.to_string(),
        tushare_url: String::new(),
        tushare_token: None,
        tushare_quota_wait_ms: 0,
        tdx_host: Vec::new(),
        csindex_url: String::new(),
        yahoo_url: String::new(),
        min_interval_ms: interval_ms,
        attempts: 4,
        backoff_ms: 1000,
        timeout_s: 15,
        progress: ProgressMode::Bar,
    };
    let t0 = Instant::now();
    download::run(&args(&base, 0)).unwrap();
    println!(
        "{n} symbols: first fill (8 days each, no latency, no interval) in {:.1} s",
        t0.elapsed().as_secs_f64()
    );
    *today.lock().unwrap() = "2024-09-13".to_string();
    let before = served.load(Ordering::SeqCst);
    let t1 = Instant::now();
    let m = download::run(&args(&slow, interval)).unwrap();
    let took = t1.elapsed().as_secs_f64();
    let new = m
        .series
        .values()
        .filter(|r| matches!(r.outcome, Outcome::Downloaded { new_bars: 1, .. }))
        .count();
    println!(
        "incremental update: {new} of {n} symbols got their 1 new bar in {took:.1} s ({:.1} ms per symbol; {} requests; latency {} ms, interval {interval} ms)",
        took * 1000.0 / n as f64,
        served.load(Ordering::SeqCst) - before,
        latency.as_millis()
    );
    let _ = std::io::stdout().flush();
}
