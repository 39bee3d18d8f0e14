//! A package found in an image or a source tree: the unit inventory produces, matching
//! consumes and SBOMs list.

use serde::{Deserialize, Serialize};

/// Kind of package, named as Syft names them (`deb`, `apk`, `rpm`, `python`, `npm`,
/// `go-module`, `rust-crate`, `java-archive`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PackageType {
    Deb,
    Apk,
    Rpm,
    Python,
    Npm,
    GoModule,
    RustCrate,
    JavaArchive,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Package {
    pub name: String,
    pub version: String,
    pub package_type: PackageType,
    /// Distro source package (dpkg `Source:`, apk origin, rpm source rpm), which is what
    /// distro advisories name.
    pub source_name: Option<String>,
    pub source_version: Option<String>,
    /// Package URL (purl), e.g. `pkg:deb/debian/libssl3@3.0.11-1~deb12u2?arch=amd64&distro=debian-12`.
    pub purl: String,
    /// Digest (`sha256:…`) of the layer that introduced the package, when known.
    pub layer: Option<String>,
    /// Path of the file the package was read from, inside the image.
    pub location: String,
    pub licenses: Vec<String>,
}

/// The operating system an image is built on, from os-release.
#[derive(Clone, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct OsInfo {
    /// `ID` from os-release: `debian`, `alpine`, `rhel`, `ubuntu`…
    pub id: String,
    /// `VERSION_ID`: `12`, `3.19.1`…
    pub version_id: String,
    pub pretty_name: Option<String>,
}
