//! Package-manager rules (apt-get, apk, pip, npm, gem, yum, dnf, zypper, yarn,
//! go): pinning, non-interactive switches, cache cleanup.

use std::collections::{BTreeMap, HashMap};

use super::{entry_onbuild, run_ok, simple, Entry, Out, Rule, Step};
use crate::finding::Severity::{self, Info, Warning};
use crate::shell::{Command, ParsedShell};
use crate::syntax::{BaseImage, Kind};

pub(super) fn register(entries: &mut Vec<Entry>) {
    entries.push(entry_onbuild(|| simple(
        "DL3008",
        Warning,
        "Pin versions in apt get install. Instead of `apt-get install <package>` use `apt-get install <package>=<version>`",
        |s| run_ok(s, |sh| apt_get_packages(sh).iter().all(|p| p.contains('=') || p.contains('/') || p.ends_with(".deb"))),
    )));
    entries.push(entry_onbuild(|| {
        Box::new(StageCleanup::new(
            "DL3009",
            Info,
            "Delete the apt lists (/var/lib/apt/lists) after installing something",
            apt_lists_left,
        ))
    }));
    entries.push(entry_onbuild(|| {
        simple(
            "DL3013",
            Warning,
            "Pin versions in pip. Instead of `pip install <package>` use `pip install <package>==<version>` or `pip install --requirement <requirements file>`",
            |s| run_ok(s, |sh| sh.none(pip_unpinned)),
        )
    }));
    entries.push(entry_onbuild(|| {
        simple(
            "DL3014",
            Warning,
            "Use the `-y` switch to avoid manual input `apt-get -y install <package>`",
            |s| {
                run_ok(s, |sh| {
                    sh.none(|c| {
                        // `-qq` implies yes; a single `-q` does not.
                        let quiet = c.flags.iter().filter(|(f, _)| f == "q").count();
                        c.has_any_arg("apt-get", &["install"])
                            && !c.has_any_flag(&["y", "yes", "assume-yes"])
                            && quiet < 2
                    })
                })
            },
        )
    }));
    entries.push(entry_onbuild(|| {
        simple(
            "DL3015",
            Info,
            "Avoid additional packages by specifying `--no-install-recommends`",
            |s| {
                run_ok(s, |sh| {
                    sh.none(|c| {
                        c.has_any_arg("apt-get", &["install"])
                            && !c.has_flag("no-install-recommends")
                            && !c.has_arg("APT::Install-Recommends=false")
                    })
                })
            },
        )
    }));
    entries.push(entry_onbuild(|| simple(
        "DL3016",
        Warning,
        "Pin versions in npm. Instead of `npm install <package>` use `npm install <package>@<version>`",
        |s| run_ok(s, |sh| sh.none(npm_unpinned)),
    )));
    entries.push(entry_onbuild(|| {
        simple(
            "DL3018",
            Warning,
            "Pin versions in apk add. Instead of `apk add <package>` use `apk add <package>=<version>`",
            |s| {
                run_ok(s, |sh| {
                    apk_packages(sh)
                        .iter()
                        .all(|p| p.contains('=') || p.contains('~') || p.ends_with(".apk"))
                })
            },
        )
    }));
    entries.push(entry_onbuild(|| simple(
        "DL3019",
        Info,
        "Use the `--no-cache` switch to avoid the need to use `--update` and remove `/var/cache/apk/*` when done installing packages",
        |s| run_ok(s, |sh| sh.none(|c| c.has_any_arg("apk", &["add"]) && !c.has_flag("no-cache"))),
    )));
    entries.push(entry_onbuild(|| {
        simple(
        "DL3027",
        Warning,
        "Do not use apt as it is meant to be an end-user tool, use apt-get or apt-cache instead",
        |s| run_ok(s, |sh| !sh.uses("apt")),
    )
    }));
    entries.push(entry_onbuild(|| {
        simple(
            "DL3028",
            Warning,
            "Pin versions in gem install. Instead of `gem install <gem>` use `gem install <gem>:<version>`",
            |s| run_ok(s, |sh| gems(sh).iter().all(|g| g.contains(':'))),
        )
    }));
    entries.push(entry_onbuild(|| {
        simple(
            "DL3030",
            Warning,
            "Use the -y switch to avoid manual input `yum install -y <package>`",
            |s| {
                run_ok(s, |sh| {
                    sh.none(|c| {
                        c.has_any_arg("yum", &["install", "groupinstall", "localinstall"])
                            && !c.has_any_flag(&["y", "assumeyes"])
                    })
                })
            },
        )
    }));
    entries.push(entry_onbuild(|| {
        simple(
            "DL3032",
            Warning,
            "`yum clean all` missing after yum command.",
            |s| {
                run_ok(s, |sh| {
                    cleaned_after(
                        sh,
                        |c| c.has_any_arg("yum", &["install"]),
                        |c| {
                            c.has_any_arg("yum", &["clean", "all"])
                                || c.has_any_arg("rm", &["-rf", "/var/cache/yum/*"])
                        },
                    )
                })
            },
        )
    }));
    entries.push(entry_onbuild(|| {
        simple(
            "DL3033",
            Warning,
            "Specify version with `yum install -y <package>-<version>`.",
            |s| run_ok(s, |sh| rpm_versions_pinned(sh, &["yum"])),
        )
    }));
    entries.push(entry_onbuild(|| {
        simple(
            "DL3034",
            Warning,
            "Non-interactive switch missing from `zypper` command: `zypper install -y`",
            |s| {
                run_ok(s, |sh| {
                    sh.none(|c| {
                        c.has_any_arg(
                            "zypper",
                            &[
                                "install",
                                "in",
                                "remove",
                                "rm",
                                "source-install",
                                "si",
                                "patch",
                            ],
                        ) && !c.has_any_flag(&["no-confirm", "y", "n", "non-interactive"])
                    })
                })
            },
        )
    }));
    entries.push(entry_onbuild(|| {
        simple(
            "DL3035",
            Warning,
            "Do not use `zypper dist-upgrade`.",
            |s| {
                run_ok(s, |sh| {
                    sh.none(|c| c.has_any_arg("zypper", &["dist-upgrade", "dup"]))
                })
            },
        )
    }));
    entries.push(entry_onbuild(|| {
        simple(
            "DL3036",
            Warning,
            "`zypper clean` missing after zypper use.",
            |s| {
                run_ok(s, |sh| {
                    cleaned_after(
                        sh,
                        |c| c.has_any_arg("zypper", &["install", "in"]),
                        |c| c.has_any_arg("zypper", &["clean", "cc"]),
                    )
                })
            },
        )
    }));
    entries.push(entry_onbuild(|| {
        simple(
            "DL3037",
            Warning,
            "Specify version with `zypper install -y <package>=<version>`.",
            |s| {
                run_ok(s, |sh| {
                    sh.commands
                        .iter()
                        .filter(|c| c.has_any_arg("zypper", &["install", "in"]))
                        .flat_map(|c| c.args_no_flags())
                        .filter(|a| *a != "install" && *a != "in")
                        .all(|p| {
                            p.contains('=')
                                || p.contains('>')
                                || p.contains('<')
                                || p.ends_with(".rpm")
                        })
                })
            },
        )
    }));
    entries.push(entry_onbuild(|| {
        simple(
            "DL3038",
            Warning,
            "Use the -y switch to avoid manual input `dnf install -y <package>`",
            |s| {
                run_ok(s, |sh| {
                    sh.none(|c| {
                        (c.is("dnf") || c.is("microdnf"))
                            && c.args.iter().any(|a| {
                                matches!(a.as_str(), "install" | "groupinstall" | "localinstall")
                            })
                            && !c.has_any_flag(&["y", "assumeyes"])
                    })
                })
            },
        )
    }));
    entries.push(entry_onbuild(|| {
        simple(
            "DL3040",
            Warning,
            "`dnf clean all` missing after dnf command.",
            |s| {
                run_ok(s, |sh| {
                    ["dnf", "microdnf"].iter().all(|name| {
                        cleaned_after(
                            sh,
                            |c| {
                                c.has_any_arg(
                                    name,
                                    &["install", "in", "reinstall", "upgrade", "up"],
                                )
                            },
                            |c| {
                                c.has_any_arg(name, &["clean", "all"])
                                    || c.has_any_arg("rm", &["-rf", "/var/cache/yum/*"])
                            },
                        )
                    })
                })
            },
        )
    }));
    entries.push(entry_onbuild(|| {
        simple(
            "DL3041",
            Warning,
            "Specify version with `dnf install -y <package>-<version>`.",
            |s| run_ok(s, |sh| rpm_versions_pinned(sh, &["dnf", "microdnf"])),
        )
    }));
    entries.push(entry_onbuild(|| Box::new(Dl3042::default())));
    entries.push(entry_onbuild(|| {
        Box::new(StageCleanup::new(
            "DL3060",
            Info,
            "`yarn cache clean` missing after `yarn install` was run.",
            yarn_cache_left,
        ))
    }));
    entries.push(entry_onbuild(|| {
        simple(
            "DL3062",
            Warning,
            "Pin versions in go. Instead of `go install <package>` use `go install <package>@<version>`",
            |s| run_ok(s, |sh| go_packages(sh).iter().all(|p| go_package_pinned(p))),
        )
    }));
}

/// No `install` command, or a clean command comes after the first install
/// (Hadolint compares the first index of each).
fn cleaned_after(
    sh: &ParsedShell,
    install: impl Fn(&Command) -> bool,
    clean: impl Fn(&Command) -> bool,
) -> bool {
    match sh.position(install) {
        None => true,
        Some(i) => sh.position(clean).is_some_and(|c| i < c),
    }
}

fn apt_get_packages(sh: &ParsedShell) -> Vec<&str> {
    sh.commands
        .iter()
        .filter(|c| c.has_any_arg("apt-get", &["install"]))
        .flat_map(|c| c.args_no_flags_dropping(&["t", "target-release"]))
        .filter(|a| *a != "install")
        .collect()
}

fn apk_packages(sh: &ParsedShell) -> Vec<&str> {
    sh.commands
        .iter()
        .filter(|c| c.has_any_arg("apk", &["add"]))
        .flat_map(|c| c.args_no_flags_dropping(&["t", "virtual", "repository", "X"]))
        .filter(|a| *a != "add")
        .collect()
}

fn gems(sh: &ParsedShell) -> Vec<&str> {
    sh.commands
        .iter()
        .filter(|c| {
            c.has_any_arg("gem", &["install", "i"])
                && !c.has_arg("-v")
                && !c.has_arg("--version")
                && !c.args.iter().any(|a| a.starts_with("--version="))
        })
        .flat_map(|c| c.args_no_flags())
        .filter(|a| !matches!(*a, "install" | "i" | "--"))
        .collect()
}

/// `pip install` / `python -m pip install`.
pub(crate) fn is_pip_install(c: &Command) -> bool {
    (c.name.starts_with("pip") && c.has_arg("install"))
        || (c.name.starts_with("python") && c.has_arg_sequence(&["-m", "pip", "install"]))
}

const PIP_VALUE_FLAGS: [&str; 24] = [
    "abi",
    "b",
    "build",
    "e",
    "editable",
    "extra-index-url",
    "f",
    "find-links",
    "i",
    "index-url",
    "implementation",
    "no-binary",
    "only-binary",
    "platform",
    "prefix",
    "progress-bar",
    "proxy",
    "python-version",
    "root",
    "src",
    "t",
    "target",
    "trusted-host",
    "upgrade-strategy",
];

const VCS_SCHEMES: [&str; 22] = [
    "git+file",
    "git+https",
    "git+ssh",
    "git+http",
    "git+git",
    "git",
    "hg+file",
    "hg+http",
    "hg+https",
    "hg+ssh",
    "hg+static-http",
    "svn",
    "svn+svn",
    "svn+http",
    "svn+https",
    "svn+ssh",
    "bzr+http",
    "bzr+https",
    "bzr+ssh",
    "bzr+sftp",
    "bzr+ftp",
    "bzr+lp",
];

fn pip_unpinned(c: &Command) -> bool {
    if !is_pip_install(c) {
        return false;
    }
    if c.has_flag("constraint") || c.has_flag("c") {
        return false;
    }
    if c.has_arg("--requirement") || c.has_arg("-r") || c.has_arg(".") {
        return false;
    }
    let args = c.args_no_flags_dropping(&PIP_VALUE_FLAGS);
    let packages = args
        .iter()
        .skip_while(|a| **a != "install")
        .skip_while(|a| **a == "install");
    !packages.into_iter().all(|p| pip_pinned(p))
}

fn pip_pinned(p: &str) -> bool {
    let is_vcs = VCS_SCHEMES.iter().any(|s| p.starts_with(s));
    ["==", ">=", "<=", ">", "<", "!=", "~=", "==="]
        .iter()
        .any(|s| p.contains(s))
        || (is_vcs && p.contains('@'))
        || p.ends_with(".whl")
        || p.ends_with(".tar.gz")
        || (!is_vcs && p.contains('/'))
}

fn npm_unpinned(c: &Command) -> bool {
    if !c.has_any_arg("npm", &["install"]) {
        return false;
    }
    let args = c.args_no_flags();
    if args.first() != Some(&"install") {
        return false;
    }
    let packages = args.iter().skip_while(|a| **a == "install");
    !packages.into_iter().all(|p| npm_pinned(p))
}

fn npm_pinned(p: &str) -> bool {
    if ["git://", "git+ssh://", "git+http://", "git+https://"]
        .iter()
        .any(|g| p.starts_with(g))
    {
        return p.contains('#');
    }
    if [".tar", ".tar.gz", ".tgz"].iter().any(|s| p.ends_with(s)) {
        return true;
    }
    if ["/", "./", "../", "~/"].iter().any(|s| p.starts_with(s)) {
        return true;
    }
    // A scope (`@scope/name`) is not a version.
    let name = match p.strip_prefix('@') {
        Some(rest) => rest.trim_start_matches(|c: char| c > '/'),
        None => p,
    };
    name.contains('@')
}

/// yum/dnf: packages need `-<version>` (version-like text after a dash), modules
/// need `:<stream>`.
fn rpm_versions_pinned(sh: &ParsedShell, names: &[&str]) -> bool {
    for c in &sh.commands {
        if !names.contains(&c.name.as_str()) || !c.has_arg("install") {
            continue;
        }
        let is_module = c.has_arg("module");
        let is_group = c.has_arg("group") && names != ["yum"];
        for p in c
            .args_no_flags()
            .into_iter()
            .filter(|a| *a != "install" && *a != "module")
        {
            let ok = if is_module {
                p.contains(':')
            } else if is_group {
                true
            } else {
                rpm_package_pinned(p)
            };
            if !ok {
                return false;
            }
        }
    }
    true
}

fn rpm_package_pinned(p: &str) -> bool {
    let parts: Vec<&str> = p.split('-').collect();
    if parts.len() <= 1 {
        return false;
    }
    if p.ends_with(".rpm") {
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

fn go_packages(sh: &ParsedShell) -> Vec<&str> {
    let run: Vec<&str> = sh
        .commands
        .iter()
        .filter(|c| c.has_any_arg("go", &["run"]))
        .flat_map(|c| {
            c.args_no_flags()
                .into_iter()
                .enumerate()
                .filter(|(i, a)| *a != "run" && *i <= 1)
                .map(|(_, a)| a)
        })
        .collect();
    if !run.is_empty() {
        return run;
    }
    sh.commands
        .iter()
        .filter(|c| c.has_any_arg("go", &["install", "get"]))
        .flat_map(|c| c.args_no_flags())
        .filter(|a| !matches!(*a, "install" | "get" | "tool"))
        .collect()
}

fn go_package_pinned(p: &str) -> bool {
    let local = p == "." || p.starts_with('/') || p.starts_with('.');
    local || (p.contains('@') && !p.ends_with("@latest") && !p.ends_with("@none"))
}

/// A cleanup that only matters in stages that end up in the image: the last
/// stage, or one a later FROM builds on (DL3009 apt lists, DL3060 yarn cache).
struct StageCleanup {
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
    fn new(
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

fn apt_lists_left(run: &crate::syntax::Run, sh: &ParsedShell) -> bool {
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

fn yarn_cache_left(_run: &crate::syntax::Run, sh: &ParsedShell) -> bool {
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
struct Dl3042 {
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
    use super::super::test_support::{assert_rule, lines};

    const F: &str = "FROM debian:12\n";

    fn df(body: &str) -> String {
        format!("{F}{body}\n")
    }

    #[test]
    fn dl3008_apt_pinning() {
        assert_rule(
            "DL3008",
            &df("RUN apt-get install -y --no-install-recommends curl"),
            &df("RUN apt-get install -y -t bookworm-backports curl=7.1 ./local.deb foo/bookworm"),
        );
    }

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
    fn dl3013_pip_pinning() {
        assert_rule(
            "DL3013",
            &df("RUN pip install flask"),
            &df("RUN pip install flask==3.0 'requests>=2' ./pkg -r req.txt && python -m pip install x==1"),
        );
        assert!(lines(&df("RUN pip install -r requirements.txt"), "DL3013").is_empty());
    }

    #[test]
    fn dl3014_apt_yes() {
        assert_rule(
            "DL3014",
            &df("RUN apt-get install x=1"),
            &df("RUN apt-get -qq install x=1 && apt-get install --yes y=1"),
        );
    }

    #[test]
    fn dl3015_no_recommends() {
        assert_rule(
            "DL3015",
            &df("RUN apt-get install -y x=1"),
            &df("RUN apt-get install -y --no-install-recommends x=1"),
        );
    }

    #[test]
    fn dl3016_npm_pinning() {
        assert_rule(
            "DL3016",
            &df("RUN npm install express"),
            &df("RUN npm install express@4 @scope/pkg@1.0 ./local git+https://x/y.git#abc && npm install"),
        );
    }

    #[test]
    fn dl3018_apk_pinning() {
        assert_rule(
            "DL3018",
            &df("RUN apk add --no-cache curl"),
            &df("RUN apk add --no-cache --virtual .deps curl=8.0 b~1"),
        );
    }

    #[test]
    fn dl3019_apk_no_cache() {
        assert_rule(
            "DL3019",
            &df("RUN apk add curl=8"),
            &df("RUN apk add --no-cache curl=8"),
        );
    }

    #[test]
    fn dl3027_apt() {
        assert_rule(
            "DL3027",
            &df("RUN apt install -y x"),
            &df("RUN apt-get install -y x=1"),
        );
    }

    #[test]
    fn dl3028_gem_pinning() {
        assert_rule(
            "DL3028",
            &df("RUN gem install rails"),
            &df("RUN gem install rails:7.1 && gem install -v 1 bundler"),
        );
    }

    #[test]
    fn dl3030_yum_yes() {
        assert_rule(
            "DL3030",
            &df("RUN yum install x-1.0"),
            &df("RUN yum install -y x-1.0"),
        );
    }

    #[test]
    fn dl3032_yum_clean() {
        assert_rule(
            "DL3032",
            &df("RUN yum clean all && yum install -y x-1.0"),
            &df("RUN yum install -y x-1.0 && yum clean all"),
        );
    }

    #[test]
    fn dl3033_yum_version() {
        assert_rule(
            "DL3033",
            &df("RUN yum install -y foo-bar"),
            &df("RUN yum install -y foo-1.2 && yum module install -y nodejs:18"),
        );
    }

    #[test]
    fn dl3034_zypper_yes() {
        assert_rule(
            "DL3034",
            &df("RUN zypper install x=1"),
            &df("RUN zypper install -y x=1"),
        );
    }

    #[test]
    fn dl3035_zypper_dist_upgrade() {
        assert_rule("DL3035", &df("RUN zypper dup"), &df("RUN zypper up -y"));
    }

    #[test]
    fn dl3036_zypper_clean() {
        assert_rule(
            "DL3036",
            &df("RUN zypper install -y x=1"),
            &df("RUN zypper install -y x=1 && zypper clean"),
        );
    }

    #[test]
    fn dl3037_zypper_version() {
        assert_rule(
            "DL3037",
            &df("RUN zypper install -y x"),
            &df("RUN zypper install -y x=1 'y>=2'"),
        );
    }

    #[test]
    fn dl3038_dnf_yes() {
        assert_rule(
            "DL3038",
            &df("RUN dnf install x-1.0"),
            &df("RUN microdnf install -y x-1.0"),
        );
    }

    #[test]
    fn dl3040_dnf_clean() {
        assert_rule(
            "DL3040",
            &df("RUN dnf install -y x-1.0"),
            &df("RUN dnf install -y x-1.0 && dnf clean all"),
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

    #[test]
    fn dl3062_go_pinning() {
        assert_rule(
            "DL3062",
            &df("RUN go install example.com/x@latest"),
            &df("RUN go install example.com/x@v1.2.3 && go install ./cmd/..."),
        );
    }

    #[test]
    fn onbuild_applies_to_marked_rules() {
        assert_eq!(
            lines(&df("ONBUILD RUN pip install flask==1"), "DL3042"),
            vec![2]
        );
        assert!(lines(&df("ONBUILD RUN cd /x"), "DL3003").is_empty());
    }
}
