//! The daily-bar portfolio engine: cash, positions and fills under A-share rules.
//!
//! Timeline of one trading day `D`:
//! 1. shares bought before `D` become sellable (T+1);
//! 2. orders the strategy placed after the previous close with [`Timing::Open`] fill at
//!    `D`'s open, sells before buys; then [`Timing::Close`] orders at `D`'s close, likewise;
//! 3. positions are marked to `D`'s close;
//! 4. the strategy sees history up to and including `D` and places orders for `D + 1`.
//!
//! A strategy therefore never trades on a price it has not seen, and limit checks use only
//! the fill price and the previous close (a buy at the open is blocked only when the open is
//! at limit-up, not because the day closed there).

mod day_loop;
mod result;
mod settings;
mod strategy;
mod universe;

pub use day_loop::{run, run_window};
pub use result::*;
pub use settings::*;
pub use strategy::*;
pub use universe::*;
