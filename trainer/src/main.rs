//! `kxian-trainer`: Kxian's native worker.

use std::process::ExitCode;

// Training allocates and frees the same large tensors every step; glibc's allocator hands
// that memory back to the kernel and faults it in again each time, mimalloc keeps it (a
// third more training samples per second on the zoo's Transformer, `--example zoo_step`).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::{Parser, Subcommand};
use kxian_shared::jobs::{RunDir, evaluation_table, read_events};
use kxian_trainer::analyze::{self, AnalysisFormat, AnalyzeArgs};
use kxian_trainer::backtest::{self, BacktestArgs};
use kxian_trainer::classifier::{self, EvaluateClassifierArgs, TrainClassifierArgs};
use kxian_trainer::cli_error::{CliError, print_out, write_file};
use kxian_trainer::download::{self, DownloadArgs};
use kxian_trainer::evaluate::{self, EvaluateArgs};
use kxian_trainer::factors::{self, FactorsArgs};
use kxian_trainer::fetch_model::{self, FetchModelArgs};
use kxian_trainer::forecast::{self, ForecastArgs, OutputFormat};
use kxian_trainer::health::{self, HealthArgs, HealthFormat};
use kxian_trainer::init::{self, InitArgs};
use kxian_trainer::mine::{self, MineArgs, MineFormat};
use kxian_trainer::predict::evaluate::EvaluatePredictionsArgs;
use kxian_trainer::predict::{self, PredictArgs};
use kxian_trainer::progress::ProgressMode;
use kxian_trainer::train::{self, Stage, TrainArgs};
use kxian_trainer::zoo::{self, EvaluateModelArgs, TrainModelArgs};
use tracing_subscriber::EnvFilter;

#[derive(Parser)]
#[command(
    name = "kxian-trainer",
    version,
    about = "Kxian's native worker: downloads, Kronos forecasts and finetuning, the classifier, factors and backtests"
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
    /// The market regime of an index over time and the style buckets of a universe's stocks.
    Analyze(AnalyzeArgs),
    /// Each stored series against the exchange calendar: source, last bar, missing trading
    /// days, how far behind today.
    Health(HealthArgs),
    /// The 24 factors over a universe: IC and rank IC against forward returns, correlations.
    Factors(FactorsArgs),
    /// Download bars (Eastmoney as akshare requests them) into a folder of CSVs with a manifest.
    Download(DownloadArgs),
    /// Train the up/down/flat classifier (P(up ≥ 3 %), P(down ≤ −2 %), P(flat) over 3 days).
    TrainClassifier(TrainClassifierArgs),
    /// Score a classifier after its training period: recall, misjudges, Brier, reliability.
    EvaluateClassifier(EvaluateClassifierArgs),
    /// Download a published model (e.g. NeoQuasar/Kronos-mini, with its tokenizer) from the
    /// Hugging Face hub or a mirror into the models folder, resumable and hash-checked.
    FetchModel(FetchModelArgs),
    /// A model's predictions for every stock of a universe at each scheduled date (no
    /// look-ahead), as CSV, Parquet and a stored set; resumable after a kill.
    Predict(PredictArgs),
    /// A prediction set against what happened: IC, rank IC, quintiles, Brier, calibration and
    /// band coverage, beside momentum, reversal and random-walk baselines.
    EvaluatePredictions(EvaluatePredictionsArgs),
    /// Search the expression language for formulas with out-of-sample rank IC (genetic
    /// programming; train, validation and test periods kept apart).
    Mine(MineArgs),
    /// Train a model of the zoo from one file: transformer, LSTM, GRU, CNN + LSTM or TSMixer
    /// on up/down classes, returns, volatility or several targets at once.
    TrainModel(TrainModelArgs),
    /// Score a zoo model on held-out days (EquiNet's metrics by EquiNet's definitions, Brier,
    /// MAE, rank IC) and write its prediction set.
    EvaluateModel(EvaluateModelArgs),
}

fn train_model(args: &TrainModelArgs) -> Result<(), CliError> {
    let t = zoo::train(args)?;
    print_out(&zoo::table(&t.card))?;
    let card = args.out.join("card.json");
    if t.best_val_loss.is_nan() {
        // Trees: no epochs, their rounds stopped on the validation part.
        eprintln!(
            "saved in {}; card in {}",
            t.best_dir.display(),
            card.display()
        );
    } else {
        let (what, sign) = if t.by_points {
            ("points", -1.0)
        } else {
            ("loss", 1.0)
        };
        // Points carry a tie-breaking millionth of the loss; shown to four places, as points.
        let shown = |v: f32| {
            let v = sign * v;
            if v.abs() < 5e-5 { 0.0 } else { v }
        };
        eprintln!(
            "best validation {what} {:.4} (untrained {:.4}); saved in {}; card in {}",
            shown(t.best_val_loss),
            shown(t.first_val_loss),
            t.best_dir.display(),
            card.display()
        );
    }
    Ok(())
}

fn evaluate_model(args: &EvaluateModelArgs) -> Result<(), CliError> {
    let e = zoo::evaluate(args)?;
    match args.format {
        zoo::ModelFormat::Json => print_out(&(json(&e) + "\n"))?,
        zoo::ModelFormat::Text => print_out(&zoo::table(&e.card))?,
    }
    Ok(())
}

fn mine_cmd(args: &MineArgs) -> Result<(), CliError> {
    let report = mine::run(args)?;
    match args.format {
        MineFormat::Json => print_out(&(json(&report) + "\n"))?,
        MineFormat::Text => print_out(&mine::text(&report))?,
    }
    Ok(())
}

fn download_cmd(args: &DownloadArgs) -> Result<ExitCode, CliError> {
    if args.reference {
        let data = download::run_reference(args)?;
        eprintln!(
            "reference data in {}: {} industries, {} shares rows, {} index stays, {} status periods",
            args.out.join(download::reference::REFERENCE_FILE).display(),
            data.industries.len(),
            data.shares.len(),
            data.members.len(),
            data.status.len()
        );
        return Ok(ExitCode::SUCCESS);
    }
    let m = download::run(args)?;
    eprint!("{}", download::summary(&m, &[]));
    // This run's series: the symbols asked for (the manifest keeps earlier runs' too), or every
    // series when a whole list was asked for.
    let asked: Vec<String> = args
        .symbols
        .iter()
        .filter_map(|s| s.parse::<kxian_shared::Symbol>().ok())
        .map(|s| s.to_string())
        .collect();
    let this_run: Vec<&download::SeriesRecord> = m
        .series
        .values()
        .filter(|r| args.universe.is_some() || asked.contains(&r.symbol))
        .collect();
    let failed = this_run
        .iter()
        .filter(|r| matches!(r.outcome, download::Outcome::Failed { .. }))
        .count();
    // Partial failures are in the manifest; only a run where nothing worked fails.
    Ok(if failed > 0 && failed == this_run.len() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn train_classifier(args: &TrainClassifierArgs) -> Result<(), CliError> {
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

fn evaluate_classifier(args: &EvaluateClassifierArgs) -> Result<(), CliError> {
    let (e, signals) = classifier::evaluate(args)?;
    print_out(&classifier::table(&e))?;
    if let Some(path) = &args.output {
        write_file(path, &(json(&e) + "\n"))?;
        eprintln!("wrote {}", path.display());
    }
    if let Some(path) = &args.signals {
        write_file(path, &signals.to_csv())?;
        eprintln!(
            "wrote {} ({} days of probabilities)",
            path.display(),
            signals.len()
        );
    }
    Ok(())
}

fn factors_cmd(args: &FactorsArgs) -> Result<(), CliError> {
    let (table, report) = factors::run(args)?;
    print_out(&table)?;
    if let Some(path) = &args.output {
        write_file(path, &(json(&report) + "\n"))?;
        eprintln!("wrote {}", path.display());
    }
    if let Some(path) = &args.values {
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}

fn health_cmd(args: &HealthArgs) -> Result<(), CliError> {
    let report = health::run(args)?;
    match args.format {
        HealthFormat::Json => print_out(&(json(&report) + "\n"))?,
        HealthFormat::Text => print_out(&health::text(&report))?,
    }
    Ok(())
}

fn analyze_cmd(args: &AnalyzeArgs) -> Result<(), CliError> {
    let report = analyze::run(args)?;
    match args.format {
        AnalysisFormat::Json => print_out(&(json(&report) + "\n"))?,
        AnalysisFormat::Text => print_out(&analyze::text(&report))?,
    }
    if let Some(path) = &args.output {
        write_file(path, &(json(&report) + "\n"))?;
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}

fn backtest_cmd(args: &BacktestArgs) -> Result<(), CliError> {
    let (report, outcome) = backtest::run_command(args)?;
    if args.progress == kxian_trainer::progress::ProgressMode::Json {
        // Standard output carries the job's events; the report goes beside them.
        eprint!("{report}");
    } else {
        print_out(&report)?;
    }
    if let Some(path) = &args.output {
        write_file(path, &(json(&outcome) + "\n"))?;
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}

fn evaluate(args: &EvaluateArgs) -> Result<(), CliError> {
    let e = evaluate::run(args)?;
    eprint!("{}", evaluate::table(&e));
    let text = json(&e) + "\n";
    match &args.out {
        Some(path) => write_file(path, &text),
        None => print_out(&text),
    }
}

fn train(args: &TrainArgs, stages: &[Stage]) -> Result<(), CliError> {
    std::fs::create_dir_all(&args.out)
        .map_err(|e| anyhow::Error::new(e).context(format!("creating {}", args.out.display())))?;
    let command: Vec<String> = std::env::args().collect();
    // The run describes itself: the command that made it and every argument, from the
    // arguments' own type (nothing hand-listed to fall behind), and a model card when done.
    #[derive(serde::Serialize)]
    struct RunJson<'a> {
        command: &'a [String],
        #[serde(flatten)]
        args: &'a TrainArgs,
    }
    let config = RunJson {
        command: &command,
        args,
    };
    write_file(&RunDir(args.out.clone()).run_json(), &json(&config))?;
    let inputs: Vec<String> = args.input.iter().map(|p| p.display().to_string()).collect();
    let mut card = format!(
        "# Model card\n\nMade by `{}` (seed {}).\n\nData: {}. Windows of {} + {} + 1 bars (stride {}), z-scored with the lookback's statistics; the last {:.0} % of each series is held out for validation and {:.0} % for test.\n\n",
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
        if stage == Stage::Tokenizer {
            tokenizer = Some(report.best_dir);
        }
    }
    // The same table the server puts on a finetune job's model, from the run's own events.
    let run = RunDir(args.out.clone());
    let events = read_events(&std::fs::read_to_string(run.metrics()).unwrap_or_default());
    card.push_str(&evaluation_table(&events));
    card.push_str("\nEvaluate it on the held-out part with `kxian-trainer evaluate` (walk-forward, against a random walk and GBM).\n");
    write_file(&run.model_card(), &card)?;
    Ok(())
}

fn forecast_cmd(args: &ForecastArgs) -> Result<(), CliError> {
    let report = forecast::run(args)?;
    let text = match args.format {
        OutputFormat::Json => json(&report) + "\n",
        OutputFormat::Csv => report.to_csv(),
    };
    match &args.output {
        Some(path) => write_file(path, &text),
        None => print_out(&text),
    }
}

fn predict_cmd(args: &PredictArgs) -> Result<(), CliError> {
    let s = predict::run(args)?;
    eprint!("{}", predict::describe(&s));
    if args.progress == kxian_trainer::progress::ProgressMode::Json {
        return Ok(());
    }
    print_out(&(json(&s) + "\n"))
}

fn evaluate_predictions_cmd(args: &EvaluatePredictionsArgs) -> Result<(), CliError> {
    let r = predict::evaluate::run(args)?;
    print_out(&kxian_shared::predictions::evaluate::table(&r))?;
    if let Some(path) = &args.output {
        write_file(path, &(json(&r) + "\n"))?;
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}

fn init_cmd(args: &InitArgs) -> Result<(), CliError> {
    let (tok, pred) = init::run(args)?;
    eprintln!(
        "wrote {} (tokenizer, {tok} parameters) and {} (predictor, {pred} parameters)",
        args.out.join("tokenizer").display(),
        args.out.join("predictor").display()
    );
    Ok(())
}

fn fetch_model_cmd(args: &FetchModelArgs) -> Result<(), CliError> {
    let f = fetch_model::run(args)?;
    eprintln!(
        "model `{}` is in {}; `kxian serve --models {}` serves it",
        f.id,
        f.dir.display(),
        args.models.display()
    );
    if args.progress == ProgressMode::Json {
        // Standard output carried the job events; the `done` event was the report.
        return Ok(());
    }
    print_out(&(json(&f) + "\n"))
}

/// Pretty JSON of a report type (they serialise infallibly: no maps with non-string keys).
fn json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string_pretty(value).expect("reports serialise")
}

/// The whole CLI: every command's error goes through one exit-code policy.
fn run(cli: Cli) -> Result<ExitCode, CliError> {
    match cli.command {
        Command::FinetuneTokenizer(args) => train(&args, &[Stage::Tokenizer])?,
        Command::FinetunePredictor(args) => train(&args, &[Stage::Predictor])?,
        Command::Train(args) => train(&args, &[Stage::Tokenizer, Stage::Predictor])?,
        Command::Backtest(args) => backtest_cmd(&args)?,
        Command::Download(args) => return download_cmd(&args),
        Command::TrainClassifier(args) => train_classifier(&args)?,
        Command::TrainModel(args) => train_model(&args)?,
        Command::EvaluateModel(args) => evaluate_model(&args)?,
        Command::EvaluateClassifier(args) => evaluate_classifier(&args)?,
        Command::Factors(args) => factors_cmd(&args)?,
        Command::Analyze(args) => analyze_cmd(&args)?,
        Command::Health(args) => health_cmd(&args)?,
        Command::Mine(args) => mine_cmd(&args)?,
        Command::Evaluate(args) => evaluate(&args)?,
        Command::Init(args) => init_cmd(&args)?,
        Command::Forecast(args) => forecast_cmd(&args)?,
        Command::FetchModel(args) => fetch_model_cmd(&args)?,
        Command::Predict(args) => predict_cmd(&args)?,
        Command::EvaluatePredictions(args) => evaluate_predictions_cmd(&args)?,
    }
    Ok(ExitCode::SUCCESS)
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
    match run(Cli::parse()) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Cli, Command};
    use clap::Parser;
    use kxian_shared::jobs::{JobDir, JobSpec, Owner, TrainerContext};
    use serde_json::json;

    #[test]
    fn every_subcommand_has_consistent_arguments() {
        use clap::CommandFactory;
        super::Cli::command().debug_assert();
    }

    /// The server's argv for every kind of job is one this trainer parses, to the values the
    /// job asked for.
    #[test]
    fn the_server_s_arguments_for_every_job_parse() {
        let dir = JobDir::new(std::path::Path::new("/work"), 9);
        let ctx = |admin| TrainerContext {
            store: std::path::Path::new("/data/kxian.db"),
            dir: &dir,
            owner: Owner { id: 4, admin },
        };
        let parse = |spec: serde_json::Value, admin: bool| {
            let spec: JobSpec = serde_json::from_value(spec).unwrap();
            let spec = spec.normalised().unwrap();
            let argv =
                std::iter::once("kxian-trainer".into()).chain(spec.trainer_args(&ctx(admin)));
            Cli::try_parse_from(argv).unwrap_or_else(|e| panic!("{spec:?}: {e}"))
        };
        for source in ["eastmoney", "tushare", "yahoo"] {
            let cli = parse(
                json!({"kind": "download", "source": source, "symbols": ["600000", "510300"],
                       "frequency": "1d", "adjustment": "qfq", "from": "2024-01-02", "to": "2024-03-01"}),
                true,
            );
            let Command::Download(a) = cli.command else {
                panic!("not a download")
            };
            assert_eq!(a.primary().as_str(), source);
            assert_eq!(a.source.len(), 1);
            assert_eq!(a.symbols, ["600000.SH", "510300.SH"]);
            assert_eq!(a.adjustment, kxian_shared::Adjustment::Qfq);
            assert_eq!(a.from.unwrap().to_string(), "2024-01-02");
            assert_eq!(a.out, dir.data());
            assert_eq!((a.reader.as_user, a.reader.as_admin), (Some(4), true));
        }
        for universe in ["all-etfs", "all-a"] {
            let cli = parse(json!({"kind": "download", "universe": universe}), false);
            let Command::Download(a) = cli.command else {
                panic!("not a download")
            };
            assert_eq!(a.universe.unwrap().as_str(), universe);
        }
        for (stages, want) in [
            ("tokenizer", "finetune-tokenizer"),
            ("predictor", "finetune-predictor"),
            ("both", "train"),
        ] {
            let cli = parse(
                json!({"kind": "finetune", "symbols": ["000300.SH"], "stages": stages,
                       "epochs": 2, "batch_size": 8, "lr": 0.0005, "lookback": 60, "horizon": 5, "max_seconds": 30.0}),
                false,
            );
            let (name, a) = match cli.command {
                Command::FinetuneTokenizer(a) => ("finetune-tokenizer", a),
                Command::FinetunePredictor(a) => ("finetune-predictor", a),
                Command::Train(a) => ("train", a),
                _ => panic!("not a finetune"),
            };
            assert_eq!(name, want);
            assert_eq!(a.store.symbols, ["000300.SH"]);
            assert_eq!(
                (a.epochs, a.batch_size, a.lookback, a.horizon),
                (2, 8, 60, 5)
            );
            assert_eq!((a.lr, a.max_seconds), (Some(0.0005), Some(30.0)));
            assert_eq!(a.out, dir.run().path());
            assert!(a.resume);
            assert_eq!(a.store.reader.as_user, Some(4));
        }
        let cli = parse(
            json!({"kind": "fetch_model", "repo": "NeoQuasar/Kronos-small",
                   "tokenizer": "NeoQuasar/Kronos-Tokenizer-base", "revision": "main"}),
            false,
        );
        let Command::FetchModel(a) = cli.command else {
            panic!("not a fetch-model")
        };
        assert_eq!(a.repo, "NeoQuasar/Kronos-small");
        assert_eq!(
            a.tokenizer.as_deref(),
            Some("NeoQuasar/Kronos-Tokenizer-base")
        );
        assert_eq!(a.models, dir.fetch());
        assert_eq!(a.id.as_deref(), Some(kxian_shared::jobs::FETCHED_ID));
        assert_eq!(a.progress, kxian_trainer::progress::ProgressMode::Json);

        let cli = parse(json!({"kind": "predict", "board": "main"}), true);
        let Command::Predict(a) = cli.command else {
            panic!("not a predict")
        };
        assert_eq!(a.config, dir.predict_config());
        assert_eq!(a.progress, kxian_trainer::progress::ProgressMode::Json);
        assert_eq!((a.reader.as_user, a.reader.as_admin), (Some(4), true));

        let file =
            "[data]\nboard = \"main\"\n[model]\nbackbone = \"gru\"\n[target]\nkind = \"binary\"\n";
        let cli = parse(json!({"kind": "train_model", "config": file}), false);
        let Command::TrainModel(a) = cli.command else {
            panic!("not a train-model")
        };
        assert_eq!((a.config, a.out), (dir.model_config(), dir.model_run()));
        assert!(a.resume);
        assert_eq!(a.progress, kxian_trainer::progress::ProgressMode::Json);
        assert_eq!((a.reader.as_user, a.reader.as_admin), (Some(4), false));
    }
}
