//! Ferry's router: maps `Host` to a service, balances across its ready instances by
//! least outstanding requests, and proxies HTTP/1.1 (streaming, keep-alive, WebSocket).
//! The deployer publishes a [`RouteTable`] on a watch channel; the router never asks.

pub mod health;
pub mod proxy;
pub mod table;

// pub use proxy::{serve, RouterConfig}; (the router helper adds these)
pub use table::{RouteState, RouteTable, ServiceRoute, ServiceStats, StatsSnapshot, Upstream};
