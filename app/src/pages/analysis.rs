//! `/analysis`: the market regime of an index over its history (the current one on top, each
//! regime's share, the latest periods) and the style buckets of the stored stocks, worked out
//! in the browser by the same code as `kxian-trainer analyze`.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::api;
use crate::components::error::{ErrorPanel, Loading};
use crate::i18n::{Lang, use_i18n};
use kxian_shared::analysis::regime::{self, Regime, RegimeReport};
use kxian_shared::analysis::styles::{self, Buckets};
use kxian_shared::analysis::unavailable;
use kxian_shared::api::ApiError;
use kxian_shared::{Adjustment, Bar, Frequency, InstrumentKind};
use leptos::prelude::*;

/// The index whose regime the page reports.
const INDEX: &str = "000300.SH";
/// Stocks read for the style buckets, at most.
const STOCKS: u32 = 200;

/// The bucket rules in Chinese, from the library's numbers (it states them in English).
fn volatility_zh() -> String {
    format!(
        "最近{}个交易日日收益的年化波动率：不高于股票池下三分位为 low，高于上三分位为 high，其余为 medium。",
        styles::VOL_BARS
    )
}

fn momentum_zh() -> String {
    format!(
        "按{}日收益 r20 与{}日收益 r60：r20 与 r60 方向相反且幅度超过 {:.0} % 为 reversal；否则 r60 > {:.0} % 为 strong，r60 > {:.0} % 为 positive，r60 < {:.0} % 为 negative，其余为 neutral。",
        styles::SHORT_BARS,
        styles::LONG_BARS,
        styles::REVERSAL * 100.0,
        styles::STRONG * 100.0,
        styles::POSITIVE * 100.0,
        styles::NEGATIVE * 100.0
    )
}

/// What the page shows, worked out once its bars are in.
struct Analysis {
    regime: RegimeReport,
    volatility: Buckets,
    momentum: Buckets,
    /// Sectors, size and value / growth, when the server holds reference data.
    industry: Option<Buckets>,
    size: Option<Buckets>,
    value_growth: Option<Buckets>,
    stocks: usize,
}

async fn analyse() -> Result<Analysis, ApiError> {
    let index = api::bars_between(INDEX, Frequency::Daily, Adjustment::None, None, None).await?;
    let report = regime::report(INDEX, &index.bars);
    let at = index.bars.last().map(|b| b.ts.date());
    let list = api::symbols(String::new(), STOCKS).await?;
    let mut stocks: BTreeMap<String, Vec<Bar>> = BTreeMap::new();
    for s in list.symbols.iter().filter(|s| {
        s.kind == InstrumentKind::Stock
            && s.series
                .iter()
                .any(|x| x.frequency == Frequency::Daily && x.adjustment == Adjustment::None)
    }) {
        // The last ~100 trading days are all the buckets read.
        let from = at.map(|d| d - chrono::Days::new(160));
        let bars = api::bars_between(
            &s.symbol.to_string(),
            Frequency::Daily,
            Adjustment::None,
            from,
            at,
        )
        .await?;
        stocks.insert(s.symbol.to_string(), bars.bars);
    }
    let at = at.unwrap_or_default();
    let names: Vec<String> = stocks.keys().cloned().collect();
    let reference = api::reference(None, names.clone()).await?;
    use kxian_shared::analysis::reference_styles as rs;
    let has_shares = !reference.shares.is_empty();
    Ok(Analysis {
        volatility: styles::volatility(&stocks, at),
        momentum: styles::momentum(&stocks, at),
        industry: (!reference.industries.is_empty()).then(|| rs::industry(&names, &reference, at)),
        size: has_shares.then(|| rs::size(&stocks, &reference, at)),
        value_growth: has_shares.then(|| rs::value_growth(&names, &reference, at)),
        stocks: stocks.len(),
        regime: report,
    })
}

#[component]
pub fn AnalysisPage() -> impl IntoView {
    let i18n = use_i18n();
    Effect::new(move |_| {
        super::set_title(&format!(
            "{} · Kxian",
            i18n.tr("市场分析", "Market analysis")
        ))
    });
    let data = LocalResource::new(|| async { analyse().await.map(Arc::new) });
    let body = move || match data.get() {
        None => view! { <Loading/> }.into_any(),
        Some(Err(e)) => view! { <ErrorPanel error=e/> }.into_any(),
        Some(Ok(a)) => view! { <AnalysisView a=a/> }.into_any(),
    };
    view! {
        <div class="page analysis-page">
            <section class="panel">
                <h1>{move || i18n.tr("市场分析", "Market analysis")}</h1>
                {body}
            </section>
        </div>
    }
}

fn pct(x: f64, decimals: usize) -> String {
    if x.is_finite() {
        format!("{:+.*} %", decimals, x * 100.0)
    } else {
        "—".into()
    }
}

#[component]
fn AnalysisView(a: Arc<Analysis>) -> impl IntoView {
    let i18n = use_i18n();
    let name = move |r: Regime| i18n.tr(r.zh(), r.as_str());
    let g = &a.regime;
    let current = g.current;
    let as_of = g.as_of.map(|d| d.to_string()).unwrap_or_default();
    let shares = g
        .shares
        .iter()
        .map(|s| {
            let (r, days, share, next) = (s.regime, s.days, s.share, s.mean_next_day_return);
            view! {
                <tr data-regime=r.as_str()>
                    <td><span class="swatch" style=format!("background:{}", crate::charts::regime::colour(r))></span>" "{move || name(r)}</td>
                    <td class="num">{days}</td>
                    <td class="num">{format!("{:.1} %", share * 100.0)}</td>
                    <td class="num">{pct(next, 3)}</td>
                </tr>
            }
        })
        .collect_view();
    let shown = g.periods.len().min(12);
    let periods = g.periods[g.periods.len() - shown..]
        .iter()
        .rev()
        .map(|p| {
            let (r, from, to, days, ret) = (p.regime, p.from, p.to, p.days, p.index_return);
            view! {
                <tr data-regime=r.as_str()>
                    <td>{from.to_string()}</td>
                    <td>{to.to_string()}</td>
                    <td><span class="swatch" style=format!("background:{}", crate::charts::regime::colour(r))></span>" "{move || name(r)}</td>
                    <td class="num">{days}</td>
                    <td class="num">{pct(ret, 1)}</td>
                </tr>
            }
        })
        .collect_view();
    let buckets = |id: &'static str, b: &Buckets, zh: String| {
        let rows = b
            .buckets
            .iter()
            .map(|x| {
                view! {
                    <tr data-bucket=x.name.clone()>
                        <td>{x.name.clone()}</td>
                        <td class="num">{x.symbols.len()}</td>
                        <td>{x.symbols.join(" ")}</td>
                    </tr>
                }
            })
            .collect_view();
        view! {
            <table class="table" id=id>
                <tbody>{rows}</tbody>
            </table>
            <p class="hint">{
                let en = b.rule.clone();
                move || match i18n.lang() {
                    Lang::Zh => zh.clone(),
                    Lang::En => en.clone(),
                }
            }</p>
        }
    };
    let present = |what: &str| match what {
        "industry" => a.industry.is_some(),
        "size" => a.size.is_some(),
        "value_growth" => a.value_growth.is_some(),
        _ => false,
    };
    let missing: Vec<_> = unavailable()
        .into_iter()
        .filter(|u| !present(&u.what))
        .collect();
    let missing = (!missing.is_empty()).then(|| {
        let items = missing
            .into_iter()
            .map(|u| view! { <li>{u.what}": "{u.needs}</li> })
            .collect_view();
        view! {
            <h3>{move || i18n.tr("需要参考数据（数据页下载）", "Needs reference data (download it on the Data page)")}</h3>
            <ul class="hint" id="analysis-missing">{items}</ul>
        }
    });
    let reference_styles = [
        ("analysis-industry", ("行业", "Sectors"), a.industry.as_ref(), "当天有效的行业所属板块（Tushare 行业或申万一级，按 shared/src/reference/sectors.csv 归入 11 个板块）。"),
        ("analysis-size", ("规模", "Size"), a.size.as_ref(), "当天流通市值（收盘价 × 当时有效的流通股本）：股票池最大的五分之一为 mega，其后为 large、mid、small、micro。"),
        ("analysis-value", ("价值 / 成长", "Value / growth"), a.value_growth.as_ref(), "当天有效的市净率：股票池最低的三分之一为 value，最高的三分之一为 growth，其余为 blend。"),
    ]
    .into_iter()
    .filter_map(|(id, (zh, en), b, rule_zh)| {
        let b = b?;
        Some(view! {
            <h3>{move || i18n.tr(zh, en)}</h3>
            {buckets(id, b, rule_zh.to_string())}
        })
    })
    .collect_view();
    let periods_total = g.periods.len();
    let stocks = a.stocks;
    view! {
        <p class="regime-now" id="analysis-regime">
            {move || i18n.tr("沪深300 当前市场状态：", "CSI 300 market regime now: ")}
            <strong id="analysis-current" data-regime=current.map(Regime::as_str)>
                {move || current.map_or(i18n.tr("历史不足", "not enough history"), name)}
            </strong>
            " (" {as_of} ")"
        </p>
        <p class="hint">{move || crate::charts::regime::rule(i18n.lang())}</p>
        <h2>{move || i18n.tr("各状态占比与次日指数收益", "Share of days, and the index's next-day return")}</h2>
        <table class="table" id="analysis-shares">
            <thead><tr>
                <th>{move || i18n.tr("状态", "Regime")}</th>
                <th>{move || i18n.tr("天数", "Days")}</th>
                <th>{move || i18n.tr("占比", "Share")}</th>
                <th>{move || i18n.tr("次日平均收益", "Mean next-day return")}</th>
            </tr></thead>
            <tbody>{shares}</tbody>
        </table>
        <h2>{move || match i18n.lang() {
            Lang::Zh => format!("最近的状态区间（共 {periods_total} 段）"),
            Lang::En => format!("Latest periods ({periods_total} in all)"),
        }}</h2>
        <table class="table" id="analysis-periods">
            <thead><tr>
                <th>{move || i18n.tr("起", "From")}</th>
                <th>{move || i18n.tr("止", "To")}</th>
                <th>{move || i18n.tr("状态", "Regime")}</th>
                <th>{move || i18n.tr("天数", "Days")}</th>
                <th>{move || i18n.tr("指数收益", "Index return")}</th>
            </tr></thead>
            <tbody>{periods}</tbody>
        </table>
        <h2>{move || match i18n.lang() {
            Lang::Zh => format!("{stocks} 只股票的风格"),
            Lang::En => format!("Styles of {stocks} stocks"),
        }}</h2>
        <h3>{move || i18n.tr("波动率", "Volatility")}</h3>
        {buckets("analysis-volatility", &a.volatility, volatility_zh())}
        <h3>{move || i18n.tr("动量", "Momentum")}</h3>
        {buckets("analysis-momentum", &a.momentum, momentum_zh())}
        {reference_styles}
        {missing}
    }
}
