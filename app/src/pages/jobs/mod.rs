//! The hosted-job pages: `/data` (downloads with live per-symbol progress), `/training`
//! (finetunes with a live loss curve) and `/models` (what the server serves, with "use for
//! forecast"). Jobs run on the server; these pages submit them and watch their events.

pub mod backtest_job;
pub mod data;
pub mod history;
pub mod mine;
pub mod models;
pub mod predictions;
pub mod training;
pub mod zoo;

pub use backtest_job::BacktestJobPanel;
pub use data::DataPage;
pub use mine::MinePage;
pub use models::ModelsPage;
pub use predictions::PredictionsPage;
pub use training::TrainingPage;

use crate::api;
use crate::i18n::use_i18n;
use leptos::prelude::*;

/// Whether the server knows this browser; a remote browser signs in with a token here.
#[component]
pub(super) fn SignedIn(children: ChildrenFn) -> impl IntoView {
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
            <p class="hint" id="signed-in">{format!("{} {}", i18n.tr("用户", "Signed in as"), u.name)}</p>
            {children()}
        }
        .into_any(),
        Some(Err(_)) => view! {
            <div class="panel" id="sign-in">
                <p>{i18n.tr("请用 API 令牌登录（kxian user add 名字）。", "Sign in with an API token (kxian user add NAME makes one).")}</p>
                <input type="password" id="sign-in-token" class="share-link"
                    on:input=move |ev| token.set(event_target_value(&ev))/>
                <button type="button" class="btn primary" id="sign-in-button" on:click=sign_in>
                    {i18n.tr("登录", "Sign in")}</button>
                {move || error.get().map(|e| view! { <p class="error-message">{e}</p> })}
            </div>
        }
        .into_any(),
    }
    }
}

/// Submits `spec` and watches the job: `state` follows it (its state when queued, `running`,
/// then how it ended) and a refusal lands in `error`. Every event goes to `on_event` first, so
/// what a page shows for an event is there when the state says the job ended.
pub(super) async fn submit_and_watch(
    spec: &kxian_shared::api::JobSpec,
    state: RwSignal<String>,
    error: RwSignal<Option<String>>,
    on_event: impl Fn(&kxian_shared::jobs::JobEvent) + 'static,
) -> Option<kxian_shared::api::JobInfo> {
    match api::submit_job(spec).await {
        Ok(j) => {
            state.set(j.state.as_str().to_string());
            watch(j.id, state, on_event);
            Some(j)
        }
        Err(e) => {
            error.set(Some(e.to_string()));
            None
        }
    }
}

/// Watches job `id`'s current attempt: every event to `on_event`, and `state` follows it.
pub(super) fn watch(
    id: i64,
    state: RwSignal<String>,
    on_event: impl Fn(&kxian_shared::jobs::JobEvent) + 'static,
) {
    use kxian_shared::jobs::JobEvent;
    api::watch_job(id, move |e| {
        on_event(&e);
        match e {
            JobEvent::Started { .. } => state.set("running".into()),
            JobEvent::End { state: s, .. } => state.set(s.as_str().to_string()),
            _ => {}
        }
    });
}

/// Asks the server to stop the page's job; a refusal lands in `error`.
pub(super) fn cancel(job: RwSignal<Option<i64>>, error: RwSignal<Option<String>>) {
    if let Some(id) = job.get_untracked() {
        leptos::task::spawn_local(async move {
            if let Err(e) = api::cancel_job(id).await {
                error.set(Some(e.to_string()));
            }
        });
    }
}

/// A text field with its label and hint, in the page's language.
pub(super) fn text_field(
    sig: RwSignal<String>,
    id: &'static str,
    label: (&'static str, &'static str),
    help: (&'static str, &'static str),
) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <label class="field"><span>{move || i18n.tr(label.0, label.1)}</span>
            <input id=id prop:value=move || sig.get() on:input=move |ev| sig.set(event_target_value(&ev))/>
            <small class="hint">{move || i18n.tr(help.0, help.1)}</small></label>
    }
}

/// The symbols of a form's text field: separated by commas or white space.
pub(super) fn split_symbols(text: &str) -> Vec<String> {
    text.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// Parses the form's optional date.
pub(super) fn day(text: &str) -> Option<chrono::NaiveDate> {
    text.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_read_symbols_and_dates() {
        assert_eq!(
            split_symbols("000001.SZ, 510310\n600000"),
            ["000001.SZ", "510310", "600000"]
        );
        assert_eq!(
            day("2024-09-02"),
            chrono::NaiveDate::from_ymd_opt(2024, 9, 2)
        );
        assert_eq!(day(""), None);
    }
}
