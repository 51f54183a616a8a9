//! Who is asking: an API token (`Authorization: Bearer kx_…`), the browser's session cookie
//! (the same token, HttpOnly), or — on a loopback request to a server that allows it — the
//! local install's admin, so a single-user install needs no login at all.

use crate::error::AppError;
use crate::state::AppState;
use crate::storage::User;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use rand::RngCore;
use std::net::SocketAddr;

pub const COOKIE: &str = "kxian_session";

/// A fresh API token: 192 random bits from the OS-seeded CSPRNG, `kx_` + hex.
pub fn new_token() -> String {
    let mut bytes = [0u8; 24];
    rand::rng().fill_bytes(&mut bytes);
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("kx_{hex}")
}

/// How requests without credentials are treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AuthConfig {
    /// Loopback requests without a token act as the first admin.
    pub local_admin: bool,
}

fn token_of(parts: &Parts) -> Option<String> {
    if let Some(h) = parts.headers.get(axum::http::header::AUTHORIZATION)
        && let Ok(v) = h.to_str()
        && let Some(t) = v.strip_prefix("Bearer ")
    {
        return Some(t.trim().to_string());
    }
    let cookies = parts
        .headers
        .get(axum::http::header::COOKIE)?
        .to_str()
        .ok()?;
    cookies
        .split(';')
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE)
        .map(|(_, v)| v.to_string())
}

/// The caller; handlers that take it answer 401 without credentials.
#[derive(Debug, Clone)]
pub struct Caller(pub User);

impl FromRequestParts<AppState> for Caller {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        if let Some(token) = token_of(parts) {
            return match state.store.user_by_token(&token).await? {
                Some(u) => Ok(Caller(u)),
                None => Err(AppError::Unauthorized(
                    "this token is not valid (revoked, or from another store)".into(),
                )),
            };
        }
        let loopback = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .is_some_and(|c| c.0.ip().is_loopback());
        if state.auth.local_admin
            && loopback
            && let Some(u) = state.store.first_admin().await?
        {
            return Ok(Caller(u));
        }
        Err(AppError::Unauthorized(
            "sign in: send `Authorization: Bearer <token>` (kxian user add NAME makes one)".into(),
        ))
    }
}

impl Caller {
    /// Whether the caller may see and act on something owned by `owner`.
    pub fn may_access(&self, owner: i64) -> bool {
        self.0.admin || self.0.id == owner
    }
}

/// Who reads the store, for routes that anyone may call: a valid token or the local admin
/// sees their own series too; nobody sees only the public ones. A bad token is still a 401.
#[derive(Debug, Clone, Copy)]
pub struct Reader(pub crate::storage::Viewer);

impl FromRequestParts<AppState> for Reader {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        match Caller::from_request_parts(parts, state).await {
            Ok(Caller(u)) => Ok(Reader(crate::storage::Viewer {
                user: Some(u.id),
                admin: u.admin,
            })),
            Err(e) if token_of(parts).is_some() => Err(e),
            Err(_) => Ok(Reader(crate::storage::Viewer::default())),
        }
    }
}
