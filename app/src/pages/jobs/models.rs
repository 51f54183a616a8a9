//! `/models`: what the server serves, with each model's card and "use for forecast".

use crate::api;
use crate::i18n::use_i18n;
use leptos::prelude::*;

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
                                <td>{m.id.clone()}</td><td>{m.description.clone()}</td>
                                <td>{format!("{:.1} MB", m.total_bytes() as f64 / 1e6)}</td>
                                <td><a class="btn" id=format!("use-{}", m.id) href=href>{lang().tr("用于预测", "Use for forecast")}</a>
                                    {card_url.map(|u| { let id = id.clone(); view! {
                                        <button type="button" class="btn" on:click=move |_| show(id.clone(), u.clone())>
                                            {lang().tr("模型卡", "Model card")}</button> }})}</td>
                            </tr> }
                        }).collect_view()}
                        {list.classifiers.into_iter().map(|c| view! { <tr data-model=c.id.clone()>
                            <td>{c.id.clone()}</td><td>{c.description.clone()}</td>
                            <td>{format!("{:.1} KB", (c.files.config.bytes + c.files.weights.bytes) as f64 / 1e3)}</td>
                            <td>{lang().tr("涨跌分类器（K线图上的概率条）", "up/down/flat classifier (the chart's strip)")}</td></tr> }).collect_view()}
                        </tbody>
                    </table>
                }.into_any(),
            }}
            {move || card.get().map(|(id, text)| view! { <h2>{id}</h2><pre class="bt-text" id="model-card">{text}</pre> })}
        </section>
    }
}
