//! App Runner's `apprunner.yaml` (version 1.0). (To be completed: see the config helper's task.)

use super::{ConfigError, ConfigFormat, LoadedConfig};
use std::path::Path;

/// Parses an apprunner.yaml text; `file` is used in error messages.
pub fn parse_apprunner_yaml(_text: &str, file: &Path) -> Result<LoadedConfig, ConfigError> {
    Ok(LoadedConfig {
        file: file.to_path_buf(),
        format: ConfigFormat::AppRunnerYaml,
        name: None,
        runtime: None,
        config: Default::default(),
        warnings: Vec::new(),
    })
}
