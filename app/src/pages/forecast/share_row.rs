//! "Share link" under a finished forecast: saves the result as an immutable snapshot on the
//! server and shows its address.

use crate::api;
use crate::components::forecast_view::ForecastData;
use crate::i18n::use_i18n;
use kxian_shared::Adjustment;
use kxian_shared::api::{ModelEntry, SHARE_VERSION, ShareSnapshot};
use leptos::prelude::*;
use std::sync::Arc;
use wasm_bindgen::JsCast;

/// `name` is the symbol's display name, kept in the snapshot's title.
#[component]
pub fn ShareRow(
    data: Arc<ForecastData>,
    model: Arc<ModelEntry>,
    name: Option<String>,
) -> impl IntoView {
    let i18n = use_i18n();
    // `Ok` holds the link, or a note while saving; `Err` what went wrong.
    let share = RwSignal::new(None::<Result<String, String>>);

    let do_share = move || {
        share.set(Some(Ok(i18n.tr("保存中…", "Saving…").into())));
        let snapshot = ShareSnapshot {
            version: SHARE_VERSION,
            symbol: data.symbol.clone(),
            name: name.clone(),
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

    let link = move || {
        match share.get() {
        Some(Ok(url)) if url.starts_with("http") => view! {
            <input id="share-link" class="share-link" readonly value=url.clone()
                on:focus=move |ev| {
                    if let Some(i) = ev.target().and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok()) {
                        i.select();
                    }
                }/>
            <a href=url.clone() target="_blank" rel="noopener">{move || i18n.tr("打开", "Open")}</a>
        }
        .into_any(),
        Some(Ok(msg)) => view! { <span class="muted">{msg}</span> }.into_any(),
        Some(Err(e)) => view! { <span class="error-message" id="share-error">{e}</span> }.into_any(),
        None => ().into_any(),
    }
    };

    view! {
        <div class="share-row">
            <button type="button" id="share-button" class="btn btn-primary" on:click=move |_| do_share()>
                {move || i18n.tr("分享链接", "Share link")}
            </button>
            {link}
        </div>
    }
}
