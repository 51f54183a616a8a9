//! A backtest as a TOML file: the universe, the strategy, the engine, the risk manager and an
//! optional walk-forward. The CLI and the browser read the same file with [`parse`] and run it
//! with [`run_config`]; only where the bars come from differs.
//!
//! ```toml
//! [universe]
//! board = "index"                            # or: symbols = ["000300.SH", "600000"]
//! from = 2015-01-05
//! to = 2024-09-19
//!
//! [strategy]
//! kind = "monthly_rotation"                  # or "sma_cross" (fast, slow), "signal"
//! top_fraction = 0.2
//!
//! [engine]
//! initial_cash = 100_000_000
//! ```

//!
//! The file's parts live in their own modules — [`schema`](super::schema) (the file and
//! [`parse`]), [`run`](super::run), [`report`](super::report) and [`session`](super::session)
//! ([`run_all`]) — and are all reachable from here.

pub use super::report::*;
pub use super::run::*;
pub use super::schema::*;
pub use super::session::*;
