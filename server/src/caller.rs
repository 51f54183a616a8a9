//! Who is calling: the extractors handlers take ([`Caller`] for routes that need an account,
//! [`Reader`] for routes anyone may read), on top of [`crate::auth`]'s rules for tokens,
//! sessions and the local admin.

use crate::auth::{bearer, direct_from_loopback, require_same_origin, session_of};
use crate::error::AppError;
use crate::state::AppState;
use crate::storage::{TokenKind, User};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;

/// The caller; handlers that take it answer 401 without credentials.
#[derive(Debug, Clone)]
pub struct Caller(pub User);

impl FromRequestParts<AppState> for Caller {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        if let Some(token) = bearer(&parts.headers) {
            return match state.store.credential(&token).await? {
                Some((u, TokenKind::Api)) => Ok(Caller(u)),
                _ => Err(AppError::Unauthorized(
                    "this token is not valid (revoked, expired, or from another store)".into(),
                )),
            };
        }
        let local = state.auth.local_admin && direct_from_loopback(parts);
        if let Some(session) = session_of(&parts.headers) {
            match state.store.credential(&session).await? {
                Some((u, TokenKind::Session)) => {
                    require_same_origin(&parts.method, &parts.headers)?;
                    return Ok(Caller(u));
                }
                // A stale cookie in the local browser still gets the local admin.
                _ if local => {}
                _ => {
                    return Err(AppError::Unauthorized(
                        "your session has ended (signed out, revoked or expired): sign in again"
                            .into(),
                    ));
                }
            }
        }
        if local && let Some(u) = state.store.first_admin().await? {
            require_same_origin(&parts.method, &parts.headers)?;
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

    /// What the caller reads and writes as.
    pub fn viewer(&self) -> crate::storage::Viewer {
        crate::storage::Viewer::of(&self.0)
    }
}

/// Who reads the store, for routes that anyone may call: a valid token or the local admin
/// sees their own series too; nobody sees only the public ones. Bad credentials are a 401.
#[derive(Debug, Clone, Copy)]
pub struct Reader(pub crate::storage::Viewer);

impl FromRequestParts<AppState> for Reader {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let presented = bearer(&parts.headers).is_some() || session_of(&parts.headers).is_some();
        match Caller::from_request_parts(parts, state).await {
            Ok(c) => Ok(Reader(c.viewer())),
            Err(e) if presented || matches!(e, AppError::Forbidden(_)) => Err(e),
            Err(_) => Ok(Reader(crate::storage::Viewer::default())),
        }
    }
}
