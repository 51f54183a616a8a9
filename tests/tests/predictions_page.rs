//! The Predictions page in headless Chromium on a server whose runner starts the real
//! `kxian-trainer`: a prediction set submitted from the form over the embedded series, watched
//! to its end, then listed with its evaluation (the model's score beside both baselines, the
//! two charts) and its CSV, which is the contract's columns and private to its owner.

use crate::common;

use anyhow::{Context, Result, ensure};
use common::{Browser, Server};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_prediction_set_from_the_browser_is_stored_evaluated_and_downloadable() -> Result<()> {
    let server = Server::start_with_jobs(true, 4).await?;
    server
        .store
        .create_user("admin", true)
        .await?
        .context("admin")?;
    let browser = Browser::start().await?;
    let b = &browser.client;
    b.goto(&format!("{}/predictions", server.base)).await?;
    browser
        .wait_for_js(
            "the prediction form",
            "return document.getElementById('pred-submit') ? true : null;",
            Duration::from_secs(60),
            |v| v.is_boolean(),
        )
        .await?;
    // Five embedded series, every 20 bars through 2023, small contexts (a debug build).
    b.execute(
        &format!(
            "{} {} {} {} {} {}
             document.getElementById('pred-submit').click();",
            common::set_input(
                "pred-symbols",
                "000300.SH, 000001.SH, 399001.SZ, 399006.SZ, 600000.SH"
            ),
            common::set_input("pred-from", "2023-01-01"),
            common::set_input("pred-to", "2023-12-31"),
            common::set_input("pred-horizon", "5"),
            common::set_input("pred-samples", "4"),
            common::set_input("pred-lookback", "48")
        ),
        vec![],
    )
    .await?;
    let end = browser
        .wait_for_js(
            "the prediction job to end",
            "const e = document.getElementById('pred-error'); if (e) return 'ERROR: ' + e.textContent;
             const s = document.getElementById('pred-state');
             if (!s || !['done', 'failed', 'cancelled'].includes(s.dataset.state)) return null;
             return { state: s.dataset.state, progress: document.getElementById('pred-progress').textContent };",
            Duration::from_secs(300),
            |v| v.is_object() || v.as_str().is_some_and(|s| s.starts_with("ERROR")),
        )
        .await?;
    ensure!(end.is_object(), "{end}");
    assert_eq!(end["state"], "done", "{end}");
    // Month ends of 2023 × 5 symbols (less any day a series has no bar), every row written.
    let progress = end["progress"].as_str().unwrap_or_default().to_string();
    let (done, total) = progress.split_once(" / ").context("progress")?;
    assert_eq!(done, total, "{end}");
    let rows: usize = total.parse()?;
    assert!((55..=60).contains(&rows), "{end}");

    // The set is listed and its evaluation opens with both baselines and the charts.
    let report = browser
        .wait_for_js(
            "the evaluation",
            "const rows = [...document.querySelectorAll('#pred-signals tbody tr')];
             if (rows.length === 0) return null;
             const charts = ['pred-ic-chart', 'pred-quintiles-chart']
                 .map(id => document.getElementById(id)).filter(el => el && el.querySelector('canvas'));
             if (charts.length < 2) return null;
             return { signals: rows.map(r => r.dataset.signal),
                      model: document.querySelector('#pred-sets tbody tr td:nth-child(3)').textContent,
                      summary: document.getElementById('pred-summary').textContent,
                      sets: document.querySelectorAll('#pred-sets tbody tr').length };",
            Duration::from_secs(60),
            |v| v.is_object(),
        )
        .await?;
    let _ = browser.screenshot("predictions-evaluation.png").await;
    assert_eq!(report["sets"], 1, "{report}");
    assert_eq!(report["model"], "kxian-default", "{report}");
    let signals: Vec<&str> = report["signals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    for want in ["score", "p_up", "exp_return", "momentum_20", "reversal_5"] {
        assert!(signals.contains(&want), "{want} missing: {report}");
    }
    assert!(
        report["summary"].as_str().unwrap().contains("5 symbols"),
        "{report}"
    );

    // The CSV the page links to: the contract's header and one line per row.
    let href = browser
        .wait_for_js(
            "the CSV link",
            "const a = document.querySelector('#pred-sets a[id^=pred-csv-]'); return a ? a.href : null;",
            Duration::from_secs(20),
            |v| v.is_string(),
        )
        .await?;
    // Loopback without a token is the local admin, as the browser is.
    let text = ureq::get(href.as_str().unwrap())
        .call()?
        .into_body()
        .read_to_string()?;
    assert_eq!(
        text.lines().next(),
        Some("symbol,as_of,horizon,score,p_up,exp_return,q10,q50,q90,n_paths")
    );
    assert_eq!(text.lines().count(), rows + 1, "{text}");
    assert!(text.contains("600000.SH,2023-01-31,5,"), "{text}");

    let parquet = ureq::get(&href.as_str().unwrap().replace("rows.csv", "rows.parquet"))
        .call()?
        .into_body()
        .read_to_vec()?;
    ensure!(
        parquet.starts_with(b"PAR1") && parquet.ends_with(b"PAR1"),
        "not a Parquet file: {} bytes",
        parquet.len()
    );

    // Another account does not see it.
    let other = server
        .store
        .create_user("bob", false)
        .await?
        .context("bob")?;
    server.store.add_token(other.id, "kx_bob_pred", "t").await?;
    let resp = ureq::get(&format!("{}/api/predictions", server.base))
        .header("authorization", "Bearer kx_bob_pred")
        .call()?
        .into_body()
        .read_to_string()?;
    assert_eq!(resp, r#"{"sets":[]}"#);
    Ok(())
}
