//! `ferry deploy`: a directory (uploaded, built and run by the process runtime) or an
//! image from the local Docker Engine.

use crate::client::{segment, Client};
use crate::commands::follow::{detached, done, follow};
use crate::output::outln;
use anyhow::{bail, Context, Result};
use clap::Args;
use ferry_server::app::services::{Accepted, ConfigOverrides, DeployRequest, DeploySource};
use ferry_server::http::uploads::Uploaded;
use ferry_types::config::{load_dir, ConfigError};
use ferry_types::ServiceName;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Args, Debug, Clone)]
pub struct DeployArgs {
    /// App directory with a ferry.toml or apprunner.yaml
    #[arg(default_value = ".", conflicts_with = "image")]
    pub dir: PathBuf,
    /// Deploy this image from the local Docker Engine instead of a directory
    #[arg(long)]
    pub image: Option<String>,
    /// Service name (default: `name` in ferry.toml, else the directory or image name)
    #[arg(long)]
    pub name: Option<String>,
    /// Port the app listens on (images: inside the container)
    #[arg(long, env = "FERRY_PORT")]
    pub port: Option<u16>,
    /// Start command (overrides the file's, or the image's CMD)
    #[arg(long)]
    pub command: Option<String>,
    /// Environment variable for the app, KEY=VALUE (repeatable)
    #[arg(long = "env", short = 'e', value_name = "KEY=VALUE")]
    pub env: Vec<String>,
    /// vCPU per instance (0.25, 0.5, 1, 2, 4)
    #[arg(long, env = "FERRY_CPU")]
    pub cpu: Option<f64>,
    /// Memory per instance in MiB
    #[arg(long, env = "FERRY_MEMORY")]
    pub memory: Option<u32>,
    /// Instances always running
    #[arg(long, env = "FERRY_MIN_INSTANCES")]
    pub min: Option<u32>,
    /// Most instances the autoscaler may run
    #[arg(long, env = "FERRY_MAX_INSTANCES")]
    pub max: Option<u32>,
    /// HTTP health check on this path (default: TCP)
    #[arg(long)]
    pub health_check_path: Option<String>,
    /// Seconds before the router answers 504
    #[arg(long, env = "FERRY_REQUEST_TIMEOUT")]
    pub request_timeout: Option<u32>,
    /// Custom domain routed to the service (repeatable)
    #[arg(long = "domain")]
    pub domains: Vec<String>,
    /// Refuse the deploy when a vulnerability at or above this severity is found
    /// (critical, high, medium, low, unknown, none)
    #[arg(long, value_name = "SEVERITY", env = "FERRY_FAIL_ON")]
    pub fail_on: Option<String>,
    /// Refuse the deploy when a Dockerfile lint finding is at or above this severity
    /// (error, warning, info, style, none)
    #[arg(long, value_name = "SEVERITY", env = "FERRY_LINT_FAIL_ON")]
    pub lint_fail_on: Option<String>,
    /// Do not count vulnerabilities that have no fix yet
    #[arg(long)]
    pub ignore_unfixed: bool,
    /// Refuse the deploy when image lint (Dockle's checks) reports a FATAL finding
    #[arg(long)]
    pub image_lint_blocks: bool,
    /// Accept this vulnerability id (CVE, GHSA, OSV id); repeatable
    #[arg(long = "ignore-vulnerability", value_name = "ID")]
    pub ignore_vulnerabilities: Vec<String>,
    /// Return once the deploy is accepted instead of waiting for the outcome
    #[arg(long)]
    pub detach: bool,
}

impl DeployArgs {
    fn overrides(&self) -> Result<ConfigOverrides> {
        let mut env = BTreeMap::new();
        for pair in &self.env {
            let (key, value) = pair
                .split_once('=')
                .with_context(|| format!("--env {pair:?}: expected KEY=VALUE"))?;
            env.insert(key.to_string(), value.to_string());
        }
        Ok(ConfigOverrides {
            command: self.command.clone(),
            port: self.port,
            env,
            cpu: self.cpu,
            memory_mib: self.memory,
            min_instances: self.min,
            max_instances: self.max,
            health_check_path: self.health_check_path.clone(),
            request_timeout: self.request_timeout,
            domains: (!self.domains.is_empty()).then(|| self.domains.clone()),
            fail_on: self.fail_on.clone(),
            lint_fail_on: self.lint_fail_on.clone(),
            ignore_unfixed: self.ignore_unfixed.then_some(true),
            ignore_vulnerabilities: self.ignore_vulnerabilities.clone(),
            image_lint_blocks: self.image_lint_blocks.then_some(true),
        })
    }
}

pub async fn run(client: &Client, args: DeployArgs, json: bool) -> Result<()> {
    let overrides = args.overrides()?;
    let (name, source) = match &args.image {
        Some(image) => {
            let name = match &args.name {
                Some(name) => name.clone(),
                None => ServiceName::from_dir_name(image_base_name(image))
                    .map(|n| n.to_string())
                    .with_context(|| {
                        format!("cannot make a service name from {image:?}: pass --name")
                    })?,
            };
            (name, DeploySource::Image(image.clone()))
        }
        None => {
            let dir = &args.dir;
            if !dir.is_dir() {
                bail!("{}: not a directory", dir.display());
            }
            // Checked here too so a typo is reported before anything is uploaded.
            let loaded = load_dir(dir).map_err(|err| match err {
                ConfigError::NotFound { .. } => anyhow::anyhow!("{err}"),
                other => anyhow::anyhow!("invalid config: {other}"),
            })?;
            let name = match (&args.name, &loaded.name) {
                (Some(name), _) => name.clone(),
                (None, Some(name)) => name.to_string(),
                (None, None) => {
                    let absolute = std::fs::canonicalize(dir)?;
                    let base = absolute
                        .file_name()
                        .map(|f| f.to_string_lossy().into_owned())
                        .unwrap_or_default();
                    ServiceName::from_dir_name(&base)
                        .map(|n| n.to_string())
                        .with_context(|| {
                            format!("cannot make a service name from directory {base:?}: set `name` in ferry.toml or pass --name")
                        })?
                }
            };
            let digest = upload(client, dir).await?;
            (name, DeploySource::Upload(digest))
        }
    };
    ServiceName::parse(&name)?;
    let accepted: Accepted = client
        .post(
            &format!("/services/{}/deployments", segment(&name)),
            &DeployRequest { source, overrides },
        )
        .await?;
    for warning in &accepted.warnings {
        eprintln!("warning: {warning}");
    }
    if args.detach {
        if json {
            return crate::output::print_json(&accepted);
        }
        detached(&accepted.operation);
        return Ok(());
    }
    let revision = accepted.revision.as_ref().map(|r| r.number).unwrap_or(0);
    let finished = follow(client, &accepted.operation, json).await?;
    if json {
        return crate::output::print_json(&finished);
    }
    done(&format!(
        "{name} revision {revision} is live: {}",
        accepted.service.url
    ));
    outln!("{}", accepted.service.url);
    Ok(())
}

/// `registry:5000/team/web:1.2` → `web`.
fn image_base_name(image: &str) -> &str {
    let without_digest = image.split('@').next().unwrap_or(image);
    let last = without_digest.rsplit('/').next().unwrap_or(without_digest);
    last.split(':').next().unwrap_or(last)
}

/// Packs the directory (without `.git`) and uploads it; returns its digest.
async fn upload(client: &Client, dir: &Path) -> Result<String> {
    let dir = dir.to_path_buf();
    let archive = tokio::task::spawn_blocking(move || pack(&dir))
        .await
        .context("packing the directory")??;
    let digest = format!("sha256:{}", hex(&Sha256::digest(&archive)));
    let uploaded: Uploaded = {
        let response = client
            .send(
                client
                    .request(reqwest::Method::POST, &format!("/uploads?digest={digest}"))
                    .header("content-type", "application/gzip")
                    .body(archive),
            )
            .await
            .context("uploading the app")?;
        response.json().await.context("reading the upload answer")?
    };
    Ok(uploaded.digest)
}

fn pack(dir: &Path) -> Result<Vec<u8>> {
    let encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut tar = tar::Builder::new(encoder);
    tar.follow_symlinks(false);
    append_dir(&mut tar, dir, Path::new(""))?;
    let encoder = tar.into_inner().context("finishing the archive")?;
    encoder.finish().context("compressing the archive")
}

fn append_dir(
    tar: &mut tar::Builder<flate2::write::GzEncoder<Vec<u8>>>,
    root: &Path,
    relative: &Path,
) -> Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(root.join(relative))
        .with_context(|| format!("reading {}", root.join(relative).display()))?
        .collect::<std::io::Result<_>>()?;
    // Sorted so the same tree always packs to the same bytes (same digest).
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = entry.file_name();
        if name == ".git" {
            continue;
        }
        let path = relative.join(&name);
        let file_type = entry.file_type()?;
        if file_type.is_dir() {
            tar.append_dir(&path, entry.path())
                .with_context(|| format!("packing {}", path.display()))?;
            append_dir(tar, root, &path)?;
        } else {
            tar.append_path_with_name(entry.path(), &path)
                .with_context(|| format!("packing {}", path.display()))?;
        }
    }
    Ok(())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_names_become_service_names() {
        assert_eq!(image_base_name("busybox-web:1"), "busybox-web");
        assert_eq!(image_base_name("localhost:5000/team/web:1.2"), "web");
        assert_eq!(image_base_name("web@sha256:abc"), "web");
    }

    #[test]
    fn packing_is_deterministic_and_skips_git() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.txt"), "a").unwrap();
        std::fs::create_dir(dir.path().join(".git")).unwrap();
        std::fs::write(dir.path().join(".git/HEAD"), "x").unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(dir.path().join("sub/b.txt"), "b").unwrap();
        let first = pack(dir.path()).unwrap();
        assert_eq!(first, pack(dir.path()).unwrap());
        let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(&first[..]));
        let names: Vec<String> = archive
            .entries()
            .unwrap()
            .map(|e| e.unwrap().path().unwrap().display().to_string())
            .collect();
        assert_eq!(names, ["a.txt", "sub", "sub/b.txt"]);
    }
}
