//! Dockerfile linting with Hadolint's rule ids, configuration and output formats.
//!
//! The library entry points are [`lint_str`] (lint text) and [`lint_file`];
//! [`load_config`] reads `.hadolint.yaml` and `HADOLINT_*` the way Hadolint does,
//! and [`Threshold::reached_by`] tells whether a finding should fail a build.

pub mod cli;
pub mod config;
mod finding;
pub mod format;
pub mod pragma;
pub mod rules;
pub mod shell;
mod shellcheck;
pub mod syntax;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

pub use config::{ConfigError, ConfigLayer, LintConfig};
pub use finding::{Finding, Severity, Threshold, UnknownSeverity, UnknownThreshold};
pub use rules::LabelType;

use pragma::Pragma;
use rules::RawFinding;
use syntax::Kind;

/// Lints Dockerfile text. `file_name` is what findings report as their file.
/// Never panics; a syntax error is a single DL1000 finding.
pub fn lint_str(source: &str, file_name: &str, config: &LintConfig) -> Vec<Finding> {
    let df = match syntax::parse(source) {
        Ok(df) => df,
        Err(e) => {
            let severity = config.severity_of("DL1000", Severity::Error);
            if severity == Severity::Ignore || config.ignored.iter().any(|c| c == "DL1000") {
                return Vec::new();
            }
            return vec![Finding {
                code: "DL1000".into(),
                column: e.column,
                file: file_name.into(),
                severity,
                line: e.line,
                message: e.message,
            }];
        }
    };

    let shells: Vec<_> = df
        .instructions
        .iter()
        .map(|i| rules::shell_of(&i.kind))
        .collect();
    let mut raw = rules::check(&df, &config.rule_settings(), &shells);
    raw.extend(shellcheck::check(&df, &shells));

    // Pragmas.
    let mut line_ignores: HashMap<usize, Vec<String>> = HashMap::new();
    let mut stage_ignores: BTreeMap<usize, Vec<String>> = BTreeMap::new();
    let mut global_ignores: HashSet<String> = HashSet::new();
    let from_lines: std::collections::BTreeSet<usize> = df
        .instructions
        .iter()
        .filter(|i| matches!(i.kind, Kind::From(_)))
        .map(|i| i.line)
        .collect();
    for ins in &df.instructions {
        let Kind::Comment(text) = &ins.kind else {
            continue;
        };
        match pragma::parse(text) {
            Some(Pragma::Ignore(codes)) => {
                raw.push(RawFinding {
                    code: "DL1001",
                    severity: Severity::Ignore,
                    message: "Please refrain from using inline ignore pragmas `# hadolint ignore=DLxxxx`.".into(),
                    line: ins.line,
                });
                line_ignores.entry(ins.line + 1).or_default().extend(codes);
            }
            Some(Pragma::Stage(codes)) => {
                stage_ignores.insert(ins.line + 1, codes);
            }
            Some(Pragma::Global(codes)) => global_ignores.extend(codes),
            Some(Pragma::Shell(_)) | None => {}
        }
    }
    let pragma_ignores = |f: &RawFinding| -> bool {
        if config.disable_ignore_pragma {
            return false;
        }
        let on_line = line_ignores
            .get(&f.line)
            .is_some_and(|c| c.iter().any(|c| c == f.code));
        // A stage pragma sits just before a FROM and covers the lines whose
        // closest FROM strictly above them is that FROM.
        let stage_from = from_lines.range(..f.line).next_back().copied();
        let in_stage = stage_from
            .and_then(|from| stage_ignores.get(&from))
            .is_some_and(|c| c.iter().any(|c| c == f.code));
        on_line || in_stage || global_ignores.contains(f.code)
    };

    let mut findings: Vec<Finding> = raw
        .into_iter()
        .filter(|f| !pragma_ignores(f) && !config.ignored.iter().any(|c| c == f.code))
        .filter_map(|f| {
            let severity = config.severity_of(f.code, f.severity);
            (severity != Severity::Ignore).then(|| Finding {
                code: f.code.to_string(),
                column: 1,
                file: file_name.to_string(),
                severity,
                line: f.line,
                message: f.message.into_owned(),
            })
        })
        .collect();
    findings.sort_by_key(|f| f.line);
    findings
}

/// Reads and lints a file.
pub fn lint_file(path: &Path, config: &LintConfig) -> std::io::Result<Vec<Finding>> {
    let bytes = std::fs::read(path)?;
    let text = String::from_utf8_lossy(&bytes);
    Ok(lint_str(&text, &path.display().to_string(), config))
}

/// Configuration as `ferry lint` would see it without flags: the first
/// `.hadolint.yaml` found from `cwd` (Hadolint's lookup order) and the
/// `HADOLINT_*` environment.
pub fn load_config(cwd: &Path) -> Result<LintConfig, ConfigError> {
    let env = |k: &str| std::env::var(k).ok();
    let mut cfg = LintConfig::default();
    if let Some(layer) = config::load_config_file(None, cwd, &env)? {
        cfg.merge(layer);
    }
    cfg.merge(config::env_layer(&env)?);
    Ok(cfg)
}

/// Whether any finding reaches the threshold (what makes `ferry lint` exit 1).
pub fn fails(findings: &[Finding], threshold: Threshold) -> bool {
    findings.iter().any(|f| threshold.reached_by(f.severity))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codes(src: &str, cfg: &LintConfig) -> Vec<(usize, String)> {
        lint_str(src, "Dockerfile", cfg)
            .into_iter()
            .map(|f| (f.line, f.code))
            .collect()
    }

    #[test]
    fn syntax_error_is_dl1000() {
        let f = lint_str("FROM a:1\nFOO bar\n", "Dockerfile", &LintConfig::default());
        assert_eq!(f.len(), 1);
        assert_eq!(
            (f[0].code.as_str(), f[0].line, f[0].column),
            ("DL1000", 2, 1)
        );
        assert_eq!(f[0].severity, Severity::Error);
    }

    #[test]
    fn ignore_pragmas() {
        let cfg = LintConfig::default();
        let src = "FROM debian\n# hadolint ignore=DL3003\nRUN cd /x\nRUN cd /y\n";
        let found = codes(src, &cfg);
        assert!(!found.contains(&(3, "DL3003".into())));
        assert!(found.contains(&(4, "DL3003".into())));
        let src = "# hadolint global ignore=DL3006\nFROM debian\n";
        assert!(codes(src, &cfg).is_empty());
        let src = "FROM debian:12 AS a\nRUN cd /x\n# hadolint stage ignore=DL3003\nFROM debian:12\nRUN cd /y\n";
        let found = codes(src, &cfg);
        assert!(found.contains(&(2, "DL3003".into())) && !found.contains(&(5, "DL3003".into())));
        let disabled = LintConfig {
            disable_ignore_pragma: true,
            ..LintConfig::default()
        };
        assert!(
            codes("# hadolint global ignore=DL3006\nFROM debian\n", &disabled)
                .contains(&(2, "DL3006".into()))
        );
    }

    #[test]
    fn config_ignores_and_overrides() {
        let mut cfg = LintConfig::default();
        cfg.ignored.push("DL3006".into());
        cfg.overrides.insert("DL3003".into(), Severity::Error);
        cfg.overrides.insert("DL1001".into(), Severity::Info);
        let f = lint_str(
            "FROM debian\n# hadolint ignore=DL3059\nRUN cd /x\n",
            "D",
            &cfg,
        );
        let got: Vec<_> = f
            .iter()
            .map(|f| (f.line, f.code.as_str(), f.severity))
            .collect();
        assert!(got.contains(&(3, "DL3003", Severity::Error)));
        assert!(got.contains(&(2, "DL1001", Severity::Info)));
        assert!(!got.iter().any(|g| g.1 == "DL3006"));
    }

    #[test]
    fn severity_ordering_and_threshold() {
        assert!(Severity::Error > Severity::Warning && Severity::Warning > Severity::Info);
        assert!(Severity::Info > Severity::Style && Severity::Style > Severity::Ignore);
        let f = lint_str("FROM debian\n", "D", &LintConfig::default());
        assert!(fails(&f, Threshold::Warning));
        assert!(!fails(&f, Threshold::Error));
        assert!(!fails(&f, Threshold::None));
    }
}
