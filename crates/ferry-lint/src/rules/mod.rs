//! The rule engine: every rule sees the instructions in order (Hadolint's fold),
//! may keep state, and reports findings as it goes or at the end.
//!
//! Rules Hadolint also applies inside `ONBUILD` get a second, independent
//! instance that sees only the unwrapped `ONBUILD` instructions.

mod instructions;
mod labels;
mod packages;

use std::borrow::Cow;

use crate::finding::Severity;
use crate::shell::{self, ParsedShell};
use crate::syntax::{Arguments, Dockerfile, Kind, Run};

pub use labels::LabelType;

/// A finding before configuration (ignores, overrides) is applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawFinding {
    pub code: &'static str,
    pub severity: Severity,
    pub message: Cow<'static, str>,
    pub line: usize,
}

/// Where rules put their findings.
#[derive(Default)]
pub struct Out {
    pub findings: Vec<RawFinding>,
}

impl Out {
    pub fn push(
        &mut self,
        code: &'static str,
        severity: Severity,
        message: impl Into<Cow<'static, str>>,
        line: usize,
    ) {
        self.findings.push(RawFinding {
            code,
            severity,
            message: message.into(),
            line,
        });
    }
}

/// What a rule sees of one instruction.
pub struct Step<'a> {
    pub line: usize,
    pub kind: &'a Kind,
    /// The shell parse of a RUN (or SHELL) instruction.
    pub shell: Option<&'a ParsedShell>,
}

impl Step<'_> {
    /// The parsed RUN script, when this step is a RUN.
    pub fn run(&self) -> Option<(&Run, &ParsedShell)> {
        match (self.kind, self.shell) {
            (Kind::Run(r), Some(s)) => Some((r, s)),
            _ => None,
        }
    }
}

/// A rule: sees each step, may report at the end.
pub trait Rule {
    fn step(&mut self, step: &Step<'_>, out: &mut Out);
    fn finish(&mut self, _out: &mut Out) {}
}

/// A stateless rule: `ok` says whether the instruction passes.
pub struct Simple {
    pub code: &'static str,
    pub severity: Severity,
    pub message: &'static str,
    pub ok: fn(&Step<'_>) -> bool,
}

impl Rule for Simple {
    fn step(&mut self, step: &Step<'_>, out: &mut Out) {
        if !(self.ok)(step) {
            out.push(self.code, self.severity, self.message, step.line);
        }
    }
}

/// Settings rules take from the configuration.
#[derive(Debug, Clone, Default)]
pub struct RuleSettings {
    /// `trustedRegistries` (globs allowed).
    pub trusted_registries: Vec<String>,
    /// `label-schema`: label name → expected format.
    pub label_schema: Vec<(String, LabelType)>,
    pub strict_labels: bool,
}

/// A rule instance and whether it also runs inside ONBUILD.
pub struct Entry {
    pub rule: Box<dyn Rule>,
    pub onbuild: Option<Box<dyn Rule>>,
}

fn all_rules(settings: &RuleSettings) -> Vec<Entry> {
    let mut entries = Vec::new();
    instructions::register(settings, &mut entries);
    packages::register(&mut entries);
    labels::register(settings, &mut entries);
    entries
}

/// The shell script Hadolint analyses for a RUN: the text, or the heredoc body
/// when the RUN is `RUN <<EOF [shell]`.
pub fn run_script(run: &Run) -> String {
    let text = run.args.joined();
    if run.heredocs.is_empty() {
        return text;
    }
    let trimmed = text.trim_start();
    if trimmed.starts_with("<<") {
        // `RUN <<EOF [interpreter]`: the body is the script when the
        // interpreter is a shell (or absent).
        let rest: String = trimmed
            .split_whitespace()
            .filter(|w| !w.starts_with("<<"))
            .collect::<Vec<_>>()
            .join(" ");
        let interpreter = rest.split_whitespace().next().unwrap_or("");
        let base = interpreter.rsplit('/').next().unwrap_or("");
        if rest.is_empty() {
            return run.heredocs[0].body.clone();
        }
        if matches!(base, "sh" | "bash" | "ash" | "dash" | "zsh" | "ksh") {
            return format!("{rest}\n{}", run.heredocs[0].body);
        }
        return rest;
    }
    // `cmd <<EOF ...`: the bodies are data for the command. They are left out
    // and the markers blanked, so the shell parser (whose heredoc handling has
    // known panics) sees just the commands.
    crate::syntax::blank_heredoc_markers(&text)
}

/// Parses the shell of a RUN or SHELL instruction (also inside ONBUILD).
pub fn shell_of(kind: &Kind) -> Option<ParsedShell> {
    match kind {
        Kind::Run(run) => Some(shell::parse(&run_script(run))),
        Kind::Shell(args) => Some(shell::parse(&args.joined())),
        Kind::Onbuild(inner) => shell_of(inner),
        _ => None,
    }
}

/// Runs every rule over a parsed Dockerfile.
pub fn check(
    df: &Dockerfile,
    settings: &RuleSettings,
    shells: &[Option<ParsedShell>],
) -> Vec<RawFinding> {
    let mut entries = all_rules(settings);
    let mut out = Out::default();
    for (ins, shell) in df.instructions.iter().zip(shells) {
        let step = Step {
            line: ins.line,
            kind: &ins.kind,
            shell: shell.as_ref(),
        };
        let inner = match &ins.kind {
            Kind::Onbuild(inner) => Some(Step {
                line: ins.line,
                kind: inner,
                shell: shell.as_ref(),
            }),
            _ => None,
        };
        for entry in &mut entries {
            entry.rule.step(&step, &mut out);
            if let (Some(rule), Some(inner)) = (&mut entry.onbuild, &inner) {
                rule.step(inner, &mut out);
            }
        }
    }
    for entry in &mut entries {
        entry.rule.finish(&mut out);
        if let Some(rule) = &mut entry.onbuild {
            rule.finish(&mut out);
        }
    }
    out.findings
}

/// Helpers shared by rule modules.
pub(crate) fn simple(
    code: &'static str,
    severity: Severity,
    message: &'static str,
    ok: fn(&Step<'_>) -> bool,
) -> Box<dyn Rule> {
    Box::new(Simple {
        code,
        severity,
        message,
        ok,
    })
}

pub(crate) fn entry(rule: Box<dyn Rule>) -> Entry {
    Entry {
        rule,
        onbuild: None,
    }
}

/// A rule that Hadolint also applies to ONBUILD contents.
pub(crate) fn entry_onbuild(make: impl Fn() -> Box<dyn Rule>) -> Entry {
    Entry {
        rule: make(),
        onbuild: Some(make()),
    }
}

/// The ARG declarations Hadolint sees: its parser keeps only the first name of
/// `ARG A B` or `ARG A=1 B=2` (checked against 2.15.1 with DL3044, DL3064,
/// DL3066, DL3033/DL3041 and ShellCheck's variables), though BuildKit
/// declares every one.
pub(crate) fn hadolint_args(args: &[(String, Option<String>)]) -> &[(String, Option<String>)] {
    &args[..args.len().min(1)]
}

/// Whether a RUN passes `ok` (true for anything that is not a RUN).
pub(crate) fn run_ok(step: &Step<'_>, ok: impl Fn(&ParsedShell) -> bool) -> bool {
    match step.run() {
        Some((_, shell)) => ok(shell),
        None => true,
    }
}

/// Hadolint's `isArchive` extensions (ADD auto-extracts these).
pub(crate) const ARCHIVE_EXTENSIONS: [&str; 15] = [
    ".tar", ".Z", ".bz2", ".gz", ".lz", ".lzma", ".tZ", ".tb2", ".tbz", ".tbz2", ".tgz", ".tlz",
    ".tpz", ".txz", ".xz",
];

pub(crate) fn is_archive(path: &str) -> bool {
    let p = crate::syntax::drop_quotes(path);
    ARCHIVE_EXTENSIONS.iter().any(|e| p.ends_with(e))
}

/// `Arguments` is shell form.
pub(crate) fn is_text(args: &Arguments) -> bool {
    matches!(args, Arguments::Text(_))
}

#[cfg(test)]
pub(crate) mod test_support {
    //! Lints a snippet with default settings and lists `line code` pairs.
    use super::*;

    pub fn codes_with(src: &str, settings: &RuleSettings) -> Vec<(usize, &'static str)> {
        let df = crate::syntax::parse(src).expect("snippet parses");
        let shells: Vec<_> = df.instructions.iter().map(|i| shell_of(&i.kind)).collect();
        let mut found: Vec<_> = check(&df, settings, &shells)
            .into_iter()
            .filter(|f| f.severity != Severity::Ignore)
            .map(|f| (f.line, f.code))
            .collect();
        found.sort();
        found
    }

    /// A Dockerfile: `FROM debian:12`, then `body`.
    pub fn df(body: &str) -> String {
        format!("FROM debian:12\n{body}\n")
    }

    pub fn codes(src: &str) -> Vec<(usize, &'static str)> {
        codes_with(src, &RuleSettings::default())
    }

    /// Lines where `code` fires.
    pub fn lines(src: &str, code: &str) -> Vec<usize> {
        codes(src)
            .into_iter()
            .filter(|(_, c)| *c == code)
            .map(|(l, _)| l)
            .collect()
    }

    /// Asserts `code` fires on `bad` and not on `good`.
    pub fn assert_rule(code: &str, bad: &str, good: &str) {
        assert!(
            !lines(bad, code).is_empty(),
            "{code} should fire on:\n{bad}\n got {:?}",
            codes(bad)
        );
        assert!(
            lines(good, code).is_empty(),
            "{code} should not fire on:\n{good}\n got {:?}",
            codes(good)
        );
    }
}
