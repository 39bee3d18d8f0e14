//! Ferry's store: SQLite in WAL mode with embedded, numbered migrations. It holds the
//! desired state (services, revisions) and the history (operations and their events).
//! One module per resource; only the server's app layer calls it.

mod db;
mod error;
mod git_follows;
mod hosts;
mod image_follows;
mod migrations;
mod operations;
mod reports;
mod revisions;
mod scaling;
mod services;
mod tokens;

pub use db::Store;
pub use error::StoreError;
pub use git_follows::{BuildRow, GitFollow};
pub use image_follows::ImageFollow;
pub use reports::StoredReport;
pub use revisions::{BuildStatus, NewDeployment};
pub use services::{NewService, ServiceRow};
pub use tokens::{expiry_after, hash_secret, StoredToken};
