//! `ferry deploy`: a directory (uploaded, then built and run on the host, or built into
//! an image and run on Docker with `--runtime docker`) or an
//! image (from the local Docker Engine, ferry's registry, or another registry it then
//! follows).

use crate::client::{segment, Client};
use crate::commands::follow::{detached, done, follow_build};
use crate::output::outln;
use anyhow::{bail, Context, Result};
use clap::Args;
use ferry_api::Uploaded;
use ferry_api::{Accepted, ConfigOverrides, DeployRequest, DeploySource, FollowOptions};
use ferry_build::{plan_dir, PlanError};
use ferry_types::ServiceName;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

#[derive(Args, Debug, Clone)]
pub struct DeployArgs {
    /// App directory: with a ferry.toml or apprunner.yaml, or one ferry recognises
    /// (see `ferry plan`)
    #[arg(default_value = ".", conflicts_with_all = ["image", "git"])]
    pub dir: PathBuf,
    /// Build from this git repository (URL or server path) and follow its branch:
    /// webhooks, `--poll` and pushes to ferry's remote build new commits
    #[arg(long, value_name = "URL", conflicts_with = "image")]
    pub git: Option<String>,
    /// The branch to build and follow (with --git)
    #[arg(long, requires = "git", default_value = "main")]
    pub branch: String,
    /// The app's directory inside the repository (monorepos: pushes that change
    /// nothing under it do not rebuild)
    #[arg(long = "dir", id = "git_dir", value_name = "PATH", requires = "git")]
    pub git_dir: Option<String>,
    /// Deploy this image instead of a directory: from the local Docker Engine, or from
    /// a registry (`localhost:<api port>/repo:tag` is ferry's own)
    #[arg(long)]
    pub image: Option<String>,
    /// Deploy each new image pushed to the tag (default: on for ferry's registry);
    /// another registry's tag is polled (--poll)
    #[arg(long, requires = "image", conflicts_with = "no_auto_deploy")]
    pub auto_deploy: bool,
    /// Do not follow the tag: deploy this digest only
    #[arg(long, requires = "image")]
    pub no_auto_deploy: bool,
    /// How often another registry's tag (--auto-deploy) or the git branch (--git) is
    /// read (`30s`, `5m`; images default to 60s, git to webhooks and pushes only)
    #[arg(long, value_name = "DURATION", value_parser = parse_duration_ms)]
    pub poll: Option<u64>,
    /// User name for the image's registry (default: Docker's config.json)
    #[arg(long, requires = "image", requires = "registry_password_stdin")]
    pub registry_username: Option<String>,
    /// Read the registry password (or token) from standard input
    #[arg(long, requires = "registry_username")]
    pub registry_password_stdin: bool,
    /// Service name (default: `name` in ferry.toml, else the directory or image name)
    #[arg(long)]
    pub name: Option<String>,
    /// Port the app listens on (images: inside the container)
    #[arg(long, env = "FERRY_PORT")]
    pub port: Option<u16>,
    /// Start command (overrides the file's, or the image's CMD)
    #[arg(long)]
    pub command: Option<String>,
    /// `ferry deploy --runtime` (not a flag of `ferry up`, whose `--runtime` is the
    /// server's): see [`RuntimeArg`].
    #[arg(skip)]
    pub runtime: Option<String>,
    /// Environment variable for the app, KEY=VALUE (repeatable)
    #[arg(long = "env", short = 'e', value_name = "KEY=VALUE")]
    pub env: Vec<String>,
    /// vCPU per instance (0.25, 0.5, 1, 2, 4)
    #[arg(long, env = "FERRY_CPU")]
    pub cpu: Option<f64>,
    /// Memory per instance in MiB
    #[arg(long, env = "FERRY_MEMORY")]
    pub memory: Option<u32>,
    /// Instances always running (0–25; 0 = scale to zero when idle)
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

/// Where a deployed directory runs.
#[derive(Args, Debug, Clone)]
pub struct RuntimeArg {
    /// Where a directory runs: `docker` builds it into an image (its own Dockerfile, or
    /// one generated from the detected plan), `process` runs it on the host (default:
    /// docker for an app with a Dockerfile and no config file, else process)
    #[arg(long, value_parser = ["docker", "process"], conflicts_with = "image")]
    pub runtime: Option<String>,
}

impl DeployArgs {
    /// Push-to-deploy settings: credentials from the flags (the password from stdin)
    /// or, for a followed tag, from Docker's config.json for its registry.
    fn follow(&self) -> Result<FollowOptions> {
        let auto_deploy = match (self.auto_deploy, self.no_auto_deploy) {
            (true, _) => Some(true),
            (_, true) => Some(false),
            _ => None,
        };
        let mut options = FollowOptions {
            auto_deploy,
            poll_ms: self.poll,
            ..FollowOptions::default()
        };
        if let Some(username) = &self.registry_username {
            let mut password = String::new();
            std::io::Read::take(std::io::stdin(), 64 * 1024)
                .read_to_string(&mut password)
                .context("reading the registry password from standard input")?;
            let password = password.trim_end_matches(['\r', '\n']).to_string();
            if password.is_empty() {
                bail!("--registry-password-stdin: standard input is empty");
            }
            options.registry_username = Some(username.clone());
            options.registry_password = Some(password);
        } else if let (true, Some(image)) = (self.auto_deploy, &self.image) {
            if let Ok(reference) = ferry_scan::image::Reference::parse(image) {
                if let Some((user, password)) =
                    ferry_scan::image::docker_config_credentials(None, &reference.registry)
                {
                    options.registry_username = Some(user);
                    options.registry_password = Some(password);
                }
            }
        }
        Ok(options)
    }

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
            runtime: self.runtime.clone(),
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
    if args.poll.is_some() && !args.auto_deploy && args.git.is_none() {
        bail!("--poll needs --auto-deploy (an image tag) or --git (a branch)");
    }
    let overrides = args.overrides()?;
    let follow_options = if args.git.is_some() {
        FollowOptions::default()
    } else {
        args.follow()?
    };
    let (name, source) = match (&args.image, &args.git) {
        (_, Some(url)) => {
            let name = match &args.name {
                Some(name) => name.clone(),
                None => {
                    let base = args
                        .git_dir
                        .as_deref()
                        .map(|d| d.trim_end_matches('/'))
                        .and_then(|d| d.rsplit('/').next())
                        .filter(|d| !d.is_empty())
                        .unwrap_or_else(|| {
                            let url = url.trim_end_matches('/');
                            let last = url.rsplit(['/', ':']).next().unwrap_or(url);
                            last.strip_suffix(".git").unwrap_or(last)
                        });
                    ServiceName::from_dir_name(base)
                        .map(|n| n.to_string())
                        .with_context(|| {
                            format!("cannot make a service name from {url:?}: pass --name")
                        })?
                }
            };
            (
                name,
                DeploySource::Git(ferry_api::GitSource {
                    url: git_url(url),
                    branch: args.branch.clone(),
                    dir: args.git_dir.clone(),
                    poll_ms: args.poll,
                }),
            )
        }
        (Some(image), None) => {
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
        (None, None) => {
            let dir = &args.dir;
            if !dir.is_dir() {
                bail!("{}: not a directory", dir.display());
            }
            // Checked here too so a typo, or a directory nothing recognises, is
            // reported before anything is uploaded; the server plans again from the
            // uploaded files.
            let loaded = plan_dir(dir).map_err(|err| match err {
                PlanError::Config(other) => anyhow::anyhow!("invalid config: {other}"),
                PlanError::Detect(err) => anyhow::anyhow!("{err}"),
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
            &DeployRequest {
                source,
                overrides,
                follow: follow_options,
            },
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
    let build =
        (accepted.service.source_kind == ferry_types::SourceKind::Directory).then_some(revision);
    let finished = follow_build(client, &accepted.operation, build, json).await?;
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

/// A local path given to `--git` is made absolute, since the server resolves it (the
/// server runs on this machine: its paths are the CLI's).
fn git_url(url: &str) -> String {
    if url.contains("://") || url.contains('@') {
        return url.to_string();
    }
    match std::path::absolute(url) {
        Ok(path) if path.exists() => path.display().to_string(),
        _ => url.to_string(),
    }
}

/// `60s`, `5m`, `1h`, `500ms` or plain seconds, in milliseconds.
fn parse_duration_ms(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let digits = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(digits);
    let number: u64 = number
        .parse()
        .map_err(|_| format!("{text:?}: expected a duration like 30s or 5m"))?;
    let scale = match unit {
        "ms" => 1,
        "" | "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        _ => return Err(format!("{text:?}: the unit must be ms, s, m or h")),
    };
    number
        .checked_mul(scale)
        .ok_or_else(|| format!("{text:?}: too long"))
}

/// `registry:5000/team/web:1.2` → `web`.
fn image_base_name(image: &str) -> &str {
    let without_digest = image.split('@').next().unwrap_or(image);
    let last = without_digest.rsplit('/').next().unwrap_or(without_digest);
    last.split(':').next().unwrap_or(last)
}

/// Chunks handed from the packing thread to the request body; with the channel's
/// capacity this is all the archive the CLI holds at once.
const CHUNK_BYTES: usize = 256 * 1024;
const CHUNKS_IN_FLIGHT: usize = 4;

/// Packs the directory (without `.git`) and streams it to the server as it is packed;
/// returns its digest, checked against the one the server computed.
async fn upload(client: &Client, dir: &Path) -> Result<String> {
    let (sender, mut receiver) =
        tokio::sync::mpsc::channel::<std::io::Result<Vec<u8>>>(CHUNKS_IN_FLIGHT);
    let dir = dir.to_path_buf();
    let aborted = Arc::new(AtomicBool::new(false));
    let packer = {
        let aborted = Arc::clone(&aborted);
        tokio::task::spawn_blocking(move || {
            let writer = ChannelWriter::new(sender.clone(), aborted);
            match pack(&dir, writer).and_then(ChannelWriter::finish) {
                Ok(digest) => Ok(digest),
                Err(err) => {
                    // Ends the body with an error, so the server drops the partial upload.
                    let _ = sender.blocking_send(Err(std::io::Error::other("packing failed")));
                    Err(err)
                }
            }
        })
    };
    let body = reqwest::Body::wrap_stream(futures_util::stream::poll_fn(move |cx| {
        receiver.poll_recv(cx)
    }));
    let sent = client
        .send(
            client
                .request(reqwest::Method::POST, "/uploads")
                .header("content-type", "application/gzip")
                .body(body),
        )
        .await;
    let packed = packer.await.context("packing the directory")?;
    // A packing error is the cause, unless packing stopped because the upload did.
    let digest = match (packed, sent) {
        (Err(err), _) if !aborted.load(Ordering::SeqCst) => return Err(err),
        (_, Err(err)) => return Err(err.context("uploading the app")),
        (Err(err), Ok(_)) => return Err(err),
        (Ok(digest), Ok(response)) => {
            let uploaded: Uploaded = response.json().await.context("reading the upload answer")?;
            if uploaded.digest != digest {
                bail!(
                    "the server stored {} but the CLI sent {digest}: the upload was altered on the way",
                    uploaded.digest
                );
            }
            digest
        }
    };
    Ok(digest)
}

/// The archive's bytes on their way to the request body: hashed, cut into chunks, and
/// sent over a bounded channel (so packing waits for the network, never buffers ahead).
struct ChannelWriter {
    sender: tokio::sync::mpsc::Sender<std::io::Result<Vec<u8>>>,
    buffer: Vec<u8>,
    hasher: Sha256,
    /// Set when the request went away (the server refused, the connection failed).
    aborted: Arc<AtomicBool>,
}

impl ChannelWriter {
    fn new(
        sender: tokio::sync::mpsc::Sender<std::io::Result<Vec<u8>>>,
        aborted: Arc<AtomicBool>,
    ) -> Self {
        Self {
            sender,
            buffer: Vec::with_capacity(CHUNK_BYTES),
            hasher: Sha256::new(),
            aborted,
        }
    }

    fn send_buffer(&mut self) -> std::io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let chunk = std::mem::replace(&mut self.buffer, Vec::with_capacity(CHUNK_BYTES));
        self.sender.blocking_send(Ok(chunk)).map_err(|_| {
            self.aborted.store(true, Ordering::SeqCst);
            std::io::Error::new(std::io::ErrorKind::BrokenPipe, "the upload stopped")
        })
    }

    /// Sends what is left; returns the digest of everything written.
    fn finish(mut self) -> Result<String> {
        self.send_buffer().context("uploading the app")?;
        Ok(format!("sha256:{}", hex(&self.hasher.finalize())))
    }
}

impl Write for ChannelWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        let take = data.len().min(CHUNK_BYTES - self.buffer.len());
        self.buffer.extend_from_slice(&data[..take]);
        self.hasher.update(&data[..take]);
        if self.buffer.len() == CHUNK_BYTES {
            self.send_buffer()?;
        }
        Ok(take)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Writes the directory as a `.tar.gz` to `out`, sorted so the same tree always packs
/// to the same bytes. Symlinks are stored as symlinks (never followed: a link to
/// `/dev/zero` or to a file outside the app is not read); sockets, FIFOs and devices
/// are left out with a warning.
fn pack<W: Write>(dir: &Path, out: W) -> Result<W> {
    let encoder = flate2::write::GzEncoder::new(out, flate2::Compression::fast());
    let mut tar = tar::Builder::new(encoder);
    tar.follow_symlinks(false);
    append_dir(&mut tar, dir, Path::new(""))?;
    let encoder = tar.into_inner().context("finishing the archive")?;
    encoder.finish().context("compressing the archive")
}

fn append_dir<W: Write>(
    tar: &mut tar::Builder<flate2::write::GzEncoder<W>>,
    root: &Path,
    relative: &Path,
) -> Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(root.join(relative))
        .with_context(|| format!("reading {}", root.join(relative).display()))?
        .collect::<std::io::Result<_>>()?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = entry.file_name();
        if name == ".git" {
            continue;
        }
        let path = relative.join(&name);
        let file_type = entry.file_type()?;
        let packed = if file_type.is_dir() {
            tar.append_dir(&path, entry.path())
                .with_context(|| format!("packing {}", path.display()))?;
            append_dir(tar, root, &path)?;
            continue;
        } else if file_type.is_symlink() {
            let target = std::fs::read_link(entry.path())
                .with_context(|| format!("reading the link {}", path.display()))?;
            let mut header = tar::Header::new_gnu();
            header.set_metadata_in_mode(
                &entry
                    .metadata()
                    .with_context(|| format!("packing {}", path.display()))?,
                tar::HeaderMode::Complete,
            );
            header.set_entry_type(tar::EntryType::Symlink);
            header.set_size(0);
            tar.append_link(&mut header, &path, &target)
        } else if file_type.is_file() {
            let mut file = std::fs::File::open(entry.path())
                .with_context(|| format!("packing {}", path.display()))?;
            tar.append_file(&path, &mut file)
        } else {
            eprintln!(
                "warning: {} is not a file, directory or symlink: left out of the upload",
                path.display()
            );
            continue;
        };
        packed.with_context(|| format!("packing {}", path.display()))?;
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
    fn poll_intervals_parse_with_units() {
        assert_eq!(parse_duration_ms("60s"), Ok(60_000));
        assert_eq!(parse_duration_ms("1s"), Ok(1_000));
        assert_eq!(parse_duration_ms("5m"), Ok(300_000));
        assert_eq!(parse_duration_ms("250ms"), Ok(250));
        assert_eq!(parse_duration_ms("90"), Ok(90_000));
        assert!(parse_duration_ms("s").is_err());
        assert!(parse_duration_ms("5d").is_err());
        assert!(parse_duration_ms("99999999999999999999h").is_err());
    }

    #[test]
    fn packing_is_deterministic_and_skips_git() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.txt"), "a").unwrap();
        std::fs::create_dir(dir.path().join(".git")).unwrap();
        std::fs::write(dir.path().join(".git/HEAD"), "x").unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(dir.path().join("sub/b.txt"), "b").unwrap();
        let first = pack(dir.path(), Vec::new()).unwrap();
        assert_eq!(first, pack(dir.path(), Vec::new()).unwrap());
        let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(&first[..]));
        let names: Vec<String> = archive
            .entries()
            .unwrap()
            .map(|e| e.unwrap().path().unwrap().display().to_string())
            .collect();
        assert_eq!(names, ["a.txt", "sub", "sub/b.txt"]);
    }

    #[test]
    fn symlinks_are_packed_as_links_never_followed() {
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret"), "not for the server").unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink("/dev/zero", dir.path().join("ferry.toml")).unwrap();
        std::os::unix::fs::symlink(outside.path().join("secret"), dir.path().join("secret"))
            .unwrap();
        std::os::unix::fs::symlink("secret", dir.path().join("alias")).unwrap();
        let packed = pack(dir.path(), Vec::new()).unwrap();
        assert!(!String::from_utf8_lossy(&flate2_decode(&packed)).contains("not for the server"));
        let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(&packed[..]));
        let entries: Vec<(String, tar::EntryType, u64, String)> = archive
            .entries()
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                (
                    e.path().unwrap().display().to_string(),
                    e.header().entry_type(),
                    e.size(),
                    e.link_name()
                        .unwrap()
                        .unwrap_or_default()
                        .display()
                        .to_string(),
                )
            })
            .collect();
        let secret = outside.path().join("secret").display().to_string();
        assert_eq!(
            entries,
            [
                ("alias".into(), tar::EntryType::Symlink, 0, "secret".into()),
                (
                    "ferry.toml".into(),
                    tar::EntryType::Symlink,
                    0,
                    "/dev/zero".into()
                ),
                ("secret".into(), tar::EntryType::Symlink, 0, secret),
            ]
        );
    }

    fn flate2_decode(bytes: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(bytes), &mut out).unwrap();
        out
    }

    #[test]
    fn the_channel_writer_hashes_and_chunks_what_it_is_given() {
        let (sender, mut receiver) =
            tokio::sync::mpsc::channel::<std::io::Result<Vec<u8>>>(CHUNKS_IN_FLIGHT);
        let reader = std::thread::spawn(move || {
            let mut all = Vec::new();
            let mut largest = 0;
            while let Some(chunk) = receiver.blocking_recv() {
                let chunk: Vec<u8> = chunk.unwrap();
                largest = largest.max(chunk.len());
                all.extend(chunk);
            }
            (all, largest)
        });
        let data: Vec<u8> = (0..3 * CHUNK_BYTES + 17).map(|i| (i % 251) as u8).collect();
        let mut writer = ChannelWriter::new(sender, Arc::new(AtomicBool::new(false)));
        writer.write_all(&data).unwrap();
        let digest = writer.finish().unwrap();
        let (received, largest) = reader.join().unwrap();
        assert_eq!(received, data);
        assert_eq!(largest, CHUNK_BYTES);
        assert_eq!(digest, format!("sha256:{}", hex(&Sha256::digest(&data))));
    }

    #[test]
    fn a_writer_whose_upload_stopped_says_so() {
        let (sender, receiver) = tokio::sync::mpsc::channel(1);
        drop(receiver);
        let aborted = Arc::new(AtomicBool::new(false));
        let mut writer = ChannelWriter::new(sender, Arc::clone(&aborted));
        let err = writer.write_all(&vec![0; 2 * CHUNK_BYTES]).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::BrokenPipe);
        assert!(aborted.load(Ordering::SeqCst));
    }
}
