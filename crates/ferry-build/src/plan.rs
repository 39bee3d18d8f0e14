//! The build plan: what will run, as data that can be shown, stored and snapshotted.
//! Detection (`detect/`) makes one from an app's files, a config file overrides it
//! (`merge.rs`), and [`execute`](crate::execute) runs its install and build steps.

use ferry_types::ServiceConfig;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuildStep {
    /// A shell command run with `sh -c` in the app directory.
    pub command: String,
}

/// How the app is built and run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum PlanKind {
    /// Install and build commands on the host (or in a generated image), then `start`.
    #[default]
    Process,
    /// Files served as they are from `static_root`.
    Static,
    /// The app's own Dockerfile is the build; needs a container runtime.
    Dockerfile,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct BuildPlan {
    /// What made the plan: `python`, `node`, `go`, `rust`, `static`, `procfile`,
    /// `dockerfile`, or the config file (`ferry.toml`, `apprunner.yaml`).
    pub provider: String,
    pub kind: PlanKind,
    /// Language or toolchain version when the app states one (`.python-version`,
    /// `engines.node`, `go 1.22`, `rust-version`).
    pub language_version: Option<String>,
    /// Dependency step: run first, and the step a cache keyed by `cache_keys` can skip.
    pub install: Vec<String>,
    /// Build step, after the install step.
    pub build: Vec<String>,
    /// How an instance starts (listening on `$PORT`).
    pub start: Option<String>,
    /// Variables set for the build steps and the app.
    pub env: BTreeMap<String, String>,
    /// Port the app says it listens on (a Dockerfile's EXPOSE); `$PORT` otherwise.
    pub port: Option<u16>,
    /// Files whose content keys the install step (lock files, manifests).
    pub cache_keys: Vec<String>,
    /// The directory served, for a static site (relative to the app).
    pub static_root: Option<String>,
    /// Why each part was chosen, and which fields a config file overrode.
    pub notes: Vec<String>,
}

impl BuildPlan {
    /// A plan for `provider` with nothing in it yet.
    pub fn new(provider: &str) -> Self {
        Self {
            provider: provider.to_string(),
            ..Self::default()
        }
    }

    /// The plan an app's config asks for (its build commands, in order).
    pub fn from_config(config: &ServiceConfig) -> Self {
        Self {
            provider: "config".to_string(),
            build: config.build.commands.clone(),
            start: config.run.command.clone(),
            env: config.build.env.clone(),
            ..Self::default()
        }
    }

    /// The install then build commands, in the order they run.
    pub fn steps(&self) -> impl Iterator<Item = BuildStep> + '_ {
        self.install
            .iter()
            .chain(&self.build)
            .map(|command| BuildStep {
                command: command.clone(),
            })
    }

    pub fn is_empty(&self) -> bool {
        self.install.is_empty() && self.build.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_follows_the_config_in_order() {
        let mut config = ServiceConfig::default();
        config.build.commands = vec!["a".into(), "b".into()];
        config.build.env.insert("K".into(), "v".into());
        let plan = BuildPlan::from_config(&config);
        let commands: Vec<String> = plan.steps().map(|s| s.command).collect();
        assert_eq!(commands, ["a", "b"]);
        assert_eq!(plan.env.get("K").map(String::as_str), Some("v"));
        assert!(BuildPlan::from_config(&ServiceConfig::default()).is_empty());
    }

    #[test]
    fn install_runs_before_build() {
        let mut plan = BuildPlan::new("node");
        plan.install = vec!["npm ci".into()];
        plan.build = vec!["npm run build".into()];
        let commands: Vec<String> = plan.steps().map(|s| s.command).collect();
        assert_eq!(commands, ["npm ci", "npm run build"]);
    }
}
