//! Dockerfile linting with Hadolint's rule ids, configuration and output formats.

pub mod cli;
pub mod syntax;
