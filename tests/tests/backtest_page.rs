//! The backtest page in headless Chromium against the real server and SQLite store: the
//! seed's monthly rotation and the SMA walk-forward run in the browser give exactly the
//! report and equity curve that `kxian-trainer backtest` gives on the same store, the charts
//! hold what the result says, and a mistake in the file is named.

use crate::common;

use anyhow::{Context, Result, ensure};
use common::{Browser, Server};
use kxian_trainer::backtest::{BacktestArgs, run_command};
use serde_json::Value;
use std::time::Duration;

/// The page's current config text, run by the CLI on the server's SQLite file (on a blocking
/// thread: the CLI starts its own runtime to read the store).
pub(crate) async fn run_cli(server: &Server, toml: &str) -> Result<(String, Value)> {
    let (db, toml) = (server.db.clone(), toml.to_string());
    tokio::task::spawn_blocking(move || cli_blocking(&db, &toml)).await?
}

fn cli_blocking(db: &std::path::Path, toml: &str) -> Result<(String, Value)> {
    let dir = tempfile::tempdir()?;
    let with_store = toml.replacen(
        "[universe]\n",
        &format!("[universe]\nstore = {:?}\n", db.display().to_string()),
        1,
    );
    let path = dir.path().join("run.toml");
    std::fs::write(&path, with_store)?;
    let (report, outcome) = run_command(&BacktestArgs {
        config: path,
        output: None,
        store: None,
        work: None,
        progress: kxian_trainer::progress::ProgressMode::Bar,
        reader: Default::default(),
    })?;
    Ok((report, serde_json::to_value(&outcome)?))
}

/// Clicks Run and waits for a result other than `previous` (the last run's stays on the page
/// until the new one replaces it).
pub(crate) async fn run_page(browser: &Browser, previous: Option<&Value>) -> Result<Value> {
    let b = &browser.client;
    b.execute("document.getElementById('bt-run').click();", vec![])
        .await?;
    let before = previous.map(|p| p["report"].as_str().unwrap_or_default().to_string());
    let raw = browser
        .wait_for_js(
            "the backtest result",
            "const err = document.getElementById('bt-error');
             if (err) return 'ERROR: ' + err.textContent;
             const el = document.getElementById('bt-result');
             return el ? el.textContent : null;",
            Duration::from_secs(120),
            |v| {
                v.as_str().is_some_and(|t| {
                    t.starts_with("ERROR")
                        || before.as_deref().is_none_or(|b| {
                            serde_json::from_str::<Value>(t)
                                .map(|j| j["report"].as_str() != Some(b))
                                .unwrap_or(false)
                        })
                })
            },
        )
        .await?;
    let raw = raw.as_str().unwrap_or_default();
    ensure!(!raw.starts_with("ERROR"), "the page failed: {raw}");
    serde_json::from_str(raw).context("the page's result JSON")
}

/// A browser on the backtest page, its config editor ready.
pub(crate) async fn open_page(server: &Server) -> Result<Browser> {
    let browser = Browser::start().await?;
    browser
        .client
        .goto(&format!("{}/backtest", server.base))
        .await?;
    browser
        .wait_for_js(
            "the config editor",
            "return document.getElementById('bt-config') ? true : null;",
            Duration::from_secs(60),
            |v| v.is_boolean(),
        )
        .await?;
    Ok(browser)
}

async fn config_text(browser: &Browser) -> Result<String> {
    let v = browser
        .client
        .execute("return document.getElementById('bt-config').value;", vec![])
        .await?;
    Ok(v.as_str().unwrap_or_default().to_string())
}

/// `a` equals `b` up to 1e-9 relative in every number (wasm and native round the last bit of
/// a few products differently); the first difference is named by its path.
pub(crate) fn same_json(a: &Value, b: &Value, path: &str) -> Result<()> {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            let (x, y) = (
                x.as_f64().unwrap_or(f64::NAN),
                y.as_f64().unwrap_or(f64::NAN),
            );
            ensure!(
                (x - y).abs() <= 1e-9 * y.abs().max(1.0),
                "{path}: page {x} vs CLI {y}"
            );
        }
        (Value::Array(x), Value::Array(y)) => {
            ensure!(
                x.len() == y.len(),
                "{path}: {} vs {} items",
                x.len(),
                y.len()
            );
            for (i, (p, q)) in x.iter().zip(y).enumerate() {
                same_json(p, q, &format!("{path}[{i}]"))?;
            }
        }
        (Value::Object(x), Value::Object(y)) => {
            ensure!(
                x.keys().eq(y.keys()),
                "{path}: keys {:?} vs {:?}",
                x.keys().collect::<Vec<_>>(),
                y.keys().collect::<Vec<_>>()
            );
            for (k, p) in x {
                same_json(p, &y[k], &format!("{path}.{k}"))?;
            }
        }
        _ => ensure!(a == b, "{path}: page {a} vs CLI {b}"),
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_config_runs_in_the_browser_with_the_same_numbers() -> Result<()> {
    let server = Server::start().await?;
    let browser = open_page(&server).await?;
    let b = &browser.client;

    // 1. The seed's monthly rotation.
    let toml = config_text(&browser).await?;
    ensure!(toml.contains("monthly_rotation"), "default preset: {toml}");
    let page = run_page(&browser, None).await?;
    let (report, cli) = run_cli(&server, &toml).await?;
    assert_eq!(page["report"].as_str().unwrap_or_default(), report);
    assert!(report.contains("3 symbols"), "{report}");
    // The preset trades stocks and says against what: the index and the universe held.
    assert!(report.contains("index 000300.SH"), "{report}");
    assert!(report.contains("equal-weight buy-and-hold"), "{report}");
    for key in [
        "equity",
        "fills",
        "rejections",
        "metrics",
        "costs",
        "dates",
        "benchmarks",
    ] {
        same_json(&page[key], &cli[key], key)?;
    }
    let days = page["dates"].as_array().unwrap().len();
    assert!(days > 2000, "{days} days");

    let _ = browser.screenshot("backtest-rotation.png").await;
    for id in ["bt-equity", "bt-monthly", "bt-factors"] {
        let _ = b
            .execute(
                &format!("document.getElementById('{id}').scrollIntoView();"),
                vec![],
            )
            .await;
        let _ = browser.screenshot(&format!("{id}.png")).await;
    }
    // The charts hold the result: one equity and one drawdown point per day, a cell per
    // month, every day in the histogram, the 24 × 24 factor matrix.
    let charts = b
        .execute(
            "const get = id => echarts.getInstanceByDom(document.getElementById(id)).getOption();
             const e = get('bt-equity'), m = get('bt-monthly'), h = get('bt-histogram'), f = get('bt-factors');
             return { equity: e.series[0].data.length, drawdown: e.series[1].data.length,
                      worst: Math.min(...e.series[1].data),
                      months: m.series[0].data.length,
                      hist: h.series[0].data.reduce((a, d) => a + d.value, 0),
                      factors: f.yAxis[0].data.length,
                      trades: document.querySelectorAll('#bt-trades tbody tr').length };",
            vec![],
        )
        .await?;
    assert_eq!(charts["equity"].as_u64(), Some(days as u64), "{charts}");
    assert_eq!(charts["drawdown"].as_u64(), Some(days as u64), "{charts}");
    assert_eq!(charts["hist"].as_u64(), Some(days as u64), "{charts}");
    let mdd = cli["metrics"]["max_drawdown"].as_f64().unwrap();
    let worst = charts["worst"].as_f64().unwrap();
    assert!(
        (worst / 100.0 + mdd).abs() < 1e-3,
        "drawdown {worst} % vs {mdd}"
    );
    let (first, last) = (
        page["dates"][0].as_str().unwrap().to_string(),
        page["dates"][days - 1].as_str().unwrap().to_string(),
    );
    let months = |d: &str| d[..4].parse::<i64>().unwrap() * 12 + d[5..7].parse::<i64>().unwrap();
    assert_eq!(
        charts["months"].as_i64(),
        Some(months(&last) - months(&first) + 1),
        "{charts}"
    );
    assert_eq!(charts["factors"].as_u64(), Some(24));
    let fills = cli["fills"].as_array().unwrap().len();
    assert_eq!(charts["trades"].as_u64(), Some(fills.min(500) as u64));

    // 2. The SMA crossover under a stop loss, with a walk-forward grid.
    b.execute("document.getElementById('bt-preset-sma').click();", vec![])
        .await?;
    let toml = config_text(&browser).await?;
    ensure!(toml.contains("walk_forward"), "{toml}");
    let rotation = page;
    let page = run_page(&browser, Some(&rotation)).await?;
    let (report, cli) = run_cli(&server, &toml).await?;
    assert_eq!(page["report"].as_str().unwrap_or_default(), report);
    assert!(report.contains("walk-forward"), "{report}");
    for key in ["equity", "fills", "walk_forward"] {
        same_json(&page[key], &cli[key], key)?;
    }

    // 3. A top_k strategy written as an expression: the same fills, benchmarks and score IC.
    let previous = page;
    b.execute(
        "document.getElementById('bt-preset-momentum-top-k').click();",
        vec![],
    )
    .await?;
    let toml = config_text(&browser).await?;
    ensure!(toml.contains("kind = \"top_k\""), "{toml}");
    let page = run_page(&browser, Some(&previous)).await?;
    let (report, cli) = run_cli(&server, &toml).await?;
    assert_eq!(page["report"].as_str().unwrap_or_default(), report);
    assert!(report.contains("score IC      the score"), "{report}");
    for key in ["equity", "fills", "benchmarks", "score_ic"] {
        same_json(&page[key], &cli[key], key)?;
    }
    ensure!(
        cli["fills"].as_array().is_some_and(|f| f.len() > 10),
        "no trades: {report}"
    );

    // 3b. The other price-only examples, each as the CLI runs it, each trading.
    let mut page = page;
    for preset in [
        "alphaquant-signals",
        "bollinger-reversion",
        "ma-trend",
        "regime-gated-momentum",
    ] {
        b.execute(
            &format!("document.getElementById('bt-preset-{preset}').click();"),
            vec![],
        )
        .await?;
        let toml = config_text(&browser).await?;
        let next = run_page(&browser, Some(&page)).await?;
        let (report, cli) = run_cli(&server, &toml).await?;
        assert_eq!(
            next["report"].as_str().unwrap_or_default(),
            report,
            "{preset}"
        );
        same_json(&next["fills"], &cli["fills"], preset)?;
        ensure!(
            cli["fills"].as_array().is_some_and(|f| f.len() >= 2),
            "{preset}: no trades: {report}"
        );
        page = next;
    }

    // 4. The Kronos loop: a prediction set made by the built-in model into the server's store,
    // picked on the page, top_k on pred.p_up: the CLI's numbers, with trades.
    let predict = server.db.with_file_name("kronos.toml");
    std::fs::write(
        &predict,
        format!(
            "[universe]\nstore = {db:?}\nsymbols = [\"600000.SH\", \"000001.SZ\", \"000151.SZ\"]\n\
             [model]\nkind = \"kronos\"\n[schedule]\nevery = \"month_end\"\nfrom = 2023-01-01\nto = 2024-08-31\n\
             [forecast]\nhorizon = 20\nsamples = 4\nlookback = 64\nseed = 7\n\
             [output]\nstore = {db:?}\nname = \"embedded-monthly\"\n",
            db = server.db.display().to_string()
        ),
    )?;
    let out = std::process::Command::new(common::target_bin("kxian-trainer")?)
        .args(["predict", "--device", "cpu", "--config"])
        .arg(&predict)
        .output()?;
    ensure!(
        out.status.success(),
        "predict: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let previous = page;
    b.execute(
        "document.getElementById('bt-preset-kronos-top-k').click();",
        vec![],
    )
    .await?;
    let set_id = browser
        .wait_for_js(
            "the stored set in the picker",
            "const s = document.getElementById('bt-prediction-set');
             if (!s) return null;
             const o = [...s.options].find(o => o.textContent.includes('embedded-monthly'));
             if (!o) return null;
             s.value = o.value;
             s.dispatchEvent(new Event('change', { bubbles: true }));
             return o.value;",
            Duration::from_secs(30),
            |v| v.is_string(),
        )
        .await?;
    let toml = config_text(&browser).await?;
    let set_id = set_id.as_str().unwrap_or_default();
    ensure!(
        toml.contains(&format!("predictions = {set_id}\n")),
        "{toml}"
    );
    let page = run_page(&browser, Some(&previous)).await?;
    let (report, cli) = run_cli(&server, &toml).await?;
    assert_eq!(page["report"].as_str().unwrap_or_default(), report);
    assert!(report.contains("`pred.p_up`"), "{report}");
    for key in ["equity", "fills", "benchmarks", "score_ic"] {
        same_json(&page[key], &cli[key], key)?;
    }
    ensure!(
        cli["fills"].as_array().is_some_and(|f| f.len() >= 4),
        "no trades: {report}"
    );
    let _ = browser.screenshot("backtest-kronos-top-k.png").await;

    // 4b. EquiNet's rule: a small classifier trained on the server's store with the labels the
    // example names, its set stored by name, the example run as it is.
    let trainer = common::target_bin("kxian-trainer")?;
    let model = server.db.with_file_name("classifier");
    let db = server.db.display().to_string();
    let out = std::process::Command::new(&trainer)
        .args(["train-classifier", "--store", &db])
        .args(["--symbols", "600000.SH,000001.SZ,000151.SZ", "--out"])
        .arg(&model)
        .args(["--horizon", "5", "--up", "0.001", "--down", "-0.03"])
        .args([
            "--val-from",
            "2024-06-01",
            "--epochs",
            "8",
            "--steps-per-epoch",
            "40",
        ])
        .args([
            "--batch-size",
            "64",
            "--d-model",
            "16",
            "--heads",
            "2",
            "--layers",
            "1",
        ])
        .args(["--max-val", "256", "--device", "cpu"])
        .output()?;
    ensure!(
        out.status.success(),
        "train-classifier: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let classify = server.db.with_file_name("classifier.toml");
    std::fs::write(
        &classify,
        format!(
            "[universe]\nstore = {db:?}\nsymbols = [\"600000.SH\", \"000001.SZ\", \"000151.SZ\"]\n\
             [model]\nkind = \"classifier\"\npath = {:?}\n[schedule]\nevery = \"day\"\nfrom = 2023-01-01\n\
             [output]\nstore = {db:?}\nname = \"embedded-classifier\"\n",
            model.join("best").display().to_string()
        ),
    )?;
    let out = std::process::Command::new(&trainer)
        .args(["predict", "--device", "cpu", "--config"])
        .arg(&classify)
        .output()?;
    ensure!(
        out.status.success(),
        "predict: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    b.execute(
        "document.getElementById('bt-preset-equinet-threshold').click();",
        vec![],
    )
    .await?;
    let toml = config_text(&browser).await?;
    let previous = page;
    let page = run_page(&browser, Some(&previous)).await?;
    let (report, cli) = run_cli(&server, &toml).await?;
    assert_eq!(page["report"].as_str().unwrap_or_default(), report);
    same_json(&page["fills"], &cli["fills"], "fills")?;
    ensure!(
        cli["fills"].as_array().is_some_and(|f| f.len() >= 2),
        "no trades: {report}"
    );

    // 5. The form writes the file: threshold on an expression, commission only (seed 002),
    // and the page's run of it is the CLI's.
    b.execute(
        &format!(
            "document.getElementById('bt-form-panel').open = true; {}",
            common::set_select("bt-f-kind", "threshold")
        ),
        vec![],
    )
    .await?;
    browser
        .wait_for_js(
            "the threshold fields",
            "return document.getElementById('bt-f-buy') ? true : null;",
            Duration::from_secs(10),
            |v| v.is_boolean(),
        )
        .await?;
    b.execute(
        &format!(
            "{} {}
             const s = document.getElementById('bt-f-stamp');
             if (s.checked) s.click();
             const t = document.getElementById('bt-f-transfer');
             if (t.checked) t.click();
             document.getElementById('bt-form-apply').click();",
            common::set_input(
                "bt-f-buy",
                "$close < mean($close, 20) - 2 * std($close, 20)"
            ),
            common::set_input("bt-f-sell", "$close > mean($close, 20)"),
        ),
        vec![],
    )
    .await?;
    let toml = config_text(&browser).await?;
    ensure!(
        toml.contains("kind = \"threshold\"") && toml.contains("stamp_duty = false"),
        "{toml}"
    );
    let previous = page;
    let page = run_page(&browser, Some(&previous)).await?;
    let (report, cli) = run_cli(&server, &toml).await?;
    assert_eq!(page["report"].as_str().unwrap_or_default(), report);
    assert!(report.contains("commission only"), "{report}");
    same_json(&page["fills"], &cli["fills"], "fills")?;
    ensure!(
        cli["costs"]["stamp_duty"].as_f64() == Some(0.0),
        "{}",
        cli["costs"]
    );

    // 6. A mistake is named, and nothing runs.
    b.execute("document.getElementById('bt-preset-sma').click();", vec![])
        .await?;
    b.execute(
        "const t = document.getElementById('bt-config');
         t.value = t.value.replace('fast = 5', 'fast = 50');
         t.dispatchEvent(new Event('input', { bubbles: true }));
         document.getElementById('bt-run').click();",
        vec![],
    )
    .await?;
    let err = browser
        .wait_for_js(
            "the config error",
            "const e = document.getElementById('bt-error'); return e ? e.textContent : null;",
            Duration::from_secs(20),
            |v| v.is_string(),
        )
        .await?;
    assert!(
        err.as_str().unwrap_or_default().contains("fast < slow"),
        "{err}"
    );
    browser.quit().await;
    Ok(())
}

/// A point-in-time universe in the browser: the index's members and the float shares come
/// from the server's reference data, and the page's run equals the CLI's on the same store.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_point_in_time_universe_runs_in_the_browser_as_in_the_cli() -> Result<()> {
    use kxian_shared::reference::{
        IndustryRecord, MemberRecord, NorthboundRecord, ReferenceData, SharesRecord, StatusKind,
        StatusRecord,
    };
    let server = Server::start().await?;
    let d = |s: &str| s.parse::<chrono::NaiveDate>().unwrap();
    let member = |s: &str, from: &str, to: Option<&str>| MemberRecord {
        index: "000905.SH".into(),
        symbol: s.into(),
        from: d(from),
        to: to.map(d),
        weight: None,
    };
    // 000001.SZ leaves at the end of 2020, 000151.SZ joins in 2019.
    let data = ReferenceData {
        source: "test".into(),
        members: vec![
            member("600000.SH", "2015-01-05", None),
            member("000001.SZ", "2015-01-05", Some("2020-12-31")),
            member("000151.SZ", "2019-01-02", None),
        ],
        industries: [
            ("600000.SH", "银行"),
            ("000001.SZ", "银行"),
            ("000151.SZ", "商贸代理"),
        ]
        .into_iter()
        .map(|(s, i)| IndustryRecord {
            symbol: s.into(),
            industry: i.into(),
            from: d("2000-01-04"),
            to: None,
        })
        .collect(),
        shares: [
            ("600000.SH", 2.9e10),
            ("000001.SZ", 1.9e10),
            ("000151.SZ", 3.0e8),
        ]
        .into_iter()
        .map(|(s, f)| SharesRecord {
            symbol: s.into(),
            date: d("2014-12-31"),
            total_shares: f,
            float_shares: f,
            pe: None,
            pb: None,
        })
        .collect(),
        status: vec![StatusRecord {
            symbol: "000151.SZ".into(),
            kind: StatusKind::Suspended,
            from: d("2021-03-01"),
            to: Some(d("2021-03-31")),
            note: None,
        }],
        // Northbound holdings, read by the score: the browser gets them from the server.
        northbound: [
            ("600000.SH", "2014-12-31", 2.0),
            ("000001.SZ", "2014-12-31", 6.0),
            ("000151.SZ", "2014-12-31", 0.5),
            ("000151.SZ", "2019-06-28", 8.0),
        ]
        .into_iter()
        .map(|(s, day, ratio)| NorthboundRecord {
            symbol: s.into(),
            date: d(day),
            shares: ratio * 1e7,
            ratio: Some(ratio),
        })
        .collect(),
        member_lists: Vec::new(),
    };
    server.store.import_reference(&data).await?;
    let toml = "[universe]\nindex = \"000905.SH\"\nfrom = 2016-01-04\nto = 2023-12-29\n\n\
                [strategy]\nkind = \"top_k\"\nscore = \"$close / ref($close, 20) - 1 + ref.northbound / 100\"\n\
                k = 2\nrebalance = \"monthly\"\nweighting = \"float_cap\"\n\n\
                [engine]\ninitial_cash = 10_000_000\n";
    let browser = open_page(&server).await?;
    let b = &browser.client;
    b.execute(&common::set_input("bt-config", toml), vec![])
        .await?;
    let page = run_page(&browser, None).await?;
    let (report, cli) = run_cli(&server, toml).await?;
    assert_eq!(page["report"].as_str().unwrap_or_default(), report);
    for key in ["equity", "fills", "rejections", "costs"] {
        same_json(&page[key], &cli[key], key)?;
    }
    let fills = cli["fills"].as_array().context("fills")?;
    let buys = |s: &str| -> Vec<String> {
        fills
            .iter()
            .filter(|f| f["symbol"] == s && f["side"] == "buy")
            .map(|f| f["day"].as_str().unwrap_or_default().to_string())
            .collect()
    };
    ensure!(
        !buys("000151.SZ").is_empty(),
        "the name that joined is bought"
    );
    ensure!(
        buys("000151.SZ").iter().all(|x| x.as_str() >= "2019-01-02"),
        "never before it joined: {:?}",
        buys("000151.SZ")
    );
    ensure!(
        buys("000001.SZ").iter().all(|x| x.as_str() <= "2020-12-31"),
        "never after it left: {:?}",
        buys("000001.SZ")
    );
    browser.quit().await;
    Ok(())
}
