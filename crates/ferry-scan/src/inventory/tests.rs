//! Inventory tests on images built at run time.

use super::*;
use crate::image::tests::{docker_archive, LayerBuilder};
use ferry_testenv::Need;

const DPKG_STATUS: &str = "\
Package: libc6
Status: install ok installed
Priority: optional
Architecture: amd64
Source: glibc (2.36-9+deb12u4)
Version: 2.36-9+deb12u4
Description: GNU C Library
 shared libraries

Package: zlib1g
Status: install ok installed
Architecture: amd64
Source: zlib
Version: 1:1.2.13.dfsg-1

Package: removed-one
Status: deinstall ok config-files
Architecture: amd64
Version: 1.0

Package: base-files
Status: install ok installed
Architecture: amd64
Version: 12.4+deb12u5
";

fn open(layers: &[Vec<u8>]) -> (tempfile::TempDir, ImageFs) {
    let tmp = tempfile::tempdir().unwrap();
    let path = docker_archive(tmp.path(), layers);
    let fs =
        ImageFs::from_image(Image::open_local(&ImageSource::DockerArchive(path)).unwrap()).unwrap();
    (tmp, fs)
}

fn find<'a>(inv: &'a Inventory, name: &str) -> &'a Package {
    inv.packages
        .iter()
        .find(|p| p.name == name)
        .unwrap_or_else(|| {
            panic!(
                "{name} not found in {:?}",
                inv.packages.iter().map(|p| &p.name).collect::<Vec<_>>()
            )
        })
}

#[test]
fn debian_image_with_language_packages() {
    let base = LayerBuilder::new()
        .file(
            "etc/os-release",
            b"ID=debian\nVERSION_ID=\"12\"\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n",
        )
        .file("var/lib/dpkg/status", DPKG_STATUS.as_bytes())
        .file("var/lib/dpkg/info/libc6:amd64.list", b"/lib\n")
        .file("var/lib/dpkg/info/zlib1g:amd64.list", b"/lib\n")
        .finish();
    let app = LayerBuilder::new()
        .file(
            "usr/lib/python3/dist-packages/requests-2.31.0.dist-info/METADATA",
            b"Metadata-Version: 2.1\nName: requests\nVersion: 2.31.0\nLicense: Apache 2.0\n\nbody: not a header\n",
        )
        .file(
            "usr/local/lib/python3.11/site-packages/Flask_Cors-4.0.0.egg-info/PKG-INFO",
            b"Metadata-Version: 1.1\nName: Flask-Cors\nVersion: 4.0.0\nClassifier: License :: OSI Approved :: MIT License\n",
        )
        .file("app/node_modules/@babel/core/package.json", br#"{"name":"@babel/core","version":"7.23.0","license":"MIT"}"#)
        .file("app/node_modules/left-pad/package.json", br#"{"name":"left-pad","version":"1.3.0"}"#)
        .file("app/node_modules/broken/package.json", b"{not json")
        .file("app/package-lock.json", br#"{"lockfileVersion":3,"packages":{"node_modules/ignored":{"version":"1.0.0"}}}"#)
        // A zlib1g upgrade in a later layer moves its .list file up.
        .file("var/lib/dpkg/info/zlib1g:amd64.list", b"/lib\n")
        .finish();
    let (_tmp, fs) = open(&[base.clone(), app.clone()]);
    let inv = inventory(&fs);
    let os = inv.os.as_ref().unwrap();
    assert_eq!((os.id.as_str(), os.version_id.as_str()), ("debian", "12"));

    let libc = find(&inv, "libc6");
    assert_eq!(libc.package_type, PackageType::Deb);
    assert_eq!(libc.source_name.as_deref(), Some("glibc"));
    assert_eq!(libc.source_version.as_deref(), Some("2.36-9+deb12u4"));
    assert_eq!(
        libc.purl,
        "pkg:deb/debian/libc6@2.36-9%2Bdeb12u4?arch=amd64&upstream=glibc&distro=debian-12"
            .replace("%2B", "+")
    );
    assert_eq!(libc.location, "/var/lib/dpkg/status");
    let base_id = fs.image().layers[0].id().map(str::to_string);
    let app_id = fs.image().layers[1].id().map(str::to_string);
    assert_eq!(libc.layer, base_id);
    let zlib = find(&inv, "zlib1g");
    assert_eq!(zlib.layer, app_id, "layer of the install record");
    assert_eq!(zlib.source_version.as_deref(), Some("1:1.2.13.dfsg-1"));
    assert_eq!(
        zlib.purl,
        "pkg:deb/debian/zlib1g@1:1.2.13.dfsg-1?arch=amd64&upstream=zlib&distro=debian-12"
    );
    assert!(
        inv.packages.iter().all(|p| p.name != "removed-one"),
        "only installed packages"
    );
    assert_eq!(
        find(&inv, "base-files").source_name.as_deref(),
        Some("base-files")
    );

    let requests = find(&inv, "requests");
    assert_eq!(requests.package_type, PackageType::Python);
    assert_eq!(requests.purl, "pkg:pypi/requests@2.31.0");
    assert_eq!(requests.licenses, vec!["Apache 2.0".to_string()]);
    assert_eq!(requests.layer, app_id);
    let cors = find(&inv, "flask-cors");
    assert_eq!(cors.purl, "pkg:pypi/flask-cors@4.0.0");
    assert_eq!(cors.licenses, vec!["MIT License".to_string()]);

    let babel = find(&inv, "@babel/core");
    assert_eq!(babel.purl, "pkg:npm/%40babel/core@7.23.0");
    assert_eq!(babel.licenses, vec!["MIT".to_string()]);
    assert!(
        inv.packages.iter().all(|p| p.name != "ignored"),
        "lock files are for source trees"
    );
    assert_eq!(
        inv.packages
            .iter()
            .filter(|p| p.package_type == PackageType::Npm)
            .count(),
        2
    );
}

#[test]
fn malformed_dpkg_status_gives_warnings_with_lines() {
    let status = "Package: ok\nStatus: install ok installed\nVersion: 1\n\nthis line is garbage\n continuation\nPackage: nover\nStatus: install ok installed\n\n\u{0}\u{1}binary:\n";
    let layer = LayerBuilder::new()
        .file("var/lib/dpkg/status", status.as_bytes())
        .file(
            "var/lib/dpkg/status.d/distroless",
            b"Package: tzdata\nVersion: 2024a-0+deb12u1\nArchitecture: all\n",
        )
        .file(
            "var/lib/dpkg/status.d/distroless.md5sums",
            b"abc  /usr/share/zoneinfo\n",
        )
        .finish();
    let (_tmp, fs) = open(&[layer]);
    let inv = inventory(&fs);
    let names: Vec<&str> = inv.packages.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, vec!["ok", "tzdata"]);
    let w = inv.warnings.join("\n");
    assert!(
        w.contains("/var/lib/dpkg/status:5: not a `Field: value` line"),
        "{w}"
    );
    assert!(w.contains("package nover has no Version"), "{w}");
    assert!(inv.os.is_none());
}

#[test]
fn alpine_apk_database() {
    let db = "C:Q1abc=\nP:musl\nV:1.2.4_git20230717-r4\nA:x86_64\nL:MIT\no:musl\n\nP:libcrypto3\nV:3.1.4-r5\nA:x86_64\nL:Apache-2.0\no:openssl\n\nP:broken\n";
    let layer = LayerBuilder::new()
        .file("etc/alpine-release", b"3.19.1\n")
        .file("lib/apk/db/installed", db.as_bytes())
        .finish();
    let (_tmp, fs) = open(&[layer]);
    let inv = inventory(&fs);
    assert_eq!(inv.os.as_ref().unwrap().id, "alpine");
    let crypto = find(&inv, "libcrypto3");
    assert_eq!(crypto.source_name.as_deref(), Some("openssl"));
    assert_eq!(
        crypto.purl,
        "pkg:apk/alpine/libcrypto3@3.1.4-r5?arch=x86_64&upstream=openssl&distro=alpine-3.19.1"
    );
    assert_eq!(
        find(&inv, "musl").purl,
        "pkg:apk/alpine/musl@1.2.4_git20230717-r4?arch=x86_64&distro=alpine-3.19.1"
    );
    assert!(
        inv.warnings.iter().any(|w| w.contains("no P: or V:")),
        "{:?}",
        inv.warnings
    );
}

#[test]
fn rpm_sqlite_database() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("rpmdb.sqlite");
    {
        let conn = rusqlite::Connection::open(&db).unwrap();
        conn.execute_batch(
            "CREATE TABLE Packages (hnum INTEGER PRIMARY KEY AUTOINCREMENT, blob BLOB NOT NULL);",
        )
        .unwrap();
        let good = rpm::build_header(
            &[
                (1000, "openssl-libs"),
                (1001, "3.0.7"),
                (1002, "27.el9"),
                (1022, "x86_64"),
                (1014, "ASL 2.0"),
                (1044, "openssl-3.0.7-27.el9.src.rpm"),
            ],
            Some(1),
        );
        let key = rpm::build_header(
            &[(1000, "gpg-pubkey"), (1001, "fd431d51"), (1002, "4ae0493b")],
            None,
        );
        for blob in [good, key, vec![0u8, 0, 0, 9, 0xff, 0xff, 0xff, 0xff]] {
            conn.execute("INSERT INTO Packages (blob) VALUES (?1)", [blob])
                .unwrap();
        }
    }
    let layer = LayerBuilder::new()
        .file("etc/os-release", b"ID=\"rhel\"\nVERSION_ID=\"9.3\"\n")
        .file("var/lib/rpm/rpmdb.sqlite", &std::fs::read(&db).unwrap())
        .finish();
    let (_tmp, fs) = open(&[layer]);
    let inv = inventory(&fs);
    assert_eq!(inv.packages.len(), 1, "{:?}", inv.packages);
    let p = &inv.packages[0];
    assert_eq!(p.version, "1:3.0.7-27.el9");
    assert_eq!(p.source_name.as_deref(), Some("openssl"));
    assert_eq!(
        p.purl,
        "pkg:rpm/rhel/openssl-libs@3.0.7-27.el9?arch=x86_64&epoch=1&upstream=openssl-3.0.7-27.el9.src.rpm&distro=rhel-9.3"
    );
    assert_eq!(p.licenses, vec!["ASL 2.0".to_string()]);
    assert!(
        inv.warnings.iter().any(|w| w.contains("package 3")),
        "{:?}",
        inv.warnings
    );
}

#[test]
fn go_rust_and_java_in_binaries_and_archives() {
    let go = binary::tests_support::fake_go_binary(
        "go1.21.5",
        "path\texample.com/svc\nmod\texample.com/svc\tv1.2.0\t\ndep\tgithub.com/google/uuid\tv1.4.0\th1:x=\n",
    );
    let jar = java::tests_support::jar(&[(
        "META-INF/maven/com.google.guava/guava/pom.properties",
        b"groupId=com.google.guava\nartifactId=guava\nversion=32.1.3-jre\n",
    )]);
    let layer = LayerBuilder::new()
        .exec("usr/local/bin/svc", &go)
        .exec("usr/local/bin/script", b"#!/bin/sh\necho hello, this is not a binary at all........................................................................................................................................................................................................................................................................................................................................................................................................................................................................................................................................................................................................................................................................................................................................................................................................................................................................................................................................")
        .file("opt/app/lib/guava.jar", &jar)
        .finish();
    let (_tmp, fs) = open(&[layer]);
    let inv = inventory(&fs);
    let uuid = find(&inv, "github.com/google/uuid");
    assert_eq!(uuid.package_type, PackageType::GoModule);
    assert_eq!(uuid.purl, "pkg:golang/github.com/google/uuid@v1.4.0");
    assert_eq!(uuid.location, "/usr/local/bin/svc");
    assert_eq!(find(&inv, "example.com/svc").version, "v1.2.0");
    assert_eq!(find(&inv, "stdlib").version, "go1.21.5");
    let guava = find(&inv, "guava");
    assert_eq!(guava.purl, "pkg:maven/com.google.guava/guava@32.1.3-jre");
    assert!(guava.layer.is_some());
}

#[test]
fn source_tree_lock_files() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    std::fs::write(
        d.join("package-lock.json"),
        r#"{"lockfileVersion":3,"packages":{"":{"name":"app"},"node_modules/express":{"version":"4.18.2","license":"MIT"},"node_modules/@types/node":{"version":"20.1.0"},"node_modules/local":{"link":true}}}"#,
    )
    .unwrap();
    std::fs::create_dir(d.join("web")).unwrap();
    std::fs::write(
        d.join("web/yarn.lock"),
        "# yarn lockfile v1\n\n\"@babel/code-frame@^7.0.0\", \"@babel/code-frame@^7.22.13\":\n  version \"7.22.13\"\n  dependencies:\n    chalk \"^2.4.2\"\n\nlodash@^4.17.21:\n  version \"4.17.21\"\n",
    )
    .unwrap();
    std::fs::write(
        d.join("Cargo.lock"),
        "version = 3\n\n[[package]]\nname = \"serde\"\nversion = \"1.0.193\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n\n[[package]]\nname = \"app\"\nversion = \"0.1.0\"\ndependencies = [\n \"serde\",\n]\n",
    )
    .unwrap();
    std::fs::write(d.join("go.mod"), "module example.com/app\n\ngo 1.21\n\nrequire (\n\tgithub.com/pkg/errors v0.9.1\n\tgolang.org/x/net v0.17.0 // indirect\n)\nrequire github.com/google/uuid v1.4.0\n").unwrap();
    let inv = inventory_dir(d).unwrap();
    let got: Vec<(String, String)> = inv
        .packages
        .iter()
        .map(|p| (p.name.clone(), p.version.clone()))
        .collect();
    for want in [
        ("express", "4.18.2"),
        ("@types/node", "20.1.0"),
        ("@babel/code-frame", "7.22.13"),
        ("lodash", "4.17.21"),
        ("serde", "1.0.193"),
        ("app", "0.1.0"),
        ("github.com/pkg/errors", "v0.9.1"),
        ("golang.org/x/net", "v0.17.0"),
        ("github.com/google/uuid", "v1.4.0"),
    ] {
        assert!(
            got.contains(&(want.0.to_string(), want.1.to_string())),
            "{want:?} missing from {got:?}"
        );
    }
    assert!(
        !got.iter().any(|(n, _)| n == "local" || n == "chalk"),
        "{got:?}"
    );
    assert_eq!(find(&inv, "express").layer, None);
    assert_eq!(find(&inv, "express").location, "/package-lock.json");
}

/// The deploy gate's path: an image in the local engine, by id → inventory.
#[tokio::test]
async fn needs_docker_inventory_of_engine_image_by_id() {
    ferry_testenv::require!(Need::DockerEngine);
    let layer = LayerBuilder::new()
        .file("etc/os-release", b"ID=debian\nVERSION_ID=\"12\"\n")
        .file("var/lib/dpkg/status", DPKG_STATUS.as_bytes())
        .finish();
    let tmp = tempfile::tempdir().unwrap();
    let tar = tmp.path().join("rootfs.tar");
    std::fs::write(&tar, &layer).unwrap();
    let tag = format!("ferry-scan-test/inventory:{}", std::process::id());
    let out = std::process::Command::new("docker")
        .arg("import")
        .arg(&tar)
        .arg(&tag)
        .output()
        .expect("docker CLI is installed");
    assert!(
        out.status.success(),
        "docker import failed: is the Docker Engine running?"
    );
    let id = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(id.starts_with("sha256:"), "{id}");
    let result =
        crate::image::Image::fetch(&ImageSource::Docker(id.clone()), &Default::default()).await;
    let _ = std::process::Command::new("docker")
        .args(["rmi", "-f", &tag])
        .output();
    let image = result.unwrap();
    let inv = tokio::task::spawn_blocking(move || inventory(&ImageFs::from_image(image).unwrap()))
        .await
        .unwrap();
    assert_eq!(inv.os.unwrap().id, "debian");
    let names: Vec<&str> = inv.packages.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, vec!["base-files", "libc6", "zlib1g"]);
    assert!(inv
        .packages
        .iter()
        .all(|p| p.layer.as_deref().is_some_and(|l| l.starts_with("sha256:"))));
}
