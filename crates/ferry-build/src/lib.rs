//! Builds a revision (in progress).
