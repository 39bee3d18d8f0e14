//! Ferry's router: maps `Host` to a service, balances across its ready instances by
//! least outstanding requests, and proxies HTTP/1.1 (streaming, keep-alive, WebSocket);
//! a static site's route is answered from its directory by the router itself (`files`).
//! The deployer publishes a [`RouteTable`] on a watch channel; the router never asks.

pub mod accept;
pub mod admission;
pub mod files;
pub mod health;
pub mod proxy;
pub mod stats;
pub mod table;

pub use accept::{is_resource_exhaustion, Accepted, ConnectionLimit, ConnectionSlot};
pub use files::{SiteError, StaticSite};
pub use health::{probe, ProbeError, ProbeProtocol, ProbeSpec};
pub use proxy::{serve, ErrorSide, ProxyError, ProxyErrorKind, RouterConfig};
pub use table::{
    Admission, AdmissionSettings, InFlightGuard, LoadSample, RouteState, RouteTable, ServiceRoute,
    ServiceStats, StatsSnapshot, Upstream,
};
