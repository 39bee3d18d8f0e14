//! Rules about how the image is configured: the USER it runs as, ENV and ARG
//! names and references, and COPY destinations without a WORKDIR.

use std::collections::{BTreeMap, HashMap, HashSet};

use super::super::{hadolint_args, Out, Rule, Step};
use crate::finding::Severity::{Error, Info, Warning};
use crate::syntax::{drop_quotes, Kind};

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

pub(super) fn is_sensitive(name: &str) -> bool {
    let upper = name.to_uppercase();
    let lower = name.to_lowercase();
    SENSITIVE_NAMES.contains(&upper.as_str()) || SUSPICIOUS.iter().any(|s| lower.contains(s))
}

fn is_root(user: &str) -> bool {
    user.starts_with("root:") || user.starts_with("0:") || user == "root" || user == "0"
}

/// DL3002: the last USER of a stage is root.
#[derive(Default)]
pub(super) struct Dl3002 {
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

/// DL3044: an ENV value refers to a variable defined in the same ENV.
#[derive(Default)]
pub(super) struct Dl3044 {
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
                for (name, _) in hadolint_args(args) {
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
pub(super) struct Dl3045 {
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

/// DL3066: USER with a name instead of a numeric id (an ARG reference is
/// left alone: its value is not known).
#[derive(Default)]
pub(super) struct Dl3066 {
    args: HashSet<String>,
}

impl Rule for Dl3066 {
    fn step(&mut self, step: &Step<'_>, out: &mut Out) {
        match step.kind {
            Kind::Arg(args) => self
                .args
                .extend(hadolint_args(args).iter().map(|(n, _)| n.clone())),
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

#[cfg(test)]
mod tests {
    use super::super::super::test_support::{assert_rule, df, lines};

    #[test]
    fn dl3002() {
        assert_rule("DL3002", &df("USER root"), &df("USER root\nUSER app"));
        assert_eq!(
            lines("FROM a:1\nUSER 0:0\nFROM b:1\nUSER app\n", "DL3002"),
            vec![2]
        );
    }

    #[test]
    fn dl3044() {
        assert_rule(
            "DL3044",
            &df("ENV A=1 B=$A"),
            &df("ENV A=1\nENV B=$A C=${PATH}"),
        );
        assert_rule(
            "DL3044",
            &df("ARG A B\nENV C=$B B=1"),
            &df("ARG B A\nENV C=$B B=1"),
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
    fn dl3066() {
        assert_rule("DL3066", &df("USER app"), &df("USER 1000:1000"));
        // Only the first name of a multi-name ARG is known to Hadolint.
        assert_rule("DL3066", &df("ARG A U\nUSER $U"), &df("ARG U A\nUSER $U"));
    }
}
