//! Store errors.

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open the database at {path}")]
    Open {
        path: String,
        #[source]
        source: rusqlite::Error,
    },
    #[error("database migration {version} failed")]
    Migration {
        version: usize,
        #[source]
        source: rusqlite::Error,
    },
    #[error(
        "the database was written by a newer ferry (schema {found}, this ferry knows {known})"
    )]
    NewerSchema { found: usize, known: usize },
    #[error("{what} already exists")]
    Conflict { what: String },
    #[error("host {host} is already routed to service {owner}")]
    HostTaken { host: String, owner: String },
    /// The change does not apply to the service as it is now (already paused, …).
    #[error("{0}")]
    InvalidState(String),
    #[error("{what} not found")]
    NotFound { what: String },
    #[error("stored {what} is corrupt: {detail}")]
    Corrupt { what: &'static str, detail: String },
    #[error("database query failed")]
    Sqlite(#[from] rusqlite::Error),
}
