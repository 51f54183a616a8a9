//! The hosted-job pages in headless Chromium, on a server whose runner starts the real
//! `kxian-trainer` and whose Eastmoney is the loopback mock: a download from the Data page
//! with its per-symbol progress, a tiny finetune from the Training page watched over SSE to
//! its end with a live loss curve, then a forecast in the browser with the new model, and the
//! model on the Models page.

use crate::common;

use crate::eastmoney_mock;

use anyhow::{Context, Result, ensure};
use common::{Browser, Server};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn download_finetune_watch_and_forecast_from_the_browser() -> Result<()> {
    let mock = eastmoney_mock::Mock::start(Default::default());
    let env = vec![
        ("KXIAN_EASTMONEY_URL".to_string(), mock.base.clone()),
        ("KXIAN_EASTMONEY_LIST_URL".to_string(), mock.base.clone()),
    ];
    let server = Server::start_with_jobs_env(true, 4, env).await?;
    // The single-user install: the local admin, and a browser on this machine.
    server
        .store
        .create_user("admin", true)
        .await?
        .context("admin")?;
    let browser = Browser::start().await?;
    let b = &browser.client;

    // Data: 510300 for two weeks, progress per symbol, then in the store.
    b.goto(&format!("{}/data", server.base)).await?;
    browser
        .wait_for_js(
            "the data form",
            "return document.getElementById('dl-submit') ? true : null;",
            Duration::from_secs(60),
            |v| v.is_boolean(),
        )
        .await?;
    b.execute(
        &format!(
            "{} {} {}
             document.getElementById('dl-submit').click();",
            common::set_input("dl-symbols", "510300"),
            common::set_input("dl-from", "2024-09-02"),
            common::set_input("dl-to", "2024-09-13")
        ),
        vec![],
    )
    .await?;
    let rows = browser
        .wait_for_js(
            "the download to end",
            "const e = document.getElementById('dl-error'); if (e) return 'ERROR: ' + e.textContent;
             const s = document.getElementById('dl-state');
             if (!s || !['done', 'failed', 'cancelled'].includes(s.dataset.state)) return null;
             return { state: s.dataset.state,
                      rows: [...document.querySelectorAll('#dl-progress tbody tr')]
                          .map(r => [r.dataset.symbol, r.dataset.status]) };",
            Duration::from_secs(60),
            |v| v.is_object() || v.as_str().is_some_and(|s| s.starts_with("ERROR")),
        )
        .await?;
    ensure!(rows.is_object(), "{rows}");
    assert_eq!(rows["state"], "done", "{rows}");
    assert_eq!(
        rows["rows"],
        serde_json::json!([["510300.SH", "downloaded"]])
    );
    let stored = server
        .store
        .bars(
            &"510300.SH".parse()?,
            kxian_shared::Frequency::Daily,
            kxian_shared::Adjustment::None,
            None,
            None,
            100,
        )
        .await?
        .context("the downloaded series")?;
    assert_eq!(stored.bars.len(), 10);
    // The data-health table, read again when the download ended: the new series without a
    // hole, and the embedded 000001.SZ with the 239 missing days the CLI names.
    let health = browser
        .wait_for_js(
            "the data-health table with the download",
            "const r = document.querySelector('#health-table tr[data-symbol=\"510300.SH\"]');
             const pa = document.querySelector('#health-table tr[data-symbol=\"000001.SZ\"]');
             return r && pa ? [r.dataset.missing, pa.dataset.missing] : null;",
            Duration::from_secs(20),
            |v| v.is_array(),
        )
        .await?;
    assert_eq!(health, serde_json::json!(["0", "239"]));
    // The page lists the job with its result.
    let listed = browser
        .wait_for_js(
            "the job in the page's list",
            "const r = document.querySelector('#download-history tr[data-state=done]');
             return r ? r.textContent : null;",
            Duration::from_secs(20),
            |v| v.is_string(),
        )
        .await?;
    // The page is in Chinese (the default): one symbol, one series written.
    assert!(
        listed
            .as_str()
            .is_some_and(|t| t.contains("1 个代码，写入 1 个序列")),
        "{listed}"
    );

    // A compare-only download of 000001.SZ: nothing written, and the health table says how
    // Eastmoney's bars compare with the stored ones (the same real bars: none disagree).
    b.execute(
        &format!(
            "{}
             const c = document.getElementById('dl-check');
             c.checked = true; c.dispatchEvent(new Event('change', {{ bubbles: true }}));
             document.getElementById('dl-submit').click();",
            common::set_input("dl-symbols", "000001.SZ"),
        ),
        vec![],
    )
    .await?;
    let compared = browser
        .wait_for_js(
            "the cross-check in the health table",
            "const pa = document.querySelector('#health-table tr[data-symbol=\"000001.SZ\"]');
             return pa && pa.dataset.disagree !== undefined
                 ? [pa.dataset.disagree, pa.querySelector('td.disagree').textContent] : null;",
            Duration::from_secs(60),
            |v| v.is_array(),
        )
        .await?;
    assert_eq!(compared[0], "0", "{compared}");
    assert!(
        compared[1]
            .as_str()
            .is_some_and(|t| t.starts_with("0 / 10 (eastmoney)")),
        "{compared}"
    );
    let stored_after = server
        .store
        .bars(
            &"000001.SZ".parse()?,
            kxian_shared::Frequency::Daily,
            kxian_shared::Adjustment::None,
            None,
            None,
            100_000,
        )
        .await?
        .context("the embedded series")?;
    assert!(
        stored_after
            .series_last
            .is_some_and(|t| t.date().to_string() == "2024-09-19"),
        "the compare-only download wrote nothing"
    );

    // Training: a tiny finetune on 600000.SH, watched to its end.
    b.goto(&format!("{}/training", server.base)).await?;
    browser
        .wait_for_js(
            "the training form",
            "return document.getElementById('tr-submit') ? true : null;",
            Duration::from_secs(60),
            |v| v.is_boolean(),
        )
        .await?;
    b.execute(
        &format!(
            "{} {} {} {}
             document.getElementById('tr-submit').click();",
            common::set_input("tr-symbols", "600000.SH"),
            common::set_input("tr-lookback", "30"),
            common::set_input("tr-horizon", "5"),
            common::set_input("tr-max-seconds", "2")
        ),
        vec![],
    )
    .await?;
    let done = browser
        .wait_for_js(
            "the finetune to end",
            "const e = document.getElementById('tr-error'); if (e) return 'ERROR: ' + e.textContent;
             const s = document.getElementById('tr-state');
             if (!s || !['done', 'failed', 'cancelled'].includes(s.dataset.state)) return null;
             const use = document.getElementById('tr-use');
             if (s.dataset.state === 'done' && !use) return null;
             const o = echarts.getInstanceByDom(document.getElementById('tr-loss')).getOption();
             return { state: s.dataset.state, href: use ? use.getAttribute('href') : null,
                      tokenizer: o.series[0].data.length, predictor: o.series[2].data.length,
                      validation: o.series[1].data.length + o.series[3].data.length };",
            Duration::from_secs(180),
            |v| v.is_object() || v.as_str().is_some_and(|s| s.starts_with("ERROR")),
        )
        .await?;
    ensure!(done.is_object(), "{done}");
    assert_eq!(done["state"], "done", "{done}");
    assert!(
        done["tokenizer"].as_u64() > Some(0) && done["predictor"].as_u64() > Some(0),
        "{done}"
    );
    assert!(done["validation"].as_u64() >= Some(2), "{done}");
    let href = done["href"].as_str().unwrap_or_default().to_string();
    let model = href
        .split("model=")
        .nth(1)
        .and_then(|r| r.split('&').next())
        .unwrap_or_default()
        .to_string();
    assert!(model.starts_with("job-"), "{href}");

    // The new model is on the Models page and forecasts in this browser.
    b.goto(&format!("{}/models", server.base)).await?;
    browser
        .wait_for_js(
            "the model list",
            &format!("return document.querySelector('tr[data-model=\"{model}\"]') ? true : null;"),
            Duration::from_secs(30),
            |v| v.is_boolean(),
        )
        .await?;
    let report = browser.forecast_at(&server.base, &href).await?;
    assert_eq!(report.model.predictor.name, format!("{model}/predictor"));
    assert_eq!(report.mean.len(), 3);
    browser.quit().await;
    Ok(())
}
