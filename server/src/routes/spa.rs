//! The built web app from `dist/`, with `index.html` for every unknown path so deep links
//! such as `/symbols/000300.SH?freq=daily` load the app.

use axum::handler::HandlerWithoutStateExt;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use std::path::{Path, PathBuf};
use tower::Layer;
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeaderLayer;

const NOT_BUILT: &str = "<!doctype html><meta charset=utf-8><title>Kxian</title>
<h1>Kxian: the web app is not built</h1>
<p>The API is up (<a href=/api/health>/api/health</a>), but <code>dist/index.html</code> is missing.
Build the app with <code>bash scripts/build-app.sh</code> or start everything with
<code>bash scripts/run.sh</code>.</p>";

async fn index(index: PathBuf) -> Response {
    match tokio::fs::read(&index).await {
        Ok(body) => ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response(),
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, Html(NOT_BUILT)).into_response(),
    }
}

pub(super) fn service(dist: &Path) -> axum::routing::MethodRouter {
    let index_path = dist.join("index.html");
    let fallback = (move || index(index_path.clone())).into_service();
    // build-app.sh writes `.gz` twins of the big files (the wasm is ~3.5 MB gzipped, ~12 MB
    // not); browsers that accept gzip get those, with no compression work per request.
    let files = ServeDir::new(dist)
        .precompressed_gzip()
        .append_index_html_on_directories(true)
        .fallback(fallback);
    // File names carry no content hash, so browsers must revalidate (ETag/Last-Modified).
    let files = SetResponseHeaderLayer::overriding(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-cache"),
    )
    .layer(files);
    axum::routing::get_service(files)
}
