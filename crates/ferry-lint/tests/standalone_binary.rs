//! The `ferry-lint` binary behaves as `ferry lint`: same findings, formats and exit codes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

fn ferry_lint(args: &[&str], dir: &std::path::Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_ferry-lint"))
        .args(args)
        .current_dir(dir)
        .env("HOME", dir)
        .env_remove("XDG_CONFIG_HOME")
        .output()
        .expect("ferry-lint runs")
}

#[test]
fn lints_files_with_hadolint_exit_codes_and_formats() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("Dockerfile"),
        "FROM debian:12\nRUN apt-get update && apt-get install -y curl\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("clean.Dockerfile"),
        "FROM debian:12.5\nUSER 1000\n",
    )
    .unwrap();

    let out = ferry_lint(&["-f", "json", "Dockerfile"], dir.path());
    assert_eq!(
        out.status.code(),
        Some(1),
        "a warning fails at the default threshold"
    );
    let findings: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let codes: Vec<&str> = findings
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap())
        .collect();
    assert!(codes.contains(&"DL3008"), "{codes:?}");
    assert_eq!(findings[0]["file"], "Dockerfile");

    let out = ferry_lint(&["--failure-threshold", "error", "Dockerfile"], dir.path());
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("Dockerfile:2 DL3008 warning"));

    let out = ferry_lint(&["clean.Dockerfile"], dir.path());
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );

    let out = ferry_lint(&["--format", "nope", "Dockerfile"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(!out.stderr.is_empty());
}
