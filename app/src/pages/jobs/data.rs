//! `/data`: downloads from Eastmoney, Tushare or Yahoo into the store, with live per-symbol
//! progress.

use super::history::JobHistory;
use super::{SignedIn, day, split_symbols, submit_and_watch};
use crate::api;
use crate::i18n::use_i18n;
use kxian_shared::api::{JobInfo, JobSpec};
use kxian_shared::jobs::{DownloadJob, DownloadSource, JobEvent, JobKind, Outcome, UniverseChoice};
use leptos::prelude::*;

#[component]
pub fn DataPage() -> impl IntoView {
    crate::pages::set_title("Data · Kxian");
    view! { <SignedIn><DataForm/></SignedIn> }
}

#[component]
fn DataForm() -> impl IntoView {
    let i18n = use_i18n();
    let lang = move || i18n.lang();
    let symbols = RwSignal::new("000001.SZ, 510310".to_string());
    let source = RwSignal::new("eastmoney".to_string());
    let tushare_token = RwSignal::new(String::new());
    let list = RwSignal::new("none".to_string());
    let limit = RwSignal::new(String::new());
    let frequency = RwSignal::new("daily".to_string());
    let adjustment = RwSignal::new("none".to_string());
    let from = RwSignal::new(String::new());
    let to = RwSignal::new(String::new());
    let check = RwSignal::new(false);
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
            universe: UniverseChoice::ALL
                .into_iter()
                .find(|u| u.as_str() == list.get_untracked()),
            limit: limit.get_untracked().trim().parse().ok().filter(|n| *n > 0),
            frequency: frequency
                .get_untracked()
                .parse()
                .unwrap_or(kxian_shared::Frequency::Daily),
            adjustment: adjustment.get_untracked().parse().unwrap_or_default(),
            from: day(&from.get_untracked()),
            to: day(&to.get_untracked()),
            reference: false,
            index: Vec::new(),
            csindex: false,
            check: check.get_untracked(),
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
            let rows_of = move |e: &JobEvent| {
                let JobEvent::Symbol {
                    symbol, outcome, ..
                } = e
                else {
                    return;
                };
                let (status, detail) = match outcome {
                    Outcome::Downloaded {
                        new_bars,
                        first,
                        last,
                    } => ("downloaded", format!("{new_bars} {first} – {last}")),
                    Outcome::Failed { error } => ("failed", error.clone()),
                    Outcome::UpToDate => ("up_to_date", String::new()),
                    Outcome::Empty => ("empty", String::new()),
                    Outcome::Unknown { .. } => ("unknown", String::new()),
                };
                rows.update(|r| r.push((symbol.clone(), status.to_string(), detail)));
            };
            if let Some(j) = submit_and_watch(&spec, state, error, rows_of).await {
                job.set(Some(j));
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
            <h1>{move || lang().tr("下载数据", "Download data")}</h1>
            <p class="hint">{move || lang().tr("由服务器上的 kxian-trainer 从东方财富下载（与 akshare 相同的接口），限速、重试，并增量写入数据库。",
                "kxian-trainer downloads from Eastmoney (the endpoints akshare uses) on the server: rate-limited, retried, and only the bars the store lacks.")}</p>
            <label class="field"><span>{move || lang().tr("代码（逗号或空格分隔）", "Symbols (comma or space separated)")}</span>
                <textarea id="dl-symbols" rows="2" prop:value=move || symbols.get()
                    on:input=move |ev| symbols.set(event_target_value(&ev))></textarea></label>
            <div class="form-row">
                <label class="field"><span>{move || lang().tr("加上整个列表", "Plus a whole list")}</span>
                    <select id="dl-list" on:change=move |ev| list.set(event_target_value(&ev))>
                        <option value="none">{move || lang().tr("无", "none")}</option>
                        <option value="all-etfs">{move || lang().tr("全部 ETF", "All ETFs")}</option>
                        <option value="all-a">{move || lang().tr("全部 A 股", "All A shares")}</option>
                    </select></label>
                <Show when=move || list.get() != "none">
                    <label class="field"><span>{move || lang().tr("最多（按今日流通市值取最大的）", "At most (the largest by float market cap today)")}</span>
                        <input type="number" id="dl-limit" min="1" placeholder="100"
                            on:input=move |ev| limit.set(event_target_value(&ev))/></label>
                </Show>
            </div>
            <div class="form-row">
                <label class="field"><span>{move || lang().tr("数据源", "Source")}</span>
                    {select(source, "dl-source", &["eastmoney", "tushare", "yahoo", "tdx"])}</label>
                <Show when=move || source.get() == "tdx">
                    <p class="hint" id="dl-tdx-hint">{move || lang().tr(
                        "通达信：使用服务器配置的行情服务器（KXIAN_TDX_HOST），仅不复权价格；公共服务器自 2026 年 7 月起不再返回K线。",
                        "TDX: the quote server this server's operator configured (KXIAN_TDX_HOST), raw prices only; public servers stopped answering bar requests in July 2026.")}</p>
                </Show>
                <Show when=move || source.get() == "tushare">
                    <label class="field"><span>{move || lang().tr("Tushare 令牌（只保存在服务器上）", "Tushare token (kept on the server only)")}</span>
                        <input type="password" id="dl-tushare-token" autocomplete="off"
                            on:input=move |ev| tushare_token.set(event_target_value(&ev))/></label>
                </Show>
                <label class="field"><span>{move || lang().tr("周期", "Frequency")}</span>
                    {select(frequency, "dl-frequency", &["daily", "weekly", "monthly", "60m", "30m", "15m", "5m", "1m"])}</label>
                <label class="field"><span>{move || lang().tr("复权", "Adjustment")}</span>
                    {select(adjustment, "dl-adjustment", &["none", "qfq", "hfq"])}</label>
                <label class="field"><span>{move || lang().tr("起始", "From")}</span>
                    <input type="date" id="dl-from" on:input=move |ev| from.set(event_target_value(&ev))/></label>
                <label class="field"><span>{move || lang().tr("截止", "To")}</span>
                    <input type="date" id="dl-to" on:input=move |ev| to.set(event_target_value(&ev))/></label>
            </div>
            <label class="field field-check">
                <input type="checkbox" id="dl-check" prop:checked=move || check.get()
                    on:change=move |ev| check.set(event_target_checked(&ev))/>
                <span>{move || lang().tr("只与已存数据比对（不写入）：在下方“数据健康”中列出两个来源有分歧的日子",
                    "Only compare with what is stored (nothing is written): the data health table below lists the days the two sources disagree")}</span></label>
            <div class="actions"><button type="button" class="btn primary" id="dl-submit" on:click=submit>
                {move || lang().tr("开始下载", "Download")}</button></div>
            {move || error.get().map(|e| view! { <div class="panel error-panel" id="dl-error"><p class="error-message">{e}</p></div> })}
            {move || job.get().map(|j| view! {
                <h2>{format!("{} {}", lang().tr("任务", "Job"), j.id)}
                    " " <span class="badge" id="dl-state" data-state=move || state.get()>{move || state.get()}</span></h2>
                <table class="data-table" id="dl-progress">
                    <thead><tr><th>{lang().tr("代码", "Symbol")}</th><th>{lang().tr("结果", "Outcome")}</th><th></th></tr></thead>
                    <tbody>{move || rows.get().into_iter().map(|(s, st, d)| {
                        let href = format!("/symbols/{s}?freq=daily");
                        let shown = st.clone();
                        view! { <tr data-symbol=s.clone() data-status=st>
                            <td><a href=href>{s.clone()}</a></td><td>{shown}</td><td>{d}</td></tr> }
                    }).collect_view()}</tbody>
                </table>
            })}
            <ReferenceForm token=tushare_token/>
            <DataHealth refresh=state/>
            <JobHistory kind=JobKind::Download refresh=state/>
        </section>
    }
}

/// "Reference data": industries, shares, index members, ST and suspensions from Tushare, with
/// each API call's progress. Shared by every user, so the server takes it from an admin only.
#[component]
fn ReferenceForm(token: RwSignal<String>) -> impl IntoView {
    let i18n = use_i18n();
    let lang = move || i18n.lang();
    let indices = RwSignal::new("000300.SH, 000905.SH, 000852.SH, 000016.SH".to_string());
    let from = RwSignal::new(String::new());
    let to = RwSignal::new(String::new());
    let csindex = RwSignal::new(false);
    let job = RwSignal::new(None::<JobInfo>);
    let calls = RwSignal::new(Vec::<(String, usize)>::new());
    let state = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let submit = move |_| {
        let from_csindex = csindex.get_untracked();
        let spec = JobSpec::Download(DownloadJob {
            // CSIndex's lists need no account: no Tushare token is asked for.
            source: if from_csindex {
                DownloadSource::Eastmoney
            } else {
                DownloadSource::Tushare
            },
            symbols: Vec::new(),
            universe: None,
            limit: None,
            frequency: kxian_shared::Frequency::Daily,
            adjustment: Default::default(),
            from: day(&from.get_untracked()),
            to: day(&to.get_untracked()),
            reference: true,
            index: split_symbols(&indices.get_untracked()),
            csindex: from_csindex,
            check: false,
        });
        error.set(None);
        calls.set(Vec::new());
        let token = token.get_untracked();
        leptos::task::spawn_local(async move {
            if !token.trim().is_empty()
                && let Err(e) = api::put_tushare_token(&token).await
            {
                return error.set(Some(e.to_string()));
            }
            let on_event = move |e: &JobEvent| {
                if let JobEvent::Call { call, rows, .. } = e {
                    calls.update(|c| c.push((call.clone(), *rows)));
                }
            };
            if let Some(j) = submit_and_watch(&spec, state, error, on_event).await {
                job.set(Some(j));
            }
        });
    };
    view! {
        <h2>{move || lang().tr("参考数据", "Reference data")}</h2>
        <p class="hint">{move || lang().tr(
            "从 Tushare 下载行业、股本与 PE/PB（每月末）、指数历史成分、上市/退市、ST 与停牌，供时点股票池、流通市值加权和股票池分析使用。所有用户共用，只有管理员可以下载；需要上面的 Tushare 令牌。",
            "From Tushare: industries, shares and PE/PB at each month's end, index members over time, listing and delisting, ST and suspensions — for point-in-time universes, float-cap weights and the universe analysis. Shared by every user, so an admin downloads it; it needs the Tushare token above (choose Tushare as the source to enter it).")}</p>
        <div class="form-row">
            <label class="field"><span>{move || lang().tr("指数", "Indices")}</span>
                <input type="text" id="ref-index" prop:value=move || indices.get()
                    on:input=move |ev| indices.set(event_target_value(&ev))/></label>
            <label class="field"><span>{move || lang().tr("起始（默认十年前）", "From (default: ten years back)")}</span>
                <input type="date" id="ref-from" on:input=move |ev| from.set(event_target_value(&ev))/></label>
            <label class="field"><span>{move || lang().tr("截止", "To")}</span>
                <input type="date" id="ref-to" on:input=move |ev| to.set(event_target_value(&ev))/></label>
        </div>
        <label class="field field-check">
            <input type="checkbox" id="ref-csindex" prop:checked=move || csindex.get()
                on:change=move |ev| csindex.set(event_target_checked(&ev))/>
            <span>{move || lang().tr("只下载中证指数公司公布的今日成分（无需账号）：每次下载把已存的成分历史延续到名单日期",
                "Only today's member lists from CSIndex (no account): each one carries the stored membership history forward to its date")}</span></label>
        <div class="actions"><button type="button" class="btn" id="ref-submit" on:click=submit>
            {move || lang().tr("下载参考数据", "Download reference data")}</button></div>
        {move || error.get().map(|e| view! { <div class="panel error-panel" id="ref-error"><p class="error-message">{e}</p></div> })}
        {move || job.get().map(|j| view! {
            <h3>{format!("{} {}", lang().tr("任务", "Job"), j.id)}
                " " <span class="badge" id="ref-state" data-state=move || state.get()>{move || state.get()}</span></h3>
            <table class="data-table" id="ref-progress">
                <thead><tr><th>{lang().tr("接口", "Call")}</th><th>{lang().tr("行数", "Rows")}</th></tr></thead>
                <tbody>{move || calls.get().into_iter().map(|(c, n)| view! {
                    <tr data-call=c.clone()><td>{c.clone()}</td><td>{n}</td></tr>
                }).collect_view()}</tbody>
            </table>
        })}
    }
}

/// "Data health": each stored daily series against the exchange calendar, worst first — its
/// source, last bar, missing trading days and longest gap, and how far behind today it is (what
/// `kxian-trainer health` prints). Read again when a download ends.
#[component]
fn DataHealth(refresh: RwSignal<String>) -> impl IntoView {
    let i18n = use_i18n();
    let lang = move || i18n.lang();
    let report = LocalResource::new(move || {
        refresh.track();
        api::data_health(kxian_shared::Frequency::Daily, Default::default())
    });
    let table = move || match report.get() {
        None => view! { <p class="hint">"…"</p> }.into_any(),
        Some(Err(e)) => view! { <p class="error-message">{e.to_string()}</p> }.into_any(),
        Some(Ok(r)) => {
            let day = |d: Option<chrono::NaiveDate>| d.map_or("—".to_string(), |d| d.to_string());
            view! {
                <p class="hint">{format!("{} · {}", r.today, lang().tr(
                    "缺失：首末根 K 线之间没有 K 线的交易日（下载缺口，或参考数据中没有的停牌）；停牌：参考数据记载的停牌日；落后：最后一根之后的交易日。",
                    "missing: trading days between the first and last bar without one (a hole in a download, or a suspension the reference data does not know); suspended: such days in a stored suspension; behind: trading days after the last bar."))}
                    " " {lang().tr("来源分歧：最近一次“只比对”下载中，价格或成交量相差超过万分之一的K线数 / 比对的K线数。",
                    "sources disagree: from your latest compare-only download, the bars whose price or volume differs by more than 0.01 %, of the bars compared.")}</p>
                <table class="data-table" id="health-table">
                    <thead><tr>
                        <th>{lang().tr("代码", "Symbol")}</th><th>{lang().tr("来源", "Source")}</th>
                        <th>{lang().tr("首日", "First")}</th><th>{lang().tr("末日", "Last")}</th>
                        <th>{lang().tr("缺失", "Missing")}</th><th>{lang().tr("停牌", "Suspended")}</th>
                        <th>{lang().tr("最长缺口", "Longest gap")}</th>
                        <th>{lang().tr("落后", "Behind")}</th>
                        <th>{lang().tr("来源分歧", "Sources disagree")}</th>
                    </tr></thead>
                    <tbody>{r.series.into_iter().map(|s| {
                        let (disagree, detail) = match &s.disagreement {
                            None => (String::from("—"), String::new()),
                            Some(d) => (
                                format!("{} / {} ({})", d.days, d.compared, d.source),
                                d.listed
                                    .iter()
                                    .map(|x| format!("{} {} {} vs {}", x.ts.date(), x.field, x.ours, x.theirs))
                                    .collect::<Vec<_>>()
                                    .join("; "),
                            ),
                        };
                        let days = s.disagreement.as_ref().map(|d| d.days.to_string());
                        view! {
                        <tr data-symbol=s.symbol.clone() data-missing=s.missing data-behind=s.behind data-disagree=days>
                            <td><a href=format!("/symbols/{}?freq=daily", s.symbol)>{s.symbol.clone()}</a></td>
                            <td>{s.source.clone()}</td><td>{day(s.first)}</td><td>{day(s.last)}</td>
                            <td>{s.missing}</td><td>{s.suspended}</td><td>{s.longest_gap}</td><td>{s.behind}</td>
                            <td class="disagree">{disagree}<br/><small>{detail}</small></td>
                        </tr>
                    }}).collect_view()}</tbody>
                </table>
            }
            .into_any()
        }
    };
    view! {
        <h2>{move || lang().tr("数据健康", "Data health")}</h2>
        {table}
    }
}
