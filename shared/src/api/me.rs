//! `/api/me`: who the browser is signed in as. The jobs themselves are [`crate::jobs`].

use serde::{Deserialize, Serialize};

/// `GET /api/me`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Me {
    pub id: i64,
    pub name: String,
    pub admin: bool,
    /// Whether a Tushare token is stored for this user (the token itself is never sent back).
    #[serde(default)]
    pub tushare_token: bool,
}
