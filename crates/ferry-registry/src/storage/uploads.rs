//! Upload sessions: a directory per session (`state.json` + `data`) that survives a
//! restart, chunks appended in order, and the commit that verifies the digest,
//! fsyncs and renames the data into the blob store.

use std::collections::HashMap;
use std::fmt::Display;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use futures_util::Stream;
use serde::{Deserialize, Serialize};

use super::fsutil;
use super::Paths;
use crate::digest::{Algorithm, Digest, Hasher};
use crate::error::{RegistryError, Result};
use crate::name::RepositoryName;
use crate::range::ChunkRange;
use crate::Registry;

const STATE_FILE: &str = "state.json";
const DATA_FILE: &str = "data";

/// The open sessions, loaded from disk at start and kept in step with it.
pub(crate) struct Table {
    sessions: Mutex<HashMap<String, Entry>>,
}

/// A session and, outside its lock, the repository it belongs to (for the limits and
/// the ownership check, which must not wait for a chunk in progress).
#[derive(Clone)]
struct Entry {
    repository: RepositoryName,
    session: Arc<tokio::sync::Mutex<Session>>,
}

pub(crate) struct Session {
    pub(crate) repository: RepositoryName,
    pub(crate) dir: PathBuf,
    /// Bytes received so far (the data file's length).
    pub(crate) size: u64,
    /// sha256 of those bytes, when this process saw all of them; after a restart it
    /// is None and the commit hashes the file instead.
    hasher: Option<Hasher>,
    /// Committed or cancelled: requests that waited on the lock must not touch it.
    closed: bool,
}

#[derive(Serialize, Deserialize)]
struct State {
    repository: String,
    started: u64,
}

impl Table {
    pub(crate) fn load(paths: &Paths) -> Result<Table> {
        let mut sessions = HashMap::new();
        let dir = paths.uploads_dir();
        let names = fsutil::dir_names(&dir)
            .map_err(|e| RegistryError::io(format!("list {}", dir.display()), e))?;
        for id in names {
            if !valid_id(&id) {
                continue;
            }
            let session_dir = dir.join(&id);
            match load_session(&session_dir) {
                Some(session) => {
                    let entry = Entry {
                        repository: session.repository.clone(),
                        session: Arc::new(tokio::sync::Mutex::new(session)),
                    };
                    sessions.insert(id, entry);
                }
                // A session cut off before its state was written: gc removes it.
                None => tracing::debug!(dir = %session_dir.display(), "unreadable upload session"),
            }
        }
        Ok(Table {
            sessions: Mutex::new(sessions),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        // A panic while holding this lock cannot leave the map inconsistent (each
        // operation is one insert or remove), so a poisoned lock is still usable.
        self.sessions.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn get(&self, id: &str) -> Option<Entry> {
        self.lock().get(id).cloned()
    }

    /// The session `id`, when it belongs to `repository`.
    pub(crate) fn get_in(
        &self,
        id: &str,
        repository: &RepositoryName,
    ) -> Option<Arc<tokio::sync::Mutex<Session>>> {
        self.get(id)
            .filter(|e| &e.repository == repository)
            .map(|e| e.session)
    }

    pub(crate) fn remove(&self, id: &str) {
        self.lock().remove(id);
    }

    /// Adds a session unless that would pass the limits on open sessions.
    fn insert_within(
        &self,
        id: String,
        session: Session,
        max_total: usize,
        max_repository: usize,
    ) -> Result<()> {
        let mut map = self.lock();
        if map.len() >= max_total {
            return Err(RegistryError::TooManyRequests(format!(
                "{max_total} uploads are open; finish or cancel some first"
            )));
        }
        let in_repository = map
            .values()
            .filter(|e| e.repository == session.repository)
            .count();
        if in_repository >= max_repository {
            return Err(RegistryError::TooManyRequests(format!(
                "{max_repository} uploads are open in this repository; finish or cancel some first"
            )));
        }
        let entry = Entry {
            repository: session.repository.clone(),
            session: Arc::new(tokio::sync::Mutex::new(session)),
        };
        map.insert(id, entry);
        Ok(())
    }
}

fn load_session(dir: &Path) -> Option<Session> {
    let state: State = serde_json::from_slice(&std::fs::read(dir.join(STATE_FILE)).ok()?).ok()?;
    let repository = state.repository.parse().ok()?;
    let size = std::fs::metadata(dir.join(DATA_FILE)).ok()?.len();
    Some(Session {
        repository,
        dir: dir.to_owned(),
        size,
        hasher: None,
        closed: false,
    })
}

/// Session ids are uuids in simple form (32 lowercase hex): safe as a path component.
pub(crate) fn valid_id(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl Registry {
    /// Opens an upload session in `repository`; returns its id.
    pub async fn start_upload(&self, repository: &RepositoryName) -> Result<String> {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let dir = self.inner.paths.uploads_dir().join(&id);
        let state = serde_json::to_vec(&State {
            repository: repository.to_string(),
            started: now_secs(),
        })
        .map_err(|e| RegistryError::io("encode upload state", std::io::Error::other(e)))?;
        let session = Session {
            repository: repository.clone(),
            dir: dir.clone(),
            size: 0,
            hasher: Some(Algorithm::Sha256.hasher()),
            closed: false,
        };
        let limits = &self.inner.limits;
        self.inner.uploads.insert_within(
            id.clone(),
            session,
            limits.max_uploads,
            limits.max_uploads_per_repository,
        )?;
        let created = fsutil::blocking(move || {
            std::fs::create_dir(&dir)?;
            std::fs::File::create(dir.join(DATA_FILE))?;
            std::fs::write(dir.join(STATE_FILE), state)
        })
        .await;
        if let Err(e) = created {
            self.inner.uploads.remove(&id);
            return Err(RegistryError::io("create upload session", e));
        }
        Ok(id)
    }

    fn session(
        &self,
        repository: &RepositoryName,
        id: &str,
    ) -> Result<Arc<tokio::sync::Mutex<Session>>> {
        if !valid_id(id) {
            return Err(RegistryError::BlobUploadUnknown);
        }
        self.inner
            .uploads
            .get_in(id, repository)
            .ok_or(RegistryError::BlobUploadUnknown)
    }

    /// How many bytes the session holds.
    pub async fn upload_status(&self, repository: &RepositoryName, id: &str) -> Result<u64> {
        let session = self.session(repository, id)?;
        let session = session.lock().await;
        if session.closed {
            return Err(RegistryError::BlobUploadUnknown);
        }
        Ok(session.size)
    }

    /// Appends a chunk. With `range`, it must start where the upload ends (else 416)
    /// and the body must have exactly its length. Returns the new size.
    pub async fn append_upload<S, E>(
        &self,
        repository: &RepositoryName,
        id: &str,
        range: Option<ChunkRange>,
        content_length: Option<u64>,
        body: S,
    ) -> Result<u64>
    where
        S: Stream<Item = std::result::Result<Bytes, E>> + Unpin,
        E: Display,
    {
        let session = self.session(repository, id)?;
        let mut session = session.lock().await;
        if session.closed {
            return Err(RegistryError::BlobUploadUnknown);
        }
        self.append_locked(&mut session, range, content_length, body)
            .await?;
        Ok(session.size)
    }

    async fn append_locked<S, E>(
        &self,
        session: &mut Session,
        range: Option<ChunkRange>,
        content_length: Option<u64>,
        body: S,
    ) -> Result<()>
    where
        S: Stream<Item = std::result::Result<Bytes, E>> + Unpin,
        E: Display,
    {
        let expected = match (range, content_length) {
            (Some(range), _) if range.start != session.size => {
                return Err(RegistryError::ChunkOutOfOrder(format!(
                    "the upload has {} bytes, the chunk starts at {}",
                    session.size, range.start
                )))
            }
            (Some(range), Some(length)) if range.len() != length => {
                return Err(RegistryError::BlobUploadInvalid(format!(
                    "Content-Range covers {} bytes, Content-Length says {length}",
                    range.len()
                )))
            }
            (Some(range), _) => Some(range.len()),
            (None, length) => length,
        };
        let limit = self
            .inner
            .limits
            .max_blob_bytes
            .saturating_sub(session.size);
        if expected.is_some_and(|n| n > limit) {
            return Err(RegistryError::TooLarge(format!(
                "blobs are limited to {} bytes",
                self.inner.limits.max_blob_bytes
            )));
        }
        let data = session.dir.join(DATA_FILE);
        let (written, hasher) = fsutil::append_stream(
            &data,
            session.size,
            session.hasher.clone(),
            body,
            limit,
            expected,
        )
        .await?;
        session.size += written;
        session.hasher = hasher;
        Ok(())
    }

    /// Ends an upload: appends the optional last chunk, checks the whole blob against
    /// `digest` (a mismatch discards the upload: nothing is stored), then fsyncs and
    /// renames it into the blob store and links it to the repository. Returns its size.
    pub async fn complete_upload<S, E>(
        &self,
        repository: &RepositoryName,
        id: &str,
        digest: &Digest,
        last_chunk: Option<(Option<ChunkRange>, Option<u64>, S)>,
    ) -> Result<u64>
    where
        S: Stream<Item = std::result::Result<Bytes, E>> + Unpin,
        E: Display,
    {
        let session_lock = self.session(repository, id)?;
        let mut session = session_lock.lock().await;
        if session.closed {
            return Err(RegistryError::BlobUploadUnknown);
        }
        if let Some((range, length, body)) = last_chunk {
            self.append_locked(&mut session, range, length, body)
                .await?;
        }
        let data = session.dir.join(DATA_FILE);
        let computed = match session.hasher.take() {
            Some(h) if h.algorithm() == digest.algorithm() => h.finish(),
            _ => fsutil::hash_file(data.clone(), digest.algorithm())
                .await
                .map_err(|e| RegistryError::io("hash upload", e))?,
        };
        if &computed != digest {
            session.closed = true;
            self.discard_session(id, &session.dir).await;
            return Err(RegistryError::DigestInvalid(format!(
                "the upload's content has digest {computed}, not {digest}"
            )));
        }
        fsutil::fsync(data.clone())
            .await
            .map_err(|e| RegistryError::io("fsync upload", e))?;
        let size = session.size;
        {
            let _reachable = self.inner.gc_lock.read().await;
            let blob = self.inner.paths.blob(digest);
            let link = self.inner.paths.layer_link(repository, digest);
            let dir = session.dir.clone();
            // The commit and the session's removal in one blocking task: a small
            // blob's push is mostly such file operations, and each hop costs more.
            fsutil::blocking(move || {
                fsutil::rename_into_place(&data, &blob)?;
                fsutil::touch_sync(&link)?;
                remove_session_dir(&dir);
                Ok(())
            })
            .await
            .map_err(|e| RegistryError::io("commit blob", e))?;
        }
        session.closed = true;
        self.inner.uploads.remove(id);
        Ok(size)
    }

    /// Cancels an upload and removes what it received.
    pub async fn cancel_upload(&self, repository: &RepositoryName, id: &str) -> Result<()> {
        let session_lock = self.session(repository, id)?;
        let mut session = session_lock.lock().await;
        if session.closed {
            return Err(RegistryError::BlobUploadUnknown);
        }
        session.closed = true;
        self.discard_session(id, &session.dir).await;
        Ok(())
    }

    /// A whole blob in one request (`POST …/uploads/?digest=`): a session of its own,
    /// so a crash midway leaves only an upload for gc, never a partial blob.
    pub async fn put_blob<S, E>(
        &self,
        repository: &RepositoryName,
        digest: &Digest,
        content_length: Option<u64>,
        body: S,
    ) -> Result<u64>
    where
        S: Stream<Item = std::result::Result<Bytes, E>> + Unpin,
        E: Display,
    {
        let id = self.start_upload(repository).await?;
        let result = self
            .complete_upload(repository, &id, digest, Some((None, content_length, body)))
            .await;
        if result.is_err() {
            // Already discarded on a digest mismatch; otherwise drop it now.
            let _ = self.cancel_upload(repository, &id).await;
        }
        result
    }

    pub(crate) async fn discard_session(&self, id: &str, dir: &Path) {
        self.inner.uploads.remove(id);
        let dir = dir.to_owned();
        let _ = fsutil::blocking(move || {
            remove_session_dir(&dir);
            Ok(())
        })
        .await;
    }
}

/// Removes a session's directory; a failure is left to gc.
fn remove_session_dir(dir: &Path) {
    if let Err(e) = std::fs::remove_dir_all(dir) {
        if e.kind() != std::io::ErrorKind::NotFound {
            tracing::warn!(error = %e, "could not remove an upload session; gc will");
        }
    }
}
