//! Snapshots of the plan of every example under `examples/apps/`: a change to what a
//! provider plans shows up as a diff of a reviewed `.snap` file.

use std::path::Path;

fn plan(name: &str) -> ferry_build::BuildPlan {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/apps")
        .join(name);
    match ferry_build::plan_dir(&dir) {
        Ok(planned) => planned.plan,
        Err(err) => panic!("{name}: {err}"),
    }
}

#[test]
fn detected_examples() {
    for name in [
        "python-hello",
        "node-hello",
        "static-site",
        "procfile-app",
        "go-hello",
        "rust-hello",
        "dockerfile-app",
    ] {
        insta::assert_json_snapshot!(name, plan(name));
    }
}

#[test]
fn examples_with_a_config_file() {
    for name in ["hello", "apprunner-python", "slow-peak"] {
        insta::assert_json_snapshot!(name, plan(name));
    }
}

#[test]
fn every_example_is_snapshotted() {
    let apps = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/apps");
    let snapshotted = [
        "python-hello",
        "node-hello",
        "static-site",
        "procfile-app",
        "go-hello",
        "rust-hello",
        "dockerfile-app",
        "hello",
        "apprunner-python",
        "slow-peak",
    ];
    for entry in std::fs::read_dir(apps).expect("examples/apps") {
        let name = entry.expect("entry").file_name();
        let name = name.to_string_lossy();
        assert!(
            snapshotted.contains(&name.as_ref()),
            "examples/apps/{name} has no plan snapshot: add it to tests/plans.rs"
        );
    }
}
