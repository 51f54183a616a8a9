//! `/mine`: a formula search (`kxian-trainer mine`) as a job on the server's store, its best
//! formula so far generation by generation, then the accepted formulas with their training,
//! validation and test ICs, each ready for a strategy's `score`.

use super::history::JobHistory;
use super::{SignedIn, submit_and_watch};
use crate::charts::mine::cumulative_ic_option;
use crate::components::echart::EChart;
use crate::i18n::use_i18n;
use kxian_shared::api::JobSpec;
use kxian_shared::jobs::{JobEvent, JobKind, JobResult, MineJob};
use kxian_shared::mine::{Formula, MineReport};
use leptos::prelude::*;

/// A search over the stored main-board stocks, with the periods of the embedded years.
const DEFAULT_FILE: &str = "[universe]\nboard = \"main\"\n\n[mine]\nhorizon = 5\n\
train = { from = 2015-01-05, to = 2019-12-31 }\n\
validation = { from = 2020-01-02, to = 2021-12-31 }\n\
test = { from = 2022-01-04, to = 2024-09-19 }\n\
max_seconds = 60\nseed = 1\n";

#[component]
pub fn MinePage() -> impl IntoView {
    crate::pages::set_title("Mining · Kxian");
    view! { <SignedIn><MineForm/></SignedIn> }
}

fn f4(x: f64) -> String {
    if x.is_finite() {
        format!("{x:.4}")
    } else {
        "—".into()
    }
}

#[component]
fn MineForm() -> impl IntoView {
    let i18n = use_i18n();
    let lang = move || i18n.lang();
    let text = RwSignal::new(DEFAULT_FILE.to_string());
    let state = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let job = RwSignal::new(None::<i64>);
    let best = RwSignal::new(None::<(usize, usize, usize, f64, String)>);
    let report = RwSignal::new(None::<MineReport>);
    let submit = move |_| {
        let spec = JobSpec::Mine(MineJob {
            config: text.get_untracked(),
        });
        error.set(None);
        report.set(None);
        best.set(None);
        leptos::task::spawn_local(async move {
            let on_event = move |e: &JobEvent| match e {
                JobEvent::Generation {
                    generation,
                    generations,
                    tried,
                    best_train_ic,
                    formula,
                    ..
                } => best.set(Some((
                    *generation,
                    *generations,
                    *tried,
                    *best_train_ic,
                    formula.clone(),
                ))),
                JobEvent::End {
                    result: Some(JobResult::Mined(r)),
                    ..
                } => report.set(Some((**r).clone())),
                _ => {}
            };
            if let Some(j) = submit_and_watch(&spec, state, error, on_event).await {
                job.set(Some(j.id));
            }
        });
    };
    let row = move |f: &Formula| {
        let decay: Vec<String> = f.decay.iter().map(|x| f4(*x)).collect();
        let score = format!("score = {:?}", f.formula);
        view! {
            <tr class="mine-formula">
                <td><code>{f.formula.clone()}</code><br/><small class="mine-score">{score}</small></td>
                <td>{f4(f.train_ic)}</td><td>{f4(f.validation_ic)}</td>
                <td>{format!("{:.2}", f.validation_t)}</td>
                <td class="mine-test-ic">{f4(f.test_ic)}</td><td>{f4(f.test_icir)}</td>
                <td>{f4(f.turnover)}</td><td>{decay.join(" ")}</td>
            </tr>
        }
    };
    view! {
        <section class="panel jobs-page">
            <h1>{move || lang().tr("因子挖掘", "Formula mining")}</h1>
            <p class="hint">{move || lang().tr(
                "在表达式语言里用遗传编程搜索公式：只用训练期的 IC 搜索，验证期决定是否接受，测试期只在搜索结束后报告。尝试的公式越多，训练期 IC 越被运气抬高——请引用测试期的数字。",
                "Genetic programming over the expression language: the search sees only the training period's IC, the validation period decides what is accepted, and the test period is reported after the search. The more formulas tried, the more luck inflates the training IC: quote the test period's.")}</p>
            <label class="field"><span>{move || lang().tr("挖掘文件（TOML）", "Mining file (TOML)")}</span>
                <textarea id="mine-config" rows="12" class="bt-text" prop:value=move || text.get()
                    on:input=move |ev| text.set(event_target_value(&ev))></textarea></label>
            <div class="actions"><button type="button" class="btn primary" id="mine-submit" on:click=submit>
                {move || lang().tr("开始挖掘", "Mine")}</button></div>
            {move || error.get().map(|e| view! { <div class="panel error-panel" id="mine-error"><p class="error-message">{e}</p></div> })}
            {move || job.get().map(|id| view! {
                <h2>{format!("{} {id}", lang().tr("任务", "Job"))}
                    " " <span class="badge" id="mine-state" data-state=move || state.get()>{move || state.get()}</span></h2>
            })}
            {move || best.get().map(|(g, n, tried, ic, formula)| view! {
                <p id="mine-progress" data-generation=g>{format!(
                    "{} {g}/{n} · {} {tried} · {} {} · {formula}",
                    lang().tr("代", "generation"),
                    lang().tr("已试", "tried"),
                    lang().tr("最佳训练 IC", "best training IC"),
                    f4(ic)
                )}</p>
            })}
            {move || report.get().map(|r| {
                let rows: Vec<_> = r.formulas.iter().map(row).collect();
                let combined = r.combined.as_ref().map(row);
                let baselines: Vec<_> = r.baselines.iter().map(row).collect();
                let chart = cumulative_ic_option(&r);
                view! {
                    <p id="mine-summary" data-tried=r.tried data-accepted=r.formulas.len()>{format!(
                        "{} {} · {} {} · {:.1} s",
                        lang().tr("尝试公式", "formulas tried"), r.tried,
                        lang().tr("接受", "accepted"), r.formulas.len(), r.seconds)}</p>
                    <table class="data-table" id="mine-formulas">
                        <thead><tr>
                            <th>{lang().tr("公式", "Formula")}</th><th>{lang().tr("训练 IC", "Train IC")}</th>
                            <th>{lang().tr("验证 IC", "Validation IC")}</th><th>"t"</th>
                            <th>{lang().tr("测试 IC", "Test IC")}</th><th>"ICIR"</th>
                            <th>{lang().tr("换手", "Turnover")}</th><th>{lang().tr("IC 衰减 1/5/10/20", "IC decay 1/5/10/20")}</th>
                        </tr></thead>
                        <tbody>{rows}{combined}{baselines}</tbody>
                    </table>
                    <h3>{lang().tr("累计 rank IC（灰色：验证期与测试期）", "Cumulative rank IC (shaded: validation and test)")}</h3>
                    <EChart id="mine-ic-chart" option=Signal::derive(move || chart.clone())/>
                    <p class="hint">{lang().tr(
                        "把 score = \"…\" 放进回测文件的 [strategy]（kind = \"top_k\"）即可交易这个公式。",
                        "Put score = \"…\" in a backtest file's [strategy] (kind = \"top_k\") to trade the formula.")}</p>
                }
            })}
            <JobHistory kind=JobKind::Mine refresh=state/>
        </section>
    }
}
