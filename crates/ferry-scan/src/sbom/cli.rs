//! `ferry sbom`: the inventory of an image (or source directory) as CycloneDX 1.5,
//! SPDX 2.3 or ferry's own JSON. Takes the same inputs as `ferry scan`.

use std::ffi::OsString;
use std::io::Write as _;
use std::path::PathBuf;

use clap::Parser;

use super::{render, DocumentInfo, SbomFormat, Subject};
use crate::image::reference::looks_like_registry_reference;
use crate::image::{FsOptions, Image, ImageError, ImageFs, ImageSource, RegistryOptions};
use crate::inventory::{inventory_with, InventoryOptions};

/// Image inputs shared by `ferry scan` and `ferry sbom`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ImageArgs {
    /// Image to read: a registry reference (`localhost:7070/shop/web:1.4`), a local
    /// Docker Engine image (`web:1`), a `docker save` tar or an OCI layout directory.
    pub image: Option<String>,
    /// A `docker save` tar (optionally gzip-compressed).
    #[arg(long, value_name = "TAR", conflicts_with_all = ["oci_layout", "rootfs", "docker", "source"])]
    pub input: Option<PathBuf>,
    /// An OCI image layout directory, optionally `DIR:REF` to pick a tagged manifest.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["rootfs", "docker", "source"])]
    pub oci_layout: Option<String>,
    /// A directory used as the image's root filesystem.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["docker", "source"])]
    pub rootfs: Option<PathBuf>,
    /// An image in the local Docker Engine, by name or id.
    #[arg(long, value_name = "NAME", conflicts_with = "source")]
    pub docker: Option<String>,
    /// A source directory: its lock files (package-lock.json, yarn.lock, Cargo.lock,
    /// go.mod) and any installed packages it holds.
    #[arg(long, value_name = "DIR")]
    pub source: Option<PathBuf>,
    /// Registry user name (else Docker's config.json credentials are used).
    #[arg(long, env = "FERRY_REGISTRY_USERNAME")]
    pub username: Option<String>,
    /// Registry password or token.
    #[arg(long, env = "FERRY_REGISTRY_PASSWORD", hide_env_values = true)]
    pub password: Option<String>,
    /// Talk plain HTTP to the registry (the default for loopback registries).
    #[arg(long)]
    pub plain_http: bool,
    /// Accept any TLS certificate from the registry.
    #[arg(long)]
    pub insecure: bool,
}

impl ImageArgs {
    /// Which source the flags name, and whether it is a source tree.
    pub fn source(&self) -> Result<(ImageSource, bool), String> {
        if let Some(p) = &self.input {
            return Ok((ImageSource::DockerArchive(p.clone()), false));
        }
        if let Some(spec) = &self.oci_layout {
            // `dir:ref` unless the whole string is an existing directory.
            let (dir, reference) = match spec.rsplit_once(':') {
                Some((d, r)) if !std::path::Path::new(spec).exists() && !r.contains('/') => {
                    (PathBuf::from(d), Some(r.to_string()))
                }
                _ => (PathBuf::from(spec), None),
            };
            return Ok((ImageSource::OciLayout { dir, reference }, false));
        }
        if let Some(p) = &self.rootfs {
            return Ok((ImageSource::Rootfs(p.clone()), false));
        }
        if let Some(n) = &self.docker {
            return Ok((ImageSource::Docker(n.clone()), false));
        }
        if let Some(p) = &self.source {
            return Ok((ImageSource::Rootfs(p.clone()), true));
        }
        let Some(image) = &self.image else {
            return Err(
                "name an image, or use --input, --oci-layout, --rootfs, --docker or --source"
                    .into(),
            );
        };
        let path = std::path::Path::new(image);
        if path.is_file() {
            return Ok((ImageSource::DockerArchive(path.to_path_buf()), false));
        }
        if path.is_dir() {
            if path.join("index.json").is_file() {
                return Ok((
                    ImageSource::OciLayout {
                        dir: path.to_path_buf(),
                        reference: None,
                    },
                    false,
                ));
            }
            return Ok((ImageSource::Rootfs(path.to_path_buf()), false));
        }
        if looks_like_registry_reference(image) {
            Ok((ImageSource::Registry(image.clone()), false))
        } else {
            Ok((ImageSource::Docker(image.clone()), false))
        }
    }

    pub fn registry_options(&self) -> RegistryOptions {
        RegistryOptions {
            username: self.username.clone(),
            password: self.password.clone(),
            plain_http: self.plain_http,
            insecure_tls: self.insecure,
            docker_config: None,
        }
    }

    /// Opens the named image (exporting or pulling it if needed) and its view.
    pub fn open(&self) -> Result<(ImageFs, bool), String> {
        let (source, is_source_tree) = self.source()?;
        let options = self.registry_options();
        let image = match Image::open_blocking(&source, &options) {
            Ok(i) => i,
            // `web:1` that the local engine does not know may still be a registry image.
            Err(ImageError::Docker { message })
                if self.image.is_some() && self.docker.is_none() =>
            {
                let reference = self.image.clone().unwrap_or_default();
                Image::open_blocking(&ImageSource::Registry(reference.clone()), &options)
                    .map_err(|e| format!("{reference}: not in the local Docker Engine ({message}); registry: {e}"))?
            }
            Err(e) => return Err(e.to_string()),
        };
        let fs = ImageFs::open(image, FsOptions::default()).map_err(|e| e.to_string())?;
        Ok((fs, is_source_tree))
    }
}

#[derive(Debug, Parser)]
#[command(
    name = "ferry sbom",
    about = "List what an image contains, as a CycloneDX or SPDX SBOM"
)]
struct SbomArgs {
    #[command(flatten)]
    image: ImageArgs,
    /// Output format: cyclonedx (CycloneDX 1.5 JSON), spdx-json (SPDX 2.3) or json
    /// (ferry's inventory).
    #[arg(short = 'f', long, default_value = "cyclonedx")]
    format: SbomFormat,
    /// Write to FILE instead of standard output.
    #[arg(short = 'o', long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Do not print warnings (escapes, unreadable files…) to standard error.
    #[arg(short = 'q', long)]
    quiet: bool,
}

/// Runs `ferry sbom ARGS…`; returns the exit code (0 ok, 1 failure, 2 usage).
pub fn run(args: Vec<OsString>) -> i32 {
    let parsed =
        match SbomArgs::try_parse_from(std::iter::once(OsString::from("ferry sbom")).chain(args)) {
            Ok(a) => a,
            Err(e) => {
                let _ = e.print();
                return if e.use_stderr() { 2 } else { 0 };
            }
        };
    match run_parsed(&parsed) {
        Ok(()) => 0,
        Err(message) => {
            eprintln!("ferry sbom: {message}");
            1
        }
    }
}

fn run_parsed(args: &SbomArgs) -> Result<(), String> {
    let (fs, is_source_tree) = args.image.open()?;
    let options = if is_source_tree {
        InventoryOptions::source()
    } else {
        InventoryOptions::image()
    };
    let inventory = inventory_with(&fs, &options);
    if !args.quiet {
        for w in &inventory.warnings {
            eprintln!("warning: {w}");
        }
    }
    let mut subject = Subject::from_image(fs.image());
    subject.is_directory |= is_source_tree;
    let document = render(args.format, &subject, &inventory, &DocumentInfo::default());
    let mut text = serde_json::to_string_pretty(&document).map_err(|e| e.to_string())?;
    text.push('\n');
    match &args.output {
        Some(path) => std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display())),
        None => std::io::stdout()
            .lock()
            .write_all(text.as_bytes())
            .map_err(|e| format!("standard output: {e}")),
    }
}
