//! `kxian-trainer download` against a loopback mock of Eastmoney that replays the recorded
//! bodies of `tests/fixtures/upstream` (matched as its `manifest.json` says), with faults
//! injected per secid: a 429 storm, a connection dropped without an answer, malformed JSON,
//! unknown securities and empty ranges.

use crate::eastmoney_mock::{Fault, Mock, fixtures};
use kxian_shared::api::ImportOptions;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

fn download(mock: &Mock, out: &Path, extra: &[&str]) -> (std::process::Output, Vec<Value>) {
    let o = Command::new(env!("CARGO_BIN_EXE_kxian-trainer"))
        .args(["download", "--out"])
        .arg(out)
        .args([
            "--eastmoney-url",
            &mock.base,
            "--eastmoney-list-url",
            &mock.base,
            "--from",
            "2024-09-02",
            "--to",
            "2024-09-13",
            "--min-interval-ms",
            "50",
            "--backoff-ms",
            "40",
            "--timeout-s",
            "5",
            "--progress",
            "json",
        ])
        .args(extra)
        .output()
        .unwrap();
    let events = String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (o, events)
}

fn manifest(out: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap()
}

/// The fixture's klines as (date, open, close, high, low, volume lots, amount).
fn fixture_rows(file: &str) -> Vec<Vec<String>> {
    let v: Value =
        serde_json::from_slice(&std::fs::read(fixtures().join("eastmoney").join(file)).unwrap())
            .unwrap();
    v["data"]["klines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap().split(',').map(str::to_string).collect())
        .collect()
}

#[test]
fn downloads_survive_429_storms_dropped_connections_and_bad_answers() {
    let faults = BTreeMap::from([
        ("1.600000".to_string(), Fault::TooMany(2)),
        ("0.000001".to_string(), Fault::Drop(1)),
        ("1.601398".to_string(), Fault::Malformed),
    ]);
    let mock = Mock::start(faults);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("dl");
    let (o, events) = download(
        &mock,
        &out,
        &["--symbols", "000001.SZ,sh600000,510300,999998.SH,601398"],
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");

    // Per-symbol outcomes, in the manifest and in the events.
    let m = manifest(&out);
    let status = |s: &str| {
        m["series"][s]["outcome"]["status"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(status("000001.SZ"), "downloaded");
    assert_eq!(status("600000.SH"), "downloaded");
    assert_eq!(status("510300.SH"), "downloaded");
    assert_eq!(status("999998.SH"), "unknown");
    assert_eq!(status("601398.SH"), "failed");
    assert!(
        m["series"]["601398.SH"]["outcome"]["error"]
            .as_str()
            .unwrap()
            .contains("malformed"),
        "{m}"
    );
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(kinds.first(), Some(&"start"));
    assert_eq!(kinds.iter().filter(|k| **k == "symbol").count(), 5);
    let done = events.last().unwrap();
    assert_eq!(done["event"], "done");
    assert_eq!(
        (
            done["downloaded"].as_u64(),
            done["unknown"].as_u64(),
            done["failed"].as_u64()
        ),
        (Some(3), Some(1), Some(1))
    );

    // Retries: 600000 took three requests (two 429s), 000001 two (one dropped connection);
    // the malformed one used every attempt. Requests keep the minimum interval, and the
    // retries wait for their backoff.
    let log = mock.log();
    let count = |s: &str| log.iter().filter(|(x, _)| x == s).count();
    assert_eq!(count("1.600000"), 3);
    assert_eq!(count("0.000001"), 2);
    assert_eq!(
        count("1.601398"),
        1,
        "a malformed answer is not retried blindly"
    );
    // The mock stamps a request when it reads it, so a busy machine can delay one stamp and
    // shorten the gap after it; without the interval the gaps would be a millisecond or two.
    for w in log.windows(2) {
        assert!(
            w[1].1 - w[0].1 >= 0.025,
            "requests {w:?} closer than half the 50 ms interval"
        );
    }
    let times: Vec<f64> = log
        .iter()
        .filter(|(x, _)| x == "1.600000")
        .map(|x| x.1)
        .collect();
    assert!(
        times[1] - times[0] >= 0.08 && times[2] - times[1] >= 0.16,
        "backoff {times:?}"
    );

    // The CSV is the fixture in canonical units, and the importer reads it back exactly.
    let file = out.join("000001.SZ.daily.none.csv");
    let bytes = std::fs::read(&file).unwrap();
    let parsed = kxian_shared::ingest::parse_file(
        "000001.SZ.daily.none.csv",
        &bytes,
        &ImportOptions::default(),
    )
    .unwrap()
    .series
    .remove(0);
    let rows = fixture_rows("kline_daily_0.000001_fqt0_20240902_20240913.json");
    assert_eq!(parsed.bars.len(), rows.len());
    assert_eq!(parsed.symbol.to_string(), "000001.SZ");
    for (b, r) in parsed.bars.iter().zip(&rows) {
        assert_eq!(b.ts.date().to_string(), r[0]);
        assert_eq!(b.open, r[1].parse::<f64>().unwrap());
        assert_eq!(b.close, r[2].parse::<f64>().unwrap());
        assert_eq!(b.high, r[3].parse::<f64>().unwrap());
        assert_eq!(b.low, r[4].parse::<f64>().unwrap());
        assert_eq!(
            b.volume,
            r[5].parse::<f64>().unwrap() * 100.0,
            "lots become shares"
        );
        assert_eq!(b.amount, Some(r[6].parse::<f64>().unwrap()));
    }
    assert_eq!(m["series"]["000001.SZ"]["name"], "平安银行");
    assert_eq!(
        m["series"]["000001.SZ"]["request"],
        "secid=0.000001&klt=101&fqt=0"
    );

    // A second run is incremental: nothing new, nothing appended, the failure retried.
    let before = std::fs::read(&file).unwrap();
    let (o, _) = download(&mock, &out, &["--symbols", "000001.SZ,600000,510300"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let m = manifest(&out);
    assert_eq!(m["series"]["000001.SZ"]["outcome"]["status"], "up_to_date");
    assert_eq!(m["series"]["000001.SZ"]["bars"], rows.len());
    assert_eq!(std::fs::read(&file).unwrap(), before);
}

/// `--limit 2` on the A-share list keeps the two names with the largest float market cap
/// (600519 and 600000 in the recorded list of five), not the list's first two.
#[test]
fn a_limited_universe_takes_the_largest_float_caps() {
    let mock = Mock::start(BTreeMap::new());
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("a");
    let (o, _) = download(&mock, &out, &["--universe", "all-a", "--limit", "2"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let m = manifest(&out);
    let names: Vec<&String> = m["series"].as_object().unwrap().keys().collect();
    assert_eq!(names, ["600000.SH", "600519.SH"], "{m}");
    assert_eq!(m["series"]["600000.SH"]["outcome"]["status"], "downloaded");
    // A limit without a list is refused before anything is fetched.
    let (o, _) = download(&mock, &out, &["--symbols", "600000", "--limit", "2"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--universe"));
}

#[test]
fn all_etfs_empty_ranges_and_refusals() {
    let mock = Mock::start(BTreeMap::new());
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("etf");
    // The ETF list names 510300 (replayed) and 159915 (no recorded answer: a 404, reported
    // for that symbol only).
    let (o, _) = download(&mock, &out, &["--universe", "all-etfs"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let m = manifest(&out);
    assert_eq!(m["series"]["510300.SH"]["outcome"]["status"], "downloaded");
    assert_eq!(m["series"]["159915.SZ"]["outcome"]["status"], "failed");
    assert!(out.join("510300.SH.daily.none.csv").exists());

    // An index is probed across market ids; a range with no bars is "empty", not an error.
    let out2 = dir.path().join("idx");
    let o = Command::new(env!("CARGO_BIN_EXE_kxian-trainer"))
        .args([
            "download",
            "--symbols",
            "000300.SH",
            "--from",
            "2030-01-01",
            "--out",
        ])
        .arg(&out2)
        .args([
            "--eastmoney-url",
            &mock.base,
            "--min-interval-ms",
            "10",
            "--backoff-ms",
            "10",
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(
        manifest(&out2)["series"]["000300.SH"]["outcome"]["status"],
        "empty"
    );

    // Bad arguments are refused before any request.
    for (args, needle) in [
        (vec!["--symbols", "12345x"], "--symbols"),
        (
            vec![
                "--symbols",
                "600000",
                "--source",
                "yahoo",
                "--frequency",
                "1m",
            ],
            "daily bars only",
        ),
    ] {
        let o = Command::new(env!("CARGO_BIN_EXE_kxian-trainer"))
            .arg("download")
            .args(&args)
            .arg("--out")
            .arg(dir.path().join("bad"))
            .args(["--eastmoney-url", &mock.base])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{err}");
        assert!(err.contains(needle), "{needle}: {err}");
    }
}

fn source_run(mock: &Mock, out: &Path, extra: &[&str], token: &str) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_kxian-trainer"))
        .args(["download", "--out"])
        .arg(out)
        .args([
            "--tushare-url",
            &mock.base,
            "--yahoo-url",
            &mock.base,
            "--from",
            "2024-09-02",
            "--to",
            "2024-09-13",
            "--min-interval-ms",
            "20",
            "--backoff-ms",
            "20",
            "--tushare-quota-wait-ms",
            "50",
        ])
        .args(extra)
        .env("KXIAN_TUSHARE_TOKEN", token)
        .output()
        .unwrap()
}

fn read_csv(path: &Path) -> Vec<kxian_shared::Bar> {
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    kxian_shared::ingest::parse_file(
        &name,
        &std::fs::read(path).unwrap(),
        &ImportOptions::default(),
    )
    .unwrap()
    .series
    .remove(0)
    .bars
}

#[test]
fn tushare_daily_fund_and_index_bars_with_the_token_kept_secret() {
    let mock = Mock::start(BTreeMap::from([(
        "tushare:000001.SZ".to_string(),
        Fault::TooMany(1),
    )]));
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("ts");
    let o = source_run(
        &mock,
        &out,
        &[
            "--source",
            "tushare",
            "--symbols",
            "000001.SZ,000300.SH,510300",
        ],
        "test-token",
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(!err.contains("test-token"), "the token leaked: {err}");
    let m = manifest(&out);
    for s in ["000001.SZ", "000300.SH", "510300.SH"] {
        assert_eq!(
            m["series"][s]["outcome"]["status"], "downloaded",
            "{s}: {m}"
        );
    }
    assert_eq!(
        m["series"]["000300.SH"]["request"],
        "api_name=index_daily&ts_code=000300.SH"
    );
    assert_eq!(
        m["series"]["510300.SH"]["request"],
        "api_name=fund_daily&ts_code=510300.SH"
    );
    // The quota answer was waited out: two calls for 000001.SZ.
    assert_eq!(
        mock.log()
            .iter()
            .filter(|x| x.0 == "tushare:000001.SZ")
            .count(),
        2
    );
    // Units: vol in lots and amount in thousand CNY become shares and CNY; oldest first.
    let bars = read_csv(&out.join("000001.SZ.daily.none.csv"));
    let fixture: Value = serde_json::from_slice(
        &std::fs::read(fixtures().join("tushare/daily_000001.SZ_20240902_20240913.json")).unwrap(),
    )
    .unwrap();
    let newest = &fixture["data"]["items"][0];
    let last = bars.last().unwrap();
    assert_eq!(last.ts.date().to_string(), "2024-09-13");
    assert_eq!(last.close, newest[5].as_f64().unwrap());
    assert!((last.volume - newest[9].as_f64().unwrap() * 100.0).abs() < 1e-6);
    assert!((last.amount.unwrap() - newest[10].as_f64().unwrap() * 1000.0).abs() < 1e-6);
    assert!(bars.windows(2).all(|w| w[0].ts < w[1].ts));
    // The same bars as Eastmoney's recording of the fortnight (cross-source check).
    let em = fixture_rows("kline_daily_0.000001_fqt0_20240902_20240913.json");
    assert_eq!(bars.len(), em.len());
    for (b, r) in bars.iter().zip(&em) {
        assert_eq!(b.close, r[2].parse::<f64>().unwrap(), "{}", r[0]);
    }

    // A wrong token stops the run at once and says so, without echoing it.
    let o = source_run(
        &mock,
        &dir.path().join("bad"),
        &["--source", "tushare", "--symbols", "000001.SZ"],
        "wrong-secret",
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("40101") && !err.contains("wrong-secret"),
        "{err}"
    );
    let o = source_run(
        &mock,
        &dir.path().join("none"),
        &["--source", "tushare", "--symbols", "000001.SZ"],
        "",
    );
    assert!(String::from_utf8_lossy(&o.stderr).contains("needs your token"));
}

#[test]
fn tushare_answers_cut_by_the_row_cap_are_paged_back_over_the_whole_range() {
    // Three rows an answer: the fortnight's ten bars take four calls, each asking for the
    // days before the oldest row of the last.
    let mock = Mock::start(BTreeMap::from([(
        "tushare:000001.SZ".to_string(),
        Fault::Paged(3),
    )]));
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("paged");
    let o = source_run(
        &mock,
        &out,
        &["--source", "tushare", "--symbols", "000001.SZ"],
        "test-token",
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let calls = mock
        .log()
        .iter()
        .filter(|x| x.0 == "tushare:000001.SZ")
        .count();
    assert_eq!(calls, 4, "10 rows at 3 a page");
    let bars = read_csv(&out.join("000001.SZ.daily.none.csv"));
    let em = fixture_rows("kline_daily_0.000001_fqt0_20240902_20240913.json");
    assert_eq!(bars.len(), em.len(), "every day of the range, once");
    for (b, r) in bars.iter().zip(&em) {
        assert_eq!(b.ts.date().to_string(), r[0]);
        assert_eq!(b.close, r[2].parse::<f64>().unwrap(), "{}", r[0]);
    }
}

#[test]
fn yahoo_daily_bars_in_shanghai_days_and_ticks() {
    let mock = Mock::start(BTreeMap::new());
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("yh");
    let o = source_run(
        &mock,
        &out,
        &["--source", "yahoo", "--symbols", "600000.SH,999999.SH"],
        "",
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let m = manifest(&out);
    assert_eq!(
        m["series"]["600000.SH"]["outcome"]["status"], "downloaded",
        "{m}"
    );
    assert_eq!(
        m["series"]["999999.SH"]["outcome"]["status"], "unknown",
        "{m}"
    );
    let bars = read_csv(&out.join("600000.SH.daily.none.csv"));
    assert_eq!(bars.first().unwrap().ts.date().to_string(), "2024-09-02");
    assert_eq!(bars.last().unwrap().ts.date().to_string(), "2024-09-13");
    // 8.369999885559082 arrives as float32; the tick makes it 8.37. No amount from Yahoo.
    assert_eq!(bars[0].open, 8.37);
    assert!(bars.iter().all(|b| b.amount.is_none() && b.volume > 0.0));
    for (args, needle) in [
        (
            vec![
                "--source",
                "yahoo",
                "--symbols",
                "600000",
                "--adjustment",
                "hfq",
            ],
            "hfq",
        ),
        (
            vec![
                "--source",
                "yahoo",
                "--symbols",
                "600000",
                "--frequency",
                "60m",
            ],
            "daily bars only",
        ),
    ] {
        let o = source_run(&mock, &dir.path().join("bad"), &args, "");
        assert_eq!(o.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&o.stderr).contains(needle));
    }
}

/// `download --reference` over the fixtures' four months (2023-11 to 2024-02).
fn reference_run(mock: &Mock, out: &Path, extra: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_kxian-trainer"))
        .args(["download", "--reference", "--source", "tushare", "--out"])
        .arg(out)
        .args([
            "--tushare-url",
            &mock.base,
            "--from",
            "2023-11-01",
            "--to",
            "2024-02-29",
        ])
        .args(["--min-interval-ms", "5", "--backoff-ms", "20"])
        .args(extra)
        .env("KXIAN_TUSHARE_TOKEN", "test-token")
        .output()
        .unwrap()
}

/// A reference download of `indices` that must work, and what it wrote.
fn reference_ok(mock: &Mock, out: &Path, indices: &str) -> kxian_shared::reference::ReferenceData {
    let o = reference_run(mock, out, &["--index", indices]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&std::fs::read(out.join("reference.json")).unwrap()).unwrap()
}

#[test]
fn reference_data_arrives_point_in_time_and_a_paged_constituent_list_loses_no_day() {
    use kxian_shared::reference::{StatusKind, membership::members_on};
    let mock = Mock::start(BTreeMap::new());
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("ref");
    let data = reference_ok(&mock, &out, "000905.SH,000300.SH");
    data.check().unwrap();
    let d = |s: &str| s.parse::<chrono::NaiveDate>().unwrap();
    let on = |day: &str| members_on(&data.members, "000905.SH", d(day));
    // 600077.SH leaves with the January list, 688981.SH joins with it.
    let dec: Vec<&str> = vec!["000001.SZ", "300750.SZ", "600000.SH", "600077.SH"];
    let feb: Vec<&str> = vec!["000001.SZ", "300750.SZ", "600000.SH", "688981.SH"];
    assert_eq!(
        on("2023-12-01")
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
        dec
    );
    assert_eq!(
        on("2024-02-01")
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
        feb
    );
    assert!(on("2023-11-29").is_empty(), "nothing before the first list");
    // Industries from both the listed and the delisted list; the delisting ends its listing.
    let industry = |s: &str| {
        data.industries
            .iter()
            .find(|r| r.symbol == s)
            .map(|r| r.industry.clone())
    };
    assert_eq!(industry("600077.SH").as_deref(), Some("全国地产"));
    assert_eq!(industry("688981.SH").as_deref(), Some("半导体"));
    let listed = data
        .status
        .iter()
        .find(|r| r.symbol == "600077.SH" && r.kind == StatusKind::Listed)
        .unwrap();
    assert_eq!(listed.to, Some(d("2024-05-28")));
    // Shares in shares (the answer's 万股 × 10,000), at each of the four month ends.
    let pf: Vec<_> = data
        .shares
        .iter()
        .filter(|r| r.symbol == "600000.SH")
        .collect();
    assert_eq!(pf.len(), 4);
    assert_eq!(pf[0].total_shares, 2935216.2 * 10_000.0);
    // Northbound holdings at the month ends that have them: the Shanghai and Shenzhen
    // Connect rows, not the southbound HK one.
    let nb: Vec<(&str, f64, Option<f64>)> = data
        .northbound
        .iter()
        .map(|r| (r.symbol.as_str(), r.shares, r.ratio))
        .collect();
    assert_eq!(
        nb,
        [
            ("000001.SZ", 1296012346.0, Some(6.68)),
            ("600000.SH", 610213456.0, Some(2.08)),
            ("300750.SZ", 512345678.0, Some(11.65)),
        ]
    );
    assert!(data.northbound.iter().all(|r| r.date == d("2023-12-29")));
    // ST then *ST is one ST period; the suspension's five days are one period.
    let st: Vec<_> = data
        .status
        .iter()
        .filter(|r| r.kind == StatusKind::St)
        .collect();
    assert_eq!(st.len(), 1);
    assert_eq!((st[0].from, st[0].to), (d("2023-05-05"), None));
    let susp: Vec<_> = data
        .status
        .iter()
        .filter(|r| r.kind == StatusKind::Suspended && r.symbol == "600077.SH")
        .map(|r| (r.from, r.to))
        .collect();
    assert_eq!(susp, [(d("2024-01-15"), Some(d("2024-01-19")))]);

    // The same list cut at five rows an answer (a day has four): every day still arrives whole.
    let paged = Mock::start(BTreeMap::from([(
        "tushare:000905.SH".to_string(),
        Fault::Paged(5),
    )]));
    let again = reference_ok(&paged, &dir.path().join("ref-paged"), "000905.SH");
    assert_eq!(
        again.members,
        data.members
            .iter()
            .filter(|m| m.index == "000905.SH")
            .cloned()
            .collect::<Vec<_>>()
    );
    let calls = paged
        .log()
        .iter()
        .filter(|x| x.0 == "tushare:000905.SH")
        .count();
    assert_eq!(
        calls, 4,
        "16 rows, one day dropped and asked again per cut page"
    );

    // Bars' source only: another source is refused as bad input.
    let o = Command::new(env!("CARGO_BIN_EXE_kxian-trainer"))
        .args(["download", "--reference", "--out"])
        .arg(dir.path().join("x"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--source tushare"));
}

/// Stores a download folder's CSVs and a `reference.json` as `kxian import` would.
fn import_into(db: &Path, folders: &[&Path]) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let store = kxian_store::Store::open(db).await.unwrap();
        for folder in folders {
            for e in std::fs::read_dir(folder).unwrap() {
                let path = e.unwrap().path();
                let name = path.file_name().unwrap().to_string_lossy().into_owned();
                let bytes = std::fs::read(&path).unwrap();
                if name == "reference.json" {
                    let data = serde_json::from_slice(&bytes).unwrap();
                    store.import_reference(&data).await.unwrap();
                } else if name.ends_with(".csv") {
                    let opts = ImportOptions {
                        adjustment: if name.contains(".qfq.") {
                            kxian_shared::Adjustment::Qfq
                        } else {
                            kxian_shared::Adjustment::None
                        },
                        ..Default::default()
                    };
                    let parsed = kxian_shared::ingest::parse_file(&name, &bytes, &opts).unwrap();
                    store.import(&parsed, "test").await.unwrap();
                }
            }
        }
        store.close().await;
    });
}

#[test]
fn seed_002_csi500_rotation_runs_from_a_download_with_the_members_of_its_start_date() {
    use kxian_shared::backtest::engine::BacktestResult;
    use std::collections::BTreeSet;
    let mock = Mock::start(BTreeMap::new());
    let dir = tempfile::tempdir().unwrap();
    let refdir = dir.path().join("ref");
    reference_ok(&mock, &refdir, "000905.SH");
    // The members of 2023-12-01, in qfq, from Tushare.
    let bars = dir.path().join("bars");
    let o = Command::new(env!("CARGO_BIN_EXE_kxian-trainer"))
        .args([
            "download",
            "--source",
            "tushare",
            "--adjustment",
            "qfq",
            "--out",
        ])
        .arg(&bars)
        .args(["--symbols", "000001.SZ,300750.SZ,600000.SH,600077.SH"])
        .args([
            "--tushare-url",
            &mock.base,
            "--from",
            "2023-11-01",
            "--to",
            "2025-06-01",
        ])
        .args(["--min-interval-ms", "5"])
        .env("KXIAN_TUSHARE_TOKEN", "test-token")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let db = dir.path().join("k.db");
    import_into(&db, &[&refdir, &bars]);

    let config =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples/backtest/csi500-rotation.toml");
    let out = dir.path().join("seed002.json");
    let o = Command::new(env!("CARGO_BIN_EXE_kxian-trainer"))
        .args(["backtest", "--config"])
        .arg(&config)
        .arg("--store")
        .arg(&db)
        .arg("--output")
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8_lossy(&o.stdout);
    let r: BacktestResult = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    // Trades happened, monthly, among exactly the four members of 2023-12-01 (688981.SH joined
    // later and is never bought).
    assert!(r.fills.len() >= 4 && r.sells >= 2, "{text}");
    let traded: BTreeSet<String> = r.fills.iter().map(|f| f.symbol.to_string()).collect();
    let members: BTreeSet<String> = ["000001.SZ", "300750.SZ", "600000.SH", "600077.SH"]
        .map(String::from)
        .into();
    assert!(
        traded.is_subset(&members) && traded.len() >= 2,
        "{traded:?}"
    );
    assert!(text.contains("4 symbols"), "{text}");
    assert!(
        r.fills
            .iter()
            .all(|f| f.day >= "2023-12-01".parse().unwrap())
    );
    // Commission and slippage only: no stamp duty or transfer fee.
    assert!(r.costs.commission > 0.0);
    assert_eq!((r.costs.stamp_duty, r.costs.transfer_fee), (0.0, 0.0));
    // The delisted member trades only while it has bars.
    assert!(
        r.fills
            .iter()
            .filter(|f| f.symbol.to_string() == "600077.SH")
            .all(|f| f.day <= "2024-05-27".parse().unwrap())
    );
}

/// `download --source a,b,…` against the mock, over the recorded fortnight.
fn failover_run(mock: &Mock, out: &Path, sources: &str, symbols: &str) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_kxian-trainer"))
        .args([
            "download",
            "--source",
            sources,
            "--symbols",
            symbols,
            "--out",
        ])
        .arg(out)
        .args(["--eastmoney-url", &mock.base, "--tushare-url", &mock.base])
        .args([
            "--yahoo-url",
            &mock.base,
            "--from",
            "2024-09-02",
            "--to",
            "2024-09-13",
        ])
        .args([
            "--min-interval-ms",
            "5",
            "--backoff-ms",
            "5",
            "--attempts",
            "2",
        ])
        .args(["--tushare-quota-wait-ms", "5", "--timeout-s", "5"])
        .env("KXIAN_TUSHARE_TOKEN", "test-token")
        .output()
        .unwrap()
}

#[test]
fn a_failing_source_hands_the_symbol_to_the_next_and_nothing_held_is_lost_when_all_fail() {
    let mock = Mock::start(BTreeMap::from([
        // Eastmoney: a 429 storm on 000001.SZ and empty answers for 600000.SH.
        ("0.000001".to_string(), Fault::TooMany(1000)),
        ("1.600000".to_string(), Fault::Empty),
    ]));
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("dl");
    let o = failover_run(
        &mock,
        &out,
        "eastmoney,tushare,yahoo",
        "000001.SZ,600000.SH",
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let m = manifest(&out);
    assert_eq!(
        m["source"], "eastmoney",
        "the manifest's source is the first"
    );
    // 000001.SZ: Eastmoney refused, Tushare served the recorded bars.
    let pa = &m["series"]["000001.SZ"];
    assert_eq!(pa["outcome"]["status"], "downloaded", "{pa}");
    assert_eq!(pa["outcome"]["new_bars"], 10, "{pa}");
    assert_eq!(pa["sources"], serde_json::json!(["tushare"]));
    let passed = pa["passed_over"].as_array().unwrap();
    assert!(
        passed.len() == 1 && passed[0].as_str().unwrap().starts_with("eastmoney: "),
        "{pa}"
    );
    let bars = read_csv(&out.join("000001.SZ.daily.none.csv"));
    let em = fixture_rows("kline_daily_0.000001_fqt0_20240902_20240913.json");
    for (b, r) in bars.iter().zip(&em) {
        assert_eq!(b.close, r[2].parse::<f64>().unwrap(), "{}", r[0]);
    }
    // 600000.SH: Eastmoney and Tushare had nothing; Yahoo served.
    let pf = &m["series"]["600000.SH"];
    assert_eq!(pf["sources"], serde_json::json!(["yahoo"]), "{pf}");
    assert_eq!(pf["passed_over"].as_array().unwrap().len(), 2, "{pf}");
    assert!(pf["outcome"]["new_bars"].as_u64().unwrap() >= 9, "{pf}");

    // A later run where every source fails: the outcome says so, and the file and what the
    // manifest held stay as they were.
    let before = std::fs::read(out.join("000001.SZ.daily.none.csv")).unwrap();
    let storm = Mock::start(BTreeMap::from([
        ("0.000001".to_string(), Fault::TooMany(1000)),
        ("tushare:000001.SZ".to_string(), Fault::TooMany(1000)),
    ]));
    let o = failover_run(&storm, &out, "eastmoney,tushare", "000001.SZ");
    assert_eq!(o.status.code(), Some(1), "nothing downloaded: a failed run");
    let m = manifest(&out);
    let pa = &m["series"]["000001.SZ"];
    assert_eq!(pa["outcome"]["status"], "failed", "{pa}");
    assert_eq!(pa["bars"], 10);
    assert_eq!(pa["last"], "2024-09-13");
    assert_eq!(pa["sources"], serde_json::json!(["tushare"]));
    assert_eq!(
        std::fs::read(out.join("000001.SZ.daily.none.csv")).unwrap(),
        before
    );

    // The same source twice is a mistake in the command.
    let o = failover_run(&mock, &dir.path().join("x"), "tushare,tushare", "000001.SZ");
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn one_minute_bars_come_from_trends2_with_the_auction_print_and_in_shares() {
    let mock = Mock::start(BTreeMap::new());
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("m1");
    let o = Command::new(env!("CARGO_BIN_EXE_kxian-trainer"))
        .args([
            "download",
            "--symbols",
            "000001.SZ",
            "--frequency",
            "1m",
            "--out",
        ])
        .arg(&out)
        .args([
            "--eastmoney-url",
            &mock.base,
            "--from",
            "2024-09-13",
            "--to",
            "2024-09-13",
        ])
        .args(["--min-interval-ms", "5"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let m = manifest(&out);
    let r = &m["series"]["000001.SZ"];
    assert_eq!(r["outcome"]["new_bars"], 241, "{r}");
    assert_eq!(r["request"], "secid=0.000001&ndays=5");
    let text = std::fs::read_to_string(out.join("000001.SZ.1m.none.csv")).unwrap();
    let rows: Vec<&str> = text.lines().skip(1).collect();
    assert_eq!(rows.len(), 241);
    // The auction's 09:30 print, then 09:31 … 15:00; volume from lots to shares.
    assert!(rows[0].starts_with("2024-09-13 09:30"), "{}", rows[0]);
    assert!(rows[1].starts_with("2024-09-13 09:31"), "{}", rows[1]);
    assert!(rows[240].starts_with("2024-09-13 15:00"), "{}", rows[240]);
    assert_eq!(rows[0].split(',').nth(5), Some("1018700"), "{}", rows[0]);
    // The file imports as one-minute bars.
    let parsed = kxian_shared::ingest::parse_file(
        "000001.SZ.1m.none.csv",
        text.as_bytes(),
        &ImportOptions::default(),
    )
    .unwrap();
    assert_eq!(parsed.series[0].frequency, kxian_shared::Frequency::M1);
    assert_eq!(parsed.series[0].bars.len(), 241);
}

#[test]
fn health_against_another_sources_download_lists_the_days_they_disagree() {
    let mock = Mock::start(BTreeMap::new());
    let dir = tempfile::tempdir().unwrap();
    let (em, ts) = (dir.path().join("em"), dir.path().join("ts"));
    let (o, _) = download(&mock, &em, &["--symbols", "000001.SZ"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = source_run(
        &mock,
        &ts,
        &["--source", "tushare", "--symbols", "000001.SZ"],
        "test-token",
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let db = dir.path().join("k.db");
    import_into(&db, &[&em]);
    let health = |against: &Path, extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_kxian-trainer"))
            .args([
                "health",
                "--format",
                "json",
                "--today",
                "2024-09-13",
                "--store",
            ])
            .arg(&db)
            .arg("--against")
            .arg(against)
            .args(extra)
            .output()
            .unwrap()
    };
    let json = |o: &std::process::Output| -> Value {
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        serde_json::from_slice(&o.stdout).unwrap()
    };
    // Eastmoney's and Tushare's recorded bars of 000001.SZ agree on all ten days.
    let r = json(&health(&ts, &[]));
    let d = &r["series"][0]["disagreement"];
    assert_eq!(d["source"], "tushare", "{r}");
    assert_eq!(
        (d["compared"].as_u64(), d["days"].as_u64()),
        (Some(10), Some(0))
    );

    // Tushare's close of 2024-09-05 one tick up: that day, and only that one, disagrees.
    let csv = ts.join("000001.SZ.daily.none.csv");
    let text = std::fs::read_to_string(&csv).unwrap();
    let line = text.lines().find(|l| l.starts_with("2024-09-05")).unwrap();
    let mut cells: Vec<String> = line.split(',').map(str::to_string).collect();
    let close: f64 = cells[4].parse().unwrap();
    cells[4] = format!("{:.2}", close + 0.01);
    std::fs::write(&csv, text.replace(line, &cells.join(","))).unwrap();
    let r = json(&health(&ts, &[]));
    let d = &r["series"][0]["disagreement"];
    assert_eq!(d["days"], 1, "{d}");
    assert_eq!(d["listed"][0]["ts"], "2024-09-05T00:00:00");
    assert_eq!(d["listed"][0]["field"], "close");
    assert_eq!(d["listed"][0]["theirs"].as_f64(), Some(close + 0.01));
    // Under a looser tolerance the tick passes; the text names the day.
    let loose = json(&health(&ts, &["--tolerance", "0.01"]));
    assert_eq!(loose["series"][0]["disagreement"]["days"], 0);
    let o = Command::new(env!("CARGO_BIN_EXE_kxian-trainer"))
        .args(["health", "--today", "2024-09-13", "--store"])
        .arg(&db)
        .arg("--against")
        .arg(&ts)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("against tushare: 1 of 10 bars disagree: 2024-09-05 close"),
        "{text}"
    );

    // A folder of another frequency, or no download folder at all, is bad input.
    let o = health(&ts, &["--frequency", "5m"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("daily none bars"));
    let o = health(dir.path(), &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("manifest.json"));
}

#[test]
fn a_csindex_list_carries_the_stored_membership_forward_to_its_day() {
    let mock = Mock::start(BTreeMap::new());
    let dir = tempfile::tempdir().unwrap();
    let (tushare, csi) = (dir.path().join("ref"), dir.path().join("csi"));
    reference_ok(&mock, &tushare, "000905.SH");
    let csindex = |out: &Path, index: &str| {
        Command::new(env!("CARGO_BIN_EXE_kxian-trainer"))
            .args(["download", "--reference", "--csindex", "--index", index])
            .args(["--csindex-url", &mock.base, "--min-interval-ms", "5"])
            .args(["--backoff-ms", "5", "--attempts", "2", "--out"])
            .arg(out)
            .output()
            .unwrap()
    };
    // No account, no token: today's list, dated.
    let o = csindex(&csi, "000905.SH");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let data: kxian_shared::reference::ReferenceData =
        serde_json::from_slice(&std::fs::read(csi.join("reference.json")).unwrap()).unwrap();
    assert_eq!(data.source, "csindex");
    let list = &data.member_lists[0];
    assert_eq!(list.date.to_string(), "2024-03-01");
    assert_eq!(
        list.symbols,
        ["000001.SZ", "600000.SH", "688981.SH", "601398.SH"]
    );

    // Stored after Tushare's history, the list carries it forward: 300750.SZ, missing from
    // it, leaves the day before; 601398.SH joins on it; the rest stay.
    let db = dir.path().join("k.db");
    import_into(&db, &[&tushare]);
    import_into(&db, &[&csi]);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let stays = rt.block_on(async {
        let store = kxian_store::Store::open(&db).await.unwrap();
        let m = store.index_members("000905.SH").await.unwrap();
        store.close().await;
        m
    });
    let d = |s: &str| s.parse::<chrono::NaiveDate>().unwrap();
    use kxian_shared::reference::membership::members_on;
    let on = |day: &str| -> Vec<String> {
        members_on(&stays, "000905.SH", d(day))
            .into_iter()
            .collect()
    };
    assert_eq!(
        on("2024-02-29"),
        ["000001.SZ", "300750.SZ", "600000.SH", "688981.SH"]
    );
    assert_eq!(
        on("2024-03-01"),
        ["000001.SZ", "600000.SH", "601398.SH", "688981.SH"]
    );
    assert_eq!(
        on("2023-12-01").len(),
        4,
        "the history before stays as it was"
    );

    // An index CSIndex publishes no list for: the run fails (exit 1), saying so.
    let o = csindex(&dir.path().join("x"), "000300.SH");
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("CSIndex list of 000300.SH") && err.contains("HTTP 404"),
        "{err}"
    );
}
