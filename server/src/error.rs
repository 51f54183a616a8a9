//! One error type for every handler, rendered as the shared `ApiError` JSON body.

use crate::storage::StoreError;
use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use kxian_shared::api::ApiError;
use kxian_shared::ingest::ImportError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    TooLarge(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Quota(String),
    #[error("{0}")]
    Forbidden(String),
    /// The request names a host this server does not answer to.
    #[error("{0}")]
    Misdirected(String),
    /// Too much at once: try again after this many seconds.
    #[error("{message}")]
    Busy { message: String, retry_after: u32 },
    #[error(transparent)]
    Import(#[from] ImportError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("internal error: {0}")]
    Internal(String),
}

impl AppError {
    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            AppError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            AppError::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            AppError::TooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "too_large"),
            AppError::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "unauthorized"),
            AppError::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            AppError::Quota(_) => (StatusCode::TOO_MANY_REQUESTS, "quota"),
            AppError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            AppError::Misdirected(_) => (StatusCode::MISDIRECTED_REQUEST, "misdirected"),
            AppError::Busy { .. } => (StatusCode::SERVICE_UNAVAILABLE, "busy"),
            AppError::Store(StoreError::NotAllowed(_)) => (StatusCode::FORBIDDEN, "forbidden"),
            AppError::Import(e) => (StatusCode::UNPROCESSABLE_ENTITY, e.code()),
            AppError::Store(_) | AppError::Internal(_) => {
                (StatusCode::INTERNAL_SERVER_ERROR, "internal")
            }
        }
    }

    pub fn body(&self) -> ApiError {
        if let AppError::Import(e) = self {
            return ApiError::from(e);
        }
        let (_, code) = self.status_and_code();
        ApiError {
            error: code.to_string(),
            message: self.to_string(),
            problems: Vec::new(),
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (status, _) = self.status_and_code();
        if status.is_server_error() && !matches!(self, AppError::Busy { .. }) {
            tracing::error!(error = %self, "request failed");
        }
        let mut resp = (status, Json(self.body())).into_response();
        if let AppError::Busy { retry_after, .. } = &self {
            resp.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from(*retry_after),
            );
        }
        resp
    }
}
