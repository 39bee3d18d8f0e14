//! Rules about instructions themselves: FROM, USER, WORKDIR, COPY/ADD, CMD,
//! ENTRYPOINT, EXPOSE, ENV/ARG, HEALTHCHECK, SHELL, ONBUILD and RUN habits.
//!
//! `register` adds them in rule-id order, the order in which findings on one
//! line are printed. Stateless checks are written inline; stateful ones live in
//! the submodules, by concern.

mod image_config;
mod run;
mod stages;

use std::collections::HashSet;

use super::{
    entry, entry_onbuild, hadolint_args, is_archive, is_text, run_ok, simple, Entry, RuleSettings,
};
use crate::finding::Severity::{Error, Info, Warning};
use crate::syntax::{drop_quotes, BaseImage, Kind, Port};
use image_config::{is_sensitive, Dl3002, Dl3044, Dl3045, Dl3066};
use run::{Dl3010, Dl3059, Dl4001, Dl4006};
use stages::{
    is_predefined_platform, Dl3006, Dl3022, Dl3023, Dl3024, Dl3026, Dl3057, Dl3061, PerStageRepeat,
};

pub(super) fn register(settings: &RuleSettings, entries: &mut Vec<Entry>) {
    entries.push(entry(simple("DL3000", Error, "Use absolute WORKDIR", |s| match s.kind {
        Kind::Workdir(dir) => {
            let d = drop_quotes(dir);
            let mut chars = d.chars();
            let windows = matches!((chars.next(), chars.next()), (Some(l), Some(':')) if l.is_alphabetic());
            d.starts_with('$') || d.starts_with('/') || windows
        }
        _ => true,
    })));
    entries.push(entry_onbuild(|| simple(
        "DL3001",
        Info,
        "For some bash commands it makes no sense running them in a Docker container like `ssh`, `vim`, `shutdown`, `service`, `ps`, `free`, `top`, `kill`, `mount`, `ifconfig`",
        |s| {
            run_ok(s, |sh| {
                sh.none(|c| {
                    matches!(
                        c.name.as_str(),
                        "free" | "kill" | "mount" | "ps" | "service" | "shutdown" | "ssh" | "top" | "vim"
                    )
                })
            })
        },
    )));
    entries.push(entry(Box::new(Dl3002::default())));
    entries.push(entry(simple(
        "DL3003",
        Warning,
        "Use WORKDIR to switch to a directory",
        |s| run_ok(s, |sh| !sh.uses("cd")),
    )));
    entries.push(entry_onbuild(|| simple(
        "DL3004",
        Error,
        "Do not use sudo as it leads to unpredictable behavior. Use a tool like gosu to enforce root",
        |s| run_ok(s, |sh| !sh.uses("sudo")),
    )));
    entries.push(entry(Box::new(Dl3006::default())));
    entries.push(entry(simple(
        "DL3007",
        Warning,
        "Using latest is prone to errors if the image will ever update. Pin the version explicitly to a release tag",
        // A digest pins the image whatever the tag says.
        |s| !matches!(s.kind, Kind::From(b) if b.tag.as_deref() == Some("latest") && b.digest.is_none()),
    )));
    entries.push(entry(Box::new(Dl3010::default())));
    entries.push(entry(simple(
        "DL3011",
        Error,
        "Valid UNIX ports range from 0 to 65535",
        |s| match s.kind {
            Kind::Expose(ports) => ports.iter().all(|p| match p {
                Port::Single { port, .. } => *port <= 65535,
                Port::Range { from, to, .. } => *from <= 65535 && *to <= 65535,
                Port::Variable(_) => true,
            }),
            _ => true,
        },
    )));
    entries.push(entry(Box::new(PerStageRepeat {
        code: "DL3012",
        severity: Error,
        message: "Multiple `HEALTHCHECK` instructions",
        matches: |k| matches!(k, Kind::Healthcheck(_)),
        seen: false,
    })));
    entries.push(entry(simple(
        "DL3020",
        Error,
        "Use COPY instead of ADD for files and folders",
        |s| match s.kind {
            Kind::Add(add) => add.sources.iter().all(|src| {
                let p = drop_quotes(src);
                is_archive(src) || p.starts_with("https://") || p.starts_with("http://")
            }),
            _ => true,
        },
    )));
    entries.push(entry(simple(
        "DL3021",
        Error,
        "COPY with more than 2 arguments requires the last argument to end with /",
        |s| match s.kind {
            Kind::Copy(c) if c.sources.len() > 1 => {
                drop_quotes(&c.dest).ends_with('/') || c.dest.ends_with('/')
            }
            _ => true,
        },
    )));
    entries.push(entry(Box::new(Dl3022::default())));
    entries.push(entry(Box::new(Dl3023::default())));
    entries.push(entry(Box::new(Dl3024::default())));
    entries.push(entry(simple(
        "DL3025",
        Warning,
        "Use arguments JSON notation for CMD and ENTRYPOINT arguments",
        |s| match s.kind {
            Kind::Cmd(a) | Kind::Entrypoint(a) => !is_text(a),
            Kind::Healthcheck(Some(h)) => !is_text(&h.args),
            _ => true,
        },
    )));
    entries.push(entry(Box::new(Dl3026 {
        allowed: settings.trusted_registries.clone(),
        aliases: HashSet::new(),
    })));
    entries.push(entry(simple(
        "DL3029",
        Warning,
        "Do not use --platform flag with FROM",
        |s| match s.kind {
            Kind::From(BaseImage {
                platform: Some(p), ..
            }) => p.is_empty() || is_predefined_platform(p),
            _ => true,
        },
    )));
    entries.push(entry(simple(
        "DL3043",
        Error,
        "`ONBUILD`, `FROM` or `MAINTAINER` triggered from within `ONBUILD` instruction.",
        |s| !matches!(s.kind, Kind::Onbuild(inner) if matches!(**inner, Kind::Onbuild(_) | Kind::From(_) | Kind::Maintainer(_))),
    )));
    entries.push(entry(Box::new(Dl3044::default())));
    entries.push(entry(Box::new(Dl3045::default())));
    entries.push(entry_onbuild(|| {
        simple(
            "DL3046",
            Warning,
            "`useradd` without flag `-l` and high UID will result in excessively large Image.",
            |s| {
                run_ok(s, |sh| {
                    sh.none(|c| {
                        c.is("useradd")
                            && !c.has_any_flag(&["l", "no-log-init"])
                            && c.has_any_flag(&["u", "uid"])
                            && c.flag_values("u").iter().any(|v| v.chars().count() > 5)
                    })
                })
            },
        )
    }));
    entries.push(entry_onbuild(|| simple(
        "DL3047",
        Info,
        "Avoid use of wget without progress bar. Use `wget --progress=dot:giga <url>`. Or consider using `-q` or `-nv` (shorthands for `--quiet` or `--no-verbose`).",
        |s| {
            run_ok(s, |sh| {
                sh.none(|c| {
                    c.is("wget")
                        && !c.has_flag("progress")
                        && !c.has_any_flag(&["q", "quiet", "o", "output-file", "a", "append-output", "no-verbose"])
                        && !c.has_arg("-nv")
                })
            })
        },
    )));
    entries.push(entry(Box::new(Dl3057::default())));
    entries.push(entry(Box::new(Dl3059::default())));
    entries.push(entry(Box::new(Dl3061::default())));
    entries.push(entry(simple(
        "DL3063",
        Warning,
        "stage name should not be a reserved word",
        |s| match s.kind {
            Kind::From(BaseImage { alias: Some(a), .. }) => a != "scratch" && a != "context",
            _ => true,
        },
    )));
    entries.push(entry_onbuild(|| {
        simple(
            "DL3064",
            Warning,
            "Potentially sensitive data should not be used in the `ARG` or `ENV` commands",
            |s| match s.kind {
                Kind::Arg(args) => hadolint_args(args)
                    .iter()
                    .all(|(name, _)| !is_sensitive(name)),
                Kind::Env(pairs) => pairs.iter().all(|(name, _)| !is_sensitive(name)),
                _ => true,
            },
        )
    }));
    entries.push(entry(simple(
        "DL3065",
        Warning,
        "Setting `FROM --platform` to predefined `$TARGETPLATFORM` in is redundant as this is the default behavior",
        |s| match s.kind {
            Kind::From(BaseImage { platform: Some(p), .. }) => p != "$TARGETPLATFORM" && p != "${TARGETPLATFORM}",
            _ => true,
        },
    )));
    entries.push(entry(Box::new(Dl3066::default())));
    entries.push(entry(simple(
        "DL3067",
        Warning,
        "Do not copy an entire filesystem from another stage",
        |s| match s.kind {
            Kind::Copy(c) if c.from().is_some() => {
                !(c.sources.iter().any(|src| drop_quotes(src) == "/")
                    && drop_quotes(&c.dest) == "/")
            }
            _ => true,
        },
    )));
    entries.push(entry(simple(
        "DL4000",
        Error,
        "MAINTAINER is deprecated",
        |s| !matches!(s.kind, Kind::Maintainer(_)),
    )));
    entries.push(entry_onbuild(|| Box::new(Dl4001::default())));
    entries.push(entry(Box::new(PerStageRepeat {
        code: "DL4003",
        severity: Warning,
        message: "Multiple `CMD` instructions found. If you list more than one `CMD` then only the last `CMD` will take effect",
        matches: |k| matches!(k, Kind::Cmd(_)),
        seen: false,
    })));
    entries.push(entry(Box::new(PerStageRepeat {
        code: "DL4004",
        severity: Error,
        message: "Multiple `ENTRYPOINT` instructions found. If you list more than one `ENTRYPOINT` then only the last `ENTRYPOINT` will take effect",
        matches: |k| matches!(k, Kind::Entrypoint(_)),
        seen: false,
    })));
    entries.push(entry_onbuild(|| {
        simple(
            "DL4005",
            Warning,
            "Use SHELL to change the default shell",
            |s| run_ok(s, |sh| sh.none(|c| c.has_any_arg("ln", &["/bin/sh"]))),
        )
    }));
    entries.push(entry(Box::new(Dl4006 { pipefail: false })));
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{assert_rule, df};

    #[test]
    fn dl3000() {
        assert_rule(
            "DL3000",
            &df("WORKDIR app"),
            &df("WORKDIR /app\nWORKDIR $HOME\nWORKDIR C:\\app"),
        );
    }

    #[test]
    fn dl3001() {
        assert_rule(
            "DL3001",
            &df("RUN service nginx start"),
            &df("RUN nginx -t"),
        );
    }

    #[test]
    fn dl3003() {
        assert_rule(
            "DL3003",
            &df("RUN cd /tmp && make"),
            &df("WORKDIR /tmp\nRUN make"),
        );
    }

    #[test]
    fn dl3004() {
        assert_rule(
            "DL3004",
            &df("RUN sudo make install"),
            &df("RUN make install"),
        );
    }

    #[test]
    fn dl3007() {
        assert_rule("DL3007", "FROM debian:latest\n", "FROM debian:12\n");
        assert_rule(
            "DL3007",
            "FROM authelia/base:latest AS base\n",
            "FROM authelia/base:latest@sha256:ce0ed2235ca29b748bb086db7b39429b0236da7b488472f52bbfc6b0c2bcb88a\n",
        );
    }

    #[test]
    fn dl3011() {
        assert_rule(
            "DL3011",
            &df("EXPOSE 80 70000"),
            &df("EXPOSE 80/tcp 8000-8010 $PORT"),
        );
    }

    #[test]
    fn dl3020() {
        assert_rule(
            "DL3020",
            &df("ADD app /app"),
            &df("ADD app.tar.gz /app\nADD https://x/y /y"),
        );
    }

    #[test]
    fn dl3021() {
        assert_rule("DL3021", &df("COPY a b /c"), &df("COPY a b /c/\nCOPY a /c"));
    }

    #[test]
    fn dl3025() {
        assert_rule(
            "DL3025",
            &df("CMD node app.js"),
            &df("CMD [\"node\", \"app.js\"]"),
        );
    }

    #[test]
    fn dl3029() {
        assert_rule(
            "DL3029",
            "FROM --platform=linux/amd64 debian:12\n",
            "FROM --platform=$BUILDPLATFORM debian:12\n",
        );
    }

    #[test]
    fn dl3043() {
        assert_rule("DL3043", &df("ONBUILD FROM x:1"), &df("ONBUILD RUN make"));
    }

    #[test]
    fn dl3046() {
        assert_rule(
            "DL3046",
            &df("RUN useradd -u 123456 app"),
            &df("RUN useradd -l -u 123456 app && useradd -u 1000 b"),
        );
    }

    #[test]
    fn dl3047() {
        assert_rule(
            "DL3047",
            &df("RUN wget http://x"),
            &df("RUN wget -q http://x && wget --progress=dot:giga http://y"),
        );
    }

    #[test]
    fn dl3063() {
        assert_rule(
            "DL3063",
            "FROM golang:1.22 AS scratch\n",
            "FROM golang:1.22 AS build\n",
        );
    }

    #[test]
    fn dl3064() {
        assert_rule(
            "DL3064",
            &df("ARG GITHUB_TOKEN\nENV DB_PASSWORD=x"),
            &df("ARG VERSION\nENV PORT=80"),
        );
        // Hadolint sees only the first name of a multi-name ARG.
        assert_rule(
            "DL3064",
            &df("ARG GITHUB_TOKEN VERSION"),
            &df("ARG VERSION GITHUB_TOKEN\nARG A=1 GITHUB_TOKEN=2"),
        );
    }

    #[test]
    fn dl3065() {
        assert_rule(
            "DL3065",
            "FROM --platform=$TARGETPLATFORM debian:12\n",
            "FROM debian:12\n",
        );
    }

    #[test]
    fn dl3067() {
        assert_rule(
            "DL3067",
            "FROM a:1 AS x\nFROM b:1\nCOPY --from=x / /\n",
            "FROM a:1 AS x\nFROM b:1\nCOPY --from=x /app /app\n",
        );
    }

    #[test]
    fn dl4000() {
        assert_rule("DL4000", &df("MAINTAINER me"), &df("LABEL maintainer=me"));
    }

    #[test]
    fn dl4005() {
        assert_rule(
            "DL4005",
            &df("RUN ln -sf /bin/bash /bin/sh"),
            &df("SHELL [\"/bin/bash\", \"-c\"]"),
        );
    }
}
