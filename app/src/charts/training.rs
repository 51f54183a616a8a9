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
