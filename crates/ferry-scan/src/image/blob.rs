//! Where a layer's bytes are and how to read them: a region of a file on disk (a
//! docker-archive member or an OCI blob), gzip/zstd/uncompressed, or a directory.

use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::path::PathBuf;

use super::ImageError;

/// How to get at one layer's content.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LayerData {
    /// `len` bytes at `offset` of `file`: a tar, possibly gzip- or zstd-compressed.
    Region {
        file: PathBuf,
        offset: u64,
        len: u64,
    },
    /// A directory tree (`--rootfs`).
    Dir(PathBuf),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

/// A bounded window of a file that can be read and seeked like a file of its own.
pub struct Region {
    file: File,
    start: u64,
    len: u64,
    pos: u64,
}

impl Region {
    pub fn open(file: &PathBuf, offset: u64, len: u64) -> Result<Region, ImageError> {
        let mut f = File::open(file).map_err(|e| ImageError::io(file, e))?;
        f.seek(SeekFrom::Start(offset))
            .map_err(|e| ImageError::io(file, e))?;
        Ok(Region {
            file: f,
            start: offset,
            len,
            pos: 0,
        })
    }
}

impl Read for Region {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.len.saturating_sub(self.pos);
        if left == 0 {
            return Ok(0);
        }
        let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        let n = self.file.read(&mut buf[..want])?;
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for Region {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let target = match to {
            SeekFrom::Start(n) => Some(n),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
            SeekFrom::End(d) => self.len.checked_add_signed(d),
        }
        .ok_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidInput, "seek before start of region")
        })?;
        self.file.seek(SeekFrom::Start(self.start + target))?;
        self.pos = target;
        Ok(target)
    }
}

/// Detects the compression of a stream from its first bytes.
pub fn sniff(head: &[u8]) -> Compression {
    if head.starts_with(&[0x1f, 0x8b]) {
        Compression::Gzip
    } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Compression::Zstd
    } else {
        Compression::None
    }
}

/// A layer opened for reading: either seekable (uncompressed on disk) or a stream.
pub enum LayerReader {
    Seekable(Region),
    Stream(Box<dyn Read>),
}

impl LayerData {
    /// Opens the layer's uncompressed tar.
    pub fn open(&self) -> Result<LayerReader, ImageError> {
        match self {
            LayerData::Region { file, offset, len } => {
                let mut region = Region::open(file, *offset, *len)?;
                let mut head = [0u8; 4];
                let n = read_up_to(&mut region, &mut head).map_err(|e| ImageError::io(file, e))?;
                region
                    .seek(SeekFrom::Start(0))
                    .map_err(|e| ImageError::io(file, e))?;
                match sniff(&head[..n]) {
                    Compression::None => Ok(LayerReader::Seekable(region)),
                    Compression::Gzip => Ok(LayerReader::Stream(Box::new(
                        flate2::read::MultiGzDecoder::new(BufReader::with_capacity(
                            256 * 1024,
                            region,
                        )),
                    ))),
                    Compression::Zstd => {
                        let decoder = ruzstd::decoding::StreamingDecoder::new(
                            BufReader::with_capacity(256 * 1024, region),
                        )
                        .map_err(|e| {
                            ImageError::format(
                                file.display().to_string(),
                                format!("zstd layer: {e}"),
                            )
                        })?;
                        Ok(LayerReader::Stream(Box::new(decoder)))
                    }
                }
            }
            LayerData::Dir(dir) => Err(ImageError::Unsupported(format!(
                "{} is a directory, not a tar layer",
                dir.display()
            ))),
        }
    }

    /// A name for messages.
    pub fn describe(&self) -> String {
        match self {
            LayerData::Region { file, offset, .. } if *offset == 0 => file.display().to_string(),
            LayerData::Region { file, offset, .. } => format!("{}@{offset}", file.display()),
            LayerData::Dir(dir) => dir.display().to_string(),
        }
    }
}

/// Reads until `buf` is full or the stream ends; returns the count.
pub fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match r.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}
