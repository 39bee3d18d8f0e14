//! Static sites served by the router itself: a route whose target is a directory (a
//! revision's files) rather than instances. GET and HEAD, `index.html` for
//! directories, the site's own `404.html`, content types by extension, ETag and
//! Last-Modified with conditional requests, single byte ranges; nothing outside the
//! site's root is ever opened (`resolve.rs`). A small file, once read, is answered from
//! the site's bounded cache (`cache.rs`) on the router thread; otherwise file work runs
//! on the blocking pool — one hop per request, which also reads a small file whole —
//! and larger files stream in bounded chunks (`body.rs`), so memory per response is
//! bounded.

mod body;
mod cache;
mod conditional;
mod mime;
mod path;
mod resolve;

pub use body::FileBody;

use bytes::Bytes;
use http::{header, HeaderMap, HeaderValue, Method, Response, StatusCode, Uri};
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::proxy::ProxyBody;
use conditional::{Conditions, Part, Precondition, Validators};
use path::SitePath;
use resolve::{Found, OpenFile};

/// A site's files: the directory a route serves.
#[derive(Debug)]
pub struct StaticSite {
    /// Canonical path of the root.
    root: PathBuf,
    /// The root, opened once: every lookup resolves beneath it.
    root_fd: OwnedFd,
    /// Small files already read, answered with no file system call.
    cache: cache::Cache,
    /// Names at the top of the root that are never served (404), whatever is there.
    withheld: Vec<String>,
}

/// Why a site cannot be served.
#[derive(Debug, thiserror::Error)]
pub enum SiteError {
    #[error("{} cannot be opened", root.display())]
    Open {
        root: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{} is not a directory", root.display())]
    NotADirectory { root: PathBuf },
    #[error("{} resolves outside {}", root.display(), within.display())]
    Outside { root: PathBuf, within: PathBuf },
}

impl StaticSite {
    /// Opens `root` for serving; it must be a directory that resolves inside `within`
    /// (a revision's `public` that is a symlink to `/etc` is refused). Blocking.
    pub fn open(root: &Path, within: &Path) -> Result<Self, SiteError> {
        let open_error = |source| SiteError::Open {
            root: root.to_path_buf(),
            source,
        };
        if !std::fs::metadata(root).map_err(open_error)?.is_dir() {
            return Err(SiteError::NotADirectory {
                root: root.to_path_buf(),
            });
        }
        let within_real = std::fs::canonicalize(within).map_err(open_error)?;
        let (canonical, root_fd) = resolve::open_root(root).map_err(open_error)?;
        if !canonical.starts_with(&within_real) {
            return Err(SiteError::Outside {
                root: root.to_path_buf(),
                within: within.to_path_buf(),
            });
        }
        Ok(Self {
            root: canonical,
            root_fd,
            cache: cache::Cache::new(cache::SITE_BUDGET),
            withheld: Vec::new(),
        })
    }

    /// Never serves these names at the top of the root: a site served from its app's
    /// own directory keeps its config files (`ferry.toml`) to itself.
    pub fn withholding(mut self, names: &[&str]) -> Self {
        self.withheld = names.iter().map(|name| name.to_string()).collect();
        self
    }

    /// The canonical path served.
    pub fn root(&self) -> &Path {
        &self.root
    }
}

/// Answers one request from `site`.
pub(crate) async fn serve(
    site: &Arc<StaticSite>,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
) -> Response<ProxyBody> {
    let head = match *method {
        Method::GET => false,
        Method::HEAD => true,
        _ => {
            let mut response = page(
                StatusCode::METHOD_NOT_ALLOWED,
                "Static files answer GET and HEAD.",
            );
            response
                .headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
            return response;
        }
    };
    let conditions = Conditions::from_headers(headers);
    if let Some(cached) = site.cache.get(uri.path()) {
        return from_memory(&cached, &conditions, head);
    }
    let path = path::parse(uri.path());
    let key = uri.path().to_string();
    let task_site = Arc::clone(site);
    let prepared = tokio::task::spawn_blocking(move || match path {
        Some(path) => prepare(&task_site, &key, &path, &conditions, head),
        None => not_found(&task_site, head),
    })
    .await;
    match prepared {
        Ok(Some(response)) => response,
        Ok(None) => redirect(uri),
        Err(err) => {
            tracing::warn!(error = %err, "router: static file task failed");
            page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "The file could not be read.",
            )
        }
    }
}

/// The blocking part: the response, or `None` for a directory asked for without its
/// slash (the redirect is built on the async side, which has the request's URI). A
/// small file is read whole and kept in the site's cache under `key`.
fn prepare(
    site: &StaticSite,
    key: &str,
    path: &SitePath,
    conditions: &Conditions,
    head: bool,
) -> Option<Response<ProxyBody>> {
    if let [name] = path.segments.as_slice() {
        if site.withheld.contains(name) {
            return not_found(site, head);
        }
    }
    match resolve::find(&site.root_fd, &site.root, path) {
        Found::File(open) if open.meta.len() <= cache::MAX_FILE_BYTES => {
            let cached = match read_whole(&open) {
                Ok(cached) => site.cache.insert(key, cached),
                Err(err) => {
                    tracing::warn!(error = %err, "router: static file read failed");
                    return Some(page(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "The file could not be read.",
                    ));
                }
            };
            Some(from_memory(&cached, conditions, head))
        }
        Found::File(open) => Some(from_file(*open, Some(conditions), head, StatusCode::OK)),
        Found::Directory => None,
        Found::Missing => not_found(site, head),
        Found::Forbidden => Some(page(StatusCode::FORBIDDEN, "The file cannot be read.")),
        Found::Exhausted => {
            let mut response = page(
                StatusCode::SERVICE_UNAVAILABLE,
                "The server is out of resources; try again.",
            );
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            Some(response)
        }
    }
}

fn read_whole(open: &OpenFile) -> std::io::Result<cache::Cached> {
    Ok(cache::Cached {
        body: body::read_at(&open.file, 0, open.meta.len())?,
        validators: Validators::of(&open.meta),
        content_type: mime::content_type(&open.name),
    })
}

/// The site's `404.html` with status 404, or ferry's page.
fn not_found(site: &StaticSite, head: bool) -> Option<Response<ProxyBody>> {
    let page_path = SitePath {
        segments: vec!["404.html".to_string()],
        dir: false,
    };
    Some(match resolve::find(&site.root_fd, &site.root, &page_path) {
        Found::File(open) => from_file(*open, None, head, StatusCode::NOT_FOUND),
        _ => page(StatusCode::NOT_FOUND, "No such file."),
    })
}

/// Where a response's bytes come from once its range is known.
enum Source<'a> {
    Memory(&'a Bytes),
    File(std::fs::File),
}

/// A cached file's answer: no file system call.
fn from_memory(cached: &cache::Cached, conditions: &Conditions, head: bool) -> Response<ProxyBody> {
    respond(
        Source::Memory(&cached.body),
        &cached.validators,
        cached.content_type,
        cached.body.len() as u64,
        Some(conditions),
        head,
        StatusCode::OK,
    )
}

/// An open file's answer (streamed past its first chunk).
fn from_file(
    OpenFile { file, meta, name }: OpenFile,
    conditions: Option<&Conditions>,
    head: bool,
    status: StatusCode,
) -> Response<ProxyBody> {
    respond(
        Source::File(file),
        &Validators::of(&meta),
        mime::content_type(&name),
        meta.len(),
        conditions,
        head,
        status,
    )
}

/// A file's response: preconditions and ranges apply to a 200 (`conditions` is None
/// for the 404 page, which is always sent whole).
fn respond(
    source: Source<'_>,
    validators: &Validators,
    content_type: &'static str,
    len: u64,
    conditions: Option<&Conditions>,
    head: bool,
    status: StatusCode,
) -> Response<ProxyBody> {
    let mut headers = HeaderMap::with_capacity(8);
    if let Some(etag) = validators.etag_header() {
        headers.insert(header::ETAG, etag);
    }
    if let Some(date) = validators.last_modified() {
        headers.insert(header::LAST_MODIFIED, date);
    }
    let mut part = Part::Whole;
    if let Some(conditions) = conditions {
        match conditional::precondition(conditions, validators) {
            Precondition::NotModified => {
                return with_headers(StatusCode::NOT_MODIFIED, headers, ProxyBody::empty());
            }
            Precondition::Failed => {
                return page(
                    StatusCode::PRECONDITION_FAILED,
                    "The file does not match the request's precondition.",
                );
            }
            Precondition::Proceed => {}
        }
        headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
        if !head {
            part = conditional::part(conditions, validators, len);
        }
    }
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    let (status, start, count) = match part {
        Part::Whole => (status, 0, len),
        Part::Range { start, end } => {
            let range = format!("bytes {start}-{end}/{len}");
            if let Ok(value) = HeaderValue::from_str(&range) {
                headers.insert(header::CONTENT_RANGE, value);
            }
            (StatusCode::PARTIAL_CONTENT, start, end - start + 1)
        }
        Part::Unsatisfiable => {
            let mut response = page(
                StatusCode::RANGE_NOT_SATISFIABLE,
                "The requested range is not in the file.",
            );
            if let Ok(value) = HeaderValue::from_str(&format!("bytes */{len}")) {
                response.headers_mut().insert(header::CONTENT_RANGE, value);
            }
            return response;
        }
    };
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(count));
    if head || count == 0 {
        return with_headers(status, headers, ProxyBody::empty());
    }
    let body = match source {
        // The range lies within the body: `part` checked it against `len`.
        Source::Memory(bytes) => {
            let (from, to) = (start as usize, (start + count) as usize);
            ProxyBody::full(bytes.slice(from..to.min(bytes.len())))
        }
        Source::File(file) => {
            // The first chunk is read now, on this blocking thread; the rest streams.
            let first = match body::read_at(&file, start, count) {
                Ok(first) => first,
                Err(err) => {
                    tracing::warn!(error = %err, "router: static file read failed");
                    return page(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "The file could not be read.",
                    );
                }
            };
            let read = first.len() as u64;
            if read == count {
                ProxyBody::full(first)
            } else {
                ProxyBody::file(FileBody::new(file, Some(first), start + read, count - read))
            }
        }
    };
    with_headers(status, headers, body)
}

fn with_headers(status: StatusCode, headers: HeaderMap, body: ProxyBody) -> Response<ProxyBody> {
    let mut response = Response::new(body);
    *response.status_mut() = status;
    *response.headers_mut() = headers;
    response
}

/// 301 to the directory with its slash (query kept). Leading slashes are collapsed,
/// so `//host/dir` can never become a protocol-relative redirect to another site.
fn redirect(uri: &Uri) -> Response<ProxyBody> {
    let mut location = format!("/{}/", uri.path().trim_matches('/'));
    if let Some(query) = uri.query() {
        location.push('?');
        location.push_str(query);
    }
    let mut response = page(StatusCode::MOVED_PERMANENTLY, "Moved to the directory.");
    // Built from an accepted request URI's characters, so always a valid value.
    if let Ok(value) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

/// A short page of ferry's own for a status.
fn page(status: StatusCode, message: &'static str) -> Response<ProxyBody> {
    let title = format!(
        "{} {}",
        status.as_u16(),
        status.canonical_reason().unwrap_or("Error")
    );
    let html = format!(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>{title}</title></head>\n\
         <body>\n<h1>{title}</h1>\n<p>{message}</p>\n</body></html>\n"
    );
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    with_headers(status, headers, ProxyBody::full(Bytes::from(html)))
}

#[cfg(test)]
mod tests;
