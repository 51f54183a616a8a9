//! A prediction set's report: the cumulative rank IC of its score through time, and the mean
//! forward return of each score quintile beside the baselines'.

use kxian_shared::predictions::evaluate::{DateStats, SignalStats};
use serde_json::{Value, json};

/// The score's rank IC summed over dates: a steady climb is a steady signal.
/// Takes a prediction set's `by_date` or a backtest score's.
pub fn cumulative_ic_option(by_date: &[DateStats]) -> Value {
    let data: Vec<Value> = by_date
        .iter()
        .map(|d| json!([d.date.to_string(), d.cum_rank_ic]))
        .collect();
    json!({
        "animation": false,
        "tooltip": {"trigger": "axis"},
        "grid": {"left": 60, "right": 30, "top": 30, "bottom": 40},
        "xAxis": {"type": "time"},
        "yAxis": {"type": "value", "name": "Σ rank IC", "scale": true},
        "series": [{"name": "cumulative rank IC", "type": "line", "showSymbol": false, "data": data}]
    })
}

/// Mean forward return (%) of each quintile, lowest first, for every signal.
pub fn quintiles_option(signals: &[SignalStats]) -> Value {
    let series: Vec<Value> = signals
        .iter()
        .filter(|s| s.signal != "exp_return")
        .map(|s| {
            let data: Vec<Value> = s
                .quintiles
                .iter()
                .map(|q| {
                    if q.is_finite() {
                        json!(q * 100.0)
                    } else {
                        Value::Null
                    }
                })
                .collect();
            json!({"name": s.signal, "type": "bar", "data": data})
        })
        .collect();
    json!({
        "animation": false,
        "tooltip": {"trigger": "axis"},
        "legend": {"top": 0},
        "grid": {"left": 60, "right": 30, "top": 40, "bottom": 40},
        "xAxis": {"type": "category", "data": ["Q1", "Q2", "Q3", "Q4", "Q5"]},
        "yAxis": {"type": "value", "name": "forward return %"},
        "series": series
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use kxian_shared::Bar;
    use kxian_shared::predictions::evaluate::report;
    use kxian_shared::predictions::rows::{RowKind, classifier_row};
    use std::collections::BTreeMap;

    #[test]
    fn the_charts_carry_the_report_s_numbers() {
        let day = |i: u32| {
            chrono::NaiveDate::from_ymd_opt(2024, 1, 1).unwrap() + chrono::Days::new(i.into())
        };
        let mut bars = BTreeMap::new();
        let mut rows = Vec::new();
        for s in 0..6 {
            let name = format!("60000{s}.SH");
            let b: Vec<Bar> = (0..40)
                .map(|i| {
                    let c = 10.0 + (s * i) as f64 * 0.01;
                    Bar {
                        ts: day(i).and_hms_opt(0, 0, 0).unwrap(),
                        open: c,
                        high: c,
                        low: c,
                        close: c,
                        volume: 1.0,
                        amount: None,
                    }
                })
                .collect();
            for i in (25..35).step_by(5) {
                rows.push(classifier_row(&name, day(i), 3, [0.1 * s as f64, 0.1, 0.5]));
            }
            bars.insert(name, b);
        }
        let r = report(RowKind::Classifier, &rows, &bars, None);
        let ic = cumulative_ic_option(&r.by_date);
        assert_eq!(
            ic["series"][0]["data"].as_array().unwrap().len(),
            r.by_date.len()
        );
        let q = quintiles_option(&r.signals);
        assert_eq!(q["series"][0]["name"], "score");
        assert_eq!(q["series"][0]["data"].as_array().unwrap().len(), 5);
    }
}
