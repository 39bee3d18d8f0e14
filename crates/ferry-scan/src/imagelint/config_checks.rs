//! Checks on the image config and its build history: the default user, HEALTHCHECK,
//! VOLUMEs, secrets in variables and labels, and what each `RUN`/`ADD` step did
//! (apt, apk, sudo, ADD). History lines are read the way Dockle reads them: split at
//! `&&` into commands, each command into whitespace-separated words.

use std::collections::BTreeSet;

use super::catalog::{
    APK_NO_CACHE, APT_CACHE, AVOID_ROOT, DIST_UPGRADE, HEALTHCHECK, SECRETS, SENSITIVE_MOUNT, SUDO,
    UPDATE_ALONE, USE_COPY,
};
use super::{Findings, ImageLintOptions, CONFIG_LOCATION};
use crate::image::ImageConfig;

/// Words that make a variable name suspicious (case-insensitive, anywhere in the name).
const SUSPICIOUS_WORDS: &[&str] = &[
    "PASS", "PASSWD", "PASSWORD", "SECRET", "KEY", "ACCESS", "TOKEN",
];
/// Names that contain a suspicious word but are public by convention.
const ACCEPTED_KEYS: &[&str] = &["GPG_KEY", "GPG_KEYS"];
/// VOLUMEs that expose the host's kernel interfaces.
const SENSITIVE_DIRS: &[&str] = &["/sys", "/dev", "/proc"];
/// Words of `rm -rf /var/lib/apt/lists/*`; three of them in one command clear the cache.
const REMOVE_APT_LISTS: &[&str] = &[
    "rm",
    "-rf",
    "-fr",
    "-r",
    "-fR",
    "/var/lib/apt/lists",
    "/var/lib/apt/lists/*",
    "/var/lib/apt/lists/*;",
];

pub(super) fn run(config: &ImageConfig, options: &ImageLintOptions, out: &mut Findings) {
    let runtime = config.runtime();
    if runs_as_root(runtime.user.as_deref()) {
        out.push(AVOID_ROOT, "Last user should not be root", CONFIG_LOCATION);
    }
    if runtime.healthcheck.is_none() {
        out.push(
            HEALTHCHECK,
            "not found HEALTHCHECK statement",
            CONFIG_LOCATION,
        );
    }
    for volume in runtime.volumes.keys() {
        let trimmed = volume.trim_end_matches('/');
        if SENSITIVE_DIRS.contains(&trimmed) {
            out.push(
                SENSITIVE_MOUNT,
                format!("Avoid mounting sensitive dirs : {volume}"),
                CONFIG_LOCATION,
            );
        }
    }

    let secrets = SecretNames::new(options);
    let mut reported_names = BTreeSet::new();
    let mut seen_add = false;
    let mut adds = Vec::new();
    for step in &config.history {
        let line = step.created_by.as_deref().unwrap_or("");
        if line.is_empty() {
            continue;
        }
        for (name, value) in secrets.suspicious_assignments(line) {
            let shown = if line.contains(value.as_str()) {
                format!(" on {}", line.replace(value.as_str(), "*******"))
            } else {
                // The value was quoted differently in the history: show no command
                // rather than risk printing the secret.
                String::new()
            };
            out.push(
                SECRETS,
                format!(
                    "Suspicious ENV key found : {name}{shown} (You can suppress it with --accept-key {name})"
                ),
                CONFIG_LOCATION,
            );
            reported_names.insert(name);
        }
        let commands = split_commands(line);
        if apk_add_without_no_cache(&commands) {
            out.push(
                APK_NO_CACHE,
                format!("Use --no-cache option if use 'apk add': {line}"),
                CONFIG_LOCATION,
            );
        }
        if apt_lists_kept(&commands) {
            out.push(
                APT_CACHE,
                format!("Use 'rm -rf /var/lib/apt/lists' after 'apt-get install|update' : {line}"),
                CONFIG_LOCATION,
            );
        }
        if apt_update_alone(&commands) {
            out.push(
                UPDATE_ALONE,
                format!("Always combine 'apt-get update' with 'apt-get install|upgrade' : {line}"),
                CONFIG_LOCATION,
            );
        }
        if uses_add(&commands) {
            // The first ADD is the base image's root filesystem, not the user's choice.
            if !seen_add {
                seen_add = true;
            } else {
                adds.push(line);
            }
        }
        if commands.iter().any(|c| apt_command(c, "dist-upgrade")) {
            out.push(
                DIST_UPGRADE,
                format!("Avoid dist-upgrade in container : {line}"),
                CONFIG_LOCATION,
            );
        }
        if commands.iter().any(|c| c.contains(&"sudo")) {
            out.push(
                SUDO,
                format!("Avoid sudo in container : {line}"),
                CONFIG_LOCATION,
            );
        }
    }
    for line in adds {
        out.push(USE_COPY, format!("Use COPY : {line}"), CONFIG_LOCATION);
    }

    // The config's own variables and labels: images without history (imported, or
    // built by tools that write none) still carry them.
    for entry in &runtime.env {
        let (name, value) = entry.split_once('=').unwrap_or((entry.as_str(), ""));
        if !value.is_empty() && secrets.is_suspicious(name) && !reported_names.contains(name) {
            out.push(
                SECRETS,
                format!(
                    "Suspicious ENV key found : {name} (You can suppress it with --accept-key {name})"
                ),
                CONFIG_LOCATION,
            );
            reported_names.insert(name.to_string());
        }
    }
    for (name, value) in &runtime.labels {
        if !value.is_empty() && secrets.is_suspicious(name) && !reported_names.contains(name) {
            out.push(
                SECRETS,
                format!(
                    "Suspicious LABEL key found : {name} (You can suppress it with --accept-key {name})"
                ),
                CONFIG_LOCATION,
            );
        }
    }
}

/// Dockle flags an empty user and `root`; uid 0 by number is the same user.
fn runs_as_root(user: Option<&str>) -> bool {
    let user = user.unwrap_or("").trim();
    let name = user.split(':').next().unwrap_or("");
    matches!(name, "" | "root" | "0")
}

/// Which variable names CIS-DI-0010 reports.
struct SecretNames {
    words: Vec<String>,
    accepted: BTreeSet<String>,
}

impl SecretNames {
    fn new(options: &ImageLintOptions) -> SecretNames {
        let words = SUSPICIOUS_WORDS
            .iter()
            .map(|w| w.to_string())
            .chain(options.sensitive_words.iter().map(|w| w.trim().to_string()))
            .filter(|w| !w.is_empty())
            .map(|w| w.to_uppercase())
            .collect();
        let accepted = ACCEPTED_KEYS
            .iter()
            .map(|k| k.to_string())
            .chain(options.accept_keys.iter().map(|k| k.trim().to_string()))
            .collect();
        SecretNames { words, accepted }
    }

    fn is_suspicious(&self, name: &str) -> bool {
        if name.is_empty() || self.accepted.contains(name) {
            return false;
        }
        let upper = name.to_uppercase();
        self.words.iter().any(|w| upper.contains(w.as_str()))
    }

    /// `NAME=value` words of a history line (ENV, LABEL, ARG values in RUN) whose
    /// name is suspicious and whose value is not empty. `#` is dropped first, as
    /// Dockle does, so `#(nop)` is not a comment.
    fn suspicious_assignments(&self, line: &str) -> Vec<(String, String)> {
        if !line.contains('=') {
            return Vec::new();
        }
        let mut found: Vec<(String, String)> = Vec::new();
        for word in shell_words(&line.replace('#', "")) {
            let Some((name, value)) = word.split_once('=') else {
                continue;
            };
            if value.is_empty() || name.contains(char::is_whitespace) {
                continue;
            }
            if self.is_suspicious(name) && !found.iter().any(|(n, _)| n == name) {
                found.push((name.to_string(), value.to_string()));
            }
        }
        found
    }
}

/// Splits a line into shell words: whitespace separates, quotes group, a backslash
/// escapes the next character. An unclosed quote runs to the end of the line.
fn shell_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut current = String::new();
    let mut in_word = false;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut current));
                    in_word = false;
                }
            }
            '\'' => {
                in_word = true;
                for q in chars.by_ref() {
                    if q == '\'' {
                        break;
                    }
                    current.push(q);
                }
            }
            '"' => {
                in_word = true;
                while let Some(q) = chars.next() {
                    match q {
                        '"' => break,
                        '\\' => match chars.next() {
                            Some(e @ ('"' | '\\' | '$' | '`')) => current.push(e),
                            Some(e) => {
                                current.push('\\');
                                current.push(e);
                            }
                            None => current.push('\\'),
                        },
                        q => current.push(q),
                    }
                }
            }
            '\\' => {
                in_word = true;
                if let Some(e) = chars.next() {
                    current.push(e);
                }
            }
            c => {
                in_word = true;
                current.push(c);
            }
        }
    }
    if in_word {
        words.push(current);
    }
    words
}

/// A history line as commands (split at `&&`), each as its words.
fn split_commands(line: &str) -> Vec<Vec<&str>> {
    line.split("&&")
        .map(|command| command.split_whitespace().collect())
        .collect()
}

/// How many of `needles` occur among `words` (each counted once).
fn count_present(words: &[&str], needles: &[&str]) -> usize {
    needles.iter().filter(|n| words.contains(n)).count()
}

/// `apt-get X` or `apt X` in one command (two of `apt-get`, `apt`, `X`).
fn apt_command(words: &[&str], subcommand: &str) -> bool {
    count_present(words, &["apt-get", "apt", subcommand]) >= 2
}

/// `apt-get update` with no `install`/`upgrade` in the same or a later command.
fn apt_update_alone(commands: &[Vec<&str>]) -> bool {
    let Some(first) = commands.iter().position(|c| apt_command(c, "update")) else {
        return false;
    };
    !commands[first..]
        .iter()
        .any(|c| apt_command(c, "install") || apt_command(c, "upgrade"))
}

/// `apt-get update|install` with no `rm -rf /var/lib/apt/lists…` from then on.
fn apt_lists_kept(commands: &[Vec<&str>]) -> bool {
    let Some(first) = commands
        .iter()
        .position(|c| apt_command(c, "update") || apt_command(c, "install"))
    else {
        return false;
    };
    !commands[first..]
        .iter()
        .any(|c| count_present(c, REMOVE_APT_LISTS) >= 3)
}

/// `apk add` without `--no-cache` in the same command.
fn apk_add_without_no_cache(commands: &[Vec<&str>]) -> bool {
    commands
        .iter()
        .any(|c| c.contains(&"apk") && c.contains(&"add") && !c.contains(&"--no-cache"))
}

/// An ADD step as the classic builder (`ADD file:… in /`) or BuildKit
/// (`ADD … # buildkit`) records it.
fn uses_add(commands: &[Vec<&str>]) -> bool {
    commands
        .iter()
        .any(|c| c.contains(&"ADD") && (c.contains(&"in") || c.contains(&"buildkit")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_words_follow_quotes_and_escapes() {
        assert_eq!(
            shell_words(r#"ENV A="x y" B='p q' C=a\ b D"#),
            vec!["ENV", "A=x y", "B=p q", "C=a b", "D"]
        );
        assert_eq!(shell_words("X=\"unclosed"), vec!["X=unclosed"]);
        assert_eq!(shell_words("  "), Vec::<String>::new());
        assert_eq!(shell_words("a\\"), vec!["a"]);
    }

    #[test]
    fn apt_rules_match_dockle_examples() {
        fn c(line: &str) -> Vec<Vec<&str>> {
            split_commands(line)
        }
        assert!(apt_update_alone(&c("/bin/sh -c apt-get update")));
        assert!(!apt_update_alone(&c(
            "apt-get update && apt-get install -y git"
        )));
        assert!(!apt_update_alone(&c("apt update && apt upgrade -y")));
        // install before update does not count
        assert!(apt_update_alone(&c(
            "apt-get install -y a && apt-get update"
        )));
        assert!(apt_lists_kept(&c(
            "apt-get update && apt-get install -y git"
        )));
        assert!(!apt_lists_kept(&c(
            "apt-get update && apt-get install -y git && rm -rf /var/lib/apt/lists/*"
        )));
        assert!(!apt_lists_kept(&c("echo hello")));
        assert!(apk_add_without_no_cache(&c("apk add --update curl")));
        assert!(!apk_add_without_no_cache(&c("apk add --no-cache curl")));
        assert!(uses_add(&c("/bin/sh -c #(nop) ADD file:abc in / ")));
        assert!(uses_add(&c("ADD app.tar /app # buildkit")));
        assert!(!uses_add(&c("COPY . /app # buildkit")));
    }

    #[test]
    fn root_users() {
        for user in [
            None,
            Some(""),
            Some("root"),
            Some("0"),
            Some("0:0"),
            Some("root:app"),
        ] {
            assert!(runs_as_root(user), "{user:?}");
        }
        for user in [Some("app"), Some("1000"), Some("1000:0"), Some("nobody")] {
            assert!(!runs_as_root(user), "{user:?}");
        }
    }
}
