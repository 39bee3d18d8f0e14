//! Git sources in the platform's words: a deploy that follows a branch
//! (`ferry deploy --git`), a build of a commit (from a push to ferry's remote, a
//! webhook or polling), and webhook verification. A commit becomes a revision through
//! the upload path: `git archive` of its tree (the sub-directory only, for monorepos)
//! is stored as an upload and unpacked, planned and built exactly like one.

use super::services::{ConfigOverrides, ServiceDetail};
use super::{App, AppError, ConfigProblem};
use crate::git::{self, GitError, Repo};
use axum::http::HeaderMap;
use ferry_api::{Accepted, GitAbandoned, GitFollowing, GitSource, GitTriggered, RefUpdate};
use ferry_store::{GitFollow, NewDeployment, NewService, ServiceRow};
use ferry_types::{EventLevel, RevisionId, RevisionSource, ServiceId, ServiceName, SourceKind};
use std::sync::Arc;

/// A webhook body larger than this is refused (GitHub caps its own at 25 MB; a push
/// event of a normal push is a few KiB).
pub const MAX_WEBHOOK_BYTES: usize = 1024 * 1024;
/// The hook's reason for rejecting a push is kept up to this many characters.
const MAX_REASON_CHARS: usize = 500;
/// Polling a branch is refused more often than this.
const MIN_POLL_MS: u64 = 1_000;

/// The short form of a commit, for messages.
pub fn short(commit: &str) -> &str {
    commit.get(..12).unwrap_or(commit)
}

fn git_error(err: GitError) -> AppError {
    match err {
        GitError::Spawn(_) | GitError::Io(_) => AppError::Internal(err.to_string()),
        other => AppError::BadRequest(other.to_string()),
    }
}

/// A new webhook secret: 32 random bytes, hex.
fn new_secret() -> Result<String, AppError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|err| AppError::Internal(format!("no randomness for a secret: {err}")))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// What the deployment of a commit writes besides the revision.
#[derive(Default)]
struct Writes<'a> {
    /// `ferry deploy --git`: the follow, from now on.
    new_follow: Option<&'a GitFollow>,
    /// The git trigger: only if the upstream head last acted on is still `.0`,
    /// recording `.1`.
    upstream: Option<(Option<&'a str>, &'a str)>,
    /// A push to ferry's remote waits for the deployment (given up at start-up if the
    /// server stopped meanwhile).
    awaiting_push: bool,
}

/// What a pass of the git trigger did, for its requeue.
pub enum Polled {
    /// The service does not follow a URL (any more).
    NotFollowing,
    /// Looked; poll again after this many milliseconds (`None`: only when woken).
    Looked { poll_ms: Option<u64> },
}

impl App {
    /// The stored credential for `url`'s origin, as git gets it.
    async fn remote_auth(&self, url: &str) -> Result<git::credentials::RemoteAuth, AppError> {
        let store = Arc::clone(&self.git_credentials);
        let url = url.to_string();
        tokio::task::spawn_blocking(move || store.auth_for(&url))
            .await
            .map_err(|err| AppError::Internal(format!("reading git credentials: {err}")))?
            .map_err(git_error)
    }

    /// `ferry git-auth`: the stored origins and user names (never the passwords).
    pub async fn git_credentials(&self) -> Result<Vec<git::credentials::Stored>, AppError> {
        let store = Arc::clone(&self.git_credentials);
        tokio::task::spawn_blocking(move || store.list())
            .await
            .map_err(|err| AppError::Internal(format!("reading git credentials: {err}")))?
            .map_err(git_error)
    }

    /// `ferry git-auth URL --username U --password-stdin`.
    pub async fn set_git_credential(
        &self,
        request: ferry_api::GitCredential,
    ) -> Result<git::credentials::Stored, AppError> {
        let store = Arc::clone(&self.git_credentials);
        tokio::task::spawn_blocking(move || {
            store.set(&request.url, &request.username, &request.password)
        })
        .await
        .map_err(|err| AppError::Internal(format!("writing git credentials: {err}")))?
        .map_err(git_error)
    }

    /// `ferry git-auth URL --remove`.
    pub async fn remove_git_credential(&self, url: &str) -> Result<(), AppError> {
        let store = Arc::clone(&self.git_credentials);
        let url = url.to_string();
        let origin = git::credentials::origin_of(&url).map_err(git_error)?;
        let removed = tokio::task::spawn_blocking(move || store.remove(&url))
            .await
            .map_err(|err| AppError::Internal(format!("writing git credentials: {err}")))?
            .map_err(git_error)?;
        if removed {
            Ok(())
        } else {
            Err(AppError::not_found(format!("git credentials for {origin}")))
        }
    }

    fn repo_for(&self, name: &str) -> std::path::PathBuf {
        git::repo_path(&self.data.git(), name)
    }

    /// `ferry deploy --git`: fetches the branch, builds its head, and follows the
    /// branch from now on. Nothing is created when the repository cannot be read.
    pub(crate) async fn deploy_git(
        &self,
        name: &ServiceName,
        existing: Option<&ServiceRow>,
        source: &GitSource,
        overrides: &ConfigOverrides,
    ) -> Result<Accepted, AppError> {
        git::check_url(&source.url).map_err(git_error)?;
        git::check_branch(&source.branch).map_err(git_error)?;
        let subdir = match &source.dir {
            Some(dir) => git::normalize_subdir(dir).map_err(git_error)?,
            None => None,
        };
        if let Some(poll) = source.poll_ms {
            if poll < MIN_POLL_MS {
                return Err(AppError::BadRequest(format!(
                    "--poll must be at least {}s",
                    MIN_POLL_MS / 1000
                )));
            }
        }
        let previous = match existing {
            Some(row) => self.store.git_follow(&row.id)?,
            None => None,
        };
        let path = self.repo_for(name.as_str());
        let fresh = !path.exists();
        let result = async {
            let repo = Repo::ensure(path.clone()).await.map_err(git_error)?;
            let head = repo
                .fetch(
                    &source.url,
                    &source.branch,
                    &self.remote_auth(&source.url).await?,
                )
                .await
                .map_err(|err| {
                    AppError::BadRequest(format!(
                        "cannot read branch {} of {}: {err}",
                        source.branch, source.url
                    ))
                })?;
            repo.adopt_branch(&source.branch, &head)
                .await
                .map_err(git_error)?;
            let follow = GitFollow {
                url: Some(source.url.clone()),
                branch: source.branch.clone(),
                subdir: subdir.clone(),
                poll_ms: source.poll_ms,
                webhook_secret: match previous {
                    Some(previous) => previous.webhook_secret,
                    None => new_secret()?,
                },
                overrides: serde_json::to_string(overrides)
                    .map_err(|err| AppError::Internal(err.to_string()))?,
                upstream_commit: Some(head.clone()),
            };
            let accepted = self
                .build_commit(
                    name,
                    &repo,
                    &follow,
                    &head,
                    Writes {
                        new_follow: Some(&follow),
                        ..Writes::default()
                    },
                )
                .await?
                .ok_or_else(|| {
                    AppError::Conflict(format!("service {name} changed meanwhile; try again"))
                })?;
            Ok(accepted)
        }
        .await;
        if result.is_err() && fresh && existing.is_none() {
            // Nothing half-created: the repository goes with the failed deploy.
            let _ = tokio::fs::remove_dir_all(&path).await;
        }
        result
    }

    /// A revision of `commit`: its tree stored as an upload, unpacked and planned with
    /// the follow's overrides, then the deployment written with what `writes` says
    /// (see [`ferry_store::Store::create_git_deployment`]). `None` when the upstream
    /// check failed (another pass acted).
    async fn build_commit(
        &self,
        name: &ServiceName,
        repo: &Repo,
        follow: &GitFollow,
        commit: &str,
        writes: Writes<'_>,
    ) -> Result<Option<Accepted>, AppError> {
        let overrides: ConfigOverrides = serde_json::from_str(&follow.overrides)
            .map_err(|err| AppError::Internal(format!("stored overrides: {err}")))?;
        let digest = self
            .archive_commit(repo, commit, follow.subdir.as_deref())
            .await?;
        let prepared = self.prepare_upload(&digest, overrides).await?;
        let mut files = prepared.tree;
        let config = prepared.config;
        if let Ok(runtime) = self.runtimes.for_source(SourceKind::Directory) {
            if let Err(reason) =
                runtime.check_limits(config.instance.cpu, config.instance.memory_mib)
            {
                return Err(AppError::InvalidConfig(ConfigProblem {
                    key: Some("instance".into()),
                    ..ConfigProblem::new(reason)
                }));
            }
        }
        let revision_id = RevisionId::generate();
        // No await from here to the row (see `App::deploy`).
        files.rename_to(&self.data.revision_dir(&revision_id))?;
        let new = NewDeployment {
            service: &NewService {
                name: name.clone(),
                source_kind: SourceKind::Directory,
            },
            source: RevisionSource::Directory { digest },
            config,
            revision_id,
            commit: Some(commit.to_string()),
        };
        let Some((row, revision, operation)) = self.store.create_git_deployment(
            &new,
            writes.new_follow,
            writes.upstream,
            writes.awaiting_push,
        )?
        else {
            return Ok(None);
        };
        files.keep();
        let place = match &follow.subdir {
            Some(dir) => format!("{} ({dir})", follow.branch),
            None => follow.branch.clone(),
        };
        self.store.add_operation_event(
            &operation.id,
            EventLevel::Info,
            &format!(
                "Revision {} created from commit {} of {place}",
                revision.number,
                short(commit)
            ),
        )?;
        self.background.wake(&row.id);
        Ok(Some(Accepted {
            service: self.service_view(&row)?,
            operation,
            revision: Some(revision),
            warnings: prepared.warnings,
        }))
    }

    /// Stores the tree of `commit` (`subdir` only) as an upload; returns its digest.
    async fn archive_commit(
        &self,
        repo: &Repo,
        commit: &str,
        subdir: Option<&str>,
    ) -> Result<String, AppError> {
        let mut archive = repo.archive(commit, subdir).map_err(git_error)?;
        let stream = tokio_util::io::ReaderStream::new(&mut archive.stdout);
        let stored = self.store_upload(stream, None).await;
        let finished = archive.finish().await;
        match (stored, finished) {
            (Ok(digest), Ok(())) => Ok(digest),
            (_, Err(err)) => Err(match (&err, subdir) {
                (GitError::Failed { .. }, Some(dir)) => AppError::BadRequest(format!(
                    "commit {} has no directory {dir:?}: {err}",
                    short(commit)
                )),
                _ => git_error(err),
            }),
            (Err(err), Ok(())) => Err(err),
        }
    }

    /// Whether `commit` needs a build: not when `base` (the latest revision's commit
    /// for webhooks and polling, the serving one for pushes) was built from it, nor
    /// (with a sub-directory) when nothing under it changed since.
    async fn needs_build(
        &self,
        base: Option<String>,
        repo: &Repo,
        follow: &GitFollow,
        commit: &str,
    ) -> Result<Result<(), String>, AppError> {
        let Some(latest) = base else {
            return Ok(Ok(()));
        };
        if latest == commit {
            return Ok(Err(format!("commit {} is already deployed", short(commit))));
        }
        if let Some(dir) = &follow.subdir {
            if !repo.changed_under(&latest, commit, dir).await {
                return Ok(Err(format!(
                    "nothing changed under {dir} since commit {}: no build",
                    short(&latest)
                )));
            }
        }
        Ok(Ok(()))
    }

    fn git_service(&self, name: &str) -> Result<(ServiceRow, GitFollow), AppError> {
        let row = self
            .store
            .get_service_by_name(name)?
            .filter(|row| !row.deleting)
            .ok_or_else(|| AppError::not_found(format!("service {name:?}")))?;
        let follow = self.store.git_follow(&row.id)?.ok_or_else(|| {
            AppError::not_found(format!(
                "git remote of {name:?} (deploy it with `ferry deploy --git URL --branch B --name {name}` first)"
            ))
        })?;
        Ok((row, follow))
    }

    /// The repository `/git/<name>.git` serves, created if the service follows git.
    pub async fn git_remote(&self, name: &str) -> Result<Repo, AppError> {
        self.git_service(name)?;
        Repo::ensure(self.repo_for(name)).await.map_err(git_error)
    }

    /// A push to ferry's remote is about to update `updates` (from its `pre-receive`
    /// hook, before any ref moves): builds the followed branch's new head, read from
    /// the push's `quarantine`. An error rejects the push; `accepted: None` accepts it
    /// without a build (another branch, or nothing changed for the service).
    pub async fn git_pushed(
        &self,
        name: &str,
        updates: &[RefUpdate],
        quarantine: Option<&str>,
        push: Option<&str>,
    ) -> Result<GitTriggered, AppError> {
        let (row, follow) = self.git_service(name)?;
        let wanted = format!("refs/heads/{}", follow.branch);
        let Some(update) = updates.iter().find(|u| u.name == wanted) else {
            return Ok(GitTriggered {
                message: format!(
                    "{name} builds branch {}: this push does not change it, nothing to build",
                    follow.branch
                ),
                accepted: None,
            });
        };
        if !git::is_sha(&update.new) || update.new.bytes().all(|b| b == b'0') {
            return Ok(GitTriggered {
                message: format!("branch {} was deleted: nothing to build", follow.branch),
                accepted: None,
            });
        }
        if row.paused {
            return Err(AppError::Conflict(format!(
                "service {name} is paused; `ferry resume {name}` first, then push again"
            )));
        }
        let repo = Repo::ensure(self.repo_for(name)).await.map_err(git_error)?;
        let repo = match quarantine {
            Some(dir) => repo
                .in_quarantine(std::path::Path::new(dir))
                .map_err(git_error)?,
            None => repo,
        };
        // What serves is the base: a commit whose push was rejected builds again.
        let serving = match &row.active_revision {
            Some(id) => self.store.get_revision(id)?.and_then(|r| r.commit),
            None => None,
        };
        if let Err(why) = self
            .needs_build(serving, &repo, &follow, &update.new)
            .await?
        {
            return Ok(GitTriggered {
                message: why,
                accepted: None,
            });
        }
        let accepted = self
            .build_commit(
                &row.name,
                &repo,
                &follow,
                &update.new,
                Writes {
                    awaiting_push: true,
                    ..Writes::default()
                },
            )
            .await?;
        let Some(accepted) = accepted else {
            return Err(AppError::Conflict(format!(
                "service {name} changed meanwhile: nothing built; push again"
            )));
        };
        let number = accepted.revision.as_ref().map_or(0, |r| r.number);
        if let Some(push) = push {
            self.pushes.insert(push, row.name.as_str(), number);
        }
        Ok(GitTriggered {
            message: format!(
                "building commit {} as revision {} of {name}",
                short(&update.new),
                accepted.revision.as_ref().map_or(0, |r| r.number)
            ),
            accepted: Some(accepted),
        })
    }

    /// The `pre-receive` hook rejects its push after revision `number`'s deployment
    /// started (it failed, timed out, or the pusher went away): the deployment is
    /// given up, so what serves keeps matching the branch. Too late when the revision
    /// already serves: `live` says so, and the hook then accepts the push.
    pub fn git_abandon(
        &self,
        name: &str,
        number: u32,
        reason: &str,
    ) -> Result<GitAbandoned, AppError> {
        let (row, _) = self.git_service(name)?;
        let revision = self
            .store
            .get_revision_by_number(&row.id, number)?
            .ok_or_else(|| AppError::not_found(format!("revision {number} of {name}")))?;
        let reason: String = reason.chars().take(MAX_REASON_CHARS).collect();
        let reason = format!("git push rejected: {reason}");
        let abandoned = self.store.abandon_push(
            &row.id,
            &revision.id,
            &reason,
            row.active_revision.as_ref(),
        )?;
        if abandoned {
            self.background.wake(&row.id);
            return Ok(GitAbandoned {
                live: false,
                message: format!("revision {number} was given up; what served keeps serving"),
            });
        }
        let now = self.store.get_service(&row.id)?;
        let live = now.and_then(|r| r.active_revision).as_ref() == Some(&revision.id);
        Ok(GitAbandoned {
            live,
            message: if live {
                format!("revision {number} already serves")
            } else {
                format!("revision {number} is not being deployed any more")
            },
        })
    }

    /// Start-up: a `git push` that waited for a deployment ended with the previous
    /// server (its ref never moved), so that deployment is given up, before the
    /// reconcilers could build or roll it out.
    pub fn abandon_orphaned_pushes(&self) -> Result<(), ferry_store::StoreError> {
        let reason = "git push rejected: the server stopped while the push waited for it";
        for (service, number) in self.store.abandon_orphaned_pushes(reason)? {
            tracing::info!(%service, revision = number, "deployment of an interrupted push given up");
        }
        Ok(())
    }

    /// A pass of the git trigger: reads the followed branch's head and builds it when
    /// it is new (and changed the service's directory).
    pub async fn git_poll(&self, service: &ServiceId) -> Result<Polled, AppError> {
        let Some(row) = self.store.get_service(service)? else {
            return Ok(Polled::NotFollowing);
        };
        let Some(follow) = self.store.git_follow(service)? else {
            return Ok(Polled::NotFollowing);
        };
        let Some(url) = follow.url.clone() else {
            return Ok(Polled::NotFollowing);
        };
        let looked = Polled::Looked {
            poll_ms: follow.poll_ms,
        };
        if row.deleting || row.paused {
            return Ok(looked);
        }
        // A cheap look first: most polls find the head they already acted on.
        let auth = self.remote_auth(&url).await?;
        let advertised = Repo::remote_head(&url, &follow.branch, &auth)
            .await
            .map_err(git_error)?;
        if advertised.is_some() && advertised == follow.upstream_commit {
            return Ok(looked);
        }
        let repo = Repo::ensure(self.repo_for(row.name.as_str()))
            .await
            .map_err(git_error)?;
        let head = repo
            .fetch(&url, &follow.branch, &auth)
            .await
            .map_err(git_error)?;
        if follow.upstream_commit.as_deref() == Some(head.as_str()) {
            return Ok(looked);
        }
        let latest = self.store.latest_commit(service)?;
        match self.needs_build(latest, &repo, &follow, &head).await? {
            Err(why) => {
                tracing::info!(service = %row.name, commit = %head, %why, "new head: no build");
                self.store.set_upstream_commit(service, &head)?;
            }
            Ok(()) => {
                let writes = Writes {
                    upstream: Some((follow.upstream_commit.as_deref(), head.as_str())),
                    ..Writes::default()
                };
                let built = self
                    .build_commit(&row.name, &repo, &follow, &head, writes)
                    .await;
                match built {
                    Ok(Some(accepted)) => {
                        tracing::info!(service = %row.name, commit = %head, revision = accepted.revision.as_ref().map_or(0, |r| r.number), "new head: building");
                    }
                    Ok(None) => {}
                    // A commit that cannot become a revision (a bad config, no such
                    // directory) is recorded so it is not retried every pass; the
                    // next push is.
                    Err(err @ (AppError::InvalidConfig(_) | AppError::BadRequest(_))) => {
                        tracing::warn!(service = %row.name, commit = %head, error = %err, "new head cannot be deployed");
                        self.store.set_upstream_commit(service, &head)?;
                    }
                    Err(err) => return Err(err),
                }
            }
        }
        Ok(looked)
    }

    /// A push webhook from GitHub, GitLab or Gitea: verified with the service's
    /// secret (`Unauthorized` when the signature or token is wrong or missing); a push
    /// to the followed branch wakes the git trigger, which fetches and builds the head.
    pub fn git_webhook(
        &self,
        name: &str,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<WebhookOutcome, AppError> {
        let Ok((row, follow)) = self.git_service(name) else {
            // Unknown services look like a bad signature: the endpoint says nothing
            // about which services exist.
            return Ok(WebhookOutcome::Unauthorized);
        };
        if !verify_webhook(headers, body, follow.webhook_secret.as_bytes()) {
            return Ok(WebhookOutcome::Unauthorized);
        }
        #[derive(serde::Deserialize)]
        struct Push {
            #[serde(rename = "ref")]
            reference: Option<String>,
            after: Option<String>,
        }
        let push: Push = serde_json::from_slice(body)
            .map_err(|err| AppError::BadRequest(format!("not a push event: {err}")))?;
        let wanted = format!("refs/heads/{}", follow.branch);
        if push.reference.as_deref() != Some(wanted.as_str()) {
            return Ok(WebhookOutcome::Ignored(format!(
                "{name} follows {wanted}; ignored"
            )));
        }
        if follow.url.is_none() {
            return Ok(WebhookOutcome::Ignored(format!(
                "{name} follows no repository URL; ignored"
            )));
        }
        self.background.wake_git(&row.id);
        Ok(WebhookOutcome::Queued(format!(
            "push to {} received{}: {name} reads the branch and builds its head",
            follow.branch,
            push.after
                .as_deref()
                .map(|a| format!(" (head {})", short(a)))
                .unwrap_or_default()
        )))
    }

    /// The git part of `ferry status NAME`.
    pub(crate) fn git_detail(
        &self,
        row: &ServiceRow,
        detail: &mut ServiceDetail,
    ) -> Result<(), AppError> {
        if let Some(follow) = self.store.git_follow(&row.id)? {
            detail.git = Some(GitFollowing {
                url: follow.url,
                branch: follow.branch,
                dir: follow.subdir,
                poll_ms: follow.poll_ms,
                upstream_commit: follow.upstream_commit,
                webhook_path: format!("/hooks/git/{}", row.name),
                webhook_secret: follow.webhook_secret,
                remote_path: format!("/git/{}.git", row.name),
            });
        }
        if let Some(id) = &row.active_revision {
            detail.active_commit = self.store.get_revision(id)?.and_then(|r| r.commit);
        }
        Ok(())
    }
}

/// What a webhook delivery did.
pub enum WebhookOutcome {
    Unauthorized,
    Ignored(String),
    Queued(String),
}

/// GitHub (`X-Hub-Signature-256: sha256=<hex>`), Gitea (`X-Gitea-Signature: <hex>`),
/// both HMAC-SHA256 of the body, or GitLab (`X-Gitlab-Token: <secret>`).
fn verify_webhook(headers: &HeaderMap, body: &[u8], secret: &[u8]) -> bool {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let expected = || git::hmac_sha256_hex(secret, body);
    if let Some(signature) = header("x-hub-signature-256") {
        return signature.strip_prefix("sha256=").is_some_and(|hex| {
            constant_time_eq(hex.to_ascii_lowercase().as_bytes(), expected().as_bytes())
        });
    }
    if let Some(signature) = header("x-gitea-signature") {
        return constant_time_eq(
            signature.to_ascii_lowercase().as_bytes(),
            expected().as_bytes(),
        );
    }
    if let Some(token) = header("x-gitlab-token") {
        return constant_time_eq(token.as_bytes(), secret);
    }
    false
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, value.parse().unwrap());
        }
        map
    }

    #[test]
    fn webhooks_are_verified_per_forge() {
        let body = br#"{"ref":"refs/heads/main"}"#;
        let mac = git::hmac_sha256_hex(b"k", body);
        assert!(verify_webhook(
            &headers(&[("x-hub-signature-256", &format!("sha256={mac}"))]),
            body,
            b"k"
        ));
        assert!(verify_webhook(
            &headers(&[("x-gitea-signature", &mac)]),
            body,
            b"k"
        ));
        assert!(verify_webhook(
            &headers(&[("x-gitlab-token", "k")]),
            body,
            b"k"
        ));
        assert!(!verify_webhook(&headers(&[]), body, b"k"));
        assert!(!verify_webhook(
            &headers(&[("x-hub-signature-256", &format!("sha256={mac}"))]),
            b"{}",
            b"k"
        ));
        assert!(!verify_webhook(
            &headers(&[("x-hub-signature-256", &mac)]),
            body,
            b"k"
        ));
        assert!(!verify_webhook(
            &headers(&[("x-gitlab-token", "x")]),
            body,
            b"k"
        ));
    }
}
