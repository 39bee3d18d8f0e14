//! The security gates a revision passes before any of its instances starts: Dockerfile
//! lint (Hadolint's rules), vulnerability matching (OSV data) and, for images, image
//! lint. Each gate produces a report that is stored with the revision; the service's
//! `[security]` policy decides whether it blocks the rollout.

use ferry_lint::{Finding as LintFinding, LintConfig, Threshold};
use ferry_scan::ignore::IgnoreRules;
use ferry_scan::image::{Image, ImageFs, ImageSource, RegistryOptions};
use ferry_scan::imagelint::{self, ImageLintOptions, ImageLintReport, Level};
use ferry_scan::inventory::Inventory;
use ferry_scan::matcher::{gate_packages, Policy};
use ferry_scan::severity::Severity;
use ferry_scan::vulndb::VulnDb;
use ferry_types::config::{read_app_file, AppFileError, MAX_APP_FILE_BYTES};
use ferry_types::{LintThreshold, SecurityConfig, VulnThreshold};
use serde_json::json;
use std::collections::VecDeque;
use std::path::Path;
use std::sync::{Arc, Mutex};

use super::driver::lock;
use super::registry_scan::RegistryScans;

/// Report kinds, as stored and shown.
pub const DOCKERFILE_LINT: &str = "dockerfile-lint";
pub const VULNERABILITIES: &str = "vulnerabilities";
pub const IMAGE_LINT: &str = "image-lint";

/// What one gate found.
#[derive(Clone, Debug)]
pub struct GateResult {
    pub kind: &'static str,
    pub blocked: bool,
    /// One line for the operation timeline and `ferry report`.
    pub summary: String,
    /// A line per finding worth showing in the timeline (most important first).
    pub details: Vec<String>,
    /// The full report.
    pub body: serde_json::Value,
}

/// Lints `dir/Dockerfile` as `ferry lint` run in `dir` would: with `.hadolint.yaml` (or
/// `.hadolint.yml`) when present, and the file decoded lossily (a Latin-1 byte in a
/// comment is linted, not skipped). `None` when the directory has no Dockerfile.
///
/// Files are read with [`read_app_file`]: a Dockerfile that cannot be read (a link out
/// of the app, a device, too large) blocks the deploy when `lint_fail_on` is set, with
/// the reason; without a policy it is reported and skipped. Blocking: it reads files.
pub fn dockerfile_lint(dir: &Path, security: &SecurityConfig) -> Option<GateResult> {
    dockerfile_lint_file(dir, "Dockerfile", security)
}

/// [`dockerfile_lint`] of `dir/<file>`: the Dockerfile a build will use, the app's own
/// or the one the docker back end generated.
pub fn dockerfile_lint_file(
    dir: &Path,
    file: &str,
    security: &SecurityConfig,
) -> Option<GateResult> {
    let threshold = lint_threshold(security.lint_fail_on);
    let strict = threshold != Threshold::None;
    let text = match read_app_file(dir, file, MAX_APP_FILE_BYTES) {
        Ok(None) => return None,
        Ok(Some(bytes)) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(err) => return Some(cannot_lint(&err, security, strict)),
    };
    let mut config = LintConfig::default();
    let mut warnings = Vec::new();
    for name in [".hadolint.yaml", ".hadolint.yml"] {
        match read_app_file(dir, name, MAX_APP_FILE_BYTES) {
            Ok(None) => continue,
            Ok(Some(bytes)) => {
                let yaml = String::from_utf8_lossy(&bytes);
                match ferry_lint::config::parse_config_file(&yaml, Path::new(name)) {
                    Ok(layer) => config.merge(layer),
                    Err(err) => warnings.push(format!("{name} ignored: {err}")),
                }
            }
            // Its rules decide what blocks: unreadable, it cannot be honoured.
            Err(err) => return Some(cannot_lint(&err, security, strict)),
        }
        break;
    }
    let findings = ferry_lint::lint_str(&text, file, &config);
    let blocking: Vec<&LintFinding> = findings
        .iter()
        .filter(|f| threshold.reached_by(f.severity))
        .collect();
    let blocked = !blocking.is_empty();
    let summary = if blocked {
        format!(
            "Dockerfile lint blocked the deploy: {} finding(s) at or above {}: {}",
            blocking.len(),
            security.lint_fail_on.map_or("none", LintThreshold::as_str),
            blocking
                .iter()
                .take(5)
                .map(|f| format!("{} (line {})", f.code, f.line))
                .collect::<Vec<_>>()
                .join(", ")
        )
    } else if findings.is_empty() {
        "Dockerfile lint: no findings".to_string()
    } else {
        format!(
            "Dockerfile lint: {} finding(s), none blocking",
            findings.len()
        )
    };
    let details = findings
        .iter()
        .map(|f| format!("{file}:{} {} {}: {}", f.line, f.code, f.severity, f.message))
        .chain(warnings.iter().cloned())
        .collect();
    Some(GateResult {
        kind: DOCKERFILE_LINT,
        blocked,
        summary,
        details,
        body: json!({
            "file": file,
            "threshold": security.lint_fail_on,
            "findings": findings,
            "warnings": warnings,
        }),
    })
}

/// A Dockerfile (or its lint config) that exists but cannot be read. Fails closed when
/// the policy asks for the lint.
fn cannot_lint(err: &AppFileError, security: &SecurityConfig, strict: bool) -> GateResult {
    let reason = error_chain(err);
    GateResult {
        kind: DOCKERFILE_LINT,
        blocked: strict,
        summary: if strict {
            format!(
                "Dockerfile lint blocked the deploy: lint_fail_on is {} but {reason}",
                security.lint_fail_on.map_or("none", LintThreshold::as_str)
            )
        } else {
            format!("Dockerfile lint skipped: {reason}")
        },
        details: Vec::new(),
        body: json!({
            "file": err.name(),
            "threshold": security.lint_fail_on,
            "error": reason,
        }),
    }
}

/// An error and its sources on one line.
fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(inner) = source {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        source = inner.source();
    }
    text
}

/// The checks of a source revision: Dockerfile lint (when there is one) and the
/// vulnerabilities of the dependencies its lock files and vendored packages pin.
pub async fn source_checks(
    dir: &Path,
    db_path: &Path,
    security: &SecurityConfig,
) -> Vec<GateResult> {
    source_checks_with(dir, "Dockerfile", db_path, security).await
}

/// [`source_checks`] with the Dockerfile the build will use (`dockerfile`, in `dir`).
pub async fn source_checks_with(
    dir: &Path,
    dockerfile: &'static str,
    db_path: &Path,
    security: &SecurityConfig,
) -> Vec<GateResult> {
    let (owned, policy) = (dir.to_path_buf(), security.clone());
    let lint =
        tokio::task::spawn_blocking(move || dockerfile_lint_file(&owned, dockerfile, &policy))
            .await;
    let mut results: Vec<GateResult> = match lint {
        Ok(result) => result.into_iter().collect(),
        Err(err) => {
            let strict = lint_threshold(security.lint_fail_on) != Threshold::None;
            vec![GateResult {
                kind: DOCKERFILE_LINT,
                blocked: strict,
                summary: format!("Dockerfile lint failed: {err}"),
                details: Vec::new(),
                body: json!({ "error": err.to_string() }),
            }]
        }
    };
    let owned = dir.to_path_buf();
    let inventory =
        tokio::task::spawn_blocking(move || ferry_scan::inventory::inventory_dir(&owned))
            .await
            .map_err(|err| format!("the scan task failed: {err}"))
            .and_then(|result| {
                result.map_err(|err| format!("the source could not be read: {err}"))
            });
    results.push(match inventory {
        Ok(inventory) => vulnerabilities("source", inventory, db_path, security, Some(dir)).await,
        Err(reason) => cannot_scan(VULNERABILITIES, reason, fail_on(security).is_some()),
    });
    results
}

/// What one image holds and how it was built: its package inventory and image lint.
#[derive(Debug)]
struct ImageAnalysis {
    inventory: Inventory,
    lint: ImageLintReport,
}

/// The last few images' analyses, by image id and the lint options that depend on the
/// deploy. An image id names the content, so an entry never goes stale; redeploying
/// the same image (new settings, a scale change) skips reading it from the engine
/// again. Vulnerabilities are matched afresh every time: the data changes.
#[derive(Debug, Default)]
pub struct ImageAnalyses {
    recent: Mutex<VecDeque<(String, Arc<ImageAnalysis>)>>,
}

/// Images kept; each entry is an inventory and a lint report, not the image.
const IMAGE_ANALYSES_KEPT: usize = 16;

impl ImageAnalyses {
    fn get(&self, key: &str) -> Option<Arc<ImageAnalysis>> {
        lock(&self.recent)
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, analysis)| Arc::clone(analysis))
    }

    fn put(&self, key: String, analysis: Arc<ImageAnalysis>) {
        let mut recent = lock(&self.recent);
        recent.retain(|(k, _)| *k != key);
        recent.push_front((key, analysis));
        recent.truncate(IMAGE_ANALYSES_KEPT);
    }
}

/// The checks of an image revision: vulnerabilities of its packages and image lint
/// (Dockle's checks). The image is read once for both, unless `analyses` already holds
/// it: an image of ferry's registry (`localhost:<api port>/…`) from its stored scan
/// (or its blobs), any other from the local engine.
pub async fn image_checks(
    image_id: &str,
    reference: &str,
    db_path: &Path,
    security: &SecurityConfig,
    analyses: &ImageAnalyses,
    registry: Option<&RegistryScans>,
) -> Vec<GateResult> {
    let strict = fail_on(security).is_some();
    let options = ImageLintOptions {
        reference: Some(reference.to_string()),
        content_trust: ImageLintOptions::content_trust_from_env(),
        ..ImageLintOptions::default()
    };
    let key = format!("{image_id} {reference} {}", options.content_trust);
    let analysis = match analyses.get(&key) {
        Some(analysis) => analysis,
        None => {
            let analysed = match registry_analysis(registry, reference, &options).await {
                Some(analysed) => analysed,
                None => analyse_image(image_id, options).await,
            };
            match analysed {
                Ok(analysis) => {
                    let analysis = Arc::new(analysis);
                    analyses.put(key, Arc::clone(&analysis));
                    analysis
                }
                Err(reason) => return vec![cannot_scan(VULNERABILITIES, reason, strict)],
            }
        }
    };
    vec![
        vulnerabilities(
            image_id,
            analysis.inventory.clone(),
            db_path,
            security,
            None,
        )
        .await,
        image_lint_result(&analysis.lint, security),
    ]
}

/// The analysis of an image of ferry's registry, from the scan stored when it was
/// pushed; `None` when the reference names another registry.
async fn registry_analysis(
    registry: Option<&RegistryScans>,
    reference: &str,
    options: &ImageLintOptions,
) -> Option<Result<ImageAnalysis, String>> {
    let registry = registry?;
    let digest = match registry.resolve(reference).await? {
        Ok(digest) => digest,
        Err(reason) => return Some(Err(reason)),
    };
    let scan = registry.analysis(&digest, reference).await;
    Some(scan.map(|scan| ImageAnalysis {
        inventory: scan.inventory.clone(),
        lint: imagelint::relint_for(&scan.lint, options),
    }))
}

/// Reads the image from the local engine and analyses it off the async threads.
async fn analyse_image(image_id: &str, options: ImageLintOptions) -> Result<ImageAnalysis, String> {
    let image = Image::fetch(
        &ImageSource::Docker(image_id.to_string()),
        &RegistryOptions::default(),
    )
    .await
    .map_err(|err| format!("the image could not be read: {err}"))?;
    let analysed = tokio::task::spawn_blocking(move || {
        let fs = ImageFs::from_image(image)?;
        Ok::<_, ferry_scan::image::ImageError>(ImageAnalysis {
            inventory: ferry_scan::inventory::inventory(&fs),
            lint: imagelint::lint_image(&fs, &options),
        })
    })
    .await;
    match analysed {
        Ok(Ok(analysis)) => Ok(analysis),
        Ok(Err(err)) => Err(format!("the image could not be read: {err}")),
        Err(err) => Err(format!("the scan task failed: {err}")),
    }
}

fn image_lint_result(report: &ImageLintReport, security: &SecurityConfig) -> GateResult {
    let fatal = report.fatal_count();
    let warn = report.warn_count();
    let blocked = security.image_lint_blocks && fatal > 0;
    let flagged: Vec<String> = report
        .at_least(Level::Warn)
        .map(|check| format!("{} {} {}", check.level.as_str(), check.code, check.title))
        .collect();
    let summary = if blocked {
        format!(
            "image lint blocked the deploy: {fatal} FATAL check(s): {}",
            report
                .at_least(Level::Fatal)
                .map(|c| c.code.clone())
                .collect::<Vec<_>>()
                .join(", ")
        )
    } else if flagged.is_empty() {
        "image lint: every check passed".to_string()
    } else {
        format!("image lint: {fatal} FATAL, {warn} WARN (not blocking; set image_lint_blocks to enforce)")
    };
    GateResult {
        kind: IMAGE_LINT,
        blocked,
        summary,
        details: flagged,
        body: serde_json::to_value(report)
            .unwrap_or_else(|err| json!({ "error": err.to_string() })),
    }
}

/// The linter's threshold for the policy's (one match: a new level is a compile error
/// here, never a word that silently stops blocking).
fn lint_threshold(policy: Option<LintThreshold>) -> Threshold {
    match policy {
        Some(LintThreshold::Error) => Threshold::Error,
        Some(LintThreshold::Warning) => Threshold::Warning,
        Some(LintThreshold::Info) => Threshold::Info,
        Some(LintThreshold::Style) => Threshold::Style,
        Some(LintThreshold::None) | None => Threshold::None,
    }
}

fn fail_on(security: &SecurityConfig) -> Option<Severity> {
    match security.fail_on? {
        VulnThreshold::Critical => Some(Severity::Critical),
        VulnThreshold::High => Some(Severity::High),
        VulnThreshold::Medium => Some(Severity::Medium),
        VulnThreshold::Low => Some(Severity::Low),
        VulnThreshold::Unknown => Some(Severity::Unknown),
        VulnThreshold::None => None,
    }
}

/// A gate that could not look. Fails closed when the policy asks for the check.
fn cannot_scan(kind: &'static str, reason: String, strict: bool) -> GateResult {
    GateResult {
        kind,
        blocked: strict,
        summary: if strict {
            format!("vulnerability scan blocked the deploy: fail_on is set but {reason}")
        } else {
            format!("vulnerability scan skipped: {reason}")
        },
        details: Vec::new(),
        body: json!({ "error": reason }),
    }
}

/// Matches an inventory against the vulnerability database at `db_path` under the
/// service's policy (plus `.trivyignore` / `.ferryignore.toml` in `ignore_dir`).
async fn vulnerabilities(
    artifact: &str,
    inventory: Inventory,
    db_path: &Path,
    security: &SecurityConfig,
    ignore_dir: Option<&Path>,
) -> GateResult {
    let fail_on = fail_on(security);
    let cannot = |reason: String| cannot_scan(VULNERABILITIES, reason, fail_on.is_some());
    if !db_path.exists() {
        return cannot(
            "there is no vulnerability data: import it with `ferry vulndb import <osv dump>` or fetch it with `ferry vulndb update`".to_string(),
        );
    }
    let mut ignore = IgnoreRules::default();
    if !security.ignore.is_empty() {
        match IgnoreRules::parse_trivyignore(&security.ignore.join("\n"), "[security] ignore") {
            Ok(rules) => ignore.extend(rules),
            Err(err) => return cannot(format!("the ignore list is invalid: {err}")),
        }
    }
    if let Some(dir) = ignore_dir {
        let dir = dir.to_path_buf();
        match tokio::task::spawn_blocking(move || app_ignore_rules(&dir)).await {
            Ok(Ok(rules)) => ignore.extend(rules),
            Ok(Err(reason)) => return cannot(reason),
            Err(err) => return cannot(format!("the scan task failed: {err}")),
        }
    }
    let policy = Policy {
        fail_on,
        ignore_unfixed: security.ignore_unfixed,
        ignore,
    };
    let db_path = db_path.to_path_buf();
    let artifact = artifact.to_string();
    let outcome = tokio::task::spawn_blocking(move || {
        let db = VulnDb::open(&db_path).map_err(|err| err.to_string())?;
        let os = inventory.os.clone().unwrap_or_default();
        gate_packages(&artifact, &os, &inventory.packages, &db, &policy)
            .map_err(|err| err.to_string())
    })
    .await;
    let outcome = match outcome {
        Ok(Ok(outcome)) => outcome,
        Ok(Err(err)) => return cannot(format!("the vulnerability database failed: {err}")),
        Err(err) => return cannot(format!("the scan task failed: {err}")),
    };
    let report = &outcome.report;
    let blocked = outcome.blocked();
    let counts = report
        .counts()
        .iter()
        .rev()
        .filter(|(_, n)| **n > 0)
        .map(|(severity, n)| format!("{n} {severity}"))
        .collect::<Vec<_>>();
    let found = if counts.is_empty() {
        "no known vulnerabilities".to_string()
    } else {
        counts.join(", ")
    };
    let summary = match &outcome.decision {
        Some(decision) if decision.blocked => {
            format!("vulnerability scan {}", decision.summary())
        }
        _ => format!(
            "vulnerability scan: {} package(s), {found}{}",
            report.packages_scanned,
            if report.ignored.is_empty() {
                String::new()
            } else {
                format!(" ({} ignored by policy)", report.ignored.len())
            }
        ),
    };
    let mut details: Vec<String> = report.warnings.clone();
    details.extend(report.findings.iter().take(20).map(|f| {
        format!(
            "{} {} in {} {}{}",
            f.vulnerability_id,
            f.severity,
            f.package.name,
            f.installed_version,
            f.fixed_version
                .as_ref()
                .map(|v| format!(" (fixed in {v})"))
                .unwrap_or_default()
        )
    }));
    GateResult {
        kind: VULNERABILITIES,
        blocked,
        summary,
        details,
        body: serde_json::to_value(report)
            .unwrap_or_else(|err| json!({ "error": err.to_string() })),
    }
}

/// `.trivyignore` and `.ferryignore.toml` at the app's root, read with
/// [`read_app_file`]. Blocking: it reads files.
fn app_ignore_rules(dir: &Path) -> Result<IgnoreRules, String> {
    let mut ignore = IgnoreRules::default();
    for name in [".trivyignore", ".ferryignore.toml"] {
        let text = match read_app_file(dir, name, MAX_APP_FILE_BYTES) {
            Ok(None) => continue,
            Ok(Some(bytes)) => String::from_utf8_lossy(&bytes).into_owned(),
            Err(err) => return Err(error_chain(&err)),
        };
        let parsed = if name == ".trivyignore" {
            IgnoreRules::parse_trivyignore(&text, name)
        } else {
            IgnoreRules::parse_ferry_toml(&text, name)
        };
        ignore.extend(parsed.map_err(|err| format!("{name} is invalid: {err}"))?);
    }
    Ok(ignore)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn analysis(packages: usize) -> Arc<ImageAnalysis> {
        Arc::new(ImageAnalysis {
            inventory: Inventory {
                warnings: vec![String::new(); packages],
                ..Inventory::default()
            },
            lint: ImageLintReport::default(),
        })
    }

    #[test]
    fn image_analyses_keep_the_most_recent_images() {
        let analyses = ImageAnalyses::default();
        assert!(analyses.get("sha256:a web:1 false").is_none());
        analyses.put("sha256:a web:1 false".into(), analysis(1));
        let found = analyses.get("sha256:a web:1 false").unwrap();
        assert_eq!(found.inventory.warnings.len(), 1);
        // Another reference to the same image is linted on its own.
        assert!(analyses.get("sha256:a web:latest false").is_none());
        // Replacing keeps one entry; the oldest goes once more images than kept arrive.
        analyses.put("sha256:a web:1 false".into(), analysis(2));
        for i in 0..IMAGE_ANALYSES_KEPT {
            analyses.put(format!("sha256:{i} web:1 false"), analysis(0));
        }
        assert!(analyses.get("sha256:a web:1 false").is_none());
        assert!(analyses.get("sha256:0 web:1 false").is_some());
        let kept = analyses.recent.lock().unwrap().len();
        assert_eq!(kept, IMAGE_ANALYSES_KEPT);
    }

    fn policy(lint_fail_on: Option<&str>) -> SecurityConfig {
        SecurityConfig {
            lint_fail_on: lint_fail_on.map(|t| LintThreshold::parse(t).unwrap()),
            ..SecurityConfig::default()
        }
    }

    #[test]
    fn dockerfile_findings_block_only_at_the_threshold() {
        let dir = tempfile::tempdir().unwrap();
        assert!(dockerfile_lint(dir.path(), &policy(Some("error"))).is_none());
        std::fs::write(
            dir.path().join("Dockerfile"),
            "FROM debian:12\nRUN apt-get update && apt-get install -y curl\n",
        )
        .unwrap();
        let warn_only = dockerfile_lint(dir.path(), &policy(None)).unwrap();
        assert!(!warn_only.blocked);
        assert!(warn_only
            .details
            .iter()
            .any(|d| d.starts_with("Dockerfile:2 DL3008 warning")));
        assert!(
            !dockerfile_lint(dir.path(), &policy(Some("error")))
                .unwrap()
                .blocked
        );
        let blocked = dockerfile_lint(dir.path(), &policy(Some("warning"))).unwrap();
        assert!(blocked.blocked);
        assert!(
            blocked.summary.contains("DL3008 (line 2)"),
            "{}",
            blocked.summary
        );
    }

    #[test]
    fn hadolint_yaml_in_the_app_is_honoured() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("Dockerfile"),
            "FROM debian:12\nRUN apt-get update && apt-get install -y curl\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join(".hadolint.yaml"),
            "ignored:\n  - DL3008\n  - DL3009\n  - DL3015\n",
        )
        .unwrap();
        let result = dockerfile_lint(dir.path(), &policy(Some("warning"))).unwrap();
        assert!(!result.blocked, "{:?}", result.details);
    }

    #[test]
    fn a_dockerfile_that_is_not_utf8_is_linted_not_skipped() {
        let dir = tempfile::tempdir().unwrap();
        // One Latin-1 byte in a comment, as `ferry lint` reads it: lossily.
        std::fs::write(
            dir.path().join("Dockerfile"),
            b"# caf\xe9\nFROM debian:12\nRUN apt-get update && apt-get install -y curl\n",
        )
        .unwrap();
        let result = dockerfile_lint(dir.path(), &policy(Some("warning")))
            .expect("the Dockerfile is linted");
        assert!(result.blocked, "{}", result.summary);
        assert!(
            result.summary.contains("DL3008 (line 3)"),
            "{}",
            result.summary
        );
    }

    #[test]
    fn an_unreadable_dockerfile_fails_closed_under_a_policy() {
        let dir = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink("/dev/zero", dir.path().join("Dockerfile")).unwrap();
        let blocked = dockerfile_lint(dir.path(), &policy(Some("error"))).unwrap();
        assert!(blocked.blocked);
        assert!(
            blocked
                .summary
                .contains("Dockerfile is a symlink to /dev/zero, outside the app directory"),
            "{}",
            blocked.summary
        );
        let lenient = dockerfile_lint(dir.path(), &policy(None)).unwrap();
        assert!(!lenient.blocked);
        assert!(
            lenient.summary.starts_with("Dockerfile lint skipped"),
            "{}",
            lenient.summary
        );

        // The lint config decides what blocks: unreadable, it fails closed too.
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("Dockerfile"), "FROM scratch\n").unwrap();
        std::os::unix::fs::symlink("/etc/passwd", dir.path().join(".hadolint.yaml")).unwrap();
        let blocked = dockerfile_lint(dir.path(), &policy(Some("error"))).unwrap();
        assert!(blocked.blocked);
        assert!(
            blocked.summary.contains(".hadolint.yaml is a symlink"),
            "{}",
            blocked.summary
        );
    }

    #[tokio::test]
    async fn an_ignore_file_linking_out_fails_the_scan_closed() {
        let dir = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink("/dev/zero", dir.path().join(".trivyignore")).unwrap();
        let strict = SecurityConfig {
            fail_on: Some(VulnThreshold::Critical),
            ..SecurityConfig::default()
        };
        // The database must exist for the ignore files to be read.
        let db = dir.path().join("osv.db");
        std::fs::write(&db, b"").unwrap();
        let result = vulnerabilities(
            "source",
            Inventory::default(),
            &db,
            &strict,
            Some(dir.path()),
        )
        .await;
        assert!(result.blocked);
        assert!(
            result.summary.contains(".trivyignore is a symlink"),
            "{}",
            result.summary
        );
    }

    #[tokio::test]
    async fn a_missing_database_blocks_only_when_a_policy_asks_for_it() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("osv.db");
        let lenient = source_checks(dir.path(), &db, &SecurityConfig::default())
            .await
            .remove(0);
        assert!(!lenient.blocked);
        assert!(lenient.summary.contains("skipped"));
        let strict = SecurityConfig {
            fail_on: Some(VulnThreshold::Critical),
            ..SecurityConfig::default()
        };
        let blocked = source_checks(dir.path(), &db, &strict).await.remove(0);
        assert!(blocked.blocked);
        assert!(blocked.summary.contains("ferry vulndb import"));
    }
}
