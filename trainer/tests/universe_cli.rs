//! Point-in-time universes: `[universe] index` buys only each day's members of the index, `at`
//! fixes one day's members, and float-cap weights read the stored float shares — all from
//! reference data in a real store.

use kxian_shared::backtest::engine::BacktestResult;
use kxian_shared::backtest::engine::RejectReason;
use kxian_shared::calendar::TradingCalendar;
use kxian_shared::import::ImportOptions;
use kxian_shared::reference::{
    IndustryRecord, MemberRecord, NorthboundRecord, ReferenceData, SharesRecord, StatusKind,
    StatusRecord,
};
use kxian_shared::rules::Side;
use std::path::Path;
use std::process::Command;

fn d(s: &str) -> chrono::NaiveDate {
    s.parse().unwrap()
}

/// Flat daily bars at `close` on every trading day of Nov 2023 – Mar 2024.
fn csv(close: f64) -> String {
    let days = TradingCalendar::embedded().trading_days_between(d("2023-11-01"), d("2024-03-29"));
    let mut t = String::from("date,open,high,low,close,volume\n");
    for (i, day) in days.iter().enumerate() {
        // A slight drift keeps the names' order fixed and the prices real.
        let c = close * (1.0 + 0.0005 * i as f64);
        t.push_str(&format!("{day},{c},{c},{c},{c},1000000\n"));
    }
    t
}

fn member(symbol: &str, from: &str, to: Option<&str>) -> MemberRecord {
    MemberRecord {
        index: "000905.SH".into(),
        symbol: symbol.into(),
        from: d(from),
        to: to.map(d),
        weight: None,
    }
}

/// A store with five names' bars and CSI 500 lists in which 600077.SH (the dearest) leaves on
/// 2024-01-31 and 688981.SH (the next) joins that day.
fn store(db: &Path) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let store = kxian_store::Store::open(db).await.unwrap();
        for (sym, close) in [
            ("600077.SH", 50.0),
            ("688981.SH", 40.0),
            ("300750.SZ", 20.0),
            ("600000.SH", 10.0),
            ("000001.SZ", 12.0),
            ("000905.SH", 5600.0),
        ] {
            let opts = ImportOptions {
                symbol: Some(sym.parse().unwrap()),
                ..ImportOptions::default()
            };
            let parsed = kxian_shared::ingest::parse_file(
                &format!("{sym}.csv"),
                csv(close).as_bytes(),
                &opts,
            )
            .unwrap();
            store.import(&parsed, "test").await.unwrap();
        }
        let data = ReferenceData {
            source: "test".into(),
            members: vec![
                member("000001.SZ", "2023-11-30", None),
                member("600000.SH", "2023-11-30", None),
                member("300750.SZ", "2023-11-30", None),
                member("600077.SH", "2023-11-30", Some("2024-01-30")),
                member("688981.SH", "2024-01-31", None),
            ],
            shares: [
                ("000001.SZ", 1.9e10),
                ("600000.SH", 2.9e10),
                ("300750.SZ", 3.9e9),
            ]
            .into_iter()
            .map(|(s, f)| SharesRecord {
                symbol: s.into(),
                date: d("2023-11-30"),
                total_shares: f,
                float_shares: f,
                pe: None,
                pb: Some(f / 1e10),
            })
            .collect(),
            industries: [
                ("000001.SZ", "银行"),
                ("600000.SH", "801780"),
                ("300750.SZ", "电气设备"),
            ]
            .into_iter()
            .map(|(s, i)| IndustryRecord {
                symbol: s.into(),
                industry: i.into(),
                from: d("2010-01-04"),
                to: None,
            })
            .collect(),
            // The engine reads suspensions from the store: 300750.SZ cannot trade these days.
            status: vec![StatusRecord {
                symbol: "300750.SZ".into(),
                kind: StatusKind::Suspended,
                from: d("2024-02-05"),
                to: Some(d("2024-02-09")),
                note: None,
            }],
            // Northbound holdings: 300750.SZ leads until 2024-01-31, when 000001.SZ overtakes.
            northbound: [
                ("300750.SZ", "2023-11-30", 11.6),
                ("000001.SZ", "2023-11-30", 6.7),
                ("000001.SZ", "2024-01-31", 13.0),
            ]
            .into_iter()
            .map(|(s, day, ratio)| NorthboundRecord {
                symbol: s.into(),
                date: d(day),
                shares: ratio * 1e8,
                ratio: Some(ratio),
            })
            .collect(),
            member_lists: Vec::new(),
        };
        store.import_reference(&data).await.unwrap();
        store.close().await;
    });
}

/// A temporary folder with [`store`]'s store in it.
fn stored() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("k.db");
    store(&db);
    (dir, db)
}

fn backtest(
    dir: &tempfile::TempDir,
    db: &Path,
    universe: &str,
    strategy: &str,
) -> (std::process::Output, Option<BacktestResult>) {
    crate::backtest_cli::run(
        dir,
        &format!(
            "[universe]\nstore = \"{}\"\nindex = \"000905.SH\"\nfrom = 2023-12-01\nto = 2024-03-29\nwarmup = 0\n{universe}\n\
             [strategy]\nkind = \"top_k\"\nrebalance = \"daily\"\n{strategy}\n\
             [engine]\ninitial_cash = 10_000_000\n",
            db.display()
        ),
    )
}

fn fills(r: &BacktestResult, symbol: &str, side: Side) -> Vec<chrono::NaiveDate> {
    r.fills
        .iter()
        .filter(|f| f.symbol.to_string() == symbol && f.side == side)
        .map(|f| f.day)
        .collect()
}

/// Shares of `symbol` held after the last fill.
fn held(r: &BacktestResult, symbol: &str) -> f64 {
    r.fills
        .iter()
        .filter(|f| f.symbol.to_string() == symbol)
        .map(|f| {
            if f.side == Side::Buy {
                f.shares
            } else {
                -f.shares
            }
        })
        .sum()
}

#[test]
fn an_index_universe_buys_each_days_members_and_at_fixes_one_days() {
    let (dir, db) = stored();

    // Each day's members: the dearest member is held until it leaves, then the one that joined.
    let (o, r) = backtest(&dir, &db, "", "score = \"$close\"\nk = 1");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let r = r.unwrap();
    let leaver_buys = fills(&r, "600077.SH", Side::Buy);
    let leaver_sells = fills(&r, "600077.SH", Side::Sell);
    let joiner_buys = fills(&r, "688981.SH", Side::Buy);
    assert!(
        !leaver_buys.is_empty() && leaver_buys.iter().all(|&x| x < d("2024-01-31")),
        "{leaver_buys:?}"
    );
    let last_sell = *leaver_sells.iter().max().unwrap();
    assert!(
        last_sell >= d("2024-01-31") && last_sell <= d("2024-02-02"),
        "sold out when it left: {leaver_sells:?}"
    );
    assert_eq!(held(&r, "600077.SH"), 0.0);
    assert!(
        held(&r, "688981.SH") > 0.0,
        "the name that joined is bought"
    );
    assert!(
        joiner_buys.iter().all(|&x| x >= d("2024-01-31")),
        "never before it joined: {joiner_buys:?}"
    );

    // The members of 2023-12-01, fixed: the leaver stays, the joiner never comes in.
    let (o, r) = backtest(&dir, &db, "at = 2023-12-01", "score = \"$close\"\nk = 1");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let r = r.unwrap();
    assert!(fills(&r, "688981.SH", Side::Buy).is_empty());
    assert!(held(&r, "600077.SH") > 0.0, "held to the end");

    // A day before the lists: refused, saying where they start.
    let (o, _) = backtest(&dir, &db, "at = 2020-01-02", "score = \"$close\"\nk = 1");
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("no members of 000905.SH on 2020-01-02") && err.contains("2023-11-30"),
        "{err}"
    );
}

#[test]
fn a_strategy_reads_the_stored_northbound_holdings_from_the_day_after_their_date() {
    let (dir, db) = stored();
    let (o, r) = backtest(&dir, &db, "", "score = \"ref.northbound\"\nk = 1");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let r = r.unwrap();
    let catl = fills(&r, "300750.SZ", Side::Buy);
    let pa = fills(&r, "000001.SZ", Side::Buy);
    // Orders decided at a day's close fill at the next open. 000001.SZ's 13 % of 2024-01-31
    // is disclosed the next morning: read on 2024-02-01, bought on 2024-02-02.
    assert!(
        !catl.is_empty() && catl.iter().all(|&x| x <= d("2024-02-01")),
        "{catl:?}"
    );
    assert_eq!(pa.first(), Some(&d("2024-02-02")), "{pa:?}");
    assert!(fills(&r, "300750.SZ", Side::Sell).contains(&d("2024-02-02")));
}

#[test]
fn float_cap_weights_follow_the_stored_float_shares_and_an_index_without_lists_is_refused() {
    let (dir, db) = stored();
    // The three names with float shares, weighted by float cap: 600000 (10 × 2.9e10) gets
    // 1.27× 000001 (12 × 1.9e10), and 300750 (20 × 3.9e9) about a third of 000001.
    let (o, r) = backtest(
        &dir,
        &db,
        "at = 2023-12-01",
        "score = \"$close\"\nk = 3\nfilter = \"$close < 30\"\nweighting = \"float_cap\"",
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let r = r.unwrap();
    let first = r.fills.iter().map(|f| f.day).min().unwrap();
    let value = |s: &str| {
        r.fills
            .iter()
            .filter(|f| f.day == first && f.symbol.to_string() == s && f.side == Side::Buy)
            .map(|f| f.shares * f.price)
            .sum::<f64>()
    };
    let (pf, pa, catl) = (value("600000.SH"), value("000001.SZ"), value("300750.SZ"));
    let ratio = pf / pa;
    assert!(
        (ratio - 2.9e11 / 2.28e11).abs() < 0.05,
        "600000 / 000001 = {ratio}"
    );
    assert!(
        (catl / pa - 7.8e10 / 2.28e11).abs() < 0.05,
        "300750 / 000001 = {}",
        catl / pa
    );
    // The stored suspension refuses 300750.SZ's daily trims that week, and only then.
    let suspended: Vec<_> = r
        .rejections
        .iter()
        .filter(|x| x.reason == RejectReason::Suspended)
        .map(|x| x.day)
        .collect();
    assert!(!suspended.is_empty(), "{:?}", r.rejections);
    assert!(
        suspended
            .iter()
            .all(|&x| x >= d("2024-02-05") && x <= d("2024-02-09")),
        "{suspended:?}"
    );
    assert!(!r.fills.iter().any(|f| f.symbol.to_string() == "300750.SZ"
        && f.day >= d("2024-02-05")
        && f.day <= d("2024-02-09")));

    let cfg_index = dir.path().join("other.toml");
    std::fs::write(
        &cfg_index,
        format!(
            "[universe]\nstore = \"{}\"\nindex = \"000852.SH\"\n[strategy]\nkind = \"top_k\"\nscore = \"$close\"\n",
            db.display()
        ),
    )
    .unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_kxian-trainer"))
        .args(["backtest", "--config", cfg_index.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("no members of 000852.SH") && err.contains("download --reference"),
        "{err}"
    );
}

#[test]
fn the_analysis_reports_sectors_size_and_value_from_the_stored_reference_data() {
    let (dir, db) = stored();
    let cfg = dir.path().join("analysis.toml");
    std::fs::write(
        &cfg,
        format!(
            "[universe]\nstore = \"{}\"\nindex = \"000905.SH\"\nat = 2023-12-01\n[analysis]\nindex = \"000905.SH\"\nat = 2024-02-05\n",
            db.display()
        ),
    )
    .unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_kxian-trainer"))
        .args([
            "analyze",
            "--config",
            cfg.to_str().unwrap(),
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let r: kxian_shared::analysis::AnalysisReport = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(r.symbols, 4, "the members of 2023-12-01");
    let ind = r.industry.expect("sectors");
    assert_eq!(ind.of("finance"), ["000001.SZ", "600000.SH"]);
    assert_eq!(ind.of("industrial"), ["300750.SZ"]);
    assert_eq!(ind.too_short, ["600077.SH"], "no industry stored");
    let size = r.size.expect("size");
    // 600000.SH: 10 × 2.9e10 is the largest float cap of the three with shares.
    assert_eq!(size.buckets[0].symbols, ["600000.SH"]);
    let vg = r.value_growth.expect("value / growth");
    assert_eq!(vg.of("value"), ["300750.SZ"], "the lowest PB");
    assert!(r.unavailable.is_empty(), "{:?}", r.unavailable);
}

#[test]
fn industry_neutral_ranks_within_each_sector_and_needs_industries() {
    let (dir, db) = stored();
    // Closes 12 (000001.SZ) and 10 (600000.SH) in finance, 20 (300750.SZ) alone in industrial:
    // within their sectors 000001.SZ is +1 and the best; the dearest names have no industry.
    let (o, r) = backtest(
        &dir,
        &db,
        "at = 2023-12-01",
        "score = \"industry_neutral($close)\"\nk = 1",
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let r = r.unwrap();
    let bought: std::collections::BTreeSet<String> = r
        .fills
        .iter()
        .filter(|f| f.side == Side::Buy)
        .map(|f| f.symbol.to_string())
        .collect();
    assert_eq!(bought, ["000001.SZ".to_string()].into());

    // A store without industries: refused, saying where they come from.
    let bare_db = dir.path().join("bare.db");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let store = kxian_store::Store::open(&bare_db).await.unwrap();
        let opts = ImportOptions {
            symbol: Some("600000.SH".parse().unwrap()),
            ..ImportOptions::default()
        };
        let parsed =
            kxian_shared::ingest::parse_file("p.csv", csv(10.0).as_bytes(), &opts).unwrap();
        store.import(&parsed, "test").await.unwrap();
        store.close().await;
    });
    let bare = dir.path().join("bare.toml");
    std::fs::write(
        &bare,
        format!(
            "[universe]\nstore = \"{}\"\nsymbols = [\"600000.SH\"]\n[strategy]\nkind = \"top_k\"\nscore = \"industry_neutral($close)\"\n",
            bare_db.display()
        ),
    )
    .unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_kxian-trainer"))
        .args(["backtest", "--config", bare.to_str().unwrap()])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("industry_neutral") && err.contains("reference"),
        "{err}"
    );
}

/// `evaluate-predictions` on a store with reference data splits the score's rank IC by
/// sector: a score that ranks the banks' next returns right and the industrials' exactly
/// wrong shows +1 in one and −1 in the other.
#[test]
fn prediction_ic_is_reported_within_each_sector() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("k.db");
    let days = TradingCalendar::embedded().trading_days_between(d("2023-11-01"), d("2024-03-29"));
    let names = [
        "600001.SH",
        "600002.SH",
        "600003.SH",
        "600004.SH",
        "600005.SH",
        "600006.SH",
    ];
    let growth = |k: usize| 0.0005 * (k + 1) as f64;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let store = kxian_store::Store::open(&db).await.unwrap();
        for (k, sym) in names.iter().enumerate() {
            let mut t = String::from("date,open,high,low,close,volume\n");
            for (i, day) in days.iter().enumerate() {
                let c = 10.0 * (1.0 + growth(k)).powi(i as i32);
                t.push_str(&format!("{day},{c},{c},{c},{c},1000000\n"));
            }
            let opts = ImportOptions {
                symbol: Some(sym.parse().unwrap()),
                ..ImportOptions::default()
            };
            let parsed = kxian_shared::ingest::parse_file("s.csv", t.as_bytes(), &opts).unwrap();
            store.import(&parsed, "test").await.unwrap();
        }
        let data = ReferenceData {
            source: "test".into(),
            industries: names
                .iter()
                .enumerate()
                .map(|(k, s)| IndustryRecord {
                    symbol: s.to_string(),
                    industry: if k < 3 { "银行" } else { "电气设备" }.into(),
                    from: d("2010-01-04"),
                    to: None,
                })
                .collect(),
            ..ReferenceData::default()
        };
        store.import_reference(&data).await.unwrap();
        store.close().await;
    });
    let mut csv = String::from("symbol,as_of,horizon,score,p_up,p_down,p_flat\n");
    for day in days.iter().skip(30).step_by(10).take(6) {
        for (k, sym) in names.iter().enumerate() {
            let score = if k < 3 { growth(k) } else { -growth(k) };
            csv.push_str(&format!("{sym},{day},5,{score},0.5,0.25,0.25\n"));
        }
    }
    std::fs::write(dir.path().join("preds.csv"), csv).unwrap();
    let config = dir.path().join("p.toml");
    std::fs::write(
        &config,
        format!(
            "[universe]\nstore = {:?}\nsymbols = {names:?}\n\n[model]\nkind = \"classifier\"\npath = \"unused\"\n\n\
             [schedule]\nevery = \"day\"\n\n[output]\ncsv = \"preds.csv\"\n",
            db.display().to_string()
        ),
    )
    .unwrap();
    let report = dir.path().join("report.json");
    let o = Command::new(env!("CARGO_BIN_EXE_kxian-trainer"))
        .args(["evaluate-predictions", "--config"])
        .arg(&config)
        .arg("--output")
        .arg(&report)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let r: serde_json::Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    let bucket = |b: &str| {
        r["by_bucket"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["grouping"] == "sector" && x["bucket"] == b)
            .cloned()
            .unwrap_or_else(|| panic!("no {b} in {}", r["by_bucket"]))
    };
    assert_eq!(bucket("finance")["dates"], 6);
    assert_eq!(bucket("finance")["mean_rank_ic"].as_f64(), Some(1.0));
    assert_eq!(bucket("industrial")["mean_rank_ic"].as_f64(), Some(-1.0));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("rank IC within each sector"), "{text}");
}
