//! Stored prediction sets, as the server lists and serves them.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::predictions::RowKind;

/// One stored set (its rows are served as CSV or Parquet, or read by id).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PredictionSetInfo {
    pub id: i64,
    pub name: String,
    /// `None`: public (made from the command line without an owner).
    pub owner_id: Option<i64>,
    pub kind: RowKind,
    pub model: String,
    /// SHA-256 of every file the model was read from.
    pub model_sha256: Vec<String>,
    /// Universe, schedule and forecast settings (the seed included).
    pub params: serde_json::Value,
    pub first_date: NaiveDate,
    pub last_date: NaiveDate,
    pub symbols: usize,
    pub rows: usize,
    pub created_at: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PredictionSetList {
    pub sets: Vec<PredictionSetInfo>,
}
