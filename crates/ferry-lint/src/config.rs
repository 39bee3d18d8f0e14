//! Configuration with Hadolint's sources and keys: `.hadolint.yaml` (looked up
//! where Hadolint looks), `HADOLINT_*` environment variables and command-line
//! flags, merged the way Hadolint merges them: lists (ignored rules, overrides,
//! trusted registries, label schema) accumulate across layers, single values
//! (threshold, format, booleans) are taken from the last layer that sets them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::finding::{Severity, Threshold};
use crate::rules::{LabelType, RuleSettings};

/// Everything that changes what a lint reports.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LintConfig {
    /// Rule codes never reported.
    pub ignored: Vec<String>,
    /// Severity overrides: rule code → severity.
    pub overrides: BTreeMap<String, Severity>,
    /// Findings at or above this fail the run (default `info`).
    pub failure_threshold: Threshold,
    /// Registries allowed in FROM (`*` globs); empty allows all.
    pub trusted_registries: Vec<String>,
    /// Required labels and their formats.
    pub label_schema: Vec<(String, LabelType)>,
    /// Labels outside the schema are reported (DL3050).
    pub strict_labels: bool,
    /// `# hadolint ignore=` pragmas are not honoured.
    pub disable_ignore_pragma: bool,
    /// Always exit 0.
    pub no_fail: bool,
    /// Output format name (`tty`, `json`, …); the CLI validates it.
    pub format: Option<String>,
    pub no_color: bool,
}

impl LintConfig {
    pub(crate) fn rule_settings(&self) -> RuleSettings {
        RuleSettings {
            trusted_registries: self.trusted_registries.clone(),
            label_schema: self.label_schema.clone(),
            strict_labels: self.strict_labels,
        }
    }

    /// The severity a rule is reported with after overrides.
    pub fn severity_of(&self, code: &str, default: Severity) -> Severity {
        self.overrides.get(code).copied().unwrap_or(default)
    }

    /// Adds a later layer on top of this one.
    pub fn merge(&mut self, layer: ConfigLayer) {
        self.ignored.extend(layer.ignored);
        for (code, severity) in layer.overrides {
            self.overrides.insert(code, severity);
        }
        self.trusted_registries.extend(layer.trusted_registries);
        for (label, kind) in layer.label_schema {
            self.label_schema.retain(|(l, _)| *l != label);
            self.label_schema.push((label, kind));
        }
        if let Some(t) = layer.failure_threshold {
            self.failure_threshold = t;
        }
        if let Some(v) = layer.strict_labels {
            self.strict_labels = v;
        }
        if let Some(v) = layer.disable_ignore_pragma {
            self.disable_ignore_pragma = v;
        }
        if let Some(v) = layer.no_fail {
            self.no_fail = v;
        }
        if let Some(v) = layer.no_color {
            self.no_color = v;
        }
        if layer.format.is_some() {
            self.format = layer.format;
        }
    }
}

/// One source of configuration (file, environment, command line).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConfigLayer {
    pub ignored: Vec<String>,
    pub overrides: Vec<(String, Severity)>,
    pub trusted_registries: Vec<String>,
    pub label_schema: Vec<(String, LabelType)>,
    pub failure_threshold: Option<Threshold>,
    pub strict_labels: Option<bool>,
    pub disable_ignore_pragma: Option<bool>,
    pub no_fail: Option<bool>,
    pub no_color: Option<bool>,
    pub format: Option<String>,
}

/// A configuration problem, naming where it comes from.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Yaml { path: PathBuf, message: String },
    #[error("{origin}: {message}")]
    Value { origin: String, message: String },
}

/// The YAML file's shape (Hadolint's keys; unknown keys are ignored as Hadolint does).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct FileConfig {
    ignored: Vec<String>,
    #[serde(rename = "override")]
    overrides: OverrideSection,
    #[serde(rename = "trustedRegistries")]
    trusted_registries: OneOrMany,
    #[serde(rename = "label-schema")]
    label_schema: BTreeMap<String, String>,
    #[serde(rename = "failure-threshold")]
    failure_threshold: Option<String>,
    #[serde(rename = "strict-labels")]
    strict_labels: Option<bool>,
    #[serde(rename = "disable-ignore-pragma")]
    disable_ignore_pragma: Option<bool>,
    #[serde(rename = "no-fail")]
    no_fail: Option<bool>,
    #[serde(rename = "no-color")]
    no_color: Option<bool>,
    format: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct OverrideSection {
    error: Vec<String>,
    warning: Vec<String>,
    info: Vec<String>,
    style: Vec<String>,
}

/// `trustedRegistries` may be one string or a list.
#[derive(Debug, Default, Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    #[default]
    None,
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    fn into_vec(self) -> Vec<String> {
        match self {
            OneOrMany::None => Vec::new(),
            OneOrMany::One(s) => vec![s],
            OneOrMany::Many(v) => v,
        }
    }
}

fn overrides_from(section: OverrideSection) -> Vec<(String, Severity)> {
    let mut out = Vec::new();
    // Later lists win when a code appears twice; Hadolint applies error, warning,
    // info, style in that order.
    for (codes, severity) in [
        (section.error, Severity::Error),
        (section.warning, Severity::Warning),
        (section.info, Severity::Info),
        (section.style, Severity::Style),
    ] {
        out.extend(codes.into_iter().map(|c| (c, severity)));
    }
    out
}

fn parse_label_schema(
    items: impl IntoIterator<Item = (String, String)>,
    origin: &str,
) -> Result<Vec<(String, LabelType)>, ConfigError> {
    items
        .into_iter()
        .map(|(label, kind)| {
            kind.parse::<LabelType>()
                .map(|k| (label.clone(), k))
                .map_err(|e| ConfigError::Value {
                    origin: format!("{origin}: label-schema.{label}"),
                    message: e.to_string(),
                })
        })
        .collect()
}

/// Parses `.hadolint.yaml` text. `path` is only used in messages.
pub fn parse_config_file(text: &str, path: &Path) -> Result<ConfigLayer, ConfigError> {
    let file: FileConfig = if text.trim().is_empty() {
        FileConfig::default()
    } else {
        serde_saphyr::from_str(text).map_err(|e| ConfigError::Yaml {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?
    };
    let origin = path.display().to_string();
    let failure_threshold = file
        .failure_threshold
        .map(|t| {
            t.parse::<Threshold>().map_err(|e| ConfigError::Value {
                origin: format!("{origin}: failure-threshold"),
                message: e.to_string(),
            })
        })
        .transpose()?;
    Ok(ConfigLayer {
        ignored: file.ignored,
        overrides: overrides_from(file.overrides),
        trusted_registries: file.trusted_registries.into_vec(),
        label_schema: parse_label_schema(file.label_schema, &origin)?,
        failure_threshold,
        strict_labels: file.strict_labels,
        disable_ignore_pragma: file.disable_ignore_pragma,
        no_fail: file.no_fail,
        no_color: file.no_color,
        format: file.format,
    })
}

/// Where Hadolint looks for a config file, in order; the first that exists wins.
pub fn default_config_paths(cwd: &Path, env: &dyn Fn(&str) -> Option<String>) -> Vec<PathBuf> {
    let mut paths = vec![cwd.join(".hadolint.yaml"), cwd.join(".hadolint.yml")];
    let home = env("HOME").filter(|h| !h.is_empty()).map(PathBuf::from);
    let xdg = env("XDG_CONFIG_HOME")
        .filter(|x| !x.is_empty())
        .map(PathBuf::from)
        .or_else(|| home.as_ref().map(|h| h.join(".config")));
    if let Some(x) = &xdg {
        paths.push(x.join("hadolint.yaml"));
        paths.push(x.join("hadolint.yml"));
    }
    if let Some(h) = &home {
        paths.push(h.join(".hadolint").join("hadolint.yaml"));
        paths.push(h.join(".hadolint").join("hadolint.yml"));
        paths.push(h.join("hadolint").join("config.yaml"));
        paths.push(h.join(".hadolint.yaml"));
        paths.push(h.join(".hadolint.yml"));
    }
    paths
}

/// Reads the config file: `explicit` when given (must exist), else the first of
/// [`default_config_paths`] that exists. `Ok(None)` when there is none.
pub fn load_config_file(
    explicit: Option<&Path>,
    cwd: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<ConfigLayer>, ConfigError> {
    let path = match explicit {
        Some(p) => p.to_path_buf(),
        None => match default_config_paths(cwd, env)
            .into_iter()
            .find(|p| p.is_file())
        {
            Some(p) => p,
            None => return Ok(None),
        },
    };
    let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::Read {
        path: path.clone(),
        source,
    })?;
    parse_config_file(&text, &path).map(Some)
}

fn truthy(v: &str) -> bool {
    matches!(
        v.trim().to_ascii_lowercase().as_str(),
        "1" | "true" | "yes" | "on" | "y"
    )
}

fn list(v: &str) -> Vec<String> {
    v.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

/// The `HADOLINT_*` (and `NO_COLOR`) environment variables.
pub fn env_layer(env: &dyn Fn(&str) -> Option<String>) -> Result<ConfigLayer, ConfigError> {
    let mut layer = ConfigLayer::default();
    if env("NO_COLOR").is_some() {
        layer.no_color = Some(true);
    }
    if let Some(v) = env("HADOLINT_NOFAIL") {
        layer.no_fail = Some(truthy(&v));
    }
    if let Some(v) = env("HADOLINT_FORMAT") {
        layer.format = Some(v.trim().to_string());
    }
    if let Some(v) = env("HADOLINT_FAILURE_THRESHOLD") {
        layer.failure_threshold = Some(v.parse().map_err(
            |e: crate::finding::UnknownThreshold| ConfigError::Value {
                origin: "HADOLINT_FAILURE_THRESHOLD".into(),
                message: e.to_string(),
            },
        )?);
    }
    for (var, severity) in [
        ("HADOLINT_OVERRIDE_ERROR", Severity::Error),
        ("HADOLINT_OVERRIDE_WARNING", Severity::Warning),
        ("HADOLINT_OVERRIDE_INFO", Severity::Info),
        ("HADOLINT_OVERRIDE_STYLE", Severity::Style),
    ] {
        if let Some(v) = env(var) {
            layer
                .overrides
                .extend(list(&v).into_iter().map(|c| (c, severity)));
        }
    }
    if let Some(v) = env("HADOLINT_IGNORE") {
        layer.ignored = list(&v);
    }
    if let Some(v) = env("HADOLINT_STRICT_LABELS") {
        layer.strict_labels = Some(truthy(&v));
    }
    if let Some(v) = env("HADOLINT_DISABLE_IGNORE_PRAGMA") {
        layer.disable_ignore_pragma = Some(truthy(&v));
    }
    if let Some(v) = env("HADOLINT_TRUSTED_REGISTRIES") {
        layer.trusted_registries = list(&v);
    }
    if let Some(v) = env("HADOLINT_REQUIRE_LABELS") {
        let items = list(&v).into_iter().map(|item| match item.split_once(':') {
            Some((l, k)) => (l.to_string(), k.to_string()),
            None => (item, "text".to_string()),
        });
        layer.label_schema = parse_label_schema(items, "HADOLINT_REQUIRE_LABELS")?;
    }
    Ok(layer)
}

/// Parses `label:format` items from `--require-label`.
pub fn require_labels(items: &[String]) -> Result<Vec<(String, LabelType)>, ConfigError> {
    let pairs = items.iter().map(|item| match item.split_once(':') {
        Some((l, k)) => (l.to_string(), k.to_string()),
        None => (item.clone(), "text".to_string()),
    });
    parse_label_schema(pairs, "--require-label")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_of(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let owned: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k: &str| owned.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
    }

    #[test]
    fn every_file_key() {
        let text = "ignored: [DL3008, SC2086]\noverride:\n  error: [DL3001]\n  style: [DL3059]\nfailure-threshold: warning\ntrustedRegistries: [docker.io, \"*.corp\"]\nlabel-schema:\n  maintainer: text\n  org.url: url\nstrict-labels: true\ndisable-ignore-pragma: true\nno-fail: true\nno-color: true\nformat: json\nunknown-key: 1\n";
        let layer = parse_config_file(text, Path::new(".hadolint.yaml")).expect("valid");
        let mut cfg = LintConfig::default();
        cfg.merge(layer);
        assert_eq!(cfg.ignored, vec!["DL3008", "SC2086"]);
        assert_eq!(cfg.overrides.get("DL3001"), Some(&Severity::Error));
        assert_eq!(cfg.overrides.get("DL3059"), Some(&Severity::Style));
        assert_eq!(cfg.failure_threshold, Threshold::Warning);
        assert_eq!(cfg.trusted_registries, vec!["docker.io", "*.corp"]);
        assert_eq!(cfg.label_schema.len(), 2);
        assert!(cfg.strict_labels && cfg.disable_ignore_pragma && cfg.no_fail && cfg.no_color);
        assert_eq!(cfg.format.as_deref(), Some("json"));
    }

    #[test]
    fn trusted_registries_may_be_a_string() {
        let layer = parse_config_file("trustedRegistries: my.reg:5000\n", Path::new("c.yaml"))
            .expect("valid");
        assert_eq!(layer.trusted_registries, vec!["my.reg:5000"]);
    }

    #[test]
    fn errors_name_the_file_and_key() {
        let err =
            parse_config_file("ignored: 5\n", Path::new("/x/.hadolint.yaml")).expect_err("bad");
        assert!(err.to_string().starts_with("/x/.hadolint.yaml:"), "{err}");
        let err =
            parse_config_file("failure-threshold: loud\n", Path::new("c.yaml")).expect_err("bad");
        assert!(err.to_string().contains("failure-threshold"), "{err}");
        let err = parse_config_file("label-schema:\n  a: colour\n", Path::new("c.yaml"))
            .expect_err("bad");
        assert!(err.to_string().contains("label-schema.a"), "{err}");
    }

    #[test]
    fn lookup_order() {
        let env = env_of(&[("HOME", "/home/u"), ("XDG_CONFIG_HOME", "/xdg")]);
        let paths = default_config_paths(Path::new("/proj"), &env);
        let shown: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
        assert_eq!(shown[0], "/proj/.hadolint.yaml");
        assert_eq!(shown[2], "/xdg/hadolint.yaml");
        assert!(
            shown
                .iter()
                .position(|p| p == "/home/u/.hadolint/hadolint.yaml")
                < shown.iter().position(|p| p == "/home/u/.hadolint.yaml")
        );
    }

    #[test]
    fn file_found_in_cwd_before_home() {
        let dir = tempfile::tempdir().expect("tempdir");
        let home = dir.path().join("home");
        let cwd = dir.path().join("proj");
        std::fs::create_dir_all(&home).expect("mkdir");
        std::fs::create_dir_all(&cwd).expect("mkdir");
        std::fs::write(home.join(".hadolint.yaml"), "ignored: [DL3000]\n").expect("write");
        let home_s = home.display().to_string();
        let env = env_of(&[("HOME", home_s.as_str())]);
        let layer = load_config_file(None, &cwd, &env)
            .expect("ok")
            .expect("found");
        assert_eq!(layer.ignored, vec!["DL3000"]);
        std::fs::write(cwd.join(".hadolint.yaml"), "ignored: [DL3001]\n").expect("write");
        let layer = load_config_file(None, &cwd, &env)
            .expect("ok")
            .expect("found");
        assert_eq!(layer.ignored, vec!["DL3001"]);
    }

    #[test]
    fn precedence_file_then_env_then_cli() {
        let mut cfg = LintConfig::default();
        cfg.merge(
            parse_config_file(
                "failure-threshold: error\nignored: [DL3000]\noverride:\n  info: [DL3008]\n",
                Path::new("f"),
            )
            .expect("valid"),
        );
        let env = env_of(&[
            ("HADOLINT_FAILURE_THRESHOLD", "warning"),
            ("HADOLINT_IGNORE", "DL3001,DL3002"),
            ("HADOLINT_OVERRIDE_ERROR", "DL3008"),
            ("HADOLINT_NOFAIL", "yes"),
        ]);
        cfg.merge(env_layer(&env).expect("valid"));
        assert_eq!(cfg.failure_threshold, Threshold::Warning);
        assert_eq!(cfg.overrides.get("DL3008"), Some(&Severity::Error));
        assert!(cfg.no_fail);
        cfg.merge(ConfigLayer {
            failure_threshold: Some(Threshold::Style),
            ignored: vec!["DL3003".into()],
            ..ConfigLayer::default()
        });
        assert_eq!(cfg.failure_threshold, Threshold::Style);
        assert_eq!(cfg.ignored, vec!["DL3000", "DL3001", "DL3002", "DL3003"]);
    }

    #[test]
    fn env_errors_name_the_variable() {
        let env = env_of(&[("HADOLINT_FAILURE_THRESHOLD", "loud")]);
        let err = env_layer(&env).expect_err("bad");
        assert!(
            err.to_string().starts_with("HADOLINT_FAILURE_THRESHOLD"),
            "{err}"
        );
    }
}
