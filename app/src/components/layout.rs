//! The page frame: dark header (brand, navigation, language switch), content, footer.

use crate::api;
use crate::i18n::use_i18n;
use leptos::prelude::*;
use leptos_router::components::A;

#[component]
pub fn Header() -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <header class="topbar">
            <div class="topbar-inner">
                <A href="/" attr:class="brand">
                    <span class="brand-mark">"K"</span>
                    <span class="brand-name">{move || i18n.tr("K线研究", "Kxian")}</span>
                </A>
                <span class="tagline">{move || i18n.tr("A股K线数据 · 本地离线", "A-share K-lines · offline")}</span>
                <nav class="nav">
                    <A href="/" exact=true>{move || i18n.tr("行情列表", "Symbols")}</A>
                    <A href="/forecast" attr:id="nav-forecast">{move || i18n.tr("预测", "Forecast")}</A>
                    <A href="/backtest" attr:id="nav-backtest">{move || i18n.tr("回测", "Backtest")}</A>
                    <A href="/data" attr:id="nav-data">{move || i18n.tr("数据", "Data")}</A>
                    <A href="/training" attr:id="nav-training">{move || i18n.tr("训练", "Training")}</A>
                    <A href="/models" attr:id="nav-models">{move || i18n.tr("模型", "Models")}</A>
                    <A href="/predictions" attr:id="nav-predictions">{move || i18n.tr("预测集", "Predictions")}</A>
                    <A href="/analysis" attr:id="nav-analysis">{move || i18n.tr("分析", "Analysis")}</A>
                    <A href="/mine" attr:id="nav-mine">{move || i18n.tr("挖掘", "Mining")}</A>
                </nav>
                <button
                    id="lang-switch"
                    class="lang-switch"
                    type="button"
                    data-lang=move || i18n.lang().code()
                    title=move || i18n.tr("English", "中文")
                    on:click=move |_| i18n.set(i18n.lang().other())
                >
                    {move || i18n.tr("English", "中文")}
                </button>
            </div>
        </header>
    }
}

#[component]
fn Footer() -> impl IntoView {
    let i18n = use_i18n();
    let store = expect_context::<crate::StoreVersion>().0;
    let health = LocalResource::new(move || {
        store.track();
        api::health()
    });
    let stats = move || {
        health.get().and_then(Result::ok).map(|h| {
            format!(
                "v{} · {} {} · {} {}",
                h.version,
                h.symbols,
                i18n.tr("个证券", "symbols"),
                h.bars,
                i18n.tr("根K线", "bars")
            )
        })
    };
    view! {
        <footer class="footer">
            <span>"Kxian"</span>
            <span class="footer-stats">{stats}</span>
            <span class="footer-units">{move || i18n.tr("价格：元；成交量：股；成交额：元", "Prices in CNY; volume in shares; amount in CNY")}</span>
        </footer>
    }
}

/// Header, the page, footer.
#[component]
pub fn Layout(children: Children) -> impl IntoView {
    view! {
        <Header/>
        <main class="content">{children()}</main>
        <Footer/>
    }
}
