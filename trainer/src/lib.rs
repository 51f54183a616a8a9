//! Kxian's native worker. `kxian-trainer forecast` runs a Kronos model on a file's bars;
//! downloads, finetuning and training arrive with their issues and start from [`input`].

pub mod backtest;
pub mod classifier;
pub mod device;
pub mod download;
pub mod evaluate;
pub mod factors;
pub mod forecast;
pub mod init;
pub mod input;
pub mod models;
pub mod store;
pub mod train;
