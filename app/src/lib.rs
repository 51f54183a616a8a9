//! Kxian's browser app (Leptos CSR): the symbol list with file import at `/`, and the K-line
//! chart of one symbol at `/symbols/:symbol?freq=daily`, the in-browser forecast at
//! `/forecast`, backtests from a TOML config at `/backtest`, and shared forecasts at `/s/:id`.
//!
//! Built by `scripts/build-app.sh` (or `trunk build`) for `wasm32-unknown-unknown`; ECharts is
//! the global from `echarts.min.js` next to `index.html`. The pure parts (`charts`, `format`,
//! route helpers) are unit-tested natively.

pub mod api;
pub mod charts;
pub mod components;
pub mod echarts;
pub mod format;
pub mod i18n;
pub mod inference;
pub mod pages;

use components::layout::Layout;
use leptos::prelude::*;
use leptos_router::components::{Route, Router, Routes};
use leptos_router::path;
use pages::analysis::AnalysisPage;
use pages::backtest::BacktestPage;
use pages::forecast::ForecastPage;
use pages::jobs::{DataPage, MinePage, ModelsPage, PredictionsPage, TrainingPage};
use pages::not_found::NotFound;
use pages::share::SharePage;
use pages::symbol::SymbolPage;
use pages::symbols::SymbolsPage;

/// Bumped after every successful import, so views showing store-wide data (the footer's
/// counts) refetch.
#[derive(Debug, Clone, Copy)]
pub struct StoreVersion(pub RwSignal<usize>);

/// The route table.
#[component]
pub fn App() -> impl IntoView {
    i18n::provide_i18n();
    provide_context(StoreVersion(RwSignal::new(0)));
    view! {
        <Router>
            <Layout>
                <Routes fallback=|| view! { <NotFound/> }>
                    <Route path=path!("/") view=SymbolsPage/>
                    <Route path=path!("/symbols/:symbol") view=SymbolPage/>
                    <Route path=path!("/forecast") view=ForecastPage/>
                    <Route path=path!("/backtest") view=BacktestPage/>
                    <Route path=path!("/data") view=DataPage/>
                    <Route path=path!("/training") view=TrainingPage/>
                    <Route path=path!("/models") view=ModelsPage/>
                    <Route path=path!("/predictions") view=PredictionsPage/>
                    <Route path=path!("/analysis") view=AnalysisPage/>
                    <Route path=path!("/mine") view=MinePage/>
                    <Route path=path!("/s/:id") view=SharePage/>
                </Routes>
            </Layout>
        </Router>
    }
}
