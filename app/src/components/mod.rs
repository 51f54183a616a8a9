//! Reusable pieces: the page frame, the error panel, the upload panel and the K-line chart.

pub mod error;
pub mod kline_chart;
pub mod layout;
pub mod upload;
