//! RUN rules that keep state across instructions: archives extracted after a
//! COPY, consecutive RUNs, wget next to curl, and pipes without pipefail.

use std::collections::BTreeSet;

use super::super::{is_archive, Out, Rule, Step};
use crate::finding::Severity::{Info, Warning};
use crate::syntax::{drop_quotes, Flag, Kind};

/// DL3010: an archive COPYed in and then extracted by RUN (last stage only).
#[derive(Default)]
pub(super) struct Dl3010 {
    archives: Vec<(usize, String)>,
    extracted: BTreeSet<usize>,
}

fn basename(p: &str) -> &str {
    let p = drop_quotes(p);
    p.rsplit(['/', '\\']).next().unwrap_or(p)
}

impl Rule for Dl3010 {
    fn step(&mut self, step: &Step<'_>, _out: &mut Out) {
        match step.kind {
            Kind::From(_) => {
                self.archives.clear();
                self.extracted.clear();
            }
            Kind::Copy(c) if c.from().is_none() => {
                if is_archive(&c.dest) {
                    self.archives
                        .push((step.line, basename(&c.dest).to_string()));
                } else {
                    for src in &c.sources {
                        let b = basename(src);
                        if is_archive(b) {
                            self.archives.push((step.line, b.to_string()));
                        }
                    }
                }
            }
            Kind::Run(_) => {
                let Some(sh) = step.shell else { return };
                for c in &sh.commands {
                    let tar_extract = c.is("tar")
                        && c.args.iter().any(|a| {
                            a == "--extract"
                                || a == "--get"
                                || (a.starts_with('-') && a.contains('x'))
                        });
                    let unzip = matches!(
                        c.name.as_str(),
                        "unzip"
                            | "gunzip"
                            | "bunzip2"
                            | "unlzma"
                            | "unxz"
                            | "zgz"
                            | "uncompress"
                            | "zcat"
                            | "gzcat"
                    );
                    if !(tar_extract || unzip) {
                        continue;
                    }
                    let names: Vec<&str> = c.args_no_flags().into_iter().map(basename).collect();
                    for (line, archive) in &self.archives {
                        if names.contains(&archive.as_str()) {
                            self.extracted.insert(*line);
                        }
                    }
                }
            }
            _ => {}
        }
    }

    fn finish(&mut self, out: &mut Out) {
        for line in &self.extracted {
            out.push(
                "DL3010",
                Info,
                "Use `ADD` for extracting archives into an image",
                *line,
            );
        }
    }
}

/// DL3059: consecutive RUNs that could be one (both single commands, same flags).
#[derive(Default)]
pub(super) struct Dl3059 {
    previous: Option<(Vec<Flag>, usize)>,
}

fn sorted_flags(flags: &[Flag]) -> Vec<Flag> {
    let mut f = flags.to_vec();
    f.sort_by(|a, b| (&a.name, &a.value).cmp(&(&b.name, &b.value)));
    f
}

impl Rule for Dl3059 {
    fn step(&mut self, step: &Step<'_>, out: &mut Out) {
        match step.kind {
            Kind::Run(run) => {
                // Hadolint counts commands as ShellCheck sees them: `[ ... ]` is
                // not one.
                let count = step.shell.map_or(0, |s| {
                    s.commands.iter().filter(|c| !c.is_bracket_test()).count()
                });
                let flags = sorted_flags(&run.flags);
                match &self.previous {
                    Some((prev_flags, prev_count))
                        if *prev_flags == flags && count <= 1 && *prev_count <= 1 =>
                    {
                        out.push(
                            "DL3059",
                            Info,
                            "Multiple consecutive `RUN` instructions. Consider consolidation.",
                            step.line,
                        );
                    }
                    _ => self.previous = Some((flags, count)),
                }
            }
            Kind::Comment(_) => {}
            _ => self.previous = None,
        }
    }
}

/// DL4001: both wget and curl in one stage.
#[derive(Default)]
pub(super) struct Dl4001 {
    used: BTreeSet<&'static str>,
}

impl Rule for Dl4001 {
    fn step(&mut self, step: &Step<'_>, out: &mut Out) {
        match step.kind {
            Kind::From(_) => self.used.clear(),
            Kind::Run(_) => {
                let Some(sh) = step.shell else { return };
                let mut here = BTreeSet::new();
                for c in &sh.commands {
                    match c.name.as_str() {
                        "curl" => {
                            here.insert("curl");
                        }
                        "wget" => {
                            here.insert("wget");
                        }
                        _ => {}
                    }
                }
                self.used.extend(here.iter().copied());
                if !here.is_empty() && self.used.len() >= 2 {
                    out.push(
                        "DL4001",
                        Warning,
                        "Either use Wget or Curl but not both",
                        step.line,
                    );
                }
            }
            _ => {}
        }
    }
}

/// DL4006: a RUN with a pipe and no `-o pipefail` SHELL in the stage.
pub(super) struct Dl4006 {
    pub(super) pipefail: bool,
}

const NON_POSIX_SHELLS: [&str; 3] = ["pwsh", "powershell", "cmd"];

impl Rule for Dl4006 {
    fn step(&mut self, step: &Step<'_>, out: &mut Out) {
        match step.kind {
            Kind::From(_) => self.pipefail = false,
            Kind::Shell(args) => {
                let text = args.joined();
                let Some(sh) = step.shell else { return };
                self.pipefail = NON_POSIX_SHELLS.iter().any(|s| text.starts_with(s))
                    || sh.any(|c| {
                        let base = c.name.rsplit(['/', '\\']).next().unwrap_or("");
                        matches!(base, "bash" | "zsh" | "ash")
                            && c.has_flag("o")
                            && c.has_arg("pipefail")
                    });
            }
            Kind::Run(_) if !self.pipefail && step.shell.is_some_and(|s| s.has_pipes) => {
                out.push(
                    "DL4006",
                    Warning,
                    "Set the SHELL option -o pipefail before RUN with a pipe in it. If you are using /bin/sh in an alpine image or if your shell is symlinked to busybox then consider explicitly setting your SHELL to /bin/ash, or disable this check",
                    step.line,
                );
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::super::test_support::{assert_rule, df, lines};

    #[test]
    fn dl3010() {
        assert_rule(
            "DL3010",
            &df("COPY app.tar.gz /tmp/\nRUN tar -xzf /tmp/app.tar.gz"),
            &df("COPY app.tar.gz /tmp/\nRUN ls /tmp/app.tar.gz"),
        );
    }

    #[test]
    fn dl3059() {
        assert_rule(
            "DL3059",
            &df("RUN a\nRUN b"),
            &df("RUN a && b\nRUN c\nCOPY x /y\nRUN d"),
        );
        assert_eq!(lines(&df("RUN a\n# note\nRUN b"), "DL3059"), vec![4]);
        // A bare `[` is a test, not a command (a quoted one or `test` is).
        assert_eq!(
            lines(
                "FROM alpine:3.10\nRUN apk add --no-cache ca-certificates\nRUN [ ! -e /etc/x ] && echo a > /etc/x\n",
                "DL3059"
            ),
            vec![3]
        );
        assert_eq!(
            lines(
                &df("RUN a\nRUN if [ -e x ]; then b; fi\nRUN [ -e y ]"),
                "DL3059"
            ),
            vec![3, 4]
        );
        assert!(lines(&df("RUN a\nRUN test -e x && b"), "DL3059").is_empty());
        assert!(lines(&df("RUN a\nRUN \"[\" -e x ] && b"), "DL3059").is_empty());
    }

    #[test]
    fn dl4001() {
        assert_rule(
            "DL4001",
            &df("RUN wget -q x\nRUN curl y"),
            &df("RUN curl x\nFROM b:1\nRUN wget -q y"),
        );
    }

    #[test]
    fn dl4006() {
        assert_rule(
            "DL4006",
            &df("RUN curl x | sh"),
            &df("SHELL [\"/bin/bash\", \"-o\", \"pipefail\", \"-c\"]\nRUN curl x | sh"),
        );
    }
}
