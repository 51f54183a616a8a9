//! The backtest page's hosted run: the file as a `backtest` job (a universe of thousands of
//! symbols over a decade, or a retraining walk-forward, is too much for a browser tab), run by
//! `kxian-trainer backtest` on the server, its report shown when it ends.

use super::history::JobHistory;
use super::{SignedIn, submit_and_watch};
use crate::i18n::use_i18n;
use kxian_shared::api::JobSpec;
use kxian_shared::jobs::{BacktestJob, JobEvent, JobKind, JobResult};
use leptos::prelude::*;

#[component]
pub fn BacktestJobPanel(text: RwSignal<String>) -> impl IntoView {
    let i18n = use_i18n();
    let state = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let job = RwSignal::new(None::<i64>);
    let stage = RwSignal::new(String::new());
    let report = RwSignal::new(None::<String>);
    let submit = move |_| {
        let spec = JobSpec::Backtest(BacktestJob {
            config: text.get_untracked(),
        });
        error.set(None);
        report.set(None);
        stage.set(String::new());
        leptos::task::spawn_local(async move {
            let on_event = move |e: &JobEvent| match e {
                JobEvent::Start { stage: s, .. } => stage.set(s.as_str().to_string()),
                JobEvent::Epoch {
                    stage: s, epoch, ..
                } => stage.set(format!("{} epoch {epoch}", s.as_str())),
                JobEvent::Dated { date, .. } => stage.set(format!("predict {date}")),
                JobEvent::End {
                    error: why, result, ..
                } => {
                    if let Some(JobResult::Backtest { report: r, .. }) = result {
                        report.set(Some(r.clone()));
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
        <details class="bt-job-panel" id="bt-job-panel">
            <summary>{move || i18n.tr("在服务器上运行（任务）", "Run on the server (a job)")}</summary>
            <p class="hint">{move || i18n.tr(
                "大的股票池、长的区间，或带重新训练的滚动前推：由服务器的 kxian-trainer 运行同一个文件。",
                "A large universe, a long range, or a walk-forward that retrains: the server's kxian-trainer runs the same file.")}</p>
            <SignedIn>
                <div class="actions"><button type="button" class="btn" id="bt-submit-job" on:click=submit>
                    {move || i18n.tr("提交任务", "Submit as a job")}</button></div>
                {move || error.get().map(|e| view! { <div class="panel error-panel" id="bt-job-error"><p class="error-message">{e}</p></div> })}
                {move || job.get().map(|id| view! {
                    <h3>{format!("{} {id}", i18n.tr("任务", "Job"))}
                        " " <span class="badge" id="bt-job-state" data-state=move || state.get()>{move || state.get()}</span>
                        " " <span id="bt-job-stage">{move || stage.get()}</span></h3>
                })}
                {move || report.get().map(|r| view! { <pre id="bt-job-report" class="bt-text">{r}</pre> })}
                <JobHistory kind=JobKind::Backtest refresh=state/>
            </SignedIn>
        </details>
    }
}
