//! Kxian's server: the local store, the JSON API, the web app, and file import.
//!
//! `main.rs` is a thin CLI over this library; tests build the same [`app`] and [`serve`] it.

pub mod auth;
pub mod caller;
pub mod config;
pub mod embedded;
pub mod error;
pub mod import_cli;
pub mod jobs;
pub mod limits;
pub mod models;
pub mod routes;
pub mod state;

/// The store crate, under the name the server's modules have always used.
pub use kxian_store as storage;
pub use kxian_store::files;
pub use state::AppState;
pub use storage::Store;

use axum::Router;
use std::future::Future;
use tokio::net::TcpListener;

/// The whole HTTP application: `/api/*` plus the web app.
pub fn app(state: AppState) -> Router {
    routes::router(state)
}

/// Serves `app(state)` on `listener` until `shutdown` resolves, then drains open requests
/// (for at most a few seconds: event streams never end by themselves).
///
/// Its own accept loop rather than `axum::serve`, for the read timeouts: a client gets
/// [`limits::HEADER_READ_TIMEOUT`] to send its headers and [`limits::BODY_READ_TIMEOUT`]
/// between parts of its body, so slow clients cannot hold connections open for free.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use hyper_util::rt::{TokioIo, TokioTimer};
    use hyper_util::service::TowerToHyperService;
    let router = app(state);
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and the like: wait rather than spin.
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        // Peer addresses let a loopback request act as the local admin (see `auth`).
        let svc = tower::ServiceBuilder::new()
            .layer(tower_http::timeout::RequestBodyTimeoutLayer::new(
                limits::BODY_READ_TIMEOUT,
            ))
            .map_request(move |mut r: axum::http::Request<_>| {
                r.extensions_mut().insert(axum::extract::ConnectInfo(peer));
                r
            })
            .service(router.clone());
        let mut stopped = stopped.clone();
        tokio::spawn(async move {
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(limits::HEADER_READ_TIMEOUT)
                .serve_connection(TokioIo::new(stream), TowerToHyperService::new(svc));
            let mut conn = std::pin::pin!(conn);
            // Held until the connection is done: `serve` waits for every one of these.
            let _open = stopped.clone();
            let stop = async move {
                let _ = stopped.wait_for(|s| *s).await;
            };
            tokio::select! {
                _ = conn.as_mut() => return,
                _ = stop => {}
            }
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
        });
    }
    let _ = stop.send(true);
    drop(stopped);
    let _ = tokio::time::timeout(std::time::Duration::from_secs(5), stop.closed()).await;
    Ok(())
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
