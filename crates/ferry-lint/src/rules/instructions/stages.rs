//! Rules that follow build stages: base image references, stage names and
//! aliases, and instructions that count once per stage.

use std::collections::{BTreeSet, HashSet};

use super::super::{Out, Rule, Step};
use crate::finding::Severity::{self, Error, Ignore, Warning};
use crate::syntax::{drop_quotes, BaseImage, Kind};

/// `$BUILDPLATFORM`, `${TARGETPLATFORM:-linux/amd64}` and the like.
pub(super) fn is_predefined_platform(p: &str) -> bool {
    [
        "$BUILDPLATFORM",
        "${BUILDPLATFORM",
        "$TARGETPLATFORM",
        "${TARGETPLATFORM",
    ]
    .iter()
    .any(|v| p.starts_with(v))
}

/// DL3006: FROM without a tag (unless scratch, a digest, a stage or a variable).
#[derive(Default)]
pub(super) struct Dl3006 {
    aliases: HashSet<String>,
}

impl Rule for Dl3006 {
    fn step(&mut self, step: &Step<'_>, out: &mut Out) {
        let Kind::From(from) = step.kind else { return };
        let untagged = from.tag.is_none()
            && from.digest.is_none()
            && from.name != "scratch"
            && !from.name.contains('$')
            && from.registry.as_deref().is_none_or(|r| !r.contains('$'))
            && !self.aliases.contains(&from.name);
        if untagged {
            out.push(
                "DL3006",
                Warning,
                "Always tag the version of an image explicitly",
                step.line,
            );
        }
        if let Some(a) = &from.alias {
            self.aliases.insert(a.clone());
        }
    }
}

/// A once-per-stage instruction repeated in a stage (HEALTHCHECK, CMD, ENTRYPOINT).
pub(super) struct PerStageRepeat {
    pub(super) code: &'static str,
    pub(super) severity: Severity,
    pub(super) message: &'static str,
    pub(super) matches: fn(&Kind) -> bool,
    pub(super) seen: bool,
}

impl Rule for PerStageRepeat {
    fn step(&mut self, step: &Step<'_>, out: &mut Out) {
        if matches!(step.kind, Kind::From(_)) {
            self.seen = false;
        } else if (self.matches)(step.kind) {
            if self.seen {
                out.push(self.code, self.severity, self.message, step.line);
            }
            self.seen = true;
        }
    }
}

/// DL3022: `COPY --from` names no earlier stage (an image reference or a stage
/// index below the number of stages so far is fine).
#[derive(Default)]
pub(super) struct Dl3022 {
    stages: usize,
    names: HashSet<String>,
}

impl Rule for Dl3022 {
    fn step(&mut self, step: &Step<'_>, out: &mut Out) {
        match step.kind {
            Kind::From(from) => {
                self.stages += 1;
                if let Some(a) = &from.alias {
                    self.names.insert(a.clone());
                }
            }
            Kind::Copy(c) => {
                let Some(src) = c.from() else { return };
                if drop_quotes(src).contains(':') || self.names.contains(src) {
                    return;
                }
                let digits: String = src.chars().take_while(|c| c.is_ascii_digit()).collect();
                if let Ok(index) = digits.parse::<usize>() {
                    if index < self.stages {
                        return;
                    }
                }
                out.push(
                    "DL3022",
                    Warning,
                    "`COPY --from` should reference a previously defined `FROM` alias",
                    step.line,
                );
            }
            _ => {}
        }
    }
}

/// DL3023: `COPY --from` names the stage it is in.
#[derive(Default)]
pub(super) struct Dl3023 {
    alias: Option<String>,
}

impl Rule for Dl3023 {
    fn step(&mut self, step: &Step<'_>, out: &mut Out) {
        match step.kind {
            Kind::From(from) => self.alias = Some(from.alias.clone().unwrap_or_default()),
            Kind::Copy(c) => {
                if let (Some(src), Some(alias)) = (c.from(), &self.alias) {
                    if !alias.is_empty() && src == alias {
                        out.push(
                            "DL3023",
                            Error,
                            "`COPY --from` cannot reference its own `FROM` alias",
                            step.line,
                        );
                    }
                }
            }
            _ => {}
        }
    }
}

/// DL3024: stage names must be unique.
#[derive(Default)]
pub(super) struct Dl3024 {
    aliases: HashSet<String>,
}

impl Rule for Dl3024 {
    fn step(&mut self, step: &Step<'_>, out: &mut Out) {
        if let Kind::From(BaseImage { alias: Some(a), .. }) = step.kind {
            if !self.aliases.insert(a.clone()) {
                out.push(
                    "DL3024",
                    Error,
                    "FROM aliases (stage names) must be unique",
                    step.line,
                );
            }
        }
    }
}

/// DL3026: FROM only from trusted registries (globs such as `*.example.com`).
pub(super) struct Dl3026 {
    pub(super) allowed: Vec<String>,
    pub(super) aliases: HashSet<String>,
}

/// `*` matches any run of characters.
pub(crate) fn glob_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if pi < p.len() && p[pi] == t[ti] {
            pi += 1;
            ti += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

impl Rule for Dl3026 {
    fn step(&mut self, step: &Step<'_>, out: &mut Out) {
        let Kind::From(from) = step.kind else { return };
        let is_stage = self.aliases.contains(&from.name);
        if let Some(a) = &from.alias {
            self.aliases.insert(a.clone());
        }
        if self.allowed.is_empty() || is_stage {
            return;
        }
        let allowed = |r: &str| self.allowed.iter().any(|g| glob_match(g, r));
        let ok = match &from.registry {
            Some(r) => allowed(r),
            None => from.name == "scratch" || allowed("docker.io") || allowed("hub.docker.com"),
        };
        if !ok {
            out.push(
                "DL3026",
                Error,
                "Use only an allowed registry in the FROM image",
                step.line,
            );
        }
    }
}

/// DL3057 (ignored by default): a stage without HEALTHCHECK that no
/// healthchecked stage is built on.
#[derive(Default)]
pub(super) struct Dl3057 {
    current: Option<(String, usize)>,
    good: Vec<(String, usize)>,
    bad: BTreeSet<(usize, String)>,
}

impl Rule for Dl3057 {
    fn step(&mut self, step: &Step<'_>, _out: &mut Out) {
        match step.kind {
            Kind::From(from) => {
                let id = (
                    from.alias.clone().unwrap_or_else(|| from.name.clone()),
                    step.line,
                );
                if self.good.iter().any(|(n, _)| *n == from.name) {
                    self.good.push(id.clone());
                } else {
                    self.bad.insert((id.1, id.0.clone()));
                }
                self.current = Some(id);
            }
            Kind::Healthcheck(_) => {
                if let Some((name, line)) = self.current.clone() {
                    self.bad.remove(&(line, name.clone()));
                    self.good.push((name, line));
                }
            }
            _ => {}
        }
    }

    fn finish(&mut self, out: &mut Out) {
        for (line, _) in &self.bad {
            out.push(
                "DL3057",
                Ignore,
                "`HEALTHCHECK` instruction missing.",
                *line,
            );
        }
    }
}

/// DL3061: only ARG and comments may come before the first FROM.
#[derive(Default)]
pub(super) struct Dl3061 {
    seen_from: bool,
}

impl Rule for Dl3061 {
    fn step(&mut self, step: &Step<'_>, out: &mut Out) {
        match step.kind {
            Kind::From(_) => self.seen_from = true,
            Kind::Comment(_) | Kind::Directive { .. } | Kind::Arg(_) => {}
            _ if !self.seen_from => out.push(
                "DL3061",
                Error,
                "Invalid instruction order. Dockerfile must begin with `FROM`, `ARG` or comment.",
                step.line,
            ),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::super::test_support::{assert_rule, codes_with, df, lines};
    use super::super::super::RuleSettings;
    use super::glob_match;

    #[test]
    fn dl3006() {
        assert_rule(
            "DL3006",
            "FROM debian\n",
            "FROM debian:12 AS base\nFROM base\nFROM scratch\nFROM ${IMG}\nFROM x@sha256:ab\n",
        );
    }

    #[test]
    fn dl3012() {
        assert_rule(
            "DL3012",
            &df("HEALTHCHECK CMD a\nHEALTHCHECK CMD b"),
            &df("HEALTHCHECK CMD a\nFROM x:1\nHEALTHCHECK NONE"),
        );
    }

    #[test]
    fn dl3022() {
        assert_rule(
            "DL3022",
            &df("COPY --from=nope /a /b"),
            "FROM a:1 AS build\nFROM b:1\nCOPY --from=build /a /b\nCOPY --from=0 /a /b\nCOPY --from=nginx:1 /a /b\n",
        );
    }

    #[test]
    fn dl3023() {
        assert_rule(
            "DL3023",
            "FROM a:1 AS x\nCOPY --from=x /a /b\n",
            "FROM a:1 AS x\nFROM b:1 AS y\nCOPY --from=x /a /b\n",
        );
    }

    #[test]
    fn dl3024() {
        assert_rule(
            "DL3024",
            "FROM a:1 AS x\nFROM b:1 AS x\n",
            "FROM a:1 AS x\nFROM b:1 AS y\n",
        );
    }

    #[test]
    fn dl3026() {
        let settings = RuleSettings {
            trusted_registries: vec!["*.corp.example".into(), "docker.io".into()],
            ..RuleSettings::default()
        };
        let found = |src: &str| {
            codes_with(src, &settings)
                .into_iter()
                .any(|(_, c)| c == "DL3026")
        };
        assert!(found("FROM quay.io/x/y:1\n"));
        assert!(!found("FROM reg.corp.example/x:1\nFROM debian:12\n"));
        assert!(glob_match("*.gcr.io", "eu.gcr.io") && !glob_match("*.gcr.io", "gcr.io"));
    }

    #[test]
    fn dl3061() {
        assert_rule(
            "DL3061",
            "RUN x\nFROM a:1\n",
            "ARG X=1\n# c\nFROM a:1\nRUN x\n",
        );
    }

    #[test]
    fn dl4003() {
        assert_rule(
            "DL4003",
            &df("CMD [\"a\"]\nCMD [\"b\"]"),
            &df("CMD [\"a\"]\nFROM b:1\nCMD [\"b\"]"),
        );
    }

    #[test]
    fn dl4004() {
        assert_rule(
            "DL4004",
            &df("ENTRYPOINT [\"a\"]\nENTRYPOINT [\"b\"]"),
            &df("ENTRYPOINT [\"a\"]"),
        );
    }

    #[test]
    fn ignore_severity_rules_are_silent_by_default() {
        // DL3057 exists but defaults to `ignore`.
        assert!(lines(&df("RUN true"), "DL3057").is_empty());
    }
}
