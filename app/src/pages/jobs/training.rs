//! `/training`: finetunes of the Kronos tokenizer and predictor on the store's series, with a
//! live loss curve; `/training?kind=zoo`: a model of the zoo ([`super::zoo`]).

use super::history::JobHistory;
use super::{SignedIn, split_symbols, submit_and_watch};
use crate::api;
use crate::charts::training::loss_option;
use crate::components::echart::EChart;
use crate::i18n::use_i18n;
use kxian_shared::api::JobSpec;
use kxian_shared::jobs::{FinetuneJob, JobEvent, JobKind, JobResult, Stages};
use leptos::prelude::*;

#[component]
pub fn TrainingPage() -> impl IntoView {
    crate::pages::set_title("Training · Kxian");
    let i18n = use_i18n();
    let query = leptos_router::hooks::use_query_map();
    let zoo = move || query.with(|q| q.get("kind").as_deref() == Some("zoo"));
    view! {
        <SignedIn>
            <nav class="tabs" id="training-kind">
                <a id="training-kronos" class=move || if zoo() { "tab" } else { "tab active" } href="/training">
                    {move || i18n.tr("微调 Kronos", "Finetune Kronos")}</a>
                <a id="training-zoo" class=move || if zoo() { "tab active" } else { "tab" } href="/training?kind=zoo">
                    {move || i18n.tr("模型库：LSTM、GRU、Transformer、树模型…", "Model zoo: LSTM, GRU, Transformer, trees…")}</a>
            </nav>
            {move || if zoo() { view! { <super::zoo::ZooTraining/> }.into_any() } else { view! { <TrainingForm/> }.into_any() }}
        </SignedIn>
    }
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
            // Steps restart at 0 per stage; the predictor's curve continues after it.
            let on_event = move |e: &JobEvent| match e {
                JobEvent::Step {
                    stage, step, loss, ..
                } => {
                    let (x, y) = (*step as f64, f64::from(*loss));
                    points.update(|p| p.push((stage.as_str().to_string(), "step".into(), x, y)));
                }
                JobEvent::Epoch {
                    stage, val_loss, ..
                } => {
                    let stage = stage.as_str().to_string();
                    let y = f64::from(*val_loss);
                    points.update(|p| {
                        let x = p
                            .iter()
                            .filter(|q| q.0 == stage)
                            .map(|q| q.2)
                            .fold(0.0, f64::max);
                        p.push((stage, "val".into(), x, y));
                    });
                }
                JobEvent::End { result, .. } => model.set(match result {
                    Some(JobResult::Model { model }) => Some(model.clone()),
                    _ => None,
                }),
                _ => {}
            };
            if let Some(j) = submit_and_watch(&spec, state, error, on_event).await {
                job.set(Some(j.id));
            }
        });
    };
    let cancel = move |_| super::cancel(job, error);
    let field = super::text_field;
    view! {
        <section class="panel jobs-page">
            <h1>{move || lang().tr("微调模型", "Finetune a model")}</h1>
            <p class="hint">{move || lang().tr("在服务器上用数据库中的序列微调内置 Kronos 模型（第一阶段分词器、第二阶段预测器），实时显示损失。",
                "Finetunes the built-in Kronos model on series of the store, on the server: stage 1 the tokenizer, stage 2 the predictor, with the loss live.")}</p>
            {field(symbols, "tr-symbols", ("代码", "Symbols"), ("训练用的序列；越多越能泛化。", "The series to learn from; more series generalise better."))}
            <label class="field"><span>{move || lang().tr("起点模型", "Start from")}</span>
                <select id="tr-base" on:change=move |ev| base.set(event_target_value(&ev))>
                    {move || models.get().and_then(Result::ok).map(|l| l.models.into_iter().map(|m| {
                        let value = if m.default { String::new() } else { m.id.clone() };
                        view! { <option value=value>{m.id}</option> }
                    }).collect_view())}
                </select>
                <small class="hint">{move || lang().tr("从已微调的模型继续，可在其基础上再适应新的数据。", "Continue from a finetuned model to adapt it further.")}</small></label>
            <label class="field"><span>{move || lang().tr("阶段", "Stages")}</span>
                <select id="tr-stages" on:change=move |ev| stages.set(event_target_value(&ev))>
                    <option value="both">{move || lang().tr("两者（先分词器后预测器）", "both (tokenizer, then predictor)")}</option>
                    <option value="predictor">{move || lang().tr("仅预测器（更快，质量提升主要来源）", "predictor only (faster; most of the gain)")}</option>
                    <option value="tokenizer">{move || lang().tr("仅分词器", "tokenizer only")}</option>
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
                <button type="button" class="btn primary" id="tr-submit" on:click=submit>{move || lang().tr("开始训练", "Start training")}</button>
                {move || (state.get() == "running" || state.get() == "queued").then(|| view! {
                    <button type="button" class="btn" id="tr-cancel" on:click=cancel>{lang().tr("取消", "Cancel")}</button> })}
            </div>
            {move || error.get().map(|e| view! { <div class="panel error-panel" id="tr-error"><p class="error-message">{e}</p></div> })}
            {move || job.get().map(|id| view! {
                <h2>{format!("{} {id}", lang().tr("任务", "Job"))} " "
                    <span class="badge" id="tr-state" data-state=move || state.get()>{move || state.get()}</span></h2>
                <EChart id="tr-loss" option=Signal::derive(move || loss_option(&points.get()))/>
            })}
            {move || model.get().map(|m| {
                let first = split_symbols(&symbols.get_untracked()).into_iter().next().unwrap_or_default();
                let href = format!("/forecast?model={m}&symbol={first}");
                view! { <p><a class="btn btn-primary" id="tr-use" href=href>{format!("{} {m}", lang().tr("用于预测：", "Use for forecast:"))}</a></p> }
            })}
            <JobHistory kind=JobKind::Finetune refresh=state/>
        </section>
    }
}
