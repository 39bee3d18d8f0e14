//! The dependency cache of the process back end: a plan's install step (a Python
//! virtualenv, a Node `node_modules`) keyed by the sha256 of its inputs, so a
//! code-only change links the cached directory instead of reinstalling.
//!
//! Layout under the cache root (`<data dir>/cache/deps`):
//! - `store/<key>-<unique>/`: where an install ran. It is never moved: a virtualenv's
//!   scripts name their own absolute path, so the install runs at its final place.
//! - `<key>`: a symlink to the store directory, created only after the install
//!   succeeded. `symlink(2)` fails when the name exists, so of two concurrent builds
//!   with one key the first to finish wins and the other uses the winner's entry.
//! - a revision's `.venv` / `node_modules` is a symlink into the store (not a copy:
//!   linking is instant, and a hard-link copy of a virtualenv would still name the
//!   store in its scripts). [`DepCache::gc`] keeps every store directory that an
//!   existing revision links to, so a rollback to an old revision still runs.

use crate::execute::{execute, BuildError};
use crate::plan::BuildPlan;
use ferry_types::config::read_app_file;
use sha2::{Digest, Sha256};
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// A cache-key file larger than this (a huge lock file) makes the step uncached.
const MAX_KEY_FILE_BYTES: u64 = 32 * 1024 * 1024;
/// Store directories no entry names and no revision uses (a crash mid-install) are
/// removed once this old; younger ones may be installs still running.
const ORPHAN_AGE: Duration = Duration::from_secs(24 * 3600);
/// Touched on every use, so the most recently used entries are the ones kept.
const LAST_USED: &str = ".ferry-last-used";
/// Directories an install can produce, as linked into revisions.
const OUTPUTS: &[&str] = &[".venv", "node_modules"];

/// The cache: where it lives, where the revisions it serves live, and its bound.
#[derive(Clone, Debug)]
pub struct DepCache {
    pub root: PathBuf,
    /// The parent of the revision directories (scanned for links by `gc`).
    pub revisions: PathBuf,
    /// Entries kept beyond those that revisions use.
    pub keep: usize,
}

/// What happened to the install step.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DepsOutcome {
    /// Linked from the cache; nothing installed.
    Cached { key: String },
    /// Installed and stored under `key`.
    Installed { key: String },
    /// Ran in the revision's directory as before, for the reason given.
    Uncached { reason: String },
}

/// The directory a plan's install step produces, when that step can run on the
/// cache-key files alone (elsewhere than the app) and so be cached.
pub fn cacheable(plan: &BuildPlan, app: &Path) -> Result<&'static str, String> {
    if plan.install.is_empty() {
        return Err("no install step".to_string());
    }
    if plan.cache_keys.is_empty() {
        return Err("the plan names no cache-key files".to_string());
    }
    let read = |name: &str| -> Result<String, String> {
        match read_app_file(app, name, MAX_KEY_FILE_BYTES) {
            Ok(Some(bytes)) => String::from_utf8(bytes).map_err(|_| format!("{name} is not UTF-8")),
            Ok(None) => Err(format!("{name} is missing")),
            Err(err) => Err(err.to_string()),
        }
    };
    match plan.provider.as_str() {
        "python" => {
            let venv = plan.install.first().map(String::as_str) == Some("python3 -m venv .venv");
            let keys = plan.cache_keys.as_slice();
            if !venv {
                return Err("the install step does not make a .venv".to_string());
            }
            if keys == ["requirements.txt"] {
                let text = read("requirements.txt")?;
                if let Some(line) = text.lines().find(|l| refers_to_app_files(l)) {
                    return Err(format!(
                        "requirements.txt refers to files of the app (`{}`)",
                        line.trim()
                    ));
                }
                Ok(".venv")
            } else if keys == ["pyproject.toml", "poetry.lock"]
                && plan.install.iter().any(|c| c.contains("--no-root"))
            {
                Ok(".venv")
            } else {
                Err("the install step installs the app itself".to_string())
            }
        }
        "node" => {
            let json: serde_json::Value = serde_json::from_str(&read("package.json")?)
                .map_err(|err| format!("package.json: {err}"))?;
            let scripts = ["preinstall", "install", "postinstall", "prepare"];
            if let Some(script) = scripts
                .iter()
                .find(|s| json.pointer(&format!("/scripts/{s}")).is_some())
            {
                return Err(format!("package.json has an `{script}` script"));
            }
            Ok("node_modules")
        }
        other => Err(format!("no dependency cache for {other}")),
    }
}

/// Whether a requirements line needs the app's files (`-e .`, `-r other.txt`,
/// `./wheels/x.whl`): such an install cannot run apart from the app.
fn refers_to_app_files(line: &str) -> bool {
    let line = line.split('#').next().unwrap_or("").trim();
    let local = |s: &str| s.starts_with('.') || s.starts_with("file:") || s.ends_with(".whl");
    if let Some(option) = line.strip_prefix('-') {
        let mut words = option.split([' ', '=']);
        let name = words.next().unwrap_or("");
        let value = words.find(|w| !w.is_empty()).unwrap_or("");
        return match name {
            "e" | "-editable" | "r" | "-requirement" | "c" | "-constraint" => true,
            "f" | "-find-links" => {
                local(value) || !(value.starts_with('/') || value.contains("://"))
            }
            _ => false,
        };
    }
    local(line) || line.contains(" @ file:")
}

/// The key of a plan's install step: the provider, the install commands, the
/// cache-key files' names and contents, the build env, the stated language version
/// and the host toolchain (`python3 --version`), length-prefixed so no two inputs
/// collide. The app's other files are not in it: a code change keeps the key.
pub fn cache_key(plan: &BuildPlan, app: &Path, toolchain: &str) -> Result<String, String> {
    let mut hash = Sha256::new();
    let mut field = |bytes: &[u8]| {
        hash.update((bytes.len() as u64).to_le_bytes());
        hash.update(bytes);
    };
    field(b"ferry-deps-v1");
    field(plan.provider.as_bytes());
    field(toolchain.as_bytes());
    field(plan.language_version.as_deref().unwrap_or("").as_bytes());
    for command in &plan.install {
        field(b"install");
        field(command.as_bytes());
    }
    for (name, value) in &plan.env {
        field(b"env");
        field(name.as_bytes());
        field(value.as_bytes());
    }
    for name in &plan.cache_keys {
        let content = read_app_file(app, name, MAX_KEY_FILE_BYTES)
            .map_err(|err| err.to_string())?
            .ok_or_else(|| format!("{name} is missing"))?;
        field(b"file");
        field(name.as_bytes());
        field(&content);
    }
    let digest = hash.finalize();
    let hex: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
    Ok(format!("{}-{hex}", plan.provider))
}

/// The host toolchain's version line, part of the key: a virtualenv made by one
/// Python does not run under another.
async fn toolchain(provider: &str) -> String {
    let program = match provider {
        "python" => "python3",
        "node" => "node",
        _ => return String::new(),
    };
    let run = tokio::process::Command::new(program)
        .arg("--version")
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .output();
    match tokio::time::timeout(Duration::from_secs(30), run).await {
        Ok(Ok(out)) => {
            let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
            text.push_str(&String::from_utf8_lossy(&out.stderr));
            text.trim().to_string()
        }
        _ => format!("{program}: unknown version"),
    }
}

impl DepCache {
    /// Runs `plan`'s install step through the cache: links the cached output into
    /// `dir` on a hit; on a miss installs in a new store directory and enters it only
    /// if the install succeeded. Writes the `dependencies: …` line to `log`.
    /// `Ok(Uncached)` means nothing ran: the caller runs the install in `dir`.
    pub async fn install(
        &self,
        plan: &BuildPlan,
        dir: &Path,
        log: &Path,
        timeout: Duration,
    ) -> Result<DepsOutcome, BuildError> {
        let io_err = |source| BuildError::Io {
            dir: dir.to_path_buf(),
            source,
        };
        let uncached = |reason: String| {
            append(log, &format!("dependencies: not cached ({reason})\n")).map_err(io_err)?;
            Ok(DepsOutcome::Uncached { reason })
        };
        let output = match cacheable(plan, dir) {
            Ok(output) => output,
            Err(reason) => return uncached(reason),
        };
        if std::fs::symlink_metadata(dir.join(output)).is_ok() {
            return uncached(format!("the app has its own {output}"));
        }
        let key = match cache_key(plan, dir, &toolchain(&plan.provider).await) {
            Ok(key) => key,
            Err(reason) => return uncached(reason),
        };
        if let Some(store) = self.entry(&key, output) {
            append(log, &format!("dependencies: cached (key {key})\n")).map_err(io_err)?;
            link(&store, output, dir).map_err(io_err)?;
            return Ok(DepsOutcome::Cached { key });
        }
        append(log, &format!("dependencies: installing (key {key})\n")).map_err(io_err)?;
        let store = self.populate(plan, dir, &key, output, log, timeout).await?;
        link(&store, output, dir).map_err(io_err)?;
        let cache = self.clone();
        // Bounding the cache is housekeeping: its failure must not fail the build.
        let _ = tokio::task::spawn_blocking(move || {
            if let Err(err) = cache.gc() {
                tracing::warn!(error = %err, "cannot bound the dependency cache");
            }
        })
        .await;
        Ok(DepsOutcome::Installed { key })
    }

    /// The store directory of a complete entry, marked as just used.
    fn entry(&self, key: &str, output: &str) -> Option<PathBuf> {
        let store = std::fs::read_link(self.root.join(key)).ok()?;
        let store = if store.is_absolute() {
            store
        } else {
            self.root.join(store)
        };
        if !store.join(output).is_dir() {
            return None;
        }
        let _ = std::fs::write(store.join(LAST_USED), b"");
        Some(store)
    }

    /// Installs into a new store directory and enters it under `key`; the directory
    /// is removed if the install fails or this future is dropped (a cancelled build).
    async fn populate(
        &self,
        plan: &BuildPlan,
        app: &Path,
        key: &str,
        output: &str,
        log: &Path,
        timeout: Duration,
    ) -> Result<PathBuf, BuildError> {
        let io_err = |source| BuildError::Io {
            dir: self.root.clone(),
            source,
        };
        let store_root = self.root.join("store");
        std::fs::create_dir_all(&store_root).map_err(io_err)?;
        let store = store_root.join(format!("{key}-{}", unique()));
        std::fs::create_dir(&store).map_err(io_err)?;
        let guard = RemoveOnDrop(Some(store.clone()));
        match self
            .install_into(plan, app, &store, output, log, timeout)
            .await
        {
            Ok(()) => {}
            Err(err) => {
                guard.remove_now();
                return Err(err);
            }
        }
        match std::os::unix::fs::symlink(&store, self.root.join(key)) {
            Ok(()) => {
                guard.disarm();
                Ok(store)
            }
            // A concurrent build with the same key finished first: use its entry
            // (ours is removed; no revision links to it yet).
            Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => {
                guard.remove_now();
                match self.entry(key, output) {
                    Some(winner) => Ok(winner),
                    None => Err(io_err(err)),
                }
            }
            Err(err) => Err(io_err(err)),
        }
    }

    /// Copies the cache-key files into `store` and runs the install step there.
    async fn install_into(
        &self,
        plan: &BuildPlan,
        app: &Path,
        store: &Path,
        output: &str,
        log: &Path,
        timeout: Duration,
    ) -> Result<(), BuildError> {
        let io_err = |source| BuildError::Io {
            dir: store.to_path_buf(),
            source,
        };
        for name in &plan.cache_keys {
            let target = store.join(name);
            if let Some(parent) = target.parent() {
                std::fs::create_dir_all(parent).map_err(io_err)?;
            }
            let content = read_app_file(app, name, MAX_KEY_FILE_BYTES)
                .map_err(|err| io_err(std::io::Error::other(err.to_string())))?
                .unwrap_or_default();
            std::fs::write(target, content).map_err(io_err)?;
        }
        let install = BuildPlan {
            install: plan.install.clone(),
            env: plan.env.clone(),
            ..BuildPlan::default()
        };
        execute(&install, store, log, timeout).await?;
        if !store.join(output).is_dir() {
            return Err(BuildError::StepFailed {
                step: plan.install.len(),
                command: plan.install.last().cloned().unwrap_or_default(),
                outcome: format!("succeeded but made no {output}"),
            });
        }
        std::fs::write(store.join(LAST_USED), b"").map_err(io_err)
    }

    /// Where Go's and Cargo's own caches live (`compiler_cache.rs`), beside the entries.
    pub fn compiler_root(&self) -> PathBuf {
        self.root.join("compilers")
    }

    /// Bounds the cache: keeps the `keep` most recently used entries and every store
    /// directory a revision links to; removes the other entries, and store
    /// directories that no entry names once they are [`ORPHAN_AGE`] old.
    pub fn gc(&self) -> std::io::Result<()> {
        crate::compiler_cache::gc_compiler_caches(&self.compiler_root())?;
        let in_use = self.stores_in_use();
        let mut entries = Vec::new();
        for item in read_dir_or_empty(&self.root)? {
            let item = item?;
            if !item.file_type()?.is_symlink() {
                continue;
            }
            let target = std::fs::read_link(item.path())?;
            let used = std::fs::metadata(target.join(LAST_USED))
                .and_then(|m| m.modified())
                .unwrap_or(SystemTime::UNIX_EPOCH);
            entries.push((used, item.path(), target));
        }
        entries.sort_by_key(|entry| std::cmp::Reverse(entry.0));
        let mut named = HashSet::new();
        for (index, (_, link, target)) in entries.into_iter().enumerate() {
            if index < self.keep || in_use.contains(&target) {
                named.insert(target);
                continue;
            }
            std::fs::remove_file(&link)?;
            remove_store(&target);
        }
        for item in read_dir_or_empty(&self.root.join("store"))? {
            let path = item?.path();
            if named.contains(&path) || in_use.contains(&path) {
                continue;
            }
            let age = std::fs::symlink_metadata(&path)
                .and_then(|m| m.modified())
                .ok()
                .and_then(|m| m.elapsed().ok())
                .unwrap_or_default();
            if age >= ORPHAN_AGE {
                remove_store(&path);
            }
        }
        Ok(())
    }

    /// The store directories that revisions link to.
    fn stores_in_use(&self) -> HashSet<PathBuf> {
        let mut used = HashSet::new();
        let Ok(revisions) = std::fs::read_dir(&self.revisions) else {
            return used;
        };
        for revision in revisions.flatten() {
            for output in OUTPUTS {
                if let Ok(target) = std::fs::read_link(revision.path().join(output)) {
                    if let Some(store) = target.parent() {
                        used.insert(store.to_path_buf());
                    }
                }
            }
        }
        used
    }
}

fn read_dir_or_empty(
    dir: &Path,
) -> std::io::Result<Box<dyn Iterator<Item = std::io::Result<std::fs::DirEntry>>>> {
    match std::fs::read_dir(dir) {
        Ok(items) => Ok(Box::new(items)),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(Box::new(std::iter::empty())),
        Err(err) => Err(err),
    }
}

fn remove_store(path: &Path) {
    if let Err(err) = std::fs::remove_dir_all(path) {
        tracing::warn!(path = %path.display(), error = %err, "cannot remove a dependency cache entry");
    }
}

/// `dir/<output>` → `<store>/<output>`.
fn link(store: &Path, output: &str, dir: &Path) -> std::io::Result<()> {
    std::os::unix::fs::symlink(store.join(output), dir.join(output))
}

fn append(log: &Path, line: &str) -> std::io::Result<()> {
    use std::io::Write;
    if let Some(parent) = log.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)?
        .write_all(line.as_bytes())
}

/// A name no other install (in this or another process) is using.
fn unique() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(
        "{}-{nanos:x}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// Removes a half-made store directory unless disarmed. The removal runs on its own
/// thread: a dropped build future must not stall the async runtime.
struct RemoveOnDrop(Option<PathBuf>);

impl RemoveOnDrop {
    fn disarm(mut self) {
        self.0 = None;
    }

    /// Removes now, before returning (a failed install: the caller may look).
    fn remove_now(mut self) {
        if let Some(path) = self.0.take() {
            remove_store(&path);
        }
    }
}

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        if let Some(path) = self.0.take() {
            std::thread::spawn(move || remove_store(&path));
        }
    }
}

#[cfg(test)]
#[path = "deps_tests.rs"]
mod tests;
