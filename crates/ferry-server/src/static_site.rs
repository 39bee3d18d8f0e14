//! Ferry's own static-site server (`ferry static-serve DIR`): what a detected static
//! site runs as, so serving files needs nothing installed beside ferry.
//!
//! Files are served by tower-http's `ServeDir` (ranges, conditional requests,
//! content types, `index.html` for directories, no path escaping the root); a
//! missing file answers the site's own `404.html` when it has one.

use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use axum::Router;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tower_http::services::{ServeDir, ServeFile};

/// Why the static server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StaticSiteError {
    #[error("{0} is not a directory")]
    NotADirectory(PathBuf),
    #[error("listening on {addr}")]
    Listen {
        addr: SocketAddr,
        #[source]
        source: io::Error,
    },
    #[error("serving")]
    Serve(#[source] io::Error),
}

/// The app that serves `root`.
pub fn app(root: &Path) -> Router {
    let not_found = root.join("404.html");
    let files = ServeDir::new(root).append_index_html_on_directories(true);
    // Only the router connects (instances listen on loopback), and it bounds the
    // connections and requests it sends to an instance.
    if not_found.is_file() {
        Router::new().fallback_service(files.not_found_service(ServeFile::new(not_found)))
    } else {
        Router::new().fallback_service(files)
    }
}

/// Serves `root` on `addr` until `shutdown`, then lets requests in progress finish
/// (for up to 10 s).
pub async fn serve(
    root: &Path,
    addr: SocketAddr,
    shutdown: CancellationToken,
) -> Result<(), StaticSiteError> {
    if !root.is_dir() {
        return Err(StaticSiteError::NotADirectory(root.to_path_buf()));
    }
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| StaticSiteError::Listen { addr, source })?;
    let app = app(root);
    let graceful = shutdown.clone();
    let server = axum::serve(listener, app).with_graceful_shutdown(async move {
        graceful.cancelled().await;
    });
    let server = std::pin::pin!(std::future::IntoFuture::into_future(server));
    tokio::select! {
        result = server => result.map_err(StaticSiteError::Serve),
        () = async {
            shutdown.cancelled().await;
            tokio::time::sleep(Duration::from_secs(10)).await;
        } => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use axum::body::Body;
    use http::{Request, StatusCode};
    use tower::ServiceExt;

    async fn get(root: &Path, path: &str) -> (StatusCode, String) {
        let response = app(root)
            .oneshot(Request::get(path).body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        (status, String::from_utf8_lossy(&bytes).into_owned())
    }

    #[tokio::test]
    async fn serves_index_files_and_refuses_escapes() {
        let site = tempfile::tempdir().unwrap();
        std::fs::write(site.path().join("index.html"), "<p>home</p>").unwrap();
        std::fs::create_dir(site.path().join("docs")).unwrap();
        std::fs::write(site.path().join("docs/index.html"), "<p>docs</p>").unwrap();
        assert_eq!(
            get(site.path(), "/").await,
            (StatusCode::OK, "<p>home</p>".into())
        );
        assert_eq!(
            get(site.path(), "/docs/").await,
            (StatusCode::OK, "<p>docs</p>".into())
        );
        let (status, _) = get(site.path(), "/../../etc/passwd").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, _) = get(site.path(), "/missing.css").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }

    #[tokio::test]
    async fn a_sites_own_404_page_answers_missing_files() {
        let site = tempfile::tempdir().unwrap();
        std::fs::write(site.path().join("index.html"), "home").unwrap();
        std::fs::write(site.path().join("404.html"), "lost").unwrap();
        assert_eq!(
            get(site.path(), "/nope").await,
            (StatusCode::NOT_FOUND, "lost".into())
        );
    }
}
