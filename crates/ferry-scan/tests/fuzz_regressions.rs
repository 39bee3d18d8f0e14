//! Replays the cargo-fuzz seed corpus and past crash inputs (`fuzz/corpus/<target>/`)
//! through the fuzz harness on the stable toolchain, so a fixed crash stays fixed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

#[path = "../fuzz/src/lib.rs"]
#[allow(dead_code)]
mod harness;

/// Runs every input of `target`'s corpus, naming the file that fails.
fn replay(target: &str, run: fn(&[u8])) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    ferry_testenv::replay_corpus(&dir, run);
}

#[test]
fn layer_inputs_replay_without_panic() {
    replay("layer", harness::layer);
}

#[test]
fn version_inputs_replay_without_panic() {
    replay("versions", harness::versions);
}

#[test]
fn osv_inputs_replay_without_panic() {
    replay("osv", harness::osv);
}

#[test]
fn dpkg_status_inputs_replay_without_panic() {
    replay("dpkg_status", harness::dpkg_status);
}
