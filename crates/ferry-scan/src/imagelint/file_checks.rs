//! Checks on the image's files: setuid/setgid bits, secret files by name and
//! extension, files that should not ship (`.git/`, `.DS_Store`…), empty passwords
//! and duplicate uids/gids. Paths come from the merged index (whiteouts applied) in
//! one pass; only the four account files are read.

use std::collections::BTreeSet;

use super::catalog::{DUPLICATE_IDS, EMPTY_PASSWORD, SECRETS, SETUID, UNNECESSARY_FILES};
use super::{Findings, ImageLintOptions};
use crate::image::{ImageFs, NodeKind};

/// Secret files by name (Dockle's list).
const SECRET_FILE_NAMES: &[&str] = &[
    "credentials.json",
    "credential.json",
    "credentials",
    "credential",
    "password.txt",
    "id_rsa",
    "id_dsa",
    "id_ecdsa",
    "id_ed25519",
    "secret_token.rb",
    "carrierwave.rb",
    "omniauth.rb",
    "settings.py",
    "database.yml",
    "credentials.xml",
    ".env",
];
/// Secret files by extension (Dockle's list; `.pem`, `.key`… are left out there too,
/// as most of them are public certificates).
const SECRET_FILE_EXTENSIONS: &[&str] = &[
    ".secret",
    ".ovpn",
    ".private_key",
    ".cscfg",
    ".rdp",
    ".mdf",
    ".sdf",
    ".bek",
    ".tpm",
    ".fve",
    ".jks",
    ".psafe3",
    ".agilekeychain",
    ".keychain",
    ".pcap",
    ".gnucache",
];
/// Files that are build or editor leftovers.
const UNNECESSARY_FILE_NAMES: &[&str] =
    &["Dockerfile", "docker-compose.yml", ".vimrc", ".DS_Store"];
/// Directories that are caches, VCS data, editor state or cloud credentials.
const UNNECESSARY_DIRS: &[&str] = &[
    ".cache", ".aws", ".azure", ".gcp", ".git", ".vscode", ".idea", ".npm",
];
/// Dependency trees the user does not control; their leftovers are not reported.
const DEPENDENCY_DIRS: &[&str] = &["node_modules/", "vendor/"];
/// Password files: Linux shadow and the BSD master file.
const SHADOW_FILES: &[&str] = &["etc/shadow", "etc/master.passwd"];
const PASSWD_FILE: &str = "etc/passwd";
const GROUP_FILE: &str = "etc/group";
/// Largest account file read; real ones are a few kilobytes.
const MAX_ACCOUNT_FILE: u64 = 16 * 1024 * 1024;

pub(super) fn run(fs: &ImageFs, options: &ImageLintOptions, out: &mut Findings) {
    let filter = FileFilter::new(options);
    check_passwords(fs, &filter, out);
    check_unique_ids(fs, &filter, out);

    let mut reported_dirs = BTreeSet::new();
    for (path, node) in fs.entries() {
        // Dockle looks at files, symlinks and hard links, never at directories.
        let is_file = node.kind == NodeKind::File;
        if !is_file && !matches!(node.kind, NodeKind::Symlink(_)) {
            continue;
        }
        let rel = path.trim_start_matches('/');
        let base = base_name(rel);
        if filter.accepts(rel, base) {
            continue;
        }
        if is_file {
            if node.mode & 0o4000 != 0 {
                out.push(
                    SETUID,
                    format!("setuid file: {} {rel}", mode_string(node.mode)),
                    rel,
                );
            }
            if node.mode & 0o2000 != 0 {
                out.push(
                    SETUID,
                    format!("setgid file: {} {rel}", mode_string(node.mode)),
                    rel,
                );
            }
        }
        if filter.secret_names.contains(base) || filter.secret_names.contains(rel) {
            out.push(
                SECRETS,
                format!(
                    "Suspicious filename found : {rel} (You can suppress it with \"--accept-file {base}\")"
                ),
                rel,
            );
        } else if let Some(ext) = extension(base).filter(|e| filter.secret_extensions.contains(*e))
        {
            out.push(
                SECRETS,
                format!(
                    "Suspicious file extension found : {rel} (You can suppress it with \"--accept-file-extension {}\")",
                    &ext[1..]
                ),
                rel,
            );
        }
        let dir = parent(rel);
        if (UNNECESSARY_DIRS.contains(&base_name(dir)) || UNNECESSARY_DIRS.contains(&dir))
            && reported_dirs.insert(dir)
            && !DEPENDENCY_DIRS.iter().any(|d| rel.contains(d))
        {
            out.push(
                UNNECESSARY_FILES,
                format!("Suspicious directory : {dir}"),
                dir,
            );
        }
        if UNNECESSARY_FILE_NAMES.contains(&base) || UNNECESSARY_FILE_NAMES.contains(&rel) {
            out.push(UNNECESSARY_FILES, format!("unnecessary file : {rel}"), rel);
        }
    }
}

/// DKL-LI-0001: an empty password field lets anyone log in as that user.
fn check_passwords(fs: &ImageFs, filter: &FileFilter, out: &mut Findings) {
    let mut any = false;
    for file in SHADOW_FILES {
        let Some(text) = read_account_file(fs, filter, file, EMPTY_PASSWORD, out) else {
            continue;
        };
        any = true;
        for fields in records(&text) {
            if fields.len() >= 2 && fields[1].is_empty() {
                out.push(
                    EMPTY_PASSWORD,
                    format!("No password user found! username : {}", fields[0]),
                    *file,
                );
            }
        }
    }
    if !any {
        out.skip(
            EMPTY_PASSWORD,
            format!("failed to detect {}", SHADOW_FILES.join(",")),
        );
    }
}

/// DKL-LI-0002: two users with one uid (or two groups with one gid) are one account.
fn check_unique_ids(fs: &ImageFs, filter: &FileFilter, out: &mut Findings) {
    for (file, what) in [(PASSWD_FILE, "UID"), (GROUP_FILE, "GroupID")] {
        let Some(text) = read_account_file(fs, filter, file, DUPLICATE_IDS, out) else {
            out.skip(DUPLICATE_IDS, format!("failed to detect {file}"));
            continue;
        };
        let mut seen = BTreeSet::new();
        for fields in records(&text) {
            if fields.len() < 3 {
                continue;
            }
            if !seen.insert(fields[2]) {
                out.push(
                    DUPLICATE_IDS,
                    format!("duplicate {what} {} : username {}", fields[2], fields[0]),
                    file,
                );
            }
        }
    }
}

/// The text of an account file, `None` when it is not in the image (or accepted).
/// A file that cannot be read gives a SKIP note and a warning instead.
fn read_account_file(
    fs: &ImageFs,
    filter: &FileFilter,
    rel: &str,
    code: &'static str,
    out: &mut Findings,
) -> Option<String> {
    if filter.accepts(rel, base_name(rel)) {
        return None;
    }
    let path = format!("/{rel}");
    let (_, node) = fs.stat(&path)?;
    if node.kind != NodeKind::File {
        return None;
    }
    match fs.read_limited(&path, MAX_ACCOUNT_FILE) {
        Ok(bytes) => Some(String::from_utf8_lossy(&bytes).into_owned()),
        Err(e) => {
            out.skip(code, format!("failed to read {rel}: {e}"));
            out.warn(format!("{code}: {e}"));
            Some(String::new())
        }
    }
}

/// The `:`-separated records of an account file; blank and `#` lines skipped.
fn records(text: &str) -> impl Iterator<Item = Vec<&str>> {
    text.lines()
        .map(|l| l.trim_end_matches('\r'))
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| l.split(':').collect())
}

/// Which files are skipped (`--accept-file`, `--accept-file-extension`) and which
/// names and extensions count as secrets (Dockle's lists plus `--sensitive-file*`).
struct FileFilter {
    accept_files: BTreeSet<String>,
    accept_extensions: BTreeSet<String>,
    secret_names: BTreeSet<String>,
    secret_extensions: BTreeSet<String>,
}

impl FileFilter {
    fn new(options: &ImageLintOptions) -> FileFilter {
        let paths = |list: &[String]| -> BTreeSet<String> {
            list.iter()
                .map(|p| p.trim().trim_start_matches("./").trim_start_matches('/'))
                .filter(|p| !p.is_empty())
                .map(str::to_string)
                .collect()
        };
        let extensions = |list: &[String]| -> BTreeSet<String> {
            list.iter()
                .map(|e| e.trim().trim_start_matches('.'))
                .filter(|e| !e.is_empty())
                .map(|e| format!(".{e}"))
                .collect()
        };
        let mut secret_names = paths(&options.sensitive_files);
        secret_names.extend(SECRET_FILE_NAMES.iter().map(|s| s.to_string()));
        let mut secret_extensions = extensions(&options.sensitive_file_extensions);
        secret_extensions.extend(SECRET_FILE_EXTENSIONS.iter().map(|s| s.to_string()));
        FileFilter {
            accept_files: paths(&options.accept_files),
            accept_extensions: extensions(&options.accept_file_extensions),
            secret_names,
            secret_extensions,
        }
    }

    fn accepts(&self, rel: &str, base: &str) -> bool {
        self.accept_files.contains(rel)
            || self.accept_files.contains(base)
            || extension(base).is_some_and(|e| self.accept_extensions.contains(e))
    }
}

fn base_name(rel: &str) -> &str {
    rel.rsplit('/').next().unwrap_or(rel)
}

/// The directory part of a relative path; `.` for a top-level name.
fn parent(rel: &str) -> &str {
    match rel.rfind('/') {
        Some(i) => &rel[..i],
        None => ".",
    }
}

/// The extension with its dot, from the last dot of the name (`.env` is its own
/// extension, as Go's `filepath.Ext` has it).
fn extension(base: &str) -> Option<&str> {
    base.rfind('.').map(|i| &base[i..]).filter(|e| e.len() > 1)
}

/// A regular file's mode as Go prints it, the form Dockle's messages use:
/// `u`/`g`/`t` for setuid, setgid and sticky, then `rwxrwxrwx` (or `-` first when
/// no special bit is set).
fn mode_string(mode: u32) -> String {
    let mut text = String::new();
    for (bit, flag) in [(0o4000, 'u'), (0o2000, 'g'), (0o1000, 't')] {
        if mode & bit != 0 {
            text.push(flag);
        }
    }
    if text.is_empty() {
        text.push('-');
    }
    for (i, c) in "rwxrwxrwx".chars().enumerate() {
        text.push(if mode & (1 << (8 - i)) != 0 { c } else { '-' });
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mode_strings_as_go_prints_them() {
        assert_eq!(mode_string(0o4755), "urwxr-xr-x");
        assert_eq!(mode_string(0o2755), "grwxr-xr-x");
        assert_eq!(mode_string(0o6755), "ugrwxr-xr-x");
        assert_eq!(mode_string(0o4640), "urw-r-----");
        assert_eq!(mode_string(0o644), "-rw-r--r--");
    }

    #[test]
    fn path_helpers() {
        assert_eq!(parent("app/.git/HEAD"), "app/.git");
        assert_eq!(parent("Dockerfile"), ".");
        assert_eq!(base_name("app/.git/HEAD"), "HEAD");
        assert_eq!(extension(".env"), Some(".env"));
        assert_eq!(extension("a.tar.gz"), Some(".gz"));
        assert_eq!(extension("README"), None);
        assert_eq!(extension("trailing."), None);
    }
}
