//! Shell analysis of RUN (and SHELL) text: every simple command with its
//! arguments and flags, found across `&&`, `||`, `;`, pipes, subshells, brace
//! groups, loops, conditionals and command substitutions, using brush-parser's
//! bash AST.
//!
//! Arguments are "simplified" the way Hadolint sees them: quotes removed, and
//! every expansion (`$x`, `${x}`, `$(...)`, backticks, `$((...))`) replaced by
//! the placeholder `${VAR}`.

mod guard;
mod walk;
mod words;

pub use words::{simplify, with_names};

/// One argument word, simplified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    /// Command name as written (path kept), after `command`/`builtin`/`exec`/
    /// `busybox` wrappers.
    pub name: String,
    /// All words after the name (flags included), simplified.
    pub args: Vec<String>,
    /// Flags: (flag name, index in `args` of the word it came from). `--a=b`
    /// gives `a`, `-xyz` gives `x`, `y`, `z`.
    pub flags: Vec<(String, usize)>,
    /// Character offset of the command in the script.
    pub pos: usize,
    /// The exit status is tested (left of `&&`/`||`, an `if`/`while`
    /// condition, or inside such a construct).
    pub checked: bool,
    /// The argument words as written, with their offsets.
    pub words: Vec<Word>,
    /// The command-name word as written.
    pub name_word: Option<Word>,
}

/// A word as written in the script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Word {
    pub raw: String,
    /// Character offset in the script.
    pub pos: usize,
    /// `NAME=value` (a prefix assignment, or an argument of export/local/...).
    pub assignment: bool,
}

impl Command {
    fn new(name: String, args: Vec<String>) -> Command {
        let mut flags = Vec::new();
        for (i, a) in args.iter().enumerate() {
            if a == "--" || a == "-" {
                continue;
            }
            if let Some(long) = a.strip_prefix("--") {
                let name = long.split('=').next().unwrap_or("");
                flags.push((name.to_string(), i));
            } else if let Some(short) = a.strip_prefix('-') {
                for c in short.chars() {
                    flags.push((c.to_string(), i));
                }
            }
        }
        Command {
            name,
            args,
            flags,
            pos: 0,
            checked: false,
            words: Vec::new(),
            name_word: None,
        }
    }

    pub fn is(&self, name: &str) -> bool {
        self.name == name
    }

    /// `[ ... ]` written with a bare `[`: ShellCheck (and so Hadolint) parses it
    /// as a test expression, not as a command. `"["` or `/usr/bin/[` are commands.
    pub fn is_bracket_test(&self) -> bool {
        self.name_word.as_ref().is_some_and(|w| w.raw == "[")
    }

    /// Hadolint's `cmdHasArgs`: the command is `name` and one argument is in `any`.
    pub fn has_any_arg(&self, name: &str, any: &[&str]) -> bool {
        self.name == name && self.args.iter().any(|a| any.contains(&a.as_str()))
    }

    pub fn has_arg(&self, arg: &str) -> bool {
        self.args.iter().any(|a| a == arg)
    }

    pub fn has_flag(&self, flag: &str) -> bool {
        self.flags.iter().any(|(f, _)| f == flag)
    }

    pub fn has_any_flag(&self, flags: &[&str]) -> bool {
        self.flags.iter().any(|(f, _)| flags.contains(&f.as_str()))
    }

    fn is_flag_index(&self, i: usize) -> bool {
        self.flags.iter().any(|(_, idx)| *idx == i)
    }

    /// Arguments that are not flags.
    pub fn args_no_flags(&self) -> Vec<&str> {
        self.args
            .iter()
            .enumerate()
            .filter(|(i, _)| !self.is_flag_index(*i))
            .map(|(_, a)| a.as_str())
            .collect()
    }

    /// Arguments that are not flags, each with the word as written (for checks
    /// that need more than the simplified text).
    pub fn args_no_flags_with_raw(&self) -> Vec<(&str, &str)> {
        self.args
            .iter()
            .enumerate()
            .filter(|(i, _)| !self.is_flag_index(*i))
            .map(|(i, a)| {
                let raw = self.words.get(i).map_or(a.as_str(), |w| w.raw.as_str());
                (a.as_str(), raw)
            })
            .collect()
    }

    /// Non-flag arguments once the word after each of `value_flags` is dropped
    /// (Hadolint's `dropFlagArg`, which drops the next word even for `--f=v`).
    pub fn args_no_flags_dropping(&self, value_flags: &[&str]) -> Vec<&str> {
        let dropped: Vec<usize> = self
            .flags
            .iter()
            .filter(|(f, _)| value_flags.contains(&f.as_str()))
            .map(|(_, i)| i + 1)
            .collect();
        self.args
            .iter()
            .enumerate()
            .filter(|(i, _)| !self.is_flag_index(*i) && !dropped.contains(i))
            .map(|(_, a)| a.as_str())
            .collect()
    }

    /// The word following flag `flag` (Hadolint's `getFlagArg`).
    pub fn flag_values(&self, flag: &str) -> Vec<&str> {
        self.flags
            .iter()
            .filter(|(f, _)| f == flag)
            .filter_map(|(_, i)| self.args.get(i + 1).map(String::as_str))
            .collect()
    }

    /// `needle` occurs in the arguments as a contiguous run.
    pub fn has_arg_sequence(&self, needle: &[&str]) -> bool {
        !needle.is_empty()
            && self
                .args
                .windows(needle.len())
                .any(|w| w.iter().zip(needle).all(|(a, b)| a == b))
    }
}

/// A parsed shell script.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParsedShell {
    /// The script text as given.
    pub original: String,
    /// Simple commands in source order (outer before nested).
    pub commands: Vec<Command>,
    /// A `|` or `|&` pipeline with two or more commands is present.
    pub has_pipes: bool,
    /// The text parsed as shell.
    pub parsed: bool,
    /// Multi-command pipelines, as indices into `commands`.
    pub pipelines: Vec<Vec<usize>>,
    /// Every word outside command arguments (prefix assignments, loop lists,
    /// redirection targets), for checks that look at all words.
    pub other_words: Vec<Word>,
}

impl ParsedShell {
    pub fn any(&self, f: impl Fn(&Command) -> bool) -> bool {
        self.commands.iter().any(f)
    }

    pub fn none(&self, f: impl Fn(&Command) -> bool) -> bool {
        !self.commands.iter().any(f)
    }

    pub fn position(&self, f: impl Fn(&Command) -> bool) -> Option<usize> {
        self.commands.iter().position(f)
    }

    pub fn uses(&self, name: &str) -> bool {
        self.commands.iter().any(|c| c.name == name)
    }
}

/// Parses `script` as bash. A script that does not parse yields no commands.
pub fn parse(script: &str) -> ParsedShell {
    let mut out = ParsedShell {
        original: script.to_string(),
        ..ParsedShell::default()
    };
    let mut sink = walk::Sink::default();
    out.parsed = walk::collect(script, 0, 0, false, &mut sink);
    out.commands = sink.commands;
    out.has_pipes = sink.has_pipes;
    out.pipelines = sink.pipelines;
    out.other_words = sink.other_words;
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(script: &str) -> Vec<String> {
        parse(script).commands.into_iter().map(|c| c.name).collect()
    }

    #[test]
    fn commands_across_operators_and_nesting() {
        assert_eq!(
            names("apt-get update && (cd /x; make) | tee log || { echo no; }"),
            vec!["apt-get", "cd", "make", "tee", "echo"]
        );
        assert_eq!(
            names("if [ -f x ]; then rm x; fi; for f in $(ls); do cat $f; done"),
            vec!["[", "rm", "ls", "cat"]
        );
        assert_eq!(names("V=$(curl -s x) wget y"), vec!["wget", "curl"]);
        assert_eq!(names("echo `date`"), vec!["echo", "date"]);
        assert_eq!(names("FOO=1"), Vec::<String>::new());
        assert_eq!(names("$CMD arg"), Vec::<String>::new());
        assert_eq!(
            names("command -v x; busybox wget y"),
            vec!["command", "wget"]
        );
    }

    #[test]
    fn pipes_detected() {
        assert!(parse("curl x | sh").has_pipes);
        assert!(!parse("a || b && c").has_pipes);
        assert!(parse("(a | b)").has_pipes);
    }

    #[test]
    fn args_simplified_and_flags() {
        let p = parse("apt-get install -y --no-install-recommends \"foo\"=1.0 'bar' baz=$V");
        let c = &p.commands[0];
        assert_eq!(
            c.args,
            vec![
                "install",
                "-y",
                "--no-install-recommends",
                "foo=1.0",
                "bar",
                "baz=${VAR}"
            ]
        );
        assert!(c.has_flag("y") && c.has_flag("no-install-recommends"));
        assert_eq!(
            c.args_no_flags(),
            vec!["install", "foo=1.0", "bar", "baz=${VAR}"]
        );
        let p = parse("pip install -t /x --index-url=u foo bar");
        // Like Hadolint, `--f=v` still drops the word after it.
        assert_eq!(
            p.commands[0].args_no_flags_dropping(&["t", "index-url"]),
            vec!["install", "bar"]
        );
        let p = parse("useradd -u 100000 bob");
        assert_eq!(p.commands[0].flag_values("u"), vec!["100000"]);
    }

    #[test]
    fn heredoc_in_script_is_data() {
        assert_eq!(
            names("cat <<EOF > /x\napt-get install foo\nEOF\n"),
            vec!["cat"]
        );
    }

    #[test]
    fn bad_script_has_no_commands() {
        let p = parse("if then fi (");
        assert!(!p.parsed);
        assert!(p.commands.is_empty());
    }
}
