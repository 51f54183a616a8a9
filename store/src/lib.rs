//! The local store: the only place SQL lives. SQLite (WAL) is the embedded default; every
//! query goes through [`Store`], so another database can be added behind it later.

mod bars;
pub mod digest;
pub mod files;
mod imports;
mod jobs;
mod predictions;
pub mod reader;
mod reference;
mod sealed;
mod shares;
mod symbols;
#[cfg(test)]
mod tests;
mod users;

pub use bars::BarRange;
pub use digest::sha256_hex;
pub use jobs::{JobRow, JobState};
pub use predictions::NewPredictionSet;
pub use reference::ReferenceCounts;
pub use shares::StoredShare;
pub use users::{TOKEN_ID_LEN, TokenInfo, TokenKind, User, Viewer};

/// Where `kxian serve` keeps its store unless told otherwise, and where the trainer looks for
/// one: `$XDG_DATA_HOME/kxian/kxian.db`, else `~/.local/share/kxian/kxian.db`, else `./kxian.db`.
pub fn default_path() -> std::path::PathBuf {
    let base = std::env::var_os("XDG_DATA_HOME")
        .map(std::path::PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|h| std::path::PathBuf::from(h).join(".local/share"))
        });
    match base {
        Some(b) => b.join("kxian").join("kxian.db"),
        None => std::path::PathBuf::from("kxian.db"),
    }
}

use chrono::{DateTime, NaiveDateTime};
use sqlx::SqlitePool;
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use std::borrow::Cow;
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("cannot create the database folder {path}: {source}")]
    Folder {
        path: String,
        source: std::io::Error,
    },
    #[error("corrupt value in the store: {0}")]
    Corrupt(String),
    /// The write rule refused a write (see `Store::import_as`).
    #[error("{0}")]
    NotAllowed(String),
    /// Reference data that cannot be true, refused before anything is written.
    #[error("{0}")]
    BadReference(#[from] kxian_shared::reference::RefError),
}

/// Migrations are compiled in (no `sqlx::migrate!`, which needs the macros feature and a
/// build-time database): append new files here, never edit old ones. Each runs in one
/// transaction.
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "init", include_str!("../migrations/0001_init.sql")),
    (2, "shares", include_str!("../migrations/0002_shares.sql")),
    (3, "jobs", include_str!("../migrations/0003_jobs.sql")),
    (4, "owners", include_str!("../migrations/0004_owners.sql")),
    (5, "secrets", include_str!("../migrations/0005_secrets.sql")),
    (
        6,
        "series per owner",
        include_str!("../migrations/0006_series_per_owner.sql"),
    ),
    (
        7,
        "sessions and limits",
        include_str!("../migrations/0007_sessions_limits.sql"),
    ),
    (
        8,
        "prediction sets",
        include_str!("../migrations/0008_predictions.sql"),
    ),
    (
        9,
        "reference data",
        include_str!("../migrations/0009_reference.sql"),
    ),
    (
        10,
        "northbound holdings",
        include_str!("../migrations/0010_northbound.sql"),
    ),
];

fn migrator() -> Migrator {
    let migrations = MIGRATIONS
        .iter()
        .map(|(v, d, sql)| {
            Migration::new(
                *v,
                Cow::Borrowed(*d),
                MigrationType::Simple,
                Cow::Borrowed(*sql),
                false,
            )
        })
        .collect::<Vec<_>>();
    Migrator {
        migrations: Cow::Owned(migrations),
        ..Migrator::DEFAULT
    }
}

#[derive(Debug, Clone)]
pub struct Store {
    pool: SqlitePool,
    key: sealed::SealKey,
}

impl Store {
    /// Opens (creating if needed) the SQLite database at `path` and migrates it. A new folder,
    /// the database, its WAL and its key are private to the account that runs the server.
    pub async fn open(path: &Path) -> Result<Store, StoreError> {
        let folder = |path: &Path| {
            let path = path.display().to_string();
            move |source| StoreError::Folder { path, source }
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
            && !dir.exists()
        {
            crate::files::private_dir(dir).map_err(folder(dir))?;
        }
        // SQLite reads an empty file as an empty database; creating it first sets its mode,
        // which SQLite gives the WAL and shared-memory files too.
        crate::files::private_new(path, b"").map_err(folder(path))?;
        let key = sealed::SealKey::load_or_create(path)?;
        let options = SqliteConnectOptions::from_str("sqlite://")?
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await?;
        migrator().run(&pool).await?;
        for suffix in ["", "-wal", "-shm"] {
            let mut p = path.as_os_str().to_os_string();
            p.push(suffix);
            let p = std::path::PathBuf::from(p);
            crate::files::restrict(&p, 0o600).map_err(folder(&p))?;
        }
        let store = Store { pool, key };
        store.seal_plain_secrets().await?;
        Ok(store)
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// A transaction that writes: it takes SQLite's write lock when it begins, so a second
    /// writer waits (up to the busy timeout) there. A deferred transaction that read first
    /// would instead fail at its first write with "database is locked" whenever another
    /// writer had gone ahead, as SQLite refuses to wait in a way that could deadlock.
    pub(crate) async fn write_tx(
        &self,
    ) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>, StoreError> {
        Ok(self.pool.begin_with("BEGIN IMMEDIATE").await?)
    }
}

/// Seconds of the local wall clock, read as UTC.
pub(crate) fn ts_to_db(ts: NaiveDateTime) -> i64 {
    ts.and_utc().timestamp()
}

pub(crate) fn ts_from_db(secs: i64) -> Result<NaiveDateTime, StoreError> {
    DateTime::from_timestamp(secs, 0)
        .map(|t| t.naive_utc())
        .ok_or_else(|| StoreError::Corrupt(format!("timestamp {secs} out of range")))
}
