//! What every request passes before a handler sees it: it must name a host this server
//! answers to (DNS rebinding), and a body announced larger than its endpoint takes is refused
//! before a byte of it is read. (The CSRF rule is applied where credentials are resolved:
//! `auth::require_same_origin`.) Responses carry the browser
//! security headers. The trust model is in `auth`.

use crate::auth;
use crate::error::AppError;
use crate::state::AppState;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tower_http::set_header::SetResponseHeaderLayer;

/// The app's scripts and wasm only: no inline script, no other origin, no framing.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; \
style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self' blob: data:; \
worker-src 'self' blob:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// `router` with the security headers on every response (HTML and API alike).
pub fn with_security_headers(router: axum::Router) -> axum::Router {
    router
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
}

/// The largest body `path` takes.
fn body_limit(state: &AppState, path: &str) -> u64 {
    match path {
        "/api/import" => crate::limits::upload_body_limit(state.max_upload) as u64,
        "/api/shares" => kxian_shared::api::SHARE_MAX_BYTES as u64,
        _ => crate::limits::MAX_JSON_BODY,
    }
}

fn header_text<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

pub async fn guard(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let headers = req.headers();
    if let Some(host) = header_text(headers, "host")
        && !state.auth.host_allowed(host)
    {
        return AppError::Misdirected(format!(
            "this server does not answer to `{}`; start it with --public-host {} to serve that name",
            auth::host_name(host),
            auth::host_name(host)
        ))
        .into_response();
    }
    let path = req.uri().path();
    if let Some(len) = header_text(headers, "content-length").and_then(|v| v.parse::<u64>().ok()) {
        let limit = body_limit(&state, path);
        if len > limit {
            return AppError::TooLarge(format!(
                "the body is {len} bytes; {path} takes at most {limit}"
            ))
            .into_response();
        }
    }
    next.run(req).await
}
