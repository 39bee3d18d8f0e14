//! `ferry scan`: the inventory of an image matched against the local OSV database, with
//! Trivy's flags and exit-code semantics (`--severity`, `--exit-code`,
//! `--ignore-unfixed`, `--ignorefile`, `-f table|json|sarif|cyclonedx|spdx-json`).

use std::ffi::OsString;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use clap::{Parser, ValueEnum};
use serde::Deserialize;
use serde_json::json;

use super::{chain, db_path, parse};
use crate::ignore::IgnoreRules;
use crate::inventory::{inventory_with, InventoryOptions};
use crate::matcher::{scan_packages, ScanOptions};
use crate::package::{OsInfo, Package};
use crate::report::{self, ScanReport};
use crate::sbom::cli::ImageArgs;
use crate::sbom::{self, DocumentInfo, SbomFormat, Subject};
use crate::severity::{self, Severity};
use crate::vulndb::VulnDb;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum ScanFormat {
    Table,
    Json,
    Sarif,
    /// CycloneDX 1.5 SBOM with the vulnerabilities found.
    Cyclonedx,
    /// SPDX 2.3 SBOM (packages only, as Trivy's).
    SpdxJson,
}

#[derive(Debug, Parser)]
#[command(
    name = "ferry scan",
    about = "Find known vulnerabilities in an image's packages (OSV data, Trivy-style output)"
)]
struct ScanArgs {
    #[command(flatten)]
    image: ImageArgs,
    /// An inventory JSON (as written by `ferry sbom -f json`) to scan instead of an image.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["input", "oci_layout", "rootfs", "docker", "source"])]
    inventory: Option<PathBuf>,
    /// Output format.
    #[arg(short = 'f', long, value_enum, default_value = "table")]
    format: ScanFormat,
    /// Write to FILE instead of standard output.
    #[arg(short = 'o', long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Severities to report, comma-separated (UNKNOWN,LOW,MEDIUM,HIGH,CRITICAL).
    #[arg(short = 's', long, value_name = "LIST", value_delimiter = ',', value_parser = parse_severity)]
    severity: Vec<Severity>,
    /// Exit with this code when vulnerabilities remain after the filters.
    #[arg(long, value_name = "N", default_value_t = 0)]
    exit_code: i32,
    /// Report only vulnerabilities that have a fixed version.
    #[arg(long)]
    ignore_unfixed: bool,
    /// Ignore file: `.trivyignore` format, or ferry's TOML format when it ends in
    /// `.toml` (repeatable). Default: `.trivyignore` and `.ferryignore.toml` in the
    /// current directory, when present.
    #[arg(long, value_name = "FILE")]
    ignorefile: Vec<PathBuf>,
    /// Vulnerability database file (default: $FERRY_DATA_DIR/vulndb/osv.db, else
    /// $XDG_DATA_HOME/ferry/vulndb/osv.db, else ~/.local/share/ferry/vulndb/osv.db).
    #[arg(long, env = "FERRY_VULNDB", value_name = "PATH")]
    db: Option<PathBuf>,
    /// Do not print warnings to standard error.
    #[arg(short = 'q', long)]
    quiet: bool,
}

/// The subset of `ferry sbom -f json` that scanning needs.
#[derive(Deserialize)]
struct InventoryFile {
    #[serde(default)]
    os: Option<OsInfo>,
    packages: Vec<Package>,
}

fn parse_severity(text: &str) -> Result<Severity, String> {
    text.parse()
}

pub fn run(args: Vec<OsString>) -> i32 {
    let parsed: ScanArgs = match parse("ferry scan", args) {
        Ok(parsed) => parsed,
        Err(code) => return code,
    };
    match run_parsed(&parsed) {
        Ok(code) => code,
        Err(message) => {
            eprintln!("ferry scan: {message}");
            1
        }
    }
}

fn load_ignores(files: &[PathBuf]) -> Result<IgnoreRules, String> {
    let mut rules = IgnoreRules::default();
    if files.is_empty() {
        for default in [".trivyignore", ".ferryignore.toml"] {
            if Path::new(default).is_file() {
                rules.extend(IgnoreRules::load(Path::new(default)).map_err(|e| chain(&e))?);
            }
        }
    }
    for file in files {
        rules.extend(IgnoreRules::load(file).map_err(|e| chain(&e))?);
    }
    Ok(rules)
}

/// What the scan reads: the packages, the OS, a name, and the SBOM subject.
struct Scanned {
    os: OsInfo,
    packages: Vec<Package>,
    subject: Subject,
    inventory: crate::inventory::Inventory,
}

fn read_packages(args: &ScanArgs) -> Result<Scanned, String> {
    if let Some(path) = &args.inventory {
        let text = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let file: InventoryFile = serde_json::from_slice(&text)
            .map_err(|e| format!("{}: not an inventory JSON: {e}", path.display()))?;
        let os = file.os.unwrap_or_default();
        let inventory = crate::inventory::Inventory {
            os: Some(os.clone()).filter(|o| !o.id.is_empty()),
            packages: file.packages.clone(),
            warnings: Vec::new(),
        };
        let subject = Subject {
            name: path.display().to_string(),
            is_directory: true,
            ..Subject::default()
        };
        return Ok(Scanned {
            os,
            packages: file.packages,
            subject,
            inventory,
        });
    }
    let (fs, is_source_tree) = args.image.open()?;
    let options = if is_source_tree {
        InventoryOptions::source()
    } else {
        InventoryOptions::image()
    };
    let inventory = inventory_with(&fs, &options);
    if !args.quiet {
        for w in &inventory.warnings {
            eprintln!("warning: {w}");
        }
    }
    let mut subject = Subject::from_image(fs.image());
    subject.is_directory |= is_source_tree;
    Ok(Scanned {
        os: inventory.os.clone().unwrap_or_default(),
        packages: inventory.packages.clone(),
        subject,
        inventory,
    })
}

fn run_parsed(args: &ScanArgs) -> Result<i32, String> {
    let ignore = load_ignores(&args.ignorefile)?;
    let scanned = read_packages(args)?;

    if args.format == ScanFormat::SpdxJson {
        // SPDX carries no vulnerabilities: the SBOM alone, as Trivy writes it.
        let document = sbom::render(
            SbomFormat::SpdxJson,
            &scanned.subject,
            &scanned.inventory,
            &DocumentInfo::default(),
        );
        write_output(args.output.as_deref(), &pretty(&document)?)?;
        return Ok(0);
    }

    let path = db_path(args.db.clone())?;
    let db = VulnDb::open(&path).map_err(|e| chain(&e))?;
    let options = ScanOptions {
        artifact: scanned.subject.name.clone(),
        severities: args.severity.clone(),
        ignore_unfixed: args.ignore_unfixed,
        ignore,
        ..ScanOptions::default()
    };
    let report =
        scan_packages(&scanned.os, &scanned.packages, &db, &options).map_err(|e| chain(&e))?;

    if !args.quiet && args.format != ScanFormat::Table {
        // The table shows these itself; other formats are for machines.
        if report.db_stale {
            eprintln!(
                "warning: {}",
                report::table::stale_message(&report, report.generated_at)
            );
        }
        for warning in &report.warnings {
            eprintln!("warning: {warning}");
        }
    }
    let text = match args.format {
        ScanFormat::Table => report::table::render(&report),
        ScanFormat::Json => report::json::render(&report),
        ScanFormat::Sarif => report::sarif::render(&report),
        ScanFormat::Cyclonedx | ScanFormat::SpdxJson => {
            let format = if args.format == ScanFormat::Cyclonedx {
                SbomFormat::CycloneDx
            } else {
                SbomFormat::SpdxJson
            };
            let mut document = sbom::render(
                format,
                &scanned.subject,
                &scanned.inventory,
                &DocumentInfo::default(),
            );
            if format == SbomFormat::CycloneDx {
                add_cyclonedx_vulnerabilities(&mut document, &report);
            }
            pretty(&document)?
        }
    };
    write_output(args.output.as_deref(), &text)?;
    Ok(report.exit_code(args.exit_code))
}

fn pretty(value: &serde_json::Value) -> Result<String, String> {
    serde_json::to_string_pretty(value).map_err(|e| e.to_string())
}

fn write_output(path: Option<&Path>, text: &str) -> Result<(), String> {
    let mut text = text.to_string();
    if !text.ends_with('\n') {
        text.push('\n');
    }
    match path {
        Some(path) => std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display())),
        None => std::io::stdout()
            .lock()
            .write_all(text.as_bytes())
            .map_err(|e| format!("standard output: {e}")),
    }
}

/// Adds CycloneDX 1.5 `vulnerabilities` (id, source, ratings, affects by bom-ref,
/// recommendation) to an SBOM whose components carry purls.
fn add_cyclonedx_vulnerabilities(document: &mut serde_json::Value, report: &ScanReport) {
    let mut refs: std::collections::HashMap<String, String> = std::collections::HashMap::new();
    if let Some(components) = document["components"].as_array() {
        for c in components {
            if let (Some(purl), Some(bom_ref)) = (c["purl"].as_str(), c["bom-ref"].as_str()) {
                refs.entry(purl.to_string())
                    .or_insert_with(|| bom_ref.to_string());
            }
        }
    }
    let mut by_id: std::collections::BTreeMap<&str, Vec<&report::Finding>> =
        std::collections::BTreeMap::new();
    for f in &report.findings {
        by_id
            .entry(f.vulnerability_id.as_str())
            .or_default()
            .push(f);
    }
    let vulnerabilities: Vec<serde_json::Value> = by_id
        .into_iter()
        .map(|(id, findings)| {
            let first = findings[0];
            let mut rating = json!({ "severity": first.severity.as_str().to_ascii_lowercase(), "source": { "name": "osv" } });
            if let Some(cvss) = &first.cvss {
                rating["score"] = json!(cvss.score);
                rating["vector"] = json!(cvss.vector);
                rating["method"] = json!(match cvss.version {
                    severity::cvss::CvssVersion::V2 => "CVSSv2",
                    severity::cvss::CvssVersion::V3_0 => "CVSSv3",
                    severity::cvss::CvssVersion::V3_1 => "CVSSv31",
                    severity::cvss::CvssVersion::V4_0 => "CVSSv4",
                });
            }
            let affects: Vec<serde_json::Value> = findings
                .iter()
                .map(|f| json!({ "ref": refs.get(&f.package.purl).cloned().unwrap_or_else(|| f.package.purl.clone()) }))
                .collect();
            let fixes: Vec<String> = findings.iter().filter_map(|f| f.fixed_version.clone()).collect();
            let mut v = json!({
                "id": id,
                "source": { "name": "OSV", "url": first.primary_url },
                "ratings": [rating],
                "description": first.title,
                "affects": affects,
            });
            if let Some(detail) = &first.description {
                v["detail"] = json!(detail);
            }
            if !fixes.is_empty() {
                v["recommendation"] = json!(format!("Upgrade to {}", fixes.join(" / ")));
            }
            v
        })
        .collect();
    document["vulnerabilities"] = json!(vulnerabilities);
}
