//! Any path the router does not know.

use crate::i18n::use_i18n;
use leptos::prelude::*;
use leptos_router::components::A;

#[component]
pub fn NotFound() -> impl IntoView {
    let i18n = use_i18n();
    Effect::new(move |_| {
        super::set_title(&format!(
            "{} · Kxian",
            i18n.tr("页面不存在", "Page not found")
        ))
    });
    view! {
        <section class="panel not-found" id="not-found">
            <h1>"404 · "{move || i18n.tr("页面不存在", "Page not found")}</h1>
            <p>{move || i18n.tr("这个地址没有对应的页面。", "There is no page at this address.")}</p>
            <p><A href="/">{move || i18n.tr("返回行情列表", "Back to the symbol list")}</A></p>
        </section>
    }
}
