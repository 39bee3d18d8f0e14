//! Services and the configuration every revision of a service snapshots.

use crate::ids::{RevisionId, ServiceId};
pub use crate::scaling::Scaling;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use time::OffsetDateTime;

/// A service name: a DNS label, because it becomes `<name>.localhost`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ServiceName(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid service name {name:?}: {reason}")]
pub struct NameError {
    pub name: String,
    pub reason: &'static str,
}

impl ServiceName {
    pub fn parse(name: &str) -> Result<Self, NameError> {
        let fail = |reason| {
            Err(NameError {
                name: name.to_string(),
                reason,
            })
        };
        if name.is_empty() || name.len() > 63 {
            return fail("must be 1 to 63 characters");
        }
        if !name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return fail("use only lowercase letters, digits and '-'");
        }
        if !name.as_bytes()[0].is_ascii_lowercase() {
            return fail("must start with a lowercase letter");
        }
        if name.ends_with('-') {
            return fail("must not end with '-'");
        }
        Ok(Self(name.to_string()))
    }

    /// Turns a directory name such as `My_App` into a valid name (`my-app`), if it can.
    pub fn from_dir_name(dir: &str) -> Result<Self, NameError> {
        let mut cleaned: String = dir
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '-'
                }
            })
            .collect();
        while cleaned.contains("--") {
            cleaned = cleaned.replace("--", "-");
        }
        let trimmed = cleaned.trim_matches(|c: char| c == '-' || c.is_ascii_digit());
        Self::parse(trimmed)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for ServiceName {
    type Error = NameError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<ServiceName> for String {
    fn from(value: ServiceName) -> Self {
        value.0
    }
}

impl fmt::Display for ServiceName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where a service's revisions come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    /// A container image run by the docker runtime.
    Image,
    /// An uploaded directory built and run by the process runtime.
    Directory,
}

/// App Runner's service states; derived from the store, never stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ServiceStatus {
    Running,
    Paused,
    OperationInProgress,
    CreateFailed,
}

impl fmt::Display for ServiceStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Running => "RUNNING",
            Self::Paused => "PAUSED",
            Self::OperationInProgress => "OPERATION_IN_PROGRESS",
            Self::CreateFailed => "CREATE_FAILED",
        })
    }
}

/// A service as the API reports it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Service {
    pub id: ServiceId,
    pub name: ServiceName,
    pub source_kind: SourceKind,
    pub status: ServiceStatus,
    /// The revision receiving traffic (none before the first successful deploy).
    pub active_revision: Option<RevisionId>,
    /// The revision the deployer is converging to.
    pub desired_revision: Option<RevisionId>,
    pub paused: bool,
    pub url: String,
    /// Custom domains routed to this service besides `<name>.localhost`.
    pub domains: Vec<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// Everything that decides how a revision builds and runs. Each revision keeps its own
/// copy, so a rollback restores the old behaviour exactly, not only the old code.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ServiceConfig {
    pub build: BuildConfig,
    pub run: RunConfig,
    pub instance: InstanceSize,
    pub health_check: HealthCheck,
    pub scaling: Scaling,
    /// Seconds the router waits for a response before answering 504 (App Runner fixes
    /// this at 120 s; ferry lets it be set, 1 to 3600).
    pub request_timeout: u32,
    /// Seconds an old instance may take to finish in-flight requests once traffic moved.
    pub drain_timeout: u32,
    /// Custom domains routed to the service in addition to `<name>.localhost`.
    pub domains: Vec<String>,
    pub security: SecurityConfig,
}

/// Build step of a source deploy: commands run in order in the revision's directory.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct BuildConfig {
    pub commands: Vec<String>,
    pub env: BTreeMap<String, String>,
    /// Base image of a generated Dockerfile (docker back end), over the server's
    /// per-provider default (`FERRY_BASE_<PROVIDER>`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base: Option<String>,
    /// Names of build secrets: their values come from the server (never from the app),
    /// reach the build steps and are masked in the build log.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub secrets: Vec<String>,
}

/// How an instance is started.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RunConfig {
    /// Shell command; for an image, overrides its CMD when set.
    pub command: Option<String>,
    /// Port the app listens on (inside the container for images; the process runtime
    /// allocates a host port and passes it in `PORT` instead).
    pub port: u16,
    /// Extra variable set to the port, as apprunner.yaml's `network.env`.
    pub port_env: Option<String>,
    pub env: BTreeMap<String, String>,
    /// Where a source directory runs: `docker` builds it into an image first. `None`:
    /// docker for an app with its own Dockerfile, else the process runtime.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub runtime: Option<crate::RuntimeKind>,
    /// A static site: this directory of the revision (relative: `.`, `public`, `dist`)
    /// is served by ferry's router itself — no command, no instance, no process.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub static_root: Option<String>,
}

impl Default for RunConfig {
    fn default() -> Self {
        Self {
            command: None,
            port: 8080,
            port_env: None,
            env: BTreeMap::new(),
            runtime: None,
            static_root: None,
        }
    }
}

/// CPU and memory of one instance, App Runner's units: vCPU and MiB.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct InstanceSize {
    pub cpu: f64,
    pub memory_mib: u32,
}

impl Default for InstanceSize {
    fn default() -> Self {
        Self {
            cpu: 1.0,
            memory_mib: 2048,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum HealthProtocol {
    #[default]
    Tcp,
    Http,
}

/// App Runner's health check, with its defaults and ranges.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct HealthCheck {
    pub protocol: HealthProtocol,
    /// Path probed when the protocol is HTTP (default `/`).
    pub path: String,
    /// Seconds between checks, 1–20.
    pub interval: u32,
    /// Seconds before a check counts as failed, 1–20.
    pub timeout: u32,
    /// Consecutive successes before an instance is healthy, 1–20.
    pub healthy_threshold: u32,
    /// Consecutive failures before an instance is unhealthy, 1–20.
    pub unhealthy_threshold: u32,
}

impl Default for HealthCheck {
    fn default() -> Self {
        Self {
            protocol: HealthProtocol::Tcp,
            path: "/".to_string(),
            interval: 5,
            timeout: 2,
            healthy_threshold: 1,
            unhealthy_threshold: 5,
        }
    }
}

/// `[security]` policy read by the lint and scan gates.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct SecurityConfig {
    /// Dockerfile lint severity at or above which a deploy is refused (`none` = warn only).
    pub lint_fail_on: Option<crate::LintThreshold>,
    /// Vulnerability severity at or above which a deploy is refused.
    pub fail_on: Option<crate::VulnThreshold>,
    pub ignore_unfixed: bool,
    /// Whether image-lint FATAL findings block a deploy.
    pub image_lint_blocks: bool,
    /// Vulnerability ids (CVE, GHSA, OSV ids) accepted for this service; they are
    /// reported as ignored and never block.
    pub ignore: Vec<String>,
}

/// The allowed values of App Runner's instance sizes, in vCPU.
pub const CPU_CHOICES: [f64; 5] = [0.25, 0.5, 1.0, 2.0, 4.0];

/// Defaults as App Runner documents them, plus ferry's own timeouts.
impl Default for ServiceConfig {
    fn default() -> Self {
        Self {
            build: BuildConfig::default(),
            run: RunConfig::default(),
            instance: InstanceSize::default(),
            health_check: HealthCheck::default(),
            scaling: Scaling::default(),
            request_timeout: 120,
            drain_timeout: 30,
            domains: Vec::new(),
            security: SecurityConfig::default(),
        }
    }
}

impl ServiceConfig {
    /// Checks ranges. Each problem is `(dotted key, message)` so a config loader can
    /// point at the line the key came from.
    pub fn validate(&self) -> Vec<(String, String)> {
        let mut problems = Vec::new();
        let mut range = |key: &str, value: u32, lo: u32, hi: u32| {
            if value < lo || value > hi {
                problems.push((
                    key.to_string(),
                    format!("must be between {lo} and {hi}, got {value}"),
                ));
            }
        };
        let hc = &self.health_check;
        range("health_check.interval", hc.interval, 1, 20);
        range("health_check.timeout", hc.timeout, 1, 20);
        range(
            "health_check.healthy_threshold",
            hc.healthy_threshold,
            1,
            20,
        );
        range(
            "health_check.unhealthy_threshold",
            hc.unhealthy_threshold,
            1,
            20,
        );
        range("request_timeout", self.request_timeout, 1, 3600);
        range("drain_timeout", self.drain_timeout, 0, 3600);
        range("instance.memory", self.instance.memory_mib, 128, 12 * 1024);
        problems.extend(self.scaling.validate());
        if !CPU_CHOICES.contains(&self.instance.cpu) {
            problems.push((
                "instance.cpu".to_string(),
                format!(
                    "must be one of 0.25, 0.5, 1, 2, 4 (vCPU), got {}",
                    self.instance.cpu
                ),
            ));
        }
        if self.run.port == 0 {
            problems.push(("run.port".to_string(), "must be 1 to 65535".to_string()));
        }
        if hc.protocol == HealthProtocol::Http {
            if let Some(problem) = health_path_problem(&hc.path) {
                problems.push(("health_check.path".to_string(), problem));
            }
        }
        let mut command = |key: &str, what: String, text: &str| {
            if text.len() > MAX_COMMAND_BYTES {
                problems.push((
                    key.to_string(),
                    format!(
                        "{what}is {} bytes; commands are limited to {} KiB (put a long script in a file and run that)",
                        text.len(),
                        MAX_COMMAND_BYTES / 1024
                    ),
                ));
            }
        };
        if let Some(run) = &self.run.command {
            command("run.command", String::new(), run);
        }
        for (index, build) in self.build.commands.iter().enumerate() {
            command("build.commands", format!("step {} ", index + 1), build);
        }
        if let Some(root) = &self.run.static_root {
            let inside = !root.is_empty()
                && !root.starts_with('/')
                && root.split('/').all(|part| part != "..");
            if !inside {
                problems.push((
                    "run.static_root".to_string(),
                    format!("{root:?} must be a directory inside the app (like \"public\")"),
                ));
            }
        }
        for (section, env) in [("run.env", &self.run.env), ("build.env", &self.build.env)] {
            for (name, value) in env {
                if value.len() > MAX_ENV_VALUE_BYTES {
                    problems.push((
                        format!("{section}.{name}"),
                        format!(
                            "is {} bytes; values are limited to {} KiB",
                            value.len(),
                            MAX_ENV_VALUE_BYTES / 1024
                        ),
                    ));
                }
            }
        }
        if let Some(name) = &self.run.port_env {
            if !is_env_name(name) {
                problems.push((
                    "run.port_env".to_string(),
                    format!("{name:?} is not a valid environment variable name"),
                ));
            }
        }
        for (section, env) in [("run.env", &self.run.env), ("build.env", &self.build.env)] {
            for name in env.keys() {
                if !is_env_name(name) {
                    problems.push((
                        format!("{section}.{name}"),
                        format!("{name:?} is not a valid environment variable name"),
                    ));
                }
            }
        }
        for name in &self.build.secrets {
            if !is_env_name(name) {
                problems.push((
                    "build.secrets".to_string(),
                    format!("{name:?} is not a valid secret name (letters, digits and _)"),
                ));
            }
        }
        if self.build.secrets.len() > MAX_BUILD_SECRETS {
            problems.push((
                "build.secrets".to_string(),
                format!("at most {MAX_BUILD_SECRETS} secrets"),
            ));
        }
        if let Some(base) = &self.build.base {
            if base.trim().is_empty() || base.len() > 512 || base.chars().any(char::is_whitespace) {
                problems.push((
                    "build.base".to_string(),
                    format!("{base:?} is not an image reference"),
                ));
            }
        }
        for domain in &self.domains {
            if !is_domain(domain) {
                problems.push((
                    "domains".to_string(),
                    format!("{domain:?} is not a valid domain name"),
                ));
            }
        }
        problems
    }
}

/// Longest `run.command` or build command: far beyond any real command line, well below
/// what the kernel accepts for one argument (128 KiB), and small enough to echo back in
/// every listing of revisions.
pub const MAX_COMMAND_BYTES: usize = 32 * 1024;

/// Longest value of one environment variable (same reasons as commands).
pub const MAX_ENV_VALUE_BYTES: usize = 32 * 1024;
/// Build secrets one app may name.
pub const MAX_BUILD_SECRETS: usize = 32;

/// The server's environment variables that hold build secrets' values
/// (`FERRY_BUILD_SECRET_<NAME>`): given to the builds that name them, and removed from
/// every other process ferry starts, which would otherwise inherit them.
pub const BUILD_SECRET_ENV_PREFIX: &str = "FERRY_BUILD_SECRET_";

/// The build-secret variables in this process's environment, to remove from a child's.
pub fn build_secret_env_names() -> Vec<std::ffi::OsString> {
    std::env::vars_os()
        .map(|(name, _)| name)
        .filter(|name| {
            name.to_str()
                .is_some_and(|n| n.starts_with(BUILD_SECRET_ENV_PREFIX))
        })
        .collect()
}

/// Longest HTTP health-check path.
pub const MAX_HEALTH_PATH_BYTES: usize = 1024;

/// Why an HTTP health-check path cannot be sent as a request target, if it cannot:
/// checked at deploy time so the deploy is refused with the reason at once, rather than
/// failing every probe until the start deadline.
fn health_path_problem(path: &str) -> Option<String> {
    if !path.starts_with('/') {
        return Some(format!("must start with '/', got {path:?}"));
    }
    if path.len() > MAX_HEALTH_PATH_BYTES {
        return Some(format!(
            "is {} bytes; at most {MAX_HEALTH_PATH_BYTES}",
            path.len()
        ));
    }
    if let Some(bad) = path.chars().find(|c| !c.is_ascii_graphic()) {
        let what = match bad {
            ' ' => "a space".to_string(),
            '\r' | '\n' => "a line break".to_string(),
            c if c.is_control() => format!("the control character {c:?}"),
            c => format!("the non-ASCII character {c:?}"),
        };
        return Some(format!(
            "contains {what}, which cannot appear in an HTTP request line; \
             percent-encode it (a space is %20), got {path:?}"
        ));
    }
    if path.contains('#') {
        return Some(format!(
            "contains '#': a fragment is never sent to the server, got {path:?}"
        ));
    }
    None
}

fn is_env_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    matches!(bytes.next(), Some(b) if b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

fn is_domain(domain: &str) -> bool {
    !domain.is_empty()
        && domain.len() <= 253
        && domain.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_dns_labels() {
        assert!(ServiceName::parse("web-1").is_ok());
        assert!(ServiceName::parse("Web").is_err());
        assert!(ServiceName::parse("1web").is_err());
        assert!(ServiceName::parse("web-").is_err());
        assert!(ServiceName::parse("").is_err());
        assert!(ServiceName::parse(&"a".repeat(64)).is_err());
        assert_eq!(
            ServiceName::from_dir_name("My_App").map(|n| n.to_string()),
            Ok("my-app".to_string())
        );
    }

    #[test]
    fn defaults_are_valid_and_ranges_are_checked() {
        let config = ServiceConfig::default();
        assert!(config.validate().is_empty(), "{:?}", config.validate());
        let mut bad = config.clone();
        bad.health_check.interval = 0;
        bad.scaling.min = 3;
        bad.scaling.max = 2;
        bad.instance.cpu = 0.3;
        let keys: Vec<String> = bad.validate().into_iter().map(|(k, _)| k).collect();
        assert_eq!(
            keys,
            ["health_check.interval", "scaling.max", "instance.cpu"]
        );
    }

    #[test]
    fn health_paths_must_be_sendable_request_targets() {
        let mut config = ServiceConfig::default();
        config.health_check.protocol = HealthProtocol::Http;
        for good in ["/", "/healthz?full=1", "/a%20b", "/~x/y-z_1.2"] {
            config.health_check.path = good.to_string();
            assert!(
                config.validate().is_empty(),
                "{good}: {:?}",
                config.validate()
            );
        }
        for (bad, reason) in [
            ("/a b", "a space"),
            ("/a\r\nX-Injected: 1", "line break"),
            ("/\u{0}", "control character"),
            ("/caf\u{e9}", "non-ASCII"),
            ("/x#top", "fragment"),
            ("healthz", "must start with '/'"),
        ] {
            config.health_check.path = bad.to_string();
            let problems = config.validate();
            assert_eq!(problems.len(), 1, "{bad:?}: {problems:?}");
            assert_eq!(problems[0].0, "health_check.path");
            assert!(problems[0].1.contains(reason), "{bad:?}: {}", problems[0].1);
        }
        config.health_check.path = format!("/{}", "a".repeat(MAX_HEALTH_PATH_BYTES));
        assert_eq!(config.validate().len(), 1);
        // TCP checks never send the path.
        config.health_check.protocol = HealthProtocol::Tcp;
        config.health_check.path = "/a b".to_string();
        assert!(config.validate().is_empty());
    }

    #[test]
    fn commands_and_environment_values_are_capped() {
        let mut config = ServiceConfig::default();
        config.run.command = Some("x".repeat(MAX_COMMAND_BYTES));
        config.build.commands = vec!["make".into(), "y".repeat(MAX_COMMAND_BYTES)];
        config
            .run
            .env
            .insert("OK".into(), "v".repeat(MAX_ENV_VALUE_BYTES));
        assert!(config.validate().is_empty(), "{:?}", config.validate());
        config.run.command = Some("x".repeat(20 * 1024 * 1024));
        config.build.commands[1].push('y');
        config
            .build
            .env
            .insert("BIG".into(), "v".repeat(MAX_ENV_VALUE_BYTES + 1));
        let problems = config.validate();
        let keys: Vec<&str> = problems.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["run.command", "build.commands", "build.env.BIG"]);
        assert!(problems[0].1.contains("32 KiB"), "{}", problems[0].1);
        assert!(problems[1].1.starts_with("step 2 is"), "{}", problems[1].1);
    }
}
