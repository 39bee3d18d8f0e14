//! Detection: which provider recognises an app directory, and the [`BuildPlan`] it
//! makes from the app's files. One file per provider; this module owns the order.
//!
//! Order, first match wins:
//! 1. `Dockerfile` — the app's own build recipe is the most explicit thing it can say.
//! 2. Language providers: Python, Node, Go, Rust — they know how to install and build.
//! 3. A static site (`index.html`, `public/`, `dist/`) — last, because Node apps often
//!    ship an `index.html` or build into `dist/`.
//! 4. `Procfile` — its `web:` line replaces the start command of whatever matched in 2–3
//!    (as Heroku-style buildpacks do), and is a plan on its own when nothing else matched.
//!
//! Files are read with [`read_app_file`]: regular files inside the app, bounded in size.
//! Lock files are only checked for existence, never read (they can be large).

mod dockerfile;
mod go;
mod node;
mod procfile;
mod python;
mod rust;
mod staticsite;

use crate::plan::BuildPlan;
use ferry_types::config::{app_file_exists, read_app_file, AppFileError, MAX_APP_FILE_BYTES};
use std::path::{Path, PathBuf};

/// What detection looks for, in order (for the "not recognised" message).
pub const LOOKED_FOR: &[&str] = &[
    "Dockerfile",
    "requirements.txt, pyproject.toml, Pipfile, main.py or app.py (Python)",
    "package.json (Node)",
    "go.mod (Go)",
    "Cargo.toml (Rust)",
    "index.html, public/index.html or dist/index.html (static site)",
    "Procfile with a web: line",
];

#[derive(Debug, thiserror::Error)]
pub enum DetectError {
    #[error(
        "{dir}: no ferry.toml or apprunner.yaml, and nothing ferry knows how to build.\n\
         Looked for: {looked_for}.\n\
         Add a ferry.toml that says how to start the app (it must listen on $PORT):\n\n  \
         [run]\n  command = \"<how to start your app>\"",
        dir = .dir.display(),
        looked_for = LOOKED_FOR.join("; ")
    )]
    NotRecognised { dir: PathBuf },
    #[error(transparent)]
    File(#[from] AppFileError),
    /// A manifest that is there but cannot be understood (`package.json: …`).
    #[error("{file}: {message}")]
    Invalid { file: String, message: String },
}

/// The app directory as providers see it: bounded reads, existence checks.
pub(crate) struct AppDir<'a> {
    pub dir: &'a Path,
}

impl AppDir<'_> {
    pub fn exists(&self, name: &str) -> bool {
        app_file_exists(self.dir, name)
    }

    /// A text file's content; `None` when absent.
    pub fn read(&self, name: &str) -> Result<Option<String>, DetectError> {
        match read_app_file(self.dir, name, MAX_APP_FILE_BYTES)? {
            None => Ok(None),
            Some(bytes) => String::from_utf8(bytes)
                .map(Some)
                .map_err(|_| DetectError::Invalid {
                    file: name.to_string(),
                    message: "not UTF-8 text".to_string(),
                }),
        }
    }

    /// A TOML file parsed; a syntax error names the file.
    pub fn read_toml(&self, name: &str) -> Result<Option<toml::Table>, DetectError> {
        let Some(text) = self.read(name)? else {
            return Ok(None);
        };
        text.parse::<toml::Table>()
            .map(Some)
            .map_err(|err| DetectError::Invalid {
                file: name.to_string(),
                message: err.message().to_string(),
            })
    }

    /// The first non-empty, non-comment line of a version file (`.python-version`).
    pub fn first_line(&self, name: &str) -> Result<Option<String>, DetectError> {
        Ok(self.read(name)?.and_then(|text| {
            text.lines()
                .map(str::trim)
                .find(|line| !line.is_empty() && !line.starts_with('#'))
                .map(str::to_string)
        }))
    }
}

/// The plan for `dir` from its files alone; `Ok(None)` when no provider recognises it.
pub fn detect(dir: &Path) -> Result<Option<BuildPlan>, DetectError> {
    if let Some(plan) = dockerfile::detect(&AppDir { dir })? {
        return Ok(Some(plan));
    }
    detect_without_dockerfile(dir)
}

/// [`detect`] with the Dockerfile left out: for apps whose config file gives the
/// commands, where the Dockerfile is not how they are built today.
pub(crate) fn detect_without_dockerfile(dir: &Path) -> Result<Option<BuildPlan>, DetectError> {
    let app = AppDir { dir };
    let web = procfile::web_command(&app)?;
    let language = match python::detect(&app)? {
        Some(plan) => Some(plan),
        None => match node::detect(&app)? {
            Some(plan) => Some(plan),
            None => match go::detect(&app)? {
                Some(plan) => Some(plan),
                None => match rust::detect(&app)? {
                    Some(plan) => Some(plan),
                    None => staticsite::detect(&app)?,
                },
            },
        },
    };
    Ok(match (language, web) {
        (Some(mut plan), Some(web)) => {
            plan.notes.push(format!(
                "start from Procfile's web: line (replaces {})",
                plan.start.as_deref().unwrap_or("no start command")
            ));
            // The virtualenv's tools (gunicorn, …) are what a Python Procfile names.
            plan.start = Some(if plan.provider == "python" && !plan.install.is_empty() {
                format!("{}{web}", python::VENV_PATH)
            } else {
                web
            });
            // A Procfile start on a static site runs a process like any other app.
            plan.kind = crate::plan::PlanKind::Process;
            Some(plan)
        }
        (Some(plan), None) => Some(plan),
        (None, Some(web)) => Some(procfile::plan(web)),
        (None, None) => None,
    })
}

/// Like [`detect`], with an unrecognised directory as an error that says what to add.
pub fn detect_required(dir: &Path) -> Result<BuildPlan, DetectError> {
    detect(dir)?.ok_or_else(|| DetectError::NotRecognised {
        dir: dir.to_path_buf(),
    })
}

#[cfg(test)]
pub(crate) mod testing {
    //! Apps written into temp dirs for the providers' unit tests.

    /// A temp dir holding `files` (`(path, content)`, parents created).
    pub fn app(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("temp dir");
        for (name, content) in files {
            let path = dir.path().join(name);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).expect("parent dir");
            }
            std::fs::write(path, content).expect("write file");
        }
        dir
    }
}

#[cfg(test)]
mod tests {
    use super::testing::app;
    use super::*;
    use crate::plan::PlanKind;

    #[test]
    fn dockerfile_wins_over_languages() {
        let dir = app(&[("Dockerfile", "FROM scratch\n"), ("main.py", "")]);
        let plan = detect_required(dir.path()).unwrap();
        assert_eq!(plan.provider, "dockerfile");
    }

    #[test]
    fn procfile_replaces_the_language_start() {
        let dir = app(&[
            ("requirements.txt", ""),
            ("main.py", ""),
            ("Procfile", "web: python3 main.py --serve\n"),
        ]);
        let plan = detect_required(dir.path()).unwrap();
        assert_eq!(plan.provider, "python");
        assert_eq!(plan.start.as_deref(), Some("python3 main.py --serve"));
    }

    #[test]
    fn procfile_alone_is_a_plan_and_static_with_procfile_is_a_process() {
        let dir = app(&[("Procfile", "web: ./serve\n")]);
        assert_eq!(detect_required(dir.path()).unwrap().provider, "procfile");
        let dir = app(&[("index.html", "<p>hi</p>"), ("Procfile", "web: ./serve\n")]);
        let plan = detect_required(dir.path()).unwrap();
        assert_eq!(
            (plan.provider.as_str(), plan.kind),
            ("static", PlanKind::Process)
        );
    }

    #[test]
    fn unrecognised_dir_names_what_was_looked_for_and_the_fix() {
        let dir = app(&[("README.md", "hello")]);
        let err = detect_required(dir.path()).unwrap_err().to_string();
        assert!(err.contains("package.json (Node)"), "{err}");
        assert!(err.contains("[run]\n  command = \""), "{err}");
    }

    #[test]
    fn a_link_out_of_the_app_is_refused() {
        let dir = app(&[]);
        std::os::unix::fs::symlink("/etc/passwd", dir.path().join("package.json")).unwrap();
        assert!(matches!(
            detect(dir.path()).unwrap_err(),
            DetectError::File(AppFileError::OutsideApp { .. })
        ));
    }
}
