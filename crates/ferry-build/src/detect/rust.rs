//! Rust: Cargo.toml with a `[package]`. The binary is `default-run`, else the `[[bin]]`
//! named like the package, else the only `[[bin]]`, else the package name.

use super::{AppDir, DetectError};
use crate::plan::BuildPlan;

pub(super) fn detect(app: &AppDir<'_>) -> Result<Option<BuildPlan>, DetectError> {
    let Some(manifest) = app.read_toml("Cargo.toml")? else {
        return Ok(None);
    };
    let Some(package) = manifest.get("package").and_then(|p| p.as_table()) else {
        return Err(DetectError::Invalid {
            file: "Cargo.toml".to_string(),
            message: "no [package] (a workspace root): set [run] command in ferry.toml, \
                      or deploy the member's directory"
                .to_string(),
        });
    };
    let text = |table: &toml::Table, key: &str| {
        table.get(key).and_then(|v| v.as_str()).map(str::to_string)
    };
    let package_name = text(package, "name").unwrap_or_else(|| "app".to_string());
    let bins: Vec<String> = manifest
        .get("bin")
        .and_then(|b| b.as_array())
        .into_iter()
        .flatten()
        .filter_map(|b| b.as_table())
        .filter_map(|b| text(b, "name"))
        .collect();
    let bin = text(package, "default-run")
        .or_else(|| bins.iter().find(|b| **b == package_name).cloned())
        .or_else(|| (bins.len() == 1).then(|| bins[0].clone()))
        .unwrap_or_else(|| package_name.clone());
    // The name goes into a shell command: only what Cargo allows in a target name.
    if bin.is_empty()
        || !bin
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(DetectError::Invalid {
            file: "Cargo.toml".to_string(),
            message: format!("binary name {bin:?} is not a valid Cargo target name"),
        });
    }
    let mut plan = BuildPlan::new("rust");
    plan.language_version = text(package, "rust-version");
    if let Some(toolchain) = app.read_toml("rust-toolchain.toml")? {
        if let Some(channel) = toolchain
            .get("toolchain")
            .and_then(|t| t.get("channel"))
            .and_then(|c| c.as_str())
        {
            plan.language_version = Some(channel.to_string());
        }
    }
    let locked = app.exists("Cargo.lock");
    let flag = if locked { " --locked" } else { "" };
    plan.install = vec![format!("cargo fetch{flag}")];
    plan.cache_keys = std::iter::once("Cargo.toml")
        .chain(locked.then_some("Cargo.lock"))
        .map(str::to_string)
        .collect();
    // The binary is copied out of the target directory, which a host build shares
    // between revisions (CARGO_TARGET_DIR) so a code-only change reuses the deps.
    plan.build = vec![
        format!("cargo build --release{flag} --bin {bin}"),
        format!("mkdir -p bin && cp \"${{CARGO_TARGET_DIR:-target}}/release/{bin}\" bin/"),
    ];
    plan.start = Some(format!("exec ./bin/{bin}"));
    if bins.len() > 1 {
        plan.notes.push(format!(
            "several binaries ({}): runs {bin}; set [run] command to choose another",
            bins.join(", ")
        ));
    }
    Ok(Some(plan))
}

#[cfg(test)]
mod tests {
    use super::super::testing::app;
    use super::*;

    fn plan(files: &[(&str, &str)]) -> Result<Option<BuildPlan>, DetectError> {
        let dir = app(files);
        detect(&AppDir { dir: dir.path() })
    }

    #[test]
    fn the_binary_comes_from_the_package() {
        let simple = plan(&[("Cargo.toml", "[package]\nname='web'\nrust-version='1.80'\n")])
            .unwrap()
            .unwrap();
        assert_eq!(simple.build[0], "cargo build --release --bin web");
        assert!(simple.build[1].ends_with("/release/web\" bin/"));
        assert_eq!(simple.start.as_deref(), Some("exec ./bin/web"));
        assert_eq!(simple.language_version.as_deref(), Some("1.80"));
        let bins = plan(&[
            (
                "Cargo.toml",
                "[package]\nname='p'\n[[bin]]\nname='server'\n",
            ),
            ("Cargo.lock", ""),
        ])
        .unwrap()
        .unwrap();
        assert_eq!(bins.build[0], "cargo build --release --locked --bin server");
        assert_eq!(bins.cache_keys, ["Cargo.toml", "Cargo.lock"]);
    }

    #[test]
    fn workspaces_and_odd_names_are_errors() {
        assert!(plan(&[("Cargo.toml", "[workspace]\nmembers=['a']\n")]).is_err());
        assert!(plan(&[("Cargo.toml", "[package]\nname='a;rm -rf /'\n")]).is_err());
    }
}
