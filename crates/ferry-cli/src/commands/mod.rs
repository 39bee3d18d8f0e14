//! One module per verb.

pub mod builds;
pub mod completions;
pub mod deploy;
pub mod follow;
pub mod git_auth;
pub mod git_hook;
pub mod images;
pub mod lifecycle;
pub mod logs;
pub mod ops;
pub mod plan;
pub mod report;
pub mod scale;
pub mod server;
pub mod status;
pub mod token;
pub mod tokens;
pub mod up;
