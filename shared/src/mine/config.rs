//! The `[mine]` section of a mining file.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// A span of as-of dates, both ends included.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Period {
    #[serde(deserialize_with = "day")]
    pub from: NaiveDate,
    #[serde(deserialize_with = "day")]
    pub to: NaiveDate,
}

/// A TOML date (`2015-01-05`) or the same as a string.
fn day<'de, D: serde::Deserializer<'de>>(d: D) -> Result<NaiveDate, D::Error> {
    crate::backtest::schema::toml_date(d)?
        .ok_or_else(|| serde::de::Error::custom("a day like 2015-01-05"))
}

impl Period {
    pub fn holds(&self, d: NaiveDate) -> bool {
        self.from <= d && d <= self.to
    }
}

/// A whole mining file: the universe as everywhere, and `[mine]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MineConfig {
    pub universe: crate::backtest::schema::UniverseConfig,
    pub mine: MineSection,
}

fn horizon() -> usize {
    5
}
fn seconds() -> f64 {
    60.0
}
fn seed() -> u64 {
    1
}
fn population() -> usize {
    200
}
fn generations() -> usize {
    20
}
fn rounds() -> usize {
    2
}
fn tournament() -> usize {
    5
}
fn max_depth() -> usize {
    6
}
fn max_size() -> usize {
    25
}
fn size_penalty() -> f64 {
    0.0005
}
fn correlation_penalty() -> f64 {
    0.05
}
fn max_correlation() -> f64 {
    0.7
}
fn min_validation_ic() -> f64 {
    0.01
}
fn min_validation_t() -> f64 {
    3.0
}
fn checked() -> usize {
    20
}
fn keep() -> usize {
    3
}
fn yes() -> bool {
    true
}

/// `[mine]`: the periods, and the search's knobs (all but the periods have defaults).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MineSection {
    /// Bars ahead the forward return is read.
    #[serde(default = "horizon")]
    pub horizon: usize,
    pub train: Period,
    pub validation: Period,
    pub test: Period,
    /// Stop the search after this long (what was found so far is reported).
    #[serde(default = "seconds")]
    pub max_seconds: f64,
    #[serde(default = "seed")]
    pub seed: u64,
    #[serde(default = "population")]
    pub population: usize,
    /// Generations in all, shared out over the rounds.
    #[serde(default = "generations")]
    pub generations: usize,
    /// Searches one after the other; each avoids the formulas the earlier ones accepted.
    #[serde(default = "rounds")]
    pub rounds: usize,
    #[serde(default = "tournament")]
    pub tournament: usize,
    #[serde(default = "max_depth")]
    pub max_depth: usize,
    /// Nodes in a tree, at most.
    #[serde(default = "max_size")]
    pub max_size: usize,
    /// Training fitness lost per node.
    #[serde(default = "size_penalty")]
    pub size_penalty: f64,
    /// Training fitness lost per unit of correlation with an accepted formula.
    #[serde(default = "correlation_penalty")]
    pub correlation_penalty: f64,
    /// A formula this correlated with an accepted one is a duplicate.
    #[serde(default = "max_correlation")]
    pub max_correlation: f64,
    /// Validation rank IC a formula needs, in absolute value and with the training sign.
    #[serde(default = "min_validation_ic")]
    pub min_validation_ic: f64,
    /// And its t statistic (mean over standard error of the daily ICs).
    #[serde(default = "min_validation_t")]
    pub min_validation_t: f64,
    /// The best formulas by training fitness that are checked on validation, per round.
    #[serde(default = "checked")]
    pub checked_per_round: usize,
    /// Formulas accepted per round, at most.
    #[serde(default = "keep")]
    pub keep_per_round: usize,
    /// The 24 factors among the terminals, beside the price fields.
    #[serde(default = "yes")]
    pub factors: bool,
    /// Formulas of your own, reported beside the mined ones on the same periods (never mined).
    #[serde(default)]
    pub baselines: Vec<String>,
}

impl MineSection {
    /// The periods must follow one another: train, then validation, then test.
    pub fn check(&self) -> Result<(), String> {
        for (name, p) in [
            ("train", self.train),
            ("validation", self.validation),
            ("test", self.test),
        ] {
            if p.from > p.to {
                return Err(format!(
                    "mine.{name}: `from` {} is after `to` {}",
                    p.from, p.to
                ));
            }
        }
        if self.validation.from <= self.train.to {
            return Err(format!(
                "mine.validation: starts {} but training runs to {}; the periods must not overlap",
                self.validation.from, self.train.to
            ));
        }
        if self.test.from <= self.validation.to {
            return Err(format!(
                "mine.test: starts {} but validation runs to {}; the periods must not overlap",
                self.test.from, self.validation.to
            ));
        }
        if self.horizon == 0 || self.population < 4 || self.generations == 0 {
            return Err(
                "mine: horizon and generations must be at least 1, population at least 4".into(),
            );
        }
        Ok(())
    }
}

/// Parses a mining file; errors name the key.
pub fn parse(text: &str) -> Result<MineConfig, String> {
    let c: MineConfig = toml::from_str(text).map_err(|e| e.to_string())?;
    c.mine.check()?;
    Ok(c)
}
