//! `ferry lint`: Hadolint-compatible command line (arguments after `lint`).
//!
//! Exit codes follow Hadolint: 1 when a finding reaches the failure threshold
//! (unless `--no-fail`) or a file cannot be read, 0 otherwise; configuration and
//! usage errors exit 2.

use std::ffi::OsString;
use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};

use clap::Parser;

use crate::config::{self, ConfigLayer, LintConfig};
use crate::finding::{Severity, Threshold};
use crate::format::{self, FileReport, Format, RenderOptions};

#[derive(Debug, Parser)]
#[command(
    name = "ferry lint",
    about = "Lint Dockerfiles with Hadolint's rules, configuration and output formats",
    disable_version_flag = true
)]
struct Args {
    /// Dockerfiles to lint (`-` reads standard input).
    #[arg(value_name = "DOCKERFILE")]
    files: Vec<PathBuf>,
    /// Show the version.
    #[arg(short = 'v', long = "version")]
    version: bool,
    /// Path to the configuration file (instead of the usual lookup).
    #[arg(short = 'c', long = "config", value_name = "FILENAME")]
    config: Option<PathBuf>,
    /// File path to show in reports (useful for stdin).
    #[arg(long = "file-path-in-report", value_name = "FILEPATHINREPORT")]
    file_path_in_report: Option<String>,
    /// Write the report to this file.
    #[arg(short = 'o', long = "output", value_name = "OUTPUT")]
    output: Option<PathBuf>,
    /// Don't exit with a failure status code when any rule is violated.
    #[arg(long = "no-fail")]
    no_fail: bool,
    /// Don't colorize output.
    #[arg(long = "no-color")]
    no_color: bool,
    /// Print the effective configuration to stderr.
    #[arg(short = 'V', long = "verbose")]
    verbose: bool,
    /// Output format: tty, json, checkstyle, codeclimate, gitlab_codeclimate, gnu, codacy, sonarqube, sarif, junit.
    #[arg(short = 'f', long = "format", value_name = "FORMAT")]
    format: Option<String>,
    /// Make the rule have the level `error`.
    #[arg(long = "error", value_name = "RULECODE")]
    error: Vec<String>,
    /// Make the rule have the level `warning`.
    #[arg(long = "warning", value_name = "RULECODE")]
    warning: Vec<String>,
    /// Make the rule have the level `info`.
    #[arg(long = "info", value_name = "RULECODE")]
    info: Vec<String>,
    /// Make the rule have the level `style`.
    #[arg(long = "style", value_name = "RULECODE")]
    style: Vec<String>,
    /// A rule to ignore.
    #[arg(long = "ignore", value_name = "RULECODE")]
    ignore: Vec<String>,
    /// A registry allowed in FROM (globs such as `*.example.com` allowed).
    #[arg(long = "trusted-registry", value_name = "REGISTRY")]
    trusted_registry: Vec<String>,
    /// Require a label with a format, e.g. `maintainer:text`.
    #[arg(long = "require-label", value_name = "LABELSCHEMA")]
    require_label: Vec<String>,
    /// Do not permit labels other than those in the label schema.
    #[arg(long = "strict-labels")]
    strict_labels: bool,
    /// Ignore `# hadolint ignore=` pragmas.
    #[arg(long = "disable-ignore-pragma")]
    disable_ignore_pragma: bool,
    /// Fail only on findings at or above: error, warning, info, style, ignore, none.
    #[arg(short = 't', long = "failure-threshold", value_name = "THRESHOLD")]
    failure_threshold: Option<String>,
}

/// Runs `ferry lint` with the arguments that follow `lint`; returns the exit code.
pub fn run(args: Vec<OsString>) -> i32 {
    let argv = std::iter::once(OsString::from("ferry lint")).chain(args);
    let args = match Args::try_parse_from(argv) {
        Ok(a) => a,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return code;
        }
    };
    if args.version {
        println!(
            "ferry lint {} (Hadolint-compatible rules)",
            env!("CARGO_PKG_VERSION")
        );
        return 0;
    }
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    let env = |k: &str| std::env::var(k).ok();
    let config = match effective_config(&args, &cwd, &env) {
        Ok(c) => c,
        Err(message) => {
            eprintln!("ferry lint: {message}");
            return 2;
        }
    };
    let format: Format = match config.format.as_deref().unwrap_or("tty").parse() {
        Ok(f) => f,
        Err(e) => {
            eprintln!("ferry lint: {e}");
            return 2;
        }
    };
    if args.verbose {
        eprintln!("ferry lint: effective configuration: {config:#?}");
    }

    if args.files.is_empty() {
        eprintln!("ferry lint: please provide a Dockerfile (or `-` to read standard input)");
        return 1;
    }
    let files = args.files.clone();
    let mut reports = Vec::with_capacity(files.len());
    let mut read_error = false;
    for path in &files {
        let shown = args
            .file_path_in_report
            .clone()
            .unwrap_or_else(|| path.display().to_string());
        let text = match read_input(path) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("ferry lint: {}: {e}", path.display());
                read_error = true;
                continue;
            }
        };
        reports.push(FileReport {
            findings: crate::lint_str(&text, &shown, &config),
            file: shown,
        });
    }

    let to_terminal = args.output.is_none() && std::io::stdout().is_terminal();
    let options = RenderOptions {
        color: to_terminal && !config.no_color,
    };
    let rendered = format::render(format, &reports, options);
    if let Err(e) = write_output(args.output.as_deref(), &rendered) {
        eprintln!("ferry lint: cannot write report: {e}");
        return 1;
    }

    let failed = reports
        .iter()
        .flat_map(|r| &r.findings)
        .any(|f| config.failure_threshold.reached_by(f.severity));
    if read_error || (failed && !config.no_fail) {
        1
    } else {
        0
    }
}

fn read_input(path: &Path) -> std::io::Result<String> {
    let bytes = if path.as_os_str() == "-" {
        let mut buf = Vec::new();
        std::io::stdin().read_to_end(&mut buf)?;
        buf
    } else {
        std::fs::read(path)?
    };
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

fn write_output(path: Option<&Path>, text: &str) -> std::io::Result<()> {
    match path {
        Some(p) => std::fs::write(p, text),
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(text.as_bytes())?;
            out.flush()
        }
    }
}

/// Defaults < config file < environment < flags.
fn effective_config(
    args: &Args,
    cwd: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<LintConfig, String> {
    let mut cfg = LintConfig::default();
    if let Some(layer) =
        config::load_config_file(args.config.as_deref(), cwd, env).map_err(|e| e.to_string())?
    {
        cfg.merge(layer);
    }
    cfg.merge(config::env_layer(env).map_err(|e| e.to_string())?);
    cfg.merge(cli_layer(args)?);
    Ok(cfg)
}

fn cli_layer(args: &Args) -> Result<ConfigLayer, String> {
    let mut layer = ConfigLayer {
        ignored: args.ignore.clone(),
        trusted_registries: args.trusted_registry.clone(),
        label_schema: config::require_labels(&args.require_label).map_err(|e| e.to_string())?,
        format: args.format.clone(),
        ..ConfigLayer::default()
    };
    for (codes, severity) in [
        (&args.error, Severity::Error),
        (&args.warning, Severity::Warning),
        (&args.info, Severity::Info),
        (&args.style, Severity::Style),
    ] {
        layer
            .overrides
            .extend(codes.iter().map(|c| (c.clone(), severity)));
    }
    if let Some(t) = &args.failure_threshold {
        layer.failure_threshold = Some(
            t.parse::<Threshold>()
                .map_err(|e| format!("--failure-threshold: {e}"))?,
        );
    }
    if args.no_fail {
        layer.no_fail = Some(true);
    }
    if args.no_color {
        layer.no_color = Some(true);
    }
    if args.strict_labels {
        layer.strict_labels = Some(true);
    }
    if args.disable_ignore_pragma {
        layer.disable_ignore_pragma = Some(true);
    }
    Ok(layer)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Args {
        Args::try_parse_from(std::iter::once("ferry lint").chain(args.iter().copied()))
            .expect("parses")
    }

    #[test]
    fn flags_map_to_config() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(
            dir.path().join(".hadolint.yaml"),
            "ignored: [DL3000]\nfailure-threshold: error\n",
        )
        .expect("write");
        let args = parse(&[
            "--ignore",
            "DL3001",
            "--ignore",
            "DL3002",
            "--error",
            "DL3059",
            "-t",
            "warning",
            "--trusted-registry",
            "my.reg",
            "--require-label",
            "maintainer:text",
            "--strict-labels",
            "--disable-ignore-pragma",
            "--no-fail",
            "--no-color",
            "-f",
            "json",
            "Dockerfile",
        ]);
        let no_env = |_: &str| None;
        let cfg = effective_config(&args, dir.path(), &no_env).expect("valid");
        assert_eq!(cfg.ignored, vec!["DL3000", "DL3001", "DL3002"]);
        assert_eq!(cfg.failure_threshold, Threshold::Warning);
        assert_eq!(cfg.overrides.get("DL3059"), Some(&Severity::Error));
        assert_eq!(cfg.trusted_registries, vec!["my.reg"]);
        assert_eq!(cfg.label_schema.len(), 1);
        assert!(cfg.strict_labels && cfg.disable_ignore_pragma && cfg.no_fail && cfg.no_color);
        assert_eq!(cfg.format.as_deref(), Some("json"));
    }

    #[test]
    fn bad_threshold_is_a_config_error() {
        let args = parse(&["-t", "loud"]);
        let dir = tempfile::tempdir().expect("tempdir");
        let err = effective_config(&args, dir.path(), &|_: &str| None).expect_err("bad");
        assert!(err.contains("--failure-threshold"), "{err}");
    }

    #[test]
    fn exit_codes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let bad = dir.path().join("bad");
        std::fs::write(&bad, "FROM debian\n").expect("write");
        let good = dir.path().join("good");
        std::fs::write(&good, "FROM debian:12\n").expect("write");
        let out = dir.path().join("out.json");
        let run_with = |extra: &[&str], file: &Path| {
            let mut v: Vec<OsString> = extra.iter().map(OsString::from).collect();
            v.extend(["-c".into(), dir.path().join("none.yaml").into_os_string()]);
            v.extend([
                "-o".into(),
                out.clone().into_os_string(),
                file.as_os_str().to_owned(),
            ]);
            run(v)
        };
        std::fs::write(dir.path().join("none.yaml"), "").expect("write");
        assert_eq!(run_with(&[], &bad), 1);
        assert_eq!(run_with(&[], &good), 0);
        assert_eq!(run_with(&["--no-fail"], &bad), 0);
        assert_eq!(run_with(&["-t", "error"], &bad), 0);
        assert_eq!(run_with(&["-f", "nope"], &bad), 2);
        assert_eq!(run_with(&[], &dir.path().join("missing")), 1);
        assert_eq!(run_with(&["-f", "json"], &bad), 1);
        let json = std::fs::read_to_string(&out).expect("report");
        assert!(json.contains("\"code\":\"DL3006\""), "{json}");
    }
}
