//! Image lint: Dockle's checkpoints (CIS-DI, DKL-DI, DKL-LI) run on an image's config,
//! build history and merged filesystem, with Dockle's ids, titles, default levels and
//! options; the report is what the deploy gate stores with a revision.
//!
//! Like Dockle, only what a check needs is read: the config and history, the names,
//! kinds and modes of the paths (one pass over the index, no contents), and the four
//! account files (`/etc/shadow`, `/etc/master.passwd`, `/etc/passwd`, `/etc/group`).

mod catalog;
pub mod cli;
mod config_checks;
mod file_checks;
pub mod ignore;
pub mod output;

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

pub use catalog::{check, help_uri, Check, CHECKS};

use crate::image::ImageFs;

/// Dockle's levels, lowest first (the order `--exit-level` compares with).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Level {
    /// Nothing found.
    Pass,
    /// Ignored by `--ignore` or `.dockleignore`.
    Ignore,
    /// The files the check reads are not in the image.
    Skip,
    Info,
    Warn,
    Fatal,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Pass => "PASS",
            Level::Ignore => "IGNORE",
            Level::Skip => "SKIP",
            Level::Info => "INFO",
            Level::Warn => "WARN",
            Level::Fatal => "FATAL",
        }
    }

    /// The SARIF result level Dockle maps this level to.
    pub fn sarif_level(self) -> &'static str {
        match self {
            Level::Fatal => "error",
            Level::Warn => "warning",
            Level::Info => "note",
            Level::Pass | Level::Ignore | Level::Skip => "none",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Level {
    type Err = String;
    fn from_str(text: &str) -> Result<Level, String> {
        match text.trim().to_ascii_lowercase().as_str() {
            "pass" => Ok(Level::Pass),
            "ignore" => Ok(Level::Ignore),
            "skip" => Ok(Level::Skip),
            "info" => Ok(Level::Info),
            "warn" | "warning" => Ok(Level::Warn),
            "fatal" => Ok(Level::Fatal),
            _ => Err(format!(
                "unknown level {text:?}: expected info, warn or fatal"
            )),
        }
    }
}

/// What to check and what to accept; Dockle's flags. `Default` is Dockle's defaults
/// with content trust off, as in a shell without `DOCKER_CONTENT_TRUST=1`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ImageLintOptions {
    /// Check ids to ignore (`--ignore`, `.dockleignore`).
    pub ignore: Vec<String>,
    /// Variable names accepted by CIS-DI-0010 (`--accept-key`), besides `GPG_KEY(S)`.
    pub accept_keys: Vec<String>,
    /// More words that make a variable name suspicious (`--sensitive-word`),
    /// matched case-insensitively anywhere in the name.
    pub sensitive_words: Vec<String>,
    /// File names or image paths never looked at (`--accept-file`).
    pub accept_files: Vec<String>,
    /// More file names reported as secrets (`--sensitive-file`).
    pub sensitive_files: Vec<String>,
    /// File extensions never looked at (`--accept-file-extension`, with or without the dot).
    pub accept_file_extensions: Vec<String>,
    /// More file extensions reported as secrets (`--sensitive-file-extension`).
    pub sensitive_file_extensions: Vec<String>,
    /// Whether the image was pulled/built with Docker Content Trust
    /// (`DOCKER_CONTENT_TRUST=1`, which is what Dockle's CIS-DI-0005 reads).
    pub content_trust: bool,
    /// The name the image was asked for by (`web`, `localhost:7070/shop/web:1.4`), for
    /// DKL-DI-0006; `None` for archives and directories, which Dockle does not check.
    pub reference: Option<String>,
}

impl ImageLintOptions {
    /// Reads `DOCKER_CONTENT_TRUST` from this process's environment, as Dockle does.
    pub fn content_trust_from_env() -> bool {
        std::env::var("DOCKER_CONTENT_TRUST").is_ok_and(|v| v == "1")
    }
}

/// One thing a check found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alert {
    /// Dockle's message for it.
    pub message: String,
    /// Where: a path in the image (without the leading `/`, as Dockle writes it),
    /// `metadata` for the image config, or the image name; empty for SKIP notes.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub location: String,
}

/// The outcome of one check.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckResult {
    pub code: String,
    pub title: String,
    /// PASS when nothing was found, IGNORE when ignored (the alerts are still kept),
    /// SKIP when the files it reads are missing, else the check's default level.
    pub level: Level,
    #[serde(default)]
    pub alerts: Vec<Alert>,
}

/// Counts in Dockle's JSON `summary`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub fatal: usize,
    pub warn: usize,
    pub info: usize,
    pub skip: usize,
    /// Checks with nothing to report; ignored checks count here, as in Dockle.
    pub pass: usize,
}

/// Every check's outcome for one image, in Dockle's order (default level, most
/// severe first, then id; ignored checks last).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageLintReport {
    /// How the image was named.
    pub image: String,
    pub checks: Vec<CheckResult>,
    /// Problems met while checking (an account file that could not be read…).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

impl ImageLintReport {
    fn count(&self, level: Level) -> usize {
        self.checks.iter().filter(|c| c.level == level).count()
    }
    pub fn fatal_count(&self) -> usize {
        self.count(Level::Fatal)
    }
    pub fn warn_count(&self) -> usize {
        self.count(Level::Warn)
    }
    pub fn info_count(&self) -> usize {
        self.count(Level::Info)
    }
    pub fn skip_count(&self) -> usize {
        self.count(Level::Skip)
    }
    /// Checks that found nothing (ignored ones not included; see [`Summary::pass`]).
    pub fn pass_count(&self) -> usize {
        self.count(Level::Pass)
    }
    pub fn ignored_count(&self) -> usize {
        self.count(Level::Ignore)
    }

    pub fn summary(&self) -> Summary {
        Summary {
            fatal: self.fatal_count(),
            warn: self.warn_count(),
            info: self.info_count(),
            skip: self.skip_count(),
            pass: self.pass_count() + self.ignored_count(),
        }
    }

    /// The result of one check by id.
    pub fn check(&self, code: &str) -> Option<&CheckResult> {
        self.checks.iter().find(|c| c.code == code)
    }

    /// Checks reported at `level` or above (INFO and up; SKIP, PASS and IGNORE never).
    pub fn at_least(&self, level: Level) -> impl Iterator<Item = &CheckResult> {
        let level = level.max(Level::Info);
        self.checks.iter().filter(move |c| c.level >= level)
    }

    /// Whether any check is at `level` or above: Dockle's `--exit-level` test.
    pub fn exceeds(&self, level: Level) -> bool {
        self.at_least(level).next().is_some()
    }

    /// The exit code Dockle's `--exit-code N --exit-level L` gives this report.
    pub fn exit_code(&self, exit_code: i32, exit_level: Level) -> i32 {
        if exit_code != 0 && self.exceeds(exit_level) {
            exit_code
        } else {
            0
        }
    }
}

/// What the individual checks report, before ignores and levels are applied.
#[derive(Default)]
pub(crate) struct Findings {
    items: Vec<Finding>,
    warnings: Vec<String>,
}

struct Finding {
    code: &'static str,
    alert: Alert,
    /// A SKIP note (the files this check reads are missing) rather than a finding.
    skip: bool,
}

impl Findings {
    pub(crate) fn push(
        &mut self,
        code: &'static str,
        message: impl Into<String>,
        location: impl Into<String>,
    ) {
        self.items.push(Finding {
            code,
            alert: Alert {
                message: message.into(),
                location: location.into(),
            },
            skip: false,
        });
    }

    pub(crate) fn skip(&mut self, code: &'static str, message: impl Into<String>) {
        self.items.push(Finding {
            code,
            alert: Alert {
                message: message.into(),
                location: String::new(),
            },
            skip: true,
        });
    }

    pub(crate) fn warn(&mut self, message: impl Into<String>) {
        self.warnings.push(message.into());
    }
}

/// Dockle's location for findings in the image config.
pub(crate) const CONFIG_LOCATION: &str = "metadata";

/// Runs every check on an opened image. Never fails: unreadable inputs become SKIP
/// notes or warnings in the report.
pub fn lint_image(fs: &ImageFs, options: &ImageLintOptions) -> ImageLintReport {
    let mut found = Findings::default();
    config_checks::run(&fs.image().config, options, &mut found);
    file_checks::run(fs, options, &mut found);
    host_checks(options, &mut found);
    assemble(fs.image().name.clone(), found, options)
}

/// The checks that depend on how the image is asked for, not on its content: content
/// trust on this host (CIS-DI-0005) and the tag of the reference (DKL-DI-0006).
fn host_checks(options: &ImageLintOptions, found: &mut Findings) {
    if !options.content_trust {
        found.push(
            catalog::CONTENT_TRUST,
            "export DOCKER_CONTENT_TRUST=1 before docker pull/build",
            "ENVIRONMENT variable on HOST OS",
        );
    }
    if let Some(reference) = options.reference.as_deref() {
        if uses_latest_tag(reference) {
            found.push(catalog::LATEST_TAG, "Avoid 'latest' tag", reference);
        }
    }
}

/// The report an image would get under other host options, from a report of the same
/// image: what its content and config showed is kept, content trust and the reference's
/// tag are checked anew, and `options.ignore` applies. A stored analysis (made with no
/// ignores) thus serves a deploy that names the image differently without reading its
/// layers again.
pub fn relint_for(report: &ImageLintReport, options: &ImageLintOptions) -> ImageLintReport {
    let mut found = Findings {
        items: Vec::new(),
        warnings: report.warnings.clone(),
    };
    for result in &report.checks {
        let Some(check) = CHECKS.iter().find(|c| c.code == result.code) else {
            continue;
        };
        if check.code == catalog::CONTENT_TRUST || check.code == catalog::LATEST_TAG {
            continue;
        }
        for alert in &result.alerts {
            found.items.push(Finding {
                code: check.code,
                alert: alert.clone(),
                skip: result.level == Level::Skip,
            });
        }
    }
    host_checks(options, &mut found);
    assemble(report.image.clone(), found, options)
}

/// Whether a reference names the `latest` tag, explicitly or by having no tag (as
/// Docker normalises it). A digest pins the image, so it is never "latest".
pub fn uses_latest_tag(reference: &str) -> bool {
    match crate::image::Reference::parse(reference) {
        Ok(r) => r.digest.is_none() && r.tag.as_deref().is_none_or(|t| t == "latest"),
        // Not a reference Docker would accept (Dockle fails on it); nothing to say.
        Err(_) => false,
    }
}

/// Groups findings by check, applies ignores and levels, and orders them as Dockle.
fn assemble(image: String, found: Findings, options: &ImageLintOptions) -> ImageLintReport {
    let ignored: BTreeSet<&str> = options.ignore.iter().map(|s| s.trim()).collect();
    let mut checks: Vec<(Level, CheckResult)> = CHECKS
        .iter()
        .map(|check| {
            let mine: Vec<&Finding> = found
                .items
                .iter()
                .filter(|f| f.code == check.code)
                .collect();
            let is_ignored = ignored.contains(check.code);
            // A real finding outranks a SKIP note from a sibling file (DKL-LI-0002
            // reads both passwd and group).
            let level = if is_ignored {
                Level::Ignore
            } else if mine.is_empty() {
                Level::Pass
            } else if mine.iter().all(|f| f.skip) {
                Level::Skip
            } else {
                check.default_level
            };
            let order = if is_ignored {
                Level::Ignore
            } else {
                check.default_level
            };
            let result = CheckResult {
                code: check.code.to_string(),
                title: check.title.to_string(),
                level,
                alerts: mine.into_iter().map(|f| f.alert.clone()).collect(),
            };
            (order, result)
        })
        .collect();
    checks.sort_by(|(la, a), (lb, b)| lb.cmp(la).then_with(|| a.code.cmp(&b.code)));
    ImageLintReport {
        image,
        checks: checks.into_iter().map(|(_, c)| c).collect(),
        warnings: found.warnings,
    }
}

#[cfg(test)]
mod tests;
