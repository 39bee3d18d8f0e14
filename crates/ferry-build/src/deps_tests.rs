//! Unit tests of the dependency cache: the key, atomic population, reuse, the bound.

#![allow(clippy::unwrap_used)]

use super::*;
use crate::detect::testing::app;

fn node_plan(install: &str) -> BuildPlan {
    BuildPlan {
        provider: "node".to_string(),
        install: vec![install.to_string()],
        cache_keys: vec!["package.json".to_string()],
        env: [("NODE_ENV".to_string(), "production".to_string())].into(),
        ..BuildPlan::default()
    }
}

fn python_plan() -> BuildPlan {
    BuildPlan {
        provider: "python".to_string(),
        install: vec![
            "python3 -m venv .venv".to_string(),
            ".venv/bin/pip install -r requirements.txt".to_string(),
        ],
        cache_keys: vec!["requirements.txt".to_string()],
        ..BuildPlan::default()
    }
}

/// Installs `node_modules/marker` holding the package.json it was made from.
const FAKE_INSTALL: &str = "mkdir node_modules && cp package.json node_modules/marker";

struct Fixture {
    _root: tempfile::TempDir,
    cache: DepCache,
}

fn fixture(keep: usize) -> Fixture {
    let root = tempfile::tempdir().unwrap();
    let cache = DepCache {
        root: root.path().join("cache"),
        revisions: root.path().join("builds"),
        keep,
    };
    std::fs::create_dir_all(&cache.revisions).unwrap();
    Fixture { _root: root, cache }
}

/// A revision directory under the fixture's builds with `files`.
fn revision(fixture: &Fixture, name: &str, files: &[(&str, &str)]) -> PathBuf {
    let dir = fixture.cache.revisions.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    for (file, text) in files {
        std::fs::write(dir.join(file), text).unwrap();
    }
    dir
}

fn store_dirs(cache: &DepCache) -> usize {
    std::fs::read_dir(cache.root.join("store"))
        .map(|d| d.count())
        .unwrap_or(0)
}

#[test]
fn a_code_change_keeps_the_key_and_dependency_or_command_changes_change_it() {
    let plan = python_plan();
    let dir = app(&[("requirements.txt", "flask==3.0\n"), ("main.py", "v1")]);
    let key = cache_key(&plan, dir.path(), "Python 3.11.7").unwrap();
    assert!(key.starts_with("python-"), "{key}");

    std::fs::write(dir.path().join("main.py"), "v2, a code change").unwrap();
    std::fs::write(dir.path().join("new_module.py"), "x = 1").unwrap();
    assert_eq!(cache_key(&plan, dir.path(), "Python 3.11.7").unwrap(), key);

    std::fs::write(dir.path().join("requirements.txt"), "flask==3.1\n").unwrap();
    let changed = cache_key(&plan, dir.path(), "Python 3.11.7").unwrap();
    assert_ne!(changed, key);

    let mut other_command = plan.clone();
    other_command.install[1].push_str(" --no-deps");
    assert_ne!(
        cache_key(&other_command, dir.path(), "Python 3.11.7").unwrap(),
        changed
    );
    let mut other_env = plan.clone();
    other_env
        .env
        .insert("PIP_INDEX_URL".into(), "http://mirror".into());
    assert_ne!(
        cache_key(&other_env, dir.path(), "Python 3.11.7").unwrap(),
        changed
    );
    assert_ne!(
        cache_key(&plan, dir.path(), "Python 3.12.1").unwrap(),
        changed
    );
}

#[test]
fn only_installs_that_need_no_app_files_are_cacheable() {
    let plan = python_plan();
    let ok = app(&[("requirements.txt", "flask\n--find-links /srv/wheels\n")]);
    assert_eq!(cacheable(&plan, ok.path()), Ok(".venv"));
    for line in [
        "-e .",
        "-r base.txt",
        "./wheels/a.whl",
        "--find-links wheels",
    ] {
        let dir = app(&[("requirements.txt", &format!("flask\n{line}\n"))]);
        let err = cacheable(&plan, dir.path()).unwrap_err();
        assert!(err.contains("refers to files of the app"), "{line}: {err}");
    }
    let hooks = app(&[("package.json", r#"{"scripts":{"postinstall":"node x.js"}}"#)]);
    assert!(cacheable(&node_plan("npm ci"), hooks.path())
        .unwrap_err()
        .contains("postinstall"));
    let mut pip_dot = python_plan();
    pip_dot.cache_keys = vec!["pyproject.toml".into()];
    assert!(cacheable(&pip_dot, ok.path()).is_err());
}

#[tokio::test]
async fn a_failed_install_leaves_nothing_cached() {
    let f = fixture(4);
    let dir = revision(&f, "rev-1", &[("package.json", "{}")]);
    let log = dir.join("build.log");
    let plan = node_plan("mkdir node_modules && touch node_modules/half && exit 7");
    let err = f
        .cache
        .install(&plan, &dir, &log, Duration::from_secs(30))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("exited with code 7"), "{err}");
    assert_eq!(store_dirs(&f.cache), 0, "a half-made install stayed");
    let key = cache_key(&plan, &dir, &toolchain("node").await).unwrap();
    assert!(std::fs::symlink_metadata(f.cache.root.join(&key)).is_err());
    assert!(!dir.join("node_modules").exists());
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        text.contains(&format!("dependencies: installing (key {key})")),
        "{text}"
    );
}

#[tokio::test]
async fn a_second_build_with_the_same_inputs_links_the_cached_directory() {
    let f = fixture(4);
    let plan = node_plan(FAKE_INSTALL);
    let first = revision(&f, "rev-1", &[("package.json", "{\"a\":1}"), ("s.js", "1")]);
    let outcome = f
        .cache
        .install(&plan, &first, &first.join("b.log"), Duration::from_secs(30))
        .await
        .unwrap();
    let DepsOutcome::Installed { key } = outcome else {
        panic!("{outcome:?}")
    };
    let second = revision(&f, "rev-2", &[("package.json", "{\"a\":1}"), ("s.js", "2")]);
    let log = second.join("b.log");
    let outcome = f
        .cache
        .install(&plan, &second, &log, Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(outcome, DepsOutcome::Cached { key: key.clone() });
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        text.contains(&format!("dependencies: cached (key {key})")),
        "{text}"
    );
    assert!(
        !text.contains("build step"),
        "the install ran again: {text}"
    );
    assert_eq!(
        std::fs::read_to_string(second.join("node_modules/marker")).unwrap(),
        "{\"a\":1}"
    );
    assert!(std::fs::symlink_metadata(second.join("node_modules"))
        .unwrap()
        .file_type()
        .is_symlink());
}

#[tokio::test]
async fn concurrent_builds_with_one_key_share_one_entry() {
    let f = fixture(4);
    // Slow enough that both installs run at once.
    let plan = node_plan(&format!("sleep 0.3; {FAKE_INSTALL}"));
    let a = revision(&f, "rev-1", &[("package.json", "{}")]);
    let b = revision(&f, "rev-2", &[("package.json", "{}")]);
    let timeout = Duration::from_secs(30);
    let (log_a, log_b) = (a.join("log"), b.join("log"));
    let (ra, rb) = tokio::join!(
        f.cache.install(&plan, &a, &log_a, timeout),
        f.cache.install(&plan, &b, &log_b, timeout)
    );
    ra.unwrap();
    rb.unwrap();
    assert_eq!(store_dirs(&f.cache), 1);
    assert_eq!(
        std::fs::read_link(a.join("node_modules")).unwrap(),
        std::fs::read_link(b.join("node_modules")).unwrap()
    );
}

#[tokio::test]
async fn gc_keeps_the_most_recent_entries_and_those_revisions_use() {
    let f = fixture(1);
    let timeout = Duration::from_secs(30);
    let mut revisions = Vec::new();
    for n in 1..=3 {
        let dir = revision(
            &f,
            &format!("rev-{n}"),
            &[("package.json", &format!("{{\"v\":{n}}}"))],
        );
        f.cache
            .install(&node_plan(FAKE_INSTALL), &dir, &dir.join("log"), timeout)
            .await
            .unwrap();
        revisions.push(dir);
        // Distinct last-used times.
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    f.cache.gc().unwrap();
    // All three are linked from revisions: nothing goes, rollbacks keep working.
    assert_eq!(store_dirs(&f.cache), 3);
    for dir in &revisions {
        assert!(dir.join("node_modules/marker").is_file());
    }
    // Revision 1 deleted: its entry is neither recent nor used any more.
    std::fs::remove_dir_all(&revisions[0]).unwrap();
    std::fs::remove_dir_all(&revisions[1]).unwrap();
    f.cache.gc().unwrap();
    assert_eq!(store_dirs(&f.cache), 1);
    assert!(revisions[2].join("node_modules/marker").is_file());
}
