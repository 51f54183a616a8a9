//! The K-line page of the embedded CSI 300 series in a real headless Chromium: the chart
//! draws every bar, and the tooltip shows real OHLCV values.

use crate::common;

use common::{Browser, Server};
use std::time::Duration;

/// The last bar of the embedded CSI 300 series (hqchart 000300.sh, 2024-09-19).
const LAST_CLOSE: &str = "3196.04";
const LAST_OPEN: &str = "3178.40";
const CSI300_BARS: u64 = 4790;

const CHART: &str = "const el = document.getElementById('kline-chart');
    const c = el && window.echarts && echarts.getInstanceByDom(el);";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn csi300_kline_page_draws_every_candle_and_a_real_tooltip() -> anyhow::Result<()> {
    let server = Server::start().await?;
    let browser = Browser::start().await?;
    let b = &browser.client;
    b.goto(&format!("{}/symbols/000300.SH?freq=daily", server.base))
        .await?;

    // The series data handed to ECharts, and what ECharts' model actually holds.
    let counts = browser
        .wait_for_js(
            "the candlestick series",
            &format!(
                "{CHART} if (!c) return null; const o = c.getOption();
                 if (!o.series || !o.series.length) return null;
                 return [o.series[0].type, o.series[0].data.length,
                         c.getModel().getSeriesByIndex(0).getData().count()];"
            ),
            Duration::from_secs(60),
            |v| v.get(1).and_then(|n| n.as_u64()).unwrap_or(0) > 0,
        )
        .await?;
    assert_eq!(
        counts[0], "candlestick",
        "series 0 must be the candles: {counts}"
    );
    assert_eq!(
        counts[1].as_u64(),
        Some(CSI300_BARS),
        "bars handed to the chart: {counts}"
    );
    // The default view is the last year; CSI 300 has a bar on every trading day, so the
    // candles drawn are the trading days after 2023-09-19 up to the last bar.
    let cal = kxian_shared::calendar::TradingCalendar::embedded();
    let year = cal
        .trading_days_between(
            chrono::NaiveDate::from_ymd_opt(2023, 9, 20).unwrap(),
            chrono::NaiveDate::from_ymd_opt(2024, 9, 19).unwrap(),
        )
        .len() as u64;
    assert_eq!(
        counts[2].as_u64(),
        Some(year),
        "candles drawn in the 1Y view: {counts}"
    );

    // "All" draws every bar.
    b.find(fantoccini::Locator::Css("#range-All"))
        .await?
        .click()
        .await?;
    browser
        .wait_for_js(
            "every candle drawn after choosing All",
            &format!("{CHART} return c ? c.getModel().getSeriesByIndex(0).getData().count() : 0;"),
            Duration::from_secs(30),
            |v| v.as_u64() == Some(CSI300_BARS),
        )
        .await?;

    // The page's own bar counter agrees.
    let bar_count = b
        .find(fantoccini::Locator::Css("#bar-count"))
        .await?
        .text()
        .await?;
    assert!(
        bar_count
            .replace(',', "")
            .contains(&CSI300_BARS.to_string()),
        "#bar-count shows {bar_count:?}"
    );

    // Hover the last candle and read the tooltip ECharts renders.
    let tooltip = browser
        .wait_for_js(
            "the tooltip of the last bar",
            &format!(
                "{CHART} if (!c) return null;
                 const n = c.getOption().series[0].data.length;
                 c.dispatchAction({{type: 'showTip', seriesIndex: 0, dataIndex: n - 1}});
                 const texts = Array.from(el.querySelectorAll('div'))
                   .filter(d => getComputedStyle(d).display !== 'none' && d.innerText.includes('{LAST_CLOSE}'))
                   .map(d => d.innerText);
                 return texts.length ? texts[texts.length - 1] : null;"
            ),
            Duration::from_secs(20),
            |v| v.is_string(),
        )
        .await?;
    let text = tooltip.as_str().unwrap_or_default().to_string();
    assert!(
        text.contains(LAST_CLOSE),
        "tooltip lacks the close {LAST_CLOSE}: {text}"
    );
    assert!(
        text.contains(LAST_OPEN),
        "tooltip lacks the open {LAST_OPEN}: {text}"
    );
    assert!(
        text.contains("2024-09-19"),
        "tooltip lacks the date: {text}"
    );

    let daily_note = b
        .execute(
            "return document.getElementById('no-volume') !== null;",
            vec![],
        )
        .await?;
    assert_eq!(
        daily_note, false,
        "the daily series has volumes: no 'no volume' note"
    );
    // The market regime under the index's chart: the one the library gives on the same
    // embedded file, and a shaded area per period behind the candles.
    let want = common::csi300_regime()?;
    let shown = browser
        .wait_for_js(
            "the market regime note",
            &format!(
                "const e = document.getElementById('regime-current');
                 if (!e) return null;
                 {CHART} const o = c && c.getOption();
                 let m = o && o.series[0].markArea;
                 if (Array.isArray(m)) m = m[0];
                 const areas = m && m.data ? m.data.length : 0;
                 return [e.dataset.regime, areas];"
            ),
            Duration::from_secs(20),
            |v| v.is_array(),
        )
        .await?;
    assert_eq!(
        shown[0].as_str(),
        want.current.map(|r| r.as_str()),
        "regime shown: {shown}"
    );
    assert_eq!(
        shown[1].as_u64(),
        Some(want.periods.len() as u64),
        "one shaded area per period: {shown}"
    );
    let shot = browser.screenshot("kline-000300.SH.png").await?;

    // The index's 1-minute bars carry no volume in the source: the page says so.
    b.goto(&format!("{}/symbols/000300.SH?freq=1m", server.base))
        .await?;
    browser
        .wait_for_js(
            "the no-volume note on the 1-minute index series",
            "const e = document.getElementById('no-volume'); return e ? e.innerText : null;",
            Duration::from_secs(60),
            |v| v.is_string(),
        )
        .await?;
    eprintln!("screenshot: {}", shot.display());
    browser.quit().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn symbol_list_search_leads_to_the_chart() -> anyhow::Result<()> {
    let server = Server::start().await?;
    let browser = Browser::start().await?;
    let b = &browser.client;
    b.goto(&format!("{}/", server.base)).await?;
    let rows = browser
        .wait_for_js(
            "the symbol list",
            "return document.querySelectorAll('.symbol-row').length;",
            Duration::from_secs(60),
            |v| v.as_u64().unwrap_or(0) > 0,
        )
        .await?;
    assert_eq!(
        rows.as_u64(),
        Some(embedded_symbol_count()),
        "one row per embedded symbol"
    );

    let search = b.find(fantoccini::Locator::Css("#symbol-search")).await?;
    search.send_keys("399006").await?;
    browser
        .wait_for_js(
            "the search to narrow the list",
            "return Array.from(document.querySelectorAll('.symbol-row')).map(r => r.innerText);",
            Duration::from_secs(20),
            |v| v.as_array().is_some_and(|a| a.len() == 1),
        )
        .await?;
    b.find(fantoccini::Locator::Css(".symbol-row a"))
        .await?
        .click()
        .await?;
    browser
        .wait_for_js(
            "the ChiNext chart",
            &format!("{CHART} return c ? c.getOption().series[0].data.length : 0;"),
            Duration::from_secs(60),
            |v| v.as_u64() == Some(3476),
        )
        .await?;
    let url = b.current_url().await?;
    assert!(
        url.path().starts_with("/symbols/399006.SZ"),
        "deep link: {url}"
    );
    browser.quit().await;
    Ok(())
}

fn embedded_symbol_count() -> u64 {
    kxian_server::embedded::symbols().len() as u64
}
