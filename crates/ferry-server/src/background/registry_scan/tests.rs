//! Registry scans against a real registry store in a temp dir (no HTTP, no engine): an
//! image pushed through the storage API is scanned once, gets its SBOM and report as
//! referrers, and neither those referrers nor a restart cause another scan.

use super::*;
use ferry_registry::{Limits, Reference as RegistryRef, RegistryEvent};
use std::io::Write as _;

const REPO: &str = "shop/web";
const PORT: u16 = 7070;

const OPENSSL_RECORD: &str = r#"{
  "schema_version": "1.6.0",
  "id": "DEBIAN-CVE-2099-20001",
  "modified": "2026-11-01T00:00:00Z",
  "upstream": ["CVE-2099-20001"],
  "summary": "openssl: remote code execution (test record)",
  "affected": [{
    "package": {"ecosystem": "Debian:12", "name": "openssl"},
    "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "3.0.13-1~deb12u1"}]}]
  }],
  "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}]
}"#;

struct Fixture {
    _dir: tempfile::TempDir,
    root: PathBuf,
    registry: Registry,
}

impl Fixture {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_path_buf();
        let registry = Registry::open(root.join("registry"), Limits::default()).unwrap();
        let osv = root.join("osv");
        std::fs::create_dir_all(&osv).unwrap();
        std::fs::write(osv.join("DEBIAN-CVE-2099-20001.json"), OPENSSL_RECORD).unwrap();
        let mut db = VulnDb::open_or_create(&root.join("osv.db")).unwrap();
        db.import_path(&osv, "test").unwrap();
        Self {
            _dir: dir,
            root,
            registry,
        }
    }

    /// A fresh set of scans over the same store, as after a restart.
    fn scans(&self) -> RegistryScans {
        RegistryScans::new(
            self.registry.clone(),
            self.root.join("scans"),
            self.root.join("osv.db"),
            crate::registry::LocalHosts::new(std::net::SocketAddr::from(([127, 0, 0, 1], PORT))),
        )
    }

    fn repo(&self) -> RepositoryName {
        REPO.parse().unwrap()
    }

    async fn blob(&self, bytes: Vec<u8>) -> (Digest, usize) {
        let digest = Digest::of(ferry_registry::Algorithm::Sha256, &bytes);
        let len = bytes.len();
        let body =
            futures_util::stream::iter([Ok::<Bytes, std::convert::Infallible>(Bytes::from(bytes))]);
        self.registry
            .put_blob(&self.repo(), &digest, Some(len as u64), body)
            .await
            .unwrap();
        (digest, len)
    }

    async fn manifest(&self, reference: &str, media_type: &str, body: Vec<u8>) -> (Digest, usize) {
        let reference = RegistryRef::parse(reference).unwrap();
        let len = body.len();
        let pushed = self
            .registry
            .put_manifest(
                &self.repo(),
                &reference,
                Some(media_type),
                Bytes::from(body),
            )
            .await
            .unwrap();
        (pushed.digest, len)
    }

    /// Pushes a Debian 12 image whose dpkg database lists a vulnerable libssl3.
    async fn push_image(&self, tag: &str) -> (Digest, usize) {
        let mut tar = tar::Builder::new(Vec::new());
        for (path, content) in [
            ("etc/os-release", "ID=debian\nVERSION_ID=12\n"),
            (
                "var/lib/dpkg/status",
                "Package: libssl3\nStatus: install ok installed\nArchitecture: amd64\nSource: openssl\nVersion: 3.0.11-1~deb12u1\n\n",
            ),
        ] {
            let mut header = tar::Header::new_gnu();
            header.set_size(content.len() as u64);
            header.set_mode(0o644);
            header.set_cksum();
            tar.append_data(&mut header, path, content.as_bytes()).unwrap();
        }
        let layer = tar.into_inner().unwrap();
        let diff_id = Digest::of(ferry_registry::Algorithm::Sha256, &layer);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&layer).unwrap();
        let (layer_digest, layer_size) = self.blob(gz.finish().unwrap()).await;
        let config = serde_json::json!({
            "architecture": "amd64", "os": "linux",
            "config": {"Cmd": ["/bin/sh"]},
            "rootfs": {"type": "layers", "diff_ids": [diff_id.to_string()]}
        });
        let (config_digest, config_size) = self.blob(config.to_string().into_bytes()).await;
        let manifest = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": manifest::DOCKER_MANIFEST,
            "config": {"mediaType": "application/vnd.docker.container.image.v1+json",
                       "digest": config_digest.to_string(), "size": config_size},
            "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                        "digest": layer_digest.to_string(), "size": layer_size}]
        });
        self.manifest(
            tag,
            manifest::DOCKER_MANIFEST,
            manifest.to_string().into_bytes(),
        )
        .await
    }

    async fn referrers(&self, subject: &Digest, artifact_type: &str) -> Vec<serde_json::Value> {
        self.registry
            .referrers(&self.repo(), subject, Some(artifact_type), None)
            .await
            .unwrap()
            .descriptors
    }

    /// The one layer of a referrer manifest, parsed as JSON.
    async fn referrer_content(&self, descriptor: &serde_json::Value) -> serde_json::Value {
        let digest: Digest = descriptor["digest"].as_str().unwrap().parse().unwrap();
        let stored = self
            .registry
            .get_manifest(&self.repo(), &RegistryRef::Digest(digest))
            .await
            .unwrap();
        let manifest: serde_json::Value = serde_json::from_slice(&stored.body).unwrap();
        let layer: Digest = manifest["layers"][0]["digest"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        serde_json::from_slice(&std::fs::read(self.registry.blob_path(&layer)).unwrap()).unwrap()
    }
}

#[tokio::test]
async fn a_pushed_image_is_scanned_once_and_carries_its_sbom_and_report() {
    let fixture = Fixture::new();
    let mut events = fixture.registry.subscribe();
    let (image, _) = fixture.push_image("1").await;
    let scans = fixture.scans();
    scans
        .scan_repository(&fixture.repo(), || false)
        .await
        .unwrap();
    assert_eq!(scans.scans_run(), 1);

    let sboms = fixture.referrers(&image, SBOM_ARTIFACT_TYPE).await;
    assert_eq!(sboms.len(), 1, "{sboms:?}");
    assert_eq!(sboms[0]["artifactType"], SBOM_ARTIFACT_TYPE);
    let sbom = fixture.referrer_content(&sboms[0]).await;
    assert_eq!(sbom["bomFormat"], "CycloneDX");
    assert!(sbom.to_string().contains("libssl3"), "{sbom}");

    let reports = fixture.referrers(&image, REPORT_ARTIFACT_TYPE).await;
    assert_eq!(reports.len(), 1, "{reports:?}");
    let report = fixture.referrer_content(&reports[0]).await;
    assert!(report.to_string().contains("CVE-2099-20001"), "{report}");
    assert!(report.to_string().contains("CRITICAL"), "{report}");

    // The image push and the two referrer pushes were announced.
    let mut pushed = Vec::new();
    while let Ok(event) = events.try_recv() {
        if let RegistryEvent::ManifestPushed { digest, tag, .. } = event {
            pushed.push((digest, tag));
        }
    }
    assert_eq!(pushed.len(), 3, "{pushed:?}");
    assert_eq!(pushed[0].0, image);

    // What those pushes wake finds nothing to scan: the referrers are skipped and the
    // image is done; after a restart (nothing in memory) the stored scan serves.
    scans
        .scan_repository(&fixture.repo(), || false)
        .await
        .unwrap();
    assert_eq!(scans.scans_run(), 1);
    let restarted = fixture.scans();
    restarted
        .scan_repository(&fixture.repo(), || false)
        .await
        .unwrap();
    assert_eq!(restarted.scans_run(), 0);
    assert_eq!(fixture.referrers(&image, SBOM_ARTIFACT_TYPE).await.len(), 1);
    assert_eq!(
        fixture.referrers(&image, REPORT_ARTIFACT_TYPE).await.len(),
        1
    );
}

#[tokio::test]
async fn a_referrer_push_does_not_trigger_a_scan() {
    let fixture = Fixture::new();
    let (image, size) = fixture.push_image("1").await;
    let scans = fixture.scans();
    // Someone else's referrer (an SBOM attached with oras) arrives before ferry's.
    let subject = Subject {
        media_type: manifest::DOCKER_MANIFEST.into(),
        digest: image.clone(),
        size: size as u64,
    };
    let artifact = Artifact {
        artifact_type: "application/spdx+json".into(),
        content: Bytes::from_static(b"{\"spdxVersion\":\"SPDX-2.3\"}"),
        title: None,
        annotations: BTreeMap::new(),
    };
    let referrer = fixture
        .registry
        .attach_artifact(&fixture.repo(), &subject, &artifact)
        .await
        .unwrap();
    let stored = fixture
        .registry
        .get_manifest(&fixture.repo(), &RegistryRef::Digest(referrer.clone()))
        .await
        .unwrap();
    assert!(!scannable(
        &manifest::parse(Some(&stored.media_type), &stored.body).unwrap()
    ));
    scans
        .scan_repository(&fixture.repo(), || false)
        .await
        .unwrap();
    // Only the image was read; the referrer got no referrers of its own.
    assert_eq!(scans.scans_run(), 1);
    assert!(fixture
        .referrers(&referrer, SBOM_ARTIFACT_TYPE)
        .await
        .is_empty());
    assert!(!scans.root_has_scan(&referrer));
    assert!(scans.root_has_scan(&image));
}

#[tokio::test]
async fn an_index_gets_its_platform_childs_referrers_without_a_second_scan() {
    let fixture = Fixture::new();
    let (image, size) = fixture.push_image("amd64").await;
    let arch = match std::env::consts::ARCH {
        "aarch64" => "arm64",
        _ => "amd64",
    };
    let index = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": manifest::OCI_INDEX,
        "manifests": [{"mediaType": manifest::DOCKER_MANIFEST, "digest": image.to_string(),
                       "size": size, "platform": {"architecture": arch, "os": "linux"}}]
    });
    let (index, _) = fixture
        .manifest("multi", manifest::OCI_INDEX, index.to_string().into_bytes())
        .await;
    let scans = fixture.scans();
    scans
        .scan_repository(&fixture.repo(), || false)
        .await
        .unwrap();
    assert_eq!(scans.scans_run(), 1);
    for subject in [&image, &index] {
        assert_eq!(
            fixture.referrers(subject, SBOM_ARTIFACT_TYPE).await.len(),
            1
        );
        assert_eq!(
            fixture.referrers(subject, REPORT_ARTIFACT_TYPE).await.len(),
            1
        );
    }
}

#[tokio::test]
async fn without_vulnerability_data_the_report_follows_later_without_a_rescan() {
    let fixture = Fixture::new();
    std::fs::rename(
        fixture.root.join("osv.db"),
        fixture.root.join("osv.db.later"),
    )
    .unwrap();
    let (image, _) = fixture.push_image("1").await;
    let scans = fixture.scans();
    scans
        .scan_repository(&fixture.repo(), || false)
        .await
        .unwrap();
    assert_eq!(fixture.referrers(&image, SBOM_ARTIFACT_TYPE).await.len(), 1);
    assert!(fixture
        .referrers(&image, REPORT_ARTIFACT_TYPE)
        .await
        .is_empty());
    std::fs::rename(
        fixture.root.join("osv.db.later"),
        fixture.root.join("osv.db"),
    )
    .unwrap();
    scans
        .scan_repository(&fixture.repo(), || false)
        .await
        .unwrap();
    assert_eq!(
        fixture.referrers(&image, REPORT_ARTIFACT_TYPE).await.len(),
        1
    );
    assert_eq!(fixture.referrers(&image, SBOM_ARTIFACT_TYPE).await.len(), 1);
    assert_eq!(scans.scans_run(), 1);
}

#[tokio::test]
async fn deploy_references_resolve_only_for_this_registry() {
    let fixture = Fixture::new();
    let (image, _) = fixture.push_image("1").await;
    let scans = fixture.scans();
    for reference in [
        format!("localhost:{PORT}/{REPO}:1"),
        format!("127.0.0.1:{PORT}/{REPO}@{image}"),
    ] {
        assert_eq!(
            scans.resolve(&reference).await,
            Some(Ok(image.clone())),
            "{reference}"
        );
    }
    for other in [
        format!("localhost:{}/{REPO}:1", PORT + 1),
        "web:1".to_string(),
        "docker.io/library/busybox".to_string(),
        "not a reference".to_string(),
    ] {
        assert_eq!(scans.resolve(&other).await, None, "{other}");
    }
    let missing = scans
        .resolve(&format!("localhost:{PORT}/{REPO}:nope"))
        .await
        .unwrap()
        .unwrap_err();
    assert!(missing.contains("not in ferry's registry"), "{missing}");
    // The gate's analysis is the stored scan: read once, whoever asks first.
    let scan = scans
        .analysis(&image, "localhost:7070/shop/web:1")
        .await
        .unwrap();
    assert!(scan.inventory.packages.iter().any(|p| p.name == "libssl3"));
    scans
        .scan_repository(&fixture.repo(), || false)
        .await
        .unwrap();
    assert_eq!(scans.scans_run(), 1);
}

impl RegistryScans {
    fn root_has_scan(&self, digest: &Digest) -> bool {
        self.record_path(digest).exists()
    }
}
