//! The unpacker against archives made here: ordinary ones, and each way a hostile one
//! tries to escape, grow or stall.

use super::*;
use std::os::unix::fs::MetadataExt;
use tar::{Builder, Header};

/// A gzip'd tar built entry by entry.
struct Archive(Builder<flate2::write::GzEncoder<Vec<u8>>>);

impl Archive {
    fn new() -> Self {
        Self(Builder::new(flate2::write::GzEncoder::new(
            Vec::new(),
            flate2::Compression::fast(),
        )))
    }

    fn header(kind: EntryType, mode: u32, size: u64) -> Header {
        let mut header = Header::new_gnu();
        header.set_entry_type(kind);
        header.set_mode(mode);
        header.set_size(size);
        header.set_mtime(1_700_000_000);
        header
    }

    fn file(mut self, path: &str, mode: u32, data: &[u8]) -> Self {
        let mut header = Self::header(EntryType::Regular, mode, data.len() as u64);
        self.0.append_data(&mut header, path, data).unwrap();
        self
    }

    fn dir(mut self, path: &str, mode: u32) -> Self {
        let mut header = Self::header(EntryType::Directory, mode, 0);
        self.0.append_data(&mut header, path, &[][..]).unwrap();
        self
    }

    fn link(mut self, kind: EntryType, path: &str, target: &str) -> Self {
        let mut header = Self::header(kind, 0o777, 0);
        self.0.append_link(&mut header, path, target).unwrap();
        self
    }

    /// An entry whose name is written as given, past the builder's own checks.
    fn raw(mut self, kind: EntryType, name: &[u8], size: u64, data: &[u8]) -> Self {
        let mut header = Self::header(kind, 0o644, size);
        header.as_old_mut().name[..name.len()].copy_from_slice(name);
        header.set_cksum();
        self.0.append(&header, data).unwrap();
        self
    }

    fn finish(self) -> Vec<u8> {
        self.0.into_inner().unwrap().finish().unwrap()
    }
}

fn limits() -> UploadLimits {
    UploadLimits::default()
}

fn run(bytes: &[u8], limits: &UploadLimits) -> (tempfile::TempDir, Result<(), UnpackError>) {
    let dir = tempfile::tempdir().unwrap();
    let result = unpack(bytes, dir.path(), limits, &AtomicBool::new(false));
    (dir, result)
}

fn mode(path: &Path) -> u32 {
    std::fs::symlink_metadata(path).unwrap().mode() & 0o7777
}

#[test]
fn unpacks_files_directories_and_links() {
    let long = format!("{}/file.txt", "sub".repeat(60));
    let archive = Archive::new()
        .dir("app", 0o755)
        .file("app/main.py", 0o644, b"print('hi')\n")
        .file("app/run.sh", 0o750, b"#!/bin/sh\n")
        .file("implied/deeper/x", 0o600, b"x")
        .file(&long, 0o644, b"long")
        .link(EntryType::Symlink, "app/current", "main.py")
        .link(EntryType::Symlink, "app/outside", "/usr/share")
        .link(EntryType::Link, "app/hard.py", "app/main.py")
        .finish();
    let (dir, result) = run(&archive, &limits());
    result.unwrap();
    let root = dir.path();
    assert_eq!(
        std::fs::read(root.join("app/main.py")).unwrap(),
        b"print('hi')\n"
    );
    assert_eq!(mode(&root.join("app/run.sh")), 0o750);
    assert_eq!(std::fs::read(root.join("implied/deeper/x")).unwrap(), b"x");
    assert_eq!(std::fs::read(root.join(&long)).unwrap(), b"long");
    assert_eq!(
        std::fs::read_link(root.join("app/current")).unwrap(),
        Path::new("main.py")
    );
    // Links may point anywhere; only what is read later (config files) is checked.
    assert_eq!(
        std::fs::read_link(root.join("app/outside")).unwrap(),
        Path::new("/usr/share")
    );
    assert_eq!(
        std::fs::metadata(root.join("app/hard.py")).unwrap().ino(),
        std::fs::metadata(root.join("app/main.py")).unwrap().ino()
    );
    let mtime = std::fs::metadata(root.join("app/main.py")).unwrap().mtime();
    assert_eq!(mtime, 1_700_000_000);
}

#[test]
fn setuid_setgid_and_sticky_bits_are_dropped() {
    let archive = Archive::new()
        .dir("shared", 0o3777)
        .file("shared/tool", 0o6755, b"#!/bin/sh\n")
        .file("ro", 0o444, b"r")
        .finish();
    let (dir, result) = run(&archive, &limits());
    result.unwrap();
    assert_eq!(mode(&dir.path().join("shared/tool")), 0o755);
    assert_eq!(mode(&dir.path().join("shared")), 0o777);
    assert_eq!(mode(&dir.path().join("ro")), 0o444);
}

#[test]
fn total_size_is_capped_before_anything_is_written() {
    let small = UploadLimits {
        max_bytes: 1000,
        ..limits()
    };
    let fits = Archive::new()
        .file("a", 0o644, &[b'a'; 600])
        .file("b", 0o644, &[b'b'; 400])
        .finish();
    run(&fits, &small).1.unwrap();

    let over = Archive::new()
        .file("a", 0o644, &[b'a'; 600])
        .file("b", 0o644, &[b'b'; 401])
        .finish();
    let (dir, result) = run(&over, &small);
    assert!(
        matches!(result, Err(UnpackError::TooLarge { limit: 1000 })),
        "{result:?}"
    );
    assert!(!dir.path().join("b").exists());

    // A header that claims 5 GB, with no data behind it: refused on the claim.
    let claim = Archive::new()
        .raw(EntryType::Regular, b"huge", 5_000_000_000, &[])
        .finish();
    let (dir, result) = run(&claim, &limits());
    assert!(
        matches!(result, Err(UnpackError::TooLarge { .. })),
        "{result:?}"
    );
    assert!(!dir.path().join("huge").exists());
}

/// A GNU sparse entry: `real_size` bytes with one data region of `data` at `offset`.
fn sparse(path: &str, real_size: u64, offset: u64, data: &[u8]) -> Vec<u8> {
    let mut archive = Archive::new();
    let mut header = Archive::header(EntryType::GNUSparse, 0o644, data.len() as u64);
    header.set_path(path).unwrap();
    let gnu = header.as_gnu_mut().unwrap();
    gnu.set_real_size(real_size);
    gnu.sparse[0].set_offset(offset);
    gnu.sparse[0].set_length(data.len() as u64);
    header.set_cksum();
    archive.0.append(&header, data).unwrap();
    archive.finish()
}

#[test]
fn sparse_files_count_their_full_size() {
    // 5 GB of holes in a few hundred bytes of archive: refused, nothing written.
    let bomb = sparse("disk.img", 5_000_000_000, 4_999_999_488, &[7; 512]);
    assert!(bomb.len() < 1024);
    let (dir, result) = run(&bomb, &limits());
    assert!(
        matches!(result, Err(UnpackError::TooLarge { .. })),
        "{result:?}"
    );
    assert!(!dir.path().join("disk.img").exists());

    // Under the cap it unpacks, holes and all.
    let fine = sparse("disk.img", 1 << 20, 4096, &[7; 512]);
    let (dir, result) = run(&fine, &limits());
    result.unwrap();
    let bytes = std::fs::read(dir.path().join("disk.img")).unwrap();
    assert_eq!(bytes.len(), 1 << 20);
    assert!(bytes[..4096].iter().all(|b| *b == 0));
    assert!(bytes[4096..4608].iter().all(|b| *b == 7));
}

#[test]
fn entries_are_capped_counting_implied_directories() {
    let few = UploadLimits {
        max_entries: 3,
        ..limits()
    };
    run(&Archive::new().file("a/b/c", 0o644, b"").finish(), &few)
        .1
        .unwrap();
    let result = run(&Archive::new().file("a/b/c/d", 0o644, b"").finish(), &few).1;
    assert!(
        matches!(result, Err(UnpackError::TooManyEntries { limit: 3 })),
        "{result:?}"
    );
    // Repeating a directory entry costs an entry each time.
    let mut repeated = Archive::new();
    for _ in 0..4 {
        repeated = repeated.dir("a", 0o755);
    }
    let result = run(&repeated.finish(), &few).1;
    assert!(
        matches!(result, Err(UnpackError::TooManyEntries { .. })),
        "{result:?}"
    );
}

#[test]
fn deep_and_long_paths_are_refused() {
    // The 2,000-level bomb: `d/d/…/d/f`, every directory listed.
    let mut bomb = Archive::new();
    let mut path = String::new();
    for _ in 0..2000 {
        path.push_str("d/");
        bomb = bomb.dir(&path, 0o755);
    }
    let bomb = bomb.file(&format!("{path}f"), 0o644, b"x").finish();
    let (dir, result) = run(&bomb, &limits());
    match result {
        Err(UnpackError::TooDeep { limit: 128, path }) => assert!(path.len() < 200, "{path}"),
        other => panic!("{other:?}"),
    }
    drop(dir);

    // Five 200-byte names: 1,000 bytes in all, over a 512-byte limit.
    let long = format!("{}/f", vec!["x".repeat(200); 5].join("/"));
    let short_limit = UploadLimits {
        max_path_bytes: 512,
        ..limits()
    };
    let result = run(
        &Archive::new().file(&long, 0o644, b"").finish(),
        &short_limit,
    )
    .1;
    assert!(
        matches!(result, Err(UnpackError::PathTooLong { limit: 512, .. })),
        "{result:?}"
    );
}

#[test]
fn a_deep_tree_within_the_caps_unpacks() {
    let deep = UploadLimits {
        max_depth: 1000,
        max_path_bytes: 4000,
        ..limits()
    };
    let mut archive = Archive::new();
    let mut path = String::new();
    for _ in 0..999 {
        path.push_str("d/");
        archive = archive.dir(&path, 0o755);
    }
    let archive = archive.file(&format!("{path}f"), 0o644, b"deep").finish();
    let (dir, result) = run(&archive, &deep);
    result.unwrap();
    assert_eq!(
        std::fs::read(dir.path().join(format!("{path}f"))).unwrap(),
        b"deep"
    );
}

#[test]
fn entries_outside_the_root_are_refused() {
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "dotdot",
            Archive::new()
                .raw(EntryType::Regular, b"../evil", 1, b"x")
                .finish(),
        ),
        (
            "nested dotdot",
            Archive::new()
                .raw(EntryType::Regular, b"a/../../evil", 1, b"x")
                .finish(),
        ),
        (
            "absolute",
            Archive::new()
                .raw(EntryType::Regular, b"/tmp/evil", 1, b"x")
                .finish(),
        ),
        (
            "through a symlink",
            Archive::new()
                .link(EntryType::Symlink, "escape", "/tmp")
                .file("escape/evil", 0o644, b"x")
                .finish(),
        ),
        (
            "through a file",
            Archive::new()
                .file("f", 0o644, b"x")
                .file("f/evil", 0o644, b"x")
                .finish(),
        ),
        (
            "hard link to a symlink",
            Archive::new()
                .link(EntryType::Symlink, "s", "/etc/passwd")
                .link(EntryType::Link, "h", "s")
                .finish(),
        ),
        (
            "hard link out",
            Archive::new().raw(EntryType::Link, b"h", 0, b"").finish(),
        ),
        (
            "twice",
            Archive::new()
                .file("a", 0o644, b"x")
                .file("a", 0o644, b"y")
                .finish(),
        ),
        (
            "symlink over a file",
            Archive::new()
                .file("a", 0o644, b"x")
                .link(EntryType::Symlink, "a", "/etc/passwd")
                .finish(),
        ),
        (
            "fifo",
            Archive::new()
                .raw(EntryType::Fifo, b"pipe", 0, b"")
                .finish(),
        ),
        (
            "device",
            Archive::new()
                .raw(EntryType::Char, b"null", 0, b"")
                .finish(),
        ),
    ];
    for (what, archive) in cases {
        let (dir, result) = run(&archive, &limits());
        assert!(
            matches!(result, Err(UnpackError::Refused { .. })),
            "{what}: {result:?}"
        );
        assert!(!Path::new("/tmp/evil").exists(), "{what}");
        drop(dir);
    }
}

#[test]
fn oversized_metadata_is_refused_unread() {
    // A GNU long name that claims a gigabyte.
    let archive = Archive::new()
        .raw(EntryType::GNULongName, b"././@LongLink", 1 << 30, &[])
        .finish();
    let result = run(&archive, &limits()).1;
    assert!(matches!(result, Err(UnpackError::Corrupt(_))), "{result:?}");
}

#[test]
fn corrupt_archives_are_refused() {
    let result = run(b"not gzip at all", &limits()).1;
    assert!(matches!(result, Err(UnpackError::Corrupt(_))), "{result:?}");
    let mut truncated = Archive::new().file("a", 0o644, &[b'a'; 100_000]).finish();
    truncated.truncate(truncated.len() / 2);
    let result = run(&truncated, &limits()).1;
    assert!(matches!(result, Err(UnpackError::Corrupt(_))), "{result:?}");
}

#[test]
fn a_set_cancel_flag_stops_the_unpack() {
    let archive = Archive::new().file("a", 0o644, b"x").finish();
    let dir = tempfile::tempdir().unwrap();
    let result = unpack(&archive[..], dir.path(), &limits(), &AtomicBool::new(true));
    assert!(matches!(result, Err(UnpackError::Cancelled)), "{result:?}");
    assert!(!dir.path().join("a").exists());
}
