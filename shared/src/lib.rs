//! Kxian's shared crate: what the server, the trainer and the browser app all agree on.
//!
//! No I/O and no framework lives here, so the same code builds for native targets and for
//! `wasm32-unknown-unknown`. File importers parse bytes handed to them (feature `files`).

pub mod analysis;
pub mod api;
pub mod backtest;
pub mod calendar;
pub mod domain;
pub mod expr;
pub mod features;
pub mod health;
pub mod import;
#[cfg(feature = "files")]
pub mod ingest;
pub mod jobs;
mod json_nan;
pub mod mine;
#[cfg(feature = "model")]
pub mod model;
pub mod predictions;
pub mod reference;
pub mod rules;
pub mod zoo;

pub use domain::{Adjustment, Bar, Board, Exchange, Frequency, InstrumentKind, Symbol};
