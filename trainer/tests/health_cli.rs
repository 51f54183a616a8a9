//! `kxian-trainer health`: a series with a hole names the missing trading days, and every
//! series says how far behind a given day its last bar is.

use std::process::Command;

fn day(s: &str) -> chrono::NaiveDate {
    s.parse().unwrap()
}

#[test]
fn a_hole_in_a_series_is_named_and_staleness_is_counted() {
    let dir = tempfile::tempdir().unwrap();
    let db = super::examples_cli::store_until(dir.path(), None);
    // 000001.SZ again, as another user's upload would not do: the machine's own series, with
    // three trading days taken out.
    let holes = [day("2024-09-10"), day("2024-09-11"), day("2024-09-12")];
    let mut parsed = super::examples_cli::parsed("000001.sz");
    parsed.series[0]
        .bars
        .retain(|b| !holes.contains(&b.ts.date()));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let other = dir.path().join("holes.db");
        let store = kxian_store::Store::open(&other).await.unwrap();
        store.import(&parsed, "test").await.unwrap();
        store.close().await;
    });
    let run = |db: &std::path::Path| {
        let o = Command::new(env!("CARGO_BIN_EXE_kxian-trainer"))
            .args([
                "health",
                "--format",
                "json",
                "--today",
                "2024-09-27",
                "--store",
            ])
            .arg(db)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        serde_json::from_slice::<serde_json::Value>(&o.stdout).unwrap()
    };
    let holed = run(&dir.path().join("holes.db"));
    let s = &holed["series"][0];
    assert_eq!(s["symbol"], "000001.SZ");
    let listed: Vec<&str> = s["missing_days"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_str().unwrap())
        .collect();
    let whole = run(&db);
    let same = whole["series"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["symbol"] == "000001.SZ")
        .unwrap();
    // Exactly the three days more than the untouched series, in one gap of three.
    assert_eq!(
        s["missing"].as_u64().unwrap(),
        same["missing"].as_u64().unwrap() + 3
    );
    assert!(s["longest_gap"].as_u64().unwrap() >= 3);
    if same["missing"] == 0 {
        assert_eq!(listed, ["2024-09-10", "2024-09-11", "2024-09-12"]);
    }
    // The embedded data ends on 2024-09-19: six trading days behind 2024-09-27.
    for x in whole["series"].as_array().unwrap() {
        assert_eq!(x["last"], "2024-09-19", "{x}");
        assert_eq!(x["behind"], 6, "{x}");
    }
    // Worst first.
    let missing: Vec<u64> = whole["series"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["missing"].as_u64().unwrap())
        .collect();
    assert!(missing.windows(2).all(|w| w[0] >= w[1]), "{missing:?}");
}
