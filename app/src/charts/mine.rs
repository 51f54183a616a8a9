//! A mining report's chart: each formula's cumulative daily rank IC from the training period's
//! start to the test period's end, with the validation and test periods shaded.

use kxian_shared::mine::MineReport;
use serde_json::{Value, json};

pub fn cumulative_ic_option(r: &MineReport) -> Value {
    let mut series: Vec<Value> = r
        .formulas
        .iter()
        .chain(r.combined.iter())
        .chain(r.baselines.iter())
        .take(6)
        .map(|f| {
            let data: Vec<Value> = f
                .cumulative_ic
                .iter()
                .map(|(d, v)| json!([d.to_string(), v]))
                .collect();
            json!({"name": f.formula, "type": "line", "showSymbol": false, "data": data})
        })
        .collect();
    if let Some(first) = series.first_mut() {
        first["markArea"] = json!({
            "silent": true,
            "itemStyle": {"color": "rgba(120, 120, 120, 0.12)"},
            "data": [
                [{"name": "validation", "xAxis": r.validation.from.to_string()},
                 {"xAxis": r.validation.to.to_string()}],
                [{"name": "test", "xAxis": r.test.from.to_string()},
                 {"xAxis": r.test.to.to_string()}]
            ]
        });
    }
    json!({
        "animation": false,
        "tooltip": {"trigger": "axis"},
        "legend": {"top": 0, "type": "scroll"},
        "grid": {"left": 60, "right": 30, "top": 40, "bottom": 40},
        "xAxis": {"type": "time"},
        "yAxis": {"type": "value", "name": "Σ rank IC", "scale": true},
        "series": series
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use kxian_shared::mine::{Formula, MineReport, Period};

    fn d(s: &str) -> chrono::NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn one_line_a_formula_with_the_later_periods_shaded() {
        let f = |name: &str| Formula {
            formula: name.into(),
            size: 2,
            train_ic: 0.1,
            validation_ic: 0.1,
            validation_t: 4.0,
            test_ic: 0.1,
            test_icir: 1.0,
            turnover: 0.2,
            decay: vec![],
            cumulative_ic: vec![(d("2020-01-02"), 0.1), (d("2020-01-03"), 0.25)],
        };
        let p = |a: &str, b: &str| Period {
            from: d(a),
            to: d(b),
        };
        let r = MineReport {
            tried: 10,
            generations: 2,
            resumed_at: 0,
            seconds: 1.0,
            formulas: vec![f("rank($close)"), f("-($open)")],
            combined: Some(f("(rank(rank($close)) + rank(-($open)))")),
            baselines: vec![],
            train: p("2019-01-02", "2019-12-31"),
            validation: p("2020-01-02", "2020-06-30"),
            test: p("2020-07-01", "2020-12-31"),
            horizon: 5,
        };
        let o = cumulative_ic_option(&r);
        let series = o["series"].as_array().unwrap();
        assert_eq!(series.len(), 3);
        assert_eq!(series[0]["data"][1], json!(["2020-01-03", 0.25]));
        let areas = &series[0]["markArea"]["data"];
        assert_eq!(areas[0][0]["xAxis"], "2020-01-02");
        assert_eq!(areas[1][1]["xAxis"], "2020-12-31");
    }
}
