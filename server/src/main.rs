use anyhow::Context;
use clap::Parser;
use kxian_server::config::{Cli, Command, ServeArgs};
use kxian_server::storage::TokenKind;
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
        Command::Share(args) => share(args).await,
        Command::Import(args) => {
            let outcome = import_cli::run(args).await?;
            if outcome != import_cli::Imported::All {
                std::process::exit(outcome.exit_code());
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
    let expiry =
        |days: Option<u32>| days.map(|d| chrono::Utc::now() + chrono::Duration::days(i64::from(d)));
    let named = |name: &str| {
        let store = store.clone();
        let name = name.to_string();
        async move {
            store
                .user_by_name(&name)
                .await?
                .with_context(|| format!("no user `{name}`"))
        }
    };
    let token = kxian_server::auth::new_token();
    match args.action {
        UserAction::Add {
            name,
            admin,
            expires_days,
        } => {
            let u = store
                .create_user(&name, admin)
                .await?
                .with_context(|| format!("a user `{name}` exists already"))?;
            store
                .add_token_with(
                    u.id,
                    &token,
                    "kxian user add",
                    TokenKind::Api,
                    expiry(expires_days),
                )
                .await?;
            eprintln!(
                "created {}{}",
                u.name,
                if u.admin { " (admin)" } else { "" }
            );
        }
        UserAction::Token {
            name,
            expires_days,
            label,
        } => {
            let u = named(&name).await?;
            store
                .add_token_with(u.id, &token, &label, TokenKind::Api, expiry(expires_days))
                .await?;
        }
        UserAction::Tokens { name } => {
            let u = named(&name).await?;
            println!(
                "{:<14} {:<8} {:<21} {:<21} label",
                "id", "kind", "created", "expires"
            );
            for t in store.tokens_of(u.id).await? {
                let expires = match (&t.expires_at, t.expired) {
                    (None, _) => "never".to_string(),
                    (Some(e), true) => format!("{e} (expired)"),
                    (Some(e), false) => e.clone(),
                };
                println!(
                    "{:<14} {:<8} {:<21} {:<21} {}",
                    t.id, t.kind, t.created_at, expires, t.label
                );
            }
            store.close().await;
            return Ok(());
        }
        UserAction::Revoke { name, token: id } => {
            let u = named(&name).await?;
            let n = store.revoke_tokens(u.id, id.as_deref()).await?;
            store.close().await;
            if n == 0 {
                anyhow::bail!(
                    "{name} has no token {}",
                    id.as_deref().map_or("at all".to_string(), |i| format!(
                        "`{i}` (see kxian user tokens {name})"
                    ))
                );
            }
            eprintln!("revoked {n} token(s) and session(s) of {name}");
            return Ok(());
        }
    }
    // The token is shown once; the store keeps only its hash.
    println!("{token}");
    store.close().await;
    Ok(())
}

async fn share(args: kxian_server::config::ShareArgs) -> anyhow::Result<()> {
    use kxian_server::config::ShareAction;
    let store = Store::open(&args.store.db)
        .await
        .with_context(|| format!("opening the store {}", args.store.db.display()))?;
    match args.action {
        ShareAction::Delete { id } => {
            let id = id.trim().trim_start_matches("/s/").to_string();
            let gone = store.delete_share(&id).await?;
            store.close().await;
            anyhow::ensure!(gone, "no share link `{id}`");
            eprintln!("deleted the share link {id}");
        }
    }
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
        if args.login_required() {
            println!("Every request needs a token: sign in with it in the browser.");
        } else {
            println!(
                "From this machine the browser needs no login; from elsewhere, sign in with the token."
            );
        }
    }
    let auth = args.auth();
    if args.login_required() && !args.require_login {
        tracing::info!(bind = %args.bind, "not a loopback address: every request needs a token");
    }
    let state = AppState {
        store: store.clone(),
        dist: args.dist.clone(),
        max_upload: args.max_upload_mb * 1024 * 1024,
        models: models.clone(),
        auth,
        jobs: jobs.clone(),
        limits: kxian_server::limits::Limits::new(args.limits()),
    };
    kxian_server::jobs::runner::start(store.clone(), jobs, models);
    // Printed on stdout (not the log) so scripts and people can pick the URL up.
    println!("Kxian is running at http://{addr}/  (Ctrl-C to stop)");
    println!("Forecast in your browser: http://{addr}/forecast?symbol=000300.SH");
    kxian_server::serve(listener, state, kxian_server::shutdown_signal()).await?;
    store.close().await;
    Ok(())
}
