//! Findings and severities: what a rule reports and how serious it is.

use std::fmt;
use std::str::FromStr;

use serde::{Serialize, Serializer};

/// Hadolint's severities. Ordered so that `Error > Warning > Info > Style > Ignore`;
/// `Ignore` findings are never reported. `None` exists only as a failure threshold
/// that nothing reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Ignore,
    Style,
    Info,
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
            Severity::Style => "style",
            Severity::Ignore => "ignore",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Severity {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// An unknown severity name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown severity `{0}` (expected error, warning, info, style or ignore)")]
pub struct UnknownSeverity(pub String);

impl FromStr for Severity {
    type Err = UnknownSeverity;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "error" => Ok(Severity::Error),
            "warning" => Ok(Severity::Warning),
            "info" => Ok(Severity::Info),
            "style" => Ok(Severity::Style),
            "ignore" | "none" => Ok(Severity::Ignore),
            _ => Err(UnknownSeverity(s.to_string())),
        }
    }
}

/// The failure threshold: findings at or above it fail the run. `None` never fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Threshold {
    Error,
    Warning,
    #[default]
    Info,
    Style,
    Ignore,
    None,
}

impl Threshold {
    /// Whether a finding of `severity` reaches this threshold.
    pub fn reached_by(self, severity: Severity) -> bool {
        let min = match self {
            Threshold::Error => Severity::Error,
            Threshold::Warning => Severity::Warning,
            Threshold::Info => Severity::Info,
            Threshold::Style => Severity::Style,
            Threshold::Ignore => Severity::Ignore,
            Threshold::None => return false,
        };
        severity >= min
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown failure threshold `{0}` (expected error, warning, info, style, ignore or none)")]
pub struct UnknownThreshold(pub String);

impl FromStr for Threshold {
    type Err = UnknownThreshold;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "error" => Ok(Threshold::Error),
            "warning" => Ok(Threshold::Warning),
            "info" => Ok(Threshold::Info),
            "style" => Ok(Threshold::Style),
            "ignore" => Ok(Threshold::Ignore),
            "none" => Ok(Threshold::None),
            _ => Err(UnknownThreshold(s.to_string())),
        }
    }
}

/// One reported problem. Serialises with Hadolint's JSON field names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub code: String,
    pub column: usize,
    pub file: String,
    #[serde(rename = "level")]
    pub severity: Severity,
    pub line: usize,
    pub message: String,
}
