//! Image analysis: image access, package inventory, vulnerability matching, image lint
//! and SBOMs. The shape is image → report → policy, like the build's detect → plan.

pub mod cli;
pub mod package;
