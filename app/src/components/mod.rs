//! Reusable pieces: the page frame, the error panel, the upload panel and the K-line chart.

pub mod echart;
pub mod error;
pub mod forecast_view;
pub mod kline_chart;
pub mod layout;
pub mod upload;
