//! A job's live events in the page: an `EventSource` on `/api/jobs/{id}/events` (the server
//! replays past events first, so a reload shows the whole history), closed when the job
//! ends or the component goes away.

use leptos::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::Closure;

/// Calls `on_event` with every event's JSON until the job's `end` event.
pub fn watch_job(id: i64, on_event: impl Fn(serde_json::Value) + 'static) {
    let Ok(source) = web_sys::EventSource::new(&format!("/api/jobs/{id}/events")) else {
        return;
    };
    let closer = source.clone();
    let handler =
        Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |e: web_sys::MessageEvent| {
            let Some(text) = e.data().as_string() else {
                return;
            };
            let Ok(v) = serde_json::from_str::<serde_json::Value>(&text) else {
                return;
            };
            let end = v["event"] == "end";
            on_event(v);
            if end {
                closer.close();
            }
        });
    source.set_onmessage(Some(handler.as_ref().unchecked_ref()));
    let kept = StoredValue::new_local(Some((source, handler)));
    on_cleanup(move || {
        if let Some(Some((s, _))) = kept.try_update_value(Option::take) {
            s.close();
        }
    });
}
