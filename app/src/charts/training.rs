//! The finetune's loss curve.

use serde_json::{Value, json};

/// The loss curve: training loss per step for each stage, validation loss per epoch.
pub fn loss_option(points: &[(String, String, f64, f64)]) -> Value {
    let series_of = |stage: &str, kind: &str| -> Vec<Value> {
        points
            .iter()
            .filter(|p| p.0 == stage && p.1 == kind)
            .map(|p| json!([p.2, p.3]))
            .collect()
    };
    let mut series = Vec::new();
    for stage in ["tokenizer", "predictor"] {
        series.push(json!({"name": format!("{stage} loss"), "type": "line", "showSymbol": false,
            "data": series_of(stage, "step"), "yAxisIndex": if stage == "tokenizer" { 0 } else { 1 }}));
        series.push(json!({"name": format!("{stage} validation"), "type": "line", "symbolSize": 8,
            "data": series_of(stage, "val"), "yAxisIndex": if stage == "tokenizer" { 0 } else { 1 }}));
    }
    json!({
        "animation": false,
        "tooltip": {"trigger": "axis"},
        "legend": {"top": 0},
        "grid": {"left": 60, "right": 60, "top": 40, "bottom": 40},
        "xAxis": {"type": "value", "name": "step"},
        "yAxis": [{"type": "value", "name": "tokenizer", "scale": true}, {"type": "value", "name": "predictor", "scale": true}],
        "series": series
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_loss_chart_splits_stages() {
        let o = loss_option(&[
            ("tokenizer".into(), "step".into(), 1.0, 0.5),
            ("tokenizer".into(), "val".into(), 1.0, 0.4),
            ("predictor".into(), "step".into(), 1.0, 3.0),
        ]);
        assert_eq!(o["series"][0]["data"], json!([[1.0, 0.5]]));
        assert_eq!(o["series"][1]["data"], json!([[1.0, 0.4]]));
        assert_eq!(o["series"][2]["data"], json!([[1.0, 3.0]]));
        assert_eq!(o["series"][2]["yAxisIndex"], 1);
    }
}

/// One point of a zoo training's curves.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ZooPoint {
    /// A training step: its loss and the learning rate it used.
    Step { step: usize, loss: f64, lr: f64 },
    /// An epoch's validation loss, at the step it ended on.
    Val { step: usize, loss: f64 },
}

/// A zoo training's curves: training loss per step and validation loss per epoch on the
/// left axis, the learning rate on the right.
pub fn zoo_option(points: &[ZooPoint]) -> Value {
    let (mut train, mut val, mut lr) = (Vec::new(), Vec::new(), Vec::new());
    for p in points {
        match *p {
            ZooPoint::Step { step, loss, lr: r } => {
                train.push(json!([step, loss]));
                lr.push(json!([step, r]));
            }
            ZooPoint::Val { step, loss } => val.push(json!([step, loss])),
        }
    }
    json!({
        "animation": false,
        "tooltip": {"trigger": "axis"},
        "legend": {"top": 0},
        "grid": {"left": 60, "right": 70, "top": 40, "bottom": 40},
        "xAxis": {"type": "value", "name": "step"},
        "yAxis": [{"type": "value", "name": "loss", "scale": true},
                  {"type": "value", "name": "lr", "scale": true, "splitLine": {"show": false}}],
        "series": [
            {"name": "train loss", "type": "line", "showSymbol": false, "data": train},
            {"name": "validation loss", "type": "line", "symbolSize": 8, "data": val},
            {"name": "learning rate", "type": "line", "showSymbol": false, "yAxisIndex": 1,
             "lineStyle": {"type": "dashed"}, "data": lr},
        ]
    })
}

#[cfg(test)]
mod zoo_tests {
    use super::*;

    #[test]
    fn the_zoo_chart_puts_the_learning_rate_on_its_own_axis() {
        let o = zoo_option(&[
            ZooPoint::Step {
                step: 1,
                loss: 1.1,
                lr: 1e-4,
            },
            ZooPoint::Step {
                step: 2,
                loss: 1.0,
                lr: 1e-3,
            },
            ZooPoint::Val { step: 2, loss: 0.9 },
        ]);
        assert_eq!(o["series"][0]["data"], json!([[1, 1.1], [2, 1.0]]));
        assert_eq!(o["series"][1]["data"], json!([[2, 0.9]]));
        assert_eq!(o["series"][2]["data"], json!([[1, 1e-4], [2, 1e-3]]));
        assert_eq!(o["series"][2]["yAxisIndex"], 1);
    }
}
