//! `ferry vulndb update`: downloads osv.dev-style per-ecosystem dumps
//! (`<base URL>/<ecosystem>/all.zip`) and imports them.
//!
//! The base URL is configurable (a mirror, or a local server in tests). Each dump is
//! streamed to a temporary file next to the database, then imported in one transaction,
//! so an interrupted download never leaves half an ecosystem behind. An ecosystem the
//! server does not have (404) is a warning; the update fails only if nothing could be
//! fetched.

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use super::{ImportSummary, VulnDb, VulnDbError};

/// osv.dev's public bucket of dumps.
pub const DEFAULT_BASE_URL: &str = "https://osv-vulnerabilities.storage.googleapis.com";

/// Ecosystems fetched when the database is empty and none are named: the ones ferry's
/// inventory can produce packages for.
pub const DEFAULT_ECOSYSTEMS: &[&str] = &[
    "Alpine",
    "AlmaLinux",
    "Debian",
    "Red Hat",
    "Rocky Linux",
    "Ubuntu",
    "Wolfi",
    "PyPI",
    "npm",
    "Go",
    "crates.io",
    "Maven",
];

/// A dump larger than this is refused (the largest osv.dev dumps are a few hundred MiB).
pub const MAX_DUMP_BYTES: u64 = 8 << 30;

#[derive(Debug, thiserror::Error)]
pub enum UpdateError {
    #[error("cannot start the HTTP client")]
    Client(#[source] reqwest::Error),
    #[error("nothing could be downloaded from {base_url}: {failures}")]
    NothingFetched { base_url: String, failures: String },
    #[error("cannot write the download next to the database")]
    TempFile(#[source] std::io::Error),
    #[error(transparent)]
    Db(#[from] VulnDbError),
}

/// What to fetch.
#[derive(Clone, Debug)]
pub struct UpdateOptions {
    pub base_url: String,
    /// Base ecosystem names (`Debian`, `PyPI`…); empty means the ones already in the
    /// database, or [`DEFAULT_ECOSYSTEMS`] for an empty one.
    pub ecosystems: Vec<String>,
}

impl Default for UpdateOptions {
    fn default() -> Self {
        UpdateOptions {
            base_url: DEFAULT_BASE_URL.to_string(),
            ecosystems: Vec::new(),
        }
    }
}

/// The result for one ecosystem.
#[derive(Debug)]
pub enum EcosystemUpdate {
    Imported(ImportSummary),
    /// The server has no dump for it (HTTP 404).
    NotFound {
        url: String,
    },
    Failed {
        url: String,
        reason: String,
    },
}

/// `<base>/<ecosystem>/all.zip`, the ecosystem percent-encoded (`Red%20Hat`).
pub fn dump_url(base_url: &str, ecosystem: &str) -> String {
    let mut encoded = String::new();
    for b in ecosystem.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~:".contains(&b) {
            encoded.push(char::from(b));
        } else {
            encoded.push_str(&format!("%{b:02X}"));
        }
    }
    format!("{}/{encoded}/all.zip", base_url.trim_end_matches('/'))
}

/// Which ecosystems an update fetches.
pub fn ecosystems_to_fetch(
    db: &VulnDb,
    options: &UpdateOptions,
) -> Result<Vec<String>, VulnDbError> {
    if !options.ecosystems.is_empty() {
        return Ok(options.ecosystems.clone());
    }
    let present: Vec<String> = db
        .status()?
        .ecosystems
        .into_iter()
        .map(|e| e.ecosystem)
        .collect();
    Ok(if present.is_empty() {
        DEFAULT_ECOSYSTEMS.iter().map(|s| s.to_string()).collect()
    } else {
        present
    })
}

fn http_client() -> Result<reqwest::Client, UpdateError> {
    // reqwest is built without a bundled crypto provider; ring is the crate's choice.
    // Installing fails only when another provider is already installed, which is fine.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(30))
        .read_timeout(Duration::from_secs(120))
        .user_agent(concat!("ferry/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(UpdateError::Client)
}

enum Fetched {
    Done,
    NotFound,
}

async fn fetch(
    client: &reqwest::Client,
    url: &str,
    dest: &mut std::fs::File,
) -> Result<Fetched, String> {
    let mut response = client.get(url).send().await.map_err(|e| error_chain(&e))?;
    if response.status() == reqwest::StatusCode::NOT_FOUND {
        return Ok(Fetched::NotFound);
    }
    if !response.status().is_success() {
        return Err(format!("HTTP {}", response.status()));
    }
    let mut total: u64 = 0;
    while let Some(chunk) = response.chunk().await.map_err(|e| error_chain(&e))? {
        total += chunk.len() as u64;
        if total > MAX_DUMP_BYTES {
            return Err(format!("dump larger than {MAX_DUMP_BYTES} bytes"));
        }
        dest.write_all(&chunk)
            .map_err(|e| format!("cannot write the download: {e}"))?;
    }
    dest.flush()
        .map_err(|e| format!("cannot write the download: {e}"))?;
    Ok(Fetched::Done)
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// Downloads and imports the dumps. Blocking: it runs its own single-threaded runtime,
/// so call it from a plain thread (or `spawn_blocking`'s thread outside a runtime
/// context), not from async code.
pub fn update(
    db: &mut VulnDb,
    db_path: &Path,
    options: &UpdateOptions,
) -> Result<Vec<(String, EcosystemUpdate)>, UpdateError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(UpdateError::TempFile)?;
    let client = http_client()?;
    let dir = db_path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut results = Vec::new();
    for ecosystem in ecosystems_to_fetch(db, options)? {
        let url = dump_url(&options.base_url, &ecosystem);
        tracing::info!(%url, "downloading OSV dump");
        let mut temp = tempfile::Builder::new()
            .prefix(".osv-download-")
            .suffix(".zip")
            .tempfile_in(dir)
            .map_err(UpdateError::TempFile)?;
        let outcome = match runtime.block_on(fetch(&client, &url, temp.as_file_mut())) {
            Ok(Fetched::NotFound) => EcosystemUpdate::NotFound { url },
            Err(reason) => EcosystemUpdate::Failed { url, reason },
            Ok(Fetched::Done) => match db.import_path(temp.path(), &url) {
                Ok(summary) => EcosystemUpdate::Imported(summary),
                Err(VulnDbError::Import(e)) => EcosystemUpdate::Failed {
                    url,
                    reason: error_chain(&e),
                },
                Err(e) => return Err(e.into()),
            },
        };
        results.push((ecosystem, outcome));
    }
    if !results
        .iter()
        .any(|(_, r)| matches!(r, EcosystemUpdate::Imported(_)))
    {
        let failures = results
            .iter()
            .map(|(eco, r)| match r {
                EcosystemUpdate::NotFound { url } => format!("{eco}: not found at {url}"),
                EcosystemUpdate::Failed { url, reason } => format!("{eco}: {url}: {reason}"),
                EcosystemUpdate::Imported(_) => String::new(),
            })
            .collect::<Vec<_>>()
            .join("; ");
        return Err(UpdateError::NothingFetched {
            base_url: options.base_url.clone(),
            failures,
        });
    }
    Ok(results)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert_eq!(
            dump_url("http://127.0.0.1:8000/", "Red Hat"),
            "http://127.0.0.1:8000/Red%20Hat/all.zip"
        );
        assert_eq!(
            dump_url("https://x", "crates.io"),
            "https://x/crates.io/all.zip"
        );
        assert_eq!(
            dump_url("https://x", "Debian:12"),
            "https://x/Debian:12/all.zip"
        );
    }
}
