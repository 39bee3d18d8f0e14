//! Image analysis: image access, package inventory, vulnerability matching, image lint
//! and SBOMs. The shape is image → report → policy, like the build's detect → plan.

pub mod cli;
pub mod ignore;
pub mod image;
pub mod imagelint;
pub mod inventory;
pub mod matcher;
pub mod osv;
pub mod package;
pub mod report;
pub mod sbom;
pub mod severity;
pub mod version;
pub mod vulndb;
