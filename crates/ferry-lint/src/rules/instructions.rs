//! Rules about instructions themselves: FROM, USER, WORKDIR, COPY/ADD, CMD,
//! ENTRYPOINT, EXPOSE, ENV/ARG, HEALTHCHECK, SHELL, ONBUILD and RUN habits.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use super::{
    entry, entry_onbuild, is_archive, is_text, run_ok, simple, Entry, Out, Rule, RuleSettings, Step,
};
use crate::finding::Severity::{Error, Ignore, Info, Warning};
use crate::syntax::{drop_quotes, BaseImage, Flag, Kind, Port};

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
        |s| !matches!(s.kind, Kind::From(b) if b.tag.as_deref() == Some("latest")),
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
                Kind::Arg(args) => args.iter().all(|(name, _)| !is_sensitive(name)),
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

/// `$BUILDPLATFORM`, `${TARGETPLATFORM:-linux/amd64}` and the like.
fn is_predefined_platform(p: &str) -> bool {
    [
        "$BUILDPLATFORM",
        "${BUILDPLATFORM",
        "$TARGETPLATFORM",
        "${TARGETPLATFORM",
    ]
    .iter()
    .any(|v| p.starts_with(v))
}

const SENSITIVE_NAMES: [&str; 48] = [
    "ACCESS_TOKEN",
    "APPLICATION_KEY",
    "APP_SECRET",
    "AUTH_TOKEN",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "BITTREX_API_KEY",
    "BITTREX_API_SECRET",
    "CF_PASSWORD",
    "CF_USERNAME",
    "CIRCLE_TOKEN",
    "CI_DEPLOY_PASSWORD",
    "CI_DEPLOY_USER",
    "DOCKERHUB_PASSWORD",
    "DOCKER_EMAIL",
    "DOCKER_PASSWORD",
    "DOCKER_USERNAME",
    "FACEBOOK_ACCESS_TOKEN",
    "FACEBOOK_APP_ID",
    "FACEBOOK_APP_SECRET",
    "FIREBASE_API_TOKEN",
    "FIREBASE_TOKEN",
    "FOSSA_API_KEY",
    "GH_ENTERPRISE_TOKEN",
    "GH_TOKEN",
    "GITHUB_ENTERPRISE_TOKEN",
    "GITHUB_TOKEN",
    "HEROKU_API_KEY",
    "HEROKU_API_USER",
    "NPM_AUTH_TOKEN",
    "NPM_TOKEN",
    "OKTA_AUTHN_GROUPID",
    "OKTA_CLIENT_ORGURL",
    "OKTA_CLIENT_TOKEN",
    "OKTA_OAUTH2_CLIENTID",
    "OKTA_OAUTH2_CLIENTSECRET",
    "OPENAI_API_KEY",
    "OS_PASSWORD",
    "OS_USERNAME",
    "POSTGRES_PASSWORD",
    "SLACK_TOKEN",
    "STRIPE_API_KEY",
    "STRIPE_DEVICE_NAME",
    "TRAVIS_OS_NAME",
    "TRAVIS_SECURE_ENV_VARS",
    "TRAVIS_SUDO",
    "VAULT_CLIENT_KEY",
    "VAULT_TOKEN",
];

const SUSPICIOUS: [&str; 7] = [
    "api_key",
    "client_key",
    "password",
    "private",
    "secret",
    "token",
    "username",
];

fn is_sensitive(name: &str) -> bool {
    let upper = name.to_uppercase();
    let lower = name.to_lowercase();
    SENSITIVE_NAMES.contains(&upper.as_str()) || SUSPICIOUS.iter().any(|s| lower.contains(s))
}

fn is_root(user: &str) -> bool {
    user.starts_with("root:") || user.starts_with("0:") || user == "root" || user == "0"
}

/// DL3002: the last USER of a stage is root.
#[derive(Default)]
struct Dl3002 {
    stage: Option<usize>,
    root_user: BTreeMap<usize, usize>,
}

impl Rule for Dl3002 {
    fn step(&mut self, step: &Step<'_>, _out: &mut Out) {
        match step.kind {
            Kind::From(_) => self.stage = Some(step.line),
            Kind::User(user) => {
                if let Some(stage) = self.stage {
                    if is_root(user) {
                        self.root_user.insert(stage, step.line);
                    } else {
                        self.root_user.remove(&stage);
                    }
                }
            }
            _ => {}
        }
    }

    fn finish(&mut self, out: &mut Out) {
        for line in self.root_user.values() {
            out.push("DL3002", Warning, "Last USER should not be root", *line);
        }
    }
}

/// DL3006: FROM without a tag (unless scratch, a digest, a stage or a variable).
#[derive(Default)]
struct Dl3006 {
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

/// DL3010: an archive COPYed in and then extracted by RUN (last stage only).
#[derive(Default)]
struct Dl3010 {
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

/// A once-per-stage instruction repeated in a stage (HEALTHCHECK, CMD, ENTRYPOINT).
struct PerStageRepeat {
    code: &'static str,
    severity: crate::finding::Severity,
    message: &'static str,
    matches: fn(&Kind) -> bool,
    seen: bool,
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
struct Dl3022 {
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
struct Dl3023 {
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
struct Dl3024 {
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
struct Dl3026 {
    allowed: Vec<String>,
    aliases: HashSet<String>,
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

/// DL3044: an ENV value refers to a variable defined in the same ENV.
#[derive(Default)]
struct Dl3044 {
    defined: HashSet<String>,
}

fn refers_to(value: &str, var: &str) -> bool {
    if value.contains(&format!("${{{var}}}")) {
        return true;
    }
    let needle = format!("${var}");
    if !value.contains(&needle) {
        return false;
    }
    // Hadolint splits on `$var` and accepts when any piece would end a name.
    value.split(needle.as_str()).any(|piece| {
        piece
            .chars()
            .next()
            .is_none_or(|c| !(c.is_ascii_alphanumeric() || c == '_'))
    })
}

impl Rule for Dl3044 {
    fn step(&mut self, step: &Step<'_>, out: &mut Out) {
        match step.kind {
            Kind::Env(pairs) => {
                let bad = pairs.iter().enumerate().any(|(i, (var, _))| {
                    !self.defined.contains(var)
                        && pairs
                            .iter()
                            .enumerate()
                            .any(|(j, (_, value))| j != i && refers_to(value, var))
                });
                for (k, _) in pairs {
                    self.defined.insert(k.clone());
                }
                if bad {
                    out.push(
                        "DL3044",
                        Error,
                        "Do not refer to an environment variable within the same `ENV` statement where it is defined.",
                        step.line,
                    );
                }
            }
            Kind::Arg(args) => {
                for (name, _) in args {
                    self.defined.insert(name.clone());
                }
            }
            _ => {}
        }
    }
}

/// DL3045: COPY to a relative destination with no WORKDIR in the stage (or the
/// stage it builds on).
#[derive(Default)]
struct Dl3045 {
    current: Option<String>,
    workdir: HashMap<Option<String>, bool>,
}

impl Rule for Dl3045 {
    fn step(&mut self, step: &Step<'_>, out: &mut Out) {
        match step.kind {
            Kind::From(from) => {
                let name = from.alias.clone().unwrap_or_else(|| from.name.clone());
                let parent = self
                    .workdir
                    .get(&Some(from.name.clone()))
                    .copied()
                    .unwrap_or(false);
                self.workdir.insert(Some(name.clone()), parent);
                self.current = Some(name);
            }
            Kind::Workdir(_) => {
                self.workdir.insert(self.current.clone(), true);
            }
            Kind::Copy(c) => {
                if self.workdir.get(&self.current).copied().unwrap_or(false) {
                    return;
                }
                let dest = drop_quotes(&c.dest);
                let after_drive: String = dest.chars().skip(1).take(2).collect();
                let absolute = dest.starts_with('/')
                    || after_drive == ":\\"
                    || after_drive == ":/"
                    || dest.starts_with('$');
                if !absolute {
                    out.push(
                        "DL3045",
                        Warning,
                        "`COPY` to a relative destination without `WORKDIR` set.",
                        step.line,
                    );
                }
            }
            _ => {}
        }
    }
}

/// DL3057 (ignored by default): a stage without HEALTHCHECK that no
/// healthchecked stage is built on.
#[derive(Default)]
struct Dl3057 {
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

/// DL3059: consecutive RUNs that could be one (both single commands, same flags).
#[derive(Default)]
struct Dl3059 {
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
                let count = step.shell.map_or(0, |s| s.commands.len());
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

/// DL3061: only ARG and comments may come before the first FROM.
#[derive(Default)]
struct Dl3061 {
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

/// DL3066: USER with a name instead of a numeric id (an ARG reference is
/// left alone: its value is not known).
#[derive(Default)]
struct Dl3066 {
    args: HashSet<String>,
}

impl Rule for Dl3066 {
    fn step(&mut self, step: &Step<'_>, out: &mut Out) {
        match step.kind {
            Kind::Arg(args) => self.args.extend(args.iter().map(|(n, _)| n.clone())),
            Kind::User(u) => {
                let uid = u.split(':').next().unwrap_or("");
                let var = uid
                    .trim_start_matches('$')
                    .trim_start_matches('{')
                    .trim_end_matches('}');
                if uid.starts_with('$') && self.args.contains(var) {
                    return;
                }
                if !uid.chars().all(|c| c.is_ascii_digit()) {
                    out.push(
                        "DL3066",
                        Info,
                        "Non-numeric user-id may not be resolvable by host system",
                        step.line,
                    );
                }
            }
            _ => {}
        }
    }
}

/// DL4001: both wget and curl in one stage.
#[derive(Default)]
struct Dl4001 {
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
struct Dl4006 {
    pipefail: bool,
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
    use super::super::test_support::{assert_rule, codes_with, lines};
    use super::super::RuleSettings;
    use super::glob_match;

    const F: &str = "FROM debian:12\n";

    fn df(body: &str) -> String {
        format!("{F}{body}\n")
    }

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
    fn dl3002() {
        assert_rule("DL3002", &df("USER root"), &df("USER root\nUSER app"));
        assert_eq!(
            lines("FROM a:1\nUSER 0:0\nFROM b:1\nUSER app\n", "DL3002"),
            vec![2]
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
    fn dl3006() {
        assert_rule(
            "DL3006",
            "FROM debian\n",
            "FROM debian:12 AS base\nFROM base\nFROM scratch\nFROM ${IMG}\nFROM x@sha256:ab\n",
        );
    }

    #[test]
    fn dl3007() {
        assert_rule("DL3007", "FROM debian:latest\n", "FROM debian:12\n");
    }

    #[test]
    fn dl3010() {
        assert_rule(
            "DL3010",
            &df("COPY app.tar.gz /tmp/\nRUN tar -xzf /tmp/app.tar.gz"),
            &df("COPY app.tar.gz /tmp/\nRUN ls /tmp/app.tar.gz"),
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
    fn dl3012() {
        assert_rule(
            "DL3012",
            &df("HEALTHCHECK CMD a\nHEALTHCHECK CMD b"),
            &df("HEALTHCHECK CMD a\nFROM x:1\nHEALTHCHECK NONE"),
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
    fn dl3025() {
        assert_rule(
            "DL3025",
            &df("CMD node app.js"),
            &df("CMD [\"node\", \"app.js\"]"),
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
    fn dl3044() {
        assert_rule(
            "DL3044",
            &df("ENV A=1 B=$A"),
            &df("ENV A=1\nENV B=$A C=${PATH}"),
        );
    }

    #[test]
    fn dl3045() {
        assert_rule(
            "DL3045",
            &df("COPY a b"),
            &df("WORKDIR /app\nCOPY a b\nCOPY a /abs"),
        );
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
    fn dl3059() {
        assert_rule(
            "DL3059",
            &df("RUN a\nRUN b"),
            &df("RUN a && b\nRUN c\nCOPY x /y\nRUN d"),
        );
        assert_eq!(lines(&df("RUN a\n# note\nRUN b"), "DL3059"), vec![4]);
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
    fn dl3066() {
        assert_rule("DL3066", &df("USER app"), &df("USER 1000:1000"));
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
    fn dl4001() {
        assert_rule(
            "DL4001",
            &df("RUN wget -q x\nRUN curl y"),
            &df("RUN curl x\nFROM b:1\nRUN wget -q y"),
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
    fn dl4005() {
        assert_rule(
            "DL4005",
            &df("RUN ln -sf /bin/bash /bin/sh"),
            &df("SHELL [\"/bin/bash\", \"-c\"]"),
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

    #[test]
    fn ignore_severity_rules_are_silent_by_default() {
        // DL3057 exists but defaults to `ignore`.
        assert!(lines(&df("RUN true"), "DL3057").is_empty());
    }
}
