//! Go: go.mod. Modules are downloaded first (keyed by go.mod and go.sum), the main
//! package at the module root is built into `bin/<last part of the module path>`.

use super::{AppDir, DetectError};
use crate::plan::BuildPlan;

pub(super) fn detect(app: &AppDir<'_>) -> Result<Option<BuildPlan>, DetectError> {
    let Some(text) = app.read("go.mod")? else {
        return Ok(None);
    };
    let mut plan = BuildPlan::new("go");
    let mut module = None;
    for line in text.lines().map(str::trim) {
        if let Some(rest) = line.strip_prefix("module ") {
            module = Some(rest.trim().trim_matches('"').to_string());
        } else if let Some(rest) = line.strip_prefix("go ") {
            plan.language_version = Some(rest.trim().to_string());
        }
    }
    let Some(module) = module else {
        return Err(DetectError::Invalid {
            file: "go.mod".to_string(),
            message: "no `module` line".to_string(),
        });
    };
    // The binary's name: the module path's last part, kept to safe characters.
    let name: String = module
        .rsplit('/')
        .next()
        .unwrap_or("app")
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        .collect();
    let name = if name.is_empty() || name.starts_with('.') {
        "app".to_string()
    } else {
        name
    };
    plan.env.insert("CGO_ENABLED".to_string(), "0".to_string());
    plan.install = vec!["go mod download".to_string()];
    plan.cache_keys = std::iter::once("go.mod")
        .chain(app.exists("go.sum").then_some("go.sum"))
        .map(str::to_string)
        .collect();
    plan.build = vec![format!("go build -o bin/{name} .")];
    plan.start = Some(format!("exec ./bin/{name}"));
    plan.notes.push(format!(
        "module {module}: builds the main package at the root"
    ));
    Ok(Some(plan))
}

#[cfg(test)]
mod tests {
    use super::super::testing::app;
    use super::*;

    #[test]
    fn binary_named_after_the_module() {
        let dir = app(&[
            ("go.mod", "module example.com/acme/api\n\ngo 1.22\n"),
            ("go.sum", ""),
        ]);
        let plan = detect(&AppDir { dir: dir.path() }).unwrap().unwrap();
        assert_eq!(plan.build, ["go build -o bin/api ."]);
        assert_eq!(plan.start.as_deref(), Some("exec ./bin/api"));
        assert_eq!(plan.language_version.as_deref(), Some("1.22"));
        assert_eq!(plan.cache_keys, ["go.mod", "go.sum"]);
        let bad = app(&[("go.mod", "go 1.22\n")]);
        assert!(detect(&AppDir { dir: bad.path() }).is_err());
    }
}
