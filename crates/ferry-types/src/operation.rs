//! Operations: asynchronous actions on a service, with a status and an event timeline.

use crate::ids::{OperationId, RevisionId, ServiceId};
use serde::{Deserialize, Serialize};
use std::fmt;
use time::OffsetDateTime;

macro_rules! string_enum {
    ($(#[$doc:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name {
            $(#[serde(rename = $text)] $variant),+
        }

        impl $name {
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $text),+ }
            }

            pub fn parse(value: &str) -> Option<Self> {
                match value { $($text => Some(Self::$variant),)+ _ => None }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

string_enum!(
    /// What an operation does (App Runner's operation types).
    OperationKind {
        CreateService => "CREATE_SERVICE",
        StartDeployment => "START_DEPLOYMENT",
        Rollback => "ROLLBACK",
        PauseService => "PAUSE_SERVICE",
        ResumeService => "RESUME_SERVICE",
        DeleteService => "DELETE_SERVICE",
    }
);

string_enum!(
    /// Lifecycle of an operation.
    OperationStatus {
        Pending => "PENDING",
        InProgress => "IN_PROGRESS",
        Succeeded => "SUCCEEDED",
        Failed => "FAILED",
        RollbackInProgress => "ROLLBACK_IN_PROGRESS",
        RollbackSucceeded => "ROLLBACK_SUCCEEDED",
        RollbackFailed => "ROLLBACK_FAILED",
    }
);

string_enum!(
    /// How loud an operation event is.
    EventLevel {
        Info => "info",
        Warn => "warn",
        Error => "error",
    }
);

impl OperationStatus {
    /// Whether the operation has reached an outcome.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            Self::Succeeded | Self::Failed | Self::RollbackSucceeded | Self::RollbackFailed
        )
    }

    /// Whether the outcome is what the user asked for.
    pub fn is_success(self) -> bool {
        self == Self::Succeeded
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Operation {
    pub id: OperationId,
    pub service_id: ServiceId,
    pub service_name: String,
    pub kind: OperationKind,
    pub status: OperationStatus,
    /// The revision the operation moves the service to, when it has one.
    pub revision_id: Option<RevisionId>,
    /// Why it failed, when it did: the reason plus the last log lines.
    pub error: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub ended_at: Option<OffsetDateTime>,
    /// The timeline, oldest first; empty in list responses.
    #[serde(default)]
    pub events: Vec<OperationEvent>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OperationEvent {
    /// Position in the timeline; clients stream with `?after=<seq>`.
    pub seq: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub level: EventLevel,
    pub message: String,
}
