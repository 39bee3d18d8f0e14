//! Builds a revision: an app directory is detected (`detect/<provider>.rs`) into a
//! [`BuildPlan`] (plain data), a config file overrides it (`merge.rs`), and the plan's
//! install and build steps are executed in the revision's directory (`execute.rs`).

pub mod detect;
mod execute;
mod merge;
mod plan;

pub use detect::{detect, detect_required, DetectError};
pub use execute::{execute, BuildError};
pub use merge::{merge, plan_dir, PlanError, PlannedApp};
pub use plan::{BuildPlan, BuildStep, PlanKind};
