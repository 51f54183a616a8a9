//! The backtest report's charts: equity with its drawdown below, the monthly returns heat map
//! (years × months), the histogram of daily returns, and the factors' correlation heat map.
//! A-share colours: red for gains, green for losses.

use super::kline::{DOWN, UP};
use chrono::{Datelike, NaiveDate};
use serde_json::{Value, json};

fn round(x: f64, digits: i32) -> f64 {
    let k = 10f64.powi(digits);
    (x * k).round() / k
}

/// `(year, month, return)` of every month in the run: the month's last equity against the
/// previous month's last (the first month against the initial cash).
pub fn monthly_returns(dates: &[NaiveDate], equity: &[f64], initial: f64) -> Vec<(i32, u32, f64)> {
    period_returns(dates, equity, initial, |d| (d.year(), d.month()))
}

/// `(year, quarter 1–4, return)` of every quarter, as [`monthly_returns`] does months.
pub fn quarterly_returns(
    dates: &[NaiveDate],
    equity: &[f64],
    initial: f64,
) -> Vec<(i32, u32, f64)> {
    period_returns(dates, equity, initial, |d| (d.year(), d.month0() / 3 + 1))
}

fn period_returns(
    dates: &[NaiveDate],
    equity: &[f64],
    initial: f64,
    period: impl Fn(&NaiveDate) -> (i32, u32),
) -> Vec<(i32, u32, f64)> {
    let mut out = Vec::new();
    let mut base = initial;
    for (i, (d, e)) in dates.iter().zip(equity).enumerate() {
        let last = dates.get(i + 1).is_none_or(|n| period(n) != period(d));
        if last {
            if base > 0.0 {
                let (y, p) = period(d);
                out.push((y, p, e / base - 1.0));
            }
            base = *e;
        }
    }
    out
}

/// The day-of-week effect: for Monday to Friday, the mean daily return, the share of days up
/// and the number of days.
pub fn weekday_returns(
    dates: &[NaiveDate],
    equity: &[f64],
    initial: f64,
) -> Vec<(u32, f64, f64, usize)> {
    let daily = daily_returns(equity, initial);
    (0..5)
        .map(|w| {
            let r: Vec<f64> = dates
                .iter()
                .zip(&daily)
                .filter(|(d, _)| d.weekday().num_days_from_monday() == w)
                .map(|(_, r)| *r)
                .collect();
            let n = r.len();
            let mean = if n == 0 {
                f64::NAN
            } else {
                r.iter().sum::<f64>() / n as f64
            };
            let up = if n == 0 {
                f64::NAN
            } else {
                r.iter().filter(|x| **x > 0.0).count() as f64 / n as f64
            };
            (w, mean, up, n)
        })
        .collect()
}

/// Daily returns of the equity curve (the first day against the initial cash).
pub fn daily_returns(equity: &[f64], initial: f64) -> Vec<f64> {
    let mut prev = initial;
    equity
        .iter()
        .map(|&e| {
            let r = if prev > 0.0 { e / prev - 1.0 } else { 0.0 };
            prev = e;
            r
        })
        .collect()
}

/// Running drawdown from the peak, ≤ 0.
pub fn drawdowns(equity: &[f64]) -> Vec<f64> {
    let mut peak = f64::MIN;
    equity
        .iter()
        .map(|&e| {
            peak = peak.max(e);
            if peak > 0.0 { e / peak - 1.0 } else { 0.0 }
        })
        .collect()
}

/// Counts of `xs` in bins of `width` from `lo` (values outside go to the end bins).
pub fn histogram(xs: &[f64], lo: f64, hi: f64, width: f64) -> Vec<(f64, usize)> {
    let n = ((hi - lo) / width).round().max(1.0) as usize;
    let mut counts = vec![0usize; n];
    for &x in xs.iter().filter(|x| x.is_finite()) {
        let k = ((x - lo) / width).floor();
        counts[(k.max(0.0) as usize).min(n - 1)] += 1;
    }
    counts
        .into_iter()
        .enumerate()
        .map(|(k, c)| (lo + k as f64 * width, c))
        .collect()
}

pub fn equity_option(
    dates: &[NaiveDate],
    equity: &[f64],
    equity_label: &str,
    drawdown_label: &str,
    benchmarks: &[(String, Vec<f64>)],
) -> Value {
    let x: Vec<String> = dates.iter().map(|d| d.to_string()).collect();
    let dd: Vec<f64> = drawdowns(equity)
        .iter()
        .map(|d| round(d * 100.0, 2))
        .collect();
    let eq: Vec<f64> = equity.iter().map(|e| round(*e, 2)).collect();
    let mut legend = vec![equity_label.to_string(), drawdown_label.to_string()];
    let mut series = vec![
        json!({ "name": equity_label, "type": "line", "data": eq, "showSymbol": false,
                "lineStyle": { "width": 1.5, "color": "#2563eb" } }),
        json!({ "name": drawdown_label, "type": "line", "data": dd, "showSymbol": false,
                "xAxisIndex": 1, "yAxisIndex": 1,
                "lineStyle": { "width": 1, "color": DOWN }, "areaStyle": { "color": DOWN, "opacity": 0.25 } }),
    ];
    for (name, curve) in benchmarks {
        legend.push(name.clone());
        let data: Vec<f64> = curve.iter().map(|e| round(*e, 2)).collect();
        series.push(
            json!({ "name": name, "type": "line", "data": data, "showSymbol": false,
                            "lineStyle": { "width": 1, "type": "dashed" } }),
        );
    }
    json!({
        "animation": false,
        "tooltip": { "trigger": "axis" },
        "legend": { "data": legend, "top": 0 },
        "axisPointer": { "link": [{ "xAxisIndex": "all" }] },
        "grid": [
            { "left": 70, "right": 20, "top": 30, "height": "55%" },
            { "left": 70, "right": 20, "top": "72%", "height": "18%" }
        ],
        "xAxis": [
            { "type": "category", "data": x, "boundaryGap": false, "axisLabel": { "show": false } },
            { "type": "category", "data": x, "boundaryGap": false, "gridIndex": 1 }
        ],
        "yAxis": [
            { "type": "value", "scale": true, "name": "CNY" },
            { "type": "value", "gridIndex": 1, "name": "%", "max": 0 }
        ],
        "dataZoom": [{ "type": "inside", "xAxisIndex": [0, 1] }, { "type": "slider", "xAxisIndex": [0, 1], "bottom": 0 }],
        "series": series
    })
}

pub fn monthly_option(rows: &[(i32, u32, f64)]) -> Value {
    let months: Vec<String> = (1..=12).map(|m| m.to_string()).collect();
    calendar_option(rows, &months)
}

pub fn quarterly_option(rows: &[(i32, u32, f64)]) -> Value {
    let quarters: Vec<String> = (1..=4).map(|q| format!("Q{q}")).collect();
    calendar_option(rows, &quarters)
}

/// Years down, periods (months or quarters, 1-based) across, the return in each cell.
fn calendar_option(rows: &[(i32, u32, f64)], periods: &[String]) -> Value {
    let (y0, y1) = rows
        .iter()
        .fold((i32::MAX, i32::MIN), |(a, b), r| (a.min(r.0), b.max(r.0)));
    let years: Vec<String> = if rows.is_empty() {
        Vec::new()
    } else {
        (y0..=y1).map(|y| y.to_string()).collect()
    };
    let data: Vec<Value> = rows
        .iter()
        .map(|(y, m, r)| json!([m - 1, y - y0, round(r * 100.0, 2)]))
        .collect();
    let worst = rows.iter().map(|r| r.2.abs()).fold(0.01, f64::max) * 100.0;
    json!({
        "animation": false,
        "tooltip": { "position": "top" },
        "grid": { "left": 60, "right": 20, "top": 10, "bottom": 60 },
        "xAxis": { "type": "category", "data": periods, "splitArea": { "show": true } },
        "yAxis": { "type": "category", "data": years, "splitArea": { "show": true } },
        "visualMap": { "min": -round(worst, 1), "max": round(worst, 1), "calculable": true,
                       "orient": "horizontal", "left": "center", "bottom": 0,
                       "inRange": { "color": [DOWN, "#f8fafc", UP] } },
        "series": [{ "name": "%", "type": "heatmap", "data": data,
                     "label": { "show": true, "fontSize": 10 } }]
    })
}

pub fn histogram_option(bins: &[(f64, usize)], width: f64, label: &str) -> Value {
    let x: Vec<String> = bins
        .iter()
        .map(|(lo, _)| format!("{:.1}", lo * 100.0))
        .collect();
    let data: Vec<Value> = bins
        .iter()
        .map(|(lo, c)| {
            let colour = if lo + width / 2.0 >= 0.0 { UP } else { DOWN };
            json!({ "value": c, "itemStyle": { "color": colour } })
        })
        .collect();
    json!({
        "animation": false,
        "tooltip": { "trigger": "axis" },
        "grid": { "left": 50, "right": 20, "top": 20, "bottom": 40 },
        "xAxis": { "type": "category", "data": x, "name": "%" },
        "yAxis": { "type": "value", "name": label },
        "series": [{ "name": label, "type": "bar", "data": data, "barCategoryGap": "5%" }]
    })
}

pub fn correlation_option(names: &[String], matrix: &[Vec<f64>]) -> Value {
    let mut data = Vec::new();
    for (i, row) in matrix.iter().enumerate() {
        for (j, c) in row.iter().enumerate() {
            if c.is_finite() {
                data.push(json!([j, i, round(*c, 2)]));
            }
        }
    }
    json!({
        "animation": false,
        "tooltip": { "position": "top" },
        "grid": { "left": 110, "right": 20, "top": 10, "bottom": 120 },
        "xAxis": { "type": "category", "data": names, "axisLabel": { "rotate": 60, "fontSize": 10 } },
        "yAxis": { "type": "category", "data": names, "axisLabel": { "fontSize": 10 } },
        "visualMap": { "min": -1, "max": 1, "calculable": true, "orient": "horizontal",
                       "left": "center", "bottom": 0,
                       "inRange": { "color": ["#2563eb", "#f8fafc", "#dc2626"] } },
        "series": [{ "type": "heatmap", "data": data }]
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn monthly_returns_chain_month_ends() {
        let dates = [
            d(2024, 1, 30),
            d(2024, 1, 31),
            d(2024, 2, 1),
            d(2024, 2, 29),
            d(2024, 3, 1),
        ];
        let equity = [101.0, 110.0, 100.0, 99.0, 118.8];
        let m = monthly_returns(&dates, &equity, 100.0);
        assert_eq!(m.len(), 3);
        assert_eq!((m[0].0, m[0].1), (2024, 1));
        assert!((m[0].2 - 0.10).abs() < 1e-12);
        assert!((m[1].2 - (99.0 / 110.0 - 1.0)).abs() < 1e-12);
        assert!((m[2].2 - 0.20).abs() < 1e-12);
        // Compounded, the months give the whole run.
        let total: f64 = m.iter().map(|r| 1.0 + r.2).product();
        assert!((total - 1.188).abs() < 1e-12);
    }

    #[test]
    fn drawdowns_histogram_and_options() {
        assert_eq!(
            drawdowns(&[100.0, 120.0, 90.0, 130.0]),
            vec![0.0, 0.0, -0.25, 0.0]
        );
        let r = daily_returns(&[101.0, 99.99], 100.0);
        assert!((r[0] - 0.01).abs() < 1e-12 && (r[1] + 0.01).abs() < 1e-12);
        let h = histogram(&[-0.2, -0.001, 0.0, 0.004, 0.3], -0.01, 0.01, 0.005);
        assert_eq!(h.iter().map(|b| b.1).collect::<Vec<_>>(), vec![1, 1, 2, 1]);
        let o = histogram_option(&h, 0.005, "days");
        assert_eq!(o["series"][0]["data"][0]["itemStyle"]["color"], DOWN);
        assert_eq!(o["series"][0]["data"][2]["itemStyle"]["color"], UP);
        let e = equity_option(
            &[d(2024, 1, 2), d(2024, 1, 3)],
            &[100.0, 90.0],
            "equity",
            "drawdown",
            &[("index".into(), vec![100.0, 105.0])],
        );
        assert_eq!(e["series"][1]["data"][1], -10.0);
        assert_eq!(e["series"][2]["data"][1], 105.0);
        assert_eq!(e["legend"]["data"][2], "index");
        let days = [d(2024, 3, 29), d(2024, 4, 1), d(2024, 4, 2)];
        let q = quarterly_returns(&days, &[110.0, 121.0, 108.9], 100.0);
        assert_eq!(q.len(), 2);
        assert_eq!((q[0].0, q[0].1), (2024, 1));
        assert!(
            (q[0].2 - 0.1).abs() < 1e-12 && (q[1].2 + 0.01).abs() < 1e-12,
            "{q:?}"
        );
        assert_eq!(quarterly_option(&q)["xAxis"]["data"][3], "Q4");
        // 2024-03-29 is a Friday, 04-01 a Monday, 04-02 a Tuesday.
        let w = weekday_returns(&days, &[110.0, 121.0, 108.9], 100.0);
        assert_eq!((w[0].3, w[1].3, w[4].3), (1, 1, 1));
        assert!((w[0].1 - 0.1).abs() < 1e-12 && w[1].2 == 0.0 && w[2].3 == 0);
        let m = monthly_option(&[(2023, 12, 0.05), (2024, 1, -0.02)]);
        assert_eq!(m["yAxis"]["data"], json!(["2023", "2024"]));
        assert_eq!(m["series"][0]["data"][1], json!([0, 1, -2.0]));
        let c = correlation_option(
            &["a".into(), "b".into()],
            &[vec![1.0, 0.5], vec![0.5, f64::NAN]],
        );
        assert_eq!(c["series"][0]["data"].as_array().unwrap().len(), 3);
    }
}
