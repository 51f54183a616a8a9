//! `kxian-trainer`: Kxian's native worker.

use std::io::Write;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use kxian_trainer::backtest::{self, BacktestArgs};
use kxian_trainer::classifier::{self, EvaluateClassifierArgs, TrainClassifierArgs};
use kxian_trainer::download::{self, DownloadArgs};
use kxian_trainer::evaluate::{self, EvaluateArgs};
use kxian_trainer::factors::{self, FactorsArgs};
use kxian_trainer::forecast::{self, ForecastArgs, OutputFormat};
use kxian_trainer::init::{self, InitArgs};
use kxian_trainer::train::{self, Stage, TrainArgs};
use tracing_subscriber::EnvFilter;

#[derive(Parser)]
#[command(
    name = "kxian-trainer",
    version,
    about = "Kxian's native worker: Kronos forecasts (training and downloads to come)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Forecast the next bars of a file's series with a Kronos tokenizer + predictor.
    Forecast(ForecastArgs),
    /// Write a randomly initialised tokenizer + predictor of a Kronos shape (HF layout).
    Init(InitArgs),
    /// Stage 1: finetune (or train from scratch) the tokenizer on files' bars.
    FinetuneTokenizer(TrainArgs),
    /// Stage 2: finetune (or train from scratch) the predictor, the tokenizer frozen.
    FinetunePredictor(TrainArgs),
    /// Both stages in turn: the predictor trains on the new tokenizer's tokens.
    Train(TrainArgs),
    /// Walk-forward evaluation on the held-out end of each series, against a random walk and GBM.
    Evaluate(EvaluateArgs),
    /// Backtest a strategy from a TOML file under the A-share rules; prints a report.
    Backtest(BacktestArgs),
    /// The 24 factors over a universe: IC and rank IC against forward returns, correlations.
    Factors(FactorsArgs),
    /// Download bars (Eastmoney as akshare requests them) into a folder of CSVs with a manifest.
    Download(DownloadArgs),
    /// Train the up/down/flat classifier (P(up ≥ 3 %), P(down ≤ −2 %), P(flat) over 3 days).
    TrainClassifier(TrainClassifierArgs),
    /// Score a classifier after its training period: recall, misjudges, Brier, reliability.
    EvaluateClassifier(EvaluateClassifierArgs),
}

fn download_cmd(args: &DownloadArgs) -> anyhow::Result<ExitCode> {
    let m = download::run(args)?;
    eprint!("{}", download::summary(&m, &[]));
    let failed = m
        .series
        .values()
        .filter(|r| matches!(r.outcome, download::Outcome::Failed { .. }))
        .count();
    // Partial failures are in the manifest; only a run where nothing worked fails.
    Ok(if failed > 0 && failed == m.series.len() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn train_classifier(args: &TrainClassifierArgs) -> anyhow::Result<()> {
    let o = classifier::train(args)?;
    eprintln!(
        "best validation log loss {:.4} (untrained {:.4}); Brier {:.4} against the class-frequency baseline {:.4}; saved in {}",
        o.best_val_loss,
        o.first_val_loss,
        o.metrics.brier,
        o.metrics.brier_baseline,
        o.best_dir.display()
    );
    Ok(())
}

fn evaluate_classifier(args: &EvaluateClassifierArgs) -> anyhow::Result<()> {
    let (e, signals) = classifier::evaluate(args)?;
    print!("{}", classifier::table(&e));
    if let Some(path) = &args.output {
        std::fs::write(path, serde_json::to_string_pretty(&e)? + "\n")?;
        eprintln!("wrote {}", path.display());
    }
    if let Some(path) = &args.signals {
        std::fs::write(path, signals.to_csv())?;
        eprintln!(
            "wrote {} ({} days of probabilities)",
            path.display(),
            signals.len()
        );
    }
    Ok(())
}

fn factors_cmd(args: &FactorsArgs) -> anyhow::Result<()> {
    let (table, report) = factors::run(args)?;
    print!("{table}");
    if let Some(path) = &args.output {
        std::fs::write(path, serde_json::to_string_pretty(&report)? + "\n")?;
        eprintln!("wrote {}", path.display());
    }
    if let Some(path) = &args.values {
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}

fn backtest_cmd(args: &BacktestArgs) -> anyhow::Result<()> {
    let (report, outcome) = backtest::run_command(args)?;
    print!("{report}");
    if let Some(path) = &args.output {
        std::fs::write(path, serde_json::to_string_pretty(&outcome)? + "\n")?;
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}

fn evaluate(args: &EvaluateArgs) -> anyhow::Result<()> {
    let e = evaluate::run(args)?;
    eprint!("{}", evaluate::table(&e));
    let json = serde_json::to_string_pretty(&e)? + "\n";
    match &args.out {
        Some(path) => std::fs::write(path, json)?,
        None => print!("{json}"),
    }
    Ok(())
}

fn train(args: &TrainArgs, stages: &[Stage]) -> anyhow::Result<()> {
    std::fs::create_dir_all(&args.out)?;
    // The run describes itself: the command that made it, and a model card when it is done.
    let command: Vec<String> = std::env::args().collect();
    let config = serde_json::json!({
        "command": command,
        "inputs": args.input,
        "store": args.store.store,
        "symbols": args.store.symbols,
        "board": args.store.board,
        "frequency": args.store.frequency.as_str(),
        "from": args.store.from,
        "to": args.store.to,
        "seed": args.seed,
        "lookback": args.lookback,
        "horizon": args.horizon,
        "stride": args.stride,
        "val_fraction": args.val_fraction,
        "test_fraction": args.test_fraction,
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "accumulation": args.accumulation,
        "lr": args.lr,
        "weight_decay": args.weight_decay,
        "teacher_forcing": args.teacher_forcing,
    });
    std::fs::write(
        args.out.join("run.json"),
        serde_json::to_string_pretty(&config)?,
    )?;
    let inputs: Vec<String> = args.input.iter().map(|p| p.display().to_string()).collect();
    let mut card = format!(
        "# Model card\n\nMade by `{}` (seed {}).\n\nData: {}. Windows of {} + {} + 1 bars (stride {}), z-scored with the lookback's statistics; the last {:.0} % of each series is held out for validation and {:.0} % for test.\n\n| stage | validation loss before | best | epochs (train / validation loss) | checkpoint |\n| --- | ---: | ---: | --- | --- |\n",
        command.join(" "),
        args.seed,
        inputs.join(", "),
        args.lookback,
        args.horizon,
        args.stride,
        args.val_fraction * 100.0,
        args.test_fraction * 100.0,
    );
    let windows = train::load_windows(args)?;
    let mut tokenizer = None;
    for &stage in stages {
        let report = train::run_stage(stage, args, &windows, tokenizer.as_deref())?;
        eprintln!(
            "{stage:?}: validation loss {:.4} -> best {:.4}; best checkpoint {}",
            report.first_val_loss,
            report.best_val_loss,
            report.best_dir.display()
        );
        let epochs: Vec<String> = report
            .epochs
            .iter()
            .map(|(t, v)| format!("{t:.4} / {v:.4}"))
            .collect();
        card.push_str(&format!(
            "| {stage:?} | {:.4} | {:.4} | {} | `{}` |\n",
            report.first_val_loss,
            report.best_val_loss,
            epochs.join(", "),
            report.best_dir.display()
        ));
        if stage == Stage::Tokenizer {
            tokenizer = Some(report.best_dir);
        }
    }
    card.push_str("\nEvaluate it on the held-out part with `kxian-trainer evaluate` (walk-forward, against a random walk and GBM).\n");
    std::fs::write(args.out.join("MODEL_CARD.md"), card)?;
    Ok(())
}

/// A job's trainer stops when the server that started it is gone, so a restarted server's
/// resumed job never races an orphan writing the same folder.
fn watch_parent() {
    #[cfg(unix)]
    if let Some(pid) = std::env::var("KXIAN_WATCH_PARENT")
        .ok()
        .and_then(|p| p.parse::<u32>().ok())
    {
        std::thread::spawn(move || {
            loop {
                if std::os::unix::process::parent_id() != pid {
                    eprintln!("kxian-trainer: the server that started this job is gone; stopping");
                    std::process::exit(3);
                }
                std::thread::sleep(std::time::Duration::from_millis(300));
            }
        });
    }
}

fn main() -> ExitCode {
    watch_parent();
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let stages: &[Stage] = match &cli.command {
        Command::FinetuneTokenizer(_) => &[Stage::Tokenizer],
        Command::FinetunePredictor(_) => &[Stage::Predictor],
        Command::Train(_) => &[Stage::Tokenizer, Stage::Predictor],
        _ => &[],
    };
    match cli.command {
        Command::FinetuneTokenizer(args)
        | Command::FinetunePredictor(args)
        | Command::Train(args) => match train(&args, stages) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e:#}");
                ExitCode::from(1)
            }
        },
        Command::Backtest(args) => match backtest_cmd(&args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e:#}");
                ExitCode::from(2)
            }
        },
        Command::Download(args) => match download_cmd(&args) {
            Ok(code) => code,
            Err(e) => {
                eprintln!("error: {e:#}");
                ExitCode::from(2)
            }
        },
        Command::TrainClassifier(args) => match train_classifier(&args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e:#}");
                ExitCode::from(1)
            }
        },
        Command::EvaluateClassifier(args) => match evaluate_classifier(&args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e:#}");
                ExitCode::from(1)
            }
        },
        Command::Factors(args) => match factors_cmd(&args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e:#}");
                ExitCode::from(2)
            }
        },
        Command::Evaluate(args) => match evaluate(&args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e:#}");
                ExitCode::from(1)
            }
        },
        Command::Init(args) => match init::run(&args) {
            Ok((tok, pred)) => {
                eprintln!(
                    "wrote {} (tokenizer, {tok} parameters) and {} (predictor, {pred} parameters)",
                    args.out.join("tokenizer").display(),
                    args.out.join("predictor").display()
                );
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(1)
            }
        },
        Command::Forecast(args) => match forecast::run(&args) {
            Ok(report) => {
                let text = match args.format {
                    OutputFormat::Json => {
                        serde_json::to_string_pretty(&report).expect("report serialises") + "\n"
                    }
                    OutputFormat::Csv => report.to_csv(),
                };
                let written = match &args.output {
                    Some(path) => {
                        std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))
                    }
                    None => match std::io::stdout().lock().write_all(text.as_bytes()) {
                        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
                        other => other.map_err(|e| e.to_string()),
                    },
                };
                match written {
                    Ok(()) => ExitCode::SUCCESS,
                    Err(e) => {
                        eprintln!("error: {e}");
                        ExitCode::from(1)
                    }
                }
            }
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(e.exit_code())
            }
        },
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_subcommand_has_consistent_arguments() {
        use clap::CommandFactory;
        super::Cli::command().debug_assert();
    }
}
