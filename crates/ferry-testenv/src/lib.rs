//! Whether this machine has what an engine-backed test needs (a Docker Engine,
//! skopeo, Distribution, a static busybox, oras), and what a test does when it does not;
//! also [`replay_corpus`], which replays a crate's fuzz corpus in its ordinary tests.
//!
//! Tests named `needs_docker_*` start with [`require!`]. On a developer's machine
//! without the engine they print one line — `<test>: not run: <reason>` — and pass,
//! so `cargo test --workspace` runs everything else. With `FERRY_TEST_DOCKER=required`
//! (CI sets it) a missing need fails the test instead: CI never skips silently.
//!
//! Libtest has no "skipped" outcome decided at run time, so the line goes straight to
//! the process's stderr, past libtest's output capture, where a reader sees it.

use std::io::{Read, Write};
use std::path::Path;
use std::sync::OnceLock;
use std::time::Duration;

/// The variable that makes every need mandatory, and the value that does it.
pub const MANDATORY_VAR: &str = "FERRY_TEST_DOCKER";
pub const MANDATORY_VALUE: &str = "required";

/// Something outside the Rust toolchain that a test uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// A Docker Engine answering `/_ping` at `$DOCKER_HOST` (default: the unix socket),
    /// and the `docker` CLI the tests use to build images.
    DockerEngine,
    /// A statically linked `/bin/busybox` (Debian's busybox-static): test images are
    /// made from it, so it must run with no libraries beside it.
    StaticBusybox,
    /// The `skopeo` image copier.
    Skopeo,
    /// Distribution, the reference registry (Debian's `docker-registry`).
    DockerRegistry,
    /// The `oras` Python package (`pip install oras`), importable by `python3`.
    Oras,
    /// `htpasswd` (Debian's apache2-utils), for a Distribution registry with
    /// bcrypt password auth.
    Htpasswd,
    /// The Go toolchain (Debian's golang-go), for the Go example app.
    Go,
}

impl Need {
    /// Why this need is not met, or None when it is.
    pub fn missing(self) -> Option<String> {
        match self {
            Need::DockerEngine => docker_engine_missing(),
            Need::StaticBusybox => static_busybox_missing(Path::new("/bin/busybox")),
            Need::Skopeo => tool_missing("skopeo", "skopeo"),
            Need::DockerRegistry => tool_missing("docker-registry", "docker-registry"),
            Need::Oras => oras_missing(),
            Need::Htpasswd => tool_missing("htpasswd", "apache2-utils"),
            Need::Go => tool_missing("go", "golang-go"),
        }
    }
}

/// Whether a missing need fails the test (true) or skips it (false).
pub fn mandatory() -> bool {
    std::env::var(MANDATORY_VAR).is_ok_and(|v| v == MANDATORY_VALUE)
}

/// The first unmet need's reason, or None when the test can run.
pub fn first_missing(needs: &[Need]) -> Option<String> {
    needs.iter().find_map(|need| need.missing())
}

/// Decides whether `test` runs: true when every need is met. Otherwise it reports the
/// reason on stderr and returns false, or panics with it when needs are mandatory.
pub fn check(test: &str, needs: &[Need]) -> bool {
    let Some(reason) = first_missing(needs) else {
        return true;
    };
    if mandatory() {
        panic!("{test}: {reason} ({MANDATORY_VAR}={MANDATORY_VALUE} makes it mandatory)");
    }
    // Straight to fd 2: `eprintln!` would be captured by libtest and never shown for
    // a passing test.
    let line = format!("{test}: not run: {reason}\n");
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
    false
}

/// Returns from the enclosing test (it passes) when a need is missing, after saying
/// so; panics instead under `FERRY_TEST_DOCKER=required`. Works in sync and async tests.
///
/// ```ignore
/// ferry_testenv::require!(Need::DockerEngine, Need::StaticBusybox);
/// ```
#[macro_export]
macro_rules! require {
    ($($need:expr),+ $(,)?) => {
        if !$crate::check($crate::test_name({ fn here() {} ::std::any::type_name_of_val(&here) }), &[$($need),+]) {
            return;
        }
    };
}

/// The test's name from the type name of a function declared inside it
/// (`crate::module::test_fn::{{closure}}::here` → `module::test_fn`).
pub fn test_name(type_name: &'static str) -> &'static str {
    let mut name = type_name.strip_suffix("::here").unwrap_or(type_name);
    while let Some(outer) = name.strip_suffix("::{{closure}}") {
        name = outer;
    }
    // Drop the crate (or test binary) name: libtest names tests without it.
    name.split_once("::").map_or(name, |(_, rest)| rest)
}

/// `$DOCKER_HOST`, or the default socket.
pub fn docker_host() -> String {
    std::env::var("DOCKER_HOST")
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unix:///var/run/docker.sock".to_string())
}

/// Pings the engine once per test binary (every test asks; the answer does not change).
fn docker_engine_missing() -> Option<String> {
    static ANSWER: OnceLock<Option<String>> = OnceLock::new();
    ANSWER
        .get_or_init(|| {
            if let Some(reason) = tool_missing("docker", "docker.io") {
                return Some(reason);
            }
            let host = docker_host();
            match ping(&host) {
                Ok(()) => None,
                Err(err) => Some(format!("no Docker Engine at {host} ({err})")),
            }
        })
        .clone()
}

/// `GET /_ping` over the engine's socket; Ok when it answers 200.
fn ping(host: &str) -> std::io::Result<()> {
    const TIMEOUT: Duration = Duration::from_secs(3);
    let request = b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n";
    let mut reply = Vec::new();
    if let Some(path) = host.strip_prefix("unix://") {
        let mut stream = std::os::unix::net::UnixStream::connect(path)?;
        stream.set_read_timeout(Some(TIMEOUT))?;
        stream.set_write_timeout(Some(TIMEOUT))?;
        stream.write_all(request)?;
        stream.take(4096).read_to_end(&mut reply)?;
    } else if let Some(addr) = host.strip_prefix("tcp://") {
        let addr = std::net::ToSocketAddrs::to_socket_addrs(addr)?
            .next()
            .ok_or_else(|| std::io::Error::other("address does not resolve"))?;
        let mut stream = std::net::TcpStream::connect_timeout(&addr, TIMEOUT)?;
        stream.set_read_timeout(Some(TIMEOUT))?;
        stream.write_all(request)?;
        stream.take(4096).read_to_end(&mut reply)?;
    } else {
        return Err(std::io::Error::other("unsupported DOCKER_HOST scheme"));
    }
    let status_line = reply.split(|b| *b == b'\n').next().unwrap_or_default();
    if status_line.starts_with(b"HTTP/1.1 200") || status_line.starts_with(b"HTTP/1.0 200") {
        Ok(())
    } else {
        Err(std::io::Error::other(format!(
            "/_ping answered {:?}",
            String::from_utf8_lossy(status_line).trim()
        )))
    }
}

/// Whether `python3 -c "import oras"` works (the package has no CLI of its own).
fn oras_missing() -> Option<String> {
    const REASON: &str = "the oras Python package is not importable (pip install oras)";
    if let Some(reason) = tool_missing("python3", "python3") {
        return Some(reason);
    }
    let imported = std::process::Command::new("python3")
        .args(["-c", "import oras.client"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    (!imported).then(|| REASON.to_string())
}

/// Why `program` cannot be run from `$PATH`, naming the Debian package that has it.
fn tool_missing(program: &str, package: &str) -> Option<String> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let found = std::env::split_paths(&path).any(|dir| is_executable(&dir.join(program)));
    (!found).then(|| format!("no {program} on PATH (Debian package {package})"))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// A static ELF has no PT_INTERP program header: that is what "runs with no libraries
/// beside it" means, and it can be read without running `ldd`.
fn static_busybox_missing(path: &Path) -> Option<String> {
    const REASON: &str = "(Debian package busybox-static)";
    let Ok(bytes) = std::fs::read(path) else {
        return Some(format!("no {} {REASON}", path.display()));
    };
    match elf_has_interpreter(&bytes) {
        Some(false) => None,
        Some(true) => Some(format!("{} is dynamically linked {REASON}", path.display())),
        None => Some(format!(
            "{} is not a 64-bit ELF file {REASON}",
            path.display()
        )),
    }
}

/// Whether a little-endian ELF64 file has a PT_INTERP header; None if it is not one.
fn elf_has_interpreter(bytes: &[u8]) -> Option<bool> {
    const PT_INTERP: u32 = 3;
    if bytes.get(..6)? != b"\x7fELF\x02\x01" {
        return None;
    }
    let u16_at = |at: usize| Some(u16::from_le_bytes(bytes.get(at..at + 2)?.try_into().ok()?));
    let u32_at = |at: usize| Some(u32::from_le_bytes(bytes.get(at..at + 4)?.try_into().ok()?));
    let u64_at = |at: usize| Some(u64::from_le_bytes(bytes.get(at..at + 8)?.try_into().ok()?));
    let table = usize::try_from(u64_at(0x20)?).ok()?;
    let entry_size = usize::from(u16_at(0x36)?);
    let entries = usize::from(u16_at(0x38)?);
    for index in 0..entries {
        if u32_at(table.checked_add(index.checked_mul(entry_size)?)?)? == PT_INTERP {
            return Some(true);
        }
    }
    Some(false)
}

/// Replays every file of a fuzz corpus directory (`<crate>/fuzz/corpus/<target>/`)
/// through `run` on the stable toolchain, so a fixed crash stays fixed; the panic
/// names the input that failed. An empty or missing directory fails too: a corpus
/// that silently vanished would make the test pass for nothing.
pub fn replay_corpus(dir: &Path, run: fn(&[u8])) {
    let mut files: Vec<std::path::PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "{} has no inputs", dir.display());
    for path in files {
        let data = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let outcome = std::panic::catch_unwind(|| run(&data));
        assert!(outcome.is_ok(), "{} panicked", path.display());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_name_drops_the_crate_closures_and_marker() {
        assert_eq!(
            test_name("needs_docker::needs_docker_a::{{closure}}::here"),
            "needs_docker_a"
        );
        assert_eq!(
            test_name("ferry_scan::image::tests::needs_docker_b::here"),
            "image::tests::needs_docker_b"
        );
    }

    #[test]
    fn the_macro_names_this_test() {
        fn here() {}
        assert_eq!(
            test_name(std::any::type_name_of_val(&here)),
            "tests::the_macro_names_this_test"
        );
    }

    #[test]
    fn elf_interpreter_is_detected() {
        // This test binary is dynamically linked (it has an interpreter).
        let me = std::fs::read(std::env::current_exe().unwrap_or_default()).unwrap_or_default();
        assert_eq!(elf_has_interpreter(&me), Some(true));
        assert_eq!(elf_has_interpreter(b"#!/bin/sh\n"), None);
        assert_eq!(elf_has_interpreter(b"\x7fELF\x02\x01"), None);
    }

    #[test]
    fn a_missing_tool_names_its_package() {
        let reason = tool_missing("ferry-no-such-tool", "ferry-pkg").unwrap_or_default();
        assert_eq!(
            reason,
            "no ferry-no-such-tool on PATH (Debian package ferry-pkg)"
        );
        assert_eq!(tool_missing("sh", "dash"), None);
    }

    #[test]
    fn an_unreachable_engine_is_reported() {
        let err = ping("unix:///nonexistent/docker.sock").err();
        assert!(err.is_some());
        assert!(ping("ftp://x").is_err());
    }
}
