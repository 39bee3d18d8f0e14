//! The thresholds of the `[security]` policy, typed when the config is read so no
//! later code re-parses a word (where an unknown one could silently mean "never block").

use serde::{Deserialize, Serialize};
use std::fmt;

/// Dockerfile lint severity at or above which a deploy is refused (Hadolint's levels).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LintThreshold {
    Error,
    Warning,
    Info,
    Style,
    /// Report only.
    None,
}

impl LintThreshold {
    pub const NAMES: [&'static str; 5] = ["error", "warning", "info", "style", "none"];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Error => "error",
            Self::Warning => "warning",
            Self::Info => "info",
            Self::Style => "style",
            Self::None => "none",
        }
    }

    /// Case-insensitive; None for a word that is not a level.
    pub fn parse(word: &str) -> Option<Self> {
        Some(match word.to_ascii_lowercase().as_str() {
            "error" => Self::Error,
            "warning" => Self::Warning,
            "info" => Self::Info,
            "style" => Self::Style,
            "none" => Self::None,
            _ => return None,
        })
    }
}

/// Vulnerability severity at or above which a deploy is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VulnThreshold {
    Critical,
    High,
    Medium,
    Low,
    Unknown,
    /// Report only.
    None,
}

impl VulnThreshold {
    pub const NAMES: [&'static str; 6] = ["critical", "high", "medium", "low", "unknown", "none"];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Critical => "critical",
            Self::High => "high",
            Self::Medium => "medium",
            Self::Low => "low",
            Self::Unknown => "unknown",
            Self::None => "none",
        }
    }

    /// Case-insensitive; None for a word that is not a severity.
    pub fn parse(word: &str) -> Option<Self> {
        Some(match word.to_ascii_lowercase().as_str() {
            "critical" => Self::Critical,
            "high" => Self::High,
            "medium" => Self::Medium,
            "low" => Self::Low,
            "unknown" => Self::Unknown,
            "none" => Self::None,
            _ => return None,
        })
    }
}

impl fmt::Display for LintThreshold {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for VulnThreshold {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_parses_back_and_serialises_as_written() {
        for name in LintThreshold::NAMES {
            let level = LintThreshold::parse(&name.to_uppercase()).unwrap();
            assert_eq!(level.as_str(), name);
            assert_eq!(
                serde_json::to_string(&level).unwrap(),
                format!("\"{name}\"")
            );
        }
        for name in VulnThreshold::NAMES {
            let level = VulnThreshold::parse(name).unwrap();
            assert_eq!(level.as_str(), name);
            assert_eq!(
                serde_json::to_string(&level).unwrap(),
                format!("\"{name}\"")
            );
        }
        assert_eq!(LintThreshold::parse("severe"), None);
        assert_eq!(VulnThreshold::parse("severe"), None);
    }
}
