//! Kxian's server: the local store, the JSON API, the web app, and file import.
//!
//! `main.rs` is a thin CLI over this library; tests build the same [`app`] and [`serve`] it.

pub mod auth;
pub mod config;
pub mod embedded;
pub mod error;
pub mod import_cli;
pub mod jobs;
pub mod models;
pub mod routes;
pub mod state;
pub mod storage;

pub use state::AppState;
pub use storage::Store;

use axum::Router;
use std::future::Future;
use tokio::net::TcpListener;

/// The whole HTTP application: `/api/*` plus the web app.
pub fn app(state: AppState) -> Router {
    routes::router(state)
}

/// Serves `app(state)` on `listener` until `shutdown` resolves, then drains open requests.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // Peer addresses let a loopback request act as the local admin (see `auth`).
    axum::serve(
        listener,
        app(state).into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down");
}
