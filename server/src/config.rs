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
    /// Accounts: `kxian user add NAME [--admin]` prints a new API token; `tokens` lists
    /// them, `revoke` ends them.
    User(UserArgs),
    /// Share links: `kxian share delete ID` removes one (an admin's tool).
    Share(ShareArgs),
}

#[derive(Debug, Args)]
pub struct ShareArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    #[command(subcommand)]
    pub action: ShareAction,
}

#[derive(Debug, Subcommand)]
pub enum ShareAction {
    /// Delete a share link by its id (the part after /s/).
    Delete { id: String },
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
        /// The token stops working after this many days (default: never).
        #[arg(long)]
        expires_days: Option<u32>,
    },
    /// Print a new token for an existing user (older tokens keep working).
    Token {
        name: String,
        /// The token stops working after this many days (default: never).
        #[arg(long)]
        expires_days: Option<u32>,
        /// What the token is for, shown by `kxian user tokens`.
        #[arg(long, default_value = "kxian user token")]
        label: String,
    },
    /// List a user's tokens and browser sessions (ids, never the tokens).
    Tokens { name: String },
    /// End a user's tokens and sessions: all of them, or the one `--token ID` names (the id
    /// `kxian user tokens` lists).
    Revoke {
        name: String,
        #[arg(long)]
        token: Option<String>,
    },
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
    /// Require a token even from this machine (by default a request straight from this
    /// machine, to a loopback name and not through a proxy, acts as the local admin). On
    /// whenever --bind is not a loopback address.
    #[arg(long)]
    pub require_login: bool,
    /// A host name this server is reached by besides localhost (behind a proxy, or on the
    /// network), e.g. `kxian.example.com` or `https://kxian.example.com` (https: cookies get
    /// `Secure`). Requests naming any other host are refused (DNS rebinding). Repeatable.
    #[arg(long, env = "KXIAN_PUBLIC_HOST", value_delimiter = ',')]
    pub public_host: Vec<String>,
    /// Uploads parsed at once; more are answered 503 with Retry-After.
    #[arg(long, env = "KXIAN_PARALLEL_IMPORTS", default_value_t = 2)]
    pub parallel_imports: usize,
    /// Share links one client (account or address) may create at once…
    #[arg(long, default_value_t = 20)]
    pub share_burst: u32,
    /// …and then one per this many seconds.
    #[arg(long, default_value_t = 30)]
    pub share_every_s: u32,
    /// MiB of share links one client may keep (admins are not limited).
    #[arg(long, default_value_t = 64)]
    pub share_quota_mb: u64,
}

impl ServeArgs {
    /// Whether the local-admin rule is off: asked for, or implied by a non-loopback bind.
    pub fn login_required(&self) -> bool {
        self.require_login || !self.bind.is_loopback()
    }

    /// The trust settings these flags give.
    pub fn auth(&self) -> crate::auth::AuthConfig {
        let mut hosts = Vec::new();
        let mut secure = false;
        for h in &self.public_host {
            let h = h.trim().trim_end_matches('/');
            let name = if let Some(rest) = h.strip_prefix("https://") {
                secure = true;
                rest
            } else {
                h.strip_prefix("http://").unwrap_or(h)
            };
            hosts.push(crate::auth::host_name(name));
        }
        if !self.bind.is_unspecified() && !self.bind.is_loopback() {
            let ip = match self.bind {
                std::net::IpAddr::V6(v6) => format!("[{v6}]"),
                v4 => v4.to_string(),
            };
            hosts.push(ip);
        }
        crate::auth::AuthConfig {
            local_admin: !self.login_required(),
            public_hosts: hosts,
            secure_cookies: secure,
        }
    }

    pub fn limits(&self) -> crate::limits::LimitsConfig {
        crate::limits::LimitsConfig {
            parallel_imports: self.parallel_imports.max(1),
            share_burst: self.share_burst.max(1),
            share_every_s: self.share_every_s.max(1),
            share_quota_bytes: self.share_quota_mb.saturating_mul(1024 * 1024),
        }
    }
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
    /// Import as this user (their own series, under the store's write rule) instead of as
    /// the machine itself (public series).
    #[arg(long)]
    pub owner: Option<String>,
}

/// The store's default place (`kxian_store::default_path`).
pub fn default_db() -> PathBuf {
    kxian_store::default_path()
}
