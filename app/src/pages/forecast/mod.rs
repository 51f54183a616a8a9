//! `/forecast?symbol=000300.SH&freq=daily&…`: a Kronos forecast in this browser.
//!
//! The form starts from the URL (so a set-up is a link; the e2e tests use that), the bars come
//! from the store or from a file read in the page, and the model runs here on WebGPU or the
//! CPU. The result can be shared as an immutable snapshot link.

// Public only because the `#[component]` props types must be reachable where the
// components are.
pub mod form;
pub mod progress;
mod settings;
pub mod share_row;

use crate::api;
use crate::components::forecast_view::{ForecastData, ForecastView};
use crate::i18n::use_i18n;
use crate::inference::{self, Stage};
use form::SettingsForm;
use kxian_shared::api::{ApiError, ImportOptions, ModelEntry};
use kxian_shared::model::report::ReportInput;
use kxian_shared::{Adjustment, Bar, Frequency};
use leptos::html;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use progress::RunProgress;
pub use settings::{Settings, split_history};
use share_row::ShareRow;
use std::cell::Cell;
use std::rc::Rc;
use std::sync::Arc;

/// Where the bars come from.
#[derive(Debug, Clone, PartialEq)]
pub enum Source {
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

async fn read_file(file: web_sys::File) -> Result<(String, Vec<u8>), String> {
    let buf = wasm_bindgen_futures::JsFuture::from(file.array_buffer())
        .await
        .map_err(|e| format!("{}: cannot read the file: {e:?}", file.name()))?;
    Ok((file.name(), js_sys::Uint8Array::new(&buf).to_vec()))
}

/// The model `want` names, else the server's default, else the first.
fn pick_model(list: &[ModelEntry], want: &str) -> Option<ModelEntry> {
    list.iter()
        .find(|m| m.id == want)
        .or_else(|| list.iter().find(|m| m.default))
        .or_else(|| list.first())
        .cloned()
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
    let models = LocalResource::new(api::models);
    let symbols = LocalResource::new(|| api::symbols(String::new(), 500));
    let file_ref = NodeRef::<html::Input>::new();
    super::set_title("Forecast · Kxian");

    let lang = move || i18n.lang();
    let running = move || matches!(state.get(), RunState::Running(_));

    let run = move || {
        let s = settings.get_untracked();
        if let Err(e) = s.check() {
            state.set(RunState::Failed(e));
            return;
        }
        let Some(Ok(list)) = models.get_untracked() else {
            state.set(RunState::Failed(
                i18n.tr("模型列表尚未加载", "the model list has not loaded yet")
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

    // A set-up link with `run=1` runs itself once the model list is in; if it cannot, the
    // error panel says why, as it does for a click.
    let autorun = StoredValue::new(settings.with_untracked(|s| s.autorun));
    Effect::new(move |_| {
        if models.with(|m| m.is_some()) && autorun.get_value() {
            autorun.set_value(false);
            run();
        }
    });
    let setup_link = move || {
        let q = settings.with(|s| s.to_query(true));
        format!("/forecast?{q}")
    };

    let on_file = move |()| {
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
                Err(e) => state.set(RunState::Failed(ApiError::from(&e).to_string())),
            }
        });
    };

    let progress = move || {
        match state.get() {
        RunState::Running(stage) => view! { <RunProgress stage=stage cancel=cancel/> }.into_any(),
        RunState::Failed(e) => view! {
            <div class="panel error-panel" id="forecast-error" role="alert"><p class="error-message">{e}</p></div>
        }
        .into_any(),
        _ => ().into_any(),
    }
    };

    let result = move || match state.get() {
        RunState::Done(data, model) => {
            // The symbol's name, for the snapshot's title.
            let name = symbols.get_untracked().and_then(Result::ok).and_then(|l| {
                l.symbols
                    .iter()
                    .find(|x| x.symbol.to_string() == data.symbol)
                    .and_then(|x| x.name.clone())
            });
            view! {
                <ShareRow data=Arc::clone(&data) model=model name=name/>
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
                <h1>{move || lang().tr("K线预测", "Forecast")}</h1>
                <p class="hint">{move || lang().tr("模型在你的浏览器里运行（有 WebGPU 时用 GPU，否则用 CPU），服务器不参与计算。",
                    "The model runs in this browser (on WebGPU where available, else on the CPU); the server computes nothing.")}</p>
                <SettingsForm settings=settings source=source models=models symbols=symbols
                    running=Signal::derive(running) on_run=Callback::new(move |()| run()) file_ref=file_ref on_file=Callback::new(on_file)/>
                {source_note}
                <p class="hint"><a id="setup-link" href=setup_link>{move || lang().tr("本设置的链接（打开即运行）", "Link to this set-up (runs when opened)")}</a></p>
                {progress}
            </section>
            <section class="panel">{result}</section>
        </div>
    }
}
