//! Dockerfile linting with Hadolint rule ids (see the lint helper task).
