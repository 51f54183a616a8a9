//! Indicators drawn over the K-lines.

/// Simple moving average of `values` over `period` bars; `None` until `period` values exist.
///
/// Rounded to 4 decimals: more is noise for prices and only bloats the option JSON.
pub fn moving_average(values: &[f64], period: usize) -> Vec<Option<f64>> {
    let mut out = Vec::with_capacity(values.len());
    if period == 0 {
        out.resize(values.len(), None);
        return out;
    }
    let mut sum = 0.0;
    for (i, v) in values.iter().enumerate() {
        sum += v;
        if i >= period {
            sum -= values[i - period];
        }
        out.push((i + 1 >= period).then(|| round4(sum / period as f64)));
    }
    out
}

fn round4(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ma_matches_a_hand_computation() {
        let v = [1.0, 2.0, 3.0, 4.0, 5.0];
        assert_eq!(
            moving_average(&v, 3),
            vec![None, None, Some(2.0), Some(3.0), Some(4.0)]
        );
        assert_eq!(moving_average(&v, 1)[4], Some(5.0));
        assert!(moving_average(&v, 6).iter().all(Option::is_none));
        assert_eq!(moving_average(&[10.0, 10.1, 10.3], 3)[2], Some(10.1333));
    }
}
