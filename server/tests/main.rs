//! The crate's integration tests, one binary: each module was its own test binary, and every
//! binary linked the whole dependency tree again (the largest part of a cold CI run).

mod api;
mod cli;
