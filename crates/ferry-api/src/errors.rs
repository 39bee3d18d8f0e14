//! The API's error body: a stable code, a message, and for config problems the place.

use serde::{Deserialize, Serialize};

/// JSON error body: `{"code": "...", "message": "..."}`, plus `config` for
/// `invalid_config` errors whose place is known.
#[derive(Debug, Serialize, Deserialize)]
pub struct ErrorBody {
    pub code: String,
    pub message: String,
    /// Where an `invalid_config` problem is: file, line, column, key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<ConfigProblem>,
}

/// A config problem as the API reports it: the message a user reads, and the place
/// (file relative to the app, line, column, key) as data when it is known.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigProblem {
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub column: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}

impl std::fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl ConfigProblem {
    /// A problem with no place in a file (a flag, a combination of settings).
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            ..Self::default()
        }
    }
}
