//! Any path the router does not know.

use crate::i18n::use_i18n;
use leptos::prelude::*;
use leptos_router::components::A;

#[component]
pub fn NotFound() -> impl IntoView {
    let i18n = use_i18n();
    Effect::new(move |_| super::set_title(&format!("{} · Kxian", i18n.t().not_found_title)));
    view! {
        <section class="panel not-found" id="not-found">
            <h1>"404 · "{move || i18n.t().not_found_title}</h1>
            <p>{move || i18n.t().not_found_text}</p>
            <p><A href="/">{move || i18n.t().back_to_list}</A></p>
        </section>
    }
}
