use anyhow::Context;
use clap::Parser;
use kxian_server::config::{Cli, Command, ServeArgs};
use kxian_server::{AppState, Store, embedded, import_cli};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => serve(args).await,
        Command::User(args) => user(args).await,
        Command::Import(args) => {
            let ok = import_cli::run(args).await?;
            if !ok {
                std::process::exit(1);
            }
            Ok(())
        }
    }
}

async fn user(args: kxian_server::config::UserArgs) -> anyhow::Result<()> {
    use kxian_server::config::UserAction;
    let store = Store::open(&args.store.db)
        .await
        .with_context(|| format!("opening the store {}", args.store.db.display()))?;
    let token = kxian_server::auth::new_token();
    match args.action {
        UserAction::Add { name, admin } => {
            let u = store
                .create_user(&name, admin)
                .await?
                .with_context(|| format!("a user `{name}` exists already"))?;
            store.add_token(u.id, &token, "kxian user add").await?;
            eprintln!(
                "created {}{}",
                u.name,
                if u.admin { " (admin)" } else { "" }
            );
        }
        UserAction::Token { name } => {
            let u = store
                .user_by_name(&name)
                .await?
                .with_context(|| format!("no user `{name}`"))?;
            store.add_token(u.id, &token, "kxian user token").await?;
        }
    }
    // The token is shown once; the store keeps only its hash.
    println!("{token}");
    store.close().await;
    Ok(())
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let store = Store::open(&args.store.db)
        .await
        .with_context(|| format!("opening the store {}", args.store.db.display()))?;
    tracing::info!(db = %args.store.db.display(), "store ready");
    if !args.no_embedded {
        let s = embedded::load_once(&store)
            .await
            .context("loading the embedded data set")?;
        if !s.already_loaded {
            tracing::info!(
                series = s.series,
                bars = s.bars,
                skipped_rows = s.skipped_rows,
                "embedded data loaded"
            );
        }
    }
    if !args.dist.join("index.html").exists() {
        tracing::warn!(dist = %args.dist.display(), "web app not built (run scripts/build-app.sh); serving the API only");
    }
    let listener = tokio::net::TcpListener::bind((args.bind, args.port))
        .await
        .with_context(|| format!("binding {}:{}", args.bind, args.port))?;
    let addr = listener.local_addr()?;
    let data_dir = args
        .store
        .db
        .parent()
        .map(std::path::Path::to_path_buf)
        .unwrap_or_default();
    // Finished training jobs add their models here, so a models folder always exists.
    let models_dir = args
        .models
        .clone()
        .unwrap_or_else(|| data_dir.join("models"));
    let models =
        kxian_server::models::Models::load(Some(&models_dir)).context("reading the models")?;
    let trainer = args.trainer.clone().unwrap_or_else(|| {
        std::env::current_exe()
            .ok()
            .and_then(|e| e.parent().map(|d| d.join("kxian-trainer")))
            .unwrap_or_else(|| "kxian-trainer".into())
    });
    let jobs = kxian_server::jobs::Jobs::new(kxian_server::jobs::RunnerConfig {
        trainer,
        work: args
            .jobs_dir
            .clone()
            .unwrap_or_else(|| data_dir.join("jobs")),
        db: args.store.db.clone(),
        slots: args.job_slots,
        quota: args.job_quota,
        env: Vec::new(),
        models: Some(models_dir),
    });
    if store.user_count().await? == 0 {
        let admin = store
            .create_user("admin", true)
            .await?
            .context("creating the local admin")?;
        let token = kxian_server::auth::new_token();
        store.add_token(admin.id, &token, "first start").await?;
        println!("Created the local admin `admin`. Its API token (shown once): {token}");
        println!(
            "From this machine the browser needs no login; from elsewhere, sign in with the token."
        );
    }
    let state = AppState {
        store: store.clone(),
        dist: args.dist,
        max_upload: args.max_upload_mb * 1024 * 1024,
        models: models.clone(),
        auth: kxian_server::auth::AuthConfig {
            local_admin: !args.require_login,
        },
        jobs: jobs.clone(),
    };
    kxian_server::jobs::runner::start(store.clone(), jobs, models);
    // Printed on stdout (not the log) so scripts and people can pick the URL up.
    println!("Kxian is running at http://{addr}/  (Ctrl-C to stop)");
    println!("Forecast in your browser: http://{addr}/forecast?symbol=000300.SH");
    kxian_server::serve(listener, state, kxian_server::shutdown_signal()).await?;
    store.close().await;
    Ok(())
}
