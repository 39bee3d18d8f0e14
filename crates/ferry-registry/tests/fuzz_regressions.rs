//! Replays the cargo-fuzz seed corpus and past crash inputs (`fuzz/corpus/<target>/`)
//! through the fuzz harness on the stable toolchain, so a fixed crash stays fixed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

#[path = "../fuzz/src/lib.rs"]
#[allow(dead_code)]
mod harness;

fn inputs(target: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "{} has no inputs", dir.display());
    files
}

/// Runs every input of `target`, naming the file that fails.
fn replay(target: &str, run: fn(&[u8])) {
    for path in inputs(target) {
        let data = std::fs::read(&path).unwrap();
        let outcome = std::panic::catch_unwind(|| run(&data));
        assert!(outcome.is_ok(), "{} panicked", path.display());
    }
}

#[test]
fn manifest_inputs_replay_without_panic() {
    replay("manifest", harness::manifest);
}

#[test]
fn range_inputs_replay_without_panic() {
    replay("ranges", harness::ranges);
}

#[test]
fn name_inputs_replay_without_panic() {
    replay("names", harness::names);
}
