//! An app directory's plan: the detected plan with the config file laid over it.
//! Precedence: detected < ferry.toml / apprunner.yaml < environment < CLI flags (the
//! last two are applied by the server, as for any deploy).
//!
//! What the file overrides: its build commands replace the detected install and build
//! steps together (a file that spells out a build means all of it); `run.command`
//! replaces the start command; its env values win over the detected ones, key by key.
//! With a config file, a Dockerfile is not used: the file's commands run as today.

use crate::detect::{detect, detect_without_dockerfile, DetectError};
use crate::plan::{BuildPlan, PlanKind};
use ferry_types::config::{load_dir, ConfigError, LoadedConfig};
use ferry_types::{ServiceConfig, ServiceName};
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Detect(#[from] DetectError),
}

/// The plan and the service config it becomes.
#[derive(Clone, Debug)]
pub struct PlannedApp {
    pub plan: BuildPlan,
    /// The file's config (or defaults) with the plan's commands and env in it.
    pub config: ServiceConfig,
    /// `name` from ferry.toml, if any.
    pub name: Option<ServiceName>,
    /// For the user: the file's warnings and what detection chose.
    pub warnings: Vec<String>,
    /// Whether a ferry.toml or apprunner.yaml was read.
    pub from_file: bool,
}

/// Plans `dir`: reads its config file if it has one, detects, and merges. Blocking.
pub fn plan_dir(dir: &Path) -> Result<PlannedApp, PlanError> {
    let loaded = match load_dir(dir) {
        Ok(loaded) => Some(loaded),
        Err(ConfigError::NotFound { .. }) => None,
        Err(err) => return Err(err.into()),
    };
    match loaded {
        None => {
            let plan = detect(dir)?.ok_or_else(|| DetectError::NotRecognised {
                dir: dir.to_path_buf(),
            })?;
            let mut config = ServiceConfig::default();
            apply_plan(&plan, &mut config);
            let warnings = vec![format!(
                "no ferry.toml or apprunner.yaml: detected {} ({})",
                plan.provider,
                plan.notes.join("; ")
            )];
            Ok(PlannedApp {
                plan,
                config,
                name: None,
                warnings,
                from_file: false,
            })
        }
        Some(loaded) => {
            let mut warnings = loaded.warnings.clone();
            // A manifest the file makes unnecessary must not break a deploy that works today.
            let detected = match detect_without_dockerfile(dir) {
                Ok(plan) => plan,
                Err(err) => {
                    warnings.push(format!("detection skipped: {err}"));
                    None
                }
            };
            let plan = merge(detected, &loaded);
            let mut config = loaded.config.clone();
            apply_plan(&plan, &mut config);
            Ok(PlannedApp {
                plan,
                config,
                name: loaded.name,
                warnings,
                from_file: true,
            })
        }
    }
}

/// The detected plan (if any) with the file's fields laid over it.
pub fn merge(detected: Option<BuildPlan>, loaded: &LoadedConfig) -> BuildPlan {
    let file = loaded
        .file
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_else(|| "config file".to_string());
    let config = &loaded.config;
    let mut plan = detected.unwrap_or_else(|| {
        let mut plan = BuildPlan::new(&file);
        plan.notes.push(format!("commands from {file}"));
        plan
    });
    if !config.build.commands.is_empty() {
        if plan.provider != file {
            plan.notes
                .push(format!("install and build steps from {file}"));
        }
        plan.install.clear();
        plan.build = config.build.commands.clone();
    }
    if let Some(command) = &config.run.command {
        if plan.provider != file {
            plan.notes.push(format!("start command from {file}"));
        }
        plan.start = Some(command.clone());
        // The file's command runs as a process, whatever was detected.
        plan.kind = PlanKind::Process;
    }
    plan.env.extend(config.build.env.clone());
    if plan.language_version.is_none() {
        plan.language_version = loaded.runtime_version.clone();
    }
    plan
}

/// The plan a revision's build runs: its config's commands and env, with the install
/// step, provider and cache keys recovered by detecting `dir` again when the config's
/// commands start with the detected install step (a config is the plan flattened, see
/// [`apply_plan`]). Otherwise every command is a build step and nothing is cached.
/// Blocking: it reads files.
pub fn build_plan(config: &ServiceConfig, dir: &Path) -> BuildPlan {
    let mut plan = BuildPlan::from_config(config);
    let Ok(planned) = plan_dir(dir) else {
        return plan;
    };
    let detected = planned.plan;
    if detected.install.is_empty() || !plan.build.starts_with(&detected.install) {
        return plan;
    }
    plan.build.drain(..detected.install.len());
    plan.install = detected.install;
    plan.provider = detected.provider;
    plan.cache_keys = detected.cache_keys;
    plan.language_version = detected.language_version;
    plan
}

/// Writes the plan's steps, start command and env into `config`; env already in the
/// config wins (it came from the file).
fn apply_plan(plan: &BuildPlan, config: &mut ServiceConfig) {
    config.build.commands = plan.steps().map(|s| s.command).collect();
    config.run.command = plan.start.clone();
    // A static site runs nothing: the router serves this directory of the revision.
    config.run.static_root = match plan.kind {
        PlanKind::Static => plan.static_root.clone(),
        _ => None,
    };
    for (key, value) in &plan.env {
        config
            .build
            .env
            .entry(key.clone())
            .or_insert_with(|| value.clone());
        config
            .run
            .env
            .entry(key.clone())
            .or_insert_with(|| value.clone());
    }
    if let Some(port) = plan.port {
        if config.run.port == ServiceConfig::default().run.port {
            config.run.port = port;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::testing::app;

    #[test]
    fn no_file_means_the_detected_plan() {
        let dir = app(&[("package.json", r#"{"scripts":{"start":"node s.js"}}"#)]);
        let planned = plan_dir(dir.path()).unwrap();
        assert!(!planned.from_file);
        assert_eq!(
            planned.config.run.command.as_deref(),
            Some("exec node s.js")
        );
        assert_eq!(planned.config.run.env["NODE_ENV"], "production");
        assert!(
            planned.warnings[0].contains("detected node"),
            "{:?}",
            planned.warnings
        );
    }

    #[test]
    fn the_file_overrides_detected_fields() {
        let dir = app(&[
            ("requirements.txt", "gunicorn\n"),
            ("app.py", ""),
            (
                "ferry.toml",
                "[run]\ncommand = \"python3 app.py --own\"\nenv = { PYTHONUNBUFFERED = \"0\" }\n",
            ),
        ]);
        let planned = plan_dir(dir.path()).unwrap();
        assert!(planned.from_file);
        // Install kept (the file says nothing about the build), start from the file.
        assert_eq!(planned.plan.provider, "python");
        assert_eq!(planned.config.build.commands.len(), 2);
        assert_eq!(
            planned.config.run.command.as_deref(),
            Some("python3 app.py --own")
        );
        assert_eq!(planned.config.run.env["PYTHONUNBUFFERED"], "0");
        assert!(planned
            .plan
            .notes
            .iter()
            .any(|n| n == "start command from ferry.toml"));

        std::fs::write(
            dir.path().join("ferry.toml"),
            "[build]\ncommand = \"make\"\n[run]\ncommand = \"./run\"\n",
        )
        .unwrap();
        let planned = plan_dir(dir.path()).unwrap();
        assert_eq!(planned.config.build.commands, ["make"]);
    }

    #[test]
    fn a_file_ignores_the_dockerfile_and_survives_a_bad_manifest() {
        let dir = app(&[
            ("Dockerfile", "FROM scratch\n"),
            ("package.json", "{ not json"),
            ("ferry.toml", "[run]\ncommand = \"./serve\"\n"),
        ]);
        let planned = plan_dir(dir.path()).unwrap();
        assert_eq!(planned.plan.provider, "ferry.toml");
        assert_eq!(planned.plan.kind, PlanKind::Process);
        assert!(planned.warnings.iter().any(|w| w.contains("package.json")));
    }

    #[test]
    fn a_revisions_build_plan_gets_its_install_step_back() {
        let dir = app(&[("requirements.txt", "flask\n"), ("main.py", "")]);
        let planned = plan_dir(dir.path()).unwrap();
        let plan = build_plan(&planned.config, dir.path());
        assert_eq!(plan.install, planned.plan.install);
        assert!(plan.build.is_empty());
        assert_eq!(plan.cache_keys, ["requirements.txt"]);
        // Commands that are not the detected install step stay build steps.
        let mut config = planned.config.clone();
        config.build.commands = vec!["make".into()];
        let plan = build_plan(&config, dir.path());
        assert!(plan.install.is_empty() && plan.cache_keys.is_empty());
        assert_eq!(plan.build, ["make"]);
    }

    #[test]
    fn errors_in_the_file_still_fail() {
        let dir = app(&[("main.py", ""), ("ferry.toml", "[run]\nprot = 1\n")]);
        assert!(matches!(
            plan_dir(dir.path()).unwrap_err(),
            PlanError::Config(ConfigError::Invalid { .. })
        ));
    }
}
