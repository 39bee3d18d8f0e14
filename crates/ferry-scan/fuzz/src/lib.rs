//! The fuzz harness for ferry-scan: what each cargo-fuzz target feeds and the properties
//! it checks. Shared with the stable replay test (`tests/fuzz_regressions.rs` includes
//! this file by path), so a crash input replays through exactly this code.
//!
//! A panic anywhere (ferry-scan's own or a failed property here) is a finding; errors
//! and warnings from ferry-scan are the expected answer to bad input.

use std::cell::RefCell;
use std::cmp::Ordering;
use std::io::Write;
use std::path::Path;

use ferry_scan::image::{FsOptions, Image, ImageFs, ImageSource, NodeKind};
use ferry_scan::imagelint::{lint_image, ImageLintOptions};
use ferry_scan::inventory::{inventory_with, InventoryOptions};
use ferry_scan::matcher::{match_affected, MatchNotes};
use ferry_scan::osv::ecosystem::{lookup_for, lookup_key};
use ferry_scan::osv::Vulnerability;
use ferry_scan::severity::{assess, cvss};
use ferry_scan::version::{dpkg, rpm, Scheme, Version};
use ferry_scan::vulndb::VulnDb;

/// Every version scheme, in a fixed order.
pub const SCHEMES: [Scheme; 7] = [
    Scheme::Dpkg,
    Scheme::Apk,
    Scheme::Rpm,
    Scheme::Pep440,
    Scheme::Semver,
    Scheme::Go,
    Scheme::Maven,
];

/// Largest read per file while walking the view (the inventory uses its own limits).
const WALK_READ_LIMIT: u64 = 1 << 20;

thread_local! {
    // One scratch directory per thread, reused by every input: images and records are
    // files on disk for ferry-scan, exactly as `ferry scan --input` and
    // `ferry vulndb import` see them.
    static SCRATCH: RefCell<Option<tempfile::TempDir>> = const { RefCell::new(None) };
}

fn with_scratch<T>(f: impl FnOnce(&Path) -> T) -> T {
    SCRATCH.with(|cell| {
        let mut slot = cell.borrow_mut();
        let dir = slot.get_or_insert_with(|| {
            tempfile::Builder::new()
                .prefix("ferry-scan-fuzz")
                .tempdir()
                .expect("the harness needs a scratch directory")
        });
        f(dir.path())
    })
}

// ---------------------------------------------------------------------------------------
// layer: arbitrary bytes as image layers

/// Arbitrary bytes as an image layer. The first byte picks the shape:
/// `0` the rest is one layer stored as given (plain tar, or gzip/zstd when it starts
/// with their magic), `1` the rest gzip-compressed into one layer (a tar the fuzzer
/// shapes, read through the streaming path), `2` two plain layers split at the ratio
/// given by the next byte (whiteouts and links across layers), `3` the rest is the whole
/// docker-archive file. The image is opened as `ferry scan --input` opens it, walked,
/// every file read, then the inventory and the image lint run over it.
pub fn layer(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let archive = match mode % 4 {
        0 => docker_archive(&[rest.to_vec()]),
        1 => docker_archive(&[gzip(rest)]),
        2 => {
            let (cut, rest) = rest.split_first().map_or((0, rest), |(c, r)| (*c, r));
            let at = rest.len() * usize::from(cut) / 255;
            let (lower, upper) = rest.split_at(at);
            docker_archive(&[lower.to_vec(), upper.to_vec()])
        }
        _ => rest.to_vec(),
    };
    examine_archive(&archive);
}

/// Arbitrary bytes as `/var/lib/dpkg/status` of a Debian image, through the inventory.
pub fn dpkg_status(data: &[u8]) {
    let mut layer = LayerBuilder::default();
    layer.file(
        "etc/os-release",
        b"ID=debian\nVERSION_ID=\"12\"\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n",
    );
    layer.file("var/lib/dpkg/status", data);
    examine_archive(&docker_archive(&[layer.finish()]));
}

/// Writes `archive` to the scratch directory and examines it as a docker-archive.
fn examine_archive(archive: &[u8]) {
    with_scratch(|dir| {
        let path = dir.join("image.tar");
        std::fs::write(&path, archive).expect("the harness writes its scratch file");
        examine(&ImageSource::DockerArchive(path));
    });
}

/// Opens, walks and reads an image; runs the inventory and the image lint over it.
fn examine(source: &ImageSource) {
    let Ok(image) = Image::open_local(source) else {
        return;
    };
    let Ok(fs) = ImageFs::open(image, FsOptions::default()) else {
        return;
    };
    let mut paths = Vec::new();
    for (path, node) in fs.entries() {
        assert_inside_root(path);
        if let Ok(real) = fs.resolve(path) {
            assert_inside_root(&real);
        }
        let _ = fs.stat(path);
        let _ = fs.layer_of(path);
        if node.kind == NodeKind::Dir {
            for (child, _) in fs.read_dir(path) {
                assert_inside_root(child);
            }
        }
        paths.push(path.to_string());
    }
    // Every path in one visit (symlinks followed), as the inventory reads.
    let refs: Vec<&str> = paths.iter().map(String::as_str).collect();
    let _ = fs.visit(&refs, WALK_READ_LIMIT, &mut |path, reader| {
        let mut buf = Vec::new();
        if reader.read_to_end(&mut buf).is_ok() {
            assert!(
                buf.len() as u64 <= WALK_READ_LIMIT,
                "{path}: read {} bytes over the {WALK_READ_LIMIT}-byte limit",
                buf.len()
            );
        }
    });
    // One file on its own, through the single-read path.
    if let Some(first) = refs
        .iter()
        .find(|p| fs.get(p).is_some_and(|n| n.kind == NodeKind::File))
    {
        if let Ok(bytes) = fs.read_limited(first, WALK_READ_LIMIT) {
            assert!(bytes.len() as u64 <= WALK_READ_LIMIT);
        }
    }
    let all = InventoryOptions {
        node_package_json: true,
        lock_files: true,
        binaries: true,
    };
    let inventory = inventory_with(&fs, &all);
    if let Some(os) = &inventory.os {
        for package in &inventory.packages {
            if let Ok(lookup) = lookup_for(os, package) {
                let _ = lookup.scheme.parse(&lookup.version);
            }
        }
    }
    let _ = lint_image(&fs, &ImageLintOptions::default());
}

/// The merged view's paths are absolute and normalised: nothing can name a place
/// outside the image root.
fn assert_inside_root(path: &str) {
    assert!(path.starts_with('/'), "path {path:?} is not absolute");
    if path != "/" {
        assert!(
            path[1..]
                .split('/')
                .all(|c| !c.is_empty() && c != "." && c != ".." && !c.contains('\0')),
            "path {path:?} is not normalised"
        );
    }
}

/// A small tar builder for the harness's own layers.
#[derive(Default)]
struct LayerBuilder {
    out: Vec<u8>,
}

impl LayerBuilder {
    fn file(&mut self, name: &str, content: &[u8]) {
        let mut b = tar::Builder::new(std::mem::take(&mut self.out));
        append(&mut b, name, content);
        self.out = b.into_inner().expect("writing to a Vec cannot fail");
        // `into_inner` wrote the end-of-archive blocks; drop them so more can follow.
        self.out.truncate(self.out.len() - 1024);
    }

    fn finish(self) -> Vec<u8> {
        let mut out = self.out;
        out.extend_from_slice(&[0u8; 1024]);
        out
    }
}

fn append(b: &mut tar::Builder<Vec<u8>>, name: &str, data: &[u8]) {
    let mut h = tar::Header::new_gnu();
    h.set_size(data.len() as u64);
    h.set_mode(0o644);
    h.set_cksum();
    b.append_data(&mut h, name, data)
        .expect("writing to a Vec cannot fail");
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).expect("writing to a Vec cannot fail");
    e.finish().expect("writing to a Vec cannot fail")
}

/// A `docker save` archive around `layers` (stored as given), with a matching config.
fn docker_archive(layers: &[Vec<u8>]) -> Vec<u8> {
    let diff_ids: Vec<String> = (0..layers.len())
        .map(|i| format!("sha256:{i:064x}"))
        .collect();
    let config = serde_json::json!({
        "architecture": "amd64",
        "os": "linux",
        "config": {"User": "app", "Env": ["PATH=/usr/bin"], "Cmd": ["/bin/sh"]},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": [{"created_by": "ADD rootfs /"}, {"created_by": "RUN install"}]
    })
    .to_string();
    let mut outer = tar::Builder::new(Vec::new());
    let mut names = Vec::new();
    for (i, layer) in layers.iter().enumerate() {
        let name = format!("layer{i}/layer.tar");
        append(&mut outer, &name, layer);
        names.push(name);
    }
    append(&mut outer, "config.json", config.as_bytes());
    let manifest =
        serde_json::json!([{ "Config": "config.json", "RepoTags": ["fuzz:1"], "Layers": names }]);
    append(&mut outer, "manifest.json", manifest.to_string().as_bytes());
    outer.into_inner().expect("writing to a Vec cannot fail")
}

// ---------------------------------------------------------------------------------------
// versions: every comparator, and its order being a total order

/// Up to three `\n`-separated strings, parsed by every scheme and compared. Properties:
/// `cmp(a, a) == Equal` (and equal to a re-parse), `cmp(a, b) == cmp(b, a).reverse()`,
/// transitivity over the three, and [`Scheme::compare`] agreeing with parse + cmp. The
/// raw dpkg and rpm part comparators get the first two properties on the raw strings.
pub fn versions(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let mut parts = text.splitn(3, '\n');
    let inputs: [&str; 3] = [
        parts.next().unwrap_or(""),
        parts.next().unwrap_or(""),
        parts.next().unwrap_or(""),
    ];
    for scheme in SCHEMES {
        let parsed: Vec<Option<Version>> = inputs.iter().map(|s| scheme.parse(s).ok()).collect();
        for (input, version) in inputs.iter().zip(&parsed) {
            let Some(v) = version else { continue };
            assert_eq!(v.cmp(v), Ordering::Equal, "{scheme}: {input:?} vs itself");
            let again = scheme.parse(input).expect("parsed once, parses again");
            assert_eq!(
                v.cmp(&again),
                Ordering::Equal,
                "{scheme}: {input:?} re-parsed"
            );
        }
        for i in 0..3 {
            for j in 0..3 {
                let (Some(x), Some(y)) = (&parsed[i], &parsed[j]) else {
                    continue;
                };
                let (a, b) = (inputs[i], inputs[j]);
                assert_eq!(
                    x.cmp(y),
                    y.cmp(x).reverse(),
                    "{scheme}: {a:?} vs {b:?} is not antisymmetric"
                );
                assert_eq!(
                    scheme.compare(a, b).ok(),
                    Some(x.cmp(y)),
                    "{scheme}: compare"
                );
                for (k, z) in parsed.iter().enumerate() {
                    let Some(z) = z else { continue };
                    let c = inputs[k];
                    if x <= y && y <= z {
                        assert!(
                            x <= z,
                            "{scheme}: {a:?} <= {b:?} <= {c:?} but not {a:?} <= {c:?}"
                        );
                    }
                    if x == y {
                        assert_eq!(
                            x.cmp(z),
                            y.cmp(z),
                            "{scheme}: {a:?} == {b:?}, unlike against {c:?}"
                        );
                    }
                }
            }
        }
    }
    let [a, b, _] = inputs;
    for (name, cmp) in [
        (
            "dpkg compare_part",
            dpkg::compare_part as fn(&str, &str) -> Ordering,
        ),
        ("rpmvercmp", rpm::rpmvercmp),
    ] {
        assert_eq!(cmp(a, a), Ordering::Equal, "{name}: {a:?} vs itself");
        assert_eq!(cmp(a, b), cmp(b, a).reverse(), "{name}: {a:?} vs {b:?}");
    }
}

// ---------------------------------------------------------------------------------------
// osv: arbitrary bytes as an OSV record through the import path

/// Arbitrary bytes as an OSV JSON file (or zip dump, when they start with `PK\3\4`)
/// imported as `ferry vulndb import` does. A record that parses must store, read back
/// equal, be found under its packages' lookup keys, score its CVSS vectors in 0–10,
/// and match every version it mentions under every scheme without panicking.
pub fn osv(data: &[u8]) {
    with_scratch(|dir| {
        let path = dir.join("record.json");
        std::fs::write(&path, data).expect("the harness writes its scratch file");
        let mut db = VulnDb::in_memory().expect("an in-memory database opens");
        let _ = db.import_path(&path, "fuzz");
        let _ = db.status();
    });
    let Ok(record) = Vulnerability::from_json(data, "fuzz") else {
        return;
    };
    let mut db = VulnDb::in_memory().expect("an in-memory database opens");
    let summary = db
        .import_records([record.clone()], "fuzz")
        .expect("a record that parsed stores");
    assert_eq!(
        summary.stored, 1,
        "{}: not stored: {:?}",
        record.id, summary.warnings
    );
    let stored = db.record(&record.id).expect("a stored record reads back");
    assert_eq!(
        stored.as_ref(),
        Some(&record),
        "record changed in the store"
    );
    for affected in &record.affected {
        if let Some(package) = &affected.package {
            let ids = db
                .ids_for(&lookup_key(&package.ecosystem), &package.name)
                .expect("lookup by package");
            if !record.is_withdrawn() {
                assert!(
                    ids.contains(&record.id),
                    "{} not found under {:?} {:?}",
                    record.id,
                    package.ecosystem,
                    package.name
                );
            }
        }
        let _ = assess(&record, Some(affected));
    }
    let _ = assess(&record, None);
    for score in record
        .severity
        .iter()
        .chain(record.affected.iter().flat_map(|a| &a.severity))
    {
        if let Ok(scored) = cvss::score(&score.score) {
            assert!(
                (0.0..=10.0).contains(&scored.score),
                "{:?} scored {}",
                score.score,
                scored.score
            );
        }
    }
    let mentioned: Vec<&str> = record
        .affected
        .iter()
        .flat_map(|a| {
            a.ranges
                .iter()
                .flat_map(|r| r.events.iter().map(|e| e.version()))
                .chain(a.versions.iter().map(String::as_str))
        })
        .take(8)
        .collect();
    for affected in record.affected.iter().take(4) {
        for installed in &mentioned {
            for scheme in SCHEMES {
                let mut notes = MatchNotes::default();
                let _ = match_affected(&record.id, affected, installed, scheme, &mut notes);
            }
        }
    }
}
