//! The build plan: what will run, as data that can be shown, stored and snapshotted.

use ferry_types::ServiceConfig;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuildStep {
    /// A shell command run with `sh -c` in the app directory.
    pub command: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct BuildPlan {
    pub steps: Vec<BuildStep>,
    /// Variables set for every step, on top of the host's environment.
    pub env: BTreeMap<String, String>,
}

impl BuildPlan {
    /// The plan an app's config asks for (its build commands, in order).
    pub fn from_config(config: &ServiceConfig) -> Self {
        Self {
            steps: config
                .build
                .commands
                .iter()
                .map(|command| BuildStep {
                    command: command.clone(),
                })
                .collect(),
            env: config.build.env.clone(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
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
        let commands: Vec<&str> = plan.steps.iter().map(|s| s.command.as_str()).collect();
        assert_eq!(commands, ["a", "b"]);
        assert_eq!(plan.env.get("K").map(String::as_str), Some("v"));
        assert!(BuildPlan::from_config(&ServiceConfig::default()).is_empty());
    }
}
