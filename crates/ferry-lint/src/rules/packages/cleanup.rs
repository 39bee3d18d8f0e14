//! Caches a package manager leaves in the image: apt lists, yarn's cache,
//! pip's cache, and yum/dnf/zypper clean commands after an install.

use std::collections::{BTreeMap, HashMap};

use super::super::{Out, Rule, Step};
use super::pins::is_pip_install;
use crate::finding::Severity;
use crate::shell::{Command, ParsedShell};
use crate::syntax::{BaseImage, Kind};

/// No `install` command, or a clean command comes after the first install
/// (Hadolint compares the first index of each).
pub(super) fn cleaned_after(
    sh: &ParsedShell,
    install: impl Fn(&Command) -> bool,
    clean: impl Fn(&Command) -> bool,
) -> bool {
    match sh.position(install) {
        None => true,
        Some(i) => sh.position(clean).is_some_and(|c| i < c),
    }
}

/// A cleanup that only matters in stages that end up in the image: the last
/// stage, or one a later FROM builds on (DL3009 apt lists, DL3060 yarn cache).
pub(super) struct StageCleanup {
    code: &'static str,
    severity: Severity,
    message: &'static str,
    /// The RUN leaves the cache behind.
    forgot: fn(&crate::syntax::Run, &ParsedShell) -> bool,
    last_from: Option<BaseImage>,
    /// Image names used by FROM lines (a stage used as a base shows up here).
    from_names: HashMap<String, usize>,
    /// RUN line → the stage it is in.
    forgotten: BTreeMap<usize, Option<BaseImage>>,
}

impl StageCleanup {
    pub(super) fn new(
        code: &'static str,
        severity: Severity,
        message: &'static str,
        forgot: fn(&crate::syntax::Run, &ParsedShell) -> bool,
    ) -> StageCleanup {
        StageCleanup {
            code,
            severity,
            message,
            forgot,
            last_from: None,
            from_names: HashMap::new(),
            forgotten: BTreeMap::new(),
        }
    }
}

impl Rule for StageCleanup {
    fn step(&mut self, step: &Step<'_>, _out: &mut Out) {
        match step.kind {
            Kind::From(from) => {
                self.from_names.insert(from.name.clone(), step.line);
                self.last_from = Some(from.clone());
            }
            Kind::Run(run) => {
                let Some(sh) = step.shell else { return };
                if (self.forgot)(run, sh) {
                    self.forgotten.insert(step.line, self.last_from.clone());
                }
            }
            _ => {}
        }
    }

    fn finish(&mut self, out: &mut Out) {
        for (line, from) in &self.forgotten {
            let in_last = *from == self.last_from;
            let used_later = from
                .as_ref()
                .and_then(|f| f.alias.as_ref())
                .is_some_and(|a| self.from_names.contains_key(a));
            if in_last || used_later {
                out.push(self.code, self.severity, self.message, *line);
            }
        }
    }
}

pub(super) fn apt_lists_left(run: &crate::syntax::Run, sh: &ParsedShell) -> bool {
    let update =
        sh.any(|c| c.has_any_arg("apt-get", &["update"]) || c.has_any_arg("apt", &["update"]));
    let cleanup = sh.any(|c| c.has_any_arg("rm", &["-rf", "/var/lib/apt/lists/*"]));
    if !update || cleanup {
        return false;
    }
    let caches = run.cache_mount_targets();
    let cached = |dir: &str| caches.iter().any(|t| t.starts_with(dir));
    !(cached("/var/lib/apt/lists") || (cached("/var/lib/apt") && cached("/var/cache/apt")))
}

pub(super) fn yarn_cache_left(_run: &crate::syntax::Run, sh: &ParsedShell) -> bool {
    !cleaned_after(
        sh,
        |c| c.has_any_arg("yarn", &["install"]),
        |c| c.has_any_arg("yarn", &["cache", "clean"]),
    )
}

const TRUTHY: [&str; 10] = [
    "1", "true", "True", "TRUE", "on", "On", "ON", "yes", "Yes", "YES",
];

/// DL3042: pip without `--no-cache-dir`, unless `PIP_NO_CACHE_DIR` is set in the
/// stage (or its parent stage) or on the RUN line.
#[derive(Default)]
pub(super) struct Dl3042 {
    /// Current stage name (alias or image); `None` before any FROM.
    current: Option<String>,
    no_cache: HashMap<Option<String>, bool>,
}

impl Rule for Dl3042 {
    fn step(&mut self, step: &Step<'_>, out: &mut Out) {
        match step.kind {
            Kind::From(from) => {
                let name = from.alias.clone().unwrap_or_else(|| from.name.clone());
                let parent = self
                    .no_cache
                    .get(&Some(from.name.clone()))
                    .copied()
                    .unwrap_or(false);
                self.no_cache.insert(Some(name.clone()), parent);
                self.current = Some(name);
            }
            Kind::Env(pairs) => {
                let set = pairs
                    .iter()
                    .rev()
                    .find(|(k, _)| k == "PIP_NO_CACHE_DIR")
                    .is_some_and(|(_, v)| TRUTHY.contains(&v.as_str()));
                if set {
                    self.no_cache.insert(self.current.clone(), true);
                }
            }
            Kind::Run(run) => {
                let Some(sh) = step.shell else { return };
                if self.no_cache.get(&self.current).copied().unwrap_or(false) {
                    return;
                }
                // A cache mount on pip's cache keeps it out of the image.
                if run
                    .cache_mount_targets()
                    .iter()
                    .any(|t| t.contains(".cache/pip"))
                {
                    return;
                }
                if let Some(pos) = sh.original.find("PIP_NO_CACHE_DIR=") {
                    let value = &sh.original[pos + "PIP_NO_CACHE_DIR=".len()..];
                    if TRUTHY.iter().any(|t| value.starts_with(t)) {
                        return;
                    }
                }
                let forgot = sh.any(|c| {
                    is_pip_install(c) && !c.has_arg("--no-cache-dir") && !is_pip_wrapper(c)
                });
                if forgot {
                    out.push(
                        "DL3042",
                        Severity::Warning,
                        "Avoid use of cache directory with pip. Use `pip install --no-cache-dir <package>`",
                        step.line,
                    );
                }
            }
            _ => {}
        }
    }
}

fn is_pip_wrapper(c: &Command) -> bool {
    ["pipx", "pipenv"].iter().any(|w| {
        c.name.contains(w) || (c.name.starts_with("python") && c.has_arg_sequence(&["-m", w]))
    })
}

#[cfg(test)]
mod tests {
    use super::super::super::test_support::{assert_rule, df, lines};

    #[test]
    fn dl3009_apt_lists() {
        assert_rule(
            "DL3009",
            &df("RUN apt-get update && apt-get install -y x=1"),
            &df("RUN apt-get update && apt-get install -y x=1 && rm -rf /var/lib/apt/lists/*"),
        );
        // Not the final stage and not used as a base: no finding.
        assert!(lines(
            "FROM debian:12 AS a\nRUN apt-get update\nFROM alpine:3\n",
            "DL3009"
        )
        .is_empty());
        // Cache mounts count as cleanup.
        assert!(lines(
            &df("RUN --mount=type=cache,target=/var/lib/apt/lists apt-get update"),
            "DL3009"
        )
        .is_empty());
    }

    #[test]
    fn dl3042_pip_cache() {
        assert_rule(
            "DL3042",
            &df("RUN pip install x==1"),
            &df("RUN pip install --no-cache-dir x==1"),
        );
        assert!(lines(
            &df("ENV PIP_NO_CACHE_DIR=1\nRUN pip install x==1"),
            "DL3042"
        )
        .is_empty());
        assert!(lines(&df("RUN PIP_NO_CACHE_DIR=true pip install x==1"), "DL3042").is_empty());
        assert!(lines(&df("RUN pipx install x==1"), "DL3042").is_empty());
    }

    #[test]
    fn dl3060_yarn_cache() {
        assert_rule(
            "DL3060",
            &df("RUN yarn install"),
            &df("RUN yarn install && yarn cache clean"),
        );
    }
}
