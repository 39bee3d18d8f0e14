//! `ferry vulndb` and `ferry scan` through their CLI entry points: import the OSV
//! fixtures, update from a local HTTP server (python3's http.server on 127.0.0.1), show
//! status, and scan a Debian-like root filesystem and an inventory JSON in every output
//! format with Trivy's exit-code semantics.

// Test helpers outside `#[test]` functions unwrap too: a failure is the test failing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::ffi::OsString;
use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use ferry_scan::cli::{run, Command as Cli};

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/osv")
}

fn args(list: &[&str]) -> Vec<OsString> {
    list.iter().map(OsString::from).collect()
}

fn path_arg(p: &Path) -> String {
    p.display().to_string()
}

/// A Debian 12 root filesystem with glibc (vulnerable, fixed upstream), zlib (unfixed)
/// and openssl (not affected by the fixtures).
fn debian_rootfs(dir: &Path) -> PathBuf {
    let root = dir.join("rootfs");
    std::fs::create_dir_all(root.join("etc")).unwrap();
    std::fs::create_dir_all(root.join("var/lib/dpkg")).unwrap();
    std::fs::write(
        root.join("etc/os-release"),
        "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nID=debian\n",
    )
    .unwrap();
    let status = "\
Package: libc6
Status: install ok installed
Architecture: amd64
Source: glibc
Version: 2.36-9+deb12u1

Package: zlib1g
Status: install ok installed
Architecture: amd64
Source: zlib
Version: 1:1.2.13.dfsg-1

Package: libssl3
Status: install ok installed
Architecture: amd64
Source: openssl
Version: 3.0.11-1~deb12u2
";
    std::fs::write(root.join("var/lib/dpkg/status"), status).unwrap();
    root
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Serves `dir` on a free loopback port with python3's http.server.
fn http_server(dir: &Path) -> (Server, String) {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new("python3")
        .args([
            "-m",
            "http.server",
            "--bind",
            "127.0.0.1",
            &port.to_string(),
            "--directory",
        ])
        .arg(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("python3 must be installed for this test");
    let server = Server(child);
    // Wait until it accepts connections (bounded; no timing is asserted).
    for _ in 0..200 {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return (server, format!("http://127.0.0.1:{port}"));
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    panic!("python3 http.server did not start on port {port}");
}

fn zip_dir(records: &Path, dest: &Path, filter: impl Fn(&str) -> bool) {
    let mut zip = zip::ZipWriter::new(std::fs::File::create(dest).unwrap());
    let options = zip::write::SimpleFileOptions::default();
    let mut entries: Vec<_> = std::fs::read_dir(records)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        if filter(&name) {
            zip.start_file(name, options).unwrap();
            zip.write_all(&std::fs::read(&path).unwrap()).unwrap();
        }
    }
    zip.finish().unwrap();
}

#[test]
fn import_status_and_scan_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("data/vulndb/osv.db");
    let db_arg = path_arg(&db);

    // Status before anything exists: a clear failure.
    assert_eq!(run(Cli::Vulndb, args(&["status", "--db", &db_arg])), 1);
    assert_eq!(
        run(
            Cli::Vulndb,
            args(&["import", "--db", &db_arg, &path_arg(&fixtures())])
        ),
        0
    );
    assert_eq!(run(Cli::Vulndb, args(&["status", "--db", &db_arg])), 0);
    assert_eq!(
        run(
            Cli::Vulndb,
            args(&["status", "--db", &db_arg, "-f", "json"])
        ),
        0
    );
    // A malformed record warns and the import still succeeds.
    let malformed = fixtures().parent().unwrap().join("osv-malformed");
    assert_eq!(
        run(
            Cli::Vulndb,
            args(&["import", "--db", &db_arg, &path_arg(&malformed)])
        ),
        0
    );
    assert_eq!(
        run(
            Cli::Vulndb,
            args(&["import", "--db", &db_arg, "/nonexistent/dump.zip"])
        ),
        1
    );
    assert_eq!(run(Cli::Vulndb, args(&["frobnicate"])), 2);

    let rootfs = debian_rootfs(dir.path());
    let out = dir.path().join("out");
    let scan = |extra: &[&str]| -> (i32, String) {
        let mut list = vec![
            "--rootfs",
            rootfs.to_str().unwrap(),
            "--db",
            &db_arg,
            "-o",
            out.to_str().unwrap(),
            "-q",
        ];
        list.extend_from_slice(extra);
        let code = run(Cli::Scan, args(&list));
        (code, std::fs::read_to_string(&out).unwrap_or_default())
    };

    let (code, table) = scan(&[]);
    assert_eq!(code, 0, "{table}");
    assert!(
        table.contains("Vulnerability DB:") && table.contains("records, newest modified"),
        "{table}"
    );
    assert!(table.contains("(debian 12)"), "{table}");
    assert!(
        table.contains("CVE-2023-4911") && table.contains("2.36-9+deb12u3"),
        "{table}"
    );
    assert!(
        table.contains("CVE-2023-45853") && table.contains("affected"),
        "{table}"
    );
    assert!(!table.contains("libssl3 │"), "{table}");

    // Trivy's --exit-code: non-zero only when something remains after the filters.
    assert_eq!(scan(&["--exit-code", "5"]).0, 5);
    assert_eq!(scan(&["--exit-code", "5", "--severity", "LOW"]).0, 0);
    let (code, json) = scan(&["--exit-code", "5", "--ignore-unfixed", "-f", "json"]);
    assert_eq!(code, 5);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let vulns = v["Results"][0]["Vulnerabilities"].as_array().unwrap();
    assert_eq!(vulns.len(), 1);
    assert_eq!(vulns[0]["VulnerabilityID"], "CVE-2023-4911");
    assert_eq!(vulns[0]["PkgName"], "libc6");
    assert!(v["Metadata"]["VulnDB"]["Records"].as_u64().unwrap() > 10);

    // Ignore files: .trivyignore ids and ferry's TOML with reasons.
    let trivyignore = dir.path().join(".trivyignore");
    std::fs::write(&trivyignore, "# accepted\nCVE-2023-45853\n").unwrap();
    let (code, json) = scan(&[
        "--exit-code",
        "5",
        "--severity",
        "CRITICAL",
        "--ignorefile",
        trivyignore.to_str().unwrap(),
        "-f",
        "json",
    ]);
    assert_eq!(code, 0, "{json}");
    let ferryignore = dir.path().join("ignore.toml");
    std::fs::write(
        &ferryignore,
        "[[ignore]]\nid = \"CVE-2023-4911\"\nreason = \"no setuid binaries\"\n",
    )
    .unwrap();
    let (_, json) = scan(&["--ignorefile", ferryignore.to_str().unwrap(), "-f", "json"]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["Ignored"][0]["Reason"], "no setuid binaries");
    // An ignore file that does not parse is an error, not a silent pass.
    std::fs::write(&ferryignore, "[[ignore]]\nid = \"CVE-1\"\n").unwrap();
    assert_eq!(scan(&["--ignorefile", ferryignore.to_str().unwrap()]).0, 1);

    let (_, sarif) = scan(&["-f", "sarif"]);
    let v: serde_json::Value = serde_json::from_str(&sarif).unwrap();
    assert_eq!(v["version"], "2.1.0");
    let rule_ids: Vec<&str> = v["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["ruleId"].as_str().unwrap())
        .collect();
    assert_eq!(rule_ids, vec!["CVE-2023-4911", "CVE-2023-45853"]);

    let (_, cdx) = scan(&["-f", "cyclonedx"]);
    let v: serde_json::Value = serde_json::from_str(&cdx).unwrap();
    assert_eq!(v["bomFormat"], "CycloneDX");
    let vulns = v["vulnerabilities"].as_array().unwrap();
    assert_eq!(vulns.len(), 2);
    assert!(vulns
        .iter()
        .any(|x| x["id"] == "CVE-2023-45853" && x["ratings"][0]["severity"] == "critical"));

    let (code, spdx) = scan(&["-f", "spdx-json"]);
    assert_eq!(code, 0);
    assert!(spdx.contains("SPDX-2.3"), "{spdx}");

    // The same packages as an inventory JSON (ferry sbom -f json) scan the same.
    assert_eq!(
        run(
            Cli::Sbom,
            args(&[
                "--rootfs",
                rootfs.to_str().unwrap(),
                "-f",
                "json",
                "-o",
                out.to_str().unwrap(),
                "-q"
            ])
        ),
        0
    );
    let inventory = dir.path().join("inventory.json");
    std::fs::copy(&out, &inventory).unwrap();
    let code = run(
        Cli::Scan,
        args(&[
            "--inventory",
            inventory.to_str().unwrap(),
            "--db",
            &db_arg,
            "-o",
            out.to_str().unwrap(),
            "-q",
            "--exit-code",
            "3",
            "--severity",
            "CRITICAL",
        ]),
    );
    assert_eq!(code, 3);

    // A missing database is an error naming the path, not an empty (passing) scan.
    let missing = dir.path().join("nope.db");
    assert_eq!(
        run(
            Cli::Scan,
            args(&[
                "--rootfs",
                rootfs.to_str().unwrap(),
                "--db",
                missing.to_str().unwrap()
            ])
        ),
        1
    );
}

#[test]
fn update_downloads_dumps_from_a_local_server() {
    let dir = tempfile::tempdir().unwrap();
    let served = dir.path().join("www");
    std::fs::create_dir_all(served.join("Debian")).unwrap();
    std::fs::create_dir_all(served.join("Red Hat")).unwrap();
    zip_dir(&fixtures(), &served.join("Debian/all.zip"), |n| {
        n.starts_with("DEBIAN-")
    });
    zip_dir(&fixtures(), &served.join("Red Hat/all.zip"), |n| {
        n.starts_with("RHSA-")
    });
    let (_server, url) = http_server(&served);

    let db = dir.path().join("osv.db");
    let db_arg = path_arg(&db);
    // Debian and Red Hat are served; PyPI is not (a 404 is a warning, not a failure).
    let code = run(
        Cli::Vulndb,
        args(&[
            "update",
            "--db",
            &db_arg,
            "--url",
            &url,
            "--ecosystem",
            "Debian",
            "--ecosystem",
            "Red Hat",
            "--ecosystem",
            "PyPI",
        ]),
    );
    assert_eq!(code, 0);
    let opened = ferry_scan::vulndb::VulnDb::open(&db).unwrap();
    let status = opened.status().unwrap();
    let names: Vec<(&str, u64)> = status
        .ecosystems
        .iter()
        .map(|e| (e.ecosystem.as_str(), e.records))
        .collect();
    assert_eq!(names, vec![("Debian", 2), ("Red Hat", 1)]);
    assert!(status.last_import_source.unwrap().starts_with(&url));

    // With no ecosystem named, the update refreshes those already present.
    assert_eq!(
        run(
            Cli::Vulndb,
            args(&["update", "--db", &db_arg, "--url", &url])
        ),
        0
    );
    // Nothing fetchable at all is a failure.
    assert_eq!(
        run(
            Cli::Vulndb,
            args(&[
                "update",
                "--db",
                &db_arg,
                "--url",
                &url,
                "--ecosystem",
                "npm"
            ])
        ),
        1
    );
}
