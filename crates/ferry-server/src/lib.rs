//! The ferry server (in progress).
