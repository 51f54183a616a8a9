//! `parse_file` throughput on a 1,000,000-row akshare-layout CSV generated in memory
//! (250 symbols × 4,000 daily bars, the full 12-column `stock_zh_a_hist` export).

use chrono::{Duration, NaiveDate};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use kxian_shared::api::ImportOptions;
use kxian_shared::ingest::parse_file;
use std::hint::black_box;

const SYMBOLS: usize = 250;
const DAYS: usize = 4_000;
const ROWS: u64 = (SYMBOLS * DAYS) as u64;

fn akshare_csv() -> Vec<u8> {
    let mut out = String::with_capacity(100 << 20);
    out.push_str("日期,股票代码,开盘,收盘,最高,最低,成交量,成交额,振幅,涨跌幅,涨跌额,换手率\n");
    let start = NaiveDate::from_ymd_opt(2000, 1, 3).unwrap_or_default();
    let dates: Vec<String> = (0..DAYS)
        .map(|i| {
            (start + Duration::days(i as i64))
                .format("%Y-%m-%d")
                .to_string()
        })
        .collect();
    let mut seed = 1u64;
    for s in 0..SYMBOLS {
        let code = format!("{:06}", 600_000 + s);
        let mut price = 10.0 + s as f64 / 10.0;
        for d in &dates {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let r = ((seed >> 33) as f64 / (1u64 << 31) as f64) - 0.5;
            let open = (price * 100.0_f64).round() / 100.0;
            let close = ((price * (1.0 + r * 0.04)) * 100.0).round() / 100.0;
            let high = (open.max(close) * 1.01 * 100.0).round() / 100.0;
            let low = (open.min(close) * 0.99 * 100.0).round() / 100.0;
            let lots = 10_000 + (seed >> 40) % 90_000;
            let amount = (high + low) / 2.0 * (lots * 100) as f64;
            out.push_str(&format!(
                "{d},{code},{open:.2},{close:.2},{high:.2},{low:.2},{lots},{amount:.2},2.00,{:.2},{:.2},0.85\n",
                r * 4.0,
                close - open
            ));
            price = close.max(1.0);
        }
    }
    out.into_bytes()
}

fn bench(c: &mut Criterion) {
    let csv = akshare_csv();
    let opts = ImportOptions::default();
    let parsed = parse_file("akshare_1m.csv", &csv, &opts).expect("the generated file parses");
    assert_eq!(parsed.rows_read, ROWS);
    assert_eq!(parsed.series.len(), SYMBOLS);
    drop(parsed);

    let mut g = c.benchmark_group("import");
    g.sample_size(10);
    g.throughput(Throughput::Elements(ROWS));
    g.bench_function("akshare_csv_1m_rows", |b| {
        b.iter(|| parse_file("akshare_1m.csv", black_box(&csv), &opts))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
