//! `/models`: what the server serves, with each model's card and "use for forecast", and a
//! published model fetched from the Hugging Face hub (a job on the server).

use super::history::JobHistory;
use super::{SignedIn, submit_and_watch};
use crate::api;
use crate::i18n::{Lang, use_i18n};
use kxian_shared::api::JobSpec;
use kxian_shared::jobs::{FetchModelJob, JobEvent, JobKind, JobResult};
use leptos::prelude::*;

/// The released Kronos predictors the form offers; any other `OWNER/NAME` may be typed.
const RELEASED: [&str; 3] = [
    "NeoQuasar/Kronos-mini",
    "NeoQuasar/Kronos-small",
    "NeoQuasar/Kronos-base",
];

#[component]
pub fn ModelsPage() -> impl IntoView {
    let i18n = use_i18n();
    let lang = move || i18n.lang();
    crate::pages::set_title("Models · Kxian");
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
            <h1>{move || lang().tr("模型", "Models")}</h1>
            {move || match models.get() {
                None => ().into_any(),
                Some(Err(e)) => view! { <p class="error-message">{e.to_string()}</p> }.into_any(),
                Some(Ok(list)) => view! {
                    <table class="data-table" id="models-table">
                        <thead><tr><th>{lang().tr("模型", "Model")}</th><th>{lang().tr("说明", "Description")}</th>
                            <th>{lang().tr("大小", "Size")}</th><th></th></tr></thead>
                        <tbody>
                        {list.models.into_iter().map(|m| {
                            let href = format!("/forecast?model={}", m.id);
                            let card_url = m.card_url.clone();
                            let id = m.id.clone();
                            view! { <tr data-model=m.id.clone()>
                                <td>{m.id.clone()}</td><td>{m.description_in(lang() == Lang::Zh).to_string()}</td>
                                <td>{format!("{:.1} MB", m.total_bytes() as f64 / 1e6)}</td>
                                <td><a class="btn" id=format!("use-{}", m.id) href=href>{lang().tr("用于预测", "Use for forecast")}</a>
                                    {card_url.map(|u| { let id = id.clone(); view! {
                                        <button type="button" class="btn" on:click=move |_| show(id.clone(), u.clone())>
                                            {lang().tr("模型卡", "Model card")}</button> }})}</td>
                            </tr> }
                        }).collect_view()}
                        {list.classifiers.into_iter().map(|c| view! { <tr data-model=c.id.clone()>
                            <td>{c.id.clone()}</td><td>{c.description_in(lang() == Lang::Zh).to_string()}</td>
                            <td>{format!("{:.1} KB", (c.files.config.bytes + c.files.weights.bytes) as f64 / 1e3)}</td>
                            <td>{lang().tr("涨跌分类器（K线图上的概率条）", "up/down/flat classifier (the chart's strip)")}</td></tr> }).collect_view()}
                        </tbody>
                    </table>
                    {(!list.zoo.is_empty()).then(|| view! {
                        <h2>{lang().tr("模型库中训练的模型", "Models of the zoo")}</h2>
                        <table class="data-table" id="zoo-models">
                            <thead><tr><th>{lang().tr("模型", "Model")}</th><th>{lang().tr("结构与目标", "Backbone and target")}</th>
                                <th>{lang().tr("测试期", "Held-out test part")}</th><th></th></tr></thead>
                            <tbody>{list.zoo.into_iter().map(|z| {
                                let card_url = z.card_url.clone();
                                let id = z.id.clone();
                                view! { <tr data-model=z.id.clone() data-backbone=z.card.backbone.clone()>
                                    <td>{z.id.clone()}</td>
                                    <td>{format!("{} · {}", z.card.backbone, z.card.target.join(" + "))}</td>
                                    <td class="zoo-headline">{z.card.headline()}</td>
                                    <td>{card_url.map(|u| { let id = id.clone(); view! {
                                        <button type="button" class="btn" id=format!("card-{id}") on:click=move |_| show(id.clone(), u.clone())>
                                            {lang().tr("模型卡", "Model card")}</button> }})}</td>
                                </tr> }
                            }).collect_view()}</tbody>
                        </table>
                    })}
                }.into_any(),
            }}
            {move || card.get().map(|(id, text)| view! { <h2>{id}</h2><pre class="bt-text" id="model-card">{text}</pre> })}
            <SignedIn><FetchForm on_done=Callback::new(move |()| models.refetch())/></SignedIn>
        </section>
    }
}

/// `kxian-trainer fetch-model` as a job: the repository, its files' progress, and the model
/// it became, which the table above then lists.
#[component]
fn FetchForm(on_done: Callback<()>) -> impl IntoView {
    let i18n = use_i18n();
    let lang = move || i18n.lang();
    let repo = RwSignal::new(RELEASED[0].to_string());
    let revision = RwSignal::new(String::new());
    let tokenizer = RwSignal::new(String::new());
    let state = RwSignal::new(String::new());
    let job = RwSignal::new(None::<i64>);
    // (repo/file, received, size, how)
    let files = RwSignal::new(Vec::<(String, u64, u64, String)>::new());
    let model = RwSignal::new(None::<String>);
    let error = RwSignal::new(None::<String>);
    let submit = move |_| {
        let rev = revision.get_untracked();
        let tok = tokenizer.get_untracked();
        let spec = JobSpec::FetchModel(FetchModelJob {
            repo: repo.get_untracked().trim().to_string(),
            tokenizer: (!tok.trim().is_empty()).then(|| tok.trim().to_string()),
            revision: (!rev.trim().is_empty()).then(|| rev.trim().to_string()),
        });
        error.set(None);
        files.set(Vec::new());
        model.set(None);
        leptos::task::spawn_local(async move {
            let on_event = move |e: &JobEvent| match e {
                JobEvent::File {
                    repo,
                    file,
                    received,
                    size,
                    how,
                    ..
                } => {
                    let row = (
                        format!("{repo}/{file}"),
                        *received,
                        *size,
                        how.clone().unwrap_or_default(),
                    );
                    files.update(|rows| match rows.iter_mut().find(|r| r.0 == row.0) {
                        Some(r) => *r = row,
                        None => rows.push(row),
                    });
                }
                JobEvent::End {
                    error: why, result, ..
                } => {
                    if let Some(JobResult::Model { model: m }) = result {
                        model.set(Some(m.clone()));
                        on_done.run(());
                    }
                    if let Some(why) = why {
                        error.set(Some(why.clone()));
                    }
                }
                _ => {}
            };
            if let Some(j) = submit_and_watch(&spec, state, error, on_event).await {
                job.set(Some(j.id));
            }
        });
    };
    view! {
        <h2>{move || lang().tr("从 Hugging Face 获取已发布的模型", "Fetch a published model from Hugging Face")}</h2>
        <p class="hint">{move || lang().tr(
            "服务器上的 kxian-trainer 下载预测器及其配套的分词器，按网站公布的大小和哈希校验，可断点续传；镜像站用服务器的 HF_ENDPOINT 设置。",
            "kxian-trainer downloads the predictor and the tokenizer it was trained with on the server, checked against the hub's sizes and hashes, resuming where a download stopped; the server's HF_ENDPOINT names a mirror.")}</p>
        <div class="form-row">
            <label class="field"><span>{move || lang().tr("仓库（OWNER/NAME）", "Repository (OWNER/NAME)")}</span>
                <input id="fetch-repo" list="fetch-released" prop:value=move || repo.get()
                    on:input=move |ev| repo.set(event_target_value(&ev))/>
                <datalist id="fetch-released">
                    {RELEASED.iter().map(|r| view! { <option value=*r/> }).collect_view()}
                </datalist></label>
            <label class="field"><span>{move || lang().tr("分词器仓库（默认：训练它的那个）", "Tokenizer repository (default: the one it was trained with)")}</span>
                <input id="fetch-tokenizer" placeholder="NeoQuasar/Kronos-Tokenizer-base"
                    on:input=move |ev| tokenizer.set(event_target_value(&ev))/></label>
            <label class="field"><span>{move || lang().tr("版本（默认 main）", "Revision (default main)")}</span>
                <input id="fetch-revision" placeholder="main"
                    on:input=move |ev| revision.set(event_target_value(&ev))/></label>
        </div>
        <div class="actions"><button type="button" class="btn primary" id="fetch-submit" on:click=submit>
            {move || lang().tr("获取", "Fetch")}</button></div>
        {move || error.get().map(|e| view! { <div class="panel error-panel" id="fetch-error"><p class="error-message">{e}</p></div> })}
        {move || job.get().map(|id| view! {
            <h3>{format!("{} {id}", lang().tr("任务", "Job"))}
                " " <span class="badge" id="fetch-state" data-state=move || state.get()>{move || state.get()}</span></h3>
            <table class="data-table" id="fetch-progress">
                <thead><tr><th>{lang().tr("文件", "File")}</th><th>{lang().tr("进度", "Progress")}</th><th></th></tr></thead>
                <tbody>{move || files.get().into_iter().map(|(name, received, size, how)| {
                    let pct = if size == 0 { 100.0 } else { received as f64 * 100.0 / size as f64 };
                    let shown = how.clone();
                    view! { <tr data-file=name.clone() data-how=how>
                        <td>{name.clone()}</td>
                        <td>{format!("{:.1} / {:.1} MB ({pct:.0}%)", received as f64 / 1e6, size as f64 / 1e6)}</td>
                        <td>{shown}</td></tr> }
                }).collect_view()}</tbody>
            </table>
        })}
        {move || model.get().map(|m| {
            let href = format!("/forecast?model={m}");
            view! { <p id="fetch-done">{lang().tr("已就绪：", "Ready: ")}
                <a class="btn" id="fetch-use" href=href>{format!("{m} → {}", lang().tr("用于预测", "use for forecast"))}</a></p> }
        })}
        <JobHistory kind=JobKind::FetchModel refresh=state/>
    }
}
