//! The merged filesystem view of an image: layers applied in order with OCI whiteouts
//! resolved, kept as an index (path → layer, tar position, metadata). File contents are
//! read on demand from the layer, bounded, and nothing is ever written to disk.
//!
//! Symlinks are resolved inside the image root the way a container sees them: an
//! absolute target starts at the image root and `..` stops at the root. A relative
//! target that climbs above the root, a member name with `..` escaping the root and a
//! hard link to a missing target are reported as warnings and never followed outside.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::io::Read;
use std::path::{Path, PathBuf};

use super::blob::{LayerData, LayerReader};
use super::layer_tar::{collect_entries, read_seekable, stream_pass, Pending, PendingKind};
use super::path::{self, normalize_entry};
use super::{Image, ImageError, Layer};

/// Default cap on one file read (package databases are far smaller).
pub const DEFAULT_MAX_READ: u64 = 64 * 1024 * 1024;
/// Most warnings kept per image; the rest are counted.
const MAX_WARNINGS: usize = 200;
/// Symlink hops before giving up, as Linux's ELOOP.
const MAX_SYMLINK_HOPS: usize = 40;

/// Limits for building and reading the view.
#[derive(Clone, Debug)]
pub struct FsOptions {
    /// Largest file [`ImageFs::read`] returns; bigger ones fail with `TooLarge`.
    pub max_read: u64,
    /// Most paths indexed; a layer with more stops indexing with a warning (a tar of
    /// millions of empty entries must not exhaust memory).
    pub max_entries: usize,
}

impl Default for FsOptions {
    fn default() -> Self {
        FsOptions {
            max_read: DEFAULT_MAX_READ,
            max_entries: 5_000_000,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NodeKind {
    File,
    Dir,
    /// A symlink and its target as stored.
    Symlink(String),
    /// Devices, fifos, sockets.
    Other,
}

/// One path in the merged view.
#[derive(Clone, Debug)]
pub struct Node {
    pub kind: NodeKind,
    /// Size in bytes (the expanded size for sparse entries).
    pub size: u64,
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    /// Index of the layer that last wrote this path (the one whose content is seen).
    pub layer: usize,
    data: DataRef,
}

#[derive(Clone, Copy, Debug)]
enum DataRef {
    None,
    /// A tar member of layer `layer`; a hard link points at its target's member.
    Tar {
        layer: usize,
        header_pos: u64,
        file_pos: u64,
        sparse: bool,
    },
    /// A file in a `--rootfs` directory, read from the layer's root by its path.
    Disk {
        layer: usize,
    },
}

/// The merged, read-only view of an image.
pub struct ImageFs {
    image: Image,
    nodes: BTreeMap<String, Node>,
    warnings: Vec<String>,
    dropped_warnings: usize,
    options: FsOptions,
}

impl ImageFs {
    /// Indexes every layer of `image` in order.
    pub fn open(image: Image, options: FsOptions) -> Result<ImageFs, ImageError> {
        let mut fs = ImageFs {
            nodes: BTreeMap::new(),
            warnings: Vec::new(),
            dropped_warnings: 0,
            options,
            image,
        };
        for w in std::mem::take(&mut fs.image.warnings) {
            fs.warn(w);
        }
        for index in 0..fs.image.data.len() {
            let data = fs.image.data[index].clone();
            match &data {
                LayerData::Dir(root) => fs.index_dir(index, root),
                LayerData::Region { .. } => {
                    let pending = fs.collect_layer(index, &data)?;
                    fs.apply_layer(index, pending);
                }
            }
        }
        if fs.dropped_warnings > 0 {
            let n = fs.dropped_warnings;
            fs.warnings.push(format!("… and {n} more warnings"));
        }
        Ok(fs)
    }

    /// Opens an image and its view in one step, with default limits.
    pub fn from_image(image: Image) -> Result<ImageFs, ImageError> {
        ImageFs::open(image, FsOptions::default())
    }

    pub fn image(&self) -> &Image {
        &self.image
    }

    /// Gives the image back (its scratch directory lives as long as it does).
    pub fn into_image(self) -> Image {
        self.image
    }

    /// Everything suspicious met while indexing: escapes, missing link targets, tar
    /// errors, entries over the limits.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    pub fn options(&self) -> &FsOptions {
        &self.options
    }

    fn warn(&mut self, message: String) {
        if self.warnings.len() < MAX_WARNINGS {
            tracing::debug!(%message, "image warning");
            self.warnings.push(message);
        } else {
            self.dropped_warnings += 1;
        }
    }

    fn layer_name(&self, index: usize) -> String {
        match self.image.layers.get(index) {
            Some(l) if !l.digest.is_empty() => {
                format!("layer {} ({})", index + 1, short(&l.digest))
            }
            _ => format!("layer {}", index + 1),
        }
    }

    /// Reads one layer's tar headers (skipping contents) into pending entries.
    fn collect_layer(
        &mut self,
        index: usize,
        data: &LayerData,
    ) -> Result<Vec<Pending>, ImageError> {
        let reader = data.open()?;
        let mut pending = Vec::new();
        let mut problems = Vec::new();
        match reader {
            LayerReader::Seekable(region) => {
                let mut archive = tar::Archive::new(region);
                match archive.entries_with_seek() {
                    Ok(entries) => collect_entries(
                        entries,
                        &mut pending,
                        &mut problems,
                        self.options.max_entries,
                    ),
                    Err(e) => problems.push(format!("not a tar: {e}")),
                }
            }
            LayerReader::Stream(stream) => {
                let mut archive = tar::Archive::new(stream);
                match archive.entries() {
                    Ok(entries) => collect_entries(
                        entries,
                        &mut pending,
                        &mut problems,
                        self.options.max_entries,
                    ),
                    Err(e) => problems.push(format!("not a tar: {e}")),
                }
            }
        }
        let name = self.layer_name(index);
        for p in problems {
            self.warn(format!("{name}: {p}"));
        }
        Ok(pending)
    }

    /// Applies one layer: whiteouts and opaque markers hide lower layers, then the
    /// layer's own entries are added in archive order.
    fn apply_layer(&mut self, index: usize, pending: Vec<Pending>) {
        for p in &pending {
            match p.what {
                PendingKind::Opaque => self.remove_descendants(&p.path),
                PendingKind::Whiteout => {
                    self.nodes.remove(&p.path);
                    self.remove_descendants(&p.path);
                }
                _ => {}
            }
        }
        let name = self.layer_name(index);
        for p in pending {
            let (kind, data, size) = match p.what {
                PendingKind::Whiteout | PendingKind::Opaque => continue,
                PendingKind::Node(NodeKind::File) => (
                    NodeKind::File,
                    DataRef::Tar {
                        layer: index,
                        header_pos: p.header_pos,
                        file_pos: p.file_pos,
                        sparse: p.sparse,
                    },
                    p.size,
                ),
                PendingKind::Node(NodeKind::Symlink(target)) => {
                    if path::relative_target_escapes(&p.path, &target) {
                        self.warn(format!(
                            "{name}: symlink {} -> {target} points outside the image root; resolved inside the root, never followed out",
                            p.path
                        ));
                    }
                    (NodeKind::Symlink(target), DataRef::None, 0)
                }
                PendingKind::Node(kind) => (kind, DataRef::None, 0),
                PendingKind::HardLink(target) => match normalize_entry(&target) {
                    Err(why) => {
                        self.warn(format!(
                            "{name}: hard link {} -> {target}: target {why}; ignored",
                            p.path
                        ));
                        continue;
                    }
                    Ok(t) => match self.nodes.get(&t) {
                        Some(n) if n.kind == NodeKind::File => (NodeKind::File, n.data, n.size),
                        _ => {
                            self.warn(format!(
                                "{name}: hard link {} -> {target}: target missing; ignored",
                                p.path
                            ));
                            continue;
                        }
                    },
                },
            };
            if kind != NodeKind::Dir {
                // A non-directory hides whatever a lower layer had below that path,
                // even children whose directory had no entry of its own.
                self.remove_descendants(&p.path);
            }
            if self.nodes.len() >= self.options.max_entries && !self.nodes.contains_key(&p.path) {
                let max = self.options.max_entries;
                self.warn(format!(
                    "{name}: more than {max} paths; the rest are not indexed"
                ));
                break;
            }
            self.nodes.insert(
                p.path,
                Node {
                    kind,
                    size,
                    mode: p.mode,
                    uid: p.uid,
                    gid: p.gid,
                    layer: index,
                    data,
                },
            );
        }
    }

    fn remove_descendants(&mut self, dir: &str) {
        let prefix = path::subtree_prefix(dir);
        let doomed: Vec<String> = self
            .nodes
            .range(prefix.clone()..)
            .take_while(|(k, _)| k.starts_with(&prefix))
            .map(|(k, _)| k.clone())
            .collect();
        for k in doomed {
            self.nodes.remove(&k);
        }
    }

    /// Indexes a directory tree without following any symlink.
    fn index_dir(&mut self, index: usize, root: &Path) {
        use std::os::unix::fs::MetadataExt;
        let mut stack: Vec<(PathBuf, String)> = vec![(root.to_path_buf(), "/".to_string())];
        while let Some((host_dir, image_dir)) = stack.pop() {
            let entries = match std::fs::read_dir(&host_dir) {
                Ok(e) => e,
                Err(e) => {
                    self.warn(format!("{}: {e}", host_dir.display()));
                    continue;
                }
            };
            for entry in entries {
                let entry = match entry {
                    Ok(e) => e,
                    Err(e) => {
                        self.warn(format!("{}: {e}", host_dir.display()));
                        continue;
                    }
                };
                let name = entry.file_name().to_string_lossy().into_owned();
                let host_path = entry.path();
                let image_path = path::child(&image_dir, &name);
                let meta = match std::fs::symlink_metadata(&host_path) {
                    Ok(m) => m,
                    Err(e) => {
                        self.warn(format!("{}: {e}", host_path.display()));
                        continue;
                    }
                };
                let ft = meta.file_type();
                let kind = if ft.is_dir() {
                    stack.push((host_path.clone(), image_path.clone()));
                    NodeKind::Dir
                } else if ft.is_symlink() {
                    let target = std::fs::read_link(&host_path)
                        .map(|t| t.to_string_lossy().into_owned())
                        .unwrap_or_default();
                    if path::relative_target_escapes(&image_path, &target) {
                        self.warn(format!(
                            "symlink {image_path} -> {target} points outside the root; resolved inside the root, never followed out"
                        ));
                    }
                    NodeKind::Symlink(target)
                } else if ft.is_file() {
                    NodeKind::File
                } else {
                    NodeKind::Other
                };
                if self.nodes.len() >= self.options.max_entries {
                    let max = self.options.max_entries;
                    self.warn(format!(
                        "{}: more than {max} paths; the rest are not indexed",
                        root.display()
                    ));
                    return;
                }
                let data = if kind == NodeKind::File {
                    DataRef::Disk { layer: index }
                } else {
                    DataRef::None
                };
                self.nodes.insert(
                    image_path,
                    Node {
                        size: if kind == NodeKind::File {
                            meta.len()
                        } else {
                            0
                        },
                        kind,
                        mode: meta.mode() & 0o7777,
                        uid: u64::from(meta.uid()),
                        gid: u64::from(meta.gid()),
                        layer: index,
                        data,
                    },
                );
            }
        }
    }

    /// All paths of the merged view in sorted order, without following symlinks.
    pub fn entries(&self) -> impl Iterator<Item = (&str, &Node)> {
        self.nodes.iter().map(|(k, v)| (k.as_str(), v))
    }

    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// The node at exactly `path` (no symlink following, like `lstat`).
    pub fn get(&self, path: &str) -> Option<&Node> {
        let p = normalize_entry(path).ok()?;
        self.nodes.get(&p)
    }

    /// Paths under `dir` (after resolving symlinks in `dir`), all depths, sorted.
    pub fn walk<'a>(&'a self, dir: &str) -> impl Iterator<Item = (&'a str, &'a Node)> + 'a {
        let prefix = self
            .resolve(dir)
            .map(|d| path::subtree_prefix(&d))
            .unwrap_or_else(|_| "\0".to_string());
        self.nodes
            .range(prefix.clone()..)
            .take_while(move |(k, _)| k.starts_with(&prefix))
            .map(|(k, v)| (k.as_str(), v))
    }

    /// Direct children of `dir`.
    pub fn read_dir<'a>(&'a self, dir: &str) -> impl Iterator<Item = (&'a str, &'a Node)> + 'a {
        let prefix_len = self
            .resolve(dir)
            .map(|d| path::subtree_prefix(&d).len())
            .unwrap_or(0);
        self.walk(dir)
            .filter(move |(k, _)| !k[prefix_len.min(k.len())..].contains('/'))
    }

    /// Resolves every symlink in `path` inside the image root; returns the real path.
    pub fn resolve(&self, path: &str) -> Result<String, ImageError> {
        let mut resolved: Vec<String> = Vec::new();
        let mut pending: VecDeque<String> = components(path).collect();
        let mut hops = 0;
        while let Some(part) = pending.pop_front() {
            if part == ".." {
                resolved.pop();
                continue;
            }
            resolved.push(part);
            let current = path::join(&resolved.iter().map(String::as_str).collect::<Vec<_>>());
            if let Some(Node {
                kind: NodeKind::Symlink(target),
                ..
            }) = self.nodes.get(&current)
            {
                hops += 1;
                if hops > MAX_SYMLINK_HOPS {
                    return Err(ImageError::Path {
                        path: path.to_string(),
                        message: "too many levels of symbolic links".into(),
                    });
                }
                resolved.pop();
                if target.starts_with('/') {
                    resolved.clear();
                }
                for (i, c) in components(target).enumerate() {
                    pending.insert(i, c);
                }
            }
        }
        Ok(path::join(
            &resolved.iter().map(String::as_str).collect::<Vec<_>>(),
        ))
    }

    /// Follows symlinks and returns the real path and its node.
    pub fn stat(&self, path: &str) -> Option<(String, &Node)> {
        let real = self.resolve(path).ok()?;
        let node = self.nodes.get(&real)?;
        Some((real, node))
    }

    /// The layer that introduced the content seen at `path`.
    pub fn layer_of(&self, path: &str) -> Option<&Layer> {
        let (_, node) = self.stat(path)?;
        self.image.layers.get(node.layer)
    }

    /// Reads a whole file (following symlinks) up to the view's `max_read`.
    pub fn read(&self, path: &str) -> Result<Vec<u8>, ImageError> {
        self.read_limited(path, self.options.max_read)
    }

    /// Reads a whole file, failing with `TooLarge` over `limit` bytes.
    pub fn read_limited(&self, path: &str, limit: u64) -> Result<Vec<u8>, ImageError> {
        let mut out = None;
        let mut errors = self.visit(&[path], limit, &mut |_, r| {
            let mut buf = Vec::new();
            out = Some(r.read_to_end(&mut buf).map(|_| buf));
        });
        if let Some(e) = errors.pop() {
            return Err(e);
        }
        match out {
            Some(Ok(buf)) => Ok(buf),
            Some(Err(e)) => Err(ImageError::io(path, e)),
            None => Err(ImageError::NotFound {
                path: path.to_string(),
            }),
        }
    }

    /// Reads a file as UTF-8 text (lossy), bounded like [`ImageFs::read`].
    pub fn read_string(&self, path: &str) -> Result<String, ImageError> {
        self.read(path).map(|b| {
            String::from_utf8(b)
                .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
        })
    }

    /// Streams several files to `f` (path as asked, reader over the content), reading
    /// each compressed layer once for all of them. Files over `limit` bytes, missing
    /// paths and non-files come back as errors and are not passed to `f`.
    pub fn visit(
        &self,
        paths: &[&str],
        limit: u64,
        f: &mut dyn FnMut(&str, &mut dyn Read),
    ) -> Vec<ImageError> {
        let mut errors = Vec::new();
        // layer → header position → asked paths, for streamed (compressed) layers.
        let mut streamed: BTreeMap<usize, HashMap<u64, Vec<&str>>> = BTreeMap::new();
        for &asked in paths {
            let node = match self.resolve(asked).map(|real| self.nodes.get(&real)) {
                Ok(Some(n)) => n,
                Ok(None) => {
                    errors.push(ImageError::NotFound {
                        path: asked.to_string(),
                    });
                    continue;
                }
                Err(e) => {
                    errors.push(e);
                    continue;
                }
            };
            if node.kind != NodeKind::File {
                errors.push(ImageError::Path {
                    path: asked.to_string(),
                    message: "not a regular file".into(),
                });
                continue;
            }
            if node.size > limit {
                errors.push(ImageError::TooLarge {
                    path: asked.to_string(),
                    size: node.size,
                    limit,
                });
                continue;
            }
            match node.data {
                DataRef::None => errors.push(ImageError::NotFound {
                    path: asked.to_string(),
                }),
                DataRef::Disk { layer } => {
                    if let Err(e) = self.read_disk(layer, asked, limit, f) {
                        errors.push(e);
                    }
                }
                DataRef::Tar {
                    layer,
                    header_pos,
                    file_pos,
                    sparse,
                } => match self.image.data[layer].open() {
                    Err(e) => errors.push(e),
                    Ok(LayerReader::Seekable(mut region)) => {
                        if let Err(e) = read_seekable(
                            &mut region,
                            header_pos,
                            file_pos,
                            sparse,
                            node.size,
                            limit,
                            asked,
                            f,
                        ) {
                            errors.push(ImageError::io(asked, e));
                        }
                    }
                    Ok(LayerReader::Stream(_)) => {
                        streamed
                            .entry(layer)
                            .or_default()
                            .entry(header_pos)
                            .or_default()
                            .push(asked);
                    }
                },
            }
        }
        for (layer, mut wanted) in streamed {
            let result = self.image.data[layer]
                .open()
                .and_then(|reader| match reader {
                    LayerReader::Stream(stream) => stream_pass(stream, &mut wanted, limit, f)
                        .map_err(|e| ImageError::io(self.image.data[layer].describe(), e)),
                    LayerReader::Seekable(_) => Ok(()),
                });
            if let Err(e) = result {
                errors.push(e);
            }
            for asked in wanted.into_values().flatten() {
                errors.push(ImageError::NotFound {
                    path: asked.to_string(),
                });
            }
        }
        errors
    }

    fn read_disk(
        &self,
        layer: usize,
        asked: &str,
        limit: u64,
        f: &mut dyn FnMut(&str, &mut dyn Read),
    ) -> Result<(), ImageError> {
        let LayerData::Dir(root) = &self.image.data[layer] else {
            return Err(ImageError::NotFound {
                path: asked.to_string(),
            });
        };
        let real = self.resolve(asked)?;
        let host = root.join(real.trim_start_matches('/'));
        // The index holds no symlink on this path; refuse one that appeared since.
        let meta = std::fs::symlink_metadata(&host).map_err(|e| ImageError::io(&host, e))?;
        if !meta.file_type().is_file() {
            return Err(ImageError::Path {
                path: asked.to_string(),
                message: "changed on disk since indexing; not read".into(),
            });
        }
        let file = std::fs::File::open(&host).map_err(|e| ImageError::io(&host, e))?;
        f(asked, &mut file.take(limit));
        Ok(())
    }
}

fn components(path: &str) -> impl Iterator<Item = String> + '_ {
    path.split('/')
        .filter(|c| !c.is_empty() && *c != ".")
        .map(str::to_string)
}

fn short(digest: &str) -> &str {
    let hex = digest.split_once(':').map(|(_, h)| h).unwrap_or(digest);
    &hex[..hex.len().min(12)]
}
