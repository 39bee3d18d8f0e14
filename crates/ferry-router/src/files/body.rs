//! A file streamed as a response body: one bounded chunk at a time, each read on the
//! blocking pool (`pread`, so no shared file position), so a large file costs one
//! chunk of memory per response and never blocks a router thread.

use bytes::Bytes;
use std::fs::File;
use std::future::Future;
use std::os::unix::fs::FileExt;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tokio::task::JoinHandle;

/// Bytes read per chunk.
pub(crate) const CHUNK: u64 = 128 * 1024;

/// The rest of a file's byte range, read as the client takes it.
#[derive(Debug)]
pub struct FileBody {
    file: Arc<File>,
    /// Read before the body was made (a small file, or a range's start), sent first.
    first: Option<Bytes>,
    offset: u64,
    remaining: u64,
    reading: Option<JoinHandle<std::io::Result<Bytes>>>,
}

impl FileBody {
    /// `first` holds the range's first bytes already read; `offset..offset+remaining`
    /// is what is left to read after it.
    pub(crate) fn new(file: File, first: Option<Bytes>, offset: u64, remaining: u64) -> Self {
        Self {
            file: Arc::new(file),
            first: first.filter(|b| !b.is_empty()),
            offset,
            remaining,
            reading: None,
        }
    }

    /// Bytes this body will still yield.
    pub(crate) fn len(&self) -> u64 {
        self.remaining + self.first.as_ref().map_or(0, |b| b.len() as u64)
    }

    pub(crate) fn poll_chunk(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<std::io::Result<Bytes>>> {
        if let Some(first) = self.first.take() {
            return Poll::Ready(Some(Ok(first)));
        }
        if self.remaining == 0 {
            return Poll::Ready(None);
        }
        let reading = self.reading.get_or_insert_with(|| {
            let file = Arc::clone(&self.file);
            let (offset, len) = (self.offset, self.remaining.min(CHUNK));
            tokio::task::spawn_blocking(move || read_at(&file, offset, len))
        });
        let result = match Pin::new(reading).poll(cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(result) => result,
        };
        self.reading = None;
        let chunk = match result {
            Ok(Ok(chunk)) => chunk,
            Ok(Err(err)) => return self.fail(err),
            Err(join) => return self.fail(std::io::Error::other(join)),
        };
        self.offset += chunk.len() as u64;
        self.remaining -= chunk.len() as u64;
        Poll::Ready(Some(Ok(chunk)))
    }

    fn fail(&mut self, err: std::io::Error) -> Poll<Option<std::io::Result<Bytes>>> {
        self.remaining = 0;
        Poll::Ready(Some(Err(err)))
    }
}

/// Reads exactly `len` bytes at `offset` (at most [`CHUNK`]); a file that got shorter
/// than its metadata said is an error, never a short body with the promised length.
pub(crate) fn read_at(file: &File, offset: u64, len: u64) -> std::io::Result<Bytes> {
    let len = usize::try_from(len.min(CHUNK)).unwrap_or(0);
    let mut buffer = vec![0u8; len];
    file.read_exact_at(&mut buffer, offset)?;
    Ok(Bytes::from(buffer))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[tokio::test]
    async fn streams_a_range_in_bounded_chunks() {
        let mut tmp = tempfile::tempfile().unwrap();
        let data: Vec<u8> = (0..(3 * CHUNK + 10)).map(|i| (i % 251) as u8).collect();
        tmp.write_all(&data).unwrap();
        let (start, end) = (5u64, 3 * CHUNK + 2);
        let mut body = FileBody::new(tmp, None, start, end - start);
        assert_eq!(body.len(), end - start);
        let mut got = Vec::new();
        while let Some(chunk) = std::future::poll_fn(|cx| body.poll_chunk(cx)).await {
            let chunk = chunk.unwrap();
            assert!(chunk.len() as u64 <= CHUNK);
            got.extend_from_slice(&chunk);
        }
        assert_eq!(got, &data[start as usize..end as usize]);
    }

    #[tokio::test]
    async fn a_file_shorter_than_promised_is_an_error() {
        let mut tmp = tempfile::tempfile().unwrap();
        tmp.write_all(b"short").unwrap();
        let mut body = FileBody::new(tmp, Some(Bytes::from_static(b"x")), 0, 100);
        let first = std::future::poll_fn(|cx| body.poll_chunk(cx)).await;
        assert_eq!(first.unwrap().unwrap(), "x");
        let second = std::future::poll_fn(|cx| body.poll_chunk(cx)).await;
        assert!(second.unwrap().is_err());
        assert!(std::future::poll_fn(|cx| body.poll_chunk(cx))
            .await
            .is_none());
    }
}
