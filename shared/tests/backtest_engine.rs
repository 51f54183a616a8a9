//! The engine under A-share rules, on small hand-made series whose outcome can be worked out
//! on paper.

use chrono::NaiveDate;
use kxian_shared::backtest::engine::{
    Context, EngineConfig, Order, RejectReason, Slippage, Strategy, Timing, Universe, run,
};
use kxian_shared::rules::Side;
use kxian_shared::{Bar, Symbol};

fn day(d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2024, 9, d).unwrap()
}

/// Bars on the given September 2024 days: (day, open, high, low, close).
fn bars(rows: &[(u32, f64, f64, f64, f64)]) -> Vec<Bar> {
    rows.iter()
        .map(|&(d, o, h, l, c)| Bar {
            ts: day(d).and_hms_opt(0, 0, 0).unwrap(),
            open: o,
            high: h,
            low: l,
            close: c,
            volume: 1_000_000.0,
            amount: None,
        })
        .collect()
}

fn sym(s: &str) -> Symbol {
    Symbol::parse(s).unwrap()
}

/// Places a fixed list of orders after the close of given days.
struct Script(Vec<(NaiveDate, Order)>);

impl Strategy for Script {
    fn on_day(&mut self, ctx: &Context<'_>) -> Vec<Order> {
        self.0
            .iter()
            .filter(|(d, _)| *d == ctx.day)
            .map(|(_, o)| o.clone())
            .collect()
    }
}

fn order(s: &str, side: Side, shares: f64, timing: Timing) -> Order {
    Order {
        symbol: sym(s),
        side,
        shares,
        timing,
    }
}

fn flat_series() -> Vec<Bar> {
    bars(&[
        (2, 10.0, 10.2, 9.8, 10.0),
        (3, 10.0, 10.3, 9.9, 10.2),
        (4, 10.2, 10.5, 10.1, 10.4),
        (5, 10.4, 10.6, 10.3, 10.5),
    ])
}

#[test]
fn a_buy_pays_lots_minimum_commission_and_transfer_fee() {
    let mut u = Universe::new();
    u.insert(sym("600000"), flat_series());
    let cfg = EngineConfig {
        initial_cash: 100_000.0,
        ..Default::default()
    };
    let mut s = Script(vec![(
        day(2),
        order("600000", Side::Buy, 150.0, Timing::Open),
    )]);
    let r = run(&u, &cfg, &mut s);
    assert_eq!(r.fills.len(), 1);
    let f = &r.fills[0];
    assert_eq!(
        (f.day, f.shares, f.price),
        (day(3), 100.0, 10.0),
        "150 rounds down to one lot, at day 3's open"
    );
    assert!((f.fees.commission - 5.0).abs() < 1e-9 && (f.fees.transfer_fee - 0.01).abs() < 1e-9);
    // Equity at day 5's close: cash 100,000 − 1,000 − 5.01, plus 100 × 10.5.
    assert!(
        (r.equity[3] - (100_000.0 - 1_005.01 + 1_050.0)).abs() < 1e-6,
        "{:?}",
        r.equity
    );
}

#[test]
fn t_plus_one_blocks_selling_todays_buy_but_not_tomorrow() {
    let mut u = Universe::new();
    u.insert(sym("600000"), flat_series());
    let cfg = EngineConfig::default();
    let mut s = Script(vec![
        (day(2), order("600000", Side::Buy, 1000.0, Timing::Open)),
        (day(2), order("600000", Side::Sell, 1000.0, Timing::Close)),
        (day(3), order("600000", Side::Sell, 1000.0, Timing::Open)),
    ]);
    let r = run(&u, &cfg, &mut s);
    assert_eq!(r.rejections.len(), 1);
    assert_eq!(
        (r.rejections[0].day, r.rejections[0].reason),
        (day(3), RejectReason::TPlusOne)
    );
    let sell = r.fills.iter().find(|f| f.side == Side::Sell).unwrap();
    assert_eq!((sell.day, sell.price), (day(4), 10.2));
    assert!(
        (sell.fees.stamp_duty - 10_200.0 * 0.0005).abs() < 1e-9,
        "{:?}",
        sell.fees
    );

    // With T+1 switched off the same-day sell goes through.
    let cfg = EngineConfig {
        rules: kxian_shared::backtest::engine::RuleSwitches {
            t_plus_one: false,
            ..Default::default()
        },
        ..Default::default()
    };
    let mut s = Script(vec![
        (day(2), order("600000", Side::Buy, 1000.0, Timing::Open)),
        (day(2), order("600000", Side::Sell, 1000.0, Timing::Close)),
    ]);
    assert!(run(&u, &cfg, &mut s).rejections.is_empty());
}

#[test]
fn an_open_at_limit_up_blocks_the_buy_and_an_open_below_it_does_not() {
    let mut u = Universe::new();
    // Day 3 opens at limit-up (10.00 → 11.00); day 4 opens below its limit (12.10) and closes at it.
    u.insert(
        sym("600000"),
        bars(&[
            (2, 10.0, 10.0, 10.0, 10.0),
            (3, 11.0, 11.0, 11.0, 11.0),
            (4, 11.5, 12.1, 11.4, 12.1),
            (5, 12.0, 12.2, 11.9, 12.0),
        ]),
    );
    let mut s = Script(vec![
        (day(2), order("600000", Side::Buy, 1000.0, Timing::Open)),
        (day(3), order("600000", Side::Buy, 1000.0, Timing::Open)),
    ]);
    let r = run(&u, &EngineConfig::default(), &mut s);
    assert_eq!(r.rejections.len(), 1);
    assert_eq!(
        (r.rejections[0].day, r.rejections[0].reason),
        (day(3), RejectReason::LimitUp)
    );
    assert_eq!(
        (r.fills[0].day, r.fills[0].price),
        (day(4), 11.5),
        "closing at the limit does not block an open buy"
    );
}

#[test]
fn suspension_cash_and_sells_before_buys() {
    let mut u = Universe::new();
    u.insert(sym("600000"), flat_series());
    u.insert(
        sym("000001"),
        bars(&[(2, 5.0, 5.1, 4.9, 5.0), (4, 5.0, 5.1, 4.9, 5.0)]),
    ); // no bar on day 3
    let cfg = EngineConfig {
        initial_cash: 10_100.0,
        ..Default::default()
    };
    let mut s = Script(vec![
        (day(2), order("000001", Side::Buy, 100.0, Timing::Open)),
        (day(2), order("600000", Side::Buy, 2000.0, Timing::Open)),
        (day(3), order("600000", Side::Sell, 900.0, Timing::Open)),
        (day(3), order("000001", Side::Buy, 1000.0, Timing::Open)),
    ]);
    let r = run(&u, &cfg, &mut s);
    let reasons: Vec<_> = r
        .rejections
        .iter()
        .map(|x| (x.day, x.order.symbol.to_string(), x.reason))
        .collect();
    assert_eq!(
        reasons,
        vec![(day(3), "000001.SZ".to_string(), RejectReason::Suspended)]
    );
    // 2,000 × ¥10 is unaffordable with ¥10,100: cut to 1,000 shares, leaving ¥10,100 − 10,000 − 5 − 0.1.
    let buy = &r.fills[0];
    assert_eq!((buy.day, buy.shares), (day(3), 1000.0));
    // Day 4: the sell (900 → 900, leaving 100) fills before the buy, whose cash it provides.
    let day4: Vec<_> = r
        .fills
        .iter()
        .filter(|f| f.day == day(4))
        .map(|f| (f.side, f.shares))
        .collect();
    assert_eq!(day4, vec![(Side::Sell, 900.0), (Side::Buy, 1000.0)]);
}

#[test]
fn frictionless_mode_tracks_the_price_exactly() {
    let mut u = Universe::new();
    u.insert(sym("600000"), flat_series());
    let cfg = EngineConfig {
        initial_cash: 1_000.0,
        frictionless: true,
        slippage: Slippage::Bps { bps: 50.0 },
        ..Default::default()
    };
    let mut s = Script(vec![(
        day(2),
        order("600000", Side::Buy, 100.0, Timing::Open),
    )]);
    let r = run(&u, &cfg, &mut s);
    // All cash into 100 shares at day 3's open (10.0): equity follows the close, no costs.
    assert_eq!(r.fills[0].shares, 100.0);
    let expected = [1_000.0, 1_020.0, 1_040.0, 1_050.0];
    assert!(
        r.equity
            .iter()
            .zip(expected)
            .all(|(a, b)| (a - b).abs() < 1e-9),
        "{:?}",
        r.equity
    );
    assert_eq!(
        r.costs.commission + r.costs.stamp_duty + r.costs.transfer_fee,
        0.0
    );
    let m = r.metrics.unwrap();
    assert!((m.total_return - 0.05).abs() < 1e-12);
}

#[test]
fn slippage_and_odd_lot_remainders() {
    let mut u = Universe::new();
    u.insert(sym("688055"), flat_series());
    let cfg = EngineConfig {
        slippage: Slippage::Bps { bps: 10.0 },
        ..Default::default()
    };
    let mut s = Script(vec![
        (day(2), order("688055", Side::Buy, 257.0, Timing::Open)),
        (day(3), order("688055", Side::Sell, 100.0, Timing::Open)),
    ]);
    let r = run(&u, &cfg, &mut s);
    let buy = &r.fills[0];
    assert_eq!(buy.shares, 257.0, "STAR: 200 minimum, then single shares");
    assert!(
        (buy.price - 10.01).abs() < 1e-9,
        "10 bps against the buyer: {}",
        buy.price
    );
    // Selling 100 of 257 would leave 157 < 200: the whole holding goes.
    let sell = &r.fills[1];
    assert_eq!(sell.shares, 257.0);
    assert!((sell.price - 10.2 * 0.999).abs() < 1e-9);
}

/// Holds `weight` of equity in one symbol, rebalancing at every next open.
struct Hold(f64);

impl Strategy for Hold {
    fn on_day(&mut self, ctx: &Context<'_>) -> Vec<Order> {
        ctx.order_target_weight(&sym("600000"), self.0, Timing::Open)
            .into_iter()
            .collect()
    }
}

#[test]
fn target_weight_orders_size_from_equity_and_todays_close() {
    let mut u = Universe::new();
    u.insert(sym("600000"), flat_series());
    let cfg = EngineConfig {
        initial_cash: 10_000.0,
        frictionless: true,
        ..Default::default()
    };
    let r = run(&u, &cfg, &mut Hold(0.5));
    // After day 2's close (10.0) with ¥10,000: 500 shares, bought at day 3's open.
    assert_eq!((r.fills[0].day, r.fills[0].shares), (day(3), 500.0));
    // Then small rebalances keep the weight near one half.
    let last_equity = *r.equity.last().unwrap();
    let held: f64 = r
        .fills
        .iter()
        .map(|f| {
            if f.side == Side::Buy {
                f.shares
            } else {
                -f.shares
            }
        })
        .sum();
    assert!(
        (held * 10.5 / last_equity - 0.5).abs() < 0.01,
        "{held} shares of {last_equity}"
    );
}

#[test]
fn win_rate_and_exposure_by_hand() {
    let mut u = Universe::new();
    u.insert(
        sym("600000"),
        bars(&[
            (2, 10.0, 10.1, 9.9, 10.0),
            (3, 10.0, 10.1, 9.9, 10.0),
            (4, 9.5, 9.6, 9.4, 9.5),
            (5, 10.5, 10.6, 10.4, 10.5),
        ]),
    );
    let cfg = EngineConfig {
        initial_cash: 1_000.0,
        frictionless: true,
        ..Default::default()
    };
    let mut s = Script(vec![
        (day(2), order("600000", Side::Buy, 100.0, Timing::Open)),
        (day(3), order("600000", Side::Sell, 50.0, Timing::Open)),
        (day(4), order("600000", Side::Sell, 50.0, Timing::Open)),
    ]);
    let r = run(&u, &cfg, &mut s);
    // Bought 100 at 10.0; sold 50 at 9.5 (a loss) and 50 at 10.5 (a win).
    assert_eq!(r.fills.len(), 3);
    assert_eq!((r.sells, r.winning_sells), (2, 1));
    assert_eq!(r.win_rate(), Some(0.5));
    // In positions at the close: day 2 none, day 3 all, day 4 half (475 of 950), day 5 none.
    assert!(
        (r.exposure - (0.0 + 1.0 + 0.5 + 0.0) / 4.0).abs() < 1e-12,
        "{}",
        r.exposure
    );
    let none = run(&u, &cfg, &mut Script(Vec::new()));
    assert_eq!((none.win_rate(), none.exposure), (None, 0.0));
}

/// Dated inputs from the TOML file: an ST period narrows the band to 5 % on its days only,
/// the first five days after a STAR listing have no limit, and a dated suspension refuses
/// orders although the data has a bar.
#[test]
fn dated_st_listing_and_suspension_from_the_config() {
    let cfg: EngineConfig = toml::from_str(
        r#"
        initial_cash = 10_000_000
        st_periods = { "600000.SH" = [{ from = 2024-09-04, to = "2024-09-05" }] }
        listed = { "688981.SH" = 2024-09-02 }
        suspended = { "000001.SZ" = [{ from = 2024-09-04 }] }
        "#,
    )
    .unwrap();
    // 600000: +6 % opens on the 3rd (not ST: band 10 %) and the 5th (ST: band 5 %).
    let main = bars(&[
        (2, 10.0, 10.0, 10.0, 10.0),
        (3, 10.6, 10.6, 10.6, 10.0),
        (4, 10.0, 10.0, 10.0, 10.0),
        (5, 10.6, 10.6, 10.6, 10.6),
    ]);
    // 688981 listed on the 2nd: +30 % opens on day 3 (2nd trading day, no limit) and on the
    // 9th (6th trading day, 20 % band).
    let star = bars(&[
        (2, 10.0, 10.0, 10.0, 10.0),
        (3, 13.0, 13.0, 13.0, 13.0),
        (4, 13.0, 13.0, 13.0, 13.0),
        (5, 13.0, 13.0, 13.0, 13.0),
        (6, 13.0, 13.0, 13.0, 13.0),
        (9, 16.9, 16.9, 16.9, 16.9),
    ]);
    let mut u = Universe::new();
    u.insert(sym("600000"), main);
    u.insert(sym("688981"), star);
    u.insert(sym("000001.SZ"), flat_series());
    let buy = |s: &str, d: u32| (day(d), order(s, Side::Buy, 200.0, Timing::Open));
    let mut s = Script(vec![
        buy("600000", 2),
        buy("600000", 4),
        buy("688981", 2),
        buy("688981", 6),
        buy("000001.SZ", 2),
        buy("000001.SZ", 3),
    ]);
    let r = run(&u, &cfg, &mut s);
    let mut filled: Vec<(NaiveDate, String)> = r
        .fills
        .iter()
        .map(|f| (f.day, f.symbol.to_string()))
        .collect();
    filled.sort();
    assert_eq!(
        filled,
        vec![
            (day(3), "000001.SZ".into()),
            (day(3), "600000.SH".into()),
            (day(3), "688981.SH".into()),
        ]
    );
    let mut refused: Vec<(NaiveDate, String, RejectReason)> = r
        .rejections
        .iter()
        .map(|x| (x.day, x.order.symbol.to_string(), x.reason))
        .collect();
    refused.sort_by_key(|x| (x.0, x.1.clone()));
    assert_eq!(
        refused,
        vec![
            (day(4), "000001.SZ".into(), RejectReason::Suspended),
            (day(5), "600000.SH".into(), RejectReason::LimitUp),
            (day(9), "688981.SH".into(), RejectReason::LimitUp),
        ]
    );
    let e = toml::from_str::<EngineConfig>(
        "st_periods = { \"600000.SH\" = [{ from = \"2024-13-01\" }] }",
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("is not a day"), "{e}");
}

/// The frictionless engine against an independent, array-based simulation of the same
/// monthly rotation (ten random-walk symbols, top 20 % equal weight, sized at the month-end
/// close, traded at the next open, sells before buys): the equity curves agree to 1e-9.
#[test]
fn frictionless_rotation_matches_an_independent_simulation() {
    use kxian_shared::backtest::strategies::{MonthlyRotation, Weighting};
    use kxian_shared::calendar::TradingCalendar;
    let days: Vec<NaiveDate> = TradingCalendar::embedded()
        .trading_days_between(
            NaiveDate::from_ymd_opt(2022, 1, 4).unwrap(),
            NaiveDate::from_ymd_opt(2023, 12, 29).unwrap(),
        )
        .to_vec();
    let (n, t) = (10, days.len());
    let mut seed = 0x9E37_79B9_7F4A_7C15u64;
    let mut rnd = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed >> 11) as f64 / (1u64 << 53) as f64 - 0.5
    };
    let mut open = vec![vec![0.0; t]; n];
    let mut close = vec![vec![0.0; t]; n];
    let mut u = Universe::new();
    let mut codes = Vec::new();
    for i in 0..n {
        let mut p = 10.0 + i as f64;
        let mut bars = Vec::new();
        for (k, d) in days.iter().enumerate() {
            open[i][k] = p * (1.0 + 0.01 * rnd());
            p = open[i][k] * (1.0 + 0.04 * rnd());
            close[i][k] = p;
            bars.push(Bar {
                ts: d.and_hms_opt(0, 0, 0).unwrap(),
                open: open[i][k],
                high: open[i][k].max(p),
                low: open[i][k].min(p),
                close: p,
                volume: 1e9,
                amount: None,
            });
        }
        let code = format!("{:06}", 600_000 + i);
        u.insert(sym(&code), bars);
        codes.push(code);
    }
    let cfg = EngineConfig {
        initial_cash: 1_000_000.0,
        frictionless: true,
        ..Default::default()
    };
    let r = run(
        &u,
        &cfg,
        &mut MonthlyRotation {
            top_fraction: 0.2,
            weighting: Weighting::Equal,
        },
    );

    // The independent simulation: plain arrays, symbols in code order.
    let mut cash = cfg.initial_cash;
    let mut held = vec![0.0; n];
    let mut targets: Option<Vec<f64>> = None;
    let mut equity = Vec::with_capacity(t);
    for k in 0..t {
        if let Some(target) = targets.take() {
            for (i, &want) in target.iter().enumerate() {
                if want < held[i] {
                    cash += (held[i] - want) * open[i][k];
                    held[i] = want;
                }
            }
            for (i, &want) in target.iter().enumerate() {
                if want > held[i] {
                    let qty = (want - held[i]).min(cash / open[i][k]);
                    cash -= qty * open[i][k];
                    held[i] += qty;
                }
            }
        }
        let e = cash + (0..n).map(|i| held[i] * close[i][k]).sum::<f64>();
        equity.push(e);
        let month_end =
            k + 1 < t && days[k + 1].format("%m").to_string() != days[k].format("%m").to_string();
        if month_end {
            let month_start = days
                .iter()
                .position(|d| d.format("%Y%m").to_string() == days[k].format("%Y%m").to_string())
                .unwrap();
            if month_start > 0 {
                let mut ranked: Vec<(f64, usize)> = (0..n)
                    .map(|i| (close[i][k] / close[i][month_start - 1] - 1.0, i))
                    .collect();
                ranked.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
                let mut target = vec![0.0; n];
                for &(_, i) in &ranked[..2] {
                    target[i] = 0.5 * 0.998 * e / close[i][k];
                }
                targets = Some(target);
            }
        }
    }
    assert_eq!(r.equity.len(), t);
    for (k, (a, b)) in r.equity.iter().zip(&equity).enumerate() {
        assert!(
            (a - b).abs() <= 1e-9 * b,
            "day {k} ({}): engine {a} vs independent {b}",
            days[k]
        );
    }
    assert!(r.fills.len() > 40, "{} fills", r.fills.len());
}
