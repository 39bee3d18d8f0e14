//! File primitives: atomic replace (temp files, fsync, renames in order), streamed appends that
//! hash as they write and roll back on failure, file hashing, bounded reads and
//! listings that keep one page in memory whatever the directory's size.

use std::collections::BinaryHeap;
use std::fmt::Display;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use bytes::Bytes;
use futures_util::{Stream, StreamExt};

use crate::digest::{Algorithm, Digest, Hasher};
use crate::error::{RegistryError, Result};

/// Size of the buffered writes and reads on blob files.
pub(crate) const IO_BUFFER: usize = 256 * 1024;
/// Chunks in flight between a request body and the writer thread: with hyper's
/// bounded frames this caps an upload's memory at a few MiB whatever its size.
const CHANNEL_CHUNKS: usize = 16;

/// Runs blocking file work off the async workers.
pub(crate) async fn blocking<T, F>(f: F) -> io::Result<T>
where
    F: FnOnce() -> io::Result<T> + Send + 'static,
    T: Send + 'static,
{
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| io::Error::other(format!("blocking task failed: {e}")))?
}

/// Renames `from` to `to`, creating `to`'s parent directories when missing.
pub(crate) fn rename_into_place(from: &Path, to: &Path) -> io::Result<()> {
    match std::fs::rename(from, to) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            if let Some(parent) = to.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::rename(from, to)
        }
        other => other,
    }
}

/// Creates an empty marker file (and its parents); an existing one is kept.
pub(crate) fn touch_sync(path: &Path) -> io::Result<()> {
    let create = || {
        std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .map(drop)
    };
    match create() {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)?;
            }
            create()
        }
        other => other,
    }
}

/// Appends a request body to the file at `path`, whose current length is `start`,
/// hashing it with `hasher` when given. At most `limit` bytes are taken. On any
/// failure (the body breaks off, the limit is passed, a write fails) the file is cut
/// back to `start`, so the upload stays as it was before this request.
///
/// With `expected`, the body must have exactly that many bytes.
///
/// Returns the bytes appended and the advanced hasher.
pub(crate) async fn append_stream<S, E>(
    path: &Path,
    start: u64,
    hasher: Option<Hasher>,
    mut body: S,
    limit: u64,
    expected: Option<u64>,
) -> Result<(u64, Option<Hasher>)>
where
    S: Stream<Item = std::result::Result<Bytes, E>> + Unpin,
    E: Display,
{
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Bytes>(CHANNEL_CHUNKS);
    let write_path = path.to_owned();
    let writer = tokio::task::spawn_blocking(move || -> io::Result<Option<Hasher>> {
        let file = std::fs::OpenOptions::new().append(true).open(&write_path)?;
        let mut out = io::BufWriter::with_capacity(IO_BUFFER, file);
        let mut hasher = hasher;
        while let Some(chunk) = rx.blocking_recv() {
            if let Some(h) = hasher.as_mut() {
                h.update(&chunk);
            }
            out.write_all(&chunk)?;
        }
        out.flush()?;
        Ok(hasher)
    });

    let mut received: u64 = 0;
    let mut failure: Option<RegistryError> = None;
    while let Some(item) = body.next().await {
        match item {
            Ok(chunk) => {
                received += chunk.len() as u64;
                if received > limit {
                    failure = Some(RegistryError::TooLarge(format!(
                        "the blob would pass the limit of {limit} more bytes"
                    )));
                    break;
                }
                if tx.send(chunk).await.is_err() {
                    // The writer stopped: its error is reported below.
                    break;
                }
            }
            Err(e) => {
                failure = Some(RegistryError::Body(e.to_string()));
                break;
            }
        }
    }
    drop(tx);
    if failure.is_none() {
        if let Some(expected) = expected.filter(|e| *e != received) {
            failure = Some(RegistryError::SizeInvalid(format!(
                "the body has {received} bytes, the request said {expected}"
            )));
        }
    }
    let written = writer
        .await
        .map_err(|e| io::Error::other(format!("writer task failed: {e}")))
        .and_then(|r| r);
    let outcome = match (failure, written) {
        (None, Ok(hasher)) => return Ok((received, hasher)),
        (Some(failure), _) => failure,
        (None, Err(e)) => RegistryError::io(format!("write {}", path.display()), e),
    };
    let cut = path.to_owned();
    if let Err(e) = blocking(move || {
        std::fs::OpenOptions::new()
            .write(true)
            .open(&cut)?
            .set_len(start)
    })
    .await
    {
        tracing::warn!(path = %path.display(), error = %e, "could not roll an upload back");
    }
    Err(outcome)
}

/// Hashes a whole file, streamed.
pub(crate) async fn hash_file(path: PathBuf, algorithm: Algorithm) -> io::Result<Digest> {
    blocking(move || {
        let mut file = std::fs::File::open(&path)?;
        let mut hasher = algorithm.hasher();
        let mut buf = vec![0u8; IO_BUFFER];
        loop {
            let n = file.read(&mut buf)?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
        }
        Ok(hasher.finish())
    })
    .await
}

/// Flushes a file's content to disk.
pub(crate) async fn fsync(path: PathBuf) -> io::Result<()> {
    blocking(move || std::fs::File::open(&path)?.sync_all()).await
}

/// Reads a file of at most `max` bytes; None when it does not exist. A larger file
/// is an error, never a large allocation.
pub(crate) async fn read_bounded(path: PathBuf, max: usize) -> io::Result<Option<Vec<u8>>> {
    blocking(move || read_bounded_sync(&path, max)).await
}

/// [`read_bounded`] on the calling thread, for blocking code that does several file
/// operations in one hop.
pub(crate) fn read_bounded_sync(path: &Path, max: usize) -> io::Result<Option<Vec<u8>>> {
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    // Sized from the file's length (within the bound), so a small file is one read
    // instead of a doubling series starting at 32 bytes.
    let hint = file.metadata().map_or(0, |m| m.len()).min(max as u64) as usize;
    let mut bytes = Vec::with_capacity(hint.saturating_add(1));
    file.take(max as u64 + 1).read_to_end(&mut bytes)?;
    if bytes.len() > max {
        return Err(io::Error::other(format!(
            "{} is larger than {max} bytes",
            path.display()
        )));
    }
    Ok(Some(bytes))
}

/// Writes each `(dest, bytes)` so that readers see the old file or the whole new
/// one, never a part: a temp file in `tmp_dir`, fsynced, renamed over `dest`. All
/// temp files are written and fsynced before the first rename, and the renames
/// happen in the given order (content before the links that name it), so each
/// rename installs a complete, durable file. Stops at the first failure, removing
/// the temp files left.
pub(crate) fn write_all_atomic_sync(tmp_dir: &Path, files: &[(PathBuf, &[u8])]) -> io::Result<()> {
    let mut temps: Vec<PathBuf> = Vec::with_capacity(files.len());
    let result = (|| {
        for (_, bytes) in files {
            let tmp = tmp_dir.join(uuid::Uuid::new_v4().simple().to_string());
            temps.push(tmp.clone());
            let mut file = std::fs::File::create(&tmp)?;
            file.write_all(bytes)?;
            file.sync_all()?;
        }
        for (tmp, (dest, _)) in temps.iter().zip(files) {
            rename_into_place(tmp, dest)?;
        }
        Ok(())
    })();
    if result.is_err() {
        for tmp in &temps {
            let _ = std::fs::remove_file(tmp);
        }
    }
    result
}

pub(crate) async fn exists(path: &Path) -> io::Result<bool> {
    tokio::fs::try_exists(path).await
}

/// Removes a file; a missing one is not an error.
pub(crate) async fn remove_file_if_exists(path: &Path) -> io::Result<bool> {
    match tokio::fs::remove_file(path).await {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

/// The `n` smallest names after `last` (exclusive) in byte order, and whether more
/// follow, keeping at most `n + 1` names in memory.
pub(crate) fn page_of<I: IntoIterator<Item = String>>(
    names: I,
    last: Option<&str>,
    n: usize,
) -> (Vec<String>, bool) {
    let mut heap: BinaryHeap<String> = BinaryHeap::with_capacity(n.saturating_add(1).min(4096));
    for name in names {
        if last.is_some_and(|last| name.as_str() <= last) {
            continue;
        }
        if heap.len() <= n {
            heap.push(name);
        } else if heap.peek().is_some_and(|top| name < *top) {
            heap.pop();
            heap.push(name);
        }
    }
    let mut items = heap.into_sorted_vec();
    let more = items.len() > n;
    items.truncate(n);
    (items, more)
}

/// The names in a directory (empty when it does not exist), as UTF-8 strings; others
/// are skipped (the store never writes them).
pub(crate) fn dir_names(dir: &Path) -> io::Result<impl Iterator<Item = String>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => Some(entries),
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => return Err(e),
    };
    Ok(entries
        .into_iter()
        .flatten()
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_are_bounded_and_sorted() {
        let names: Vec<String> = ["d", "a", "c", "b", "e"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(
            page_of(names.clone(), None, 2),
            (vec!["a".into(), "b".into()], true)
        );
        assert_eq!(
            page_of(names.clone(), Some("b"), 2),
            (vec!["c".into(), "d".into()], true)
        );
        assert_eq!(
            page_of(names.clone(), Some("c"), 5),
            (vec!["d".into(), "e".into()], false)
        );
        assert_eq!(page_of(names.clone(), None, 0), (vec![], true));
        assert_eq!(page_of(Vec::new(), None, 3), (vec![], false));
    }
}
