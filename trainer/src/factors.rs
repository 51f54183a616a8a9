//! `kxian-trainer factors --config FILE.toml`: the 24 factors over a universe, their IC and
//! rank IC against forward returns, and their correlation matrix. The file's `[universe]` is
//! the backtest's (a backtest file works as it is); `[factors]` sets the horizon.
//!
//! ```toml
//! [universe]
//! store = "~/.local/share/kxian/kxian.db"
//! board = "main"
//! from = 2018-01-02
//!
//! [factors]
//! horizon = 5        # forward return in trading days
//! min_symbols = 5    # days with fewer symbols are skipped
//! ```

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use kxian_shared::backtest::config::UniverseConfig;
use kxian_shared::features::factors::{DESCRIPTIONS, FACTORS, factor_rows};
use kxian_shared::features::ic::{IcOptions, IcReport, ic_report};
use serde::Deserialize;

use crate::backtest::{BacktestError, load_universe};

#[derive(Debug, Clone, clap::Args)]
pub struct FactorsArgs {
    /// A TOML file with `[universe]` (as for `backtest`) and optional `[factors]`.
    #[arg(long)]
    pub config: PathBuf,
    /// Forward return horizon in trading days (overrides `[factors]` horizon).
    #[arg(long)]
    pub horizon: Option<usize>,
    /// Write the report (IC table and correlation matrix) as JSON here.
    #[arg(long, short)]
    pub output: Option<PathBuf>,
    /// Write every factor value as CSV here: symbol, date, then the 24 factors.
    #[arg(long)]
    pub values: Option<PathBuf>,
}

#[derive(Debug, Deserialize)]
struct FactorsFile {
    universe: UniverseConfig,
    #[serde(default)]
    factors: IcOptions,
}

pub fn run(args: &FactorsArgs) -> Result<(String, IcReport), BacktestError> {
    let text = std::fs::read_to_string(&args.config).map_err(|source| BacktestError::Read {
        path: args.config.clone(),
        source,
    })?;
    let config_err = |message: String| BacktestError::Config {
        path: args.config.clone(),
        message,
    };
    let mut file: FactorsFile = toml::from_str(&text).map_err(|e| config_err(e.to_string()))?;
    if let Some(h) = args.horizon {
        file.factors.horizon = h;
    }
    if file.factors.horizon == 0 {
        return Err(config_err("factors.horizon: at least 1 trading day".into()));
    }
    let base = args
        .config
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let universe = load_universe(&file.universe, &base)?;
    if let Some(path) = &args.values {
        let mut csv = format!("symbol,date,{}\n", FACTORS.join(","));
        for (sym, bars) in universe.series() {
            for (b, row) in bars.iter().zip(factor_rows(bars)) {
                let cells: Vec<String> = row
                    .iter()
                    .map(|x| {
                        if x.is_nan() {
                            String::new()
                        } else {
                            format!("{x:.6}")
                        }
                    })
                    .collect();
                let _ = writeln!(csv, "{sym},{},{}", b.ts.date(), cells.join(","));
            }
        }
        std::fs::write(path, csv).map_err(|source| BacktestError::Read {
            path: path.clone(),
            source,
        })?;
    }
    let report = ic_report(universe.series(), file.factors);
    Ok((table(&report), report))
}

fn num(x: f64, digits: usize) -> String {
    if x.is_finite() {
        format!("{x:.digits$}")
    } else {
        "-".to_string()
    }
}

/// The IC table, strongest rank IC first, and the most correlated pairs.
pub fn table(r: &IcReport) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{} symbols, {} days with at least {} symbols, forward return over {} days",
        r.symbols, r.days, r.options.min_symbols, r.options.horizon
    );
    let _ = writeln!(
        s,
        "{:<16}{:>8}{:>8}{:>8}{:>9}{:>8}{:>8}{:>9}{:>10}  what it measures",
        "factor", "IC", "ICIR", "t", "RankIC", "RICIR", "RIC>0", "top-bot", "days"
    );
    let mut rows: Vec<usize> = (0..r.factors.len()).collect();
    rows.sort_by(|&a, &b| {
        let k = |i: usize| r.factors[i].rank_ic_mean.abs();
        k(b).total_cmp(&k(a))
    });
    for i in rows {
        let f = &r.factors[i];
        let desc = FACTORS
            .iter()
            .position(|n| *n == f.factor)
            .map_or("", |k| DESCRIPTIONS[k]);
        let _ = writeln!(
            s,
            "{:<16}{:>8}{:>8}{:>8}{:>9}{:>8}{:>8}{:>9}{:>10}  {desc}",
            f.factor,
            num(f.ic_mean, 4),
            num(f.icir, 3),
            num(f.t_stat, 2),
            num(f.rank_ic_mean, 4),
            num(f.rank_icir, 3),
            num(f.rank_ic_positive * 100.0, 1),
            num(f.top_minus_bottom * 100.0, 3),
            f.days
        );
    }
    let mut pairs = Vec::new();
    for a in 0..r.names.len() {
        for b in a + 1..r.names.len() {
            let c = r.correlation[a][b];
            if c.is_finite() {
                pairs.push((c, a, b));
            }
        }
    }
    pairs.sort_by(|x, y| y.0.abs().total_cmp(&x.0.abs()));
    let _ = writeln!(
        s,
        "most correlated pairs (rank correlation, pooled over days):"
    );
    for (c, a, b) in pairs.into_iter().take(8) {
        let _ = writeln!(s, "  {:<16}{:<16}{:>7.3}", r.names[a], r.names[b], c);
    }
    s
}
