//! SBOMs from an inventory: CycloneDX 1.5 JSON and SPDX 2.3 JSON, plus the
//! `ferry sbom` command ([`cli::run`]).

pub mod cli;
mod cyclonedx;
mod licenses;
mod spdx;

use std::str::FromStr;

use crate::image::Image;
use crate::inventory::Inventory;
use crate::package::PackageType;

pub use cyclonedx::cyclonedx;
pub use spdx::spdx;

/// Output formats of `ferry sbom`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SbomFormat {
    CycloneDx,
    SpdxJson,
    /// Ferry's own inventory JSON (`{os, packages, warnings}`).
    Json,
}

impl FromStr for SbomFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "cyclonedx" | "cyclonedx-json" => Ok(SbomFormat::CycloneDx),
            "spdx-json" | "spdx" => Ok(SbomFormat::SpdxJson),
            "json" => Ok(SbomFormat::Json),
            other => Err(format!(
                "unknown SBOM format {other:?}: use cyclonedx, spdx-json or json"
            )),
        }
    }
}

/// What the SBOM describes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Subject {
    /// How the user named it (`web:1`, `image.tar`, a directory).
    pub name: String,
    /// Image id (`sha256:` of the config) when it is an image.
    pub image_id: Option<String>,
    /// Manifest digest, when known.
    pub manifest_digest: Option<String>,
    pub repo_tags: Vec<String>,
    /// A source directory rather than an image.
    pub is_directory: bool,
}

impl Subject {
    pub fn from_image(image: &Image) -> Subject {
        Subject {
            name: image.name.clone(),
            image_id: image.id.clone(),
            manifest_digest: image.manifest_digest.clone(),
            repo_tags: image.repo_tags.clone(),
            is_directory: image.id.is_none() && image.layers.iter().all(|l| l.digest.is_empty()),
        }
    }

    /// The version string shown for the subject: the manifest digest, else the id.
    pub fn version(&self) -> Option<&str> {
        self.manifest_digest.as_deref().or(self.image_id.as_deref())
    }
}

/// Values that make a document unique; fixed in tests for stable output.
#[derive(Clone, Debug)]
pub struct DocumentInfo {
    pub serial: uuid::Uuid,
    pub timestamp: time::OffsetDateTime,
}

impl Default for DocumentInfo {
    fn default() -> Self {
        DocumentInfo {
            serial: uuid::Uuid::new_v4(),
            timestamp: time::OffsetDateTime::now_utc(),
        }
    }
}

impl DocumentInfo {
    /// RFC 3339 UTC, seconds precision (`2024-01-02T03:04:05Z`).
    pub fn timestamp_text(&self) -> String {
        let t = self.timestamp.to_offset(time::UtcOffset::UTC);
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        )
    }
}

/// Renders an inventory in `format`.
pub fn render(
    format: SbomFormat,
    subject: &Subject,
    inventory: &Inventory,
    info: &DocumentInfo,
) -> serde_json::Value {
    match format {
        SbomFormat::CycloneDx => cyclonedx(subject, inventory, info),
        SbomFormat::SpdxJson => spdx(subject, inventory, info),
        SbomFormat::Json => serde_json::to_value(inventory).unwrap_or_default(),
    }
}

/// Syft's name for a package type, used in SBOM properties.
pub fn type_name(t: PackageType) -> &'static str {
    match t {
        PackageType::Deb => "deb",
        PackageType::Apk => "apk",
        PackageType::Rpm => "rpm",
        PackageType::Python => "python",
        PackageType::Npm => "npm",
        PackageType::GoModule => "go-module",
        PackageType::RustCrate => "rust-crate",
        PackageType::JavaArchive => "java-archive",
    }
}

#[cfg(test)]
mod tests;
