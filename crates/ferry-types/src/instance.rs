//! Instances: observed running copies of a revision (never desired state).

use crate::ids::{InstanceId, RevisionId, ServiceId};
use serde::{Deserialize, Serialize};
use std::fmt;
use time::OffsetDateTime;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuntimeKind {
    Docker,
    Process,
}

impl fmt::Display for RuntimeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Docker => "docker",
            Self::Process => "process",
        })
    }
}

/// starting → ready → draining → stopped | failed
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InstanceState {
    Starting,
    Ready,
    Draining,
    Stopped,
    Failed,
}

impl fmt::Display for InstanceState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Starting => "starting",
            Self::Ready => "ready",
            Self::Draining => "draining",
            Self::Stopped => "stopped",
            Self::Failed => "failed",
        })
    }
}

/// An instance as the API reports it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InstanceInfo {
    pub id: InstanceId,
    pub service_id: ServiceId,
    pub revision_id: RevisionId,
    pub runtime: RuntimeKind,
    pub state: InstanceState,
    /// Loopback address the router sends traffic to.
    pub address: String,
    /// Requests being served right now.
    pub in_flight: u64,
    #[serde(with = "time::serde::rfc3339")]
    pub started_at: OffsetDateTime,
}
