//! ShellCheck's most frequent checks on RUN scripts, reported with ShellCheck's
//! codes, severities and messages the way Hadolint reports them: on the RUN's
//! line, at most one per RUN (Hadolint keeps the last comment ShellCheck makes
//! for an instruction), only for shells ShellCheck supports, with ARG/ENV names
//! of the stage known to hold safe values.
//!
//! In POSIX `sh` (the default shell) bashisms that Dockerfiles commonly
//! hit are reported as well: SC3040 (`set -o pipefail`), SC3046 (`source`) and
//! SC3014 (`==` in `[`), SC3009 (brace expansion).
//!
//! A RUN that does not parse as shell gets SC1072, as ShellCheck's parse
//! failures end with it.
//!
//! SC2002 (useless cat) is left out: ShellCheck made it optional, so Hadolint
//! does not report it. The ten checks and why: they are the ShellCheck findings Hadolint users meet
//! most on real Dockerfiles, because Dockerfile RUN lines are dense one-liners
//! with variables, command substitutions, `cd` and globs:
//! - SC2086 unquoted variable (the most common ShellCheck finding anywhere),
//! - SC2046 unquoted `$(...)`,
//! - SC2164 `cd` without `|| exit` (every `RUN cd dir; make`),
//! - SC2006 legacy backticks,
//! - SC2035 globs that may be read as options (`rm *.tmp`),
//! - SC2016 `$` inside single quotes (`echo '$PATH' >> ...`),
//! - SC1001 pointless backslash escapes (Windows paths in `\` mode; with its
//!   sibling SC1012 for `\t`, `\n`, `\r`),
//! - SC2028 `echo` with escape sequences,
//! - SC2126 `grep | wc -l` instead of `grep -c`,
//! - SC2155 `export X=$(cmd)` masking the exit status.

use std::collections::HashSet;

use crate::finding::Severity;
use crate::pragma::{self, Pragma};
use crate::rules::{hadolint_args, RawFinding};
use crate::shell::{Command, ParsedShell};
use crate::syntax::{Dockerfile, Kind};

/// Proxy variables Docker always passes to RUN.
const DEFAULT_VARS: [&str; 8] = [
    "HTTP_PROXY",
    "http_proxy",
    "HTTPS_PROXY",
    "https_proxy",
    "FTP_PROXY",
    "ftp_proxy",
    "NO_PROXY",
    "no_proxy",
];

struct Comment {
    pos: usize,
    code: &'static str,
    severity: Severity,
    message: String,
}

pub(crate) fn check(df: &Dockerfile, shells: &[Option<ParsedShell>]) -> Vec<RawFinding> {
    let mut out = Vec::new();
    let mut shell = String::from("/bin/sh");
    let mut vars: HashSet<String> = HashSet::new();
    for (ins, parsed) in df.instructions.iter().zip(shells) {
        let kind = match &ins.kind {
            Kind::Onbuild(inner) => inner.as_ref(),
            k => k,
        };
        match kind {
            Kind::From(_) => {
                shell = "/bin/sh".into();
                vars.clear();
            }
            Kind::Arg(args) => vars.extend(hadolint_args(args).iter().map(|(n, _)| n.clone())),
            Kind::Env(pairs) => vars.extend(pairs.iter().map(|(n, _)| n.clone())),
            Kind::Shell(args) => shell = args.joined(),
            Kind::Comment(text) => {
                if let Some(Pragma::Shell(s)) = pragma::parse(text) {
                    shell = s;
                }
            }
            Kind::Run(_) => {
                let Some(sh) = parsed else { continue };
                if !supported(&shell) {
                    continue;
                }
                if !sh.parsed {
                    // ShellCheck ends a failed parse with SC1072, the comment
                    // Hadolint then keeps for the RUN.
                    out.push(RawFinding {
                        code: "SC1072",
                        severity: Severity::Error,
                        message: "The script does not parse as shell. Fix any mentioned problems and try again.".into(),
                        line: ins.line,
                    });
                    continue;
                }
                let comments = comments(sh, &vars, is_posix_sh(&shell));
                if let Some(last) = comments.into_iter().max_by_key(|c| c.pos) {
                    out.push(RawFinding {
                        code: last.code,
                        severity: last.severity,
                        message: last.message.into(),
                        line: ins.line,
                    });
                }
            }
            _ => {}
        }
    }
    out
}

/// ShellCheck handles sh, bash, dash, ksh (and ash/busybox as sh).
fn supported(shell: &str) -> bool {
    let first = shell.split_whitespace().next().unwrap_or("");
    let base = first.rsplit(['/', '\\']).next().unwrap_or("");
    matches!(
        base,
        "sh" | "bash" | "dash" | "ksh" | "mksh" | "ash" | "busybox"
    )
}

/// `sh`/`dash`: ShellCheck's POSIX dialect, where bashisms are reported.
fn is_posix_sh(shell: &str) -> bool {
    let first = shell.split_whitespace().next().unwrap_or("");
    matches!(first.rsplit('/').next().unwrap_or(""), "sh" | "dash")
}

/// A variable name known to hold a value without blanks or globs.
fn safe_assignments(sh: &ParsedShell, known: &HashSet<String>) -> HashSet<String> {
    let mut safe: HashSet<String> = known.iter().cloned().collect();
    safe.extend(DEFAULT_VARS.iter().map(|s| s.to_string()));
    let assignments = sh
        .other_words
        .iter()
        .chain(sh.commands.iter().flat_map(|c| c.words.iter()))
        .filter(|w| w.assignment);
    for w in assignments {
        if let Some((name, value)) = w.raw.split_once('=') {
            let literal = !value.contains(['$', '`', ' ', '\t', '*', '?', '[']);
            if literal {
                safe.insert(name.trim_end_matches('+').to_string());
            } else {
                safe.remove(name);
            }
        }
    }
    safe
}

fn comments(sh: &ParsedShell, known: &HashSet<String>, posix: bool) -> Vec<Comment> {
    let mut out = Vec::new();
    let safe = safe_assignments(sh, known);
    let set_e = sh
        .commands
        .iter()
        .any(|c| c.is("set") && (c.has_flag("e") || c.has_arg("errexit")));

    for w in &sh.other_words {
        for ev in scan(&w.raw) {
            if let Event::Backtick(p) = ev {
                out.push(sc2006(w.pos + p));
            }
        }
    }

    for c in &sh.commands {
        command_comments(c, &safe, set_e, &mut out);
        if posix {
            bashisms(c, &mut out);
        }
    }

    // SC2126: `grep ... | wc -l`.
    for pipeline in &sh.pipelines {
        for pair in pipeline.windows(2) {
            let (Some(grep), Some(wc)) = (sh.commands.get(pair[0]), sh.commands.get(pair[1]))
            else {
                continue;
            };
            let counting = wc.is("wc") && wc.args.len() == 1 && wc.args[0] == "-l";
            if grep.is("grep")
                && counting
                && !grep.has_any_flag(&["o", "only-matching", "A", "B", "C"])
            {
                out.push(Comment {
                    pos: grep.pos,
                    code: "SC2126",
                    severity: Severity::Style,
                    message: "Consider using 'grep -c' instead of 'grep|wc -l'.".into(),
                });
            }
        }
    }
    out
}

fn sc2006(pos: usize) -> Comment {
    Comment {
        pos,
        code: "SC2006",
        severity: Severity::Style,
        message: "Use $(...) notation instead of legacy backticks `...`.".into(),
    }
}

/// Commands whose single-quoted arguments are meant for another interpreter.
fn single_quotes_ok(name: &str) -> bool {
    matches!(
        name,
        "trap"
            | "sh"
            | "bash"
            | "ksh"
            | "zsh"
            | "ssh"
            | "eval"
            | "xprop"
            | "alias"
            | "sudo"
            | "docker"
            | "podman"
            | "dpkg-query"
            | "jq"
            | "rename"
            | "rg"
            | "unset"
            | "su"
            | "envsubst"
            | "expr"
    ) || name.ends_with("awk")
        || name.starts_with("perl")
        || name.starts_with("python")
}

fn command_comments(c: &Command, safe: &HashSet<String>, set_e: bool, out: &mut Vec<Comment>) {
    let base = c.name.rsplit('/').next().unwrap_or(&c.name);
    let is_echo = base == "echo";

    // SC2164: cd whose failure is not handled.
    if base == "cd" && !c.checked && !set_e && c.args.last().map(String::as_str) != Some("..") {
        out.push(Comment {
            pos: c.pos,
            code: "SC2164",
            severity: Severity::Warning,
            message: "Use 'cd ... || exit' or 'cd ... || return' in case cd fails.".into(),
        });
    }

    if let Some(name_word) = &c.name_word {
        for ev in scan(&name_word.raw) {
            if let Event::PointlessEscape { pos, ch } = ev {
                out.push(pointless_escape(name_word.pos + pos, ch));
            }
        }
    }

    let declaration = matches!(
        base,
        "export" | "local" | "declare" | "readonly" | "typeset"
    );
    let mut end_of_options = false;
    for w in &c.words {
        let events = scan(&w.raw);
        // SC2155: export X=$(cmd).
        if declaration
            && w.assignment
            && events
                .iter()
                .any(|e| matches!(e, Event::Substitution { .. } | Event::Backtick(_)))
        {
            out.push(Comment {
                pos: w.pos,
                code: "SC2155",
                severity: Severity::Warning,
                message: "Declare and assign separately to avoid masking return values.".into(),
            });
        }
        if w.raw == "--" {
            end_of_options = true;
        }
        // SC2035: a glob first in a word can expand to an option.
        if !end_of_options
            && !is_echo
            && base != "printf"
            && (w.raw.starts_with('*') || w.raw.starts_with('?'))
        {
            out.push(Comment {
                pos: w.pos,
                code: "SC2035",
                severity: Severity::Info,
                message: "Use ./*glob* or -- *glob* so names with dashes won't become options."
                    .into(),
            });
        }
        for ev in &events {
            match ev {
                Event::Backtick(p) => out.push(sc2006(w.pos + p)),
                Event::Substitution { pos, quoted: false } if !w.assignment => out.push(Comment {
                    pos: w.pos + pos,
                    code: "SC2046",
                    severity: Severity::Warning,
                    message: "Quote this to prevent word splitting.".into(),
                }),
                Event::Variable {
                    pos,
                    name,
                    quoted: false,
                } if !w.assignment && !safe.contains(name) && splittable(name) => {
                    out.push(Comment {
                        pos: w.pos + pos,
                        code: "SC2086",
                        severity: Severity::Info,
                        message: "Double quote to prevent globbing and word splitting.".into(),
                    })
                }
                Event::SingleQuoted { pos, text } if has_expansion(text) => {
                    let ok = if base == "sed" {
                        sed_contra(text)
                    } else {
                        single_quotes_ok(base)
                    };
                    if !ok {
                        out.push(Comment {
                            pos: w.pos + pos,
                            code: "SC2016",
                            severity: Severity::Info,
                            message: "Expressions don't expand in single quotes, use double quotes for that.".into(),
                        });
                    }
                }
                Event::PointlessEscape { pos, ch } => out.push(pointless_escape(w.pos + pos, *ch)),
                Event::QuotedEscape { pos } if is_echo && !c.has_flag("e") => {
                    out.push(Comment {
                        pos: w.pos + pos,
                        code: "SC2028",
                        severity: Severity::Info,
                        message: "echo may not expand escape sequences. Use printf.".into(),
                    });
                }
                _ => {}
            }
        }
    }
}

/// SC3040, SC3046, SC3014: bash features a POSIX `sh` does not have.
fn bashisms(c: &Command, out: &mut Vec<Comment>) {
    if c.is("set") {
        for (i, w) in c.words.iter().enumerate() {
            let after_o =
                i > 0 && c.words[i - 1].raw.starts_with('-') && c.words[i - 1].raw.ends_with('o');
            if after_o && w.raw == "pipefail" {
                out.push(Comment {
                    pos: w.pos,
                    code: "SC3040",
                    severity: Severity::Warning,
                    message: "In POSIX sh, set option pipefail is undefined.".into(),
                });
            }
        }
    }
    for w in &c.words {
        for ev in scan(&w.raw) {
            if let Event::BraceExpansion(p) = ev {
                out.push(Comment {
                    pos: w.pos + p,
                    code: "SC3009",
                    severity: Severity::Warning,
                    message: "In POSIX sh, brace expansion is undefined.".into(),
                });
            }
        }
    }
    if c.is("source") {
        out.push(Comment {
            pos: c.pos,
            code: "SC3046",
            severity: Severity::Warning,
            message: "In POSIX sh, 'source' in place of '.' is undefined.".into(),
        });
    }
    if c.is("[") || c.is("test") {
        for w in c.words.iter().filter(|w| w.raw == "==") {
            out.push(Comment {
                pos: w.pos,
                code: "SC3014",
                severity: Severity::Warning,
                message: "In POSIX sh, == in place of = is undefined.".into(),
            });
        }
    }
}

/// SC1001 (`\o` is just `o`), or SC1012 for `\t`, `\n`, `\r`.
fn pointless_escape(pos: usize, ch: char) -> Comment {
    let special = match ch {
        'n' => Some("line feed"),
        't' => Some("tab"),
        'r' => Some("carriage return"),
        _ => None,
    };
    match special {
        Some(name) => Comment {
            pos,
            code: "SC1012",
            severity: Severity::Warning,
            message: if ch == 'n' {
                format!("\\{ch} is just literal '{ch}' here. For {name}, use a quoted, literal line feed instead.")
            } else {
                format!("\\{ch} is just literal '{ch}' here. For {name}, use \"$(printf '\\{ch}')\" instead.")
            },
        },
        None => Comment {
            pos,
            code: "SC1001",
            severity: Severity::Info,
            message: format!("This \\{ch} will be a regular '{ch}' in this context."),
        },
    }
}

/// `$1`…, `$#`, `$?`, `$$`, `$!` hold no blanks; `$@`/`$*` have their own checks.
fn splittable(name: &str) -> bool {
    !(name.chars().all(|c| c.is_ascii_digit())
        || matches!(name, "#" | "?" | "$" | "!" | "-" | "@" | "*"))
}

/// ShellCheck's `\$[{(0-9a-zA-Z_]` or a backtick pair.
fn has_expansion(text: &str) -> bool {
    let b = text.as_bytes();
    let dollar = b.windows(2).any(|w| {
        w[0] == b'$'
            && (w[1] == b'{' || w[1] == b'(' || w[1].is_ascii_alphanumeric() || w[1] == b'_')
    });
    let ticks =
        text.matches('`').count() >= 2 && text.split('`').nth(1).is_some_and(|s| !s.is_empty());
    dollar || ticks
}

/// sed scripts use `$d`, `$p` for the last line.
fn sed_contra(text: &str) -> bool {
    let b = text.as_bytes();
    b.windows(2).enumerate().any(|(i, w)| {
        w[0] == b'$'
            && (w[1] == b'd' || w[1] == b'p')
            && b.get(i + 2).is_none_or(|c| !c.is_ascii_alphabetic())
    })
}

#[derive(Debug, PartialEq, Eq)]
enum Event {
    Variable {
        pos: usize,
        name: String,
        quoted: bool,
    },
    Substitution {
        pos: usize,
        quoted: bool,
    },
    Backtick(usize),
    SingleQuoted {
        pos: usize,
        text: String,
    },
    PointlessEscape {
        pos: usize,
        ch: char,
    },
    /// Unquoted `{a,b}` or `{1..3}`.
    BraceExpansion(usize),
    QuotedEscape {
        pos: usize,
    },
}

/// Walks a raw word, reporting expansions and quoting facts with character offsets.
fn scan(raw: &str) -> Vec<Event> {
    let chars: Vec<char> = raw.chars().collect();
    let mut events = Vec::new();
    let mut i = 0;
    let mut in_double = false;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\\' => {
                match chars.get(i + 1) {
                    Some(n) if !in_double && n.is_ascii_alphabetic() => {
                        events.push(Event::PointlessEscape { pos: i, ch: *n });
                    }
                    Some('a' | 'b' | 'e' | 'f' | 'n' | 'r' | 't' | 'v' | '0'..='7')
                        if in_double =>
                    {
                        events.push(Event::QuotedEscape { pos: i });
                    }
                    _ => {}
                }
                i += 2;
            }
            '"' => {
                in_double = !in_double;
                i += 1;
            }
            '\'' if !in_double => {
                let end = (i + 1..chars.len())
                    .find(|&j| chars[j] == '\'')
                    .unwrap_or(chars.len());
                let text: String = chars[i + 1..end].iter().collect();
                if text.contains("\\") {
                    let b = text.as_bytes();
                    if b.windows(2)
                        .any(|w| w[0] == b'\\' && b"abefnrtv".contains(&w[1]))
                    {
                        events.push(Event::QuotedEscape { pos: i });
                    }
                }
                events.push(Event::SingleQuoted { pos: i, text });
                i = end + 1;
            }
            '`' => {
                events.push(Event::Backtick(i));
                let mut j = i + 1;
                while j < chars.len() && chars[j] != '`' {
                    if chars[j] == '\\' {
                        j += 1;
                    }
                    j += 1;
                }
                i = j + 1;
            }
            '{' if !in_double => {
                let end = close(&chars, i, '{', '}');
                if end < chars.len() {
                    let inner: String = chars[i + 1..end].iter().collect();
                    if !inner.contains(char::is_whitespace)
                        && (inner.contains(',') || inner.contains(".."))
                    {
                        events.push(Event::BraceExpansion(i));
                    }
                }
                i += 1;
            }
            '$' => match chars.get(i + 1) {
                Some('(') => {
                    let arithmetic = chars.get(i + 2) == Some(&'(');
                    let end = close(&chars, i + 1, '(', ')');
                    if !arithmetic {
                        events.push(Event::Substitution {
                            pos: i,
                            quoted: in_double,
                        });
                    }
                    i = end + 1;
                }
                Some('{') => {
                    let end = close(&chars, i + 1, '{', '}');
                    let inner: String = chars[(i + 2).min(chars.len())..end.min(chars.len())]
                        .iter()
                        .collect();
                    if !inner.starts_with('#') && !inner.starts_with('!') {
                        let name: String = inner
                            .chars()
                            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                            .collect();
                        let name = if name.is_empty() {
                            inner.chars().take(1).collect()
                        } else {
                            name
                        };
                        let is_array = inner[name.len().min(inner.len())..].starts_with('[');
                        if !is_array {
                            events.push(Event::Variable {
                                pos: i,
                                name,
                                quoted: in_double,
                            });
                        }
                    }
                    i = end + 1;
                }
                Some('\'') if !in_double => {
                    let end = (i + 2..chars.len())
                        .find(|&j| chars[j] == '\'')
                        .unwrap_or(chars.len());
                    i = end + 1;
                }
                Some(&n) if n.is_ascii_alphabetic() || n == '_' => {
                    let mut j = i + 1;
                    while j < chars.len() && (chars[j].is_ascii_alphanumeric() || chars[j] == '_') {
                        j += 1;
                    }
                    let name: String = chars[i + 1..j].iter().collect();
                    events.push(Event::Variable {
                        pos: i,
                        name,
                        quoted: in_double,
                    });
                    i = j;
                }
                Some(&n) if n.is_ascii_digit() || "@*#?$!-".contains(n) => {
                    events.push(Event::Variable {
                        pos: i,
                        name: n.to_string(),
                        quoted: in_double,
                    });
                    i += 2;
                }
                _ => i += 1,
            },
            _ => i += 1,
        }
    }
    events
}

fn close(chars: &[char], open: usize, o: char, c: char) -> usize {
    let mut depth = 0usize;
    let mut j = open;
    let mut quote: Option<char> = None;
    while j < chars.len() {
        let ch = chars[j];
        match quote {
            Some(q) if ch == q => quote = None,
            Some('"') if ch == '\\' => j += 1,
            Some(_) => {}
            None if ch == '\\' => j += 1,
            None if ch == '\'' || ch == '"' => quote = Some(ch),
            None if ch == o => depth += 1,
            None if ch == c => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return j;
                }
            }
            None => {}
        }
        j += 1;
    }
    chars.len()
}

#[cfg(test)]
mod tests {
    use crate::{lint_str, LintConfig};

    fn sc(src: &str) -> Vec<(usize, String)> {
        lint_str(src, "D", &LintConfig::default())
            .into_iter()
            .filter(|f| f.code.starts_with("SC"))
            .map(|f| (f.line, f.code))
            .collect()
    }

    fn fires(code: &str, run: &str) -> bool {
        sc(&format!("FROM debian:12\nRUN {run}\n"))
            .iter()
            .any(|(_, c)| c == code)
    }

    #[test]
    fn sc2086() {
        assert!(fires("SC2086", "echo $foo"));
        assert!(!fires("SC2086", "echo \"$foo\" $1 $#"));
        // ARG/ENV values are known (Hadolint exports them as plain values).
        assert!(sc("FROM debian:12\nARG V=1\nRUN echo $V\n").is_empty());
        assert!(!fires("SC2086", "V=1.2 && curl -o /x https://e/$V"));
    }

    #[test]
    fn sc2046() {
        assert!(fires("SC2046", "kill $(cat pid)"));
        assert!(!fires("SC2046", "kill \"$(cat pid)\""));
    }

    #[test]
    fn sc2164() {
        assert!(fires("SC2164", "cd /x; make"));
        assert!(!fires("SC2164", "cd /x && make"));
        assert!(!fires("SC2164", "set -e; cd /x; make"));
    }

    #[test]
    fn sc2006() {
        assert!(fires("SC2006", "echo \"`date`\""));
        assert!(!fires("SC2006", "echo \"$(date)\""));
    }

    #[test]
    fn sc2035() {
        assert!(fires("SC2035", "rm *.tmp"));
        assert!(!fires("SC2035", "rm ./*.tmp && rm -- *.log"));
    }

    #[test]
    fn sc2016() {
        assert!(fires(
            "SC2016",
            "echo 'eval \"$(direnv hook bash)\"' >> /root/.bashrc"
        ));
        assert!(!fires("SC2016", "awk '{print $1}' f && sed -n '$p' f"));
    }

    #[test]
    fn sc1001() {
        assert!(fires("SC1001", "copy C:\\out x"));
        assert!(fires("SC1012", "C:\\tools /q"));
        assert!(!fires("SC1001", "echo \\$HOME"));
    }

    #[test]
    fn sc2028() {
        assert!(fires("SC2028", "echo \"a\\nb\""));
        assert!(!fires("SC2028", "printf 'a\\nb'"));
    }

    #[test]
    fn sc2126() {
        assert!(fires("SC2126", "ps aux | grep -v grep | wc -l"));
        assert!(!fires(
            "SC2126",
            "grep -c x f && cat /etc/passwd | grep root"
        ));
    }

    #[test]
    fn sc2155() {
        assert!(fires("SC2155", "export D=$(date)"));
        assert!(!fires("SC2155", "D=$(date) && export D"));
    }

    #[test]
    fn sc1072_when_the_script_does_not_parse() {
        assert!(fires("SC1072", "apt-get update && "));
        assert!(!fires("SC1072", "apt-get update"));
    }

    #[test]
    fn posix_sh_bashisms() {
        assert!(fires("SC3040", "set -o pipefail && curl x | sh"));
        assert!(fires("SC3046", "source /etc/profile"));
        assert!(fires("SC3009", "mkdir -p /a/{b,c}"));
        assert!(!fires("SC3009", "echo \"{a,b}\" ${x}"));
        assert!(fires("SC3014", "[ \"$(id -u)\" == 0 ]"));
        let bash =
            "FROM debian:12\nSHELL [\"/bin/bash\", \"-c\"]\nRUN set -o pipefail && source /x\n";
        assert!(sc(bash).is_empty());
    }

    #[test]
    fn one_per_run_last_wins_and_shells() {
        assert_eq!(
            sc("FROM debian:12\nRUN echo $a `date`\n"),
            vec![(2, "SC2006".to_string())]
        );
        assert_eq!(
            sc("FROM debian:12\nRUN echo `date` $a\n"),
            vec![(2, "SC2086".to_string())]
        );
        assert!(sc("FROM w:1\nSHELL [\"powershell\", \"-Command\"]\nRUN echo $a\n").is_empty());
        assert!(!sc(
            "FROM w:1\nSHELL [\"cmd\", \"/S\", \"/C\"]\n# hadolint shell=bash\nRUN echo $a\n"
        )
        .is_empty());
    }
}
