//! Builds a revision: a [`BuildPlan`] (plain data) is made from the app's config, then
//! executed in the revision's directory. Language detection (`detect/<lang>.rs`) will
//! produce plans for apps without a config in a later release.

mod execute;
mod plan;

pub use execute::{execute, BuildError};
pub use plan::{BuildPlan, BuildStep};
