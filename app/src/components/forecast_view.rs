//! A finished forecast as the forecast page and a share link show it: what ran it and how
//! long it took, the fan chart, the per-bar table (with the real bars and the error where
//! they are known), and downloads of the chart (PNG) and the numbers (CSV, JSON).

use crate::charts::forecast::{ForecastLabels, close_errors, forecast_option};
use crate::components::echart::EChart;
use crate::echarts::ECharts;
use crate::format;
use crate::i18n::{Lang, use_i18n};
use crate::inference::Timing;
use kxian_shared::api::ForecastReport;
use kxian_shared::{Bar, Frequency};
use leptos::prelude::*;
use std::sync::Arc;
use wasm_bindgen::JsCast;

/// Everything the view draws.
#[derive(Debug, Clone, PartialEq)]
pub struct ForecastData {
    pub symbol: String,
    pub frequency: Frequency,
    pub history: Vec<Bar>,
    pub actual: Vec<Bar>,
    pub report: ForecastReport,
    /// Measured in this browser; `None` for a stored snapshot.
    pub timing: Option<Timing>,
}

pub fn labels(lang: Lang) -> ForecastLabels<'static> {
    ForecastLabels {
        history: lang.tr("K线", "Candles"),
        forecast: lang.tr("预测均值", "Forecast mean"),
        band: lang.tr("p10–p90 区间", "p10–p90 band"),
        mean_close: lang.tr("预测收盘", "Forecast close"),
        p_up: lang.tr("上涨概率", "P(up)"),
        actual: lang.tr("实际", "Actual"),
        path: lang.tr("路径", "path"),
        now: lang.tr("现在", "now"),
    }
}

/// Offers `bytes` as a file download named `name`.
pub fn download(name: &str, mime: &str, text: &str) {
    let parts = js_sys::Array::of1(&text.into());
    let opts = web_sys::BlobPropertyBag::new();
    opts.set_type(mime);
    let Ok(blob) = web_sys::Blob::new_with_str_sequence_and_options(&parts, &opts) else {
        return;
    };
    let Ok(url) = web_sys::Url::create_object_url_with_blob(&blob) else {
        return;
    };
    click_link(name, &url);
    let _ = web_sys::Url::revoke_object_url(&url);
}

fn click_link(name: &str, href: &str) {
    let Some(doc) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    let Some(a) = doc
        .create_element("a")
        .ok()
        .and_then(|e| e.dyn_into::<web_sys::HtmlAnchorElement>().ok())
    else {
        return;
    };
    a.set_href(href);
    a.set_download(name);
    a.click();
}

fn file_stem(d: &ForecastData) -> String {
    format!(
        "kxian-{}-{}-h{}-seed{}",
        d.symbol, d.report.input.last, d.report.params.horizon, d.report.params.seed
    )
}

/// The backend as the page names it.
pub fn backend_name(lang: Lang, backend: &str) -> String {
    match backend {
        "webgpu" => "WebGPU".into(),
        "cpu" => lang.tr("CPU（wasm）", "CPU (wasm)").into(),
        other => other.to_string(),
    }
}

#[component]
pub fn ForecastView(data: Arc<ForecastData>) -> impl IntoView {
    let i18n = use_i18n();
    let show_paths = RwSignal::new(false);
    let chart_data = Arc::clone(&data);
    let option = Signal::derive(move || {
        let d = &chart_data;
        forecast_option(
            &d.history,
            d.frequency,
            &d.report,
            &d.actual,
            show_paths.get(),
            labels(i18n.lang()),
        )
    });
    let r = &data.report;
    let errors = close_errors(r, &data.actual);
    let mae = (!errors.is_empty())
        .then(|| errors.iter().map(|e| e.abs()).sum::<f64>() / errors.len() as f64);
    let reason = r.model.device_reason.clone();
    let timing = data.timing;
    let lang_now = move || i18n.lang();
    let ms = r.model.elapsed_ms;
    let per_bar = r.model.ms_per_bar;
    let backend2 = r.model.backend.clone();
    let model_name = r
        .model
        .predictor
        .name
        .trim_end_matches("/predictor")
        .to_string();
    let params = r.params.clone();
    let last_close = r.input.last_close;
    let rows: Vec<_> = (0..r.timestamps.len())
        .map(|i| {
            let m = r.mean[i];
            let actual = data.actual.get(i).map(|b| b.close);
            (
                r.timestamps[i].clone(),
                m,
                r.quantiles.p10[i][3],
                r.quantiles.p90[i][3],
                r.p_up[i],
                actual,
            )
        })
        .collect();
    let has_actual = !data.actual.is_empty();
    let png_name = format!("{}.png", file_stem(&data));
    let csv_name = format!("{}.csv", file_stem(&data));
    let json_name = format!("{}.json", file_stem(&data));
    let csv = r.to_csv();
    let json = serde_json::to_string_pretty(r).unwrap_or_default();
    let json_for_test = serde_json::to_string(r).unwrap_or_default();

    view! {
        <div class="forecast-result" id="forecast-result" data-backend=r.model.backend.clone()>
            <div class="forecast-summary" id="forecast-summary">
                <span class="badge" id="forecast-backend" title=reason>
                    {move || backend_name(lang_now(), &backend2)}
                </span>
                <span id="forecast-time">
                    {move || format!("{:.0} ms · {:.1} ms/{}", ms, per_bar, lang_now().tr("根", "bar"))}
                </span>
                {timing.map(|t| view! {
                    <span class="muted" id="forecast-timing"
                        data-download-ms=format!("{:.0}", t.download_ms)
                        data-init-ms=format!("{:.0}", t.init_ms)
                        data-device-ms=format!("{:.0}", t.device_ms)
                        data-first-bar-ms=format!("{:.1}", t.first_bar_ms)
                        data-cached=t.cached.to_string()>
                        {move || format!(
                            "{} {:.0} ms · {} {:.0} ms{}",
                            lang_now().tr("下载", "download"), t.download_ms,
                            lang_now().tr("初始化", "init"), t.init_ms + t.device_ms,
                            if t.cached { lang_now().tr("（已缓存）", " (cached)") } else { "" },
                        )}
                    </span>
                })}
                <span class="muted">
                    {format!("{model_name} · h{} · {} paths · T {} · top-p {} · top-k {} · seed {}",
                        params.horizon, params.samples, params.temperature, params.top_p,
                        params.top_k, params.seed)}
                </span>
                {mae.map(|m| view! {
                    <span class="badge badge-muted" id="forecast-mae" data-value=format!("{m:.4}")>
                        {move || format!("{} {:.2}%", lang_now().tr("收盘平均绝对误差", "close MAE"), m)}
                    </span>
                })}
            </div>
            <div class="toolbar forecast-tools">
                <label class="check">
                    <input type="checkbox" id="show-paths"
                        prop:checked=move || show_paths.get()
                        on:change=move |ev| show_paths.set(event_target_checked(&ev))/>
                    {move || lang_now().tr("显示全部路径", "Show every path")}
                </label>
                <button type="button" class="btn" id="download-png" on:click=move |_| {
                    let el = web_sys::window().and_then(|w| w.document())
                        .and_then(|d| d.get_element_by_id("forecast-chart"));
                    if let Some(c) = el.as_ref().and_then(ECharts::of) {
                        click_link(&png_name, &c.png_data_url());
                    }
                }>"PNG"</button>
                <button type="button" class="btn" id="download-csv"
                    on:click=move |_| download(&csv_name, "text/csv", &csv)>"CSV"</button>
                <button type="button" class="btn" id="download-json"
                    on:click=move |_| download(&json_name, "application/json", &json)>"JSON"</button>
            </div>
            <div class="chart-wrap">
                <EChart id="forecast-chart" option=option/>
            </div>
            <div class="table-wrap"><table class="data-table forecast-table" id="forecast-table">
                <thead><tr>
                    <th>{move || lang_now().tr("时间", "Bar")}</th>
                    <th>{move || lang_now().tr("开", "Open")}</th>
                    <th>{move || lang_now().tr("高", "High")}</th>
                    <th>{move || lang_now().tr("低", "Low")}</th>
                    <th>{move || lang_now().tr("收", "Close")}</th>
                    <th>"p10"</th><th>"p90"</th>
                    <th>{move || lang_now().tr("上涨概率", "P(up)")}</th>
                    {has_actual.then(|| view! {
                        <th>{move || lang_now().tr("实际收盘", "Actual close")}</th>
                        <th>{move || lang_now().tr("误差", "Error")}</th>
                    })}
                </tr></thead>
                <tbody>
                    {rows.into_iter().map(|(ts, m, p10, p90, p_up, actual)| {
                        let dir = if (m[3] as f64) >= last_close { "up" } else { "down" };
                        view! {
                            <tr data-close=m[3].to_string()>
                                <td>{ts}</td>
                                <td>{format::price(m[0] as f64)}</td>
                                <td>{format::price(m[1] as f64)}</td>
                                <td>{format::price(m[2] as f64)}</td>
                                <td class=dir>{format::price(m[3] as f64)}</td>
                                <td>{format::price(p10 as f64)}</td>
                                <td>{format::price(p90 as f64)}</td>
                                <td>{format!("{:.0}%", p_up * 100.0)}</td>
                                {actual.map(|a| view! {
                                    <td>{format::price(a)}</td>
                                    <td>{format::percent((m[3] as f64 - a) / a * 100.0)}</td>
                                })}
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table></div>
            // The exact numbers, for scripts and the end-to-end tests.
            <script type="application/json" id="forecast-report">{json_for_test}</script>
        </div>
    }
}
