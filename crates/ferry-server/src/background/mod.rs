//! Background reconcilers: each reads desired state from the store, compares it with
//! what runs, and acts; they run on a timer and when signalled.

pub mod deploy;
pub mod driver;
pub mod gates;
pub mod routes;
