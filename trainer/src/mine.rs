//! `kxian-trainer mine --config FILE.toml`: genetic programming over the expression language for
//! formulas with out-of-sample rank IC ([`kxian_shared::mine`]), candidates scored on every
//! core; the accepted formulas are printed and written as a TOML list a strategy's `score` can
//! take as it is.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use kxian_shared::backtest::fields::panel_for;
use kxian_shared::expr::Expr;
use kxian_shared::features::factors::FACTORS;
use kxian_shared::mine::{self, Formula, MineReport, Scored, Scorer};

use crate::backtest::{self, BacktestError};
use crate::cli_error::BadInput;
use crate::progress::{Progress, ProgressMode};
use crate::store::StoreReader;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum MineFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, clap::Args)]
pub struct MineArgs {
    /// The mining file: `[universe]` as everywhere, and `[mine]` with the periods.
    #[arg(long)]
    pub config: PathBuf,
    #[arg(long, value_enum, default_value_t = MineFormat::Text)]
    pub format: MineFormat,
    /// Where the accepted formulas go as TOML (default: `<config>.formulas.toml` beside it).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Also write the report as JSON here (what `--format json` prints).
    #[arg(long)]
    pub output: Option<PathBuf>,
    /// Where the search writes where it stands after each generation, and carries on from
    /// after a stop (default: `<config>.mine-state.json`; removed when the search ends).
    #[arg(long)]
    pub state: Option<PathBuf>,
    /// Overrides `[mine] max_seconds`.
    #[arg(long)]
    pub max_seconds: Option<f64>,
    #[arg(long, value_enum, default_value_t = ProgressMode::Bar)]
    pub progress: ProgressMode,
    #[command(flatten)]
    pub reader: StoreReader,
}

/// The price fields and (when asked) the factors, as the panel's columns.
fn terminal_fields(factors: bool) -> Vec<String> {
    let mut f: Vec<String> = ["$open", "$high", "$low", "$close", "$volume", "$vwap"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    if factors {
        f.extend(FACTORS.iter().map(|s| s.to_string()));
    }
    f
}

/// Shared sub-expressions a batch evaluates once, at most (each is a column of the panel).
const MAX_SHARED: usize = 16;

/// `f` of each item, on `threads` threads, in order.
fn in_parallel<T: Sync, R: Send>(
    items: &[T],
    threads: usize,
    f: impl Fn(&T) -> R + Sync,
) -> Vec<R> {
    let chunk = items.len().div_ceil(threads.max(1)).max(1);
    let f = &f;
    std::thread::scope(|s| {
        let handles: Vec<_> = items
            .chunks(chunk)
            .map(|part| s.spawn(move || part.iter().map(f).collect::<Vec<_>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("a scoring thread panicked"))
            .collect()
    })
}

/// Scores candidates on every core. Each is written out and parsed back first, so only trees
/// the language accepts are evaluated; sub-expressions that several candidates share are
/// evaluated once, into columns of a panel made for the batch, and read from there.
pub fn evaluate_all(
    panel: &kxian_shared::expr::Panel,
    scorer: &Scorer,
    candidates: &[Expr],
) -> Vec<Scored> {
    use kxian_shared::mine::cache;
    let fields = panel.fields();
    let parsed: Vec<Option<Expr>> = candidates
        .iter()
        .map(|e| kxian_shared::expr::parse(&mine::tree::render(e), &fields).ok())
        .collect();
    let valid: Vec<Expr> = parsed.iter().flatten().cloned().collect();
    let shared = cache::shared_subtrees(&valid, MAX_SHARED);
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let names: std::collections::BTreeMap<String, String> = shared
        .iter()
        .enumerate()
        .map(|(i, e)| (mine::tree::render(e), format!("{}{i}", cache::PREFIX)))
        .collect();
    // The batch's panel: the columns the rewritten candidates read, and the shared ones.
    let rewritten: Vec<Option<Expr>> = parsed
        .iter()
        .map(|p| p.as_ref().map(|e| cache::substitute(e, &names)))
        .collect();
    let mut batch = kxian_shared::expr::Panel {
        dates: panel.dates.clone(),
        symbols: panel.symbols.clone(),
        columns: std::collections::BTreeMap::new(),
        present: panel.present.clone(),
    };
    for e in rewritten.iter().flatten().chain(&shared) {
        for f in e.fields() {
            if let Some(col) = panel.columns.get(f)
                && !batch.columns.contains_key(f)
            {
                batch.columns.insert(f.to_string(), col.clone());
            }
        }
    }
    for (i, grid) in in_parallel(&shared, threads, |e| panel.eval(e))
        .into_iter()
        .enumerate()
    {
        batch.columns.insert(format!("{}{i}", cache::PREFIX), grid);
    }
    let jobs: Vec<(usize, Option<Expr>)> = candidates
        .iter()
        .map(mine::tree::size)
        .zip(rewritten)
        .collect();
    in_parallel(&jobs, threads, |(size, e)| match e {
        Some(e) => Scored {
            size: *size,
            ..scorer.score(&batch, e)
        },
        None => Scored {
            size: *size,
            train_ic: f64::NAN,
            validation_ic: f64::NAN,
            validation_t: f64::NAN,
            sample: Vec::new(),
        },
    })
}

pub fn run(args: &MineArgs) -> anyhow::Result<MineReport> {
    let mut c = backtest::read_config(&args.config, |t| {
        mine::config::parse(t)
            .map_err(|message| kxian_shared::backtest::schema::ConfigError { message })
    })?;
    if let Some(s) = args.max_seconds {
        c.mine.max_seconds = s;
    }
    let base = args
        .config
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let universe = backtest::load_universe_as(&c.universe, &base, args.reader)?;
    if universe.series().is_empty() {
        return Err(BacktestError::EmptyUniverse {
            path: args.config.clone(),
        }
        .into());
    }
    let fields = terminal_fields(c.mine.factors);
    let exprs: Vec<&str> = fields.iter().map(String::as_str).collect();
    let panel = panel_for(&universe, &exprs, false, None);
    let scorer = Scorer::new(&panel, &c.mine);
    let (train, validation, test) = scorer.period_dates();
    crate::ensure_input!(
        train >= 20 && validation >= 20 && test >= 20,
        "{}: the universe has {train} dates in mine.train, {validation} in mine.validation and {test} in mine.test; each needs 20 or more",
        args.config.display()
    );
    let mut progress = Progress::new(
        args.progress,
        c.mine.generations as u64,
        "generations",
        None,
    )
    .map_err(|e| BadInput(format!("progress: {e}")))?;
    let bar = progress.bar().clone();
    // The file's fingerprint: a state left by another file is not carried on from.
    let text = std::fs::read(&args.config)
        .map_err(|e| BadInput(format!("{}: {e}", args.config.display())))?;
    let fingerprint = {
        use sha2::Digest;
        let digest = sha2::Sha256::digest(&text);
        digest
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    };
    let state_path = args
        .state
        .clone()
        .unwrap_or_else(|| args.config.with_extension("mine-state.json"));
    let resume = std::fs::read(&state_path)
        .ok()
        .and_then(|b| serde_json::from_slice::<mine::MineState>(&b).ok())
        .filter(|s| {
            let same = s.fingerprint == fingerprint;
            if !same {
                tracing::warn!(
                    "{}: left by another mining file; starting afresh",
                    state_path.display()
                );
            }
            same
        });
    if let Some(s) = &resume {
        tracing::info!(
            "carrying on from generation {} ({})",
            s.generation,
            state_path.display()
        );
    }
    let mut save = |s: &mine::MineState| {
        // Written beside and renamed over, so a stop mid-write leaves the last whole state.
        let tmp = state_path.with_extension("json.tmp");
        let written = std::fs::write(&tmp, serde_json::to_vec(s).expect("serialisable"))
            .and_then(|()| std::fs::rename(&tmp, &state_path));
        if let Err(e) = written {
            tracing::warn!(
                "{}: {e}; a stop now would start afresh",
                state_path.display()
            );
        }
    };
    let t0 = Instant::now();
    let report = mine::search(
        &panel,
        &c.mine,
        &scorer,
        &|cands: &[Expr]| evaluate_all(&panel, &scorer, cands),
        &|| t0.elapsed().as_secs_f64(),
        &mut |p| {
            progress.emit(&kxian_shared::jobs::JobEvent::Generation {
                stage: kxian_shared::jobs::StageName::Mine,
                generation: p.generation,
                generations: p.generations,
                tried: p.tried,
                best_train_ic: p.best_train_ic,
                formula: p.best_formula.clone(),
            });
            bar.set_position(p.generation as u64);
            bar.set_message(format!("best train IC {:.4}", p.best_train_ic));
            tracing::debug!(
                generation = p.generation,
                tried = p.tried,
                "best {:.4}: {}",
                p.best_train_ic,
                p.best_formula
            );
        },
        mine::Checkpoints {
            resume,
            fingerprint,
            save: &mut save,
        },
    );
    bar.finish_and_clear();
    let _ = std::fs::remove_file(&state_path);
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| args.config.with_extension("formulas.toml"));
    std::fs::write(&out, toml_list(&report, &args.config))
        .map_err(|e| anyhow::anyhow!("{}: {e}", out.display()))?;
    tracing::info!("formulas written to {}", out.display());
    if let Some(path) = &args.output {
        let json = serde_json::to_string_pretty(&report).expect("serialisable") + "\n";
        std::fs::write(path, json).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    }
    Ok(report)
}

fn f4(x: f64) -> String {
    if x.is_finite() {
        format!("{x:.4}")
    } else {
        "nan".into()
    }
}

/// The accepted formulas as a TOML list; each `score` goes into a strategy unchanged.
pub fn toml_list(r: &MineReport, config: &Path) -> String {
    let mut s = format!(
        "# Mined by `kxian-trainer mine --config {}`: {} formulas tried over {} generations, {} accepted.\n\
         # The training ICs are the best of many tries and biased upward; quote the test period's.\n\
         # Use one in a strategy as it is: [strategy] kind = \"top_k\", score = \"<score>\".\n",
        config.display(),
        r.tried,
        r.generations,
        r.formulas.len()
    );
    let entry = |s: &mut String, table: &str, f: &Formula| {
        let _ = write!(
            s,
            "\n[[{table}]]\nscore = {:?}\ntrain_ic = {}\nvalidation_ic = {}\ntest_ic = {}\ntest_icir = {}\nturnover = {}\n",
            f.formula,
            f4(f.train_ic),
            f4(f.validation_ic),
            f4(f.test_ic),
            f4(f.test_icir),
            f4(f.turnover)
        );
    };
    for f in &r.formulas {
        entry(&mut s, "formula", f);
    }
    if let Some(c) = &r.combined {
        entry(&mut s, "combined", c);
    }
    s
}

/// The report for a person.
pub fn text(r: &MineReport) -> String {
    let mut s = format!(
        "{} formulas tried in {} generations ({:.1} s); forward return over {} bars\n\
         train {}..{}, validation {}..{}, test {}..{} (the test period was not seen by the search)\n\n",
        r.tried,
        r.generations,
        r.seconds,
        r.horizon,
        r.train.from,
        r.train.to,
        r.validation.from,
        r.validation.to,
        r.test.from,
        r.test.to
    );
    if r.resumed_at > 0 {
        let _ = writeln!(
            s,
            "carried on from generation {} after a stop\n",
            r.resumed_at
        );
    }
    if r.formulas.is_empty() {
        s.push_str("no formula held up on the validation period\n");
    }
    let _ = writeln!(
        s,
        "{:>9} {:>9} {:>7} {:>9} {:>7} {:>8}  decay (IC at 1/5/10/20 bars)  formula",
        "train IC", "valid IC", "t", "test IC", "ICIR", "turnover"
    );
    let line = |s: &mut String, f: &Formula| {
        let decay: Vec<String> = f.decay.iter().map(|x| f4(*x)).collect();
        let _ = writeln!(
            s,
            "{:>9} {:>9} {:>7.2} {:>9} {:>7} {:>8}  {:<28}  {}",
            f4(f.train_ic),
            f4(f.validation_ic),
            f.validation_t,
            f4(f.test_ic),
            f4(f.test_icir),
            f4(f.turnover),
            decay.join(" "),
            f.formula
        );
    };
    for f in &r.formulas {
        line(&mut s, f);
    }
    if let Some(c) = &r.combined {
        s.push_str("\ncombined (the accepted formulas' ranks, summed):\n");
        line(&mut s, c);
    }
    if !r.baselines.is_empty() {
        s.push_str("\nbaselines (the file's own formulas, as written):\n");
        for b in &r.baselines {
            line(&mut s, b);
        }
    }
    s.push_str(
        "\nThe training IC of the best of many formulas is biased upward: quote the test period's.\n",
    );
    s
}

#[cfg(test)]
#[path = "../../tests/tests/common/planted.rs"]
mod planted;

#[cfg(test)]
mod tests {
    use super::planted;
    use super::*;
    use kxian_shared::backtest::engine::Universe;

    /// Shared sub-expressions read from their columns give exactly what evaluating each
    /// candidate whole gives.
    #[test]
    fn shared_subexpressions_score_as_the_whole_formulas_do() {
        let first = chrono::NaiveDate::from_ymd_opt(2018, 1, 2).unwrap();
        let mut universe = Universe::new();
        for (k, bars) in planted::planted(8, 300, first, 0.004, 9)
            .into_iter()
            .enumerate()
        {
            universe.insert(format!("6002{k:02}.SH").parse().unwrap(), bars);
        }
        let fields = terminal_fields(false);
        let exprs: Vec<&str> = fields.iter().map(String::as_str).collect();
        let panel = panel_for(&universe, &exprs, false, None);
        let config: mine::MineSection = toml::from_str(
            "train = { from = 2018-02-01, to = 2018-08-31 }\n\
             validation = { from = 2018-09-03, to = 2018-12-31 }\n\
             test = { from = 2019-01-02, to = 2019-02-28 }\n",
        )
        .unwrap();
        let scorer = Scorer::new(&panel, &config);
        let texts = [
            "rank(delta($close, 3)) + std($close, 20)",
            "delta($close, 3) / std($close, 20)",
            "-(delta($close, 3) * $volume)",
            "mean(delta($close, 3), 5)",
            "$open / $close",
        ];
        let candidates: Vec<Expr> = texts
            .iter()
            .map(|t| kxian_shared::expr::parse(t, &panel.fields()).unwrap())
            .collect();
        let shared = mine::cache::shared_subtrees(&candidates, MAX_SHARED);
        let shared_text: Vec<String> = shared.iter().map(mine::tree::render).collect();
        assert!(
            shared_text.contains(&"delta($close, 3)".to_string()),
            "{shared_text:?}"
        );
        assert!(
            shared_text.contains(&"std($close, 20)".to_string()),
            "{shared_text:?}"
        );
        let batch = evaluate_all(&panel, &scorer, &candidates);
        for (c, got) in candidates.iter().zip(&batch) {
            let whole = scorer.score(&panel, c);
            assert_eq!(got, &whole, "{}", mine::tree::render(c));
        }
    }
}
