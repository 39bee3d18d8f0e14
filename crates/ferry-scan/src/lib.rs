//! Image analysis (see the scan helper tasks).
