//! yum and dnf version pins (DL3033, DL3041). A package needs `-<version>`,
//! and, as in Hadolint 2.15, a version may come from a variable that an
//! earlier ARG or ENV declares (`dnf install -y "git-core-${GIT_VER}"`).
//!
//! Which declarations count was read off the real binary: every ARG so far in
//! any stage (only the first name of `ARG A B`, as Hadolint's parser keeps
//! it), and the ENV names of the
//! current stage and of the stages it is built on (`FROM <stage>`). Only the
//! name matters, never the value, and only a plain `$V` or `${V}` reference.

use std::collections::{HashMap, HashSet};

use super::super::{hadolint_args, Out, Rule, Step};
use crate::finding::Severity::Warning;
use crate::shell::{self, ParsedShell};
use crate::syntax::Kind;

/// DL3033 (yum) or DL3041 (dnf, microdnf).
pub(super) struct RpmPins {
    code: &'static str,
    message: &'static str,
    managers: &'static [&'static str],
    /// yum reads `group` as a package; dnf's group installs are not checked.
    checks_groups: bool,
    declared: Declared,
}

impl RpmPins {
    pub(super) fn yum() -> RpmPins {
        RpmPins {
            code: "DL3033",
            message: "Specify version with `yum install -y <package>-<version>`.",
            managers: &["yum"],
            checks_groups: true,
            declared: Declared::default(),
        }
    }

    pub(super) fn dnf() -> RpmPins {
        RpmPins {
            code: "DL3041",
            message: "Specify version with `dnf install -y <package>-<version>`.",
            managers: &["dnf", "microdnf"],
            checks_groups: false,
            declared: Declared::default(),
        }
    }

    /// Packages need `-<version>`, modules `:<stream>`.
    fn pinned(&self, sh: &ParsedShell) -> bool {
        for c in &sh.commands {
            if !self.managers.contains(&c.name.as_str()) || !c.has_arg("install") {
                continue;
            }
            let is_module = c.has_arg("module");
            let skip_group = !self.checks_groups && c.has_arg("group");
            for (text, raw) in c
                .args_no_flags_with_raw()
                .into_iter()
                .filter(|(a, _)| *a != "install" && *a != "module")
            {
                let ok = if is_module {
                    text.contains(':')
                } else {
                    skip_group || package_pinned(&shell::with_names(raw), &self.declared)
                };
                if !ok {
                    return false;
                }
            }
        }
        true
    }
}

impl Rule for RpmPins {
    fn step(&mut self, step: &Step<'_>, out: &mut Out) {
        self.declared.step(step.kind);
        if let Some((_, sh)) = step.run() {
            if !self.pinned(sh) {
                out.push(self.code, Warning, self.message, step.line);
            }
        }
    }
}

/// `name-<version>`: after the first dash, only version characters and at least
/// one part starting with a digit; an `.rpm` file; or a declared variable
/// anywhere after a dash. `p` is the word as [`shell::with_names`] reads it.
fn package_pinned(p: &str, declared: &Declared) -> bool {
    let parts: Vec<&str> = p.split('-').collect();
    if parts.len() <= 1 {
        return false;
    }
    if p.ends_with(".rpm") || declared.referenced_in(p) {
        return true;
    }
    let rest = &parts[1..];
    rest.iter().all(|part| {
        part.chars()
            .all(|c| c.is_ascii_alphanumeric() || ".~^_:+".contains(c))
    }) && rest
        .iter()
        .any(|part| part.starts_with(|c: char| c.is_ascii_digit()))
}

/// Variable names declared so far, as Hadolint tracks them for these rules.
#[derive(Default)]
struct Declared {
    /// ARG names from any stage and from before the first FROM: Hadolint never
    /// forgets them, though BuildKit scopes them to their stage.
    args: HashSet<String>,
    /// ENV names of the current stage (inherited from its base stage).
    env: HashSet<String>,
    /// ENV names of each named stage, for `FROM <stage>`.
    stage_env: HashMap<String, HashSet<String>>,
    alias: Option<String>,
}

impl Declared {
    fn step(&mut self, kind: &Kind) {
        match kind {
            Kind::From(from) => {
                // Hadolint matches the image name alone, so `FROM reg/base:1`
                // builds on stage `base` too.
                self.env = self.stage_env.get(&from.name).cloned().unwrap_or_default();
                self.alias = from.alias.clone();
                self.save_stage();
            }
            Kind::Env(pairs) => {
                self.env.extend(pairs.iter().map(|(k, _)| k.clone()));
                self.save_stage();
            }
            Kind::Arg(args) => {
                self.args
                    .extend(hadolint_args(args).iter().map(|(n, _)| n.clone()));
            }
            _ => {}
        }
    }

    fn save_stage(&mut self) {
        if let Some(alias) = &self.alias {
            self.stage_env.insert(alias.clone(), self.env.clone());
        }
    }

    /// `${NAME}` occurs in `text` for a declared NAME.
    fn referenced_in(&self, text: &str) -> bool {
        text.match_indices("${").any(|(i, _)| {
            let rest = &text[i + 2..];
            rest.split_once('}')
                .is_some_and(|(name, _)| self.args.contains(name) || self.env.contains(name))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::super::test_support::{assert_rule, df, lines};

    const DNF: &str = "RUN microdnf install -y \"mysql-server-minimal-$V\" && microdnf clean all";

    #[test]
    fn dl3033_yum_version() {
        assert_rule(
            "DL3033",
            &df("RUN yum install -y foo-bar"),
            &df("RUN yum install -y foo-1.2 && yum module install -y nodejs:18"),
        );
    }

    #[test]
    fn dl3041_dnf_version() {
        assert_rule(
            "DL3041",
            &df("RUN dnf install -y httpd"),
            &df("RUN dnf install -y httpd-2.4.1 && dnf module install nodejs:18"),
        );
    }

    #[test]
    fn version_from_declared_arg_or_env() {
        let fires = |src: &str| !lines(src, "DL3041").is_empty();
        assert!(fires(&format!("FROM oraclelinux:8-slim\n{DNF}\n")));
        for decl in [
            "ARG V=8.0.35-1.el8",
            "ARG V",
            "ARG V=not-a-version",
            "ENV V 8.0.35-1.el8",
            "ENV V=8.0.35-1.el8",
            "ENV A=1 V=2",
            "ARG V W",
        ] {
            assert!(
                !fires(&format!("FROM oraclelinux:8-slim\n{decl}\n{DNF}\n")),
                "{decl}"
            );
        }
        // Only the first name of a multi-name ARG is recorded; names are
        // case-sensitive; a declaration after the RUN is too late.
        for decl in ["ARG W V", "ARG W=1 V=2", "ARG v=1"] {
            assert!(
                fires(&format!("FROM oraclelinux:8-slim\n{decl}\n{DNF}\n")),
                "{decl}"
            );
        }
        assert!(fires(&format!("FROM oraclelinux:8-slim\n{DNF}\nARG V=1\n")));
    }

    #[test]
    fn declared_across_stages() {
        let fires = |src: &str| !lines(src, "DL3033").is_empty();
        let run = "RUN yum install -y mysql-$V && yum clean all";
        // ARGs are never forgotten, before the first FROM or in another stage.
        assert!(!fires(&format!("ARG V=1\nFROM a:1\n{run}\n")));
        assert!(!fires(&format!(
            "FROM a:1 AS x\nARG V=1\nFROM b:1\n{run}\n"
        )));
        // ENV follows the stage a FROM builds on.
        assert!(fires(&format!("FROM a:1 AS x\nENV V=1\nFROM b:1\n{run}\n")));
        assert!(!fires(&format!("FROM a:1 AS x\nENV V=1\nFROM x\n{run}\n")));
        assert!(!fires(&format!(
            "FROM a:1 AS x\nENV V=1\nFROM x AS y\nFROM y\n{run}\n"
        )));
        assert!(fires(&format!(
            "FROM a:1 AS x\nFROM x\nENV V=1\nFROM x\n{run}\n"
        )));
        assert!(fires(&format!("FROM a:1 AS X\nENV V=1\nFROM x\n{run}\n")));
    }

    #[test]
    fn which_references_count() {
        let fires = |word: &str| {
            !lines(
                &df(&format!(
                    "ARG V=1\nRUN dnf install -y {word} && dnf clean all"
                )),
                "DL3041",
            )
            .is_empty()
        };
        for ok in [
            "mysql-$V",
            "mysql-${V}",
            "\"mysql-$V\"",
            "mysql-${V}.el8",
            "mysql-1.$V",
            "mysql-abc$V",
            "mysql-$V@x",
            "mysql$V-abc",
            "mysql-$W$V",
            "'mysql-${V}'",
            "mysql-\\${V}",
            "mysql-$(echo $V)",
        ] {
            assert!(!fires(ok), "{ok}");
        }
        for bad in [
            "mysql$V",
            "$V",
            "'mysql-$V'",
            "mysql-\\$V",
            "mysql-${V:-1}",
            "mysql-${V-1}",
            "mysql-$Vx",
            "mysql-$W",
            "mysql-`echo $V`",
            "mysql-$(date)",
            "mysql-abc",
        ] {
            assert!(fires(bad), "{bad}");
        }
        // Modules still need a stream; other package managers ignore variables.
        assert!(!lines(
            &df("ARG V=1\nRUN dnf module install -y nodejs-$V"),
            "DL3041"
        )
        .is_empty());
        assert!(!lines(&df("ARG V=1\nRUN apk add --no-cache curl-$V"), "DL3018").is_empty());
    }

    #[test]
    fn onbuild_sees_only_onbuild_declarations() {
        let src = "FROM a:1\nARG V=1\nONBUILD RUN dnf install -y mysql-$V\n";
        assert_eq!(lines(src, "DL3041"), vec![3]);
        let src = "FROM a:1\nONBUILD ARG V=1\nONBUILD RUN dnf install -y mysql-$V\n";
        assert!(lines(src, "DL3041").is_empty());
        let src = "FROM a:1\nONBUILD ARG V=1\nRUN dnf install -y mysql-$V\n";
        assert_eq!(lines(src, "DL3041"), vec![3]);
    }
}
