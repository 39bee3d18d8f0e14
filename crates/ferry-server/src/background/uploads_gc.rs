//! The uploads sweep: uploaded source archives (`<data>/uploads/<hex>.tar.gz`) are
//! only needed until their revision's directory is unpacked, and to deploy the same
//! archive again by digest. Without a sweep every deploy would keep its archive (up to
//! 2 GiB) for ever. An archive goes once it is older than the grace period and no
//! revision that is not pruned names it; it runs at start-up and then hourly.

use ferry_store::Store;
use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio_util::sync::CancellationToken;

/// How often the sweep runs.
const INTERVAL: Duration = Duration::from_secs(3600);
/// Archives younger than this stay: an upload is followed by its deploy request.
pub const GRACE: Duration = Duration::from_secs(3600);

/// What a sweep removed.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Swept {
    pub archives: u64,
    pub bytes: u64,
}

/// Removes the archives in `uploads` older than `grace` that no digest in `keep`
/// names. Temporary files (`.tmp-*`) are start-up's; other names are left alone.
pub fn sweep(uploads: &Path, keep: &HashSet<String>, grace: Duration) -> Swept {
    let mut swept = Swept::default();
    let Ok(entries) = std::fs::read_dir(uploads) else {
        return swept;
    };
    let now = SystemTime::now();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(hex) = name.strip_suffix(".tar.gz") else {
            continue;
        };
        if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            continue;
        }
        if keep.contains(&format!("sha256:{hex}")) {
            continue;
        }
        let Ok(meta) = entry.metadata() else {
            continue;
        };
        let age = meta
            .modified()
            .ok()
            .and_then(|m| now.duration_since(m).ok())
            .unwrap_or_default();
        if age < grace || !meta.is_file() {
            continue;
        }
        match std::fs::remove_file(entry.path()) {
            Ok(()) => {
                swept.archives += 1;
                swept.bytes += meta.len();
            }
            Err(err) => {
                tracing::warn!(file = %name, error = %err, "cannot remove an old upload");
            }
        }
    }
    swept
}

/// One sweep against the store's revisions.
pub async fn sweep_once(store: &Store, uploads: &Path, grace: Duration) -> Option<Swept> {
    let keep: HashSet<String> = match store.revision_upload_digests() {
        Ok(digests) => digests
            .into_iter()
            .map(|d| d.to_ascii_lowercase())
            .collect(),
        Err(err) => {
            // Only a known absence removes an archive.
            tracing::warn!(error = %err, "uploads sweep: cannot read the revisions");
            return None;
        }
    };
    let uploads = uploads.to_path_buf();
    let swept = tokio::task::spawn_blocking(move || sweep(&uploads, &keep, grace))
        .await
        .ok()?;
    if swept.archives > 0 {
        tracing::info!(
            archives = swept.archives,
            bytes = swept.bytes,
            "removed old uploads"
        );
    }
    Some(swept)
}

/// Sweeps now, then every hour until `shutdown`.
pub async fn run(store: Arc<Store>, uploads: std::path::PathBuf, shutdown: CancellationToken) {
    loop {
        sweep_once(&store, &uploads, GRACE).await;
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(INTERVAL) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn archive(dir: &Path, hex_char: char, age: Duration) -> String {
        let hex: String = std::iter::repeat_n(hex_char, 64).collect();
        let path = dir.join(format!("{hex}.tar.gz"));
        std::fs::write(&path, b"archive").unwrap();
        let file = std::fs::File::options().write(true).open(&path).unwrap();
        file.set_modified(SystemTime::now() - age).unwrap();
        format!("sha256:{hex}")
    }

    #[test]
    fn old_unnamed_archives_go_and_everything_else_stays() {
        let dir = tempfile::tempdir().unwrap();
        let hour = Duration::from_secs(3600);
        let old_unnamed = archive(dir.path(), 'a', 2 * hour);
        let old_named = archive(dir.path(), 'b', 2 * hour);
        let young = archive(dir.path(), 'c', Duration::from_secs(60));
        std::fs::write(dir.path().join(".tmp-123"), b"partial").unwrap();
        std::fs::write(dir.path().join("notes.txt"), b"not ours").unwrap();
        let keep: HashSet<String> = [old_named.clone()].into();
        let swept = sweep(dir.path(), &keep, hour);
        assert_eq!(
            swept,
            Swept {
                archives: 1,
                bytes: 7
            }
        );
        let exists = |digest: &str| {
            dir.path()
                .join(format!("{}.tar.gz", digest.trim_start_matches("sha256:")))
                .exists()
        };
        assert!(!exists(&old_unnamed));
        assert!(exists(&old_named));
        assert!(exists(&young));
        assert!(dir.path().join(".tmp-123").exists());
        assert!(dir.path().join("notes.txt").exists());
    }
}
