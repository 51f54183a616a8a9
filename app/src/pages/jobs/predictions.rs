//! `/predictions`: prediction sets — a model over stored series at each scheduled date, run as
//! a job on the server (`kxian-trainer predict`), then listed with their evaluation (IC, rank
//! IC, quintiles, calibration, beside momentum and reversal) and CSV download.

use super::history::JobHistory;
use super::{SignedIn, submit_and_watch};
use crate::api;
use crate::charts::predictions::{cumulative_ic_option, quintiles_option};
use crate::components::echart::EChart;
use crate::i18n::use_i18n;
use kxian_shared::api::JobSpec;
use kxian_shared::jobs::{JobEvent, JobKind, JobResult, PredictJob};
use kxian_shared::predictions::evaluate::PredictionReport;
use leptos::prelude::*;

#[component]
pub fn PredictionsPage() -> impl IntoView {
    let i18n = use_i18n();
    crate::pages::set_title("Predictions · Kxian");
    let sets = LocalResource::new(api::prediction_sets);
    let shown = RwSignal::new(None::<i64>);
    view! {
        <section class="panel jobs-page">
            <h1>{move || i18n.tr("预测集", "Prediction sets")}</h1>
            <p class="hint">{move || i18n.tr(
                "模型在每个调度日对股票池中每只股票做预测，只用当日及以前的K线；结果存入服务器，可评估、可下载。",
                "A model's predictions for every stock of a universe at each scheduled date, from the bars up to that date only; stored on the server, evaluated and downloadable.")}</p>
            <SignedIn><PredictForm on_done=Callback::new(move |set: i64| { sets.refetch(); shown.set(Some(set)); })/></SignedIn>
            <h2>{move || i18n.tr("已存的预测集", "Stored sets")}</h2>
            {move || match sets.get() {
                None => ().into_any(),
                Some(Err(e)) => view! { <p class="error-message">{e.to_string()}</p> }.into_any(),
                Some(Ok(list)) if list.sets.is_empty() => view! {
                    <p class="hint" id="pred-none">{i18n.tr("还没有预测集。", "No prediction sets yet.")}</p> }.into_any(),
                Some(Ok(list)) => view! {
                    <table class="data-table" id="pred-sets">
                        <thead><tr><th>"id"</th><th>{i18n.tr("名称", "Name")}</th><th>{i18n.tr("模型", "Model")}</th>
                            <th>{i18n.tr("日期", "Dates")}</th><th>{i18n.tr("行", "Rows")}</th><th></th></tr></thead>
                        <tbody>{list.sets.into_iter().map(|s| {
                            let id = s.id;
                            view! { <tr data-set=id>
                                <td>{id}</td><td>{s.name.clone()}</td><td>{s.model.clone()}</td>
                                <td>{format!("{} – {}", s.first_date, s.last_date)}</td><td>{s.rows}</td>
                                <td><button type="button" class="btn" id=format!("pred-eval-{id}")
                                        on:click=move |_| shown.set(Some(id))>{i18n.tr("评估", "Evaluate")}</button>
                                    " " <a class="btn" id=format!("pred-csv-{id}") href=format!("/api/predictions/{id}/rows.csv")
                                        download="">"CSV"</a>
                                    " " <a class="btn" id=format!("pred-parquet-{id}") href=format!("/api/predictions/{id}/rows.parquet")
                                        download="">"Parquet"</a></td>
                            </tr> }
                        }).collect_view()}</tbody>
                    </table>
                }.into_any(),
            }}
            {move || shown.get().map(|id| view! { <Evaluation id=id/> })}
        </section>
    }
}

/// One set's report: the table of signals, the probabilities, and the two charts.
#[component]
fn Evaluation(id: i64) -> impl IntoView {
    let i18n = use_i18n();
    let report = LocalResource::new(move || api::prediction_evaluation(id));
    view! {
        <h2 id="pred-eval-title">{move || format!("{} {id}", i18n.tr("评估：预测集", "Evaluation of set"))}</h2>
        {move || match report.get() {
            None => view! { <p class="hint">{i18n.tr("计算中…", "Computing…")}</p> }.into_any(),
            Some(Err(e)) => view! { <p class="error-message">{e.to_string()}</p> }.into_any(),
            Some(Ok(r)) => report_view(r).into_any(),
        }}
    }
}

fn pct(x: f64) -> String {
    if x.is_finite() {
        format!("{:.2} %", x * 100.0)
    } else {
        "-".into()
    }
}

fn num(x: f64, d: usize) -> String {
    if x.is_finite() {
        format!("{x:.d$}")
    } else {
        "-".into()
    }
}

fn report_view(r: PredictionReport) -> impl IntoView {
    let summary = format!(
        "{} rows scored of {} ({} symbols, {} to {}); {} with the outcome still unknown",
        r.scored,
        r.rows,
        r.symbols,
        r.first_date.map_or("-".into(), |d| d.to_string()),
        r.last_date.map_or("-".into(), |d| d.to_string()),
        r.left.outcome_unknown
    );
    let p = r.probability.clone();
    let dist = r.distribution.clone();
    let (ic, q) = (
        cumulative_ic_option(&r.by_date),
        quintiles_option(&r.signals),
    );
    view! {
        <p id="pred-summary">{summary}</p>
        <table class="data-table" id="pred-signals">
            <thead><tr><th>"signal"</th><th>"dates"</th><th>"IC"</th><th>"rank IC"</th><th>"ICIR"</th><th>"t"</th>
                <th>"IC>0"</th><th>"Q1"</th><th>"Q5"</th><th>"Q5−Q1"</th><th>"hit"</th></tr></thead>
            <tbody>{r.signals.into_iter().map(|s| view! { <tr data-signal=s.signal.clone() data-rank-ic=s.rank_ic.to_string()>
                <td>{s.signal.clone()}</td><td>{s.dates}</td><td>{num(s.ic, 4)}</td><td>{num(s.rank_ic, 4)}</td>
                <td>{num(s.icir, 2)}</td><td>{num(s.t_stat, 2)}</td><td>{pct(s.positive_rank_ic_share)}</td>
                <td>{pct(s.quintiles[0])}</td><td>{pct(s.quintiles[4])}</td><td>{pct(s.spread)}</td><td>{pct(s.hit_rate)}</td>
            </tr> }).collect_view()}</tbody>
        </table>
        <p id="pred-brier">{format!("P(up): Brier {} against the base rate's {} (skill {})",
            num(p.brier, 4), num(p.brier_base_rate, 4), num(p.brier_skill, 3))}</p>
        {dist.map(|d| view! { <p id="pred-band">{format!(
            "q10–q90 coverage {} (target 80 %), random walk {}; CRPS {} ({}) against the random walk's {}",
            pct(d.coverage), pct(d.random_walk_coverage), num(d.crps, 5), d.crps_from, num(d.random_walk_crps, 5))}</p> })}
        <h3>"Σ rank IC"</h3>
        <EChart id="pred-ic-chart" option=Signal::derive(move || ic.clone())/>
        <h3>{"Quintiles"}</h3>
        <EChart id="pred-quintiles-chart" option=Signal::derive(move || q.clone())/>
    }
}

/// `kxian-trainer predict` as a job over stored series.
#[component]
fn PredictForm(on_done: Callback<i64>) -> impl IntoView {
    let i18n = use_i18n();
    let symbols =
        RwSignal::new("000300.SH, 000001.SH, 399001.SZ, 399006.SZ, 600000.SH".to_string());
    let board = RwSignal::new(String::new());
    // The forecasting models this account may use; empty is the built-in default.
    let models = LocalResource::new(api::models);
    let model = RwSignal::new(String::new());
    let every = RwSignal::new("month_end".to_string());
    let from = RwSignal::new("2020-01-01".to_string());
    let to = RwSignal::new(String::new());
    let horizon = RwSignal::new("5".to_string());
    let samples = RwSignal::new("8".to_string());
    let lookback = RwSignal::new("256".to_string());
    let state = RwSignal::new(String::new());
    let progress = RwSignal::new((0usize, 0usize));
    let error = RwSignal::new(None::<String>);
    let job = RwSignal::new(None::<i64>);
    let submit = move |_| {
        let list: Vec<String> = symbols
            .get_untracked()
            .split([',', ' ', '\n'])
            .filter(|s| !s.trim().is_empty())
            .map(|s| s.trim().to_string())
            .collect();
        let date = |s: String| s.trim().parse().ok();
        let n = |s: String, d: u32| s.trim().parse().unwrap_or(d);
        let b = board.get_untracked().trim().to_string();
        let m = model.get_untracked();
        let spec = JobSpec::Predict(PredictJob {
            symbols: list,
            board: (!b.is_empty()).then_some(b),
            adjustment: kxian_shared::Adjustment::None,
            every: every.get_untracked(),
            from: date(from.get_untracked()),
            to: date(to.get_untracked()),
            model: (!m.is_empty()).then_some(m),
            horizon: n(horizon.get_untracked(), 5),
            samples: n(samples.get_untracked(), 8),
            lookback: n(lookback.get_untracked(), 256),
            seed: 7,
            name: None,
        });
        error.set(None);
        progress.set((0, 0));
        leptos::task::spawn_local(async move {
            let on_event = move |e: &JobEvent| match e {
                JobEvent::Dated { done, total, .. } => progress.set((*done, *total)),
                JobEvent::End {
                    error: why, result, ..
                } => {
                    if let Some(JobResult::Predictions { set, .. }) = result {
                        on_done.run(*set);
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
    let field = move |id: &'static str,
                      label: (&'static str, &'static str),
                      sig: RwSignal<String>| {
        view! {
            <label class="field"><span>{move || i18n.tr(label.0, label.1)}</span>
                <input id=id prop:value=move || sig.get() on:input=move |ev| sig.set(event_target_value(&ev))/></label>
        }
    };
    view! {
        <h2>{move || i18n.tr("新的预测集", "A new prediction set")}</h2>
        <div class="form-row">
            <label class="field"><span>{move || i18n.tr("模型", "Model")}</span>
                <select id="pred-model" on:change=move |ev| model.set(event_target_value(&ev))>
                    {move || models.get().and_then(Result::ok).map(|list| list.models.into_iter().map(|m| {
                        let value = if m.default { String::new() } else { m.id.clone() };
                        view! { <option value=value selected=m.default>{m.id.clone()}</option> }
                    }).collect_view())}
                </select></label>
            {field("pred-symbols", ("代码（逗号分隔）", "Symbols (comma-separated)"), symbols)}
            {field("pred-board", ("或板块（main、chinext、star、etf、index…）", "or a board (main, chinext, star, etf, index, …)"), board)}
            <label class="field"><span>{move || i18n.tr("频率", "Every")}</span>
                <select id="pred-every" on:change=move |ev| every.set(event_target_value(&ev))>
                    <option value="month_end" selected=true>{move || i18n.tr("月末", "month end")}</option>
                    <option value="week_end">{move || i18n.tr("周末", "week end")}</option>
                    <option value="day">{move || i18n.tr("每日", "every day")}</option>
                    <option value="20">{move || i18n.tr("每 20 根K线", "every 20 bars")}</option>
                </select></label>
            {field("pred-from", ("开始", "From"), from)}
            {field("pred-to", ("结束（可空）", "To (optional)"), to)}
        </div>
        <div class="form-row">
            {field("pred-horizon", ("预测步数", "Horizon (bars)"), horizon)}
            {field("pred-samples", ("采样路径", "Sample paths"), samples)}
            {field("pred-lookback", ("回看K线", "Lookback (bars)"), lookback)}
        </div>
        <div class="actions"><button type="button" class="btn primary" id="pred-submit" on:click=submit>
            {move || i18n.tr("开始预测", "Predict")}</button></div>
        {move || error.get().map(|e| view! { <div class="panel error-panel" id="pred-error"><p class="error-message">{e}</p></div> })}
        {move || job.get().map(|id| view! {
            <h3>{format!("{} {id}", i18n.tr("任务", "Job"))}
                " " <span class="badge" id="pred-state" data-state=move || state.get()>{move || state.get()}</span>
                " " <span id="pred-progress">{move || { let (d, t) = progress.get(); format!("{d} / {t}") }}</span></h3>
        })}
        <JobHistory kind=JobKind::Predict refresh=state/>
    }
}
