//! Command-line and environment configuration of the `kxian` binary.

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "kxian",
    version,
    about = "Kxian: A-share K-line research — server, local store and importers"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the web app and the JSON API (loads the embedded data set on first start).
    Serve(ServeArgs),
    /// Import CSV/XLSX/JSON bar files into the local store.
    Import(ImportArgs),
    /// Accounts: `kxian user add NAME [--admin]` prints a new API token.
    User(UserArgs),
}

#[derive(Debug, Args)]
pub struct UserArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    #[command(subcommand)]
    pub action: UserAction,
}

#[derive(Debug, Subcommand)]
pub enum UserAction {
    /// Create a user and print its first token.
    Add {
        name: String,
        #[arg(long)]
        admin: bool,
    },
    /// Print a new token for an existing user (older tokens keep working).
    Token { name: String },
}

#[derive(Debug, Args)]
pub struct StoreArgs {
    /// SQLite database file (created if missing).
    #[arg(long, env = "KXIAN_DB", default_value_os_t = default_db())]
    pub db: PathBuf,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    /// Address to bind. Loopback by default: nothing is exposed to the network unless asked.
    #[arg(long, env = "KXIAN_BIND", default_value = "127.0.0.1")]
    pub bind: std::net::IpAddr,
    /// Port; 0 picks a free one.
    #[arg(long, env = "KXIAN_PORT", default_value_t = 3000)]
    pub port: u16,
    /// Folder with the built web app (scripts/build-app.sh writes it).
    #[arg(long, env = "KXIAN_DIST", default_value = "dist")]
    pub dist: PathBuf,
    /// Largest accepted upload, in MiB.
    #[arg(long, env = "KXIAN_MAX_UPLOAD_MB", default_value_t = 64)]
    pub max_upload_mb: usize,
    /// Folder of trained models (`<id>/tokenizer/`, `<id>/predictor/`) offered besides the
    /// built-in one.
    #[arg(long, env = "KXIAN_MODELS")]
    pub models: Option<PathBuf>,
    /// Do not load the embedded default data set.
    #[arg(long)]
    pub no_embedded: bool,
    /// The `kxian-trainer` binary that runs jobs (default: the one beside `kxian`).
    #[arg(long, env = "KXIAN_TRAINER")]
    pub trainer: Option<PathBuf>,
    /// Folder of job work files and logs (default: `jobs/` beside the database).
    #[arg(long, env = "KXIAN_JOBS_DIR")]
    pub jobs_dir: Option<PathBuf>,
    /// Jobs run at once on this machine.
    #[arg(long, env = "KXIAN_JOB_SLOTS", default_value_t = 1)]
    pub job_slots: usize,
    /// Queued plus running jobs one user may have.
    #[arg(long, env = "KXIAN_JOB_QUOTA", default_value_t = 4)]
    pub job_quota: i64,
    /// Require a token even from this machine (by default a loopback request without one
    /// acts as the local admin).
    #[arg(long)]
    pub require_login: bool,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    /// Files to import (CSV/TSV/TXT in akshare, Tushare, Kronos, Yahoo, baostock or plain
    /// English layouts; EquiNet-style XLSX; HQChart JSON). Each file is one transaction.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Symbol, when the file has no code column and its name carries no code (e.g. 600000.SH).
    #[arg(long)]
    pub symbol: Option<kxian_shared::Symbol>,
    /// Display name stored with the symbol.
    #[arg(long)]
    pub name: Option<String>,
    /// Frequency (1m, 5m, 15m, 30m, 60m, daily, weekly, monthly); inferred when left out.
    #[arg(long)]
    pub frequency: Option<kxian_shared::Frequency>,
    /// Adjustment of the prices in the file: none, qfq or hfq.
    #[arg(long, default_value = "none")]
    pub adjustment: kxian_shared::Adjustment,
    /// Unit of the volume column (shares or lots); the layout's convention when left out.
    #[arg(long)]
    pub volume_unit: Option<kxian_shared::api::VolumeUnit>,
    /// Store the valid rows and report the rejected ones, instead of rejecting the file.
    #[arg(long)]
    pub skip_invalid: bool,
    /// Print the reports as JSON lines instead of text.
    #[arg(long)]
    pub json: bool,
}

/// `$XDG_DATA_HOME/kxian/kxian.db`, else `~/.local/share/kxian/kxian.db`, else `./kxian.db`.
pub fn default_db() -> PathBuf {
    let base = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")));
    match base {
        Some(b) => b.join("kxian").join("kxian.db"),
        None => PathBuf::from("kxian.db"),
    }
}
