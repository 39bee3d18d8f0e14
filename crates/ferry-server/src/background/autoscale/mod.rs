//! The autoscaler: samples each service's load from the router, runs the KPA and keeps the
//! desired instance count the deployer converges to.

pub mod kpa;
