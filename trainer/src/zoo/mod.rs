//! `kxian-trainer train-model` and `evaluate-model`: the model zoo's one training file
//! (`[data]`, `[model]`, `[target]`, `[loss]`, `[train]`) for every backbone and target.
//!
//! Samples are (series, decision bar). The split is chronological by decision day: a
//! training sample whose outcome reaches the validation start is dropped, and likewise a
//! validation sample reaching the test start, so no part sees another part's outcomes.
//! The model card's figures come from the test part.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use chrono::NaiveDate;
use kxian_shared::Bar;
use kxian_shared::Symbol;
use kxian_shared::features::classify::Market;
use kxian_shared::features::factors::{FACTORS, factor_rows};
use kxian_shared::zoo::config::{self as zoo_config, ZooConfig};
use kxian_shared::zoo::target::{Component, Thresholds, Truth, Value, truth};

use crate::cli_error::BadInput;
use crate::input::{self, import_options};

mod conditions;
mod evaluate;
mod train;
mod trees;

pub use evaluate::{EvaluateModelArgs, ModelEvaluation, ModelFormat, evaluate};
pub use kxian_shared::zoo::card::table;
pub use train::{TrainModelArgs, TrainedModel, train};

/// One series with its factor rows, already standardised where a model needs them.
pub(crate) struct Series {
    pub symbol: Symbol,
    pub bars: Vec<Bar>,
    /// `[bar][factor]`, raw (NaN where a factor is not defined yet).
    pub factors: Vec<[f64; 24]>,
}

/// The data of a training file: the series, the market and the config itself.
pub(crate) struct Data {
    pub config: ZooConfig,
    pub series: Vec<Series>,
    pub market: Option<Market>,
    /// The market's bars, for the regime of each day.
    pub market_bars: Option<Vec<Bar>>,
    /// The market's days, for the `market` feature set.
    pub market_days: Option<MarketDays>,
    /// Every bar's condition ids, per series.
    pub ids: Vec<Vec<conditions::Ids>>,
}

fn resolve(base: &Path, p: &Path) -> PathBuf {
    crate::backtest::resolve(base, p)
}

/// Reads and checks the training file, with `change` applied before the check; a bad file
/// is bad input naming the file and key.
pub(crate) fn read_config(
    path: &Path,
    change: impl FnOnce(&mut ZooConfig),
) -> anyhow::Result<ZooConfig> {
    let text =
        std::fs::read_to_string(path).map_err(|e| BadInput(format!("{}: {e}", path.display())))?;
    let bad = |e: zoo_config::ZooConfigError| BadInput(format!("{}: {e}", path.display()));
    let mut c = zoo_config::read(&text).map_err(bad)?;
    change(&mut c);
    c.validate().map_err(bad)?;
    Ok(c)
}

/// The bars the file names (files relative to the file's folder, then the store).
pub(crate) fn load(
    config: ZooConfig,
    config_path: &Path,
    reader: crate::store::StoreReader,
) -> anyhow::Result<Data> {
    let base = config_path
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let d = &config.data;
    let mut series = Vec::new();
    let mut add = |symbol: Symbol, bars: Vec<Bar>| {
        let factors = factor_rows(&bars);
        series.push(Series {
            symbol,
            bars,
            factors,
        });
    };
    for f in &d.files {
        let path = resolve(&base, f);
        let s = input::load(&path, &import_options(d.skip_invalid), None)?.series;
        add(s.symbol, s.bars);
    }
    if let Some(db) = &d.store {
        let sel = crate::store::StoreSelection {
            store: Some(resolve(&base, db)),
            symbols: d.symbols.clone(),
            board: d.board.clone(),
            frequency: kxian_shared::Frequency::Daily,
            adjustment: kxian_shared::Adjustment::None,
            from: None,
            to: None,
            reader,
        };
        for (symbol, bars) in crate::store::load(&sel, &resolve(&base, db))? {
            let symbol = symbol
                .parse()
                .map_err(|e| anyhow::anyhow!("store symbol {symbol}: {e}"))?;
            add(symbol, bars);
        }
    }
    let market_bars = match &d.market {
        None => None,
        Some(name) => {
            let want: Symbol = name
                .parse()
                .map_err(|e| BadInput(format!("data.market `{name}`: {e}")))?;
            let i = series
                .iter()
                .position(|s| s.symbol == want)
                .ok_or_else(|| BadInput(format!("data.market: {want} is not among the series")))?;
            Some(series.remove(i).bars)
        }
    };
    let market = market_bars.as_deref().map(Market::new);
    let market_days = market_bars.as_deref().map(MarketDays::new);
    crate::ensure_input!(!series.is_empty(), "data: no series to learn from");
    let reference = match &d.store {
        Some(db) => {
            let names: Vec<String> = series.iter().map(|s| s.symbol.to_string()).collect();
            let data = crate::store::reference_of(&resolve(&base, db), &names)?;
            let mut u = kxian_shared::backtest::engine::Universe::new();
            u.set_point_in_time(kxian_shared::backtest::engine::PointInTime::from_reference(
                data, None,
            ));
            Some(u)
        }
        None => None,
    };
    let download = "run `kxian-trainer download --reference` into the store (data.store)";
    let wants_sectors =
        d.conditions.contains(&zoo_config::Condition::Industry) || d.industry.is_some();
    crate::ensure_input!(
        !wants_sectors || reference.as_ref().is_some_and(|u| u.has_sectors()),
        "data.conditions: `industry` (and data.industry) need the stocks' industries, and {} has none; {download}",
        d.store
            .as_ref()
            .map_or("a run without data.store".into(), |p| p
                .display()
                .to_string())
    );
    crate::ensure_input!(
        !d.conditions.contains(&zoo_config::Condition::Style)
            || reference.as_ref().is_some_and(|u| u.has_float_shares()),
        "data.conditions: `style` needs the stocks' float shares, and {} has none; {download}",
        d.store
            .as_ref()
            .map_or("a run without data.store".into(), |p| p
                .display()
                .to_string())
    );
    let ids = conditions::ids(&series, reference.as_ref(), market_bars.as_deref());
    Ok(Data {
        config,
        series,
        market,
        market_bars,
        market_days,
        ids,
    })
}

/// One sample: series index and decision bar.
pub(crate) type Sample = (usize, usize);

pub(crate) use kxian_shared::zoo::inputs::{Featurizer, MarketDays, input_width};

/// Each factor's mean and standard deviation over the training bars (NaN skipped).
pub(crate) fn factor_norm(series: &[Series], train_until: NaiveDate) -> Vec<[f64; 2]> {
    (0..FACTORS.len())
        .map(|k| {
            let xs: Vec<f64> = series
                .iter()
                .flat_map(|s| {
                    s.bars
                        .iter()
                        .zip(&s.factors)
                        .filter(|(b, _)| b.ts.date() < train_until)
                        .map(move |(_, f)| f[k])
                })
                .filter(|x| x.is_finite())
                .collect();
            mean_sd(&xs)
        })
        .collect()
}

pub(crate) fn mean_sd(xs: &[f64]) -> [f64; 2] {
    if xs.is_empty() {
        return [0.0, 1.0];
    }
    let n = xs.len() as f64;
    let m = xs.iter().sum::<f64>() / n;
    let sd = (xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / n).sqrt();
    [m, if sd > 1e-12 { sd } else { 1.0 }]
}

/// The split's two dates: given, or cut so the last fractions of all bar-days fall after them.
pub(crate) fn split_dates(series: &[Series], c: &ZooConfig) -> (NaiveDate, NaiveDate) {
    let s = &c.data.split;
    let mut days: Vec<NaiveDate> = series
        .iter()
        .flat_map(|x| x.bars.iter().map(|b| b.ts.date()))
        .collect();
    days.sort_unstable();
    let at = |share: f64| days[((days.len() as f64 * share) as usize).min(days.len() - 1)];
    let test = s.test_from.unwrap_or_else(|| at(1.0 - s.test_fraction));
    let val = s
        .val_from
        .unwrap_or_else(|| at(1.0 - s.test_fraction - s.val_fraction));
    (val, test)
}

pub(crate) fn thresholds(c: &ZooConfig) -> Thresholds {
    let t = &c.target;
    Thresholds {
        horizon: t.horizon,
        up: t.up,
        down: t.down,
        strong_down: t.strong_down,
        threshold: t.threshold,
    }
}

/// The samples of each part with their truths. A sample needs the longest context before
/// it and `horizon` bars after it.
pub(crate) struct Samples {
    pub train: Vec<(Sample, Truth)>,
    pub val: Vec<(Sample, Truth)>,
    pub test: Vec<(Sample, Truth)>,
    /// The last outcome day training saw.
    pub trained_until: Option<NaiveDate>,
}

pub(crate) fn samples(
    data: &Data,
    parts: &[Component],
    th: &Thresholds,
    context: usize,
    (val_from, test_from): (NaiveDate, NaiveDate),
) -> Samples {
    let mut out = Samples {
        train: Vec::new(),
        val: Vec::new(),
        test: Vec::new(),
        trained_until: None,
    };
    let industry = data
        .config
        .data
        .industry
        .as_deref()
        .and_then(kxian_shared::reference::Sector::parse);
    for (i, s) in data.series.iter().enumerate() {
        for t in context..s.bars.len() {
            if industry.is_some_and(|g| !conditions::in_industry(&data.ids, i, t, g)) {
                continue;
            }
            let Some(truth) = truth(parts, th, &s.bars, t) else {
                continue;
            };
            let (day, outcome) = (s.bars[t].ts.date(), s.bars[t + th.horizon].ts.date());
            if day < val_from {
                if outcome < val_from {
                    out.train.push(((i, t), truth));
                    out.trained_until = out.trained_until.max(Some(outcome));
                }
            } else if day < test_from {
                if outcome < test_from {
                    out.val.push(((i, t), truth));
                }
            } else {
                out.test.push(((i, t), truth));
            }
        }
    }
    out
}

/// The class of a sample's classification part, if the target has one.
pub(crate) fn class_of(t: &Truth) -> Option<usize> {
    t.values.iter().find_map(|v| match v {
        Value::Class(k) => Some(*k),
        Value::Real(_) => None,
    })
}

/// The numeric parts' values of a sample, in order.
pub(crate) fn reals_of(t: &Truth) -> Vec<f64> {
    t.values
        .iter()
        .filter_map(|v| match v {
            Value::Real(x) => Some(*x),
            Value::Class(_) => None,
        })
        .collect()
}

pub(crate) fn write_json(path: &Path, value: &impl serde::Serialize) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(value)? + "\n";
    std::fs::write(path, text).with_context(|| format!("{}: cannot write", path.display()))
}
