//! The limit-price rules against 25 years of real raw daily bars (HQChart 600000.SH, kept in
//! `shared/tests/data/hqchart/`): no close is ever above limit-up, and
//! the days that closed limit-up close exactly on the computed price.

use kxian_shared::Symbol;
use kxian_shared::rules::{ListingStatus, limit_prices, price_band};

#[test]
fn spd_bank_never_closes_above_limit_up_and_hits_it_exactly() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/hqchart/600000.sh.daily.csv"
    );
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let symbol = Symbol::parse("600000.SH").unwrap();
    let (mut checked, mut at_limit) = (0, 0);
    let mut prev: Option<f64> = None;
    for (i, line) in text.lines().skip(1).enumerate() {
        let f: Vec<&str> = line.split(',').collect();
        let day = chrono::NaiveDate::parse_from_str(f[0], "%Y-%m-%d").unwrap();
        let close: f64 = f[4].parse().unwrap();
        // Listing day (1999-11-10) excluded: its reference is the issue price.
        if let Some(p) = prev.filter(|_| i > 0) {
            let status = ListingStatus {
                day_of_listing: Some(i as u32 + 1),
                ..Default::default()
            };
            let band = price_band(&symbol, day, status);
            let limits = limit_prices(&symbol, day, p, band).expect("main board is limited");
            assert!(
                close <= limits.up + 1e-9,
                "{day}: close {close} above limit-up {} (prev {p})",
                limits.up
            );
            checked += 1;
            if (close - limits.up).abs() < 1e-9 {
                at_limit += 1;
            }
        }
        prev = Some(close);
    }
    eprintln!("{checked} days checked, {at_limit} closed at limit-up");
    assert!(checked > 5_000, "{checked}");
    assert!(
        at_limit >= 10,
        "SPD Bank closed limit-up only {at_limit} times?"
    );
}
