//! Scans of images pushed to ferry's registry: every image manifest is read once from
//! the registry's blobs on disk (inventory and image lint, kept per manifest digest
//! under `<data dir>/scans/`), and its CycloneDX SBOM and vulnerability report are
//! attached to it as OCI referrers. The reconciler runs per repository, woken by push
//! events and resynced on a timer (which also catches up at start-up); the deploy gate
//! reads the same stored scans, so an image is never read twice.
//!
//! An index is not scanned itself: each of its children is an image manifest of the
//! repository and is scanned as such; the index gets the referrers of this machine's
//! platform's child (what a deploy here would run). Manifests with a `subject` or a
//! config that is not an image configuration (SBOMs, signatures, these referrers) are
//! skipped, so attaching a referrer never causes a scan.

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use ferry_registry::artifacts::{Artifact, Subject};
use ferry_registry::manifest::{self, Kind};
use ferry_registry::{Digest, Registry, RegistryError, RepositoryName};
use ferry_scan::image::{Image, ImageFs, ImageSource, IMAGE_CONFIG_TYPES};
use ferry_scan::imagelint::{self, ImageLintOptions, ImageLintReport};
use ferry_scan::inventory::Inventory;
use ferry_scan::matcher::{scan_packages, ScanOptions};
use ferry_scan::sbom::{self, DocumentInfo};
use ferry_scan::vulndb::VulnDb;
use serde::{Deserialize, Serialize};

use crate::registry::LocalHosts;

use super::driver::{exponential, lock, Context, ReconcileError, Reconciler, Requeue};

/// `artifactType` of the CycloneDX SBOM referrer.
pub const SBOM_ARTIFACT_TYPE: &str = "application/vnd.cyclonedx+json";
/// `artifactType` of ferry's vulnerability report referrer (the `ferry scan --format
/// json` document).
pub const REPORT_ARTIFACT_TYPE: &str = "application/vnd.ferry.vulnerability-report+json";
/// Most manifests looked at in one repository per pass.
const MAX_MANIFESTS_PER_PASS: usize = 10_000;
/// Largest stored scan read back (an inventory of a very large image is a few MiB).
const MAX_RECORD_BYTES: u64 = 64 << 20;

/// What a scan of one image keeps: enough to match vulnerabilities afresh, lint for any
/// deploy's options, and write an SBOM, without reading the image again.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredScan {
    /// How the image was first named (`localhost:7070/shop/web@sha256:…`).
    pub name: String,
    /// The image manifest read (an index's child for this platform).
    pub manifest_digest: String,
    /// The config digest (the image id).
    pub image_id: Option<String>,
    pub scanned_at: String,
    pub inventory: Inventory,
    /// Image lint with content trust on, no reference and no ignores: the content's
    /// findings only ([`imagelint::relint_for`] adds a deploy's own).
    pub lint: ImageLintReport,
}

/// The stored scans and how to make them: shared by the reconciler and the gate.
pub struct RegistryScans {
    registry: Registry,
    dir: PathBuf,
    vulndb: PathBuf,
    /// The `host:port` forms that name this registry in image references.
    hosts: LocalHosts,
    /// One scan at a time (they are heavy); also makes the gate and the reconciler
    /// wait for each other instead of scanning the same image twice.
    scanning: tokio::sync::Mutex<()>,
    /// Scans since start: images whose layers were read, and manifests that could not
    /// be opened as images (tests and logs).
    scans_run: AtomicU64,
    /// (repository, manifest) pairs whose referrers are all attached.
    attached: Mutex<HashSet<(String, String)>>,
    /// Manifests whose image could not be read, with the reason: not retried until
    /// the server restarts (content by digest does not heal).
    unreadable: Mutex<BTreeMap<String, String>>,
}

impl RegistryScans {
    /// `dir` holds the stored scans; `hosts` are the names references give the
    /// registry, so that `localhost:<port>/…` references are recognised as its images.
    pub fn new(registry: Registry, dir: PathBuf, vulndb: PathBuf, hosts: LocalHosts) -> Self {
        Self {
            registry,
            dir,
            vulndb,
            hosts,
            scanning: tokio::sync::Mutex::new(()),
            scans_run: AtomicU64::new(0),
            attached: Mutex::new(HashSet::new()),
            unreadable: Mutex::new(BTreeMap::new()),
        }
    }

    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Scans since start (layers read, or an attempt that found no image).
    pub fn scans_run(&self) -> u64 {
        self.scans_run.load(Ordering::Relaxed)
    }

    fn record_path(&self, digest: &Digest) -> PathBuf {
        self.dir.join(format!("{}.json", digest.file_name()))
    }

    fn load(&self, digest: &Digest) -> Option<StoredScan> {
        use std::io::Read as _;
        let file = std::fs::File::open(self.record_path(digest)).ok()?;
        let mut bytes = Vec::new();
        file.take(MAX_RECORD_BYTES).read_to_end(&mut bytes).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    fn save(&self, digest: &Digest, scan: &StoredScan) -> std::io::Result<()> {
        std::fs::create_dir_all(&self.dir)?;
        let bytes = serde_json::to_vec(scan).map_err(std::io::Error::other)?;
        let tmp = self.dir.join(format!(".{}.tmp", digest.file_name()));
        std::fs::write(&tmp, bytes)?;
        std::fs::rename(&tmp, self.record_path(digest))
    }

    /// The registry image a deploy reference names, when it names one (a host of
    /// [`LocalHosts`], by tag or digest). `None` for any other reference; an error when
    /// it is ours but has no such image.
    pub async fn resolve(&self, reference: &str) -> Option<Result<Digest, String>> {
        let (repository, wanted) = self.hosts.parse(reference)?;
        Some(self.resolve_ours(reference, &repository, wanted).await)
    }

    async fn resolve_ours(
        &self,
        reference: &str,
        repository: &RepositoryName,
        wanted: ferry_registry::Reference,
    ) -> Result<Digest, String> {
        let missing = || format!("{reference} is not in ferry's registry");
        let wanted = match wanted {
            ferry_registry::Reference::Digest(digest) => digest,
            ferry_registry::Reference::Tag(tag) => self
                .registry
                .resolve_tag(repository, &tag)
                .await
                .map_err(|e| e.to_string())?
                .ok_or_else(missing)?,
        };
        // The manifest must be one of the repository's, not merely content in the store.
        self.registry
            .get_manifest(
                repository,
                &ferry_registry::Reference::Digest(wanted.clone()),
            )
            .await
            .map_err(|_| missing())?;
        Ok(wanted)
    }

    /// The stored scan of `digest` (a manifest, or an index: its child for this
    /// platform), scanning the image from the registry's blobs when there is none.
    pub async fn analysis(&self, digest: &Digest, name: &str) -> Result<Arc<StoredScan>, String> {
        if let Some(scan) = self.load(digest) {
            return Ok(Arc::new(scan));
        }
        if let Some(reason) = lock(&self.unreadable).get(&digest.to_string()) {
            return Err(reason.clone());
        }
        let _one = self.scanning.lock().await;
        // Another scan may have finished while this one waited.
        if let Some(scan) = self.load(digest) {
            return Ok(Arc::new(scan));
        }
        let source = ImageSource::BlobStore {
            root: self.registry.root().to_path_buf(),
            manifest_digest: digest.to_string(),
            name: Some(name.to_string()),
        };
        let image = match tokio::task::spawn_blocking(move || Image::open_local(&source)).await {
            Ok(Ok(image)) => image,
            Ok(Err(err)) => {
                self.scans_run.fetch_add(1, Ordering::Relaxed);
                return Err(self.unreadable(digest, err.to_string()));
            }
            Err(err) => return Err(format!("the scan task failed: {err}")),
        };
        let scanned = image
            .manifest_digest
            .as_deref()
            .and_then(|d| d.parse::<Digest>().ok())
            .unwrap_or_else(|| digest.clone());
        // An index whose child was scanned already: the child's scan serves it.
        if &scanned != digest {
            if let Some(scan) = self.load(&scanned) {
                self.save(digest, &scan)
                    .map_err(|e| format!("cannot store the scan: {e}"))?;
                return Ok(Arc::new(scan));
            }
        }
        self.scans_run.fetch_add(1, Ordering::Relaxed);
        let started = std::time::Instant::now();
        let analysed = tokio::task::spawn_blocking(move || {
            let fs = ImageFs::from_image(image)?;
            let options = ImageLintOptions {
                content_trust: true,
                ..ImageLintOptions::default()
            };
            let image = fs.image();
            Ok::<_, ferry_scan::image::ImageError>(StoredScan {
                name: image.name.clone(),
                manifest_digest: image.manifest_digest.clone().unwrap_or_default(),
                image_id: image.id.clone(),
                scanned_at: time_text(),
                inventory: ferry_scan::inventory::inventory(&fs),
                lint: imagelint::lint_image(&fs, &options),
            })
        })
        .await;
        let scan = match analysed {
            Ok(Ok(scan)) => scan,
            Ok(Err(err)) => return Err(self.unreadable(digest, err.to_string())),
            Err(err) => return Err(format!("the scan task failed: {err}")),
        };
        tracing::info!(image = %scan.name, packages = scan.inventory.packages.len(), elapsed_ms = started.elapsed().as_millis() as u64, "scanned a pushed image");
        for key in [&scanned, digest] {
            self.save(key, &scan)
                .map_err(|e| format!("cannot store the scan: {e}"))?;
        }
        Ok(Arc::new(scan))
    }

    fn unreadable(&self, digest: &Digest, reason: String) -> String {
        let reason = format!("the image could not be read: {reason}");
        lock(&self.unreadable).insert(digest.to_string(), reason.clone());
        reason
    }

    /// Attaches what is missing of the SBOM and the vulnerability report to `subject`
    /// in `repository`. Returns whether both are there (the report waits for
    /// vulnerability data).
    async fn attach(
        &self,
        repository: &RepositoryName,
        subject: &Subject,
        scan: &StoredScan,
    ) -> Result<bool, ScanError> {
        let created =
            BTreeMap::from([("org.opencontainers.image.created".to_string(), time_text())]);
        if !self
            .has_referrer(repository, &subject.digest, SBOM_ARTIFACT_TYPE)
            .await?
        {
            let sbom_subject = sbom::Subject {
                name: scan.name.clone(),
                image_id: scan.image_id.clone(),
                manifest_digest: Some(scan.manifest_digest.clone()),
                repo_tags: Vec::new(),
                is_directory: false,
            };
            let document =
                sbom::cyclonedx(&sbom_subject, &scan.inventory, &DocumentInfo::default());
            let artifact = Artifact {
                artifact_type: SBOM_ARTIFACT_TYPE.to_string(),
                content: Bytes::from(serde_json::to_vec(&document).unwrap_or_default()),
                title: Some("sbom.cdx.json".to_string()),
                annotations: created.clone(),
            };
            self.registry
                .attach_artifact(repository, subject, &artifact)
                .await?;
        }
        if self
            .has_referrer(repository, &subject.digest, REPORT_ARTIFACT_TYPE)
            .await?
        {
            return Ok(true);
        }
        if !self.vulndb.exists() {
            return Ok(false);
        }
        let (db, inventory, name) = (
            self.vulndb.clone(),
            scan.inventory.clone(),
            scan.name.clone(),
        );
        let report = tokio::task::spawn_blocking(move || {
            let db = VulnDb::open(&db).map_err(|e| e.to_string())?;
            let options = ScanOptions {
                artifact: name,
                ..ScanOptions::default()
            };
            let os = inventory.os.clone().unwrap_or_default();
            scan_packages(&os, &inventory.packages, &db, &options).map_err(|e| e.to_string())
        })
        .await
        .map_err(|e| ScanError::Scan(format!("the scan task failed: {e}")))?
        .map_err(|e| ScanError::Scan(format!("the vulnerability database failed: {e}")))?;
        let artifact = Artifact {
            artifact_type: REPORT_ARTIFACT_TYPE.to_string(),
            content: Bytes::from(ferry_scan::report::json::render(&report)),
            title: Some("vulnerabilities.json".to_string()),
            annotations: created,
        };
        self.registry
            .attach_artifact(repository, subject, &artifact)
            .await?;
        Ok(true)
    }

    async fn has_referrer(
        &self,
        repository: &RepositoryName,
        subject: &Digest,
        artifact_type: &str,
    ) -> Result<bool, RegistryError> {
        Ok(!self
            .registry
            .referrers(repository, subject, Some(artifact_type), None)
            .await?
            .descriptors
            .is_empty())
    }

    /// One pass over a repository: every image manifest (then every index) without
    /// its referrers is scanned (unless stored already) and gets them. Stops early
    /// when `cancelled` says so.
    pub async fn scan_repository(
        &self,
        repository: &RepositoryName,
        cancelled: impl Fn() -> bool,
    ) -> Result<(), ScanError> {
        let mut todo = Vec::new();
        for (digest, media_type) in self
            .registry
            .list_manifests(repository, MAX_MANIFESTS_PER_PASS)
            .await?
        {
            let key = (repository.to_string(), digest.to_string());
            if lock(&self.attached).contains(&key) {
                continue;
            }
            let stored = match self
                .registry
                .get_manifest(
                    repository,
                    &ferry_registry::Reference::Digest(digest.clone()),
                )
                .await
            {
                Ok(stored) => stored,
                // Deleted since it was listed.
                Err(RegistryError::ManifestUnknown(_)) => continue,
                Err(err) => return Err(err.into()),
            };
            let Ok(parsed) = manifest::parse(Some(&media_type), &stored.body) else {
                continue;
            };
            if !scannable(&parsed) {
                continue;
            }
            let subject = Subject {
                media_type: parsed.media_type.clone(),
                digest,
                size: stored.body.len() as u64,
            };
            todo.push((parsed.kind == Kind::Index, subject));
        }
        // Images first: an index then reuses its child's scan.
        todo.sort_by_key(|(index, _)| *index);
        let mut failures = Vec::new();
        for (_, subject) in todo {
            if cancelled() {
                return Ok(());
            }
            let name = format!("{}/{repository}@{}", self.hosts.primary(), subject.digest);
            let scan = match self.analysis(&subject.digest, &name).await {
                Ok(scan) => scan,
                Err(reason) => {
                    tracing::warn!(image = %name, %reason, "cannot scan a pushed image");
                    failures.push(format!("{name}: {reason}"));
                    continue;
                }
            };
            if self.attach(repository, &subject, &scan).await? {
                lock(&self.attached).insert((repository.to_string(), subject.digest.to_string()));
            }
        }
        // Unreadable images are reported once, not retried in a loop.
        let retry: Vec<String> = failures
            .into_iter()
            .filter(|f| !f.contains("could not be read"))
            .collect();
        if retry.is_empty() {
            Ok(())
        } else {
            Err(ScanError::Scan(retry.join("; ")))
        }
    }
}

/// Whether a manifest is an image (or an index of images) to scan: no subject (it is
/// not attached to anything), and an image configuration or no artifact type.
fn scannable(parsed: &manifest::ParsedManifest) -> bool {
    if parsed.subject.is_some() {
        return false;
    }
    match parsed.kind {
        Kind::Image => parsed
            .artifact_type
            .as_deref()
            .is_some_and(|t| IMAGE_CONFIG_TYPES.contains(&t)),
        Kind::Index => parsed.artifact_type.is_none(),
    }
}

fn time_text() -> String {
    DocumentInfo::default().timestamp_text()
}

#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    #[error("registry")]
    Registry(#[from] RegistryError),
    #[error("{0}")]
    Scan(String),
}

impl ReconcileError for ScanError {
    fn retry_after(&self, failures: u32) -> Duration {
        exponential(Duration::from_secs(1), failures, Duration::from_secs(300))
    }
}

/// The reconciler over repositories of ferry's registry.
pub struct RegistryScanReconciler {
    pub scans: Arc<RegistryScans>,
}

impl Reconciler for RegistryScanReconciler {
    type Key = String;
    type Error = ScanError;

    fn name(&self) -> &'static str {
        "registry-scan"
    }

    fn keys(&self) -> Result<Vec<String>, ScanError> {
        Ok(self.scans.registry.repository_names_blocking())
    }

    async fn reconcile(&self, repository: String, ctx: Context) -> Result<Requeue, ScanError> {
        let Ok(name) = repository.parse::<RepositoryName>() else {
            return Ok(Requeue::Done);
        };
        self.scans
            .scan_repository(&name, || ctx.is_cancelled())
            .await?;
        Ok(Requeue::Done)
    }
}

#[cfg(test)]
mod tests;
