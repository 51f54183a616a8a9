//! The forecast chart option: history candles up to a "now" line, then the forecast mean as
//! pale candles with a p10–p90 fan and its mean close line, optionally every sample path, the
//! real bars where the forecast covers known history (backtest view), and P(up) per future
//! bar in a lower pane. A-share colours: red up, green down.
//!
//! The fan is two stacked line series (a hidden base at p10 and a filled p90 − p10 band), and
//! the gaps before and after "now" are `"-"` values.
//!
//! Series order is a contract with the end-to-end test: see the `*_SERIES` constants.

use super::kline::{DOWN, UP};
use crate::format;
use kxian_shared::Bar;
use kxian_shared::Frequency;
use kxian_shared::api::ForecastReport;
use serde_json::{Value, json};

pub const HISTORY_SERIES: usize = 0;
pub const MEAN_CANDLE_SERIES: usize = 1;
pub const FAN_BASE_SERIES: usize = 2;
pub const FAN_BAND_SERIES: usize = 3;
pub const MEAN_CLOSE_SERIES: usize = 4;
pub const P_UP_SERIES: usize = 5;
pub const ACTUAL_SERIES: usize = 6;
/// Sample paths, when shown, follow from here.
pub const FIRST_PATH_SERIES: usize = 7;

const CLOSE: usize = 3;
const FAN: &str = "rgba(59,130,246,0.20)";
const MEAN: &str = "#2563eb";

#[derive(Debug, Clone, Copy)]
pub struct ForecastLabels<'a> {
    pub history: &'a str,
    pub forecast: &'a str,
    pub band: &'a str,
    pub mean_close: &'a str,
    pub p_up: &'a str,
    pub actual: &'a str,
    pub path: &'a str,
    pub now: &'a str,
}

fn round(x: f64) -> f64 {
    (x * 1e4).round() / 1e4
}

/// The chart option. `history` is what the model saw; `actual` the bars that followed it,
/// if known (they are matched to forecast bars by position).
pub fn forecast_option(
    history: &[Bar],
    frequency: Frequency,
    report: &ForecastReport,
    actual: &[Bar],
    show_paths: bool,
    labels: ForecastLabels<'_>,
) -> Value {
    let n = history.len();
    let h = report.timestamps.len();
    let mut cats: Vec<String> = history
        .iter()
        .map(|b| format::bar_time(b.ts, frequency))
        .collect();
    cats.extend(report.timestamps.iter().cloned());
    let gap = || json!("-");
    let pad_future = |v: Vec<Value>| -> Vec<Value> {
        let mut v = v;
        v.extend((0..h).map(|_| gap()));
        v
    };
    let pad_past = |v: Vec<Value>| -> Vec<Value> {
        let mut out: Vec<Value> = (0..n).map(|_| gap()).collect();
        out.extend(v);
        out
    };
    let candle = |o: f64, c: f64, l: f64, hi: f64| json!([round(o), round(c), round(l), round(hi)]);

    let history_data = pad_future(
        history
            .iter()
            .map(|b| candle(b.open, b.close, b.low, b.high))
            .collect(),
    );
    let mean_candles = pad_past(
        report
            .mean
            .iter()
            .map(|r| candle(r[0] as f64, r[3] as f64, r[2] as f64, r[1] as f64))
            .collect(),
    );
    let p10: Vec<f64> = report
        .quantiles
        .p10
        .iter()
        .map(|r| r[CLOSE] as f64)
        .collect();
    let p90: Vec<f64> = report
        .quantiles
        .p90
        .iter()
        .map(|r| r[CLOSE] as f64)
        .collect();
    let fan_base = pad_past(p10.iter().map(|v| json!(round(*v))).collect());
    let fan_band = pad_past(
        p10.iter()
            .zip(&p90)
            .map(|(lo, hi)| json!(round((hi - lo).max(0.0))))
            .collect(),
    );
    // The mean close line starts at the last real close, so it visibly leaves "now".
    let mut mean_close: Vec<Value> = (0..n.saturating_sub(1)).map(|_| gap()).collect();
    if let Some(last) = history.last() {
        mean_close.push(json!(round(last.close)));
    }
    mean_close.extend(report.mean.iter().map(|r| json!(round(r[CLOSE] as f64))));
    let p_up = pad_past(
        report
            .p_up
            .iter()
            .map(|p| {
                let color = if *p >= 0.5 { UP } else { DOWN };
                json!({ "value": round(*p as f64 * 100.0), "itemStyle": { "color": color } })
            })
            .collect(),
    );
    let actual_data = pad_past(
        (0..h)
            .map(|i| match actual.get(i) {
                Some(b) => candle(b.open, b.close, b.low, b.high),
                None => gap(),
            })
            .collect(),
    );

    let now_label = history
        .last()
        .map(|b| format::bar_time(b.ts, frequency))
        .unwrap_or_default();
    let zoom_start = n.saturating_sub(120.max(3 * h));
    let last = (n + h).saturating_sub(1);

    let mut series = vec![
        json!({
            "name": labels.history, "type": "candlestick", "data": history_data,
            "xAxisIndex": 0, "yAxisIndex": 0, "barMaxWidth": 14,
            "itemStyle": { "color": UP, "color0": DOWN, "borderColor": UP, "borderColor0": DOWN },
            "markLine": {
                "symbol": "none", "silent": true, "animation": false,
                "lineStyle": { "color": "#0f172a", "type": "dashed", "width": 1 },
                "label": { "formatter": labels.now, "position": "end" },
                "data": [ { "xAxis": now_label } ]
            }
        }),
        json!({
            "name": labels.forecast, "type": "candlestick", "data": mean_candles,
            "xAxisIndex": 0, "yAxisIndex": 0, "barMaxWidth": 14,
            "itemStyle": { "color": "rgba(239,35,42,0.35)", "color0": "rgba(20,177,67,0.35)",
                           "borderColor": UP, "borderColor0": DOWN, "opacity": 0.9 }
        }),
        json!({
            "name": labels.band, "type": "line", "data": fan_base, "stack": "fan",
            "symbol": "none", "lineStyle": { "opacity": 0 }, "silent": true,
            "tooltip": { "show": false }
        }),
        json!({
            "name": labels.band, "type": "line", "data": fan_band, "stack": "fan",
            "symbol": "none", "lineStyle": { "opacity": 0 }, "areaStyle": { "color": FAN },
            "silent": true, "tooltip": { "show": false }
        }),
        json!({
            "name": labels.mean_close, "type": "line", "data": mean_close, "symbol": "none",
            "lineStyle": { "color": MEAN, "width": 2, "type": "dashed" },
            "itemStyle": { "color": MEAN }
        }),
        json!({
            "name": labels.p_up, "type": "bar", "data": p_up,
            "xAxisIndex": 1, "yAxisIndex": 1, "barMaxWidth": 14
        }),
        json!({
            "name": labels.actual, "type": "candlestick", "data": actual_data,
            "xAxisIndex": 0, "yAxisIndex": 0, "barMaxWidth": 8,
            "itemStyle": { "color": "#7c3aed", "color0": "#0e7490",
                           "borderColor": "#7c3aed", "borderColor0": "#0e7490" }
        }),
    ];
    if show_paths {
        for (i, path) in report.paths.iter().enumerate() {
            series.push(json!({
                "name": format!("{} {}", labels.path, i + 1), "type": "line",
                "data": pad_past(path.iter().map(|r| json!(round(r[CLOSE] as f64))).collect()),
                "symbol": "none", "silent": true, "tooltip": { "show": false },
                "lineStyle": { "color": "rgba(100,116,139,0.45)", "width": 1 }
            }));
        }
    }
    let mut legend = vec![
        labels.history,
        labels.forecast,
        labels.band,
        labels.mean_close,
    ];
    if !actual.is_empty() {
        legend.push(labels.actual);
    }

    json!({
        "animation": false,
        "legend": { "data": legend, "top": 6, "left": 60 },
        "tooltip": {
            "trigger": "axis", "confine": true,
            "axisPointer": { "type": "cross" },
            "backgroundColor": "rgba(255,255,255,0.96)", "borderColor": "#cbd5e1",
            "textStyle": { "color": "#0f172a", "fontSize": 12 }
        },
        "axisPointer": { "link": [ { "xAxisIndex": "all" } ] },
        "grid": [
            { "left": 64, "right": 24, "top": 40, "height": "60%" },
            { "left": 64, "right": 24, "top": "76%", "height": "12%" }
        ],
        "xAxis": [
            { "type": "category", "data": cats, "boundaryGap": true,
              "axisLabel": { "show": false }, "axisLine": { "onZero": false } },
            { "type": "category", "gridIndex": 1, "data": cats, "boundaryGap": true,
              "axisLine": { "onZero": false } }
        ],
        "yAxis": [
            { "scale": true, "splitArea": { "show": true } },
            { "gridIndex": 1, "min": 0, "max": 100, "splitNumber": 2,
              "name": labels.p_up, "nameGap": 6,
              "axisLabel": { "formatter": "{value}%" } }
        ],
        "dataZoom": [
            { "type": "inside", "xAxisIndex": [0, 1], "startValue": zoom_start, "endValue": last },
            { "type": "slider", "xAxisIndex": [0, 1], "bottom": 8, "height": 22,
              "startValue": zoom_start, "endValue": last }
        ],
        "series": series
    })
}

/// Per forecast bar that has a real bar: (forecast close − real close) / real close, in %.
pub fn close_errors(report: &ForecastReport, actual: &[Bar]) -> Vec<f64> {
    report
        .mean
        .iter()
        .zip(actual)
        .filter(|(_, a)| a.close != 0.0)
        .map(|(m, a)| (m[CLOSE] as f64 - a.close) / a.close * 100.0)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;
    use kxian_shared::api::{
        ForecastInputSummary, ForecastModelInfo, ForecastParams, ForecastQuantiles, ForecastTokens,
        ModelSummary,
    };

    fn bar(day: u32, close: f64) -> Bar {
        Bar {
            ts: NaiveDate::from_ymd_opt(2024, 1, day)
                .unwrap()
                .and_hms_opt(0, 0, 0)
                .unwrap(),
            open: close - 1.0,
            high: close + 1.0,
            low: close - 2.0,
            close,
            volume: 100.0,
            amount: None,
        }
    }

    fn report(h: usize, samples: usize) -> ForecastReport {
        let row = |c: f32| [c - 1.0, c + 1.0, c - 2.0, c, 1.0, 1.0];
        ForecastReport {
            symbol: "000300.SH".into(),
            frequency: "daily".into(),
            input: ForecastInputSummary {
                file: "x".into(),
                lookback: 3,
                first: "2024-01-02".into(),
                last: "2024-01-04".into(),
                last_close: 12.0,
            },
            timestamps: (0..h).map(|i| format!("2024-01-{:02}", 8 + i)).collect(),
            provisional: vec![false; h],
            columns: vec![],
            units: Default::default(),
            mean: (0..h).map(|i| row(13.0 + i as f32)).collect(),
            quantiles: ForecastQuantiles {
                p10: (0..h).map(|i| row(11.0 + i as f32)).collect(),
                p50: (0..h).map(|i| row(13.0 + i as f32)).collect(),
                p90: (0..h).map(|i| row(16.0 + i as f32)).collect(),
            },
            paths: vec![(0..h).map(|i| row(13.0 + i as f32)).collect(); samples],
            p_up: (0..h).map(|i| if i == 0 { 0.75 } else { 0.25 }).collect(),
            tokens: ForecastTokens {
                s1: vec![0; h],
                s2: vec![0; h],
            },
            params: ForecastParams {
                horizon: h,
                temperature: 1.0,
                top_k: 0,
                top_p: 0.9,
                samples,
                seed: 0,
                max_context: 512,
                cache: "exact".into(),
                repair_ohlc: false,
            },
            model: ForecastModelInfo {
                tokenizer: ModelSummary {
                    name: "t".into(),
                    parameters: 1,
                },
                predictor: ModelSummary {
                    name: "p".into(),
                    parameters: 1,
                },
                backend: "cpu".into(),
                device_reason: String::new(),
                elapsed_ms: 0.0,
                ms_per_bar: 0.0,
            },
        }
    }

    const LABELS: ForecastLabels<'static> = ForecastLabels {
        history: "K",
        forecast: "F",
        band: "B",
        mean_close: "M",
        p_up: "P",
        actual: "A",
        path: "path",
        now: "now",
    };

    #[test]
    fn history_then_forecast_on_one_axis() {
        let history = [bar(2, 10.0), bar(3, 11.0), bar(4, 12.0)];
        let o = forecast_option(
            &history,
            Frequency::Daily,
            &report(2, 4),
            &[],
            false,
            LABELS,
        );
        let cats = o["xAxis"][0]["data"].as_array().unwrap();
        assert_eq!(cats.len(), 5);
        assert_eq!(cats[2], "2024-01-04");
        assert_eq!(cats[3], "2024-01-08");
        let s = o["series"].as_array().unwrap();
        assert_eq!(s.len(), FIRST_PATH_SERIES);
        assert_eq!(
            s[HISTORY_SERIES]["data"][2],
            json!([11.0, 12.0, 10.0, 13.0])
        );
        assert_eq!(s[HISTORY_SERIES]["data"][3], "-");
        assert_eq!(
            s[HISTORY_SERIES]["markLine"]["data"][0]["xAxis"],
            "2024-01-04"
        );
        assert_eq!(s[MEAN_CANDLE_SERIES]["data"][2], "-");
        assert_eq!(
            s[MEAN_CANDLE_SERIES]["data"][3],
            json!([12.0, 13.0, 11.0, 14.0])
        );
        // The fan: base at p10, band p90 - p10, stacked.
        assert_eq!(s[FAN_BASE_SERIES]["data"][3], 11.0);
        assert_eq!(s[FAN_BAND_SERIES]["data"][4], 5.0);
        assert_eq!(s[FAN_BAND_SERIES]["stack"], s[FAN_BASE_SERIES]["stack"]);
        // The mean line leaves from the last real close.
        assert_eq!(s[MEAN_CLOSE_SERIES]["data"][2], 12.0);
        assert_eq!(s[MEAN_CLOSE_SERIES]["data"][4], 14.0);
        assert_eq!(s[P_UP_SERIES]["data"][3]["value"], 75.0);
        assert_eq!(s[P_UP_SERIES]["data"][3]["itemStyle"]["color"], UP);
        assert_eq!(s[P_UP_SERIES]["data"][4]["itemStyle"]["color"], DOWN);
    }

    #[test]
    fn paths_and_actual_bars() {
        let history = [bar(2, 10.0), bar(3, 11.0), bar(4, 12.0)];
        let actual = [bar(8, 12.5)];
        let r = report(2, 3);
        let o = forecast_option(&history, Frequency::Daily, &r, &actual, true, LABELS);
        let s = o["series"].as_array().unwrap();
        assert_eq!(s.len(), FIRST_PATH_SERIES + 3);
        assert_eq!(s[ACTUAL_SERIES]["data"][3], json!([11.5, 12.5, 10.5, 13.5]));
        assert_eq!(s[ACTUAL_SERIES]["data"][4], "-");
        let e = close_errors(&r, &actual);
        assert_eq!(e.len(), 1);
        assert!((e[0] - 4.0).abs() < 1e-9, "{e:?}");
    }
}
