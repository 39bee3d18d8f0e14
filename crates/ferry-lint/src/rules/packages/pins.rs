//! Which packages an install command names, and whether each is pinned to a
//! version, for every package manager Hadolint knows.

use crate::shell::{Command, ParsedShell};

pub(super) fn apt_get_packages(sh: &ParsedShell) -> Vec<&str> {
    sh.commands
        .iter()
        .filter(|c| c.has_any_arg("apt-get", &["install"]))
        .flat_map(|c| c.args_no_flags_dropping(&["t", "target-release"]))
        .filter(|a| *a != "install")
        .collect()
}

pub(super) fn apk_packages(sh: &ParsedShell) -> Vec<&str> {
    sh.commands
        .iter()
        .filter(|c| c.has_any_arg("apk", &["add"]))
        .flat_map(|c| c.args_no_flags_dropping(&["t", "virtual", "repository", "X"]))
        .filter(|a| *a != "add")
        .collect()
}

pub(super) fn gems(sh: &ParsedShell) -> Vec<&str> {
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
pub(super) fn is_pip_install(c: &Command) -> bool {
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

pub(super) fn pip_unpinned(c: &Command) -> bool {
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

pub(super) fn npm_unpinned(c: &Command) -> bool {
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

pub(super) fn go_packages(sh: &ParsedShell) -> Vec<&str> {
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

pub(super) fn go_package_pinned(p: &str) -> bool {
    let local = p == "." || p.starts_with('/') || p.starts_with('.');
    local || (p.contains('@') && !p.ends_with("@latest") && !p.ends_with("@none"))
}

#[cfg(test)]
mod tests {
    use super::super::super::test_support::{assert_rule, df, lines};

    #[test]
    fn dl3008_apt_pinning() {
        assert_rule(
            "DL3008",
            &df("RUN apt-get install -y --no-install-recommends curl"),
            &df("RUN apt-get install -y -t bookworm-backports curl=7.1 ./local.deb foo/bookworm"),
        );
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
    fn dl3028_gem_pinning() {
        assert_rule(
            "DL3028",
            &df("RUN gem install rails"),
            &df("RUN gem install rails:7.1 && gem install -v 1 bundler"),
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
    fn dl3062_go_pinning() {
        assert_rule(
            "DL3062",
            &df("RUN go install example.com/x@latest"),
            &df("RUN go install example.com/x@v1.2.3 && go install ./cmd/..."),
        );
    }
}
