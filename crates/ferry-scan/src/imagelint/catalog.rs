//! The checks image lint runs: Dockle's checkpoint ids, titles and default levels.

use super::Level;

/// One checkpoint as Dockle defines it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Check {
    /// Dockle's id, e.g. `CIS-DI-0001`.
    pub code: &'static str,
    /// Dockle's title for the check.
    pub title: &'static str,
    /// The level reported when the check finds something and nothing overrides it.
    pub default_level: Level,
}

pub(crate) const AVOID_ROOT: &str = "CIS-DI-0001";
pub(crate) const CONTENT_TRUST: &str = "CIS-DI-0005";
pub(crate) const HEALTHCHECK: &str = "CIS-DI-0006";
pub(crate) const UPDATE_ALONE: &str = "CIS-DI-0007";
pub(crate) const SETUID: &str = "CIS-DI-0008";
pub(crate) const USE_COPY: &str = "CIS-DI-0009";
pub(crate) const SECRETS: &str = "CIS-DI-0010";
pub(crate) const SUDO: &str = "DKL-DI-0001";
pub(crate) const SENSITIVE_MOUNT: &str = "DKL-DI-0002";
pub(crate) const DIST_UPGRADE: &str = "DKL-DI-0003";
pub(crate) const APK_NO_CACHE: &str = "DKL-DI-0004";
pub(crate) const APT_CACHE: &str = "DKL-DI-0005";
pub(crate) const LATEST_TAG: &str = "DKL-DI-0006";
pub(crate) const EMPTY_PASSWORD: &str = "DKL-LI-0001";
pub(crate) const DUPLICATE_IDS: &str = "DKL-LI-0002";
pub(crate) const UNNECESSARY_FILES: &str = "DKL-LI-0003";

/// Every check, in id order. CIS-DI-0002/3/4/11 are not checks in Dockle either
/// (they need a vulnerability scan or a human), so they are not listed.
pub const CHECKS: &[Check] = &[
    Check {
        code: AVOID_ROOT,
        title: "Create a user for the container",
        default_level: Level::Warn,
    },
    Check {
        code: CONTENT_TRUST,
        title: "Enable Content trust for Docker",
        default_level: Level::Info,
    },
    Check {
        code: HEALTHCHECK,
        title: "Add HEALTHCHECK instruction to the container image",
        default_level: Level::Info,
    },
    Check {
        code: UPDATE_ALONE,
        title: "Do not use update instructions alone in the Dockerfile",
        default_level: Level::Fatal,
    },
    Check {
        code: SETUID,
        title: "Confirm safety of setuid/setgid files",
        default_level: Level::Info,
    },
    Check {
        code: USE_COPY,
        title: "Use COPY instead of ADD in Dockerfile",
        default_level: Level::Fatal,
    },
    Check {
        code: SECRETS,
        title: "Do not store credential in environment variables/files",
        default_level: Level::Fatal,
    },
    Check {
        code: SUDO,
        title: "Avoid sudo command",
        default_level: Level::Fatal,
    },
    Check {
        code: SENSITIVE_MOUNT,
        title: "Avoid sensitive directory mounting",
        default_level: Level::Fatal,
    },
    Check {
        code: DIST_UPGRADE,
        title: "Avoid \"apt-get dist-upgrade\"",
        default_level: Level::Warn,
    },
    Check {
        code: APK_NO_CACHE,
        title: "Use \"apk add\" with --no-cache",
        default_level: Level::Fatal,
    },
    Check {
        code: APT_CACHE,
        title: "Clear apt-get caches",
        default_level: Level::Fatal,
    },
    Check {
        code: LATEST_TAG,
        title: "Avoid latest tag",
        default_level: Level::Warn,
    },
    Check {
        code: EMPTY_PASSWORD,
        title: "Avoid empty password",
        default_level: Level::Fatal,
    },
    Check {
        code: DUPLICATE_IDS,
        title: "Be unique UID/GROUP",
        default_level: Level::Fatal,
    },
    Check {
        code: UNNECESSARY_FILES,
        title: "Only put necessary files",
        default_level: Level::Info,
    },
];

/// The check with this id (exact, as Dockle matches ignore entries).
pub fn check(code: &str) -> Option<&'static Check> {
    CHECKS.iter().find(|c| c.code == code)
}

/// Where a check's documentation lives (Dockle's CHECKPOINT.md anchors).
pub fn help_uri(code: &str) -> String {
    format!("https://github.com/goodwithtech/dockle/blob/master/CHECKPOINT.md#{code}")
}
