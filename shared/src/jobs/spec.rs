//! What a user submits: a download, a finetune or a published model to fetch, every choice an enum, checked before it is
//! queued.

use chrono::NaiveDate;
use serde::{Deserialize, Deserializer, Serialize};

use std::path::Path;

use super::layout::JobDir;
use crate::backtest::schema::{NumberOrName, UniverseConfig};
use crate::predictions::config::{
    Every, ForecastSettings, ModelConfig, ModelKind, OutputConfig, PredictConfig, ScheduleConfig,
};
use crate::{Adjustment, Frequency, Symbol};

/// Where a download's bars come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DownloadSource {
    /// Eastmoney's kline API as akshare calls it (no account).
    #[default]
    Eastmoney,
    /// Tushare Pro, with the user's stored token; daily bars.
    Tushare,
    /// Yahoo Finance's chart API; daily bars, no amount.
    Yahoo,
    /// A TDX quote server (the legacy protocol pytdx speaks); raw bars, daily and minutes.
    Tdx,
}

impl DownloadSource {
    pub const ALL: [DownloadSource; 4] = [
        DownloadSource::Eastmoney,
        DownloadSource::Tushare,
        DownloadSource::Yahoo,
        DownloadSource::Tdx,
    ];

    /// The name in the API, on the trainer's command line and in a series' provenance.
    pub fn as_str(self) -> &'static str {
        match self {
            DownloadSource::Eastmoney => "eastmoney",
            DownloadSource::Tushare => "tushare",
            DownloadSource::Yahoo => "yahoo",
            DownloadSource::Tdx => "tdx",
        }
    }
}

/// A whole list of the market instead of named symbols.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum UniverseChoice {
    /// Every exchange-traded fund.
    #[serde(rename = "all-etfs")]
    AllEtfs,
    /// Every A-share.
    #[serde(rename = "all-a")]
    AllA,
}

impl UniverseChoice {
    pub const ALL: [UniverseChoice; 2] = [UniverseChoice::AllEtfs, UniverseChoice::AllA];

    pub fn as_str(self) -> &'static str {
        match self {
            UniverseChoice::AllEtfs => "all-etfs",
            UniverseChoice::AllA => "all-a",
        }
    }
}

/// Which stages of Kronos a finetune trains.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stages {
    Tokenizer,
    Predictor,
    /// The tokenizer, then the predictor on the new tokenizer's tokens.
    #[default]
    Both,
}

impl Stages {
    pub const ALL: [Stages; 3] = [Stages::Tokenizer, Stages::Predictor, Stages::Both];

    pub fn as_str(self) -> &'static str {
        match self {
            Stages::Tokenizer => "tokenizer",
            Stages::Predictor => "predictor",
            Stages::Both => "both",
        }
    }

    /// The trainer's command that runs these stages.
    pub fn command(self) -> &'static str {
        match self {
            Stages::Tokenizer => "finetune-tokenizer",
            Stages::Predictor => "finetune-predictor",
            Stages::Both => "train",
        }
    }
}

/// The kind of a job, as the API lists it and the store keeps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobKind {
    Download,
    Finetune,
    FetchModel,
    Predict,
    Backtest,
    Mine,
    /// A model of the zoo (`kxian-trainer train-model`).
    TrainModel,
}

impl JobKind {
    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::Download => "download",
            JobKind::Finetune => "finetune",
            JobKind::FetchModel => "fetch_model",
            JobKind::Predict => "predict",
            JobKind::Backtest => "backtest",
            JobKind::Mine => "mine",
            JobKind::TrainModel => "train_model",
        }
    }
}

/// A download job: bars from a market-data source into the store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DownloadJob {
    #[serde(default, deserialize_with = "field_source")]
    pub source: DownloadSource,
    #[serde(default)]
    pub symbols: Vec<String>,
    /// The source's whole list instead of (or as well as) `symbols`.
    #[serde(default, deserialize_with = "field_universe")]
    pub universe: Option<UniverseChoice>,
    /// With `universe`: only this many names, those with the largest float market cap today.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    #[serde(default = "daily", deserialize_with = "field_frequency")]
    pub frequency: Frequency,
    #[serde(default, deserialize_with = "field_adjustment")]
    pub adjustment: Adjustment,
    #[serde(default)]
    pub from: Option<NaiveDate>,
    #[serde(default)]
    pub to: Option<NaiveDate>,
    /// Reference data (industries, shares, index members, ST and suspensions, from Tushare)
    /// instead of bars; shared by every user, so only an admin may ask for it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub reference: bool,
    /// With `reference`: the indices whose members to fetch (default: CSI 300, 500, 1000 and
    /// SSE 50).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub index: Vec<String>,
    /// With `reference`: today's member lists of `index` from CSIndex (no account) instead of
    /// Tushare's history; stored, each carries the stored history forward to its day.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub csindex: bool,
    /// Cross-check: download the whole range and compare it with the stored series instead of
    /// storing it; the Data page's health table shows where the two sources disagree.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub check: bool,
}

/// A finetune job: the built-in model (or one the user may see) trained on stored series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FinetuneJob {
    pub symbols: Vec<String>,
    #[serde(default, deserialize_with = "field_stages")]
    pub stages: Stages,
    #[serde(default = "one")]
    pub epochs: u32,
    #[serde(default = "sixteen")]
    pub batch_size: u32,
    #[serde(default)]
    pub lr: Option<f64>,
    #[serde(default = "ninety")]
    pub lookback: u32,
    #[serde(default = "ten")]
    pub horizon: u32,
    /// Stop each stage after this many seconds.
    #[serde(default)]
    pub max_seconds: Option<f64>,
    /// The model to start from, by id (default: the built-in `kxian-default`).
    #[serde(default)]
    pub base: Option<String>,
}

/// A published model from the Hugging Face hub (or the mirror the server's `HF_ENDPOINT`
/// names), as `kxian-trainer fetch-model` brings it: a predictor repository and the tokenizer it
/// was trained with. When it is done the server serves it like any other model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FetchModelJob {
    /// `OWNER/NAME`, e.g. `NeoQuasar/Kronos-mini`.
    pub repo: String,
    /// The tokenizer repository (default: the one the released predictor was trained with).
    #[serde(default)]
    pub tokenizer: Option<String>,
    /// A branch, tag or commit (default `main`).
    #[serde(default)]
    pub revision: Option<String>,
}

/// A prediction set: a model over stored series at each scheduled date (`kxian-trainer
/// predict`), kept in the store for its owner.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PredictJob {
    /// The stored daily series to predict (or `board`).
    #[serde(default)]
    pub symbols: Vec<String>,
    /// Every stored series of a board: main, chinext, star, bse, etf, index, …
    #[serde(default)]
    pub board: Option<String>,
    #[serde(default, deserialize_with = "field_adjustment")]
    pub adjustment: Adjustment,
    /// "day", "week_end", "month_end", or a number of bars.
    #[serde(default = "month_end")]
    pub every: String,
    #[serde(default)]
    pub from: Option<NaiveDate>,
    #[serde(default)]
    pub to: Option<NaiveDate>,
    /// The forecasting model by id (default: the built-in `kxian-default`).
    #[serde(default)]
    pub model: Option<String>,
    #[serde(default = "five")]
    pub horizon: u32,
    #[serde(default = "eight")]
    pub samples: u32,
    #[serde(default = "two_five_six")]
    pub lookback: u32,
    #[serde(default = "seven")]
    pub seed: u64,
    /// The stored set's name (default `job-<id>`).
    #[serde(default)]
    pub name: Option<String>,
}

/// Why `repo` is not a hub repository name (`OWNER/NAME`, each part letters, digits, `-`, `_`
/// and `.`), or `None` when it is one.
pub fn hub_repo_problem(repo: &str) -> Option<String> {
    let ok = repo.len() <= 200
        && repo.split('/').count() == 2
        && repo.split('/').all(|p| {
            !p.is_empty()
                && p != "."
                && p != ".."
                && p.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        });
    (!ok).then(|| {
        format!("`{repo}` is not a hub repository: expected OWNER/NAME, e.g. NeoQuasar/Kronos-mini")
    })
}

/// A job as submitted. Everything is checked ([`JobSpec::normalised`]) before it is queued.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum JobSpec {
    Download(DownloadJob),
    Finetune(FinetuneJob),
    FetchModel(FetchModelJob),
    Predict(PredictJob),
    Backtest(BacktestJob),
    Mine(MineJob),
    TrainModel(TrainModelJob),
}

/// A formula search (`kxian-trainer mine`) over the server's store as the job's owner: the
/// mining file as the CLI reads it, its universe named by symbols or a board.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MineJob {
    pub config: String,
}

/// The longest a hosted search may run.
pub const MAX_MINE_SECONDS: f64 = 3600.0;

impl MineJob {
    fn normalise(&self) -> Result<(), String> {
        if self.config.len() > MAX_BACKTEST_FILE {
            return Err(format!(
                "config: {} bytes, more than {MAX_BACKTEST_FILE}",
                self.config.len()
            ));
        }
        let c = crate::mine::config::parse(&self.config).map_err(|e| format!("config: {e}"))?;
        if !c.universe.files.is_empty() || c.universe.store.is_some() {
            return Err(
                "config: universe.files and universe.store: a hosted search reads the server's store; name symbols or a board".into(),
            );
        }
        if c.mine.max_seconds > MAX_MINE_SECONDS {
            return Err(format!(
                "config: mine.max_seconds: {} is more than a hosted search may run ({MAX_MINE_SECONDS})",
                c.mine.max_seconds
            ));
        }
        Ok(())
    }

    /// The file the trainer runs: the job's own with the server's store as the universe's.
    pub fn config_toml(&self, store: &Path) -> Result<String, String> {
        BacktestJob {
            config: self.config.clone(),
        }
        .config_toml(store)
    }
}

/// A model of the zoo (`kxian-trainer train-model`) trained on the server's store as the job's
/// owner: the training file as the CLI reads it, its series named by symbols or a board. A
/// retried job resumes from its last checkpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainModelJob {
    pub config: String,
}

/// The longest a hosted training may run; a file without `train.max_seconds` gets this.
pub const MAX_TRAIN_MODEL_SECONDS: f64 = 3600.0;

impl TrainModelJob {
    fn normalise(&self) -> Result<(), String> {
        if self.config.len() > MAX_BACKTEST_FILE {
            return Err(format!(
                "config: {} bytes, more than {MAX_BACKTEST_FILE}",
                self.config.len()
            ));
        }
        let mut c = crate::zoo::config::read(&self.config).map_err(|e| format!("config: {e}"))?;
        if !c.data.files.is_empty() || c.data.store.is_some() {
            return Err(
                "config: data.files and data.store: a hosted training reads the server's store; name symbols or a board".into(),
            );
        }
        if c.data.symbols.is_empty() && c.data.board.is_none() {
            return Err(
                "config: data.symbols: name the stored series to learn from (or data.board)".into(),
            );
        }
        // The rest is checked as the trainer will read it: with the server's store.
        c.data.store = Some("store.db".into());
        c.validate().map_err(|e| format!("config: {e}"))?;
        if let Some(m) = c.train.max_seconds
            && m > MAX_TRAIN_MODEL_SECONDS
        {
            return Err(format!(
                "config: train.max_seconds: {m} is more than a hosted training may run ({MAX_TRAIN_MODEL_SECONDS})"
            ));
        }
        Ok(())
    }

    /// The file the trainer runs: the job's own with the server's store as its data, and the
    /// hosted time limit where it names none.
    pub fn config_toml(&self, store: &Path) -> Result<String, String> {
        let mut table = with_store(&self.config, "data", store)?;
        let train = table
            .entry("train")
            .or_insert_with(|| toml::Value::Table(toml::Table::new()))
            .as_table_mut()
            .ok_or("config: train is not a table")?;
        train
            .entry("max_seconds")
            .or_insert(toml::Value::Float(MAX_TRAIN_MODEL_SECONDS));
        toml::to_string(&table).map_err(|e| e.to_string())
    }
}

/// A backtest too large for a browser tab: the same TOML file, run by `kxian-trainer backtest`
/// on the server's store as the job's owner (a retraining walk-forward too).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BacktestJob {
    /// The backtest file as the page and the CLI read it.
    pub config: String,
}

/// The largest backtest file a job takes.
pub const MAX_BACKTEST_FILE: usize = 64 * 1024;

impl BacktestJob {
    fn normalise(&self) -> Result<(), String> {
        if self.config.len() > MAX_BACKTEST_FILE {
            return Err(format!(
                "config: {} bytes, more than {MAX_BACKTEST_FILE}",
                self.config.len()
            ));
        }
        let c = crate::backtest::config::parse(&self.config)
            .map_err(|e| format!("config: {}", e.message))?;
        if !c.universe.files.is_empty() || c.universe.store.is_some() {
            return Err(
                "config: universe.files and universe.store: a hosted backtest reads the server's store; name symbols or a board".into(),
            );
        }
        if matches!(
            c.strategy,
            crate::backtest::config::StrategyConfig::Signal(_)
        ) {
            return Err("config: strategy.signal reads a local CSV; use a stored prediction set with kind = \"threshold\"".into());
        }
        let source = c.strategy.predictions();
        if let Some(crate::backtest::fields::PredictionSource::File(p)) = source {
            return Err(format!(
                "config: strategy.predictions: a hosted backtest reads stored sets, not files ({}); give a set's id or {{ name = \"…\" }}",
                p.display()
            ));
        }
        Ok(())
    }

    /// The file the trainer runs: the job's own with the server's store as the universe's.
    pub fn config_toml(&self, store: &Path) -> Result<String, String> {
        toml::to_string(&with_store(&self.config, "universe", store)?).map_err(|e| e.to_string())
    }
}

/// A job's file with the server's store as `[section].store`.
fn with_store(config: &str, section: &str, store: &Path) -> Result<toml::Table, String> {
    let mut table: toml::Table = toml::from_str(config).map_err(|e| e.to_string())?;
    table
        .get_mut(section)
        .and_then(toml::Value::as_table_mut)
        .ok_or_else(|| format!("config: no [{section}]"))?
        .insert(
            "store".into(),
            toml::Value::String(store.display().to_string()),
        );
    Ok(table)
}

fn month_end() -> String {
    "month_end".into()
}
fn five() -> u32 {
    5
}
fn eight() -> u32 {
    8
}
fn two_five_six() -> u32 {
    256
}
fn seven() -> u64 {
    7
}

fn daily() -> Frequency {
    Frequency::Daily
}
fn one() -> u32 {
    1
}
fn sixteen() -> u32 {
    16
}
fn ninety() -> u32 {
    90
}
fn ten() -> u32 {
    10
}

/// A choice read from its name, the error naming the field: a tagged enum's fields are read
/// from a buffer, where serde no longer knows their path.
fn named<'de, D: Deserializer<'de>, T>(
    d: D,
    field: &str,
    parse: impl FnOnce(&str) -> Result<T, String>,
) -> Result<T, D::Error> {
    let s = String::deserialize(d)?;
    parse(&s).map_err(|e| serde::de::Error::custom(format!("{field}: {e}")))
}

fn one_of<T: Copy>(all: &[T], name: fn(T) -> &'static str, s: &str) -> Result<T, String> {
    all.iter().copied().find(|x| name(*x) == s).ok_or_else(|| {
        let names: Vec<&str> = all.iter().map(|x| name(*x)).collect();
        format!("`{s}` is not {}", names.join(", "))
    })
}

fn field_source<'de, D: Deserializer<'de>>(d: D) -> Result<DownloadSource, D::Error> {
    named(d, "source", |s| {
        one_of(&DownloadSource::ALL, DownloadSource::as_str, s)
    })
}

fn field_universe<'de, D: Deserializer<'de>>(d: D) -> Result<Option<UniverseChoice>, D::Error> {
    match Option::<String>::deserialize(d)? {
        None => Ok(None),
        Some(s) => one_of(&UniverseChoice::ALL, UniverseChoice::as_str, &s)
            .map(Some)
            .map_err(|e| serde::de::Error::custom(format!("universe: {e}"))),
    }
}

fn field_stages<'de, D: Deserializer<'de>>(d: D) -> Result<Stages, D::Error> {
    named(d, "stages", |s| one_of(&Stages::ALL, Stages::as_str, s))
}

/// Any spelling the importers take (`1d`, `day`, `101`), stored in the canonical one.
fn field_frequency<'de, D: Deserializer<'de>>(d: D) -> Result<Frequency, D::Error> {
    named(d, "frequency", |s| {
        s.parse()
            .map_err(|e: crate::domain::ParseFrequencyError| e.to_string())
    })
}

fn field_adjustment<'de, D: Deserializer<'de>>(d: D) -> Result<Adjustment, D::Error> {
    named(d, "adjustment", |s| {
        s.parse()
            .map_err(|e: crate::domain::ParseAdjustmentError| e.to_string())
    })
}

/// Most symbols one download job names (a whole market is `universe`).
pub const MAX_DOWNLOAD_SYMBOLS: usize = 2_000;
/// Most symbols one finetune trains on.
pub const MAX_TRAIN_SYMBOLS: usize = 500;

/// Canonical spellings without repeats, at most `max`; the error names the field.
fn canonical(symbols: &[String], max: usize) -> Result<Vec<String>, String> {
    let mut seen = std::collections::BTreeSet::new();
    let mut out = Vec::with_capacity(symbols.len());
    for s in symbols {
        let c = s
            .parse::<Symbol>()
            .map_err(|e| format!("symbols: `{s}`: {e}"))?
            .to_string();
        if seen.insert(c.clone()) {
            out.push(c);
        }
    }
    if out.len() > max {
        return Err(format!(
            "symbols: {} symbols; one job takes at most {max}",
            out.len()
        ));
    }
    Ok(out)
}

impl DownloadJob {
    fn normalise(&mut self) -> Result<(), String> {
        if self.reference {
            if self.check {
                return Err("check: bars only, not reference data".into());
            }
            if !self.csindex && self.source != DownloadSource::Tushare {
                return Err(
                    "reference: reference data comes from Tushare (source: tushare)".into(),
                );
            }
            if !self.symbols.is_empty() || self.universe.is_some() {
                return Err("reference: give indices (`index`), not symbols or a universe".into());
            }
            self.index = canonical(&self.index, 16)?;
            if let Some(i) = self.index.iter().find(|i| {
                i.parse::<crate::Symbol>()
                    .map_or(true, |s| s.kind() != crate::InstrumentKind::Index)
            }) {
                return Err(format!("index: {i} is not an index"));
            }
            return self.check_dates();
        }
        if !self.index.is_empty() {
            return Err("index: only with reference: true".into());
        }
        if self.csindex {
            return Err("csindex: only with reference: true".into());
        }
        if self.check && self.universe.is_some() {
            return Err("check: name the symbols to compare, not a universe".into());
        }
        self.symbols = canonical(&self.symbols, MAX_DOWNLOAD_SYMBOLS)?;
        if self.symbols.is_empty() && self.universe.is_none() {
            return Err("symbols: give symbols or a universe (all-etfs, all-a)".into());
        }
        match (self.limit, self.universe) {
            (Some(0), _) => return Err("limit: at least 1".into()),
            (Some(_), None) => return Err("limit: only with a universe (all-etfs, all-a)".into()),
            _ => {}
        }
        self.check_dates()
    }

    fn check_dates(&self) -> Result<(), String> {
        let sane = |d: &NaiveDate| (1990..=2100).contains(&chrono::Datelike::year(d));
        for (field, d) in [("from", &self.from), ("to", &self.to)] {
            if let Some(d) = d
                && !sane(d)
            {
                return Err(format!("{field}: {d} is not between 1990 and 2100"));
            }
        }
        if let (Some(f), Some(t)) = (self.from, self.to)
            && f > t
        {
            return Err("from: after `to`".into());
        }
        Ok(())
    }
}

impl FinetuneJob {
    fn normalise(&mut self) -> Result<(), String> {
        self.symbols = canonical(&self.symbols, MAX_TRAIN_SYMBOLS)?;
        if self.symbols.is_empty() {
            return Err("symbols: at least one series to train on".into());
        }
        if !(1..=100).contains(&self.epochs) || !(1..=1024).contains(&self.batch_size) {
            return Err("epochs: 1 to 100; batch_size: 1 to 1024".into());
        }
        if self.lookback < 2 || self.horizon < 1 {
            return Err("lookback: at least 2; horizon: at least 1".into());
        }
        if self.lookback > 4096 || self.horizon > 1024 {
            return Err("lookback: at most 4096; horizon: at most 1024".into());
        }
        if let Some(lr) = self.lr
            && !(lr.is_finite() && lr > 0.0 && lr <= 1.0)
        {
            return Err(format!("lr: {lr} is not in (0, 1]"));
        }
        if let Some(m) = self.max_seconds
            && !(m.is_finite() && m > 0.0 && m <= 7.0 * 86_400.0)
        {
            return Err(format!("max_seconds: {m} is not in (0, 604800]"));
        }
        if let Some(b) = &self.base
            && (b.is_empty()
                || b.len() > 128
                || !b
                    .bytes()
                    .all(|c| c.is_ascii_alphanumeric() || b"-_.".contains(&c)))
        {
            return Err("base: a model id (letters, digits, - _ .; at most 128)".into());
        }
        Ok(())
    }
}

impl FetchModelJob {
    fn normalise(&mut self) -> Result<(), String> {
        self.repo = self.repo.trim().to_string();
        if let Some(why) = hub_repo_problem(&self.repo) {
            return Err(format!("repo: {why}"));
        }
        if let Some(t) = &mut self.tokenizer {
            *t = t.trim().to_string();
            if t.is_empty() {
                self.tokenizer = None;
            } else if let Some(why) = hub_repo_problem(t) {
                return Err(format!("tokenizer: {why}"));
            }
        }
        if let Some(r) = &self.revision {
            let r = r.trim();
            let ok = !r.is_empty()
                && r.len() <= 128
                && !r.contains("..")
                && !r.starts_with('/')
                && r.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c));
            if !ok {
                return Err(format!(
                    "revision: `{r}` is not a branch, tag or commit (letters, digits, - _ . /)"
                ));
            }
            self.revision = Some(r.to_string());
        }
        Ok(())
    }
}

/// The model a job uses when it names none (the server's built-in one).
pub const DEFAULT_MODEL_ID: &str = "kxian-default";

/// Most symbols one prediction job names (a whole board is `board`).
pub const MAX_PREDICT_SYMBOLS: usize = 2_000;

impl PredictJob {
    fn normalise(&mut self) -> Result<(), String> {
        self.symbols = canonical(&self.symbols, MAX_PREDICT_SYMBOLS)?;
        if let Some(b) = &self.board {
            let b = b.trim().to_ascii_lowercase();
            if b.is_empty() || b.len() > 16 || !b.bytes().all(|c| c.is_ascii_lowercase()) {
                return Err(format!(
                    "board: `{b}` is not a board name (main, chinext, star, etf, index, …)"
                ));
            }
            self.board = Some(b);
        }
        if self.symbols.is_empty() && self.board.is_none() {
            return Err("symbols: give symbols or a board".into());
        }
        let every = self.every.trim();
        let ok = self
            .schedule(every)
            .is_ok_and(|e| !matches!(e, Every::Bars(n) if n > 10_000));
        if !ok {
            return Err(format!(
                "every: `{every}` is not day, week_end, month_end or a number of bars"
            ));
        }
        self.every = every.to_string();
        if let (Some(f), Some(t)) = (self.from, self.to)
            && f > t
        {
            return Err("from: after `to`".into());
        }
        if !(1..=250).contains(&self.horizon) || !(1..=256).contains(&self.samples) {
            return Err("horizon: 1 to 250; samples: 1 to 256".into());
        }
        if !(2..=2048).contains(&self.lookback) {
            return Err("lookback: 2 to 2048".into());
        }
        for (field, v) in [("model", &self.model), ("name", &self.name)] {
            if let Some(v) = v
                && (v.is_empty()
                    || v.len() > 128
                    || !v
                        .bytes()
                        .all(|c| c.is_ascii_alphanumeric() || b"-_.".contains(&c)))
            {
                return Err(format!("{field}: letters, digits, - _ .; at most 128"));
            }
        }
        Ok(())
    }

    /// `every` as the predict file reads it: a name, or a number of bars.
    fn schedule(&self, every: &str) -> Result<Every, String> {
        Every::try_from(match every.parse::<i64>() {
            Ok(n) => NumberOrName::N(n),
            Err(_) => NumberOrName::Name(every.to_string()),
        })
    }

    /// The `predict` file for this job: the store as the universe, the job's folder for the
    /// model (copied in by the runner) and the output.
    pub fn config_toml(&self, store: &Path, dir: &JobDir, id: i64) -> String {
        let base = dir.base();
        let config = PredictConfig {
            universe: UniverseConfig {
                store: Some(store.to_path_buf()),
                symbols: self.symbols.clone(),
                board: self.board.clone(),
                adjustment: Some(self.adjustment),
                ..UniverseConfig::default()
            },
            model: ModelConfig {
                kind: ModelKind::Kronos,
                tokenizer: Some(base.join("tokenizer")),
                predictor: Some(base.join("predictor")),
                path: None,
                name: Some(
                    self.model
                        .as_deref()
                        .unwrap_or(DEFAULT_MODEL_ID)
                        .to_string(),
                ),
            },
            schedule: ScheduleConfig {
                every: self.schedule(&self.every).unwrap_or(Every::MonthEnd),
                from: self.from,
                to: self.to,
            },
            forecast: ForecastSettings {
                horizon: self.horizon as usize,
                samples: self.samples as usize,
                lookback: self.lookback as usize,
                seed: self.seed,
                ..ForecastSettings::default()
            },
            output: OutputConfig {
                csv: Some(dir.predictions_csv()),
                parquet: Some(dir.predictions_parquet()),
                store: Some(store.to_path_buf()),
                name: Some(self.name.clone().unwrap_or_else(|| format!("job-{id}"))),
            },
        };
        toml::to_string(&config).expect("a predict file serialises to TOML")
    }
}

impl JobSpec {
    /// The spec as it is stored and run: every bound holds, symbols are in canonical
    /// spelling without repeats, and the error names the field.
    pub fn normalised(mut self) -> Result<JobSpec, String> {
        match &mut self {
            JobSpec::Download(d) => d.normalise()?,
            JobSpec::Finetune(f) => f.normalise()?,
            JobSpec::FetchModel(m) => m.normalise()?,
            JobSpec::Predict(p) => p.normalise()?,
            JobSpec::Backtest(b) => b.normalise()?,
            JobSpec::Mine(m) => m.normalise()?,
            JobSpec::TrainModel(m) => m.normalise()?,
        }
        Ok(self)
    }

    pub fn kind(&self) -> JobKind {
        match self {
            JobSpec::Download(_) => JobKind::Download,
            JobSpec::Finetune(_) => JobKind::Finetune,
            JobSpec::FetchModel(_) => JobKind::FetchModel,
            JobSpec::Predict(_) => JobKind::Predict,
            JobSpec::Backtest(_) => JobKind::Backtest,
            JobSpec::Mine(_) => JobKind::Mine,
            JobSpec::TrainModel(_) => JobKind::TrainModel,
        }
    }

    /// The symbols the job names, as submitted or normalised.
    pub fn symbols(&self) -> &[String] {
        match self {
            JobSpec::Download(d) => &d.symbols,
            JobSpec::Finetune(f) => &f.symbols,
            JobSpec::FetchModel(_) => &[],
            JobSpec::Predict(p) => &p.symbols,
            JobSpec::Backtest(_) | JobSpec::Mine(_) | JobSpec::TrainModel(_) => &[],
        }
    }
}
