//! Config files at an app's root: `ferry.toml` (ours) and App Runner's `apprunner.yaml`
//! (accepted as it is). Both load into the same [`LoadedConfig`]; every error names the
//! file, line, column and key.

mod app_file;
mod apprunner;
mod ferry_toml;
mod tree;

pub use app_file::{app_file_exists, read_app_file, AppFileError, MAX_APP_FILE_BYTES};
pub use apprunner::parse_apprunner_yaml;
pub use ferry_toml::parse_ferry_toml;

use crate::service::{ServiceConfig, ServiceName};
use std::fmt;
use std::path::{Path, PathBuf};

/// File names looked up in an app directory, in order of preference.
pub const FERRY_TOML: &str = "ferry.toml";
pub const APPRUNNER_YAML: &str = "apprunner.yaml";

/// Which kind of file a [`LoadedConfig`] was read from.
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
    /// apprunner.yaml's `run.runtime-version` (e.g. `3.8.16`), as written.
    pub runtime_version: Option<String>,
    pub config: ServiceConfig,
    /// Things accepted but not acted on (e.g. apprunner.yaml `secrets`), for the user.
    pub warnings: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{dir}: no ferry.toml or apprunner.yaml found; add a ferry.toml with at least\n\n  [run]\n  command = \"<how to start your app>\"   # it must listen on $PORT\n\n(`ferry plan DIR` shows what ferry detects without one)", dir = .dir.display())]
    NotFound { dir: PathBuf },
    /// The file is there but may not be read: a link out of the app, a device, too
    /// large, or an I/O error.
    #[error(transparent)]
    File(#[from] AppFileError),
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

/// Finds and parses the config file of an app directory: `ferry.toml` if there is one,
/// else `apprunner.yaml`. When both exist the apprunner.yaml is ignored, with a warning.
/// Each is read with [`read_app_file`]: a regular file inside `dir`, at most
/// [`MAX_APP_FILE_BYTES`].
pub fn load_dir(dir: &Path) -> Result<LoadedConfig, ConfigError> {
    if let Some(bytes) = read_app_file(dir, FERRY_TOML, MAX_APP_FILE_BYTES)? {
        let file = dir.join(FERRY_TOML);
        let mut loaded = parse_ferry_toml(&utf8(&bytes, &file)?, &file)?;
        if app_file_exists(dir, APPRUNNER_YAML) {
            loaded.warnings.push(format!(
                "{APPRUNNER_YAML} is ignored because {FERRY_TOML} exists"
            ));
        }
        return Ok(loaded);
    }
    let file = dir.join(APPRUNNER_YAML);
    match read_app_file(dir, APPRUNNER_YAML, MAX_APP_FILE_BYTES)? {
        Some(bytes) => parse_apprunner_yaml(&utf8(&bytes, &file)?, &file),
        None => Err(ConfigError::NotFound {
            dir: dir.to_path_buf(),
        }),
    }
}

/// The file as text, or an error at the first byte that is not UTF-8.
fn utf8(bytes: &[u8], file: &Path) -> Result<String, ConfigError> {
    match std::str::from_utf8(bytes) {
        Ok(text) => Ok(text.to_string()),
        Err(err) => {
            let valid = &bytes[..err.valid_up_to()];
            let line_start = valid
                .iter()
                .rposition(|&b| b == b'\n')
                .map_or(0, |at| at + 1);
            // The prefix is valid UTF-8 by construction, so counting its chars is exact.
            let column = String::from_utf8_lossy(&valid[line_start..])
                .chars()
                .count()
                + 1;
            Err(ConfigError::Invalid {
                location: Location {
                    file: file.to_path_buf(),
                    line: valid.iter().filter(|&&b| b == b'\n').count() + 1,
                    column,
                },
                key: None,
                message: "the file is not valid UTF-8 text".to_string(),
            })
        }
    }
}
