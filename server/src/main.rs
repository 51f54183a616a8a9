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
        Command::Import(args) => {
            let ok = import_cli::run(args).await?;
            if !ok {
                std::process::exit(1);
            }
            Ok(())
        }
    }
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
    let models =
        kxian_server::models::Models::load(args.models.as_deref()).context("reading the models")?;
    let state = AppState {
        store: store.clone(),
        dist: args.dist,
        max_upload: args.max_upload_mb * 1024 * 1024,
        models,
    };
    // Printed on stdout (not the log) so scripts and people can pick the URL up.
    println!("Kxian is running at http://{addr}/  (Ctrl-C to stop)");
    println!("Forecast in your browser: http://{addr}/forecast?symbol=000300.SH");
    kxian_server::serve(listener, state, kxian_server::shutdown_signal()).await?;
    store.close().await;
    Ok(())
}
