//! The classifier's probability strip under the K-line chart, in headless Chromium: the page
//! downloads the server's default classifier, scores the last year of 600000.SH in the
//! browser, draws a third pane, and its numbers for the last day equal what
//! `kxian-trainer evaluate-classifier` writes for the same bars.

use crate::common;

use anyhow::{Result, ensure};
use common::{Browser, Server, workspace_root};
use kxian_trainer::classifier::{DataArgs, EvaluateClassifierArgs, evaluate};
use kxian_trainer::device::DeviceChoice;
use kxian_trainer::store::StoreSelection;
use std::time::Duration;

fn cli_last_day() -> Result<[f64; 3]> {
    let dir = workspace_root().join("server/data/hqchart");
    let args = EvaluateClassifierArgs {
        data: DataArgs {
            input: vec![
                dir.join("600000.sh.day.kline.json"),
                dir.join("000300.sh.day.kline.json"),
            ],
            store: StoreSelection {
                store: None,
                symbols: Vec::new(),
                board: None,
                frequency: kxian_shared::Frequency::Daily,
                adjustment: kxian_shared::Adjustment::None,
                from: None,
                to: None,
                reader: Default::default(),
            },
            skip_invalid: true,
        },
        model: workspace_root().join("public/models/kxian-classifier"),
        eval_from: chrono::NaiveDate::from_ymd_opt(2024, 8, 1),
        eval_to: None,
        cost: "0,2,1;4,0,1;1,1,0".into(),
        min_confidence: 0.0,
        rule: kxian_trainer::classifier::RuleChoice::Lift,
        lift: 2.0,
        output: None,
        signals: None,
        device: DeviceChoice::Cpu,
    };
    let (_, signals) = evaluate(&args)?;
    let p = signals
        .get(
            &"600000.SH".parse()?,
            chrono::NaiveDate::from_ymd_opt(2024, 9, 19).unwrap(),
        )
        .ok_or_else(|| anyhow::anyhow!("no signal for the last day"))?;
    Ok([p.up, p.down, p.flat])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_strip_shows_the_classifiers_probabilities_under_the_chart() -> Result<()> {
    let server = Server::start().await?;
    let browser = Browser::start().await?;
    let b = &browser.client;
    b.goto(&format!("{}/symbols/600000.SH?freq=daily", server.base))
        .await?;
    browser
        .wait_for_js(
            "the strip button",
            "return document.getElementById('strip-run') && document.getElementById('kline-chart') ? true : null;",
            Duration::from_secs(60),
            |v| v.is_boolean(),
        )
        .await?;
    b.execute("document.getElementById('strip-run').click();", vec![])
        .await?;
    let got = browser.strip_reading("the probabilities").await?;
    let page = [
        got["up"].as_f64().unwrap(),
        got["down"].as_f64().unwrap(),
        got["flat"].as_f64().unwrap(),
    ];
    let cli = tokio::task::spawn_blocking(cli_last_day).await??;
    for k in 0..3 {
        ensure!(
            (page[k] - cli[k]).abs() < 1e-5,
            "class {k}: page {page:?} vs CLI {cli:?}"
        );
    }
    ensure!((page.iter().sum::<f64>() - 1.0).abs() < 1e-5);
    let text = got["text"].as_str().unwrap_or_default();
    assert!(
        text.contains("kxian-classifier") && text.contains("2024-09-19"),
        "{text}"
    );

    // The chart gained a third pane: 250 scored days, each stacked to 100 %.
    let chart = browser
        .wait_for_js(
            "the strip pane",
            "const c = echarts.getInstanceByDom(document.getElementById('kline-chart'));
             const o = c.getOption();
             if (o.grid.length < 3) return null;
             const s = o.series.filter(x => x.stack === 'p');
             const n = s[0].data.length;
             let scored = 0, bad = 0;
             for (let i = 0; i < n; i++) {
                 if (s[0].data[i] === '-') continue;
                 scored++;
                 const t = s[0].data[i] + s[1].data[i] + s[2].data[i];
                 if (Math.abs(t - 100) > 0.15) bad++;
             }
             return { grids: o.grid.length, series: s.length, n, scored, bad,
                      last_up: s[0].data[n - 1], bars: +document.getElementById('kline-chart').dataset.bars };",
            Duration::from_secs(20),
            |v| v.is_object(),
        )
        .await?;
    assert_eq!(chart["grids"], 3, "{chart}");
    assert_eq!(chart["series"], 3, "{chart}");
    assert_eq!(chart["n"], chart["bars"], "{chart}");
    assert_eq!(chart["scored"], 250, "{chart}");
    assert_eq!(chart["bad"], 0, "{chart}");
    let last_up = chart["last_up"].as_f64().unwrap();
    assert!(
        (last_up - (cli[0] * 1000.0).round() / 10.0).abs() < 1e-9,
        "{chart}"
    );
    let _ = browser.screenshot("strip.png").await;

    // Hiding it restores the two-pane chart.
    b.execute("document.getElementById('strip-run').click();", vec![])
        .await?;
    browser
        .wait_for_js(
            "two panes again",
            "const o = echarts.getInstanceByDom(document.getElementById('kline-chart')).getOption();
             return o.grid.length === 2 ? true : null;",
            Duration::from_secs(20),
            |v| v.is_boolean(),
        )
        .await?;
    browser.quit().await;
    Ok(())
}
