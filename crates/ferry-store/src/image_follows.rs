//! The `image_follows` table: the image tag a service follows (push-to-deploy), with
//! its registry credentials and the digest the trigger last acted on. Written with the
//! deployment that sets it, in one transaction.

use crate::db::Store;
use crate::error::StoreError;
use crate::revisions::{insert_deployment, NewDeployment};
use crate::services::{live_service_id_in, service_ids_in, ServiceRow};
use ferry_types::{Operation, Revision, ServiceId};
use rusqlite::{params, Connection, OptionalExtension};

/// How a service follows an image tag.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageFollow {
    /// The tag reference followed: `host:port/repo:tag`.
    pub image: String,
    /// Whether a new digest behind the tag deploys by itself.
    pub auto_deploy: bool,
    /// How often the tag is read from a remote registry; `None` for ferry's own
    /// registry, whose pushes wake the trigger.
    pub poll_ms: Option<u64>,
    /// Credentials for the registry (pull and poll), when it needs them.
    pub username: Option<String>,
    pub password: Option<String>,
    /// The digest behind the tag when ferry last deployed from it (by a deploy or by
    /// the trigger): only a different one deploys again, so a rollback stays.
    pub acted_digest: Option<String>,
}

const COLUMNS: &str = "image, auto_deploy, poll_ms, username, password, acted_digest";

fn from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<ImageFollow> {
    let poll_ms: Option<i64> = row.get(2)?;
    Ok(ImageFollow {
        image: row.get(0)?,
        auto_deploy: row.get(1)?,
        poll_ms: poll_ms.and_then(|ms| u64::try_from(ms).ok()),
        username: row.get(3)?,
        password: row.get(4)?,
        acted_digest: row.get(5)?,
    })
}

fn get_in(conn: &Connection, service: &ServiceId) -> Result<Option<ImageFollow>, StoreError> {
    Ok(conn
        .query_row(
            &format!("SELECT {COLUMNS} FROM image_follows WHERE service_id = ?1"),
            [service.as_str()],
            from_row,
        )
        .optional()?)
}

fn put_in(conn: &Connection, service: &ServiceId, follow: &ImageFollow) -> Result<(), StoreError> {
    let poll_ms = follow
        .poll_ms
        .map(|ms| i64::try_from(ms).unwrap_or(i64::MAX));
    conn.execute(
        &format!(
            "INSERT OR REPLACE INTO image_follows (service_id, {COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
        ),
        params![
            service.as_str(),
            follow.image,
            follow.auto_deploy,
            poll_ms,
            follow.username,
            follow.password,
            follow.acted_digest
        ],
    )?;
    Ok(())
}

impl Store {
    /// A deployment of an image, as [`Store::create_deployment`], that also sets (or,
    /// with `None`, clears) what the service follows, in the same transaction.
    pub fn create_image_deployment(
        &self,
        new: &NewDeployment<'_>,
        follow: Option<&ImageFollow>,
    ) -> Result<(ServiceRow, Revision, Operation), StoreError> {
        let conn = self.conn();
        let tx = conn.unchecked_transaction()?;
        let (service_id, revision, operation) = insert_deployment(&tx, new)?;
        match follow {
            Some(follow) => put_in(&tx, &service_id, follow)?,
            None => {
                tx.execute(
                    "DELETE FROM image_follows WHERE service_id = ?1",
                    [service_id.as_str()],
                )?;
            }
        }
        tx.commit()?;
        drop(conn);
        self.deployed(service_id, revision, operation)
    }

    /// A deployment made by the trigger for `digest`, written only if the digest the
    /// trigger last acted on is still `expected` (so two passes, or a deploy that
    /// raced this one, never deploy one push twice). `None` when it changed meanwhile.
    pub fn create_triggered_deployment(
        &self,
        new: &NewDeployment<'_>,
        expected: Option<&str>,
        digest: &str,
    ) -> Result<Option<(ServiceRow, Revision, Operation)>, StoreError> {
        let conn = self.conn();
        let tx = conn.unchecked_transaction()?;
        let Some(service) = live_service_id_in(&tx, new.service.name.as_str())? else {
            return Ok(None);
        };
        let Some(follow) = get_in(&tx, &service)? else {
            return Ok(None);
        };
        if !follow.auto_deploy || follow.acted_digest.as_deref() != expected {
            return Ok(None);
        }
        let (service_id, revision, operation) = insert_deployment(&tx, new)?;
        set_acted_in(&tx, &service_id, digest)?;
        tx.commit()?;
        drop(conn);
        self.deployed(service_id, revision, operation).map(Some)
    }

    /// What a service follows, if anything.
    pub fn image_follow(&self, service: &ServiceId) -> Result<Option<ImageFollow>, StoreError> {
        get_in(&self.conn(), service)
    }

    /// Records that the trigger saw `digest` behind the tag and had nothing to deploy
    /// (the latest revision already runs it).
    pub fn set_acted_digest(&self, service: &ServiceId, digest: &str) -> Result<(), StoreError> {
        set_acted_in(&self.conn(), service, digest)
    }

    /// Services whose followed tag deploys by itself (and are not being deleted).
    pub fn auto_deploy_services(&self) -> Result<Vec<ServiceId>, StoreError> {
        service_ids_in(
            &self.conn(),
            "SELECT f.service_id FROM image_follows f JOIN services s ON s.id = f.service_id \
             WHERE f.auto_deploy = 1 AND s.deleting = 0 ORDER BY f.service_id",
        )
    }
}

fn set_acted_in(conn: &Connection, service: &ServiceId, digest: &str) -> Result<(), StoreError> {
    conn.execute(
        "UPDATE image_follows SET acted_digest = ?2 WHERE service_id = ?1",
        params![service.as_str(), digest],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::NewService;
    use ferry_types::{RevisionId, RevisionSource, ServiceConfig, ServiceName, SourceKind};

    fn deployment<'a>(service: &'a NewService, digest: &str) -> NewDeployment<'a> {
        NewDeployment {
            service,
            source: RevisionSource::Image {
                image: format!("localhost:7070/shop/web@{digest}"),
                image_id: None,
                from_tag: Some("localhost:7070/shop/web:latest".into()),
            },
            config: ServiceConfig::default(),
            revision_id: RevisionId::generate(),
            commit: None,
        }
    }

    fn follow(acted: &str) -> ImageFollow {
        ImageFollow {
            image: "localhost:7070/shop/web:latest".into(),
            auto_deploy: true,
            poll_ms: None,
            username: None,
            password: None,
            acted_digest: Some(acted.into()),
        }
    }

    #[test]
    fn a_triggered_deployment_needs_the_digest_it_expected() {
        let store = Store::open_in_memory().unwrap();
        let web = NewService {
            name: ServiceName::parse("web").unwrap(),
            source_kind: SourceKind::Image,
        };
        let (row, _, _) = store
            .create_image_deployment(&deployment(&web, "sha256:a"), Some(&follow("sha256:a")))
            .unwrap();
        assert_eq!(store.auto_deploy_services().unwrap(), vec![row.id.clone()]);
        // A pass that read an older acted digest writes nothing.
        assert!(store
            .create_triggered_deployment(
                &deployment(&web, "sha256:b"),
                Some("sha256:x"),
                "sha256:b"
            )
            .unwrap()
            .is_none());
        let (_, revision, _) = store
            .create_triggered_deployment(
                &deployment(&web, "sha256:b"),
                Some("sha256:a"),
                "sha256:b",
            )
            .unwrap()
            .unwrap();
        assert_eq!(revision.number, 2);
        let stored = store.image_follow(&row.id).unwrap().unwrap();
        assert_eq!(stored.acted_digest.as_deref(), Some("sha256:b"));
        // The same push seen again by a second pass: nothing.
        assert!(store
            .create_triggered_deployment(
                &deployment(&web, "sha256:b"),
                Some("sha256:a"),
                "sha256:b"
            )
            .unwrap()
            .is_none());
        // A deploy without following clears it.
        store
            .create_image_deployment(&deployment(&web, "sha256:c"), None)
            .unwrap();
        assert!(store.image_follow(&row.id).unwrap().is_none());
        assert!(store.auto_deploy_services().unwrap().is_empty());
    }
}
