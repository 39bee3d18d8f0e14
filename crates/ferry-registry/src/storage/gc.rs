//! Garbage collection: mark every blob reachable from a manifest of any repository
//! or from a pinned digest, sweep the rest (past a grace period), drop links to swept
//! blobs, stale referrer entries, abandoned uploads and leftover temp files.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use super::{fsutil, uploads, Inner};
use crate::digest::Digest;
use crate::error::{RegistryError, Result};
use crate::manifest;
use crate::Registry;

/// How deep gc follows indexes (an index of indexes of images is already unusual).
const MAX_DEPTH: usize = 8;

/// What to keep beyond the manifests of every repository, and the age bounds.
#[derive(Debug, Clone, Default)]
pub struct GcOptions {
    /// Manifests (and what they reference) to keep even if no repository has them any
    /// more: the server passes the digests of revisions that can be rolled back to.
    pub pinned: HashSet<Digest>,
    /// Overrides [`crate::Limits::gc_grace`]: content younger than this is kept.
    pub grace: Option<Duration>,
    /// Overrides [`crate::Limits::upload_ttl`]: uploads untouched this long go.
    pub upload_ttl: Option<Duration>,
    /// Count what would go, remove nothing.
    pub dry_run: bool,
}

/// What a collection found and removed.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct GcReport {
    pub blobs_kept: u64,
    pub blobs_removed: u64,
    pub bytes_removed: u64,
    pub links_removed: u64,
    pub referrers_removed: u64,
    pub uploads_removed: u64,
    pub temp_files_removed: u64,
}

impl Registry {
    /// Collects garbage. Pushes that would make content reachable wait while it
    /// runs; reads go on.
    pub async fn gc(&self, options: &GcOptions) -> Result<GcReport> {
        let _exclusive = self.inner.gc_lock.write().await;
        let inner = Arc::clone(&self.inner);
        let options = options.clone();
        fsutil::blocking(move || Ok(collect(&inner, &options)))
            .await
            .map_err(|e| RegistryError::io("gc", e))?
    }
}

fn collect(inner: &Inner, options: &GcOptions) -> Result<GcReport> {
    let io = |what: &'static str| move |e| RegistryError::io(what, e);
    let paths = &inner.paths;
    let grace = options.grace.unwrap_or(inner.limits.gc_grace);
    let upload_ttl = options.upload_ttl.unwrap_or(inner.limits.upload_ttl);
    let max_manifest = inner.limits.max_manifest_bytes;
    let mut report = GcReport::default();

    // Mark.
    let repositories = repository_dirs(&paths.repositories_dir());
    let mut marked: HashSet<Digest> = HashSet::new();
    let mut work: Vec<(Digest, Option<String>, usize)> = Vec::new();
    for repo in &repositories {
        let revisions = repo.join("_manifests").join("revisions");
        for (digest, path) in digests_under(&revisions) {
            let media_type = std::fs::read_to_string(&path).ok();
            work.push((digest, media_type, 0));
        }
    }
    for digest in &options.pinned {
        work.push((digest.clone(), None, 0));
    }
    while let Some((digest, media_type, depth)) = work.pop() {
        if !marked.insert(digest.clone()) || depth > MAX_DEPTH {
            continue;
        }
        // Only what can be a manifest is read: repository manifests, pinned digests
        // and the children of indexes, at most the manifest size limit.
        let path = paths.blob(&digest);
        if std::fs::metadata(&path).map_or(true, |m| m.len() > max_manifest as u64) {
            continue;
        }
        let Ok(body) = std::fs::read(&path) else {
            continue;
        };
        let Ok(parsed) = manifest::parse(media_type.as_deref().map(str::trim), &body) else {
            continue;
        };
        marked.extend(parsed.blobs);
        // An index keeps its children and what they reference, even a child that
        // was deleted from the repository on its own.
        work.extend(parsed.manifests.into_iter().map(|m| (m, None, depth + 1)));
    }

    // Sweep blobs.
    let now = SystemTime::now();
    let old = |path: &Path, age: Duration| {
        std::fs::metadata(path)
            .and_then(|m| m.modified())
            .is_ok_and(|t| now.duration_since(t).unwrap_or_default() >= age)
    };
    let mut swept: HashSet<Digest> = HashSet::new();
    for (digest, path) in digests_under(&paths.blobs_dir()) {
        if marked.contains(&digest) || !old(&path, grace) {
            report.blobs_kept += 1;
            continue;
        }
        let size = std::fs::metadata(&path).map_or(0, |m| m.len());
        if !options.dry_run {
            match std::fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(io("remove blob")(e)),
            }
        }
        report.blobs_removed += 1;
        report.bytes_removed += size;
        swept.insert(digest);
    }

    // Links to content that is gone, referrer entries whose manifest is gone.
    for repo in &repositories {
        for (digest, link) in digests_under(&repo.join("_layers")) {
            let gone = swept.contains(&digest) || !paths.blob(&digest).exists();
            if gone {
                if !options.dry_run {
                    let _ = std::fs::remove_file(&link);
                }
                report.links_removed += 1;
            }
        }
        let referrers = repo.join("_referrers");
        for subject in fsutil::dir_names(&referrers).into_iter().flatten() {
            let dir = referrers.join(&subject);
            for entry in fsutil::dir_names(&dir).into_iter().flatten() {
                let revision = Digest::from_file_name(&entry).map(|d| {
                    repo.join("_manifests")
                        .join("revisions")
                        .join(d.algorithm().as_str())
                        .join(d.hex())
                });
                if !revision.is_some_and(|r| r.exists()) {
                    if !options.dry_run {
                        let _ = std::fs::remove_file(dir.join(&entry));
                    }
                    report.referrers_removed += 1;
                }
            }
            if !options.dry_run {
                // Only succeeds when empty.
                let _ = std::fs::remove_dir(&dir);
            }
        }
    }

    // Abandoned uploads: untouched for the TTL (an upload in progress writes its
    // data file, which keeps it young).
    for id in fsutil::dir_names(&paths.uploads_dir()).map_err(io("list uploads"))? {
        let dir = paths.uploads_dir().join(&id);
        let recent = ["data", "state.json"]
            .iter()
            .any(|f| !old(&dir.join(f), upload_ttl))
            || (!old(&dir, upload_ttl) && !dir.join("data").exists());
        if recent && uploads::valid_id(&id) {
            continue;
        }
        if !options.dry_run {
            inner.uploads.remove(&id);
            if let Err(e) = std::fs::remove_dir_all(&dir) {
                tracing::warn!(dir = %dir.display(), error = %e, "could not remove an abandoned upload");
                continue;
            }
        }
        report.uploads_removed += 1;
    }

    // Temp files of writes that a crash cut short.
    for name in fsutil::dir_names(&paths.tmp_dir()).map_err(io("list temp files"))? {
        let path = paths.tmp_dir().join(name);
        if old(&path, grace) {
            if !options.dry_run {
                let _ = std::fs::remove_file(&path);
            }
            report.temp_files_removed += 1;
        }
    }
    tracing::info!(?report, "registry gc");
    Ok(report)
}

/// Directories of repositories: any with `_manifests`, `_layers` or `_referrers`.
fn repository_dirs(root: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut is_repository = false;
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            if !entry.file_type().is_ok_and(|t| t.is_dir()) {
                continue;
            }
            if name.starts_with('_') {
                is_repository = true;
            } else {
                stack.push(entry.path());
            }
        }
        if is_repository {
            found.push(dir);
        }
    }
    found
}

/// `<dir>/<alg>/<hex>` and `<dir>/<alg>/<xx>/<hex>` files, as digests.
fn digests_under(dir: &Path) -> Vec<(Digest, PathBuf)> {
    let mut found = Vec::new();
    for algorithm in fsutil::dir_names(dir).into_iter().flatten() {
        let alg_dir = dir.join(&algorithm);
        for name in fsutil::dir_names(&alg_dir).into_iter().flatten() {
            let path = alg_dir.join(&name);
            if path.is_dir() {
                for hex in fsutil::dir_names(&path).into_iter().flatten() {
                    if let Ok(d) = format!("{algorithm}:{hex}").parse::<Digest>() {
                        found.push((d, path.join(hex)));
                    }
                }
            } else if let Ok(d) = format!("{algorithm}:{name}").parse::<Digest>() {
                found.push((d, path));
            }
        }
    }
    found
}
