//! `/`: the symbol list with its search box (`?q=`), and the upload panel.

use crate::api;
use crate::components::error::{ErrorPanel, Loading};
use crate::components::upload::{ImportAction, UploadPanel};
use crate::format;
use crate::i18n::use_i18n;
use crate::pages::{chart_href, frequency_rank};
use kxian_shared::api::SymbolSummary;
use leptos::prelude::*;
use leptos_router::NavigateOptions;
use leptos_router::components::A;
use leptos_router::hooks::{use_navigate, use_query_map};

/// More than the embedded set plus any realistic number of imports.
const LIST_LIMIT: u32 = 1000;

#[component]
pub fn SymbolsPage() -> impl IntoView {
    let i18n = use_i18n();
    let query = use_query_map();
    let q = Memo::new(move |_| query.read().get("q").unwrap_or_default());

    let import: ImportAction =
        Action::new_local(|form: &web_sys::FormData| api::import(form.clone()));
    let imported = import.version();
    let store = expect_context::<crate::StoreVersion>().0;
    Effect::new(move |prev: Option<usize>| {
        let v = imported.get();
        if prev.is_some_and(|p| p != v) {
            store.update(|n| *n += 1);
        }
        v
    });
    let list = LocalResource::new(move || {
        imported.track();
        api::symbols(q.get(), LIST_LIMIT)
    });

    Effect::new(move |_| super::set_title(&format!("{} · Kxian", i18n.tr("证券列表", "Symbols"))));

    let navigate = use_navigate();
    let on_input = move |ev| {
        let v = event_target_value(&ev);
        let href = if v.trim().is_empty() {
            "/".to_string()
        } else {
            format!("/?q={}", String::from(js_sys::encode_uri_component(&v)))
        };
        navigate(
            &href,
            NavigateOptions {
                replace: true,
                scroll: false,
                ..Default::default()
            },
        );
    };

    let table = move || {
        match list.get() {
        None => view! { <Loading/> }.into_any(),
        Some(Err(e)) => view! { <ErrorPanel error=e/> }.into_any(),
        Some(Ok(list)) if list.symbols.is_empty() => {
            view! { <p class="empty" id="symbol-empty">{move || i18n.tr("没有匹配的证券。", "No symbol matches.")}</p> }.into_any()
        }
        Some(Ok(list)) => {
            let shown = list.symbols.len();
            let total = list.total;
            let rows = list
                .symbols
                .into_iter()
                .map(|s| view! { <SymbolRow s/> })
                .collect_view();
            view! {
                <p class="count" id="symbol-count">{move || i18n.lang().showing(shown, total)}</p>
                <div class="table-wrap">
                    <table class="data-table symbol-table" id="symbol-table">
                        <thead>
                            <tr>
                                <th>{move || i18n.tr("代码", "Code")}</th>
                                <th>{move || i18n.tr("名称", "Name")}</th>
                                <th>{move || i18n.tr("板块", "Board")}</th>
                                <th>{move || i18n.tr("类型", "Kind")}</th>
                                <th>{move || i18n.tr("数据序列（周期 · 根数 · 区间）", "Series (frequency · bars · range)")}</th>
                            </tr>
                        </thead>
                        <tbody>{rows}</tbody>
                    </table>
                </div>
            }
            .into_any()
        }
    }
    };

    view! {
        <div class="page symbols-page">
            <section class="panel">
                <div class="panel-head">
                    <h1>{move || i18n.tr("证券列表", "Symbols")}</h1>
                    <input
                        id="symbol-search"
                        class="search"
                        type="search"
                        autocomplete="off"
                        value=q.get_untracked()
                        placeholder=move || i18n.tr("搜索代码或名称，如 600000、沪深、CSI", "Search code or name, e.g. 600000, 沪深, CSI")
                        on:input=on_input
                    />
                </div>
                {table}
            </section>
            <UploadPanel action=import/>
        </div>
    }
}

#[component]
fn SymbolRow(s: SymbolSummary) -> impl IntoView {
    let i18n = use_i18n();
    let code = s.symbol.to_string();
    let (board, kind) = (s.board, s.kind);
    let mut series = s.series;
    series.sort_by_key(|r| (frequency_rank(r.frequency), r.adjustment));
    let main_href = series
        .first()
        .map(|r| chart_href(&code, r.frequency, r.adjustment))
        .unwrap_or_else(|| format!("/symbols/{code}"));
    let links = series
        .into_iter()
        .map(|r| {
            let href = chart_href(&code, r.frequency, r.adjustment);
            let (freq, adj, n) = (r.frequency, r.adjustment, r.bars);
            let range = format::date_range(r.first, r.last);
            view! {
                <A href=href attr:class="series-link" attr:data-freq=freq.as_str()>
                    <span class="freq">{move || i18n.lang().frequency(freq)}</span>
                    {(adj != kxian_shared::Adjustment::None)
                        .then(|| view! { <span class="adj">{move || i18n.lang().adjustment(adj)}</span> })}
                    <span class="bars">{n}" "{move || i18n.tr("根", "bars")}</span>
                    <span class="range">{range}</span>
                </A>
            }
        })
        .collect_view();
    let row_key = code.clone();
    view! {
        <tr class="symbol-row" data-symbol=row_key>
            <td class="code"><A href=main_href.clone() attr:class="symbol-link">{code}</A></td>
            <td class="name"><A href=main_href>{s.name.unwrap_or_default()}</A></td>
            <td><span class="badge">{move || i18n.lang().board(board)}</span></td>
            <td>{move || i18n.lang().kind(kind)}</td>
            <td class="series">{links}</td>
        </tr>
    }
}
