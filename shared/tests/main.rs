//! The crate's integration tests, one binary: each module was its own test binary, and every
//! binary linked the whole dependency tree again (the largest part of a cold CI run).

mod backtest_engine;
mod ingest_bad_files;
mod ingest_layouts;
mod ingest_real;
mod model_behaviour;
mod model_parity;
mod planted_signal;
mod reference_fields;
mod rules_real;
