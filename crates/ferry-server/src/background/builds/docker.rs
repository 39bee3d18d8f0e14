//! The docker back end of builds: a source revision that runs on Docker
//! (`[run] runtime = "docker"`, or an app with its own Dockerfile) becomes an image.
//! The Dockerfile — the app's own, or one generated from its plan
//! (`ferry_build::image`) — goes through the lint gate first; the build runs through
//! the engine's API with the revision's files as context, its output (secrets masked)
//! in the revision's build log. BuildKit is used when the engine has it (unless the
//! server's `FERRY_BUILDKIT=0`): generated Dockerfiles get cache mounts, and
//! `[build] secrets` are secret mounts; the classic builder refuses secrets, as any
//! other way to pass them would leave them in a layer. The image is pushed into
//! ferry's registry under
//! `builds/<service>:r<number>` and the revision is pinned to it, so from then on it
//! deploys, rolls back and is kept by the registry's gc like any image revision.

use super::secrets::{self, SecretFiles};
use super::{BuildReconciler, Failure, Target};
use crate::background::deploy::{runtime_failure, with_log_tail};
use crate::background::operations;
use ferry_build::image::{self as recipe, GENERATED_DOCKERFILE};
use ferry_build::mask::SecretMasker;
use ferry_build::BuildPlan;
use ferry_store::ServiceRow;
use ferry_types::{EventLevel, Operation, Revision, RevisionSource};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A build log stops growing here (a marker line says so); the build goes on.
const MAX_LOG_BYTES: u64 = 16 * 1024 * 1024;

/// What a docker build uses, decided before the gates run.
struct Recipe {
    plan: BuildPlan,
    /// The Dockerfile's name in the revision's directory.
    dockerfile: &'static str,
    /// The base image of a generated Dockerfile; `None` for the app's own.
    base: Option<String>,
}

/// The server variable that turns BuildKit off (`0`, `off`, `false`, `no`).
const BUILDKIT_VARIABLE: &str = "FERRY_BUILDKIT";

/// Whether the server's setting lets builds use BuildKit (the default when the engine
/// has it).
fn buildkit_allowed(setting: Option<&str>) -> bool {
    let setting = setting.map(|v| v.trim().to_ascii_lowercase());
    !matches!(setting.as_deref(), Some("0" | "off" | "false" | "no"))
}

/// Plans the build of `dir` and, unless the app brings its own Dockerfile, writes the
/// generated one next to its files (with cache and secret mounts on `buildkit`).
/// Blocking.
fn prepare(dir: &Path, revision: &Revision, buildkit: bool) -> Result<Recipe, String> {
    let config = &revision.config;
    let mut plan = recipe::docker_plan(config, dir);
    if recipe::uses_own_dockerfile(&plan) {
        plan.notes
            .push("built by the docker back end from the app's Dockerfile".to_string());
        return Ok(Recipe {
            plan,
            dockerfile: "Dockerfile",
            base: None,
        });
    }
    let base = recipe::base_image(&plan, config, |name| std::env::var(name).ok());
    let separate = recipe::install_layer_separable(&plan, dir);
    let text = if buildkit {
        let secrets = &config.build.secrets;
        recipe::generate_buildkit_dockerfile(&plan, &base, separate, config.run.port, secrets)
    } else {
        recipe::generate_dockerfile(&plan, &base, separate, config.run.port)
    };
    std::fs::write(dir.join(GENERATED_DOCKERFILE), text)
        .map_err(|err| format!("cannot write the generated Dockerfile: {err}"))?;
    plan.notes.push(format!(
        "built by the docker back end on {base} ({}{}), Dockerfile generated",
        if separate {
            "dependencies in their own layer"
        } else {
            "dependencies installed with the app"
        },
        if buildkit {
            ", BuildKit cache mounts"
        } else {
            ""
        }
    ));
    Ok(Recipe {
        plan,
        dockerfile: GENERATED_DOCKERFILE,
        base: Some(base),
    })
}

/// The revision's files as an uncompressed tar, the build context. Symlinks stay
/// symlinks (the files were unpacked with nothing pointing outside). Blocking.
fn pack_context(dir: &Path, archive: &Path) -> std::io::Result<()> {
    let file = std::fs::File::create(archive)?;
    let mut tar = tar::Builder::new(std::io::BufWriter::new(file));
    tar.follow_symlinks(false);
    tar.append_dir_all(".", dir)?;
    tar.into_inner()?.flush()
}

/// The build log as the engine's output reaches it: masked, bounded.
struct BuildLog {
    file: Option<std::fs::File>,
    masker: SecretMasker,
    written: u64,
}

impl BuildLog {
    fn open(path: &Path, masker: SecretMasker) -> Self {
        if let Some(parent) = path.parent() {
            let _ = std::fs::create_dir_all(parent);
        }
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .inspect_err(|err| tracing::warn!(error = %err, "cannot open the build log"))
            .ok();
        Self {
            file,
            masker,
            written: 0,
        }
    }

    fn write(&mut self, text: &str) {
        let masked = self.masker.push(text.as_bytes());
        self.append(&masked);
    }

    fn append(&mut self, bytes: &[u8]) {
        let Some(file) = &mut self.file else { return };
        if self.written + bytes.len() as u64 > MAX_LOG_BYTES {
            let _ = file.write_all(b"\n[ferry: build log limit reached; output dropped]\n");
            self.file = None;
            return;
        }
        self.written += bytes.len() as u64;
        let _ = file.write_all(bytes);
    }

    fn finish(&mut self) {
        let rest = self.masker.finish();
        self.append(&rest);
    }
}

impl BuildReconciler {
    /// Gates, image build and push of a source revision on the docker back end.
    /// Returns the revision pinned to its image, and the plan that ran.
    pub(super) async fn build_image(
        &self,
        row: &ServiceRow,
        revision: &Revision,
        ops: &[Operation],
        dir: PathBuf,
    ) -> Result<(RevisionSource, Option<String>), Failure> {
        let runtime = self.runtimes.docker.clone().ok_or_else(|| {
            Failure::Build(format!(
                "this revision runs on Docker: {}",
                crate::runtimes::NO_DOCKER_MESSAGE
            ))
        })?;
        let buildkit = buildkit_allowed(std::env::var(BUILDKIT_VARIABLE).ok().as_deref())
            && runtime.buildkit_available().await;
        // Refused before anything runs: the classic builder has no secret mounts, and
        // a secret passed any other way would end up in a layer.
        if !buildkit && !revision.config.build.secrets.is_empty() {
            return Err(Failure::Build(format!(
                "build secrets need BuildKit's secret mounts, and this server's image builds \
                 use the classic builder ({BUILDKIT_VARIABLE} is off, or the engine has no \
                 BuildKit): build with the process runtime, or remove [build] secrets"
            )));
        }
        let secrets =
            secrets::resolve(&self.data, &revision.config.build.secrets).map_err(Failure::Build)?;
        let prepared = {
            let (dir, revision) = (dir.clone(), revision.clone());
            tokio::task::spawn_blocking(move || prepare(&dir, &revision, buildkit))
                .await
                .map_err(|err| Failure::Build(format!("the build task failed: {err}")))?
                .map_err(Failure::Build)?
        };
        self.run_gates(
            revision,
            ops,
            Target::Build {
                dir: dir.clone(),
                dockerfile: prepared.dockerfile,
            },
        )
        .await?;
        let image = match &self.own_registry {
            Some(own) => own.build_image_name(row.name.as_str(), revision.number),
            None => format!("ferry-builds/{}:r{}", row.name, revision.number),
        };
        operations::event(
            &self.store,
            ops,
            EventLevel::Info,
            // "Building revision" first: the CLI shows the build's log after this line.
            &format!(
                "Building revision {} as image {image} from {}, with {}",
                revision.number,
                match &prepared.base {
                    Some(base) => format!("a generated Dockerfile on {base}"),
                    None => "the app's Dockerfile".to_string(),
                },
                if buildkit {
                    "BuildKit"
                } else {
                    "the classic builder"
                }
            ),
        );
        let log_path = self
            .data
            .service_logs(row.name.as_str())
            .join(format!("build-{}.log", revision.number));
        let mut log = BuildLog::open(&log_path, secrets.masker());
        let context = self
            .data
            .builds()
            .join(format!(".tmp-context-{}.tar", revision.id));
        // Removed however the build ends, cancelled included (start-up removes what a
        // crash left: it is a `.tmp-*` entry of `builds/`).
        let _context_guard = RemoveOnDrop(context.clone());
        let packed = {
            let (dir, context) = (dir.clone(), context.clone());
            tokio::task::spawn_blocking(move || pack_context(&dir, &context)).await
        };
        let secret_files = if secrets.is_empty() {
            None
        } else {
            let (dir, secrets) = (
                self.data
                    .builds()
                    .join(format!(".tmp-secrets-{}", revision.id)),
                secrets.clone(),
            );
            let written = tokio::task::spawn_blocking(move || SecretFiles::write(dir, &secrets))
                .await
                .map_err(|err| Failure::Build(format!("the build task failed: {err}")))?
                .map_err(Failure::Build)?;
            Some(written)
        };
        let built = match packed {
            Ok(Ok(())) => {
                let spec = ferry_runtime::ImageBuildSpec {
                    context: context.clone(),
                    dockerfile: prepared.dockerfile.to_string(),
                    tag: image.clone(),
                    labels: [
                        ("ferry.service".to_string(), row.name.to_string()),
                        ("ferry.revision".to_string(), revision.id.to_string()),
                    ]
                    .into(),
                    buildkit,
                    secret_files: secret_files
                        .as_ref()
                        .map(|written| written.files.clone())
                        .unwrap_or_default(),
                };
                let mut output = |text: &str| log.write(text);
                tokio::time::timeout(self.build_timeout, runtime.build_image(&spec, &mut output))
                    .await
                    .unwrap_or_else(|_| {
                        Err(ferry_runtime::RuntimeError::BuildFailed(format!(
                            "the image build did not finish within {}s",
                            self.build_timeout.as_secs()
                        )))
                    })
            }
            Ok(Err(err)) => Err(ferry_runtime::RuntimeError::Io {
                context: "packing the build context".to_string(),
                source: err,
            }),
            Err(err) => Err(ferry_runtime::RuntimeError::BuildFailed(format!(
                "packing the build context: {err}"
            ))),
        };
        drop(secret_files);
        log.finish();
        let image_id = built.map_err(|err| {
            // The engine's message quotes the failed step: masked like the log.
            let reason = secrets.masker().mask_all(&runtime_failure(&err));
            Failure::Build(with_log_tail(
                format!("image build failed: {reason}"),
                &log_path,
            ))
        })?;
        let source = match &self.own_registry {
            Some(own) => {
                operations::event(
                    &self.store,
                    ops,
                    EventLevel::Info,
                    &format!("Pushing {image} to ferry's registry"),
                );
                let credentials = own.pull_credentials();
                let mut output = |text: &str| log.write(text);
                tokio::time::timeout(
                    PUSH_TIMEOUT,
                    runtime.push_image(&image, Some(&credentials), &mut output),
                )
                .await
                .unwrap_or_else(|_| {
                    Err(ferry_runtime::RuntimeError::BuildFailed(
                        "the push did not finish in time".to_string(),
                    ))
                })
                .map_err(|err| Failure::Build(format!("push failed: {}", runtime_failure(&err))))?;
                log.finish();
                let reference =
                    ferry_scan::image::Reference::parse(&image).map_err(Failure::Build)?;
                let digest = own
                    .resolve(&reference)
                    .await
                    .map_err(Failure::Build)?
                    .ok_or_else(|| {
                        Failure::Build(format!("{image} is not in ferry's registry after its push"))
                    })?;
                RevisionSource::Image {
                    image: crate::background::image_triggers::pinned_reference(&reference, &digest),
                    image_id: Some(image_id),
                    from_tag: None,
                }
            }
            None => RevisionSource::Image {
                image,
                image_id: Some(image_id),
                from_tag: None,
            },
        };
        operations::event(&self.store, ops, EventLevel::Info, "Build succeeded");
        Ok((source, serde_json::to_string(&prepared.plan).ok()))
    }
}

/// Removes a file when dropped.
struct RemoveOnDrop(PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// A push of a freshly built image to the registry on the same machine.
const PUSH_TIMEOUT: Duration = Duration::from_secs(600);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_is_masked_across_writes_and_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("logs/build-1.log");
        let mut log = BuildLog::open(&path, SecretMasker::new(["topsecret"]));
        log.write("Step 1/2 : RUN echo top");
        log.write("secret\n");
        log.finish();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "Step 1/2 : RUN echo ***\n"
        );
        log.written = MAX_LOG_BYTES;
        log.write("more\n");
        log.write("even more\n");
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.ends_with("output dropped]\n"), "{text}");
        assert!(!text.contains("more"), "{text}");
    }

    #[test]
    fn a_generated_dockerfile_is_written_and_the_apps_own_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("main.py"), "").unwrap();
        let (config, _) =
            crate::app::deploys::source_config(dir.path(), &Default::default()).unwrap();
        let revision = Revision {
            config,
            ..test_revision()
        };
        let recipe = prepare(dir.path(), &revision, false).unwrap();
        assert_eq!(recipe.dockerfile, GENERATED_DOCKERFILE);
        let text = std::fs::read_to_string(dir.path().join(GENERATED_DOCKERFILE)).unwrap();
        assert!(text.contains("FROM python:3.12-slim\n"), "{text}");

        let own = tempfile::tempdir().unwrap();
        std::fs::write(own.path().join("Dockerfile"), "FROM scratch\n").unwrap();
        let recipe = prepare(own.path(), &test_revision(), true).unwrap();
        assert_eq!((recipe.dockerfile, recipe.base), ("Dockerfile", None));
        assert!(!own.path().join(GENERATED_DOCKERFILE).exists());
    }

    #[test]
    fn buildkit_is_on_unless_the_server_turns_it_off() {
        for on in [None, Some(""), Some("1"), Some("auto")] {
            assert!(buildkit_allowed(on), "{on:?}");
        }
        for off in ["0", "off", "FALSE", " no "] {
            assert!(!buildkit_allowed(Some(off)), "{off}");
        }
    }

    #[test]
    fn a_buildkit_dockerfile_mounts_caches_and_the_named_secrets() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("requirements.txt"), "flask\n").unwrap();
        std::fs::write(dir.path().join("main.py"), "").unwrap();
        let (mut config, _) =
            crate::app::deploys::source_config(dir.path(), &Default::default()).unwrap();
        config.build.secrets = vec!["TOKEN".into()];
        let revision = Revision {
            config,
            ..test_revision()
        };
        prepare(dir.path(), &revision, true).unwrap();
        let text = std::fs::read_to_string(dir.path().join(GENERATED_DOCKERFILE)).unwrap();
        assert!(text.contains("--mount=type=cache,id=ferry-pip"), "{text}");
        assert!(text.contains("--mount=type=secret,id=TOKEN "), "{text}");
        prepare(dir.path(), &revision, false).unwrap();
        let text = std::fs::read_to_string(dir.path().join(GENERATED_DOCKERFILE)).unwrap();
        assert!(!text.contains("--mount"), "{text}");
    }

    fn test_revision() -> Revision {
        Revision {
            id: ferry_types::RevisionId::generate(),
            service_id: ferry_types::ServiceId::generate(),
            number: 1,
            source: RevisionSource::Directory {
                digest: "sha256:0".into(),
            },
            config: Default::default(),
            status: ferry_types::RevisionStatus::Pending,
            failure: None,
            commit: None,
            created_at: ferry_types::now(),
        }
    }
}
