//! The `hosts` table: which service each routed host name belongs to. A service owns
//! `<name>.localhost` and the custom domains of its active and desired revisions; the
//! primary key makes a second claim fail inside the transaction that makes it, so two
//! racing deploys can never both hold a host.

use crate::db::Store;
use crate::error::StoreError;
use ferry_types::{ServiceConfig, ServiceId};
use rusqlite::{params, Connection, OptionalExtension};
use std::collections::BTreeSet;

/// Recomputes the hosts `service` owns from its row and revisions, releasing the ones it
/// no longer routes and claiming new ones. Call it inside the transaction that changes
/// the service's name, active or desired revision; a host another service owns fails
/// with [`StoreError::HostTaken`] and the caller's transaction rolls back.
pub(crate) fn sync_hosts(conn: &Connection, service: &ServiceId) -> Result<(), StoreError> {
    let row: Option<(String, Option<String>, Option<String>)> = conn
        .query_row(
            "SELECT name, active_revision, desired_revision FROM services WHERE id = ?1",
            [service.as_str()],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
        )
        .optional()?;
    let Some((name, active, desired)) = row else {
        conn.execute(
            "DELETE FROM hosts WHERE service_id = ?1",
            [service.as_str()],
        )?;
        return Ok(());
    };
    let mut wanted = BTreeSet::from([format!("{name}.localhost").to_ascii_lowercase()]);
    for revision in [active, desired].into_iter().flatten() {
        let config: Option<String> = conn
            .query_row(
                "SELECT config FROM revisions WHERE id = ?1",
                [&revision],
                |row| row.get(0),
            )
            .optional()?;
        let Some(config) = config else { continue };
        let config: ServiceConfig =
            serde_json::from_str(&config).map_err(|err| StoreError::Corrupt {
                what: "revision config",
                detail: err.to_string(),
            })?;
        wanted.extend(config.domains.iter().map(|d| d.to_ascii_lowercase()));
    }
    let held = owned_hosts(conn, service)?;
    for host in held.difference(&wanted) {
        conn.execute(
            "DELETE FROM hosts WHERE host = ?1 AND service_id = ?2",
            params![host, service.as_str()],
        )?;
    }
    for host in wanted.difference(&held) {
        let inserted = conn.execute(
            "INSERT INTO hosts (host, service_id) VALUES (?1, ?2)",
            params![host, service.as_str()],
        );
        match inserted {
            Ok(_) => {}
            Err(rusqlite::Error::SqliteFailure(err, _))
                if err.code == rusqlite::ErrorCode::ConstraintViolation =>
            {
                let owner: String = conn
                    .query_row(
                        "SELECT s.name FROM hosts h JOIN services s ON s.id = h.service_id \
                         WHERE h.host = ?1",
                        [host],
                        |row| row.get(0),
                    )
                    .optional()?
                    .unwrap_or_else(|| "another service".to_string());
                return Err(StoreError::HostTaken {
                    host: host.clone(),
                    owner,
                });
            }
            Err(err) => return Err(err.into()),
        }
    }
    Ok(())
}

fn owned_hosts(conn: &Connection, service: &ServiceId) -> Result<BTreeSet<String>, StoreError> {
    let mut stmt = conn.prepare("SELECT host FROM hosts WHERE service_id = ?1")?;
    let rows = stmt.query_map([service.as_str()], |row| row.get::<_, String>(0))?;
    let mut hosts = BTreeSet::new();
    for host in rows {
        hosts.insert(host?);
    }
    Ok(hosts)
}

impl Store {
    /// The hosts a service owns, lowercased and sorted.
    pub fn hosts_of(&self, service: &ServiceId) -> Result<Vec<String>, StoreError> {
        Ok(owned_hosts(&self.conn(), service)?.into_iter().collect())
    }

    /// The service that owns `host` (case-insensitive), if any.
    pub fn host_owner(&self, host: &str) -> Result<Option<ServiceId>, StoreError> {
        let conn = self.conn();
        let owner: Option<String> = conn
            .query_row(
                "SELECT service_id FROM hosts WHERE host = ?1",
                [host.to_ascii_lowercase()],
                |row| row.get(0),
            )
            .optional()?;
        Ok(owner.map(ServiceId::from_string))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::revisions::NewDeployment;
    use crate::services::NewService;
    use ferry_types::{RevisionId, RevisionSource, ServiceName, SourceKind};

    fn deploy(store: &Store, name: &str, domains: &[&str]) -> Result<RevisionId, StoreError> {
        let config = ServiceConfig {
            domains: domains.iter().map(|d| d.to_string()).collect(),
            ..ServiceConfig::default()
        };
        let revision_id = RevisionId::generate();
        store.create_deployment(&NewDeployment {
            service: &NewService {
                name: ServiceName::parse(name).unwrap(),
                source_kind: SourceKind::Image,
            },
            source: RevisionSource::Image {
                image: "web:1".into(),
                image_id: None,
                from_tag: None,
            },
            config,
            revision_id: revision_id.clone(),
            commit: None,
        })?;
        Ok(revision_id)
    }

    #[test]
    fn a_host_has_one_owner_and_the_loser_writes_nothing() {
        let store = Store::open_in_memory().unwrap();
        deploy(&store, "shop", &["Shop.Example.test"]).unwrap();
        let shop = store.get_service_by_name("shop").unwrap().unwrap().id;
        assert_eq!(
            store.hosts_of(&shop).unwrap(),
            ["shop.example.test", "shop.localhost"]
        );
        let err = deploy(&store, "blog", &["shop.example.test"]).unwrap_err();
        assert!(
            matches!(&err, StoreError::HostTaken { host, owner } if host == "shop.example.test" && owner == "shop"),
            "{err:?}"
        );
        // The whole deployment rolled back: no service, no revision, no operation.
        assert!(store.get_service_by_name("blog").unwrap().is_none());
        assert_eq!(store.list_operations(None, 10).unwrap().len(), 1);
        // A service name is a host too.
        let err = deploy(&store, "api", &["shop.localhost"]).unwrap_err();
        assert!(matches!(err, StoreError::HostTaken { .. }), "{err:?}");
    }

    #[test]
    fn hosts_follow_the_active_and_desired_revisions() {
        let store = Store::open_in_memory().unwrap();
        let first = deploy(&store, "shop", &["a.test"]).unwrap();
        let shop = store.get_service_by_name("shop").unwrap().unwrap().id;
        store.set_active_revision(&shop, Some(&first)).unwrap();
        let second = deploy(&store, "shop", &["b.test"]).unwrap();
        // While the second rolls out both revisions' domains are held.
        assert_eq!(
            store.hosts_of(&shop).unwrap(),
            ["a.test", "b.test", "shop.localhost"]
        );
        store.set_active_revision(&shop, Some(&second)).unwrap();
        assert_eq!(store.hosts_of(&shop).unwrap(), ["b.test", "shop.localhost"]);
        // a.test is free again; b.test is not.
        deploy(&store, "blog", &["a.test"]).unwrap();
        assert!(deploy(&store, "news", &["B.TEST"]).is_err());
        // Deleting a service releases its hosts.
        store.delete_service(&shop).unwrap();
        assert_eq!(store.host_owner("b.test").unwrap(), None);
        deploy(&store, "news", &["b.test"]).unwrap();
    }

    #[test]
    fn the_migration_backfills_hosts_from_existing_services() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ferry.db");
        {
            let conn = Connection::open(&path).unwrap();
            let mut conn = conn;
            // Schema 2, as an earlier ferry left it.
            let tx = conn.transaction().unwrap();
            for sql in &crate::migrations::MIGRATIONS[..2] {
                tx.execute_batch(sql).unwrap();
            }
            tx.pragma_update(None, "user_version", 2).unwrap();
            tx.execute_batch(
                r#"INSERT INTO services VALUES ('svc-1', 'shop', 'image', 'rev-1', 'rev-2', 0, 0, 't', 't');
                   INSERT INTO revisions VALUES ('rev-1', 'svc-1', 1, '{}', '{"domains":["Old.test"]}', 'ACTIVE', NULL, 't');
                   INSERT INTO revisions VALUES ('rev-2', 'svc-1', 2, '{}', '{"domains":["new.test"]}', 'PENDING', NULL, 't');
                   INSERT INTO revisions VALUES ('rev-0', 'svc-1', 0, '{}', '{"domains":["gone.test"]}', 'FAILED', 'x', 't');"#,
            )
            .unwrap();
            tx.commit().unwrap();
        }
        let store = Store::open(&path).unwrap();
        let shop = ServiceId::from_string("svc-1".to_string());
        assert_eq!(
            store.hosts_of(&shop).unwrap(),
            ["new.test", "old.test", "shop.localhost"]
        );
        let build: Vec<String> = {
            let conn = store.conn();
            let mut stmt = conn
                .prepare("SELECT build FROM revisions ORDER BY number")
                .unwrap();
            let rows = stmt.query_map([], |r| r.get(0)).unwrap();
            rows.map(|r| r.unwrap()).collect()
        };
        assert_eq!(build, ["failed", "built", "pending"]);
    }
}
