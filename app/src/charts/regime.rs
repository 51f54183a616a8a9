//! The market regime as a band behind the candles: each period's days shaded in its colour
//! (bull red and bear green, as A-share charts colour up and down; sideways grey; volatile
//! amber), from `kxian_shared::analysis::regime`, worked out in the browser from the bars.

use kxian_shared::analysis::regime::Regime;
use serde_json::{Value, json};

/// The shade of each regime.
pub fn colour(r: Regime) -> &'static str {
    match r {
        Regime::Bull => "rgba(239, 35, 42, 0.10)",
        Regime::Bear => "rgba(20, 177, 67, 0.10)",
        Regime::Sideways => "rgba(148, 163, 184, 0.14)",
        Regime::Volatile => "rgba(245, 158, 11, 0.18)",
    }
}

/// The rule, in the page's language.
pub fn rule(lang: crate::i18n::Lang) -> &'static str {
    lang.tr(
        "规则：20日波动率处于自身历史80%分位以上且为中位数1.5倍以上为高波动；否则收盘价在120日均线上方且均线20日内上升为牛市，下方且下降为熊市，其余为震荡；新状态需连续5日确认。",
        "Rule: volatile when the 20-day volatility is at or above the 80th percentile of its own history and 1.5 times its median; else bull when the close is above its 120-day mean and the mean rose over 20 days, bear when below and falling, sideways otherwise; a new regime takes over after 5 days running.",
    )
}

/// Runs of equal regimes as `(first bar, last bar, regime)`.
pub fn runs(days: &[Option<Regime>]) -> Vec<(usize, usize, Regime)> {
    let mut out: Vec<(usize, usize, Regime)> = Vec::new();
    for (i, d) in days.iter().enumerate() {
        let Some(r) = *d else { continue };
        match out.last_mut() {
            Some(last) if last.2 == r && last.1 + 1 == i => last.1 = i,
            _ => out.push((i, i, r)),
        }
    }
    out
}

/// Shades the candle pane (series 0, on the first category axis) by regime; `names` labels
/// each regime in the page's language.
pub fn with_regime_band(
    option: &mut Value,
    days: &[Option<Regime>],
    names: impl Fn(Regime) -> String,
) {
    let cats = option["xAxis"][0]["data"].clone();
    let Some(cats) = cats.as_array() else { return };
    let areas: Vec<Value> = runs(days)
        .into_iter()
        .filter(|(a, b, _)| *a < cats.len() && *b < cats.len())
        .map(|(a, b, r)| {
            json!([
                { "name": names(r), "xAxis": cats[a], "itemStyle": { "color": colour(r) } },
                { "xAxis": cats[b] }
            ])
        })
        .collect();
    if let Some(candles) = option["series"].get_mut(0) {
        candles["markArea"] = json!({
            "silent": true,
            "label": { "show": false },
            "data": areas,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_run_of_a_regime_is_one_shaded_area() {
        use Regime::*;
        let days = [
            None,
            None,
            Some(Bull),
            Some(Bull),
            Some(Volatile),
            Some(Bear),
            Some(Bear),
        ];
        assert_eq!(runs(&days), [(2, 3, Bull), (4, 4, Volatile), (5, 6, Bear)]);
        let mut o = json!({
            "xAxis": [{ "data": ["d0", "d1", "d2", "d3", "d4", "d5", "d6"] }],
            "series": [{ "type": "candlestick" }, { "type": "bar" }]
        });
        with_regime_band(&mut o, &days, |r| r.as_str().to_string());
        let areas = o["series"][0]["markArea"]["data"].as_array().unwrap();
        assert_eq!(areas.len(), 3);
        assert_eq!(areas[0][0]["xAxis"], "d2");
        assert_eq!(areas[0][1]["xAxis"], "d3");
        assert_eq!(areas[2][0]["name"], "bear");
        assert_eq!(areas[1][0]["itemStyle"]["color"], colour(Volatile));
    }
}
