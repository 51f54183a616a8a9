use crate::error::AppError;
use crate::state::AppState;
use axum::Json;
use axum::extract::multipart::MultipartError;
use axum::extract::{Multipart, State};
use axum::http::StatusCode;
use kxian_shared::api::{ImportOptions, ImportReport};

fn multipart_error(e: MultipartError, max: usize) -> AppError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        AppError::TooLarge(format!(
            "the upload is larger than the {} MB limit",
            max / (1024 * 1024)
        ))
    } else {
        AppError::BadRequest(format!("malformed upload: {}", e.body_text()))
    }
}

fn field_value<T: std::str::FromStr>(field: &str, raw: &str) -> Result<Option<T>, AppError>
where
    T::Err: std::fmt::Display,
{
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    raw.parse()
        .map(Some)
        .map_err(|e| AppError::BadRequest(format!("`{field}`: {e}")))
}

/// `POST /api/import` (needs an account, or the local admin; multipart: `file`, and optional `symbol`, `name`, `frequency`,
/// `adjustment`, `volume_unit`, `skip_invalid`).
pub(super) async fn import(
    State(state): State<AppState>,
    caller: crate::caller::Caller,
    mut multipart: Multipart,
) -> Result<Json<ImportReport>, AppError> {
    // Taken before the body is read: a waiting upload is not buffered either.
    let _slot = state.limits.import_slot()?;
    let max = state.max_upload;
    let mut opts = ImportOptions::default();
    let mut file: Option<(String, Vec<u8>)> = None;
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|e| multipart_error(e, max))?
    {
        let name = field.name().unwrap_or_default().to_string();
        if name == "file" {
            let file_name = field.file_name().unwrap_or("upload").to_string();
            let bytes = field.bytes().await.map_err(|e| multipart_error(e, max))?;
            if bytes.len() > max {
                return Err(AppError::TooLarge(format!(
                    "{file_name} is {} MB; the limit is {} MB",
                    bytes.len() / (1024 * 1024),
                    max / (1024 * 1024)
                )));
            }
            file = Some((file_name, bytes.to_vec()));
            continue;
        }
        let text = field.text().await.map_err(|e| multipart_error(e, max))?;
        match name.as_str() {
            "symbol" => opts.symbol = field_value("symbol", &text)?,
            "name" => opts.name = Some(text.trim().to_string()).filter(|s| !s.is_empty()),
            "frequency" => opts.frequency = field_value("frequency", &text)?,
            "adjustment" => opts.adjustment = field_value("adjustment", &text)?.unwrap_or_default(),
            "volume_unit" => opts.volume_unit = field_value("volume_unit", &text)?,
            "skip_invalid" => {
                opts.skip_invalid = matches!(text.trim(), "true" | "on" | "1" | "yes")
            }
            other => {
                return Err(AppError::BadRequest(format!(
                    "unknown form field `{other}`"
                )));
            }
        }
    }
    let (file_name, bytes) =
        file.ok_or_else(|| AppError::BadRequest("the form has no `file` part".into()))?;
    let source = format!("import:{file_name}");
    // Parsing a 50 MB file takes a while: keep it off the async workers.
    let parsed = tokio::task::spawn_blocking(move || {
        kxian_shared::ingest::parse_file(&file_name, &bytes, &opts)
    })
    .await
    .map_err(|e| AppError::Internal(e.to_string()))??;
    // Written as the uploader, under the store's write rule: their own series, the public
    // ones only if they are an admin, never someone else's.
    let report = state
        .store
        .import_as(&parsed, &source, &caller.viewer())
        .await?;
    tracing::info!(file = %report.file, layout = %report.layout, series = report.series.len(), "imported");
    Ok(Json(report))
}
