//! `cargo bench -p kxian-server --bench bars_api`
//!
//! - `bars_api/*`: latency of `GET /api/symbols/{s}/bars` returning 5,000 bars, over real
//!   HTTP on loopback (connect, request, full JSON body), server and store as in production.
//! - `import/1m_bars_csv`: a 1,000,000-bar akshare-layout CSV parsed, validated and written
//!   to a fresh SQLite store in one transaction (what `kxian import` and the upload do).

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use kxian_server::{AppState, Store, embedded};
use kxian_shared::api::ImportOptions;
use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

fn get(addr: SocketAddr, path: &str) -> usize {
    let mut s = TcpStream::connect(addr).expect("connect");
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n"
    )
    .expect("send");
    let mut body = Vec::with_capacity(1 << 20);
    s.read_to_end(&mut body).expect("read");
    assert!(
        body.starts_with(b"HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&body[..body.len().min(300)])
    );
    body.len()
}

fn bars_api(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let addr = rt.block_on(async {
        let store = Store::open(&dir.path().join("bench.db")).await.unwrap();
        embedded::load_once(&store).await.unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = AppState {
            store,
            dist: dir.path().join("dist"),
            max_upload: 1 << 20,
            models: kxian_server::models::Models::load(None).unwrap(),
            auth: Default::default(),
            jobs: Default::default(),
            limits: Default::default(),
        };
        tokio::spawn(kxian_server::serve(listener, state, std::future::pending()));
        addr
    });
    let cases = [
        (
            "daily_limit_5000",
            "/api/symbols/000001.SH/bars?freq=daily&limit=5000",
        ),
        // 21 trading days of 1-minute bars = 5,040 bars, selected by date range.
        (
            "1m_range_5040",
            "/api/symbols/600000.SH/bars?freq=1m&start=2024-08-20&end=2024-09-18",
        ),
    ];
    let mut g = c.benchmark_group("bars_api");
    g.sample_size(50).measurement_time(Duration::from_secs(8));
    for (name, path) in cases {
        let size = get(addr, path);
        eprintln!("{name}: response {size} bytes");
        g.throughput(Throughput::Elements(5_000));
        g.bench_with_input(BenchmarkId::from_parameter(name), path, |b, path| {
            b.iter(|| get(addr, path))
        });
    }
    g.finish();
}

fn million_bar_csv() -> Vec<u8> {
    let mut s = String::with_capacity(80 << 20);
    s.push_str("时间,开盘,收盘,最高,最低,成交量,成交额\n");
    let cal = kxian_shared::calendar::TradingCalendar::embedded();
    let grid = kxian_shared::calendar::session_grid(1);
    let days = cal.trading_days_between(
        chrono::NaiveDate::from_ymd_opt(2008, 1, 1).unwrap(),
        chrono::NaiveDate::from_ymd_opt(2026, 12, 31).unwrap(),
    );
    let mut n = 0usize;
    'outer: for day in days {
        for t in &grid {
            let p = 10.0 + (n % 1000) as f64 * 0.01;
            writeln!(
                s,
                "{day} {t},{p:.2},{:.2},{:.2},{:.2},{},{:.1}",
                p + 0.01,
                p + 0.02,
                p - 0.01,
                100 + n % 50,
                (100 + n % 50) as f64 * 100.0 * p
            )
            .unwrap();
            n += 1;
            if n == 1_000_000 {
                break 'outer;
            }
        }
    }
    assert_eq!(n, 1_000_000);
    s.into_bytes()
}

fn import(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let csv = million_bar_csv();
    eprintln!("1M-bar CSV: {} MB", csv.len() / (1 << 20));
    let opts = ImportOptions {
        symbol: Some("600000.SH".parse().unwrap()),
        ..Default::default()
    };
    let mut g = c.benchmark_group("import");
    g.sample_size(10).measurement_time(Duration::from_secs(60));
    g.throughput(Throughput::Elements(1_000_000));
    g.bench_function("1m_bars_csv", |b| {
        b.iter_with_setup(
            || tempfile::tempdir().unwrap(),
            |dir| {
                rt.block_on(async {
                    let store = Store::open(&dir.path().join("import.db")).await.unwrap();
                    let parsed =
                        kxian_shared::ingest::parse_file("600000_1m.csv", &csv, &opts).unwrap();
                    let report = store.import(&parsed, "bench").await.unwrap();
                    assert_eq!(report.series[0].inserted, 1_000_000);
                    store.close().await;
                });
                dir
            },
        )
    });
    g.finish();
}

criterion_group!(benches, bars_api, import);
criterion_main!(benches);
