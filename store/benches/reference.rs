//! Reference data at the scale of the whole market: 5,000 stocks × 10 years (their industries
//! and listings, 120 month-ends of shares each, ST and suspension periods) and the members of
//! four indices over those years, imported into a fresh store; then a CSI 500 universe resolved
//! at 120 monthly rebalance dates, and a backtest's reads of 500 members' shares and status.
//!
//!   cargo bench -p kxian-store --bench reference

use chrono::NaiveDate;
use criterion::{Criterion, criterion_group, criterion_main};
use kxian_shared::reference::membership::{Snapshot, members_on, stays};
use kxian_shared::reference::{
    IndustryRecord, ReferenceData, SharesRecord, StatusKind, StatusRecord,
};
use kxian_store::Store;

const STOCKS: usize = 5_000;
const MONTHS: usize = 120;

fn symbol(i: usize) -> String {
    if i.is_multiple_of(2) {
        format!("{:06}.SH", 600_000 + i)
    } else {
        format!("{:06}.SZ", i)
    }
}

fn month_end(m: usize) -> NaiveDate {
    let (y, mo) = (2015 + (m / 12) as i32, (m % 12) as u32 + 1);
    let first_next = if mo == 12 {
        NaiveDate::from_ymd_opt(y + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(y, mo + 1, 1)
    }
    .unwrap();
    first_next.pred_opt().unwrap()
}

/// The whole market's reference data, deterministic.
fn market() -> ReferenceData {
    let industries = [
        "银行",
        "半导体",
        "白酒",
        "电气设备",
        "化学制药",
        "全国地产",
        "普钢",
    ];
    let mut data = ReferenceData {
        source: "bench".into(),
        ..ReferenceData::default()
    };
    let listed = NaiveDate::from_ymd_opt(2010, 1, 4).unwrap();
    for i in 0..STOCKS {
        let s = symbol(i);
        data.industries.push(IndustryRecord {
            symbol: s.clone(),
            industry: industries[i % industries.len()].into(),
            from: listed,
            to: None,
        });
        data.status.push(StatusRecord {
            symbol: s.clone(),
            kind: StatusKind::Listed,
            from: listed,
            to: None,
            note: None,
        });
        if i.is_multiple_of(25) {
            data.status.push(StatusRecord {
                symbol: s.clone(),
                kind: StatusKind::St,
                from: month_end(i % 100),
                to: Some(month_end(i % 100 + 12)),
                note: Some("ST".into()),
            });
        }
        if i.is_multiple_of(10) {
            let from = month_end(i % 110) + chrono::Days::new(3);
            data.status.push(StatusRecord {
                symbol: s.clone(),
                kind: StatusKind::Suspended,
                from,
                to: Some(from + chrono::Days::new(4)),
                note: None,
            });
        }
        for m in 0..MONTHS {
            let shares = 1e8 * (1 + i % 97) as f64 * (1.0 + m as f64 / 240.0);
            data.shares.push(SharesRecord {
                symbol: s.clone(),
                date: month_end(m),
                total_shares: shares * 1.2,
                float_shares: shares,
                pe: Some(10.0 + (i % 40) as f64),
                pb: Some(0.8 + (i % 9) as f64 / 3.0),
            });
        }
    }
    // Four indices of 300, 500, 1000 and 50 names; a tenth of each list turns over each year.
    for (index, size, offset) in [
        ("000300.SH", 300, 0),
        ("000905.SH", 500, 300),
        ("000852.SH", 1000, 800),
        ("000016.SH", 50, 0),
    ] {
        let snapshots: Vec<Snapshot> = (0..MONTHS)
            .map(|m| {
                let shift = (m / 12) * size / 10;
                Snapshot {
                    date: month_end(m),
                    members: (0..size)
                        .map(|k| (symbol((offset + shift + k) % STOCKS), None))
                        .collect(),
                }
            })
            .collect();
        data.members.extend(stays(index, &snapshots));
    }
    data
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let data = market();
    eprintln!(
        "reference data: {} industries, {} shares rows, {} index stays, {} status periods",
        data.industries.len(),
        data.shares.len(),
        data.members.len(),
        data.status.len()
    );
    let mut g = c.benchmark_group("reference");
    g.sample_size(10);
    g.bench_function("import 5,000 stocks x 10 years into a fresh store", |b| {
        b.iter(|| {
            let dir = tempfile::tempdir().unwrap();
            rt.block_on(async {
                let store = Store::open(&dir.path().join("r.db")).await.unwrap();
                store.import_reference(&data).await.unwrap();
                store.close().await;
            })
        })
    });
    let dir = tempfile::tempdir().unwrap();
    let store = rt.block_on(async {
        let store = Store::open(&dir.path().join("r.db")).await.unwrap();
        store.import_reference(&data).await.unwrap();
        store
    });
    let dates: Vec<NaiveDate> = (0..MONTHS).map(month_end).collect();
    g.bench_function("CSI 500 members at 120 rebalance dates", |b| {
        b.iter(|| {
            let stays = rt.block_on(store.index_members("000905.SH")).unwrap();
            let n: usize = dates
                .iter()
                .map(|d| members_on(&stays, "000905.SH", *d).len())
                .sum();
            assert_eq!(n, 500 * MONTHS);
        })
    });
    let names: Vec<String> = rt
        .block_on(store.index_members("000905.SH"))
        .unwrap()
        .iter()
        .filter(|m| m.holds_on(dates[60]))
        .map(|m| m.symbol.clone())
        .collect();
    g.bench_function(
        "500 members' shares and status, as a backtest reads them",
        |b| {
            b.iter(|| {
                let r = rt.block_on(store.reference_of(&names)).unwrap();
                assert_eq!(r.shares.len(), 500 * MONTHS);
            })
        },
    );
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
