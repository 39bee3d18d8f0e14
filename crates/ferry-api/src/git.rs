//! Git sources and builds: what a git deploy asks for, what a service follows, the
//! push notification of ferry's own git remote, and the build history and logs.

use crate::services::Accepted;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// A deploy from a git repository (`ferry deploy --git URL --branch B [--dir D]`).
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct GitSource {
    /// `https://…`, `file://…` or a path on the server.
    pub url: String,
    pub branch: String,
    /// The app's directory inside the repository (monorepos).
    #[serde(default)]
    pub dir: Option<String>,
    /// Read the branch head this often (milliseconds), for hosts without webhooks.
    #[serde(default)]
    pub poll_ms: Option<u64>,
}

/// What a service builds from, for `ferry status`.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
pub struct GitFollowing {
    pub url: Option<String>,
    pub branch: String,
    pub dir: Option<String>,
    pub poll_ms: Option<u64>,
    /// The upstream head last acted on.
    pub upstream_commit: Option<String>,
    /// Where to point the forge's push webhook (path on the API listener).
    pub webhook_path: String,
    /// HMAC key (GitHub, Gitea) or token (GitLab) of webhook deliveries.
    pub webhook_secret: String,
    /// Ferry's own git remote for the service (path on the API listener).
    pub remote_path: String,
}

/// One ref a push to ferry's remote is about to update (a line of git's
/// `pre-receive` input).
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
pub struct RefUpdate {
    pub old: String,
    pub new: String,
    pub name: String,
}

/// `POST /services/{name}/git/pushed`, sent by the remote's `pre-receive` hook
/// before any ref moves.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct GitPushed {
    pub updates: Vec<RefUpdate>,
    /// The push's quarantine object directory (`GIT_QUARANTINE_PATH`): the pushed
    /// objects live there until the hook accepts the push, so the server reads the
    /// commit from it. Must be a `tmp_objdir-incoming-*` directory of the service's
    /// repository.
    #[serde(default)]
    pub quarantine: Option<String>,
    /// The id the server gave this push's request (`FERRY_HOOK_PUSH`): when the
    /// request ends with the deployment neither live nor given up (the hook was
    /// killed outright), the server gives it up itself.
    #[serde(default)]
    pub push: Option<String>,
}

/// `POST /services/{name}/git/abandon`, sent by the `pre-receive` hook when its push
/// is rejected after the deployment started (it failed to wait, timed out, or the
/// pusher went away): the deployment of `revision` is given up unless it already
/// serves.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct GitAbandon {
    pub revision: u32,
    pub reason: String,
}

/// What [`GitAbandon`] did: `live` when the revision already served (too late to give
/// it up: the hook then accepts the push, so the branch names what serves).
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct GitAbandoned {
    pub live: bool,
    pub message: String,
}

/// What a push (or webhook) did: a line for the pusher, and the deployment if one
/// was started.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct GitTriggered {
    pub message: String,
    pub accepted: Option<Accepted>,
}

/// One build (a revision of a source directory) for `ferry builds`.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
pub struct BuildInfo {
    pub revision: u32,
    pub commit: Option<String>,
    /// `pending`, `running`, `built`, `failed` or `cancelled`.
    pub state: String,
    /// The revision's status (`ACTIVE`, `FAILED`, …).
    pub status: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub started_at: Option<OffsetDateTime>,
    pub duration_ms: Option<u64>,
}

/// A piece of a build's log: `text` from byte `offset`, `next` the offset to ask for
/// next; `done` once the build ended and everything was read.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
pub struct BuildLogChunk {
    pub offset: u64,
    pub next: u64,
    pub text: String,
    pub done: bool,
}

/// `PUT /git/credentials`: the credential ferry uses for a private http(s) remote
/// (`ferry git-auth URL --username U --password-stdin`). Only the URL's origin counts.
#[derive(Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct GitCredential {
    pub url: String,
    pub username: String,
    /// A forge access token, usually.
    pub password: String,
}

impl std::fmt::Debug for GitCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GitCredential")
            .field("url", &self.url)
            .field("username", &self.username)
            .field("password", &"<hidden>")
            .finish()
    }
}

/// A stored git credential as ferry shows it: the password never leaves the server.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
pub struct GitCredentialView {
    /// `scheme://host[:port]`.
    pub origin: String,
    pub username: String,
}
