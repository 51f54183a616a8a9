//! `/backtest`: the CLI's TOML config run in this browser. The universe comes from the server's
//! store, the engine is `kxian_shared::backtest` compiled to wasm, so the numbers are those of
//! `kxian-trainer backtest` on the same bars. The report shows the text report, equity and
//! drawdown, monthly returns, the daily return histogram, the factors' correlation heat map
//! and the trade list.

use crate::api;
use crate::charts::backtest as charts;
use crate::components::echart::EChart;
use crate::components::forecast_view::download;
use crate::i18n::use_i18n;
use kxian_shared::api::{PredictionSetInfo, SymbolSummary};
use kxian_shared::backtest::benchmarks::Benchmark;
use kxian_shared::backtest::config::{self, BacktestConfig, StrategyConfig, UniverseConfig};
use kxian_shared::backtest::engine::{BacktestResult, PointInTime, Universe};
use kxian_shared::backtest::fields::PredictionSource;
use kxian_shared::backtest::signals::Signals;
use kxian_shared::backtest::walk_forward::WalkForwardResult;
use kxian_shared::features::ic::{IcOptions, IcReport, ic_report};
use kxian_shared::predictions::evaluate::ScoreReport;
use kxian_shared::rules::Side;
use kxian_shared::{Adjustment, Frequency, Symbol};
use leptos::html;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use serde::Serialize;
use std::sync::Arc;

/// The seed's monthly rotation, on the stocks of the embedded data.
pub const ROTATION: &str = r#"[universe]
# The three stocks of the embedded data (600000, 000001, 000151). On a store with more stocks,
# board = "main" takes every main-board stock instead. The report compares the run with the
# CSI 300 (000300.SH) when the store has it, and with the universe bought and held.
symbols = ["600000.SH", "000001.SZ", "000151.SZ"]
from = 2015-01-05
to = 2024-09-19

[strategy]
kind = "monthly_rotation"
top_fraction = 0.34      # the best one of the three
weighting = "equal"      # or "by_return"

[engine]
initial_cash = 1_000_000
fees = { stock_commission = 0.0003, stock_min_commission = 5.0, fund_commission = 0.0003, fund_min_commission = 0.1 }
slippage = { kind = "bps", bps = 1 }
"#;

/// The examples of `examples/backtest/`, as the CLI runs them: (id, Chinese, English, file).
pub const EXAMPLES: [(&str, &str, &str, &str); 7] = [
    (
        "momentum-top-k",
        "动量反转 Top-K",
        "Reversal top-K",
        include_str!("../../../examples/backtest/momentum-top-k.toml"),
    ),
    (
        "kronos-top-k",
        "Kronos 选股 (pred.p_up)",
        "Kronos stock selection (pred.p_up)",
        include_str!("../../../examples/backtest/kronos-top-k.toml"),
    ),
    (
        "equinet-threshold",
        "EquiNet 概率阈值",
        "EquiNet probability threshold",
        include_str!("../../../examples/backtest/equinet-threshold.toml"),
    ),
    (
        "alphaquant-signals",
        "AlphaQuant 四因子信号",
        "AlphaQuant four-score signal",
        include_str!("../../../examples/backtest/alphaquant-signals.toml"),
    ),
    (
        "bollinger-reversion",
        "布林带均值回归",
        "Bollinger mean reversion",
        include_str!("../../../examples/backtest/bollinger-reversion.toml"),
    ),
    (
        "ma-trend",
        "均线趋势跟踪",
        "MA trend following",
        include_str!("../../../examples/backtest/ma-trend.toml"),
    ),
    (
        "regime-gated-momentum",
        "市场状态择时动量",
        "Regime-gated momentum",
        include_str!("../../../examples/backtest/regime-gated-momentum.toml"),
    ),
];

/// The file with its strategy reading the stored set `id`: the `predictions` line replaced,
/// or added under `[strategy]`.
pub fn with_prediction_set(toml: &str, id: i64) -> String {
    let line = format!("predictions = {id}");
    let mut out: Vec<String> = Vec::new();
    let mut done = false;
    for l in toml.lines() {
        if !done && l.trim_start().starts_with("predictions") && l.contains('=') {
            out.push(line.clone());
            done = true;
        } else {
            out.push(l.to_string());
        }
    }
    if !done && let Some(i) = out.iter().position(|l| l.trim() == "[strategy]") {
        out.insert(i + 1, line);
    }
    let mut text = out.join("\n");
    text.push('\n');
    text
}

/// An expression error of the file (`strategy.score: `x`: message at column N`) as the
/// expression, the 1-based column and the message, to point at the place in the page.
pub fn expression_error(message: &str) -> Option<(String, usize, String)> {
    let start = message.find(": `")? + 3;
    let end = start + message[start..].find("`: ")?;
    let expr = message[start..end].to_string();
    let rest = &message[end + 3..];
    let at = rest.rfind(" at column ")?;
    let column = rest[at + 11..].trim().parse().ok()?;
    Some((expr, column, rest[..at].to_string()))
}

/// The stored set a strategy's `predictions` names, by id or by name (the newest of that name).
pub fn pick_set(
    source: &PredictionSource,
    sets: &[PredictionSetInfo],
) -> Result<PredictionSetInfo, String> {
    let found = match source {
        PredictionSource::Id(id) => sets.iter().find(|s| s.id == *id),
        PredictionSource::Named { name } => sets.iter().find(|s| &s.name == name),
        PredictionSource::Refitted => {
            return Err("strategy.predictions: made by a retraining walk-forward, which runs in kxian-trainer".into());
        }
        PredictionSource::File(p) => {
            return Err(format!(
                "strategy.predictions: the browser reads stored sets, not files ({}); give a set's id (predictions = 12) or {{ name = \"…\" }}",
                p.display()
            ));
        }
    };
    found.cloned().ok_or_else(|| {
        format!("strategy.predictions: {source} is not on the server (make one on the Predictions page, or with kxian-trainer predict)")
    })
}

pub const SMA: &str = r#"[universe]
symbols = ["000300.SH", "399001.SZ", "399006.SZ", "600000.SH", "000001.SZ"]
from = 2018-01-02

[strategy]
kind = "sma_cross"
fast = 5
slow = 20

[risk]
stop_loss = 0.08

[walk_forward]
train_days = 250
test_days = 120
grid = { fast = [5, 10], slow = [20, 60] }
"#;

/// The symbols of the store the config's universe names: `symbols` (any spelling) and every
/// symbol of `board`, among those with a series at the config's frequency and adjustment.
pub fn select_symbols(u: &UniverseConfig, list: &[SymbolSummary]) -> Result<Vec<Symbol>, String> {
    if !u.files.is_empty() {
        return Err("universe.files: the browser cannot read local files; import them on the symbols page and list their symbols instead".into());
    }
    if let Some(i) = &u.index {
        // The members are read from the server's reference data first (see `run`).
        return Err(format!(
            "universe.index: {i}'s members come from the server's reference data"
        ));
    }
    let wanted: Vec<Symbol> = u
        .symbols
        .iter()
        .map(|s| {
            s.parse::<Symbol>()
                .map_err(|e| format!("universe.symbols: `{s}`: {e}"))
        })
        .collect::<Result<_, _>>()?;
    if wanted.is_empty() && u.board.is_none() {
        return Err("universe: give `symbols` or a `board`".into());
    }
    let frequency = u.frequency.unwrap_or(Frequency::Daily);
    let adjustment = u.adjustment.unwrap_or(Adjustment::None);
    let board_of = |s: &SymbolSummary| {
        serde_json::to_value(s.board)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
    };
    let picked: Vec<Symbol> = list
        .iter()
        .filter(|s| {
            wanted.contains(&s.symbol)
                || (u.board.is_some() && board_of(s).as_deref() == u.board.as_deref())
        })
        .filter(|s| {
            s.series
                .iter()
                .any(|x| x.frequency == frequency && x.adjustment == adjustment)
        })
        .map(|s| s.symbol.clone())
        .collect();
    if let Some(missing) = wanted.iter().find(|w| !picked.contains(w)) {
        return Err(format!(
            "universe.symbols: {missing} has no {} {} series in the store",
            frequency.as_str(),
            adjustment.as_str()
        ));
    }
    if picked.is_empty() {
        return Err(format!(
            "universe: no symbol of board `{}` has a {} series in the store",
            u.board.clone().unwrap_or_default(),
            frequency.as_str()
        ));
    }
    Ok(picked)
}

/// What the page shows and hands over as JSON (the CLI's `--output` shape plus the report).
#[derive(Debug, Clone, Serialize)]
pub struct PageResult {
    pub report: String,
    #[serde(flatten)]
    pub result: BacktestResult,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub walk_forward: Option<WalkForwardResult>,
    pub benchmarks: Vec<Benchmark>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub score_ic: Option<ScoreReport>,
    #[serde(skip)]
    pub factors: Option<IcReport>,
    #[serde(skip)]
    pub initial_cash: f64,
}

/// The run itself: pure, so the native tests check it against the CLI's functions.
pub fn run_in_page(
    config: &BacktestConfig,
    universe: &Universe,
    signals: Option<&Signals>,
) -> Result<PageResult, String> {
    let done = config::run_all(config, universe, signals).map_err(|e| e.message)?;
    let factors = (universe.symbols().count() >= 3).then(|| {
        ic_report(
            universe.series(),
            IcOptions {
                min_symbols: 3,
                ..IcOptions::default()
            },
        )
    });
    Ok(PageResult {
        report: done.report,
        result: done.result,
        walk_forward: done.walk_forward,
        benchmarks: done.benchmarks,
        score_ic: done.score_ic,
        factors,
        initial_cash: config.engine.initial_cash,
    })
}

/// Reads the stored set a `top_k` or `threshold` strategy names into its `pred.` fields.
async fn attach_stored_set(
    cfg: &mut BacktestConfig,
    state: RwSignal<State>,
    reading: &str,
) -> Result<(), String> {
    let Some(source) = cfg.strategy.predictions().cloned() else {
        return Ok(());
    };
    let sets = api::prediction_sets().await.map_err(|e| e.to_string())?;
    let set = pick_set(&source, &sets.sets)?;
    state.set(State::Running(format!(
        "{reading} {} ({} rows)",
        set.name, set.rows
    )));
    let csv = api::prediction_rows_csv(set.id)
        .await
        .map_err(|e| e.to_string())?;
    let (kind, rows) = kxian_shared::predictions::rows::from_csv(&csv)
        .map_err(|e| format!("prediction set {}: {e}", set.id))?;
    cfg.strategy.attach(kind, rows)
}

#[derive(Debug, Clone)]
enum State {
    Idle,
    Running(String),
    Failed(String),
    Done(Arc<PageResult>),
}

#[component]
pub fn BacktestPage() -> impl IntoView {
    let i18n = use_i18n();
    let lang = move || i18n.lang();
    let query = use_query_map();
    let preset = query.read_untracked().get("preset");
    let text = RwSignal::new(
        if preset.as_deref() == Some("sma") {
            SMA
        } else {
            ROTATION
        }
        .to_string(),
    );
    let state = RwSignal::new(State::Idle);
    let signals_text = RwSignal::new(None::<(String, String)>);
    let file_ref = NodeRef::<html::Input>::new();
    super::set_title("Backtest · Kxian");

    // The file checked as it is typed: an expression error points at its column.
    let check = Memo::new(move |_| text.with(|t| config::parse(t).err().map(|e| e.message)));
    let check_view = move || {
        check.get().map(|m| match expression_error(&m) {
            Some((expr, column, what)) => view! {
                <div class="bt-check" id="bt-check" role="status">
                    <pre class="bt-caret">{format!("{expr}\n{}^ {what}", " ".repeat(column.saturating_sub(1)))}</pre>
                    <p class="hint">{m.clone()}</p>
                </div>
            }
            .into_any(),
            None => view! {
                <div class="bt-check" id="bt-check" role="status"><p class="hint">{m}</p></div>
            }
            .into_any(),
        })
    };
    let uses_predictions = move || {
        text.with(|t| {
            config::parse(t)
                .map(|c| {
                    matches!(
                        c.strategy,
                        StrategyConfig::TopK(_) | StrategyConfig::Threshold(_)
                    )
                })
                .unwrap_or(false)
        })
    };
    // Read again whenever a preset is chosen or the picker is opened: a set made since the
    // page loaded (a job, the CLI) shows up.
    let refresh = RwSignal::new(0u32);
    let sets = LocalResource::new(move || {
        refresh.track();
        async move { api::prediction_sets().await }
    });
    let is_signal = move || {
        text.with(|t| {
            config::parse(t)
                .map(|c| matches!(c.strategy, StrategyConfig::Signal(_)))
                .unwrap_or(false)
        })
    };

    let run = move || {
        let cfg = match config::parse(&text.get_untracked()) {
            Ok(c) => c,
            Err(e) => return state.set(State::Failed(format!("config: {}", e.message))),
        };
        if cfg.walk_forward.as_ref().is_some_and(|w| w.retrain) {
            return state.set(State::Failed(
                "walk_forward.retrain: refitting a model on every fold needs the trainer: submit this file with \"Run on the server\" below, or run kxian-trainer backtest".into(),
            ));
        }
        let signals = match (&cfg.strategy, signals_text.get_untracked()) {
            (StrategyConfig::Signal(_), Some((name, csv))) => match Signals::from_csv(&csv) {
                Ok(s) => Some(s),
                Err(e) => return state.set(State::Failed(format!("{name}: {e}"))),
            },
            (StrategyConfig::Signal(_), None) => {
                return state.set(State::Failed(
                    "strategy.signals: choose the probabilities CSV below (evaluate-classifier --signals writes one)".into(),
                ));
            }
            _ => None,
        };
        state.set(State::Running(
            lang()
                .tr("读取股票列表…", "Reading the symbol list…")
                .into(),
        ));
        leptos::task::spawn_local(async move {
            let mut cfg = cfg;
            let reading = lang().tr("读取预测集", "Reading the prediction set");
            if let Err(e) = attach_stored_set(&mut cfg, state, reading).await {
                return state.set(State::Failed(e));
            }
            let list = match api::symbols(String::new(), 10_000).await {
                Ok(l) => l,
                Err(e) => return state.set(State::Failed(e.to_string())),
            };
            // A point-in-time universe: its index's members from the server's reference data
            // (with `at`, that day's), those with a stored series; then every name's facts.
            let (picked, members, reference) = match &cfg.universe.index {
                Some(index) => {
                    let data = match api::reference(Some(index.clone()), Vec::new()).await {
                        Ok(d) => d,
                        Err(e) => return state.set(State::Failed(e.to_string())),
                    };
                    let index = index
                        .parse::<Symbol>()
                        .map(|s| s.to_string())
                        .unwrap_or_default();
                    let members = match cfg.universe.members_of(&index, &data.members) {
                        Ok(m) => m,
                        Err(e) => return state.set(State::Failed(e)),
                    };
                    let stored: Vec<&Symbol> = list.symbols.iter().map(|s| &s.symbol).collect();
                    let picked: Vec<Symbol> = members
                        .keys()
                        .filter_map(|s| s.parse::<Symbol>().ok())
                        .filter(|s| stored.contains(&s))
                        .collect();
                    (picked, Some(members), data)
                }
                None => {
                    let picked = match select_symbols(&cfg.universe, &list.symbols) {
                        Ok(p) => p,
                        Err(e) => return state.set(State::Failed(e)),
                    };
                    let names = picked.iter().map(|s| s.to_string()).collect();
                    let data = match api::reference(None, names).await {
                        Ok(d) => d,
                        Err(e) => return state.set(State::Failed(e.to_string())),
                    };
                    (picked, None, data)
                }
            };
            let u = &cfg.universe;
            let mut universe = Universe::new();
            for (k, s) in picked.iter().enumerate() {
                state.set(State::Running(format!(
                    "{} {s} ({}/{})",
                    lang().tr("读取K线", "Loading bars of"),
                    k + 1,
                    picked.len()
                )));
                match api::bars_between(
                    &s.to_string(),
                    u.frequency.unwrap_or(Frequency::Daily),
                    u.adjustment.unwrap_or(Adjustment::None),
                    u.read_from(),
                    u.to,
                )
                .await
                {
                    Ok(r) => universe.insert(r.symbol, u.trim(r.bars)),
                    Err(e) => return state.set(State::Failed(format!("{s}: {e}"))),
                }
            }
            universe.set_point_in_time(PointInTime::from_reference(
                reference,
                members.filter(|_| u.at.is_none()),
            ));
            cfg.engine.apply_reference_status(universe.status());
            // The index the report compares with (optional unless the file names one), with
            // its whole history: the market regime on any day reads every earlier bar.
            let (index, named) = u.benchmark_symbol();
            match api::bars_between(&index, Frequency::Daily, Adjustment::None, None, u.to).await {
                Ok(r) if !r.bars.is_empty() => {
                    universe.set_benchmark(r.symbol, u.trim_index(r.bars))
                }
                Err(e) if named => {
                    return state.set(State::Failed(format!("universe.benchmark: {index}: {e}")));
                }
                _ => {}
            }
            state.set(State::Running(
                lang().tr("回测中…", "Running the backtest…").into(),
            ));
            // Let the status paint before the engine takes the thread.
            crate::inference::next_macrotask().await;
            match run_in_page(&cfg, &universe, signals.as_ref()) {
                Ok(r) => state.set(State::Done(Arc::new(r))),
                Err(e) => state.set(State::Failed(e)),
            }
        });
    };

    let on_signals = move |_| {
        let Some(file) = file_ref
            .get()
            .and_then(|i| i.files())
            .and_then(|f| f.get(0))
        else {
            signals_text.set(None);
            return;
        };
        leptos::task::spawn_local(async move {
            let name = file.name();
            match wasm_bindgen_futures::JsFuture::from(file.text()).await {
                Ok(t) => signals_text.set(Some((name, t.as_string().unwrap_or_default()))),
                Err(e) => state.set(State::Failed(format!("{name}: cannot read: {e:?}"))),
            }
        });
    };

    let status = move || {
        match state.get() {
        State::Running(s) => view! { <p class="bt-status" id="bt-status">{s}</p> }.into_any(),
        State::Failed(e) => view! {
            <div class="panel error-panel" id="bt-error" role="alert"><p class="error-message">{e}</p></div>
        }
        .into_any(),
        _ => ().into_any(),
    }
    };

    let result = move || match state.get() {
        State::Done(r) => view! { <BacktestReport result=r/> }.into_any(),
        _ => ().into_any(),
    };

    view! {
        <section class="panel backtest-page">
            <h1>{move || lang().tr("回测", "Backtest")}</h1>
            <p class="hint">{move || lang().tr("与 kxian-trainer backtest 相同的 TOML 配置，在浏览器中运行于服务器的数据库之上。",
                "The same TOML file as kxian-trainer backtest, run in this browser on the server's store.")}</p>
            <div class="bt-presets">
                <button type="button" class="btn" id="bt-preset-rotation"
                    on:click=move |_| text.set(ROTATION.into())>
                    {move || lang().tr("月度轮动", "Monthly rotation")}</button>
                <button type="button" class="btn" id="bt-preset-sma"
                    on:click=move |_| text.set(SMA.into())>
                    {move || lang().tr("均线交叉 + 滚动前推", "SMA cross + walk-forward")}</button>
                {EXAMPLES.iter().map(|(id, zh, en, file)| view! {
                    <button type="button" class="btn" id=format!("bt-preset-{id}")
                        on:click=move |_| {
                            text.set(file.to_string());
                            refresh.update(|n| *n += 1);
                        }>
                        {move || lang().tr(zh, en)}</button>
                }).collect_view()}
            </div>
            {check_view}
            <Show when=uses_predictions>
                <label class="field">
                    <span>{move || lang().tr("预测集", "Prediction set")}</span>
                    <select id="bt-prediction-set" on:focus=move |_| refresh.update(|n| *n += 1)
                        on:change=move |ev| {
                        if let Ok(id) = event_target_value(&ev).parse::<i64>() {
                            text.update(|t| *t = with_prediction_set(t, id));
                        }
                    }>
                        <option value="">{move || lang().tr("选择服务器上的预测集…", "Pick a stored set…")}</option>
                        {move || sets.get().map(|r| match r {
                            Ok(list) => list.sets.into_iter().map(|s| view! {
                                <option value=s.id.to_string()>
                                    {format!("#{} {} · {} · {} → {} · {} rows", s.id, s.name, s.model, s.first_date, s.last_date, s.rows)}
                                </option>
                            }).collect_view().into_any(),
                            Err(e) => view! { <option value="" disabled=true>{e.to_string()}</option> }.into_any(),
                        })}
                    </select>
                </label>
            </Show>
            <super::backtest_form::BacktestForm text=text/>
            <textarea id="bt-config" class="bt-config" rows="18" spellcheck="false"
                prop:value=move || text.get()
                on:input=move |ev| text.set(event_target_value(&ev))></textarea>
            <Show when=is_signal>
                <label class="field">
                    <span>{move || lang().tr("概率文件 (CSV)", "Probabilities (CSV)")}</span>
                    <input type="file" id="bt-signals" accept=".csv,text/csv" node_ref=file_ref on:change=on_signals/>
                </label>
            </Show>
            <div class="actions">
                <button type="button" class="btn primary" id="bt-run"
                    disabled=move || matches!(state.get(), State::Running(_))
                    on:click=move |_| run()>
                    {move || lang().tr("运行回测", "Run backtest")}</button>
            </div>
            {status}
            <super::jobs::BacktestJobPanel text=text/>
        </section>
        {result}
    }
}

#[component]
fn BacktestReport(result: Arc<PageResult>) -> impl IntoView {
    let i18n = use_i18n();
    let lang = i18n.lang();
    let r = &result.result;
    let json = serde_json::to_string(&*result).unwrap_or_default();
    let equity = charts::equity_option(
        &r.dates,
        &r.equity,
        lang.tr("权益", "Equity"),
        lang.tr("回撤", "Drawdown"),
        &result
            .benchmarks
            .iter()
            .map(|b| (b.name.clone(), b.equity.clone()))
            .collect::<Vec<_>>(),
    );
    let score = result.score_ic.as_ref().map(|s| {
        (
            crate::charts::predictions::cumulative_ic_option(&s.by_date),
            crate::charts::predictions::quintiles_option(&s.signals),
        )
    });
    let monthly = charts::monthly_option(&charts::monthly_returns(
        &r.dates,
        &r.equity,
        result.initial_cash,
    ));
    let quarterly = charts::quarterly_option(&charts::quarterly_returns(
        &r.dates,
        &r.equity,
        result.initial_cash,
    ));
    let weekdays = charts::weekday_returns(&r.dates, &r.equity, result.initial_cash);
    let day_names = [
        lang.tr("周一", "Monday"),
        lang.tr("周二", "Tuesday"),
        lang.tr("周三", "Wednesday"),
        lang.tr("周四", "Thursday"),
        lang.tr("周五", "Friday"),
    ];
    let daily = charts::daily_returns(&r.equity, result.initial_cash);
    let hist = charts::histogram_option(
        &charts::histogram(&daily, -0.05, 0.05, 0.0025),
        0.0025,
        lang.tr("天数", "days"),
    );
    let factors = result
        .factors
        .as_ref()
        .map(|f| charts::correlation_option(&f.names, &f.correlation));
    let fills: Vec<_> = r.fills.iter().take(500).cloned().collect();
    let more = r.fills.len().saturating_sub(fills.len());
    let download_json = json.clone();
    view! {
        <section class="panel bt-report">
            <div class="actions">
                <button type="button" class="btn" id="bt-download-json"
                    on:click=move |_| download("backtest.json", "application/json", &download_json)>"JSON"</button>
            </div>
            <pre id="bt-report" class="bt-text">{result.report.clone()}</pre>
            <h2>{lang.tr("权益与回撤", "Equity and drawdown")}</h2>
            <EChart id="bt-equity" option=Signal::derive(move || equity.clone())/>
            {score.map(|(ic, q)| view! {
                <h2>{lang.tr("评分的累计秩 IC", "The score's cumulative rank IC")}</h2>
                <EChart id="bt-score-ic" option=Signal::derive(move || ic.clone())/>
                <h2>{lang.tr("评分五分位的后续收益", "Forward return by score quintile")}</h2>
                <EChart id="bt-score-quintiles" option=Signal::derive(move || q.clone())/>
            })}
            <h2>{lang.tr("月度收益 (%)", "Monthly returns (%)")}</h2>
            <EChart id="bt-monthly" option=Signal::derive(move || monthly.clone())/>
            <h2>{lang.tr("季度收益 (%)", "Quarterly returns (%)")}</h2>
            <EChart id="bt-quarterly" option=Signal::derive(move || quarterly.clone())/>
            <h2>{lang.tr("星期效应", "Day of the week")}</h2>
            <table class="data-table" id="bt-weekdays">
                <thead><tr>
                    <th>{lang.tr("星期", "Day")}</th><th>{lang.tr("平均日收益", "Mean daily return")}</th>
                    <th>{lang.tr("上涨天数占比", "Days up")}</th><th>{lang.tr("天数", "Days")}</th>
                </tr></thead>
                <tbody>
                    {weekdays.into_iter().map(|(w, mean, up, n)| view! { <tr>
                        <td>{day_names[w as usize]}</td>
                        <td>{format!("{:.3} %", mean * 100.0)}</td>
                        <td>{format!("{:.1} %", up * 100.0)}</td>
                        <td>{n}</td>
                    </tr> }).collect_view()}
                </tbody>
            </table>
            <h2>{lang.tr("日收益分布", "Daily returns")}</h2>
            <EChart id="bt-histogram" option=Signal::derive(move || hist.clone())/>
            {factors.map(|f| view! {
                <h2>{lang.tr("因子相关性", "Factor correlations")}</h2>
                <EChart id="bt-factors" option=Signal::derive(move || f.clone())/>
            })}
            <h2>{lang.tr("成交", "Trades")}</h2>
            <table class="data-table" id="bt-trades">
                <thead><tr>
                    <th>{lang.tr("日期", "Date")}</th><th>{lang.tr("代码", "Symbol")}</th>
                    <th>{lang.tr("方向", "Side")}</th><th>{lang.tr("股数", "Shares")}</th>
                    <th>{lang.tr("价格", "Price")}</th><th>{lang.tr("费用", "Fees")}</th>
                </tr></thead>
                <tbody>
                    {fills.into_iter().map(|f| {
                        let side = match f.side { Side::Buy => lang.tr("买入", "buy"), Side::Sell => lang.tr("卖出", "sell") };
                        view! { <tr>
                            <td>{f.day.to_string()}</td><td>{f.symbol.to_string()}</td><td>{side}</td>
                            <td>{format!("{:.0}", f.shares)}</td><td>{format!("{:.3}", f.price)}</td>
                            <td>{format!("{:.2}", f.fees.total())}</td>
                        </tr> }
                    }).collect_view()}
                </tbody>
            </table>
            {(more > 0).then(|| view! { <p class="hint">{format!("… {more} {}", lang.tr("笔未列出（见 JSON）", "more fills in the JSON"))}</p> })}
            <script type="application/json" id="bt-result">{json}</script>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kxian_shared::api::SeriesSummary;
    use kxian_shared::domain::{Board, Exchange, InstrumentKind};

    fn summary(code: &str, board: Board) -> SymbolSummary {
        SymbolSummary {
            symbol: code.parse().unwrap(),
            name: None,
            exchange: Exchange::Sse,
            kind: InstrumentKind::Index,
            board,
            series: vec![SeriesSummary {
                frequency: Frequency::Daily,
                adjustment: Adjustment::None,
                bars: 10,
                first: None,
                last: None,
                source: "test".into(),
            }],
        }
    }

    #[test]
    fn an_expression_error_points_at_its_column() {
        let bad = EXAMPLES[0]
            .3
            .replace("rank(-delta($close, 20)", "rank(-delta($close, )");
        let e = config::parse(&bad).unwrap_err();
        let (expr, column, what) = expression_error(&e.message).unwrap();
        assert!(expr.starts_with("rank(-delta($close, )"), "{expr}");
        assert_eq!(column, 21, "{}", e.message); // the `)` where the length should be
        assert!(what.contains("window length"), "{what}");
        assert!(expression_error("universe: `from` is after `to`").is_none());
    }

    #[test]
    fn every_example_parses_and_a_set_can_be_picked_into_it() {
        for (id, _, _, file) in EXAMPLES {
            let c = config::parse(file).unwrap_or_else(|e| panic!("{id}: {}", e.message));
            assert_eq!(c.universe.symbols.len(), 3, "{id}: the embedded stocks");
        }
        let kronos = EXAMPLES[1].3;
        let picked = with_prediction_set(kronos, 42);
        assert!(picked.contains("\npredictions = 42\n"), "{picked}");
        assert!(!picked.contains("embedded-monthly\" }"), "{picked}");
        let c = config::parse(&picked).unwrap();
        let StrategyConfig::TopK(t) = c.strategy else {
            panic!("top_k")
        };
        assert_eq!(t.predictions, Some(PredictionSource::Id(42)));
        let plain = with_prediction_set(EXAMPLES[0].3, 7);
        assert!(plain.contains("[strategy]\npredictions = 7\n"), "{plain}");
        assert!(config::parse(&plain).is_ok());
        let err = pick_set(&PredictionSource::Id(3), &[]).unwrap_err();
        assert!(err.contains("set 3 is not on the server"), "{err}");
        assert!(
            pick_set(&PredictionSource::File("p.csv".into()), &[])
                .unwrap_err()
                .contains("stored sets")
        );
    }

    #[test]
    fn presets_parse_and_universes_resolve() {
        let rot = config::parse(ROTATION).unwrap();
        assert!(matches!(rot.strategy, StrategyConfig::MonthlyRotation(_)));
        let sma = config::parse(SMA).unwrap();
        assert!(sma.walk_forward.is_some());
        let list = [
            summary("000300.SH", Board::Index),
            summary("600000.SH", Board::Main),
        ];
        let by_board = UniverseConfig {
            board: Some("index".into()),
            ..UniverseConfig::default()
        };
        assert_eq!(
            select_symbols(&by_board, &list).unwrap(),
            vec!["000300.SH".parse::<Symbol>().unwrap()]
        );
        assert_eq!(rot.universe.symbols.len(), 3);
        let mut u = UniverseConfig {
            symbols: vec!["sh600000".into()],
            ..UniverseConfig::default()
        };
        assert_eq!(select_symbols(&u, &list).unwrap().len(), 1);
        u.symbols.push("000001.SZ".into());
        assert!(select_symbols(&u, &list).unwrap_err().contains("000001.SZ"));
        u.files = vec!["a.csv".into()];
        assert!(
            select_symbols(&u, &list)
                .unwrap_err()
                .contains("universe.files")
        );
        assert!(select_symbols(&UniverseConfig::default(), &list).is_err());
    }
}
