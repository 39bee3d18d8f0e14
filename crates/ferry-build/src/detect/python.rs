//! Python: requirements.txt, pyproject.toml (pip, poetry.lock, uv.lock) or Pipfile.
//! Dependencies go into a virtualenv in the app directory (`.venv`), never the host's
//! Python; the start command is the Procfile's (see `mod.rs`), else gunicorn or uvicorn
//! when the app depends on them, else `main.py` / `app.py`.

use super::{AppDir, DetectError};
use crate::plan::BuildPlan;

/// Modules tried, in order, as the app's entry point (`<module>.py` with an `app`).
const ENTRY_MODULES: &[&str] = &["main", "app", "wsgi", "asgi", "server"];

/// Put before a command so the virtualenv's executables come first.
pub(super) const VENV_PATH: &str = "export PATH=\"$PWD/.venv/bin:$PATH\"; ";

enum Manager {
    Requirements,
    Pip,
    Poetry,
    Uv,
    Pipenv,
}

pub(super) fn detect(app: &AppDir<'_>) -> Result<Option<BuildPlan>, DetectError> {
    let requirements = app.read("requirements.txt")?;
    let pyproject = app.read_toml("pyproject.toml")?;
    let pipfile = app.read_toml("Pipfile")?;
    let entry = ["main.py", "app.py"].into_iter().find(|f| app.exists(f));
    let manager = if pyproject.is_some() && app.exists("uv.lock") {
        Manager::Uv
    } else if pyproject.is_some() && app.exists("poetry.lock") {
        Manager::Poetry
    } else if requirements.is_some() {
        Manager::Requirements
    } else if pyproject.is_some() {
        Manager::Pip
    } else if pipfile.is_some() {
        Manager::Pipenv
    } else if entry.is_some() {
        // A lone script with no dependencies is still a Python app.
        Manager::Requirements
    } else {
        return Ok(None);
    };

    let mut plan = BuildPlan::new("python");
    plan.env
        .insert("PYTHONUNBUFFERED".to_string(), "1".to_string());
    plan.language_version = version(app, pyproject.as_ref())?;
    let mut deps: Vec<String> = Vec::new();
    match manager {
        Manager::Requirements => {
            let text = requirements.unwrap_or_default();
            deps = requirement_names(&text);
            if requirements_empty(&text) {
                plan.notes.push(
                    "no dependencies declared: no install step, the host's python3 runs the app"
                        .to_string(),
                );
            } else {
                plan.install = vec![
                    "python3 -m venv .venv".to_string(),
                    ".venv/bin/pip install --disable-pip-version-check -r requirements.txt"
                        .to_string(),
                ];
                plan.cache_keys = vec!["requirements.txt".to_string()];
                plan.notes
                    .push("dependencies from requirements.txt, with pip".to_string());
            }
        }
        Manager::Pip => {
            plan.install = vec![
                "python3 -m venv .venv".to_string(),
                ".venv/bin/pip install --disable-pip-version-check .".to_string(),
            ];
            plan.cache_keys = vec!["pyproject.toml".to_string()];
            plan.notes
                .push("dependencies from pyproject.toml, with pip".to_string());
        }
        Manager::Poetry => {
            plan.install = vec![
                "python3 -m venv .venv".to_string(),
                ".venv/bin/pip install --disable-pip-version-check poetry".to_string(),
                "VIRTUAL_ENV=$PWD/.venv .venv/bin/poetry install --no-root --only main".to_string(),
            ];
            plan.cache_keys = vec!["pyproject.toml".to_string(), "poetry.lock".to_string()];
            plan.notes
                .push("poetry.lock: dependencies with poetry".to_string());
        }
        Manager::Uv => {
            plan.install = vec!["uv sync --frozen --no-dev".to_string()];
            plan.cache_keys = vec!["pyproject.toml".to_string(), "uv.lock".to_string()];
            plan.notes
                .push("uv.lock: dependencies with uv (uv must be on the host)".to_string());
        }
        Manager::Pipenv => {
            plan.env
                .insert("PIPENV_VENV_IN_PROJECT".to_string(), "1".to_string());
            plan.install = vec![
                "python3 -m venv .pipenv-tool".to_string(),
                ".pipenv-tool/bin/pip install --disable-pip-version-check pipenv".to_string(),
                ".pipenv-tool/bin/pipenv install --deploy".to_string(),
            ];
            let mut keys = vec!["Pipfile".to_string()];
            if app.exists("Pipfile.lock") {
                keys.push("Pipfile.lock".to_string());
            }
            plan.cache_keys = keys;
            plan.notes
                .push("Pipfile: dependencies with pipenv".to_string());
        }
    }
    if let Some(pyproject) = &pyproject {
        deps.extend(pyproject_dependencies(pyproject));
    }
    if let Some(pipfile) = &pipfile {
        deps.extend(table_keys(pipfile.get("packages")));
    }
    let venv = !plan.install.is_empty();
    let module = ENTRY_MODULES
        .iter()
        .find(|m| app.exists(&format!("{m}.py")))
        .copied();
    let has = |name: &str| deps.iter().any(|d| d == name);
    let start = match module {
        Some(module) if has("gunicorn") => Some(format!(
            "gunicorn --bind ${{HOST:-0.0.0.0}}:$PORT {module}:app"
        )),
        Some(module) if has("uvicorn") => Some(format!(
            "uvicorn {module}:app --host ${{HOST:-0.0.0.0}} --port $PORT"
        )),
        _ => entry.map(|file| format!("python3 {file}")),
    };
    match &start {
        Some(start) => plan.notes.push(format!("start: {start}")),
        None => plan.notes.push(
            "no start command found: add a Procfile `web:` line, a main.py or app.py, \
             or [run] command in ferry.toml"
                .to_string(),
        ),
    }
    plan.start = start.map(|s| {
        if venv {
            format!("{VENV_PATH}exec {s}")
        } else {
            format!("exec {s}")
        }
    });
    Ok(Some(plan))
}

/// `.python-version`, else `runtime.txt` (`python-3.11.4`), else `requires-python`.
fn version(
    app: &AppDir<'_>,
    pyproject: Option<&toml::Table>,
) -> Result<Option<String>, DetectError> {
    if let Some(version) = app.first_line(".python-version")? {
        return Ok(Some(version));
    }
    if let Some(line) = app.first_line("runtime.txt")? {
        return Ok(Some(line.trim_start_matches("python-").to_string()));
    }
    Ok(pyproject
        .and_then(|p| p.get("project"))
        .and_then(|p| p.get("requires-python"))
        .and_then(|v| v.as_str())
        .map(str::to_string))
}

fn requirements_empty(text: &str) -> bool {
    text.lines()
        .map(str::trim)
        .all(|line| line.is_empty() || line.starts_with('#'))
}

/// Normalised package names of a requirements file (options and comments skipped).
fn requirement_names(text: &str) -> Vec<String> {
    text.lines()
        .map(|line| line.split('#').next().unwrap_or("").trim())
        .filter(|line| !line.is_empty() && !line.starts_with('-'))
        .filter_map(package_name)
        .collect()
}

/// `Gunicorn[gevent]>=21` → `gunicorn`.
fn package_name(spec: &str) -> Option<String> {
    let end = spec
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.'))
        .unwrap_or(spec.len());
    let name = &spec[..end];
    (!name.is_empty()).then(|| name.to_ascii_lowercase().replace('_', "-"))
}

fn pyproject_dependencies(pyproject: &toml::Table) -> Vec<String> {
    let mut names: Vec<String> = pyproject
        .get("project")
        .and_then(|p| p.get("dependencies"))
        .and_then(|d| d.as_array())
        .into_iter()
        .flatten()
        .filter_map(|d| d.as_str())
        .filter_map(package_name)
        .collect();
    names.extend(table_keys(
        pyproject
            .get("tool")
            .and_then(|t| t.get("poetry"))
            .and_then(|p| p.get("dependencies")),
    ));
    names
}

fn table_keys(table: Option<&toml::Value>) -> Vec<String> {
    table
        .and_then(|t| t.as_table())
        .into_iter()
        .flat_map(|t| t.keys())
        .filter_map(|k| package_name(k))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::testing::app;
    use super::*;

    fn plan(files: &[(&str, &str)]) -> Option<BuildPlan> {
        let dir = app(files);
        detect(&AppDir { dir: dir.path() }).unwrap()
    }

    #[test]
    fn requirements_with_gunicorn_start_gunicorn_in_the_venv() {
        let plan = plan(&[
            ("requirements.txt", "Flask==3.0\ngunicorn>=21 # server\n"),
            ("app.py", ""),
        ])
        .unwrap();
        assert_eq!(plan.cache_keys, ["requirements.txt"]);
        assert!(
            plan.install[1].contains("pip install"),
            "{:?}",
            plan.install
        );
        let start = plan.start.unwrap();
        assert!(start.starts_with(VENV_PATH), "{start}");
        assert!(
            start.ends_with("gunicorn --bind ${HOST:-0.0.0.0}:$PORT app:app"),
            "{start}"
        );
    }

    #[test]
    fn empty_requirements_install_nothing() {
        let plan = plan(&[("requirements.txt", "# none\n"), ("main.py", "")]).unwrap();
        assert!(plan.install.is_empty());
        assert_eq!(plan.start.as_deref(), Some("exec python3 main.py"));
    }

    #[test]
    fn lock_files_choose_the_manager() {
        let pyproject =
            "[project]\nname='x'\nrequires-python='>=3.11'\ndependencies=['uvicorn[standard]']\n";
        let uv = plan(&[
            ("pyproject.toml", pyproject),
            ("uv.lock", ""),
            ("main.py", ""),
        ])
        .unwrap();
        assert_eq!(uv.install, ["uv sync --frozen --no-dev"]);
        assert_eq!(uv.language_version.as_deref(), Some(">=3.11"));
        assert!(uv
            .start
            .unwrap()
            .ends_with("uvicorn main:app --host ${HOST:-0.0.0.0} --port $PORT"));
        let poetry = plan(&[
            (
                "pyproject.toml",
                "[tool.poetry.dependencies]\npython='^3.11'\n",
            ),
            ("poetry.lock", ""),
        ])
        .unwrap();
        assert!(poetry.install.iter().any(|c| c.contains("poetry install")));
        assert_eq!(poetry.cache_keys, ["pyproject.toml", "poetry.lock"]);
        assert!(poetry.start.is_none());
        let pip = plan(&[("pyproject.toml", "[project]\nname='x'\n")]).unwrap();
        assert!(pip.install[1].ends_with("pip install --disable-pip-version-check ."));
        let pipenv = plan(&[("Pipfile", "[packages]\ngunicorn='*'\n"), ("wsgi.py", "")]).unwrap();
        assert!(pipenv.install[2].contains("pipenv install"));
        assert!(pipenv
            .start
            .unwrap()
            .ends_with("gunicorn --bind ${HOST:-0.0.0.0}:$PORT wsgi:app"));
    }

    #[test]
    fn version_files_and_bad_toml() {
        let versioned = plan(&[("main.py", ""), (".python-version", "3.12.1\n")]).unwrap();
        assert_eq!(versioned.language_version.as_deref(), Some("3.12.1"));
        let dir = app(&[("pyproject.toml", "[project\n")]);
        let err = detect(&AppDir { dir: dir.path() }).unwrap_err().to_string();
        assert!(err.starts_with("pyproject.toml: "), "{err}");
        assert!(plan(&[("README", "")]).is_none());
    }
}
