//! A strategy driven by class probabilities (from the up/down/flat classifier, or from the
//! forecast's P(up)): thresholds on P(up) and P(down) behind a confidence gate.

use super::engine::{Context, Order, Strategy, Timing};
use crate::domain::Symbol;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The probabilities of the three outcomes over the next days, known after a day's close.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Probs {
    pub up: f64,
    pub down: f64,
    pub flat: f64,
}

impl Probs {
    /// How far `p` of the chosen class stands above the larger of the two others.
    fn margin(&self, class: Class) -> f64 {
        let (p, a, b) = match class {
            Class::Up => (self.up, self.down, self.flat),
            Class::Down => (self.down, self.up, self.flat),
        };
        p - a.max(b)
    }
}

#[derive(Clone, Copy)]
enum Class {
    Up,
    Down,
}

/// Probabilities per symbol and day. A row dated `D` is acted on at `D + 1`'s open.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Signals {
    pub by_symbol: BTreeMap<Symbol, BTreeMap<NaiveDate, Probs>>,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SignalsError {
    #[error("line {line}: {message}")]
    Row { line: usize, message: String },
    #[error("the header must name the columns symbol, date, p_up, p_down and p_flat (got `{0}`)")]
    Header(String),
}

impl Signals {
    pub fn insert(&mut self, symbol: Symbol, day: NaiveDate, probs: Probs) {
        self.by_symbol.entry(symbol).or_default().insert(day, probs);
    }

    pub fn get(&self, symbol: &Symbol, day: NaiveDate) -> Option<Probs> {
        self.by_symbol.get(symbol)?.get(&day).copied()
    }

    pub fn len(&self) -> usize {
        self.by_symbol.values().map(BTreeMap::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Reads `symbol,date,p_up,p_down,p_flat` rows (columns in any order, more allowed), the
    /// shape `evaluate-classifier --signals` writes. Each row's probabilities must be in
    /// [0, 1] and sum to 1 within 1e-3.
    pub fn from_csv(text: &str) -> Result<Signals, SignalsError> {
        let mut lines = text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty());
        let Some((_, header)) = lines.next() else {
            return Err(SignalsError::Header(String::new()));
        };
        let names: Vec<String> = header
            .trim_start_matches('\u{feff}')
            .split(',')
            .map(|c| c.trim().to_ascii_lowercase())
            .collect();
        let col = |n: &str| names.iter().position(|c| c == n);
        let (Some(cs), Some(cd), Some(cu), Some(cdn), Some(cf)) = (
            col("symbol"),
            col("date"),
            col("p_up"),
            col("p_down"),
            col("p_flat"),
        ) else {
            return Err(SignalsError::Header(header.to_string()));
        };
        let mut out = Signals::default();
        for (i, line) in lines {
            let line_no = i + 1;
            let err = |message: String| SignalsError::Row {
                line: line_no,
                message,
            };
            let cells: Vec<&str> = line.split(',').map(str::trim).collect();
            let cell = |c: usize, name: &str| {
                cells
                    .get(c)
                    .copied()
                    .ok_or_else(|| err(format!("column `{name}` is missing")))
            };
            let symbol: Symbol = cell(cs, "symbol")?
                .parse()
                .map_err(|e| err(format!("symbol: {e}")))?;
            let day: NaiveDate = cell(cd, "date")?
                .parse()
                .map_err(|_| err(format!("date: `{}` is not like 2024-01-02", cells[cd])))?;
            let p = |c: usize, name: &str| -> Result<f64, SignalsError> {
                let v: f64 = cell(c, name)?
                    .parse()
                    .map_err(|_| err(format!("{name}: `{}` is not a number", cells[c])))?;
                if !(0.0..=1.0).contains(&v) {
                    return Err(err(format!("{name}: {v} is not a probability in [0, 1]")));
                }
                Ok(v)
            };
            let probs = Probs {
                up: p(cu, "p_up")?,
                down: p(cdn, "p_down")?,
                flat: p(cf, "p_flat")?,
            };
            let sum = probs.up + probs.down + probs.flat;
            if (sum - 1.0).abs() > 1e-3 {
                return Err(err(format!("p_up + p_down + p_flat is {sum:.4}, not 1")));
            }
            out.insert(symbol, day, probs);
        }
        Ok(out)
    }

    pub fn to_csv(&self) -> String {
        let mut s = String::from("symbol,date,p_up,p_down,p_flat\n");
        for (sym, days) in &self.by_symbol {
            for (d, p) in days {
                s.push_str(&format!(
                    "{sym},{d},{:.6},{:.6},{:.6}\n",
                    p.up, p.down, p.flat
                ));
            }
        }
        s
    }
}

/// Threshold rules with a confidence gate, the parameters of `kind = "signal"`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SignalRule {
    /// Buy when P(up) is above this…
    pub buy_above: f64,
    /// …and sell a holding when P(down) is above this.
    pub sell_above: f64,
    /// The gate: the deciding class must beat the larger other class by this margin, so a
    /// 0.45 / 0.40 / 0.15 split is not taken for conviction.
    pub min_confidence: f64,
    /// At most this many holdings, each `1 / max_positions` of equity when bought.
    pub max_positions: usize,
    /// Sell after this many trading days held (the classifier's horizon), whatever the signal.
    pub hold_days: Option<usize>,
}

impl Default for SignalRule {
    fn default() -> Self {
        SignalRule {
            buy_above: 0.6,
            sell_above: 0.5,
            min_confidence: 0.1,
            max_positions: 10,
            hold_days: None,
        }
    }
}

/// [`SignalRule`] over a table of [`Signals`].
pub struct SignalStrategy<'a> {
    pub rule: SignalRule,
    pub signals: &'a Signals,
    held_since: BTreeMap<Symbol, usize>,
    day_index: usize,
}

impl<'a> SignalStrategy<'a> {
    pub fn new(rule: SignalRule, signals: &'a Signals) -> Self {
        SignalStrategy {
            rule,
            signals,
            held_since: BTreeMap::new(),
            day_index: 0,
        }
    }
}

impl Strategy for SignalStrategy<'_> {
    fn on_day(&mut self, ctx: &Context<'_>) -> Vec<Order> {
        self.day_index += 1;
        let now = self.day_index;
        self.held_since.retain(|s, _| ctx.shares(s) > 0.0);
        for (s, p) in ctx.positions {
            if p.shares > 0.0 {
                self.held_since.entry(s.clone()).or_insert(now);
            }
        }
        let rule = &self.rule;
        let mut orders = Vec::new();
        let mut exits = 0;
        for (s, since) in &self.held_since {
            let expired = rule.hold_days.is_some_and(|h| now - since + 1 >= h);
            let bearish = self.signals.get(s, ctx.day).is_some_and(|p| {
                p.down > rule.sell_above && p.margin(Class::Down) >= rule.min_confidence
            });
            if expired || bearish {
                orders.extend(ctx.order_target_weight(s, 0.0, Timing::Open));
                exits += 1;
            }
        }
        let free = rule
            .max_positions
            .saturating_sub(self.held_since.len() - exits);
        let mut candidates: Vec<(f64, &Symbol)> = ctx
            .symbols()
            .filter(|s| !self.held_since.contains_key(*s))
            .filter_map(|s| {
                let p = self.signals.get(s, ctx.day)?;
                (p.up > rule.buy_above && p.margin(Class::Up) >= rule.min_confidence)
                    .then_some((p.up, s))
            })
            .collect();
        candidates.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(b.1)));
        let weight = 1.0 / rule.max_positions.max(1) as f64;
        for (_, s) in candidates.into_iter().take(free) {
            if ctx
                .history(s)
                .last()
                .is_some_and(|b| b.ts.date() == ctx.day)
            {
                orders.extend(ctx.order_target_weight(s, weight, Timing::Open));
            }
        }
        orders
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backtest::engine::{EngineConfig, Universe, run};
    use crate::calendar::TradingCalendar;
    use crate::domain::Bar;
    use crate::rules::Side;

    fn flat_series(days: &[NaiveDate], p: f64) -> Vec<Bar> {
        days.iter()
            .map(|d| Bar {
                ts: d.and_hms_opt(0, 0, 0).unwrap(),
                open: p,
                high: p,
                low: p,
                close: p,
                volume: 1e7,
                amount: None,
            })
            .collect()
    }

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn probs(up: f64, down: f64) -> Probs {
        Probs {
            up,
            down,
            flat: 1.0 - up - down,
        }
    }

    #[test]
    fn thresholds_gate_and_exits() {
        let d = TradingCalendar::embedded()
            .trading_days_between(day(2024, 3, 1), day(2024, 3, 29))
            .to_vec();
        let a: Symbol = "600000.SH".parse().unwrap();
        let b: Symbol = "600036.SH".parse().unwrap();
        let c: Symbol = "000001.SZ".parse().unwrap();
        let mut u = Universe::new();
        for s in [&a, &b, &c] {
            u.insert(s.clone(), flat_series(&d, 10.0));
        }
        let mut sig = Signals::default();
        // Day 0: a passes threshold and gate; b passes the threshold but not the gate (0.48
        // against a flat 0.42 is a 6-point margin); c is below the threshold.
        sig.insert(a.clone(), d[0], probs(0.70, 0.10));
        sig.insert(b.clone(), d[0], probs(0.48, 0.10));
        sig.insert(c.clone(), d[0], probs(0.40, 0.10));
        // Day 4: a turns bearish; it is sold at day 5's open.
        sig.insert(a.clone(), d[4], probs(0.10, 0.70));
        let rule = SignalRule {
            buy_above: 0.45,
            sell_above: 0.5,
            min_confidence: 0.1,
            max_positions: 2,
            hold_days: None,
        };
        let cfg = EngineConfig::default();
        let r = run(&u, &cfg, &mut SignalStrategy::new(rule.clone(), &sig));
        let fills: Vec<(NaiveDate, &str, Side)> = r
            .fills
            .iter()
            .map(|f| (f.day, f.symbol.code(), f.side))
            .collect();
        assert_eq!(
            fills,
            vec![(d[1], "600000", Side::Buy), (d[5], "600000", Side::Sell)]
        );
        // Half the equity (two slots) in a, in whole lots.
        assert_eq!(r.fills[0].shares, 50_000.0);

        // hold_days = 3 sells after three days whatever the signal says.
        let held = SignalRule {
            hold_days: Some(3),
            ..rule
        };
        let mut only_a = Signals::default();
        only_a.insert(a.clone(), d[0], probs(0.70, 0.10));
        let r = run(&u, &cfg, &mut SignalStrategy::new(held, &only_a));
        let days: Vec<NaiveDate> = r.fills.iter().map(|f| f.day).collect();
        assert_eq!(days, vec![d[1], d[4]]);
    }

    #[test]
    fn csv_round_trip_and_errors_name_the_line() {
        let text = "symbol,date,p_up,p_down,p_flat\n600000.SH,2024-03-01,0.5,0.2,0.3\n";
        let s = Signals::from_csv(text).unwrap();
        assert_eq!(s.len(), 1);
        assert_eq!(Signals::from_csv(&s.to_csv()).unwrap(), s);
        let bad = [
            ("symbol,day,p_up,p_down,p_flat\n", "header"),
            (
                "symbol,date,p_up,p_down,p_flat\n600000.SH,2024-03-01,0.5,0.2,0.2\n",
                "line 2",
            ),
            (
                "symbol,date,p_up,p_down,p_flat\n600000.SH,2024-3-1x,0.5,0.2,0.3\n",
                "date",
            ),
            (
                "symbol,date,p_up,p_down,p_flat\n600000.SH,2024-03-01,1.5,0.2,0.3\n",
                "p_up",
            ),
            (
                "symbol,date,p_up,p_down,p_flat\n600000.SH,2024-03-01,0.5\n",
                "p_down",
            ),
        ];
        for (t, want) in bad {
            let e = Signals::from_csv(t).unwrap_err().to_string();
            assert!(e.contains(want), "{t:?}: {e}");
        }
    }
}
