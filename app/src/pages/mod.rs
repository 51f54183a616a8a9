//! One module per route. Pages read the URL and wire resources; they do not style charts.

pub mod analysis;
pub mod backtest;
pub mod backtest_form;
pub mod forecast;
pub mod jobs;
pub mod not_found;
pub mod share;
pub mod symbol;
pub mod symbols;

use kxian_shared::{Adjustment, Frequency};

/// The deep link of a chart: `/symbols/000300.SH?freq=daily` (`&adj=qfq` when adjusted).
pub fn chart_href(symbol: &str, frequency: Frequency, adjustment: Adjustment) -> String {
    let mut href = format!("/symbols/{symbol}?freq={}", frequency.as_str());
    if adjustment != Adjustment::None {
        href.push_str("&adj=");
        href.push_str(adjustment.as_str());
    }
    href
}

/// Display order of a symbol's series: daily first (the default chart), then longer bars,
/// then intraday bars from coarse to fine.
pub fn frequency_rank(f: Frequency) -> u8 {
    match f {
        Frequency::Daily => 0,
        Frequency::Weekly => 1,
        Frequency::Monthly => 2,
        Frequency::M60 => 3,
        Frequency::M30 => 4,
        Frequency::M15 => 5,
        Frequency::M5 => 6,
        Frequency::M1 => 7,
    }
}

/// Sets `document.title`.
pub fn set_title(title: &str) {
    if let Some(doc) = web_sys::window().and_then(|w| w.document()) {
        doc.set_title(title);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chart_links() {
        assert_eq!(
            chart_href("000300.SH", Frequency::Daily, Adjustment::None),
            "/symbols/000300.SH?freq=daily"
        );
        assert_eq!(
            chart_href("600000.SH", Frequency::M1, Adjustment::Qfq),
            "/symbols/600000.SH?freq=1m&adj=qfq"
        );
    }
}
