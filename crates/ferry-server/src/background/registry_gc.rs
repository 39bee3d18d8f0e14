//! Garbage collection of ferry's registry: pins the manifest of every revision whose
//! image lives in ferry's registry (any revision of a service that exists may be rolled
//! back to), runs the registry's gc, and does so on a schedule. The API's
//! `POST /registry/gc` takes the same path ([`collect`]).

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use ferry_api::GcResult;
use ferry_registry::{Digest, GcOptions, Reference, RegistryError};
use ferry_store::{Store, StoreError};
use tokio_util::sync::CancellationToken;

use crate::registry::LocalRegistry;

#[derive(Debug, thiserror::Error)]
pub enum GcError {
    #[error("cannot read the revisions to pin")]
    Store(#[from] StoreError),
    #[error("registry gc failed")]
    Registry(#[from] RegistryError),
}

/// The manifests that revisions need, and the revision images that could not be
/// resolved (their tag is gone).
#[derive(Debug, Default)]
pub struct Pins {
    pub digests: HashSet<Digest>,
    pub unresolved: Vec<String>,
}

/// Resolves every revision image that names ferry's registry to a manifest digest:
/// a digest reference as it is, a tag as it points now.
pub async fn pins(store: &Store, local: &LocalRegistry) -> Result<Pins, GcError> {
    let mut pins = Pins::default();
    let images = store.revision_images()?;
    let mut seen = HashSet::new();
    for (_, image) in images {
        if !seen.insert(image.clone()) {
            continue;
        }
        let Some((repository, reference)) = local.hosts.parse(&image) else {
            continue;
        };
        match reference {
            Reference::Digest(digest) => {
                pins.digests.insert(digest);
            }
            Reference::Tag(tag) => match local.registry.resolve_tag(&repository, &tag).await {
                Ok(Some(digest)) => {
                    pins.digests.insert(digest);
                }
                Ok(None) => pins.unresolved.push(image),
                Err(err) => {
                    tracing::warn!(%image, error = %err, "cannot resolve a revision's tag");
                    pins.unresolved.push(image);
                }
            },
        }
    }
    Ok(pins)
}

/// One collection with the revisions' manifests pinned.
pub async fn collect(
    store: &Store,
    local: &LocalRegistry,
    grace: Option<Duration>,
    dry_run: bool,
) -> Result<GcResult, GcError> {
    let pins = pins(store, local).await?;
    let report = local
        .registry
        .gc(&GcOptions {
            pinned: pins.digests.clone(),
            grace,
            upload_ttl: None,
            dry_run,
        })
        .await?;
    let mut pinned: Vec<String> = pins.digests.iter().map(Digest::to_string).collect();
    pinned.sort();
    let scans_removed = match (&local.scans_dir, dry_run) {
        (Some(dir), false) => {
            let dir = dir.clone();
            let registry = local.registry.clone();
            tokio::task::spawn_blocking(move || prune_scans(&dir, &registry))
                .await
                .unwrap_or(0)
        }
        _ => 0,
    };
    Ok(GcResult {
        scans_removed,
        dry_run,
        pinned,
        blobs_kept: report.blobs_kept,
        blobs_removed: report.blobs_removed,
        bytes_removed: report.bytes_removed,
        links_removed: report.links_removed,
        referrers_removed: report.referrers_removed,
        uploads_removed: report.uploads_removed,
        temp_files_removed: report.temp_files_removed,
        unresolved: pins.unresolved,
    })
}

/// Removes the scan records of manifests no longer in the registry (their blob is
/// gone); a record is named by its manifest's digest. Returns how many it removed.
fn prune_scans(dir: &std::path::Path, registry: &ferry_registry::Registry) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let mut removed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(digest) = name
            .to_str()
            .and_then(|n| n.strip_suffix(".json"))
            .and_then(Digest::from_file_name)
        else {
            continue;
        };
        if registry.blob_path(&digest).exists() {
            continue;
        }
        match std::fs::remove_file(entry.path()) {
            Ok(()) => removed += 1,
            Err(err) => tracing::warn!(%digest, error = %err, "cannot remove a scan record"),
        }
    }
    removed
}

/// The longest wait before the first scheduled collection.
const FIRST_RUN_AFTER: Duration = Duration::from_secs(3600);

/// Runs [`collect`] every `interval` (never when it is zero) until `shutdown`, keeping
/// the outcome in `local.gc_status`.
pub async fn run(
    store: Arc<Store>,
    local: Arc<LocalRegistry>,
    interval: Duration,
    shutdown: CancellationToken,
) {
    if interval.is_zero() {
        tracing::info!("scheduled registry gc is off");
        return;
    }
    // The first run comes within the hour, so a server restarted more often than the
    // interval still collects.
    let mut wait = interval.min(FIRST_RUN_AFTER);
    loop {
        set_next(&local, wait);
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(wait) => {}
        }
        wait = interval;
        update(&local, |status| status.running = true);
        let outcome = collect(&store, &local, None, false).await;
        let now = ferry_types::now();
        match &outcome {
            Ok(result) => tracing::info!(
                blobs_removed = result.blobs_removed,
                bytes_removed = result.bytes_removed,
                pinned = result.pinned.len(),
                "registry gc"
            ),
            Err(err) => tracing::warn!(error = %chain(err), "registry gc failed"),
        }
        update(&local, |status| {
            status.running = false;
            status.runs += 1;
            status.last_finished = Some(now);
            match &outcome {
                Ok(_) => {
                    status.failures = 0;
                    status.last_outcome = "ok".into();
                }
                Err(err) => {
                    status.failures = status.failures.saturating_add(1);
                    status.last_outcome = format!("error: {}", chain(err));
                }
            }
        });
    }
}

/// The error and its sources on one line.
fn chain(err: &GcError) -> String {
    let mut text = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

fn set_next(local: &LocalRegistry, interval: Duration) {
    let ms = u64::try_from(interval.as_millis()).unwrap_or(u64::MAX);
    update(local, |status| status.next_run_ms = Some(ms));
}

fn update(local: &LocalRegistry, change: impl FnOnce(&mut ferry_api::TaskStatus)) {
    change(
        &mut local
            .gc_status
            .lock()
            .unwrap_or_else(|poison| poison.into_inner()),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::access::TokenCache;
    use crate::registry::LocalHosts;
    use bytes::Bytes;
    use ferry_registry::{Limits, Registry, RepositoryName};
    use ferry_store::{NewDeployment, NewService};
    use ferry_types::{RevisionId, RevisionSource, ServiceConfig, ServiceName, SourceKind};
    use sha2::Digest as _;

    fn sha(bytes: &[u8]) -> Digest {
        let hex: String = sha2::Sha256::digest(bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        format!("sha256:{hex}").parse().unwrap()
    }

    /// Pushes an image of one layer (and a config) to `repo:tag`: its manifest digest
    /// and the bytes of manifest, config and layer.
    async fn push(registry: &Registry, repo: &str, tag: &str, layer: &[u8]) -> (Digest, u64) {
        let name: RepositoryName = repo.parse().unwrap();
        let config = format!("{{\"layer\":{}}}", layer.len()).into_bytes();
        for blob in [config.clone(), layer.to_vec()] {
            let digest = sha(&blob);
            registry
                .put_blob(
                    &name,
                    &digest,
                    None,
                    futures_util::stream::iter([Ok::<_, std::io::Error>(Bytes::from(blob))]),
                )
                .await
                .unwrap();
        }
        let manifest = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": sha(&config).to_string(), "size": config.len()},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": sha(layer).to_string(), "size": layer.len()}],
        });
        let body = serde_json::to_vec(&manifest).unwrap();
        let bytes = (body.len() + config.len() + layer.len()) as u64;
        let digest = registry
            .put_manifest(
                &name,
                &Reference::parse(tag).unwrap(),
                Some("application/vnd.oci.image.manifest.v1+json"),
                Bytes::from(body),
            )
            .await
            .unwrap()
            .digest;
        (digest, bytes)
    }

    fn deploy(store: &Store, image: &str) {
        store
            .create_deployment(&NewDeployment {
                service: &NewService {
                    name: ServiceName::parse("web").unwrap(),
                    source_kind: SourceKind::Image,
                },
                source: RevisionSource::Image {
                    image: image.into(),
                    image_id: None,
                    from_tag: None,
                },
                config: ServiceConfig::default(),
                revision_id: RevisionId::generate(),
                commit: None,
            })
            .unwrap();
    }

    #[tokio::test]
    async fn revisions_pin_their_manifests_by_digest_and_by_tag() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Store::open_in_memory().unwrap());
        let registry = Registry::open(dir.path(), Limits::default()).unwrap();
        let scans = tempfile::tempdir().unwrap();
        let local = LocalRegistry::new(
            registry.clone(),
            Arc::new(TokenCache::new(Arc::clone(&store))),
            LocalHosts::new("127.0.0.1:7070".parse().unwrap()),
        )
        .with_scans_dir(scans.path().to_path_buf());
        let (by_digest, _) = push(&registry, "shop/web", "1", b"layer one").await;
        let (by_tag, _) = push(&registry, "shop/api", "2", b"layer two").await;
        let (unused, unused_bytes) = push(&registry, "shop/old", "3", b"layer three").await;
        deploy(&store, &format!("localhost:7070/shop/web@{by_digest}"));
        deploy(&store, "127.0.0.1:7070/shop/api:2");
        deploy(&store, "127.0.0.1:7070/shop/gone:9");
        deploy(&store, "localhost:5000/shop/old:3");
        deploy(&store, "busybox:1");
        let pins = pins(&store, &local).await.unwrap();
        assert_eq!(
            pins.digests,
            HashSet::from([by_digest.clone(), by_tag.clone()])
        );
        assert_eq!(pins.unresolved, ["127.0.0.1:7070/shop/gone:9"]);

        // Both manifests leave their repositories: the one a revision names by digest
        // keeps its blobs. (A tag always has its manifest in the repository, so a pin
        // by tag only matters to `ferry images rm`.)
        for (repo, digest) in [("shop/web", &by_digest), ("shop/old", &unused)] {
            registry
                .delete_manifest(&repo.parse().unwrap(), &Reference::Digest(digest.clone()))
                .await
                .unwrap();
        }
        let record = |d: &Digest| scans.path().join(format!("{}.json", d.file_name()));
        for digest in [&by_digest, &unused] {
            std::fs::write(record(digest), b"{}").unwrap();
        }
        let result = collect(&store, &local, Some(Duration::ZERO), false)
            .await
            .unwrap();
        assert_eq!(result.blobs_removed, 3, "{result:?}");
        // The removed manifest's scan record goes with it; the pinned one stays.
        assert_eq!(result.scans_removed, 1, "{result:?}");
        assert!(record(&by_digest).exists());
        assert!(!record(&unused).exists());
        assert_eq!(result.bytes_removed, unused_bytes);
        assert_eq!(result.pinned.len(), 2);
        let exists = |d: &Digest| {
            let hex = d.to_string().trim_start_matches("sha256:").to_string();
            dir.path()
                .join("blobs/sha256")
                .join(&hex[..2])
                .join(&hex)
                .exists()
        };
        assert!(exists(&by_digest) && exists(&by_tag));
        assert!(exists(&sha(b"layer one")) && exists(&sha(b"layer two")));
        assert!(!exists(&unused) && !exists(&sha(b"layer three")));
    }

    #[tokio::test]
    async fn the_schedule_collects_and_keeps_its_status() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Store::open_in_memory().unwrap());
        let registry = Registry::open(
            dir.path(),
            Limits {
                gc_grace: Duration::ZERO,
                ..Limits::default()
            },
        )
        .unwrap();
        let local = Arc::new(LocalRegistry::new(
            registry.clone(),
            Arc::new(TokenCache::new(Arc::clone(&store))),
            LocalHosts::new("127.0.0.1:7070".parse().unwrap()),
        ));
        let (digest, _) = push(&registry, "a", "1", b"scheduled").await;
        registry
            .delete_manifest(&"a".parse().unwrap(), &Reference::Digest(digest.clone()))
            .await
            .unwrap();
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(run(
            Arc::clone(&store),
            Arc::clone(&local),
            Duration::from_millis(20),
            shutdown.clone(),
        ));
        // A generous bound for a loop that runs every 20 ms.
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while local.gc_status().runs == 0 {
            assert!(std::time::Instant::now() < deadline, "no scheduled run");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        shutdown.cancel();
        task.await.unwrap();
        let status = local.gc_status();
        assert_eq!(
            (status.task.as_str(), status.last_outcome.as_str()),
            ("registry-gc", "ok")
        );
        assert_eq!(status.failures, 0);
        let hex = digest.to_string().trim_start_matches("sha256:").to_string();
        assert!(!dir
            .path()
            .join("blobs/sha256")
            .join(&hex[..2])
            .join(&hex)
            .exists());

        // Zero turns the schedule off: it returns at once.
        run(store, local, Duration::ZERO, CancellationToken::new()).await;
    }
}
