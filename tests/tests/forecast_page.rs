//! The in-browser forecast in a real headless Chromium, once on WebGPU (Chromium's software
//! adapter) and once on the CPU fallback: the page's numbers equal the native
//! `kxian-trainer forecast` for the same model, bars, parameters and seed; the chart draws
//! history, forecast, fan and P(up); a share link opened in a fresh browser profile shows the
//! same numbers and re-runs to the same result; a second visit takes the weights from the
//! browser's cache.

use crate::common;

use anyhow::{Context, Result, ensure};
use common::{Browser, Server, workspace_root};
use kxian_shared::api::ForecastReport;
use kxian_trainer::device::DeviceChoice;
use kxian_trainer::forecast::{ForecastArgs, OutputFormat};
use serde_json::Value;
use std::time::Duration;

const LOOKBACK: usize = 300;
const HORIZON: usize = 12;
const SAMPLES: usize = 4;
const SEED: u64 = 7;

/// The page set up by its URL: the embedded CSI 300, the default model, sampled paths.
fn page_url(base: &str, backend: &str) -> String {
    format!(
        "{base}/forecast?symbol=000300.SH&freq=daily&lookback={LOOKBACK}&horizon={HORIZON}\
         &samples={SAMPLES}&seed={SEED}&temperature=1&top_p=0.9&top_k=0&backend={backend}"
    )
}

/// The same forecast from the CLI's code path, on the same file the server embedded.
fn native() -> Result<ForecastReport> {
    let args = ForecastArgs {
        tokenizer: None,
        predictor: None,
        input: workspace_root().join("server/data/hqchart/000300.sh.day.kline.json"),
        symbol: None,
        lookback: Some(LOOKBACK),
        horizon: HORIZON,
        temperature: 1.0,
        top_k: 0,
        top_p: 0.9,
        samples: SAMPLES,
        seed: SEED,
        max_context: None,
        cache: Default::default(),
        repair_ohlc: false,
        device: DeviceChoice::Cpu,
        format: OutputFormat::Json,
        output: None,
        quiet: true,
    };
    Ok(kxian_trainer::forecast::run(&args)?)
}

const REPORT: &str = "const el = document.getElementById('forecast-report');
    return el ? el.textContent : null;";

async fn open_and_start(browser: &Browser, url: &str) -> Result<()> {
    let b = &browser.client;
    b.goto(url).await?;
    // The model list must be in before Run can pick the model.
    browser
        .wait_for_js(
            "the model list",
            "const o = document.querySelector('#f-model option'); return o ? o.value : null;",
            Duration::from_secs(60),
            |v| v.as_str().is_some_and(|s| !s.is_empty()),
        )
        .await?;
    // Panics in the wasm reach console.error (console_error_panic_hook): keep them for the
    // failure message.
    b.execute(
        "window.__errors = []; const ce = console.error;
         console.error = (...a) => { window.__errors.push(a.join(' ')); ce(...a); };
         document.getElementById('forecast-run').click();",
        vec![],
    )
    .await?;
    Ok(())
}

async fn run_forecast(browser: &Browser, url: &str) -> Result<(ForecastReport, Value)> {
    let b = &browser.client;
    open_and_start(browser, url).await?;
    // Progress is shown while it runs (it may already be done on a fast machine).
    let raw = browser
        .wait_for_js(
            "the forecast report",
            "const err = document.getElementById('forecast-error');
                 if (err) return 'ERROR: ' + err.textContent;
                 if (window.__errors.length) return 'ERROR: ' + window.__errors.join('; ');
                 const el = document.getElementById('forecast-report');
                 if (el) return el.textContent;
                 const p = document.getElementById('forecast-progress');
                 return { progress: p ? p.textContent : null };",
            Duration::from_secs(240),
            |v| v.is_string(),
        )
        .await;
    let raw = match raw {
        Ok(v) => v,
        Err(e) => {
            let _ = browser.screenshot("forecast-failed.png").await;
            let text = b
                .execute("return document.body.innerText.slice(0, 3000);", vec![])
                .await
                .unwrap_or_default();
            anyhow::bail!("{e}\npage text: {text}");
        }
    };
    let raw = raw.as_str().unwrap_or_default();
    ensure!(!raw.starts_with("ERROR"), "the page failed: {raw}");
    let report: ForecastReport = serde_json::from_str(raw).context("the page's report")?;
    let timing = b
        .execute(
            "const t = document.getElementById('forecast-timing');
             return t ? {download: +t.dataset.downloadMs, init: +t.dataset.initMs,
                         device: +t.dataset.deviceMs, first_bar: +t.dataset.firstBarMs,
                         cached: t.dataset.cached} : null;",
            vec![],
        )
        .await?;
    Ok((report, timing))
}

async fn b_click(browser: &Browser, id: &str) -> Result<()> {
    browser
        .client
        .execute(&format!("document.getElementById('{id}').click();"), vec![])
        .await?;
    Ok(())
}

fn assert_same_forecast(page: &ForecastReport, cli: &ForecastReport, tol: f64) {
    assert_eq!(page.timestamps, cli.timestamps, "future bar times");
    assert_eq!(page.input.last, cli.input.last, "last history bar");
    assert_eq!(page.input.lookback, cli.input.lookback);
    assert_eq!(page.params.seed, cli.params.seed);
    assert_eq!(page.params.max_context, cli.params.max_context);
    assert_eq!(page.paths.len(), SAMPLES);
    assert_eq!(page.tokens, cli.tokens, "generated tokens of path 0");
    let d = page.max_rel_diff(cli);
    assert!(
        d <= tol,
        "browser and CLI differ by {d:e} (relative) > {tol:e}\npage mean {:?}\ncli mean {:?}",
        page.mean.first(),
        cli.mean.first()
    );
    eprintln!("browser vs CLI: tokens equal, max relative difference {d:e}");
}

async fn check_chart(browser: &Browser) -> Result<()> {
    let v = browser
        .wait_for_js(
            "the forecast chart",
            "const el = document.getElementById('forecast-chart');
             const c = el && window.echarts && echarts.getInstanceByDom(el);
             if (!c) return null; const o = c.getOption();
             const real = (s) => s.data.filter(x => x !== '-').length;
             return { n: o.series.length, types: o.series.map(s => s.type),
                      history: real(o.series[0]), forecast: real(o.series[1]),
                      band: real(o.series[3]), pup: real(o.series[5]),
                      now: o.series[0].markLine.data[0].xAxis,
                      cats: o.xAxis[0].data.length,
                      rows: document.querySelectorAll('#forecast-table tbody tr').length };",
            Duration::from_secs(30),
            |v| v.is_object(),
        )
        .await?;
    assert_eq!(v["types"][0], "candlestick", "{v}");
    assert_eq!(v["history"].as_u64(), Some(LOOKBACK as u64), "{v}");
    for k in ["forecast", "band", "pup", "rows"] {
        assert_eq!(v[k].as_u64(), Some(HORIZON as u64), "{k}: {v}");
    }
    assert_eq!(v["cats"].as_u64(), Some((LOOKBACK + HORIZON) as u64), "{v}");
    assert_eq!(
        v["now"], "2024-09-19",
        "the now marker sits on the last real bar: {v}"
    );
    Ok(())
}

/// The PNG, CSV and JSON buttons hand over the chart and exactly the report's numbers.
async fn check_downloads(browser: &Browser, page: &ForecastReport) -> Result<()> {
    let b = &browser.client;
    // Keep the object URLs alive and record what each download link was given.
    b.execute(
        "window.__downloads = [];
         URL.revokeObjectURL = () => {};
         HTMLAnchorElement.prototype.click = function () {
             window.__downloads.push({ name: this.download, href: this.href });
         };
         for (const id of ['download-png', 'download-csv', 'download-json'])
             document.getElementById(id).click();",
        vec![],
    )
    .await?;
    let got = browser
        .wait_for_js(
            "the downloads",
            "if (window.__downloads.length < 3) return null;
             if (!window.__texts) {
                 window.__texts = 'pending';
                 Promise.all(window.__downloads.slice(1).map(d => fetch(d.href).then(r => r.text())))
                     .then(t => { window.__texts = t; });
             }
             if (window.__texts === 'pending') return null;
             return { files: window.__downloads.map(d => d.name),
                      png: window.__downloads[0].href.slice(0, 22),
                      csv: window.__texts[0], json: window.__texts[1] };",
            Duration::from_secs(20),
            |v| v.is_object(),
        )
        .await?;
    let names: Vec<&str> = got["files"]
        .as_array()
        .map(|a| a.iter().filter_map(|v| v.as_str()).collect())
        .unwrap_or_default();
    let stem = format!("kxian-000300.SH-2024-09-19-h{HORIZON}-seed{SEED}");
    assert_eq!(
        names,
        [
            format!("{stem}.png"),
            format!("{stem}.csv"),
            format!("{stem}.json")
        ]
    );
    assert_eq!(got["png"], "data:image/png;base64,");
    assert_eq!(got["csv"].as_str(), Some(page.to_csv().as_str()));
    let json: ForecastReport = serde_json::from_str(got["json"].as_str().unwrap_or_default())?;
    assert_eq!(&json, page);
    Ok(())
}

async fn share_and_reopen(server: &Server, browser: &Browser, page: &ForecastReport) -> Result<()> {
    let b = &browser.client;
    b.execute("document.getElementById('share-button').click();", vec![])
        .await?;
    let link = browser
        .wait_for_js(
            "the share link",
            "const i = document.getElementById('share-link'); return i ? i.value : null;",
            Duration::from_secs(30),
            |v| v.is_string(),
        )
        .await?;
    let link = link.as_str().unwrap_or_default().to_string();
    assert!(
        link.starts_with(&format!("{}/s/", server.base)),
        "share link {link}"
    );
    let id = link.rsplit('/').next().unwrap_or_default();
    assert_eq!(id.len(), 22, "128-bit id in 22 characters: {link}");

    // Another browser with a fresh profile (no account, nothing cached) sees the same numbers.
    let other = Browser::start_with(false).await?;
    other.client.goto(&link).await?;
    let raw = other
        .wait_for_js("the shared report", REPORT, Duration::from_secs(60), |v| {
            v.is_string()
        })
        .await?;
    let shared: ForecastReport = serde_json::from_str(raw.as_str().unwrap_or_default())?;
    assert_eq!(
        &shared, page,
        "the shared page shows exactly the stored forecast"
    );
    let rows = other
        .client
        .execute(
            "return document.querySelectorAll('#forecast-table tbody tr').length;",
            vec![],
        )
        .await?;
    assert_eq!(rows.as_u64(), Some(HORIZON as u64));
    // Re-run on the CPU there: the same tokens and numbers.
    other
        .client
        .execute("document.getElementById('rerun-cpu').click();", vec![])
        .await?;
    let status = other
        .wait_for_js(
            "the re-run",
            "const s = document.getElementById('rerun-status');
             return s && s.dataset.state !== 'running' ? {...s.dataset, text: s.textContent} : null;",
            Duration::from_secs(240),
            |v| v.is_object(),
        )
        .await?;
    assert_eq!(status["state"], "done", "{status}");
    assert_eq!(status["same"], "true", "re-run differs: {status}");
    other.screenshot("share-page.png").await?;
    other.quit().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cpu_fallback_forecast_equals_the_cli_and_its_share_link_reproduces() -> Result<()> {
    let server = Server::start().await?;
    let cli = native()?;
    // No --enable-unsafe-webgpu: "auto" must find no adapter and fall back to the CPU.
    let browser = Browser::start_with(false).await?;
    let (page, timing) = run_forecast(&browser, &page_url(&server.base, "auto")).await?;
    assert_eq!(page.model.backend, "cpu", "{}", page.model.device_reason);
    assert!(
        page.model.device_reason.contains("WebGPU"),
        "the page says why it fell back: {}",
        page.model.device_reason
    );
    eprintln!(
        "CPU (wasm): run {:.0} ms, {:.1} ms/bar; {timing}; CLI (native) {:.0} ms, {:.1} ms/bar",
        page.model.elapsed_ms, page.model.ms_per_bar, cli.model.elapsed_ms, cli.model.ms_per_bar
    );
    assert_eq!(timing["cached"], "false", "first visit downloads: {timing}");
    // Same arithmetic on the same backend: only the last bits may differ (no SIMD in wasm).
    assert_same_forecast(&page, &cli, 1e-4);
    check_chart(&browser).await?;
    browser.screenshot("forecast-cpu.png").await?;
    check_downloads(&browser, &page).await?;
    share_and_reopen(&server, &browser, &page).await?;

    // A second visit: the weights come from the browser's cache, and the numbers repeat.
    let (again, timing) = run_forecast(&browser, &page_url(&server.base, "cpu")).await?;
    assert_eq!(timing["cached"], "true", "second visit: {timing}");
    assert_eq!(again.tokens, page.tokens);
    assert_eq!(again.mean, page.mean);

    // The page's set-up link names every setting and runs itself when opened: no click.
    let link = browser
        .client
        .execute(
            "return document.getElementById('setup-link').getAttribute('href');",
            vec![],
        )
        .await?;
    let link = link.as_str().context("the set-up link")?.to_string();
    assert!(link.ends_with("run=1"), "{link}");
    browser
        .client
        .goto(&format!("{}{link}", server.base))
        .await?;
    let raw = browser
        .wait_for_js(
            "the set-up link's forecast, without a click",
            "const err = document.getElementById('forecast-error');
             if (err) return 'ERROR: ' + err.textContent;
             const el = document.getElementById('forecast-report'); return el ? el.textContent : null;",
            Duration::from_secs(120),
            |v| v.is_string(),
        )
        .await?;
    let raw = raw.as_str().unwrap_or_default();
    ensure!(!raw.starts_with("ERROR"), "{raw}");
    let linked: ForecastReport = serde_json::from_str(raw)?;
    assert_eq!(linked.mean, page.mean, "the link carries the same set-up");
    browser.quit().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webgpu_forecast_equals_the_cli_within_float_tolerance() -> Result<()> {
    let server = Server::start().await?;
    let cli = native()?;
    let browser = Browser::start_with(true).await?;
    // Headless Chromium's only adapter is SwiftShader, WebGPU emulated on the CPU: "auto" sees
    // that and runs on the (much faster) wasm CPU path, and says why.
    let (auto, _) = run_forecast(&browser, &page_url(&server.base, "auto")).await?;
    assert_eq!(
        auto.model.backend, "cpu",
        "auto must not take a software adapter: {}",
        auto.model.device_reason
    );
    assert!(
        auto.model.device_reason.contains("swiftshader")
            || auto.model.device_reason.contains("fallback"),
        "the page names the software adapter: {}",
        auto.model.device_reason
    );
    // Chosen explicitly, WebGPU still runs on it.
    let (page, timing) = run_forecast(&browser, &page_url(&server.base, "webgpu")).await?;
    assert_eq!(
        page.model.backend, "webgpu",
        "Chromium's software adapter should serve WebGPU when asked for: {}",
        page.model.device_reason
    );
    eprintln!(
        "WebGPU ({}): run {:.0} ms, {:.1} ms/bar; {timing}; CLI (native) {:.0} ms, {:.1} ms/bar",
        page.model.device_reason,
        page.model.elapsed_ms,
        page.model.ms_per_bar,
        cli.model.elapsed_ms,
        cli.model.ms_per_bar
    );
    assert_same_forecast(&page, &cli, 1e-3);
    check_chart(&browser).await?;
    browser.screenshot("forecast-webgpu.png").await?;

    // A long run: the page keeps painting progress bar by bar, and Cancel stops it.
    let long =
        page_url(&server.base, "webgpu").replace(&format!("horizon={HORIZON}"), "horizon=200");
    open_and_start(&browser, &long).await?;
    let stage = browser
        .wait_for_js(
            "progress past the first bar",
            "const p = document.getElementById('forecast-progress');
             return p ? p.dataset.stage : null;",
            Duration::from_secs(120),
            |v| {
                v.as_str().is_some_and(|s| {
                    s.starts_with("Forecasting { step: ") && !s.contains("step: 0,")
                })
            },
        )
        .await?;
    b_click(&browser, "forecast-cancel").await?;
    let err = browser
        .wait_for_js(
            "the cancellation",
            "const e = document.getElementById('forecast-error'); return e ? e.textContent : null;",
            Duration::from_secs(60),
            |v| v.is_string(),
        )
        .await?;
    assert!(
        err.as_str().is_some_and(|e| e.contains("cancelled after")),
        "{err} (progress was {stage})"
    );
    browser.quit().await;
    Ok(())
}
