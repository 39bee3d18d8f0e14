//! The `git_follows` table: the repository, branch and sub-directory a service builds
//! from (git sources), with its poll interval, webhook secret, the CLI's overrides
//! applied to every build, and the upstream head last acted on. Written with the
//! deployment that sets it, in one transaction. Also the build history of revisions
//! (`ferry builds`).

use crate::db::{parse_ts, ts, Store};
use crate::error::StoreError;
use crate::revisions::{insert_deployment, NewDeployment};
use crate::services::{live_service_id_in, service_ids_in, ServiceRow};
use ferry_types::{Operation, Revision, RevisionId, ServiceId};
use rusqlite::{params, Connection, OptionalExtension};
use time::OffsetDateTime;

/// How a service follows a git branch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GitFollow {
    /// The repository fetched from (webhooks and polling); `None` when only pushes to
    /// ferry's own remote build the service.
    pub url: Option<String>,
    pub branch: String,
    /// The app's directory inside the repository (monorepos); `None` for the root.
    pub subdir: Option<String>,
    /// How often the branch head is read from `url`; `None`: only webhooks and pushes.
    pub poll_ms: Option<u64>,
    /// Verifies webhook deliveries (HMAC key for GitHub and Gitea, token for GitLab).
    pub webhook_secret: String,
    /// The deploy's command-line overrides (JSON), applied to every build.
    pub overrides: String,
    /// The head of `url`'s branch when ferry last acted on it: only another one builds.
    pub upstream_commit: Option<String>,
}

const COLUMNS: &str = "url, branch, subdir, poll_ms, webhook_secret, overrides, upstream_commit";

fn from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<GitFollow> {
    let poll_ms: Option<i64> = row.get(3)?;
    Ok(GitFollow {
        url: row.get(0)?,
        branch: row.get(1)?,
        subdir: row.get(2)?,
        poll_ms: poll_ms.and_then(|ms| u64::try_from(ms).ok()),
        webhook_secret: row.get(4)?,
        overrides: row.get(5)?,
        upstream_commit: row.get(6)?,
    })
}

fn get_in(conn: &Connection, service: &ServiceId) -> Result<Option<GitFollow>, StoreError> {
    Ok(conn
        .query_row(
            &format!("SELECT {COLUMNS} FROM git_follows WHERE service_id = ?1"),
            [service.as_str()],
            from_row,
        )
        .optional()?)
}

fn put_in(conn: &Connection, service: &ServiceId, follow: &GitFollow) -> Result<(), StoreError> {
    let poll_ms = follow
        .poll_ms
        .map(|ms| i64::try_from(ms).unwrap_or(i64::MAX));
    conn.execute(
        &format!(
            "INSERT OR REPLACE INTO git_follows (service_id, {COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
        ),
        params![
            service.as_str(),
            follow.url,
            follow.branch,
            follow.subdir,
            poll_ms,
            follow.webhook_secret,
            follow.overrides,
            follow.upstream_commit
        ],
    )?;
    Ok(())
}

/// One build of a service: a revision of a source directory and its build state.
#[derive(Clone, Debug, PartialEq)]
pub struct BuildRow {
    pub revision_id: RevisionId,
    pub number: u32,
    pub commit: Option<String>,
    /// `pending`, `built`, `failed` or `cancelled`.
    pub build: String,
    /// The revision's status (`ACTIVE`, `FAILED`, …).
    pub status: String,
    pub created_at: OffsetDateTime,
    pub started_at: Option<OffsetDateTime>,
    pub ended_at: Option<OffsetDateTime>,
}

impl Store {
    /// A deployment of a git commit. With `follow`, the service follows it from now
    /// on (replacing what it followed); with `upstream`, only if the upstream head
    /// last acted on is still `upstream.0` (so two passes never build one push
    /// twice), recording `upstream.1`. `None` when that check failed. With
    /// `awaiting_push`, a `git push` waits for this deployment (see
    /// [`Store::abandon_orphaned_pushes`]).
    pub fn create_git_deployment(
        &self,
        new: &NewDeployment<'_>,
        follow: Option<&GitFollow>,
        upstream: Option<(Option<&str>, &str)>,
        awaiting_push: bool,
    ) -> Result<Option<(ServiceRow, Revision, Operation)>, StoreError> {
        let conn = self.conn();
        let tx = conn.unchecked_transaction()?;
        if let Some((expected, _)) = upstream {
            let Some(service) = live_service_id_in(&tx, new.service.name.as_str())? else {
                return Ok(None);
            };
            let current = get_in(&tx, &service)?;
            if current.as_ref().map(|f| f.upstream_commit.as_deref()) != Some(expected) {
                return Ok(None);
            }
        }
        let (service_id, revision, operation) = insert_deployment(&tx, new)?;
        if awaiting_push {
            tx.execute(
                "UPDATE revisions SET awaiting_push = 1 WHERE id = ?1",
                [revision.id.as_str()],
            )?;
        }
        if let Some(follow) = follow {
            put_in(&tx, &service_id, follow)?;
        }
        if let Some((_, head)) = upstream {
            set_upstream_in(&tx, &service_id, head)?;
        }
        tx.commit()?;
        drop(conn);
        self.deployed(service_id, revision, operation).map(Some)
    }

    /// Stops following git (a deploy of an upload or an image replaced it).
    pub fn delete_git_follow(&self, service: &ServiceId) -> Result<(), StoreError> {
        self.conn().execute(
            "DELETE FROM git_follows WHERE service_id = ?1",
            [service.as_str()],
        )?;
        Ok(())
    }

    /// What git branch a service follows, if any.
    pub fn git_follow(&self, service: &ServiceId) -> Result<Option<GitFollow>, StoreError> {
        get_in(&self.conn(), service)
    }

    /// Records the upstream head as acted on without building (nothing changed under
    /// the service's directory).
    pub fn set_upstream_commit(&self, service: &ServiceId, head: &str) -> Result<(), StoreError> {
        set_upstream_in(&self.conn(), service, head)
    }

    /// Services that poll a repository URL (and are not being deleted). Those without
    /// a poll interval are only looked at when a webhook wakes them.
    pub fn git_polled_services(&self) -> Result<Vec<ServiceId>, StoreError> {
        service_ids_in(
            &self.conn(),
            "SELECT f.service_id FROM git_follows f JOIN services s ON s.id = f.service_id \
             WHERE f.url IS NOT NULL AND f.poll_ms IS NOT NULL AND s.deleting = 0 \
             ORDER BY f.service_id",
        )
    }

    /// The commit of the service's latest revision that has one.
    pub fn latest_commit(&self, service: &ServiceId) -> Result<Option<String>, StoreError> {
        Ok(self
            .conn()
            .query_row(
                "SELECT git_commit FROM revisions WHERE service_id = ?1 AND git_commit IS NOT NULL \
                 ORDER BY number DESC LIMIT 1",
                [service.as_str()],
                |row| row.get(0),
            )
            .optional()?)
    }

    /// When the build of a revision started (the build reconciler began its gates).
    pub fn set_build_started(&self, id: &RevisionId) -> Result<(), StoreError> {
        self.conn().execute(
            "UPDATE revisions SET build_started_at = ?2, build_ended_at = NULL WHERE id = ?1",
            params![id.as_str(), ts(ferry_types::now())],
        )?;
        Ok(())
    }

    /// When the build of a revision ended (built, failed or cancelled).
    pub fn set_build_ended(&self, id: &RevisionId) -> Result<(), StoreError> {
        self.conn().execute(
            "UPDATE revisions SET build_ended_at = ?2 WHERE id = ?1",
            params![id.as_str(), ts(ferry_types::now())],
        )?;
        Ok(())
    }

    /// Cancels a revision's build: build state `cancelled`, status SUPERSEDED with
    /// `reason` if it never served, and the service's desired revision moved back to
    /// `fallback` if it still points at it, in one transaction. The build reconciler
    /// sees the revision is no longer wanted and kills a running build.
    pub fn cancel_build(
        &self,
        service: &ServiceId,
        id: &RevisionId,
        reason: &str,
        fallback: Option<&RevisionId>,
    ) -> Result<(), StoreError> {
        let conn = self.conn();
        let tx = conn.unchecked_transaction()?;
        let now = ts(ferry_types::now());
        tx.execute(
            "UPDATE revisions SET build = 'cancelled', build_ended_at = ?3, \
             status = CASE WHEN status = 'PENDING' THEN 'SUPERSEDED' ELSE status END, \
             failure = COALESCE(failure, ?2) WHERE id = ?1 AND build = 'pending'",
            params![id.as_str(), reason, now],
        )?;
        tx.execute(
            "UPDATE services SET desired_revision = ?3, updated_at = ?4 \
             WHERE id = ?1 AND desired_revision = ?2",
            params![
                service.as_str(),
                id.as_str(),
                fallback.map(RevisionId::as_str),
                now
            ],
        )?;
        crate::hosts::sync_hosts(&tx, service)?;
        tx.commit()?;
        Ok(())
    }

    /// Gives up the deployment of `id`, started by a push whose `git push` ended
    /// (rejected, timed out or gone): the revision ends SUPERSEDED with `reason` (its
    /// build cancelled if it had not ended) and `desired` goes back to `fallback`, in
    /// one transaction. `false` when it is too late: the revision already serves (or
    /// something else replaced it meanwhile), and nothing is changed.
    pub fn abandon_push(
        &self,
        service: &ServiceId,
        id: &RevisionId,
        reason: &str,
        fallback: Option<&RevisionId>,
    ) -> Result<bool, StoreError> {
        let conn = self.conn();
        let tx = conn.unchecked_transaction()?;
        let now = ts(ferry_types::now());
        let moved = tx.execute(
            "UPDATE services SET desired_revision = ?3, updated_at = ?4 \
             WHERE id = ?1 AND desired_revision = ?2 \
             AND (active_revision IS NULL OR active_revision != ?2)",
            params![
                service.as_str(),
                id.as_str(),
                fallback.map(RevisionId::as_str),
                now
            ],
        )?;
        if moved == 0 {
            return Ok(false);
        }
        tx.execute(
            "UPDATE revisions SET \
             build = CASE WHEN build = 'pending' THEN 'cancelled' ELSE build END, \
             build_ended_at = CASE WHEN build = 'pending' THEN ?3 ELSE build_ended_at END, \
             status = CASE WHEN status = 'PENDING' THEN 'SUPERSEDED' ELSE status END, \
             failure = COALESCE(failure, ?2) WHERE id = ?1",
            params![id.as_str(), reason, now],
        )?;
        crate::hosts::sync_hosts(&tx, service)?;
        tx.commit()?;
        Ok(true)
    }

    /// Start-up: the pushes that waited for a deployment ended with the server that
    /// ran them (their `git push` was cut, their ref never moved), so each such
    /// deployment still pending is given up with `reason` (see
    /// [`Store::abandon_push`]). Returns the services and revision numbers given up.
    pub fn abandon_orphaned_pushes(
        &self,
        reason: &str,
    ) -> Result<Vec<(ServiceId, u32)>, StoreError> {
        let waiting = {
            let conn = self.conn();
            let mut stmt = conn.prepare(
                "SELECT r.id, r.service_id, r.number, s.active_revision FROM revisions r \
                 JOIN services s ON s.id = r.service_id \
                 WHERE r.awaiting_push = 1 AND r.status = 'PENDING'",
            )?;
            let rows = stmt.query_map([], |row| {
                Ok((
                    RevisionId::from_string(row.get::<_, String>(0)?),
                    ServiceId::from_string(row.get::<_, String>(1)?),
                    row.get::<_, u32>(2)?,
                    row.get::<_, Option<String>>(3)?
                        .map(RevisionId::from_string),
                ))
            })?;
            rows.collect::<Result<Vec<_>, _>>()?
        };
        let mut given_up = Vec::new();
        for (revision, service, number, active) in waiting {
            if self.abandon_push(&service, &revision, reason, active.as_ref())? {
                given_up.push((service, number));
            }
        }
        self.conn().execute(
            "UPDATE revisions SET awaiting_push = 0 WHERE awaiting_push = 1",
            [],
        )?;
        Ok(given_up)
    }

    /// The builds of a service, newest first, at most `limit`.
    pub fn list_builds(
        &self,
        service: &ServiceId,
        limit: usize,
    ) -> Result<Vec<BuildRow>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT id, number, git_commit, build, status, created_at, build_started_at, \
             build_ended_at FROM revisions WHERE service_id = ?1 ORDER BY number DESC LIMIT ?2",
        )?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = stmt.query_map(params![service.as_str(), limit], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, u32>(1)?,
                row.get::<_, Option<String>>(2)?,
                row.get::<_, String>(3)?,
                row.get::<_, String>(4)?,
                row.get::<_, String>(5)?,
                row.get::<_, Option<String>>(6)?,
                row.get::<_, Option<String>>(7)?,
            ))
        })?;
        let mut builds = Vec::new();
        for row in rows {
            let (id, number, commit, build, status, created, started, ended) = row?;
            builds.push(BuildRow {
                revision_id: RevisionId::from_string(id),
                number,
                commit,
                build,
                status,
                created_at: parse_ts(&created)?,
                started_at: started.as_deref().map(parse_ts).transpose()?,
                ended_at: ended.as_deref().map(parse_ts).transpose()?,
            });
        }
        Ok(builds)
    }
}

fn set_upstream_in(conn: &Connection, service: &ServiceId, head: &str) -> Result<(), StoreError> {
    conn.execute(
        "UPDATE git_follows SET upstream_commit = ?2 WHERE service_id = ?1",
        params![service.as_str(), head],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::NewService;
    use ferry_types::{RevisionSource, ServiceConfig, ServiceName, SourceKind};

    fn follow() -> GitFollow {
        GitFollow {
            url: Some("file:///srv/shop.git".into()),
            branch: "main".into(),
            subdir: Some("services/api".into()),
            poll_ms: None,
            webhook_secret: "s3cret".into(),
            overrides: "{}".into(),
            upstream_commit: Some("aaaa".into()),
        }
    }

    fn deployment<'a>(service: &'a NewService, commit: &str) -> NewDeployment<'a> {
        NewDeployment {
            service,
            source: RevisionSource::Directory {
                digest: format!("sha256:{}", "0".repeat(64)),
            },
            config: ServiceConfig::default(),
            revision_id: RevisionId::generate(),
            commit: Some(commit.into()),
        }
    }

    #[test]
    fn a_git_deployment_records_its_commit_and_the_upstream_head_once() {
        let store = Store::open_in_memory().unwrap();
        let api = NewService {
            name: ServiceName::parse("api").unwrap(),
            source_kind: SourceKind::Directory,
        };
        let (row, revision, _) = store
            .create_git_deployment(&deployment(&api, "aaaa"), Some(&follow()), None, false)
            .unwrap()
            .unwrap();
        assert_eq!(revision.commit.as_deref(), Some("aaaa"));
        assert_eq!(store.git_follow(&row.id).unwrap(), Some(follow()));
        assert!(store.git_polled_services().unwrap().is_empty());
        // A pass that read "aaaa" builds "bbbb"; another that read it too does not.
        let second = store
            .create_git_deployment(
                &deployment(&api, "bbbb"),
                None,
                Some((Some("aaaa"), "bbbb")),
                false,
            )
            .unwrap();
        assert!(second.is_some());
        let again = store
            .create_git_deployment(
                &deployment(&api, "bbbb"),
                None,
                Some((Some("aaaa"), "bbbb")),
                false,
            )
            .unwrap();
        assert!(again.is_none());
        assert_eq!(
            store.latest_commit(&row.id).unwrap().as_deref(),
            Some("bbbb")
        );
        let builds = store.list_builds(&row.id, 10).unwrap();
        assert_eq!(builds.len(), 2);
        assert_eq!(builds[0].number, 2);
        assert_eq!(builds[0].build, "pending");
        store.set_build_started(&builds[0].revision_id).unwrap();
        store.set_build_ended(&builds[0].revision_id).unwrap();
        let builds = store.list_builds(&row.id, 1).unwrap();
        assert!(builds[0].started_at.is_some() && builds[0].ended_at.is_some());
    }

    #[test]
    fn an_abandoned_push_goes_back_to_what_served_unless_it_already_serves() {
        let store = Store::open_in_memory().unwrap();
        let api = NewService {
            name: ServiceName::parse("api").unwrap(),
            source_kind: SourceKind::Directory,
        };
        let (row, first, _) = store
            .create_git_deployment(&deployment(&api, "aaaa"), Some(&follow()), None, false)
            .unwrap()
            .unwrap();
        store.set_active_revision(&row.id, Some(&first.id)).unwrap();
        let (_, second, _) = store
            .create_git_deployment(&deployment(&api, "bbbb"), None, None, true)
            .unwrap()
            .unwrap();
        assert!(store
            .abandon_push(&row.id, &second.id, "git push ended", Some(&first.id))
            .unwrap());
        let service = store.get_service(&row.id).unwrap().unwrap();
        assert_eq!(service.desired_revision.as_ref(), Some(&first.id));
        let revision = store.get_revision(&second.id).unwrap().unwrap();
        assert_eq!(revision.status, ferry_types::RevisionStatus::Superseded);
        assert_eq!(revision.failure.as_deref(), Some("git push ended"));
        assert_eq!(
            store.revision_build(&second.id).unwrap(),
            Some(crate::BuildStatus::Cancelled)
        );
        // Once a revision serves, giving it up is refused and changes nothing.
        let (_, third, _) = store
            .create_git_deployment(&deployment(&api, "cccc"), None, None, true)
            .unwrap()
            .unwrap();
        store.set_active_revision(&row.id, Some(&third.id)).unwrap();
        assert!(!store
            .abandon_push(&row.id, &third.id, "too late", Some(&first.id))
            .unwrap());
        let service = store.get_service(&row.id).unwrap().unwrap();
        assert_eq!(service.desired_revision.as_ref(), Some(&third.id));
        assert!(store
            .get_revision(&third.id)
            .unwrap()
            .unwrap()
            .failure
            .is_none());
    }

    #[test]
    fn a_start_gives_up_the_deployments_pushes_waited_for() {
        let store = Store::open_in_memory().unwrap();
        let api = NewService {
            name: ServiceName::parse("api").unwrap(),
            source_kind: SourceKind::Directory,
        };
        let (row, first, _) = store
            .create_git_deployment(&deployment(&api, "aaaa"), Some(&follow()), None, false)
            .unwrap()
            .unwrap();
        store.set_active_revision(&row.id, Some(&first.id)).unwrap();
        let (_, pushed, _) = store
            .create_git_deployment(&deployment(&api, "bbbb"), None, None, true)
            .unwrap()
            .unwrap();
        let given_up = store.abandon_orphaned_pushes("server stopped").unwrap();
        assert_eq!(given_up, vec![(row.id.clone(), pushed.number)]);
        let service = store.get_service(&row.id).unwrap().unwrap();
        assert_eq!(service.desired_revision.as_ref(), Some(&first.id));
        // Once: the flags are cleared, and deployments nobody pushed are left alone.
        let (_, polled, _) = store
            .create_git_deployment(&deployment(&api, "cccc"), None, None, false)
            .unwrap()
            .unwrap();
        assert!(store.abandon_orphaned_pushes("again").unwrap().is_empty());
        let service = store.get_service(&row.id).unwrap().unwrap();
        assert_eq!(service.desired_revision.as_ref(), Some(&polled.id));
    }
}
