//! Error display: the server's `ApiError` message, and its row-level problems as a table.

use crate::i18n::use_i18n;
use kxian_shared::api::{ApiError, Problem};
use leptos::prelude::*;

/// A table of file problems: file, row, column, message.
#[component]
pub fn ProblemTable(problems: Vec<Problem>) -> impl IntoView {
    let i18n = use_i18n();
    let rows = problems
        .into_iter()
        .map(|p| {
            view! {
                <tr class="problem-row">
                    <td>{p.file}</td>
                    <td class="num">{p.row.map(|r| r.to_string()).unwrap_or_default()}</td>
                    <td><code>{p.column.unwrap_or_default()}</code></td>
                    <td>{p.message}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <div class="table-wrap">
            <table class="data-table problem-table">
                <thead>
                    <tr>
                        <th>{move || i18n.tr("文件", "File")}</th>
                        <th class="num">{move || i18n.tr("行", "Row")}</th>
                        <th>{move || i18n.tr("列", "Column")}</th>
                        <th>{move || i18n.tr("说明", "Message")}</th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
    }
}

/// An error box with a title, the message, and the problem list when there is one.
#[component]
pub fn ErrorPanel(
    error: ApiError,
    /// Overrides the generic title ("Something went wrong").
    #[prop(optional)]
    title: Option<Signal<&'static str>>,
    /// The element id, for tests (`upload-error`).
    #[prop(optional)]
    id: Option<&'static str>,
) -> impl IntoView {
    let i18n = use_i18n();
    let title = move || match title {
        Some(t) => t.get(),
        None => i18n.tr("出错了", "Something went wrong"),
    };
    let problems = (!error.problems.is_empty()).then(|| {
        view! { <ProblemTable problems=error.problems.clone()/> }
    });
    view! {
        <div class="panel error-panel" id=id role="alert" data-error=error.error.clone()>
            <h3>{title}</h3>
            <p class="error-message">{error.message.clone()}</p>
            {problems}
        </div>
    }
}

/// A neutral "Loading…" line.
#[component]
pub fn Loading() -> impl IntoView {
    let i18n = use_i18n();
    view! { <div class="loading"><span class="spinner"></span>{move || i18n.tr("加载中…", "Loading…")}</div> }
}
