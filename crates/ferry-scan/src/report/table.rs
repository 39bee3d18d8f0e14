//! The table format: the data's age and any warnings first, then per target a title, a
//! `Total:` line with counts per severity and a table of package, vulnerability,
//! severity, status, installed and fixed versions and title (Trivy's layout).

use std::fmt::Write;

use time::OffsetDateTime;

use super::{count, total_line, ScanReport};

/// Longest title shown; the rest is in the JSON and SARIF outputs.
const TITLE_WIDTH: usize = 60;

pub fn render(report: &ScanReport) -> String {
    let mut out = String::new();
    let now = report.generated_at;
    let _ = writeln!(
        out,
        "Vulnerability DB: {} [{}]",
        report.db.describe(now),
        report.db.location
    );
    if report.db_stale {
        let _ = writeln!(out, "WARNING: {}", stale_message(report, now));
    }
    for warning in &report.warnings {
        let _ = writeln!(out, "WARNING: {warning}");
    }
    for group in report.groups() {
        let _ = writeln!(out);
        // Trivy's titles: `image (debian 12)` for OS packages, `Python (python-pkg)` else.
        let title = if group.class == "os-pkgs" {
            group.target.clone()
        } else {
            format!("{} ({})", group.target, group.kind)
        };
        let _ = writeln!(out, "{title}");
        let _ = writeln!(out, "{}", "=".repeat(title.chars().count()));
        let _ = writeln!(
            out,
            "{}",
            total_line(&count(group.findings.iter().copied()))
        );
        if group.findings.is_empty() {
            continue;
        }
        let _ = writeln!(out);
        let header = [
            "Package",
            "Vulnerability",
            "Severity",
            "Status",
            "Installed Version",
            "Fixed Version",
            "Title",
        ];
        let rows: Vec<[String; 7]> = group
            .findings
            .iter()
            .map(|f| {
                [
                    f.package.name.clone(),
                    f.vulnerability_id.clone(),
                    f.severity.to_string(),
                    f.status.as_str().to_string(),
                    f.installed_version.clone(),
                    f.fixed_version.clone().unwrap_or_default(),
                    truncate(&f.title, TITLE_WIDTH),
                ]
            })
            .collect();
        out.push_str(&draw(&header, &rows));
    }
    if !report.ignored.is_empty() {
        let _ = writeln!(out);
        let _ = writeln!(out, "Ignored ({}):", report.ignored.len());
        for ignored in &report.ignored {
            let reason = ignored.rule.reason.as_deref().unwrap_or("no reason given");
            let _ = writeln!(
                out,
                "  {} in {} {}: {reason} [{}]",
                ignored.finding.vulnerability_id,
                ignored.finding.package.name,
                ignored.finding.installed_version,
                ignored.rule.origin
            );
        }
    }
    out
}

/// The stale-data warning (also printed to stderr by the CLI).
pub fn stale_message(report: &ScanReport, now: OffsetDateTime) -> String {
    match report.db.age(now) {
        Some(age) => format!(
            "vulnerability data is {} old (newer than 7 days expected); run `ferry vulndb update`",
            crate::vulndb::human_duration(age)
        ),
        None => {
            "vulnerability database is empty; run `ferry vulndb update` or `ferry vulndb import`"
                .into()
        }
    }
}

fn truncate(text: &str, width: usize) -> String {
    let one_line = text.lines().next().unwrap_or("");
    if one_line.chars().count() <= width {
        one_line.to_string()
    } else {
        let cut: String = one_line.chars().take(width.saturating_sub(1)).collect();
        format!("{cut}…")
    }
}

fn draw<const N: usize>(header: &[&str; N], rows: &[[String; N]]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |left: &str, mid: &str, right: &str| {
        let parts: Vec<String> = widths.iter().map(|w| "─".repeat(w + 2)).collect();
        format!("{left}{}{right}\n", parts.join(mid))
    };
    let cells = |cells: Vec<&str>| {
        let parts: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!(" {c}{} ", " ".repeat(w - c.chars().count())))
            .collect();
        format!("│{}│\n", parts.join("│"))
    };
    let mut out = line("┌", "┬", "┐");
    out.push_str(&cells(header.to_vec()));
    out.push_str(&line("├", "┼", "┤"));
    for row in rows {
        out.push_str(&cells(row.iter().map(String::as_str).collect()));
    }
    out.push_str(&line("└", "┴", "┘"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::tests::{finding, report};
    use crate::severity::Severity;

    #[test]
    fn renders_groups_totals_and_age() {
        let mut r = report(vec![
            finding("CVE-2024-0001", Severity::High, Some("3.0.13-1~deb12u1")),
            finding("CVE-2024-0002", Severity::Critical, None),
        ]);
        r.warnings.push("something to fix".into());
        let text = render(&r);
        assert!(
            text.contains("Vulnerability DB: 10 records, newest modified 2024-01-02 (3 days old)"),
            "{text}"
        );
        assert!(text.contains("WARNING: something to fix"));
        assert!(
            text.contains("web.tar (debian 12)\n===================\n"),
            "{text}"
        );
        assert!(text.contains("Total: 2 (UNKNOWN: 0, LOW: 0, MEDIUM: 0, HIGH: 1, CRITICAL: 1)"));
        assert!(
            text.contains("│ openssl │ CVE-2024-0001 │ HIGH     │ fixed    │"),
            "{text}"
        );
        assert!(text.contains("│ affected │"));

        r.db_stale = true;
        r.generated_at += time::Duration::days(30);
        assert!(
            render(&r).contains("WARNING: vulnerability data is 33 days old"),
            "{}",
            render(&r)
        );
    }
}
