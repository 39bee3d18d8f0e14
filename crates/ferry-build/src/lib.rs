//! Builds a revision: an app directory is detected (`detect/<provider>.rs`) into a
//! [`BuildPlan`] (plain data), a config file overrides it (`merge.rs`), and the plan's
//! install and build steps are executed in the revision's directory (`execute.rs`),
//! the install step through a dependency cache keyed by its inputs (`deps.rs`); for
//! the docker back end, `image.rs` turns the plan into a Dockerfile. `mask.rs` keeps
//! build secrets out of build logs.

mod compiler_cache;
pub mod deps;
pub mod detect;
mod execute;
pub mod image;
pub mod mask;
mod merge;
mod plan;

pub use compiler_cache::{compiler_cache_env, gc_compiler_caches};
pub use deps::{DepCache, DepsOutcome};
pub use detect::{detect, detect_required, DetectError};
pub use execute::{execute, execute_cached, execute_with_secrets, BuildError, BuildSecrets};
pub use merge::{build_plan, merge, plan_dir, PlanError, PlannedApp};
pub use plan::{BuildPlan, BuildStep, PlanKind};
