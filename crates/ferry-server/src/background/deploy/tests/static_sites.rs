//! Static sites through the deploy reconciler: the route's target is the revision's
//! files, no instance is ever started for them, and rollouts, pause, delete and
//! failures behave as for instances.

use super::*;

impl Harness {
    /// A source deploy of a static site whose `public/index.html` holds `body`.
    fn deploy_static(&self, body: &str) -> Operation {
        let revision_id = RevisionId::generate();
        let root = self.data.revision_dir(&revision_id).join("public");
        std::fs::create_dir_all(&root).unwrap();
        std::fs::write(root.join("index.html"), body).unwrap();
        self.deploy_static_revision(revision_id)
    }

    fn deploy_static_revision(&self, revision_id: RevisionId) -> Operation {
        let mut config = ServiceConfig::default();
        config.run.static_root = Some("public".into());
        self.record(
            revision_id,
            RevisionSource::Directory {
                digest: "sha256:0".into(),
            },
            SourceKind::Directory,
            config,
        )
    }

    /// The directory the router serves for `web.localhost`, if it serves files.
    fn served_dir(&self) -> Option<std::path::PathBuf> {
        match self.route() {
            Some(RouteState::Files(site)) => Some(site.root().to_path_buf()),
            _ => None,
        }
    }
}

#[tokio::test]
async fn a_static_site_is_served_from_its_files_with_no_instance() {
    let h = Harness::start();
    let op = h.deploy_static("one");
    assert_eq!(h.outcome(&op).await.status, OperationStatus::Succeeded);
    let served = h.served_dir().expect("the route serves files");
    assert_eq!(
        std::fs::read_to_string(served.join("index.html")).unwrap(),
        "one"
    );
    assert!(h.process.started().is_empty());
    assert!(h.fake.started().is_empty());
    let service = h.service().id;
    let snapshot = h.background.snapshot(&service).unwrap();
    assert!(snapshot.instances.is_empty());
    assert!(
        snapshot
            .phase
            .starts_with("serving static files of revision 1 (public/)"),
        "{}",
        snapshot.phase
    );

    // A second revision switches the files in one table swap.
    let second = h.deploy_static("two");
    assert_eq!(h.outcome(&second).await.status, OperationStatus::Succeeded);
    let served = h.served_dir().unwrap();
    assert_eq!(
        std::fs::read_to_string(served.join("index.html")).unwrap(),
        "two"
    );
    assert!(h.process.started().is_empty());
    let first = h
        .store
        .get_revision(op.revision_id.as_ref().unwrap())
        .unwrap()
        .unwrap();
    assert_eq!(first.status, RevisionStatus::Inactive);
}

#[tokio::test]
async fn app_to_static_site_and_back() {
    let h = Harness::start();
    let app = h.deploy();
    assert_eq!(h.outcome(&app).await.status, OperationStatus::Succeeded);
    let instance = h.routed()[0].clone();

    let site = h.deploy_static("site");
    assert_eq!(h.outcome(&site).await.status, OperationStatus::Succeeded);
    assert!(h.served_dir().is_some());
    // The app's instance drained and stopped; none was started for the site.
    h.until("app instance stopped", || {
        h.fake.stopped().iter().any(|id| id.as_str() == instance)
    })
    .await;
    assert_eq!(h.fake.started().len(), 1);

    let again = h.deploy();
    assert_eq!(h.outcome(&again).await.status, OperationStatus::Succeeded);
    assert_eq!(h.routed().len(), 1);
    assert!(h.served_dir().is_none());
}

#[tokio::test]
async fn pause_resume_and_delete_of_a_static_site() {
    let h = Harness::start();
    let op = h.deploy_static("hi");
    assert_eq!(h.outcome(&op).await.status, OperationStatus::Succeeded);
    let row = h.service();
    let pause = h.store.pause_service(&row.id, "paused").unwrap();
    h.background.wake(&row.id);
    assert_eq!(h.outcome(&pause).await.status, OperationStatus::Succeeded);
    assert!(matches!(h.route(), Some(RouteState::Paused)));
    let resume = h.store.resume_service(&row.id).unwrap();
    h.background.wake(&row.id);
    assert_eq!(h.outcome(&resume).await.status, OperationStatus::Succeeded);
    assert!(h.served_dir().is_some());

    let dir = h.data.revision_dir(op.revision_id.as_ref().unwrap());
    let delete = h.store.delete_service_intent(&row.id).unwrap();
    h.background.wake(&row.id);
    assert_eq!(h.outcome(&delete).await.status, OperationStatus::Succeeded);
    assert!(h.route().is_none());
    assert!(!dir.exists());
    assert!(h.process.started().is_empty());
}

#[tokio::test]
async fn a_site_whose_root_links_out_of_the_app_fails_and_the_old_one_keeps_serving() {
    let h = Harness::start();
    let good = h.deploy_static("good");
    assert_eq!(h.outcome(&good).await.status, OperationStatus::Succeeded);
    let served = h.served_dir().unwrap();

    let bad_revision = RevisionId::generate();
    let dir = h.data.revision_dir(&bad_revision);
    std::fs::create_dir_all(&dir).unwrap();
    std::os::unix::fs::symlink("/etc", dir.join("public")).unwrap();
    let bad = h.deploy_static_revision(bad_revision);
    let done = h.outcome(&bad).await;
    assert_eq!(done.status, OperationStatus::Failed, "{done:?}");
    let error = done.error.unwrap();
    assert!(
        error.contains("public/ is a link to outside the app"),
        "{error}"
    );
    assert!(
        !error.contains(&h.data.root().display().to_string()),
        "{error}"
    );
    assert_eq!(h.served_dir().unwrap(), served);
}
