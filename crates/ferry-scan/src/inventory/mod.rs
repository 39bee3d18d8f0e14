//! Package inventory: what an image (or a source tree) contains, as Syft and Trivy
//! find it — OS packages (dpkg, apk, rpm), language packages (Python, Node, Java) and
//! the modules compiled into Go and Rust binaries. Every package records the layer it
//! came from, where it was read and a purl.
//!
//! One walk over the merged view picks candidate files by path; they are then read in
//! one pass per layer ([`ImageFs::visit`]), so a compressed layer is decompressed once
//! for all its package databases.

mod apk;
mod binary;
mod dpkg;
mod java;
mod node;
mod os;
pub mod purl;
mod python;
mod rpm;
mod rust;

use std::collections::{BTreeSet, HashMap};

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::image::{Image, ImageError, ImageFs, ImageSource, NodeKind, RegistryOptions};
use crate::package::{OsInfo, Package, PackageType};

pub use os::detect_os;

/// Largest package database or manifest read.
const MAX_METADATA: u64 = 64 * 1024 * 1024;
/// Largest binary or archive (jar) inspected.
const MAX_BINARY: u64 = 512 * 1024 * 1024;

/// What was found.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Inventory {
    pub os: Option<OsInfo>,
    /// Sorted by type, name, version, location.
    pub packages: Vec<Package>,
    /// Files that could not be read or parsed (named with file and line), and the
    /// image view's own warnings (escapes, tar bombs…).
    pub warnings: Vec<String>,
}

/// Which catalogers run. Images use installed-package metadata; source trees use lock
/// files, as Syft does for `docker:`/`dir:` sources.
#[derive(Clone, Debug)]
pub struct InventoryOptions {
    /// `package.json` files (installed Node packages).
    pub node_package_json: bool,
    /// `package-lock.json`, `yarn.lock`, `Cargo.lock`, `go.mod`.
    pub lock_files: bool,
    /// Go build info and cargo-auditable data in executables.
    pub binaries: bool,
}

impl InventoryOptions {
    /// For container images.
    pub fn image() -> InventoryOptions {
        InventoryOptions {
            node_package_json: true,
            lock_files: false,
            binaries: true,
        }
    }

    /// For a source directory being deployed.
    pub fn source() -> InventoryOptions {
        InventoryOptions {
            node_package_json: false,
            lock_files: true,
            binaries: false,
        }
    }
}

/// The inventory of an image.
pub fn inventory(fs: &ImageFs) -> Inventory {
    inventory_with(fs, &InventoryOptions::image())
}

/// The inventory of a source directory: lock files plus any installed Python
/// packages, jars and OS databases it holds.
pub fn inventory_dir(dir: &Path) -> Result<Inventory, ImageError> {
    let image = Image::open_local(&ImageSource::Rootfs(dir.to_path_buf()))?;
    let fs = ImageFs::from_image(image)?;
    Ok(inventory_with(&fs, &InventoryOptions::source()))
}

/// Opens any image source (Docker Engine, registry, archive, layout, directory) and
/// takes its inventory; the blocking part runs on the blocking pool. This is what the
/// deploy gate calls, e.g. with `ImageSource::Docker(image_id)`.
pub async fn inventory_of(
    source: &ImageSource,
    registry: &RegistryOptions,
) -> Result<(Image, Inventory), ImageError> {
    let image = Image::fetch(source, registry).await?;
    tokio::task::spawn_blocking(move || {
        let fs = ImageFs::from_image(image)?;
        let inventory = inventory(&fs);
        Ok((fs.into_image(), inventory))
    })
    .await
    .map_err(|e| ImageError::Unsupported(format!("inventory task failed: {e}")))?
}

/// Which parser a candidate file goes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Candidate {
    DpkgStatus,
    ApkInstalled,
    RpmSqlite,
    PythonMetadata,
    NodePackageJson,
    NpmLock,
    YarnLock,
    CargoLock,
    GoMod,
    Java,
}

/// Shared state the parsers report into.
pub(crate) struct Ctx<'a> {
    pub fs: &'a ImageFs,
    pub os: Option<OsInfo>,
    pub packages: Vec<Package>,
    pub warnings: Vec<String>,
}

impl Ctx<'_> {
    /// The layer id (diff id, else digest) that last wrote `path`.
    pub fn layer_of(&self, path: &str) -> Option<String> {
        self.fs
            .layer_of(path)
            .and_then(|l| l.id().map(str::to_string))
    }

    pub fn warn(&mut self, message: String) {
        self.warnings.push(message);
    }

    /// `distro=<id>-<version>` for OS package purls.
    pub fn distro(&self) -> String {
        match &self.os {
            Some(os) if !os.version_id.is_empty() => format!("{}-{}", os.id, os.version_id),
            Some(os) => os.id.clone(),
            None => String::new(),
        }
    }

    /// Adds a package with its layer taken from `path`.
    #[allow(clippy::too_many_arguments)]
    pub fn add(
        &mut self,
        package_type: PackageType,
        name: &str,
        version: &str,
        purl: String,
        location: &str,
        licenses: Vec<String>,
        source: Option<(String, Option<String>)>,
    ) {
        let layer = self.layer_of(location);
        let (source_name, source_version) = match source {
            Some((n, v)) => (Some(n), v),
            None => (None, None),
        };
        self.packages.push(Package {
            name: name.to_string(),
            version: version.to_string(),
            package_type,
            source_name,
            source_version,
            purl,
            layer,
            location: location.to_string(),
            licenses,
        });
    }
}

/// The inventory of an image with chosen catalogers.
pub fn inventory_with(fs: &ImageFs, options: &InventoryOptions) -> Inventory {
    let mut ctx = Ctx {
        fs,
        os: None,
        packages: Vec::new(),
        warnings: fs.warnings().to_vec(),
    };
    ctx.os = os::detect_os(fs, &mut ctx.warnings);

    let mut candidates: HashMap<String, Candidate> = HashMap::new();
    let mut executables: Vec<String> = Vec::new();
    for (path, node) in fs.entries() {
        if node.kind != NodeKind::File {
            continue;
        }
        if let Some(c) = classify(path, options) {
            candidates.insert(path.to_string(), c);
        } else if options.binaries && node.mode & 0o111 != 0 && node.size >= 1024 {
            executables.push(path.to_string());
        }
        if path.ends_with("/var/lib/rpm/Packages") || path.ends_with("/var/lib/rpm/Packages.db") {
            ctx.warn(format!(
                "{path}: Berkeley DB / NDB rpm databases are not read yet; only rpmdb.sqlite is"
            ));
        }
    }

    let mut paths: Vec<&str> = candidates.keys().map(String::as_str).collect();
    paths.sort_unstable();
    let mut contents: Vec<(String, Candidate, Vec<u8>)> = Vec::new();
    let mut java: Vec<String> = Vec::new();
    let metadata_paths: Vec<&str> = paths
        .iter()
        .copied()
        .filter(|p| {
            if candidates[*p] == Candidate::Java {
                java.push(p.to_string());
                false
            } else {
                true
            }
        })
        .collect();
    let errors = fs.visit(&metadata_paths, MAX_METADATA, &mut |path, reader| {
        let mut buf = Vec::new();
        if reader.read_to_end(&mut buf).is_ok() {
            contents.push((path.to_string(), candidates[path], buf));
        }
    });
    for e in errors {
        ctx.warn(e.to_string());
    }
    contents.sort_by(|a, b| a.0.cmp(&b.0));
    for (path, candidate, bytes) in &contents {
        match candidate {
            Candidate::DpkgStatus => dpkg::parse(&mut ctx, path, bytes),
            Candidate::ApkInstalled => apk::parse(&mut ctx, path, bytes),
            Candidate::RpmSqlite => rpm::parse_sqlite(&mut ctx, path, bytes),
            Candidate::PythonMetadata => python::parse(&mut ctx, path, bytes),
            Candidate::NodePackageJson => node::parse_package_json(&mut ctx, path, bytes),
            Candidate::NpmLock => node::parse_package_lock(&mut ctx, path, bytes),
            Candidate::YarnLock => node::parse_yarn_lock(&mut ctx, path, bytes),
            Candidate::CargoLock => rust::parse_cargo_lock(&mut ctx, path, bytes),
            Candidate::GoMod => binary::parse_go_mod(&mut ctx, path, bytes),
            Candidate::Java => {}
        }
    }

    // Archives and executables: streamed one at a time, never all held in memory.
    let java_refs: Vec<&str> = java.iter().map(String::as_str).collect();
    let mut found = Vec::new();
    let errors = fs.visit(&java_refs, MAX_BINARY, &mut |path, reader| {
        let mut buf = Vec::new();
        match reader.read_to_end(&mut buf) {
            Ok(_) => found.push(java::parse_archive(path, &buf)),
            Err(e) => found.push(Err(format!("{path}: {e}"))),
        }
    });
    for e in errors {
        ctx.warn(e.to_string());
    }
    for result in found {
        match result {
            Ok(list) => {
                for p in list {
                    java::add(&mut ctx, p);
                }
            }
            Err(w) => ctx.warn(w),
        }
    }

    if options.binaries && !executables.is_empty() {
        let refs: Vec<&str> = executables.iter().map(String::as_str).collect();
        let mut found = Vec::new();
        let errors = fs.visit(&refs, MAX_BINARY, &mut |path, reader| {
            if let Some(b) = binary::inspect(path, reader) {
                found.push(b);
            }
        });
        for e in errors {
            // Huge non-package executables are common; only note them in the log.
            tracing::debug!(error = %e, "executable not inspected");
        }
        for b in found {
            binary::add(&mut ctx, b);
        }
    }

    let mut packages = ctx.packages;
    packages.sort_by(|a, b| {
        (a.package_type, &a.name, &a.version, &a.location).cmp(&(
            b.package_type,
            &b.name,
            &b.version,
            &b.location,
        ))
    });
    let mut seen = BTreeSet::new();
    packages.retain(|p| {
        seen.insert((
            p.package_type,
            p.name.clone(),
            p.version.clone(),
            p.location.clone(),
        ))
    });
    Inventory {
        os: ctx.os,
        packages,
        warnings: ctx.warnings,
    }
}

fn classify(path: &str, options: &InventoryOptions) -> Option<Candidate> {
    let name = path.rsplit('/').next().unwrap_or(path);
    if path == "/var/lib/dpkg/status"
        || (path.starts_with("/var/lib/dpkg/status.d/")
            && !name.ends_with(".md5sums")
            && !name.starts_with('.'))
    {
        return Some(Candidate::DpkgStatus);
    }
    if path == "/lib/apk/db/installed" {
        return Some(Candidate::ApkInstalled);
    }
    if path == "/var/lib/rpm/rpmdb.sqlite" || path == "/usr/lib/sysimage/rpm/rpmdb.sqlite" {
        return Some(Candidate::RpmSqlite);
    }
    if path.ends_with(".dist-info/METADATA")
        || path.ends_with(".egg-info/PKG-INFO")
        || name.ends_with(".egg-info")
    {
        return Some(Candidate::PythonMetadata);
    }
    if name == "package.json" && options.node_package_json {
        return Some(Candidate::NodePackageJson);
    }
    if options.lock_files && !path.contains("/node_modules/") {
        match name {
            "package-lock.json" | "npm-shrinkwrap.json" => return Some(Candidate::NpmLock),
            "yarn.lock" => return Some(Candidate::YarnLock),
            "Cargo.lock" => return Some(Candidate::CargoLock),
            "go.mod" => return Some(Candidate::GoMod),
            _ => {}
        }
    }
    let lower = name.to_ascii_lowercase();
    if [".jar", ".war", ".ear", ".jpi", ".hpi"]
        .iter()
        .any(|e| lower.ends_with(e))
    {
        return Some(Candidate::Java);
    }
    None
}

/// Splits RFC 822-style paragraphs (dpkg status, METADATA headers) into fields;
/// continuation lines are joined with `\n`. A line that is neither a field nor a
/// continuation is reported with its line number.
pub(crate) fn parse_paragraphs(
    text: &str,
    file: &str,
    warnings: &mut Vec<String>,
) -> Vec<Vec<(String, String)>> {
    let mut out = Vec::new();
    let mut current: Vec<(String, String)> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            if !current.is_empty() {
                out.push(std::mem::take(&mut current));
            }
            continue;
        }
        if line.starts_with(' ') || line.starts_with('\t') {
            match current.last_mut() {
                Some((_, v)) => {
                    v.push('\n');
                    v.push_str(line.trim());
                }
                None => warnings.push(format!(
                    "{file}:{}: continuation line without a field",
                    i + 1
                )),
            }
            continue;
        }
        match line.split_once(':') {
            Some((k, v)) if !k.is_empty() && !k.contains(' ') => {
                current.push((k.to_string(), v.trim().to_string()))
            }
            _ => warnings.push(format!(
                "{file}:{}: not a `Field: value` line: {:?}",
                i + 1,
                truncate(line, 60)
            )),
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

pub(crate) fn field<'a>(fields: &'a [(String, String)], key: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, v)| v.as_str())
}

pub(crate) fn truncate(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

#[cfg(test)]
mod tests;
