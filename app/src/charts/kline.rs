//! The K-line chart option: candlesticks with MA overlays on top, volume below, one crosshair
//! and one zoom window across both panes.
//!
//! Written as ECharts option JSON, like every chart of the app. Function-valued options (the
//! tooltip formatter) cannot travel through JSON; `components::kline_chart` attaches them after
//! `JSON.parse`.
//!
//! Series order is part of the contract with the end-to-end test: series 0 is the candlestick
//! series and holds exactly one item per loaded bar.

use crate::format;
use crate::i18n::Lang;
use kxian_shared::{Bar, Frequency};
use serde_json::{Value, json};

/// A-share convention: up is red.
pub const UP: &str = "#ef232a";
/// A-share convention: down is green.
pub const DOWN: &str = "#14b143";

pub const MA_PERIODS: [usize; 4] = [5, 10, 20, 60];
const MA_COLORS: [&str; 4] = ["#f5a623", "#3b82f6", "#a855f7", "#64748b"];

/// Index of the candlestick series (the e2e test reads it).
pub const CANDLE_SERIES: usize = 0;
/// Index of the volume series.
pub const VOLUME_SERIES: usize = 1 + MA_PERIODS.len();

/// Translated names shown in the legend and the tooltip.
#[derive(Debug, Clone, Copy)]
pub struct KlineLabels<'a> {
    pub candles: &'a str,
    pub volume: &'a str,
}

/// Whether ECharts draws bar `i` as rising: close above open, or, for a doji, a close not
/// below the previous close (ECharts' own rule, so the volume colour matches the candle).
pub fn is_up(bars: &[Bar], i: usize) -> bool {
    let b = &bars[i];
    if b.close != b.open {
        return b.close > b.open;
    }
    i == 0 || bars[i - 1].close <= b.close
}

/// The x-axis category labels, one per bar.
pub fn categories(bars: &[Bar], frequency: Frequency) -> Vec<String> {
    bars.iter()
        .map(|b| format::bar_time(b.ts, frequency))
        .collect()
}

/// The option JSON handed to `setOption`, with the zoom window starting at bar `zoom_start`
/// and ending at the last bar.
pub fn kline_option(
    bars: &[Bar],
    frequency: Frequency,
    labels: KlineLabels<'_>,
    zoom_start: usize,
) -> Value {
    let cats = categories(bars, frequency);
    let closes: Vec<f64> = bars.iter().map(|b| b.close).collect();
    let last = bars.len().saturating_sub(1);
    let zoom_from = zoom_start.min(last);

    let mut legend: Vec<String> = vec![labels.candles.to_string()];
    legend.extend(MA_PERIODS.iter().map(|p| format!("MA{p}")));

    let mut series = vec![json!({
        "type": "candlestick",
        "name": labels.candles,
        "xAxisIndex": 0,
        "yAxisIndex": 0,
        "barMaxWidth": 18,
        "itemStyle": { "color": UP, "color0": DOWN, "borderColor": UP, "borderColor0": DOWN },
        // ECharts' order: open, close, low, high.
        "data": bars.iter().map(|b| [b.open, b.close, b.low, b.high]).collect::<Vec<_>>(),
    })];
    for (period, color) in MA_PERIODS.iter().zip(MA_COLORS) {
        let ma = super::indicators::moving_average(&closes, *period);
        series.push(json!({
            "type": "line",
            "name": format!("MA{period}"),
            "data": ma,
            "smooth": true,
            "showSymbol": false,
            "symbol": "none",
            "lineStyle": { "width": 1.0, "opacity": 0.9, "color": color },
            "itemStyle": { "color": color },
        }));
    }
    let volume: Vec<Value> = bars
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let color = if is_up(bars, i) { UP } else { DOWN };
            json!({ "value": b.volume, "itemStyle": { "color": color } })
        })
        .collect();
    series.push(json!({
        "type": "bar",
        "name": labels.volume,
        "xAxisIndex": 1,
        "yAxisIndex": 1,
        "data": volume,
    }));

    let x_axis = |grid: usize, show_labels: bool| {
        let mut axis = json!({
            "type": "category",
            "gridIndex": grid,
            "data": cats,
            "boundaryGap": true,
            "axisLine": { "onZero": false },
            "splitLine": { "show": false },
            "min": "dataMin",
            "max": "dataMax",
        });
        if !show_labels {
            axis["axisLabel"] = json!({ "show": false });
        }
        axis
    };
    let zoom = |kind: &str| {
        json!({
            "type": kind,
            "xAxisIndex": [0, 1],
            "startValue": zoom_from,
            "endValue": last,
        })
    };
    let mut slider = zoom("slider");
    slider["bottom"] = json!(8);
    slider["height"] = json!(24);

    json!({
        "animation": false,
        "legend": { "data": legend, "top": 6, "left": 60 },
        "tooltip": {
            "trigger": "axis",
            "axisPointer": { "type": "cross" },
            "backgroundColor": "rgba(255,255,255,0.96)",
            "borderColor": "#cbd5e1",
            "borderWidth": 1,
            "padding": 10,
            "confine": true,
            "textStyle": { "color": "#0f172a", "fontSize": 12 },
        },
        "axisPointer": [{
            "link": [{ "xAxisIndex": "all" }],
            "label": { "backgroundColor": "#475569" },
        }],
        "grid": [
            { "left": 64, "right": 24, "top": 40, "height": "58%" },
            { "left": 64, "right": 24, "top": "73%", "height": "14%" },
        ],
        "xAxis": [x_axis(0, false), x_axis(1, true)],
        "yAxis": [
            { "scale": true, "splitArea": { "show": true }, "splitNumber": 5 },
            { "gridIndex": 1, "scale": true, "splitNumber": 2, "splitLine": { "show": false } },
        ],
        "dataZoom": [zoom("inside"), slider],
        "series": series,
    })
}

/// Tooltip HTML for bar `i`: date, O/H/L/C with two decimals, change, volume and amount as
/// plain digits (with a 万/亿 reading aid), and the moving averages.
pub fn tooltip_html(bars: &[Bar], i: usize, frequency: Frequency, lang: Lang) -> String {
    let Some(b) = bars.get(i) else {
        return String::new();
    };
    let color = if is_up(bars, i) { UP } else { DOWN };
    let mut rows = vec![
        (lang.tr("开盘", "Open"), format::price(b.open), None),
        (lang.tr("最高", "High"), format::price(b.high), None),
        (lang.tr("最低", "Low"), format::price(b.low), None),
        (
            lang.tr("收盘", "Close"),
            format::price(b.close),
            Some(color),
        ),
    ];
    if i > 0 && bars[i - 1].close > 0.0 {
        let prev = bars[i - 1].close;
        rows.push((
            lang.tr("涨跌幅", "Change"),
            format::percent((b.close / prev - 1.0) * 100.0),
            Some(color),
        ));
    }
    rows.push((
        lang.tr("成交量", "Volume"),
        format::plain_with_compact(b.volume, lang),
        None,
    ));
    if let Some(a) = b.amount {
        rows.push((
            lang.tr("成交额", "Amount"),
            format::plain_with_compact(a, lang),
            None,
        ));
    }
    let mut html = format!(
        "<div class=\"kx-tip\"><div class=\"kx-tip-date\">{}</div><table>",
        format::escape_html(&format::bar_time(b.ts, frequency))
    );
    for (label, value, color) in rows {
        let style = color
            .map(|c| format!(" style=\"color:{c}\""))
            .unwrap_or_default();
        html.push_str(&format!(
            "<tr><td class=\"kx-tip-k\">{label}</td><td class=\"kx-tip-v\"{style}>{value}</td></tr>"
        ));
    }
    for period in MA_PERIODS {
        if i + 1 >= period {
            let ma = bars[i + 1 - period..=i]
                .iter()
                .map(|b| b.close)
                .sum::<f64>()
                / period as f64;
            html.push_str(&format!(
                "<tr><td class=\"kx-tip-k\">MA{period}</td><td class=\"kx-tip-v\">{}</td></tr>",
                format::price(ma)
            ));
        }
    }
    html.push_str("</table></div>");
    html
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn bars() -> Vec<Bar> {
        let d = NaiveDate::from_ymd_opt(2024, 9, 2).unwrap();
        (0..70)
            .map(|i| {
                let open = 10.0 + i as f64 * 0.1;
                let close = if i % 3 == 0 { open - 0.05 } else { open + 0.05 };
                Bar {
                    ts: (d + chrono::Days::new(i)).and_hms_opt(0, 0, 0).unwrap(),
                    open,
                    high: open + 0.2,
                    low: open - 0.2,
                    close,
                    volume: 1_000_000.0 + i as f64,
                    amount: Some(10_000_000.0),
                }
            })
            .collect()
    }

    const LABELS: KlineLabels<'static> = KlineLabels {
        candles: "K线",
        volume: "成交量",
    };

    #[test]
    fn candlesticks_are_series_zero_with_one_item_per_bar() {
        let bars = bars();
        let o = kline_option(&bars, Frequency::Daily, LABELS, 10);
        let series = o["series"].as_array().unwrap();
        assert_eq!(series.len(), 2 + MA_PERIODS.len());
        let candles = &series[CANDLE_SERIES];
        assert_eq!(candles["type"], "candlestick");
        let data = candles["data"].as_array().unwrap();
        assert_eq!(data.len(), bars.len());
        // ECharts order: open, close, low, high.
        assert_eq!(
            data[1],
            json!([bars[1].open, bars[1].close, bars[1].low, bars[1].high])
        );
        assert_eq!(
            candles["itemStyle"],
            json!({"color": UP, "color0": DOWN, "borderColor": UP, "borderColor0": DOWN})
        );
    }

    #[test]
    fn volume_pane_is_coloured_like_the_candles() {
        let bars = bars();
        let o = kline_option(&bars, Frequency::Daily, LABELS, 0);
        let vol = &o["series"][VOLUME_SERIES];
        assert_eq!(vol["type"], "bar");
        assert_eq!(vol["xAxisIndex"], 1.0);
        assert_eq!(vol["yAxisIndex"], 1.0);
        assert_eq!(vol["data"][0]["value"], bars[0].volume);
        assert_eq!(vol["data"][0]["itemStyle"]["color"], DOWN);
        assert_eq!(vol["data"][1]["itemStyle"]["color"], UP);
    }

    #[test]
    fn moving_averages_start_after_their_period() {
        let bars = bars();
        let o = kline_option(&bars, Frequency::Daily, LABELS, 0);
        for (k, period) in MA_PERIODS.iter().enumerate() {
            let s = &o["series"][1 + k];
            assert_eq!(s["name"], format!("MA{period}"));
            let data = s["data"].as_array().unwrap();
            assert_eq!(data.len(), bars.len());
            assert!(data[period - 2].is_null());
            assert!(data[period - 1].is_number());
        }
    }

    #[test]
    fn axes_zoom_and_crosshair_are_linked() {
        let bars = bars();
        let o = kline_option(&bars, Frequency::Daily, LABELS, 60);
        assert_eq!(o["xAxis"].as_array().unwrap().len(), 2);
        assert_eq!(o["xAxis"][1]["gridIndex"], 1.0);
        assert_eq!(o["xAxis"][0]["data"][0], "2024-09-02");
        assert_eq!(o["tooltip"]["axisPointer"]["type"], "cross");
        assert_eq!(o["axisPointer"][0]["link"][0]["xAxisIndex"], "all");
        let zooms = o["dataZoom"].as_array().unwrap();
        assert_eq!(zooms.len(), 2);
        for z in zooms {
            assert_eq!(z["xAxisIndex"], json!([0, 1]));
            assert_eq!(z["startValue"], 60.0);
            assert_eq!(z["endValue"], 69.0);
        }
        assert_eq!(zooms[0]["type"], "inside");
        assert_eq!(zooms[1]["type"], "slider");
    }

    #[test]
    fn tooltip_shows_the_bar_as_loaded() {
        let mut bars = bars();
        bars[69].close = 3196.04;
        bars[69].open = 3178.4;
        bars[69].volume = 12_543_927_200.0;
        let html = tooltip_html(&bars, 69, Frequency::Daily, Lang::Zh);
        for needle in [
            "2024-11-10",
            "3178.40",
            "3196.04",
            "12543927200 (125.44亿)",
            "MA60",
        ] {
            assert!(html.contains(needle), "{needle} missing from {html}");
        }
        let html = tooltip_html(&bars, 0, Frequency::Daily, Lang::En);
        assert!(html.contains("Open") && !html.contains("MA5"), "{html}");
        assert_eq!(tooltip_html(&bars, 70, Frequency::Daily, Lang::En), "");
    }

    #[test]
    fn doji_colour_follows_the_previous_close() {
        let mut b = bars();
        b[5].open = b[5].close;
        b[4].close = b[5].close - 0.1;
        assert!(is_up(&b, 5), "doji above the previous close is up");
        b[4].close = b[5].close + 0.1;
        assert!(!is_up(&b, 5), "doji below the previous close is down");
    }
}

/// Series index of the strip's P(up) bars; P(flat) and P(down) follow.
pub const STRIP_SERIES: usize = VOLUME_SERIES + 1;

#[derive(Debug, Clone, Copy)]
pub struct StripLabels<'a> {
    pub up: &'a str,
    pub down: &'a str,
    pub flat: &'a str,
}

/// Adds the classifier's probability strip under the volume pane: per bar, P(up) (red),
/// P(flat) (grey) and P(down) (green) stacked to 100 %, on the same category axis and zoom.
/// Bars without probabilities are gaps.
pub fn with_probability_strip(
    option: &mut Value,
    probs: &[Option<[f64; 3]>],
    labels: StripLabels<'_>,
) {
    let cats = option["xAxis"][0]["data"].clone();
    if let Some(grids) = option.get_mut("grid").and_then(Value::as_array_mut) {
        if grids.len() >= 2 {
            grids[0]["height"] = json!("50%");
            grids[1]["top"] = json!("64%");
            grids[1]["height"] = json!("12%");
        }
        grids.push(json!({ "left": 64, "right": 24, "top": "82%", "height": "8%" }));
    }
    if let Some(x) = option.get_mut("xAxis").and_then(Value::as_array_mut) {
        x.push(json!({
            "type": "category", "gridIndex": 2, "data": cats, "boundaryGap": true,
            "axisLabel": { "show": false }, "axisTick": { "show": false }
        }));
    }
    if let Some(y) = option.get_mut("yAxis").and_then(Value::as_array_mut) {
        y.push(json!({
            "type": "value", "gridIndex": 2, "min": 0, "max": 100, "interval": 50,
            "axisLabel": { "fontSize": 10 }, "splitLine": { "show": false }
        }));
    }
    if let Some(zooms) = option.get_mut("dataZoom").and_then(Value::as_array_mut) {
        for z in zooms {
            z["xAxisIndex"] = json!([0, 1, 2]);
        }
    }
    let column = |k: usize| -> Vec<Value> {
        probs
            .iter()
            .map(|p| p.map_or(json!("-"), |p| json!((p[k] * 1000.0).round() / 10.0)))
            .collect()
    };
    if let Some(series) = option.get_mut("series").and_then(Value::as_array_mut) {
        for (name, k, colour) in [
            (labels.up, 0, UP),
            (labels.flat, 2, "#cbd5e1"),
            (labels.down, 1, DOWN),
        ] {
            series.push(json!({
                "name": name, "type": "bar", "stack": "p", "xAxisIndex": 2, "yAxisIndex": 2,
                "data": column(k), "barCategoryGap": "0%", "itemStyle": { "color": colour },
                "large": true
            }));
        }
    }
}

#[cfg(test)]
mod strip_tests {
    use super::*;
    use chrono::NaiveDate;

    #[test]
    fn the_strip_is_a_third_pane_on_the_same_axis() {
        let bars: Vec<Bar> = (0..5)
            .map(|i| Bar {
                ts: (NaiveDate::from_ymd_opt(2024, 1, 2).unwrap() + chrono::Days::new(i))
                    .and_hms_opt(0, 0, 0)
                    .unwrap(),
                open: 10.0,
                high: 11.0,
                low: 9.0,
                close: 10.5,
                volume: 100.0,
                amount: None,
            })
            .collect();
        let mut o = kline_option(
            &bars,
            Frequency::Daily,
            KlineLabels {
                candles: "K",
                volume: "V",
            },
            0,
        );
        let probs = vec![
            None,
            None,
            Some([0.2, 0.3, 0.5]),
            Some([0.6, 0.1, 0.3]),
            None,
        ];
        with_probability_strip(
            &mut o,
            &probs,
            StripLabels {
                up: "up",
                down: "down",
                flat: "flat",
            },
        );
        assert_eq!(o["grid"].as_array().unwrap().len(), 3);
        assert_eq!(o["xAxis"][2]["gridIndex"], 2);
        assert_eq!(o["xAxis"][2]["data"].as_array().unwrap().len(), 5);
        let s = &o["series"];
        assert_eq!(s[STRIP_SERIES]["name"], "up");
        assert_eq!(s[STRIP_SERIES]["data"], json!(["-", "-", 20.0, 60.0, "-"]));
        assert_eq!(s[STRIP_SERIES + 2]["data"][2], 30.0);
        assert_eq!(s[STRIP_SERIES + 1]["data"][3], 30.0);
        assert_eq!(o["dataZoom"][0]["xAxisIndex"], json!([0, 1, 2]));
    }
}
