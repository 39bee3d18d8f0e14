//! Package-manager rules (apt-get, apk, pip, npm, gem, yum, dnf, zypper, yarn,
//! go): pinning, non-interactive switches, cache cleanup.
//!
//! `register` adds them in rule-id order; `pins` says what is pinned (`rpm`
//! for yum and dnf, which also look at ARG and ENV), `cleanup` what a stage
//! leaves behind.

mod cleanup;
mod pins;
mod rpm;

use super::{entry_onbuild, run_ok, simple, Entry};
use crate::finding::Severity::{Info, Warning};
use cleanup::{apt_lists_left, cleaned_after, yarn_cache_left, Dl3042, StageCleanup};
use pins::{
    apk_packages, apt_get_packages, gems, go_package_pinned, go_packages, npm_unpinned,
    pip_unpinned,
};
use rpm::RpmPins;

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
    entries.push(entry_onbuild(|| Box::new(RpmPins::yum())));
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
    entries.push(entry_onbuild(|| Box::new(RpmPins::dnf())));
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

#[cfg(test)]
mod tests {
    use super::super::test_support::{assert_rule, df, lines};

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
    fn onbuild_applies_to_marked_rules() {
        assert_eq!(
            lines(&df("ONBUILD RUN pip install flask==1"), "DL3042"),
            vec![2]
        );
        assert!(lines(&df("ONBUILD RUN cd /x"), "DL3003").is_empty());
    }
}
