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
    let shot = browser.screenshot("analysis.png").await?;
    eprintln!("screenshot: {}", shot.display());
    browser.quit().await;
    Ok(())
}
