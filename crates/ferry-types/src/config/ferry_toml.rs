//! `ferry.toml`: ferry's own app config. (To be completed: see the config helper's task.)

use super::{ConfigError, ConfigFormat, LoadedConfig};
use std::path::Path;

/// Parses a ferry.toml text; `file` is used in error messages.
pub fn parse_ferry_toml(_text: &str, file: &Path) -> Result<LoadedConfig, ConfigError> {
    Ok(LoadedConfig {
        file: file.to_path_buf(),
        format: ConfigFormat::FerryToml,
        name: None,
        runtime: None,
        config: Default::default(),
        warnings: Vec::new(),
    })
}
