//! Number and date formatting shared by the tables, the summary strip and the chart tooltip.
//!
//! One rule everywhere, so a reader (or a test) can match what the API returned:
//! prices with two decimals, volumes and amounts as plain integer digits (no separators),
//! optionally followed by a short 万/亿 (or K/M/B) reading aid.

use crate::i18n::Lang;
use chrono::{NaiveDateTime, Timelike};
use kxian_shared::Frequency;

/// A price in CNY with two decimals, e.g. `3201.35`.
pub fn price(x: f64) -> String {
    format!("{x:.2}")
}

/// A volume or amount as plain digits, e.g. `11833672400`.
pub fn plain(x: f64) -> String {
    format!("{:.0}", x.round())
}

/// A short reading aid for a large number: `118.34亿` / `11.83B` (two decimals at most).
pub fn compact(x: f64, lang: Lang) -> String {
    let a = x.abs();
    let (value, unit) = match lang {
        Lang::Zh if a >= 1e8 => (x / 1e8, "亿"),
        Lang::Zh if a >= 1e4 => (x / 1e4, "万"),
        Lang::En if a >= 1e9 => (x / 1e9, "B"),
        Lang::En if a >= 1e6 => (x / 1e6, "M"),
        Lang::En if a >= 1e3 => (x / 1e3, "K"),
        _ if x.fract() == 0.0 => return plain(x),
        _ => return trim_zeros(format!("{x:.2}")),
    };
    format!("{}{unit}", trim_zeros(format!("{value:.2}")))
}

fn trim_zeros(s: String) -> String {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// Plain digits followed by the compact form in parentheses when that adds something:
/// `11833672400 (118.34亿)`.
pub fn plain_with_compact(x: f64, lang: Lang) -> String {
    let p = plain(x);
    let c = compact(x, lang);
    if c == p { p } else { format!("{p} ({c})") }
}

/// A signed percentage with two decimals, e.g. `+1.23%`.
pub fn percent(x: f64) -> String {
    format!("{x:+.2}%")
}

/// A bar label: `2024-09-19` for daily and longer bars, `2024-09-19 14:31` for intraday bars.
pub fn bar_time(ts: NaiveDateTime, frequency: Frequency) -> String {
    if frequency.is_intraday() || ts.hour() != 0 || ts.minute() != 0 {
        ts.format("%Y-%m-%d %H:%M").to_string()
    } else {
        ts.format("%Y-%m-%d").to_string()
    }
}

/// The date part of a timestamp, e.g. `2024-09-19`.
pub fn date(ts: NaiveDateTime) -> String {
    ts.format("%Y-%m-%d").to_string()
}

/// `first – last` dates of a series, or `–` when unknown.
pub fn date_range(first: Option<NaiveDateTime>, last: Option<NaiveDateTime>) -> String {
    match (first, last) {
        (Some(a), Some(b)) => format!("{} – {}", date(a), date(b)),
        (Some(a), None) => date(a),
        (None, Some(b)) => date(b),
        (None, None) => "–".to_string(),
    }
}

/// Minimal HTML escaping for text put into the tooltip's HTML.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    #[test]
    fn numbers() {
        assert_eq!(price(3201.346), "3201.35");
        assert_eq!(price(7.0), "7.00");
        assert_eq!(plain(11_833_672_400.0), "11833672400");
        assert_eq!(plain(12.6), "13");
        assert_eq!(compact(11_833_672_400.0, Lang::Zh), "118.34亿");
        assert_eq!(compact(90_000_000_000.0, Lang::Zh), "900亿");
        assert_eq!(compact(74_100_000.0, Lang::Zh), "7410万");
        assert_eq!(compact(123_456.0, Lang::Zh), "12.35万");
        assert_eq!(compact(999.0, Lang::Zh), "999");
        assert_eq!(compact(0.5, Lang::Zh), "0.5");
        assert_eq!(compact(0.25, Lang::En), "0.25");
        assert_eq!(compact(11_833_672_400.0, Lang::En), "11.83B");
        assert_eq!(plain_with_compact(999.0, Lang::Zh), "999");
        assert_eq!(plain_with_compact(123_456.0, Lang::Zh), "123456 (12.35万)");
        assert_eq!(percent(1.234), "+1.23%");
        assert_eq!(percent(-0.5), "-0.50%");
    }

    #[test]
    fn times() {
        let d = NaiveDate::from_ymd_opt(2024, 9, 19).unwrap();
        assert_eq!(
            bar_time(d.and_hms_opt(0, 0, 0).unwrap(), Frequency::Daily),
            "2024-09-19"
        );
        assert_eq!(
            bar_time(d.and_hms_opt(14, 31, 0).unwrap(), Frequency::M1),
            "2024-09-19 14:31"
        );
        assert_eq!(date_range(None, None), "–");
        assert_eq!(escape_html("<a&b>"), "&lt;a&amp;b&gt;");
    }
}
