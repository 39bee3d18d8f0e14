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
//! On BuildKit ([`generate_buildkit_dockerfile`]) the install step (and the build
//! step of compiled languages) also mounts the package managers' download caches
//! (`RUN --mount=type=cache`), kept by the engine across builds and out of the image,
//! so a changed lock file downloads only what changed; build secrets are secret mounts
//! (`/run/secrets/<NAME>`, read into `$NAME` for the step), never in a layer. The
//! classic builder has neither: its Dockerfile has plain RUN steps.

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

/// A package manager's download cache, as a BuildKit cache mount.
struct CacheMount {
    /// The mount's id in the engine's build cache (shared by every app's builds).
    id: &'static str,
    target: &'static str,
    /// The variable pointing the tool at `target`, whatever the base image's HOME.
    variable: Option<&'static str>,
    /// `sharing=private` (a build finding it in use gets a fresh one) where concurrent
    /// writers are not known to be safe (yarn v1, poetry); others are shared. Never
    /// `locked`: the BuildKit of Docker 20.10 (0.8) can leave such a lock held, and
    /// every later build mounting that cache then waits forever (moby/buildkit#1818).
    private: bool,
}

const fn cache(
    id: &'static str,
    target: &'static str,
    variable: Option<&'static str>,
    private: bool,
) -> CacheMount {
    CacheMount {
        id,
        target,
        variable,
        private,
    }
}

/// The download caches of a provider's tools, and whether its build step (which
/// compiles, fetching what the install step did not) mounts them too.
fn cache_mounts(provider: &str) -> (&'static [CacheMount], bool) {
    const PYTHON: &[CacheMount] = &[
        cache(
            "ferry-pip",
            "/root/.cache/pip",
            Some("PIP_CACHE_DIR"),
            false,
        ),
        cache("ferry-uv", "/root/.cache/uv", Some("UV_CACHE_DIR"), false),
        cache(
            "ferry-poetry",
            "/root/.cache/pypoetry",
            Some("POETRY_CACHE_DIR"),
            true,
        ),
    ];
    const NODE: &[CacheMount] = &[
        cache("ferry-npm", "/root/.npm", Some("npm_config_cache"), false),
        cache(
            "ferry-yarn",
            "/usr/local/share/.cache/yarn",
            Some("YARN_CACHE_FOLDER"),
            true,
        ),
        cache(
            "ferry-pnpm",
            "/root/.local/share/pnpm/store",
            Some("npm_config_store_dir"),
            false,
        ),
    ];
    const GO: &[CacheMount] = &[
        cache("ferry-go-mod", "/go/pkg/mod", Some("GOMODCACHE"), false),
        cache(
            "ferry-go-build",
            "/root/.cache/go-build",
            Some("GOCACHE"),
            false,
        ),
    ];
    // The official image's CARGO_HOME; cargo locks its registry itself.
    const RUST: &[CacheMount] = &[
        cache(
            "ferry-cargo-registry",
            "/usr/local/cargo/registry",
            None,
            false,
        ),
        cache("ferry-cargo-git", "/usr/local/cargo/git", None, false),
    ];
    match provider {
        "python" => (PYTHON, false),
        "node" => (NODE, false),
        "go" => (GO, true),
        "rust" => (RUST, true),
        _ => (&[], false),
    }
}

/// A Dockerfile for `plan` on `base` for the classic builder; `separate_install` puts
/// the install step in its own layer before the app is copied. `port` is where the
/// app listens (`$PORT`).
pub fn generate_dockerfile(
    plan: &BuildPlan,
    base: &str,
    separate_install: bool,
    port: u16,
) -> String {
    generate(plan, base, separate_install, port, None)
}

/// [`generate_dockerfile`] for BuildKit: cache mounts on the install step, and every
/// `secrets` name mounted on the install and build steps and set as a variable there.
pub fn generate_buildkit_dockerfile(
    plan: &BuildPlan,
    base: &str,
    separate_install: bool,
    port: u16,
    secrets: &[String],
) -> String {
    generate(plan, base, separate_install, port, Some(secrets))
}

/// The RUN instruction of one step: `secrets` is `None` on the classic builder (no
/// mounts at all), else the secret names for BuildKit; `caches` are the step's caches.
fn run_step(
    text: &mut String,
    commands: &[String],
    caches: &[CacheMount],
    secrets: Option<&[String]>,
) {
    if commands.is_empty() {
        return;
    }
    let Some(secrets) = secrets else {
        let _ = writeln!(text, "RUN {}", join_commands(commands, &[]));
        return;
    };
    let mut flags = String::new();
    let mut prefix = Vec::new();
    for mount in caches {
        let _ = write!(
            flags,
            "--mount=type=cache,id={},target={}{} ",
            mount.id,
            mount.target,
            if mount.private {
                ",sharing=private"
            } else {
                ""
            }
        );
        if let Some(variable) = mount.variable {
            prefix.push(format!("export {variable}={}", mount.target));
        }
    }
    for name in secrets {
        // Names are checked to be variable names (letters, digits, _) by the config.
        let _ = write!(flags, "--mount=type=secret,id={name} ");
        prefix.push(format!(
            "{name}=\"$(cat /run/secrets/{name})\" && export {name}"
        ));
    }
    let _ = writeln!(text, "RUN {flags}{}", join_commands(commands, &prefix));
}

fn generate(
    plan: &BuildPlan,
    base: &str,
    separate_install: bool,
    port: u16,
    secrets: Option<&[String]>,
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
    let (caches, build_caches) = cache_mounts(&plan.provider);
    if separate_install {
        let mut copy: Vec<&str> = plan.cache_keys.iter().map(String::as_str).collect();
        copy.push("./");
        let _ = writeln!(text, "COPY {}", json_list(&copy));
        run_step(&mut text, &plan.install, caches, secrets);
        let _ = writeln!(text, "COPY . .");
    } else {
        let _ = writeln!(text, "COPY . .");
        run_step(&mut text, &plan.install, caches, secrets);
    }
    let build_caches = if build_caches { caches } else { &[] };
    run_step(&mut text, &plan.build, build_caches, secrets);
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

/// Commands as one RUN that stops at the first failure, after the `prefix` commands
/// (variables of the step): a shell line, or the exec form (a JSON string keeps a
/// multi-line script's newlines, which a Dockerfile line continuation would join).
fn join_commands(commands: &[String], prefix: &[String]) -> String {
    let script = prefix
        .iter()
        .cloned()
        .chain(commands.iter().map(|c| format!("({c})")))
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
    fn python_on_buildkit_mounts_the_download_caches_and_the_secrets() {
        let dir = app(&[("requirements.txt", "flask\n"), ("main.py", "")]);
        let planned = plan_dir(dir.path()).unwrap();
        let plan = docker_plan(&planned.config, dir.path());
        let classic = generate_dockerfile(&plan, "python:3.12-slim", true, 8080);
        assert!(!classic.contains("--mount"), "{classic}");
        let secrets = ["PIP_TOKEN".to_string()];
        let text = generate_buildkit_dockerfile(&plan, "python:3.12-slim", true, 8080, &secrets);
        let install = text
            .lines()
            .find(|l| l.contains("pip install"))
            .unwrap_or_else(|| panic!("{text}"));
        assert_eq!(
            install,
            "RUN --mount=type=cache,id=ferry-pip,target=/root/.cache/pip \
             --mount=type=cache,id=ferry-uv,target=/root/.cache/uv \
             --mount=type=cache,id=ferry-poetry,target=/root/.cache/pypoetry,sharing=private \
             --mount=type=secret,id=PIP_TOKEN \
             export PIP_CACHE_DIR=/root/.cache/pip && export UV_CACHE_DIR=/root/.cache/uv \
             && export POETRY_CACHE_DIR=/root/.cache/pypoetry \
             && PIP_TOKEN=\"$(cat /run/secrets/PIP_TOKEN)\" && export PIP_TOKEN \
             && (python3 -m venv .venv) \
             && (.venv/bin/pip install --disable-pip-version-check -r requirements.txt)"
        );
        // Everything but the install step is the classic Dockerfile's.
        let other = |t: &str| -> Vec<String> {
            t.lines()
                .filter(|l| !l.contains("pip install"))
                .map(String::from)
                .collect()
        };
        assert_eq!(other(&text), other(&classic));
        // The caches keep pip's download cache out of the image: no lint warning.
        assert!(text.contains("target=/root/.cache/pip"), "{text}");
    }

    #[test]
    fn node_on_buildkit_mounts_npm_yarn_and_pnpm_caches_on_the_install_step_only() {
        let pkg =
            r#"{"dependencies":{"express":"4"},"scripts":{"build":"tsc","start":"node a.js"}}"#;
        let dir = app(&[("package.json", pkg), ("package-lock.json", "{}")]);
        let planned = plan_dir(dir.path()).unwrap();
        let plan = docker_plan(&planned.config, dir.path());
        let text = generate_buildkit_dockerfile(&plan, "node:20-slim", true, 3000, &[]);
        let lines: Vec<&str> = text.lines().collect();
        let install = lines.iter().find(|l| l.contains("npm ci")).unwrap();
        assert!(
            install.starts_with(
                "RUN --mount=type=cache,id=ferry-npm,target=/root/.npm \
                 --mount=type=cache,id=ferry-yarn,target=/usr/local/share/.cache/yarn,sharing=private \
                 --mount=type=cache,id=ferry-pnpm,target=/root/.local/share/pnpm/store \
                 export npm_config_cache=/root/.npm && "
            ),
            "{text}"
        );
        assert!(!install.contains("type=secret"), "{text}");
        assert!(lines.contains(&"RUN (npm run build)"), "{text}");
        let classic = generate_dockerfile(&plan, "node:20-slim", true, 3000);
        assert!(classic.contains("\nRUN (npm ci)\n"), "{classic}");
    }

    #[test]
    fn compiled_languages_mount_their_caches_on_the_build_step_too() {
        let mut plan = BuildPlan::new("go");
        plan.install = vec!["go mod download".into()];
        plan.build = vec!["go build -o bin/api .".into()];
        let text = generate_buildkit_dockerfile(&plan, "golang:1.22", false, 8080, &[]);
        let runs: Vec<&str> = text.lines().filter(|l| l.starts_with("RUN ")).collect();
        assert_eq!(runs.len(), 2, "{text}");
        for run in runs {
            assert!(run.contains("target=/go/pkg/mod "), "{run}");
            assert!(
                run.contains("export GOCACHE=/root/.cache/go-build"),
                "{run}"
            );
        }
        // A multi-line step keeps its newlines in the exec form, flags before it.
        plan.build = vec!["go vet ./...\ngo build .".into()];
        let text = generate_buildkit_dockerfile(&plan, "golang:1.22", false, 8080, &[]);
        assert!(
            text.contains("target=/root/.cache/go-build [\"/bin/sh\",\"-c\",\"export GOMODCACHE"),
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
