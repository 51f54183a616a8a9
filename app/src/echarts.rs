//! The ECharts global (`echarts.min.js`, loaded by a `<script>` in `index.html`), bound by hand.
//!
//! Every chart is built as option JSON (`crate::charts`) and handed to ECharts here: one
//! instance per chart element, `setOption` on updates, `dispose` on cleanup. A Rust chart
//! builder (charming) was dropped: half of each option had to be patched as JSON anyway, and
//! it cost compile time and bundle size for no checking the tests do not already do. The instance stays reachable for tests through
//! `echarts.getInstanceByDom(el)`.

use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    /// An ECharts instance.
    pub type ECharts;

    #[wasm_bindgen(js_namespace = echarts, js_name = init, catch)]
    fn init_js(el: &web_sys::Element) -> Result<ECharts, JsValue>;

    #[wasm_bindgen(method, js_name = setOption, catch)]
    fn set_option_js(this: &ECharts, option: &JsValue, opts: &JsValue) -> Result<(), JsValue>;

    /// Fits the chart to its element after a layout change.
    #[wasm_bindgen(method)]
    pub fn resize(this: &ECharts);

    /// Frees the instance and its canvas.
    #[wasm_bindgen(method)]
    pub fn dispose(this: &ECharts);

    #[wasm_bindgen(method, js_name = getDataURL)]
    fn get_data_url_js(this: &ECharts, opts: &JsValue) -> String;

    #[wasm_bindgen(js_namespace = echarts, js_name = getInstanceByDom)]
    fn instance_by_dom(el: &web_sys::Element) -> JsValue;

    #[wasm_bindgen(method, js_name = isDisposed)]
    pub fn is_disposed(this: &ECharts) -> bool;

    /// Any action, e.g. `{type: 'showTip', seriesIndex: 0, dataIndex: 5}`.
    #[wasm_bindgen(method, js_name = dispatchAction)]
    pub fn dispatch_action(this: &ECharts, action: &JsValue);
}

/// Why a chart could not be drawn, as text for the error panel.
fn describe(e: JsValue) -> String {
    e.as_string()
        .or_else(|| {
            js_sys::Reflect::get(&e, &"message".into())
                .ok()
                .and_then(|m| m.as_string())
        })
        .unwrap_or_else(|| format!("{e:?}"))
}

impl ECharts {
    /// `echarts.init(el)`; fails when `echarts.min.js` did not load.
    pub fn init(el: &web_sys::Element) -> Result<ECharts, String> {
        init_js(el).map_err(|e| format!("ECharts is not available: {}", describe(e)))
    }

    /// `setOption(option, {notMerge})`.
    pub fn set_option(&self, option: &JsValue, not_merge: bool) -> Result<(), String> {
        let opts = js_sys::Object::new();
        let _ = js_sys::Reflect::set(&opts, &"notMerge".into(), &not_merge.into());
        self.set_option_js(option, &opts).map_err(describe)
    }

    /// The chart as a PNG `data:` URL at twice the screen resolution, on white.
    pub fn png_data_url(&self) -> String {
        let opts = js_sys::Object::new();
        let _ = js_sys::Reflect::set(&opts, &"type".into(), &"png".into());
        let _ = js_sys::Reflect::set(&opts, &"pixelRatio".into(), &2.into());
        let _ = js_sys::Reflect::set(&opts, &"backgroundColor".into(), &"#ffffff".into());
        self.get_data_url_js(&opts)
    }

    /// The instance mounted on `el`, if any.
    pub fn of(el: &web_sys::Element) -> Option<ECharts> {
        let v = instance_by_dom(el);
        (!v.is_undefined() && !v.is_null()).then(|| v.unchecked_into())
    }

    /// Sets the zoom window of every dataZoom to bars `start..=end` (category indexes).
    pub fn zoom_to(&self, start: usize, end: usize) {
        let action = js_sys::Object::new();
        let set = |k: &str, v: JsValue| {
            let _ = js_sys::Reflect::set(&action, &k.into(), &v);
        };
        set("type", "dataZoom".into());
        set("startValue", (start as f64).into());
        set("endValue", (end as f64).into());
        self.dispatch_action(&action);
    }
}
