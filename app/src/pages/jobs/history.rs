//! The jobs the caller may see, of one kind, newest first: state, times and what each one
//! produced. It refreshes whenever the page's own job changes state, so a job submitted on the
//! page appears at once and shows its result when it ends.

use crate::api;
use crate::i18n::{Lang, use_i18n};
use kxian_shared::api::JobInfo;
use kxian_shared::jobs::{JobKind, JobResult, JobState};
use leptos::prelude::*;

fn state_label(lang: Lang, s: JobState) -> &'static str {
    match s {
        JobState::Queued => lang.tr("排队中", "queued"),
        JobState::Running => lang.tr("运行中", "running"),
        JobState::Done => lang.tr("完成", "done"),
        JobState::Failed => lang.tr("失败", "failed"),
        JobState::Cancelled => lang.tr("已取消", "cancelled"),
    }
}

/// One line on what the job produced, or why it failed.
fn outcome(lang: Lang, j: &JobInfo) -> String {
    if let Some(e) = &j.error {
        return e.clone();
    }
    match &j.result {
        Some(JobResult::Download { imported, outcomes }) => match lang {
            Lang::Zh => format!("{} 个代码，写入 {} 个序列", outcomes.len(), imported.len()),
            Lang::En => format!(
                "{} symbols, {} series written",
                outcomes.len(),
                imported.len()
            ),
        },
        Some(JobResult::Reference {
            industries,
            shares,
            members,
            status,
            northbound,
        }) => match lang {
            Lang::Zh => format!(
                "参考数据：{industries} 条行业、{shares} 条股本、{members} 段指数成分、{status} 段状态、{northbound} 条北向持股"
            ),
            Lang::En => format!(
                "reference data: {industries} industries, {shares} shares rows, {members} index stays, {status} status periods, {northbound} northbound holdings"
            ),
        },
        Some(JobResult::Checked(c)) => {
            let disagree = c.series.values().filter(|d| d.days > 0).count();
            match lang {
                Lang::Zh => format!(
                    "与 {} 比对 {} 个序列，{disagree} 个有分歧",
                    c.source,
                    c.series.len()
                ),
                Lang::En => format!(
                    "compared {} series with {}: {disagree} disagree",
                    c.series.len(),
                    c.source
                ),
            }
        }
        Some(JobResult::Mined(r)) => match lang {
            Lang::Zh => format!("尝试 {} 个公式，接受 {} 个", r.tried, r.formulas.len()),
            Lang::En => format!("{} formulas tried, {} accepted", r.tried, r.formulas.len()),
        },
        Some(JobResult::Model { model }) => format!("{} {model}", lang.tr("模型", "model")),
        Some(JobResult::Zoo { model, card, set }) => {
            let set = set.map_or(String::new(), |s| {
                format!("; {} {s}", lang.tr("预测集", "prediction set"))
            });
            format!(
                "{} {model}: {}{set}",
                lang.tr("模型", "model"),
                card.headline()
            )
        }
        Some(JobResult::Run { run }) => run.clone(),
        Some(JobResult::Predictions { set, rows }) => match lang {
            Lang::Zh => format!("预测集 {set}，{rows} 行"),
            Lang::En => format!("prediction set {set}, {rows} rows"),
        },
        Some(JobResult::Backtest { report, fills }) => {
            let total = report
                .lines()
                .find(|l| l.starts_with("total return"))
                .and_then(|l| l.split_whitespace().nth(2))
                .unwrap_or("-");
            match lang {
                Lang::Zh => format!("{fills} 笔成交，总收益 {total} %"),
                Lang::En => format!("{fills} fills, total return {total} %"),
            }
        }
        None => String::new(),
    }
}

/// `refresh` is any signal that changes when the page's own job does (its state).
#[component]
pub fn JobHistory(kind: JobKind, #[prop(into)] refresh: Signal<String>) -> impl IntoView {
    let i18n = use_i18n();
    let jobs = LocalResource::new(move || {
        refresh.track();
        api::jobs()
    });
    let id = format!("{}-history", kind.as_str());
    move || {
        let lang = i18n.lang();
        match jobs.get() {
            None => ().into_any(),
            Some(Err(e)) => view! { <p class="error-message">{e.to_string()}</p> }.into_any(),
            Some(Ok(list)) => {
                let mut rows: Vec<JobInfo> =
                    list.jobs.into_iter().filter(|j| j.kind == kind).collect();
                rows.sort_by_key(|j| std::cmp::Reverse(j.id));
                let body = if rows.is_empty() {
                    view! { <p class="muted">{lang.tr("还没有任务。", "No jobs yet.")}</p> }
                        .into_any()
                } else {
                    view! {
                        <table class="data-table" id=id.clone()>
                            <thead><tr>
                                <th>{lang.tr("任务", "Job")}</th><th>{lang.tr("用户", "User")}</th>
                                <th>{lang.tr("状态", "State")}</th><th>{lang.tr("提交", "Submitted")}</th>
                                <th>{lang.tr("结束", "Finished")}</th><th>{lang.tr("结果", "Result")}</th>
                            </tr></thead>
                            <tbody>{rows.into_iter().map(|j| view! {
                                <tr data-job=j.id data-state=j.state.as_str()>
                                    <td>{j.id}</td><td>{j.user.clone()}</td>
                                    <td>{state_label(lang, j.state)}</td><td>{j.created_at.clone()}</td>
                                    <td>{j.finished_at.clone().unwrap_or_default()}</td>
                                    <td>{outcome(lang, &j)}</td>
                                </tr>
                            }).collect_view()}</tbody>
                        </table>
                    }
                    .into_any()
                };
                view! { <h2>{lang.tr("我的任务", "Jobs")}</h2>{body} }.into_any()
            }
        }
    }
}
