//! A chart element driven by an option signal: one ECharts instance for the component's life,
//! `setOption` (not merged) whenever the option changes, `resize` with the window, `dispose`
//! on cleanup. Options are plain JSON (no function values).

use crate::echarts::ECharts;
use leptos::html;
use leptos::prelude::*;

#[component]
pub fn EChart(
    /// The element id (tests and the PNG download find the chart by it).
    id: &'static str,
    option: Signal<serde_json::Value>,
) -> impl IntoView {
    let node = NodeRef::<html::Div>::new();
    let mounted = StoredValue::new_local(None::<ECharts>);
    let error = RwSignal::new(None::<String>);
    Effect::new(move |_| {
        let json = option.get().to_string();
        let Some(el) = node.get() else { return };
        let parsed = match js_sys::JSON::parse(&json) {
            Ok(v) => v,
            Err(e) => return error.set(Some(format!("{e:?}"))),
        };
        mounted.update_value(|m| {
            if m.is_none() {
                match ECharts::init(&el) {
                    Ok(c) => *m = Some(c),
                    Err(e) => return error.set(Some(e)),
                }
            }
            if let Some(c) = m
                && let Err(e) = c.set_option(&parsed, true)
            {
                error.set(Some(e));
            }
        });
    });
    let resize = window_event_listener(leptos::ev::resize, move |_| {
        mounted.try_with_value(|m| {
            if let Some(c) = m {
                c.resize();
            }
        });
    });
    on_cleanup(move || {
        resize.remove();
        mounted.try_update_value(|m| {
            if let Some(c) = m.take()
                && !c.is_disposed()
            {
                c.dispose();
            }
        });
    });
    view! {
        <div class="chart-box">
            <div id=id class="kline-chart forecast-chart" node_ref=node></div>
            {move || error.get().map(|e| view! { <p class="chart-error" role="alert">{e}</p> })}
        </div>
    }
}
