//! Deploy requests: a revision's config from its source (detected, `ferry.toml`, the
//! command line's overrides) or its image, checked, and recorded as a new revision
//! with its operation; the service is created on its first deploy.

use super::services::parse_name;
use super::{App, AppError, ConfigProblem, ConfigProblemExt};
use ferry_api::{Accepted, ConfigOverrides, DeployRequest, DeploySource, FollowOptions};
use ferry_runtime::RuntimeError;
use ferry_scan::image::{Reference, RegistryOptions};
use ferry_store::{ImageFollow, NewDeployment, NewService};
use ferry_types::{
    HealthProtocol, LintThreshold, RevisionId, RevisionSource, RuntimeKind, ServiceConfig,
    SourceKind, VulnThreshold,
};

/// Applies the command line's settings over the config file's.
fn apply_overrides(
    overrides: &ConfigOverrides,
    config: &mut ServiceConfig,
) -> Result<(), AppError> {
    if let Some(command) = &overrides.command {
        config.run.command = Some(command.clone());
    }
    if let Some(port) = overrides.port {
        config.run.port = port;
    }
    if let Some(runtime) = &overrides.runtime {
        config.run.runtime = Some(match runtime.as_str() {
            "docker" => RuntimeKind::Docker,
            "process" => RuntimeKind::Process,
            other => {
                return Err(AppError::BadRequest(format!(
                "run.runtime (--runtime): unknown runtime {other:?} (expected docker or process)"
            )))
            }
        });
    }
    config
        .run
        .env
        .extend(overrides.env.iter().map(|(k, v)| (k.clone(), v.clone())));
    if let Some(cpu) = overrides.cpu {
        config.instance.cpu = cpu;
    }
    if let Some(memory) = overrides.memory_mib {
        config.instance.memory_mib = memory;
    }
    if let Some(min) = overrides.min_instances {
        config.scaling.min = min;
    }
    if let Some(max) = overrides.max_instances {
        config.scaling.max = max;
    }
    if let Some(path) = &overrides.health_check_path {
        config.health_check.protocol = HealthProtocol::Http;
        config.health_check.path = path.clone();
    }
    if let Some(timeout) = overrides.request_timeout {
        config.request_timeout = timeout;
    }
    if let Some(domains) = &overrides.domains {
        config.domains = domains.clone();
    }
    if let Some(fail_on) = &overrides.fail_on {
        config.security.fail_on = Some(VulnThreshold::parse(fail_on).ok_or_else(|| {
            AppError::BadRequest(format!(
                "security.fail_on (--fail-on): unknown severity {fail_on:?} (expected one of: {})",
                VulnThreshold::NAMES.join(", ")
            ))
        })?);
    }
    if let Some(lint_fail_on) = &overrides.lint_fail_on {
        config.security.lint_fail_on =
            Some(LintThreshold::parse(lint_fail_on).ok_or_else(|| {
                AppError::BadRequest(format!(
                    "security.lint_fail_on (--lint-fail-on): unknown level {lint_fail_on:?} (expected one of: {})",
                    LintThreshold::NAMES.join(", ")
                ))
            })?);
    }
    if let Some(ignore_unfixed) = overrides.ignore_unfixed {
        config.security.ignore_unfixed = ignore_unfixed;
    }
    config
        .security
        .ignore
        .extend(overrides.ignore_vulnerabilities.iter().cloned());
    if let Some(blocks) = overrides.image_lint_blocks {
        config.security.image_lint_blocks = blocks;
    }
    Ok(())
}

/// How often another registry's tag is read when `--poll` is not given.
const DEFAULT_POLL_MS: u64 = 60_000;
const MIN_POLL_MS: u64 = 1_000;

/// What an image deploy records: the revision's source and config, and what the
/// service follows from now on (`None`: nothing).
struct ImageDeploy {
    source: RevisionSource,
    config: ServiceConfig,
    follow: Option<ImageFollow>,
}

impl App {
    /// Deploys a new revision, creating the service on its first deploy.
    pub async fn deploy(&self, name: &str, request: DeployRequest) -> Result<Accepted, AppError> {
        let name = parse_name(name)?;
        let existing = self.store.get_service_by_name(name.as_str())?;
        if existing.as_ref().is_some_and(|row| row.deleting) {
            return Err(AppError::Conflict(format!(
                "service {name} is being deleted; try again when it is gone"
            )));
        }
        if existing.as_ref().is_some_and(|row| row.paused) {
            return Err(AppError::Conflict(format!(
                "service {name} is paused; `ferry resume {name}` first, then deploy"
            )));
        }
        let kind = match &request.source {
            DeploySource::Upload(_) | DeploySource::Git(_) => SourceKind::Directory,
            DeploySource::Image(_) => SourceKind::Image,
        };
        if let Some(row) = &existing {
            if row.source_kind != kind {
                return Err(AppError::Conflict(format!(
                    "service {name} deploys from {}; delete it first to deploy from {}",
                    kind_name(row.source_kind),
                    kind_name(kind)
                )));
            }
        }
        if let DeploySource::Git(git) = &request.source {
            return self
                .deploy_git(&name, existing.as_ref(), git, &request.overrides)
                .await;
        }
        let revision_id = RevisionId::generate();
        // An upload's files: removed on any way out of this function until the revision
        // row that owns them is written.
        let mut files = None;
        let mut follow = None;
        let (source, config, warnings) = match &request.source {
            DeploySource::Upload(digest) => {
                let prepared = self
                    .prepare_upload(digest, request.overrides.clone())
                    .await?;
                files = Some(prepared.tree);
                (
                    RevisionSource::Directory {
                        digest: digest.clone(),
                    },
                    prepared.config,
                    prepared.warnings,
                )
            }
            DeploySource::Image(image) => {
                let image = self
                    .image_config(image, &request.overrides, &request.follow)
                    .await?;
                follow = image.follow;
                (image.source, image.config, Vec::new())
            }
            DeploySource::Git(_) => {
                return Err(AppError::Internal("git deploys are handled above".into()))
            }
        };
        // A source directory built into an image needs the engine: refused now.
        if kind == SourceKind::Directory && config.run.runtime == Some(RuntimeKind::Docker) {
            self.runtimes
                .for_deploy(kind, config.run.runtime)
                .map_err(|err| AppError::RuntimeUnavailable(err.to_string()))?;
        }
        // Refused now, with the reason, rather than failing the rollout.
        if let Ok(runtime) = self.runtimes.for_deploy(kind, config.run.runtime) {
            if let Err(reason) =
                runtime.check_limits(config.instance.cpu, config.instance.memory_mib)
            {
                return Err(AppError::InvalidConfig(ConfigProblem {
                    key: Some("instance".into()),
                    ..ConfigProblem::new(reason)
                }));
            }
        }
        // No await from here to the row: the request cannot be dropped half-way. The
        // store refuses a host another service owns, and the files go with the error.
        if let Some(files) = &mut files {
            files.rename_to(&self.data.revision_dir(&revision_id))?;
        }
        let new = NewDeployment {
            service: &NewService {
                name: name.clone(),
                source_kind: kind,
            },
            source,
            config,
            revision_id: revision_id.clone(),
            commit: None,
        };
        let (row, revision, operation) = match kind {
            SourceKind::Image => self.store.create_image_deployment(&new, follow.as_ref())?,
            SourceKind::Directory => self.store.create_deployment(&new)?,
        };
        if let Some(files) = files {
            files.keep();
        }
        // A deploy from an upload replaces the git branch the service built from: a
        // later push or webhook must not overwrite it.
        self.store.delete_git_follow(&row.id)?;
        self.store.add_operation_event(
            &operation.id,
            ferry_types::EventLevel::Info,
            &format!("Revision {} created", revision.number),
        )?;
        self.background.wake(&row.id);
        Ok(Accepted {
            service: self.service_view(&row)?,
            operation,
            revision: Some(revision),
            warnings,
        })
    }

    async fn image_config(
        &self,
        image: &str,
        overrides: &ConfigOverrides,
        follow: &FollowOptions,
    ) -> Result<ImageDeploy, AppError> {
        if image.trim().is_empty() {
            return Err(AppError::BadRequest("image reference is empty".into()));
        }
        // A malformed reference is the client's mistake, whatever runtime is there.
        let reference = Reference::parse(image).map_err(AppError::BadRequest)?;
        let runtime = self
            .runtimes
            .for_source(SourceKind::Image)
            .map_err(|err| AppError::RuntimeUnavailable(err.to_string()))?;
        if let Some(own) = self.own_registry.as_ref().filter(|o| o.is_own(&reference)) {
            if follow.poll_ms.is_some() {
                return Err(AppError::BadRequest(
                    "--poll is for other registries: pushes to ferry's registry deploy at once"
                        .into(),
                ));
            }
            let digest = own
                .resolve(&reference)
                .await
                .map_err(AppError::Internal)?
                .ok_or_else(|| {
                    AppError::BadRequest(format!(
                        "{image} is not in ferry's registry: push it first (docker push {image})"
                    ))
                })?;
            let exposed = own.exposed_port(&reference.repository, &digest).await;
            return registry_image(&reference, &digest, exposed, overrides, follow, None);
        }
        if follow.auto_deploy == Some(true) {
            if !ferry_scan::image::reference::looks_like_registry_reference(image) {
                return Err(AppError::BadRequest(format!(
                    "--auto-deploy follows a tag in a registry: name {image:?} with its registry host (host:port/repository:tag)"
                )));
            }
            let poll_ms = follow.poll_ms.unwrap_or(DEFAULT_POLL_MS);
            if poll_ms < MIN_POLL_MS {
                return Err(AppError::BadRequest(format!(
                    "--poll must be at least {}s",
                    MIN_POLL_MS / 1000
                )));
            }
            let credentials = match (&follow.registry_username, &follow.registry_password) {
                (Some(u), Some(p)) => Some((u.clone(), p.clone())),
                (None, None) => None,
                _ => {
                    return Err(AppError::BadRequest(
                        "registry credentials need both a username and a password".into(),
                    ))
                }
            };
            let options = RegistryOptions {
                username: credentials.as_ref().map(|c| c.0.clone()),
                password: credentials.as_ref().map(|c| c.1.clone()),
                ..RegistryOptions::default()
            };
            let tag_ref = tag_reference(&reference);
            let digest = if let Some(digest) = &reference.digest {
                digest.clone()
            } else {
                ferry_scan::image::resolve_digest(&tag_ref, &options)
                    .await
                    .map_err(|e| AppError::BadRequest(format!("cannot read {tag_ref}: {e}")))?
            };
            return registry_image(
                &reference,
                &digest,
                None,
                overrides,
                follow,
                Some((poll_ms, credentials)),
            );
        }
        if follow.poll_ms.is_some() {
            return Err(AppError::BadRequest("--poll needs --auto-deploy".into()));
        }
        let (image_id, exposed) = match runtime.resolve_image(image).await {
            Ok(resolved) => (Some(resolved.id), resolved.exposed_port),
            // Recorded anyway: the operation fails with the reason and the previous
            // revision keeps serving, as for any failed deploy.
            Err(RuntimeError::ImageNotFound { .. }) => (None, None),
            Err(err @ RuntimeError::InvalidSpec(_)) => {
                return Err(AppError::BadRequest(err.to_string()))
            }
            Err(err) => return Err(AppError::RuntimeUnavailable(err.to_string())),
        };
        let mut config = ServiceConfig::default();
        if let Some(port) = exposed {
            config.run.port = port;
        }
        apply_overrides(overrides, &mut config)?;
        validate(&config)?;
        Ok(ImageDeploy {
            source: RevisionSource::Image {
                image: image.to_string(),
                image_id,
                from_tag: None,
            },
            config,
            follow: None,
        })
    }
}

/// `host/repo:tag` (`latest` when the reference has no tag).
fn tag_reference(reference: &Reference) -> String {
    format!(
        "{}/{}:{}",
        reference.registry,
        reference.repository,
        reference.tag.as_deref().unwrap_or("latest")
    )
}

/// A deploy of a registry image resolved to `digest`: pinned to it, following its tag
/// when the reference names one. `remote` is another registry's poll interval and
/// credentials; without it the image is in ferry's registry, where auto-deploy is on
/// unless turned off.
fn registry_image(
    reference: &Reference,
    digest: &str,
    exposed: Option<u16>,
    overrides: &ConfigOverrides,
    follow: &FollowOptions,
    remote: Option<(u64, Option<(String, String)>)>,
) -> Result<ImageDeploy, AppError> {
    let by_tag = reference.digest.is_none();
    let auto_deploy = follow.auto_deploy.unwrap_or(by_tag);
    if auto_deploy && !by_tag {
        return Err(AppError::BadRequest(format!(
            "--auto-deploy follows a tag, and {reference} is pinned to a digest"
        )));
    }
    let mut config = ServiceConfig::default();
    if let Some(port) = exposed {
        config.run.port = port;
    }
    apply_overrides(overrides, &mut config)?;
    validate(&config)?;
    let tag_ref = tag_reference(reference);
    let (poll_ms, credentials) = match remote {
        Some((poll, credentials)) => (Some(poll), credentials),
        None => (None, None),
    };
    Ok(ImageDeploy {
        source: RevisionSource::Image {
            image: crate::background::image_triggers::pinned_reference(reference, digest),
            image_id: None,
            from_tag: by_tag.then(|| tag_ref.clone()),
        },
        config,
        follow: by_tag.then(|| ImageFollow {
            image: tag_ref,
            auto_deploy,
            poll_ms,
            username: credentials.as_ref().map(|c| c.0.clone()),
            password: credentials.map(|c| c.1),
            acted_digest: Some(digest.to_string()),
        }),
    })
}

fn kind_name(kind: SourceKind) -> &'static str {
    match kind {
        SourceKind::Image => "an image",
        SourceKind::Directory => "a source directory",
    }
}

/// Plans an unpacked app: its config file (bounded, inside the app: see
/// [`ferry_types::config::read_app_file`]) over what detection finds (see
/// [`ferry_build::plan_dir`]), then the CLI's overrides, then validation.
/// Blocking: it reads files.
pub(crate) fn source_config(
    dir: &std::path::Path,
    overrides: &ConfigOverrides,
) -> Result<(ServiceConfig, Vec<String>), AppError> {
    let planned = ferry_build::plan_dir(dir).map_err(|err| match err {
        ferry_build::PlanError::Config(err) => {
            AppError::InvalidConfig(ConfigProblem::from_config_error(&err, dir))
        }
        ferry_build::PlanError::Detect(err) => AppError::InvalidConfig(detect_problem(&err)),
    })?;
    let own_dockerfile = planned.plan.kind == ferry_build::PlanKind::Dockerfile;
    let mut config = planned.config;
    apply_overrides(overrides, &mut config)?;
    // On Docker, an app's Dockerfile is its build (and its CMD the start command).
    let dockerfile_build = own_dockerfile
        || (config.run.runtime == Some(RuntimeKind::Docker)
            && ferry_types::config::app_file_exists(dir, "Dockerfile"));
    if own_dockerfile {
        // The Dockerfile is the build: it runs on Docker, whatever else was asked.
        if config.run.runtime == Some(RuntimeKind::Process) {
            return Err(AppError::InvalidConfig(ConfigProblem {
                message: "the app has a Dockerfile and no ferry.toml: it is built and run \
                          by the docker runtime; to run it as a process, add a ferry.toml \
                          with [run] command (and [build] command)"
                    .to_string(),
                file: Some("Dockerfile".to_string()),
                key: Some("run.runtime".into()),
                ..ConfigProblem::default()
            }));
        }
        config.run.runtime = Some(RuntimeKind::Docker);
    }
    let mut warnings = planned.warnings;
    if config.run.command.is_some() {
        // A command (from --command) runs as a process, even in a static site.
        config.run.static_root = None;
    } else if config.run.static_root.is_some() && config.run.runtime == Some(RuntimeKind::Docker) {
        // The router serves a static site from the revision's files: there is no image
        // to build and no container to run.
        warnings.push(
            "a static site is served by ferry's router from its files: the docker runtime \
             is not used"
                .to_string(),
        );
        config.run.runtime = None;
    }
    validate(&config)?;
    if config.run.command.is_none() && config.run.static_root.is_none() && !dockerfile_build {
        let (file, message) = if planned.from_file {
            let file = planned.plan.provider.clone();
            let message = format!(
                "{file}: no start command: add `command = \"...\"` under [run] (or `run.command` in apprunner.yaml)"
            );
            (Some(file), message)
        } else {
            let message = format!(
                "detected {} but found no start command ({}); add a ferry.toml with\n\n  [run]\n  command = \"<how to start your app>\"",
                planned.plan.provider,
                planned.plan.notes.join("; ")
            );
            (None, message)
        };
        return Err(AppError::InvalidConfig(ConfigProblem {
            message,
            file,
            key: Some("run.command".into()),
            ..ConfigProblem::default()
        }));
    }
    Ok((config, warnings))
}

/// A detection error as the user's problem, without the server's unpack path.
fn detect_problem(err: &ferry_build::DetectError) -> ConfigProblem {
    match err {
        ferry_build::DetectError::NotRecognised { .. } => ConfigProblem::new(
            ferry_build::DetectError::NotRecognised {
                dir: std::path::PathBuf::from("."),
            }
            .to_string(),
        ),
        ferry_build::DetectError::Invalid { file, .. } => ConfigProblem {
            message: err.to_string(),
            file: Some(file.clone()),
            ..ConfigProblem::default()
        },
        ferry_build::DetectError::File(file) => ConfigProblem {
            message: err.to_string(),
            file: Some(file.name().to_string()),
            ..ConfigProblem::default()
        },
    }
}

fn validate(config: &ServiceConfig) -> Result<(), AppError> {
    let problems = config.validate();
    let Some((first_key, _)) = problems.first() else {
        return Ok(());
    };
    Err(AppError::InvalidConfig(ConfigProblem {
        key: Some(first_key.clone()),
        message: problems
            .iter()
            .map(|(key, message)| format!("{key}: {message}"))
            .collect::<Vec<_>>()
            .join("\n"),
        ..ConfigProblem::default()
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn static_site() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("public")).unwrap();
        std::fs::write(dir.path().join("public/index.html"), "hi").unwrap();
        dir
    }

    #[test]
    fn a_static_site_is_served_files_unless_given_a_command() {
        let dir = static_site();
        let (config, _) = source_config(dir.path(), &ConfigOverrides::default()).unwrap();
        assert_eq!(config.run.static_root.as_deref(), Some("public"));
        assert_eq!(config.run.command, None);

        let overrides = ConfigOverrides {
            command: Some("./serve".into()),
            ..ConfigOverrides::default()
        };
        let (config, _) = source_config(dir.path(), &overrides).unwrap();
        assert_eq!(config.run.static_root, None);
        assert_eq!(config.run.command.as_deref(), Some("./serve"));

        // Docker has nothing to build or run for it: served by the router, with a word.
        let overrides = ConfigOverrides {
            runtime: Some("docker".into()),
            ..ConfigOverrides::default()
        };
        let (config, warnings) = source_config(dir.path(), &overrides).unwrap();
        assert_eq!(config.run.static_root.as_deref(), Some("public"));
        assert_eq!(config.run.runtime, None);
        assert!(
            warnings
                .iter()
                .any(|w| w.contains("docker runtime is not used")),
            "{warnings:?}"
        );
    }
}
