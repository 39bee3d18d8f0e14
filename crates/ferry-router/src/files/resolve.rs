//! Finding a request's file inside a site's root without ever leaving it: the path is
//! opened relative to the root's descriptor with `openat2(RESOLVE_BENEATH)`, so the
//! kernel refuses any `..` or symlink (absolute or relative) that would resolve outside
//! the root, in the same system call that opens the file — nothing can change between a
//! check and the open. Kernels without `openat2` (before 5.6, or a seccomp profile
//! refusing it) get `realpath` and a prefix check on the result; revision files never
//! change, so that check cannot race with the site.

use nix::errno::Errno;
use nix::fcntl::{OFlag, OpenHow, ResolveFlag};
use std::fs::{File, Metadata};
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use super::path::SitePath;

/// Set once `openat2` answered ENOSYS: the fallback is used from then on.
static NO_OPENAT2: AtomicBool = AtomicBool::new(false);

/// A regular file found for a request: open, with its metadata and the name its
/// content type comes from.
#[derive(Debug)]
pub(crate) struct OpenFile {
    pub file: File,
    pub meta: Metadata,
    pub name: String,
}

/// What a request path names.
#[derive(Debug)]
pub(crate) enum Found {
    /// A regular file, open for reading.
    File(Box<OpenFile>),
    /// A directory asked for without its trailing slash.
    Directory,
    Missing,
    /// The file exists but ferry may not read it (permissions).
    Forbidden,
    /// Out of file descriptors or memory: a 503, not the site's fault.
    Exhausted,
}

/// Looks `path` up under the root (`root_fd` is the root's descriptor, `root` its
/// canonical path). Blocking.
pub(crate) fn find(root_fd: &OwnedFd, root: &Path, path: &SitePath) -> Found {
    let relative: PathBuf = if path.segments.is_empty() {
        PathBuf::from(".")
    } else {
        path.segments.iter().collect()
    };
    let file = match open_beneath(root_fd, root, &relative) {
        Ok(file) => file,
        Err(found) => return found,
    };
    let meta = match file.metadata() {
        Ok(meta) => meta,
        Err(err) => return from_io(&err),
    };
    if meta.is_dir() {
        if !path.dir {
            return Found::Directory;
        }
        let index = relative.join("index.html");
        let file = match open_beneath(root_fd, root, &index) {
            Ok(file) => file,
            Err(found) => return found,
        };
        return regular(file, "index.html".to_string());
    }
    if path.dir {
        // `/page.html/`: a file is not a directory.
        return Found::Missing;
    }
    let name = path.segments.last().cloned().unwrap_or_default();
    if meta.is_file() {
        Found::File(Box::new(OpenFile { file, meta, name }))
    } else {
        // FIFOs, sockets, devices: never content.
        Found::Missing
    }
}

fn regular(file: File, name: String) -> Found {
    match file.metadata() {
        Ok(meta) if meta.is_file() => Found::File(Box::new(OpenFile { file, meta, name })),
        Ok(_) => Found::Missing,
        Err(err) => from_io(&err),
    }
}

/// Opens `relative` under the root, read-only. Non-blocking, so a FIFO in the site
/// cannot hang the open (it is refused later as not a regular file).
fn open_beneath(root_fd: &OwnedFd, root: &Path, relative: &Path) -> Result<File, Found> {
    let flags = OFlag::O_RDONLY | OFlag::O_CLOEXEC | OFlag::O_NONBLOCK | OFlag::O_NOCTTY;
    if !NO_OPENAT2.load(Ordering::Relaxed) {
        let how = OpenHow::new()
            .flags(flags)
            .resolve(ResolveFlag::RESOLVE_BENEATH | ResolveFlag::RESOLVE_NO_MAGICLINKS);
        match nix::fcntl::openat2(root_fd.as_fd(), relative, how) {
            Ok(fd) => return Ok(File::from(fd)),
            Err(Errno::ENOSYS) => NO_OPENAT2.store(true, Ordering::Relaxed),
            Err(errno) => return Err(from_errno(errno)),
        }
    }
    open_checked(root, relative)
}

/// The fallback: resolve every symlink, then refuse what resolved outside the root.
fn open_checked(root: &Path, relative: &Path) -> Result<File, Found> {
    let real = std::fs::canonicalize(root.join(relative)).map_err(|err| from_io(&err))?;
    if !real.starts_with(root) {
        return Err(Found::Missing);
    }
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags((OFlag::O_NONBLOCK | OFlag::O_NOFOLLOW | OFlag::O_NOCTTY).bits())
        .open(&real)
        .map_err(|err| from_io(&err))
}

fn from_io(err: &std::io::Error) -> Found {
    match err.raw_os_error() {
        Some(code) => from_errno(Errno::from_raw(code)),
        None => Found::Missing,
    }
}

fn from_errno(errno: Errno) -> Found {
    match errno {
        Errno::EACCES | Errno::EPERM => Found::Forbidden,
        Errno::EMFILE | Errno::ENFILE | Errno::ENOMEM | Errno::ENOBUFS => Found::Exhausted,
        // ENOENT, ENOTDIR, ELOOP, EXDEV (a path that would leave the root), …
        _ => Found::Missing,
    }
}

/// Opens a site's root: its canonical path and a descriptor to resolve under.
pub(crate) fn open_root(root: &Path) -> std::io::Result<(PathBuf, OwnedFd)> {
    let canonical = std::fs::canonicalize(root)?;
    let fd = nix::fcntl::open(
        &canonical,
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .map_err(std::io::Error::from)?;
    Ok((canonical, fd))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::files::path::parse;

    fn site() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("public");
        std::fs::create_dir_all(root.join("docs")).unwrap();
        std::fs::write(root.join("index.html"), "home").unwrap();
        std::fs::write(root.join("docs/index.html"), "docs").unwrap();
        std::fs::write(dir.path().join("secret.txt"), "outside").unwrap();
        std::os::unix::fs::symlink("/etc/passwd", root.join("passwd")).unwrap();
        std::os::unix::fs::symlink("../secret.txt", root.join("up.txt")).unwrap();
        std::os::unix::fs::symlink("/etc", root.join("etc")).unwrap();
        std::os::unix::fs::symlink("docs/index.html", root.join("alias.html")).unwrap();
        nix::unistd::mkfifo(&root.join("pipe"), nix::sys::stat::Mode::S_IRWXU).unwrap();
        dir
    }

    fn look(dir: &tempfile::TempDir, path: &str) -> Found {
        let (root, fd) = open_root(&dir.path().join("public")).unwrap();
        find(&fd, &root, &parse(path).unwrap())
    }

    fn content(found: Found) -> String {
        match found {
            Found::File(mut open) => {
                let file = &mut open.file;
                let mut text = String::new();
                std::io::Read::read_to_string(file, &mut text).unwrap();
                text
            }
            other => panic!("not a file: {other:?}"),
        }
    }

    fn both_resolvers(check: impl Fn()) {
        check();
        NO_OPENAT2.store(true, Ordering::Relaxed);
        check();
        NO_OPENAT2.store(false, Ordering::Relaxed);
    }

    #[test]
    fn files_and_index_files() {
        let dir = site();
        both_resolvers(|| {
            assert_eq!(content(look(&dir, "/")), "home");
            assert_eq!(content(look(&dir, "/docs/")), "docs");
            assert_eq!(content(look(&dir, "/alias.html")), "docs");
            assert!(matches!(look(&dir, "/docs"), Found::Directory));
            assert!(matches!(look(&dir, "/index.html/"), Found::Missing));
            assert!(matches!(look(&dir, "/missing"), Found::Missing));
        });
    }

    #[test]
    fn symlinks_out_of_the_root_and_special_files_are_not_found() {
        let dir = site();
        both_resolvers(|| {
            for path in ["/passwd", "/up.txt", "/etc/passwd", "/etc/", "/pipe"] {
                let found = look(&dir, path);
                assert!(matches!(found, Found::Missing), "{path}: {found:?}");
            }
        });
    }
}
