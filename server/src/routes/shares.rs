//! `POST /api/shares` and `GET /api/shares/{id}`: immutable forecast snapshots behind
//! unguessable ids. Public and read-only once written; there is no listing or update, and only
//! an admin deletes one (`kxian share delete`). Each client may create a limited number, and
//! keep a limited number of bytes of them (`limits`).

use crate::error::AppError;
use crate::state::AppState;
use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use kxian_shared::api::{ShareCreated, ShareResponse, ShareSnapshot};
use rand::RngCore;

/// 128 bits from the OS-seeded CSPRNG, as 22 characters of URL-safe base64.
fn new_id() -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    let n = u128::from_le_bytes(bytes);
    (0..22)
        .map(|i| ALPHABET[((n >> (6 * i)) & 63) as usize] as char)
        .collect()
}

fn plausible_id(id: &str) -> bool {
    id.len() == 22
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Who a share link counts against: an account, or the client's address. Admins (and so the
/// single-user install) are not limited.
async fn creator(
    state: &AppState,
    parts: &mut axum::http::request::Parts,
) -> Result<Option<String>, AppError> {
    use axum::extract::FromRequestParts;
    let presented = crate::auth::has_bearer(&parts.headers)
        || crate::auth::session_of(&parts.headers).is_some();
    match crate::caller::Caller::from_request_parts(parts, state).await {
        Ok(c) if c.0.admin => Ok(None),
        Ok(c) => Ok(Some(format!("user:{}", c.0.id))),
        Err(e) if presented || matches!(e, AppError::Forbidden(_)) => Err(e),
        Err(_) => {
            crate::auth::require_same_origin(&parts.method, &parts.headers)?;
            let ip = parts
                .extensions
                .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                .map_or_else(|| "unknown".to_string(), |c| c.0.ip().to_string());
            Ok(Some(format!("ip:{ip}")))
        }
    }
}

pub(super) async fn create(
    State(state): State<AppState>,
    mut parts: axum::http::request::Parts,
    body: Result<Json<ShareSnapshot>, JsonRejection>,
) -> Result<Response, AppError> {
    let creator = creator(&state, &mut parts).await?;
    let Json(snapshot) = body.map_err(|e| match e {
        JsonRejection::BytesRejection(_) => AppError::TooLarge(format!(
            "a share snapshot may be at most {} MiB",
            kxian_shared::api::SHARE_MAX_BYTES / (1024 * 1024)
        )),
        e => AppError::BadRequest(format!("not a forecast snapshot: {}", e.body_text())),
    })?;
    snapshot
        .validate()
        .map_err(|m| AppError::BadRequest(format!("invalid snapshot: {m}")))?;
    // Stored as re-serialised, validated JSON: unknown fields never reach the store.
    let body = serde_json::to_string(&snapshot)
        .map_err(|e| AppError::Internal(format!("serialising a snapshot: {e}")))?;
    if let Some(c) = &creator {
        state.limits.take_share(c)?;
        let quota = state.limits.config().share_quota_bytes;
        let held = state.store.share_bytes_of(c).await?;
        if held + body.len() as u64 > quota {
            return Err(AppError::Quota(format!(
                "this client's share links take {} MiB; the quota is {} MiB",
                held / (1024 * 1024),
                quota / (1024 * 1024)
            )));
        }
    }
    let who = creator.as_deref().unwrap_or("admin");
    for _ in 0..4 {
        let id = new_id();
        if state.store.insert_share(&id, &body, who).await? {
            tracing::info!(share = %id, bytes = body.len(), "share created");
            let created = ShareCreated {
                path: format!("/s/{id}"),
                id,
            };
            return Ok((StatusCode::CREATED, Json(created)).into_response());
        }
    }
    Err(AppError::Internal("could not draw a free share id".into()))
}

pub(super) async fn get(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let missing = || AppError::NotFound("no such share link".into());
    if !plausible_id(&id) {
        return Err(missing());
    }
    let stored = state.store.share(&id).await?.ok_or_else(missing)?;
    let snapshot: ShareSnapshot = serde_json::from_str(&stored.body)
        .map_err(|e| AppError::Internal(format!("share {id} does not parse: {e}")))?;
    let resp = ShareResponse {
        id,
        created_at: stored.created_at,
        snapshot,
    };
    // Immutable content: any cache may keep it.
    Ok((
        [(header::CACHE_CONTROL, "public, max-age=31536000, immutable")],
        Json(resp),
    )
        .into_response())
}
