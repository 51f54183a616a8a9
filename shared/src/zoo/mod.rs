//! The model zoo: one training file for many models over one dataset — the target
//! ([`target`]), the inputs ([`inputs`]), the backbones ([`net`]), the losses ([`loss`]),
//! checkpoints ([`io`]), the held-out metrics ([`metrics`]) and the card ([`card`]). The
//! trainer brings the bars and the loop; the browser runs the same inputs through a model.

pub mod card;
pub mod config;
pub mod inputs;
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
