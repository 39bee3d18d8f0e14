//! Compiler caches shared by host builds of Go and Rust apps: the toolchains' own
//! caches (Go's module and build caches, a Cargo target directory per package) kept
//! under the data dir, so a code-only change recompiles only the app's own code.
//!
//! Go's caches are content-addressed and safe for concurrent builds; Cargo locks its
//! target directory, so two builds of one package wait for each other, never clash.

use crate::plan::BuildPlan;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::SystemTime;

/// Cargo target directories kept (most recently used first); each can be large.
const KEPT_CARGO_TARGETS: usize = 8;

/// The environment that points `plan`'s toolchain at the shared caches under `root`
/// (`<data>/cache`). Empty for providers without such a cache.
pub fn compiler_cache_env(root: &Path, plan: &BuildPlan) -> BTreeMap<String, String> {
    let path = |p: &Path| p.to_string_lossy().into_owned();
    let mut env = BTreeMap::new();
    match plan.provider.as_str() {
        "go" => {
            env.insert("GOMODCACHE".to_string(), path(&root.join("go/mod")));
            env.insert("GOCACHE".to_string(), path(&root.join("go/build")));
        }
        "rust" => {
            let target = root.join("cargo-target").join(cargo_target_name(plan));
            // Marks it used for the bound below.
            let _ = std::fs::create_dir_all(&target);
            let _ = filetime_now(&target);
            env.insert("CARGO_TARGET_DIR".to_string(), path(&target));
        }
        _ => {}
    }
    env
}

/// Bounds the Cargo target directories to the most recently used few. Go trims its
/// own caches.
pub fn gc_compiler_caches(root: &Path) -> std::io::Result<()> {
    let dir = root.join("cargo-target");
    let mut targets = Vec::new();
    match std::fs::read_dir(&dir) {
        Ok(items) => {
            for item in items {
                let item = item?;
                let used = item
                    .metadata()
                    .and_then(|m| m.modified())
                    .unwrap_or(SystemTime::UNIX_EPOCH);
                targets.push((used, item.path()));
            }
        }
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(err) => return Err(err),
    }
    targets.sort_by_key(|target| std::cmp::Reverse(target.0));
    for (_, path) in targets.into_iter().skip(KEPT_CARGO_TARGETS) {
        std::fs::remove_dir_all(&path)?;
    }
    Ok(())
}

/// One target directory per binary name: revisions of one app share it, and the
/// name is already restricted to Cargo's target-name characters by detection.
fn cargo_target_name(plan: &BuildPlan) -> String {
    let start = plan.start.as_deref().unwrap_or("app");
    let bin = start.rsplit('/').next().unwrap_or("app");
    let safe: String = bin
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
        .collect();
    if safe.is_empty() {
        "app".to_string()
    } else {
        safe
    }
}

fn filetime_now(path: &Path) -> std::io::Result<()> {
    std::fs::File::open(path)?.set_modified(SystemTime::now())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn go_and_rust_get_caches_under_the_root() {
        let root = tempfile::tempdir().unwrap();
        let mut go = BuildPlan::new("go");
        go.start = Some("exec ./bin/api".to_string());
        let env = compiler_cache_env(root.path(), &go);
        assert!(env["GOMODCACHE"].ends_with("go/mod"));
        assert!(env["GOCACHE"].ends_with("go/build"));

        let mut rust = BuildPlan::new("rust");
        rust.start = Some("exec ./bin/hello-api".to_string());
        let env = compiler_cache_env(root.path(), &rust);
        assert!(env["CARGO_TARGET_DIR"].ends_with("cargo-target/hello-api"));
        assert!(root.path().join("cargo-target/hello-api").is_dir());

        assert!(compiler_cache_env(root.path(), &BuildPlan::new("python")).is_empty());
    }

    #[test]
    fn gc_keeps_the_most_recently_used_targets() {
        let root = tempfile::tempdir().unwrap();
        for index in 0..KEPT_CARGO_TARGETS + 3 {
            let dir = root.path().join(format!("cargo-target/t{index}"));
            std::fs::create_dir_all(&dir).unwrap();
            let age = std::time::Duration::from_secs(1000 - index as u64);
            std::fs::File::open(&dir)
                .unwrap()
                .set_modified(SystemTime::now() - age)
                .unwrap();
        }
        gc_compiler_caches(root.path()).unwrap();
        let left: Vec<_> = std::fs::read_dir(root.path().join("cargo-target"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(left.len(), KEPT_CARGO_TARGETS);
        assert!(!left.contains(&"t0".to_string()), "{left:?}");
        assert!(left.contains(&format!("t{}", KEPT_CARGO_TARGETS + 2)));
    }
}
