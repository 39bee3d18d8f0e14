//! The docker back end's recipe: the Dockerfile ferry generates from a plan (or the
//! app's own), and the base image each provider starts from.
//!
//! Layer order is what makes a code-only change cheap: the files that key the install
//! step (`requirements.txt`, `package.json` and its lock, `go.mod`/`go.sum`) are
//! copied alone, the install step runs, and only then is the whole app copied. The
//! engine's build cache reuses every layer up to the first one whose input changed, so
//! a change to the code alone rebuilds from `COPY . .` on. An install step that needs
//! the app's own files (`pip install .`) runs after the copy instead.
//!
//! The engine's classic builder is used (no BuildKit session), so there are no cache
//! mounts (`RUN --mount=type=cache`) and no secret mounts yet: see docs/operations.md.

use crate::deps::cacheable;
use crate::merge::{build_plan, plan_dir};
use crate::plan::{BuildPlan, PlanKind};
use ferry_types::config::app_file_exists;
use ferry_types::ServiceConfig;
use std::fmt::Write as _;
use std::path::Path;

/// The file name of the generated Dockerfile inside the build context.
pub const GENERATED_DOCKERFILE: &str = ".ferry.Dockerfile";

/// Where an image's app files live.
const WORKDIR: &str = "/app";

/// The providers with their own default base image (and `FERRY_BASE_<NAME>` variable);
/// anything else (a Procfile, a config file's commands) uses `default`.
pub const BASE_PROVIDERS: &[&str] = &["python", "node", "go", "rust", "static", "default"];

/// The base image a provider's generated Dockerfile starts from, unless `[build] base`
/// or the server's `FERRY_BASE_<PROVIDER>` says otherwise.
pub fn default_base(plan: &BuildPlan) -> String {
    let version = plan
        .language_version
        .as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty() && v.chars().all(|c| c.is_ascii_digit() || c == '.'));
    match plan.provider.as_str() {
        "python" => format!("python:{}-slim", version.unwrap_or("3.12")),
        "node" => format!(
            "node:{}-slim",
            version.and_then(|v| v.split('.').next()).unwrap_or("20")
        ),
        "go" => format!("golang:{}", version.unwrap_or("1.22")),
        "rust" => "rust:1-slim".to_string(),
        "static" => "busybox:stable".to_string(),
        _ => "debian:bookworm-slim".to_string(),
    }
}

/// Which `FERRY_BASE_<NAME>` variable applies to `plan`.
pub fn base_variable(plan: &BuildPlan) -> String {
    let name = if BASE_PROVIDERS.contains(&plan.provider.as_str()) {
        plan.provider.as_str()
    } else {
        "default"
    };
    format!("FERRY_BASE_{}", name.to_ascii_uppercase())
}

/// The base image: `[build] base`, else the server's variable, else the default.
pub fn base_image(
    plan: &BuildPlan,
    config: &ServiceConfig,
    server_env: impl Fn(&str) -> Option<String>,
) -> String {
    config
        .build
        .base
        .clone()
        .or_else(|| server_env(&base_variable(plan)).filter(|v| !v.trim().is_empty()))
        .unwrap_or_else(|| default_base(plan))
}

/// The plan a docker build of a revision follows: its config's commands (as
/// [`build_plan`] recovers them), with the provider, version and cache keys detection
/// finds in `dir` even when there is no install step to recognise them by. Blocking.
///
/// An app with a `Dockerfile` is built from it, even with a config file (which still
/// sets the port, env and checks, and whose `run.command` replaces the image's CMD).
pub fn docker_plan(config: &ServiceConfig, dir: &Path) -> BuildPlan {
    let mut plan = build_plan(config, dir);
    if let Ok(planned) = plan_dir(dir) {
        if plan.provider == "config" {
            plan.provider = planned.plan.provider;
            plan.language_version = planned.plan.language_version;
        }
        plan.kind = planned.plan.kind;
        plan.static_root = planned.plan.static_root;
    }
    if app_file_exists(dir, "Dockerfile") {
        if plan.kind != PlanKind::Dockerfile && !plan.is_empty() {
            plan.notes
                .push("the app's Dockerfile is the build: the build commands do not run".into());
        }
        plan.kind = PlanKind::Dockerfile;
    }
    plan
}

/// Whether the install step can run on the cache-key files alone, before the app is
/// copied (so its layer survives code-only changes).
pub fn install_layer_separable(plan: &BuildPlan, dir: &Path) -> bool {
    if plan.install.is_empty() || plan.cache_keys.is_empty() {
        return false;
    }
    match plan.provider.as_str() {
        // `go mod download` reads go.mod and go.sum only.
        "go" => true,
        _ => cacheable(plan, dir).is_ok(),
    }
}

/// A Dockerfile for `plan` on `base`; `separate_install` puts the install step in its
/// own layer before the app is copied. `port` is where the app listens (`$PORT`).
pub fn generate_dockerfile(
    plan: &BuildPlan,
    base: &str,
    separate_install: bool,
    port: u16,
) -> String {
    let mut text = String::new();
    let _ = writeln!(
        text,
        "# Generated by ferry from the {} plan.",
        plan.provider
    );
    let _ = writeln!(text, "FROM {base}");
    let _ = writeln!(text, "WORKDIR {WORKDIR}");
    for (key, value) in &plan.env {
        let _ = writeln!(text, "ENV {key}={}", quote(value));
    }
    let run = |text: &mut String, commands: &[String]| {
        if !commands.is_empty() {
            let _ = writeln!(text, "RUN {}", join_commands(commands));
        }
    };
    if separate_install {
        let mut copy: Vec<&str> = plan.cache_keys.iter().map(String::as_str).collect();
        copy.push("./");
        let _ = writeln!(text, "COPY {}", json_list(&copy));
        run(&mut text, &plan.install);
        let _ = writeln!(text, "COPY . .");
    } else {
        let _ = writeln!(text, "COPY . .");
        run(&mut text, &plan.install);
    }
    run(&mut text, &plan.build);
    let _ = writeln!(text, "ENV PORT={port}");
    let _ = writeln!(text, "EXPOSE {port}");
    if let Some(start) = &plan.start {
        let _ = writeln!(
            text,
            "CMD {}",
            json_list(&["/bin/sh", "-c", start.as_str()])
        );
    }
    text
}

/// Whether a revision is built from the app's own Dockerfile.
pub fn uses_own_dockerfile(plan: &BuildPlan) -> bool {
    plan.kind == PlanKind::Dockerfile
}

/// Commands as one RUN that stops at the first failure: a shell line, or the exec
/// form (a JSON string keeps a multi-line script's newlines, which a Dockerfile line
/// continuation would join).
fn join_commands(commands: &[String]) -> String {
    let script = commands
        .iter()
        .map(|c| format!("({c})"))
        .collect::<Vec<_>>()
        .join(" && ");
    if script.contains('\n') {
        json_list(&["/bin/sh", "-c", script.as_str()])
    } else {
        script
    }
}

/// A JSON array, the exec form Docker parses without a shell.
fn json_list<S: AsRef<str>>(items: &[S]) -> String {
    let items: Vec<&str> = items.iter().map(AsRef::as_ref).collect();
    serde_json::to_string(&items).unwrap_or_else(|_| "[]".to_string())
}

/// An ENV value in double quotes, with the characters the Dockerfile parser treats
/// specially escaped.
fn quote(value: &str) -> String {
    let mut out = String::from("\"");
    for c in value.chars() {
        match c {
            '"' | '\\' | '$' => {
                out.push('\\');
                out.push(c);
            }
            '\n' => out.push_str("\\n"),
            _ => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::testing::app;

    #[test]
    fn install_files_then_install_then_the_app_then_the_build() {
        let dir = app(&[("requirements.txt", "flask\n"), ("main.py", "")]);
        let planned = plan_dir(dir.path()).unwrap();
        let mut plan = docker_plan(&planned.config, dir.path());
        plan.build = vec!["python3 -m compileall .".into()];
        assert!(install_layer_separable(&plan, dir.path()));
        let text = generate_dockerfile(&plan, "python:3.12-slim", true, 8080);
        let lines: Vec<&str> = text.lines().collect();
        let at = |prefix: &str| {
            lines
                .iter()
                .position(|l| l.starts_with(prefix))
                .unwrap_or_else(|| panic!("no {prefix} in\n{text}"))
        };
        assert!(at("FROM python:3.12-slim") < at("COPY [\"requirements.txt\",\"./\"]"));
        assert!(at("COPY [\"requirements.txt\"") < at("RUN (python3 -m venv .venv)"));
        assert!(at("RUN (python3 -m venv .venv)") < at("COPY . ."));
        assert!(at("COPY . .") < at("RUN (python3 -m compileall .)"));
        assert!(text.contains("ENV PYTHONUNBUFFERED=\"1\"\n"), "{text}");
        assert!(text.contains("ENV PORT=8080\nEXPOSE 8080\n"), "{text}");
        assert!(
            text.contains("CMD [\"/bin/sh\",\"-c\",\"export PATH="),
            "{text}"
        );
    }

    #[test]
    fn an_install_that_needs_the_app_runs_after_the_copy() {
        let dir = app(&[
            ("pyproject.toml", "[project]\nname = \"x\"\n"),
            ("main.py", ""),
        ]);
        let planned = plan_dir(dir.path()).unwrap();
        let plan = docker_plan(&planned.config, dir.path());
        assert!(!install_layer_separable(&plan, dir.path()));
        let text = generate_dockerfile(&plan, "b", false, 8080);
        assert!(
            text.find("COPY . .").unwrap() < text.find("pip install").unwrap(),
            "{text}"
        );
    }

    #[test]
    fn a_dockerfile_is_the_build_even_with_a_config_file() {
        let dir = app(&[
            ("Dockerfile", "FROM scratch\n"),
            (
                "ferry.toml",
                "[build]\ncommand = \"make\"\n[run]\nport = 3000\n",
            ),
        ]);
        let planned = plan_dir(dir.path()).unwrap();
        let plan = docker_plan(&planned.config, dir.path());
        assert!(uses_own_dockerfile(&plan));
        assert!(
            plan.notes.iter().any(|n| n.contains("do not run")),
            "{:?}",
            plan.notes
        );
    }

    #[test]
    fn base_images_per_provider_config_and_server() {
        let dir = app(&[("main.py", "")]);
        let planned = plan_dir(dir.path()).unwrap();
        // No install step: the provider still comes from detection.
        let plan = docker_plan(&planned.config, dir.path());
        assert_eq!(plan.provider, "python");
        let mut config = planned.config.clone();
        let none = |_: &str| None;
        assert_eq!(base_image(&plan, &config, none), "python:3.12-slim");
        let server = |name: &str| (name == "FERRY_BASE_PYTHON").then(|| "local/py:1".to_string());
        assert_eq!(base_image(&plan, &config, server), "local/py:1");
        config.build.base = Some("mine/py:2".into());
        assert_eq!(base_image(&plan, &config, server), "mine/py:2");
        let mut procfile = BuildPlan::new("procfile");
        assert_eq!(base_variable(&procfile), "FERRY_BASE_DEFAULT");
        procfile.provider = "node".into();
        procfile.language_version = Some("18.2".into());
        assert_eq!(default_base(&procfile), "node:18-slim");
    }

    #[test]
    fn env_values_and_multi_line_commands_stay_one_instruction() {
        let mut plan = BuildPlan::new("config");
        plan.env.insert("A".into(), "say \"hi\" $HOME".into());
        plan.build = vec!["echo one\necho two".into(), "true".into()];
        let text = generate_dockerfile(&plan, "b", false, 9000);
        assert!(
            text.contains("ENV A=\"say \\\"hi\\\" \\$HOME\"\n"),
            "{text}"
        );
        assert!(
            text.contains("RUN [\"/bin/sh\",\"-c\",\"(echo one\\necho two) && (true)\"]\n"),
            "{text}"
        );
        assert!(!text.contains("CMD"), "{text}");
    }
}
