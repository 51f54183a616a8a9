//! `kxian-trainer analyze --config FILE.toml`: the market regime of an index over time and the
//! style buckets of the universe's stocks (see `kxian_shared::analysis`). The file's
//! `[universe]` is a backtest's; `[analysis]` names the index and the day.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use kxian_shared::Symbol;
use kxian_shared::analysis::{self, AnalysisReport, regime, styles};

use crate::backtest::{BacktestError, load_universe_as, resolve};
use crate::store;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum AnalysisFormat {
    /// A report to read.
    Text,
    /// One JSON object (`regime`, `volatility`, `momentum`, …).
    Json,
}

#[derive(Debug, Clone, clap::Args)]
pub struct AnalyzeArgs {
    /// A TOML file with `[universe]` (as for `backtest`) and optional `[analysis]`.
    #[arg(long)]
    pub config: PathBuf,
    #[arg(long, value_enum, default_value_t = AnalysisFormat::Text)]
    pub format: AnalysisFormat,
    /// Also write the JSON here.
    #[arg(long, short)]
    pub output: Option<PathBuf>,
    /// The store a universe reads when its file names neither `files` nor `store` (default:
    /// the one `kxian serve` uses).
    #[arg(long)]
    pub store: Option<PathBuf>,
    #[command(flatten)]
    pub reader: store::StoreReader,
}

pub fn run(args: &AnalyzeArgs) -> Result<AnalysisReport, BacktestError> {
    let text = std::fs::read_to_string(&args.config).map_err(|source| BacktestError::Read {
        path: args.config.clone(),
        source,
    })?;
    let config_err = |message: String| BacktestError::Config {
        path: args.config.clone(),
        message,
    };
    let mut c = analysis::parse(&text).map_err(|e| config_err(e.message))?;
    let base = args
        .config
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let u = &mut c.universe;
    if u.files.is_empty() && u.store.is_none() && (!u.symbols.is_empty() || u.board.is_some()) {
        u.store = Some(args.store.clone().unwrap_or_else(kxian_store::default_path));
    }
    let index: Symbol = c
        .analysis
        .index()
        .parse()
        .map_err(|e| config_err(format!("analysis.index: {e}")))?;
    let universe = load_universe_as(u, &base, args.reader)?;
    // The index is one of the universe's series, or read from its store.
    let from_store = || {
        let only_index = kxian_shared::backtest::config::UniverseConfig {
            files: Vec::new(),
            symbols: vec![index.to_string()],
            board: None,
            adjustment: None,
            benchmark: None,
            index: None,
            at: None,
            ..u.clone()
        };
        load_universe_as(&only_index, &base, args.reader).ok()
    };
    let stored = match universe.series().contains_key(&index) {
        true => None,
        false if u.store.is_some() => from_store(),
        false => None,
    };
    // The index's whole history when the universe kept it as its benchmark.
    let index_bars = universe
        .benchmark()
        .filter(|(s, _)| **s == index)
        .map(|(_, b)| b)
        .or_else(|| universe.series().get(&index).map(Vec::as_slice))
        .or_else(|| {
            stored
                .as_ref()
                .and_then(|s| s.series().get(&index))
                .map(Vec::as_slice)
        })
        .ok_or_else(|| {
            config_err(format!(
                "analysis.index: `{index}` is neither among the universe's series nor in {}; download it or add its file",
                u.store
                    .as_ref()
                    .map_or("a store (none named)".to_string(), |s| resolve(&base, s)
                        .display()
                        .to_string())
            ))
        })?;
    let stocks: std::collections::BTreeMap<String, Vec<kxian_shared::Bar>> = universe
        .series()
        .iter()
        .filter(|(s, _)| **s != index)
        .map(|(s, b)| (s.to_string(), b.clone()))
        .collect();
    let at = c.analysis.at.or_else(|| universe.dates().last().copied());
    let (volatility, momentum) = match at {
        Some(at) => (
            styles::volatility(&stocks, at),
            styles::momentum(&stocks, at),
        ),
        None => unreachable!("a loaded universe has a date"),
    };
    // Sectors, size and value / growth from the store's reference data, when it has some.
    let names: Vec<String> = stocks.keys().cloned().collect();
    let reference = match &u.store {
        Some(db) => crate::store::reference_of(&resolve(&base, db), &names)?,
        None => Default::default(),
    };
    let day = at.expect("a loaded universe has a date");
    use analysis::reference_styles as rs;
    let industry =
        (!reference.industries.is_empty()).then(|| rs::industry(&names, &reference, day));
    let has_shares = !reference.shares.is_empty();
    let size = has_shares.then(|| rs::size(&stocks, &reference, day));
    let value_growth = has_shares.then(|| rs::value_growth(&names, &reference, day));
    let unavailable = analysis::unavailable()
        .into_iter()
        .filter(|x| match x.what.as_str() {
            "industry" => industry.is_none(),
            "size" => size.is_none(),
            "value_growth" => value_growth.is_none(),
            _ => true,
        })
        .collect();
    Ok(AnalysisReport {
        symbols: stocks.len(),
        at,
        regime: regime::report(&index.to_string(), index_bars),
        volatility,
        momentum,
        industry,
        size,
        value_growth,
        unavailable,
    })
}

fn pct(x: f64, decimals: usize) -> String {
    if x.is_finite() {
        format!("{:+.*} %", decimals, x * 100.0)
    } else {
        "—".into()
    }
}

/// The report to read.
pub fn text(r: &AnalysisReport) -> String {
    let mut s = String::new();
    let g = &r.regime;
    let _ = writeln!(
        s,
        "Market regime of {}: {} (as of {})",
        g.index,
        g.current.map_or("not enough history", |c| c.as_str()),
        g.as_of.map_or("—".into(), |d| d.to_string())
    );
    let _ = writeln!(s, "  rule: {}", g.rule);
    let _ = writeln!(
        s,
        "  share of days, and the index's mean return the day after:"
    );
    for sh in &g.shares {
        let _ = writeln!(
            s,
            "    {:<9} {:>5.1} % of {:>5} days, {}",
            sh.regime.as_str(),
            sh.share * 100.0,
            sh.days,
            pct(sh.mean_next_day_return, 3)
        );
    }
    let shown = g.periods.len().min(12);
    let _ = writeln!(
        s,
        "  the last {shown} of {} periods (from, to, days, the index's return):",
        g.periods.len()
    );
    for p in &g.periods[g.periods.len() - shown..] {
        let _ = writeln!(
            s,
            "    {} → {}  {:<9} {:>4}  {}",
            p.from,
            p.to,
            p.regime.as_str(),
            p.days,
            pct(p.index_return, 1)
        );
    }
    let at = r.at.map_or("—".into(), |d| d.to_string());
    let styles = [
        ("Volatility", Some(&r.volatility)),
        ("Momentum", Some(&r.momentum)),
        ("Sectors", r.industry.as_ref()),
        ("Size", r.size.as_ref()),
        ("Value / growth", r.value_growth.as_ref()),
    ];
    for (name, b) in styles.into_iter().filter_map(|(n, b)| Some((n, b?))) {
        let _ = writeln!(s, "\n{name} of {} stocks on {at}: {}", r.symbols, b.rule);
        for bucket in &b.buckets {
            let _ = writeln!(
                s,
                "  {:<9} {:>4}  {}",
                bucket.name,
                bucket.symbols.len(),
                bucket.symbols.join(" ")
            );
        }
        if !b.too_short.is_empty() {
            let _ = writeln!(s, "  not placed: {}", b.too_short.join(" "));
        }
    }
    if !r.unavailable.is_empty() {
        let _ = writeln!(
            s,
            "\nNot in this report (the store holds no reference data):"
        );
    }
    for u in &r.unavailable {
        let _ = writeln!(s, "  {}: needs {}", u.what, u.needs);
    }
    s
}
