//! The model zoo: one training file for many models over one dataset — the target
//! ([`target`]), the backbones ([`net`]), the losses ([`loss`]), checkpoints ([`io`]) and the
//! held-out metrics ([`metrics`]). The trainer brings the bars and the loop.

pub mod card;
pub mod config;
#[cfg(feature = "model")]
pub mod io;
#[cfg(feature = "model")]
pub mod loss;
pub mod metrics;
#[cfg(feature = "model")]
pub mod net;
pub mod target;

#[cfg(all(test, feature = "model"))]
mod tests;
