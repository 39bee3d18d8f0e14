//! Config files at an app's root: `ferry.toml` (ours) and App Runner's `apprunner.yaml`
//! (accepted as it is). Both load into the same [`LoadedConfig`]; every error names the
//! file, line, column and key.

mod apprunner;
mod ferry_toml;

pub use apprunner::parse_apprunner_yaml;
pub use ferry_toml::parse_ferry_toml;

use crate::service::{ServiceConfig, ServiceName};
use std::fmt;
use std::path::{Path, PathBuf};

/// File names looked up in an app directory, in order of preference.
pub const FERRY_TOML: &str = "ferry.toml";
pub const APPRUNNER_YAML: &str = "apprunner.yaml";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConfigFormat {
    FerryToml,
    AppRunnerYaml,
}

/// A config file turned into ferry's model.
#[derive(Clone, Debug, PartialEq)]
pub struct LoadedConfig {
    /// The file it came from, as given (for messages).
    pub file: PathBuf,
    pub format: ConfigFormat,
    /// `name` from ferry.toml; apprunner.yaml has none.
    pub name: Option<ServiceName>,
    /// apprunner.yaml's `runtime` (e.g. `python3`), kept for the build step.
    pub runtime: Option<String>,
    pub config: ServiceConfig,
    /// Things accepted but not acted on (e.g. apprunner.yaml `secrets`), for the user.
    pub warnings: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{dir}: no ferry.toml or apprunner.yaml found; add a ferry.toml with at least\n\n  [run]\n  command = \"<how to start your app>\"   # it must listen on $PORT\n\n(language detection comes in a later release)", dir = .dir.display())]
    NotFound { dir: PathBuf },
    #[error("{}: cannot read", file.display())]
    Io {
        file: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{location}: {message}")]
    Invalid {
        location: Location,
        /// Dotted key the problem is about, when there is one (`run.port`).
        key: Option<String>,
        message: String,
    },
}

/// `file:line:column`, 1-based.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Location {
    pub file: PathBuf,
    pub line: usize,
    pub column: usize,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file.display(), self.line, self.column)
    }
}

/// Finds and parses the config file of an app directory.
pub fn load_dir(dir: &Path) -> Result<LoadedConfig, ConfigError> {
    for (name, parse) in [
        (
            FERRY_TOML,
            parse_ferry_toml as fn(&str, &Path) -> Result<LoadedConfig, ConfigError>,
        ),
        (APPRUNNER_YAML, parse_apprunner_yaml),
    ] {
        let file = dir.join(name);
        match std::fs::read_to_string(&file) {
            Ok(text) => return parse(&text, &file),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => continue,
            Err(source) => return Err(ConfigError::Io { file, source }),
        }
    }
    Err(ConfigError::NotFound {
        dir: dir.to_path_buf(),
    })
}
