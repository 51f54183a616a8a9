//! The analysis page in a real headless Chromium on the embedded data, with no download: the
//! CSI 300's regime now and its periods, as `kxian-trainer analyze` computes them from the
//! same file, and the three embedded stocks in the style buckets.

use crate::common;

use common::{Browser, Server};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_analysis_page_shows_the_csi300_regime_and_the_stocks_styles() -> anyhow::Result<()> {
    let server = Server::start().await?;
    let browser = Browser::start().await?;
    let b = &browser.client;
    b.goto(&format!("{}/analysis", server.base)).await?;
    let shown = browser
        .wait_for_js(
            "the analysis page",
            "const e = document.getElementById('analysis-current');
             if (!e) return null;
             const rows = id => document.querySelectorAll('#' + id + ' tbody tr');
             const count = id => Array.from(rows(id)).map(r => Number(r.children[1].innerText))
                 .reduce((a, n) => a + n, 0);
             return [e.dataset.regime, rows('analysis-periods').length,
                     count('analysis-volatility'), count('analysis-momentum'),
                     rows('analysis-shares').length];",
            Duration::from_secs(60),
            |v| v.is_array(),
        )
        .await?;
    let want = common::csi300_regime()?;
    assert_eq!(
        shown[0].as_str(),
        want.current.map(|r| r.as_str()),
        "{shown}"
    );
    assert_eq!(
        shown[1].as_u64(),
        Some(want.periods.len().min(12) as u64),
        "{shown}"
    );
    // The three embedded stocks, each in one bucket of each style; four regimes.
    assert_eq!(shown[2].as_u64(), Some(3), "{shown}");
    assert_eq!(shown[3].as_u64(), Some(3), "{shown}");
    assert_eq!(shown[4].as_u64(), Some(4), "{shown}");
    // No reference data yet: sectors, size and value are listed as what it would take.
    let missing = b
        .execute(
            "return document.querySelectorAll('#analysis-missing li').length;",
            vec![],
        )
        .await?;
    assert_eq!(missing.as_u64(), Some(3), "{missing}");
    let shot = browser.screenshot("analysis.png").await?;
    eprintln!("screenshot: {}", shot.display());

    // With industries and shares in the server's store, the page buckets the stocks by sector,
    // size and value as the library does.
    use kxian_shared::reference::{IndustryRecord, ReferenceData, SharesRecord};
    let d = |s: &str| s.parse::<chrono::NaiveDate>().unwrap();
    let data = ReferenceData {
        industries: [
            ("600000.SH", "银行"),
            ("000001.SZ", "801780"),
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
            ("600000.SH", 2.9e10, 0.4),
            ("000001.SZ", 1.9e10, 0.5),
            ("000151.SZ", 3.0e8, 2.0),
        ]
        .into_iter()
        .map(|(s, f, pb)| SharesRecord {
            symbol: s.into(),
            date: d("2024-06-28"),
            total_shares: f,
            float_shares: f,
            pe: None,
            pb: Some(pb),
        })
        .collect(),
        ..ReferenceData::default()
    };
    server.store.import_reference(&data).await?;
    b.refresh().await?;
    let styles = browser
        .wait_for_js(
            "the reference styles",
            "const of = (id, name) => {
                 const r = document.querySelector('#' + id + ' tr[data-bucket=\"' + name + '\"]');
                 return r ? r.children[2].innerText : null; };
             const fin = of('analysis-industry', 'finance');
             if (fin === null) return null;
             return [fin, of('analysis-industry', 'consumer'), of('analysis-size', 'mega'),
                     of('analysis-value', 'growth'),
                     document.querySelectorAll('#analysis-missing li').length];",
            Duration::from_secs(60),
            |v| v.is_array(),
        )
        .await?;
    assert_eq!(
        styles,
        serde_json::json!([
            "000001.SZ 600000.SH",
            "000151.SZ",
            "600000.SH",
            "000151.SZ",
            0
        ]),
        "{styles}"
    );
    browser.quit().await;
    Ok(())
}
