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
                    <span class="brand-name">{move || i18n.t().brand}</span>
                </A>
                <span class="tagline">{move || i18n.t().tagline}</span>
                <nav class="nav">
                    <A href="/" exact=true>{move || i18n.t().nav_symbols}</A>
                    <A href="/forecast" attr:id="nav-forecast">{move || i18n.t().nav_forecast}</A>
                    <A href="/backtest" attr:id="nav-backtest">{move || crate::components::forecast_view::tr(i18n.lang(), "回测", "Backtest")}</A>
                    <A href="/data" attr:id="nav-data">{move || crate::components::forecast_view::tr(i18n.lang(), "数据", "Data")}</A>
                    <A href="/training" attr:id="nav-training">{move || crate::components::forecast_view::tr(i18n.lang(), "训练", "Training")}</A>
                    <A href="/models" attr:id="nav-models">{move || crate::components::forecast_view::tr(i18n.lang(), "模型", "Models")}</A>
                </nav>
                <button
                    id="lang-switch"
                    class="lang-switch"
                    type="button"
                    data-lang=move || i18n.lang().code()
                    title=move || i18n.t().switch_to
                    on:click=move |_| i18n.set(i18n.lang().other())
                >
                    {move || i18n.t().switch_to}
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
            let t = i18n.t();
            format!(
                "v{} · {} {} · {} {}",
                h.version, h.symbols, t.footer_symbols, h.bars, t.footer_bars
            )
        })
    };
    view! {
        <footer class="footer">
            <span>"Kxian"</span>
            <span class="footer-stats">{stats}</span>
            <span class="footer-units">{move || i18n.t().units_note}</span>
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
