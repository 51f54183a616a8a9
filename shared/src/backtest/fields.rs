//! What a strategy's expressions read: the price fields of every bar, the 24 factors by name
//! (computed only when an expression names one), and the columns of a prediction set as
//! `pred.score`, `pred.p_up`, …
//!
//! A prediction stays in force from its as-of date for `horizon` bars of its symbol (the days
//! whose outcome it forecasts), or until the symbol's next prediction, so a strategy that
//! rebalances on other days than the set's schedule still reads the newest forecast made on
//! or before the day, never a later one.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::engine::Universe;
use crate::domain::Symbol;
use crate::expr::Panel;
use crate::features::factors::{FACTORS, factor_rows};
use crate::predictions::rows::{Detail, PredictionRow, RowKind};

/// The price fields every universe has.
pub const PRICE_FIELDS: [&str; 7] = [
    "$open", "$high", "$low", "$close", "$volume", "$amount", "$vwap",
];

/// The market regime of the universe's index on each day, as 1 or 0 (missing while the rule
/// warms up): `regime.bull`, `regime.bear`, `regime.sideways`, `regime.volatile` (see
/// [`crate::analysis::regime`]). The same for every symbol on a day.
pub const REGIME_FIELDS: [&str; 4] = [
    "regime.bull",
    "regime.bear",
    "regime.sideways",
    "regime.volatile",
];

/// Point-in-time figures from stored reference data, missing where the store has none:
/// `ref.pe` and `ref.pb` (the latest month-end figures on or before the day) and
/// `ref.northbound`, the percent of the issued A shares held through Stock Connect as disclosed
/// by the morning of the day (the holding of an earlier day).
pub const REFERENCE_FIELDS: [&str; 3] = ["ref.pe", "ref.pb", "ref.northbound"];

/// The index a universe's regime is read from: its benchmark, else CSI 300 among its series.
pub fn regime_index(universe: &Universe) -> Option<&[crate::Bar]> {
    universe.benchmark().map(|(_, b)| b).or_else(|| {
        let csi300: Symbol = "000300.SH".parse().ok()?;
        universe.series().get(&csi300).map(Vec::as_slice)
    })
}

/// Whether any of `exprs` reads a regime field.
pub fn reads_regime(exprs: &[&str]) -> bool {
    exprs.iter().any(|e| e.contains("regime."))
}

/// Where a strategy's `pred.` fields come from.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum PredictionSource {
    /// `predictions = 12`: the stored set with this id.
    Id(i64),
    /// `predictions = { name = "embedded-monthly" }`: the reader's newest stored set of this name.
    Named { name: String },
    /// `predictions = "preds.csv"`: a file written by `kxian-trainer predict`.
    File(PathBuf),
    /// Made by a retraining walk-forward (`[walk_forward] retrain = true`), not read.
    #[serde(serialize_with = "refitted")]
    Refitted,
}

fn refitted<S: serde::Serializer>(s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str("(refitted by the walk-forward)")
}

impl fmt::Display for PredictionSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PredictionSource::Id(id) => write!(f, "the stored prediction set {id}"),
            PredictionSource::Named { name } => write!(f, "the stored prediction set `{name}`"),
            PredictionSource::File(p) => write!(f, "{}", p.display()),
            PredictionSource::Refitted => f.write_str("the walk-forward's refitted models"),
        }
    }
}

impl<'de> Deserialize<'de> for PredictionSource {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit;
        const WANT: &str = "a CSV path, a stored set's id, or { name = \"…\" }";
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = PredictionSource;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(WANT)
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Self::Value, E> {
                Ok(PredictionSource::Id(v))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Self::Value, E> {
                i64::try_from(v)
                    .map(PredictionSource::Id)
                    .map_err(|_| E::custom("a set id out of range"))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(PredictionSource::File(PathBuf::from(v)))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Self::Value, A::Error> {
                use serde::de::Error;
                let mut name = None;
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "name" => name = Some(map.next_value::<String>()?),
                        other => {
                            return Err(A::Error::custom(format!(
                                "unknown key `{other}` (expected {WANT})"
                            )));
                        }
                    }
                }
                name.map(|name| PredictionSource::Named { name })
                    .ok_or_else(|| A::Error::custom("missing `name`"))
            }
        }
        d.deserialize_any(Visit)
    }
}

/// A prediction set's columns as expression fields.
fn pred_fields(kind: Option<RowKind>) -> Vec<String> {
    let mut cols: Vec<&str> = vec!["score", "p_up"];
    match kind {
        Some(RowKind::Kronos) => cols.extend(["exp_return", "q10", "q50", "q90"]),
        Some(RowKind::Classifier) => cols.extend(["p_down", "p_flat"]),
        None => cols.extend(["exp_return", "q10", "q50", "q90", "p_down", "p_flat"]),
    }
    cols.iter().map(|c| format!("pred.{c}")).collect()
}

/// A row's value of a `pred.` column.
fn pred_value(r: &PredictionRow, field: &str) -> f64 {
    match (field, &r.detail) {
        ("pred.score", _) => r.score,
        ("pred.p_up", _) => r.p_up,
        ("pred.exp_return", Detail::Kronos { exp_return, .. }) => *exp_return,
        ("pred.q10", Detail::Kronos { q10, .. }) => *q10,
        ("pred.q50", Detail::Kronos { q50, .. }) => *q50,
        ("pred.q90", Detail::Kronos { q90, .. }) => *q90,
        ("pred.p_down", Detail::Classifier { p_down, .. }) => *p_down,
        ("pred.p_flat", Detail::Classifier { p_flat, .. }) => *p_flat,
        _ => f64::NAN,
    }
}

/// The fields an expression may use: prices, the factors, and a prediction set's columns when
/// the strategy names one (all of both kinds' until the set's kind is known).
pub fn fields_for(predictions: bool, kind: Option<RowKind>) -> Vec<String> {
    let mut fields: Vec<String> = PRICE_FIELDS.iter().map(|f| f.to_string()).collect();
    fields.extend(FACTORS.iter().map(|f| f.to_string()));
    fields.extend(REGIME_FIELDS.iter().map(|f| f.to_string()));
    fields.extend(REFERENCE_FIELDS.iter().map(|f| f.to_string()));
    if predictions {
        fields.extend(pred_fields(kind));
    }
    fields
}

/// Parses each `(key, expression)` against the fields a strategy may read; the message names
/// the key (`strategy.score: …at column N`).
pub fn check_expressions(
    exprs: &[(&str, Option<&str>)],
    predictions: bool,
    kind: Option<RowKind>,
) -> Result<(), String> {
    let fields = fields_for(predictions, kind);
    for (key, e) in exprs {
        if let Some(e) = e {
            crate::expr::parse(e, &fields).map_err(|err| format!("strategy.{key}: {err}"))?;
        }
    }
    Ok(())
}

/// The universe as a panel with the columns `exprs` read: prices always, the factors they name,
/// and a prediction set's columns when the strategy has one (missing where no forecast is in
/// force, so nothing is bought on them).
pub fn panel_for(
    universe: &Universe,
    exprs: &[&str],
    predictions: bool,
    rows: Option<&[PredictionRow]>,
) -> Panel {
    let all = fields_for(predictions, None);
    let mut named = std::collections::BTreeSet::new();
    for e in exprs {
        if let Ok(parsed) = crate::expr::parse(e, &all) {
            named.extend(parsed.fields().into_iter().map(str::to_string));
        }
    }
    // Only the price columns the expressions read (a 1.25 M-bar universe is 10 MB a column).
    // `$close` alone comes from the universe's shared tables, not from every bar again.
    let mut panel = if PRICE_FIELDS
        .iter()
        .all(|f| *f == "$close" || !named.contains(*f))
    {
        let (close, present) = universe.close_rows();
        Panel {
            dates: universe.dates(),
            symbols: universe.series().keys().map(|s| s.to_string()).collect(),
            columns: named
                .contains("$close")
                .then(|| ("$close".to_string(), close))
                .into_iter()
                .collect(),
            present,
        }
    } else {
        Panel::from_series_on(
            universe.dates(),
            universe
                .series()
                .iter()
                .map(|(s, b)| (s.to_string(), b.as_slice())),
            |f| named.contains(f),
        )
    };
    let at: BTreeMap<NaiveDate, usize> = panel
        .dates
        .iter()
        .enumerate()
        .map(|(i, d)| (*d, i))
        .collect();
    let factors: Vec<usize> = (0..FACTORS.len())
        .filter(|&k| named.contains(FACTORS[k]))
        .collect();
    if !factors.is_empty() {
        let mut grids =
            vec![vec![vec![f64::NAN; panel.dates.len()]; panel.symbols.len()]; factors.len()];
        for (s, bars) in universe.series().values().enumerate() {
            for (b, row) in bars.iter().zip(factor_rows(bars)) {
                let d = at[&b.ts.date()];
                for (g, &k) in grids.iter_mut().zip(&factors) {
                    g[s][d] = row[k];
                }
            }
        }
        for (g, &k) in grids.into_iter().zip(&factors) {
            panel.insert(FACTORS[k], g);
        }
    }
    if named.contains(crate::expr::SECTOR_FIELD) {
        let code = |s: crate::reference::Sector| {
            crate::reference::Sector::ALL
                .iter()
                .position(|x| *x == s)
                .map(|i| i as f64)
        };
        let grid = dated_grid(universe, &panel, |sym, d| {
            universe.sector(sym, d).and_then(code)
        });
        panel.insert(crate::expr::SECTOR_FIELD, grid);
    }
    for field in REFERENCE_FIELDS.iter().filter(|f| named.contains(**f)) {
        let grid = dated_grid(universe, &panel, |sym, d| match *field {
            "ref.pe" => universe.valuation(sym, d).0,
            "ref.pb" => universe.valuation(sym, d).1,
            _ => universe.northbound(sym, d),
        });
        panel.insert(field, grid);
    }
    let regimes: Vec<&str> = REGIME_FIELDS
        .iter()
        .copied()
        .filter(|f| named.contains(*f))
        .collect();
    if !regimes.is_empty() {
        insert_regimes(&mut panel, universe, &regimes);
    }
    if predictions {
        let in_force = in_force(&panel, &at, rows.unwrap_or(&[]));
        let rows = rows.unwrap_or(&[]);
        for field in pred_fields(None) {
            let grid = in_force
                .iter()
                .map(|row| {
                    row.iter()
                        .map(|r| r.map_or(f64::NAN, |i| pred_value(&rows[i as usize], &field)))
                        .collect()
                })
                .collect();
            panel.insert(&field, grid);
        }
    }
    panel
}

/// A column of a point-in-time fact: `value` of each symbol on each date it has a bar, missing
/// elsewhere.
fn dated_grid(
    universe: &Universe,
    panel: &Panel,
    value: impl Fn(&Symbol, NaiveDate) -> Option<f64>,
) -> Vec<Vec<f64>> {
    universe
        .series()
        .keys()
        .zip(&panel.present)
        .map(|(sym, present)| {
            panel
                .dates
                .iter()
                .zip(present)
                .map(|(d, p)| if *p { value(sym, *d) } else { None }.unwrap_or(f64::NAN))
                .collect()
        })
        .collect()
}

/// The regime columns `wanted`: each date's regime of the index on its last bar on or before
/// the date, for every symbol with a bar that day.
fn insert_regimes(panel: &mut Panel, universe: &Universe, wanted: &[&str]) {
    use crate::analysis::regime::{Regime, daily, on_day};
    let by_date: Vec<Option<Regime>> = match regime_index(universe) {
        Some(bars) => {
            let days = daily(bars);
            panel
                .dates
                .iter()
                .map(|d| on_day(bars, &days, *d))
                .collect()
        }
        None => vec![None; panel.dates.len()],
    };
    for field in wanted {
        let r = Regime::ALL
            .into_iter()
            .find(|r| field.strip_prefix("regime.") == Some(r.as_str()));
        let grid = panel
            .present
            .iter()
            .map(|present| {
                present
                    .iter()
                    .zip(&by_date)
                    .map(|(p, today)| match (p, today) {
                        (true, Some(t)) => f64::from(u8::from(Some(*t) == r)),
                        _ => f64::NAN,
                    })
                    .collect()
            })
            .collect();
        panel.insert(field, grid);
    }
}

/// For each (symbol, date) of the panel, the row whose forecast is in force: made on or
/// before the date, at most `horizon − 1` of the symbol's bars earlier, and the newest such.
fn in_force(
    panel: &Panel,
    at: &BTreeMap<NaiveDate, usize>,
    rows: &[PredictionRow],
) -> Vec<Vec<Option<u32>>> {
    let sym: BTreeMap<&str, usize> = panel
        .symbols
        .iter()
        .enumerate()
        .map(|(i, s)| (s.as_str(), i))
        .collect();
    let mut made: Vec<Vec<Option<u32>>> = vec![vec![None; panel.dates.len()]; panel.symbols.len()];
    for (i, r) in rows.iter().enumerate() {
        if let (Some(&s), Some(&d)) = (sym.get(r.symbol.as_str()), at.get(&r.as_of)) {
            made[s][d] = Some(i as u32);
        }
    }
    for (s, row) in made.iter_mut().enumerate() {
        let mut current: Option<(u32, u32)> = None;
        for (d, slot) in row.iter_mut().enumerate() {
            if !panel.present[s][d] {
                *slot = None;
                continue;
            }
            match *slot {
                Some(i) => current = Some((i, rows[i as usize].horizon.max(1) - 1)),
                None => {
                    *slot = match current {
                        Some((i, left)) if left > 0 => {
                            current = Some((i, left - 1));
                            Some(i)
                        }
                        _ => None,
                    }
                }
            }
        }
    }
    made
}

/// Symbol positions in a panel built by [`panel_for`].
pub fn symbol_index(universe: &Universe, panel: &Panel) -> crate::domain::SymbolMap<usize> {
    let by_name: BTreeMap<&str, usize> = panel
        .symbols
        .iter()
        .enumerate()
        .map(|(i, s)| (s.as_str(), i))
        .collect();
    universe
        .symbols()
        .filter_map(|s| by_name.get(s.to_string().as_str()).map(|&i| (s.clone(), i)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::predictions::rows::classifier_row;

    fn universe(days: usize) -> Universe {
        let mut u = Universe::new();
        for (k, code) in ["600000", "000001"].iter().enumerate() {
            let bars = (0..days)
                .map(|i| {
                    let c = 10.0 + k as f64 + (i as f64 * 0.3).sin();
                    crate::Bar {
                        ts: (NaiveDate::from_ymd_opt(2024, 1, 1).unwrap()
                            + chrono::Days::new(i as u64))
                        .and_hms_opt(0, 0, 0)
                        .unwrap(),
                        open: c,
                        high: c * 1.01,
                        low: c * 0.99,
                        close: c,
                        volume: 1000.0 + i as f64,
                        amount: Some(c * 1000.0),
                    }
                })
                .collect();
            u.insert(code.parse().unwrap(), bars);
        }
        u
    }

    /// Each day's regime fields are the index's regime that day (one of the four is 1), the
    /// same for every symbol, and cutting the bars after a day changes none before it.
    #[test]
    fn regime_fields_follow_the_index_and_read_no_later_bar() {
        let with_index = |days: usize| {
            let mut u = universe(days);
            // A rise, then a fall, then wild swings.
            let index = crate::analysis::bars_of(
                NaiveDate::from_ymd_opt(2024, 1, 1).unwrap(),
                (0..days).map(|i| {
                    3000.0
                        * match i {
                            0..200 => 1.0 + i as f64 * 0.003,
                            200..400 => 1.6 - (i - 200) as f64 * 0.003,
                            _ => 1.0 + if i % 2 == 0 { 0.06 } else { 0.0 },
                        }
                }),
            );
            u.set_benchmark("000300.SH".parse().unwrap(), index);
            u
        };
        let exprs = [
            "regime.bull",
            "regime.bear",
            "regime.sideways",
            "regime.volatile",
        ];
        let full = panel_for(&with_index(700), &exprs, false, None);
        let cut = panel_for(&with_index(450), &exprs, false, None);
        let at = |p: &Panel, f: &str, d: usize| p.columns[f][0][d];
        for d in 0..450 {
            for f in exprs {
                let (a, b) = (at(&full, f, d), at(&cut, f, d));
                assert!(a == b || (a.is_nan() && b.is_nan()), "{f} day {d}");
                assert!(
                    a.is_nan() || a == full.columns[f][1][d],
                    "{f} day {d}: symbols differ"
                );
            }
        }
        let one_of = |d: usize| exprs.iter().map(|f| at(&full, f, d)).sum::<f64>();
        assert!(one_of(10).is_nan(), "warming up");
        for d in [180, 380, 650] {
            assert_eq!(one_of(d), 1.0, "day {d}");
        }
        assert_eq!(at(&full, "regime.bull", 180), 1.0);
        assert_eq!(at(&full, "regime.bear", 380), 1.0);
    }

    #[test]
    fn a_forecast_stays_in_force_for_its_horizon_and_no_earlier() {
        let u = universe(10);
        let day = |i: u64| NaiveDate::from_ymd_opt(2024, 1, 1).unwrap() + chrono::Days::new(i);
        let rows = vec![
            classifier_row("600000.SH", day(2), 3, [0.7, 0.2, 0.1]),
            classifier_row("600000.SH", day(3), 3, [0.6, 0.3, 0.1]),
            classifier_row("000001.SZ", day(5), 1, [0.4, 0.3, 0.3]),
        ];
        let p = panel_for(&u, &["pred.p_up"], true, Some(&rows));
        let s = p.symbols.iter().position(|s| s == "600000.SH").unwrap();
        let z = p.symbols.iter().position(|s| s == "000001.SZ").unwrap();
        let col = &p.columns["pred.p_up"];
        let got: Vec<String> = col[s].iter().map(|v| format!("{v:.1}")).collect();
        // Day 2's forecast until day 3's replaces it; day 3's for 3 bars (3, 4, 5).
        assert_eq!(
            got,
            [
                "NaN", "NaN", "0.7", "0.6", "0.6", "0.6", "NaN", "NaN", "NaN", "NaN"
            ]
        );
        assert!(col[z][5] == 0.4 && col[z][6].is_nan() && col[z][4].is_nan());
    }

    /// `$close` from the universe's tables is the column and the presence a walk over every
    /// bar gives, a suspended day included.
    #[test]
    fn close_from_the_shared_tables_equals_the_bars() {
        let full = universe(80);
        let mut u = Universe::new();
        for (k, (symbol, bars)) in full.series().iter().enumerate() {
            let mut bars = bars.clone();
            if k == 0 {
                bars.remove(30);
            }
            u.insert(symbol.clone(), bars);
        }
        let quick = panel_for(&u, &["$close / ref($close, 5)"], false, None);
        let walked = Panel::from_series_on(
            u.dates(),
            u.series()
                .iter()
                .map(|(s, b)| (s.to_string(), b.as_slice())),
            |f| f == "$close",
        );
        assert_eq!(quick.symbols, walked.symbols);
        assert_eq!(quick.present, walked.present);
        assert!(!quick.present[0][30] && quick.present[1][30]);
        let (a, b) = (&quick.columns["$close"], &walked.columns["$close"]);
        for (x, y) in a.iter().flatten().zip(b.iter().flatten()) {
            assert!(x == y || (x.is_nan() && y.is_nan()));
        }
    }

    #[test]
    fn factors_are_fields_computed_only_when_named() {
        let u = universe(80);
        let p = panel_for(&u, &["rank(mom_60) + rsi_14", "$close"], false, None);
        assert!(p.columns.contains_key("mom_60") && p.columns.contains_key("rsi_14"));
        assert!(!p.columns.contains_key("ret_1"));
        // Price columns too: only those named.
        assert!(!p.columns.contains_key("$open") && !p.columns.contains_key("$vwap"));
        let v = p.evaluate("mom_60").unwrap();
        // 60-day momentum exists from the 61st bar on, and is close / close 60 bars ago − 1.
        assert!(v[0][59].is_nan() && v[0][60].is_finite());
        let c = &p.columns["$close"][0];
        assert!((v[0][70] - (c[70] / c[10] - 1.0)).abs() < 1e-12);
        let err = crate::expr::parse("mom_6", &fields_for(false, None)).unwrap_err();
        assert!(err.to_string().contains("mom_60"), "{err}");
    }

    #[test]
    fn the_source_reads_as_a_path_an_id_or_a_name() {
        #[derive(Deserialize)]
        struct S {
            p: PredictionSource,
        }
        let read = |t: &str| toml::from_str::<S>(t).map(|s| s.p);
        assert_eq!(read("p = 12").unwrap(), PredictionSource::Id(12));
        assert_eq!(
            read("p = \"x.csv\"").unwrap(),
            PredictionSource::File("x.csv".into())
        );
        assert_eq!(
            read("p = { name = \"m\" }").unwrap(),
            PredictionSource::Named { name: "m".into() }
        );
        assert!(
            read("p = { nam = \"m\" }")
                .unwrap_err()
                .to_string()
                .contains("nam")
        );
    }
}
