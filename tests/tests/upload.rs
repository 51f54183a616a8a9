//! Uploading files in the app: an akshare CSV and an EquiNet XLSX are imported and charted;
//! a bad file shows its row/column errors and leaves the store as it was.

use crate::common;

use common::{Browser, Server, workspace_root};
use fantoccini::Locator;
use std::fmt::Write;
use std::time::Duration;

/// An akshare `stock_zh_a_hist` export: Chinese headers, volume in lots, 60 trading days.
fn akshare_csv() -> String {
    let mut s =
        String::from("日期,股票代码,开盘,收盘,最高,最低,成交量,成交额,振幅,涨跌幅,涨跌额,换手率\n");
    let cal = kxian_shared::calendar::TradingCalendar::embedded();
    let start = chrono::NaiveDate::from_ymd_opt(2024, 5, 31).unwrap();
    for (i, (day, _)) in cal.next_trading_days(start, 60).into_iter().enumerate() {
        let open = 1500.0 + i as f64;
        let close = open + if i % 2 == 0 { 5.0 } else { -5.0 };
        let (hi, lo) = (open.max(close) + 3.0, open.min(close) - 3.0);
        writeln!(
            s,
            "{day},\"600519\",{open:.2},{close:.2},{hi:.2},{lo:.2},{},{:.1},1.0,0.1,1.5,0.2",
            20_000 + i,
            (20_000 + i) as f64 * 100.0 * open
        )
        .unwrap();
    }
    s
}

async fn upload(browser: &Browser, path: &std::path::Path) -> anyhow::Result<()> {
    let b = &browser.client;
    // The app mounts once its wasm (model code included) has loaded: wait for the form.
    let input = b
        .wait()
        .at_most(std::time::Duration::from_secs(60))
        .for_element(Locator::Css("#upload-file"))
        .await?;
    input.send_keys(&path.display().to_string()).await?;
    b.find(Locator::Css("#upload-submit"))
        .await?
        .click()
        .await?;
    Ok(())
}

async fn wait_text(browser: &Browser, css: &str, needle: &str) -> anyhow::Result<String> {
    let v = browser
        .wait_for_js(
            &format!("{css} to mention {needle}"),
            &format!("const e = document.querySelector('{css}'); return e ? e.innerText : null;"),
            Duration::from_secs(60),
            |v| v.as_str().is_some_and(|t| t.contains(needle)),
        )
        .await?;
    Ok(v.as_str().unwrap_or_default().to_string())
}

async fn chart_len(browser: &Browser, expected: u64) -> anyhow::Result<()> {
    browser
        .wait_for_js(
            "the chart of the imported series",
            "const el = document.getElementById('kline-chart');
             const c = el && window.echarts && echarts.getInstanceByDom(el);
             return c && c.getOption().series ? c.getOption().series[0].data.length : 0;",
            Duration::from_secs(60),
            |v| v.as_u64() == Some(expected),
        )
        .await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn akshare_csv_and_equinet_xlsx_upload_and_chart_and_bad_files_change_nothing()
-> anyhow::Result<()> {
    let server = Server::start().await?;
    let browser = Browser::start().await?;
    let files = tempfile::tempdir()?;

    // 1. akshare CSV.
    let csv = files.path().join("600519_daily.csv");
    std::fs::write(&csv, akshare_csv())?;
    browser.client.goto(&format!("{}/", server.base)).await?;
    upload(&browser, &csv).await?;
    let report = wait_text(&browser, "#upload-result", "600519.SH").await?;
    assert!(
        report.contains("60"),
        "report should count 60 bars: {report}"
    );
    let stored = server
        .store
        .bars(
            &"600519.SH".parse()?,
            kxian_shared::Frequency::Daily,
            Default::default(),
            None,
            None,
            1000,
        )
        .await?;
    let stored = stored.expect("series stored");
    assert_eq!(stored.bars.len(), 60);
    assert_eq!(
        stored.bars[0].volume, 2_000_000.0,
        "20,000 lots = 2,000,000 shares"
    );
    browser
        .client
        .goto(&format!("{}/symbols/600519.SH?freq=daily", server.base))
        .await?;
    chart_len(&browser, 60).await?;
    browser.screenshot("upload-akshare-600519.png").await?;

    // 2. A real EquiNet XLSX (STAR board, text dates with a leading space, volume in shares).
    let xlsx = workspace_root().join("shared/tests/data/equinet/processed_688055.xlsx");
    anyhow::ensure!(xlsx.exists(), "reference file missing: {}", xlsx.display());
    browser.client.goto(&format!("{}/", server.base)).await?;
    upload(&browser, &xlsx.canonicalize()?).await?;
    wait_text(&browser, "#upload-result", "688055.SH").await?;
    browser
        .client
        .goto(&format!("{}/symbols/688055.SH?freq=daily", server.base))
        .await?;
    chart_len(&browser, 420).await?;

    // 3. A bad file: the error names row and column, and nothing changes in the store.
    let before = server.store.counts().await?;
    let bad = files.path().join("600519_bad.csv");
    let mut text = akshare_csv();
    text = text.replacen(",\"600519\",15", ",\"600519\",-15", 1); // a negative open in row 2
    std::fs::write(&bad, text)?;
    browser.client.goto(&format!("{}/", server.base)).await?;
    upload(&browser, &bad).await?;
    let err = wait_text(&browser, "#upload-error", "开盘").await?;
    assert!(err.contains('2'), "the error should name row 2: {err}");
    assert_eq!(
        server.store.counts().await?,
        before,
        "a rejected file must not change the store"
    );
    browser
        .client
        .execute(
            "document.querySelector('#upload-error').scrollIntoView({block: 'center'});",
            vec![],
        )
        .await?;
    browser.screenshot("upload-error.png").await?;
    browser.quit().await;
    Ok(())
}
