//! Output formats, each shaped like Hadolint's: tty, json, checkstyle,
//! codeclimate, gitlab_codeclimate, gnu, codacy, sonarqube, sarif and junit.

use std::fmt::Write as _;
use std::str::FromStr;

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::finding::{Finding, Severity};

/// An output format name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Tty,
    Json,
    Checkstyle,
    Codeclimate,
    GitlabCodeclimate,
    Gnu,
    Codacy,
    Sonarqube,
    Sarif,
    Junit,
}

pub const FORMAT_NAMES: [&str; 10] = [
    "tty",
    "json",
    "checkstyle",
    "codeclimate",
    "gitlab_codeclimate",
    "gnu",
    "codacy",
    "sonarqube",
    "sarif",
    "junit",
];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown format `{0}` (expected one of: tty, json, checkstyle, codeclimate, gitlab_codeclimate, gnu, codacy, sonarqube, sarif, junit)")]
pub struct UnknownFormat(pub String);

impl FromStr for Format {
    type Err = UnknownFormat;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s.trim().to_ascii_lowercase().as_str() {
            "tty" => Format::Tty,
            "json" => Format::Json,
            "checkstyle" => Format::Checkstyle,
            "codeclimate" => Format::Codeclimate,
            "gitlab_codeclimate" => Format::GitlabCodeclimate,
            "gnu" => Format::Gnu,
            "codacy" => Format::Codacy,
            "sonarqube" => Format::Sonarqube,
            "sarif" => Format::Sarif,
            "junit" => Format::Junit,
            other => return Err(UnknownFormat(other.to_string())),
        })
    }
}

/// The findings of one linted file.
#[derive(Debug, Clone)]
pub struct FileReport {
    /// File name as reported (`-` for stdin unless renamed).
    pub file: String,
    pub findings: Vec<Finding>,
}

/// Rendering options.
#[derive(Debug, Clone, Copy, Default)]
pub struct RenderOptions {
    /// ANSI colours in tty output.
    pub color: bool,
}

/// Renders all reports in `format`.
pub fn render(format: Format, reports: &[FileReport], options: RenderOptions) -> String {
    match format {
        Format::Tty => tty(reports, options.color),
        Format::Json => json_array(reports),
        Format::Checkstyle => checkstyle(reports),
        Format::Codeclimate => codeclimate(reports),
        Format::GitlabCodeclimate => gitlab_codeclimate(reports),
        Format::Gnu => gnu(reports),
        Format::Codacy => codacy(reports),
        Format::Sonarqube => sonarqube(reports),
        Format::Sarif => sarif(reports),
        Format::Junit => junit(reports),
    }
}

fn all(reports: &[FileReport]) -> impl Iterator<Item = &Finding> {
    reports.iter().flat_map(|r| r.findings.iter())
}

fn is_syntax_error(f: &Finding) -> bool {
    f.code == "DL1000"
}

/// Messages on one line (parse errors can span several).
fn one_line(s: &str) -> String {
    s.replace('\n', " ")
}

fn colored(severity: Severity, color: bool) -> String {
    if !color {
        return severity.to_string();
    }
    let code = match severity {
        Severity::Error => "\x1b[1m\x1b[91m",
        Severity::Warning => "\x1b[1m\x1b[93m",
        Severity::Info => "\x1b[92m",
        Severity::Style => "\x1b[96m",
        Severity::Ignore => "",
    };
    format!("{code}{severity}\x1b[0m")
}

fn tty(reports: &[FileReport], color: bool) -> String {
    let mut out = String::new();
    for f in all(reports) {
        if is_syntax_error(f) {
            let _ = writeln!(
                out,
                "{}:{}:{} {}",
                f.file,
                f.line,
                f.column,
                one_line(&f.message)
            );
        } else {
            let _ = writeln!(
                out,
                "{}:{} {} {}: {}",
                f.file,
                f.line,
                f.code,
                colored(f.severity, color),
                f.message
            );
        }
    }
    out
}

fn json_array(reports: &[FileReport]) -> String {
    let list: Vec<&Finding> = all(reports).collect();
    serde_json::to_string(&list).unwrap_or_else(|_| "[]".into())
}

fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

fn checkstyle(reports: &[FileReport]) -> String {
    let mut out =
        String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?><checkstyle version=\"4.3\">");
    for r in reports.iter().filter(|r| !r.findings.is_empty()) {
        let _ = write!(out, "<file name=\"{}\">", xml_escape(&r.file));
        for f in &r.findings {
            let _ = write!(
                out,
                "<error column=\"{}\" line=\"{}\" message=\"{}\" severity=\"{}\" source=\"{}\"/>",
                f.column,
                f.line,
                xml_escape(&f.message),
                f.severity,
                xml_escape(&f.code)
            );
        }
        out.push_str("</file>");
    }
    out.push_str("</checkstyle>");
    out
}

fn climate_severity(s: Severity) -> &'static str {
    match s {
        Severity::Error => "blocker",
        Severity::Warning => "major",
        Severity::Info => "info",
        Severity::Style => "minor",
        Severity::Ignore => "info",
    }
}

fn climate_issue(f: &Finding) -> Value {
    let location = if is_syntax_error(f) {
        json!({"path": f.file, "positions": {"begin": {"column": f.column, "line": f.line}, "end": {"column": f.column, "line": f.line}}})
    } else {
        json!({"path": f.file, "lines": {"begin": f.line, "end": f.line}})
    };
    json!({
        "categories": ["Bug Risk"],
        "check_name": f.code,
        "description": f.message,
        "location": location,
        "severity": climate_severity(f.severity),
        "type": "issue",
    })
}

/// Code Climate's engine output: issues separated by NUL bytes.
fn codeclimate(reports: &[FileReport]) -> String {
    let mut out = String::new();
    for f in all(reports) {
        out.push_str(&climate_issue(f).to_string());
        out.push('\0');
    }
    out
}

fn fingerprint(f: &Finding) -> String {
    let mut h = Sha256::new();
    h.update(f.file.as_bytes());
    h.update(f.line.to_string().as_bytes());
    h.update(f.code.as_bytes());
    h.update(f.message.as_bytes());
    let digest = h.finalize();
    digest.iter().take(20).map(|b| format!("{b:02x}")).collect()
}

fn gitlab_codeclimate(reports: &[FileReport]) -> String {
    let list: Vec<Value> = all(reports)
        .map(|f| {
            let mut issue = climate_issue(f);
            if let Some(obj) = issue.as_object_mut() {
                obj.insert("fingerprint".into(), Value::String(fingerprint(f)));
            }
            issue
        })
        .collect();
    Value::Array(list).to_string()
}

fn gnu(reports: &[FileReport]) -> String {
    let mut out = String::new();
    for f in all(reports) {
        if is_syntax_error(f) {
            let _ = writeln!(
                out,
                "ferry:{}:{}:{}: {}",
                f.file,
                f.line,
                f.column,
                one_line(&f.message)
            );
        } else {
            let _ = writeln!(
                out,
                "ferry:{}:{}: {} {}: {}",
                f.file, f.line, f.code, f.severity, f.message
            );
        }
    }
    out
}

fn codacy(reports: &[FileReport]) -> String {
    all(reports)
        .map(|f| {
            json!({"filename": f.file, "line": f.line, "message": f.message, "patternId": f.code})
                .to_string()
        })
        .collect()
}

fn sonarqube(reports: &[FileReport]) -> String {
    let issues: Vec<Value> = all(reports)
        .map(|f| {
            let (severity, kind) = match f.severity {
                Severity::Error => ("BLOCKER", "BUG"),
                Severity::Warning => ("MAJOR", "CODE_SMELL"),
                Severity::Info => ("MINOR", "CODE_SMELL"),
                Severity::Style | Severity::Ignore => ("INFO", "CODE_SMELL"),
            };
            let start_column = if is_syntax_error(f) { f.column } else { f.column.saturating_sub(1) };
            json!({
                "engineId": "ferry-lint",
                "primaryLocation": {
                    "filePath": f.file,
                    "message": f.message,
                    "textRange": {"endColumn": f.column, "endLine": f.line, "startColumn": start_column, "startLine": f.line},
                },
                "ruleId": f.code,
                "severity": severity,
                "type": kind,
            })
        })
        .collect();
    json!({ "issues": issues }).to_string()
}

fn sarif(reports: &[FileReport]) -> String {
    let results: Vec<Value> = all(reports)
        .map(|f| {
            let level = match f.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
                Severity::Info | Severity::Style | Severity::Ignore => "note",
            };
            json!({
                "level": level,
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": {"uri": f.file},
                        "region": {"endColumn": f.column, "endLine": f.line, "sourceLanguage": "dockerfile", "startColumn": f.column, "startLine": f.line},
                    }
                }],
                "message": {"text": f.message},
                "ruleId": f.code,
            })
        })
        .collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "runs": [{
            "defaultSourceLanguage": "dockerfile",
            "results": results,
            "tool": {"driver": {
                "fullName": "ferry lint (Hadolint-compatible Dockerfile linter)",
                "informationUri": "https://github.com/ferry-paas/ferry",
                "name": "ferry-lint",
                "shortDescription": {"text": "Dockerfile linter with Hadolint's rule ids"},
                "version": env!("CARGO_PKG_VERSION"),
            }},
        }],
        "version": "2.1.0",
    })
    .to_string()
}

fn junit(reports: &[FileReport]) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>");
    let _ = write!(out, "<testsuites name=\"ferry lint\">");
    for r in reports {
        let errors = r.findings.iter().filter(|f| is_syntax_error(f)).count();
        let _ = write!(
            out,
            "<testsuite errors=\"{errors}\" failures=\"{}\" name=\"{}\" tests=\"{}\">",
            r.findings.len(),
            xml_escape(&r.file),
            r.findings.len().max(1)
        );
        if r.findings.is_empty() {
            let _ = write!(
                out,
                "<testcase classname=\"{}\" name=\"lint\"/>",
                xml_escape(&r.file)
            );
        }
        for f in &r.findings {
            let _ = write!(
                out,
                "<testcase classname=\"{}\" name=\"{}\"><failure message=\"{}\" type=\"{}\">File: {}\nLine: {}\nColumn: {}\n{}: {}\n</failure></testcase>",
                xml_escape(&r.file),
                xml_escape(&f.code),
                xml_escape(&f.message),
                f.severity,
                xml_escape(&f.file),
                f.line,
                f.column,
                f.severity,
                xml_escape(&f.message)
            );
        }
        out.push_str("</testsuite>");
    }
    out.push_str("</testsuites>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<FileReport> {
        let f = |code: &str, severity, line, message: &str| Finding {
            code: code.into(),
            column: 1,
            file: "Dockerfile".into(),
            severity,
            line,
            message: message.into(),
        };
        vec![
            FileReport {
                file: "Dockerfile".into(),
                findings: vec![
                    f(
                        "DL3006",
                        Severity::Warning,
                        1,
                        "Always tag the version of an image explicitly",
                    ),
                    f(
                        "DL3059",
                        Severity::Info,
                        3,
                        "Multiple consecutive `RUN` instructions. Consider consolidation.",
                    ),
                    f(
                        "SC2086",
                        Severity::Info,
                        4,
                        "Double quote to prevent globbing & \"word\" <splitting>.",
                    ),
                ],
            },
            FileReport {
                file: "other/Dockerfile".into(),
                findings: vec![Finding {
                    code: "DL1000".into(),
                    column: 5,
                    file: "other/Dockerfile".into(),
                    severity: Severity::Error,
                    line: 2,
                    message: "COPY requires at least one argument".into(),
                }],
            },
        ]
    }

    #[test]
    fn every_format_snapshot() {
        for name in FORMAT_NAMES {
            let format: Format = name.parse().expect("known");
            let out = render(format, &sample(), RenderOptions { color: false });
            insta::assert_snapshot!(format!("format_{name}"), out.replace('\0', "<NUL>"));
        }
    }

    #[test]
    fn json_has_hadolint_fields() {
        let out = render(Format::Json, &sample(), RenderOptions::default());
        let v: Value = serde_json::from_str(&out).expect("json");
        let first = &v[0];
        for key in ["code", "column", "file", "level", "line", "message"] {
            assert!(first.get(key).is_some(), "{key}");
        }
        assert_eq!(v.as_array().map(Vec::len), Some(4));
    }

    #[test]
    fn tty_colors_only_when_asked() {
        let plain = render(Format::Tty, &sample(), RenderOptions { color: false });
        assert!(plain.starts_with("Dockerfile:1 DL3006 warning: Always tag"));
        assert!(!plain.contains('\x1b'));
        let colored = render(Format::Tty, &sample(), RenderOptions { color: true });
        assert!(colored.contains("\x1b[1m\x1b[93mwarning\x1b[0m"));
    }

    #[test]
    fn sarif_is_2_1_0() {
        let out = render(Format::Sarif, &sample(), RenderOptions::default());
        let v: Value = serde_json::from_str(&out).expect("json");
        assert_eq!(v["version"], "2.1.0");
        assert_eq!(v["runs"][0]["results"][0]["ruleId"], "DL3006");
        assert_eq!(v["runs"][0]["results"][1]["level"], "note");
    }
}
