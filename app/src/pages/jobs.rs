//! The hosted-job pages: `/data` (downloads with live per-symbol progress), `/training`
//! (finetunes with a live loss curve) and `/models` (what the server serves, with "use for
//! forecast"). Jobs run on the server; these pages submit them and watch their events.

use crate::api;
use crate::api::watch_job;
use crate::components::echart::EChart;
use crate::components::forecast_view::tr;
use crate::i18n::use_i18n;
use kxian_shared::api::{JobInfo, JobSpec};
use kxian_shared::jobs::{
    DownloadJob, DownloadSource, FinetuneJob, JobEvent, JobResult, Outcome, Stages, UniverseChoice,
};
use leptos::prelude::*;
use serde_json::{Value, json};

/// Whether the server knows this browser; a remote browser signs in with a token here.
#[component]
fn SignedIn(children: ChildrenFn) -> impl IntoView {
    let i18n = use_i18n();
    let me = LocalResource::new(api::me);
    let token = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let sign_in = move |_| {
        let t = token.get_untracked();
        leptos::task::spawn_local(async move {
            match api::sign_in(&t).await {
                Ok(_) => me.refetch(),
                Err(e) => error.set(Some(e.to_string())),
            }
        });
    };
    move || {
        match me.get() {
        None => ().into_any(),
        Some(Ok(u)) => view! {
            <p class="hint" id="signed-in">{format!("{} {}", tr(i18n.lang(), "用户", "Signed in as"), u.name)}</p>
            {children()}
        }
        .into_any(),
        Some(Err(_)) => view! {
            <div class="panel" id="sign-in">
                <p>{tr(i18n.lang(), "请用 API 令牌登录（kxian user add 名字）。", "Sign in with an API token (kxian user add NAME makes one).")}</p>
                <input type="password" id="sign-in-token" class="share-link"
                    on:input=move |ev| token.set(event_target_value(&ev))/>
                <button type="button" class="btn primary" id="sign-in-button" on:click=sign_in>
                    {tr(i18n.lang(), "登录", "Sign in")}</button>
                {move || error.get().map(|e| view! { <p class="error-message">{e}</p> })}
            </div>
        }
        .into_any(),
    }
    }
}

fn split_symbols(text: &str) -> Vec<String> {
    text.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// Parses the form's optional date.
fn day(text: &str) -> Option<chrono::NaiveDate> {
    text.trim().parse().ok()
}

#[component]
pub fn DataPage() -> impl IntoView {
    super::set_title("Data · Kxian");
    view! { <SignedIn><DataForm/></SignedIn> }
}

#[component]
fn DataForm() -> impl IntoView {
    let i18n = use_i18n();
    let lang = move || i18n.lang();
    let symbols = RwSignal::new("000001.SZ, 510310".to_string());
    let source = RwSignal::new("eastmoney".to_string());
    let tushare_token = RwSignal::new(String::new());
    let all_etfs = RwSignal::new(false);
    let frequency = RwSignal::new("daily".to_string());
    let adjustment = RwSignal::new("none".to_string());
    let from = RwSignal::new(String::new());
    let to = RwSignal::new(String::new());
    let job = RwSignal::new(None::<JobInfo>);
    let rows = RwSignal::new(Vec::<(String, String, String)>::new());
    let state = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let submit = move |_| {
        let source = source.get_untracked();
        let spec = JobSpec::Download(DownloadJob {
            source: DownloadSource::ALL
                .into_iter()
                .find(|s| s.as_str() == source)
                .unwrap_or_default(),
            symbols: split_symbols(&symbols.get_untracked()),
            universe: all_etfs.get_untracked().then_some(UniverseChoice::AllEtfs),
            frequency: frequency
                .get_untracked()
                .parse()
                .unwrap_or(kxian_shared::Frequency::Daily),
            adjustment: adjustment.get_untracked().parse().unwrap_or_default(),
            from: day(&from.get_untracked()),
            to: day(&to.get_untracked()),
        });
        error.set(None);
        rows.set(Vec::new());
        let token = tushare_token.get_untracked();
        leptos::task::spawn_local(async move {
            // A new Tushare token is stored for the user's jobs first; it is never shown again.
            if !token.trim().is_empty()
                && let Err(e) = api::put_tushare_token(&token).await
            {
                return error.set(Some(e.to_string()));
            }
            match api::submit_job(&spec).await {
                Ok(j) => {
                    state.set(j.state.as_str().to_string());
                    let id = j.id;
                    job.set(Some(j));
                    watch_job(id, move |e| match e {
                        JobEvent::Symbol {
                            symbol, outcome, ..
                        } => {
                            let (status, detail) = match outcome {
                                Outcome::Downloaded {
                                    new_bars,
                                    first,
                                    last,
                                } => ("downloaded", format!("{new_bars} {first} – {last}")),
                                Outcome::Failed { error } => ("failed", error),
                                Outcome::UpToDate => ("up_to_date", String::new()),
                                Outcome::Empty => ("empty", String::new()),
                                Outcome::Unknown { .. } => ("unknown", String::new()),
                            };
                            rows.update(|r| r.push((symbol, status.to_string(), detail)));
                        }
                        JobEvent::Started { .. } => state.set("running".into()),
                        JobEvent::End { state: s, .. } => state.set(s.as_str().to_string()),
                        _ => {}
                    });
                }
                Err(e) => error.set(Some(e.to_string())),
            }
        });
    };
    let select = |sig: RwSignal<String>, id: &'static str, options: &'static [&'static str]| {
        view! {
            <select id=id on:change=move |ev| sig.set(event_target_value(&ev))>
                {options.iter().map(|o| view! { <option value=*o selected=move || sig.get() == *o>{*o}</option> }).collect_view()}
            </select>
        }
    };
    view! {
        <section class="panel jobs-page">
            <h1>{move || tr(lang(), "下载数据", "Download data")}</h1>
            <p class="hint">{move || tr(lang(),
                "由服务器上的 kxian-trainer 从东方财富下载（与 akshare 相同的接口），限速、重试，并增量写入数据库。",
                "kxian-trainer downloads from Eastmoney (the endpoints akshare uses) on the server: rate-limited, retried, and only the bars the store lacks.")}</p>
            <label class="field"><span>{move || tr(lang(), "代码（逗号或空格分隔）", "Symbols (comma or space separated)")}</span>
                <textarea id="dl-symbols" rows="2" prop:value=move || symbols.get()
                    on:input=move |ev| symbols.set(event_target_value(&ev))></textarea></label>
            <label class="field"><input type="checkbox" id="dl-all-etfs"
                on:change=move |ev| all_etfs.set(event_target_checked(&ev))/>
                {move || tr(lang(), " 全部 ETF", " All ETFs")}</label>
            <div class="form-row">
                <label class="field"><span>{move || tr(lang(), "数据源", "Source")}</span>
                    {select(source, "dl-source", &["eastmoney", "tushare", "yahoo"])}</label>
                <Show when=move || source.get() == "tushare">
                    <label class="field"><span>{move || tr(lang(), "Tushare 令牌（只保存在服务器上）", "Tushare token (kept on the server only)")}</span>
                        <input type="password" id="dl-tushare-token" autocomplete="off"
                            on:input=move |ev| tushare_token.set(event_target_value(&ev))/></label>
                </Show>
                <label class="field"><span>{move || tr(lang(), "周期", "Frequency")}</span>
                    {select(frequency, "dl-frequency", &["daily", "weekly", "monthly", "60m", "30m", "15m", "5m"])}</label>
                <label class="field"><span>{move || tr(lang(), "复权", "Adjustment")}</span>
                    {select(adjustment, "dl-adjustment", &["none", "qfq", "hfq"])}</label>
                <label class="field"><span>{move || tr(lang(), "起始", "From")}</span>
                    <input type="date" id="dl-from" on:input=move |ev| from.set(event_target_value(&ev))/></label>
                <label class="field"><span>{move || tr(lang(), "截止", "To")}</span>
                    <input type="date" id="dl-to" on:input=move |ev| to.set(event_target_value(&ev))/></label>
            </div>
            <div class="actions"><button type="button" class="btn primary" id="dl-submit" on:click=submit>
                {move || tr(lang(), "开始下载", "Download")}</button></div>
            {move || error.get().map(|e| view! { <div class="panel error-panel" id="dl-error"><p class="error-message">{e}</p></div> })}
            {move || job.get().map(|j| view! {
                <h2>{format!("{} {}", tr(lang(), "任务", "Job"), j.id)}
                    " " <span class="badge" id="dl-state" data-state=move || state.get()>{move || state.get()}</span></h2>
                <table class="data-table" id="dl-progress">
                    <thead><tr><th>{tr(lang(), "代码", "Symbol")}</th><th>{tr(lang(), "结果", "Outcome")}</th><th></th></tr></thead>
                    <tbody>{move || rows.get().into_iter().map(|(s, st, d)| {
                        let href = format!("/symbols/{s}?freq=daily");
                        let shown = st.clone();
                        view! { <tr data-symbol=s.clone() data-status=st>
                            <td><a href=href>{s.clone()}</a></td><td>{shown}</td><td>{d}</td></tr> }
                    }).collect_view()}</tbody>
                </table>
            })}
        </section>
    }
}

#[component]
pub fn TrainingPage() -> impl IntoView {
    super::set_title("Training · Kxian");
    view! { <SignedIn><TrainingForm/></SignedIn> }
}

/// The loss curve: training loss per step for each stage, validation loss per epoch.
pub fn loss_option(points: &[(String, String, f64, f64)]) -> Value {
    let series_of = |stage: &str, kind: &str| -> Vec<Value> {
        points
            .iter()
            .filter(|p| p.0 == stage && p.1 == kind)
            .map(|p| json!([p.2, p.3]))
            .collect()
    };
    let mut series = Vec::new();
    for stage in ["tokenizer", "predictor"] {
        series.push(json!({"name": format!("{stage} loss"), "type": "line", "showSymbol": false,
            "data": series_of(stage, "step"), "yAxisIndex": if stage == "tokenizer" { 0 } else { 1 }}));
        series.push(json!({"name": format!("{stage} validation"), "type": "line", "symbolSize": 8,
            "data": series_of(stage, "val"), "yAxisIndex": if stage == "tokenizer" { 0 } else { 1 }}));
    }
    json!({
        "animation": false,
        "tooltip": {"trigger": "axis"},
        "legend": {"top": 0},
        "grid": {"left": 60, "right": 60, "top": 40, "bottom": 40},
        "xAxis": {"type": "value", "name": "step"},
        "yAxis": [{"type": "value", "name": "tokenizer", "scale": true}, {"type": "value", "name": "predictor", "scale": true}],
        "series": series
    })
}

#[component]
fn TrainingForm() -> impl IntoView {
    let i18n = use_i18n();
    let lang = move || i18n.lang();
    let symbols = RwSignal::new("000300.SH".to_string());
    let stages = RwSignal::new("both".to_string());
    let epochs = RwSignal::new("1".to_string());
    let batch = RwSignal::new("16".to_string());
    let lr = RwSignal::new(String::new());
    let lookback = RwSignal::new("90".to_string());
    let horizon = RwSignal::new("10".to_string());
    let max_seconds = RwSignal::new("60".to_string());
    let base = RwSignal::new(String::new());
    let models = LocalResource::new(api::models);
    let job = RwSignal::new(None::<i64>);
    let state = RwSignal::new(String::new());
    let model = RwSignal::new(None::<String>);
    let points = RwSignal::new(Vec::<(String, String, f64, f64)>::new());
    let error = RwSignal::new(None::<String>);
    let submit = move |_| {
        let num = |s: RwSignal<String>, d: u32| s.get_untracked().trim().parse().unwrap_or(d);
        let stages = stages.get_untracked();
        let spec = JobSpec::Finetune(FinetuneJob {
            symbols: split_symbols(&symbols.get_untracked()),
            stages: [Stages::Tokenizer, Stages::Predictor, Stages::Both]
                .into_iter()
                .find(|s| s.as_str() == stages)
                .unwrap_or_default(),
            epochs: num(epochs, 1),
            batch_size: num(batch, 16),
            lr: lr.get_untracked().trim().parse().ok(),
            lookback: num(lookback, 90),
            horizon: num(horizon, 10),
            max_seconds: max_seconds.get_untracked().trim().parse().ok(),
            base: Some(base.get_untracked()).filter(|b| !b.is_empty()),
        });
        error.set(None);
        points.set(Vec::new());
        model.set(None);
        leptos::task::spawn_local(async move {
            match api::submit_job(&spec).await {
                Ok(j) => {
                    state.set(j.state.as_str().to_string());
                    job.set(Some(j.id));
                    // Steps restart at 0 per stage; the predictor's curve continues after it.
                    watch_job(j.id, move |e| match e {
                        JobEvent::Started { .. } => state.set("running".into()),
                        JobEvent::Step {
                            stage, step, loss, ..
                        } => {
                            let (x, y) = (step as f64, f64::from(loss));
                            points.update(|p| {
                                p.push((stage.as_str().to_string(), "step".into(), x, y))
                            });
                        }
                        JobEvent::Epoch {
                            stage, val_loss, ..
                        } => {
                            let stage = stage.as_str().to_string();
                            let y = f64::from(val_loss);
                            points.update(|p| {
                                let x = p
                                    .iter()
                                    .filter(|q| q.0 == stage)
                                    .map(|q| q.2)
                                    .fold(0.0, f64::max);
                                p.push((stage, "val".into(), x, y));
                            });
                        }
                        JobEvent::End {
                            state: s, result, ..
                        } => {
                            state.set(s.as_str().to_string());
                            model.set(match result {
                                Some(JobResult::Model { model }) => Some(model),
                                _ => None,
                            });
                        }
                        _ => {}
                    });
                }
                Err(e) => error.set(Some(e.to_string())),
            }
        });
    };
    let cancel = move |_| {
        if let Some(id) = job.get_untracked() {
            leptos::task::spawn_local(async move {
                if let Err(e) = api::cancel_job(id).await {
                    error.set(Some(e.to_string()));
                }
            });
        }
    };
    let field = move |sig: RwSignal<String>,
                      id: &'static str,
                      label: (&'static str, &'static str),
                      help: (&'static str, &'static str)| {
        view! {
            <label class="field"><span>{move || tr(lang(), label.0, label.1)}</span>
                <input id=id prop:value=move || sig.get() on:input=move |ev| sig.set(event_target_value(&ev))/>
                <small class="hint">{move || tr(lang(), help.0, help.1)}</small></label>
        }
    };
    view! {
        <section class="panel jobs-page">
            <h1>{move || tr(lang(), "微调模型", "Finetune a model")}</h1>
            <p class="hint">{move || tr(lang(),
                "在服务器上用数据库中的序列微调内置 Kronos 模型（第一阶段分词器、第二阶段预测器），实时显示损失。",
                "Finetunes the built-in Kronos model on series of the store, on the server: stage 1 the tokenizer, stage 2 the predictor, with the loss live.")}</p>
            {field(symbols, "tr-symbols", ("代码", "Symbols"), ("训练用的序列；越多越能泛化。", "The series to learn from; more series generalise better."))}
            <label class="field"><span>{move || tr(lang(), "起点模型", "Start from")}</span>
                <select id="tr-base" on:change=move |ev| base.set(event_target_value(&ev))>
                    {move || models.get().and_then(Result::ok).map(|l| l.models.into_iter().map(|m| {
                        let value = if m.default { String::new() } else { m.id.clone() };
                        view! { <option value=value>{m.id}</option> }
                    }).collect_view())}
                </select>
                <small class="hint">{move || tr(lang(), "从已微调的模型继续，可在其基础上再适应新的数据。", "Continue from a finetuned model to adapt it further.")}</small></label>
            <label class="field"><span>{move || tr(lang(), "阶段", "Stages")}</span>
                <select id="tr-stages" on:change=move |ev| stages.set(event_target_value(&ev))>
                    <option value="both">{move || tr(lang(), "两者（先分词器后预测器）", "both (tokenizer, then predictor)")}</option>
                    <option value="predictor">{move || tr(lang(), "仅预测器（更快，质量提升主要来源）", "predictor only (faster; most of the gain)")}</option>
                    <option value="tokenizer">{move || tr(lang(), "仅分词器", "tokenizer only")}</option>
                </select></label>
            <div class="form-row">
                {field(epochs, "tr-epochs", ("轮数", "Epochs"), ("每轮看一遍全部窗口；过多会过拟合。", "Each epoch sees every window once; too many overfit."))}
                {field(batch, "tr-batch", ("批大小", "Batch size"), ("越大越稳定，占用内存越多。", "Larger is steadier and needs more memory."))}
                {field(lr, "tr-lr", ("学习率", "Learning rate"), ("留空用默认值；过大会破坏预训练权重。", "Blank for the default; too high destroys the pretrained weights."))}
            </div>
            <div class="form-row">
                {field(lookback, "tr-lookback", ("回看K线数", "Lookback"), ("模型看到的历史长度；越长越慢。", "Bars of context; longer is slower."))}
                {field(horizon, "tr-horizon", ("预测K线数", "Horizon"), ("每个窗口之后学习预测的长度。", "Bars after each window it learns to predict."))}
                {field(max_seconds, "tr-max-seconds", ("每阶段限时（秒）", "Seconds per stage"), ("到时保存最好的检查点并结束。", "When it runs out, the best checkpoint is kept."))}
            </div>
            <div class="actions">
                <button type="button" class="btn primary" id="tr-submit" on:click=submit>{move || tr(lang(), "开始训练", "Start training")}</button>
                {move || (state.get() == "running" || state.get() == "queued").then(|| view! {
                    <button type="button" class="btn" id="tr-cancel" on:click=cancel>{tr(lang(), "取消", "Cancel")}</button> })}
            </div>
            {move || error.get().map(|e| view! { <div class="panel error-panel" id="tr-error"><p class="error-message">{e}</p></div> })}
            {move || job.get().map(|id| view! {
                <h2>{format!("{} {id}", tr(lang(), "任务", "Job"))} " "
                    <span class="badge" id="tr-state" data-state=move || state.get()>{move || state.get()}</span></h2>
                <EChart id="tr-loss" option=Signal::derive(move || loss_option(&points.get()))/>
            })}
            {move || model.get().map(|m| {
                let first = split_symbols(&symbols.get_untracked()).into_iter().next().unwrap_or_default();
                let href = format!("/forecast?model={m}&symbol={first}");
                view! { <p><a class="btn btn-primary" id="tr-use" href=href>{format!("{} {m}", tr(lang(), "用于预测：", "Use for forecast:"))}</a></p> }
            })}
        </section>
    }
}

#[component]
pub fn ModelsPage() -> impl IntoView {
    let i18n = use_i18n();
    let lang = move || i18n.lang();
    super::set_title("Models · Kxian");
    let models = LocalResource::new(api::models);
    let card = RwSignal::new(None::<(String, String)>);
    let show = move |id: String, url: String| {
        leptos::task::spawn_local(async move {
            let text = api::model_card(&url)
                .await
                .unwrap_or_else(|e| e.to_string());
            card.set(Some((id, text)));
        });
    };
    view! {
        <section class="panel jobs-page">
            <h1>{move || tr(lang(), "模型", "Models")}</h1>
            {move || match models.get() {
                None => ().into_any(),
                Some(Err(e)) => view! { <p class="error-message">{e.to_string()}</p> }.into_any(),
                Some(Ok(list)) => view! {
                    <table class="data-table" id="models-table">
                        <thead><tr><th>{tr(lang(), "模型", "Model")}</th><th>{tr(lang(), "说明", "Description")}</th>
                            <th>{tr(lang(), "大小", "Size")}</th><th></th></tr></thead>
                        <tbody>
                        {list.models.into_iter().map(|m| {
                            let href = format!("/forecast?model={}", m.id);
                            let card_url = m.card_url.clone();
                            let id = m.id.clone();
                            view! { <tr data-model=m.id.clone()>
                                <td>{m.id.clone()}</td><td>{m.description.clone()}</td>
                                <td>{format!("{:.1} MB", m.total_bytes() as f64 / 1e6)}</td>
                                <td><a class="btn" id=format!("use-{}", m.id) href=href>{tr(lang(), "用于预测", "Use for forecast")}</a>
                                    {card_url.map(|u| { let id = id.clone(); view! {
                                        <button type="button" class="btn" on:click=move |_| show(id.clone(), u.clone())>
                                            {tr(lang(), "模型卡", "Model card")}</button> }})}</td>
                            </tr> }
                        }).collect_view()}
                        {list.classifiers.into_iter().map(|c| view! { <tr data-model=c.id.clone()>
                            <td>{c.id.clone()}</td><td>{c.description.clone()}</td>
                            <td>{format!("{:.1} KB", (c.files.config.bytes + c.files.weights.bytes) as f64 / 1e3)}</td>
                            <td>{tr(lang(), "涨跌分类器（K线图上的概率条）", "up/down/flat classifier (the chart's strip)")}</td></tr> }).collect_view()}
                        </tbody>
                    </table>
                }.into_any(),
            }}
            {move || card.get().map(|(id, text)| view! { <h2>{id}</h2><pre class="bt-text" id="model-card">{text}</pre> })}
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_read_symbols_and_the_loss_chart_splits_stages() {
        assert_eq!(
            split_symbols("000001.SZ, 510310\n600000"),
            ["000001.SZ", "510310", "600000"]
        );
        assert_eq!(
            day("2024-09-02"),
            chrono::NaiveDate::from_ymd_opt(2024, 9, 2)
        );
        assert_eq!(day(""), None);
        let o = loss_option(&[
            ("tokenizer".into(), "step".into(), 1.0, 0.5),
            ("tokenizer".into(), "val".into(), 1.0, 0.4),
            ("predictor".into(), "step".into(), 1.0, 3.0),
        ]);
        assert_eq!(o["series"][0]["data"], json!([[1.0, 0.5]]));
        assert_eq!(o["series"][1]["data"], json!([[1.0, 0.4]]));
        assert_eq!(o["series"][2]["data"], json!([[1.0, 3.0]]));
        assert_eq!(o["series"][2]["yAxisIndex"], 1);
    }
}
