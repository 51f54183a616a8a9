//! `/forecast?symbol=000300.SH&freq=daily&…`: a Kronos forecast in this browser.
//!
//! The form starts from the URL (so a set-up is a link; the e2e tests use that), the bars come
//! from the store or from a file read in the page, and the model runs here on WebGPU or the
//! CPU. The result can be shared as an immutable snapshot link.

use crate::api;
use crate::components::forecast_view::{ForecastData, ForecastView, tr};
use crate::i18n::use_i18n;
use crate::inference::device::BackendPref;
use crate::inference::{self, Stage};
use kxian_shared::api::{ImportOptions, ModelEntry, SHARE_VERSION, ShareSnapshot};
use kxian_shared::model::Sampling;
use kxian_shared::model::forecast::{CacheMode, ForecastConfig};
use kxian_shared::model::report::ReportInput;
use kxian_shared::{Adjustment, Bar, Frequency};
use leptos::html;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use std::cell::Cell;
use std::rc::Rc;
use std::sync::Arc;
use wasm_bindgen::JsCast;

/// The page's settings, parsed from the URL with defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub symbol: String,
    pub frequency: Frequency,
    pub lookback: usize,
    pub horizon: usize,
    pub temperature: f32,
    pub top_p: f32,
    pub top_k: usize,
    pub samples: usize,
    pub seed: u64,
    pub model: String,
    pub backend: BackendPref,
    /// Bars held back from the end of the series, to compare the forecast with them.
    pub holdout: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            symbol: "000300.SH".into(),
            frequency: Frequency::Daily,
            lookback: 400,
            horizon: 30,
            temperature: 1.0,
            top_p: 0.9,
            top_k: 0,
            samples: 16,
            seed: 42,
            model: String::new(),
            backend: BackendPref::Auto,
            holdout: 0,
        }
    }
}

impl Settings {
    pub fn from_query(get: impl Fn(&str) -> Option<String>) -> Settings {
        let d = Settings::default();
        fn num<T: std::str::FromStr>(v: Option<String>, d: T) -> T {
            v.and_then(|s| s.trim().parse().ok()).unwrap_or(d)
        }
        Settings {
            symbol: get("symbol").filter(|s| !s.is_empty()).unwrap_or(d.symbol),
            frequency: num(get("freq"), d.frequency),
            lookback: num(get("lookback"), d.lookback),
            horizon: num(get("horizon"), d.horizon),
            temperature: num(get("temperature"), d.temperature),
            top_p: num(get("top_p"), d.top_p),
            top_k: num(get("top_k"), d.top_k),
            samples: num(get("samples"), d.samples),
            seed: num(get("seed"), d.seed),
            model: get("model").unwrap_or_default(),
            backend: get("backend")
                .and_then(|b| BackendPref::parse(&b))
                .unwrap_or_default(),
            holdout: num(get("holdout"), d.holdout),
        }
    }

    /// The problems a run would hit, named by field.
    pub fn check(&self) -> Result<(), String> {
        if self.lookback < 2 {
            return Err("lookback: at least 2 bars".into());
        }
        if !(1..=512).contains(&self.horizon) {
            return Err("horizon: 1 to 512 bars".into());
        }
        if !(1..=256).contains(&self.samples) {
            return Err("samples: 1 to 256 paths".into());
        }
        self.sampling().validate()
    }

    pub fn sampling(&self) -> Sampling {
        Sampling {
            temperature: self.temperature,
            top_k: self.top_k,
            top_p: self.top_p,
        }
    }

    pub fn config(&self, max_context: usize) -> ForecastConfig {
        ForecastConfig {
            horizon: self.horizon,
            sampling: self.sampling(),
            samples: self.samples,
            seed: self.seed,
            max_context,
            cache: CacheMode::Exact,
            repair_ohlc: false,
        }
    }
}

/// Where the bars come from.
#[derive(Debug, Clone, PartialEq)]
enum Source {
    Store,
    File {
        name: String,
        bars: Vec<Bar>,
        symbol: String,
        frequency: Frequency,
    },
}

/// A run in flight or done.
#[derive(Debug, Clone)]
enum RunState {
    Idle,
    Running(Stage),
    Failed(String),
    Done(Arc<ForecastData>, Arc<ModelEntry>),
}

/// Splits a series into the history the model sees and the held-back bars after it.
pub fn split_history(bars: &[Bar], lookback: usize, holdout: usize) -> (Vec<Bar>, Vec<Bar>) {
    let cut = bars.len().saturating_sub(holdout);
    let start = cut.saturating_sub(lookback);
    (bars[start..cut].to_vec(), bars[cut..].to_vec())
}

async fn read_file(file: web_sys::File) -> Result<(String, Vec<u8>), String> {
    let buf = wasm_bindgen_futures::JsFuture::from(file.array_buffer())
        .await
        .map_err(|e| format!("{}: cannot read the file: {e:?}", file.name()))?;
    Ok((file.name(), js_sys::Uint8Array::new(&buf).to_vec()))
}

fn stage_text(lang: crate::i18n::Lang, s: &Stage) -> String {
    match s {
        Stage::Device => tr(lang, "准备设备…", "Starting the device…").into(),
        Stage::Download {
            done,
            total,
            cached,
        } => format!(
            "{} {:.1} / {:.1} MB{}",
            tr(lang, "下载模型", "Downloading the model"),
            *done as f64 / 1e6,
            *total as f64 / 1e6,
            if *cached {
                tr(lang, "（缓存）", " (cache)")
            } else {
                ""
            }
        ),
        Stage::Loading => tr(lang, "加载模型…", "Building the model…").into(),
        Stage::Forecasting { step, total } => {
            format!("{} {step}/{total}", tr(lang, "预测第", "Forecasting bar"))
        }
    }
}

fn stage_fraction(s: &Stage) -> f64 {
    match s {
        Stage::Device => 0.0,
        Stage::Download { done, total, .. } => *done as f64 / (*total).max(1) as f64,
        Stage::Loading => 1.0,
        Stage::Forecasting { step, total } => *step as f64 / (*total).max(1) as f64,
    }
}

#[component]
pub fn ForecastPage() -> impl IntoView {
    let i18n = use_i18n();
    let query = use_query_map();
    let initial = Settings::from_query(|k| query.read_untracked().get(k));
    let settings = RwSignal::new(initial);
    let source = RwSignal::new(Source::Store);
    let state = RwSignal::new(RunState::Idle);
    let cancel = StoredValue::new_local(Rc::new(Cell::new(false)));
    let share = RwSignal::new(None::<Result<String, String>>);
    let models = LocalResource::new(api::models);
    let symbols = LocalResource::new(|| api::symbols(String::new(), 500));
    let file_ref = NodeRef::<html::Input>::new();
    super::set_title("Forecast · Kxian");

    let lang = move || i18n.lang();
    let running = move || matches!(state.get(), RunState::Running(_));

    let pick_model = move |list: &[ModelEntry], want: &str| -> Option<ModelEntry> {
        list.iter()
            .find(|m| m.id == want)
            .or_else(|| list.iter().find(|m| m.default))
            .or_else(|| list.first())
            .cloned()
    };

    let run = move || {
        let s = settings.get_untracked();
        if let Err(e) = s.check() {
            state.set(RunState::Failed(e));
            return;
        }
        let Some(Ok(list)) = models.get_untracked() else {
            state.set(RunState::Failed(
                tr(
                    i18n.lang(),
                    "模型列表尚未加载",
                    "the model list has not loaded yet",
                )
                .into(),
            ));
            return;
        };
        let Some(model) = pick_model(&list.models, &s.model) else {
            state.set(RunState::Failed("the server offers no model".into()));
            return;
        };
        let flag = Rc::new(Cell::new(false));
        cancel.set_value(Rc::clone(&flag));
        share.set(None);
        state.set(RunState::Running(Stage::Device));
        let src = source.get_untracked();
        leptos::task::spawn_local(async move {
            let (symbol, frequency, bars, origin) = match src {
                Source::Store => {
                    let limit = (s.lookback + s.holdout) as u32;
                    match api::bars(&s.symbol, s.frequency, Adjustment::None, limit).await {
                        Ok(r) => (
                            r.symbol.to_string(),
                            r.frequency,
                            r.bars,
                            format!("store:{}/{}", r.symbol, r.frequency.as_str()),
                        ),
                        Err(e) => {
                            state.set(RunState::Failed(e.to_string()));
                            return;
                        }
                    }
                }
                Source::File {
                    name,
                    bars,
                    symbol,
                    frequency,
                } => (symbol, frequency, bars, format!("file:{name}")),
            };
            let (history, mut actual) = split_history(&bars, s.lookback, s.holdout);
            actual.truncate(s.horizon);
            if history.len() < 2 {
                state.set(RunState::Failed(format!(
                    "{symbol}: only {} bars before the held-back ones; the model needs at least 2",
                    history.len()
                )));
                return;
            }
            // 0: the predictor's own default (as the CLI picks it).
            let max_context = 0;
            let on_stage = move |st: Stage| state.set(RunState::Running(st));
            let outcome = inference::run(
                &model,
                inference::Request {
                    input: ReportInput {
                        symbol: &symbol,
                        frequency,
                        source: origin,
                        bars: &history,
                    },
                    config: s.config(max_context),
                    backend: s.backend,
                },
                &on_stage,
                flag,
            )
            .await;
            match outcome {
                Ok(o) => state.set(RunState::Done(
                    Arc::new(ForecastData {
                        symbol,
                        frequency,
                        history,
                        actual,
                        report: o.report,
                        timing: Some(o.timing),
                    }),
                    Arc::new(model),
                )),
                Err(e) => state.set(RunState::Failed(e)),
            }
        });
    };

    let on_file = move |_| {
        let Some(file) = file_ref
            .get()
            .and_then(|i| i.files())
            .and_then(|f| f.get(0))
        else {
            source.set(Source::Store);
            return;
        };
        leptos::task::spawn_local(async move {
            let (name, bytes) = match read_file(file).await {
                Ok(x) => x,
                Err(e) => return state.set(RunState::Failed(e)),
            };
            match kxian_shared::ingest::parse_file(&name, &bytes, &ImportOptions::default()) {
                Ok(parsed) => match parsed.series.into_iter().next() {
                    Some(series) => source.set(Source::File {
                        name,
                        symbol: series.symbol.to_string(),
                        frequency: series.frequency,
                        bars: series.bars,
                    }),
                    None => state.set(RunState::Failed(format!("{name}: no bars in the file"))),
                },
                Err(e) => state.set(RunState::Failed(e.to_api_error().to_string())),
            }
        });
    };

    let do_share = move |data: Arc<ForecastData>, model: Arc<ModelEntry>| {
        share.set(Some(Ok(tr(i18n.lang(), "保存中…", "Saving…").into())));
        let name = symbols.get_untracked().and_then(Result::ok).and_then(|l| {
            l.symbols
                .iter()
                .find(|x| x.symbol.to_string() == data.symbol)
                .and_then(|x| x.name.clone())
        });
        let snapshot = ShareSnapshot {
            version: SHARE_VERSION,
            symbol: data.symbol.clone(),
            name,
            frequency: data.frequency.as_str().into(),
            adjustment: Adjustment::None.as_str().into(),
            model_id: model.id.clone(),
            model_sha256: model.sha256.clone(),
            history: data.history.clone(),
            actual: data.actual.clone(),
            report: data.report.clone(),
        };
        leptos::task::spawn_local(async move {
            let r = api::create_share(&snapshot).await;
            share.set(Some(match r {
                Ok(created) => {
                    let origin = web_sys::window()
                        .and_then(|w| w.location().origin().ok())
                        .unwrap_or_default();
                    Ok(format!("{origin}{}", created.path))
                }
                Err(e) => Err(e.to_string()),
            }));
        });
    };

    // Inputs write straight into the settings.
    fn field<T: std::str::FromStr>(
        settings: RwSignal<Settings>,
        set: impl Fn(&mut Settings, T) + 'static,
    ) -> impl Fn(leptos::ev::Event) + 'static {
        move |ev| {
            if let Ok(v) = event_target_value(&ev).trim().parse::<T>() {
                settings.update(|s| set(s, v));
            }
        }
    }

    let symbol_options = move || {
        let current = settings.with(|s| s.symbol.clone());
        match symbols.get() {
            Some(Ok(list)) => list
                .symbols
                .into_iter()
                .map(|x| {
                    let code = x.symbol.to_string();
                    let sel = code == current;
                    view! {
                        <option value=code.clone() selected=sel>
                            {format!("{code} {}", x.name.unwrap_or_default())}
                        </option>
                    }
                })
                .collect_view()
                .into_any(),
            _ => view! { <option value=current.clone()>{current.clone()}</option> }.into_any(),
        }
    };
    let model_options = move || {
        let want = settings.with(|s| s.model.clone());
        match models.get() {
            Some(Ok(list)) => {
                let chosen = pick_model(&list.models, &want).map(|m| m.id);
                list.models
                    .into_iter()
                    .map(|m| {
                        let sel = Some(&m.id) == chosen.as_ref();
                        let label = format!("{} ({:.1} MB)", m.id, m.total_bytes() as f64 / 1e6);
                        view! { <option value=m.id.clone() selected=sel title=m.description>{label}</option> }
                    })
                    .collect_view()
                    .into_any()
            }
            Some(Err(e)) => view! { <option value="">{e.message}</option> }.into_any(),
            None => ().into_any(),
        }
    };
    let frequency_options = move || {
        let current = settings.with(|s| s.frequency);
        Frequency::ALL
            .iter()
            .map(|f| {
                view! { <option value=f.as_str() selected=*f == current>{i18n.lang().frequency(*f)}</option> }
            })
            .collect_view()
    };

    let progress = move || {
        match state.get() {
        RunState::Running(st) => {
            let pct = stage_fraction(&st) * 100.0;
            view! {
                <div class="forecast-progress" id="forecast-progress" data-stage=format!("{st:?}")>
                    <progress max="100" value=format!("{pct:.0}")></progress>
                    <span>{stage_text(i18n.lang(), &st)}</span>
                    <button type="button" class="btn" id="forecast-cancel"
                        on:click=move |_| cancel.with_value(|c| c.set(true))>
                        {move || tr(lang(), "取消", "Cancel")}
                    </button>
                </div>
            }
            .into_any()
        }
        RunState::Failed(e) => view! {
            <div class="panel error-panel" id="forecast-error" role="alert"><p class="error-message">{e}</p></div>
        }
        .into_any(),
        _ => ().into_any(),
    }
    };

    let result = move || match state.get() {
        RunState::Done(data, model) => {
            let for_share = (Arc::clone(&data), model);
            let share_view = move || {
                match share.get() {
                Some(Ok(url)) if url.starts_with("http") => view! {
                    <input id="share-link" class="share-link" readonly value=url.clone()
                        on:focus=move |ev| {
                            if let Some(i) = ev.target().and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok()) {
                                i.select();
                            }
                        }/>
                    <a href=url.clone() target="_blank" rel="noopener">{move || tr(lang(), "打开", "Open")}</a>
                }
                .into_any(),
                Some(Ok(msg)) => view! { <span class="muted">{msg}</span> }.into_any(),
                Some(Err(e)) => view! { <span class="error-message" id="share-error">{e}</span> }.into_any(),
                None => ().into_any(),
            }
            };
            view! {
                <div class="share-row">
                    <button type="button" id="share-button" class="btn btn-primary"
                        on:click=move |_| do_share(Arc::clone(&for_share.0), Arc::clone(&for_share.1))>
                        {move || tr(lang(), "分享链接", "Share link")}
                    </button>
                    {share_view}
                </div>
                <ForecastView data=data/>
            }
            .into_any()
        }
        _ => ().into_any(),
    };

    let source_note = move || match source.get() {
        Source::Store => ().into_any(),
        Source::File {
            name, bars, symbol, ..
        } => view! {
            <p class="note" id="file-source">{format!("{name}: {symbol}, {} bars", bars.len())}</p>
        }
        .into_any(),
    };

    view! {
        <div class="page forecast-page">
            <section class="panel">
                <h1>{move || tr(lang(), "K线预测", "Forecast")}</h1>
                <p class="hint">{move || tr(lang(),
                    "模型在你的浏览器里运行（有 WebGPU 时用 GPU，否则用 CPU），服务器不参与计算。",
                    "The model runs in this browser (on WebGPU where available, else on the CPU); the server computes nothing.")}</p>
                <form class="upload-form forecast-form" id="forecast-form" novalidate on:submit=move |ev| { ev.prevent_default(); run(); }>
                    <label class="field">{move || tr(lang(), "代码", "Symbol")}
                        <select id="f-symbol" prop:disabled=move || !matches!(source.get(), Source::Store)
                            on:change=move |ev| settings.update(|s| s.symbol = event_target_value(&ev))>
                            {symbol_options}
                        </select>
                    </label>
                    <label class="field">{move || tr(lang(), "周期", "Frequency")}
                        <select id="f-freq" on:change=field(settings, |s, v: Frequency| s.frequency = v)>
                            {frequency_options}
                        </select>
                    </label>
                    <label class="field">{move || tr(lang(), "或上传文件", "or a file")}
                        <input type="file" id="f-file" node_ref=file_ref accept=".csv,.txt,.tsv,.xlsx,.json" on:change=on_file/>
                    </label>
                    <label class="field">{move || tr(lang(), "回看", "Lookback")}
                        <input type="number" id="f-lookback" min="2" max="4096" prop:value=move || settings.with(|s| s.lookback)
                            on:change=field(settings, |s, v| s.lookback = v)/>
                    </label>
                    <label class="field">{move || tr(lang(), "预测根数", "Horizon")}
                        <input type="number" id="f-horizon" min="1" max="512" prop:value=move || settings.with(|s| s.horizon)
                            on:change=field(settings, |s, v| s.horizon = v)/>
                    </label>
                    <label class="field">{move || tr(lang(), "温度", "Temperature")}
                        <input type="number" id="f-temperature" step="0.05" min="0.05" prop:value=move || settings.with(|s| s.temperature.to_string())
                            on:change=field(settings, |s, v| s.temperature = v)/>
                    </label>
                    <label class="field">"top-p"
                        <input type="number" id="f-top-p" step="0.05" min="0.05" max="1" prop:value=move || settings.with(|s| s.top_p.to_string())
                            on:change=field(settings, |s, v| s.top_p = v)/>
                    </label>
                    <label class="field">"top-k"
                        <input type="number" id="f-top-k" min="0" prop:value=move || settings.with(|s| s.top_k)
                            on:change=field(settings, |s, v| s.top_k = v)/>
                    </label>
                    <label class="field">{move || tr(lang(), "路径数", "Paths")}
                        <input type="number" id="f-samples" min="1" max="256" prop:value=move || settings.with(|s| s.samples)
                            on:change=field(settings, |s, v| s.samples = v)/>
                    </label>
                    <label class="field">{move || tr(lang(), "随机种子", "Seed")}
                        <input type="number" id="f-seed" min="0" prop:value=move || settings.with(|s| s.seed)
                            on:change=field(settings, |s, v| s.seed = v)/>
                    </label>
                    <label class="field" title="Forecast from this many bars before the end and draw the real bars beside it">
                        {move || tr(lang(), "回测：留出根数", "Backtest: hold out")}
                        <input type="number" id="f-holdout" min="0" prop:value=move || settings.with(|s| s.holdout)
                            on:change=field(settings, |s, v| s.holdout = v)/>
                    </label>
                    <label class="field">{move || tr(lang(), "模型", "Model")}
                        <select id="f-model" on:change=move |ev| settings.update(|s| s.model = event_target_value(&ev))>
                            {model_options}
                        </select>
                    </label>
                    <label class="field">{move || tr(lang(), "计算", "Compute")}
                        <select id="f-backend" on:change=move |ev| {
                            let v = event_target_value(&ev);
                            settings.update(|s| s.backend = BackendPref::parse(&v).unwrap_or_default());
                        }>
                            <option value="auto" selected=move || settings.with(|s| s.backend == BackendPref::Auto)>
                                {move || tr(lang(), "自动（WebGPU 优先）", "Auto (WebGPU first)")}</option>
                            <option value="cpu" selected=move || settings.with(|s| s.backend == BackendPref::Cpu)>"CPU"</option>
                        </select>
                    </label>
                    <button type="submit" id="forecast-run" class="btn btn-primary" prop:disabled=running>
                        {move || tr(lang(), "运行预测", "Run forecast")}
                    </button>
                </form>
                {source_note}
                {progress}
            </section>
            <section class="panel">{result}</section>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_from_the_url() {
        let s = Settings::from_query(|k| match k {
            "symbol" => Some("600000.SH".into()),
            "horizon" => Some("12".into()),
            "backend" => Some("cpu".into()),
            "top_p" => Some("x".into()),
            _ => None,
        });
        assert_eq!(s.symbol, "600000.SH");
        assert_eq!(s.horizon, 12);
        assert_eq!(s.backend, BackendPref::Cpu);
        assert_eq!(s.top_p, 0.9, "an unreadable value keeps the default");
        assert!(s.check().is_ok());
        let bad = Settings {
            samples: 0,
            ..Settings::default()
        };
        assert!(bad.check().unwrap_err().starts_with("samples"));
    }

    #[test]
    fn held_back_bars_follow_the_history() {
        let bars: Vec<Bar> = (0..10)
            .map(|i| Bar {
                ts: chrono::NaiveDate::from_ymd_opt(2024, 1, 1 + i)
                    .unwrap()
                    .and_hms_opt(0, 0, 0)
                    .unwrap(),
                open: 1.0,
                high: 1.0,
                low: 1.0,
                close: i as f64,
                volume: 1.0,
                amount: None,
            })
            .collect();
        let (h, a) = split_history(&bars, 4, 3);
        assert_eq!(
            h.iter().map(|b| b.close).collect::<Vec<_>>(),
            [3.0, 4.0, 5.0, 6.0]
        );
        assert_eq!(
            a.iter().map(|b| b.close).collect::<Vec<_>>(),
            [7.0, 8.0, 9.0]
        );
        let (h, a) = split_history(&bars, 400, 0);
        assert_eq!((h.len(), a.len()), (10, 0));
    }
}
