//! The forecast form: symbol or file, model, sampling and compute choices, written straight into
//! the page's [`Settings`].

use super::{Settings, Source, pick_model};
use crate::i18n::use_i18n;
use crate::inference::device::BackendPref;
use kxian_shared::Frequency;
use kxian_shared::api::{ApiError, ModelList, SymbolList};
use leptos::html;
use leptos::prelude::*;

/// An input's `change` handler that parses its value into one setting; an unreadable value
/// leaves the setting as it was.
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

/// `on_file` runs when the file input changes; it reads `file_ref`.
#[component]
pub fn SettingsForm(
    settings: RwSignal<Settings>,
    source: RwSignal<Source>,
    models: LocalResource<Result<ModelList, ApiError>>,
    symbols: LocalResource<Result<SymbolList, ApiError>>,
    running: Signal<bool>,
    on_run: Callback<()>,
    file_ref: NodeRef<html::Input>,
    on_file: Callback<()>,
) -> impl IntoView {
    let i18n = use_i18n();

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
                        let title = m.description_in(i18n.lang() == crate::i18n::Lang::Zh).to_string();
                        view! { <option value=m.id.clone() selected=sel title=title>{label}</option> }
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

    view! {
        <form class="upload-form forecast-form" id="forecast-form" novalidate on:submit=move |ev| { ev.prevent_default(); on_run.run(()); }>
            <label class="field">{move || i18n.tr("代码", "Symbol")}
                <select id="f-symbol" prop:disabled=move || !matches!(source.get(), Source::Store)
                    on:change=move |ev| settings.update(|s| s.symbol = event_target_value(&ev))>
                    {symbol_options}
                </select>
            </label>
            <label class="field">{move || i18n.tr("周期", "Frequency")}
                <select id="f-freq" on:change=field(settings, |s, v: Frequency| s.frequency = v)>
                    {frequency_options}
                </select>
            </label>
            <label class="field">{move || i18n.tr("或上传文件", "or a file")}
                <input type="file" id="f-file" node_ref=file_ref accept=".csv,.txt,.tsv,.xlsx,.json" on:change=move |_| on_file.run(())/>
            </label>
            <label class="field">{move || i18n.tr("回看", "Lookback")}
                <input type="number" id="f-lookback" min="2" max="4096" prop:value=move || settings.with(|s| s.lookback)
                    on:change=field(settings, |s, v| s.lookback = v)/>
            </label>
            <label class="field">{move || i18n.tr("预测根数", "Horizon")}
                <input type="number" id="f-horizon" min="1" max="512" prop:value=move || settings.with(|s| s.horizon)
                    on:change=field(settings, |s, v| s.horizon = v)/>
            </label>
            <label class="field">{move || i18n.tr("温度", "Temperature")}
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
            <label class="field">{move || i18n.tr("路径数", "Paths")}
                <input type="number" id="f-samples" min="1" max="256" prop:value=move || settings.with(|s| s.samples)
                    on:change=field(settings, |s, v| s.samples = v)/>
            </label>
            <label class="field">{move || i18n.tr("随机种子", "Seed")}
                <input type="number" id="f-seed" min="0" prop:value=move || settings.with(|s| s.seed)
                    on:change=field(settings, |s, v| s.seed = v)/>
            </label>
            <label class="field" title="Forecast from this many bars before the end and draw the real bars beside it">
                {move || i18n.tr("回测：留出根数", "Backtest: hold out")}
                <input type="number" id="f-holdout" min="0" prop:value=move || settings.with(|s| s.holdout)
                    on:change=field(settings, |s, v| s.holdout = v)/>
            </label>
            <label class="field">{move || i18n.tr("模型", "Model")}
                <select id="f-model" on:change=move |ev| settings.update(|s| s.model = event_target_value(&ev))>
                    {model_options}
                </select>
            </label>
            <label class="field">{move || i18n.tr("计算", "Compute")}
                <select id="f-backend" on:change=move |ev| {
                    let v = event_target_value(&ev);
                    settings.update(|s| s.backend = BackendPref::parse(&v).unwrap_or_default());
                }>
                    <option value="auto" selected=move || settings.with(|s| s.backend == BackendPref::Auto)>
                        {move || i18n.tr("自动（有 GPU 时用 WebGPU）", "Auto (WebGPU on a real GPU)")}</option>
                    <option value="cpu" selected=move || settings.with(|s| s.backend == BackendPref::Cpu)>"CPU"</option>
                    <option value="webgpu" selected=move || settings.with(|s| s.backend == BackendPref::WebGpu)>"WebGPU"</option>
                </select>
            </label>
            <button type="submit" id="forecast-run" class="btn btn-primary" prop:disabled=running>
                {move || i18n.tr("运行预测", "Run forecast")}
            </button>
        </form>
    }
}
