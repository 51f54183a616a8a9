//! `/symbols/:symbol?freq=daily&adj=none&range=1Y`: one symbol's K-line chart.
//!
//! Everything on the page is derived from the URL, so any state can be shared as a link:
//! the frequency tabs and the range presets navigate (replacing the history entry for
//! presets), and the bars resource refetches only when what it loads changes.

use crate::api;
use crate::charts::ranges::{RangePreset, fetch_limit};
use crate::components::error::{ErrorPanel, Loading};
use crate::components::kline_chart::{KlineChart, RegimeDays, StripProbs};
use crate::format;
use crate::i18n::use_i18n;
use crate::pages::{chart_href, frequency_rank};
use kxian_shared::analysis::regime::{self, Regime};
use kxian_shared::api::{BarsResponse, SymbolSummary};
use kxian_shared::{Adjustment, Frequency, InstrumentKind};
use leptos::prelude::*;
use leptos_router::NavigateOptions;
use leptos_router::components::A;
use leptos_router::hooks::{use_navigate, use_params_map, use_query_map};
use std::sync::Arc;

/// What the bars resource loads; it refetches only when this changes.
#[derive(Debug, Clone, PartialEq)]
struct BarsRequest {
    symbol: String,
    frequency: Frequency,
    adjustment: Adjustment,
    limit: u32,
}

/// The series shown when the URL names none: daily unadjusted if stored, else the first
/// series in display order.
fn default_series(summary: &SymbolSummary) -> Option<(Frequency, Adjustment)> {
    summary
        .series
        .iter()
        .map(|s| (s.frequency, s.adjustment))
        .min_by_key(|(f, a)| (frequency_rank(*f), *a))
}

#[component]
pub fn SymbolPage() -> impl IntoView {
    let i18n = use_i18n();
    let params = use_params_map();
    let query = use_query_map();
    let symbol = Memo::new(move |_| params.read().get("symbol").unwrap_or_default());
    let freq_param = Memo::new(move |_| {
        query
            .read()
            .get_str("freq")
            .and_then(|f| f.parse::<Frequency>().ok())
    });
    let adj_param = Memo::new(move |_| {
        query
            .read()
            .get_str("adj")
            .and_then(|a| a.parse::<Adjustment>().ok())
    });
    let range_param = Memo::new(move |_| query.read().get("range"));

    let summary = LocalResource::new(move || api::symbol(&symbol.get()));

    // The series to show: the URL's, else the default from the summary once it is loaded.
    let series = Memo::new(move |_| -> Option<(Frequency, Adjustment)> {
        match freq_param.get() {
            Some(f) => Some((f, adj_param.get().unwrap_or_default())),
            None => summary.get()?.ok().as_ref().and_then(default_series),
        }
    });
    let preset = Memo::new(move |_| {
        let frequency = series.get().map_or(Frequency::Daily, |s| s.0);
        RangePreset::resolve(range_param.get().as_deref(), frequency)
    });
    let request = Memo::new(move |_| {
        let (frequency, adjustment) = series.get()?;
        Some(BarsRequest {
            symbol: symbol.get(),
            frequency,
            adjustment,
            limit: fetch_limit(frequency, preset.get()),
        })
    });
    let bars = LocalResource::new(move || {
        let req = request.get();
        let fut = req
            .as_ref()
            .map(|r| api::bars(&r.symbol, r.frequency, r.adjustment, r.limit));
        async move {
            match (req, fut) {
                (Some(req), Some(fut)) => Some((req, fut.await.map(Arc::new))),
                _ => None,
            }
        }
    });

    Effect::new(move |_| {
        let name = summary
            .get()
            .and_then(Result::ok)
            .and_then(|s| s.name)
            .unwrap_or_default();
        super::set_title(&format!("{} {} · Kxian", symbol.get(), name));
    });

    let navigate = use_navigate();
    let choose_preset = move |p: RangePreset| {
        let Some((frequency, adjustment)) = series.get_untracked() else {
            return;
        };
        let href = format!(
            "{}&range={}",
            chart_href(&symbol.get_untracked(), frequency, adjustment),
            p.code()
        );
        navigate(
            &href,
            NavigateOptions {
                replace: true,
                scroll: false,
                ..Default::default()
            },
        );
    };

    let heading = move || {
        let code = symbol.get();
        match summary.get() {
            Some(Ok(s)) => {
                let (board, kind) = (s.board, s.kind);
                view! {
                    <div class="symbol-title">
                        <h1><span class="code" id="symbol-code">{s.symbol.to_string()}</span>
                            " "<span class="name" id="symbol-name">{s.name.unwrap_or_default()}</span></h1>
                        <span class="badge">{move || i18n.lang().board(board)}</span>
                        <span class="badge badge-muted">{move || i18n.lang().kind(kind)}</span>
                    </div>
                }
                .into_any()
            }
            _ => view! { <div class="symbol-title"><h1><span class="code" id="symbol-code">{code}</span></h1></div> }.into_any(),
        }
    };

    // Frequency and adjustment tabs, from the series the symbol has.
    let tabs = move || {
        let Some(Ok(s)) = summary.get() else {
            return ().into_any();
        };
        let code = s.symbol.to_string();
        let current = series.get();
        let mut freqs: Vec<Frequency> = s.series.iter().map(|r| r.frequency).collect();
        freqs.sort_by_key(|f| frequency_rank(*f));
        freqs.dedup();
        let freq_tabs = freqs
            .into_iter()
            .map(|f| {
                let adj = current
                    .filter(|c| c.0 == f)
                    .map(|c| c.1)
                    .or_else(|| {
                        s.series
                            .iter()
                            .filter(|r| r.frequency == f)
                            .map(|r| r.adjustment)
                            .min()
                    })
                    .unwrap_or_default();
                let active = current.is_some_and(|c| c.0 == f);
                view! {
                    <A href=chart_href(&code, f, adj) attr:class=if active { "tab active" } else { "tab" }
                        attr:data-freq=f.as_str()>
                        {move || i18n.lang().frequency(f)}
                    </A>
                }
            })
            .collect_view();
        let adjs: Vec<Adjustment> = current
            .map(|(f, _)| {
                s.series
                    .iter()
                    .filter(|r| r.frequency == f)
                    .map(|r| r.adjustment)
                    .collect()
            })
            .unwrap_or_default();
        let adj_tabs = (adjs.len() > 1).then(|| {
            let (f, a) = current.unwrap_or((Frequency::Daily, Adjustment::None));
            let tabs = adjs
                .into_iter()
                .map(|x| {
                    view! {
                        <A href=chart_href(&code, f, x) attr:class=if x == a { "tab active" } else { "tab" }
                            attr:data-adj=x.as_str()>
                            {move || i18n.lang().adjustment(x)}
                        </A>
                    }
                })
                .collect_view();
            view! { <div class="tabs" id="adj-tabs">{tabs}</div> }
        });
        view! {
            <div class="tabs" id="freq-tabs">{freq_tabs}</div>
            {adj_tabs}
        }
        .into_any()
    };

    let presets = move || {
        let frequency = series.get().map_or(Frequency::Daily, |s| s.0);
        let current = preset.get();
        let choose = choose_preset.clone();
        RangePreset::for_frequency(frequency)
            .iter()
            .map(|&p| {
                let choose = choose.clone();
                view! {
                    <button
                        type="button"
                        id=format!("range-{}", p.code())
                        class=if p == current { "preset active" } else { "preset" }
                        data-range=p.code()
                        on:click=move |_| choose(p)
                    >
                        {move || p.label(i18n.lang())}
                    </button>
                }
            })
            .collect_view()
    };

    let body = move || {
        if let Some(Err(e)) = summary.get() {
            let title = Signal::derive(move || i18n.tr("未找到该证券", "Unknown symbol"));
            let title = (e.error == "not_found").then_some(title);
            return view! {
                <ErrorPanel error=e title=title.unwrap_or_else(|| Signal::derive(move || i18n.tr("出错了", "Something went wrong")))/>
                <p><A href="/">{move || i18n.tr("返回行情列表", "Back to the symbol list")}</A></p>
            }
            .into_any();
        }
        if let Some(Ok(s)) = summary.get()
            && s.series.is_empty()
        {
            return view! { <p class="empty">{move || i18n.tr("该证券没有K线数据。", "This symbol has no K-line data.")}</p> }.into_any();
        }
        match bars.get().flatten() {
            None => view! { <Loading/> }.into_any(),
            Some((_, Err(e))) => view! { <ErrorPanel error=e/> }.into_any(),
            Some((loaded, Ok(data))) => {
                let stale = move || request.get().as_ref() != Some(&loaded);
                let note = data.truncated.then(|| {
                    let n = data.bars.len();
                    view! { <p class="note">{move || i18n.lang().truncated(n)}</p> }
                });
                // Some sources carry no volume (e.g. index minute bars): say so rather than
                // leave an empty pane unexplained.
                let no_volume = (!data.bars.is_empty() && data.bars.iter().all(|b| b.volume == 0.0))
                    .then(|| view! { <p class="note" id="no-volume">{move || i18n.lang().no_volume()}</p> });
                let strip = RwSignal::new(None::<StripProbs>);
                let strip_control = (data.frequency == Frequency::Daily)
                    .then(|| view! { <StripControl data=Arc::clone(&data) strip=strip/> });
                // An index's daily chart shows the market regime behind its candles.
                let index = matches!(summary.get_untracked(), Some(Ok(s)) if s.kind == InstrumentKind::Index);
                let regime: Option<RegimeDays> = (index && data.frequency == Frequency::Daily)
                    .then(|| Arc::new(regime::daily(&data.bars)));
                let regime_note = regime
                    .clone()
                    .map(|days| view! { <RegimeNote data=Arc::clone(&data) days=days/> });
                let chart = match regime {
                    Some(days) => view! {
                        <KlineChart data=Arc::clone(&data) preset=preset.into() strip=strip.into() regime=days/>
                    }
                    .into_any(),
                    None => view! {
                        <KlineChart data=Arc::clone(&data) preset=preset.into() strip=strip.into()/>
                    }
                    .into_any(),
                };
                view! {
                    <LatestBar data=Arc::clone(&data)/>
                    {strip_control}
                    <div class="chart-wrap" class:stale=stale>{chart}</div>
                    {regime_note}
                    {note}
                    {no_volume}
                }
                .into_any()
            }
        }
    };

    view! {
        <div class="page symbol-page">
            <section class="panel">
                <div class="symbol-head">
                    {heading}
                    <div class="toolbar">
                        {tabs}
                        {move || {
                            let (f, _) = series.get().unwrap_or((Frequency::Daily, Adjustment::None));
                            let href = format!("/forecast?symbol={}&freq={}", symbol.get(), f.as_str());
                            view! {
                                <A href=href attr:class="btn btn-primary" attr:id="forecast-link">
                                    {move || i18n.tr("预测", "Forecast")}
                                </A>
                            }
                        }}
                        <div class="presets" id="range-presets">{presets}</div>
                    </div>
                </div>
                {body}
            </section>
        </div>
    }
}

/// The latest bar above the chart: date, close, change, O/H/L, volume, bar count.
/// The regime now, the colour of each, and the rule.
#[component]
fn RegimeNote(data: Arc<BarsResponse>, days: RegimeDays) -> impl IntoView {
    let i18n = use_i18n();
    let last = days.iter().rposition(Option::is_some);
    let current = last.and_then(|i| days[i]);
    let as_of = last.map(|i| data.bars[i].ts.date().to_string());
    let key = Regime::ALL
        .iter()
        .map(|&r| {
            view! {
                <span class="regime-key" data-regime=r.as_str()>
                    <span class="swatch" style=format!("background:{}", crate::charts::regime::colour(r))></span>
                    {move || i18n.tr(r.zh(), r.as_str())}
                </span>
            }
        })
        .collect_view();
    view! {
        <p class="note regime-note" id="regime">
            {move || i18n.tr("市场状态：", "Market regime: ")}
            <strong id="regime-current" data-regime=current.map(Regime::as_str)>
                {move || current.map_or(i18n.tr("历史不足", "not enough history"), |r| i18n.tr(r.zh(), r.as_str()))}
            </strong>
            {as_of.map(|d| view! { <span class="regime-as-of">{move || i18n.tr("（截至 ", " (as of ")}{d.clone()}{move || i18n.tr("）", ")")}</span> })}
            " "
            {key}
            <span class="regime-rule">{move || crate::charts::regime::rule(i18n.lang())}</span>
        </p>
    }
}

#[component]
fn LatestBar(data: Arc<BarsResponse>) -> impl IntoView {
    let i18n = use_i18n();
    let bars = &data.bars;
    let Some(last) = bars.last().copied() else {
        return view! { <div class="latest" id="latest"><span id="bar-count">"0"</span></div> }
            .into_any();
    };
    let change = bars
        .len()
        .checked_sub(2)
        .map(|i| bars[i].close)
        .filter(|p| *p > 0.0)
        .map(|prev| (last.close / prev - 1.0) * 100.0);
    let dir = match change {
        Some(c) if c > 0.0 => "up",
        Some(c) if c < 0.0 => "down",
        _ => "flat",
    };
    let n = bars.len();
    let frequency = data.frequency;
    view! {
        <div class="latest" id="latest">
            <div class="latest-main">
                <span class="latest-date" id="latest-date">{format::bar_time(last.ts, frequency)}</span>
                <span class="latest-label">{move || i18n.tr("收盘", "Close")}</span>
                <span class=format!("latest-close {dir}") id="latest-close">{format::price(last.close)}</span>
                <span class=format!("latest-change {dir}") id="latest-change">
                    {change.map(format::percent).unwrap_or_default()}
                </span>
            </div>
            <dl class="latest-stats">
                <div><dt>{move || i18n.tr("开盘", "Open")}</dt><dd>{format::price(last.open)}</dd></div>
                <div><dt>{move || i18n.tr("最高", "High")}</dt><dd>{format::price(last.high)}</dd></div>
                <div><dt>{move || i18n.tr("最低", "Low")}</dt><dd>{format::price(last.low)}</dd></div>
                <div>
                    <dt>{move || i18n.tr("成交量", "Volume")}</dt>
                    <dd id="latest-volume" data-value=format::plain(last.volume)>
                        {move || format::plain_with_compact(last.volume, i18n.lang())}
                    </dd>
                </div>
                <div>
                    <dt>{move || i18n.tr("K线数", "Bars")}</dt>
                    <dd id="bar-count">{n}</dd>
                </div>
            </dl>
        </div>
    }
    .into_any()
}

/// Bars the strip scores: about a year of trading days.
const STRIP_BARS: usize = 250;

/// "P(up/down) strip": runs a classifier the server serves (its default unless the user picks
/// another) on the last year of this daily series in the browser and hands the probabilities
/// to the chart.
#[component]
fn StripControl(data: Arc<BarsResponse>, strip: RwSignal<Option<StripProbs>>) -> impl IntoView {
    let i18n = use_i18n();
    let status = RwSignal::new(None::<Result<(String, [f64; 3]), String>>);
    let busy = RwSignal::new(false);
    let classifiers = LocalResource::new(api::models);
    // Empty: the server's default.
    let chosen = RwSignal::new(String::new());
    let run = move |_| {
        if busy.get_untracked() {
            return;
        }
        if strip.get_untracked().is_some() {
            strip.set(None);
            status.set(None);
            return;
        }
        busy.set(true);
        let data = Arc::clone(&data);
        leptos::task::spawn_local(async move {
            let outcome = strip_for(&data, &chosen.get_untracked()).await;
            busy.set(false);
            match outcome {
                Ok((probs, text, last)) => {
                    strip.set(Some(Arc::new(probs)));
                    status.set(Some(Ok((text, last))));
                }
                Err(e) => status.set(Some(Err(e))),
            }
        });
    };
    view! {
        <div class="strip-control">
            {move || classifiers.get().and_then(Result::ok).filter(|l| {
                l.classifiers.len() + l.zoo.iter().filter(|z| crate::inference::zoo::runs_here(z)).count() > 1
            }).map(|l| view! {
                <select id="strip-model" title=i18n.tr("分类器", "Classifier")
                    on:change=move |ev| {
                        chosen.set(event_target_value(&ev));
                        // Another model's strip is another strip: the shown one goes.
                        strip.set(None);
                        status.set(None);
                    }>
                    {l.classifiers.into_iter().map(|c| {
                        let value = if c.default { String::new() } else { c.id.clone() };
                        view! { <option value=value>{c.id}</option> }
                    }).collect_view()}
                    {l.zoo.into_iter().filter(crate::inference::zoo::runs_here).map(|z| {
                        let label = format!("{} ({} · {})", z.id, z.card.backbone, z.card.target.join(" + "));
                        view! { <option value=format!("{ZOO_PREFIX}{}", z.id)>{label}</option> }
                    }).collect_view()}
                </select>
            })}
            <button type="button" class="btn" id="strip-run" disabled=move || busy.get() on:click=run>
                {move || if strip.get().is_some() {
                    i18n.tr("隐藏涨跌概率", "Hide up/down probabilities")
                } else {
                    i18n.tr("涨跌概率（分类器）", "Up/down probabilities (classifier)")
                }}
            </button>
            {move || match status.get() {
                Some(Ok((text, p))) => view! {
                    <span class="strip-status" id="strip-status" data-up=format!("{:.6}", p[0])
                        data-down=format!("{:.6}", p[1]) data-flat=format!("{:.6}", p[2])>{text}</span>
                }.into_any(),
                Some(Err(e)) => view! { <span class="strip-status error-message" id="strip-error">{e}</span> }.into_any(),
                None => busy.get().then(|| view! { <span class="strip-status">{i18n.tr("计算中…", "Scoring…")}</span> }).into_any(),
            }}
        </div>
    }
}

/// A strip: each bar's P(up), P(down), P(flat) (`None` where not scored), its description
/// and the last scored day's three.
type Scored = (Vec<Option<[f64; 3]>>, String, [f64; 3]);

/// A choice of the strip's select that names a zoo model (`zoo:<id>`).
const ZOO_PREFIX: &str = "zoo:";

async fn strip_for(data: &BarsResponse, chosen: &str) -> Result<Scored, String> {
    let list = api::models().await.map_err(|e| e.to_string())?;
    let bars = &data.bars;
    if let Some(id) = chosen.strip_prefix(ZOO_PREFIX) {
        let entry = list
            .zoo
            .iter()
            .find(|z| z.id == id)
            .ok_or_else(|| format!("the server no longer offers {id}"))?;
        // The regime rule reads the market's whole history, so the strip asks for all of it.
        let market = match &entry.market {
            Some(m) if *m != data.symbol.to_string() => Some(
                api::bars_between(m, Frequency::Daily, Adjustment::None, None, None)
                    .await
                    .map_err(|e| format!("market {m}: {e}"))?
                    .bars,
            ),
            Some(_) => Some(bars.clone()),
            None => None,
        };
        let z = crate::inference::zoo::classify(entry, bars, market.as_deref(), STRIP_BARS).await?;
        let describe = |last: [f64; 3], day: chrono::NaiveDate, scored: usize| {
            format!(
                "{}: P(up ≥{:.0}%) {:.1} %, P(down ≤{:.0}%) {:.1} %, P(flat) {:.1} % · {} days after {day} · {scored} bars",
                entry.id,
                z.up * 100.0,
                last[0] * 100.0,
                z.down * 100.0,
                last[1] * 100.0,
                last[2] * 100.0,
                z.horizon,
            )
        };
        return last_of(z.strip, bars, describe);
    }
    let entry = list
        .classifiers
        .iter()
        .find(|c| c.id == chosen)
        .or_else(|| list.classifiers.iter().find(|c| c.default))
        .or_else(|| list.classifiers.first())
        .cloned()
        .ok_or("the server offers no classifier")?;
    // The market's bars from the day before the first context on, so every scored day sees
    // the same market features as the trainer's.
    let market = match &entry.market {
        Some(m) if *m != data.symbol.to_string() => {
            let start = bars
                .len()
                .checked_sub(STRIP_BARS + 200)
                .map(|i| bars[i].ts.date());
            let r = api::bars_between(m, Frequency::Daily, Adjustment::None, start, None)
                .await
                .map_err(|e| format!("market {m}: {e}"))?;
            Some(r.bars)
        }
        Some(_) => Some(bars.clone()),
        None => None,
    };
    let s =
        crate::inference::classify::classify(&entry, bars, market.as_deref(), STRIP_BARS).await?;
    last_of(s, bars, |last, day, scored| {
        format!(
            "{}: P(up ≥3%) {:.1} %, P(down ≤−2%) {:.1} %, P(flat) {:.1} % · 3 days after {day} · {scored} bars",
            entry.id,
            last[0] * 100.0,
            last[1] * 100.0,
            last[2] * 100.0,
        )
    })
}

/// The strip's probabilities with its last scored day, described.
fn last_of(
    s: crate::inference::classify::Strip,
    bars: &[kxian_shared::Bar],
    describe: impl Fn([f64; 3], chrono::NaiveDate, usize) -> String,
) -> Result<Scored, String> {
    let (last_i, last) = s
        .probs
        .iter()
        .enumerate()
        .rev()
        .find_map(|(i, p)| p.map(|p| (i, p)))
        .ok_or_else(|| format!("the classifier needs more than {} bars", s.context))?;
    let scored = s.probs.iter().filter(|p| p.is_some()).count();
    let text = describe(last, bars[last_i].ts.date(), scored);
    Ok((s.probs, text, last))
}
