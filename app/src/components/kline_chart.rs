//! The K-line chart element (`#kline-chart`): one ECharts instance for the component's life,
//! `setOption` when the data or the language changes, a `dataZoom` action when the range
//! preset changes, `resize` with the window, `dispose` on cleanup.

use crate::charts::kline::{self, KlineLabels};
use crate::charts::ranges::{RangePreset, window_start};
use crate::echarts::ECharts;
use crate::format;
use crate::i18n::{Lang, use_i18n};
use kxian_shared::api::BarsResponse;
use leptos::html;
use leptos::prelude::*;
use std::sync::Arc;
use wasm_bindgen::prelude::*;

/// A Rust function an ECharts option calls (a formatter).
type JsCallback = Closure<dyn Fn(JsValue) -> JsValue>;

/// A drawn chart and the Rust callbacks its option refers to; the callbacks must outlive
/// the option that uses them, so they are replaced only after the next `setOption`.
struct Mounted {
    chart: ECharts,
    _callbacks: Vec<JsCallback>,
}

/// `params` of an axis tooltip is an array of series points; the first has the bar index.
fn data_index(params: &JsValue) -> Option<usize> {
    let first = if js_sys::Array::is_array(params) {
        js_sys::Array::from(params).get(0)
    } else {
        params.clone()
    };
    js_sys::Reflect::get(&first, &"dataIndex".into())
        .ok()?
        .as_f64()
        .map(|i| i as usize)
}

/// Sets `root.a.b... = value`, creating missing objects on the way (`"1"` indexes arrays).
fn set_path(root: &JsValue, path: &[&str], value: &JsValue) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut node = root.clone();
    for key in parents {
        let child = match key.parse::<u32>() {
            Ok(i) => js_sys::Reflect::get_u32(&node, i),
            Err(_) => js_sys::Reflect::get(&node, &(*key).into()),
        }
        .unwrap_or(JsValue::UNDEFINED);
        node = if child.is_object() {
            child
        } else {
            let created: JsValue = js_sys::Object::new().into();
            if js_sys::Reflect::set(&node, &(*key).into(), &created).is_err() {
                return;
            }
            created
        };
    }
    let _ = js_sys::Reflect::set(&node, &(*last).into(), value);
}

/// Builds the option for `data`, attaches the Rust formatters, and returns both.
/// P(up), P(down), P(flat) per bar, from the classifier.
pub type StripProbs = Arc<Vec<Option<[f64; 3]>>>;

/// Each bar's market regime (`None` while the rule warms up).
pub type RegimeDays = Arc<Vec<Option<kxian_shared::analysis::regime::Regime>>>;

fn build_option(
    data: &Arc<BarsResponse>,
    lang: Lang,
    zoom_start: usize,
    strip: Option<&StripProbs>,
    regime: Option<&RegimeDays>,
) -> Result<(JsValue, Vec<JsCallback>), String> {
    let labels = KlineLabels {
        candles: lang.tr("K线", "K-line"),
        volume: lang.tr("成交量", "Volume"),
    };
    let mut value = kline::kline_option(&data.bars, data.frequency, labels, zoom_start);
    if let Some(p) = strip {
        kline::with_probability_strip(
            &mut value,
            p,
            kline::StripLabels {
                up: lang.tr("P(涨≥3%)", "P(up ≥3%)"),
                down: lang.tr("P(跌≤−2%)", "P(down ≤−2%)"),
                flat: lang.tr("P(平)", "P(flat)"),
            },
        );
    }
    if let Some(days) = regime {
        crate::charts::regime::with_regime_band(&mut value, days, |r| {
            lang.tr(r.zh(), r.as_str()).to_string()
        });
    }
    let json = value.to_string();
    let option = js_sys::JSON::parse(&json).map_err(|e| format!("{e:?}"))?;

    let bars = Arc::clone(data);
    let tooltip: JsCallback = Closure::new(move |params: JsValue| {
        data_index(&params)
            .map(|i| kline::tooltip_html(&bars.bars, i, bars.frequency, lang))
            .unwrap_or_default()
            .into()
    });
    set_path(&option, &["tooltip", "formatter"], tooltip.as_ref());

    let volume_axis: JsCallback =
        Closure::new(move |v: JsValue| format::compact(v.as_f64().unwrap_or(0.0), lang).into());
    set_path(
        &option,
        &["yAxis", "1", "axisLabel", "formatter"],
        volume_axis.as_ref(),
    );
    Ok((option, vec![tooltip, volume_axis]))
}

#[component]
pub fn KlineChart(
    data: Arc<BarsResponse>,
    /// The zoom window preset; changing it only moves the zoom.
    preset: Signal<RangePreset>,
    /// The classifier's probability strip, drawn as a third pane when present.
    #[prop(optional)]
    strip: Option<Signal<Option<StripProbs>>>,
    /// The market regime, shaded behind the candles when present.
    #[prop(optional)]
    regime: Option<RegimeDays>,
) -> impl IntoView {
    let i18n = use_i18n();
    let node = NodeRef::<html::Div>::new();
    let mounted = StoredValue::new_local(None::<Mounted>);
    let error = RwSignal::new(None::<String>);
    let len = data.bars.len();

    let render_data = Arc::clone(&data);
    Effect::new(move |_| {
        let lang = i18n.lang();
        let Some(el) = node.get() else { return };
        let start = window_start(&render_data.bars, preset.get_untracked());
        let probs = strip.and_then(|s| s.get());
        let (option, callbacks) =
            match build_option(&render_data, lang, start, probs.as_ref(), regime.as_ref()) {
                Ok(x) => x,
                Err(e) => return error.set(Some(e)),
            };
        mounted.update_value(|m| {
            if m.is_none() {
                match ECharts::init(&el) {
                    Ok(chart) => {
                        *m = Some(Mounted {
                            chart,
                            _callbacks: Vec::new(),
                        })
                    }
                    Err(e) => return error.set(Some(e)),
                }
            }
            if let Some(m) = m {
                match m.chart.set_option(&option, true) {
                    Ok(()) => m._callbacks = callbacks,
                    Err(e) => error.set(Some(e)),
                }
            }
        });
    });

    let zoom_data = Arc::clone(&data);
    Effect::new(move |prev: Option<RangePreset>| {
        let p = preset.get();
        if prev.is_some_and(|prev| prev != p) {
            let start = window_start(&zoom_data.bars, p);
            mounted.try_with_value(|m| {
                if let Some(m) = m {
                    m.chart.zoom_to(start, len.saturating_sub(1));
                }
            });
        }
        p
    });

    let resize = window_event_listener(leptos::ev::resize, move |_| {
        mounted.try_with_value(|m| {
            if let Some(m) = m {
                m.chart.resize();
            }
        });
    });
    on_cleanup(move || {
        resize.remove();
        mounted.try_update_value(|m| {
            if let Some(m) = m.take()
                && !m.chart.is_disposed()
            {
                m.chart.dispose();
            }
        });
    });

    view! {
        <div class="chart-box">
            <div id="kline-chart" class="kline-chart" node_ref=node data-bars=len></div>
            {move || error.get().map(|e| view! { <p class="chart-error" role="alert">{e}</p> })}
        </div>
    }
}
