//! Image-lint reports as Dockle writes them: `list` (one line per check that found
//! something, its alerts below), `json` (`summary` and `details`) and SARIF 2.1.0
//! (one rule and one result per check, `ruleId` = the check id).

use serde::Serialize;
use serde_json::{json, Value};

use super::{help_uri, CheckResult, ImageLintReport, Level, Summary};

/// Output formats of `ferry image-lint -f`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    List,
    Json,
    Sarif,
}

/// Renders a report in one of the formats.
pub fn render(report: &ImageLintReport, format: Format, color: bool) -> String {
    match format {
        Format::List => render_list(report, color),
        Format::Json => render_json(report),
        Format::Sarif => render_sarif(report),
    }
}

/// The checks the outputs show: those with something to say, ignored ones left out.
fn reported(report: &ImageLintReport) -> impl Iterator<Item = &CheckResult> {
    report
        .checks
        .iter()
        .filter(|c| !matches!(c.level, Level::Ignore | Level::Pass) && !c.alerts.is_empty())
}

fn ansi(level: Level) -> &'static str {
    match level {
        Level::Fatal => "\x1b[31m",
        Level::Warn => "\x1b[33m",
        Level::Info => "\x1b[35m",
        Level::Pass => "\x1b[32m",
        Level::Skip | Level::Ignore => "\x1b[34m",
    }
}

const CYAN: &str = "\x1b[36m";
const RESET: &str = "\x1b[0m";

/// `LEVEL\t- CODE: Title` then `\t* alert` lines, as Dockle's list writer.
pub fn render_list(report: &ImageLintReport, color: bool) -> String {
    let mut text = String::new();
    for check in reported(report) {
        if color {
            text.push_str(&format!(
                "{}{}{RESET}\t- {CYAN}{}{RESET}: {}\n",
                ansi(check.level),
                check.level,
                check.code,
                check.title
            ));
        } else {
            text.push_str(&format!(
                "{}\t- {}: {}\n",
                check.level, check.code, check.title
            ));
        }
        for alert in &check.alerts {
            text.push_str(&format!("\t* {}\n", alert.message));
        }
    }
    text
}

#[derive(Serialize)]
struct JsonReport<'a> {
    #[serde(skip_serializing_if = "str::is_empty")]
    image: &'a str,
    summary: Summary,
    details: Vec<JsonDetail<'a>>,
}

#[derive(Serialize)]
struct JsonDetail<'a> {
    code: &'a str,
    title: &'a str,
    level: Level,
    alerts: Vec<&'a str>,
}

/// Dockle's JSON: `image`, `summary` {fatal, warn, info, skip, pass} and `details`
/// [{code, title, level, alerts}], two-space indented.
pub fn render_json(report: &ImageLintReport) -> String {
    let doc = JsonReport {
        image: &report.image,
        summary: report.summary(),
        details: reported(report)
            .map(|c| JsonDetail {
                code: &c.code,
                title: &c.title,
                level: c.level,
                alerts: c.alerts.iter().map(|a| a.message.as_str()).collect(),
            })
            .collect(),
    };
    // Serialising plain structs of strings and numbers cannot fail.
    serde_json::to_string_pretty(&doc).unwrap_or_default()
}

/// SARIF 2.1.0 as a value; one rule and one result per reported check, the result's
/// message the alerts joined with `, ` and a location per alert.
pub fn sarif_value(report: &ImageLintReport) -> Value {
    let checks: Vec<&CheckResult> = reported(report).collect();
    let rules: Vec<Value> = checks
        .iter()
        .map(|c| {
            let default_level = super::check(&c.code)
                .map(|k| k.default_level)
                .unwrap_or(c.level);
            json!({
                "id": c.code,
                "name": c.code,
                "shortDescription": { "text": c.title },
                "helpUri": help_uri(&c.code),
                "defaultConfiguration": { "level": default_level.sarif_level() },
            })
        })
        .collect();
    let results: Vec<Value> = checks
        .iter()
        .enumerate()
        .map(|(index, c)| {
            let message = c
                .alerts
                .iter()
                .map(|a| a.message.as_str())
                .collect::<Vec<_>>()
                .join(", ");
            let mut locations: Vec<&str> = Vec::new();
            for alert in &c.alerts {
                if !alert.location.is_empty() && !locations.contains(&alert.location.as_str()) {
                    locations.push(&alert.location);
                }
            }
            let mut result = json!({
                "ruleId": c.code,
                "ruleIndex": index,
                "level": c.level.sarif_level(),
                "message": { "text": message },
            });
            if !locations.is_empty() {
                result["locations"] = locations
                    .iter()
                    .map(
                        |uri| json!({ "physicalLocation": { "artifactLocation": { "uri": uri } } }),
                    )
                    .collect();
            }
            result
        })
        .collect();
    json!({
        "version": "2.1.0",
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "runs": [{
            "tool": {
                "driver": {
                    "name": "ferry",
                    "fullName": "ferry image-lint",
                    "informationUri": "https://github.com/ferry-paas/ferry",
                    "version": env!("CARGO_PKG_VERSION"),
                    "rules": rules,
                }
            },
            "results": results,
        }]
    })
}

pub fn render_sarif(report: &ImageLintReport) -> String {
    serde_json::to_string_pretty(&sarif_value(report)).unwrap_or_default()
}
